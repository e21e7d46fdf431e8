/**
 * Reorgs on an anvil node: `anvil_reorg` replaces the newest `depth` blocks with new ones at the
 * same heights (the chain does not get shorter), mining into them only the transactions it is
 * given; `anvil_rollback` removes the newest blocks. What a real chain does when another branch
 * wins: a payment seen in block n may be gone, or mined again in another block of the new branch.
 *
 * Every removed transaction that is not re-included is dropped (anvil does not put it back in the
 * pool), so the new branch holds exactly what the caller asked for. Await every receipt first: a
 * pending transaction would be mined into whatever block comes next (a queued one, waiting for a
 * nonce gap to fill, is left where it is).
 *
 * A new block can be the old one again: anvil mines the new branch at the common block's time, so
 * a block re-made with the same transactions may get the same header and hash (seen in CI). A
 * caller that needs a transaction in another block re-includes it at another height.
 */
import { keccak256, type Hex } from 'viem';
import { rpcCall } from './rpc.ts';

/** A block, as number and hash. */
export interface BlockRef {
  number: bigint;
  hash: Hex;
}

/** A transaction to mine again in the new branch. */
export interface Reinclude {
  /** A mined transaction (its signed bytes are read before the reorg), or `raw` signed bytes. */
  hash?: Hex;
  raw?: Hex;
  /**
   * Which new block takes it: 0 is the oldest replaced height, `depth - 1` the newest (default).
   * A transaction re-mined at another height than before lands in a different block.
   */
  block?: number;
}

/** What a reorg did. */
export interface ReorgResult {
  /** The chain's height, the same before and after. */
  height: bigint;
  /** The blocks the reorg replaced, oldest first (their hashes are no longer on chain). */
  replaced: BlockRef[];
  /** The new blocks at the same heights, oldest first. */
  blocks: BlockRef[];
  /** Heights whose new block is the old one again (same transactions, same header, same hash). */
  unchanged: bigint[];
  /** Re-included transactions the new branch holds, with the block that holds each now. */
  reincluded: { hash: Hex; block: BlockRef; status: 'success' | 'reverted' }[];
  /** Re-included transactions the node did not mine (invalid in the new branch: a spent nonce...). */
  dropped: Hex[];
}

interface RpcBlock {
  number: Hex;
  hash: Hex;
}
interface RpcReceipt {
  blockNumber: Hex;
  blockHash: Hex;
  status: Hex;
}

const height = async (rpcUrl: string) => BigInt(await rpcCall<Hex>(rpcUrl, 'eth_blockNumber'));

async function blocksAbove(rpcUrl: string, from: bigint, to: bigint): Promise<BlockRef[]> {
  const out: BlockRef[] = [];
  for (let n = from; n <= to; n++) {
    const b = await rpcCall<RpcBlock | null>(rpcUrl, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, false]);
    if (!b) throw new Error(`block ${n} is missing`);
    out.push({ number: BigInt(b.number), hash: b.hash });
  }
  return out;
}

/**
 * Throws unless no transaction is pending (ready to be mined). Waits up to 3 s first: anvil answers
 * a send before its automine has mined it, so a transaction just sent (by a server, say) can sit in
 * the pool for a moment (`npm start` met it once in about 500 reorgs). Queued transactions (a nonce
 * above its sender's next one) do not count: no block takes them until the gap fills, and a reorg
 * only lowers nonces, so they stay out of the new branch. Whoever left one there (a send released
 * after a run's chain went back to its snapshot, or a target's server that skipped a nonce) is not
 * the reorg's concern; the error names them all the same, should a pending one remain.
 */
async function poolEmpty(rpcUrl: string, what: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  for (;;) {
    const p = await rpcCall<{ pending: Hex; queued: Hex }>(rpcUrl, 'txpool_status');
    if (BigInt(p.pending) === 0n) return;
    if (Date.now() >= deadline) {
      const content = await rpcCall<unknown>(rpcUrl, 'txpool_inspect').catch(() => undefined);
      throw new Error(`${what}: ${BigInt(p.pending)} pending / ${BigInt(p.queued)} queued transactions (await every receipt first): ${JSON.stringify(content)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs `fn` with anvil's automine off (when it was on), so a transaction a server sends meanwhile
 * waits in the pool instead of being mined between the height read and the reorg (seen once under
 * load: "after anvil_reorg(7) the chain is at 128, not 127"). Afterwards automine is on again and
 * what arrived meanwhile is mined in the next block, as if it had been sent just after.
 */
async function withMiningPaused<T>(rpcUrl: string, fn: () => Promise<T>): Promise<T> {
  const automine = await rpcCall<boolean>(rpcUrl, 'anvil_getAutomine').catch(() => false);
  if (!automine) return fn();
  await rpcCall(rpcUrl, 'evm_setAutomine', [false]);
  try {
    return await fn();
  } finally {
    await rpcCall(rpcUrl, 'evm_setAutomine', [true]);
    const p = await rpcCall<{ pending: Hex }>(rpcUrl, 'txpool_status');
    if (BigInt(p.pending) > 0n) await rpcCall(rpcUrl, 'evm_mine', []);
  }
}

/** The reorg depth that replaces block `n` and every block after it. */
export async function depthFrom(rpcUrl: string, n: bigint): Promise<number> {
  const h = await height(rpcUrl);
  if (n < 1n || n > h) throw new Error(`block ${n} cannot be reorged (the chain is at ${h})`);
  return Number(h - n + 1n);
}

/**
 * Replaces the newest `depth` blocks with new ones that hold only the `reinclude` transactions (in
 * the blocks asked for). Throws when the node refuses or the chain's height changed.
 */
export async function reorg(rpcUrl: string, depth: number, o: { reinclude?: Reinclude[] } = {}): Promise<ReorgResult> {
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`reorg depth must be a positive integer, not ${depth}`);
  await poolEmpty(rpcUrl, 'reorg');
  return withMiningPaused(rpcUrl, () => reorgNow(rpcUrl, depth, o));
}

async function reorgNow(rpcUrl: string, depth: number, o: { reinclude?: Reinclude[] }): Promise<ReorgResult> {
  const h = await height(rpcUrl);
  if (BigInt(depth) > h) throw new Error(`reorg depth ${depth} exceeds the chain height ${h}`);
  const replaced = await blocksAbove(rpcUrl, h - BigInt(depth) + 1n, h);
  const pairs: [Hex, number][] = [];
  const wanted: Hex[] = [];
  for (const r of o.reinclude ?? []) {
    const offset = r.block ?? depth - 1;
    if (!Number.isInteger(offset) || offset < 0 || offset >= depth) throw new Error(`re-include block ${offset} is outside the new branch (0..${depth - 1})`);
    const raw = r.raw ?? (r.hash ? await rpcCall<Hex | null>(rpcUrl, 'eth_getRawTransactionByHash', [r.hash]) : null);
    if (!raw) throw new Error(`re-include: no signed bytes for ${r.hash ?? 'an entry without hash or raw'}`);
    pairs.push([raw, offset]);
    wanted.push(r.hash ?? keccak256(raw));
  }
  await rpcCall(rpcUrl, 'anvil_reorg', [depth, pairs]);
  const after = await height(rpcUrl);
  if (after !== h) throw new Error(`after anvil_reorg(${depth}) the chain is at ${after}, not ${h}`);
  const blocks = await blocksAbove(rpcUrl, h - BigInt(depth) + 1n, h);
  const unchanged = blocks.filter((b, i) => b.hash === replaced[i]!.hash).map((b) => b.number);
  const reincluded: ReorgResult['reincluded'] = [];
  const dropped: Hex[] = [];
  for (const hash of wanted) {
    const r = await rpcCall<RpcReceipt | null>(rpcUrl, 'eth_getTransactionReceipt', [hash]);
    if (r) reincluded.push({ hash, block: { number: BigInt(r.blockNumber), hash: r.blockHash }, status: BigInt(r.status) === 1n ? 'success' : 'reverted' });
    else dropped.push(hash);
  }
  return { height: h, replaced, blocks, unchanged, reincluded, dropped };
}

/** Removes the newest `depth` blocks (the chain gets shorter; their transactions are dropped). */
export async function rollback(rpcUrl: string, depth: number): Promise<{ height: bigint; removed: BlockRef[] }> {
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`rollback depth must be a positive integer, not ${depth}`);
  await poolEmpty(rpcUrl, 'rollback');
  return withMiningPaused(rpcUrl, async () => {
    const h = await height(rpcUrl);
    if (BigInt(depth) > h) throw new Error(`rollback depth ${depth} exceeds the chain height ${h}`);
    const removed = await blocksAbove(rpcUrl, h - BigInt(depth) + 1n, h);
    await rpcCall(rpcUrl, 'anvil_rollback', [depth]);
    const after = await height(rpcUrl);
    if (after !== h - BigInt(depth)) throw new Error(`after anvil_rollback(${depth}) the chain is at ${after}, not ${h - BigInt(depth)}`);
    return { height: after, removed };
  });
}
