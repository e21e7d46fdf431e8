/**
 * asa under duplicate delivery (issue 15): the harness's fault proxy (harness/faults) sits between
 * the requester and the target, delivers one request twice (both at once, or the second after the
 * first's answer) and records both answers, which the requester could not see. No capability: it
 * runs against any target. Two requests matter:
 * - the Lightning API's pay call (`asa-lightning`, HTTP): the invoice is paid once, the payer
 *   debited once; the second delivery gets the same payment or a 4xx;
 * - the paid L402 request (`asa-l402`, the credential in Authorization): served at least once and
 *   no more often than the token's own request count allows; the other delivery is served again
 *   (L402 lets a credential be reused while its caveats allow) or refused with a 4xx. Never a 5xx.
 * A case whose fault never fired is indeterminate, never a pass (profile ASA-PROF-15).
 */
import fc from 'fast-check';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { describeHit, expectFired, type UpstreamAnswer, withFaultProxy } from '../../harness/faults/index.ts';
import { LightningClient, nodeBalances } from '../../reference-impl/asa/agents/lightning.ts';
import { challengesOf } from '../../reference-impl/asa/agents/requester.ts';
import { decodeInvoice } from '../../reference-impl/asa/protocol/invoice.ts';
import { type Challenge, formatCredential } from '../../reference-impl/asa/protocol/l402.ts';
import { caveatsOf, sha256hex } from '../../reference-impl/asa/protocol/macaroons.ts';
import { fresh, LIVE, short } from './lab.ts';

const REQ = 'ASA-FLT-01';
/** Property runs at most: every case runs in every run; more runs only change the order. */
const FAULT_RUNS = 3;
const CASES = ['pay at once', 'pay one after the other', 'credential at once', 'credential one after the other'] as const;
type Case = (typeof CASES)[number];
const PAYMENTS = /^\/v1\/nodes\/[0-9a-f]{66}\/payments$/;

interface Fixture {
  ctx: RunContext;
  url: string;
  method: string;
  lnUrl: string;
  ln: LightningClient;
  node: string;
}

const shown = (a: UpstreamAnswer) => `${a.status} ${a.body.toString('utf8').slice(0, 200)}`;

/** The payment a 200 answer of the pay call reports, or undefined when it reports none. */
function paymentOf(a: UpstreamAnswer): { preimage: string; amountMsat: string; feeMsat: string } | undefined {
  if (a.status !== 200) return undefined;
  try {
    const p = JSON.parse(a.body.toString('utf8')) as { preimage?: unknown; amountMsat?: unknown; feeMsat?: unknown };
    return typeof p.preimage === 'string' && typeof p.amountMsat === 'string' && typeof p.feeMsat === 'string' ? { preimage: p.preimage, amountMsat: p.amountMsat, feeMsat: p.feeMsat } : undefined;
  } catch {
    return undefined;
  }
}
const balanceOf = async (f: Fixture): Promise<bigint> => nodeBalances(await f.ln.graph()).get(f.node) ?? 0n;

/** An unpaid request's challenge (an L402 one where there are both). */
async function challenge(f: Fixture): Promise<Challenge> {
  f.ctx.act(`the requester calls ${f.method} ${f.url} without paying`);
  const res = await f.ctx.fetch(f.url, { method: f.method });
  await res.arrayBuffer().catch(() => undefined);
  const all = challengesOf(res);
  const ch = all.find((c) => c.scheme === 'L402') ?? all[0];
  if (res.status !== 402 || !ch) throw new Indeterminate(REQ, `the resource answered ${res.status} with no L402 challenge, so there is nothing to pay`);
  return ch;
}

async function call(f: Fixture, url: string, authorization: string): Promise<{ status: number; body: string }> {
  const res = await f.ctx.fetch(url, { method: f.method, headers: { authorization } });
  return { status: res.status, body: (await res.text()).slice(0, 200) };
}

/** The token's own request count (`<service>_max_requests=N`), or undefined when it carries none. */
function countOf(ch: Challenge): number | undefined {
  const c = caveatsOf(ch.macaroon).find((x) => /_max_requests=\d+$/.test(x));
  return c ? Number(c.split('=')[1]) : undefined;
}

/** The pay call delivered twice: one payment, one debit; each delivery the same payment or a 4xx. */
async function duplicatePay(f: Fixture, mode: 'concurrent' | 'sequential'): Promise<void> {
  const { ctx } = f;
  const ch = await challenge(f);
  const inv = decodeInvoice(ch.invoice);
  const before = await balanceOf(f);
  await withFaultProxy(f.lnUrl, async (proxy) => {
    const fault = proxy.arm({ name: `the pay call delivered twice (${mode})`, when: { method: 'POST', path: PAYMENTS }, action: { kind: 'duplicate', mode } });
    ctx.act(`the requester pays the invoice (${short(inv.paymentHash)}); the network delivers the pay call twice ${mode === 'concurrent' ? 'at once' : 'one after the other'}`);
    await new LightningClient(proxy.through(f.lnUrl), ctx.fetch).pay(f.node, ch.invoice).catch(() => undefined);
    expectFired(fault, REQ, 'the pay call never reached the proxy');
    const hit = fault.hits[0]!;
    ctx.evidence.note(describeHit(fault, hit));
    ctx.check(REQ, hit.errors.length === 0 && hit.upstream.length === 2, 'both deliveries of the pay call are answered', { expected: '2 answers', actual: describeHit(fault, hit) });
    const paid = hit.upstream.flatMap((a) => paymentOf(a) ?? []);
    for (const a of hit.upstream) {
      const p = paymentOf(a);
      const ok = a.status === 200 ? p !== undefined && sha256hex(p.preimage) === inv.paymentHash : a.status >= 400 && a.status < 500;
      ctx.check(REQ, ok, 'each delivery is answered with the invoice’s payment (200, its preimage) or refused (4xx), never a 5xx', {
        expected: '200 with the preimage of the invoice, or a 4xx (already paid)',
        actual: shown(a),
      });
    }
    ctx.check(REQ, paid.length >= 1, 'the invoice was paid (one delivery answers with the payment)', { expected: 'one 200', actual: hit.upstream.map(shown).join(' | ') });
    const one = paid[0]!;
    const after = await balanceOf(f);
    ctx.expectEqual(REQ, before - after, BigInt(one.amountMsat) + BigInt(one.feeMsat), 'the payer is debited one payment (amount + routing fee), not two');
    const state = await f.ln.lookup(inv.payee, inv.paymentHash).catch(() => null);
    ctx.expectEqual(REQ, state?.state, 'SETTLED', 'the provider’s invoice is settled');
    ctx.act('the requester presents the credential it paid for');
    const served = await call(f, f.url, formatCredential({ macaroons: [ch.macaroon], preimage: one.preimage }));
    ctx.expectStatus(REQ, served, '2xx', 'the payment buys its request: the credential is served');
  });
}

/** The paid request delivered twice: served at least once, at most as often as the token's count; never a 5xx; nothing paid again. */
async function duplicateCredential(f: Fixture, mode: 'concurrent' | 'sequential'): Promise<void> {
  const { ctx } = f;
  const ch = await challenge(f);
  ctx.act('the requester pays the invoice');
  const pay = await f.ln.pay(f.node, ch.invoice).catch((e: Error) => {
    throw new Indeterminate(REQ, `the invoice could not be paid on the target's network: ${e.message}`);
  });
  const cred = formatCredential({ macaroons: [ch.macaroon], preimage: pay.preimage });
  const paidBalance = await balanceOf(f);
  const count = countOf(ch);
  await withFaultProxy(f.url, async (proxy) => {
    const fault = proxy.arm({ name: `the paid request delivered twice (${mode})`, when: { header: 'authorization' }, action: { kind: 'duplicate', mode } });
    ctx.act(`the requester presents the paid credential; the network delivers the request twice ${mode === 'concurrent' ? 'at once' : 'one after the other'}`);
    await call(f, proxy.through(f.url), cred);
    expectFired(fault, REQ, 'the paid request never reached the proxy');
    const hit = fault.hits[0]!;
    ctx.evidence.note(describeHit(fault, hit));
    ctx.check(REQ, hit.errors.length === 0 && hit.upstream.length === 2, 'both deliveries of the paid request are answered', { expected: '2 answers', actual: describeHit(fault, hit) });
    for (const a of hit.upstream)
      ctx.check(REQ, (a.status >= 200 && a.status < 300) || (a.status >= 400 && a.status < 500), 'each delivery is served (2xx) or refused (4xx), never a 5xx', {
        expected: '2xx or 4xx',
        actual: shown(a),
      });
    const servedTimes = hit.upstream.filter((a) => a.status >= 200 && a.status < 300).length;
    ctx.check(
      REQ,
      servedTimes >= 1 && (count === undefined || servedTimes <= count),
      `the paid request is served at least once and at most ${count ?? 'any number of'} time(s) (the token's own request count)`,
      {
        expected: count === undefined ? '≥ 1 served' : `1..${count} served`,
        actual: hit.upstream.map(shown).join(' | '),
      },
    );
    if (count !== undefined) {
      ctx.act('the requester presents the same credential once more');
      const next = await call(f, f.url, cred);
      if (servedTimes >= count) ctx.expectRefused(REQ, next, `the token's ${count} request(s) were used by the deliveries: one more is refused`);
      else ctx.expectStatus(REQ, next, '2xx', `the deliveries used ${servedTimes} of the token's ${count} requests: one more is served`);
    }
  });
  ctx.expectEqual(REQ, await balanceOf(f), paidBalance, 'the duplicate paid nothing again (the payer’s balance is as after its one payment)');
}

export const duplicateDelivery = defineScenario({
  kind: 'property',
  id: 'fault-duplicate-delivery',
  title:
    'The Lightning pay call and the paid L402 request are each delivered twice (at once, and one after the other): the invoice is paid once, the payer debited once, the request served no more than its token allows, no 5xx',
  requirements: [REQ],
  endpoints: ['asa-l402', 'asa-lightning'],
  ...LIVE,
  maxRuns: FAULT_RUNS,
  // Every case in every run, in a generated order (rule 4).
  arbitrary: () => fc.shuffledSubarray([...CASES], { minLength: CASES.length }),
  async run(ctx, order: Case[]) {
    const e = ctx.endpoint('asa-l402');
    const lnUrl = ctx.endpoint('asa-lightning').url;
    const ln = new LightningClient(lnUrl, ctx.fetch);
    // A fresh node: its balance moves only with this run's payments.
    const node = (
      await ln.addNode(Buffer.from(fresh()).toString('hex'), { alias: 'duplicate-requester', hubs: true }).catch((x: Error) => {
        throw new Indeterminate(REQ, `the network does not register a requester node: ${x.message}`);
      })
    ).pubkey;
    const f: Fixture = { ctx, url: e.url, method: e.method ?? 'GET', lnUrl, ln, node };
    for (const c of order) {
      const mode = c.endsWith('at once') ? 'concurrent' : 'sequential';
      if (c.startsWith('pay')) await duplicatePay(f, mode);
      else await duplicateCredential(f, mode);
    }
  },
});
