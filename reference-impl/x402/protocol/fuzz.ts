/**
 * Malformed x402 input, for the robustness scenario (scenarios/x402/robustness.ts) and for the
 * fuzz tests of servers that take x402 payments (reference-impl/agentripe/server/fuzz.test.ts):
 * payment header values a resource server must refuse (not base64, not JSON, the wrong shape,
 * properly signed near-misses), valid payments to attach only to requests that must be refused,
 * and the requests a third party's resource and facilitator can be sent.
 */
import fc from 'fast-check';
import type { Address, Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { badAddress, badSignature, headerValue, hex32, hexString, malformedJson, notObject, notString } from '../../../harness/robustness/arbitraries.ts';
import type { MalformedRequest } from '../../../harness/robustness/http.ts';
import { asHeader, makeV1Payload, makeV2Payload } from './payload.ts';
import { decodeHeader, type RequirementsV1, type RequirementsV2 } from './wire.ts';

/** A signed payment header that must be refused, and why. */
export interface NearMiss {
  note: string;
  header: string;
  v: 1 | 2;
}

/** What the payment-header generator aims at. */
export interface PaymentFuzzContext {
  /** The exact v2 requirements the server offers (echoed as `accepted`). */
  offered: RequirementsV2;
  /** A syntactically valid address that is nobody's. */
  someAddress: Address;
  /** Pre-signed near-misses ({@link signPaymentNearMisses}). */
  badPayments: NearMiss[];
}

/** x402 payment header values a resource server must refuse (400, 402 or 431; never a settlement). */
export function badPaymentHeader(ctx: PaymentFuzzContext): fc.Arbitrary<{ note: string; value: string; v?: 1 | 2 }> {
  const b64 = (x: unknown) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x), 'utf8').toString('base64');
  const offered = ctx.offered;
  const someSig = hexString(130, 130).map((h) => `0x${h}`);
  const auth = fc.record({
    from: fc.oneof(fc.constant(ctx.someAddress as string), badAddress),
    to: fc.constantFrom(offered.payTo as string, ctx.someAddress as string),
    value: fc.oneof(fc.constantFrom(offered.amount, '0', '-1', '1e6', ''), fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String)),
    validAfter: fc.constantFrom('0', '-1', 'x'),
    validBefore: fc.constantFrom('9999999999', '0', '1'),
    nonce: fc.oneof(hex32, fc.constantFrom('0x', '0x00')),
  });
  const mutatedAccepted = fc.oneof(
    fc.record({ k: fc.constantFrom('scheme', 'network', 'amount', 'asset', 'payTo', 'maxTimeoutSeconds', 'extra'), v: fc.jsonValue({ maxDepth: 1 }) }).map(({ k, v }) => ({ ...offered, [k]: v })),
    fc.constantFrom(
      { ...offered, amount: '1' },
      { ...offered, payTo: ctx.someAddress },
      { ...offered, network: 'eip155:8453' },
      { ...offered, scheme: 'upto' },
      { ...offered, extra: { name: 'USD Coin', version: '2' } },
      (({ payTo: _p, ...r }) => r)(offered),
    ),
  );
  const v2Shape = fc.oneof(
    // Right `accepted`, payload of the wrong shape or with a signature nobody made.
    fc
      .record({ sig: fc.oneof(someSig, badSignature, notString), authorization: fc.oneof(auth, notObject) })
      .map((p) => ({ x402Version: 2, accepted: offered, payload: { signature: p.sig, authorization: p.authorization } })),
    fc.record({ payload: notObject }).map((p) => ({ x402Version: 2, accepted: offered, payload: p.payload })),
    // Wrong `accepted` (no offer matches), payload well-formed.
    fc
      .record({ accepted: fc.oneof(mutatedAccepted, notObject), sig: someSig, authorization: auth })
      .map((p) => ({ x402Version: 2, accepted: p.accepted, payload: { signature: p.sig, authorization: p.authorization } })),
    fc.record({ resource: fc.jsonValue({ maxDepth: 1 }), extensions: fc.jsonValue({ maxDepth: 1 }) }).map((x) => ({ x402Version: 2, accepted: offered, payload: { signature: '0x00' }, ...x })),
  );
  const v1Shape = fc
    .record({
      scheme: fc.oneof(fc.constant('exact'), fc.jsonValue({ maxDepth: 0 })),
      network: fc.oneof(fc.constantFrom('base-sepolia', 'base', 'eip155:84532', ''), fc.jsonValue({ maxDepth: 0 })),
      payload: fc.oneof(fc.record({ signature: someSig, authorization: auth }), notObject),
    })
    .map((p) => ({ x402Version: 1, ...p }));
  const wrongVersion = fc
    .record({
      version: fc.oneof(fc.constantFrom(0, 3, -1, 1.5, '2', '1', null, true, 2 ** 53, [2], { v: 2 }), fc.integer()),
      rest: fc.constantFrom({}, { accepted: offered }, { scheme: 'exact', network: 'base-sepolia' }),
    })
    .filter(({ version }) => version !== 1 && version !== 2)
    .map(({ version, rest }) => ({ x402Version: version, ...rest }));
  const notBase64 = fc
    .oneof(headerValue(120), fc.constantFrom('!!!', '====', 'e30', 'e30==', 'e3 0=', '@@', '%7B%7D', '{"x402Version":2}', 'eyJ4NDAyVmVyc2lvbiI6Mn0-_'))
    .filter((s) => s.trim() !== '');
  return fc.oneof(
    { arbitrary: notBase64.map((value) => ({ note: 'not base64', value })), weight: 3 },
    { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 80 }).map((u) => ({ note: 'base64 of bytes', value: Buffer.from(u).toString('base64') })), weight: 2 },
    { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((j) => ({ note: 'base64 of arbitrary JSON', value: b64(j) })), weight: 2 },
    { arbitrary: wrongVersion.map((j) => ({ note: 'wrong x402Version', value: b64(j) })), weight: 2 },
    { arbitrary: v2Shape.map((j) => ({ note: 'v2 of the wrong shape or signed by nobody', value: b64(j), v: 2 as const })), weight: 4 },
    { arbitrary: v1Shape.map((j) => ({ note: 'v1 of the wrong shape or signed by nobody', value: b64(j), v: 1 as const })), weight: 2 },
    { arbitrary: fc.constantFrom(...ctx.badPayments).map((p) => ({ note: `signed near-miss: ${p.note}`, value: p.header, v: p.v })), weight: 5 },
    {
      // Large but under node's 16 KiB header limit: reaches the app.
      arbitrary: fc.record({ n: fc.integer({ min: 4_000, max: 11_000 }), kind: fc.constantFrom('pad', 'json') }).map(({ n, kind }) => ({
        note: `huge (${kind})`,
        value: kind === 'pad' ? 'A'.repeat(n) : b64({ x402Version: 2, accepted: offered, payload: { signature: `0x${'ab'.repeat(n / 4)}` } }),
      })),
      weight: 1,
    },
    { arbitrary: fc.constantFrom(...ctx.badPayments).map((p) => ({ note: `near-miss with whitespace: ${p.note}`, value: `  ${p.header}\t`, v: p.v })), weight: 1 },
  );
}

/** Inputs of {@link signPaymentNearMisses}. */
export interface PaymentSigningInputs {
  /** A funded payer's key (the near-misses are signed by it, so only their one defect is wrong). */
  buyerKey: Hex;
  /** Another key: signs as the buyer. */
  attackerKey: Hex;
  /** An address that is neither payTo nor the token (a wrong recipient, a wrong verifying contract). */
  someoneElse: Address;
  offered: RequirementsV2;
  chainId: number;
  /** Chain time (s): the payment windows. */
  chainNow: bigint;
  /** How many valid payments to sign (default 3). */
  valid?: number;
}

/**
 * Signs x402 payments that are properly signed but wrong in one way each (they must all be refused),
 * and a few *valid* payments (buyer pays exactly the offer, distinct nonces): those may only be
 * attached to requests the server must refuse, and must then never be settled.
 */
export async function signPaymentNearMisses(i: PaymentSigningInputs): Promise<{ badPayments: NearMiss[]; validPayments: string[] }> {
  // x402 near-misses: each properly signed, each wrong in one way.
  const o = i.offered;
  const opts = { now: i.chainNow, chainId: i.chainId };
  const payments: NearMiss[] = [];
  const v2 = async (note: string, key: Hex, extra: Parameters<typeof makeV2Payload>[2] = opts, tamper?: (p: any) => void) => {
    const p = await makeV2Payload(key, o, extra);
    tamper?.(p);
    payments.push({ note, header: asHeader(p), v: 2 });
  };
  await v2('underpays by 1', i.buyerKey, { ...opts, auth: { value: BigInt(o.amount) - 1n } });
  await v2('pays someone else', i.buyerKey, { ...opts, auth: { to: i.someoneElse } });
  await v2('expired', i.buyerKey, { ...opts, auth: { validAfter: 0n, validBefore: i.chainNow - 10n } });
  await v2('not yet valid', i.buyerKey, { ...opts, auth: { validAfter: i.chainNow + 3_600n, validBefore: i.chainNow + 7_200n } });
  await v2('signed for chain 8453', i.buyerKey, { ...opts, domain: { chainId: 8453 } });
  await v2('signed for the wrong token name', i.buyerKey, { ...opts, domain: { name: 'USD Coin' } });
  await v2('signed for another token contract', i.buyerKey, { ...opts, domain: { verifyingContract: i.someoneElse } });
  await v2('attacker signs as the buyer', i.attackerKey, { ...opts, auth: { from: privateKeyToAccount(i.buyerKey).address } });
  await v2('unfunded payer', generatePrivateKey());
  await v2('value raised after signing', i.buyerKey, opts, (p) => (p.payload.authorization.value = (BigInt(o.amount) * 2n).toString()));
  await v2('nonce changed after signing', i.buyerKey, opts, (p) => (p.payload.authorization.nonce = `0x${'00'.repeat(32)}`));
  await v2('accepted amount lowered', i.buyerKey, { ...opts, accepted: { amount: '1' } });
  await v2('signature truncated', i.buyerKey, opts, (p) => (p.payload.signature = p.payload.signature.slice(0, 100)));
  await v2('x402Version 1 with a v2 body', i.buyerKey, opts, (p) => (p.x402Version = 1));
  const v1req: RequirementsV1 = {
    scheme: 'exact',
    network: 'base-sepolia',
    maxAmountRequired: o.amount,
    asset: o.asset,
    payTo: o.payTo,
    resource: 'http://x/',
    description: '',
    mimeType: 'application/json',
    maxTimeoutSeconds: o.maxTimeoutSeconds,
    extra: o.extra,
  } as RequirementsV1;
  for (const [note, extra] of [
    ['v1 underpays', { ...opts, auth: { value: BigInt(o.amount) - 1n } }],
    ['v1 for network base', { ...opts, network: 'base' }],
    ['v1 expired', { ...opts, auth: { validAfter: 0n, validBefore: i.chainNow - 10n } }],
  ] as const) {
    payments.push({ note, header: asHeader(await makeV1Payload(i.buyerKey, v1req, extra as Parameters<typeof makeV1Payload>[2])), v: 1 });
  }

  // Valid payments (distinct nonces), for the "valid payment, refused body" requests.
  const validPayments: string[] = [];
  for (let k = 0; k < (i.valid ?? 3); k++) validPayments.push(asHeader(await makeV2Payload(i.buyerKey, o, opts)));
  return { badPayments: payments, validPayments };
}

/** The EIP-3009 authorization (payer and nonce) inside a payment header, if it has one. */
export function authorizationOf(header: string): { from: Address; nonce: Hex } | undefined {
  try {
    const p = decodeHeader(header.trim()) as { payload?: { authorization?: { from?: Address; nonce?: Hex } } };
    const a = p?.payload?.authorization;
    return a?.from && a.nonce ? { from: a.from, nonce: a.nonce } : undefined;
  } catch {
    return undefined;
  }
}

// ---- requests a third party's resource and facilitator can be sent --------------------------------

/** What the request generators aim at: the paid resource as the target declares it, and signed payments. */
export interface ResourceFuzzContext extends PaymentFuzzContext {
  /** The paid resource on its origin: path (with query), method, JSON body text, extra headers. */
  resource: { path: string; method: string; body?: string; headers: Record<string, string> };
  /** Valid payments for the offer: only ever attached to requests that must be refused. */
  validPayments: string[];
}

const PAYMENT_HEADERS = ['PAYMENT-SIGNATURE', 'X-PAYMENT', 'payment-signature', 'x-payment'] as const;
const OTHER_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'PURGE'] as const;
const jsonHeaders = { 'content-type': 'application/json' };
/** The path without its query. */
const pathOnly = (p: string) => p.split('?')[0]!;

/** The resource request with a payment header that must be refused (under one name, or both). */
function resourceBadPayment(ctx: ResourceFuzzContext): fc.Arbitrary<MalformedRequest> {
  const r = ctx.resource;
  return fc.record({ which: fc.constantFrom(...PAYMENT_HEADERS, 'both' as const), pay: badPaymentHeader(ctx), other: badPaymentHeader(ctx) }).map(({ which, pay, other }) => {
    const headers: Record<string, string> = { ...r.headers, ...(r.body !== undefined ? jsonHeaders : {}) };
    if (which === 'both') {
      headers['PAYMENT-SIGNATURE'] = pay.value;
      headers['X-PAYMENT'] = other.value;
    } else headers[which] = pay.value;
    return { cls: 'badPayment', note: `${which}: ${pay.note}${which === 'both' ? ` / ${other.note}` : ''}`, method: r.method, path: r.path, headers, body: r.body, expect4xx: true };
  });
}

/**
 * A valid payment attached to a request the server must refuse: another method on the resource's
 * path (not GET/HEAD/OPTIONS) or a path below or beside it that nobody published. It must never be settled.
 */
function validPaymentElsewhere(ctx: ResourceFuzzContext): fc.Arbitrary<MalformedRequest> {
  const r = ctx.resource;
  const p = pathOnly(r.path).replace(/\/+$/, '');
  const methods = (['PUT', 'DELETE', 'PATCH', 'POST'] as const).filter((m) => m !== r.method.toUpperCase());
  return fc
    .record({
      header: fc.constantFrom('PAYMENT-SIGNATURE', 'X-PAYMENT'),
      payment: fc.constantFrom(...ctx.validPayments),
      where: fc.oneof(
        fc.constantFrom(...methods).map((method) => ({ method, path: r.path, note: `${method} on the resource` })),
        hexString(12, 12).map((h) => ({ method: r.method, path: `${p}/amh-robustness-${h}`, note: 'an unpublished path below the resource' })),
        hexString(12, 12).map((h) => ({ method: r.method, path: `${p}-amh-robustness-${h}`, note: 'an unpublished path beside the resource' })),
      ),
    })
    .map(({ header, payment, where }) => ({
      cls: 'validPaymentElsewhere',
      note: `valid payment (${header}) to ${where.note}`,
      method: where.method,
      path: where.path,
      headers: { ...r.headers, ...jsonHeaders, [header]: payment },
      body: where.method === 'GET' ? undefined : (r.body ?? '{}'),
      expect4xx: true,
    }));
}

/** The resource without a payment but with a body that is not JSON, or other methods and mangled paths (answered below 500). */
function resourceUnpaid(ctx: ResourceFuzzContext): fc.Arbitrary<MalformedRequest> {
  const r = ctx.resource;
  const p = pathOnly(r.path);
  return fc.oneof(
    // Unpaid: 402 at least, whatever the body; never the resource.
    malformedJson.map((body) => ({
      cls: 'badJson',
      note: 'unpaid, body not JSON',
      method: r.method === 'GET' ? 'POST' : r.method,
      path: r.path,
      headers: { ...r.headers, ...jsonHeaders },
      body,
      expect4xx: r.method !== 'GET',
    })),
    fc
      .constantFrom(...OTHER_METHODS.filter((m) => m !== r.method.toUpperCase()))
      .map((method) => ({ cls: 'wrongMethod', note: `unpaid ${method}`, method, path: r.path, headers: { ...r.headers }, expect4xx: false })),
    fc
      .oneof(
        fc.constantFrom(`${p}%zz`, `${p}/..%2f..%2f`, `${p}%00`, `${p}/%2e%2e/`, `${p}?${'a=b&'.repeat(200)}`, `${p}//`, `${p};x=1`),
        fc.integer({ min: 2_000, max: 9_000 }).map((n) => `${p}/${'s'.repeat(n)}`),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }).map((s) => `${p}/${encodeURIComponent(s)}`),
      )
      .map((path) => ({ cls: 'badPath', note: 'unpaid, mangled path', method: r.method, path, headers: { ...r.headers }, expect4xx: false })),
  );
}

/** Defects the HTTP layer meets: a payment header past common limits, a raw non-ASCII request-target, an unknown method token. */
function resourceTransport(ctx: ResourceFuzzContext): fc.Arbitrary<MalformedRequest> {
  const p = pathOnly(ctx.resource.path);
  return fc.oneof(
    fc.integer({ min: 16_500, max: 90_000 }).map((n) => ({
      cls: 'transport',
      note: `${n}-byte PAYMENT-SIGNATURE`,
      method: ctx.resource.method,
      path: ctx.resource.path,
      headers: { 'PAYMENT-SIGNATURE': 'A'.repeat(n) },
      expect4xx: true,
      transport: 'header-too-large',
    })),
    fc.string({ unit: fc.integer({ min: 0xa1, max: 0xff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 10 }).map((raw) => ({
      cls: 'transport',
      note: 'raw non-ASCII in the request-target',
      method: 'GET',
      path: `${p}/${raw}`,
      headers: {},
      expect4xx: false,
      transport: 'bad-request-target',
    })),
    fc
      .constantFrom('FOO', 'GETT', 'G-E-T', 'POSTX')
      .map((method) => ({ cls: 'transport', note: `unknown method ${method}`, method, path: ctx.resource.path, headers: {}, expect4xx: true, transport: 'unknown-method' })),
  );
}

/** Any malformed request to the resource described by `ctx`. */
export function malformedResourceRequest(ctx: ResourceFuzzContext): fc.Arbitrary<MalformedRequest> {
  return fc.oneof(
    { arbitrary: resourceBadPayment(ctx), weight: 8 },
    { arbitrary: validPaymentElsewhere(ctx), weight: 2 },
    { arbitrary: resourceUnpaid(ctx), weight: 3 },
    { arbitrary: resourceTransport(ctx), weight: 1 },
  );
}

/**
 * Malformed requests to a facilitator whose routes are below `prefix`: bodies of /verify and /settle
 * that are not JSON or not an object (a 4xx, X402-FAC-04's reading), and well-formed requests
 * carrying payloads that must be refused (a 4xx, or 200 with isValid/success false; nothing may move).
 */
export function malformedFacilitatorRequest(ctx: PaymentFuzzContext, prefix: string): fc.Arbitrary<MalformedRequest> {
  const route = fc.constantFrom('/verify', '/settle');
  const decoded = (v: string) => {
    try {
      return JSON.parse(Buffer.from(v.trim(), 'base64').toString('utf8')) as unknown;
    } catch {
      return v;
    }
  };
  return fc.oneof(
    fc
      .record({ route, body: malformedJson })
      .map(({ route, body }) => ({ cls: 'badJson', note: `${route} body not JSON`, method: 'POST', path: `${prefix}${route}`, headers: jsonHeaders, body, expect4xx: true })),
    fc.record({ route, body: notObject }).map(({ route, body }) => ({
      cls: 'wrongTypes',
      note: `${route} body not an object`,
      method: 'POST',
      path: `${prefix}${route}`,
      headers: jsonHeaders,
      body: JSON.stringify(body),
      expect4xx: true,
    })),
    // A signed near-miss is wrong only against the resource's offer (an `accepted` that differs, a
    // version mismatch): its authorization may be genuine, so it goes to /verify only, never /settle.
    fc
      .record({ route, pay: badPaymentHeader(ctx), reqs: fc.oneof(fc.constant<unknown>(ctx.offered), notObject, notString) })
      .filter(({ route, pay }) => route === '/verify' || !/near-miss/.test(pay.note))
      .map(({ route, pay, reqs }) => ({
        cls: 'badPayment',
        note: `${route} with ${pay.note}`,
        method: 'POST',
        path: `${prefix}${route}`,
        headers: jsonHeaders,
        body: JSON.stringify({ x402Version: pay.v ?? 2, paymentPayload: decoded(pay.value), paymentRequirements: reqs }),
        expect4xx: false,
      })),
  );
}
