/**
 * `x402` under network faults on the agent's side (issue 15): the harness's fault proxy
 * (harness/faults) sits between the payer and the resource, so these need no capability from the
 * target and run against any server. The proxy knows what the client could not see (the answer it
 * dropped, both answers to a duplicate), and every case first asks whether its fault fired: one
 * that never fired established nothing and the case is indeterminate, never passed.
 *
 * Money is judged on chain: whatever the network did, the payer is debited exactly once for one
 * signed payment, and every answer that says "served" names the one transaction that moved it.
 */
import fc from 'fast-check';
import { parseTransaction, recoverTransactionAddress, toHex, type Address, type Hex } from 'viem';
import { eip3009TokenAbi } from '../../reference-impl/x402/protocol/eip3009.ts';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate, TargetProblem } from '../../harness/engine/errors.ts';
import {
  LOSSES,
  asResponse,
  callsRpc,
  describeHit,
  expectFired,
  lossFault,
  rpcCallsOf,
  rpcErrorAnswer,
  rpcFaultsOf,
  sendsCall,
  withFaultProxy,
  type ArmedFault,
  type FaultProxy,
  type FaultSpec,
  type Hangup,
  type ProxiedRequest,
  type UpstreamAnswer,
} from '../../harness/faults/index.ts';
import { sendWithPayment, settlementOf, type Settlement } from './client.ts';
import { FBASE, bodyOf, facilitatorVersions, failedSettlementTransaction, isTxHash, post, reasonFields, showAnswer, type FacilitatorAnswer } from './facilitator-scenarios.ts';
import {
  BASE,
  BUYERS,
  PAGE_ORIGIN,
  expectPaid,
  expectSettledOnChain,
  expectUnchanged,
  exposes,
  holdings,
  networkOf,
  nonceUsed,
  offer,
  shown,
  shuffled,
  sign,
  versions,
  type Offer,
  type Signed,
} from './lab.ts';

/** The request headers that carry a payment (v2, v1): the proxy's trigger for "the paid request". */
export const PAYMENT_HEADERS = ['payment-signature', 'x-payment'];
/** Property runs of each fault scenario at most. */
const FAULT_RUNS = 5;
export const is2xx = (status: number) => status >= 200 && status < 300;
export const headerName = (v: 1 | 2) => (v === 2 ? 'PAYMENT-SIGNATURE' : 'X-PAYMENT');

export type Answer = { res: Response; body: unknown };

/** A recorded upstream answer in the shape the x402 checks read. */
export function answerOf(a: UpstreamAnswer): Answer {
  const text = a.body.toString('utf8');
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { res: asResponse(a), body };
}

/** Send a payment through the proxy; `lost` when the connection ended without an answer (what the fault does). */
function sendThrough(ctx: RunContext, o: Offer, proxy: FaultProxy, p: Signed, signal?: AbortSignal): Promise<Answer | 'lost'> {
  return sendPaid(ctx, proxy.through(o.url), o, p, signal);
}

/** Send a payment to `url` with the offer's request shape; `lost` when the connection ended without an answer. */
export async function sendPaid(ctx: RunContext, url: string, o: Offer, p: Signed, signal?: AbortSignal): Promise<Answer | 'lost'> {
  const f: typeof fetch = (u, init) => ctx.fetch(u, { ...init, signal });
  try {
    return await sendWithPayment(f, url, p.header, { ...o.shape, version: p.version });
  } catch (e) {
    // recordingFetch turns a connection that ended without an answer into a TargetProblem; here a
    // fault (or a crash) caused it on purpose (the caller checks the fault fired).
    if (e instanceof TargetProblem) return 'lost';
    throw e;
  }
}

/**
 * Each answer a payment got (the client's and the ones only the proxy saw) is either a 2xx whose
 * settlement is this payment's one transaction on chain, or a 4xx that claims no settlement; never
 * a 5xx. Then exactly the amount left the payer, once.
 */
async function judgeAnswers(ctx: RunContext, req: string, o: Offer, p: Signed, answers: { who: string; a: Answer }[], snap: Awaited<ReturnType<typeof holdings>>, amount: bigint, payer: Address) {
  await judgeEachAnswer(ctx, req, o, p, answers, amount, payer);
  const used = await nonceUsed(o, p.auth);
  ctx.check(req, used, "the payment's authorization was used on chain (it was settled)", { expected: true, actual: used });
  await expectPaid(ctx, req, o, snap, amount, 'one payment, whatever the network did');
}

/** Each answer a payment got is a 2xx whose settlement is this payment's one transaction on chain, or a 4xx that claims no settlement; never a 5xx. */
export async function judgeEachAnswer(ctx: RunContext, req: string, o: Offer, p: Signed, answers: { who: string; a: Answer }[], amount: bigint, payer: Address): Promise<void> {
  for (const { who, a } of answers) {
    const status = a.res.status;
    ctx.check(req, status < 500, `${who}: not a 5xx (a server fault is never how a payment is refused)`, { expected: '2xx or 4xx', actual: shown(a) });
    if (is2xx(status)) {
      await expectSettledOnChain(ctx, req, o, settlementOf(a.res), { payer, amount, nonce: p.auth.nonce as Hex, network: networkOf(o, p.version), version: p.version });
    } else {
      const st = settlementOf(a.res);
      ctx.check(req, status >= 400 && status < 500 && st?.success !== true, `${who}: a refusal is a 4xx that claims no settlement`, {
        expected: '4xx, no settlement header or success:false',
        actual: `${shown(a)} ${JSON.stringify(st ?? null)}`,
      });
    }
  }
}

export const lostAnswerRetry = defineScenario({
  kind: 'property',
  id: 'fault-lost-retry',
  title: 'A paid request, or its answer after the server served it, is lost; the client retries with the same payment: paid exactly once, the retry served with that settlement or refused with a 4xx',
  requirements: ['X402-FLT-01'],
  // Every case runs in every run; more runs only vary the buyer and the order (npm start stays quick).
  maxRuns: FAULT_RUNS,
  ...BASE,
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), order: fc.nat() }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const payer = o.s.address(v.buyer);
    // Every version and every way of losing the request or its answer, every run (rule 4).
    const cases = shuffled(
      versions(o).flatMap((version) => LOSSES.map((loss) => ({ version, loss }))),
      v.order,
    );
    await withFaultProxy(o.url, async (proxy) => {
      for (const { version, loss } of cases) {
        const amount = BigInt(version === 2 ? o.req.amount : o.v1!.maxAmountRequired);
        const snap = await holdings(ctx, o, payer);
        const p = await sign(ctx, o, v.buyer, version);
        const fault = proxy.arm(lossFault(loss, { header: PAYMENT_HEADERS }, is2xx, `the paid request (${headerName(version)})`));
        ctx.act(`${v.buyer} pays ${amount} (v${version}); ${loss.describe}${loss.afterAnswer ? ' after the server served it' : ''}`);
        const first = await sendThrough(ctx, o, proxy, p);
        expectFired(fault, 'X402-FLT-01', `the paid request was not served (${first === 'lost' ? 'no answer' : shown(first)}), so no answer after settlement was lost`);
        ctx.evidence.note(describeHit(fault, fault.hits[0]!));
        ctx.act(`${v.buyer} sends the same payment again`);
        const retry = await sendThrough(ctx, o, proxy, p);
        ctx.check('X402-FLT-01', retry !== 'lost', 'the retry gets an answer', { expected: 'an HTTP answer', actual: 'the connection ended without one' });
        await judgeAnswers(ctx, 'X402-FLT-01', o, p, [{ who: 'the retry', a: retry as Answer }], snap, amount, payer);
      }
    });
  },
});

export const duplicateDelivery = defineScenario({
  kind: 'property',
  id: 'fault-duplicate-delivery',
  title: 'A paid request delivered twice (both at once, or a delayed original arriving after the retry was served): charged once, every answer the one settlement or a 4xx',
  requirements: ['X402-FLT-02'],
  // Every case runs in every run; more runs only vary the buyer and the order (npm start stays quick).
  maxRuns: FAULT_RUNS,
  ...BASE,
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), order: fc.nat() }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const payer = o.s.address(v.buyer);
    const cases = shuffled(
      versions(o).flatMap((version) => (['at once', 'late original'] as const).map((kind) => ({ version, kind }))),
      v.order,
    );
    await withFaultProxy(o.url, async (proxy) => {
      for (const { version, kind } of cases) {
        const amount = BigInt(version === 2 ? o.req.amount : o.v1!.maxAmountRequired);
        const snap = await holdings(ctx, o, payer);
        const p = await sign(ctx, o, v.buyer, version);
        const answers: { who: string; a: Answer }[] = [];
        if (kind === 'at once') {
          const fault = proxy.arm({ name: `the paid request (${headerName(version)}) delivered twice at once`, when: { header: PAYMENT_HEADERS }, action: { kind: 'duplicate' } });
          ctx.act(`${v.buyer} pays ${amount} (v${version}); the network delivers the request twice at once`);
          await sendThrough(ctx, o, proxy, p);
          expectFired(fault, 'X402-FLT-02', 'the paid request never reached the proxy');
          const hit = fault.hits[0]!;
          ctx.evidence.note(describeHit(fault, hit));
          ctx.check('X402-FLT-02', hit.errors.length === 0 && hit.upstream.length === 2, 'both deliveries are answered', { expected: '2 answers', actual: describeHit(fault, hit) });
          answers.push(...hit.upstream.map((a, i) => ({ who: `delivery ${i + 1} of 2`, a: answerOf(a) })));
        } else {
          const fault = proxy.arm({ name: `the paid request (${headerName(version)}) held in the network`, when: { header: PAYMENT_HEADERS }, action: { kind: 'delay', hold: true } });
          ctx.act(`${v.buyer} pays ${amount} (v${version}); the request is held in the network and the client gives up`);
          const abort = new AbortController();
          const original = sendThrough(ctx, o, proxy, p, abort.signal);
          await fault.whenFired();
          abort.abort();
          await original;
          ctx.act(`${v.buyer} sends the same payment again; after its answer the held original reaches the server`);
          const retry = await sendThrough(ctx, o, proxy, p);
          ctx.check('X402-FLT-02', retry !== 'lost', 'the retry gets an answer', { expected: 'an HTTP answer', actual: 'the connection ended without one' });
          fault.release();
          await fault.settled();
          const hit = fault.hits[0]!;
          ctx.evidence.note(describeHit(fault, hit));
          ctx.check('X402-FLT-02', hit.errors.length === 0 && hit.upstream.length === 1, 'the late original is answered', { expected: '1 answer', actual: describeHit(fault, hit) });
          answers.push({ who: 'the retry', a: retry as Answer }, { who: 'the late original', a: answerOf(hit.upstream[0]!) });
        }
        ctx.check(
          'X402-FLT-02',
          answers.some((x) => is2xx(x.a.res.status)),
          'one delivery of the honest payment is served',
          {
            expected: 'at least one 2xx',
            actual: answers.map((x) => `${x.who}: ${shown(x.a)}`).join(' | '),
          },
        );
        await judgeAnswers(ctx, 'X402-FLT-02', o, p, answers, snap, amount, payer);
      }
    });
  },
});

/** One honest /settle whose transaction send the RPC fault proxy broke, as the judging step sees it. */
interface SendFaultCase {
  o: Offer;
  p: Signed;
  /** The facilitator's answer to the /settle during which the fault fired. */
  a: FacilitatorAnswer;
  snap: Awaited<ReturnType<typeof holdings>>;
  payer: Address;
  amount: bigint;
  version: 1 | 2;
}

/** The case shape of both RPC send-fault scenarios: a buyer, and both ways a connection ends, in random order. */
const sendFaultCases = () => fc.record({ buyer: fc.constantFrom(...BUYERS), hangups: fc.shuffledSubarray(['close', 'reset'] as Hangup[], { minLength: 2 }) });

/**
 * For each hang-up: an honest payment is settled through the facilitator while `action` hits its
 * eth_sendRawTransaction(Sync) on the way through the RPC fault proxy (capability `rpc-faults`); the
 * fault must have fired and /settle must not answer 5xx; then `judge` decides the rest.
 */
async function settleThroughSendFault(
  ctx: RunContext,
  req: string,
  v: { buyer: (typeof BUYERS)[number]; hangups: Hangup[] },
  fault: { kind: 'drop-request' | 'drop-response'; what: (how: string) => string },
  judge: (c: SendFaultCase) => Promise<void>,
): Promise<void> {
  const { o, payer, rpc, version, amount } = await facilitatorFaultSetup(ctx, v.buyer);
  for (const how of v.hangups) {
    const snap = await holdings(ctx, o, payer);
    const p = await sign(ctx, o, v.buyer, version);
    const what = fault.what(how === 'reset' ? 'reset' : 'closed');
    const { a, armed } = await settleUnder(
      ctx,
      o,
      p,
      rpc,
      { name: what, when: callsRpc('eth_sendRawTransaction', 'eth_sendRawTransactionSync'), action: { kind: fault.kind, how } },
      version,
      `${v.buyer}'s honest payment of ${amount}`,
    );
    expectFired(armed, req, 'the facilitator sent no transaction through the RPC proxy for this settlement');
    ctx.evidence.note(describeHit(armed, armed.hits[0]!));
    ctx.check(req, a.status < 500, '/settle answers (not a 5xx)', { expected: '200 (or a 4xx)', actual: showAnswer(a) });
    await judge({ o, p, a, snap, payer, amount, version });
  }
}

/** What a facilitator node-fault scenario starts from: the offer, the payer, the node's fault proxy, the facilitator's first version and its amount. */
async function facilitatorFaultSetup(ctx: RunContext, buyer: (typeof BUYERS)[number]) {
  const o = await offer(ctx);
  const version = (await facilitatorVersions(ctx, o))[0]!;
  return {
    o,
    payer: o.s.address(buyer),
    rpc: await rpcFaultsOf(o.s.spec.rpcUrl),
    version,
    amount: BigInt(version === 2 ? o.req.amount : (o.v1?.maxAmountRequired ?? o.req.amount)),
  };
}

type FaultSetup = Awaited<ReturnType<typeof facilitatorFaultSetup>>;

/** The payer's holdings now and the buyer's honest payment signed, on a set-up already made. */
async function honestPayment(ctx: RunContext, setup: FaultSetup, buyer: (typeof BUYERS)[number]) {
  return { snap: await holdings(ctx, setup.o, setup.payer), p: await sign(ctx, setup.o, buyer, setup.version) };
}

/** {@link facilitatorFaultSetup} and {@link honestPayment}: what a scenario on a faulty node pays with. */
async function honestPaymentSetup(ctx: RunContext, buyer: (typeof BUYERS)[number]) {
  const setup = await facilitatorFaultSetup(ctx, buyer);
  return { ...setup, ...(await honestPayment(ctx, setup, buyer)) };
}

/** A facilitator scenario on a node with a fault (capability rpc-faults): each run meets the same node, more runs only vary the buyer (npm start stays quick). */
const ON_A_FAULTY_NODE = { maxRuns: 2, ...FBASE, capabilities: ['rpc-faults' as const], arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS) }) };

/** POST /settle of `p` with `fault` (and any `also`) armed on the facilitator's node for exactly that call. */
async function settleUnder(
  ctx: RunContext,
  o: Offer,
  p: Signed,
  rpc: FaultProxy,
  fault: FaultSpec,
  version: number,
  payment: string,
  also: FaultSpec[] = [],
): Promise<{ a: FacilitatorAnswer; armed: ArmedFault }> {
  const others = also.map((f) => rpc.arm(f));
  const armed = rpc.arm(fault);
  ctx.act(`POST /settle (v${version}): ${payment}; ${[...also, fault].map((f) => f.name).join('; ')}`);
  try {
    return { a: await post(ctx, '/settle', bodyOf(o, p)), armed };
  } finally {
    armed.disarm();
    for (const f of others) f.disarm();
  }
}

export const isPending = (a: FacilitatorAnswer) => a.json?.success !== true && a.json?.errorReason === 'settlement_pending';
/** /settle retries the scenarios make while the facilitator answers settlement_pending. */
export const PENDING_RETRIES = 2;

/**
 * The RPC side (capability `rpc-faults`): the facilitator reaches its chain through the harness's
 * fault proxy, and the answer to its transaction send is lost (the node got it and mined it). A
 * settlement that landed must be reported as settled (or as `settlement_pending` with its hash,
 * which a retried /settle then reconciles), never as a failure, and never paid twice.
 */
export const facilitatorLostSend = defineScenario({
  kind: 'property',
  id: 'fault-facilitator-lost-send',
  title: "The answer to the facilitator's transaction send is lost: the settlement that landed is reported settled (or pending with its hash, then settled), paid once",
  requirements: ['X402-FLT-03'],
  // Every case runs in every run; more runs only vary the buyer and the order (npm start stays quick).
  maxRuns: FAULT_RUNS,
  ...FBASE,
  capabilities: ['rpc-faults'],
  arbitrary: sendFaultCases,
  async run(ctx, v) {
    const req = 'X402-FLT-03';
    const fault = { kind: 'drop-response' as const, what: (how: string) => `the node takes the facilitator's transaction but the answer is lost (connection ${how})` };
    await settleThroughSendFault(ctx, req, v, fault, async ({ o, p, a, snap, payer, amount, version }) => {
      const landed = await nonceUsed(o, p.auth);
      if (!landed) throw new Indeterminate(req, `the node did not mine the transaction whose answer was lost (authorization unused; /settle said ${showAnswer(a)})`);
      let settled = a.json as Settlement | null;
      if (settled?.success !== true) {
        const pendingHash = settled?.transaction;
        ctx.check(req, isPending(a) && isTxHash(pendingHash), 'a settlement that landed is not reported as failed (success, or settlement_pending with its hash)', {
          expected: 'success:true, or success:false + errorReason settlement_pending + the transaction hash',
          actual: showAnswer(a),
        });
        ctx.act(`POST /settle again with the same payment (reconcile the pending settlement)`);
        const again = await post(ctx, '/settle', bodyOf(o, p));
        ctx.check(req, again.json?.success === true && again.json?.transaction === pendingHash, 'the retried /settle reconciles to the pending transaction', {
          expected: `success:true, transaction ${pendingHash}`,
          actual: showAnswer(again),
        });
        settled = again.json as Settlement;
      }
      await expectSettledOnChain(ctx, req, o, settled ?? undefined, { payer, amount, nonce: p.auth.nonce as Hex, network: networkOf(o, version), version });
      await expectPaid(ctx, req, o, snap, amount, '/settle with a lost send answer');
    });
  },
});

/**
 * The other half of a lost send: the facilitator's eth_sendRawTransaction(Sync) never reaches the
 * node (the connection ends before the node reads it), which the facilitator cannot tell from a lost
 * answer. Every reading a careful implementer may take passes: refuse the settlement (nothing moved,
 * the authorization still unused), or send the transaction again and report it settled, or answer
 * settlement_pending with its hash and finish it when /settle is retried. What fails: success
 * without the payment on chain, a 5xx, a payment reported failed that landed, a payment debited
 * twice, and a settlement still "pending" after retries for a transaction the node has never seen
 * (the caller can neither find it nor safely pay again: the facilitator may send it later).
 */
export const facilitatorSendNeverArrived = defineScenario({
  kind: 'property',
  id: 'fault-facilitator-send-never-arrived',
  title: "The facilitator's transaction send never reaches the node: the settlement is refused with nothing moved, or sent again and paid once; never pending for a transaction the node lacks",
  requirements: ['X402-FLT-04'],
  maxRuns: FAULT_RUNS,
  ...FBASE,
  capabilities: ['rpc-faults'],
  arbitrary: sendFaultCases,
  async run(ctx, v) {
    const req = 'X402-FLT-04';
    const fault = { kind: 'drop-request' as const, what: (how: string) => `the facilitator's transaction send is cut off before the node reads it (connection ${how})` };
    await settleThroughSendFault(ctx, req, v, fault, async ({ o, p, a: first, snap, payer, amount, version }) => {
      let a = first;
      for (let retry = 1; retry <= PENDING_RETRIES && isPending(a); retry++) {
        ctx.check(req, isTxHash(a.json?.transaction), 'a settlement_pending answer names its transaction', { expected: '0x + 64 hex', actual: showAnswer(a) });
        ctx.act(`POST /settle again with the same payment (retry ${retry}: reconcile the pending settlement)`);
        a = await post(ctx, '/settle', bodyOf(o, p));
        ctx.check(req, a.status < 500, 'the retried /settle answers (not a 5xx)', { expected: '200 (or a 4xx)', actual: showAnswer(a) });
      }
      const landed = await nonceUsed(o, p.auth);
      if (a.json?.success === true) {
        await expectSettledOnChain(ctx, req, o, a.json as Settlement, { payer, amount, nonce: p.auth.nonce as Hex, network: networkOf(o, version), version });
        await expectPaid(ctx, req, o, snap, amount, '/settle whose first send never reached the node');
        return;
      }
      if (isPending(a)) {
        const hash = a.json!.transaction as Hex;
        const known = await o.s.public.getTransaction({ hash }).then(
          () => true,
          () => false,
        );
        if (known && !landed) throw new Indeterminate(req, `the node holds the pending transaction ${hash} but has not mined it after ${PENDING_RETRIES} retries`);
        ctx.check(req, false, `the settlement is still pending after ${PENDING_RETRIES} retries`, {
          expected: 'success with the landed transaction, or a refusal with nothing moved',
          actual: `${showAnswer(a)}; the node ${known ? 'mined it (the landed payment is never reported)' : 'has never seen this transaction'}`,
        });
        return;
      }
      // A refusal moved nothing and left the authorization unused (a refused settlement that landed fails here).
      await expectUnchanged(ctx, req, o, snap, p.auth, `a settlement refused (${showAnswer(a)}) whose send never reached the node`);
    });
  },
});

/**
 * The buyer pays the resource while `fault` acts on every transaction send of its facilitator
 * (capability `rpc-faults`); the fault must have fired. Returns the resource's answer.
 */
async function payUnderSendFault(ctx: RunContext, req: string, o: Offer, p: Signed, rpc: FaultProxy, fault: Pick<FaultSpec, 'name' | 'action'>, who: string): Promise<Answer> {
  const armed = rpc.arm({ ...fault, when: callsRpc('eth_sendRawTransaction', 'eth_sendRawTransactionSync'), times: 100 });
  ctx.act(`${who}; ${fault.name}`);
  let a: Answer;
  try {
    // Sent as a page would (Origin): the refusal's headers are judged for browsers too (X402-CH-02).
    a = await sendWithPayment(ctx.fetch, o.url, p.header, { ...o.shape, headers: { ...o.shape.headers, Origin: PAGE_ORIGIN }, version: p.version });
  } finally {
    armed.disarm();
  }
  expectFired(armed, req, `the paid request was answered ${shown(a)} without a transaction send through the RPC proxy`);
  ctx.evidence.note(describeHit(armed, armed.hits[0]!));
  return a;
}

/**
 * The resource's side of an unconfirmed settlement (capability `rpc-faults`): while a buyer pays,
 * every transaction send of the resource's facilitator is answered with geth's "request timed out"
 * although the node mined it, so the facilitator may answer /settle with settlement_pending. The
 * money moved, so the buyer must get what it paid for: the resource with the settlement of that
 * transaction, at once or when it sends the same payment again (at most twice); a refusal before
 * that claims no success; never a 5xx; paid once. A server that asks its facilitator again at once
 * (the x402 server) and one that answers 4xx and reconciles the client's retry both pass.
 */
export const resourceSettlementPending = defineScenario({
  kind: 'property',
  id: 'fault-resource-settlement-pending',
  title: "A paid request whose facilitator's send is answered 'request timed out' although it landed: the buyer is served with that settlement, at once or on a retry of the same payment; paid once",
  requirements: ['X402-FLT-08', 'X402-FAC-03'],
  maxRuns: FAULT_RUNS,
  ...BASE,
  capabilities: ['rpc-faults'],
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), order: fc.nat() }),
  async run(ctx, v) {
    const req = 'X402-FLT-08';
    const o = await offer(ctx);
    const payer = o.s.address(v.buyer);
    const rpc = await rpcFaultsOf(o.s.spec.rpcUrl);
    for (const version of shuffled(versions(o), v.order)) {
      const amount = BigInt(version === 2 ? o.req.amount : o.v1!.maxAmountRequired);
      const snap = await holdings(ctx, o, payer);
      const p = await sign(ctx, o, v.buyer, version);
      const first = await payUnderSendFault(
        ctx,
        req,
        o,
        p,
        rpc,
        {
          name: 'the node takes the facilitator\'s send but it is answered with JSON-RPC error -32002 "request timed out"',
          action: { kind: 'respond', forward: true, answer: rpcErrorAnswer({ code: -32002, message: 'request timed out' }) },
        },
        `${v.buyer} pays ${amount} (v${version})`,
      );
      if (!(await nonceUsed(o, p.auth))) throw new Indeterminate(req, `the node did not mine the transaction whose send timed out (authorization unused; the resource answered ${shown(first)})`);
      const answers = [{ who: 'the paid request', a: first }];
      for (let retry = 1; retry <= PENDING_RETRIES && !answers.some((x) => is2xx(x.a.res.status)); retry++) {
        ctx.act(`${v.buyer} sends the same payment again (retry ${retry})`);
        answers.push({ who: `retry ${retry}`, a: await sendWithPayment(ctx.fetch, o.url, p.header, { ...o.shape, version: p.version }) });
      }
      ctx.check(
        req,
        answers.some((x) => is2xx(x.a.res.status)),
        `a payment that landed is served (at once or within ${PENDING_RETRIES} retries of the same payment)`,
        {
          expected: 'a 2xx with the settlement of the landed transaction',
          actual: answers.map((x) => `${x.who}: ${shown(x.a)}`).join(' | '),
        },
      );
      await judgeAnswers(ctx, req, o, p, answers, snap, amount, payer);
      // The facilitator, where the target declares it, must not settle the served payment again: one
      // that keeps the pending transaction after it settled would answer success for a replay.
      if (ctx.target.endpoints['x402-facilitator']) {
        ctx.act('POST /settle of the served payment directly to the facilitator (a replay)');
        const replay = await post(ctx, '/settle', bodyOf(o, p));
        ctx.check('X402-FAC-03', replay.json?.success !== true, 'the facilitator does not settle the served payment again', { expected: 'no success:true', actual: showAnswer(replay) });
      }
    }
  },
});

/** What a node answers a send it will not take now (geth's pool limit). */
const POOL_FULL = { code: -32000, message: 'txpool is full' };

/**
 * The resource's facilitator cannot settle: its node refuses every transaction send of the paid
 * request (capability `rpc-faults`; the proxy answers in the node's place, nothing reaches the
 * chain). MUST (X402-SET-02): the buyer is not served; the answer is a 4xx that claims no
 * settlement, nothing moved, the authorization unused; never a 5xx; and in v2 the 402 carries
 * PAYMENT-RESPONSE with success:false (spec §1.3: "On settlement failure the response is a 402
 * carrying PAYMENT-RESPONSE with success:false").
 */
export const resourceSendRefused = defineScenario({
  kind: 'property',
  id: 'fault-resource-send-refused',
  title: "A paid request whose facilitator's node refuses every send: not served, a 402 that claims no settlement (v2: PAYMENT-RESPONSE success:false), nothing moved",
  requirements: ['X402-SET-02', 'X402-CH-02', 'X402-SET-03'],
  maxRuns: FAULT_RUNS,
  ...BASE,
  capabilities: ['rpc-faults'],
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), order: fc.nat() }),
  async run(ctx, v) {
    const req = 'X402-SET-02';
    const o = await offer(ctx);
    const payer = o.s.address(v.buyer);
    const rpc = await rpcFaultsOf(o.s.spec.rpcUrl);
    for (const version of shuffled(versions(o), v.order)) {
      const snap = await holdings(ctx, o, payer);
      const p = await sign(ctx, o, v.buyer, version);
      const a = await payUnderSendFault(
        ctx,
        req,
        o,
        p,
        rpc,
        { name: `the node refuses every transaction send of the facilitator (JSON-RPC ${POOL_FULL.code} "${POOL_FULL.message}")`, action: { kind: 'respond', answer: rpcErrorAnswer(POOL_FULL) } },
        `${v.buyer} pays (v${version})`,
      );
      const st = settlementOf(a.res);
      ctx.check(req, a.res.status >= 400 && a.res.status < 500 && st?.success !== true, 'a payment that could not be settled is refused with a 4xx that claims no settlement (not served, not a 5xx)', {
        expected: '4xx (402), no settlement header or success:false',
        actual: `${shown(a)} ${JSON.stringify(st ?? null)}`,
      });
      await expectUnchanged(ctx, req, o, snap, p.auth, `a payment whose every settlement send the node refused (v${version})`);
      if (version === 2) {
        ctx.check(req, a.res.status === 402 && st?.success === false, 'v2: the 402 after a failed settlement carries PAYMENT-RESPONSE with success:false (spec §1.3)', {
          expected: '402 with PAYMENT-RESPONSE {success:false, ...}',
          actual: `${a.res.status}, PAYMENT-RESPONSE ${a.res.headers.get('payment-response') === null ? 'absent' : JSON.stringify(st ?? null)}`,
        });
      }
      if (a.res.headers.has('payment-response'))
        ctx.check('X402-CH-02', exposes(a.res.headers, 'PAYMENT-RESPONSE'), 'a browser can read the failed settlement: Access-Control-Expose-Headers lists PAYMENT-RESPONSE', {
          expected: 'PAYMENT-RESPONSE (or *)',
          actual: a.res.headers.get('access-control-expose-headers') ?? '(no Access-Control-Expose-Headers)',
        });
      // The node takes sends again: the same payment, its authorization unused, is served once (X402-SET-03).
      const amount = BigInt(version === 2 ? o.req.amount : o.v1!.maxAmountRequired);
      ctx.act(`${v.buyer} sends the same payment again (v${version}), the node taking sends again`);
      const again = await sendWithPayment(ctx.fetch, o.url, p.header, { ...o.shape, version: p.version });
      ctx.check('X402-SET-03', is2xx(again.res.status), 'the same payment sent again, once the node takes sends, is served (its settlement ended: no claim is left on it)', {
        expected: '2xx',
        actual: shown(again),
      });
      if (is2xx(again.res.status)) {
        await expectSettledOnChain(ctx, 'X402-SET-03', o, settlementOf(again.res), { payer, amount, nonce: p.auth.nonce as Hex, network: networkOf(o, version), version });
        await expectPaid(ctx, 'X402-SET-03', o, snap, amount, `the payment sent again after its failed settlement (v${version})`);
      }
    }
    // The facilitator itself, where the target declares it, under the same refusal: a refusal that names no transaction.
    if (ctx.target.endpoints['x402-facilitator']) {
      const version = (await facilitatorVersions(ctx, o))[0]!;
      const snap = await holdings(ctx, o, payer);
      const p = await sign(ctx, o, v.buyer, version);
      const { a, armed } = await settleUnder(
        ctx,
        o,
        p,
        rpc,
        {
          name: `the node refuses every transaction send (JSON-RPC ${POOL_FULL.code} "${POOL_FULL.message}")`,
          when: callsRpc('eth_sendRawTransaction', 'eth_sendRawTransactionSync'),
          action: { kind: 'respond', answer: rpcErrorAnswer(POOL_FULL) },
          times: 100,
        },
        version,
        `${v.buyer}'s honest payment`,
      );
      expectFired(armed, req, `/settle answered ${showAnswer(a)} without a transaction send through the RPC proxy`);
      ctx.check(req, a.status < 500 && a.json?.success === false && !isPending(a), '/settle refuses a payment it could not send (success:false, not a 5xx)', {
        expected: 'success:false',
        actual: showAnswer(a),
      });
      ctx.check(req, a.json?.transaction === undefined || a.json.transaction === '', "/settle's refusal names no transaction (none reached the chain)", {
        expected: 'transaction ""',
        actual: JSON.stringify(a.json?.transaction),
      });
      await expectUnchanged(ctx, req, o, snap, p.auth, '/settle of a payment whose every send the node refused');
    }
  },
});

/**
 * The judgement after the node refused a send of the facilitator (it never took that transaction):
 * no 5xx; a settlement_pending names a transaction the node holds (pending with the refused one's
 * hash is a claim nobody can reconcile), and is retried up to PENDING_RETRIES times; a success is
 * the one transfer on chain, paid once; a refusal moves nothing and leaves the authorization unused.
 * Returns the last answer.
 */
async function judgeRefusedSend(ctx: RunContext, req: string, c: SendFaultCase, where: string): Promise<FacilitatorAnswer> {
  const { o, p, snap, payer, amount, version } = c;
  let a = c.a;
  ctx.check(req, a.status < 500, '/settle answers (not a 5xx)', { expected: '200 (or a 4xx)', actual: showAnswer(a) });
  if (isPending(a)) {
    const hash = a.json?.transaction;
    const known =
      isTxHash(hash) &&
      (await o.s.public.getTransaction({ hash: hash as Hex }).then(
        () => true,
        () => false,
      ));
    ctx.check(req, known, 'a settlement_pending names a transaction the node holds', {
      expected: 'a transaction hash the node knows (pending or mined)',
      actual: `${showAnswer(a)}; the node ${isTxHash(hash) ? 'has never seen this transaction (it refused the send)' : 'was given no hash'}`,
    });
    for (let retry = 1; retry <= PENDING_RETRIES && isPending(a); retry++) {
      ctx.act(`POST /settle again with the same payment (retry ${retry}: reconcile the pending settlement)`);
      a = await post(ctx, '/settle', bodyOf(o, p));
      ctx.check(req, a.status < 500, 'the retried /settle answers (not a 5xx)', { expected: '200 (or a 4xx)', actual: showAnswer(a) });
    }
    if (isPending(a)) throw new Indeterminate(req, `the node holds the pending transaction but has not mined it after ${PENDING_RETRIES} retries`);
  }
  if (a.json?.success === true) {
    await expectSettledOnChain(ctx, req, o, a.json as Settlement, { payer, amount, nonce: p.auth.nonce as Hex, network: networkOf(o, version), version });
    await expectPaid(ctx, req, o, snap, amount, `/settle ${where}`);
  } else {
    await expectUnchanged(ctx, req, o, snap, p.auth, `a settlement refused (${showAnswer(a)}) ${where}`);
  }
  return a;
}

/**
 * How nodes say they lack eth_sendRawTransactionSync (EIP-7966, a 2025 draft that only some nodes
 * serve). The first is JSON-RPC 2.0 §5.1's code with a wording of the node's own (the code is what
 * says "no such method"); then EIP-1474's -32004, and geth's wording. A facilitator that remembers the
 * refusal meets only the first, so the code-only answer comes first.
 */
const NO_SYNC_ANSWERS = [
  { code: -32601, message: 'eth_sendRawTransactionSync is not available on this endpoint' },
  { code: -32004, message: 'Method not supported' },
  { code: -32601, message: 'the method eth_sendRawTransactionSync does not exist/is not available' },
] as const;

/**
 * The node refuses eth_sendRawTransactionSync as an unknown method (capability `rpc-faults`: the
 * node's answer is replaced by the proxy; the request never reaches it). The standard send,
 * eth_sendRawTransaction, works. Whatever the facilitator makes of it, money is right (X402-FLT-05):
 * no 5xx, a success names the one transfer on chain, a refusal moves nothing and leaves the
 * authorization unused, and a settlement_pending names a transaction the node holds (the node
 * refused this one, so pending with its hash is a claim nobody can reconcile). A facilitator that
 * never calls the method passes as well (it is not bound to it). And it should settle (X402-FLT-06,
 * SHOULD): the method is optional, so refusing payments on a node without it is a defect of
 * availability, not of money.
 */
export const facilitatorNoSyncSend = defineScenario({
  kind: 'property',
  id: 'fault-facilitator-no-sync-send',
  title: 'The node refuses eth_sendRawTransactionSync as an unknown method: the facilitator settles with eth_sendRawTransaction, paid once; never pending for the refused transaction',
  requirements: ['X402-FLT-05', 'X402-FLT-06'],
  maxRuns: FAULT_RUNS,
  ...FBASE,
  capabilities: ['rpc-faults'],
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const req = 'X402-FLT-05';
    const { o, payer, rpc, version, amount } = await facilitatorFaultSetup(ctx, v.buyer);
    for (const refusal of NO_SYNC_ANSWERS) {
      const snap = await holdings(ctx, o, payer);
      const p = await sign(ctx, o, v.buyer, version);
      const what = `the node answers eth_sendRawTransactionSync with JSON-RPC error ${refusal.code} "${refusal.message}"`;
      // Every call of the method during this settlement is refused: a retry of it meets the same node.
      const settled = await settleUnder(
        ctx,
        o,
        p,
        rpc,
        { name: what, when: callsRpc('eth_sendRawTransactionSync'), action: { kind: 'respond', answer: rpcErrorAnswer(refusal) }, times: 100 },
        version,
        `${v.buyer}'s honest payment of ${amount}`,
      );
      const armed = settled.armed;
      ctx.evidence.note(armed.fired ? describeHit(armed, armed.hits[0]!) : 'the facilitator did not call eth_sendRawTransactionSync for this settlement');
      const a = await judgeRefusedSend(ctx, req, { o, p, a: settled.a, snap, payer, amount, version }, 'on a node without eth_sendRawTransactionSync');
      // Last: a failed check ends the run, and the money checks above are the MUST.
      ctx.check('X402-FLT-06', a.json?.success === true, 'a valid payment is settled on a node without eth_sendRawTransactionSync (eth_sendRawTransaction is the standard send)', {
        expected: 'success:true',
        actual: showAnswer(a),
      });
    }
  },
});

/** The JSON-RPC request a proxied call carries (undefined when it is no JSON). */
function jsonRpcOf(r: ProxiedRequest): unknown {
  try {
    return JSON.parse(r.body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

const jsonAnswer = (body: unknown) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/**
 * A plain node (capability `rpc-faults`: the proxy answers in its place): it refuses JSON-RPC
 * batches with one error object (as gateways that limit batches do), lacks eth_createAccessList
 * (EIP-2930), and answers the "pending" block with null (as nodes without a pending block do).
 * Every node serves what the exact scheme needs: eth_call (or eth_estimateGas), the latest block,
 * single calls. The batch refusal is armed first: the first armed fault that matches answers.
 */
const PLAIN_NODE: FaultSpec[] = [
  {
    name: 'the node answers every JSON-RPC batch with one error object (-32600 "batch requests are not supported")',
    when: { method: 'POST', match: (r) => Array.isArray(jsonRpcOf(r)) },
    action: { kind: 'respond', answer: () => jsonAnswer({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'batch requests are not supported' } }) },
    times: 1000,
  },
  {
    name: 'the node lacks eth_createAccessList (-32601)',
    when: callsRpc('eth_createAccessList'),
    action: { kind: 'respond', answer: rpcErrorAnswer({ code: -32601, message: 'the method eth_createAccessList does not exist/is not available' }) },
    times: 1000,
  },
  {
    name: 'the node answers eth_getBlockByNumber("pending") with null',
    when: {
      method: 'POST',
      match: (r) => {
        const c = jsonRpcOf(r) as { method?: unknown; params?: unknown[] } | undefined;
        return c?.method === 'eth_getBlockByNumber' && c.params?.[0] === 'pending';
      },
    },
    action: { kind: 'respond', answer: (r) => jsonAnswer({ jsonrpc: '2.0', id: (jsonRpcOf(r) as { id?: unknown }).id ?? null, result: null }) },
    times: 1000,
  },
];

/**
 * The facilitator's node is a plain one (PLAIN_NODE) while an honest payment is verified, settled
 * and sent again. MUST (X402-FAC-03, whatever the node): a success names the one transfer on chain,
 * a refusal moves nothing, the payer is debited once, the payment sent again is refused. SHOULD
 * (X402-FLT-09): the valid payment is verified and settled, no 5xx. A facilitator that needs none
 * of these methods meets no fault and passes.
 */
export const facilitatorPlainNode = defineScenario({
  kind: 'property',
  id: 'fault-facilitator-plain-node',
  title: 'The node serves no JSON-RPC batches, no eth_createAccessList and no pending block: the facilitator still verifies and settles an honest payment, once',
  requirements: ['X402-FLT-09', 'X402-FAC-03'],
  ...ON_A_FAULTY_NODE,
  async run(ctx, v) {
    const { o, payer, rpc, version, amount, snap, p } = await honestPaymentSetup(ctx, v.buyer);
    const armed = PLAIN_NODE.map((f) => rpc.arm(f));
    let verified: FacilitatorAnswer;
    let a: FacilitatorAnswer;
    let replay: FacilitatorAnswer;
    try {
      ctx.act(`POST /verify (v${version}): ${v.buyer}'s honest payment of ${amount}; ${PLAIN_NODE.map((f) => f.name).join('; ')}`);
      verified = await post(ctx, '/verify', bodyOf(o, p));
      ctx.act('POST /settle with the same payment');
      a = await post(ctx, '/settle', bodyOf(o, p));
      for (let retry = 1; retry <= PENDING_RETRIES && isPending(a); retry++) {
        ctx.act(`POST /settle again with the same payment (retry ${retry}: reconcile the pending settlement)`);
        a = await post(ctx, '/settle', bodyOf(o, p));
      }
      ctx.act('POST /settle once more with the same payment (a replay)');
      replay = await post(ctx, '/settle', bodyOf(o, p));
    } finally {
      for (const f of armed) f.disarm();
    }
    for (const f of armed) ctx.evidence.note(f.fired ? describeHit(f, f.hits[0]!) : `not met: ${f.name}`);
    if (a.json?.success === true) {
      await expectSettledOnChain(ctx, 'X402-FAC-03', o, a.json as Settlement, { payer, amount, nonce: p.auth.nonce as Hex, network: networkOf(o, version), version });
      await expectPaid(ctx, 'X402-FAC-03', o, snap, amount, '/settle on a plain node, and its replay');
    } else if (!isPending(a)) {
      await expectUnchanged(ctx, 'X402-FAC-03', o, snap, p.auth, `a settlement refused (${showAnswer(a)}) on a plain node, and its replay`);
    }
    ctx.check('X402-FAC-03', replay.json?.success !== true, 'the payment sent again is not settled again', { expected: 'no success:true', actual: showAnswer(replay) });
    // Last: a failed check ends the run, and the money checks above are the MUST. A 5xx here is the node's lack, not money.
    const answers = { '/verify': verified, '/settle': a, 'the replay': replay };
    const faults = Object.entries(answers).filter(([, x]) => x.status >= 500);
    ctx.check('X402-FLT-09', faults.length === 0, 'no 5xx on a plain node', { expected: '200 (or a 4xx)', actual: faults.map(([w, x]) => `${w}: ${showAnswer(x)}`).join(' | ') || 'none' });
    ctx.check('X402-FLT-09', verified.status === 200 && verified.json?.isValid === true, `/verify (v${version}) says isValid:true for an honest payment on a plain node`, {
      expected: '200 isValid:true',
      actual: showAnswer(verified),
    });
    ctx.check('X402-FLT-09', a.json?.success === true, `/settle (v${version}) settles an honest payment on a plain node`, { expected: 'success:true', actual: showAnswer(a) });
  },
});

/**
 * Answers a gateway or node gives to a send it took but did not see through: JSON-RPC errors that
 * say the call timed out (geth's -32002 "request timed out"; Go gateways' "context deadline
 * exceeded", whose wording names no timeout), and an HTTP 504 page from a gateway in front of the node.
 */
const TIMEOUT_ANSWERS = [
  { name: 'JSON-RPC error -32002 "request timed out" (geth\'s timeout answer)', answer: rpcErrorAnswer({ code: -32002, message: 'request timed out' }) },
  { name: 'JSON-RPC error -32000 "context deadline exceeded" (a Go gateway\'s timeout)', answer: rpcErrorAnswer({ code: -32000, message: 'context deadline exceeded' }) },
  {
    name: 'HTTP 504 Gateway Time-out (an HTML page from the gateway)',
    answer: () => ({ status: 504, headers: { 'content-type': 'text/html' }, body: '<html><body><h1>504 Gateway Time-out</h1></body></html>' }),
  },
] as const;

/** The sends: eth_sendRawTransactionSync where the facilitator uses it, then eth_sendRawTransaction alone (the node refuses the sync method). */
const SEND_PATHS = ['its own choice of send', 'eth_sendRawTransaction (the node refuses eth_sendRawTransactionSync)'] as const;

/**
 * The node takes and mines the facilitator's transaction, but the answer to the send is replaced
 * (the proxy forwards it and answers in the node's place) by a timeout error or a gateway's 504,
 * for every send during that settlement (capability `rpc-faults`). Both sends are tried: the
 * facilitator's own choice, then the standard eth_sendRawTransaction alone (the node refuses the
 * sync method for the settlement). The answer is ambiguous to the facilitator, but the chain is
 * not: the settlement landed, so it is reported settled with the transaction that moved it, or
 * settlement_pending with that hash and settled within two retried /settle calls; never as a
 * failure, never a 5xx, paid once; and once reported settled, the payment sent again is refused.
 */
export const facilitatorSendErrorAnswer = defineScenario({
  kind: 'property',
  id: 'fault-facilitator-send-timeout-answer',
  title:
    "The node mines the facilitator's transaction but the send is answered with a timeout error or a gateway 504: reported settled (or pending with its hash, then settled), paid once, never failed",
  requirements: ['X402-FLT-07'],
  maxRuns: FAULT_RUNS,
  ...FBASE,
  capabilities: ['rpc-faults'],
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), order: fc.nat() }),
  async run(ctx, v) {
    const req = 'X402-FLT-07';
    const { o, payer, rpc, version, amount } = await facilitatorFaultSetup(ctx, v.buyer);
    // The facilitator's own send first: once refused, a facilitator may stop using the sync method for good.
    for (const path of SEND_PATHS) {
      const plainOnly = path !== SEND_PATHS[0];
      for (const bad of shuffled(TIMEOUT_ANSWERS, v.order)) {
        const snap = await holdings(ctx, o, payer);
        const p = await sign(ctx, o, v.buyer, version);
        const methods = plainOnly ? ['eth_sendRawTransaction'] : ['eth_sendRawTransaction', 'eth_sendRawTransactionSync'];
        const refuseSync: FaultSpec[] = plainOnly
          ? [
              {
                name: 'the node refuses eth_sendRawTransactionSync (-32601)',
                when: callsRpc('eth_sendRawTransactionSync'),
                action: { kind: 'respond', answer: rpcErrorAnswer(NO_SYNC_ANSWERS[0]) },
                times: 100,
              },
            ]
          : [];
        // Every send of this settlement: a facilitator (or its RPC library) that sends again meets the same gateway.
        const { a: first, armed } = await settleUnder(
          ctx,
          o,
          p,
          rpc,
          { name: `the node takes the send (${path}) but it is answered with ${bad.name}`, when: callsRpc(...methods), action: { kind: 'respond', forward: true, answer: bad.answer }, times: 100 },
          version,
          `${v.buyer}'s honest payment of ${amount}`,
          refuseSync,
        );
        expectFired(armed, req, `the facilitator sent no transaction through the RPC proxy with ${path}`);
        ctx.evidence.note(describeHit(armed, armed.hits[0]!));
        ctx.check(req, first.status < 500, '/settle answers (not a 5xx)', { expected: '200 (or a 4xx)', actual: showAnswer(first) });
        if (!(await nonceUsed(o, p.auth)))
          throw new Indeterminate(req, `the node did not mine the transaction whose send was answered with ${bad.name} (authorization unused; /settle said ${showAnswer(first)})`);
        let a = first;
        const pendingHash = isPending(first) ? first.json?.transaction : undefined;
        if (isPending(first)) ctx.check(req, isTxHash(pendingHash), 'a settlement_pending answer names its transaction', { expected: '0x + 64 hex', actual: showAnswer(first) });
        for (let retry = 1; retry <= PENDING_RETRIES && isPending(a); retry++) {
          ctx.act(`POST /settle again with the same payment (retry ${retry}: reconcile the pending settlement)`);
          a = await post(ctx, '/settle', bodyOf(o, p));
          ctx.check(req, a.status < 500, 'the retried /settle answers (not a 5xx)', { expected: '200 (or a 4xx)', actual: showAnswer(a) });
        }
        ctx.check(req, a.json?.success === true, 'a settlement that landed is reported settled (at once, or within two retried /settle calls after settlement_pending), never as failed', {
          expected: `success:true with the transaction that moved the payment${pendingHash ? ` (${String(pendingHash)})` : ''}`,
          actual: `${showAnswer(a)}; the authorization is used on chain`,
        });
        const tx = await expectSettledOnChain(ctx, req, o, a.json as Settlement, { payer, amount, nonce: p.auth.nonce as Hex, network: networkOf(o, version), version });
        if (pendingHash !== undefined) {
          ctx.check(req, String(pendingHash).toLowerCase() === tx.toLowerCase(), 'the pending hash is the transaction that settled', { expected: tx, actual: String(pendingHash) });
        }
        ctx.act('POST /settle once more with the settled payment (a replay)');
        const replay = await post(ctx, '/settle', bodyOf(o, p));
        ctx.check(req, replay.status < 500 && replay.json?.success !== true, 'the settled payment sent again is refused (success:false, not a 5xx)', {
          expected: 'success:false (the authorization is used)',
          actual: showAnswer(replay),
        });
        await expectPaid(ctx, req, o, snap, amount, `/settle whose send was answered with ${bad.name}, its retries and a replay`);
      }
    }
  },
});

/**
 * Another sender of the facilitator's key takes the nonce its settlement was signed with, as a
 * second instance of one facilitator does (capabilities `rpc-faults` and `impersonate`): the send
 * is held in the RPC fault proxy while the harness, impersonating the account that signed it, mines
 * a transaction with that nonce; then the held send goes on and the node refuses it (nonce too low).
 * MUST (X402-FLT-10): no 5xx; a success is the one transfer on chain (sent again with a fresh
 * nonce), paid once; a refusal moves nothing and leaves the authorization unused; and a
 * settlement_pending names a transaction the node holds, never the refused one.
 */
export const facilitatorNonceTaken = defineScenario({
  kind: 'property',
  id: 'fault-facilitator-nonce-taken',
  title: "Another sender of the facilitator's key takes its settlement's nonce and the node refuses the send: settled again or refused, paid at most once, never pending for the refused transaction",
  requirements: ['X402-FLT-10', 'X402-FLT-11'],
  // Each run makes the same conflict; more runs only vary the buyer (npm start stays quick).
  maxRuns: 2,
  ...FBASE,
  capabilities: ['rpc-faults', 'impersonate'],
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const req = 'X402-FLT-10';
    const { o, payer, rpc, version, amount, snap, p } = await honestPaymentSetup(ctx, v.buyer);
    let held: Hex | undefined;
    const armed = rpc.arm({
      name: "the facilitator's send of this settlement held in the RPC proxy",
      when: sendsCall({
        to: o.token,
        abi: eip3009TokenAbi,
        functions: ['transferWithAuthorization'],
        args: (x) => String(x[5]).toLowerCase() === String(p.auth.nonce).toLowerCase(),
        seen: (raw) => (held ??= raw),
      }),
      action: { kind: 'delay', phase: 'request', hold: true },
    });
    ctx.act(`POST /settle (v${version}): ${v.buyer}'s honest payment of ${amount}; its transaction send is held in the RPC proxy`);
    const settling = post(ctx, '/settle', bodyOf(o, p));
    try {
      const fired = await Promise.race([armed.whenFired().then(() => true), settling.then(() => false)]);
      if (!fired) throw new Indeterminate(req, `the facilitator sent no transaction for this settlement through the RPC proxy (it answered ${showAnswer(await settling)})`);
      const tx = parseTransaction(held!);
      const from = await recoverTransactionAddress({ serializedTransaction: held! as never });
      ctx.act(`another sender of the facilitator's key (${from}, impersonated) mines a transaction with nonce ${tx.nonce}, the one the held settlement was signed with; then the held send goes on`);
      await o.s.test.impersonateAccount({ address: from });
      try {
        const hash = (await o.s.test.request({ method: 'eth_sendTransaction', params: [{ from, to: from, value: '0x0', nonce: toHex(tx.nonce ?? 0) }] } as never)) as Hex;
        // Anvil mines on send: the receipt is there at once (viem's wait would poll on its interval first).
        const r = await o.s.public.getTransactionReceipt({ hash }).catch(() => o.s.public.waitForTransactionReceipt({ hash }));
        if (r.status !== 'success') throw new Indeterminate(req, `the transaction that was to take the facilitator's nonce ${tx.nonce} reverted`);
      } finally {
        await o.s.test.stopImpersonatingAccount({ address: from });
      }
    } finally {
      armed.release();
      armed.disarm();
    }
    const a = await settling;
    ctx.evidence.note(describeHit(armed, armed.hits[0]!));
    const last = await judgeRefusedSend(ctx, req, { o, p, a, snap, payer, amount, version }, "after another sender took the nonce of the facilitator's send");
    // Last: the money checks above are the MUST.
    ctx.check('X402-FLT-11', last.json?.success === true, 'the payment is settled: the facilitator counts its nonce again and sends once more', { expected: 'success:true', actual: showAnswer(last) });
  },
});

/** What a node under load answers a call that runs EVM code when its execution budget runs out (geth): an error that is no revert. */
const EXECUTION_TIMEOUT = { code: -32000, message: 'execution aborted (timeout = 5s)' };
/** The JSON-RPC methods that run EVM code. */
const EXECUTES = new Set(['eth_call', 'eth_estimateGas', 'eth_createAccessList']);
/**
 * Published reasons that name a defect of the payment (specs/x402-erc8004.md §1.5: every invalid_*
 * code, insufficient_funds, payment_expired, and the Permit2 / EIP-2612 / approval families). Reasons
 * are open strings (spec line 241): any other reason, unexpected_verify_error first, owns the failure.
 */
const PAYMENT_DEFECT = /^(invalid_|insufficient_funds$|payment_expired$|permit2_|eip2612_|erc20_approval_)/;

/** The JSON-RPC methods that simulate a transaction (a node may time them out while plain reads still answer). */
const SIMULATES = new Set(['eth_estimateGas', 'eth_createAccessList']);

/**
 * The node fails every call of `methods`, in a batch or alone, and answers the rest: the proxy
 * forwards the request and replaces those calls' answers by {@link EXECUTION_TIMEOUT}.
 */
function nodeFails(methods: ReadonlySet<string>, which: string, error: { code: number; message: string } = EXECUTION_TIMEOUT): FaultSpec {
  return {
    name: `the node answers ${which} with JSON-RPC error ${error.code} "${error.message}" (no revert)`,
    when: callsRpc(...methods),
    action: {
      kind: 'respond',
      forward: true,
      answer: (req, upstream) => {
        const calls = rpcCallsOf(req.body);
        let answers: unknown;
        try {
          answers = JSON.parse(upstream!.body.toString('utf8'));
        } catch {
          return { status: upstream!.status, headers: upstream!.headers, body: upstream!.body };
        }
        const failed = (c: { id?: unknown; method?: unknown }, a: unknown) => (methods.has(String(c.method)) ? { jsonrpc: '2.0', id: c.id ?? null, error } : a);
        const list = Array.isArray(answers) ? answers : [answers];
        // Batch answers may come in any order: each is matched to its call by id.
        const byId = new Map(calls.map((c) => [JSON.stringify((c as { id?: unknown }).id ?? null), c]));
        const out = list.map((a) => failed(byId.get(JSON.stringify((a as { id?: unknown } | null)?.id ?? null)) ?? {}, a));
        return jsonAnswer(Array.isArray(answers) ? out : out[0]);
      },
    },
    times: 1000,
  };
}

/** Every call that runs EVM code fails (the token's reads too). */
const NODE_EXECUTION_FAILS = nodeFails(EXECUTES, 'every eth_call, eth_estimateGas and eth_createAccessList');
/** Only the simulations fail: the token's reads answer (the payment reads as fine), its simulation cannot run. */
const NODE_SIMULATION_FAILS = nodeFails(SIMULATES, 'every eth_estimateGas and eth_createAccessList (eth_call still answers)');
/** A read that runs no EVM code fails: the facilitator's count of its own sent transactions (a gateway's rate limit). */
const NODE_COUNT_FAILS = nodeFails(new Set(['eth_getTransactionCount']), 'every eth_getTransactionCount', { code: -32005, message: 'limit exceeded' });

/** Whether a facilitator answer owns its failure: a 5xx, or isValid:false / success:false with a reason that names no defect of the payment. */
function ownsFailure(a: FacilitatorAnswer): boolean {
  if (a.status >= 500) return true;
  const j = a.json as { isValid?: unknown; success?: unknown; invalidReason?: unknown; errorReason?: unknown } | undefined;
  const reason = String(j?.invalidReason ?? j?.errorReason ?? '');
  return a.status === 200 && j?.isValid !== true && j?.success !== true && reason !== '' && !PAYMENT_DEFECT.test(reason);
}

/**
 * The facilitator's node fails `fault`'s calls while a valid payment is verified and settled: a
 * refusal must own the failure (a 5xx, or a reason of its own, unexpected_*), never blame the
 * payment, and move nothing; a success must be the payment's one transfer on chain (the payment is
 * honest: a facilitator may leave the judgement to the chain); once the node answers again, the
 * payment verifies.
 */
async function underNodeFailure(ctx: RunContext, setup: FaultSetup, buyer: (typeof BUYERS)[number], fault: FaultSpec): Promise<void> {
  const { o, payer, rpc, version, amount } = setup;
  const { snap, p } = await honestPayment(ctx, setup, buyer);
  const armed = rpc.arm(fault);
  let verified: FacilitatorAnswer;
  let settled: FacilitatorAnswer;
  try {
    ctx.act(`POST /verify (v${version}): ${buyer}'s honest payment of ${amount}; ${fault.name}`);
    verified = await post(ctx, '/verify', bodyOf(o, p));
    ctx.act('POST /settle with the same payment, the node still failing');
    settled = await post(ctx, '/settle', bodyOf(o, p));
  } finally {
    armed.disarm();
  }
  ctx.evidence.note(armed.fired ? describeHit(armed, armed.hits[0]!) : `not met: ${armed.name} (the facilitator ran no EVM call)`);
  for (const [what, a] of [
    ['/verify', verified],
    ['/settle', settled],
  ] as const) {
    // The payment is honest: isValid:true is no lie, and a success:true is judged on chain below (a
    // facilitator may leave the judgement to the chain and send anyway). What may not happen is a
    // refusal that blames the payment, or an error status that says valid or settled (an error
    // path that answers "valid" is what a facilitator failing open sends).
    if (a.json?.isValid === true || a.json?.success === true) {
      ctx.check('X402-FLT-12', a.status >= 200 && a.status < 300, `${what} while the node fails its calls says isValid:true / success:true only with a 2xx`, {
        expected: 'a 2xx with isValid:true / success:true, or an error status with neither',
        actual: showAnswer(a),
      });
      continue;
    }
    ctx.check('X402-FLT-12', ownsFailure(a), `${what} while the node fails its calls: a 5xx, or a refusal with a reason of its own, never one that blames the payment`, {
      expected: '5xx, or 200 with isValid:false / success:false and a reason naming no payment defect (unexpected_verify_error / unexpected_settle_error)',
      actual: showAnswer(a),
    });
    // A 5xx may have any body; a JSON one that names the failure names it in something.
    const { empty } = reasonFields(a.json);
    ctx.check('X402-FLT-12', empty.length === 0, `${what}'s answer to the node's failure leaves none of error, invalidReason, errorReason it gives empty`, {
      expected: 'each of error / invalidReason / errorReason it gives not "" and not {}',
      actual: `${showAnswer(a)}${empty.length ? ` (empty: ${empty.join(', ')})` : ''}`,
    });
    if (what === '/settle')
      ctx.check('X402-FLT-12', failedSettlementTransaction(a.json?.transaction), "/settle's failure for the node's names no transaction, or a transaction hash", {
        expected: 'transaction "" (or absent, or the hash of a transaction it sent)',
        actual: JSON.stringify(a.json?.transaction),
      });
  }
  if (settled.json?.success === true) {
    await expectSettledOnChain(ctx, 'X402-FLT-12', o, settled.json as Settlement, { payer, amount, nonce: p.auth.nonce as Hex, network: networkOf(o, version), version });
    await expectPaid(ctx, 'X402-FLT-12', o, snap, amount, '/settle reported settled while the node failed its calls');
    return;
  }
  await expectUnchanged(ctx, 'X402-FLT-12', o, snap, p.auth, '/verify and /settle while the node failed');
  ctx.act('POST /verify of the same payment, the node answering again');
  const after = await post(ctx, '/verify', bodyOf(o, p));
  ctx.check('X402-FLT-12', after.status === 200 && after.json?.isValid === true, `/verify (v${version}) of the same payment once the node answers again: isValid:true`, {
    expected: '200 isValid:true',
    actual: showAnswer(after),
  });
}

/**
 * X402-FLT-12 under three node failures, every run: every call that runs EVM code fails; only the
 * simulations fail (the token's reads still answer, so the payment reads as fine and only its
 * simulation cannot run: a facilitator that blames the payment for the failed simulation is caught
 * only there); only the count of the facilitator's own transactions fails (its nonce for the send).
 */
export const facilitatorNodeExecutionFails = defineScenario({
  kind: 'property',
  id: 'fault-facilitator-node-execution-fails',
  title:
    "The node fails the facilitator's calls (no revert): all EVM calls, only its simulations, or only its transaction count; /verify and /settle blame no payment for it (a refusal moves nothing, a success is on chain); afterwards the payment verifies",
  requirements: ['X402-FLT-12'],
  ...ON_A_FAULTY_NODE,
  async run(ctx, v) {
    // One offer and one /supported read for the run; a fresh payment (and holdings) for each failure.
    const setup = await facilitatorFaultSetup(ctx, v.buyer);
    for (const fault of [NODE_EXECUTION_FAILS, NODE_SIMULATION_FAILS, NODE_COUNT_FAILS]) await underNodeFailure(ctx, setup, v.buyer, fault);
  },
});

export const faultScenarios = [
  lostAnswerRetry,
  duplicateDelivery,
  facilitatorLostSend,
  facilitatorSendNeverArrived,
  resourceSettlementPending,
  facilitatorNoSyncSend,
  facilitatorSendErrorAnswer,
  facilitatorPlainNode,
  facilitatorNonceTaken,
  resourceSendRefused,
  facilitatorNodeExecutionFails,
];
