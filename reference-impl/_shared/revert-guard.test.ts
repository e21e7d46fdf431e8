import assert from 'node:assert/strict';
import { test } from 'vitest';
import { RevertGuard, type Anchor } from './revert-guard.ts';

/** A chain of block hashes that can be reverted to a height, and a store of anchored rows. */
function world(height: number) {
  const hashes = new Map<bigint, string>();
  for (let i = 0n; i <= BigInt(height); i++) hashes.set(i, `0x${i}a`);
  let rows: Anchor[] = [];
  const reads: bigint[] = [];
  return {
    hashes,
    reads,
    blockHash: async (n: bigint) => {
      reads.push(n);
      return hashes.get(n);
    },
    store: {
      liveAnchors: () => [...rows].sort((a, b) => (a.block > b.block ? -1 : 1)),
      orphan: (gone: Anchor[]) => {
        const before = rows.length;
        rows = rows.filter((r) => !gone.some((g) => g.block === r.block && g.hash === r.hash));
        return before - rows.length;
      },
    },
    add(block: number) {
      const a = { block: BigInt(block), hash: hashes.get(BigInt(block))! };
      rows.push(a);
      return a;
    },
    /** Drops every block above `to` and mines `mined` new ones with other hashes. */
    revert(to: number, mined = 0) {
      for (const n of [...hashes.keys()]) if (n > BigInt(to)) hashes.delete(n);
      for (let i = 1; i <= mined; i++) hashes.set(BigInt(to + i), `0x${to + i}b`);
    },
    rows: () => rows,
  };
}

test('no revert: one block read per check, nothing orphaned', async () => {
  const w = world(10);
  w.add(3);
  w.add(7);
  const g = new RevertGuard(w.blockHash, w.store);
  await g.check();
  assert.deepEqual(w.reads, [7n]);
  assert.equal(w.rows().length, 2);
});

test('a revert orphans exactly the rows above it, newest first, stopping at the first anchor still on chain', async () => {
  const w = world(10);
  for (const b of [2, 4, 6, 8]) w.add(b);
  const g = new RevertGuard(w.blockHash, w.store);
  w.revert(5, 5); // blocks 6..10 replaced (reorg-like: the heights exist with other hashes)
  await g.check();
  assert.deepEqual(
    w.rows().map((r) => r.block),
    [2n, 4n],
  );
  // 8 (check) then 8, 6, 4 (sweep, stops at 4): block 2 is never read.
  assert.deepEqual(w.reads, [8n, 8n, 6n, 4n]);
});

test('many concurrent checks share one sweep; note() makes a newer anchor the one checked', async () => {
  const w = world(10);
  w.add(5);
  const g = new RevertGuard(w.blockHash, w.store, () => {});
  w.hashes.set(11n, '0x11a');
  g.note(w.add(11));
  w.revert(4);
  let orphanCalls = 0;
  const orphan = w.store.orphan;
  w.store.orphan = (a) => {
    orphanCalls++;
    return orphan(a);
  };
  await Promise.all([g.check(), g.check(), g.check()]);
  assert.equal(orphanCalls, 1);
  assert.equal(w.rows().length, 0);
});

test('an unreachable node orphans nothing (the error reaches the caller)', async () => {
  const w = world(3);
  w.add(3);
  const g = new RevertGuard(async () => {
    throw new Error('ECONNREFUSED');
  }, w.store);
  await assert.rejects(g.check(), /ECONNREFUSED/);
  assert.equal(w.rows().length, 1);
});

test('a reorg that mined a row’s transaction again moves the row there; the others are orphaned', async () => {
  // Rows keyed by transaction: tx-6 and tx-8 were mined in blocks 6 and 8.
  const hashes = new Map<bigint, string>();
  for (let i = 0n; i <= 10n; i++) hashes.set(i, `0x${i}a`);
  let rows = [
    { tx: 'tx-6', block: 6n, hash: '0x6a' },
    { tx: 'tx-8', block: 8n, hash: '0x8a' },
  ];
  const minedIn = new Map<string, Anchor>();
  const store = {
    liveAnchors: () => [...rows].sort((a, b) => (a.block > b.block ? -1 : 1)).map(({ block, hash }) => ({ block, hash })),
    orphan: (gone: Anchor[]) => {
      const before = rows.length;
      rows = rows.filter((r) => !gone.some((g) => g.block === r.block && g.hash === r.hash));
      return before - rows.length;
    },
    anchoredTxs: (a: Anchor) => rows.filter((r) => r.block === a.block && r.hash === a.hash).map((r) => r.tx),
    reanchor: (tx: string, a: Anchor) => {
      rows = rows.map((r) => (r.tx === tx ? { tx, ...a } : r));
      return 1;
    },
  };
  let nodeDown = false;
  const locate = async (tx: string) => {
    if (nodeDown) throw new Error('node unreachable');
    return minedIn.get(tx);
  };
  const g = new RevertGuard(
    async (n) => hashes.get(n),
    store,
    () => {},
    locate,
  );
  // Blocks 5..10 replaced; tx-8 is mined again in the new block 10, tx-6 is gone.
  for (let i = 5n; i <= 10n; i++) hashes.set(i, `0x${i}b`);
  minedIn.set('tx-8', { block: 10n, hash: '0x10b' });
  nodeDown = true;
  await assert.rejects(g.check(), /unreachable/);
  assert.equal(rows.length, 2, 'a node that cannot be asked orphans nothing');
  nodeDown = false;
  await g.check();
  assert.deepEqual(rows, [{ tx: 'tx-8', block: 10n, hash: '0x10b' }]);
  // The moved row is the newest anchor now: a later reorg of block 10 is noticed.
  hashes.set(10n, '0x10c');
  minedIn.delete('tx-8');
  await g.check();
  assert.deepEqual(rows, []);
});
