/**
 * `x402` scenarios against any x402 resource server (endpoint `x402-resource`, requested with the
 * target's method, body and headers) that takes `exact` payments in a USDC the target declares. The
 * requirement offered in the 402 challenge decides the chain, token, amount and payTo; payments are
 * signed with windows relative to chain time, in every version the resource offers.
 *
 * Scenario rules (harness/README.md): every attack kind is tried in every run, in a generated order;
 * after every refusal the balances and the authorization's nonce are checked unchanged; every
 * reported settlement is checked on chain; race losers are judged by their answers.
 */
import fc from 'fast-check';
import { toHex, type Address, type Hex } from 'viem';
import { privateKeyToAddress } from 'viem/accounts';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { caip2, decodeHeader, encodeHeader, v1NetworkName } from '../../reference-impl/x402/protocol/wire.ts';
import { pickV1, pickV2, requestChallenge, settlementOf, shapeOf } from './client.ts';
import { facilitatorScenarios } from './facilitator-scenarios.ts';
import { faultScenarios } from './fault-scenarios.ts';
import { reorgScenarios } from './reorg.ts';
import { restartScenarios } from './restart.ts';
import { robustness } from './robustness.ts';
import { smartWalletPayer } from './smart-wallet.ts';
import {
  BASE,
  BUYERS,
  expectRefusedPayment,
  expectNothingMoved,
  expectPaid,
  expectSettledOnChain,
  expectUnchanged,
  exposes,
  fund,
  holdings,
  networkOf,
  nonceUsed,
  offer,
  PAGE_ORIGIN,
  send,
  shown,
  shuffled,
  sign,
  versions,
  type Breakage,
  type Offer,
  type Signed,
} from './lab.ts';

const is2xx = (status: number) => status >= 200 && status < 300;

export const challengeScenario = defineScenario({
  kind: 'property',
  id: 'challenge',
  title: 'No payment → 402 with exact/USDC requirements for the target chain',
  requirements: ['X402-CH-01'],
  ...BASE,
  arbitrary: () => fc.constant(null),
  async run(ctx) {
    const e = ctx.endpoint('x402-resource');
    ctx.act(`a client requests the resource without paying (${e.method ?? 'GET'} ${e.url})`);
    const c = await requestChallenge(ctx.fetch, e.url, shapeOf(e));
    ctx.check('X402-CH-01', c.status === 402, 'the answer is 402', { expected: 402, actual: c.status });
    const found = ctx.target.chains.flatMap((ch) => {
      const r = ch.usdc ? (pickV2(c, ch.chainId, ch.usdc.address as Address) ?? pickV1(c, ch.chainId, ch.usdc.address as Address)) : undefined;
      return r && ch.usdc ? [{ ch, r }] : [];
    });
    ctx.check('X402-CH-01', found.length > 0, 'an exact requirement in a target USDC on a target chain is offered', {
      expected: ctx.target.chains.map((ch) => `exact / eip155:${ch.chainId} (${v1NetworkName(ch.chainId) ?? '-'}) / ${ch.usdc?.address}`).join(' or '),
      actual: c.v2 ? JSON.stringify(c.v2.accepts) : c.v1 ? JSON.stringify(c.v1.accepts) : `no challenge${c.v2Error ? ` (${c.v2Error})` : ''}`,
    });
    if (c.v2) {
      const url = (c.v2.resource as { url?: unknown } | undefined)?.url;
      ctx.check('X402-CH-01', c.v2.x402Version === 2 && typeof url === 'string' && url.length > 0, 'PAYMENT-REQUIRED carries x402Version 2 and resource.url', {
        expected: 'x402Version 2, resource {url}',
        actual: `x402Version ${c.v2.x402Version}, resource ${JSON.stringify(c.v2.resource)}`,
      });
    }
    const { ch, r } = found[0]!;
    const amount = 'amount' in r ? r.amount : r.maxAmountRequired;
    ctx.check('X402-CH-01', /^\d+$/.test(amount) && BigInt(amount) > 0n && /^0x[0-9a-fA-F]{40}$/.test(r.payTo) && r.maxTimeoutSeconds > 0, 'amount > 0, payTo an address, maxTimeoutSeconds > 0', {
      expected: 'valid fields',
      actual: JSON.stringify(r),
    });
    const extra = (r.extra ?? {}) as { name?: string; version?: string };
    ctx.check('X402-CH-01', extra.name === ch.usdc!.name && extra.version === ch.usdc!.version, "extra.name/version are the token's EIP-712 domain", {
      expected: `${ch.usdc!.name}/${ch.usdc!.version}`,
      actual: `${extra.name}/${extra.version}`,
    });
  },
});

export const challengeCors = defineScenario({
  kind: 'property',
  id: 'challenge-cors',
  title: 'A browser can read PAYMENT-REQUIRED on the 402 and PAYMENT-RESPONSE on the paid answer (Access-Control-Expose-Headers)',
  requirements: ['X402-CH-02'],
  ...BASE,
  arbitrary: () => fc.record({ origin: fc.constantFrom(PAGE_ORIGIN, 'http://localhost:3000'), buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, { origin, buyer }) {
    const e = ctx.endpoint('x402-resource');
    const shape = shapeOf(e);
    ctx.act(`a page at ${origin} requests the resource without paying`);
    const c = await requestChallenge(ctx.fetch, e.url, { ...shape, headers: { ...shape.headers, Origin: origin } });
    if (c.status !== 402 || !c.v2)
      throw new Indeterminate('X402-CH-02', c.status === 402 ? 'the 402 carries no v2 PAYMENT-REQUIRED header (a v1 challenge is read from the body)' : `no 402 challenge (status ${c.status})`);
    ctx.check('X402-CH-02', exposes(c.headers, 'PAYMENT-REQUIRED'), 'Access-Control-Expose-Headers lists PAYMENT-REQUIRED', {
      expected: 'PAYMENT-REQUIRED (or *)',
      actual: c.headers.get('access-control-expose-headers') ?? '(no Access-Control-Expose-Headers)',
    });
    // The page pays (v2): the settlement it paid for must be readable too.
    const o = await offer(ctx);
    const p = await sign(ctx, o, buyer, 2);
    ctx.act(`the page at ${origin} pays as ${buyer} (v2, PAYMENT-SIGNATURE)`);
    const r = await send(ctx, o, p.header, { version: 2, headers: { Origin: origin } });
    if (!r.res.headers.has('payment-response')) return;
    ctx.check('X402-CH-02', exposes(r.res.headers, 'PAYMENT-RESPONSE'), 'the paid answer’s Access-Control-Expose-Headers lists PAYMENT-RESPONSE', {
      expected: 'PAYMENT-RESPONSE (or *)',
      actual: r.res.headers.get('access-control-expose-headers') ?? '(no Access-Control-Expose-Headers)',
    });
  },
});

export const payExact = defineScenario({
  kind: 'property',
  id: 'pay-exact',
  title: 'An exact payment (each offered version) is served and settled on chain for exactly the amount, also two from two payers at once',
  requirements: ['X402-PAY-01', 'X402-HDR-01'],
  ...BASE,
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), sch: fc.scheduler() }),
  async run(ctx, { buyer, sch }) {
    const o = await offer(ctx);
    const payer = o.s.address(buyer);
    // Header names of served payments, judged at the end: a SHOULD that throws early would skip the MUST checks after it.
    const names: { v: 1 | 2; has: string[] }[] = [];
    const named = (v: 1 | 2, res: Response) => names.push({ v, has: ['PAYMENT-RESPONSE', 'X-PAYMENT-RESPONSE'].filter((h) => res.headers.has(h)) });
    for (const v of versions(o)) {
      const amount = BigInt(v === 2 ? o.req.amount : o.v1!.maxAmountRequired);
      const snap = await holdings(ctx, o, payer);
      ctx.act(`${buyer} pays ${amount} base units to ${o.req.payTo} (v${v}, ${v === 2 ? 'PAYMENT-SIGNATURE' : 'X-PAYMENT'})`);
      const p = await sign(ctx, o, buyer, v);
      const r = await send(ctx, o, p.header, { version: v });
      ctx.check('X402-PAY-01', is2xx(r.res.status), `a v${v} exact payment is served (2xx)`, { expected: '2xx', actual: shown(r) });
      await expectSettledOnChain(ctx, 'X402-PAY-01', o, settlementOf(r.res), { payer, amount, nonce: p.auth.nonce as Hex, network: networkOf(o, v), version: v });
      await expectPaid(ctx, 'X402-PAY-01', o, snap, amount, `v${v} payment`);
      named(v, r.res);
    }
    // Two honest payments of two payers at the same time: each is a payment of its own, so each is served and settled.
    const v = versions(o)[0]!;
    const amount = BigInt(v === 2 ? o.req.amount : o.v1!.maxAmountRequired);
    const ps = await Promise.all(BUYERS.map((b) => sign(ctx, o, b, v)));
    ctx.act(`${BUYERS.join(' and ')} each pay ${amount} (v${v}) at the same time`);
    const go = (i: number) => sch.schedule(Promise.resolve(i), `${BUYERS[i]} sends`).then(() => send(ctx, o, ps[i]!.header, { version: v }));
    const results = await sch.waitFor(Promise.all(BUYERS.map((_, i) => go(i))));
    for (const [i, r] of results.entries()) {
      ctx.check('X402-PAY-01', is2xx(r.res.status), `${BUYERS[i]}'s payment, sent alongside another payer's, is served (2xx)`, { expected: '2xx', actual: shown(r) });
      await expectSettledOnChain(ctx, 'X402-PAY-01', o, settlementOf(r.res), { payer: o.s.address(BUYERS[i]!), amount, nonce: ps[i]!.auth.nonce as Hex, network: networkOf(o, v), version: v });
      named(v, r.res);
    }
    for (const { v, has } of names) {
      const want = v === 2 ? 'PAYMENT-RESPONSE' : 'X-PAYMENT-RESPONSE';
      ctx.check('X402-HDR-01', has.includes(want), `a served v${v} payment's settlement is in ${want}`, { expected: want, actual: has.join(', ') || 'no settlement header' });
    }
  },
});

/** One way to send a wrong payment: how it is signed and by whom, and what a refusal must leave. */
interface Attack {
  name: string;
  version: 1 | 2;
  /** Role that signs, or a raw key; default the run's buyer. */
  signer?: string | { key: Hex };
  breakage?: Breakage;
  /** Changes made to the signed payload before it is sent. */
  mangle?: (payload: Record<string, unknown>) => void;
}

/** Sign an attack's payment (and mangle it). */
async function signAttack(ctx: RunContext, o: Offer, buyer: string, a: Attack, now: bigint): Promise<Signed> {
  const p = await sign(ctx, o, a.signer ?? buyer, a.version, a.breakage, now);
  if (!a.mangle) return p;
  a.mangle(p.payload);
  return { ...p, header: encodeHeader(p.payload), auth: (p.payload.payload as { authorization: Signed['auth'] }).authorization };
}

/** Another contract on the chain stands in for "another token": its address is what matters. */
function otherToken(ctx: RunContext, o: Offer): Address {
  const contracts = Object.values(ctx.target.chains.find((c) => c.chainId === o.s.chainId)?.contracts ?? {});
  return (contracts.find((a) => a.toLowerCase() !== o.token.toLowerCase()) ?? '0x000000000000000000000000000000000000dEaD') as Address;
}

const otherChain = (chainId: number) => (chainId === 8453 ? 84532 : 8453);

/**
 * A scenario that sends every attack of its kind list (each offered version) in every run, in a
 * generated order, and checks each is refused with a 4xx, claims no settlement, and changes
 * nothing: balances and the signed authorization's nonce (scenario rules 4, 5, 9).
 */
function refusalScenario<V>(s: {
  id: string;
  title: string;
  requirement: string;
  extra?: fc.Arbitrary<V>;
  capabilities?: ('clock-control' | 'snapshot')[];
  v2only?: boolean;
  attacks(ctx: RunContext, o: Offer, now: bigint, extra: V, buyer: string): Attack[];
}) {
  return defineScenario({
    kind: 'property',
    id: s.id,
    title: s.title,
    requirements: [s.requirement, 'X402-PAY-02'],
    ...BASE,
    ...(s.capabilities ? { capabilities: s.capabilities } : {}),
    arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), order: fc.nat(), extra: (s.extra ?? fc.constant(undefined)) as fc.Arbitrary<V> }),
    async run(ctx, v) {
      const o = await offer(ctx);
      if (s.v2only && !o.v2) throw new Indeterminate(s.requirement, 'the resource offers no v2 requirement');
      const now = await o.s.pendingTime();
      const attacks = shuffled(
        s.attacks(ctx, o, now, v.extra, v.buyer).filter((a) => versions(o).includes(a.version)),
        v.order,
      );
      const signed: Signed[] = [];
      for (const a of attacks) signed.push(await signAttack(ctx, o, v.buyer, a, now));
      const snap = await holdings(ctx, o, ...signed.map((p) => p.auth.from as Address));
      for (const [i, a] of attacks.entries()) {
        const p = signed[i]!;
        ctx.act(`${typeof a.signer === 'string' ? a.signer : a.signer ? 'a fresh key' : v.buyer} sends a v${a.version} payment: ${a.name}`);
        const r = await send(ctx, o, p.header, { version: a.version });
        expectRefusedPayment(ctx, s.requirement, r, `v${a.version} ${a.name}`);
        await expectUnchanged(ctx, s.requirement, o, snap, p.auth, `v${a.version} ${a.name}`);
      }
    },
  });
}

export const amountsV2 = refusalScenario({
  id: 'amount-v2-exact',
  title: 'v2: one unit less, one unit more, or far more than the amount is refused',
  requirement: 'X402-AMT-01',
  v2only: true,
  extra: fc.bigInt({ min: 2n, max: 10n ** 9n }),
  attacks: (_ctx, o, _now, big) => {
    const amount = BigInt(o.req.amount);
    return ([-1n, 1n, big] as bigint[])
      .filter((d) => amount + d > 0n)
      .map((d) => ({ name: `signs ${amount + d} where the amount is ${amount}`, version: 2 as const, breakage: { auth: { value: amount + d } } }));
  },
});

export const wrongPayTo = refusalScenario({
  id: 'wrong-payto',
  title: 'A payment to another payTo is refused and moves nothing',
  requirement: 'X402-NEG-01',
  attacks: (_ctx, o) => {
    const attacker = o.s.address('attacker');
    return [
      { name: 'authorization.to is another address (accepted unchanged)', version: 2, breakage: { auth: { to: attacker } } },
      { name: 'accepted.payTo and authorization.to are another address', version: 2, breakage: { auth: { to: attacker }, accepted: { payTo: attacker } } },
      { name: 'authorization.to is another address', version: 1, breakage: { auth: { to: attacker } } },
    ];
  },
});

export const wrongAsset = refusalScenario({
  id: 'wrong-asset',
  title: 'A payment naming or signed for another token is refused',
  requirement: 'X402-NEG-02',
  attacks: (ctx, o) => {
    const other = otherToken(ctx, o);
    return [
      { name: 'accepted.asset and the signing domain are another token', version: 2, breakage: { accepted: { asset: other }, domain: { verifyingContract: other } } },
      { name: 'signed for another token (accepted unchanged)', version: 2, breakage: { domain: { verifyingContract: other } } },
      { name: 'signed for another token', version: 1, breakage: { domain: { verifyingContract: other } } },
    ];
  },
});

export const wrongNetwork = refusalScenario({
  id: 'wrong-network',
  title: 'A payment for another network (accepted, v1 network name or signing chainId) is refused',
  requirement: 'X402-NEG-03',
  attacks: (_ctx, o) => {
    const other = otherChain(o.s.chainId);
    return [
      { name: `accepted.network and the signing chainId are ${caip2(other)}`, version: 2, breakage: { accepted: { network: caip2(other) }, domain: { chainId: other } } },
      { name: `signed for chainId ${other} (accepted unchanged)`, version: 2, breakage: { domain: { chainId: other } } },
      { name: `network "${v1NetworkName(other)}" and signed for chainId ${other}`, version: 1, breakage: { v1Network: v1NetworkName(other), domain: { chainId: other } } },
    ];
  },
});

export const tamperedAccepted = refusalScenario({
  id: 'tampered-accepted',
  title: 'A v2 payment whose `accepted` differs from the offer is refused',
  requirement: 'X402-NEG-05',
  v2only: true,
  attacks: (_ctx, o) => [
    { name: 'accepted.amount lowered to 1 and signed for 1', version: 2, breakage: { accepted: { amount: '1' }, auth: { value: 1n } } },
    { name: 'accepted.payTo changed (authorization.to unchanged)', version: 2, breakage: { accepted: { payTo: o.s.address('attacker') } } },
    { name: 'accepted.maxTimeoutSeconds raised by an hour', version: 2, breakage: { accepted: { maxTimeoutSeconds: o.req.maxTimeoutSeconds + 3600 } } },
    { name: 'accepted.extra.version changed', version: 2, breakage: { accepted: { extra: { ...o.req.extra, version: `${String(o.req.extra?.version ?? '')}9` } } } },
    {
      name: 'accepted.maxTimeoutSeconds removed',
      version: 2,
      mangle: (p: Record<string, unknown>) => {
        delete (p.accepted as { maxTimeoutSeconds?: unknown }).maxTimeoutSeconds;
      },
    },
    ...(o.req.extra
      ? [
          {
            name: 'accepted.extra removed',
            version: 2 as const,
            mangle: (p: Record<string, unknown>) => {
              delete (p.accepted as { extra?: unknown }).extra;
            },
          },
          {
            // JSON's null where the offer has an object: a server that reads its entries crashes (5xx).
            name: 'accepted.extra is null',
            version: 2 as const,
            mangle: (p: Record<string, unknown>) => {
              (p.accepted as { extra?: unknown }).extra = null;
            },
          },
        ]
      : []),
  ],
});

export const expired = refusalScenario({
  id: 'expired-authorization',
  title: 'An authorization whose validBefore has passed (chain time) is refused',
  requirement: 'X402-NEG-08',
  extra: fc.integer({ min: 0, max: 86_400 }),
  attacks: (_ctx, _o, now, ago) =>
    ([2, 1] as const).map((version) => ({
      name: `validBefore ${ago + 1}s ago by chain time`,
      version,
      breakage: { auth: { validAfter: now - 7200n - BigInt(ago), validBefore: now - 1n - BigInt(ago) } },
    })),
});

export const notYetValid = refusalScenario({
  id: 'not-yet-valid',
  title: 'An authorization whose validAfter lies in the future (chain time) is refused',
  requirement: 'X402-NEG-09',
  // At least a minute ahead: the request must not outlive the gap and become valid on the way.
  extra: fc.integer({ min: 60, max: 86_400 }),
  attacks: (_ctx, _o, now, ahead) =>
    ([2, 1] as const).map((version) => ({
      name: `validAfter ${ahead}s ahead of chain time`,
      version,
      breakage: { auth: { validAfter: now + BigInt(ahead), validBefore: now + BigInt(ahead) + 3600n } },
    })),
});

/** Flip one bit of the signature's r (the result no longer recovers to the payer). */
function corruptSignature(payload: Record<string, unknown>): void {
  const inner = payload.payload as { signature: string };
  const sig = inner.signature;
  inner.signature = `${sig.slice(0, 10)}${((Number.parseInt(sig[10]!, 16) ^ 1) & 0xf).toString(16)}${sig.slice(11)}`;
}

/** Carry another nonce than the one signed. */
function swapNonce(payload: Record<string, unknown>): void {
  const a = (payload.payload as { authorization: { nonce: string } }).authorization;
  a.nonce = `0x${a.nonce.slice(2, 64)}${((Number.parseInt(a.nonce.slice(-2), 16) + 1) % 256).toString(16).padStart(2, '0')}`;
}

export const badSignature = refusalScenario({
  id: 'bad-signature',
  title: 'A payment naming the buyer but not signed by the buyer (another key, corrupted, other fields) is refused',
  requirement: 'X402-NEG-10',
  attacks: (_ctx, o, _now, _x, buyer) =>
    ([2, 1] as const).flatMap((version) => [
      { name: `names ${buyer} as payer, signed by the attacker`, version, signer: 'attacker', breakage: { auth: { from: o.s.address(buyer) } } },
      { name: 'signature corrupted (one bit of r)', version, mangle: corruptSignature },
      { name: 'carries another nonce than the one signed', version, mangle: swapNonce },
    ]),
});

/** The same signature with v written as the recovery parity (0/1) instead of 27/28, as hardware wallets and raw secp256k1 signers write it. */
function withParityV(header: string): string {
  const p = decodeHeader(header) as { payload: { signature: string } };
  const sig = p.payload.signature;
  const v = Number.parseInt(sig.slice(-2), 16);
  p.payload.signature = `${sig.slice(0, -2)}${(v >= 27 ? v - 27 : v).toString(16).padStart(2, '0')}`;
  return encodeHeader(p);
}

export const parityV = defineScenario({
  kind: 'property',
  id: 'signature-parity-v',
  title: "The payer's own signature with v written as the recovery parity (0/1): served and settled once, or refused with nothing moved; never a 5xx",
  requirements: ['X402-SIG-01'],
  ...BASE,
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const req = 'X402-SIG-01';
    const o = await offer(ctx);
    const payer = o.s.address(v.buyer);
    for (const version of versions(o)) {
      const amount = BigInt(version === 2 ? o.req.amount : o.v1!.maxAmountRequired);
      const snap = await holdings(ctx, o, payer);
      const p = await sign(ctx, o, v.buyer, version);
      ctx.act(`${v.buyer} pays ${amount} (v${version}) with its own signature, v written as its parity (0/1)`);
      const r = await send(ctx, o, withParityV(p.header), { version });
      ctx.check(req, r.res.status < 500, 'the payment is answered (not a 5xx)', { expected: '2xx or 4xx', actual: shown(r) });
      if (is2xx(r.res.status)) {
        await expectSettledOnChain(ctx, req, o, settlementOf(r.res), { payer, amount, nonce: p.auth.nonce as Hex, network: networkOf(o, version), version });
        await expectPaid(ctx, req, o, snap, amount, `v${version} payment with v as parity`);
      } else {
        ctx.expectRefused(req, { status: r.res.status, body: r.body }, `v${version} payment with v as parity`);
        ctx.check(req, settlementOf(r.res)?.success !== true, 'the refusal claims no settlement', { expected: 'no settlement header, or success:false', actual: JSON.stringify(settlementOf(r.res)) });
        await expectUnchanged(ctx, req, o, snap, p.auth, `a refused v${version} payment with v as parity`);
      }
    }
  },
});

export const noFunds = refusalScenario({
  id: 'insufficient-balance',
  title: 'A correctly signed payment from a payer without the funds is refused, not served',
  requirement: 'X402-NEG-11',
  // A fresh key (from the generated bytes, so a replay signs with the same one) holds nothing.
  extra: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b.map((x, i) => (i === 0 ? (x % 0xf0) + 1 : x)))),
  attacks: (_ctx, _o, _now, key) => ([2, 1] as const).map((version) => ({ name: 'payer holds no USDC', version, signer: { key } })),
});

/** Same JSON, other bytes: key order reversed (a replay guard keyed on the raw header misses it). */
function reencode(header: string): string {
  const flip = (x: unknown): unknown =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x)
            .reverse()
            .map(([k, v]) => [k, flip(v)]),
        )
      : x;
  return encodeHeader(flip(decodeHeader(header)));
}

export const replay = defineScenario({
  kind: 'property',
  id: 'replay',
  title: 'A settled authorization sent again (same header, re-encoded, other version) is refused',
  requirements: ['X402-NEG-04', 'X402-PAY-02'],
  ...BASE,
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), order: fc.nat() }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const first = versions(o)[0]!;
    ctx.act(`${v.buyer} pays once (v${first})`);
    const p = await sign(ctx, o, v.buyer, first);
    const paid = await send(ctx, o, p.header, { version: first });
    if (!is2xx(paid.res.status)) throw new Indeterminate('X402-NEG-04', `the honest payment was refused (${shown(paid)})`);
    const v1name = v1NetworkName(o.s.chainId);
    const inner = p.payload.payload;
    const replays: { name: string; header: string; version: 1 | 2 }[] = [
      { name: 'the same header again', header: p.header, version: first },
      { name: 'the same payload re-encoded (keys reordered)', header: reencode(p.header), version: first },
      ...(first === 2 && v1name
        ? [{ name: 'the same authorization as v1 X-PAYMENT', header: encodeHeader({ x402Version: 1, scheme: 'exact', network: v1name, payload: inner }), version: 1 as const }]
        : []),
      ...(first === 1 && o.v2 ? [{ name: 'the same authorization as v2 PAYMENT-SIGNATURE', header: encodeHeader({ x402Version: 2, accepted: o.v2, payload: inner }), version: 2 as const }] : []),
    ];
    const snap = await holdings(ctx, o, p.auth.from as Address);
    for (const r of shuffled(replays, v.order)) {
      ctx.act(`a client sends ${r.name}`);
      const res = await send(ctx, o, r.header, { version: r.version });
      expectRefusedPayment(ctx, 'X402-NEG-04', res, `replay: ${r.name}`);
      await expectUnchanged(ctx, 'X402-NEG-04', o, snap, p.auth, `replay: ${r.name}`, true);
    }
  },
});

/** Malformed payment headers: fixed kinds, tried every run, and generated ones. */
const MALFORMED_FIXED: [string, string][] = [
  ['not base64', 'not base64 !!!'],
  ['base64 of broken JSON', Buffer.from('{"x402Version":2,', 'utf8').toString('base64')],
  ['base64 of a JSON array', encodeHeader([1, 2, 3])],
  ['a v2 payload without authorization', encodeHeader({ x402Version: 2, accepted: { scheme: 'exact' }, payload: {} })],
  ['x402Version 99', encodeHeader({ x402Version: 99, payload: {} })],
  ['a v1 payload without network and payload', encodeHeader({ x402Version: 1, scheme: 'exact' })],
  ['an empty JSON object', encodeHeader({})],
  ['base64 of JSON null', encodeHeader(null)],
  // Absent or malformed: both readings pass (README "Readings"); a 5xx or a 2xx does not.
  ['an empty value', ''],
];

export const malformed = defineScenario({
  kind: 'property',
  id: 'malformed-header',
  title: 'Malformed payment headers (every kind, both header names) get 400/402, never 2xx or 5xx',
  requirements: ['X402-NEG-06'],
  ...BASE,
  arbitrary: () =>
    fc.record({
      printable: fc.string({ minLength: 1, maxLength: 200 }).filter((s) => /^[\x21-\x7e]+$/.test(s)),
      json: fc.jsonValue({ maxDepth: 2 }).map((j) => encodeHeader(j)),
      buyer: fc.constantFrom(...BUYERS),
      order: fc.nat(),
    }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const snap = await holdings(ctx, o, o.s.address(v.buyer));
    const kinds: [string, string][] = [...MALFORMED_FIXED, ['generated printable text', v.printable], ['generated JSON', v.json]];
    const sends = shuffled(
      kinds.flatMap(([what, header]) => ['PAYMENT-SIGNATURE', 'X-PAYMENT'].map((name) => ({ what, header, name }))),
      v.order,
    );
    for (const m of sends) {
      ctx.act(`a client sends ${m.name}: ${m.what} (${JSON.stringify(m.header.slice(0, 60))})`);
      const r = await send(ctx, o, m.header, { headerName: m.name });
      ctx.check('X402-NEG-06', r.res.status === 400 || r.res.status === 402, `${m.name} with ${m.what} gets 400 or 402`, { expected: '400 or 402', actual: shown(r) });
      await expectNothingMoved(ctx, 'X402-NEG-06', o, snap, `${m.name} with ${m.what}`);
    }
  },
});

/** The 1 MB headers, built once (they are the same every run). */
const HUGE = {
  garbage: 'A'.repeat(1024 * 1024),
  last: undefined as { key: string; value: string } | undefined,
  padded(o: Offer): string {
    const key = JSON.stringify(o.req);
    if (this.last?.key !== key) this.last = { key, value: encodeHeader({ x402Version: 2, accepted: o.req, payload: { pad: 'x'.repeat(1024 * 1024) } }) };
    return this.last.value;
  },
};

export const hugeHeader = defineScenario({
  kind: 'property',
  id: 'huge-header',
  title: 'A 1 MB payment header (garbage or padded JSON, either header name) is refused without a 5xx',
  requirements: ['X402-NEG-07'],
  ...BASE,
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), order: fc.nat() }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const snap = await holdings(ctx, o, o.s.address(v.buyer));
    const kinds = shuffled(
      [
        { what: 'garbage', header: HUGE.garbage },
        { what: 'padded JSON', header: HUGE.padded(o) },
      ].flatMap((k) => ['PAYMENT-SIGNATURE', 'X-PAYMENT'].map((name) => ({ ...k, name }))),
      v.order,
    );
    for (const k of kinds) {
      ctx.act(`a client sends a ${Math.round(k.header.length / 1024)} KiB ${k.name} (${k.what})`);
      let status: number | 'connection refused';
      try {
        status = (await send(ctx, o, k.header, { headerName: k.name })).res.status;
      } catch {
        status = 'connection refused';
      }
      ctx.check('X402-NEG-07', status === 'connection refused' || (status >= 400 && status < 500), `a 1 MB ${k.name} (${k.what}) gets a 4xx or a refused connection`, {
        expected: '431/413/400 or connection refused',
        actual: String(status),
      });
      await expectNothingMoved(ctx, 'X402-NEG-07', o, snap, `1 MB ${k.name} (${k.what})`);
    }
  },
});

export const expiresBeforeSettlement = defineScenario({
  kind: 'property',
  id: 'expires-before-settlement',
  title: 'An authorization valid when signed but expired (chain time) before it is sent is refused',
  requirements: ['X402-NEG-08', 'X402-PAY-02'],
  ...BASE,
  capabilities: ['clock-control'],
  arbitrary: () => fc.record({ ttl: fc.integer({ min: 10, max: 60 }), buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const version = versions(o)[0]!;
    const now = await o.s.pendingTime();
    const p = await sign(ctx, o, v.buyer, version, { auth: { validAfter: now - 600n, validBefore: now + BigInt(v.ttl) } });
    ctx.act(`${v.buyer} signs a v${version} authorization valid for ${v.ttl}s; the chain clock then moves ${v.ttl + 1}s on (host clock unchanged)`);
    // Moved forward permanently (a few seconds): reverting would desynchronise the servers' own
    // state (a facilitator's nonce cache) if a defective one sent a transaction.
    await o.s.test.increaseTime({ seconds: v.ttl + 1 });
    await o.s.test.mine({ blocks: 1 });
    const snap = await holdings(ctx, o, p.auth.from as Address);
    const r = await send(ctx, o, p.header, { version });
    expectRefusedPayment(ctx, 'X402-NEG-08', r, 'an authorization expired by chain time before settlement');
    await expectUnchanged(ctx, 'X402-NEG-08', o, snap, p.auth, 'expired before settlement');
  },
});

export const race = defineScenario({
  kind: 'property',
  id: 'replay-race',
  title: 'Two clients sending one authorization concurrently: exactly one is served, the other gets a 4xx',
  requirements: ['X402-RACE-01'],
  ...BASE,
  arbitrary: () => fc.record({ sch: fc.scheduler(), owner: fc.constantFrom(...BUYERS), order: fc.nat() }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const payer = o.s.address(v.owner);
    const v1name = v1NetworkName(o.s.chainId);
    const first = versions(o)[0]!;
    const kinds: { name: string; pair: [1 | 2, 1 | 2] }[] = [
      { name: `both in ${first === 2 ? 'PAYMENT-SIGNATURE' : 'X-PAYMENT'}`, pair: [first, first] },
      ...(o.v2 && o.v1 && v1name ? [{ name: 'one in PAYMENT-SIGNATURE, one as v1 X-PAYMENT', pair: [2, 1] as [1 | 2, 1 | 2] }] : []),
    ];
    for (const k of shuffled(kinds, v.order)) {
      const amount = BigInt(o.req.amount);
      const snap = await holdings(ctx, o, payer);
      const p = await sign(ctx, o, v.owner, k.pair[0]);
      const headers = k.pair.map((ver) =>
        ver === p.version
          ? p.header
          : ver === 1
            ? encodeHeader({ x402Version: 1, scheme: 'exact', network: v1name, payload: p.payload.payload })
            : encodeHeader({ x402Version: 2, accepted: o.v2, payload: p.payload.payload }),
      );
      ctx.act(`${v.owner} signs one payment; buyer1 and buyer2 send it at the same time (${k.name})`);
      const go = (i: 0 | 1) => v.sch.schedule(Promise.resolve(i), `${BUYERS[i]} sends`).then(() => send(ctx, o, headers[i]!, { version: k.pair[i] }));
      const results = await v.sch.waitFor(Promise.all([go(0), go(1)]));
      ctx.act(
        `  order: ${v.sch
          .report()
          .map((t) => t.label)
          .join(' → ')}; statuses ${results.map((r) => r.res.status).join(', ')}`,
      );
      const winners = results.map((r, i) => ({ r, i })).filter((x) => is2xx(x.r.res.status));
      ctx.check('X402-RACE-01', winners.length === 1, 'exactly one of the two is served', { expected: '1 served', actual: `${winners.length} served: ${results.map(shown).join(' | ')}` });
      const loser = results.find((r) => !is2xx(r.res.status))!;
      ctx.check('X402-RACE-01', loser.res.status >= 400 && loser.res.status < 500 && settlementOf(loser.res)?.success !== true, 'the other gets a 4xx that claims no settlement (not a 5xx)', {
        expected: '4xx',
        actual: `${shown(loser)} ${JSON.stringify(settlementOf(loser.res) ?? null)}`,
      });
      const w = winners[0]!;
      await expectSettledOnChain(ctx, 'X402-RACE-01', o, settlementOf(w.r.res), { payer, amount, nonce: p.auth.nonce as Hex, network: networkOf(o, k.pair[w.i]!), version: k.pair[w.i]! });
      await expectPaid(ctx, 'X402-RACE-01', o, snap, amount, 'racing payment');
    }
  },
});

/**
 * Rule 7 for money that runs out between verification and settlement (spec §1.6: verify, run the
 * handler, settle; on a failed settlement drop the handler's answer and return 402). A fresh payer
 * holding exactly one payment sends two different authorizations at once: each verifies alone, so a
 * server may pass both to its handler, but only one can settle. At most one may be served (a
 * server that refuses both passes too), each served one with its settlement on chain, the other
 * refused with a 4xx that claims no settlement and leaves its nonce unused.
 */
export const fundsForOne = defineScenario({
  kind: 'property',
  id: 'insufficient-balance-race',
  title: 'Two payments at once from a payer with funds for one: at most one is served, the other is refused',
  requirements: ['X402-NEG-11', 'X402-PAY-02'],
  ...BASE,
  // Funding the fresh payer takes a transfer from a buyer, which may need gas (anvil_setBalance).
  capabilities: ['set-code'],
  arbitrary: () =>
    fc.record({
      sch: fc.scheduler(),
      funder: fc.constantFrom(...BUYERS),
      order: fc.nat(),
      key: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b.map((x, i) => (i === 0 ? (x % 0xf0) + 1 : x)))),
    }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const payer = privateKeyToAddress(v.key);
    const amountOf = (ver: 1 | 2) => BigInt(ver === 2 ? o.req.amount : o.v1!.maxAmountRequired);
    const first = versions(o)[0]!;
    const kinds: { name: string; pair: [1 | 2, 1 | 2] }[] = [
      { name: `both in ${first === 2 ? 'PAYMENT-SIGNATURE' : 'X-PAYMENT'}`, pair: [first, first] },
      ...(o.v2 && o.v1 && amountOf(1) === amountOf(2) ? [{ name: 'one in PAYMENT-SIGNATURE, one in X-PAYMENT', pair: [2, 1] as [1 | 2, 1 | 2] }] : []),
    ];
    for (const k of shuffled(kinds, v.order)) {
      const amount = amountOf(k.pair[0]);
      const held = await o.s.balanceOf(o.token, payer);
      if (held > amount) throw new Indeterminate('X402-NEG-11', `the fresh payer ${payer} already holds ${held} > ${amount}`);
      if (held < amount) await fund(ctx, 'X402-NEG-11', o, v.funder, payer, amount - held, 'the fresh payer (exactly one payment)');
      const now = await o.s.pendingTime();
      const ps = [await sign(ctx, o, { key: v.key }, k.pair[0], {}, now), await sign(ctx, o, { key: v.key }, k.pair[1], {}, now)];
      const snap = await holdings(ctx, o, payer);
      ctx.act(`the payer sends two different authorizations at the same time, funds for one (${k.name})`);
      const go = (i: 0 | 1) => v.sch.schedule(Promise.resolve(i), `payment ${i + 1} sent`).then(() => send(ctx, o, ps[i]!.header, { version: k.pair[i] }));
      const results = await v.sch.waitFor(Promise.all([go(0), go(1)]));
      ctx.act(`  statuses ${results.map((r) => `${r.res.status}${settlementOf(r.res) ? ` (settlement header success:${settlementOf(r.res)!.success})` : ''}`).join(', ')}`);
      const served = results.flatMap((r, i) => (is2xx(r.res.status) ? [i] : []));
      ctx.check('X402-NEG-11', served.length <= 1, 'at most one of the two is served: the payer can pay for one', {
        expected: '0 or 1 served',
        actual: `${served.length} served: ${results.map(shown).join(' | ')}`,
      });
      for (const [i, r] of results.entries()) {
        const p = ps[i]!;
        if (served.includes(i)) {
          await expectSettledOnChain(ctx, 'X402-NEG-11', o, settlementOf(r.res), { payer, amount, nonce: p.auth.nonce as Hex, network: networkOf(o, k.pair[i]!), version: k.pair[i]! });
          continue;
        }
        expectRefusedPayment(ctx, 'X402-NEG-11', r, `payment ${i + 1} of two, funds for one`);
        const used = await nonceUsed(o, p.auth);
        ctx.check('X402-NEG-11', !used, `payment ${i + 1} was refused: authorizationState(payer, nonce) is still false`, { expected: false, actual: used });
      }
      if (served.length === 1) await expectPaid(ctx, 'X402-NEG-11', o, snap, amount, 'one of two payments, funds for one');
      else await expectNothingMoved(ctx, 'X402-NEG-11', o, snap, 'two payments refused');
    }
  },
});

export const failedWork = defineScenario({
  kind: 'property',
  id: 'failed-work',
  title: 'A paid request whose handler fails (x402-resource-failing) is not charged',
  requirements: ['X402-SET-01'],
  ...BASE,
  endpoints: ['x402-resource-failing'],
  arbitrary: () => fc.constantFrom(...BUYERS),
  async run(ctx, buyer) {
    const o = await offer(ctx, 'x402-resource-failing');
    // The working resource, when it sells the same thing: the uncharged authorization must still pay there.
    const good = ctx.target.endpoints['x402-resource'] ? await offer(ctx).catch(() => undefined) : undefined;
    const same = (v: 1 | 2) =>
      good !== undefined &&
      (v === 2
        ? good.v2 !== undefined && JSON.stringify(good.v2) === JSON.stringify(o.v2)
        : good.v1 !== undefined && o.v1 !== undefined && (['scheme', 'network', 'maxAmountRequired', 'asset', 'payTo'] as const).every((k) => good.v1![k] === o.v1![k]));
    for (const v of versions(o)) {
      const p = await sign(ctx, o, buyer, v);
      const snap = await holdings(ctx, o, p.auth.from as Address);
      ctx.act(`${buyer} pays (v${v}) for a request the handler refuses (${o.shape.method} ${o.url} ${JSON.stringify(o.shape.body) ?? ''})`);
      const r = await send(ctx, o, p.header, { version: v });
      if (is2xx(r.res.status)) throw new Indeterminate('X402-SET-01', `the request declared as failing was served (${shown(r)}): x402-resource-failing must describe a request the handler refuses`);
      ctx.check('X402-SET-01', settlementOf(r.res)?.success !== true, `v${v}: the failed request claims no settlement`, { expected: 'no settlement', actual: JSON.stringify(settlementOf(r.res)) });
      await expectUnchanged(ctx, 'X402-SET-01', o, snap, p.auth, `v${v} failed work`);
      if (!same(v)) continue;
      ctx.act(`${buyer} sends the same, still unused authorization to the working resource (${good!.url})`);
      const again = await send(ctx, good!, p.header, { version: v });
      ctx.check('X402-SET-01', is2xx(again.res.status), `v${v}: the authorization the failed work did not charge still pays for the working resource`, { expected: '2xx', actual: shown(again) });
      await expectSettledOnChain(ctx, 'X402-SET-01', good!, settlementOf(again.res), {
        payer: p.auth.from as Address,
        amount: BigInt(v === 2 ? o.req.amount : o.v1!.maxAmountRequired),
        nonce: p.auth.nonce as Hex,
        network: networkOf(o, v),
        version: v,
      });
    }
  },
});

export const x402Scenarios = [
  challengeScenario,
  challengeCors,
  payExact,
  amountsV2,
  amountsV1(),
  wrongPayTo,
  wrongAsset,
  wrongNetwork,
  tamperedAccepted,
  replay,
  malformed,
  hugeHeader,
  expired,
  expiresBeforeSettlement,
  notYetValid,
  badSignature,
  parityV,
  smartWalletPayer,
  noFunds,
  fundsForOne,
  race,
  failedWork,
  robustness,
  ...facilitatorScenarios,
  ...faultScenarios,
  ...restartScenarios,
  ...reorgScenarios,
];

/** v1 amounts: underpayment refused; overpayment refused, or charged exactly what was signed (both readings pass). */
function amountsV1() {
  return defineScenario({
    kind: 'property',
    id: 'amount-v1-readings',
    title: 'v1: underpayment refused; overpayment refused or charged exactly what was signed',
    requirements: ['X402-AMT-02', 'X402-PAY-02'],
    ...BASE,
    arbitrary: () => fc.record({ big: fc.bigInt({ min: 2n, max: 10n ** 6n }), buyer: fc.constantFrom(...BUYERS), order: fc.nat() }),
    async run(ctx, v) {
      const o = await offer(ctx);
      if (!v1NetworkName(o.s.chainId)) throw new Indeterminate('X402-AMT-02', `no v1 network name for chain ${o.s.chainId}`);
      const payer = o.s.address(v.buyer);
      // A v2-only server gets v1 payments built from its v2 offer; refusing them satisfies both readings.
      const max = BigInt(o.v1?.maxAmountRequired ?? o.req.amount);
      for (const delta of shuffled([-1n, 1n, v.big], v.order)) {
        const value = max + delta;
        if (value <= 0n) continue;
        const snap = await holdings(ctx, o, payer);
        ctx.act(`${v.buyer} sends X-PAYMENT (v1) for ${value} where maxAmountRequired is ${max}`);
        const p = await sign(ctx, o, v.buyer, 1, { auth: { value } });
        const r = await send(ctx, o, p.header, { version: 1 });
        if (delta < 0n || !is2xx(r.res.status)) {
          if (delta > 0n) ctx.act('→ refused (equality reading)');
          expectRefusedPayment(ctx, 'X402-AMT-02', r, `v1 ${delta < 0n ? 'underpayment' : 'overpayment'}`);
          await expectUnchanged(ctx, 'X402-AMT-02', o, snap, p.auth, `v1 ${delta < 0n ? 'underpayment' : 'refused overpayment'}`);
          continue;
        }
        ctx.act('→ accepted (legacy reading: value ≥ maxAmountRequired)');
        await expectSettledOnChain(ctx, 'X402-AMT-02', o, settlementOf(r.res), { payer, amount: value, nonce: p.auth.nonce as Hex, network: networkOf(o, 1), version: 1 });
        await expectPaid(ctx, 'X402-AMT-02', o, snap, value, 'accepted v1 overpayment');
      }
    },
  });
}
