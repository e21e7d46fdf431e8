/**
 * How long-running commands (`amh up`, a pack's `serve.ts`) end: on SIGINT, SIGTERM or SIGHUP, and
 * also when the process that started them goes away. The second matters because users start these
 * through `npx` or `npm run` and signal the pid they hold, which is npx's or npm's: that wrapper
 * dies, our process is re-parented, and without this it would keep running with its chains.
 */

/** Why a command stopped. */
export type StopReason = NodeJS.Signals | 'parent-exited';

/**
 * Resolves with the first reason to stop. The signal listeners stay installed until `release()`:
 * a library's signal-exit hook may re-raise a signal (killing us before children are stopped) as
 * soon as it sees itself as the only listener, so ours must outlive the shutdown. Repeated
 * signals are ignored.
 */
export function watchForStop(o: { pollMs?: number } = {}): { reason: Promise<StopReason>; release(): void } {
  let resolve!: (r: StopReason) => void;
  const reason = new Promise<StopReason>((r) => {
    resolve = r;
  });
  const on = (sig: NodeJS.Signals) => resolve(sig);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, on);
  const parent = process.ppid;
  // Re-parenting (to init or a subreaper) is the portable sign that the parent died.
  const timer = setInterval(() => {
    if (process.ppid !== parent) resolve('parent-exited');
  }, o.pollMs ?? 500);
  timer.unref();
  return {
    reason,
    release() {
      clearInterval(timer);
      for (const s of signals) process.off(s, on);
    },
  };
}
