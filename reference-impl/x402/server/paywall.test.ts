/**
 * Paywall + facilitator end to end over real HTTP on a real Anvil, paid by the official client
 * (`@x402/fetch` + `@x402/evm`), by the official v1 scheme client, and by hand-made bad payments.
 * Each negative case also runs against a defective facilitator or paywall and must fail there.
 */
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Hono } from 'hono';
import { privateKeyToAccount } from 'viem/accounts';
import type { Address } from 'viem';
import { wrapFetchWithPayment, x402Client, x402HTTPClient } from '@x402/fetch';
import { registerExactEvmScheme } from '@x402/evm/exact/client';
import { ExactEvmSchemeV1 } from '@x402/evm/exact/v1/client';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http';
import { roleAccount, startChain, type RunningChain } from '../../../harness/chain/index.ts';
import { listen } from '../../_shared/http.ts';
import { startFacilitator, type FacilitatorFaults, type RunningFacilitator } from './facilitator.ts';
import { acceptedMatches, buildRequirements, checkPayment, paywall, type PaywallConfig } from './paywall.ts';
import { Reason, decodeHeader, encodeHeader, type RequirementsV1, type RequirementsV2 } from '../protocol/wire.ts';
import { makeV2Payload } from '../protocol/payload.ts';
import { chainTools } from './testkit.ts';

const operator = roleAccount('operator');
const buyer = roleAccount('buyer1');
const vendor = roleAccount('vendor1');
const attacker = roleAccount('attacker');

let chain: RunningChain;
let tools: ReturnType<typeof chainTools>;
let USDC: Address;
const stops: (() => Promise<void>)[] = [];

interface Shop {
  url: string;
  facilitatorUrl: string;
  served: { paid: number; slow: number; wait: number };
}

/** A hono app with paid routes behind our paywall, pointing at the given facilitator. */
async function startShop(facilitatorUrl: string, extra: Partial<PaywallConfig> = {}): Promise<Shop> {
  const served = { paid: 0, slow: 0, wait: 0 };
  const cfg: PaywallConfig = { facilitatorUrl, accepts: { price: '$0.10', payTo: vendor.address, network: 'eip155:84532' }, description: 'premium data', ...extra };
  const app = new Hono();
  app.get('/paid', paywall(cfg), (c) => {
    served.paid++;
    return c.json({ data: 'premium' });
  });
  // Work that takes a moment, so two requests overlap.
  app.get('/wait', paywall(cfg), async (c) => {
    served.wait++;
    await new Promise((r) => setTimeout(r, 300));
    return c.json({ data: 'waited' });
  });
  app.get('/broken', paywall(cfg), (c) => c.json({ error: { code: 'boom', message: 'handler failed' } }, 500));
  // A handler passing on a fetched Response: its headers are immutable.
  app.get('/passed-on', paywall(cfg), () => fetch(`${facilitatorUrl}/supported`));
  // The handler takes "long": chain time passes the authorization's validBefore before settlement.
  app.get('/slow', paywall({ ...cfg, accepts: { price: '$0.10', payTo: vendor.address, network: 'eip155:84532', maxTimeoutSeconds: 60 } }), async (c) => {
    await tools.advance(120);
    served.slow++;
    return c.json({ data: 'slow' });
  });
  const s = await listen(app);
  stops.push(s.stop);
  return { url: s.url, facilitatorUrl, served };
}

let fac: RunningFacilitator;
let shop: Shop;
const brokenFacilitators = new Map<string, RunningFacilitator>();

async function shopWith(defect: { facilitator?: keyof FacilitatorFaults; paywall?: 'trustAccepted' | 'noReplayGuard' }): Promise<Shop> {
  if (defect.paywall) return startShop(fac.url, { faults: { [defect.paywall]: true } });
  const fault = defect.facilitator!;
  let f = brokenFacilitators.get(fault);
  if (!f) {
    f = await startFacilitator({ rpcUrl: chain.rpcUrl, privateKey: operator.privateKey, faults: { [fault]: true } });
    brokenFacilitators.set(fault, f);
    stops.push(f.stop);
  }
  return startShop(f.url);
}

beforeAll(async () => {
  chain = await startChain({ profile: 'base-sepolia' });
  tools = chainTools(chain.rpcUrl);
  USDC = chain.profile.usdc!.address;
  fac = await startFacilitator({ rpcUrl: chain.rpcUrl, privateKey: operator.privateKey });
  stops.push(fac.stop);
  shop = await startShop(fac.url);
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await chain?.stop();
});

async function offered(s: Shop): Promise<{ v2: RequirementsV2; v1: RequirementsV1 }> {
  const res = await fetch(`${s.url}/paid`);
  const header = res.headers.get('PAYMENT-REQUIRED');
  assert.ok(header, '402 must carry PAYMENT-REQUIRED');
  const body = (await res.json()) as { accepts: RequirementsV1[] };
  return { v2: (decodePaymentRequiredHeader(header) as { accepts: RequirementsV2[] }).accepts[0]!, v1: body.accepts[0]! };
}

async function balances() {
  const [b, v] = await Promise.all([tools.balanceOf(USDC, buyer.address), tools.balanceOf(USDC, vendor.address)]);
  return { buyer: b, vendor: v };
}

describe('challenge', () => {
  test('no payment: 402 with the v2 PAYMENT-REQUIRED header and a v1 body, handler not run', async () => {
    const before = shop.served.paid;
    const res = await fetch(`${shop.url}/paid`);
    assert.equal(res.status, 402);
    const pr = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED')!) as any;
    assert.equal(pr.x402Version, 2);
    assert.equal(pr.resource.url, `${shop.url}/paid`);
    assert.deepEqual(pr.accepts, [{ scheme: 'exact', network: 'eip155:84532', amount: '100000', asset: USDC, payTo: vendor.address, maxTimeoutSeconds: 300, extra: { name: 'USDC', version: '2' } }]);
    const body = (await res.json()) as any;
    assert.equal(body.x402Version, 1);
    assert.equal(body.accepts[0].network, 'base-sepolia');
    assert.equal(body.accepts[0].maxAmountRequired, '100000');
    assert.equal(body.accepts[0].resource, `${shop.url}/paid`);
    assert.equal(shop.served.paid, before);
  });
});

describe('happy paths', () => {
  test('official @x402/fetch client pays $0.10; balances move exactly; PAYMENT-RESPONSE carries the tx', async () => {
    const client = new x402Client();
    registerExactEvmScheme(client, { signer: privateKeyToAccount(buyer.privateKey) });
    const pay = wrapFetchWithPayment(fetch, client);
    const b0 = await balances();
    const served0 = shop.served.paid;
    const res = await pay(`${shop.url}/paid`);
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { data: 'premium' });
    const receipt = new x402HTTPClient(client).getPaymentSettleResponse((n) => res.headers.get(n));
    assert.equal(receipt.success, true);
    assert.equal(receipt.network, 'eip155:84532');
    assert.equal(receipt.payer, buyer.address);
    const tx = await tools.client.getTransactionReceipt({ hash: receipt.transaction as `0x${string}` });
    assert.equal(tx.status, 'success');
    const b1 = await balances();
    assert.equal(b1.buyer, b0.buyer - 100_000n);
    assert.equal(b1.vendor, b0.vendor + 100_000n);
    assert.equal(shop.served.paid, served0 + 1);
  });

  test("a handler's Response with immutable headers (passed on from a fetch) is paid and carries PAYMENT-RESPONSE, its body intact", async () => {
    const client = new x402Client();
    registerExactEvmScheme(client, { signer: privateKeyToAccount(buyer.privateKey) });
    const b0 = await balances();
    const res = await wrapFetchWithPayment(fetch, client)(`${shop.url}/passed-on`);
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), await (await fetch(`${shop.facilitatorUrl}/supported`)).json());
    const receipt = new x402HTTPClient(client).getPaymentSettleResponse((n) => res.headers.get(n));
    assert.equal(receipt.success, true);
    assert.equal((await balances()).buyer, b0.buyer - 100_000n);
  });

  test('v1 client flow: body challenge, X-PAYMENT from the official v1 scheme client, X-PAYMENT-RESPONSE', async () => {
    const { v1 } = await offered(shop);
    const payload = await new ExactEvmSchemeV1(privateKeyToAccount(buyer.privateKey)).createPaymentPayload(1, v1 as never);
    const b0 = await balances();
    const res = await fetch(`${shop.url}/paid`, { headers: { 'X-PAYMENT': encodeHeader(payload) } });
    assert.equal(res.status, 200, await res.clone().text());
    const receipt = decodePaymentResponseHeader(res.headers.get('X-PAYMENT-RESPONSE')!);
    assert.equal(receipt.success, true);
    assert.equal(receipt.network, 'base-sepolia');
    assert.equal(res.headers.get('PAYMENT-RESPONSE'), null);
    const b1 = await balances();
    assert.equal(b1.buyer, b0.buyer - 100_000n);
    assert.equal(b1.vendor, b0.vendor + 100_000n);
  });

  test('a handler answering >= 400 is not charged, and the authorization stays usable', async () => {
    const { v2 } = await offered(shop);
    const header = encodeHeader(await makeV2Payload(buyer.privateKey, v2, { now: await tools.now(), chainId: chain.chainId }));
    const b0 = await balances();
    const broken = await fetch(`${shop.url}/broken`, { headers: { 'PAYMENT-SIGNATURE': header } });
    assert.equal(broken.status, 500);
    assert.equal(broken.headers.get('PAYMENT-RESPONSE'), null);
    assert.deepEqual(await balances(), b0);
    const ok = await fetch(`${shop.url}/paid`, { headers: { 'PAYMENT-SIGNATURE': header } });
    assert.equal(ok.status, 200);
    assert.equal((await balances()).buyer, b0.buyer - 100_000n);
  });
});

/** A bad payment the paywall must refuse with 402 and exactly `error`, without running the handler or moving money. */
interface BadPayment {
  name: string;
  error: string;
  defect: { facilitator?: keyof FacilitatorFaults; paywall?: 'trustAccepted' };
  /** Returns the request headers; may use the shop (e.g. to pay once first). */
  headers(s: Shop): Promise<Record<string, string>>;
}

async function v2Header(s: Shop, opts: Omit<Parameters<typeof makeV2Payload>[2], 'now' | 'chainId'> = {}, key = buyer.privateKey) {
  const { v2 } = await offered(s);
  return { 'PAYMENT-SIGNATURE': encodeHeader(await makeV2Payload(key, v2, { now: await tools.now(), chainId: chain.chainId, ...opts })) };
}

const badPayments: BadPayment[] = [
  { name: 'underpayment', error: Reason.valueMismatchV2, defect: { facilitator: 'skipAmountCheck' }, headers: (s) => v2Header(s, { auth: { value: 99_999n } }) },
  { name: 'wrong payTo', error: Reason.recipientMismatch, defect: { facilitator: 'skipRecipientCheck' }, headers: (s) => v2Header(s, { auth: { to: attacker.address } }) },
  {
    name: 'wrong asset (signed for another token)',
    error: Reason.signature,
    defect: { facilitator: 'skipSignatureCheck' },
    headers: (s) => v2Header(s, { domain: { verifyingContract: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913' } }),
  },
  {
    name: 'wrong network (accepted and signature for eip155:8453)',
    error: 'No matching payment requirements',
    defect: { paywall: 'trustAccepted' },
    headers: (s) => v2Header(s, { accepted: { network: 'eip155:8453' }, domain: { chainId: 8453 } }),
  },
  {
    name: 'tampered accepted (amount lowered to 1 unit, signed for 1 unit)',
    error: 'No matching payment requirements',
    defect: { paywall: 'trustAccepted' },
    headers: (s) => v2Header(s, { accepted: { amount: '1' }, auth: { value: 1n } }),
  },
  {
    name: 'replayed authorization',
    error: Reason.nonceUsed,
    defect: { facilitator: 'skipNonceCheck' },
    headers: async (s) => {
      const h = await v2Header(s);
      const first = await fetch(`${s.url}/paid`, { headers: h });
      assert.equal(first.status, 200, 'setup: first use must pay');
      return h;
    },
  },
];

async function expectRefused(s: Shop, c: BadPayment): Promise<void> {
  const headers = await c.headers(s);
  const b0 = await balances();
  const served0 = s.served.paid;
  const res = await fetch(`${s.url}/paid`, { headers });
  const body = (await res.json()) as any;
  assert.equal(res.status, 402, `${c.name}: ${JSON.stringify(body)}`);
  assert.equal((decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED')!) as any).error, c.error);
  assert.equal(body.error, c.error);
  assert.equal(s.served.paid, served0, 'handler must not run');
  assert.deepEqual(await balances(), b0, 'no money moves');
}

describe('bad payments get 402 with the exact reason; each check catches its defect', () => {
  for (const c of badPayments) {
    test(c.name, async () => {
      await expectRefused(shop, c);
      const broken = await shopWith(c.defect);
      await assert.rejects(expectRefused(broken, c), assert.AssertionError);
    });
  }
});

describe('one authorization used by two concurrent requests', () => {
  const race = async (s: Shop) => {
    const headers = await v2Header(s);
    const b0 = await balances();
    const served0 = s.served.wait;
    const res = await Promise.all([fetch(`${s.url}/wait`, { headers }), fetch(`${s.url}/wait`, { headers })]);
    const statuses = res.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 402]);
    const refused = res.find((r) => r.status === 402)!;
    assert.equal(((await refused.json()) as any).error, 'duplicate_settlement');
    assert.equal(s.served.wait, served0 + 1, 'the work is done once');
    assert.equal((await balances()).buyer, b0.buyer - 100_000n, 'paid once');
  };
  test('one is served and paid, the other refused before the handler runs', async () => {
    await race(shop);
    await assert.rejects(race(await shopWith({ paywall: 'noReplayGuard' })), assert.AssertionError);
  });
});

describe('unreadable payments never give 500', () => {
  test('malformed PAYMENT-SIGNATURE / X-PAYMENT: 400 with a clear error and the challenge attached', async () => {
    const cases: [Record<string, string>, string, RegExp][] = [
      [{ 'PAYMENT-SIGNATURE': 'not base64!!' }, 'malformed_payment_header', /base64/],
      [{ 'PAYMENT-SIGNATURE': Buffer.from('{').toString('base64') }, 'malformed_payment_header', /JSON/],
      [{ 'PAYMENT-SIGNATURE': encodeHeader({ x402Version: 2, payload: {} }) }, 'malformed_payment_header', /accepted/],
      [{ 'X-PAYMENT': encodeHeader({ x402Version: 1, scheme: 'exact' }) }, 'malformed_payment_header', /network/],
      [{ 'PAYMENT-SIGNATURE': encodeHeader({ x402Version: 7 }) }, 'unsupported_x402_version', /7/],
      [{ 'PAYMENT-SIGNATURE': encodeHeader([1, 2]) }, 'unsupported_x402_version', /undefined/],
    ];
    for (const [headers, code, msg] of cases) {
      const res = await fetch(`${shop.url}/paid`, { headers });
      const body = (await res.json()) as any;
      assert.equal(res.status, 400, JSON.stringify({ headers, body }));
      assert.equal(body.error.code, code);
      assert.match(body.error.message, msg);
      assert.ok(res.headers.get('PAYMENT-REQUIRED'), 'the challenge is attached so the client can retry');
    }
  });
  test('property: any header value, or any JSON in it, gets 400, 402 or 431 (150 runs), never 500', async () => {
    const value = fc.oneof(
      fc.string({ unit: 'binary-ascii' }).map((x) => x.replace(/[\r\n\0]/g, '')),
      fc.json().map((j) => encodeHeader(JSON.parse(j))),
      fc
        .record(
          { x402Version: fc.constantFrom(1, 2), scheme: fc.string(), network: fc.constantFrom('base-sepolia', 'eip155:84532'), accepted: fc.anything(), payload: fc.anything() },
          { requiredKeys: ['x402Version'] },
        )
        .map(encodeHeader),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('PAYMENT-SIGNATURE', 'X-PAYMENT'), value, async (name, v) => {
        const d = await checkPayment(
          { method: 'GET', url: `${shop.url}/paid`, headers: { [name]: v } },
          { facilitatorUrl: fac.url, accepts: { price: '$0.10', payTo: vendor.address, network: 'eip155:84532' } },
        );
        assert.equal(d.kind, 'respond');
        assert.ok(d.kind === 'respond' && [400, 402, 431].includes(d.response.status), JSON.stringify(d));
      }),
      { numRuns: 150, seed: 4021 },
    );
  });
  test('a 1 MB payment header: 431 over HTTP and from checkPayment itself; the server survives', async () => {
    const huge = 'A'.repeat(1 << 20);
    const res = await fetch(`${shop.url}/paid`, { headers: { 'PAYMENT-SIGNATURE': huge } });
    assert.equal(res.status, 431);
    const direct = await checkPayment(
      { method: 'GET', url: 'http://x/paid', headers: { 'payment-signature': huge } },
      { facilitatorUrl: fac.url, accepts: { price: '$0.10', payTo: vendor.address, network: 'eip155:84532' } },
    );
    assert.equal(direct.kind, 'respond');
    assert.equal(direct.kind === 'respond' && direct.response.status, 431);
    assert.equal((await fetch(`${shop.url}/paid`)).status, 402);
  });
  test('facilitator unreachable: 502, not 500', async () => {
    const closed = await listen(new Hono());
    await closed.stop();
    const s = await startShop(closed.url);
    const res = await fetch(`${s.url}/paid`, await v2Header(s).then((headers) => ({ headers })));
    assert.equal(res.status, 502);
    assert.equal(((await res.json()) as any).error.code, 'facilitator_error');
  });
});

// Moves chain time forward (the official client signs with the host clock), so it runs last.
describe('settlement after the authorization expired by chain time', () => {
  const expired = async (s: Shop) => {
    const { v2 } = await (async () => {
      const res = await fetch(`${s.url}/slow`);
      return { v2: (decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED')!) as { accepts: RequirementsV2[] }).accepts[0]! };
    })();
    const payment = await makeV2Payload(buyer.privateKey, v2, { now: await tools.now(), chainId: chain.chainId });
    const b0 = await balances();
    const res = await fetch(`${s.url}/slow`, { headers: { 'PAYMENT-SIGNATURE': encodeHeader(payment) } });
    assert.equal(res.status, 402);
    const settlement = decodePaymentResponseHeader(res.headers.get('PAYMENT-RESPONSE')!);
    assert.deepEqual([settlement.success, settlement.errorReason, settlement.transaction], [false, Reason.validBefore, '']);
    assert.equal(((await res.json()) as any).error, Reason.validBefore);
    assert.deepEqual(await balances(), b0);
    // The facilitator itself, asked again, judges by the chain clock.
    const v = await fetch(`${s.facilitatorUrl}/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ x402Version: 2, paymentPayload: payment, paymentRequirements: v2 }),
    });
    assert.equal(((await v.json()) as any).invalidReason, Reason.validBefore);
  };
  test('handler outlives validBefore: 402 with PAYMENT-RESPONSE valid_before, nothing charged', async () => {
    await expired(shop);
    assert.ok(shop.served.slow >= 1);
    await assert.rejects(expired(await shopWith({ facilitator: 'hostClock' })), assert.AssertionError);
  });
});

test('decodeHeader refuses what it cannot read', () => {
  assert.throws(() => decodeHeader(''), /empty/);
  assert.throws(() => decodeHeader('%%%'), /base64/);
  assert.deepEqual(decodeHeader(encodeHeader({ a: 1 })), { a: 1 });
});

test('a misconfigured paywall fails at start-up with a clear error', () => {
  assert.throws(() => paywall({ facilitatorUrl: 'http://127.0.0.1:1', accepts: { price: '$0.1234567', payTo: vendor.address, network: 'eip155:84532' } }), /more than 6 decimals/);
  assert.throws(() => paywall({ facilitatorUrl: 'http://127.0.0.1:1', accepts: { price: '$1', payTo: vendor.address, network: 'base-sepolia' } }), /CAIP-2/);
  assert.throws(() => paywall({ facilitatorUrl: 'http://127.0.0.1:1', accepts: { price: '$1', payTo: vendor.address, network: 'eip155:1' } }), /no canonical USDC/);
});

describe('acceptedMatches (pure)', () => {
  const offer = buildRequirements([{ price: '$0.10', payTo: '0xa322A9F17c9CE94f391bEBf76694AFB924237C8e', network: 'eip155:84532' }])[0]!;
  test('the offer itself, a JSON round-trip of it, and extra fields inside extra match', () => {
    assert.ok(acceptedMatches(offer, offer));
    assert.ok(acceptedMatches(offer, JSON.parse(JSON.stringify(offer))));
    assert.ok(acceptedMatches(offer, { ...offer, extra: { ...offer.extra, assetTransferMethod: 'eip3009' } }));
  });
  test('property: changing, dropping or adding any top-level field, or changing an offered extra entry, breaks the match', () => {
    const keys = Object.keys(offer) as (keyof typeof offer)[];
    const change = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom(...keys), value: fc.oneof(fc.string(), fc.integer(), fc.constant(null)) }),
      fc.record({ kind: fc.constant('drop' as const), key: fc.constantFrom(...keys) }),
      fc.record({ kind: fc.constant('add' as const), key: fc.string({ minLength: 1 }).filter((k) => !(k in offer) && k !== '__proto__'), value: fc.string() }),
      fc.record({ kind: fc.constant('extra' as const), key: fc.constantFrom('name', 'version'), value: fc.string() }),
    );
    fc.assert(
      fc.property(change, (c) => {
        const a: any = JSON.parse(JSON.stringify(offer));
        if (c.kind === 'set') {
          if (JSON.stringify(a[c.key]) === JSON.stringify(c.value)) return true;
          a[c.key] = c.value;
        } else if (c.kind === 'drop') delete a[c.key];
        else if (c.kind === 'add') a[c.key] = c.value;
        else {
          if (a.extra[c.key] === c.value) return true;
          a.extra[c.key] = c.value;
        }
        return !acceptedMatches(offer, a);
      }),
      { numRuns: 300, seed: 402 },
    );
  });
});
