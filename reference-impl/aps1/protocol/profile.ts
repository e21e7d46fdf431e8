/**
 * APS-1's protocol constants in one place, as data (profile.json): the seed's "Protocol Constants"
 * (version 1.0, chain 42431 "Tempo L1 Moderato", 8% platform fee), section D's contract numbers
 * (3% arbitration penalty capped at 10 tokens, at most 10 milestones, ratings 1..5, score tiers)
 * and the profile's choices where both are silent (scenarios/aps1/profile.md, APS-PROF-nn). The
 * contracts' init arguments (contracts/src/aps1/placements.json), the fee math, the model, the
 * servers and the scenarios all read them here.
 *
 * `compat` is the set of switches that reproduce the public contracts' quirks; `withCompat(...)`
 * builds a profile with some of them on, and {@link COMPAT_PROFILE} has them all on (the what-if
 * profile `profiles/compat.json`).
 */
import data from './profile.json' with { type: 'json' };
import compatData from './profiles/compat.json' with { type: 'json' };

/** The public contracts' quirks, each a switch (all off in the reference profile). */
export interface CompatSwitches {
  /** NexusV2: the arbitration penalty is cut from the winner's money (the event names the loser). */
  penaltyFromWinner: boolean;
  /** NexusV2: `maxArbitrationPenalty` (10e18) is compared with the token's base units as is. */
  penaltyCapIn18Decimals: boolean;
  /** NexusV2: claimTimeout from any unfinished status; completeJob has no deadline. */
  timeoutAfterDelivery: boolean;
  /** AIProofRegistry: anyone may verify a commitment (not only the committing agent). */
  verifyByAnyone: boolean;
}

export const COMPAT_SWITCHES = ['penaltyFromWinner', 'penaltyCapIn18Decimals', 'timeoutAfterDelivery', 'verifyByAnyone'] as const satisfies readonly (keyof CompatSwitches)[];

/** The constants a run uses. */
export interface Aps1Profile {
  /** Profile name ('reference', 'compat', or a what-if file's name). */
  name: string;
  version: '1.0';
  chainId: number;
  network: string;
  explorerTxUrl: string;
  platformFeeBps: bigint;
  maxPlatformFeeBps: bigint;
  arbitrationPenaltyBps: bigint;
  maxArbitrationPenaltyBps: bigint;
  /** The penalty cap in whole tokens (stored on chain as tokens * 1e18, like the public contract). */
  maxArbitrationPenaltyTokens: bigint;
  maxMilestones: number;
  maxDeadlineSeconds: number;
  escrowDeadlineSeconds: { min: number; max: number };
  rating: { min: number; max: number };
  /** Decimal places of a USD price that map to token base units (the stablecoins have 6). */
  priceDecimals: number;
  compat: CompatSwitches;
  statuses: { job: readonly string[]; stream: readonly string[]; milestone: readonly string[] };
  tiers: readonly { tier: number; name: string; above: number }[];
}

type ProfileJson = typeof data;

function fromJson(j: ProfileJson, name: string): Aps1Profile {
  return {
    name,
    version: j.version as '1.0',
    chainId: j.chainId,
    network: j.network,
    explorerTxUrl: j.explorerTxUrl,
    platformFeeBps: BigInt(j.platformFeeBps),
    maxPlatformFeeBps: BigInt(j.maxPlatformFeeBps),
    arbitrationPenaltyBps: BigInt(j.arbitrationPenaltyBps),
    maxArbitrationPenaltyBps: BigInt(j.maxArbitrationPenaltyBps),
    maxArbitrationPenaltyTokens: BigInt(j.maxArbitrationPenaltyTokens),
    maxMilestones: j.maxMilestones,
    maxDeadlineSeconds: j.maxDeadlineSeconds,
    escrowDeadlineSeconds: j.escrowDeadlineSeconds,
    rating: j.rating,
    priceDecimals: j.priceDecimals,
    compat: { ...j.compat },
    statuses: j.statuses,
    tiers: j.tiers,
  };
}

/** The reference profile: the intent of the text (every compat switch off). */
export const APS1_PROFILE: Aps1Profile = Object.freeze(fromJson(data, 'reference'));

/** Every public-contract quirk on (profiles/compat.json). */
export const COMPAT_PROFILE: Aps1Profile = Object.freeze(fromJson(compatData as ProfileJson, 'compat'));

/** A profile with the given switches changed. */
export function withCompat(p: Aps1Profile, switches: Partial<CompatSwitches>, name = `${p.name}+${Object.keys(switches).join('+')}`): Aps1Profile {
  return { ...p, name, compat: { ...p.compat, ...switches } };
}

/** A named profile: 'reference' or 'compat'. */
export function profileNamed(name: string): Aps1Profile {
  if (name === 'reference') return APS1_PROFILE;
  if (name === 'compat') return COMPAT_PROFILE;
  throw new Error(`unknown APS-1 profile '${name}' (known: reference, compat)`);
}

/** Job statuses as numbered by NexusV2's enum. */
export const JOB_STATUS = { Created: 0, Executing: 1, Completed: 2, Disputed: 3, Settled: 4, Refunded: 5 } as const;
export type JobStatusName = keyof typeof JOB_STATUS;
export const STREAM_STATUS = { Active: 0, Completed: 1, Cancelled: 2 } as const;
export type StreamStatusName = keyof typeof STREAM_STATUS;
export const MILESTONE_STATUS = { Pending: 0, Submitted: 1, Approved: 2, Rejected: 3 } as const;
export type MilestoneStatusName = keyof typeof MILESTONE_STATUS;
