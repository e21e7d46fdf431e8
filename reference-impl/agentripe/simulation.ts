/**
 * Agentripe in `amh simulate`: how one paid task unfolds under the executable model
 * (protocol/model.ts), given the vendor's strategy and the reviewer drawn for it.
 *
 * The buyer pays the price into the escrow; the vendor delivers every `serviceMs`; the reviewer
 * approves (release to the vendor, minus the escrow fee) or rejects (at the profile's review limit
 * the buyer is refunded); a failing vendor reports failure (refund); an absent vendor never acts and
 * the buyer reclaims after the profile's reclaim delay (AGR-PROF-09). The buyer then gives ERC-8004
 * feedback: 100 for good work received, 0 otherwise.
 */
import { z } from 'zod';
import { defineSimulation, type PlanStep, type SimTask, type TaskPlan } from '../../harness/sim/pack.ts';
import { AGENTRIPE_CONSTANTS } from './protocol/constants.ts';
import { AGENTRIPE_PROFILE, newTask, step, type TaskModel } from './protocol/model.ts';

/**
 * The simulation's own knob (the escrow has no fee; a researcher may ask what one would do). The
 * declared constants (reviewLimit, reclaimDelaySeconds) arrive checked, defaults filled in.
 */
const Knobs = z.object({ escrowFeeBps: z.number().int().min(0).max(10_000).optional() }).passthrough();

interface Profile {
  reviewLimit: number;
  reclaimDelaySeconds: number;
  escrowFeeBps: number;
}

function plan(task: SimTask): TaskPlan {
  const p = task.profile as unknown as Profile;
  const steps: PlanStep[] = [{ at: 0, action: 'pay', payment: true, transfers: [{ from: task.buyer, to: task.escrow, amount: task.amount }] }];
  const refundTo = (m: TaskModel) => [{ from: task.escrow, to: task.buyer, amount: m.buyerCredit }];
  if (task.strategy === 'absent') {
    const at = p.reclaimDelaySeconds * 1000;
    steps.push({ at, action: 'reclaim', transfers: [{ from: task.escrow, to: task.buyer, amount: task.amount }] }, { at, action: 'feedback', feedback: 0 });
    return { steps, outcome: 'reclaimed', delivered: 'none', attempts: 0, rejections: 0 };
  }
  let m = newTask(task.amount);
  const apply = (a: Parameters<typeof step>[1]) => {
    const r = step(m, a, p.reviewLimit, p.escrowFeeBps);
    // The vendor's scripted order never asks for a refused action; one would be a bug in this plan.
    if (r.refused) throw new Error(`agentripe simulation: the model refuses '${a.kind}' in state ${m.status}`);
    m = r.next;
    return r.escrowAction;
  };
  if (task.strategy === 'failing') {
    apply({ kind: 'start' });
    apply({ kind: 'fail' });
    steps.push({ at: task.serviceMs, action: 'fail', transfers: refundTo(m) }, { at: task.serviceMs, action: 'feedback', feedback: 0 });
    return { steps, outcome: 'failed', delivered: 'none', attempts: 1, rejections: 0 };
  }
  for (let attempt = 1; ; attempt++) {
    const at = attempt * task.serviceMs;
    const good = task.strategy !== 'malicious' && task.rng.chance(task.quality);
    const approved = good || task.reviewer?.colludes === true;
    apply({ kind: 'start' });
    const escrowAction = apply({ kind: 'complete', approved });
    steps.push({ at, action: `submit:${good ? 'good' : 'bad'}` }, { at, action: approved ? 'review:approve' : 'review:reject' });
    if (escrowAction === 'released') {
      const fee = task.amount - m.vendorCredit;
      steps.push({
        at,
        action: 'release',
        transfers: [{ from: task.escrow, to: task.seller, amount: m.vendorCredit }, ...(fee > 0n ? [{ from: task.escrow, to: task.fees, amount: fee }] : [])],
      });
      steps.push({ at, action: 'feedback', feedback: good ? 100 : 0 });
      return { steps, outcome: 'completed', delivered: good ? 'good' : 'bad', attempts: attempt, rejections: m.rejections };
    }
    if (escrowAction === 'refunded') {
      steps.push({ at, action: 'refund', transfers: refundTo(m) }, { at, action: 'feedback', feedback: 0 });
      return { steps, outcome: 'refunded', delivered: 'none', attempts: attempt, rejections: m.rejections };
    }
  }
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
  model: plan,
});
