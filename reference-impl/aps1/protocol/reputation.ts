/**
 * APS-1 reputation score and tiers (specs/protocols.md §D.5, ReputationRegistry), as a pure
 * function: the oracle of the reputation scenarios and the source of the forge vectors.
 *
 *   score = min(3000, nexusSum·600/nexusCount) + min(2500, offSum·500/offCount)
 *         + completed·2500/(completed+failed) + max(0, matched·2000/verified − 200·slashed),
 *   capped at 10 000; a term whose denominator is 0 counts 0; every division rounds down.
 *   tier: > 9500 Legend (4), > 8000 Elite (3), > 6000 Trusted (2), > 3000 Rising (1), else 0.
 */
import { APS1_PROFILE } from './profile.ts';

/** A snapshot as `updateReputation` takes it (field order = the contract's). */
export interface ReputationInputs {
  nexusRatingSum: bigint;
  nexusRatingCount: bigint;
  offChainRatingSum: bigint;
  offChainRatingCount: bigint;
  jobsCompleted: bigint;
  jobsFailed: bigint;
  proofCommitments: bigint;
  proofVerified: bigint;
  proofMatched: bigint;
  proofSlashed: bigint;
}

export const REPUTATION_FIELDS = [
  'nexusRatingSum',
  'nexusRatingCount',
  'offChainRatingSum',
  'offChainRatingCount',
  'jobsCompleted',
  'jobsFailed',
  'proofCommitments',
  'proofVerified',
  'proofMatched',
  'proofSlashed',
] as const satisfies readonly (keyof ReputationInputs)[];

export const MAX_SCORE = 10_000n;

const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** The score 0..10000 of a snapshot. */
export function reputationScore(r: ReputationInputs): bigint {
  let score = 0n;
  if (r.nexusRatingCount > 0n) score += min(3000n, (r.nexusRatingSum * 600n) / r.nexusRatingCount);
  if (r.offChainRatingCount > 0n) score += min(2500n, (r.offChainRatingSum * 500n) / r.offChainRatingCount);
  const total = r.jobsCompleted + r.jobsFailed;
  if (total > 0n) score += (r.jobsCompleted * 2500n) / total;
  if (r.proofVerified > 0n) {
    const proof = (r.proofMatched * 2000n) / r.proofVerified;
    const slash = r.proofSlashed * 200n;
    if (proof > slash) score += proof - slash;
  }
  return min(score, MAX_SCORE);
}

/** The tier (0..4) of a score. */
export function reputationTier(score: bigint): number {
  for (const t of APS1_PROFILE.tiers) if (score > BigInt(t.above)) return t.tier;
  return 0;
}

/** The tier's name ("Legend", "Elite", "Trusted", "Rising", "Newcomer"). */
export function tierName(tier: number): string {
  return APS1_PROFILE.tiers.find((t) => t.tier === tier)?.name ?? 'Newcomer';
}

/** The inputs as the contract's argument list. */
export function reputationArgs(r: ReputationInputs): bigint[] {
  return REPUTATION_FIELDS.map((k) => r[k]);
}
