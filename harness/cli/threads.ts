/**
 * The workers of a reference run (`amh run --workers N`, N > 1) as worker threads. Each thread
 * starts its own reference (chains and servers) and runs the cases the main thread's queue hands
 * it; the main thread keeps the queue, the progress display and the report.
 *
 * Why threads: in one thread, every worker's scenarios and every reference server share one event
 * loop, and it was the bottleneck (the main thread at 100-115% of a core while the run used 1.3-1.4
 * of 2 cores). A case's outcome is plain data and crosses back by structured clone.
 *
 * Messages (main → thread): `preflight`, `run`, `stop`; (thread → main): `ready`, `failed`, `log`,
 * `progress`, `reply`, `stopped`.
 */
import { Worker } from 'node:worker_threads';
import type { ProtocolModule } from '../engine/dsl.ts';
import type { CaseWorker, ProgressEvent, RunOptions, ScenarioOutcome } from '../engine/runner.ts';
import type { Target } from '../target/schema.ts';

/** What a thread needs to start its reference and run cases as the main thread would. */
export interface ThreadConfig {
  /** Selected protocol ids. */
  protocols: string[];
  /** The run's options, as the main thread's runner gets them, without the callbacks. */
  run: Omit<RunOptions, 'onProgress'>;
}

export type ToThread = { type: 'preflight'; id: number; cases: string[] } | { type: 'run'; id: number; caseId: string; deadline: number; reset: boolean } | { type: 'stop' };

export type FromThread =
  | { type: 'ready'; target: Target }
  | { type: 'failed'; error: ThreadError }
  | { type: 'log'; line: string }
  | { type: 'progress'; event: ProgressEvent }
  | { type: 'reply'; id: number; value?: unknown; error?: ThreadError }
  | { type: 'stopped' };

/** An error as it crosses from a thread. */
export interface ThreadError {
  message: string;
  stack?: string;
}

/** How long a thread may take to stop its reference before it is terminated. */
const STOP_TIMEOUT_MS = 60_000;

/** Running worker threads, usable as the runner's workers. */
export interface ThreadWorkers {
  workers: CaseWorker[];
  /** The reference target of the first thread (all are alike but for ports). */
  target: Target;
  /** Stops every thread's reference, then the threads. */
  stop(): Promise<void>;
}

/**
 * Starts `n` threads, each with its own reference; resolves when all are up. If one fails to
 * start, the others are stopped and the first failure is thrown.
 */
export async function startThreadWorkers(n: number, config: ThreadConfig, hooks: { log: (line: string) => void; onProgress?: (e: ProgressEvent) => void }): Promise<ThreadWorkers> {
  const threads = Array.from({ length: n }, () => new ThreadWorker(config, hooks));
  const stop = () => Promise.allSettled(threads.map((t) => t.stop())).then(() => undefined);
  const started = await Promise.allSettled(threads.map((t) => t.ready));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { workers: threads, target: (started[0] as PromiseFulfilledResult<Target>).value, stop };
}

class ThreadWorker implements CaseWorker {
  readonly ready: Promise<Target>;
  private readonly thread: Worker;
  private readonly pending = new Map<number, PromiseWithResolvers<unknown>>();
  private nextId = 0;
  /** Set once the thread is gone: why (later requests fail with it). */
  private gone: string | undefined;
  private readonly stopped = Promise.withResolvers<void>();

  constructor(config: ThreadConfig, hooks: { log: (line: string) => void; onProgress?: (e: ProgressEvent) => void }) {
    const ready = Promise.withResolvers<Target>();
    this.ready = ready.promise;
    this.thread = new Worker(new URL('./thread-worker.mjs', import.meta.url), { workerData: config });
    this.thread.on('message', (m: FromThread) => {
      switch (m.type) {
        case 'ready':
          ready.resolve(m.target);
          break;
        case 'failed':
          ready.reject(withStack(m.error));
          break;
        case 'log':
          hooks.log(m.line);
          break;
        case 'progress':
          hooks.onProgress?.(m.event);
          break;
        case 'reply': {
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          if (m.error !== undefined) p?.reject(withStack(m.error));
          else p?.resolve(m.value);
          break;
        }
        case 'stopped':
          this.stopped.resolve();
          break;
      }
    });
    const fail = (why: string) => {
      this.gone ??= why;
      ready.reject(new Error(why));
      for (const p of this.pending.values()) p.reject(new Error(why));
      this.pending.clear();
      this.stopped.resolve();
    };
    this.thread.on('error', (e: Error) => fail(`a worker thread failed: ${e.stack ?? e.message}`));
    this.thread.on('exit', (code) => fail(`a worker thread exited (code ${code})`));
  }

  private request<T>(m: Omit<Extract<ToThread, { type: 'preflight' }>, 'id'> | Omit<Extract<ToThread, { type: 'run' }>, 'id'>): Promise<T> {
    if (this.gone) return Promise.reject(new Error(this.gone));
    const id = this.nextId++;
    const p = Promise.withResolvers<unknown>();
    this.pending.set(id, p);
    this.thread.postMessage({ ...m, id });
    return p.promise as Promise<T>;
  }

  preflight(cases: readonly { p: ProtocolModule; s: { id: string } }[]): Promise<Map<string, string>> {
    return this.request({ type: 'preflight', cases: cases.map((c) => `${c.p.id}/${c.s.id}`) });
  }

  run(p: ProtocolModule, s: { id: string }, deadline: number, reset: boolean): Promise<ScenarioOutcome> {
    return this.request({ type: 'run', caseId: `${p.id}/${s.id}`, deadline, reset });
  }

  async stop(): Promise<void> {
    if (!this.gone) {
      this.thread.postMessage({ type: 'stop' } satisfies ToThread);
      const timer = setTimeout(() => void this.thread.terminate(), STOP_TIMEOUT_MS);
      await this.stopped.promise;
      clearTimeout(timer);
    }
    await this.thread.terminate();
  }
}

/**
 * A structured-cloneable copy of `v`, for an answer postMessage refused: functions and symbols
 * become their description, Errors and other class instances plain objects (own enumerable
 * fields), cycles '[circular]'; Maps, Sets, arrays and bigints are kept.
 */
export function cloneable(v: unknown, seen = new WeakSet<object>()): unknown {
  if (typeof v === 'function') return `[function ${v.name || 'anonymous'}]`;
  if (typeof v === 'symbol') return v.toString();
  if (v === null || typeof v !== 'object') return v;
  if (seen.has(v)) return '[circular]';
  seen.add(v);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [cloneable(k, seen), cloneable(x, seen)]));
  if (v instanceof Set) return new Set([...v].map((x) => cloneable(x, seen)));
  if (Array.isArray(v)) return v.map((x) => cloneable(x, seen));
  if (v instanceof Error) return { name: v.name, message: v.message, stack: v.stack };
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cloneable(x, seen)]));
}

/** The Error a thread reported, with its stack. */
function withStack(t: ThreadError): Error {
  const e = new Error(t.message);
  if (t.stack) e.stack = t.stack;
  return e;
}
