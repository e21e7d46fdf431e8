/**
 * x402 in `amh simulate`: one paid request under the paywall's rule (server/paywall.ts, spec §1.6):
 * the payment is verified, the handler runs, and the payment settles (buyer → seller, exact scheme,
 * no protocol fee) only when the handler answered below 400. So a failing resource server (5xx) is
 * not paid, a server that never answers is not paid and the buyer gives up after
 * `maxTimeoutSeconds`, and a malicious one that answers 200 with garbage is paid: x402 has no
 * refund. Settlement is refused when the buyer no longer holds the amount (the token's
 * transferWithAuthorization reverts).
 */
import { z } from 'zod';
import { defineSimulation, type SimTask, type TaskPlan } from '../../harness/sim/pack.ts';

const ProfileOverrides = z
  .object({
    /** The requirements' `maxTimeoutSeconds` (the v2 server default is 300): how long a buyer waits. */
    maxTimeoutSeconds: z.number().int().min(1).optional(),
  })
  .passthrough();

/** A seller that never answers: the buyer gives up after the payment's time-out and rates it 0; nothing is paid. */
export function noAnswerPlan(timeoutMs: number): TaskPlan {
  return {
    steps: [
      { at: timeoutMs, action: 'timeout' },
      { at: timeoutMs, action: 'feedback', feedback: 0 },
    ],
    outcome: 'no-answer',
    delivered: 'none',
    attempts: 1,
    rejections: 0,
  };
}

/** A request answered but not paid for: the handler failed (5xx) or the payment was refused. */
export function unpaidPlan(at: number, action: string, outcome: 'server-error' | 'payment-refused'): TaskPlan {
  return {
    steps: [
      { at, action },
      { at, action: 'feedback', feedback: 0 },
    ],
    outcome,
    delivered: 'none',
    attempts: 1,
    rejections: 0,
  };
}

/** A request served and settled: `amount` from the buyer to the seller, for good or bad work. */
export function paidPlan(task: Pick<SimTask, 'buyer' | 'seller'>, at: number, good: boolean, amount: bigint): TaskPlan {
  return {
    steps: [
      { at, action: `handler:200:${good ? 'good' : 'bad'}` },
      { at, action: 'settle', payment: true, transfers: [{ from: task.buyer, to: task.seller, amount }] },
      { at, action: 'feedback', feedback: good ? 100 : 0 },
    ],
    outcome: 'paid',
    delivered: good ? 'good' : 'bad',
    attempts: 1,
    rejections: 0,
  };
}

function plan(task: SimTask): TaskPlan {
  const at = task.serviceMs;
  if (task.strategy === 'absent') return noAnswerPlan((task.profile.maxTimeoutSeconds as number) * 1000);
  if (task.strategy === 'failing') return unpaidPlan(at, 'handler:5xx', 'server-error');
  return paidPlan(task, at, task.strategy !== 'malicious' && task.rng.chance(task.quality), task.amount);
}

export default defineSimulation({
  protocol: 'x402',
  // `payment-refused` (a 402 after paying) only arises on the stack, when a facilitator refuses.
  outcomes: { paid: 'paid', 'server-error': 'not-charged', 'no-answer': 'timeout', 'payment-refused': 'not-charged' },
  profile(overrides) {
    const r = ProfileOverrides.safeParse(overrides);
    if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
    return { ...r.data, maxTimeoutSeconds: r.data.maxTimeoutSeconds ?? 300 };
  },
  model: plan,
  stack: {
    chains: ['base-sepolia'],
    services: ['x402'],
    // One paid request per task: no chain time moves, payments of one buyer only lower its balance.
    // A payment is valid for maxTimeoutSeconds from its signing: later arrivals may move the chain
    // half of that before the task has settled.
    concurrentTasks: (profile) => (profile.maxTimeoutSeconds as number) * 500,
    // Loaded only for --engine stack: the model engine needs no server code.
    start: async (env) => (await import('./simulation-stack.ts')).startX402Market(env),
  },
});
