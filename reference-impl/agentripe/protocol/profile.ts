/**
 * Agentripe's protocol constants in one place, as data (profile.json): the seed's numbers
 * ("5 rejections → auto refund", "Tolerance ±5 min") and the profile's choices where the seed is
 * silent (scenarios/agentripe/profile.md, AGR-PROF-nn). The reference server, the escrow's init
 * arguments (contracts/src/agentripe/placements.json names them), the model and the scenarios all
 * read them here.
 */
import data from './profile.json' with { type: 'json' };

export const AGENTRIPE_PROFILE = {
  /** Seed: the 5th rejection refunds the buyer. */
  reviewLimit: data.reviewLimit,
  /** Seed: vendor-auth and register-with-key timestamps within ±5 minutes. */
  authWindowSeconds: data.authWindowSeconds,
  /** AGR-PROF-09: a buyer may reclaim an unresolved deposit this long after it was recorded (7 days). */
  reclaimDelaySeconds: data.reclaimDelaySeconds,
  /** AGR-PROF-10: no escrow fee. */
  escrowFeeBps: data.escrowFeeBps,
  /** Seed: getDeposit status codes. */
  statuses: data.statuses,
} as const;
