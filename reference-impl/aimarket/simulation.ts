/**
 * AI Market in `amh simulate`: one paid task is one payment channel a buyer opens on the seller's own
 * hub (each simulated seller is an AI Market factory/hub with one capability at its price) and spends
 * until it holds one good result.
 *
 * The buyer discovers the hub (well-known document, Ed25519-signed manifest verified under the key it
 * pins) and, when the hub answers, deposits enough for `channelCalls` calls at the capability's price
 * rounded up to the cent (a channel bills whole cents, ceiling: protocol/money.ts `centsCeil`; a deposit
 * is at most $10,000, so fewer calls when the price is high, and no channel at all when one call costs
 * more: `over-capacity`). The deposit moves buyer → `escrow:aimarket` (the channel). Each call is debited
 * (channel → seller, the whole cents) and answered with a signed receipt; the buyer looks at the result:
 * good work ends the task (`served`); bad work is rejected and the buyer calls again on the same
 * channel; a typed failure is refunded by the hub and the buyer stops (`failed`). A call the channel
 * cannot pay is answered 402: `depleted` (the channel exhausted, every call bought bad work:
 * `exhausted`) or `expired` (the channel's lifetime, `channelExpirySeconds` from its open on the chain
 * clock, is over before the call starts: `expired`). Then the buyer closes the channel and the hub
 * refunds the rest (channel → buyer). A hub that never answers costs nothing: the buyer gives up after
 * `answerTimeoutSeconds` (`unreachable`).
 *
 * Strategies: honest and undercutting sellers do the work right; a sloppy seller's call is good with
 * probability `quality` (one draw per call), a malicious one's never (it drains the channel with signed
 * garbage: the protocol has no review or dispute, only the channel's limit); a failing seller's
 * capability fails (typed failure, refunded); an absent seller's hub does not answer.
 *
 * Money: no protocol fee on a direct call (`fees:aimarket` stays empty); the routing fee
 * (`routingFeeBps`) is the routing hub's, and the reference router does not collect it (the client pays
 * the provider directly, AIM-PROF-13), so it moves no money here. A seller earns the whole cents it
 * debits, so a price below a cent, or an undercut that stays within the same cent, bills the same.
 *
 * One lifecycle ({@link lifecycle}) makes every decision of a task and writes its plan; it asks an
 * executor what the protocol answers. `--engine model` answers from the executable channel model
 * (protocol/model.ts, {@link modelAnswers}); `--engine stack` from a reference hub per seller on the
 * chain (simulation-stack.ts).
 */
import { z } from 'zod';
import { defineSimulation, runPlan, type PlanStep, type SimTask, type TaskPlan } from '../../harness/sim/pack.ts';
import { AIMARKET_CONSTANTS } from './protocol/constants.ts';
import { CHANNEL_MAX_DEPOSIT_CENTS, type ChannelModel, type ChannelRefusal, closeChannelModel, debitModel, openChannelModel, refundDebitModel } from './protocol/model.ts';
import { centsCeil, centsToMicros } from './protocol/money.ts';

/** The simulation's own knobs: how many calls a buyer's deposit covers, how long it waits for a silent hub. */
const Knobs = z
  .object({
    channelCalls: z.number().int().min(1, 'a channel covers at least one call').max(100, 'a channel covers at most 100 calls').optional(),
    answerTimeoutSeconds: z.number().int().min(1).max(86_400).optional(),
  })
  .passthrough();

/** The constants a task's plan depends on (numbers: metrics.json and the report print them as JSON). */
export interface AimarketSimProfile {
  routingFeeBps: number;
  channelExpirySeconds: number;
  /** Calls one channel deposit covers (default 3). */
  channelCalls: number;
  /** How long a buyer waits for a hub that does not answer (default 30 s). */
  answerTimeoutSeconds: number;
}

/** What the seller's capability does on one call. */
export type Work = 'good' | 'bad' | 'fail';

/** What discovery found: whether the hub answered, and the price its signed manifest lists (micro-USD). */
export interface Found {
  reachable: boolean;
  priceMicros: bigint;
}

/** What a call on the channel gave. */
export type CallResult = { kind: 'served'; chargedMicros: bigint; received: 'good' | 'bad' } | { kind: 'failed' } | { kind: 'refused'; why: ChannelRefusal };

/** What closing the channel settled (micro-USD). */
export interface Settlement {
  usedMicros: bigint;
  refundMicros: bigint;
}

/** What the lifecycle asks the protocol; the executor carries it out (in the model, or for real). */
export type Ask =
  /** Read the hub's well-known document and signed manifest. Answer: {@link Found}. */
  | { kind: 'discover' }
  /** Deposit `depositCents` and open a channel. Answer: the deposit the channel holds (micro-USD). */
  | { kind: 'open'; depositCents: bigint }
  /** One call on the channel, `atSeconds` after its open on the chain clock. Answer: {@link CallResult}. */
  | { kind: 'call'; atSeconds: number; work: Work }
  /** Close the channel. Answer: the {@link Settlement}. */
  | { kind: 'close' };

export type Answer = Found | bigint | CallResult | Settlement;

/** The number of calls one channel is opened for: the profile's, fewer when the $10,000 cap does not hold them. */
export function callsCovered(priceMicros: bigint, channelCalls: number): bigint {
  const perCall = centsCeil(priceMicros);
  const fit = CHANNEL_MAX_DEPOSIT_CENTS / perCall;
  return fit < BigInt(channelCalls) ? fit : BigInt(channelCalls);
}

/**
 * One task's lifecycle: yields what it asks, receives the protocol's answers, returns the plan. The
 * seller's draw (is this call's work good?) is made here, from the task's own stream, so every
 * executor sees the same work.
 */
export function* lifecycle(task: SimTask): Generator<Ask, TaskPlan, Answer> {
  const p = task.profile as unknown as AimarketSimProfile;
  const found = (yield { kind: 'discover' }) as Found;
  if (!found.reachable) {
    return { steps: [{ at: p.answerTimeoutSeconds * 1000, action: 'discover:no-answer', feedback: 0 }], outcome: 'unreachable', delivered: 'none', attempts: 0, rejections: 0 };
  }
  if (found.priceMicros !== task.amount) throw new Error(`aimarket simulation: task ${task.id}: ${task.seller}'s manifest lists ${found.priceMicros}, the market price is ${task.amount}`);
  const calls = callsCovered(found.priceMicros, p.channelCalls);
  if (calls === 0n) return { steps: [{ at: 0, action: 'channel:over-capacity' }], outcome: 'over-capacity', delivered: 'none', attempts: 0, rejections: 0 };
  const deposit = (yield { kind: 'open', depositCents: calls * centsCeil(found.priceMicros) }) as bigint;
  const steps: PlanStep[] = [{ at: 0, action: 'open', payment: true, transfers: [{ from: task.buyer, to: task.escrow, amount: deposit }] }];
  let attempts = 0;
  let rejections = 0;
  let delivered: TaskPlan['delivered'] = 'none';
  let outcome = '';
  let at = 0;
  // Every call either ends the task or debits at least a cent, so the deposit bounds the loop.
  for (let k = 0; outcome === ''; k++) {
    if (BigInt(k) > calls) throw new Error(`aimarket simulation: task ${task.id}: call ${k + 1} on a channel for ${calls}: the channel was never exhausted`);
    const start = k * task.serviceMs;
    const work: Work = task.strategy === 'failing' ? 'fail' : task.strategy !== 'malicious' && task.rng.chance(task.quality) ? 'good' : 'bad';
    const r = (yield { kind: 'call', atSeconds: Math.floor(start / 1000), work }) as CallResult;
    if (r.kind === 'refused') {
      if (r.why === 'closed') throw new Error(`aimarket simulation: task ${task.id}: the hub calls the open channel closed`);
      at = start;
      steps.push({ at, action: `call:402:${r.why}` });
      outcome = r.why === 'depleted' ? 'exhausted' : 'expired';
      break;
    }
    attempts++;
    at = start + task.serviceMs;
    if (r.kind === 'failed') {
      steps.push({ at, action: 'call:failed:refunded' });
      outcome = 'failed';
      break;
    }
    steps.push({ at, action: `call:${r.received}`, transfers: [{ from: task.escrow, to: task.seller, amount: r.chargedMicros }] });
    delivered = r.received;
    if (r.received === 'good') outcome = 'served';
    else rejections++;
  }
  const s = (yield { kind: 'close' }) as Settlement;
  const close: PlanStep = { at, action: 'close', feedback: outcome === 'served' ? 100 : 0 };
  if (s.refundMicros > 0n) close.transfers = [{ from: task.escrow, to: task.buyer, amount: s.refundMicros }];
  steps.push(close);
  return { steps, outcome, delivered, attempts, rejections };
}

/** The executable channel model (protocol/model.ts) as the lifecycle's executor; its clock starts at the open. */
export function modelAnswers(task: SimTask): (ask: Ask) => Answer {
  const p = task.profile as unknown as AimarketSimProfile;
  let ch: ChannelModel | undefined;
  const channel = () => {
    if (!ch) throw new Error(`aimarket simulation: task ${task.id}: no channel is open`);
    return ch;
  };
  return (ask) => {
    switch (ask.kind) {
      case 'discover':
        return { reachable: task.strategy !== 'absent', priceMicros: task.amount };
      case 'open':
        ch = openChannelModel(ask.depositCents, 0, p.channelExpirySeconds);
        return centsToMicros(ch.depositCents);
      case 'call': {
        const d = debitModel(channel(), task.amount, ask.atSeconds);
        if (!d.ok) return { kind: 'refused', why: d.why };
        if (ask.work === 'fail') {
          ch = refundDebitModel(d.next, d.cents);
          return { kind: 'failed' };
        }
        ch = d.next;
        return { kind: 'served', chargedMicros: centsToMicros(d.cents), received: ask.work };
      }
      case 'close': {
        const c = closeChannelModel(channel());
        ch = c.next;
        return { usedMicros: centsToMicros(c.next.usedCents), refundMicros: centsToMicros(c.refundCents) };
      }
    }
  };
}

export default defineSimulation({
  protocol: 'aimarket',
  outcomes: { served: 'paid', exhausted: 'paid', expired: 'timeout', failed: 'refunded', unreachable: 'timeout', 'over-capacity': 'not-charged' },
  constants: AIMARKET_CONSTANTS,
  profile(overrides) {
    const r = Knobs.safeParse(overrides);
    if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
    const d = { ...AIMARKET_CONSTANTS.defaults, ...r.data } as Record<string, unknown>;
    // Both declared constants run on both engines (the stack's hubs take the channel lifetime), so nothing is refused.
    return {
      ...r.data,
      routingFeeBps: Number(d.routingFeeBps as bigint | number),
      channelExpirySeconds: Number(d.channelExpirySeconds as bigint | number),
      channelCalls: r.data.channelCalls ?? 3,
      answerTimeoutSeconds: r.data.answerTimeoutSeconds ?? 30,
    } satisfies AimarketSimProfile & Record<string, unknown>;
  },
  model: (task) => runPlan(lifecycle(task), modelAnswers(task)),
  stack: {
    chains: ['base-sepolia'],
    // No reference service: the market starts one reference hub per seller, paid to the seller's own key.
    services: [],
    // Loaded only for --engine stack: the model engine needs no server code.
    start: async (env) => (await import('./simulation-stack.ts')).startAimarketMarket(env),
  },
});
