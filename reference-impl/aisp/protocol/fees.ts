/**
 * AISP money arithmetic: the single source of the price formula, the fee and the early-revoke split
 * (scenarios/aisp/profile.md AISP-PROF-02/03/05). Pure bigint functions, exact for every uint256
 * input. The model, the scenario oracle, the reference backend and the forge tests (through the
 * vectors written by `fee-vectors.ts` into contracts/test/aisp/FeeVectors.sol) all use these, and
 * contracts/src/aisp/AispMath.sol implements the same three functions.
 */
import { AISP_PROFILE, DIEM, type RefundRule } from './profile.ts';

export const BPS = 10_000n;
export const UINT256_MAX = (1n << 256n) - 1n;

/**
 * What a rental costs in USDC base units: `pricePerDay` (USDC base units per whole DIEM per day) ×
 * `diemAmount` (DIEM base units) × `termDays` / 10^6, **rounded up** (toward the provider, so no
 * rental is free).
 *
 * @example rentalCost(800_000n, 1_000n * DIEM, 30n) === 24_000_000_000n  // $0.80/DIEM/day, 1000 DIEM, 30 days = $24,000
 */
export function rentalCost(pricePerDay: bigint, diemAmount: bigint, termDays: bigint): bigint {
  const n = pricePerDay * diemAmount * termDays;
  return n / DIEM + (n % DIEM === 0n ? 0n : 1n);
}

/** The protocol fee on `amount`: floor(amount × feeBps / 10,000), **rounded down** (toward the provider). */
export function protocolFee(amount: bigint, feeBps: bigint = AISP_PROFILE.feeBps): bigint {
  return (amount / BPS) * feeBps + ((amount % BPS) * feeBps) / BPS;
}

/** How a settled `amount` splits: the provider gets `amount - fee`, the fee recipient `fee`. */
export function settleSplit(amount: bigint, feeBps: bigint = AISP_PROFILE.feeBps): { provider: bigint; fee: bigint } {
  const fee = protocolFee(amount, feeBps);
  return { provider: amount - fee, fee };
}

/**
 * The days an early revoke at `now` charges (AISP-PROF-05): the whole days elapsed since funding,
 * plus the day in progress under `started-days` (the default), not under `completed-days`.
 */
export function usedDays(fundedAt: bigint, now: bigint, rule: RefundRule = AISP_PROFILE.refundRule, secondsPerDay: bigint = AISP_PROFILE.secondsPerDay): bigint {
  return (now - fundedAt) / secondsPerDay + (rule === 'started-days' ? 1n : 0n);
}

/**
 * Early revoke of a `termDays` rental after `used` used days (0 ≤ used ≤ termDays): the provider
 * earns ceil(cost × used / termDays) (**rounded up**, toward the provider) and pays the fee on it; the
 * renter gets the rest back.
 */
export function revokeSplit(cost: bigint, termDays: bigint, used: bigint, feeBps: bigint = AISP_PROFILE.feeBps): { refund: bigint; provider: bigint; fee: bigint; earned: bigint } {
  const q = cost / termDays;
  const r = cost % termDays;
  const part = r * used;
  const earned = q * used + part / termDays + (part % termDays === 0n ? 0n : 1n);
  const { provider, fee } = settleSplit(earned, feeBps);
  return { refund: cost - earned, provider, fee, earned };
}

/** Whether `list` accepts these terms (AISP-PROF-06), and if not, the contract's error name. */
export function listError(pricePerDay: bigint, termDays: bigint, diemMin: bigint, diemMax: bigint, maxTermDays: bigint = AISP_PROFILE.maxTermDays): string | null {
  if (pricePerDay === 0n) return 'ZeroPrice';
  if (termDays === 0n || termDays > maxTermDays) return 'InvalidTerm';
  if (diemMin === 0n || diemMin > diemMax) return 'InvalidDiemRange';
  if (pricePerDay > UINT256_MAX / diemMax / termDays) return 'PriceTooHigh';
  return null;
}
