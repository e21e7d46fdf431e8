/**
 * The scripted APS-1 judge and the adversaries.
 *
 * Judge: settles a job whose worker delivered (status Completed) with a proof that matched on chain,
 * and refunds anything else: a failed or mismatched execution, or a dispute the employer raised
 * against a delivery whose proof does not match. With a matching proof it settles disputes too
 * (the employer loses its bond).
 *
 * Adversaries: every attack the scenarios try, each as the call it sends (settle by a non-judge,
 * dispute by a non-employer, double settle, claim before the deadline, a forged proof verification,
 * a second execution on one escrow, a marketplace charge in someone else's name). They are plain
 * descriptions, so a scenario loops over all of them in every run.
 */
import type { Hex } from 'viem';
import { nexusAbi, proofAbi } from '../protocol/abi.ts';
import type { Aps1Contracts } from './employer.ts';

/** What the judge sees of a job. */
export interface Evidence {
  status: number;
  /** The commitment the worker made for the job, when proofs are enabled. */
  proof?: { verified: boolean; matched: boolean; agentIsWorker: boolean };
}

/** The judge's ruling. */
export function judge(e: Evidence, proofRequired: boolean): 'settle' | 'refund' {
  const delivered = e.status === 2 || e.status === 3;
  const proven = !proofRequired || (e.proof?.verified === true && e.proof.matched && e.proof.agentIsWorker);
  return delivered && proven ? 'settle' : 'refund';
}

/** The attacks an adversary tries on NexusV2 / AIProofRegistry. */
export type AttackKind = 'settle-by-non-judge' | 'refund-by-non-judge' | 'dispute-by-non-employer' | 'double-settle' | 'claim-before-deadline' | 'forged-proof' | 'timeout-by-non-employer';
export const ATTACK_KINDS: readonly AttackKind[] = [
  'settle-by-non-judge',
  'refund-by-non-judge',
  'dispute-by-non-employer',
  'double-settle',
  'claim-before-deadline',
  'forged-proof',
  'timeout-by-non-employer',
];

/** The call an attack sends. */
export function attackCall(c: Aps1Contracts, kind: AttackKind, o: { jobId: bigint; commitmentId?: Hex }) {
  switch (kind) {
    case 'settle-by-non-judge':
    case 'double-settle':
      return { address: c.nexus, abi: nexusAbi, functionName: 'settleJob', args: [o.jobId] as const };
    case 'refund-by-non-judge':
      return { address: c.nexus, abi: nexusAbi, functionName: 'refundJob', args: [o.jobId] as const };
    case 'dispute-by-non-employer':
      return { address: c.nexus, abi: nexusAbi, functionName: 'disputeJob', args: [o.jobId] as const };
    case 'claim-before-deadline':
    case 'timeout-by-non-employer':
      return { address: c.nexus, abi: nexusAbi, functionName: 'claimTimeout', args: [o.jobId] as const };
    case 'forged-proof':
      return { address: c.proof, abi: proofAbi, functionName: 'verify', args: [o.commitmentId ?? (`0x${'0'.repeat(64)}` as Hex), `0x${'66'.repeat(32)}` as Hex] as const };
  }
}
