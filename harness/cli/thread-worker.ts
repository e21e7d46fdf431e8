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
import { removeChildBundles } from '../services/child-bundle.ts';
import type { Reference } from '../services/reference.ts';
import { startRunReference } from './execute.ts';
import { cloneable, type FromThread, type ThreadConfig, type ThreadError, type ToThread } from './threads.ts';

const port = parentPort!;
const config = workerData as ThreadConfig;
const post = (m: FromThread) => port.postMessage(m);
const asError = (e: unknown): ThreadError => (e instanceof Error ? { message: e.message, stack: e.stack } : { message: String(e) });

let ref: Reference | undefined;
/** Answers the main thread's requests once the reference is up. */
let serve: ((m: Exclude<ToThread, { type: 'stop' }>) => void) | undefined;

async function main(): Promise<void> {
  const log = (line: string) => post({ type: 'log', line });
  const protos = await loadProtocols(undefined, config.protocols);
  const selected = protos.filter((p) => config.protocols.includes(p.id));
  ref = await startRunReference(selected, config.run, log);
  const chains = ref.chains;
  const worker = inProcessWorker(
    ref.target,
    createTargetClients(ref.target),
    ref.reset,
    {
      ...config.run,
      onProgress: (event) => post({ type: 'progress', event }),
    },
    () => chains.flatMap((c) => c.poolRepair?.records ?? []),
  );
  const find = (caseId: string) => {
    const slash = caseId.indexOf('/');
    const p = selected.find((x) => x.id === caseId.slice(0, slash));
    const s = p?.scenarios.find((x) => x.id === caseId.slice(slash + 1));
    if (!p || !s) throw new Error(`this worker thread has no case ${caseId}`);
    return { p, s };
  };
  serve = (m) => {
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
  };
  post({ type: 'ready', target: ref.target });
}

const started = main();
started.catch(async (e) => {
  const r = ref;
  ref = undefined;
  await r?.stop().catch(() => undefined);
  post({ type: 'failed', error: asError(e) });
});
// Listening from the start: a stop may come while the reference is still starting (another
// thread failed to start, or Ctrl-C); it then waits for the start and stops what it started.
port.on('message', (m: ToThread) => {
  if (m.type === 'stop') void stopAndExit();
  else serve?.(m);
});

/** Posts an answer; one that cannot be cloned (a function or class instance in evidence) goes as plain data. */
function reply(id: number, value: Map<string, string> | ScenarioOutcome): void {
  try {
    port.postMessage({ type: 'reply', id, value } satisfies FromThread);
  } catch {
    port.postMessage({ type: 'reply', id, value: cloneable(value) } satisfies FromThread);
  }
}

async function stopAndExit(): Promise<void> {
  await started.catch(() => undefined);
  await ref?.stop().catch(() => undefined);
  removeChildBundles();
  post({ type: 'stopped' });
  port.close();
}
