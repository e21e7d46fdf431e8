/**
 * What the APS-1 scenarios share: the target's tempo-shaped chain (tokens and the four contracts by
 * their keys), role accounts as ChainActors whose every transaction is evidence, chain-clock
 * control, balance books, and the agent / marketplace clients through the run's recording fetch.
 * Everything goes through the Target.
 */
import type { Address, Hex } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import { HarnessFault, Indeterminate } from '../../harness/engine/errors.ts';
import type { ChainSession } from '../../harness/engine/session.ts';
import type { ChainActor, ContractCall, SendResult } from '../../reference-impl/aps1/agents/chain-actor.ts';
import { agentClient, marketplaceClient } from '../../reference-impl/aps1/agents/clients.ts';
import { MAX_ALLOWANCE, type Aps1Contracts } from '../../reference-impl/aps1/agents/employer.ts';
import { APS1_CONTRACTS, APS1_EVENTS, tokenAbi } from '../../reference-impl/aps1/protocol/abi.ts';
import { aps1ProfileOf } from '../../reference-impl/aps1/protocol/constants.ts';
import type { Aps1Profile } from '../../reference-impl/aps1/protocol/profile.ts';
import type { Profile } from '../../harness/profiles/profile.ts';

/** Contracts and the token an APS-1 chain scenario needs. */
export const NEEDS = ['alphaUSD', APS1_CONTRACTS.nexus, APS1_CONTRACTS.stream, APS1_CONTRACTS.proof, APS1_CONTRACTS.reputation];
export const EMPLOYERS = ['buyer1', 'buyer2'] as const;
export const WORKERS = ['vendor1', 'vendor2'] as const;

/** One run's view of the APS-1 chain. */
export interface Aps {
  ctx: RunContext;
  s: ChainSession;
  c: Aps1Contracts;
  /** AlphaUSD (the seed's example token). */
  alpha: Address;
  /** Every stablecoin the target chain declares (alphaUSD first). */
  tokens: Address[];
}

/** Open the APS-1 chain of the target for this run. */
/**
 * What the scenarios check: the run's fee, penalty and cap (a what-if profile may change them) with
 * the reference compat switches off: a compat quirk on the target is judged against the intent.
 */
export function intent(x: { profile?: Profile | null }): Aps1Profile {
  return aps1ProfileOf(x, false);
}

export async function aps(ctx: RunContext): Promise<Aps> {
  const spec = ctx.target.chains.find((c) => NEEDS.every((n) => c.contracts[n] ?? c.tokens[n]));
  if (!spec) throw new HarnessFault(`no target chain declares ${NEEDS.join(' + ')}`);
  const s = await ctx.chain(spec.id);
  const c: Aps1Contracts = {
    nexus: s.contract(APS1_CONTRACTS.nexus),
    stream: s.contract(APS1_CONTRACTS.stream),
    proof: s.contract(APS1_CONTRACTS.proof),
    reputation: s.contract(APS1_CONTRACTS.reputation),
  };
  const keys = ['alphaUSD', ...Object.keys(spec.tokens).filter((k) => k !== 'alphaUSD' && k !== 'usdc')];
  return { ctx, s, c, alpha: s.contract('alphaUSD'), tokens: keys.map((k) => s.contract(k)) };
}

/** A role as a ChainActor: every send is a recorded `attempt` (events decoded with the APS-1 ABIs). */
export function actor(a: Aps, role: string): ChainActor {
  return {
    address: a.s.address(role),
    async send(label: string, call: ContractCall): Promise<SendResult> {
      const r = await a.s.attempt({
        label: `${role}: ${label}`,
        role,
        address: call.address,
        abi: call.abi as never,
        functionName: call.functionName as never,
        args: call.args as never,
        eventAbi: APS1_EVENTS,
      });
      return r.ok ? { ok: true, hash: r.hash, blockNumber: r.blockNumber, events: r.events as never } : { ok: false, reason: r.reason, ...(r.hash ? { hash: r.hash } : {}) };
    },
  };
}

/** Makes sure `role` lets `spender` pull `token` (one approve the first time). */
export async function allow(a: Aps, role: string, token: Address, spender: Address): Promise<void> {
  const have = await a.s.read(token, tokenAbi, 'allowance', [a.s.address(role), spender]);
  if (have >= MAX_ALLOWANCE / 2n) return;
  const r = await actor(a, role).send(`approve ${spender}`, { address: token, abi: tokenAbi, functionName: 'approve', args: [spender, MAX_ALLOWANCE] });
  if (!r.ok) throw new Indeterminate(undefined, `setup: ${role} could not approve ${spender} on ${token} (${r.reason})`);
}

/** The chain clock: the next transaction's block time is `t` (needs clock-control). */
export async function nextBlockAt(a: Aps, t: bigint): Promise<void> {
  await a.s.test.setNextBlockTimestamp({ timestamp: t });
}

/** Mines one empty block at time `t` (so views read that time). */
export async function mineAt(a: Aps, t: bigint): Promise<void> {
  await a.s.test.setNextBlockTimestamp({ timestamp: t });
  await a.s.test.mine({ blocks: 1 });
}

/** Balances of `holders` (label → address) in `token`. */
export async function balances(a: Aps, token: Address, holders: Record<string, Address>): Promise<Record<string, bigint>> {
  const out: Record<string, bigint> = {};
  for (const [k, v] of Object.entries(holders)) out[k] = await a.s.balanceOf(token, v);
  return out;
}

/** The number of transactions `who` has sent (its nonce): "the agent sent no transaction". */
export async function nonceOf(a: Aps, who: Address): Promise<number> {
  return a.s.public.getTransactionCount({ address: who, blockTag: 'latest' });
}

/** The agent under test (endpoint `aps1-agent`), through the run's recording fetch. */
export function agentOf(ctx: RunContext) {
  return agentClient(ctx.endpoint('aps1-agent').url, ctx.fetch);
}

/** The marketplace under test (endpoint `aps1-marketplace`). */
export function marketplaceOf(ctx: RunContext) {
  return marketplaceClient(ctx.endpoint('aps1-marketplace').url, ctx.fetch);
}

/** A fresh job id for a run (agent servers keep state across runs: `live` isolation). */
export function freshJobId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Short hex for action logs. */
export const short = (h: string | undefined) => (h ? `${h.slice(0, 10)}…` : String(h));

/** `0x` + 64 hex from a seed. */
export function hash32(n: number | bigint): Hex {
  return `0x${BigInt(n).toString(16).padStart(64, '0')}` as Hex;
}
