/**
 * A reference server run as a child process under a small supervisor, so the harness can crash it
 * for real (capability `restart`): the published restart control is a shell command that sends
 * the process SIGKILL (no graceful close: open SQLite transactions, sockets and timers die with
 * it) and waits until it is gone; the supervisor then starts it again with the same arguments,
 * the same ports and the same database, as systemd's `Restart=always` or a container restart
 * policy would. The reference services keep their in-process servers for every other scenario and
 * start one of these beside them for the crash scenarios.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RestartControl } from '../target/schema.ts';
import { reserveFixedPort } from '../util/net.ts';
import { childBundle } from './child-bundle.ts';

/** Options of {@link startCrashable}. */
export interface CrashableOptions {
  /** What it is, for log lines. */
  name: string;
  /** The TypeScript entry point (bundled: harness/services/child-bundle.ts; else run with `node --import tsx`). */
  script: string;
  /** Its arguments; `dir` is replaced by the state directory that survives the crashes. */
  args: (dir: string) => string[];
  /** Where it answers once up (the published control's `ready`). */
  readyUrl: string;
  log?: (line: string) => void;
}

/** A supervised child process (its state directory survives the crashes and goes with `stop()`). */
export interface Crashable {
  /** The restart control to publish (kills with SIGKILL; the supervisor starts it again). */
  control: RestartControl;
  /** Ends it for good (SIGTERM, SIGKILL after 10 s) and removes its state. */
  stop(): Promise<void>;
}

/** The first line of a child's stderr that says something (not a Node warning). */
function firstLine(err: string): string {
  return (
    err
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l && !/ExperimentalWarning|--trace-warnings/.test(l)) ?? '(no output)'
  );
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Starts of a child that may end before it is up, in a row, before the supervisor gives up. */
const START_ATTEMPTS = 3;

/**
 * Start `script` as a supervised child process. Returns at once: the first start runs in the
 * background (a scenario waits for `readyUrl` before using it), so a deployment that never runs a
 * crash scenario pays only the start-up CPU (and `amh run` starts it only when a selected scenario needs `restart`: ServiceContext.wants).
 */
export function startCrashable(o: CrashableOptions): Crashable {
  const log = o.log ?? (() => {});
  const dir = mkdtempSync(path.join(tmpdir(), `amh-crashable-${o.name}-`));
  const pidFile = path.join(dir, 'server.pid');
  let child: ChildProcess | undefined;
  let stopping = false;

  // Started from a bundle (half the CPU of a start through tsx); from source if it cannot be built.
  const entry = childBundle(o.script).then(
    (file) => [file],
    (e: Error) => {
      log(`${o.name}: runs from source (no bundle: ${e.message.split('\n')[0]})`);
      return ['--import', 'tsx', o.script];
    },
  );
  let failedStarts = 0;
  const spawnOnce = async () => {
    const args = [...(await entry), ...o.args(dir)];
    if (stopping) return;
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = p;
    writeFileSync(pidFile, String(p.pid));
    let up = false;
    let err = '';
    p.stdout!.on('data', () => {
      up = true;
    });
    p.stderr!.on('data', (d) => {
      err = `${err}${String(d)}`.slice(-2000);
    });
    p.on('exit', (code, signal) => {
      if (stopping) return;
      if (!up) {
        // A start can fail for a moment's reason: it reads the chain while a run beside it reverts
        // that chain (seen: "BlockOutOfRangeError: block height is 61 but requested was 67" in the
        // start-up reads of a server started with a profile). It is tried again, a few times only:
        // a server that keeps dying before it is up would die again. Said on stderr too: callers that
        // pass no log (amh run) would otherwise only see the ready poll time out minutes later.
        const again = ++failedStarts < START_ATTEMPTS;
        const head = `${o.name}: exited (${signal ?? code}) before it was up (start ${failedStarts} of ${START_ATTEMPTS}); ${again ? 'starting it again' : 'not started again'}:`;
        log(`${head}\n${err}`);
        // On stderr a start that is tried again says only its error's first line (the whole stack
        // is in the log); the last one says everything.
        process.stderr.write(`amh: ${head}\n${again ? `  ${firstLine(err)}` : err}\n`);
        if (again) void spawnOnce();
        return;
      }
      failedStarts = 0;
      log(`${o.name}: exited (${signal ?? code}); starting it again${signal === 'SIGKILL' ? '' : `; its last words:\n${err.slice(-600)}`}`);
      void spawnOnce();
    });
  };
  void spawnOnce();

  return {
    control: {
      // kill -0 succeeds until the supervisor has reaped the process: the command returns once it is gone.
      command: `pid=$(cat ${quote(pidFile)}) && kill -KILL "$pid" && while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done`,
      ready: o.readyUrl,
      // A start loads the server's modules again: about a second on a quiet machine, past two
      // minutes on a saturated one (a fresh-clone npm test beside other work saw it time out).
      timeoutMs: 300_000,
    },
    async stop() {
      stopping = true;
      const p = child;
      if (p && p.exitCode === null && p.signalCode === null) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
          p.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          p.kill('SIGTERM');
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A crashable HTTP server: where it answers, the restart control naming that URL, and its stop. */
export interface CrashableServer {
  url: string;
  control: RestartControl;
  stop(): Promise<void>;
}

/**
 * {@link startCrashable} for an HTTP server on loopback `port` (a free one below the ephemeral range when absent), ready when
 * `/health` answers; `args` gets the state directory and the port.
 */
export async function startCrashableServer(o: Omit<CrashableOptions, 'args' | 'readyUrl'> & { args: (dir: string, port: number) => string[]; port?: number }): Promise<CrashableServer> {
  // Held until the server stops for good: while it is down for a restart, nobody else may take it.
  const reserved = o.port ? undefined : await reserveFixedPort();
  const port = o.port || reserved!.port;
  const url = `http://127.0.0.1:${port}`;
  const child = startCrashable({ ...o, args: (dir) => o.args(dir, port), readyUrl: `${url}/health` });
  return { url, control: { ...child.control, url }, stop: () => child.stop().finally(() => reserved?.release()) };
}
