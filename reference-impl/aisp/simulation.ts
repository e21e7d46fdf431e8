/**
 * AISP in `amh simulate`: one paid task is one rental of a provider's inference capacity.
 *
 * Every simulated seller is a provider with one listing priced at its market price per whole DIEM
 * per day; a task rents 10^6 / `termDays` DIEM base units for `termDays` days, so the rental's cost
 * (`rentalCost`, rounded up) is exactly the seller's price. The buyer (the renter) checks that the
 * listing is rentable (a key stored, AISP-PROF-15), funds the rental (the cost moves into the
 * marketplace's escrow), gets the key from the backend and makes one inference call with it; when
 * the term is over the rental is settled (provider share and the 1% fee, rounded down, AISP-PROF-03).
 *
 * Seller strategies, as the protocol meets them:
 * - honest, undercutting (and sloppy with probability `quality`): the key serves; settled, paid.
 * - sloppy (the other times) and malicious: the provider deletes the key on the inference server
 *   once the renter has it, so the renter's call is refused; AISP gives the renter no recourse (no
 *   review, no dispute: only the provider can revoke), so the rental is settled and paid anyway.
 * - failing: the key serves at first, then the provider's service fails and it revokes `serviceMs`
 *   after funding (revokeAndRefund, key rotated): the renter gets back what the refund rule leaves it
 *   (AISP-PROF-05; under `started-days` a 1-day rental refunds nothing), the provider the earned part
 *   less the fee. A revoke the term has already ended is refused and the rental settles instead.
 * - absent: the provider listed but never stored a key: the listing is not rentable, the renter
 *   pays nothing.
 * The buyer's feedback: 100 when its call was served and the rental ran its term, 0 otherwise.
 *
 * One lifecycle ({@link lifecycle}) makes every decision of a task and writes its plan; it asks an
 * executor what the protocol answers. `--engine model` answers from the executable model
 * (protocol/model.ts, {@link modelAnswers}); `--engine stack` from the real marketplace, backend and
 * inference server (simulation-stack.ts).
 */
import { z } from 'zod';
import { defineSimulation, runPlan, type PlanStep, type SimTask, type TaskPlan } from '../../harness/sim/pack.ts';
import { AISP_CONSTANTS } from './protocol/constants.ts';
import { fund, keyDecision, list, newMarket, rentable, revoke, settle } from './protocol/model.ts';
import { AISP_PROFILE, DIEM, type RefundRule } from './protocol/profile.ts';

/**
 * The simulation's own knob: the rental term. It must divide 10^6 so that a rental of 10^6 / termDays
 * DIEM base units for termDays days costs exactly the seller's price per DIEM-day.
 */
const Knobs = z
  .object({
    termDays: z
      .number()
      .int()
      .min(1)
      .max(Number(AISP_PROFILE.maxTermDays))
      .refine((d) => Number(DIEM) % d === 0, { message: `must divide ${DIEM} (a rental of ${DIEM}/termDays DIEM base units then costs exactly the seller's price)` })
      .optional(),
  })
  .passthrough();

/** The constants a task's plan depends on. */
export interface AispSimProfile {
  feeBps: bigint;
  refundRule: RefundRule;
  termDays: number;
}

const DAY_MS = Number(AISP_PROFILE.secondsPerDay) * 1000;

/** The rental one task makes: termDays days of 10^6 / termDays DIEM base units, at the seller's price. */
export function rentalTerms(task: Pick<SimTask, 'profile'>): { termDays: bigint; diemAmount: bigint } {
  const termDays = BigInt((task.profile as unknown as AispSimProfile).termDays);
  return { termDays, diemAmount: DIEM / termDays };
}

/** How an ended rental's money split. */
export interface Split {
  refund: bigint;
  provider: bigint;
  fee: bigint;
}

/** What the lifecycle asks the protocol; the executor carries it out (in the model, or for real). */
export type Ask =
  /** Is the seller's listing rentable (open, a key stored, room)? Answer: boolean. */
  | { kind: 'rentable' }
  /** The buyer funds the rental and gets its key. Answer: the cost the escrow took. */
  | { kind: 'fund' }
  /** The buyer calls the inference API with its key, after the provider kept it (`good`) or deleted it. Answer: served. */
  | { kind: 'use'; good: boolean }
  /** The provider revokes `afterSeconds` after funding. Answer: the split, or null when the term had ended (refused). */
  | { kind: 'revoke'; afterSeconds: number }
  /** The rental is settled at the end of its term. Answer: the split (no refund). */
  | { kind: 'settle' };

export type Answer = boolean | bigint | Split | null;

/** Transfers out of the escrow for a split, zero amounts left out. */
function payouts(task: SimTask, s: Split) {
  return [
    { from: task.escrow, to: task.buyer, amount: s.refund },
    { from: task.escrow, to: task.seller, amount: s.provider },
    { from: task.escrow, to: task.fees, amount: s.fee },
  ].filter((x) => x.amount !== 0n);
}

/**
 * One task's lifecycle: yields what it asks, receives the protocol's answers, returns the plan. The
 * seller's draw (does this rental's key serve?) is made here, once, from the task's own stream, so
 * every executor sees the same rentals.
 */
export function* lifecycle(task: SimTask): Generator<Ask, TaskPlan, Answer> {
  const termMs = (task.profile as unknown as AispSimProfile).termDays * DAY_MS;
  if (!((yield { kind: 'rentable' }) as boolean)) {
    return {
      steps: [
        { at: 0, action: 'listing:not-rentable' },
        { at: 0, action: 'feedback', feedback: 0 },
      ],
      outcome: 'unavailable',
      delivered: 'none',
      attempts: 0,
      rejections: 0,
    };
  }
  const cost = (yield { kind: 'fund' }) as bigint;
  const steps: PlanStep[] = [
    { at: 0, action: 'rent', payment: true, transfers: [{ from: task.buyer, to: task.escrow, amount: cost }] },
    { at: 0, action: 'key' },
  ];
  const good = task.strategy === 'failing' || (task.strategy !== 'malicious' && task.rng.chance(task.quality));
  const served = (yield { kind: 'use', good }) as boolean;
  steps.push({ at: 0, action: served ? 'use:served' : 'use:refused' });
  if (task.strategy === 'failing') {
    const at = Math.floor(task.serviceMs / 1000) * 1000;
    const s = (yield { kind: 'revoke', afterSeconds: at / 1000 }) as Split | null;
    if (s) {
      steps.push({ at, action: 'revoke', transfers: payouts(task, s) }, { at, action: 'feedback', feedback: 0 });
      return { steps, outcome: 'revoked', delivered: 'none', attempts: 1, rejections: 0 };
    }
  }
  const s = (yield { kind: 'settle' }) as Split;
  steps.push({ at: termMs, action: 'settle', transfers: payouts(task, s) }, { at: termMs, action: 'feedback', feedback: served ? 100 : 0 });
  return { steps, outcome: 'settled', delivered: served ? 'good' : 'bad', attempts: 1, rejections: 0 };
}

/** The executable model (protocol/model.ts) as the lifecycle's executor: one listing, one rental. */
export function modelAnswers(task: SimTask): (ask: Ask) => Answer {
  const p = task.profile as unknown as AispSimProfile;
  const { termDays, diemAmount } = rentalTerms(task);
  const m = newMarket({ now: 0n, feeBps: p.feeBps, refundRule: p.refundRule });
  const listed = list(m, task.seller, { pricePerDay: task.amount, termDays, diemMin: diemAmount, diemMax: diemAmount });
  if (!listed.ok) throw new Error(`aisp simulation: the model refuses ${task.seller}'s listing (${listed.error})`);
  const listingId = listed.listingId;
  let rentalId: bigint | undefined;
  const must = <T extends object>(r: ({ ok: true } & T) | { ok: false; error: string }, what: string): T => {
    // The lifecycle never asks for a refused action but a late revoke; another would be a bug in it.
    if (!r.ok) throw new Error(`aisp simulation: the model refuses ${what} of task ${task.id} (${r.error})`);
    return r;
  };
  return (ask) => {
    switch (ask.kind) {
      case 'rentable':
        return rentable(m.listings.get(listingId)!, task.strategy !== 'absent');
      case 'fund': {
        const f = must(fund(m, task.buyer, listingId, termDays, diemAmount), 'the funding');
        rentalId = f.rentalId;
        if (keyDecision(m, rentalId, task.buyer, { confirmed: true, hasKey: true }) !== 'release') throw new Error(`aisp simulation: the model keeps the key of task ${task.id}`);
        return f.cost;
      }
      case 'use':
        // The key serves unless the provider deleted it on the inference server.
        return ask.good;
      case 'revoke': {
        m.now = BigInt(ask.afterSeconds);
        const r = revoke(m, task.seller, rentalId!);
        if (!r.ok && r.error === 'AlreadyExpired') return null;
        return must(r, 'the revoke');
      }
      case 'settle': {
        m.now = m.rentals.get(rentalId!)!.expiresAt;
        return { refund: 0n, ...must(settle(m, rentalId!), 'the settlement') };
      }
    }
  };
}

export default defineSimulation({
  protocol: 'aisp',
  outcomes: { settled: 'paid', revoked: 'refunded', unavailable: 'not-charged' },
  constants: AISP_CONSTANTS,
  profile(overrides) {
    const r = Knobs.safeParse(overrides);
    if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
    return { ...r.data, termDays: r.data.termDays ?? 1 };
  },
  model: (task) => runPlan(lifecycle(task), modelAnswers(task)),
  stack: {
    chains: ['base'],
    // No reference service: the market starts its own backend and inference server (an account per provider).
    services: [],
    // Loaded only for --engine stack: the model engine needs no server code.
    start: async (env) => (await import('./simulation-stack.ts')).startAispMarket(env),
  },
});
