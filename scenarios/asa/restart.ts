/**
 * The asa provider across crashes (issue 15, capability `restart`): the provider's L402 server is
 * killed with SIGKILL and restarted by the target's restart control at every step boundary of one
 * agreement: after the offer was accepted, after the invoice was issued, after it was paid (before
 * delivery), after delivery, after completion and after the attestation. After each restart
 * everything observable is compared with what the agreement's history says: the paid credential
 * (macaroon + preimage) is still honoured, never answered with a second invoice; an unpaid one is
 * not; a spent one-request token is not served again; the payer was debited once; the agreement
 * moves on; the relay still serves the stored events; the request is not offered a second time.
 *
 * The relay is not crashed: it is the target's, and its stored events are checked after every
 * provider restart (profile ASA-PROF-14).
 */
import fc from 'fast-check';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { LightningClient, nodeBalances } from '../../reference-impl/asa/agents/lightning.ts';
import { challengesOf, Requester } from '../../reference-impl/asa/agents/requester.ts';
import { KIND, type NostrEvent, readAgreement, readCapability } from '../../reference-impl/asa/protocol/events.ts';
import { decodeInvoice } from '../../reference-impl/asa/protocol/invoice.ts';
import { type Challenge, formatCredential } from '../../reference-impl/asa/protocol/l402.ts';
import { caveatsOf, sha256hex } from '../../reference-impl/asa/protocol/macaroons.ts';
import { config, fresh, LIVE, provider, relayUrl, short } from './lab.ts';

const REQ = 'ASA-RST-01';
const ENDPOINT = 'asa-l402';
/** How long the provider may take to answer a DM or publish an agreement version (a restarted one reads its DMs again first). */
const REPLY_MS = 15_000;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The run's parties: a fresh requester (Nostr key and Lightning node), the restartable provider's identities and resource. */
interface Run {
  ctx: RunContext;
  url: string;
  method: string;
  pk: string;
  providerNode: string;
  r: Requester;
  ln: LightningClient;
  node: string;
}

async function answer(ctx: RunContext, url: string, method: string, authorization?: string): Promise<{ status: number; body: string; challenges: Challenge[] }> {
  const res = await ctx.fetch(url, { method, headers: authorization ? { authorization } : {} });
  return { status: res.status, body: (await res.text()).slice(0, 300), challenges: challengesOf(res) };
}

const balanceOf = async (w: Run): Promise<bigint> => nodeBalances(await w.ln.graph()).get(w.node) ?? 0n;

/** The provider's latest 38402 for this requester and `d` once `want` holds (or the latest seen when time runs out). */
async function agreementWhen(w: Run, d: string | undefined, want: (e: NostrEvent) => boolean): Promise<NostrEvent | null> {
  const until = Date.now() + REPLY_MS;
  for (;;) {
    const evs = (await w.r.query([{ kinds: [KIND.agreement], authors: [w.pk], '#p': [w.r.pubkey] }])).filter((e) => d === undefined || readAgreement(e).d === d);
    const last = evs.sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : 1))[0] ?? null;
    if ((last && want(last)) || Date.now() >= until) return last;
    await new Promise((res) => setTimeout(res, 150));
  }
}

/** What the relay must still serve after a restart: the provider's capability, the agreement's latest version, the attestation. */
async function storedEvents(w: Run, d: string, status: string, attestation?: NostrEvent): Promise<void> {
  const caps = await w.r.query([{ kinds: [KIND.capability], authors: [w.pk] }]);
  w.ctx.check(REQ, caps.length > 0, 'the relay still serves the provider’s 38400', { expected: 'a 38400', actual: 'none' });
  const ag = await agreementWhen(w, d, (e) => readAgreement(e).status === status);
  w.ctx.expectEqual(REQ, ag ? readAgreement(ag).status : 'no 38402', status, `the relay serves agreement ${d} with status ${status}`);
  const all = await w.r.query([{ kinds: [KIND.agreement], authors: [w.pk], '#p': [w.r.pubkey] }]);
  w.ctx.expectEqual(REQ, [...new Set(all.map((e) => readAgreement(e).d))], [d], 'the requester has exactly one agreement with the provider (no second one from an accept handled again)');
  if (attestation) {
    const got = await w.r.query([{ ids: [attestation.id] }]);
    w.ctx.check(REQ, got.length === 1, 'the relay still serves the requester’s 38403', { expected: attestation.id, actual: got.map((e) => e.id).join(', ') || 'none' });
  }
}

/** Crash and restart the provider, then compare the stored events with the agreement's history. */
async function crash(w: Run, boundary: string, d: string, status: string, attestation?: NostrEvent): Promise<void> {
  await w.ctx.restart(ENDPOINT, boundary);
  await storedEvents(w, d, status, attestation);
}

/** service_request → service_offer → accept → a 38402 `active`; anything else leaves nothing to crash (indeterminate). */
async function agree(w: Run): Promise<{ d: string; agreement: NostrEvent; priceSats: bigint }> {
  const caps = await w.r.query([{ kinds: [KIND.capability], authors: [w.pk] }]);
  const cap = caps.find((c) => readCapability(c).l402 === w.url) ?? caps[0];
  if (!cap) throw new Indeterminate(REQ, `the relay serves no 38400 by the restartable provider ${short(w.pk)}`);
  w.ctx.act(`the requester ${short(w.r.pubkey)} sends service_request for ${short(cap.id)}`);
  await w.r.dm(w.pk, { type: 'service_request', capability: cap.id, params: { text: 'hello' } });
  const offer = await w.r.waitDm(w.pk, (m) => m.type === 'service_offer' || m.type === 'reject', REPLY_MS);
  if (offer?.msg?.type !== 'service_offer') throw new Indeterminate(REQ, `no service_offer from the provider: ${JSON.stringify(offer?.msg ?? 'nothing')}`);
  const priceSats = BigInt((offer.msg as { price: number }).price);
  w.ctx.act(`the requester accepts offer ${short(offer.rumor.id)} at ${priceSats} sats`);
  await w.r.dm(w.pk, { type: 'accept', offer_event: offer.rumor.id });
  const ag = await agreementWhen(w, undefined, (e) => readAgreement(e).status === 'active');
  if (!ag || readAgreement(ag).status !== 'active') throw new Indeterminate(REQ, 'no 38402 active after accept');
  return { d: readAgreement(ag).d ?? '', agreement: ag, priceSats };
}

/** A 402 challenge for the agreement, checked to be priced at its terms and signed by the provider's node. */
async function invoiceFor(w: Run, url: string, priceSats: bigint, when: string): Promise<Challenge> {
  w.ctx.act(`the requester calls ${w.method} ${url} without paying`);
  const a = await answer(w.ctx, url, w.method);
  const ch = a.challenges.find((c) => c.scheme === 'L402') ?? a.challenges[0];
  w.ctx.check(REQ, a.status === 402 && !!ch, `${when}: an unpaid request for the agreement gets 402 with an L402 challenge (the provider still knows the agreement)`, {
    expected: '402 + WWW-Authenticate',
    actual: `${a.status} ${a.body}`,
  });
  const inv = decodeInvoice(ch!.invoice);
  w.ctx.expectEqual(REQ, inv.amountMsat, priceSats * 1000n, `${when}: the invoice is priced at the agreement's terms`);
  w.ctx.expectEqual(REQ, inv.payee, w.providerNode, `${when}: the invoice is signed by the provider's node`);
  return ch!;
}

/** The token's own request count (`<service>_max_requests=N`), or undefined when it carries none. */
function countOf(ch: Challenge): number | undefined {
  const c = caveatsOf(ch.macaroon).find((x) => /_max_requests=\d+$/.test(x));
  return c ? Number(c.split('=')[1]) : undefined;
}

async function agreementAcrossCrashes(ctx: RunContext): Promise<void> {
  const e = await ctx.restartable(ENDPOINT);
  const who = config(ctx).restartable ?? provider(ctx, REQ);
  const ln = new LightningClient(ctx.endpoint('asa-lightning').url, ctx.fetch);
  const node = (
    await ln.addNode(hex(fresh()), { alias: 'restart-requester', hubs: true }).catch((x: Error) => {
      throw new Indeterminate(REQ, `the network does not register a requester node: ${x.message}`);
    })
  ).pubkey;
  const r = await Requester.connect(relayUrl(ctx), hex(fresh())).catch((x: Error) => {
    throw new Indeterminate(REQ, `cannot connect to the relay: ${x.message}`);
  });
  const w: Run = { ctx, url: e.url, method: e.method ?? 'GET', pk: who.pubkey, providerNode: who.node, r, ln, node };
  try {
    // ---- offer / accept ----
    const { d, agreement, priceSats } = await agree(w);
    const url = `${w.url}${w.url.includes('?') ? '&' : '?'}agreement=${encodeURIComponent(d)}`;
    await crash(w, 'after the offer was accepted (agreement active)', d, 'active');

    // ---- the invoice ----
    const paidCh = await invoiceFor(w, url, priceSats, 'after the restart');
    const unpaidCh = await invoiceFor(w, url, priceSats, 'a second request');
    await crash(w, 'after the invoices were issued (none paid)', d, 'active');

    // ---- the payment ----
    const before = await balanceOf(w);
    ctx.act(`the requester pays the first invoice (${priceSats} sats) from its node`);
    const pay = await ln.pay(node, paidCh.invoice).catch((x: Error) => {
      throw new Indeterminate(REQ, `the invoice could not be paid after the restart: ${x.message}`);
    });
    const debit = BigInt(pay.amountMsat) + BigInt(pay.feeMsat);
    const paidBalance = await balanceOf(w);
    ctx.expectEqual(REQ, before - paidBalance, debit, 'the payer is debited the invoice amount plus the routing fee, once');
    const paidCred = formatCredential({ macaroons: [paidCh.macaroon], preimage: pay.preimage });
    await crash(w, 'after the invoice was paid, before delivery', d, 'active');

    ctx.act('the requester presents the unpaid token with the paid invoice’s preimage');
    const unpaid = await answer(ctx, url, w.method, formatCredential({ macaroons: [unpaidCh.macaroon], preimage: pay.preimage }));
    ctx.expectRefused(REQ, unpaid, 'after the restart a token whose invoice was not paid is refused (4xx)');

    // ---- delivery ----
    ctx.act('the requester presents the paid credential (macaroon + preimage)');
    const served = await answer(ctx, url, w.method, paidCred);
    ctx.check(REQ, served.status >= 200 && served.status < 300, 'after the restart the paid credential is served (2xx), not refused and not answered with a second invoice', {
      expected: '2xx',
      actual: `${served.status} ${served.body}`,
    });
    await crash(w, 'after delivery', d, 'active');

    const count = countOf(paidCh);
    ctx.act(`the requester presents the same credential again (its token buys ${count ?? 'an unstated number of'} request(s))`);
    const again = await answer(ctx, url, w.method, paidCred);
    if (count === 1) ctx.expectRefused(REQ, again, 'after the restart the spent one-request token is not served again (4xx: its use was remembered)');
    else if (count !== undefined) ctx.expectStatus(REQ, again, '2xx', `after the restart the token is served again (1 of its ${count} requests used)`);
    else
      ctx.check(REQ, again.status < 500, 'after the restart a token with no request count is served again or refused, never a 5xx', {
        expected: '2xx or 4xx',
        actual: `${again.status} ${again.body}`,
      });
    ctx.expectEqual(REQ, await balanceOf(w), paidBalance, 'the payer was debited nothing more after the payment (no second invoice paid)');

    // ---- completion ----
    ctx.act(`the requester sends complete for ${d}`);
    await r.dm(w.pk, { type: 'complete', asa: agreement.id, result: 'success' });
    const done = await agreementWhen(w, d, (x) => readAgreement(x).status === 'completed');
    ctx.expectEqual(REQ, done ? readAgreement(done).status : 'no 38402', 'completed', 'after the restarts the complete DM moves the agreement to completed');
    const hash = readAgreement(done!).paymentHash;
    ctx.check(REQ, hash === undefined || hash === sha256hex(pay.preimage), 'a payment_hash on the completed agreement is the payment made before the restarts', {
      expected: `${sha256hex(pay.preimage)} (or none)`,
      actual: hash,
    });
    await crash(w, 'after completion', d, 'completed');

    // ---- attestation ----
    ctx.act(`the requester attests ${d} with its payment as proof`);
    const att = await r.attest({ subject: w.pk, agreement: done!.id, rating: 5, proof: sha256hex(pay.preimage) });
    await crash(w, 'after the attestation', d, 'completed', att);

    // Every earlier DM was read again at each restart: the request may not be offered twice (a second
    // price to pay). A reject of the accept already honoured is confusing but costs nothing: not judged.
    const extra = r.inbox.filter((i) => i.rumor.pubkey === w.pk && i.msg?.type === 'service_offer');
    ctx.check(REQ, extra.length === 0, 'the service_request was not offered twice across the restarts', {
      expected: 'no offer after the one accepted',
      actual: extra.map((i) => JSON.stringify(i.msg)).join(' | '),
    });
  } finally {
    r.close();
  }
}

export const providerRestart = defineScenario({
  kind: 'property',
  id: 'provider-restart',
  title:
    'The provider is killed (SIGKILL) and restarted after the accept, the invoice, the payment, the delivery, the completion and the attestation: the paid credential is honoured once, an unpaid one is not, nothing is charged twice, the relay serves the stored events',
  requirements: [REQ],
  endpoints: [ENDPOINT, 'asa-relay', 'asa-lightning'],
  capabilities: ['restart'],
  ...LIVE,
  // Six restarts per run, each seconds (the server starts again from scratch): one run tries every boundary.
  maxRuns: 1,
  runTimeoutMs: 600_000,
  // A failing run is reported as it failed: shrinking would restart the provider again many times.
  shrink: false,
  arbitrary: () => fc.constant(null),
  async run(ctx) {
    await agreementAcrossCrashes(ctx);
  },
});
