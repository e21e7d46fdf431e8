/**
 * Executable model of an Agentripe task and its escrow deposit (seed 002 + profile.md). Pure: no
 * I/O; constants from profile.ts, the rejection limit per task (a what-if profile may change it:
 * constants.ts). The scenarios use it as the oracle: every vendor action is applied to the model and to the
 * real server, and the outcomes must agree.
 */

import { AGENTRIPE_PROFILE } from './profile.ts';

export { AGENTRIPE_PROFILE };

export type TaskStatus = 'pending' | 'processing' | 'rejected' | 'completed' | 'failed';
export type EscrowStatus = 'deposited' | 'released' | 'refunded';
/** What the vendor does. `complete` carries the review verdict the server reported. */
export type VendorAction = { kind: 'start' } | { kind: 'complete'; approved: boolean } | { kind: 'fail' };

/** The model of one paid task. */
export interface TaskModel {
  status: TaskStatus;
  rejections: number;
  amount: bigint;
  escrow: EscrowStatus;
  /** Credited to the agent wallet (release) and to the buyer (refund), in base units. */
  vendorCredit: bigint;
  buyerCredit: bigint;
  /** Rejections after which the task fails and the buyer is refunded (the run's `reviewLimit`). */
  reviewLimit: number;
}

/** A freshly paid task; `reviewLimit` is the run's (default: the seed's 5). */
export function newTask(amount: bigint, reviewLimit: number = AGENTRIPE_PROFILE.reviewLimit): TaskModel {
  return { status: 'pending', rejections: 0, amount, escrow: 'deposited', vendorCredit: 0n, buyerCredit: 0n, reviewLimit };
}

/** Whether the server must accept `action` in the task's current state. */
export function allowed(t: TaskModel, kind: VendorAction['kind']): boolean {
  switch (kind) {
    case 'start':
      return t.status === 'pending' || t.status === 'rejected';
    case 'complete':
      return t.status === 'processing' || t.status === 'rejected';
    case 'fail':
      return t.status === 'pending' || t.status === 'processing' || t.status === 'rejected';
  }
}

/** The escrow action a `complete`/`fail` response must report. */
export type EscrowAction = 'released' | 'refunded' | 'none';

/**
 * Apply an action. Returns the next state and the escrow action, or `refused` when the server must
 * answer 4xx and change nothing.
 */
export function step(
  t: TaskModel,
  a: VendorAction,
  limit: number = t.reviewLimit,
  feeBps: number = AGENTRIPE_PROFILE.escrowFeeBps,
): { refused: true } | { refused: false; next: TaskModel; escrowAction: EscrowAction } {
  if (!allowed(t, a.kind)) return { refused: true };
  if (a.kind === 'start') return { refused: false, next: { ...t, status: 'processing' }, escrowAction: 'none' };
  if (a.kind === 'fail') return { refused: false, next: refund(t), escrowAction: 'refunded' };
  if (a.approved) return { refused: false, next: { ...t, status: 'completed', escrow: 'released', vendorCredit: t.vendorCredit + payout(t.amount, feeBps) }, escrowAction: 'released' };
  const rejections = t.rejections + 1;
  if (rejections >= limit) return { refused: false, next: { ...refund(t), rejections }, escrowAction: 'refunded' };
  return { refused: false, next: { ...t, status: 'rejected', rejections }, escrowAction: 'none' };
}

function refund(t: TaskModel): TaskModel {
  return { ...t, status: 'failed', escrow: 'refunded', buyerCredit: t.buyerCredit + t.amount };
}

/**
 * The vendor's payout for an amount (profile AGR-PROF-10: no escrow fee, no rounding). `feeBps` is
 * for what-if profiles (`amh simulate`): the fee is rounded down, so the vendor gets the odd unit.
 */
export function payout(amount: bigint, feeBps: number = AGENTRIPE_PROFILE.escrowFeeBps): bigint {
  return amount - (amount * BigInt(feeBps)) / 10_000n;
}

/** Numeric getDeposit status for a model escrow state. */
export function depositStatusCode(e: EscrowStatus): number {
  return AGENTRIPE_PROFILE.statuses[e === 'deposited' ? 'DEPOSITED' : e === 'released' ? 'RELEASED' : 'REFUNDED'];
}

/** Whether a task is finished (no action is allowed any more). */
export function terminal(t: TaskModel): boolean {
  return t.status === 'completed' || t.status === 'failed';
}

/**
 * The end states a race of two actions may reach from `t`: the model applied in both orders
 * (the server serialises them; which one wins is its choice).
 */
export function raceOutcomes(t: TaskModel, a: VendorAction, b: VendorAction): TaskModel[] {
  const seq = (x: VendorAction, y: VendorAction) => {
    let m = t;
    for (const act of [x, y]) {
      const r = step(m, act);
      if (!r.refused) m = r.next;
    }
    return m;
  };
  return [seq(a, b), seq(b, a)];
}
