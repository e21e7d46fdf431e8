/**
 * The repair of anvil's stuck transactions on a real anvil. The stall anvil makes under concurrent
 * sends (a transaction at its sender's next nonce, queued for good) is set up deterministically:
 * a transaction one nonce ahead is queued, then `anvil_setNonce` moves the account up to it. anvil
 * then holds it exactly as it holds the transactions its race strands (measured: no block, other
 * sender or re-send moves it).
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import type { Hex } from 'viem';
import { repairStuckTransactions, roleAccount, rpcCall, signedTransfer, startChain, type RunningChain } from './index.ts';
import { withRepairHeld } from './pool-repair.ts';

let chain: RunningChain;
beforeAll(async () => {
  // The chain's own repair is off: each test drives one with check().
  chain = await startChain({ profile: 'base', repairStuckTransactions: false });
});
afterAll(async () => {
  await chain?.stop();
});

const call = <T>(method: string, params: unknown[] = [], on: RunningChain = chain) => rpcCall<T>(on.rpcUrl, method, params);
const count = async (who: Hex, on: RunningChain = chain) => Number(BigInt(await call<Hex>('eth_getTransactionCount', [who, 'latest'], on)));

/** Strands a transaction of `role` the way anvil's race does; returns its sender, nonce and hash. */
async function strand(role: 'buyer1' | 'buyer2' | 'vendor1', on: RunningChain = chain) {
  const who = roleAccount(role).address;
  const n = await count(who, on);
  const hash = await call<Hex>('eth_sendRawTransaction', [await signedTransfer(on.chainId, role, n + 1)], on);
  await call('anvil_setNonce', [who, `0x${(n + 1).toString(16)}`], on);
  await call('evm_mine', [], on);
  assert.equal((await call<{ queued: Hex }>('txpool_status', [], on)).queued, '0x1', 'anvil holds it queued at the next nonce');
  return { who, nonce: n + 1, hash };
}

test('a transaction stranded at its sender next nonce is sent back after two polls: it and the sender later sends are mined, with their own hashes, and a wait for its receipt completes', async () => {
  const repair = repairStuckTransactions(chain.rpcUrl, { intervalMs: 60_000 });
  try {
    const s = await strand('buyer1');
    // A send behind it, waiting synchronously as a server would; it completes once the repair runs.
    const behind = call<{ transactionHash: Hex; status: Hex }>('eth_sendRawTransactionSync', [await signedTransfer(chain.chainId, 'buyer1', s.nonce + 1)]);
    assert.deepEqual(await repair.check(), [], 'one poll only marks it');
    const [record] = await repair.check();
    assert.ok(record, 'the second poll repairs');
    assert.equal(record.sender, s.who.toLowerCase());
    assert.deepEqual(record.resent, [s.nonce, s.nonce + 1]);
    assert.deepEqual(record.lost, []);
    assert.equal((await behind).status, '0x1');
    const mined = await call<{ status: Hex } | null>('eth_getTransactionReceipt', [s.hash]);
    assert.equal(mined?.status, '0x1', 'the stranded transaction is mined under its own hash');
    assert.equal(await count(s.who), s.nonce + 2);
    assert.deepEqual(await call('txpool_status'), { pending: '0x0', queued: '0x0' });
    assert.equal(repair.records.length, 1);
  } finally {
    repair.stop();
    await call('anvil_dropAllTransactions');
  }
});

test('a nonce gap is the sender queue, not a stall: left queued, however often polled', async () => {
  const repair = repairStuckTransactions(chain.rpcUrl, { intervalMs: 60_000 });
  try {
    const who = roleAccount('buyer2').address;
    const n = await count(who);
    const hash = await call<Hex>('eth_sendRawTransaction', [await signedTransfer(chain.chainId, 'buyer2', n + 1)]);
    for (let i = 0; i < 3; i++) assert.deepEqual(await repair.check(), []);
    assert.equal((await call<{ queued: Hex }>('txpool_status')).queued, '0x1');
    assert.equal(await call('eth_getTransactionReceipt', [hash]), null);
  } finally {
    repair.stop();
    await call('anvil_dropAllTransactions');
  }
});

test('the repair started with a chain runs on its own and stops with it', async () => {
  const own = await startChain({ profile: 'base' });
  try {
    assert.ok(own.poolRepair);
    const s = await strand('vendor1', own);
    // Mined within a few polls, with no one asking.
    const receipt = await call<{ status: Hex }>('eth_sendRawTransactionSync', [await signedTransfer(own.chainId, 'vendor1', s.nonce + 1)], own);
    assert.equal(receipt.status, '0x1');
    // The record is written once the repair's own re-sends return, a moment after ours.
    for (let i = 0; i < 100 && own.poolRepair.records.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      own.poolRepair.records.map((r) => r.resent),
      [[s.nonce, s.nonce + 1]],
    );
  } finally {
    await own.stop();
  }
});

test('a stranded transaction the node no longer takes back is recorded as lost, with the node’s reason', async () => {
  const repair = repairStuckTransactions(chain.rpcUrl, { intervalMs: 60_000 });
  const who = roleAccount('vendor1').address;
  const balance = await call<Hex>('eth_getBalance', [who, 'latest']);
  try {
    const s = await strand('vendor1');
    // Its sender can no longer pay for the gas: the re-send is refused.
    await call('anvil_setBalance', [who, '0x0']);
    await repair.check();
    const [record] = await repair.check();
    assert.ok(record);
    assert.deepEqual(record.resent, []);
    assert.equal(record.lost.length, 1);
    assert.equal(record.lost[0]!.hash, s.hash);
    assert.match(record.lost[0]!.reason, /fund|balance/i);
  } finally {
    repair.stop();
    await call('anvil_setBalance', [who, balance]);
    await call('anvil_dropAllTransactions');
  }
});

test('while a revert holds the repair it neither polls nor repairs, and forgets its suspects: a leftover at its sender count after a revert is for the run to drop', async () => {
  const repair = repairStuckTransactions(chain.rpcUrl, { intervalMs: 60_000 });
  try {
    const s = await strand('buyer2');
    assert.deepEqual(await repair.check(), [], 'one poll marks it');
    const inside = await withRepairHeld(chain.rpcUrl, async () => {
      // What a run's close does here: revert, then drop the queue (here: only the drop).
      const polled = await repair.check();
      await call('anvil_dropAllTransactions');
      return polled;
    });
    assert.deepEqual(inside, [], 'held: no poll, no repair');
    assert.equal(await call('eth_getTransactionReceipt', [s.hash]), null, 'not sent back');
    assert.deepEqual(repair.records, []);
    // Stranded again after the hold: the earlier suspicion is gone, so two polls are needed anew.
    const again = await strand('buyer2');
    assert.deepEqual(await repair.check(), [], 'a fresh suspicion only');
    const [record] = await repair.check();
    assert.deepEqual(record?.resent, [again.nonce]);
  } finally {
    repair.stop();
    await call('anvil_dropAllTransactions');
  }
  // A poll under way when the hold begins finishes before the held work runs.
  const later = repairStuckTransactions(chain.rpcUrl, { intervalMs: 60_000 });
  try {
    const order: string[] = [];
    const polling = later.check().then(() => order.push('poll'));
    await withRepairHeld(chain.rpcUrl, async () => void order.push('held work'));
    await polling;
    assert.deepEqual(order, ['poll', 'held work']);
  } finally {
    later.stop();
  }
  // Without a repair for the URL the function just runs.
  assert.equal(await withRepairHeld('http://127.0.0.1:1', async () => 7), 7);
});
