/**
 * The Agentripe constants a what-if profile may change (harness/profiles), declared once with their
 * ranges. Defaults come from profile.json, which the escrow's init arguments in the chain fixture
 * also read, so without a profile everything runs exactly as before.
 */
import { defineConstants, ordinal } from '../../../harness/profiles/constants.ts';
import data from './profile.json' with { type: 'json' };

export const AGENTRIPE_CONSTANTS = defineConstants(
  'agentripe',
  {
    reviewLimit: {
      type: 'integer',
      default: data.reviewLimit,
      min: 1,
      max: 20,
      unit: 'rejections',
      meaning: 'rejections after which the task fails and the buyer is refunded (seed: "5 rejections → auto refund")',
      appliesTo: ['server', 'model', 'requirements'],
    },
    reclaimDelaySeconds: {
      type: 'seconds',
      default: data.reclaimDelaySeconds,
      // The escrow's own bounds (MIN_RECLAIM_DELAY 1 h, MAX_RECLAIM_DELAY 365 days).
      min: 3600,
      max: 31_536_000,
      unit: 's',
      meaning: 'seconds after a deposit is recorded from which its buyer may reclaim it if nobody resolved it (AGR-PROF-09: 7 days)',
      appliesTo: ['contract', 'model', 'requirements'],
      contract: 'AgentripeEscrow.initialize argument (fixture: the default); the reference service calls setReclaimDelay as admin at start',
    },
    authWindowSeconds: {
      type: 'seconds',
      default: data.authWindowSeconds,
      // Scenarios try stale timestamps from the window + 30 s up to a day.
      min: 30,
      max: 3600,
      unit: 's',
      meaning: 'tolerance of vendor-auth and register-with-key timestamps (seed: "Tolerance ±5 min")',
      appliesTo: ['server', 'model', 'requirements'],
    },
  },
  (v) => ({
    reviewLimitNth: ordinal(v.reviewLimit),
    reviewLimitNextNth: ordinal(v.reviewLimit + 1),
    // "rejected (1st to 4th time)": the rejections that leave the task open.
    reviewLimitRejected: v.reviewLimit === 1 ? 'never (the first rejection is final)' : v.reviewLimit === 2 ? '1st time' : `1st to ${ordinal(v.reviewLimit - 1)} time`,
    authWindowSecondsText: v.authWindowSeconds % 60 === 0 ? `${v.authWindowSeconds / 60} minute${v.authWindowSeconds === 60 ? '' : 's'}` : `${v.authWindowSeconds} seconds`,
    reclaimDelaySecondsText: v.reclaimDelaySeconds % 86_400 === 0 ? `${v.reclaimDelaySeconds / 86_400} days` : `${v.reclaimDelaySeconds} s`,
  }),
);

export default AGENTRIPE_CONSTANTS;

/** The effective Agentripe constants. */
export type AgentripeConstants = typeof AGENTRIPE_CONSTANTS.defaults;
