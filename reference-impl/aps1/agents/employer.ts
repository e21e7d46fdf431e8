/**
 * The scripted APS-1 employer (client): discover an agent, negotiate, lock funds by each of the
 * three methods (NexusV2 job, StreamV1 milestones, direct transfer), send the execution envelope,
 * then dispute, rate, approve or reject milestones, cancel, or claim a timeout. Chain writes go
 * through a ChainActor; HTTP through the clients of clients.ts. Speaks the protocol library only.
 */
import type { Address, Hex } from 'viem';
import { nexusAbi, streamAbi, tokenAbi } from '../protocol/abi.ts';
import type { APS1Envelope, APS1Negotiation, PaymentMethod } from '../protocol/schemas.ts';
import { eventOf, type ChainActor, type SendResult } from './chain-actor.ts';

export const MAX_ALLOWANCE = 2n ** 256n - 1n;

/** Where the APS-1 contracts are. */
export interface Aps1Contracts {
  nexus: Address;
  stream: Address;
  proof: Address;
  reputation: Address;
}

/** An escrow as an envelope names it, plus what it locked. */
export interface Escrow {
  method: PaymentMethod;
  contractAddress: Address;
  onChainId: number;
  txHash: Hex;
  token: Address;
  amount: bigint;
}

/** Lets `spender` pull `token` from the actor (once, max). */
export async function allowAll(actor: ChainActor, token: Address, spender: Address): Promise<SendResult> {
  return actor.send(`approve ${spender} to pull ${token}`, { address: token, abi: tokenAbi, functionName: 'approve', args: [spender, MAX_ALLOWANCE] });
}

/** The refusal of a createJob that was mined but emitted no JobCreated (it may have taken the budget). */
export const NO_JOB_CREATED = 'no JobCreated event';

/** createJob on NexusV2 (the actor must have allowed NexusV2 to pull `token`). */
export async function escrowNexus(
  actor: ChainActor,
  c: Aps1Contracts,
  o: { worker: Address; judge: Address; token: Address; amount: bigint; duration: bigint },
): Promise<Escrow | { refused: string }> {
  const r = await actor.send(`createJob(${o.amount} of ${o.token}, ${o.duration}s)`, {
    address: c.nexus,
    abi: nexusAbi,
    functionName: 'createJob',
    args: [o.worker, o.judge, o.token, o.amount, o.duration],
  });
  const ev = eventOf(r, 'JobCreated');
  if (!r.ok || !ev) return { refused: r.ok ? NO_JOB_CREATED : r.reason };
  return { method: 'nexus-escrow', contractAddress: c.nexus, onChainId: Number(ev.jobId), txHash: r.hash, token: o.token, amount: o.amount };
}

/** createStream on StreamV1 (1..10 milestone amounts; the actor must have allowed StreamV1). */
export async function escrowStream(actor: ChainActor, c: Aps1Contracts, o: { agent: Address; token: Address; amounts: bigint[]; duration: bigint }): Promise<Escrow | { refused: string }> {
  const r = await actor.send(`createStream(${o.amounts.join('+')} of ${o.token})`, {
    address: c.stream,
    abi: streamAbi,
    functionName: 'createStream',
    args: [o.agent, o.token, o.amounts, o.duration],
  });
  const ev = eventOf(r, 'StreamCreated');
  if (!r.ok || !ev) return { refused: r.ok ? 'no StreamCreated event' : r.reason };
  return { method: 'stream-milestone', contractAddress: c.stream, onChainId: Number(ev.streamId), txHash: r.hash, token: o.token, amount: o.amounts.reduce((a, b) => a + b, 0n) };
}

/** A plain ERC-20 transfer to the agent's wallet (seed: "direct-transfer: trusted agents, small amounts"). */
export async function payDirect(actor: ChainActor, o: { token: Address; to: Address; amount: bigint }): Promise<Escrow | { refused: string }> {
  const r = await actor.send(`transfer ${o.amount} of ${o.token} to ${o.to}`, { address: o.token, abi: tokenAbi, functionName: 'transfer', args: [o.to, o.amount] });
  if (!r.ok) return { refused: r.reason };
  return { method: 'direct-transfer', contractAddress: o.token, onChainId: 0, txHash: r.hash, token: o.token, amount: o.amount };
}

/** The execution envelope for a task paid by `escrow`. */
export function envelope(o: { jobId: string; agentId: string; prompt: string; payload?: Record<string, unknown>; callerWallet: Address; escrow?: Escrow; timestamp?: string }): APS1Envelope {
  return {
    jobId: o.jobId,
    agentId: o.agentId,
    prompt: o.prompt,
    ...(o.payload ? { payload: o.payload } : {}),
    callerWallet: o.callerWallet,
    ...(o.escrow ? { escrow: { contractAddress: o.escrow.contractAddress, onChainId: o.escrow.onChainId, txHash: o.escrow.txHash, method: o.escrow.method } } : {}),
    timestamp: o.timestamp ?? new Date().toISOString(),
  };
}

/** A negotiation message from the client. */
export function negotiation(type: APS1Negotiation['type'], jobId: string, price: number, message?: string): APS1Negotiation {
  return { type, jobId, price, currency: 'USD', ...(message ? { message } : {}), timestamp: new Date().toISOString() };
}

// ---- the employer's moves on NexusV2 and StreamV1 ---------------------------------------------

export const nexusCall = (c: Aps1Contracts, fn: 'startJob' | 'completeJob' | 'disputeJob' | 'settleJob' | 'refundJob' | 'claimTimeout', jobId: bigint) => ({
  address: c.nexus,
  abi: nexusAbi,
  functionName: fn,
  args: [jobId] as const,
});

export const rateCall = (c: Aps1Contracts, jobId: bigint, rating: number) => ({ address: c.nexus, abi: nexusAbi, functionName: 'rateWorker', args: [jobId, rating] as const });

export const streamCall = (c: Aps1Contracts, fn: 'approveMilestone' | 'rejectMilestone', streamId: bigint, index: bigint) => ({
  address: c.stream,
  abi: streamAbi,
  functionName: fn,
  args: [streamId, index] as const,
});

export const streamEndCall = (c: Aps1Contracts, fn: 'cancelStream' | 'claimTimeout', streamId: bigint) => ({ address: c.stream, abi: streamAbi, functionName: fn, args: [streamId] as const });

export const submitCall = (c: Aps1Contracts, streamId: bigint, index: bigint, proofHash: Hex) => ({
  address: c.stream,
  abi: streamAbi,
  functionName: 'submitMilestone',
  args: [streamId, index, proofHash] as const,
});
