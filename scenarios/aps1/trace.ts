/**
 * What an APS-1 agent did on chain, read from the chain alone: its transactions since a block,
 * decoded against NexusV2, StreamV1 and AIProofRegistry, and whether a result's on-chain claims
 * hold on the chain as it is now. The duplicate-delivery, reorg and crash scenarios judge "one
 * execution, never two" and "no claim the chain does not hold" with these.
 */
import { decodeFunctionData, type Abi, type Address, type Hex } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import { nexusAbi, proofAbi, streamAbi } from '../../reference-impl/aps1/protocol/abi.ts';
import type { Aps } from './lab.ts';

/** One transaction the agent sent: the function it called (or `other`) and its arguments. */
export interface AgentCall {
  fn: string;
  args: readonly unknown[];
  hash: Hex;
  block: bigint;
}

/** Every transaction `wallet` sent in the blocks after `from`, decoded where it called an APS-1 contract. */
export async function agentCalls(a: Aps, wallet: Address, from: bigint): Promise<AgentCall[]> {
  const head = await a.s.public.getBlockNumber({ cacheTime: 0 });
  const abiOf: Record<string, Abi> = { [a.c.nexus.toLowerCase()]: nexusAbi, [a.c.stream.toLowerCase()]: streamAbi, [a.c.proof.toLowerCase()]: proofAbi };
  const out: AgentCall[] = [];
  for (let n = from + 1n; n <= head; n++) {
    const b = await a.s.public.getBlock({ blockNumber: n, includeTransactions: true });
    for (const tx of b.transactions) {
      if (tx.from.toLowerCase() !== wallet.toLowerCase()) continue;
      const abi = tx.to ? abiOf[tx.to.toLowerCase()] : undefined;
      let fn = 'other';
      let args: readonly unknown[] = [];
      try {
        if (abi) ({ functionName: fn, args = [] } = decodeFunctionData({ abi, data: tx.input }) as { functionName: string; args?: readonly unknown[] });
      } catch {
        // not one of the contracts' functions: counted as `other`
      }
      out.push({ fn, args, hash: tx.hash, block: n });
    }
  }
  return out;
}

/** How many times each APS-1 step appears among `calls`. */
export function stepCounts(calls: AgentCall[]): { commit: number; verify: number; completeJob: number; submitMilestone: number } {
  const n = (fn: string) => calls.filter((c) => c.fn === fn).length;
  return { commit: n('commit'), verify: n('verify'), completeJob: n('completeJob'), submitMilestone: n('submitMilestone') };
}

/**
 * One envelope ran at most once on chain: at most one plan commitment, one verification, one
 * completion and one milestone submission among the agent's transactions `calls`.
 */
export function checkRanOnce(ctx: RunContext, req: string, calls: AgentCall[], what: string): void {
  const c = stepCounts(calls);
  ctx.check(req, c.commit <= 1 && c.verify <= 1 && c.completeJob <= 1 && c.submitMilestone <= 1, `${what}: the agent ran it once (at most one commit, verify, completeJob and submitMilestone)`, {
    expected: 'each step at most once',
    actual: `commit ${c.commit}, verify ${c.verify}, completeJob ${c.completeJob}, submitMilestone ${c.submitMilestone}`,
  });
}

/** A result's on-chain claims: every reported transaction with the block it names, and the proof's verification. */
function claimsOf(result: unknown): { hash: Hex; block?: number; what: string }[] {
  const r = result as { onChain?: { transactions?: { hash?: unknown; blockNumber?: unknown; description?: unknown }[] }; proof?: { verifyTxHash?: unknown } } | null;
  const out: { hash: Hex; block?: number; what: string }[] = [];
  for (const t of r?.onChain?.transactions ?? [])
    if (typeof t.hash === 'string') out.push({ hash: t.hash as Hex, block: typeof t.blockNumber === 'number' ? t.blockNumber : undefined, what: String(t.description ?? 'a reported transaction') });
  const v = r?.proof?.verifyTxHash;
  if (typeof v === 'string' && !/^0x0*$/.test(v)) out.push({ hash: v as Hex, what: 'proof.verifyTxHash' });
  return out;
}

/** The claims of `result` the chain does not hold now: a transaction not mined, failed, or in another block than it names. */
export async function falseClaims(a: Aps, result: unknown): Promise<string[]> {
  const bad: string[] = [];
  for (const c of claimsOf(result)) {
    const r = await a.s.public.getTransactionReceipt({ hash: c.hash }).catch(() => null);
    if (!r) bad.push(`${c.what} ${c.hash.slice(0, 10)}… is not on chain`);
    else if (r.status !== 'success') bad.push(`${c.what} ${c.hash.slice(0, 10)}… failed`);
    else if (c.block !== undefined && Number(r.blockNumber) !== c.block) bad.push(`${c.what} ${c.hash.slice(0, 10)}… is in block ${r.blockNumber}, not ${c.block}`);
  }
  return bad;
}
