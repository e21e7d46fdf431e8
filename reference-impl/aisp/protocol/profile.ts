/**
 * AISP's protocol constants in one place, as data (profile.json): the seed's numbers ("provider paid
 * 99%, 1% fee", 6-decimal DIEM) and the profile's choices where the seed is silent
 * (scenarios/aisp/profile.md, AISP-PROF-nn). The reference backend and inference server, the
 * marketplace's init arguments (contracts/src/aisp/placements.json names them), the model and the
 * scenarios all read them here.
 */
import type { Address } from 'viem';
import data from './profile.json' with { type: 'json' };

/**
 * How an early revoke counts the days used (AISP-PROF-05), in the order of DiemMarketplace's
 * `RefundRule` enum: `started-days` charges the day in progress, `completed-days` refunds it.
 */
export const REFUND_RULES = ['started-days', 'completed-days'] as const;
export type RefundRule = (typeof REFUND_RULES)[number];

export const AISP_PROFILE = {
  /** Seed: "provider receives 99% (1% protocol fee)". */
  feeBps: BigInt(data.feeBps),
  /** AISP-PROF-05: an early revoke charges the day in progress (`started-days`) or refunds it (`completed-days`). */
  refundRule: data.refundRule as RefundRule,
  /** AISP-PROF-03: the fee recipient the lab's marketplace is initialised with (no key: fees only accumulate). */
  feeRecipient: data.feeRecipient as Address,
  /** AISP-PROF-04: longest term a listing may offer. */
  maxTermDays: BigInt(data.maxTermDays),
  secondsPerDay: BigInt(data.secondsPerDay),
  /** Seed SDK: DIEM amounts are `parseUnits(x, 6)`. */
  diemDecimals: data.diemDecimals,
  /** AISP-PROF-12: ±seconds a signed timestamp may differ from the backend's (lab) clock. */
  signatureWindowSeconds: data.signatureWindowSeconds,
  /** AISP-PROF-13: blocks (the Funded block included) before a rental counts as confirmed. */
  confirmations: data.confirmations,
  /** Venice: DIEM consumption limits are per 24 h epoch starting 00:00 UTC. */
  epochSeconds: data.epochSeconds,
  /** AISP-PROF-18: the lab inference server's price, DIEM base units per token. */
  diemUnitsPerToken: BigInt(data.diemUnitsPerToken),
  /** AISP-PROF-18: tokens of every lab completion. */
  completionTokens: data.completionTokens,
  /** Rental status codes of `getRental(id).status`. */
  statuses: data.statuses,
} as const;

/** One whole DIEM in base units. */
export const DIEM = 10n ** BigInt(data.diemDecimals);
