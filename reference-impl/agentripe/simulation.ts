/**
 * Agentripe in `amh simulate`: how one paid task unfolds, given the vendor's strategy and the
 * reviewer drawn for it.
 *
 * The buyer pays the price into the escrow; the vendor delivers every `serviceMs`; the reviewer
 * approves (release to the vendor, minus the escrow fee) or rejects (at the profile's review limit
 * the buyer is refunded); a failing vendor reports failure (refund); an absent vendor never acts and
 * the buyer reclaims after the profile's reclaim delay (AGR-PROF-09). The buyer then gives ERC-8004
 * feedback: 100 for good work received, 0 otherwise.
 *
 * One lifecycle ({@link lifecycle}) makes every decision of a task (the vendor's draw per delivery,
 * when to stop) and writes its plan; it asks an executor what the protocol answers. Both engines run
 * it: `--engine model` answers from the executable model (protocol/model.ts, {@link modelAnswers}),
 * `--engine stack` from the real server, escrow and reviewer (simulation-stack.ts).
 */
import { z } from 'zod';
import { defineSimulation, runPlan, type PlanStep, type SimTask, type TaskPlan } from '../../harness/sim/pack.ts';
import { AGENTRIPE_CONSTANTS } from './protocol/constants.ts';
import { AGENTRIPE_PROFILE, newTask, step, type TaskModel, type VendorAction } from './protocol/model.ts';

/**
 * The simulation's own knob (the escrow has no fee; a researcher may ask what one would do). The
 * declared constants (reviewLimit, reclaimDelaySeconds) arrive checked, defaults filled in.
 */
const Knobs = z.object({ escrowFeeBps: z.number().int().min(0).max(10_000).optional() }).passthrough();

/** The constants a task's plan depends on. */
export interface AgentripeSimProfile {
  reviewLimit: number;
  reclaimDelaySeconds: number;
  escrowFeeBps: number;
}

/** What the lifecycle asks the protocol; the executor carries it out (in the model, or for real). */
export type Ask =
  /** The buyer pays the task's price into the escrow. Answer: the amount the escrow holds for it. */
  | { kind: 'pay' }
  /** The buyer reclaims the unresolved deposit after the reclaim delay. Answer: the amount credited back. */
  | { kind: 'reclaim' }
  /** The vendor starts the task and reports failure. Answer: the amount refunded to the buyer. */
  | { kind: 'fail' }
  /** The vendor starts the task and submits a good or a bad result; the reviewer judges it. */
  | { kind: 'deliver'; attempt: number; good: boolean };

/** The protocol's answer to a `deliver`. */
export type Delivery =
  /** Rejected; the task stays open for another attempt. */
  | { approved: false; escrow: 'none' }
  /** Rejected for the review limit's time: `refunded` went back to the buyer. */
  | { approved: false; escrow: 'refunded'; refunded: bigint }
  /** Approved: `credited` to the vendor; the buyer received good work or not (`goodReceived`). */
  | { approved: true; escrow: 'released'; credited: bigint; goodReceived: boolean };

export type Answer = bigint | Delivery;

/**
 * One task's lifecycle: yields what it asks, receives the protocol's answers, returns the plan.
 * The vendor's draw (is this delivery good?) is made here, once per delivery, from the task's own
 * stream, so every executor sees the same deliveries.
 */
export function* lifecycle(task: SimTask): Generator<Ask, TaskPlan, Answer> {
  const p = task.profile as unknown as AgentripeSimProfile;
  const deposited = (yield { kind: 'pay' }) as bigint;
  const steps: PlanStep[] = [{ at: 0, action: 'pay', payment: true, transfers: [{ from: task.buyer, to: task.escrow, amount: deposited }] }];
  const back = (amount: bigint) => [{ from: task.escrow, to: task.buyer, amount }];
  if (task.strategy === 'absent') {
    const at = p.reclaimDelaySeconds * 1000;
    const amount = (yield { kind: 'reclaim' }) as bigint;
    steps.push({ at, action: 'reclaim', transfers: back(amount) }, { at, action: 'feedback', feedback: 0 });
    return { steps, outcome: 'reclaimed', delivered: 'none', attempts: 0, rejections: 0 };
  }
  if (task.strategy === 'failing') {
    const amount = (yield { kind: 'fail' }) as bigint;
    steps.push({ at: task.serviceMs, action: 'fail', transfers: back(amount) }, { at: task.serviceMs, action: 'feedback', feedback: 0 });
    return { steps, outcome: 'failed', delivered: 'none', attempts: 1, rejections: 0 };
  }
  let rejections = 0;
  for (let attempt = 1; ; attempt++) {
    // The review limit ends every task; an executor that never says so is broken, not slow.
    if (attempt > p.reviewLimit + 1) throw new Error(`agentripe simulation: task ${task.id} still open after ${p.reviewLimit} rejections`);
    const at = attempt * task.serviceMs;
    const good = task.strategy !== 'malicious' && task.rng.chance(task.quality);
    const d = (yield { kind: 'deliver', attempt, good }) as Delivery;
    if (!d.approved) rejections++;
    steps.push({ at, action: `submit:${good ? 'good' : 'bad'}` }, { at, action: d.approved ? 'review:approve' : 'review:reject' });
    if (d.escrow === 'released') {
      const fee = deposited - d.credited;
      steps.push({
        at,
        action: 'release',
        transfers: [{ from: task.escrow, to: task.seller, amount: d.credited }, ...(fee !== 0n ? [{ from: task.escrow, to: task.fees, amount: fee }] : [])],
      });
      steps.push({ at, action: 'feedback', feedback: d.goodReceived ? 100 : 0 });
      return { steps, outcome: 'completed', delivered: d.goodReceived ? 'good' : 'bad', attempts: attempt, rejections };
    }
    if (d.escrow === 'refunded') {
      steps.push({ at, action: 'refund', transfers: back(d.refunded) }, { at, action: 'feedback', feedback: 0 });
      return { steps, outcome: 'refunded', delivered: 'none', attempts: attempt, rejections };
    }
  }
}

/**
 * The executable model as the lifecycle's executor: the escrow and the review limit of
 * protocol/model.ts; the reviewer drawn for the task approves good work, and everything when it
 * colludes with the vendor.
 */
export function modelAnswers(task: SimTask): (ask: Ask) => Answer {
  const p = task.profile as unknown as AgentripeSimProfile;
  let m: TaskModel = newTask(task.amount, p.reviewLimit);
  const apply = (a: VendorAction) => {
    const r = step(m, a, p.reviewLimit, p.escrowFeeBps);
    // The lifecycle never asks for a refused action; one would be a bug in it.
    if (r.refused) throw new Error(`agentripe simulation: the model refuses '${a.kind}' in state ${m.status}`);
    const before = m;
    m = r.next;
    return { action: r.escrowAction, vendor: m.vendorCredit - before.vendorCredit, buyer: m.buyerCredit - before.buyerCredit };
  };
  return (ask) => {
    switch (ask.kind) {
      case 'pay':
        return m.amount;
      case 'reclaim':
        // The model has no reclaim action: the whole deposit goes back to the buyer.
        return m.amount;
      case 'fail':
        apply({ kind: 'start' });
        return apply({ kind: 'fail' }).buyer;
      case 'deliver': {
        const approved = ask.good || task.reviewer?.colludes === true;
        apply({ kind: 'start' });
        const r = apply({ kind: 'complete', approved });
        if (r.action === 'released') return { approved: true, escrow: 'released', credited: r.vendor, goodReceived: ask.good };
        if (r.action === 'refunded') return { approved: false, escrow: 'refunded', refunded: r.buyer };
        return { approved: false, escrow: 'none' };
      }
    }
  };
}

/** Why the real stack cannot run an economy with this profile, if it cannot. */
export function stackRefuses(profile: Record<string, unknown>): string | undefined {
  const fee = (profile as unknown as AgentripeSimProfile).escrowFeeBps;
  if (fee !== 0) return `the reference escrow takes no fee (AGR-PROF-10): escrowFeeBps ${fee} is a what-if of the model only`;
  return undefined;
}

export default defineSimulation({
  protocol: 'agentripe',
  outcomes: { completed: 'paid', refunded: 'refunded', failed: 'refunded', reclaimed: 'timeout' },
  constants: AGENTRIPE_CONSTANTS,
  profile(overrides) {
    const r = Knobs.safeParse(overrides);
    if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
    return { ...r.data, escrowFeeBps: r.data.escrowFeeBps ?? AGENTRIPE_PROFILE.escrowFeeBps };
  },
  model: (task) => runPlan(lifecycle(task), modelAnswers(task)),
  stack: {
    chains: ['base-sepolia'],
    // No reference service: the market starts its own server (its reviewer's verdicts are scripted per task).
    services: [],
    refuses: stackRefuses,
    // Loaded only for --engine stack: the model engine needs no server code.
    start: async (env) => (await import('./simulation-stack.ts')).startAgentripeMarket(env),
  },
});
