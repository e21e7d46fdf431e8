/**
 * APS-1 fee math, the one pure function every part uses: the model (model.ts), the scenarios'
 * oracle, the reference servers' reports (settlement messages) and the forge tests (whose vectors
 * are generated from here: reference-impl/aps1/gen-vectors.ts → contracts/test/aps1/Aps1FeeVectors.sol).
 *
 * Rules (seed 004: `APS1_PLATFORM_FEE_BPS = 800`; specs/protocols.md §D.3-D.4; profile.md):
 * - platform fee = floor(budget × 800 / 10 000), fixed when the job is created (APS-PROF-02);
 * - arbitration penalty = min(floor(budget × 300 / 10 000), cap); the cap is 10 tokens in the
 *   token's own units (reference) or 10e18 base units whatever the decimals (compat
 *   `penaltyCapIn18Decimals`);
 * - every share rounds DOWN: the platform never takes more than its rate; the remainder ("dust")
 *   stays with the payee (the worker on settle, the agent on a milestone);
 * - conservation: what goes out of an ended job (worker + employer + fees) is exactly what came in
 *   (budget + the employer's dispute bond).
 *
 * Money is bigint base units throughout.
 */

/** Denominator of every rate. */
export const BPS = 10_000n;

/** `amount × rateBps / 10 000`, rounded down. */
export function share(amount: bigint, rateBps: bigint): bigint {
  if (amount < 0n || rateBps < 0n) throw new RangeError('amounts and rates are non-negative');
  return (amount * rateBps) / BPS;
}

/** The platform fee of a budget (fixed at creation). */
export function platformFee(budget: bigint, feeBps: bigint): bigint {
  return share(budget, feeBps);
}

/**
 * The penalty cap in a token's base units. `cap18` is the cap as stored on chain (18-decimal units,
 * the public contract's `10e18`); the reference reads it in the token's units (10 tokens = 10^7 base
 * units of a 6-decimal token), compat uses it as is.
 */
export function penaltyCap(cap18: bigint, decimals: number, capIn18Decimals: boolean): bigint {
  if (capIn18Decimals || decimals === 18) return cap18;
  if (decimals < 18) return cap18 / 10n ** BigInt(18 - decimals);
  return cap18 * 10n ** BigInt(decimals - 18);
}

/** Arbitration rates and cap as a contract holds them. */
export interface PenaltyRates {
  penaltyBps: bigint;
  /** Cap in 18-decimal units (whole tokens × 10^18). */
  cap18: bigint;
  decimals: number;
  capIn18Decimals: boolean;
}

/** `min(floor(budget × penaltyBps / 10 000), cap)`. */
export function arbitrationPenalty(budget: bigint, r: PenaltyRates): bigint {
  const p = share(budget, r.penaltyBps);
  const cap = penaltyCap(r.cap18, r.decimals, r.capIn18Decimals);
  if (p < cap) return p;
  return cap;
}

/** How a NexusV2 job ends. */
export type JobEnd = 'settle' | 'refund' | 'timeout';

/** What decides where an ending job's money goes. */
export interface JobSettlementInput {
  end: JobEnd;
  budget: bigint;
  /** The platform fee fixed at creation. */
  fee: bigint;
  /** The job was disputed when it ended. */
  disputed: boolean;
  /** The employer's dispute bond held for the job (0 under compat `penaltyFromWinner`). */
  bond: bigint;
  /** Compat: cut the penalty from the winner when no bond was posted. */
  penaltyFromWinner: boolean;
  /** The penalty the contract computes at the ending (today's rate and cap). */
  penaltyNow: bigint;
}

/** Where an ending job's money goes (base units). `penalty` is what the loser (or, compat, the winner) paid. */
export interface Settlement {
  toWorker: bigint;
  toEmployer: bigint;
  toFees: bigint;
  penalty: bigint;
  /** Who the contract's ArbitrationPenaltyApplied event names, if it emits one. */
  penalizedParty?: 'employer' | 'worker';
}

/**
 * THE settlement function: where the budget (and bond) of an ending job go.
 * - settle: the worker gets budget − fee; the fee accrues. Disputed: the employer lost; its bond is
 *   forfeited to the platform (reference), or (compat, no bond) the penalty is cut from the worker's pay.
 * - refund: the employer gets the budget back, no fee. Disputed: the worker lost; the employer also
 *   gets its bond back (reference), or (compat, no bond) the penalty is cut from the employer's refund.
 * - timeout: the employer gets the budget (and any bond) back, no fee, no penalty.
 */
export function settleJob(i: JobSettlementInput): Settlement {
  if (i.fee > i.budget) throw new RangeError('fee exceeds budget');
  if (i.end === 'timeout') return { toWorker: 0n, toEmployer: i.budget + i.bond, toFees: 0n, penalty: 0n };
  if (i.end === 'settle') {
    if (!i.disputed) return { toWorker: i.budget - i.fee, toEmployer: 0n, toFees: i.fee, penalty: 0n };
    if (i.bond > 0n) return { toWorker: i.budget - i.fee, toEmployer: 0n, toFees: i.fee + i.bond, penalty: i.bond, penalizedParty: 'employer' };
    const penalty = i.penaltyFromWinner ? i.penaltyNow : 0n;
    return { toWorker: i.budget - i.fee - penalty, toEmployer: 0n, toFees: i.fee + penalty, penalty, penalizedParty: 'employer' };
  }
  if (!i.disputed) return { toWorker: 0n, toEmployer: i.budget, toFees: 0n, penalty: 0n };
  if (i.bond > 0n) return { toWorker: 0n, toEmployer: i.budget + i.bond, toFees: 0n, penalty: 0n };
  if (!i.penaltyFromWinner) return { toWorker: 0n, toEmployer: i.budget, toFees: 0n, penalty: 0n };
  return { toWorker: 0n, toEmployer: i.budget - i.penaltyNow, toFees: i.penaltyNow, penalty: i.penaltyNow, penalizedParty: 'worker' };
}

/** The employer's dispute bond: the penalty (reference), nothing under compat `penaltyFromWinner`. */
export function disputeBond(budget: bigint, rates: PenaltyRates, penaltyFromWinner: boolean): bigint {
  return penaltyFromWinner ? 0n : arbitrationPenalty(budget, rates);
}

/** An approved milestone: the agent gets amount − floor(amount × feeBps / 10 000). */
export function settleMilestone(amount: bigint, feeBps: bigint): { toAgent: bigint; toFees: bigint } {
  const fee = share(amount, feeBps);
  return { toAgent: amount - fee, toFees: fee };
}

/** The APS-1 settlement message amounts (`agentPayout`, `platformFee`) of a settled, undisputed job. */
export function settlementAmounts(budget: bigint, feeBps: bigint): { agentPayout: bigint; platformFee: bigint } {
  const fee = platformFee(budget, feeBps);
  return { agentPayout: budget - fee, platformFee: fee };
}
