/**
 * The AI Market hub across crashes (issue 15, capability `restart`): the hub is killed with SIGKILL
 * and restarted by the target's restart control at every step boundary of a channel's life and of
 * a paid call: after the channel was opened on its deposit, after a debited call (and a failed,
 * refunded one where the target names a failure fixture), after an X-Payment call (the last step
 * before close), and after close. After each restart everything the hub answered before still
 * holds: the channel's balance is the deposit minus exactly the debits made (none lost, none applied
 * twice), every used transaction (the deposit, the X-Payment) is still refused, every receipt is
 * still found and verifies under the key pinned before the first crash, a closed channel stays
 * closed and its refund is not paid again, and no token moved that the model does not say.
 */
import fc from 'fast-check';
import type { Hex } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import type { Capability } from '../../harness/target/schema.ts';
import { checkReceipt, receiptOf } from '../../reference-impl/aimarket/agents/buyer.ts';
import { type HubClient, hubClient } from '../../reference-impl/aimarket/agents/hub-client.ts';
import { centsCeil, parseUsdMicros } from '../../reference-impl/aimarket/protocol/money.ts';
import { SettlementSchema, type Tool } from '../../reference-impl/aimarket/protocol/wire.ts';
import { balanceCents, centsOf, chainFor, configOf, discovered, HUB, type OpenedChannel, openChannel, payerOf, requirementFor, short, textTools, tokenBalances, transfersIn } from './lab.ts';

const REQ = 'AIM-RST-01';

/** What the hub has answered so far, which every restart must leave as it was. */
interface Seen {
  hub: HubClient;
  pinned: string;
  tool: Tool;
  ch: OpenedChannel;
  /** Debits in cents so far (the model: deposit − used is the balance). */
  used: bigint;
  closed: boolean;
  /** Whether the hub serves the v2 balance route (a v1 hub shows the debits only at close). */
  observable: boolean;
  /** Every receipt the hub issued: nonce and signature value. */
  receipts: { nonce: string; sig: string; what: string }[];
  /** The X-Payment transaction already used, with the call it paid. */
  paid?: { tx: Hex; chain: string; input: Record<string, unknown> };
  /** Token balances of the payer and the hub's recipient after the last step. */
  money: { payer: bigint; hub: bigint };
  /** The refund close reported: executed on chain (exactly once) or owed (at most once). */
  refund?: { cents: bigint; executed: boolean; payerBeforeClose: bigint };
}

const show = (a: { status: number; text: string }) => `${a.status} ${a.text.slice(0, 160)}`;

/** Keep a served answer's receipt for the later checks; false when it carries none. */
function keepReceipt(s: Seen, text: string, what: string): boolean {
  const rc = receiptOf(text);
  const sig = (rc?.signature as { value?: unknown } | undefined)?.value;
  if (!rc || typeof rc.nonce !== 'string' || typeof sig !== 'string') return false;
  s.receipts.push({ nonce: rc.nonce, sig, what });
  return true;
}

/** Everything the hub said before must still hold after the restart (checked after every crash). */
async function observe(ctx: RunContext, s: Seen, boundary: string): Promise<void> {
  const at = `after the restart ${boundary}`;
  // A restart moves no token, except a refund close reported as owed, paid later and at most once.
  const money = await tokenBalances(s.ch);
  if (s.refund && !s.refund.executed) {
    const paidOut = money.payer - s.refund.payerBeforeClose;
    ctx.check(REQ, paidOut >= 0n && paidOut <= s.refund.cents * 10_000n && s.money.hub - money.hub === money.payer - s.money.payer, `${at}: the owed refund is paid at most once`, {
      expected: `payer +0..${s.refund.cents * 10_000n} since the close, from the hub`,
      actual: `payer ${paidOut} since the close; payer ${money.payer - s.money.payer}, hub ${money.hub - s.money.hub} since the last step`,
    });
  } else {
    ctx.expectEqual(REQ, money, s.money, `${at}: no token moved (the payer's and the hub's balances are as before the crash)`);
  }
  s.money = money;

  for (const r of s.receipts) {
    ctx.act(`the buyer looks up the receipt of ${r.what} (${short(r.nonce)})`);
    const look = await s.hub.receipt(r.nonce);
    const v = checkReceipt(look.text, s.pinned);
    const sig = (receiptOf(look.text)?.signature as { value?: unknown } | undefined)?.value;
    ctx.check(REQ, look.status === 200 && v.ok && sig === r.sig, `${at}: the receipt of ${r.what} is still found and verifies under the key pinned before the first crash`, {
      expected: `200, the same signed receipt (${v.generation})`,
      actual: `${look.status} ${v.ok ? (sig === r.sig ? 'same' : 'another signature') : v.reason}`,
    });
  }

  ctx.act(`the buyer presents the channel's deposit ${short(s.ch.depositTx)} again to open a channel`);
  const reopen = await s.hub.openChannel(Number(s.ch.depositCents) / 100, s.ch.depositTx);
  ctx.expectRefused(REQ, { status: reopen.status, body: reopen.body }, `${at}: the deposit already used still opens no second channel`);
  if (s.paid) {
    const t = s.tool;
    ctx.act(`the buyer presents the used X-Payment ${short(s.paid.tx)} again`);
    const again = await s.hub.invoke(t.product_id, t.capability_id, s.paid.input, { txHash: s.paid.tx, chain: s.paid.chain });
    ctx.expectRefused(REQ, { status: again.status, body: again.body }, `${at}: the X-Payment transaction already used is still refused`);
    ctx.check(REQ, receiptOf(again.text) === undefined, `${at}: the used payment runs nothing (no receipt)`, { expected: 'no receipt', actual: again.text.slice(0, 160) });
  }

  if (s.closed) {
    const t = s.tool;
    ctx.act(`the buyer calls ${t.name} on the closed channel ${short(s.ch.id)}`);
    const call = await s.hub.invoke(t.product_id, t.capability_id, { text: 'after close' }, { channel: s.ch.id });
    ctx.expectRefused(REQ, { status: call.status, body: call.body }, `${at}: the closed channel pays no call`);
    ctx.check(REQ, receiptOf(call.text) === undefined, `${at}: the refused call ran nothing (no receipt)`, { expected: 'no receipt', actual: call.text.slice(0, 160) });
    ctx.act(`the buyer closes ${short(s.ch.id)} again`);
    const close = await s.hub.closeChannel(s.ch.id);
    ctx.expectRefused(REQ, { status: close.status, body: close.body }, `${at}: the closed channel cannot be closed (and refunded) again`);
    const after = await tokenBalances(s.ch);
    ctx.expectEqual(REQ, after, s.money, `${at}: the refused second close moved no token`);
  } else if (s.observable) {
    ctx.expectEqual(REQ, await balanceCents(s.hub, s.ch.id), s.ch.depositCents - s.used, `${at}: the channel's balance is the deposit minus exactly the debits made (cents)`);
  }
}

async function crash(ctx: RunContext, s: Seen, boundary: string): Promise<void> {
  s.money = await tokenBalances(s.ch);
  await ctx.restart('aimarket', boundary);
  await observe(ctx, s, boundary);
}

/** One funded call on the channel: 200 with a verifying receipt; the model debits its whole cents. */
async function channelCall(ctx: RunContext, s: Seen, text: string): Promise<void> {
  const t = s.tool;
  ctx.act(`the buyer calls ${t.name} on channel ${short(s.ch.id)}`);
  const a = await s.hub.invoke(t.product_id, t.capability_id, { text }, { channel: s.ch.id });
  const v = checkReceipt(a.text, s.pinned);
  ctx.check(REQ, a.status === 200 && (a.body as { success?: unknown } | undefined)?.success === true && v.ok, 'a funded channel call is served with a verifying receipt', {
    expected: '200 success, receipt verified',
    actual: `${show(a)} (${v.generation}: ${v.reason})`,
  });
  keepReceipt(s, a.text, `the channel call '${text}'`);
  s.used += centsCeil(parseUsdMicros(t.price_per_call_usd));
}

/** A call of the failure fixture on the channel: reported failed, its debit refunded (the model keeps `used`). */
async function failingCall(ctx: RunContext, s: Seen, f: { product_id: string; capability_id: string; input: Record<string, unknown> }): Promise<void> {
  ctx.act(`the buyer calls ${f.product_id}.${f.capability_id} with the failing input on channel ${short(s.ch.id)}`);
  const a = await s.hub.invoke(f.product_id, f.capability_id, f.input, { channel: s.ch.id });
  ctx.check(REQ, a.status < 500 && (a.body as { success?: unknown } | undefined)?.success !== true, 'the failing call reports failure (its debit refunded), not a 5xx', {
    expected: 'success false',
    actual: show(a),
  });
  if (receiptOf(a.text)) keepReceipt(s, a.text, 'the failed channel call');
}

/** A call paid by its own transfer (X-Payment). */
async function paidCall(ctx: RunContext, s: Seen, role: string, text: string): Promise<void> {
  const t = s.tool;
  const input = { text };
  const { req, amount } = await requirementFor(ctx, s.hub, t.product_id, t.capability_id, input, REQ);
  const chain = await chainFor(ctx, req, REQ);
  const tx = await payerOf(ctx, chain.session, role).transfer(chain.token, req.recipient, amount);
  if (!tx.ok) throw new Indeterminate(REQ, `setup: the payment transfer failed (${tx.reason})`);
  ctx.act(`${role} invokes ${t.name} with X-Payment {"tx_hash": ${short(tx.hash)}}`);
  const a = await s.hub.invoke(t.product_id, t.capability_id, input, { txHash: tx.hash, chain: req.chain });
  const v = checkReceipt(a.text, s.pinned);
  ctx.check(REQ, a.status === 200 && (a.body as { success?: unknown } | undefined)?.success === true && v.ok, 'the exact payment is served with a verifying receipt', {
    expected: '200 success, receipt verified',
    actual: `${show(a)} (${v.generation}: ${v.reason})`,
  });
  keepReceipt(s, a.text, 'the X-Payment call');
  s.paid = { tx: tx.hash as Hex, chain: req.chain, input };
}

/** Close: used = the debits, refund = deposit − used, a reported refund transaction moved exactly that. */
async function close(ctx: RunContext, s: Seen): Promise<void> {
  const before = await tokenBalances(s.ch);
  ctx.act(`the buyer closes channel ${short(s.ch.id)}`);
  const a = await s.hub.closeChannel(s.ch.id);
  const p = SettlementSchema.safeParse(a.body);
  ctx.check(REQ, a.status === 200 && p.success, 'close answers {settlement:{used_usd, refund_usd}}', { expected: '200 settlement', actual: show(a) });
  const st = p.data!.settlement;
  const refund = s.ch.depositCents - s.used;
  ctx.expectEqual(REQ, [centsOf(st.used_usd), centsOf(st.refund_usd)], [s.used, refund], 'used = every debit made across the crashes, refund = deposit − used (cents)');
  const executed = typeof st.refund_tx_hash === 'string' && refund > 0n;
  if (executed) {
    const moved = await transfersIn(s.ch.chain.session, s.ch.chain.token, st.refund_tx_hash as Hex);
    ctx.check(
      REQ,
      moved?.some((x) => x.to.toLowerCase() === s.ch.payer.toLowerCase() && x.value === refund * 10_000n) === true,
      'the reported refund transaction moved exactly the refund to the depositor',
      {
        expected: `${refund * 10_000n} to ${s.ch.payer}`,
        actual: JSON.stringify(moved, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)),
      },
    );
  }
  s.closed = true;
  s.refund = { cents: refund, executed, payerBeforeClose: before.payer };
}

export const hubRestart = defineScenario({
  kind: 'property',
  id: 'hub-restart',
  title:
    'The hub is killed (SIGKILL) and restarted after open, after debited calls, after an X-Payment call and after close: balance and debits, used payments, receipts and the settled channel survive; nothing is paid twice',
  requirements: [REQ],
  ...HUB,
  roles: ['buyer1', 'buyer2'],
  capabilities: ['restart'] as Capability[],
  // Four restarts per run (seconds each, tens of seconds on a loaded machine): one run at most.
  maxRuns: 1,
  runTimeoutMs: 600_000,
  // A failing run is reported as it failed: each shrink step would restart the hub again.
  shrink: false,
  arbitrary: () =>
    fc.record({
      payer: fc.constantFrom('buyer1', 'buyer2'),
      cents: fc.integer({ min: 20, max: 400 }),
      text: fc.string({ minLength: 1, maxLength: 24 }).filter((x) => !x.includes('fail')),
    }),
  async run(ctx, v) {
    const hub = hubClient((await ctx.restartable('aimarket')).url, ctx.fetch);
    const d = await discovered(ctx, hub, REQ);
    const tool = textTools(d.manifest.tools)[0];
    if (!tool) throw new Indeterminate(REQ, 'the catalog has no tool callable with {text}');
    // A fresh amount per run: a deposit of the same amount from the same nonce would repeat a hash.
    const cents = BigInt(v.cents) + BigInt(Date.now() % 10_000);
    const ch = await openChannel(ctx, hub, tool, v.payer, cents, REQ);
    const observable = (await balanceCents(hub, ch.id)) !== undefined;
    const s: Seen = { hub, pinned: d.wellKnown.signer_public_key, tool, ch, used: 0n, closed: false, observable, receipts: [], money: await tokenBalances(ch) };

    await crash(ctx, s, 'after the channel was opened on its deposit');
    await channelCall(ctx, s, v.text);
    const failure = configOf(ctx).failure;
    if (failure) await failingCall(ctx, s, failure);
    await crash(ctx, s, `after a debited call${failure ? ' and a failed, refunded one' : ''}`);
    await paidCall(ctx, s, v.payer, v.text);
    await crash(ctx, s, 'after an X-Payment call, before close');
    await close(ctx, s);
    await crash(ctx, s, 'after close');
  },
});

export const restartScenarios = [hubRestart];
