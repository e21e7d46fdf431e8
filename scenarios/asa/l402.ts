/**
 * L402 on the provider's resource (`asa-l402`): the challenge in either generation, the invoice it
 * carries, the credential, and every caveat on every request. Attacks use the holder's own power
 * (attenuation needs no root key) and credentials for other invoices; each attack has its own
 * scenario so each requirement's verdict stands alone, and every one ends by proving the genuine
 * credential still works (a refusal consumed nothing).
 */
import fc from 'fast-check';
import { newMacaroon } from 'macaroon';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { challengesOf } from '../../reference-impl/asa/agents/requester.ts';
import type { LightningClient } from '../../reference-impl/asa/agents/lightning.ts';
import { readCapability } from '../../reference-impl/asa/protocol/events.ts';
import { decodeInvoice, priceToMsat } from '../../reference-impl/asa/protocol/invoice.ts';
import { type Challenge, formatCredential } from '../../reference-impl/asa/protocol/l402.ts';
import { attenuate, caveatsOf, exportV2, identifierOf, macaroonFromBase64, sha256hex } from '../../reference-impl/asa/protocol/macaroons.ts';
import { ASA_CONSTANTS } from '../../reference-impl/asa/protocol/constants.ts';
import { capabilityOf, LIVE, lightning, now, provider, requester, short } from './lab.ts';

/** Seconds a minted expiry may differ from ours: the mint falls between our request and the answer, on the provider's clock. */
const CLOCK_SLACK_S = 60;

const L402 = { endpoints: ['asa-l402', 'asa-lightning'], keys: [{ role: 'buyer1', kind: 'lightning' as const }], ...LIVE };

interface Paid {
  url: string;
  method: string;
  challenge: Challenge;
  preimage: string;
  service: string;
}

/** GET (or the endpoint's method) the resource and expect a challenge; Indeterminate when there is none. */
async function challenge(ctx: RunContext, req: string): Promise<{ url: string; method: string; ch: Challenge; status: number; all: Challenge[] }> {
  const e = ctx.endpoint('asa-l402');
  const method = e.method ?? 'GET';
  ctx.act(`the requester calls ${method} ${e.url} without paying`);
  const res = await ctx.fetch(e.url, { method });
  await res.arrayBuffer().catch(() => undefined);
  const all = challengesOf(res);
  const ch = all.find((c) => c.scheme === 'L402') ?? all[0];
  if (res.status !== 402 || !ch) throw new Indeterminate(req, `the resource answered ${res.status} with no L402 challenge, so there is nothing to pay`);
  return { url: e.url, method, ch, status: res.status, all };
}

async function pay(ctx: RunContext, ln: LightningClient, node: string, ch: Challenge, req: string): Promise<string> {
  ctx.act(`buyer1 pays the invoice (${short(ch.invoice.slice(0, 20))})`);
  try {
    const p = await ln.pay(node, ch.invoice);
    return p.preimage;
  } catch (e) {
    throw new Indeterminate(req, `the invoice could not be paid on the target's network: ${(e as Error).message}`);
  }
}

async function paid(ctx: RunContext, req: string): Promise<Paid & { ln: LightningClient; node: string }> {
  const { ln, node } = await lightning(ctx, 'buyer1', req);
  const c = await challenge(ctx, req);
  const preimage = await pay(ctx, ln, node, c.ch, req);
  let service = 'unknown';
  try {
    service =
      caveatsOf(c.ch.macaroon)
        .find((x) => x.startsWith('services='))
        ?.slice(9)
        .split(',')[0]
        ?.split(':')[0] ?? service;
  } catch {
    // an undecodable macaroon: the service name stays unknown
  }
  return { url: c.url, method: c.method, challenge: c.ch, preimage, service, ln, node };
}

async function call(ctx: RunContext, p: { url: string; method: string }, authorization: string, what: string): Promise<{ status: number; body: string }> {
  ctx.act(`the requester calls with ${what}`);
  const res = await ctx.fetch(p.url, { method: p.method, headers: { authorization } });
  return { status: res.status, body: (await res.text()).slice(0, 200) };
}

const cred = (mac: string, preimage: string) => formatCredential({ macaroons: [mac], preimage });

/** The genuine credential still works after the attack (the refusal consumed nothing). */
async function genuineStillWorks(ctx: RunContext, p: Paid, req: string): Promise<void> {
  const r = await call(ctx, p, cred(p.challenge.macaroon, p.preimage), 'the genuine credential');
  ctx.expectStatus(req, r, '2xx', 'the genuine paid credential is served after the refused attempt');
}

export const challengeScenario = defineScenario({
  kind: 'property',
  id: 'l402-challenge',
  title: 'An unpaid request gets 402 + an L402/LSAT challenge whose macaroon commits to the invoice, a BOLT11 signed by the provider’s node for the advertised price',
  requirements: ['ASA-L402-01', 'ASA-L402-11', 'ASA-LN-01'],
  endpoints: ['asa-l402', 'asa-relay'],
  keys: [{ role: 'buyer1', kind: 'nostr' }],
  ...LIVE,
  arbitrary: () => fc.constant(null),
  async run(ctx) {
    const e = ctx.endpoint('asa-l402');
    ctx.act(`the requester calls ${e.method ?? 'GET'} ${e.url} without paying`);
    const res = await ctx.fetch(e.url, { method: e.method ?? 'GET' });
    const body = await res.text();
    const all = challengesOf(res);
    ctx.expectStatus('ASA-L402-01', { status: res.status, body: body.slice(0, 200) }, 402, 'an unpaid request answers 402 Payment Required');
    ctx.check('ASA-L402-01', all.length > 0, 'WWW-Authenticate carries an L402 (or LSAT) challenge with a macaroon/token and an invoice', {
      expected: 'L402 macaroon="…", invoice="…" (or version="0", token="…")',
      actual: res.headers.get('www-authenticate') ?? '(no WWW-Authenticate)',
    });
    for (const ch of all) {
      let id: ReturnType<typeof identifierOf> = null;
      try {
        id = identifierOf(ch.macaroon);
      } catch {
        id = null;
      }
      ctx.check('ASA-L402-01', id !== null, `the ${ch.scheme} ${ch.param} decodes as a V2 macaroon with an L402 identifier`, { expected: '66-byte identifier', actual: ch.macaroon.slice(0, 60) });
      let inv: ReturnType<typeof decodeInvoice> | null = null;
      let why = '';
      try {
        inv = decodeInvoice(ch.invoice);
      } catch (x) {
        why = (x as Error).message;
      }
      ctx.check('ASA-LN-01', inv !== null, 'the invoice is a BOLT11 whose signature verifies', { expected: 'a signed BOLT11', actual: why || ch.invoice.slice(0, 60) });
      ctx.expectEqual('ASA-L402-01', id!.paymentHash, inv!.paymentHash, 'the macaroon’s identifier commits to the invoice’s payment hash');
      const p = provider(ctx, 'ASA-LN-01');
      ctx.expectEqual('ASA-LN-01', inv!.payee, p.node, 'the invoice is signed by the provider’s declared node');
      ctx.check('ASA-LN-01', inv!.expiresAt > now(), 'the invoice has not expired when issued', { expected: `> ${now()}`, actual: inv!.expiresAt });
      ctx.check('ASA-LN-01', (inv!.description === undefined) !== (inv!.descriptionHash === undefined), 'exactly one of d and h', { actual: inv });
      const r = await requester(ctx, 'buyer1');
      try {
        const cap = await capabilityOf(ctx, r, 'ASA-LN-01');
        const prices = readCapability(cap).prices.flatMap((x) => {
          try {
            return [priceToMsat(x.amount, x.currency)];
          } catch {
            return [];
          }
        });
        ctx.check('ASA-LN-01', inv!.amountMsat !== null && prices.includes(inv!.amountMsat), 'the invoice amount is the 38400’s advertised price', {
          expected: prices.map((x) => `${x} msat`).join(' or '),
          actual: `${inv!.amountMsat} msat`,
        });
      } finally {
        r.close();
      }
    }
    // Last: a violated SHOULD ends the run with a warning.
    ctx.check(
      'ASA-L402-11',
      all.some((c) => c.scheme === 'L402'),
      'one of the challenges names the L402 scheme (LSAT alone is the legacy name)',
      {
        expected: 'WWW-Authenticate: L402 macaroon="…"|token="…", invoice="…" (beside LSAT or alone)',
        actual: all.map((c) => `${c.scheme} ${c.param}=`).join(', '),
      },
    );
  },
});

export const paidScenario = defineScenario({
  kind: 'property',
  id: 'l402-paid',
  title: 'Pay the invoice from buyer1’s node, retry with L402 <macaroon>:<preimage>: served (2xx); the preimage hashes to the payment hash',
  requirements: ['ASA-L402-02'],
  ...L402,
  arbitrary: () => fc.constant(null),
  async run(ctx) {
    const p = await paid(ctx, 'ASA-L402-02');
    ctx.expectEqual('ASA-L402-02', sha256hex(p.preimage), decodeInvoice(p.challenge.invoice).paymentHash, 'the preimage the payment revealed hashes to the payment hash');
    const r = await call(ctx, p, cred(p.challenge.macaroon, p.preimage), 'L402 <macaroon>:<preimage>');
    ctx.expectStatus('ASA-L402-02', r, '2xx', 'a paid credential is served');
  },
});

export const wrongPreimage = defineScenario({
  kind: 'property',
  id: 'l402-wrong-preimage',
  title: 'A credential pairing one token with the preimage of another paid invoice is refused (4xx)',
  requirements: ['ASA-L402-03'],
  ...L402,
  arbitrary: () => fc.constant(null),
  async run(ctx) {
    const a = await paid(ctx, 'ASA-L402-03');
    const b = await challenge(ctx, 'ASA-L402-03');
    const pb = await pay(ctx, a.ln, a.node, b.ch, 'ASA-L402-03');
    const r = await call(ctx, a, cred(a.challenge.macaroon, pb), 'token A with the preimage of invoice B');
    ctx.expectRefused('ASA-L402-03', r, 'a preimage of another invoice is refused');
    await genuineStillWorks(ctx, a, 'ASA-L402-03');
  },
});

export const forged = defineScenario({
  kind: 'property',
  id: 'l402-forged-macaroon',
  title: 'A macaroon with the right identifier but minted with another root key, or with a caveat changed, is refused even with the right preimage',
  requirements: ['ASA-L402-04'],
  ...L402,
  arbitrary: () => fc.constantFrom('root', 'caveat'),
  async run(ctx, how) {
    const p = await paid(ctx, 'ASA-L402-04');
    const m = macaroonFromBase64(p.challenge.macaroon);
    let bad: string;
    if (how === 'root') {
      const f = newMacaroon({ identifier: m.identifier, rootKey: new Uint8Array(32).fill(7), location: m.location, version: 2 });
      for (const c of m.caveats) f.addFirstPartyCaveat(c.identifier);
      bad = Buffer.from(exportV2(f)).toString('base64');
    } else {
      const bytes = Buffer.from(p.challenge.macaroon, 'base64');
      const text = bytes.toString('latin1');
      const i = text.search(/services=|_valid_until=|_max_requests=/);
      if (i < 0) throw new Indeterminate('ASA-L402-04', 'the macaroon has no caveat to change');
      const j = text.indexOf('=', i) + 1;
      bytes[j] = bytes[j] === 0x39 ? 0x38 : 0x39;
      bad = bytes.toString('base64');
    }
    const r = await call(ctx, p, cred(bad, p.preimage), how === 'root' ? 'a macaroon re-minted with another root key' : 'the macaroon with one caveat byte changed');
    ctx.expectRefused('ASA-L402-04', r, 'a forged or tampered macaroon is refused');
    await genuineStillWorks(ctx, p, 'ASA-L402-04');
  },
});

function attenuationScenario(id: string, req: string, title: string, caveat: (p: Paid) => string, what: string, own?: (ctx: RunContext, p: Paid & { challengedAt: number }) => void) {
  return defineScenario({
    kind: 'property',
    id,
    title,
    requirements: [req],
    ...L402,
    arbitrary: () => fc.constant(null),
    async run(ctx) {
      const challengedAt = now();
      const p = await paid(ctx, req);
      own?.(ctx, { ...p, challengedAt });
      const c = caveat(p);
      ctx.act(`the holder attenuates the macaroon with "${c}"`);
      const r = await call(ctx, p, cred(attenuate(p.challenge.macaroon, c), p.preimage), what);
      ctx.expectRefused(req, r, `a macaroon with ${c} is refused`);
      await genuineStillWorks(ctx, p, req);
    },
  });
}

export const expired = attenuationScenario(
  'l402-expired-macaroon',
  'ASA-L402-05',
  'A macaroon whose expiry caveat is past (holder-attenuated) is refused; with a profile that sets the token lifetime, the token is minted valid for exactly that long',
  (p) => `${p.service}_valid_until=${now() - 60}`,
  'an expired macaroon',
  (ctx, p) => {
    const lifetime = ASA_CONSTANTS.pinned(ctx.profile).tokenLifetimeSeconds;
    if (lifetime === undefined) return;
    // The provider's own expiry caveat: mint time (the challenge, seconds ago) + the profile's lifetime.
    const own = caveatsOf(p.challenge.macaroon).find((c) => c.startsWith(`${p.service}_valid_until=`));
    const until = own ? Number(own.split('=')[1]) : Number.NaN;
    const expected = p.challengedAt + lifetime;
    ctx.check('ASA-L402-05', Math.abs(until - expected) <= CLOCK_SLACK_S, `the token carries ${p.service}_valid_until = mint time + ${lifetime} s (the profile's lifetime)`, {
      expected: `${expected} (± ${CLOCK_SLACK_S} s)`,
      actual: own ?? '(no expiry caveat of its own)',
    });
  },
);
export const scope = attenuationScenario(
  'l402-service-scope',
  'ASA-L402-06',
  'A macaroon attenuated to another service is refused',
  () => 'services=some-other-service:0',
  'a macaroon scoped to another service',
);

export const count = defineScenario({
  kind: 'property',
  id: 'l402-request-count',
  title: 'A token limited to one request (by its own caveat or the holder’s) is served once, refused the second time',
  requirements: ['ASA-L402-07'],
  ...L402,
  arbitrary: () => fc.boolean(),
  async run(ctx, attenuateIt) {
    const p = await paid(ctx, 'ASA-L402-07');
    const count = ASA_CONSTANTS.pinned(ctx.profile).tokenMaxRequests;
    if (count !== undefined && !attenuateIt) {
      // A profile sets the count: the token's own caveat says it, and the provider serves exactly that many.
      const caveat = `${p.service}_max_requests=${count}`;
      ctx.check('ASA-L402-07', caveatsOf(p.challenge.macaroon).includes(caveat), `the token carries ${caveat} (the profile's count)`, {
        expected: caveat,
        actual: caveatsOf(p.challenge.macaroon).join(', '),
      });
      for (let i = 1; i <= count; i++) {
        const r = await call(ctx, p, cred(p.challenge.macaroon, p.preimage), `the token, use ${i} of ${count}`);
        ctx.expectStatus('ASA-L402-07', r, '2xx', `use ${i} of ${count} is served`);
      }
      const over = await call(ctx, p, cred(p.challenge.macaroon, p.preimage), `the token, use ${count + 1}`);
      ctx.expectRefused('ASA-L402-07', over, `use ${count + 1} of a ${count}-request token is refused`);
      return;
    }
    const mac = attenuateIt ? attenuate(p.challenge.macaroon, `${p.service}_max_requests=1`) : p.challenge.macaroon;
    const own = caveatsOf(mac).some((c) => c === `${p.service}_max_requests=1`);
    if (!attenuateIt && !own) ctx.act('the token carries no one-request caveat: the holder adds one');
    const use = attenuateIt || own ? mac : attenuate(mac, `${p.service}_max_requests=1`);
    const r1 = await call(ctx, p, cred(use, p.preimage), 'the one-request token, first use');
    ctx.expectStatus('ASA-L402-07', r1, '2xx', 'the first request is served');
    const r2 = await call(ctx, p, cred(use, p.preimage), 'the same token again');
    ctx.expectRefused('ASA-L402-07', r2, 'a token used past its request count is refused');
  },
});

export const unknownCaveat = defineScenario({
  kind: 'property',
  id: 'l402-unknown-caveat',
  title: 'A paid macaroon with an extra unknown caveat is still served (unknown caveats are skipped)',
  requirements: ['ASA-L402-08'],
  ...L402,
  arbitrary: () => fc.constantFrom('x-asa-note=1', 'ipaddr=127.0.0.1', 'dev_capabilities=read'),
  async run(ctx, caveat) {
    const p = await paid(ctx, 'ASA-L402-08');
    const r = await call(ctx, p, cred(attenuate(p.challenge.macaroon, caveat), p.preimage), `a macaroon with the unknown caveat ${caveat}`);
    ctx.expectStatus('ASA-L402-08', r, '2xx', 'an unknown caveat is skipped, not refused');
  },
});

export const lsat = defineScenario({
  kind: 'property',
  id: 'l402-lsat-spelling',
  title: 'Authorization: LSAT <macaroon>:<preimage> is served like L402',
  requirements: ['ASA-L402-09'],
  ...L402,
  arbitrary: () => fc.constant(null),
  async run(ctx) {
    const p = await paid(ctx, 'ASA-L402-09');
    const r = await call(ctx, p, formatCredential({ macaroons: [p.challenge.macaroon], preimage: p.preimage, scheme: 'LSAT' }), 'LSAT <macaroon>:<preimage>');
    ctx.expectStatus('ASA-L402-09', r, '2xx', 'the LSAT spelling is accepted');
  },
});

export const malformed = defineScenario({
  kind: 'property',
  id: 'l402-malformed-authorization',
  title: 'Malformed Authorization values get 401/402, never 5xx, and the paid token still works afterwards',
  requirements: ['ASA-L402-10'],
  ...L402,
  arbitrary: () => fc.array(fc.string({ maxLength: 120 }), { minLength: 1, maxLength: 4 }),
  async run(ctx, junk) {
    const p = await paid(ctx, 'ASA-L402-10');
    const m = p.challenge.macaroon;
    const values = [...junk.map((j) => `L402 ${j}`), `L402 ${m.slice(0, 20)}:${p.preimage}`, `L402 ${m}`, `L402 :${p.preimage}`, `Bearer ${m}`, `L402 ${m}:${p.preimage.slice(2)}`];
    for (const v of values) {
      const safe = v.replace(/[^\x20-\x7e]/g, '');
      const r = await call(ctx, p, safe, `a malformed credential ${JSON.stringify(safe.slice(0, 40))}`);
      ctx.check('ASA-L402-10', r.status >= 400 && r.status < 500 && r.status !== 404, 'a malformed credential gets 401/402 (a 4xx), never 2xx or 5xx', {
        expected: '401 or 402',
        actual: `${r.status} ${r.body}`,
      });
    }
    await genuineStillWorks(ctx, p, 'ASA-L402-10');
  },
});
