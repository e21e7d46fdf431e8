/**
 * AI Market on a bad network (issue 15): a fault proxy in front of the hub delivers one paid call
 * twice, both copies at once and one after the other's answer, for a call paid by X-Payment and for
 * one paid by a channel (every case in every run). The buyer sees the first delivery's answer; the
 * proxy records both. Faults on the buyer's side need no capability: `amh certify` runs this against
 * any hub.
 *
 * The X-Payment transaction is the call's only payment: one delivery is served, the other gets the
 * same answer (the same receipt) or a 4xx. A channel call carries no idempotency key (profile
 * AIM-PROF-19), so a hub may serve the copy as a second call: then each served copy is exactly one
 * debit with its own receipt, and a copy it refuses costs nothing.
 */
import fc from 'fast-check';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { describeHit, expectFired, type FaultProxy, type UpstreamAnswer, withFaultProxy } from '../../harness/faults/index.ts';
import { checkReceipt, receiptOf } from '../../reference-impl/aimarket/agents/buyer.ts';
import { type HubClient, hubClient } from '../../reference-impl/aimarket/agents/hub-client.ts';
import { centsCeil, parseUsdMicros } from '../../reference-impl/aimarket/protocol/money.ts';
import { SettlementSchema, type Tool } from '../../reference-impl/aimarket/protocol/wire.ts';
import { balanceCents, centsOf, chainFor, discovered, HUB, hubOf, type OpenedChannel, openChannel, payerOf, requirementFor, short, textTools } from './lab.ts';

const REQ = 'AIM-FLT-01';
const CASES = [
  { pay: 'x-payment', mode: 'concurrent' },
  { pay: 'x-payment', mode: 'sequential' },
  { pay: 'channel', mode: 'concurrent' },
  { pay: 'channel', mode: 'sequential' },
] as const;
type Case = (typeof CASES)[number];

const DELIVERY = { concurrent: 'both copies at once', sequential: 'the copy after the first was answered' } as const;

/** One delivery's answer as the hub gave it: status, text, and the receipt's nonce when it served the call. */
interface Delivery {
  status: number;
  text: string;
  served: boolean;
  nonce?: string;
}

function deliveryOf(a: UpstreamAnswer): Delivery {
  const text = a.body.toString('utf8');
  let success = false;
  try {
    success = (JSON.parse(text) as { success?: unknown }).success === true;
  } catch {
    /* not JSON: not served */
  }
  const nonce = receiptOf(text)?.nonce;
  return { status: a.status, text, served: a.status === 200 && success, ...(typeof nonce === 'string' ? { nonce } : {}) };
}

/**
 * Every delivery is served (200 success with a receipt that verifies and is found by its nonce) or
 * refused with a 4xx, never a 5xx; answers the distinct receipts of the served ones (a copy answered
 * with the same receipt is the same call).
 */
async function judgeDeliveries(ctx: RunContext, hub: HubClient, pinned: string, deliveries: Delivery[], what: string): Promise<Set<string>> {
  const receipts = new Set<string>();
  for (const [i, x] of deliveries.entries()) {
    const who = `${what}, delivery ${i + 1} of 2`;
    ctx.check(REQ, x.served || (x.status >= 400 && x.status < 500), `${who}: served (200 success) or refused with a 4xx, never a 5xx`, {
      expected: '200 success or a 4xx',
      actual: `${x.status} ${x.text.slice(0, 160)}`,
    });
    if (!x.served) {
      ctx.check(REQ, x.nonce === undefined, `${who}: a refused copy runs nothing (no receipt)`, { expected: 'no receipt', actual: x.text.slice(0, 160) });
      continue;
    }
    const v = checkReceipt(x.text, pinned);
    ctx.check(REQ, v.ok && x.nonce !== undefined, `${who}: the served copy carries a receipt that verifies under the pinned key (${v.generation}: ${v.reason})`, {
      expected: 'a verified receipt',
      actual: x.text.slice(0, 160),
    });
    if (receipts.has(x.nonce!)) continue;
    receipts.add(x.nonce!);
    // The buyer saw only the first answer: a call it never saw must still be accounted for by its receipt.
    const look = await hub.receipt(x.nonce!);
    ctx.check(REQ, look.status === 200 && checkReceipt(look.text, pinned).ok, `${who}: its receipt ${short(x.nonce)} is found by GET /ai-market/receipt/{nonce}`, {
      expected: '200, a verified receipt',
      actual: `${look.status} ${look.text.slice(0, 120)}`,
    });
  }
  return receipts;
}

/** Run the fault for one case and return both deliveries' answers (the first is the one the buyer saw). */
async function deliveredTwice(ctx: RunContext, hub: HubClient, proxy: FaultProxy, c: Case, send: (via: HubClient) => Promise<unknown>): Promise<Delivery[]> {
  const fault = proxy.arm({
    name: `the ${c.pay === 'channel' ? 'channel-paid' : 'X-Payment'} call delivered twice (${DELIVERY[c.mode]})`,
    when: { method: 'POST', path: /\/invoke$/, header: c.pay === 'channel' ? 'x-payment-channel' : 'x-payment' },
    action: { kind: 'duplicate', mode: c.mode },
  });
  await send(hubClient(proxy.through(hub.url), ctx.fetch));
  await fault.settled();
  expectFired(fault, REQ, 'the paid call never reached the proxy');
  const hit = fault.hits[0]!;
  ctx.evidence.note(describeHit(fault, hit));
  ctx.check(REQ, hit.errors.length === 0 && hit.upstream.length === 2, 'both deliveries are answered', { expected: '2 answers', actual: describeHit(fault, hit) });
  return hit.upstream.map(deliveryOf);
}

async function xPaymentTwice(ctx: RunContext, hub: HubClient, pinned: string, proxy: FaultProxy, t: Tool, role: string, c: Case, text: string) {
  const input = { text };
  const { req, amount } = await requirementFor(ctx, hub, t.product_id, t.capability_id, input, REQ);
  const chain = await chainFor(ctx, req, REQ);
  const tx = await payerOf(ctx, chain.session, role).transfer(chain.token, req.recipient, amount);
  if (!tx.ok) throw new Indeterminate(REQ, `setup: the payment transfer failed (${tx.reason})`);
  ctx.act(`${role} invokes ${t.name} with X-Payment {"tx_hash": ${short(tx.hash)}}; the network delivers it twice (${DELIVERY[c.mode]})`);
  const deliveries = await deliveredTwice(ctx, hub, proxy, c, (via) => via.invoke(t.product_id, t.capability_id, input, { txHash: tx.hash, chain: req.chain }));
  const receipts = await judgeDeliveries(ctx, hub, pinned, deliveries, 'the X-Payment call');
  ctx.check(REQ, receipts.size === 1, 'one payment pays one call: exactly one served call (one receipt) across both deliveries', {
    expected: '1 receipt',
    actual: `${receipts.size}: ${deliveries.map((x) => `${x.status} ${x.nonce ?? ''}`).join(' | ')}`,
  });
  ctx.act(`${role} presents ${short(tx.hash)} once more`);
  const again = await hub.invoke(t.product_id, t.capability_id, input, { txHash: tx.hash, chain: req.chain });
  ctx.expectRefused(REQ, { status: again.status, body: again.body }, 'afterwards the payment is used: presented again it is refused');
}

async function channelTwice(ctx: RunContext, hub: HubClient, pinned: string, proxy: FaultProxy, t: Tool, ch: OpenedChannel, c: Case, text: string, used: bigint) {
  const cents = centsCeil(parseUsdMicros(t.price_per_call_usd));
  ctx.act(`the buyer calls ${t.name} on channel ${short(ch.id)}; the network delivers it twice (${DELIVERY[c.mode]})`);
  const deliveries = await deliveredTwice(ctx, hub, proxy, c, (via) => via.invoke(t.product_id, t.capability_id, { text }, { channel: ch.id }));
  const receipts = await judgeDeliveries(ctx, hub, pinned, deliveries, 'the channel call');
  ctx.check(REQ, receipts.size >= 1, 'the funded call is served at least once', { expected: '≥ 1 receipt', actual: deliveries.map((x) => `${x.status} ${x.text.slice(0, 80)}`).join(' | ') });
  const now = used + BigInt(receipts.size) * cents;
  const b = await balanceCents(hub, ch.id);
  if (b !== undefined) ctx.expectEqual(REQ, b, ch.depositCents - now, `the channel is debited exactly once per served call (${receipts.size} × ${cents} cents): deposit − debits`);
  return now;
}

export const duplicateDelivery = defineScenario({
  kind: 'property',
  id: 'fault-duplicate-delivery',
  title: 'A paid call delivered twice (at once, and one after the other): an X-Payment pays one call; a channel is debited once per served call; the copy never gets a 5xx',
  requirements: [REQ],
  ...HUB,
  roles: ['buyer1', 'buyer2'],
  // Every case runs in every run; more runs only vary the payer, the text and the order.
  maxRuns: 3,
  arbitrary: () =>
    fc.record({
      payer: fc.constantFrom('buyer1', 'buyer2'),
      text: fc.string({ minLength: 1, maxLength: 24 }).filter((x) => !x.includes('fail')),
      cases: fc.shuffledSubarray([...CASES], { minLength: CASES.length }),
    }),
  async run(ctx, v) {
    const hub = hubOf(ctx);
    const d = await discovered(ctx, hub, REQ);
    const t = textTools(d.manifest.tools)[0];
    if (!t) throw new Indeterminate(REQ, 'the catalog has no tool callable with {text}');
    const pinned = d.wellKnown.signer_public_key;
    // Room for every channel copy served: two cases, two copies each.
    const cents = 4n * centsCeil(parseUsdMicros(t.price_per_call_usd)) + 10n + BigInt(Date.now() % 10_000);
    const ch = await openChannel(ctx, hub, t, v.payer, cents, REQ);
    let used = 0n;
    await withFaultProxy(hub.url, async (proxy) => {
      for (const c of v.cases) {
        if (c.pay === 'x-payment') await xPaymentTwice(ctx, hub, pinned, proxy, t, v.payer, c, v.text);
        else used = await channelTwice(ctx, hub, pinned, proxy, t, ch, c, v.text, used);
      }
    });
    ctx.act(`the buyer closes channel ${short(ch.id)}`);
    const a = await hub.closeChannel(ch.id);
    const p = SettlementSchema.safeParse(a.body);
    ctx.check(REQ, a.status === 200 && p.success, 'close answers {settlement}', { expected: '200 settlement', actual: `${a.status} ${a.text.slice(0, 160)}` });
    ctx.expectEqual(REQ, centsOf(p.data!.settlement.used_usd), used, 'close charges exactly the served calls (one debit each)');
  },
});

export const faultScenarios = [duplicateDelivery];
