/** `amh run --workers N`: the workers as threads, each with its own reference. */
import assert from 'node:assert/strict';
import { test } from 'vitest';
import { rpcCall } from '../chain/rpc.ts';
import { loadProtocols } from '../packs/discover.ts';
import type { Report } from '../report/types.ts';
import { execute } from './execute.ts';
import { cloneable, startThreadWorkers } from './threads.ts';

/** Status, runs and checks per case: what must not depend on where a case ran. */
const verdicts = (r: Report) => r.protocols.flatMap((p) => p.scenarios.map((s) => `${s.caseId} ${s.status} ${s.runs} ${JSON.stringify(s.checks)}`));

test('two worker threads reach the verdicts, runs and checks of one in-process worker; progress comes back from the threads', async () => {
  const o = { command: 'test', runs: 3, seed: 7, protocols: ['usdc'] };
  const ran: string[] = [];
  const threaded = await execute({ ...o, workers: 2, onProgress: (e) => e.type === 'run' && ran.push(e.caseId) });
  const inProcess = await execute({ ...o, workers: 1 });
  assert.equal(threaded.exitCode, 0, JSON.stringify(threaded.errors));
  assert.deepEqual(verdicts(threaded), verdicts(inProcess));
  assert.ok(verdicts(threaded).length > 3);
  assert.deepEqual(new Set(ran), new Set(threaded.protocols[0]!.scenarios.filter((s) => s.runs > 0).map((s) => s.caseId)), 'every run reported its progress');
}, 120_000);

test('a case a thread does not know is an error answered by that thread; stop ends its chains', async () => {
  const [usdc] = await loadProtocols(undefined, ['usdc']);
  const threads = await startThreadWorkers(1, { protocols: ['usdc'], run: { command: 'test', runs: 1, seed: 1 } }, { log: () => {} });
  try {
    const nope = { ...usdc!.scenarios[0]!, id: 'no-such-case' };
    await assert.rejects(threads.workers[0]!.run(usdc!, nope, Date.now() + 60_000, false), /this worker thread has no case usdc\/no-such-case/);
    const problems = await threads.workers[0]!.preflight([{ p: usdc!, s: usdc!.scenarios[0]! }]);
    assert.deepEqual([...problems], [], 'the thread’s own reference answers its first contact');
  } finally {
    await threads.stop();
  }
  for (const c of threads.target.chains) await assert.rejects(rpcCall(c.rpcUrl, 'eth_chainId'), `chain ${c.id} still answers after stop`);
  await assert.rejects(threads.workers[0]!.run(usdc!, usdc!.scenarios[0]!, Date.now() + 60_000, false), /worker thread exited/);
}, 120_000);

test('cloneable: an outcome with a function, a class instance, an Error and a cycle becomes plain data that postMessage takes', () => {
  class Receipt {
    constructor(readonly hash: string) {}
    describe() {
      return this.hash;
    }
  }
  const cyclic: Record<string, unknown> = { n: 1n };
  cyclic.self = cyclic;
  const outcome = { counts: new Map([['REQ-1', { passed: 2, failed: 0 }]]), sample: [{ args: { fn: () => 1, r: new Receipt('0xab'), e: new Error('boom'), c: cyclic, s: new Set([1]) } }] };
  assert.throws(() => structuredClone(outcome), /could not be cloned/);
  const copy = structuredClone(cloneable(outcome)) as typeof outcome;
  assert.deepEqual(copy.counts, outcome.counts);
  const args = copy.sample[0]!.args as unknown as Record<string, unknown>;
  assert.equal(args.fn, '[function fn]');
  assert.deepEqual(args.r, { hash: '0xab' });
  assert.equal((args.e as { message: string }).message, 'boom');
  assert.deepEqual(args.c, { n: 1n, self: '[circular]' });
  assert.deepEqual(args.s, new Set([1]));
});

test('a thread that cannot start fails the start with its reason, and every thread is stopped', async () => {
  // An invalid --grep makes each thread's selection throw while it starts its reference.
  await assert.rejects(startThreadWorkers(2, { protocols: ['usdc'], run: { command: 'test', runs: 1, seed: 1, grep: '(' } }, { log: () => {} }), /Invalid regular expression/);
}, 60_000);
