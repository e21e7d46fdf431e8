/**
 * The Lightning network the target runs (`asa-lightning`): per run a fresh topology of two
 * two-hop paths (payer → H1 → payee, payer → H2 → payee) with generated liquidity and fee
 * policies, then a sequence of payments. The oracle is the fee math of the protocol library:
 * every settled payment moves exactly amount + the forwarders' base + ppm fees over the cheapest
 * path that can carry it, every refused one (no liquidity, or a fee limit below every such path)
 * moves nothing, and the sum of balances never changes. `ln-api-refusals` sends the network API
 * requests it must refuse.
 */
import { secp256k1 } from '@noble/curves/secp256k1';
import fc from 'fast-check';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { type Graph, type LightningClient, LnError, nodeBalances } from '../../reference-impl/asa/agents/lightning.ts';
import { decodeInvoice } from '../../reference-impl/asa/protocol/invoice.ts';
import { sha256hex } from '../../reference-impl/asa/protocol/macaroons.ts';
import { hopFee } from '../../reference-impl/asa/protocol/routing.ts';
import { LightningClient as Client } from '../../reference-impl/asa/agents/lightning.ts';
import { flushSoft, fresh, LIVE, short, soft } from './lab.ts';

const LN = { endpoints: ['asa-lightning'], ...LIVE };
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

interface Topo {
  ln: LightningClient;
  payer: string;
  payee: string;
  hubs: [string, string];
  channels: string[];
  policy: { baseMsat: bigint; ppm: bigint }[];
}

async function topology(ctx: RunContext, req: string, liq: { a: bigint; b: bigint }[], fees: { base: number; ppm: number }[]): Promise<Topo> {
  const ln = new Client(ctx.endpoint('asa-lightning').url, ctx.fetch);
  try {
    const [payer, payee, h1, h2] = await Promise.all([0, 1, 2, 3].map(async () => (await ln.addNode(hex(fresh()))).pubkey));
    const hubs: [string, string] = [h1!, h2!];
    const channels: string[] = [];
    for (const [i, h] of hubs.entries()) {
      const pol = { baseMsat: String(fees[i]!.base), ppm: String(fees[i]!.ppm), cltvDelta: 40 };
      channels.push((await ln.openChannel({ node1: payer!, node2: h, balance1Msat: liq[i]!.a, balance2Msat: 0n })).id);
      channels.push((await ln.openChannel({ node1: h, node2: payee!, balance1Msat: liq[i]!.b, balance2Msat: 0n, policy1: pol })).id);
    }
    ctx.act(
      `a payer, a payee and two forwarders: path 1 liquidity ${liq[0]!.a}/${liq[0]!.b} msat (fee ${fees[0]!.base}+${fees[0]!.ppm}ppm), path 2 ${liq[1]!.a}/${liq[1]!.b} msat (fee ${fees[1]!.base}+${fees[1]!.ppm}ppm)`,
    );
    return { ln, payer: payer!, payee: payee!, hubs, channels, policy: fees.map((f) => ({ baseMsat: BigInt(f.base), ppm: BigInt(f.ppm) })) };
  } catch (e) {
    throw new Indeterminate(req, `the network does not let the harness build a topology: ${(e as Error).message}`);
  }
}

/** Balances of the topology's nodes and the network total. */
function view(g: Graph, t: Topo) {
  const mine = g.channels.filter((c) => t.channels.includes(c.id));
  const b = nodeBalances({ ...g, channels: mine });
  const first = mine.find((c) => c.id === t.channels[0]);
  // The payer's side of its channel to H1 tells which path carried a payment (a zero fee leaves H1's total unchanged).
  const via1 = first ? BigInt(first.node1 === t.payer ? first.balance1Msat : first.balance2Msat) : 0n;
  return { payer: b.get(t.payer) ?? 0n, payee: b.get(t.payee) ?? 0n, h1: b.get(t.hubs[0]) ?? 0n, h2: b.get(t.hubs[1]) ?? 0n, via1, total: BigInt(g.totalMsat) };
}

export const routing = defineScenario({
  kind: 'property',
  id: 'ln-routing-exhaustion',
  title:
    'Payments over two paths: each settles over the cheapest path that can carry it with exactly the forwarder’s base + ppm fee and conserves money; when one path is exhausted the next payment routes around; a payment no path can carry, or none within the payer’s fee limit, moves nothing',
  requirements: ['ASA-LN-02', 'ASA-LN-03', 'ASA-LN-05'],
  ...LN,
  arbitrary: () =>
    fc.record({
      liq: fc.tuple(...[0, 1].map(() => fc.record({ a: fc.bigInt(50_000n, 400_000n), b: fc.bigInt(50_000n, 400_000n) }))),
      fees: fc.tuple(...[0, 1].map(() => fc.record({ base: fc.integer({ min: 0, max: 2000 }), ppm: fc.integer({ min: 0, max: 20_000 }) }))),
      amounts: fc.array(fc.bigInt(10_000n, 300_000n), { minLength: 2, maxLength: 5 }),
    }),
  async run(ctx, v) {
    const t = await topology(ctx, 'ASA-LN-02', v.liq, v.fees);
    // The oracle's own copy of each path's liquidity (sender side of each hop).
    const liq = v.liq.map((l) => ({ a: l.a, b: l.b }));
    const amounts = [...v.amounts, liq[0]!.a + liq[1]!.a + 1n];
    for (const amount of amounts) {
      const feasible = [0, 1].filter((i) => {
        const fee = hopFee(t.policy[i]! as never, amount);
        return liq[i]!.b >= amount && liq[i]!.a >= amount + fee;
      });
      const before = view(await t.ln.graph(), t);
      const inv = await t.ln.invoice(t.payee, { amountMsat: amount, description: 'asa routing check' });
      const fees = [0, 1].map((i) => hopFee(t.policy[i]! as never, amount));
      // biome-ignore lint/complexity/useMathMinMax: bigint msat; Math.min takes numbers only
      const cheapest = feasible.length ? feasible.map((i) => fees[i]!).reduce((a, b) => (a < b ? a : b)) : 0n;
      if (cheapest > 0n) {
        // A fee limit just below every route that can carry it leaves no route: refused, nothing moves, the invoice stays payable.
        ctx.act(`the payer pays ${amount} msat with maxFeeMsat ${cheapest - 1n} (the cheapest route that can carry it costs ${cheapest} msat)`);
        const capped = await t.ln.pay(t.payer, inv.paymentRequest, { maxFeeMsat: cheapest - 1n }).then(
          () => null,
          (e: unknown) => {
            if (!(e instanceof LnError)) throw e;
            return e;
          },
        );
        ctx.check('ASA-LN-03', capped !== null && capped.status >= 400 && capped.status < 500, 'a payment no route can carry within the payer’s maxFeeMsat is refused with a 4xx', {
          expected: '4xx (no route within the fee limit)',
          actual: capped ? `${capped.status} ${capped.code}` : 'settled above the fee limit',
        });
        ctx.expectEqual('ASA-LN-03', view(await t.ln.graph(), t), before, 'a payment refused for its fee limit moves nothing');
      }
      ctx.act(`the payer pays ${amount} msat (${feasible.length ? `path ${feasible.map((i) => i + 1).join(' or ')} can carry it` : 'no path can carry it'})`);
      let res: Awaited<ReturnType<LightningClient['pay']>> | null = null;
      let err: LnError | null = null;
      try {
        res = await t.ln.pay(t.payer, inv.paymentRequest);
      } catch (e) {
        if (!(e instanceof LnError)) throw e;
        err = e;
      }
      const after = view(await t.ln.graph(), t);
      ctx.expectEqual('ASA-LN-02', after.total, before.total, 'the sum of all channel balances does not change');
      if (!feasible.length) {
        ctx.check('ASA-LN-03', err !== null && err.status >= 400 && err.status < 500, 'a payment no route can carry is refused with a 4xx', {
          expected: '4xx NO_ROUTE',
          actual: err ? `${err.status} ${err.code}` : 'settled',
        });
        ctx.expectEqual('ASA-LN-03', after, before, 'a refused payment moves nothing');
        continue;
      }
      ctx.check('ASA-LN-03', res !== null, 'a payment some route can carry settles (it routes around an exhausted path)', {
        expected: 'settled',
        actual: err ? `${err.status} ${err.code}: ${err.message}` : 'settled',
      });
      ctx.expectEqual('ASA-LN-02', sha256hex(res!.preimage), decodeInvoice(inv.paymentRequest).paymentHash, 'the preimage hashes to the payment hash');
      const used = after.via1 !== before.via1 ? 0 : 1;
      const fee = fees[used]!;
      ctx.check('ASA-LN-02', feasible.includes(used), 'the route used had the liquidity', { expected: `path ${feasible.map((i) => i + 1).join('/')}`, actual: `path ${used + 1}` });
      soft(ctx, 'ASA-LN-05', fee === cheapest, 'the payment takes the cheapest route that can carry it', {
        expected: `a route with fee ${cheapest} msat (path ${feasible
          .filter((i) => fees[i] === cheapest)
          .map((i) => i + 1)
          .join(' or ')})`,
        actual: `path ${used + 1}, fee ${fee} msat`,
      });
      ctx.expectEqual('ASA-LN-02', before.payer - after.payer, amount + fee, `the payer loses amount + the forwarder’s fee (${fee} msat)`);
      ctx.expectEqual('ASA-LN-02', after.payee - before.payee, amount, 'the payee gains the amount');
      ctx.expectEqual('ASA-LN-02', used === 0 ? after.h1 - before.h1 : after.h2 - before.h2, fee, 'the forwarder gains base + amount × ppm / 10^6');
      ctx.expectEqual('ASA-LN-02', (await t.ln.lookup(t.payee, inv.paymentHash)).state, 'SETTLED', 'the payee’s invoice is SETTLED');
      liq[used]!.a -= amount + fee;
      liq[used]!.b -= amount;
    }
    flushSoft(ctx);
  },
});

export const invoiceRules = defineScenario({
  kind: 'property',
  id: 'ln-invoice-once',
  title: 'A settled invoice cannot be paid again and an expired one cannot be paid; neither attempt moves anything',
  requirements: ['ASA-LN-04'],
  ...LN,
  arbitrary: () => fc.bigInt(1_000n, 100_000n),
  async run(ctx, amount) {
    const t = await topology(
      ctx,
      'ASA-LN-04',
      [
        { a: 1_000_000n, b: 1_000_000n },
        { a: 1_000_000n, b: 1_000_000n },
      ],
      [
        { base: 1000, ppm: 100 },
        { base: 1000, ppm: 100 },
      ],
    );
    const inv = await t.ln.invoice(t.payee, { amountMsat: amount, description: 'pay once' });
    ctx.act(`the payer pays ${amount} msat, then the same invoice again`);
    await t.ln.pay(t.payer, inv.paymentRequest);
    const before = view(await t.ln.graph(), t);
    const again = await t.ln.pay(t.payer, inv.paymentRequest).then(
      () => null,
      (e: unknown) => e as LnError,
    );
    ctx.check('ASA-LN-04', again instanceof LnError && again.status >= 400 && again.status < 500, 'paying a settled invoice again is refused with a 4xx', {
      expected: '4xx ALREADY_PAID',
      actual: again ? `${again.status} ${again.code}` : 'paid twice',
    });
    ctx.expectEqual('ASA-LN-04', view(await t.ln.graph(), t), before, 'the second attempt moves nothing');
    const short1 = await t.ln.invoice(t.payee, { amountMsat: amount, description: 'expires', expiry: 1 });
    ctx.act(`the payee issues an invoice that expires in 1 s (${short(short1.paymentHash)}); the payer pays it 2 s later`);
    await new Promise((r) => setTimeout(r, Math.max(0, short1.expiresAt * 1000 - Date.now()) + 50));
    const late = await t.ln.pay(t.payer, short1.paymentRequest).then(
      () => null,
      (e: unknown) => e as LnError,
    );
    ctx.check('ASA-LN-04', late instanceof LnError && late.status >= 400 && late.status < 500, 'an expired invoice is refused with a 4xx', {
      expected: '4xx INVOICE_EXPIRED',
      actual: late ? `${late.status} ${late.code}` : 'paid after expiry',
    });
    ctx.expectEqual('ASA-LN-04', view(await t.ln.graph(), t), before, 'the late attempt moves nothing');
  },
});

/** Requests the network API must refuse, each with what it would have done had it not. */
const API_ATTACKS = ['unknown-peer', 'self-channel', 'no-route', 'no-invoice', 'wrong-method', 'wrong-path'] as const;
type ApiAttack = (typeof API_ATTACKS)[number];

export const apiRefusals = defineScenario({
  kind: 'property',
  id: 'ln-api-refusals',
  title:
    'The network API refuses a channel to an unregistered node or to the node itself, a path that is no route, a payment without an invoice, and a valid invoice sent with another method or to another path, each with a 4xx, and none of them changes a channel or pays the invoice',
  requirements: ['ASA-LN-06'],
  ...LN,
  // Every attack in every run (scenario rule 4), in a generated order.
  arbitrary: () => fc.shuffledSubarray([...API_ATTACKS], { minLength: API_ATTACKS.length }),
  async run(ctx, order: ApiAttack[]) {
    const t = await topology(
      ctx,
      'ASA-LN-06',
      [
        { a: 1_000_000n, b: 1_000_000n },
        { a: 1_000_000n, b: 1_000_000n },
      ],
      [
        { base: 1000, ppm: 100 },
        { base: 1000, ppm: 100 },
      ],
    );
    const base = ctx.endpoint('asa-lightning').url.replace(/\/+$/, '');
    // A well-formed node id nobody registered (a fresh key's compressed pubkey).
    const unknown = hex(secp256k1.getPublicKey(fresh(), true));
    const ours = new Set([t.payer, t.payee, ...t.hubs, unknown]);
    const inv = await t.ln.invoice(t.payee, { amountMsat: 10_000n, description: 'asa api refusals' });
    const state = async () => {
      const g = await t.ln.graph();
      return { view: view(g, t), channels: g.channels.filter((c) => ours.has(c.node1) || ours.has(c.node2)).map((c) => c.id) };
    };
    const before = await state();
    const send = async (method: string, path: string, body?: unknown) => {
      const res = await ctx.fetch(`${base}${path}`, {
        method,
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.text()).slice(0, 200) };
    };
    const channel = (node2: string) => ({ node1: t.payer, node2, balance1Msat: '100000', balance2Msat: '0' });
    for (const attack of order) {
      const [what, method, path, body] = (
        {
          'unknown-peer': [`a channel from the payer to the unregistered node ${short(unknown)}`, 'POST', '/v1/channels', channel(unknown)],
          'self-channel': ['a channel from the payer to itself', 'POST', '/v1/channels', channel(t.payer)],
          'no-route': ['GET of a path that is no route', 'GET', `/v1/no-such-route-${Math.random().toString(36).slice(2, 8)}`, undefined],
          'no-invoice': ['a payment with no paymentRequest', 'POST', `/v1/nodes/${t.payer}/payments`, {}],
          'wrong-method': ['the payee’s valid invoice to the payments route with PUT', 'PUT', `/v1/nodes/${t.payer}/payments`, { paymentRequest: inv.paymentRequest }],
          'wrong-path': ['the payee’s valid invoice POSTed to /pay, a path that is no route', 'POST', `/v1/nodes/${t.payer}/pay`, { paymentRequest: inv.paymentRequest }],
        } satisfies Record<ApiAttack, [string, string, string, unknown]>
      )[attack];
      ctx.act(`the harness sends ${what}: ${method} ${path}`);
      const r = await send(method, path, body);
      ctx.expectRefused('ASA-LN-06', r, `${what} is refused with a 4xx`);
      ctx.expectEqual('ASA-LN-06', await state(), before, `${what} changes no channel and no balance`);
      ctx.check('ASA-LN-06', (await t.ln.lookup(t.payee, inv.paymentHash)).state !== 'SETTLED', `${what} leaves the invoice unpaid`, { expected: 'not SETTLED', actual: 'SETTLED' });
    }
    ctx.act('the payer pays the invoice on the payments route');
    try {
      await t.ln.pay(t.payer, inv.paymentRequest);
    } catch (e) {
      throw new Indeterminate('ASA-LN-06', `the invoice the refused requests carried cannot be paid on the payments route either, so their refusals show nothing: ${(e as Error).message}`);
    }
  },
});
