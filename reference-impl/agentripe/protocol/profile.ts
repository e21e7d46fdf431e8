/**
 * Agentripe's protocol constants in one place: the seed's numbers ("5 rejections → auto refund",
 * "Tolerance ±5 min") and the profile's choices where the seed is silent (scenarios/agentripe/
 * profile.md, AGR-PROF-nn). The reference server, its contract's init arguments (contracts/src/
 * agentripe/placements.json refers to these by name), the model and the scenarios all read them here.
 */
export const AGENTRIPE_PROFILE = {
  /** Seed: the 5th rejection refunds the buyer. */
  reviewLimit: 5,
  /** Seed: vendor-auth and register-with-key timestamps within ±5 minutes. */
  authWindowSeconds: 300,
  /** AGR-PROF-09: a buyer may reclaim an unresolved deposit 7 days after it was recorded. */
  reclaimDelaySeconds: 604_800,
  /** AGR-PROF-10: no escrow fee. */
  escrowFeeBps: 0,
  /** Seed: getDeposit status codes. */
  statuses: { NONE: 0, DEPOSITED: 1, RELEASED: 2, REFUNDED: 3 },
} as const;
