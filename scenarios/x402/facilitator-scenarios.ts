/**
 * Facilitator scenarios (optional endpoint `x402-facilitator`): /supported lists the resource's
 * kind; /verify and /settle are each tried, in every run, with an honest payment and with every
 * wrong field (payTo, asset, network, scheme, amount, expired, not yet valid, replayed nonce, a
 * signature by another key, a payer without funds), in v2 and, where /supported lists it, v1.
 * After each refusal the balances and the authorization's nonce are unchanged; a settlement is
 * checked on chain. The requirements the facilitator is handed are the resource's own offer.
 */
import fc from 'fast-check';
import { erc20Abi, toHex, type Address, type Hex } from 'viem';
import { privateKeyToAddress } from 'viem/accounts';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { caip2, encodeHeader, v1NetworkName } from '../../reference-impl/x402/protocol/wire.ts';
import type { Settlement } from './client.ts';
import {
  BASE,
  BUYERS,
  expectNothingMoved,
  expectPaid,
  expectSettledOnChain,
  expectUnchanged,
  holdings,
  networkOf,
  nonceUsed,
  offer,
  requirementsFor,
  send,
  shown,
  shuffled,
  sign,
  versions,
  type Breakage,
  type Offer,
  type Signed,
} from './lab.ts';

export const FBASE = { ...BASE, endpoints: ['x402-resource', 'x402-facilitator'] };

export interface FacilitatorAnswer {
  status: number;
  json: Record<string, unknown> | null;
}

function base(ctx: RunContext): string {
  return ctx.endpoint('x402-facilitator').url.replace(/\/+$/, '');
}

export async function post(ctx: RunContext, route: '/verify' | '/settle', body: unknown): Promise<FacilitatorAnswer> {
  const r = await ctx.fetch(`${base(ctx)}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await r.text();
  let json: Record<string, unknown> | null = null;
  try {
    const j = JSON.parse(text) as unknown;
    json = j && typeof j === 'object' && !Array.isArray(j) ? (j as Record<string, unknown>) : null;
  } catch {
    // not JSON: json stays null
  }
  return { status: r.status, json };
}

/** An error field that says nothing: an empty string, or an object or array with nothing in it. */
const isEmpty = (v: unknown): boolean => v === '' || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);

/**
 * Which of the fields a facilitator names a failure in (`error`, spec §1.5; CDP-style `invalidReason`
 * / `errorReason`) an answer gives, and which of those are empty: `{"error": {}}` is what
 * JSON.stringify makes of an Error object.
 */
export function reasonFields(json: Record<string, unknown> | null | undefined): { given: string[]; empty: string[] } {
  const given = json ? ['error', 'invalidReason', 'errorReason'].filter((k) => json[k] !== undefined && json[k] !== null) : [];
  return { given, empty: given.filter((k) => isEmpty(json![k])) };
}

/** A transaction hash: 0x and 64 hex digits. */
export const isTxHash = (x: unknown): x is Hex => typeof x === 'string' && /^0x[0-9a-fA-F]{64}$/.test(x);

/**
 * What a failed settlement may give as its `transaction`: nothing, "" (SettleResponse.transaction is
 * "" on failure, spec §1.2, §1.3), or the hash of a transaction it sent that then reverted or is still pending.
 */
export const failedSettlementTransaction = (tx: unknown): boolean => tx === undefined || tx === null || tx === '' || isTxHash(tx);

export const showAnswer = (a: FacilitatorAnswer) => `${a.status} ${JSON.stringify(a.json)?.slice(0, 200)}`;

/** The versions /supported lists for the offer's network (v2 when /supported cannot be read). */
export async function facilitatorVersions(ctx: RunContext, o: Offer): Promise<(1 | 2)[]> {
  const r = await ctx.fetch(`${base(ctx)}/supported`);
  const j = (await r.json().catch(() => null)) as { kinds?: { x402Version?: unknown; scheme?: unknown; network?: unknown }[] } | null;
  const kinds = Array.isArray(j?.kinds) ? j.kinds : [];
  const lists = (v: number, network: string | undefined) => kinds.some((k) => k.x402Version === v && k.scheme === 'exact' && k.network === network);
  const out: (1 | 2)[] = [];
  if (lists(2, o.req.network) || !lists(1, v1NetworkName(o.s.chainId))) out.push(2);
  if (lists(1, v1NetworkName(o.s.chainId))) out.push(1);
  return out;
}

/** The /verify and /settle body for a signed payment of the offer (its requirements changed by `reqs`). */
export function bodyOf(o: Offer, p: Signed, reqs: Record<string, unknown> = {}): unknown {
  return { x402Version: p.version, paymentPayload: p.payload, paymentRequirements: { ...requirementsFor(o, p.version), ...reqs } };
}

/** The same authorization in the other version's envelope. */
function rewrap(o: Offer, p: Signed, version: 1 | 2): Signed {
  if (p.version === version) return p;
  const inner = p.payload.payload;
  const payload = version === 1 ? { x402Version: 1, scheme: 'exact', network: v1NetworkName(o.s.chainId), payload: inner } : { x402Version: 2, accepted: requirementsFor(o, 2), payload: inner };
  return { header: encodeHeader(payload), payload, auth: p.auth, version };
}

/**
 * A payment /verify and /settle must refuse; `used`: its nonce was already used on chain; `reqs`:
 * fields of the requirements sent with it that differ from the resource's offer.
 */
interface Wrong {
  name: string;
  p: Signed;
  used: boolean;
  reqs?: Record<string, unknown>;
}

const otherChain = (chainId: number) => (chainId === 8453 ? 84532 : 8453);

/** Every wrong payment of one version (the replays reuse `settled`, a payment already on chain). */
async function wrongPayments(ctx: RunContext, o: Offer, buyer: string, version: 1 | 2, settled: Signed, freshKey: Hex): Promise<Wrong[]> {
  const now = await o.s.pendingTime();
  const amount = BigInt(version === 2 ? o.req.amount : (o.v1?.maxAmountRequired ?? o.req.amount));
  const attacker = o.s.address('attacker');
  const other = otherChain(o.s.chainId);
  const contracts = Object.values(ctx.target.chains.find((c) => c.chainId === o.s.chainId)?.contracts ?? {});
  const otherToken = (contracts.find((a) => a.toLowerCase() !== o.token.toLowerCase()) ?? '0x000000000000000000000000000000000000dEaD') as Address;
  // Requirements naming a chain the facilitator does not serve, or a contract that is no token: a
  // facilitator cannot settle either, whatever else it serves (the payment is signed for the real
  // chain, so one that serves the other chain finds the signature wrong there).
  const unservedNetwork = version === 2 ? caip2(other) : (v1NetworkName(other) ?? 'ethereum');
  const noToken = '0x000000000000000000000000000000000000dEaD' as Address;
  const kinds: {
    name: string;
    breakage?: Breakage;
    signer?: string | { key: Hex };
    mangle?: (p: Record<string, unknown>) => void;
    used?: boolean;
    reqs?: Record<string, unknown>;
  }[] = [
    { name: 'authorization.to is not payTo', breakage: { auth: { to: attacker } } },
    { name: 'signed for another token', breakage: version === 2 ? { accepted: { asset: otherToken }, domain: { verifyingContract: otherToken } } : { domain: { verifyingContract: otherToken } } },
    {
      // Signed for this chain: only the comparison of the payload's network with the requirements' refuses it.
      name: `the payload names ${version === 2 ? caip2(other) : v1NetworkName(other)}, the requirements this network (signed for chainId ${o.s.chainId})`,
      breakage: version === 2 ? { accepted: { network: caip2(other) } } : { v1Network: v1NetworkName(other) ?? 'ethereum' },
    },
    {
      name: `for another network (chainId ${other})`,
      breakage: version === 2 ? { accepted: { network: caip2(other) }, domain: { chainId: other } } : { v1Network: v1NetworkName(other), domain: { chainId: other } },
    },
    {
      name: 'scheme is not exact',
      ...(version === 2
        ? { breakage: { accepted: { scheme: 'upto' } } }
        : {
            mangle: (p: Record<string, unknown>) => {
              p.scheme = 'upto';
            },
          }),
    },
    // The payment is exact; the requirements it is judged against name another scheme (both must be exact).
    { name: 'requirements name scheme "upto", the payment is exact', reqs: { scheme: 'upto' } },
    ...(amount > 1n ? [{ name: 'one unit less than the amount', breakage: { auth: { value: amount - 1n } } }] : []),
    ...(version === 2 ? [{ name: 'one unit more than the amount', breakage: { auth: { value: amount + 1n } } }] : []),
    { name: 'expired by chain time', breakage: { auth: { validAfter: now - 7200n, validBefore: now - 1n } } },
    { name: 'not yet valid by chain time', breakage: { auth: { validAfter: now + 600n, validBefore: now + 4200n } } },
    { name: 'a new signature over an already used nonce', breakage: { auth: { nonce: settled.auth.nonce as Hex } }, used: true },
    { name: `names ${buyer} as payer, signed by the attacker`, signer: 'attacker', breakage: { auth: { from: o.s.address(buyer) } } },
    { name: 'payer holds no USDC', signer: { key: freshKey } },
    {
      name: `requirements and payload name ${unservedNetwork}, a network /supported does not list (signed for chainId ${o.s.chainId})`,
      breakage: version === 2 ? { accepted: { network: unservedNetwork } } : { v1Network: unservedNetwork },
      reqs: { network: unservedNetwork },
    },
    {
      name: `requirements and payload name asset ${noToken}, which is no token`,
      breakage: version === 2 ? { accepted: { asset: noToken }, domain: { verifyingContract: noToken } } : { domain: { verifyingContract: noToken } },
      reqs: { asset: noToken },
    },
    {
      // No facilitator serves a scheme of this name; an exact payload is no payment in it.
      name: 'requirements and payload name scheme "x402-harness-unknown"',
      ...(version === 2
        ? { breakage: { accepted: { scheme: 'x402-harness-unknown' } } }
        : {
            mangle: (p: Record<string, unknown>) => {
              p.scheme = 'x402-harness-unknown';
            },
          }),
      reqs: { scheme: 'x402-harness-unknown' },
    },
    {
      name: 'the payload carries no signature',
      mangle: (p: Record<string, unknown>) => {
        delete (p.payload as { signature?: unknown }).signature;
      },
    },
  ];
  const out: Wrong[] = [];
  for (const k of kinds) {
    const p = await sign(ctx, o, k.signer ?? buyer, version, k.breakage, now);
    if (k.mangle) k.mangle(p.payload);
    out.push({ name: k.name, p: k.mangle ? { ...p, header: encodeHeader(p.payload) } : p, used: k.used ?? false, ...(k.reqs ? { reqs: k.reqs } : {}) });
  }
  out.push({ name: 'the settled payment itself, again', p: rewrap(o, settled, version), used: true });
  return out;
}

const freshKeyArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b.map((x, i) => (i === 0 ? (x % 0xf0) + 1 : x))));

export const facilitatorSupported = defineScenario({
  kind: 'property',
  id: 'facilitator-supported',
  title: "Facilitator: GET /supported lists exact on the resource's network",
  requirements: ['X402-FAC-01'],
  ...FBASE,
  arbitrary: () => fc.constant(null),
  async run(ctx) {
    const o = await offer(ctx);
    ctx.act(`a client asks the facilitator GET ${base(ctx)}/supported`);
    const r = await ctx.fetch(`${base(ctx)}/supported`);
    const j = (await r.json().catch(() => null)) as { kinds?: { x402Version: number; scheme: string; network: string }[] } | null;
    for (const v of versions(o)) {
      const network = networkOf(o, v);
      ctx.check(
        'X402-FAC-01',
        r.status === 200 && Boolean(j?.kinds?.some((k) => k.x402Version === v && k.scheme === 'exact' && k.network === network)),
        `/supported lists x402Version ${v} exact on ${network}`,
        {
          expected: `{x402Version: ${v}, scheme: exact, network: ${network}}`,
          actual: `${r.status} ${JSON.stringify(j?.kinds ?? j)?.slice(0, 300)}`,
        },
      );
    }
  },
});

/**
 * The signers /supported names for the network (`signers["eip155:*"]` or the network's own key), if
 * it names any: the account that sent `tx` must be one of them. A facilitator that names none makes
 * no claim (the field is optional).
 */
async function expectSignerListed(ctx: RunContext, o: Offer, tx: Hex, network: string): Promise<void> {
  const r = await ctx.fetch(`${base(ctx)}/supported`);
  const j = (await r.json().catch(() => null)) as { signers?: Record<string, unknown> } | null;
  const listed = [j?.signers?.['eip155:*'], j?.signers?.[network]].filter((x) => x !== undefined);
  if (!listed.length) return;
  const from = (await o.s.public.getTransaction({ hash: tx })).from.toLowerCase();
  const names = listed.flatMap((x) => (Array.isArray(x) ? x.map((a) => String(a).toLowerCase()) : []));
  ctx.check('X402-FAC-01', names.includes(from), `the settlement was sent by a signer /supported names for ${network}`, {
    expected: `${from} among signers ${JSON.stringify(j?.signers)}`,
    actual: JSON.stringify(j?.signers),
  });
}

export const facilitatorVerify = defineScenario({
  kind: 'property',
  id: 'facilitator-verify',
  title: 'Facilitator /verify: an honest payment is valid; every wrong field is invalid; nothing moves',
  requirements: ['X402-FAC-02'],
  ...FBASE,
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), order: fc.nat(), key: freshKeyArb }),
  async run(ctx, v) {
    const o = await offer(ctx);
    // An authorization already used on chain, for the replays: paid through the resource.
    const first = versions(o)[0]!;
    ctx.act(`${v.buyer} pays the resource once (v${first}), so a used nonce exists`);
    const settled = await sign(ctx, o, v.buyer, first);
    const paid = await send(ctx, o, settled.header, { version: first });
    if (paid.res.status < 200 || paid.res.status >= 300) throw new Indeterminate('X402-FAC-02', `the honest payment through the resource was refused (${shown(paid)}); no used nonce to replay`);
    const payer = o.s.address(v.buyer);
    const cases: (Wrong | { name: string; p: Signed; honest: true })[] = [];
    const now = await o.s.pendingTime();
    for (const version of await facilitatorVersions(ctx, o)) {
      cases.push({ name: 'an honest payment', p: await sign(ctx, o, v.buyer, version, {}, now), honest: true });
      cases.push(...(await wrongPayments(ctx, o, v.buyer, version, settled, v.key)));
    }
    const snap = await holdings(ctx, o, ...cases.map((c) => c.p.auth.from as Address));
    for (const c of shuffled(cases, v.order)) {
      ctx.act(`POST /verify (v${c.p.version}): ${c.name}`);
      const a = await post(ctx, '/verify', bodyOf(o, c.p, 'reqs' in c ? c.reqs : undefined));
      if ('honest' in c) {
        ctx.check('X402-FAC-02', a.status === 200 && a.json?.isValid === true, `/verify (v${c.p.version}) says isValid:true for an honest payment`, {
          expected: '200 isValid:true',
          actual: showAnswer(a),
        });
        if (a.json?.payer !== undefined) ctx.check('X402-FAC-02', String(a.json.payer).toLowerCase() === payer.toLowerCase(), '/verify names the payer', { expected: payer, actual: a.json.payer });
      } else {
        ctx.check('X402-FAC-02', a.status < 500 && a.json?.isValid === false, `/verify (v${c.p.version}) refuses: ${c.name}`, { expected: 'isValid:false (HTTP 200 or 4xx)', actual: showAnswer(a) });
      }
      await expectUnchanged(ctx, 'X402-FAC-02', o, snap, c.p.auth, `/verify v${c.p.version} ${c.name}`, 'used' in c && c.used);
    }
  },
});

export const facilitatorSettle = defineScenario({
  kind: 'property',
  id: 'facilitator-settle',
  title: 'Facilitator /settle: an honest payment settles once, on chain, from a signer /supported names; every wrong field and the replay are refused; nothing else moves',
  requirements: ['X402-FAC-03', 'X402-FAC-01'],
  ...FBASE,
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), order: fc.nat(), key: freshKeyArb }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const payer = o.s.address(v.buyer);
    const wrong: Wrong[] = [];
    for (const version of await facilitatorVersions(ctx, o)) {
      const amount = BigInt(version === 2 ? o.req.amount : (o.v1?.maxAmountRequired ?? o.req.amount));
      const p = await sign(ctx, o, v.buyer, version);
      const snap = await holdings(ctx, o, payer);
      ctx.act(`POST /settle (v${version}): an honest payment of ${amount}`);
      const a = await post(ctx, '/settle', bodyOf(o, p));
      ctx.check('X402-FAC-03', a.status === 200 && a.json?.success === true, `/settle (v${version}) settles an honest payment`, { expected: '200 success:true', actual: showAnswer(a) });
      await expectSettledOnChain(ctx, 'X402-FAC-03', o, a.json as Settlement, { payer, amount, nonce: p.auth.nonce as Hex, network: networkOf(o, version), version });
      await expectPaid(ctx, 'X402-FAC-03', o, snap, amount, `/settle v${version}`);
      const tx = (a.json as Settlement | undefined)?.transaction;
      if (a.json?.success === true && isTxHash(tx)) await expectSignerListed(ctx, o, tx as Hex, networkOf(o, version));
      wrong.push(...(await wrongPayments(ctx, o, v.buyer, version, p, v.key)));
    }
    const snap = await holdings(ctx, o, ...wrong.map((c) => c.p.auth.from as Address));
    for (const c of shuffled(wrong, v.order)) {
      ctx.act(`POST /settle (v${c.p.version}): ${c.name}`);
      const a = await post(ctx, '/settle', bodyOf(o, c.p, c.reqs));
      ctx.check('X402-FAC-03', a.status < 500 && a.json?.success === false, `/settle (v${c.p.version}) refuses: ${c.name}`, { expected: 'success:false (HTTP 200 or 4xx)', actual: showAnswer(a) });
      const tx = a.json?.transaction;
      ctx.check('X402-FAC-03', failedSettlementTransaction(tx), `/settle (v${c.p.version}) refusal names no transaction, or a transaction hash: ${c.name}`, {
        expected: 'transaction "" (or the hash of a transaction that reverted)',
        actual: JSON.stringify(tx),
      });
      await expectUnchanged(ctx, 'X402-FAC-03', o, snap, c.p.auth, `/settle v${c.p.version} ${c.name}`, c.used);
    }
  },
});

/** Authorizations each payer sends at once in facilitator-settle-concurrent. */
const AT_ONCE_EACH = 2;

/** Authorizations a payer with funds for one sends at once: the more, the likelier two pass the checks before one lands. */
const FUNDED_FOR_ONE_AT_ONCE = 4;

/**
 * A fresh payer given funds for exactly one payment sends FUNDED_FOR_ONE_AT_ONCE different
 * authorizations to /settle at once. Several may pass the facilitator's checks before one lands, so
 * transfers can revert on chain: those must not be reported settled (X402-FAC-03: a success names
 * its own transfer, which the receipt's status and logs show; a refusal uses no nonce; the payer
 * pays at most once). With two, a loaded machine sometimes served them one after the other, and the
 * race this looks for did not happen.
 */
async function fundedForOne(ctx: RunContext, o: Offer, version: 1 | 2, amount: bigint, key: Hex): Promise<void> {
  const payer = privateKeyToAddress(key);
  const held = await o.s.balanceOf(o.token, payer);
  if (held > amount) throw new Indeterminate('X402-FAC-03', `the fresh payer ${payer} already holds ${held} > ${amount}`);
  if (held < amount) {
    ctx.act(`${BUYERS[0]} gives the fresh payer ${payer} exactly one payment (${amount - held} base units)`);
    const funded = await o.s.attempt({ role: BUYERS[0], address: o.token, abi: erc20Abi, functionName: 'transfer', args: [payer, amount - held], label: 'fund the fresh payer with one payment' });
    if (!funded.ok) throw new Indeterminate('X402-FAC-03', `could not fund the fresh payer: ${funded.reason}`);
  }
  const now = await o.s.pendingTime();
  const all: Signed[] = [];
  for (let i = 0; i < FUNDED_FOR_ONE_AT_ONCE; i++) all.push(await sign(ctx, o, { key }, version, {}, now));
  const snap = await holdings(ctx, o, payer);
  ctx.act(`POST /settle (v${version}) of ${FUNDED_FOR_ONE_AT_ONCE} different authorizations of ${payer} at once; it holds funds for one`);
  const answers = await Promise.all(all.map((p) => post(ctx, '/settle', bodyOf(o, p))));
  const settled = answers.flatMap((a, i) => (a.json?.success === true ? [i] : []));
  ctx.check('X402-FAC-03', settled.length <= 1, `at most one of the ${FUNDED_FOR_ONE_AT_ONCE} is reported settled: the payer can pay for one`, {
    expected: '0 or 1 success:true',
    actual: answers.map(showAnswer).join(' | '),
  });
  for (const [i, a] of answers.entries()) {
    const p = all[i]!;
    if (a.json?.success === true) {
      await expectSettledOnChain(ctx, 'X402-FAC-03', o, a.json as Settlement, { payer, amount, nonce: p.auth.nonce as Hex, network: networkOf(o, version), version });
    } else {
      const used = await nonceUsed(o, p.auth);
      ctx.check('X402-FAC-03', a.status < 500 && !used, `authorization ${i + 1} of ${FUNDED_FOR_ONE_AT_ONCE}, refused (${showAnswer(a)}), used no nonce (not a 5xx)`, {
        expected: 'authorizationState false, not a 5xx',
        actual: `${used}, ${a.status}`,
      });
    }
  }
  if (settled.length === 1) await expectPaid(ctx, 'X402-FAC-03', o, snap, amount, `one of ${FUNDED_FOR_ONE_AT_ONCE} authorizations, funds for one`);
  else await expectNothingMoved(ctx, 'X402-FAC-03', o, snap, `${FUNDED_FOR_ONE_AT_ONCE} authorizations refused, funds for one`);
}

export const facilitatorSettleConcurrent = defineScenario({
  kind: 'property',
  id: 'facilitator-settle-concurrent',
  title:
    'Facilitator /settle: four honest payments sent at once (two payers, two each) each settle on chain, once; of four authorizations of a payer with funds for one, sent at once, at most one is reported settled',
  requirements: ['X402-FAC-05', 'X402-FAC-03'],
  // Each run sends the same four at once; more runs only vary the order (npm start stays quick).
  maxRuns: 2,
  ...FBASE,
  arbitrary: () => fc.record({ order: fc.nat(), key: freshKeyArb }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const version = (await facilitatorVersions(ctx, o))[0]!;
    const amount = BigInt(version === 2 ? o.req.amount : (o.v1?.maxAmountRequired ?? o.req.amount));
    const payments: { buyer: string; p: Signed }[] = [];
    for (const buyer of BUYERS) for (let i = 0; i < AT_ONCE_EACH; i++) payments.push({ buyer, p: await sign(ctx, o, buyer, version) });
    const sent = shuffled(payments, v.order);
    const snaps = await Promise.all(BUYERS.map((b) => holdings(ctx, o, o.s.address(b))));
    ctx.act(`POST /settle (v${version}) ${sent.length} honest payments of ${amount} at once: ${sent.map((x) => x.buyer).join(', ')}`);
    const answers = await Promise.all(sent.map((x) => post(ctx, '/settle', bodyOf(o, x.p))));
    for (const [i, a] of answers.entries()) {
      const { buyer, p } = sent[i]!;
      const payer = o.s.address(buyer);
      if (a.json?.success === true) {
        await expectSettledOnChain(ctx, 'X402-FAC-03', o, a.json as Settlement, { payer, amount, nonce: p.auth.nonce as Hex, network: networkOf(o, version), version });
      } else {
        const used = await nonceUsed(o, p.auth);
        ctx.check('X402-FAC-03', !used, `a refused settlement (${showAnswer(a)}) used no nonce`, { expected: 'authorizationState false', actual: used });
      }
    }
    // Each payer debited once per success (payTo gains the sum: one snapshot per payer sees all of it).
    const settledOf = (b: string) => answers.filter((a, i) => sent[i]!.buyer === b && a.json?.success === true).length;
    const after = await Promise.all(BUYERS.map((b) => ctx.balancesOf(o.s, o.token, { payer: o.s.address(b) })));
    for (const [i, b] of BUYERS.entries()) {
      const moved = snaps[i]!.before.payer! - after[i]!.before.payer!;
      ctx.check('X402-FAC-03', moved === amount * BigInt(settledOf(b)), `${b} is debited once per settled payment`, { expected: String(amount * BigInt(settledOf(b))), actual: String(moved) });
    }
    await fundedForOne(ctx, o, version, amount, v.key);
    // Last: the money checks above are the MUST.
    ctx.check(
      'X402-FAC-05',
      answers.every((a) => a.json?.success === true),
      `/settle (v${version}) settles each of ${sent.length} honest payments sent at once`,
      {
        expected: `${sent.length} × success:true`,
        actual: answers.map(showAnswer).join(' | '),
      },
    );
  },
});

export const facilitatorMalformed = defineScenario({
  kind: 'property',
  id: 'facilitator-malformed',
  title: 'Facilitator: a /verify or /settle body that is not JSON, empty, or missing a field gets a 4xx',
  requirements: ['X402-FAC-04'],
  ...FBASE,
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), order: fc.nat() }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const p = await sign(ctx, o, v.buyer, 2);
    const reqs = requirementsFor(o, 2);
    const bodies: [string, string][] = [
      ['a body that is not JSON', '{"x402Version":2,'],
      ['an empty body', ''],
      ['no paymentPayload', JSON.stringify({ x402Version: 2, paymentRequirements: reqs })],
      ['no paymentRequirements', JSON.stringify({ x402Version: 2, paymentPayload: p.payload })],
    ];
    const snap = await holdings(ctx, o, p.auth.from as Address);
    const sends = shuffled(
      bodies.flatMap(([what, body]) => (['/verify', '/settle'] as const).map((route) => ({ what, body, route }))),
      v.order,
    );
    for (const s of sends) {
      ctx.act(`POST ${s.route} with ${s.what}`);
      const a = await post(ctx, s.route, s.body);
      ctx.check('X402-FAC-04', a.status >= 400 && a.status < 500 && a.json?.isValid !== true && a.json?.success !== true, `${s.route} answers ${s.what} with a 4xx`, {
        expected: '4xx',
        actual: showAnswer(a),
      });
      // "A missing body field gets 400 {error}" (spec §1.5); CDP-style answers name the reason in invalidReason/errorReason instead.
      // Whichever it uses, a field it gives is not empty: `{"error": {}}` is what JSON.stringify makes of an Error object.
      const { given, empty } = reasonFields(a.json);
      ctx.check('X402-FAC-04', given.length > empty.length && empty.length === 0, `${s.route}'s 4xx for ${s.what} says what is wrong (error, invalidReason or errorReason; none of them empty)`, {
        expected: '{error} (or invalidReason / errorReason), each given one not empty',
        actual: `${showAnswer(a)}${empty.length ? ` (empty: ${empty.join(', ')})` : ''}`,
      });
      if (s.route === '/settle')
        ctx.check('X402-FAC-04', failedSettlementTransaction(a.json?.transaction), `/settle's 4xx for ${s.what} names no transaction, or a transaction hash`, {
          expected: 'transaction "" (or absent)',
          actual: JSON.stringify(a.json?.transaction),
        });
      await expectUnchanged(ctx, 'X402-FAC-04', o, snap, p.auth, `${s.route} ${s.what}`);
    }
  },
});

export const facilitatorScenarios = [facilitatorSupported, facilitatorVerify, facilitatorSettle, facilitatorSettleConcurrent, facilitatorMalformed];
