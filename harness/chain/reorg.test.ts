/**
 * Reorgs on a real anvil: a replaced block loses its transactions (balances and receipts follow),
 * a re-included transaction lands in the block asked for and counts once, rollback shortens the
 * chain, and snapshot/revert still works across both.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, beforeEach, afterEach, test } from 'vitest';
import type { Hex } from 'viem';
import { fiatTokenV2_2Abi } from './bindings/index.ts';
import { createChainClients, depthFrom, LONG_RUN_STATES, mineUniqueBlock, reorg, revert, roleAccount, rollback, rpcCall, signedTransfer, snapshot, startChain, type RunningChain } from './index.ts';

let chain: RunningChain;
let snap: Hex;
beforeAll(async () => {
  chain = await startChain({ profile: 'base' });
});
afterAll(async () => {
  await chain?.stop();
});
beforeEach(async () => {
  snap = await snapshot(chain.rpcUrl);
});
afterEach(async () => {
  await revert(chain.rpcUrl, snap);
});

const height = async () => BigInt(await rpcCall<Hex>(chain.rpcUrl, 'eth_blockNumber'));
const receipt = (hash: Hex) => rpcCall<{ blockNumber: Hex; blockHash: Hex } | null>(chain.rpcUrl, 'eth_getTransactionReceipt', [hash]);

async function pay(amount: bigint) {
  const { walletClient } = createChainClients(chain);
  return walletClient('buyer1').writeContractSync({ address: chain.profile.usdc!.address, abi: fiatTokenV2_2Abi, functionName: 'transfer', args: [roleAccount('vendor1').address, amount] });
}
async function vendorBalance(): Promise<bigint> {
  const { publicClient } = createChainClients(chain);
  return publicClient.readContract({ address: chain.profile.usdc!.address, abi: fiatTokenV2_2Abi, functionName: 'balanceOf', args: [roleAccount('vendor1').address] });
}
const mine = (n: number) => rpcCall(chain.rpcUrl, 'anvil_mine', [`0x${n.toString(16)}`]);

test('a reorg that replaces the payment block without it removes the payment', async () => {
  const before = await vendorBalance();
  const r = await pay(1_000_000n);
  await mine(2);
  const h = await height();
  const depth = await depthFrom(chain.rpcUrl, r.blockNumber);
  assert.equal(depth, 3);
  const out = await reorg(chain.rpcUrl, depth);
  assert.equal(out.height, h);
  assert.equal(await height(), h, 'same height after a reorg');
  assert.deepEqual(
    out.replaced.map((b) => b.number),
    [r.blockNumber, r.blockNumber + 1n, r.blockNumber + 2n],
  );
  assert.equal(out.replaced[0]!.hash, r.blockHash);
  assert.notEqual(out.blocks[0]!.hash, r.blockHash, 'the payment block is replaced');
  assert.ok(!out.unchanged.includes(r.blockNumber), 'a block without the payment is another block');
  assert.equal(await receipt(r.transactionHash), null, 'the payment is gone');
  assert.equal(await vendorBalance(), before);
  assert.deepEqual(out.reincluded, []);
});

test('a re-included transaction lands in the block asked for, once', async () => {
  const before = await vendorBalance();
  const r = await pay(7n);
  await mine(2);
  const out = await reorg(chain.rpcUrl, 3, {
    reinclude: [
      { hash: r.transactionHash, block: 2 },
      { hash: r.transactionHash, block: 2 },
    ],
  });
  assert.equal(out.reincluded.length, 2, 'both entries name the one transaction, mined');
  const got = await receipt(r.transactionHash);
  assert.ok(got);
  assert.equal(BigInt(got.blockNumber), r.blockNumber + 2n, 'mined two blocks later than before');
  assert.equal(got.blockHash, out.blocks[2]!.hash);
  assert.equal(out.reincluded[0]!.status, 'success');
  assert.equal(await vendorBalance(), before + 7n, 'the payment counts once');
});

test('a re-included transaction that is no longer valid is reported dropped', async () => {
  const r = await pay(5n);
  // buyer1 spends the same nonce again: once the original is removed, this one takes its place.
  const raw = await rpcCall<Hex>(chain.rpcUrl, 'eth_getRawTransactionByHash', [r.transactionHash]);
  const other = await signedTransfer(chain.chainId, 'buyer1', (await createChainClients(chain).publicClient.getTransactionCount({ address: roleAccount('buyer1').address })) - 1);
  const out = await reorg(chain.rpcUrl, 1, {
    reinclude: [
      { raw: other, block: 0 },
      { raw, block: 0 },
    ],
  });
  assert.deepEqual(out.dropped, [r.transactionHash]);
  assert.equal(out.reincluded.length, 1);
  assert.equal(await receipt(r.transactionHash), null);
});

test('rollback shortens the chain; snapshot/revert works across reorgs and rollbacks', async () => {
  const inner = await snapshot(chain.rpcUrl);
  const h0 = await height();
  const r = await pay(3n);
  await reorg(chain.rpcUrl, 1, { reinclude: [{ hash: r.transactionHash }] });
  const out = await rollback(chain.rpcUrl, 1);
  assert.equal(out.height, h0);
  assert.equal(out.removed[0]!.number, h0 + 1n);
  assert.equal(await receipt(r.transactionHash), null);
  await pay(4n);
  await revert(chain.rpcUrl, inner);
  assert.equal(await height(), h0);
});

test('a queued transaction (its nonce leaves a gap) does not stop a reorg and stays out of the new branch; a pending one does stop it, named', async () => {
  const r = await pay(9n);
  const buyer = roleAccount('buyer1').address;
  const next = await createChainClients(chain).publicClient.getTransactionCount({ address: buyer });
  const sign = (nonce: number) => signedTransfer(chain.chainId, 'buyer1', nonce);
  // One nonce skipped: the node holds it queued, as a send released after a revert would be.
  await rpcCall(chain.rpcUrl, 'eth_sendRawTransaction', [await sign(next + 1)]);
  try {
    const out = await reorg(chain.rpcUrl, 1);
    assert.equal(await receipt(r.transactionHash), null, 'the payment is gone');
    assert.deepEqual(await rpcCall(chain.rpcUrl, 'txpool_status'), { pending: '0x0', queued: '0x1' }, 'the queued one is still queued, not mined');
    assert.equal(out.height, await height());
    await rpcCall(chain.rpcUrl, 'evm_setAutomine', [false]);
    try {
      // The buyer's nonce went back by one with the payment: this one is ready, so it is pending.
      await rpcCall(chain.rpcUrl, 'eth_sendRawTransaction', [await sign(next - 1)]);
      await assert.rejects(reorg(chain.rpcUrl, 1), (e: Error) => /reorg: 1 pending \/ 1 queued/.test(e.message) && e.message.includes(buyer.toLowerCase().slice(2, 10)));
    } finally {
      // Dropped first: turning automine back on mines whatever is pending (measured), and under
      // CI load that block landed after the next test's snapshot was taken.
      await rpcCall(chain.rpcUrl, 'anvil_dropAllTransactions');
      await rpcCall(chain.rpcUrl, 'evm_setAutomine', [true]);
    }
  } finally {
    await rpcCall(chain.rpcUrl, 'anvil_dropAllTransactions');
  }
}, 30_000);

test('bad depths are refused before anything changes', async () => {
  const h = await height();
  await assert.rejects(reorg(chain.rpcUrl, 0), /positive integer/);
  await assert.rejects(reorg(chain.rpcUrl, Number(h) + 1), /exceeds the chain height/);
  await assert.rejects(rollback(chain.rpcUrl, 1.5), /positive integer/);
  await assert.rejects(reorg(chain.rpcUrl, 2, { reinclude: [{ raw: '0x00', block: 2 }] }), /outside the new branch/);
  await assert.rejects(depthFrom(chain.rpcUrl, h + 1n), /cannot be reorged/);
  assert.equal(await height(), h);
});

test('reorgs down to the first block of a run, run after run on a chain that keeps its history in memory: a unique block at each run start keeps its state available (anvil 1.7 evicts a state stored again under the same hash)', async () => {
  // `amh run`'s chains: LONG_RUN_STATES past states, in memory only. Without mineUniqueBlock (a plain
  // evm_mine), run 95 or 113 of these failed with "anvil_reorg: Required data unavailable".
  const pruned = await startChain({ profile: 'base-sepolia', pruneHistory: LONG_RUN_STATES });
  const call = <T>(m: string, p: unknown[] = []) => rpcCall<T>(pruned.rpcUrl, m, p);
  try {
    const coinbase = await call<Hex>('eth_coinbase');
    const hashes = new Set<Hex>();
    for (let run = 0; run < 160; run++) {
      const s = await snapshot(pruned.rpcUrl);
      await mineUniqueBlock(pruned.rpcUrl);
      hashes.add((await call<{ hash: Hex }>('eth_getBlockByNumber', ['latest', false])).hash);
      await call('anvil_mine', ['0x3']);
      await assert.doesNotReject(call('anvil_reorg', [3, []]), `run ${run}`);
      await revert(pruned.rpcUrl, s);
    }
    assert.equal(hashes.size, 160, 'every run started on a block of its own');
    assert.equal(await call<Hex>('eth_coinbase'), coinbase, 'the coinbase is set back');
  } finally {
    await pruned.stop();
  }
}, 120_000);
