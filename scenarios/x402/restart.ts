/**
 * x402 across crashes (issue 15, capability `restart`): the paid resource (and its facilitator) is
 * killed with SIGKILL at a step boundary of a paid request and restarted by the target's restart
 * control; the buyer, who got no answer, sends the same payment again, and a new one when that is
 * not served. Judged on chain (X402-RST-01): a payment that settled is never settled again, and is
 * either served with the settlement that moved it or refused with a 4xx claiming none; a payment
 * that did not settle is served and settled once, or refused with nothing moved; a restarted server
 * serves a new payment; no 5xx.
 *
 * The boundaries:
 * - after it settled, before its answer reached the buyer (`restart-answer-held`): the answer is
 *   held in a fault proxy in front of the resource while the server is killed. Any target with a
 *   restart control.
 * - inside the payment (`restart-inside-payment`, also `rpc-faults`): its facilitator's chain
 *   traffic goes through the harness's RPC fault proxy, which holds, while the server is killed,
 *   the first chain read naming the payment (the verification), the next one (the re-check before
 *   the settlement), or the settlement's send, dropped (never reaches the chain) or let through
 *   (mined, the server never sees the receipt).
 */
import fc from 'fast-check';
import type { Address, Hex } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { eventually } from '../../harness/engine/restart.ts';
import { describeHit, expectFired, rpcFaultsOf, rpcMethods, withFaultProxy, type ArmedFault, type FaultProxy, type ProxiedRequest } from '../../harness/faults/index.ts';
import { settlementOf } from './client.ts';
import { answerOf, headerName, is2xx, judgeEachAnswer, PAYMENT_HEADERS, sendPaid, type Answer } from './fault-scenarios.ts';
import { BASE, BUYERS, expectPaid, expectSettledOnChain, expectUnchanged, holdings, networkOf, nonceUsed, offer, shown, sign, versions, type Offer, type Signed } from './lab.ts';

const REQ = 'X402-RST-01';
const RESOURCE = 'x402-resource';
/** How long the node may take to mine a settlement whose send went through before the crash. */
const MINED_WITHIN_MS = 10_000;
// Restarts cost seconds each: one run (every boundary in it), reported as it failed, not shrunk.
const CRASH = { ...BASE, maxRuns: 1, runTimeoutMs: 600_000, shrink: false };

type Buyer = (typeof BUYERS)[number];

/** Where the server is stopped: the fault that holds it there, and what the crash cut. */
interface Cut {
  /** The fault holding the paid request at the boundary while the server is killed. */
  held: ArmedFault;
  /** Faults armed beside it (disarmed with it). */
  also?: ArmedFault[];
  /** Where the paid request is sent (through the buyer-side proxy, or straight to the server). */
  url: string;
  /** The restart's reason, for the action log. */
  crash: string;
  /** The held thing is the paid request's answer: judge it too (the buyer never saw it). */
  heldAnswer?: boolean;
  /** The crash comes after the settlement was mined: wait for it first. */
  mined?: boolean;
}

const amountOf = (o: Offer, version: 1 | 2) => BigInt(version === 2 ? o.req.amount : o.v1!.maxAmountRequired);

/** The restartable resource's offer (a separate instance where the target keeps one for crash tests). */
async function restartableOffer(ctx: RunContext): Promise<Offer> {
  return offer(ctx, await ctx.restartable(RESOURCE));
}

/**
 * One paid request cut by a crash at `cut(p)`, then retried with the same payment (and a new one
 * when the retry is not served), judged as X402-RST-01 says.
 */
async function crashCase(ctx: RunContext, o: Offer, buyer: Buyer, version: 1 | 2, cutAt: (p: Signed) => Cut): Promise<void> {
  const payer = o.s.address(buyer);
  const amount = amountOf(o, version);
  const snap = await holdings(ctx, o, payer);
  const p = await sign(ctx, o, buyer, version);
  const c = cutAt(p);
  ctx.act(`${buyer} pays ${amount} (v${version}); ${c.held.name}`);
  const first = sendPaid(ctx, c.url, o, p);
  try {
    const fired = await Promise.race([c.held.whenFired().then(() => true), first.then(() => false)]);
    if (!fired) {
      const a = await first;
      expectFired(c.held, REQ, `the paid request was answered (${a === 'lost' ? 'no answer' : shown(a)}) without reaching this boundary`);
    }
    if (c.mined && !(await eventually(() => nonceUsed(o, p.auth), MINED_WITHIN_MS, 100)))
      throw new Indeterminate(REQ, 'the node did not mine the settlement whose send went through, so the crash after it did not happen');
    await ctx.restart(RESOURCE, c.crash);
  } finally {
    // The old process is gone: what was held is delivered to nobody (or, a send, never reaches the chain).
    c.held.discard();
    for (const f of [c.held, ...(c.also ?? [])]) f.disarm();
  }
  const before = await first;
  ctx.evidence.note(describeHit(c.held, c.held.hits[0]!));
  const answers: { who: string; a: Answer }[] = [];
  if (before !== 'lost') answers.push({ who: 'the paid request, answered before the crash', a: before });
  const heldAnswer = c.held.hits[0]!.upstream[0];
  if (c.heldAnswer && heldAnswer) answers.push({ who: 'the answer held when the server died (the buyer never got it)', a: answerOf(heldAnswer) });
  ctx.act(`${buyer} ${before === 'lost' ? 'got no answer' : `got ${before.res.status} before the crash`} and sends the same payment again`);
  const retry = await sendPaid(ctx, o.url, o, p);
  ctx.check(REQ, retry !== 'lost', 'the restarted server answers the retry', { expected: 'an HTTP answer', actual: 'the connection ended without one' });
  answers.push({ who: 'the retry after the restart', a: retry as Answer });
  await judgeEachAnswer(ctx, REQ, o, p, answers, amount, payer);
  const used = await nonceUsed(o, p.auth);
  if (used) await expectPaid(ctx, REQ, o, snap, amount, `a payment settled once, whatever the crash ${c.crash} did`);
  else await expectUnchanged(ctx, REQ, o, snap, p.auth, 'a payment that never settled, refused after the restart');
  const served = [before, retry].some((a) => a !== 'lost' && is2xx(a.res.status));
  if (!served) await newPaymentServed(ctx, o, buyer, version, p, used);
}

/** The buyer was not served: a new payment must be, settled once; a refused payment stays unsettled. */
async function newPaymentServed(ctx: RunContext, o: Offer, buyer: Buyer, version: 1 | 2, old: Signed, oldUsed: boolean): Promise<void> {
  const payer = o.s.address(buyer) as Address;
  const amount = amountOf(o, version);
  const snap = await holdings(ctx, o, payer);
  const p = await sign(ctx, o, buyer, version);
  ctx.act(`${buyer} was not served: pays ${amount} (v${version}) again with a new authorization`);
  const r = await sendPaid(ctx, o.url, o, p);
  ctx.check(REQ, r !== 'lost' && is2xx(r.res.status), 'after the restart a new payment is served', { expected: '2xx', actual: r === 'lost' ? 'no answer' : shown(r) });
  await expectSettledOnChain(ctx, REQ, o, settlementOf((r as Answer).res), { payer, amount, nonce: p.auth.nonce as Hex, network: networkOf(o, version), version });
  await expectPaid(ctx, REQ, o, snap, amount, 'the new payment after the restart');
  if (!oldUsed) {
    const late = await nonceUsed(o, old.auth);
    ctx.check(REQ, !late, 'the payment refused after the restart was not settled later', { expected: 'authorizationState false', actual: late });
  }
}

export const restartAnswerHeld = defineScenario({
  kind: 'property',
  id: 'restart-answer-held',
  title: 'The resource is killed (SIGKILL) after it settled a paid request, while its answer is on the way; the buyer retries: paid once, the retry served with that settlement or refused',
  requirements: [REQ],
  ...CRASH,
  capabilities: ['restart'],
  // The version is drawn (one restart a run; restart-inside-payment crosses both).
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), version: fc.constantFrom(2 as const, 1 as const) }),
  async run(ctx, v) {
    const o = await restartableOffer(ctx);
    const vs = versions(o);
    const version = vs.includes(v.version) ? v.version : vs[0]!;
    await withFaultProxy(o.url, (proxy) =>
      crashCase(ctx, o, v.buyer, version, () => ({
        held: proxy.arm({
          name: `the 2xx answer to the paid request (${headerName(version)}) held on its way to the buyer`,
          when: { header: PAYMENT_HEADERS, status: is2xx },
          action: { kind: 'delay', phase: 'response', hold: true },
        }),
        url: proxy.through(o.url),
        crash: 'after it settled the payment, before its answer reached the buyer',
        heldAnswer: true,
      })),
    );
  },
});

const SENDS = ['eth_sendRawTransaction', 'eth_sendRawTransactionSync'];

/** A JSON-RPC request naming the payment (its nonce is in the call data, or in the signed transaction): a send, or a read. */
function namesPayment(p: Signed, send: boolean): (r: ProxiedRequest) => boolean {
  const nonce = p.auth.nonce.slice(2).toLowerCase();
  return (r) => rpcMethods(r.body).some((m) => SENDS.includes(m)) === send && r.body.toString('utf8').toLowerCase().includes(nonce);
}

/** A hold on the first chain request naming the payment that `arm` has not let through: a read (`send` false) or its send, held before the node (`request`) or after it answered (`response`). */
const holdOn = (rpc: FaultProxy, p: Signed, name: string, send: boolean, phase: 'request' | 'response' = 'request') =>
  rpc.arm({ name, when: { method: 'POST', match: namesPayment(p, send) }, action: { kind: 'delay', phase, hold: true } });

/** The cuts inside a payment, in the order a request meets them. */
const INSIDE: ((rpc: FaultProxy, url: string, p: Signed) => Cut)[] = [
  (rpc, url, p) => ({ held: holdOn(rpc, p, 'the first chain read naming the payment (its verification) held', false), url, crash: 'while it verified the payment' }),
  (rpc, url, p) => {
    // Armed first, so the first read passes through it; the next one meets the hold.
    const verification = rpc.arm({ name: 'the verification passes', when: { method: 'POST', match: namesPayment(p, false) }, action: { kind: 'delay', ms: 0 } });
    const held = holdOn(rpc, p, 'the next chain read naming the payment (the re-check before the settlement) held', false);
    return { held, also: [verification], url, crash: 'after the payment verified, before the settlement was sent' };
  },
  (rpc, url, p) => ({
    held: holdOn(rpc, p, "the settlement's transaction send held before the node", true),
    url,
    crash: 'after it sent the settlement, which never reaches the chain (the send dies with it)',
  }),
  (rpc, url, p) => ({
    held: holdOn(rpc, p, "the settlement's transaction mined, the answer to its send held", true, 'response'),
    url,
    crash: 'after its settlement was mined, before it saw the receipt',
    mined: true,
  }),
];

export const restartInsidePayment = defineScenario({
  kind: 'property',
  id: 'restart-inside-payment',
  title:
    'The resource is killed (SIGKILL) while it verifies a payment, after it verified it, after its settlement was sent (dropped, or mined unseen); the buyer retries: a settled payment paid once, an unsettled one settled once or refused with nothing moved',
  requirements: [REQ],
  ...CRASH,
  capabilities: ['restart', 'rpc-faults'],
  // A fixed order of the boundaries (every one in every run); only the buyer varies.
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const o = await restartableOffer(ctx);
    const rpc = await rpcFaultsOf(o.s.spec.rpcUrl);
    const vs = versions(o);
    // The versions take turns: both are crossed without doubling the restarts.
    for (const [i, cut] of INSIDE.entries()) await crashCase(ctx, o, v.buyer, vs[i % vs.length]!, (p) => cut(rpc, o.url, p));
  },
});

export const restartScenarios = [restartAnswerHeld, restartInsidePayment];
