/**
 * The indexer's single flight: a sync asked for while a run is in flight must not be answered by
 * that run (it may have read the latest block before the caller's transaction was mined: amh load
 * saw "no funded rental" for rentals whose Funded receipt the renter held). The run itself is
 * replaced by a controllable one; what is tested is who waits for which run.
 */
import assert from 'node:assert/strict';
import { test } from 'vitest';
import { Indexer } from './indexer.ts';
import type { AispStore } from './store.ts';

/** An indexer whose runs wait until released; each run answers its own number. */
function controlled() {
  const ix = new Indexer({} as AispStore, { rpcUrl: 'http://127.0.0.1:9', marketplace: '0x0000000000000000000000000000000000000001' });
  const releases: (() => void)[] = [];
  let runs = 0;
  (ix as unknown as { run: () => Promise<number> }).run = () => {
    const n = ++runs;
    return new Promise<number>((resolve) => releases.push(() => resolve(n)));
  };
  const release = async () => {
    await new Promise((r) => setImmediate(r));
    releases.shift()!();
    await new Promise((r) => setImmediate(r));
  };
  return { ix, release, runs: () => runs };
}

test('callers arriving during a run share the next run, not the one in flight', async () => {
  const { ix, release, runs } = controlled();
  const first = ix.sync();
  const late1 = ix.sync();
  const late2 = ix.sync();
  assert.equal(runs(), 1, 'the late callers do not start a run of their own while one is in flight');
  await release();
  assert.equal(await first, 1);
  assert.equal(runs(), 2, 'one more run starts for the callers that came during the first');
  await release();
  assert.equal(await late1, 2);
  assert.equal(await late2, 2);
  const idle = ix.idle();
  await idle;
  const again = ix.sync();
  assert.equal(runs(), 3, 'a call with nothing in flight starts a run at once');
  await release();
  assert.equal(await again, 3);
});

test('idle waits for the run the late callers are waiting for', async () => {
  const { ix, release } = controlled();
  void ix.sync();
  void ix.sync();
  let idle = false;
  const done = ix.idle().then(() => {
    idle = true;
  });
  await release();
  assert.equal(idle, false, 'still a run to go');
  await release();
  await done;
  assert.equal(idle, true);
});
