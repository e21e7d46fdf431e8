/**
 * `x402` scenarios against any x402 resource server (endpoint `x402-resource`) that takes `exact`
 * payments in a USDC the target declares. The requirement offered in the 402 challenge decides the
 * chain, token, amount and payTo; payments are signed with windows relative to chain time.
 */
import fc from 'fast-check';
import type { Address } from 'viem';
import { defineScenario } from '../../harness/engine/dsl.ts';
import type { RunContext } from '../../harness/engine/context.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import type { ChainSession } from '../../harness/engine/session.ts';
import { encodeHeader, type RequirementsV1, type RequirementsV2 } from '../../reference-impl/x402/protocol/wire.ts';
import { v1NetworkName } from '../../reference-impl/x402/protocol/wire.ts';
import { payerFor, pickV1, pickV2, requestChallenge, sendWithPayment, settlementOf, shapeOf, type Challenge } from './client.ts';
import type { RequestShape } from '../../reference-impl/x402/agents/payer.ts';

const BUYERS = ['buyer1', 'buyer2'] as const;
// The attacker only signs or receives (a wrong payTo): a throwaway key when the target declares none.
const BASE = { needs: ['usdc'], endpoints: ['x402-resource'], roles: [...BUYERS], signers: ['attacker'], isolation: 'live' as const };

/** The resource, its challenge, and the target chain + requirement it offers. */
interface Offer {
  url: string;
  /** How the resource is requested (method, body, headers from the target's endpoint). */
  shape: RequestShape;
  c: Challenge;
  s: ChainSession;
  token: Address;
  req: RequirementsV2;
  v1?: RequirementsV1;
}

/** Ask the resource for its price and find the target chain whose USDC it accepts. */
async function offer(ctx: RunContext): Promise<Offer> {
  const e = ctx.endpoint('x402-resource');
  const url = e.url;
  const shape = shapeOf(e);
  const c = await requestChallenge(ctx.fetch, url, shape);
  for (const chain of ctx.target.chains) {
    if (!chain.usdc) continue;
    const token = chain.usdc.address as Address;
    const req = pickV2(c, chain.chainId, token);
    const v1 = pickV1(c, chain.chainId, token);
    if (req || v1) {
      // A v1-only server: derive the equivalent v2 view so the scenarios can reason in one shape.
      const r2: RequirementsV2 = req ?? {
        scheme: 'exact',
        network: `eip155:${chain.chainId}`,
        amount: v1!.maxAmountRequired,
        asset: v1!.asset,
        payTo: v1!.payTo,
        maxTimeoutSeconds: v1!.maxTimeoutSeconds,
        extra: v1!.extra ?? undefined,
      };
      return { url, shape, c, s: await ctx.chain({ chainId: chain.chainId }), token, req: r2, v1 };
    }
  }
  throw new Indeterminate(undefined, `the resource offers no exact payment in a USDC the target declares (status ${c.status}${c.v2Error ? `, ${c.v2Error}` : ''})`);
}

/** Balances of the payer and payTo. */
async function money(o: Offer, payer: Address): Promise<{ payer: bigint; payTo: bigint }> {
  return { payer: await o.s.balanceOf(o.token, payer), payTo: await o.s.balanceOf(o.token, o.req.payTo as Address) };
}

/** Check nothing moved. */
async function noMoney(ctx: RunContext, o: Offer, req: string, payer: Address, before: { payer: bigint; payTo: bigint }, label: string): Promise<void> {
  const after = await money(o, payer);
  o.s.recordBalances(label, o.token, before, after);
  ctx.check(req, after.payer === before.payer && after.payTo === before.payTo, 'no USDC moved', {
    expected: `payer ${before.payer}, payTo ${before.payTo}`,
    actual: `payer ${after.payer}, payTo ${after.payTo}`,
  });
}

const refused = (status: number) => status >= 400 && status < 500;

/** Send a payment header to the resource, with the resource's request shape. */
function send(ctx: RunContext, o: Offer, header: string, opts: { version?: 1 | 2; headerName?: string } = {}) {
  return sendWithPayment(ctx.fetch, o.url, header, { ...o.shape, ...opts });
}

/** Pay honestly with v2 (or v1 if that is all that is offered). */
async function payHonest(ctx: RunContext, o: Offer, buyer: string): Promise<{ res: Response; body: unknown; header: string; version: 1 | 2 }> {
  if (pickV2(o.c, o.s.chainId, o.token)) {
    const { header } = await payerFor(ctx, o.s, buyer).v2Header(o.req);
    return { ...(await send(ctx, o, header)), header, version: 2 };
  }
  const { header } = await payerFor(ctx, o.s, buyer).v1Header(o.v1!);
  return { ...(await send(ctx, o, header, { version: 1 })), header, version: 1 };
}

export const challengeScenario = defineScenario({
  kind: 'property',
  id: 'challenge',
  title: 'No payment → 402 with exact/USDC requirements for the target chain',
  requirements: ['X402-CH-01'],
  ...BASE,
  arbitrary: () => fc.constantFrom('GET'),
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

export const payExact = defineScenario({
  kind: 'property',
  id: 'pay-exact',
  title: 'An exact payment is settled for exactly the amount and the resource is served',
  requirements: ['X402-PAY-01'],
  ...BASE,
  arbitrary: () => fc.constantFrom(...BUYERS),
  async run(ctx, buyer) {
    const o = await offer(ctx);
    const payer = o.s.address(buyer);
    const before = await money(o, payer);
    ctx.act(`${buyer} pays ${o.req.amount} base units to ${o.req.payTo}`);
    const r = await payHonest(ctx, o, buyer);
    ctx.check('X402-PAY-01', r.res.status >= 200 && r.res.status < 300, 'an exact payment is served (2xx)', { expected: '2xx', actual: `${r.res.status} ${JSON.stringify(r.body).slice(0, 200)}` });
    const st = settlementOf(r.res);
    ctx.check('X402-PAY-01', st?.success === true && /^0x[0-9a-fA-F]{64}$/.test(st.transaction ?? ''), 'the settlement header says success with a transaction hash', {
      expected: 'success + tx hash',
      actual: JSON.stringify(st),
    });
    const after = await money(o, payer);
    o.s.recordBalances('exact payment', o.token, before, after);
    const amount = BigInt(o.req.amount);
    ctx.check('X402-PAY-01', before.payer - after.payer === amount && after.payTo - before.payTo === amount, `exactly ${amount} moves from payer to payTo`, {
      expected: `-${amount} / +${amount}`,
      actual: `-${before.payer - after.payer} / +${after.payTo - before.payTo}`,
    });
  },
});

export const amountsV2 = defineScenario({
  kind: 'property',
  id: 'amount-v2-exact',
  title: 'v2: one unit less or more than the amount is refused',
  requirements: ['X402-AMT-01'],
  ...BASE,
  arbitrary: () => fc.record({ delta: fc.oneof(fc.constant(-1n), fc.constant(1n), fc.bigInt({ min: 2n, max: 10n ** 9n })), buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const o = await offer(ctx);
    if (!pickV2(o.c, o.s.chainId, o.token)) throw new Indeterminate('X402-AMT-01', 'the resource offers no v2 requirement');
    const value = BigInt(o.req.amount) + v.delta;
    fc.pre(value > 0n);
    const payer = o.s.address(v.buyer);
    const before = await money(o, payer);
    ctx.act(`${v.buyer} signs ${value} instead of ${o.req.amount} (accepted unchanged)`);
    const { header } = await payerFor(ctx, o.s, v.buyer).v2Header(o.req, { auth: { value } });
    const r = await send(ctx, o, header);
    ctx.check('X402-AMT-01', refused(r.res.status), `a v2 payment of amount ${v.delta > 0n ? '+' : ''}${v.delta} is refused`, {
      expected: '402',
      actual: `${r.res.status} ${JSON.stringify(r.body).slice(0, 200)}`,
    });
    await noMoney(ctx, o, 'X402-AMT-01', payer, before, 'wrong v2 amount');
  },
});

export const amountsV1 = defineScenario({
  kind: 'property',
  id: 'amount-v1-readings',
  title: 'v1: underpayment refused; overpayment refused or charged exactly what was signed',
  requirements: ['X402-AMT-02'],
  ...BASE,
  arbitrary: () => fc.record({ delta: fc.constantFrom(-1n, 1n, 1000n), buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const n = v1NetworkName(o.s.chainId);
    if (!n) throw new Indeterminate('X402-AMT-02', `no v1 network name for chain ${o.s.chainId}`);
    // A v2-only server gets a v1 payment built from its v2 offer; refusing it satisfies both readings.
    const req1: RequirementsV1 = o.v1 ?? {
      scheme: 'exact',
      network: n,
      maxAmountRequired: o.req.amount,
      asset: o.req.asset,
      payTo: o.req.payTo,
      resource: o.url,
      description: '',
      maxTimeoutSeconds: o.req.maxTimeoutSeconds,
      extra: o.req.extra,
    };
    const value = BigInt(req1.maxAmountRequired) + v.delta;
    fc.pre(value > 0n);
    const payer = o.s.address(v.buyer);
    const before = await money(o, payer);
    ctx.act(`${v.buyer} sends X-PAYMENT (v1) for ${value} where maxAmountRequired is ${req1.maxAmountRequired}`);
    const { header } = await payerFor(ctx, o.s, v.buyer).v1Header(req1, { auth: { value } });
    const r = await send(ctx, o, header, { version: 1 });
    if (v.delta < 0n) {
      ctx.check('X402-AMT-02', refused(r.res.status), 'a v1 underpayment is refused', { expected: '402', actual: `${r.res.status}` });
      await noMoney(ctx, o, 'X402-AMT-02', payer, before, 'v1 underpayment');
      return;
    }
    const after = await money(o, payer);
    o.s.recordBalances('v1 overpayment', o.token, before, after);
    if (r.res.status >= 200 && r.res.status < 300) {
      ctx.act('→ accepted (legacy reading: value ≥ maxAmountRequired)');
      ctx.check('X402-AMT-02', before.payer - after.payer === value && after.payTo - before.payTo === value, 'an accepted v1 overpayment moves exactly the signed value, once', {
        expected: `-${value} / +${value}`,
        actual: `-${before.payer - after.payer} / +${after.payTo - before.payTo}`,
      });
    } else {
      ctx.act('→ refused (equality reading)');
      ctx.check('X402-AMT-02', refused(r.res.status) && after.payer === before.payer && after.payTo === before.payTo, 'a refused v1 overpayment is a 4xx and moves nothing', {
        expected: '4xx, no USDC moved',
        actual: `${r.res.status}, payer ${before.payer - after.payer}`,
      });
    }
  },
});

type NegKind = 'wrong-payto' | 'wrong-asset' | 'wrong-network' | 'tampered-accepted';
const NEG_REQ: Record<NegKind, string> = { 'wrong-payto': 'X402-NEG-01', 'wrong-asset': 'X402-NEG-02', 'wrong-network': 'X402-NEG-03', 'tampered-accepted': 'X402-NEG-05' };

/** One scenario per defect, so each requirement has its own case (and its own replay). */
function negativeScenario(kind: NegKind, title: string) {
  const req = NEG_REQ[kind];
  return defineScenario({
    kind: 'property',
    id: kind,
    title,
    requirements: [req],
    ...BASE,
    arbitrary: () => fc.constantFrom(...BUYERS),
    async run(ctx, buyer) {
      const o = await offer(ctx);
      if (!pickV2(o.c, o.s.chainId, o.token)) throw new Indeterminate(req, 'the resource offers no v2 requirement');
      const payer = o.s.address(buyer);
      const attacker = o.s.address('attacker');
      // Another contract on the chain stands in for "another token": its address is what matters.
      const otherToken = (Object.values(ctx.target.chains.find((c) => c.chainId === o.s.chainId)!.contracts).find((a) => a.toLowerCase() !== o.token.toLowerCase()) ??
        '0x000000000000000000000000000000000000dEaD') as Address;
      const otherChainId = o.s.chainId === 8453 ? 84532 : 8453;
      const before = await money(o, payer);
      const attackerBefore = await o.s.balanceOf(o.token, attacker);
      const tamper =
        kind === 'wrong-payto'
          ? { auth: { to: attacker } }
          : kind === 'wrong-asset'
            ? { accepted: { asset: otherToken }, domain: { verifyingContract: otherToken } }
            : kind === 'wrong-network'
              ? { accepted: { network: `eip155:${otherChainId}` }, domain: { chainId: otherChainId } }
              : { accepted: { amount: '1' }, auth: { value: 1n } };
      ctx.act(`${buyer} sends a payment with ${kind}`);
      const { header } = await payerFor(ctx, o.s, buyer).v2Header(o.req, tamper);
      const r = await send(ctx, o, header);
      ctx.check(req, refused(r.res.status), `a payment with ${kind} is refused`, { expected: '402/4xx', actual: `${r.res.status} ${JSON.stringify(r.body).slice(0, 200)}` });
      await noMoney(ctx, o, req, payer, before, kind);
      const attackerAfter = await o.s.balanceOf(o.token, attacker);
      ctx.check(req, attackerAfter === attackerBefore, 'nothing reached another recipient', { expected: attackerBefore, actual: attackerAfter });
    },
  });
}

export const wrongPayTo = negativeScenario('wrong-payto', 'A payment to another payTo is refused and moves nothing');
export const wrongAsset = negativeScenario('wrong-asset', 'A payment naming and signed for another token is refused');
export const wrongNetwork = negativeScenario('wrong-network', 'A payment for another network (accepted + signing chainId) is refused');
export const tamperedAccepted = negativeScenario('tampered-accepted', 'A payment whose `accepted` was lowered to 1 unit (and signed for 1) is refused');

export const replay = defineScenario({
  kind: 'property',
  id: 'replay',
  title: 'A settled authorization sent again is refused',
  requirements: ['X402-NEG-04'],
  ...BASE,
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), replayer: fc.constantFrom('same client', 'another client') }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const payer = o.s.address(v.buyer);
    ctx.act(`${v.buyer} pays once`);
    const first = await payHonest(ctx, o, v.buyer);
    if (first.res.status < 200 || first.res.status >= 300) throw new Indeterminate('X402-NEG-04', `the honest payment was refused (${first.res.status})`);
    const before = await money(o, payer);
    ctx.act(`${v.replayer} sends the same payment header again`);
    const r = await send(ctx, o, first.header, { version: first.version });
    ctx.check('X402-NEG-04', refused(r.res.status), 'a replayed authorization is refused', { expected: '402', actual: `${r.res.status} ${JSON.stringify(r.body).slice(0, 200)}` });
    await noMoney(ctx, o, 'X402-NEG-04', payer, before, 'replay');
  },
});

/** Malformed payment headers. */
const malformedArb = fc.oneof(
  fc.constant('not base64 !!!'),
  fc.string({ minLength: 1, maxLength: 200 }).filter((s) => /^[\x21-\x7e]+$/.test(s)),
  fc.string({ minLength: 1, maxLength: 100 }).map((s) => Buffer.from(`{${s}`, 'utf8').toString('base64')),
  fc.jsonValue({ maxDepth: 2 }).map((j) => encodeHeader(j)),
  fc.constant(encodeHeader({ x402Version: 2, accepted: { scheme: 'exact' }, payload: {} })),
  fc.constant(encodeHeader({ x402Version: 99, payload: {} })),
);

export const malformed = defineScenario({
  kind: 'property',
  id: 'malformed-header',
  title: 'Malformed payment headers get 400/402, never 2xx or 5xx',
  requirements: ['X402-NEG-06'],
  ...BASE,
  arbitrary: () => fc.record({ header: malformedArb, name: fc.constantFrom('PAYMENT-SIGNATURE', 'X-PAYMENT'), buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const payer = o.s.address(v.buyer);
    const before = await money(o, payer);
    ctx.act(`a client sends ${v.name}: ${JSON.stringify(v.header.slice(0, 80))}`);
    const r = await send(ctx, o, v.header, { headerName: v.name });
    ctx.check('X402-NEG-06', r.res.status === 400 || r.res.status === 402, 'a malformed payment header gets 400 or 402', {
      expected: '400 or 402',
      actual: `${r.res.status} ${JSON.stringify(r.body).slice(0, 200)}`,
    });
    await noMoney(ctx, o, 'X402-NEG-06', payer, before, 'malformed header');
  },
});

export const hugeHeader = defineScenario({
  kind: 'property',
  id: 'huge-header',
  title: 'A 1 MB payment header is refused without a 5xx',
  requirements: ['X402-NEG-07'],
  ...BASE,
  arbitrary: () => fc.record({ kind: fc.constantFrom('garbage', 'padded-json'), buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const payer = o.s.address(v.buyer);
    const before = await money(o, payer);
    const mb = 1024 * 1024;
    const header = v.kind === 'garbage' ? 'A'.repeat(mb) : encodeHeader({ x402Version: 2, accepted: o.req, payload: { pad: 'x'.repeat(mb) } });
    ctx.act(`a client sends a ${Math.round(header.length / 1024)} KiB PAYMENT-SIGNATURE (${v.kind})`);
    let status: number | 'connection refused';
    try {
      status = (await send(ctx, o, header)).res.status;
    } catch {
      status = 'connection refused';
    }
    ctx.check('X402-NEG-07', status === 'connection refused' || refused(status), 'a 1 MB header gets a 4xx or a refused connection', {
      expected: '431/413/400 or connection refused',
      actual: String(status),
    });
    await noMoney(ctx, o, 'X402-NEG-07', payer, before, 'huge header');
  },
});

export const expired = defineScenario({
  kind: 'property',
  id: 'expired-authorization',
  title: 'An authorization whose validBefore has passed (chain time) is refused',
  requirements: ['X402-NEG-08'],
  ...BASE,
  arbitrary: () => fc.record({ ago: fc.integer({ min: 0, max: 86_400 }), buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const payer = o.s.address(v.buyer);
    const before = await money(o, payer);
    const now = await o.s.pendingTime();
    ctx.act(`${v.buyer} signs an authorization that expired ${v.ago}s ago by chain time`);
    const r = pickV2(o.c, o.s.chainId, o.token)
      ? await send(ctx, o, (await payerFor(ctx, o.s, v.buyer).v2Header(o.req, { auth: { validAfter: now - 7200n, validBefore: now - 1n - BigInt(v.ago) } })).header)
      : await send(ctx, o, (await payerFor(ctx, o.s, v.buyer).v1Header(o.v1!, { auth: { validAfter: now - 7200n, validBefore: now - 1n - BigInt(v.ago) } })).header, { version: 1 });
    ctx.check('X402-NEG-08', refused(r.res.status), 'an expired authorization is refused', { expected: '402', actual: `${r.res.status} ${JSON.stringify(r.body).slice(0, 200)}` });
    await noMoney(ctx, o, 'X402-NEG-08', payer, before, 'expired authorization');
  },
});

export const expiresBeforeSettlement = defineScenario({
  kind: 'property',
  id: 'expires-before-settlement',
  title: 'An authorization valid when signed but expired (chain time) before it is sent is refused',
  requirements: ['X402-NEG-08'],
  ...BASE,
  capabilities: ['clock-control'],
  arbitrary: () => fc.record({ ttl: fc.integer({ min: 10, max: 60 }), buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const o = await offer(ctx);
    if (!pickV2(o.c, o.s.chainId, o.token)) throw new Indeterminate('X402-NEG-08', 'the resource offers no v2 requirement');
    const payer = o.s.address(v.buyer);
    const now = await o.s.pendingTime();
    const { header } = await payerFor(ctx, o.s, v.buyer).v2Header(o.req, { auth: { validAfter: now - 600n, validBefore: now + BigInt(v.ttl) } });
    ctx.act(`${v.buyer} signs an authorization valid for ${v.ttl}s; the chain clock then moves ${v.ttl + 1}s on (host clock unchanged)`);
    // Moved forward permanently (a few seconds): reverting would desynchronise the servers' own
    // state (a facilitator's nonce cache) if a defective one sent a transaction.
    await o.s.test.increaseTime({ seconds: v.ttl + 1 });
    await o.s.test.mine({ blocks: 1 });
    const before = await money(o, payer);
    const r = await send(ctx, o, header);
    ctx.check('X402-NEG-08', refused(r.res.status), 'an authorization expired by chain time before settlement is refused', {
      expected: '402',
      actual: `${r.res.status} ${JSON.stringify(r.body).slice(0, 200)}`,
    });
    await noMoney(ctx, o, 'X402-NEG-08', payer, before, 'expired before settlement');
  },
});

export const race = defineScenario({
  kind: 'property',
  id: 'replay-race',
  title: 'Two buyers sending one authorization concurrently are served at most once',
  requirements: ['X402-RACE-01'],
  ...BASE,
  arbitrary: () => fc.record({ sch: fc.scheduler(), owner: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const payer = o.s.address(v.owner);
    const before = await money(o, payer);
    const honest = pickV2(o.c, o.s.chainId, o.token)
      ? { ...(await payerFor(ctx, o.s, v.owner).v2Header(o.req)), version: 2 as const }
      : { ...(await payerFor(ctx, o.s, v.owner).v1Header(o.v1!)), version: 1 as const };
    ctx.act(`${v.owner} signs one payment; buyer1 and buyer2 both send it at the same time`);
    const go = (who: string) => v.sch.schedule(Promise.resolve(who), `${who} sends`).then(() => send(ctx, o, honest.header, { version: honest.version }));
    const results = await v.sch.waitFor(Promise.all([go('buyer1'), go('buyer2')]));
    ctx.act(
      `  order: ${v.sch
        .report()
        .map((t) => t.label)
        .join(' → ')}; statuses ${results.map((r) => r.res.status).join(', ')}`,
    );
    const served = results.filter((r) => r.res.status >= 200 && r.res.status < 300).length;
    ctx.check('X402-RACE-01', served <= 1, 'at most one of the two is served', { expected: '≤ 1 served', actual: `${served} served` });
    const after = await money(o, payer);
    o.s.recordBalances('racing replay', o.token, before, after);
    const amount = BigInt(o.req.amount);
    const moved = before.payer - after.payer;
    ctx.check('X402-RACE-01', (moved === 0n || moved === amount) && (served === 0 || moved === amount), 'the value moves at most once (and exactly once if served)', {
      expected: served ? amount : `0 or ${amount}`,
      actual: moved,
    });
  },
});

export const facilitator = defineScenario({
  kind: 'property',
  id: 'facilitator-verify',
  title: 'Facilitator: /supported lists the chain; /verify accepts an honest payment, refuses an underpayment, moves nothing',
  requirements: ['X402-FAC-01'],
  ...BASE,
  endpoints: ['x402-resource', 'x402-facilitator'],
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), under: fc.bigInt({ min: 1n, max: 1000n }) }),
  async run(ctx, v) {
    const base = ctx.endpoint('x402-facilitator').url.replace(/\/+$/, '');
    const o = await offer(ctx);
    const sup = await ctx.fetch(`${base}/supported`);
    const sj = (await sup.json().catch(() => null)) as { kinds?: { scheme: string; network: string; x402Version: number }[] } | null;
    ctx.check('X402-FAC-01', sup.status === 200 && Boolean(sj?.kinds?.some((k) => k.scheme === 'exact' && k.network === o.req.network)), `/supported lists exact on ${o.req.network}`, {
      expected: `exact / ${o.req.network}`,
      actual: `${sup.status} ${JSON.stringify(sj?.kinds ?? sj)}`,
    });
    const payer = o.s.address(v.buyer);
    const before = await money(o, payer);
    const verify = async (payload: Record<string, unknown>) => {
      const r = await ctx.fetch(`${base}/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ x402Version: 2, paymentPayload: payload, paymentRequirements: o.req }),
      });
      return { status: r.status, body: (await r.json().catch(() => null)) as { isValid?: boolean; invalidReason?: string } | null };
    };
    ctx.act(`${v.buyer} asks the facilitator to verify an honest payment`);
    const good = await verify((await payerFor(ctx, o.s, v.buyer).v2Header(o.req)).payload);
    ctx.check('X402-FAC-01', good.status === 200 && good.body?.isValid === true, '/verify says isValid:true for an honest payment', {
      expected: 'isValid true',
      actual: `${good.status} ${JSON.stringify(good.body)}`,
    });
    const value = BigInt(o.req.amount) - v.under;
    fc.pre(value > 0n);
    ctx.act(`… and an underpayment of ${v.under} units`);
    const bad = await verify((await payerFor(ctx, o.s, v.buyer).v2Header(o.req, { auth: { value } })).payload);
    ctx.check('X402-FAC-01', bad.body?.isValid === false, '/verify says isValid:false for an underpayment', { expected: 'isValid false', actual: `${bad.status} ${JSON.stringify(bad.body)}` });
    await noMoney(ctx, o, 'X402-FAC-01', payer, before, 'verify only');
  },
});

export const x402Scenarios = [
  challengeScenario,
  payExact,
  amountsV2,
  amountsV1,
  wrongPayTo,
  wrongAsset,
  wrongNetwork,
  tamperedAccepted,
  replay,
  malformed,
  hugeHeader,
  expired,
  expiresBeforeSettlement,
  race,
  facilitator,
];
