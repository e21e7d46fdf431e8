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
import type { Address, Hex } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { TargetProblem } from '../../harness/engine/errors.ts';
import { asResponse, describeHit, expectFired, withFaultProxy, type FaultProxy, type Hangup, type UpstreamAnswer } from '../../harness/faults/index.ts';
import { sendWithPayment, settlementOf } from './client.ts';
import { BASE, BUYERS, expectPaid, expectSettledOnChain, holdings, networkOf, nonceUsed, offer, shown, shuffled, sign, versions, type Offer, type Signed } from './lab.ts';

/** The request headers that carry a payment (v2, v1): the proxy's trigger for "the paid request". */
const PAYMENT_HEADERS = ['payment-signature', 'x-payment'];
const is2xx = (status: number) => status >= 200 && status < 300;
const headerName = (v: 1 | 2) => (v === 2 ? 'PAYMENT-SIGNATURE' : 'X-PAYMENT');

type Answer = { res: Response; body: unknown };

/** A recorded upstream answer in the shape the x402 checks read. */
function answerOf(a: UpstreamAnswer): Answer {
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
async function sendThrough(ctx: RunContext, o: Offer, proxy: FaultProxy, p: Signed, signal?: AbortSignal): Promise<Answer | 'lost'> {
  const f: typeof fetch = (u, init) => ctx.fetch(u, { ...init, signal });
  try {
    return await sendWithPayment(f, proxy.through(o.url), p.header, { ...o.shape, version: p.version });
  } catch (e) {
    // recordingFetch turns a connection that ended without an answer into a TargetProblem; here the
    // proxy caused it on purpose (the caller checks the fault fired).
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
  const used = await nonceUsed(o, p.auth);
  ctx.check(req, used, "the payment's authorization was used on chain (it was settled)", { expected: true, actual: used });
  await expectPaid(ctx, req, o, snap, amount, 'one payment, whatever the network did');
}

export const lostAnswerRetry = defineScenario({
  kind: 'property',
  id: 'fault-lost-answer',
  title: 'The answer to a paid request is lost after the server served it; the client retries with the same payment: paid exactly once, the retry served with that settlement or refused with a 4xx',
  requirements: ['X402-FLT-01'],
  ...BASE,
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), order: fc.nat() }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const payer = o.s.address(v.buyer);
    // Every version and both ways of losing the answer, every run (rule 4).
    const cases = shuffled(
      versions(o).flatMap((version) => (['close', 'reset'] as Hangup[]).map((how) => ({ version, how }))),
      v.order,
    );
    await withFaultProxy(o.url, async (proxy) => {
      for (const { version, how } of cases) {
        const amount = BigInt(version === 2 ? o.req.amount : o.v1!.maxAmountRequired);
        const snap = await holdings(ctx, o, payer);
        const p = await sign(ctx, o, v.buyer, version);
        const fault = proxy.arm({
          name: `the served answer to the paid request (${headerName(version)}) lost, connection ${how === 'reset' ? 'reset' : 'closed'}`,
          when: { header: PAYMENT_HEADERS, status: is2xx },
          action: { kind: 'drop-response', how },
        });
        ctx.act(`${v.buyer} pays ${amount} (v${version}); the server serves it but the answer is lost (connection ${how === 'reset' ? 'reset' : 'closed'})`);
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

export const faultScenarios = [lostAnswerRetry, duplicateDelivery];
