/**
 * NIP-A5 (asa) in `amh simulate`: one paid task is one service agreement settled over L402.
 *
 * The buyer (requester) asks the seller (provider) for its capability over NIP-17 with a budget of
 * the seller's listed price; the provider offers that price, the buyer accepts and the provider
 * publishes the 38402 `active` agreement. The buyer then calls the provider's L402 endpoint for the
 * agreement: it pays the invoice over the Lightning network (the price to the provider, the routing
 * fee of the hop through a hub to the hub: BOLT 7 `base + amount × ppm / 10^6`, rounded down,
 * protocol/routing.ts) and receives the result `serviceMs` later. Good work: it sends `complete`
 * (38402 `completed` with the payment hash) and attests rating 5 with the payment as proof. Bad
 * work: it sends `dispute` (38402 `disputed`) and attests rating 1. NIP-A5 has no escrow, no refund
 * and no reviewer or judge: a Lightning payment is final once the preimage is out, so bad work stays
 * paid (a dispute is the buyer's only answer, and its attestation the market's memory); the
 * economy's reviewers play no part here.
 *
 * Strategies: honest and undercutting providers deliver good work; a sloppy one's delivery is bad
 * with probability 1 − quality, a malicious one's always (it takes the payment and serves garbage).
 * A failing provider agrees but its Lightning node never settles the invoice: the HTLC fails and
 * returns, nothing is charged, and the buyer disputes the agreement and attests rating 1 (no proof:
 * nothing was paid). An absent provider never answers the service request: the buyer gives up after
 * `offerWaitSeconds`; no agreement, no money, no attestation (an attestation needs an agreement).
 * A provider slower than the agreement's timeout (`agreementTimeoutSeconds`, which the buyer asks
 * for) has the agreement `expired` before its result arrives: paid, and the buyer's `complete` or
 * `dispute` comes too late (a terminal status does not move); it attests by the work.
 *
 * Money: the simulation's base unit is the msat here (one currency: at the economy's dollar strings,
 * one USDC base unit = one msat, i.e. bitcoin at $100,000). Prices are in whole sats on the wire
 * (the capability's price tag, the offer, the invoice): a seller lists its price rounded down to the
 * sat, at least 1 sat. `fees:asa` is what the hubs earn routing; nothing stands for `escrow:asa`.
 * The caveat limits (`tokenMaxRequests`, `tokenLifetimeSeconds`) are passed to the stack's
 * providers; a task spends its token on one request right after paying, so neither changes a plan.
 *
 * One lifecycle ({@link lifecycle}) makes every decision and writes the plan; it asks an executor
 * what the protocol answers: {@link modelAnswers} (the routing fee math and the agreement
 * transitions of protocol/) for `--engine model`, the real relay, provider agents and Lightning
 * network for `--engine stack` (simulation-stack.ts).
 */
import { z } from 'zod';
import { defineSimulation, type PlanStep, runPlan, type SimTask, type TaskPlan } from '../../harness/sim/pack.ts';
import { ASA_CONSTANTS } from './protocol/constants.ts';
import { type AgreementStatus, canTransition } from './protocol/events.ts';
import { type ChannelPolicy, routeAmounts } from './protocol/routing.ts';

/** The reference network's channel policy (server/lightning.ts DEFAULT_POLICY): the knobs' defaults. */
const DEFAULT_BASE_MSAT = 1000;
const DEFAULT_PPM = 1000;
/** The final CLTV delta of the provider's invoices (BOLT 11's default); it changes no amount. */
const MIN_FINAL_CLTV = 18;
/** The reference provider clamps an agreement's timeout to 1 s .. 1 day. */
const MAX_AGREEMENT_TIMEOUT = 86_400;

const Knobs = z
  .object({
    routingFeeBaseMsat: z.number().int().min(0).max(1_000_000_000).optional(),
    routingFeePpm: z.number().int().min(0).max(1_000_000).optional(),
    offerWaitSeconds: z.number().int().min(1).max(86_400).optional(),
    agreementTimeoutSeconds: z.number().int().min(1).max(MAX_AGREEMENT_TIMEOUT, `the reference provider caps an agreement's timeout at ${MAX_AGREEMENT_TIMEOUT} s`).optional(),
  })
  .passthrough();

/** The constants a task's plan depends on (numbers: metrics.json prints them as JSON). */
export interface AsaSimProfile {
  tokenMaxRequests: number;
  tokenLifetimeSeconds: number;
  /** The hubs' policy toward providers: what forwarding one payment costs. */
  routingFeeBaseMsat: number;
  routingFeePpm: number;
  /** How long a buyer waits for an offer before it gives up. */
  offerWaitSeconds: number;
  /** The agreement timeout every buyer asks for. */
  agreementTimeoutSeconds: number;
}

/** The hubs' channel policy toward providers. */
export function hubPolicy(p: AsaSimProfile): ChannelPolicy {
  return { baseMsat: BigInt(p.routingFeeBaseMsat), ppm: BigInt(p.routingFeePpm), cltvDelta: 40 };
}

/** A seller's listed price in whole sats: its price in msat rounded down, at least 1 sat. */
export function listedSats(priceMsat: bigint): bigint {
  const sats = priceMsat / 1000n;
  return sats > 0n ? sats : 1n;
}

/** The routing fee of a payment of `amountMsat` through one hub (the payer's own first hop is free). */
export function routingFee(p: AsaSimProfile, amountMsat: bigint): bigint {
  return routeAmounts(amountMsat, [hubPolicy(p)], MIN_FINAL_CLTV).totalFeeMsat;
}

/** What a delivery is. */
export type Work = 'good' | 'bad';

/** A settled or failed Lightning payment of the agreement's invoice. */
export type Payment = { settled: true; amountMsat: bigint; feeMsat: bigint } | { settled: false; why: string };

/** What the lifecycle asks the protocol; the executor carries it out (in the model, or for real). */
export type Ask =
  /** Service request at the listed price, then accept. Answer: the agreement's price in sats, or null (no offer in time). */
  | { kind: 'negotiate'; sats: bigint }
  /** Pay the agreement's L402 invoice. Answer: a {@link Payment}. */
  | { kind: 'pay' }
  /** Call the paid resource (the provider delivers `work`). Answer: what the buyer judged it. */
  | { kind: 'call'; work: Work }
  /** Send `complete` or `dispute`. Answer: the agreement's status afterwards. */
  | { kind: 'settle'; to: 'completed' | 'disputed' }
  /** Publish the attestation (38403). Answer: the rating stored. */
  | { kind: 'attest'; rating: number; proof: boolean };

export type Answer = bigint | null | Payment | Work | AgreementStatus | number;

/** The attestation's rating (1..5) as feedback 0..100. */
const feedbackOf = (rating: number) => (rating - 1) * 25;
const RATING: Record<Work, number> = { good: 5, bad: 1 };

/** One task's lifecycle: yields what it asks, receives the protocol's answers, returns the plan. */
export function* lifecycle(task: SimTask): Generator<Ask, TaskPlan, Answer> {
  const p = task.profile as unknown as AsaSimProfile;
  const sats = listedSats(task.amount);
  const agreed = (yield { kind: 'negotiate', sats }) as bigint | null;
  if (agreed === null)
    return {
      steps: [
        { at: 0, action: 'request' },
        { at: p.offerWaitSeconds * 1000, action: 'unanswered' },
      ],
      outcome: 'unanswered',
      delivered: 'none',
      attempts: 0,
      rejections: 0,
    };
  if (agreed !== sats) throw new Error(`asa simulation: task ${task.id}: the provider agreed on ${agreed} sats, it lists ${sats}`);
  const steps: PlanStep[] = [{ at: 0, action: 'agree' }];
  const paid = (yield { kind: 'pay' }) as Payment;
  if (!paid.settled) {
    steps.push({ at: 0, action: `pay:${paid.why}` });
    const status = (yield { kind: 'settle', to: 'disputed' }) as AgreementStatus;
    steps.push({ at: 0, action: status === 'disputed' ? 'dispute' : `dispute:${status}` });
    const rating = (yield { kind: 'attest', rating: 1, proof: false }) as number;
    steps.push({ at: 0, action: `attest:${rating}`, feedback: feedbackOf(rating) });
    return { steps, outcome: 'unsettled', delivered: 'none', attempts: 1, rejections: 0 };
  }
  steps.push({
    at: 0,
    action: 'pay',
    payment: true,
    transfers: [{ from: task.buyer, to: task.seller, amount: paid.amountMsat }, ...(paid.feeMsat > 0n ? [{ from: task.buyer, to: task.fees, amount: paid.feeMsat }] : [])],
  });
  const work: Work = task.strategy === 'malicious' || !task.rng.chance(task.quality) ? 'bad' : 'good';
  const received = (yield { kind: 'call', work }) as Work;
  const timeoutMs = p.agreementTimeoutSeconds * 1000;
  const late = task.serviceMs > timeoutMs;
  // The provider expires the agreement at its timeout; the result comes after it.
  if (late) steps.push({ at: timeoutMs, action: 'expire' });
  steps.push({ at: task.serviceMs, action: `deliver:${received}` });
  const status = (yield { kind: 'settle', to: received === 'good' ? 'completed' : 'disputed' }) as AgreementStatus;
  steps.push({ at: task.serviceMs, action: status === 'completed' ? 'complete' : status === 'disputed' ? 'dispute' : `${received === 'good' ? 'complete' : 'dispute'}:${status}` });
  // Proof only where the agreement carries the payment hash (its `completed` version).
  const rating = (yield { kind: 'attest', rating: RATING[received], proof: status === 'completed' }) as number;
  steps.push({ at: task.serviceMs, action: `attest:${rating}`, feedback: feedbackOf(rating) });
  const outcome = status === 'expired' ? 'expired' : status;
  return { steps, outcome, delivered: received, attempts: 1, rejections: status === 'disputed' ? 1 : 0 };
}

/**
 * The model as the lifecycle's executor: the provider's negotiation rule (a budget at the listed
 * price gets that price), the simulated network (an offline payee never settles; otherwise the
 * payee gets the invoice amount and the hub the BOLT 7 fee), the agreement's transitions
 * (protocol/events.ts; `expired` first when the service outlasts the timeout).
 */
export function modelAnswers(task: SimTask): (ask: Ask) => Answer {
  const p = task.profile as unknown as AsaSimProfile;
  let status: AgreementStatus = 'active';
  return (ask) => {
    switch (ask.kind) {
      case 'negotiate':
        return task.strategy === 'absent' ? null : ask.sats;
      case 'pay': {
        if (task.strategy === 'failing') return { settled: false, why: 'unsettled' };
        const amountMsat = listedSats(task.amount) * 1000n;
        return { settled: true, amountMsat, feeMsat: routingFee(p, amountMsat) };
      }
      case 'call':
        if (task.serviceMs > p.agreementTimeoutSeconds * 1000) status = 'expired';
        return ask.work;
      case 'settle':
        if (canTransition(status, ask.to)) status = ask.to;
        return status;
      case 'attest':
        return ask.rating;
    }
  };
}

export default defineSimulation({
  protocol: 'asa',
  outcomes: { completed: 'paid', disputed: 'paid', expired: 'paid', unsettled: 'not-charged', unanswered: 'timeout' },
  constants: ASA_CONSTANTS,
  profile(overrides) {
    const r = Knobs.safeParse(overrides);
    if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
    // The declared constants arrive here too; anything else is a misspelt knob.
    const known = new Set([...Object.keys(Knobs.shape), ...Object.keys(ASA_CONSTANTS.declarations)]);
    const unknown = Object.keys(overrides).filter((k) => !known.has(k));
    if (unknown.length) throw new Error(`${unknown.join(', ')}: not an asa constant or simulation knob (knobs: ${Object.keys(Knobs.shape).join(', ')})`);
    const d = { ...ASA_CONSTANTS.defaults, ...r.data } as Record<string, unknown>;
    // Every knob runs on both engines (the stack gives the hubs' channels this policy), so nothing is refused.
    return {
      ...r.data,
      tokenMaxRequests: Number(d.tokenMaxRequests as bigint | number),
      tokenLifetimeSeconds: Number(d.tokenLifetimeSeconds as bigint | number),
      routingFeeBaseMsat: r.data.routingFeeBaseMsat ?? DEFAULT_BASE_MSAT,
      routingFeePpm: r.data.routingFeePpm ?? DEFAULT_PPM,
      offerWaitSeconds: r.data.offerWaitSeconds ?? 60,
      agreementTimeoutSeconds: r.data.agreementTimeoutSeconds ?? 3600,
    } satisfies AsaSimProfile & Record<string, unknown>;
  },
  model: (task) => runPlan(lifecycle(task), modelAnswers(task)),
  stack: {
    // No chain: the reference service (the Lightning network and the relay); one provider agent per seller.
    chains: [],
    services: ['asa'],
    // Loaded only for --engine stack: the model engine needs no server code.
    start: async (env) => (await import('./simulation-stack.ts')).startAsaMarket(env),
  },
});
