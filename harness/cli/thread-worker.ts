/**
 * One worker thread of a reference run (see threads.ts): starts its own reference for the selected
 * protocols, then runs the cases the main thread sends, one at a time, and answers with their
 * outcomes. Stops its reference when told to. (If the whole process dies instead, its anvils end
 * on their own: harness/chain/anvil.ts guards them.)
 */
import { parentPort, workerData } from 'node:worker_threads';
import { inProcessWorker, type ScenarioOutcome } from '../engine/runner.ts';
import { createTargetClients } from '../engine/session.ts';
import { loadProtocols } from '../packs/discover.ts';
import type { Reference } from '../services/reference.ts';
import { startRunReference } from './execute.ts';
import type { FromThread, ThreadConfig, ThreadError, ToThread } from './threads.ts';

const port = parentPort!;
const config = workerData as ThreadConfig;
const post = (m: FromThread) => port.postMessage(m);
const asError = (e: unknown): ThreadError => (e instanceof Error ? { message: e.message, stack: e.stack } : { message: String(e) });

let ref: Reference | undefined;

async function main(): Promise<void> {
  const log = (line: string) => post({ type: 'log', line });
  const protos = await loadProtocols(undefined, config.protocols);
  const selected = protos.filter((p) => config.protocols.includes(p.id));
  ref = await startRunReference(selected, { grep: config.grep, profile: config.profile }, log);
  const worker = inProcessWorker(ref.target, createTargetClients(ref.target), ref.reset, {
    ...config.run,
    onProgress: (event) => post({ type: 'progress', event }),
  });
  const find = (caseId: string) => {
    const slash = caseId.indexOf('/');
    const p = selected.find((x) => x.id === caseId.slice(0, slash));
    const s = p?.scenarios.find((x) => x.id === caseId.slice(slash + 1));
    if (!p || !s) throw new Error(`this worker thread has no case ${caseId}`);
    return { p, s };
  };
  port.on('message', (m: ToThread) => {
    if (m.type === 'stop') {
      void stopAndExit();
      return;
    }
    // Async, so that a case it cannot find is an answer too, not an uncaught error ending the thread.
    const work = async () => {
      if (m.type === 'preflight') return worker.preflight(m.cases.map(find));
      const { p, s } = find(m.caseId);
      return worker.run(p, s, m.deadline, m.reset);
    };
    work().then(
      (value) => reply(m.id, value),
      (e) => post({ type: 'reply', id: m.id, error: asError(e) }),
    );
  });
  post({ type: 'ready', target: ref.target });
}

/** Posts an answer; one that cannot be cloned (a function or class instance in evidence) goes as plain data. */
function reply(id: number, value: Map<string, string> | ScenarioOutcome): void {
  try {
    port.postMessage({ type: 'reply', id, value } satisfies FromThread);
  } catch {
    port.postMessage({ type: 'reply', id, value: plain(value) } satisfies FromThread);
  }
}

/** A structured-cloneable copy: functions and symbols become their description, class instances plain objects. */
function plain(v: unknown, seen = new WeakSet<object>()): unknown {
  if (typeof v === 'function') return `[function ${v.name || 'anonymous'}]`;
  if (typeof v === 'symbol') return v.toString();
  if (v === null || typeof v !== 'object') return v;
  if (seen.has(v)) return '[circular]';
  seen.add(v);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [plain(k, seen), plain(x, seen)]));
  if (v instanceof Set) return new Set([...v].map((x) => plain(x, seen)));
  if (Array.isArray(v)) return v.map((x) => plain(x, seen));
  if (v instanceof Error) return { name: v.name, message: v.message, stack: v.stack };
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x, seen)]));
}

async function stopAndExit(): Promise<void> {
  await ref?.stop().catch(() => undefined);
  post({ type: 'stopped' });
  port.close();
}

main().catch(async (e) => {
  await ref?.stop().catch(() => undefined);
  post({ type: 'failed', error: asError(e) });
  port.close();
});
