/**
 * AI Market channels under a real reorg (`anvil_reorg`, capability `reorg`): a buyer deposits, the
 * hub opens a channel on it, then every block from the deposit's up is replaced by a new branch of
 * the same height. Either the deposit is gone (then the channel pays for nothing and close refunds
 * nothing: the money never arrived), or it is mined again in the newest block (then the channel still
 * works, its balance counted once, and close refunds exactly the rest once).
 */
import fc from 'fast-check';
import { depthFrom, reorg } from '../../harness/chain/index.ts';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import type { Capability } from '../../harness/target/schema.ts';
import { centsCeil, parseUsdMicros } from '../../reference-impl/aimarket/protocol/money.ts';
import { SettlementSchema, type Tool } from '../../reference-impl/aimarket/protocol/wire.ts';
import { centsOf, discovered, HUB, hubOf, type OpenedChannel, openChannel, short, textTools, tokenBalances } from './lab.ts';

const RID = 'AIM-ORG-01';

async function depositGone(ctx: RunContext, ch: OpenedChannel, t: Tool): Promise<void> {
  const hub = hubOf(ctx);
  const before = await tokenBalances(ch);
  ctx.act(`the buyer calls ${t.capability_id} on channel ${short(ch.id)}, whose deposit is gone`);
  const a = await hub.invoke(t.product_id, t.capability_id, { text: 'after the reorg' }, { channel: ch.id });
  const served = a.status >= 200 && a.status < 300 && (a.body as { success?: unknown } | undefined)?.success === true;
  ctx.check(RID, !served && a.status >= 400 && a.status < 500, 'a channel whose deposit a reorg removed pays for nothing (402 or another 4xx)', {
    expected: '4xx, nothing run',
    actual: `${a.status} ${a.text.slice(0, 160)}`,
  });
  ctx.act(`the buyer closes channel ${short(ch.id)}`);
  const c = await hub.closeChannel(ch.id);
  const p = SettlementSchema.safeParse(c.body);
  const refunded = c.status === 200 && p.success ? centsOf(p.data.settlement.refund_usd) : 0n;
  const after = await tokenBalances(ch);
  ctx.check(RID, refunded === 0n && after.payer === before.payer && after.hub === before.hub, 'close refunds nothing of a deposit that never arrived (4xx, or a zero refund)', {
    expected: 'no refund, no token moved',
    actual: `${c.status} refund ${refunded} cents; payer ${after.payer - before.payer >= 0n ? '+' : ''}${after.payer - before.payer}, hub ${after.hub - before.hub >= 0n ? '+' : ''}${after.hub - before.hub}`,
  });
}

async function depositRemined(ctx: RunContext, ch: OpenedChannel, t: Tool): Promise<void> {
  const hub = hubOf(ctx);
  const price = centsCeil(parseUsdMicros(t.price_per_call_usd));
  ctx.act(`the buyer calls ${t.capability_id} on channel ${short(ch.id)}, whose deposit was mined again`);
  const a = await hub.invoke(t.product_id, t.capability_id, { text: 'after the reorg' }, { channel: ch.id });
  ctx.check(RID, a.status === 200 && (a.body as { success?: unknown } | undefined)?.success === true, 'the channel still pays: its deposit is on chain (in another block)', {
    expected: '200 success',
    actual: `${a.status} ${a.text.slice(0, 160)}`,
  });
  const before = await tokenBalances(ch);
  const c = await hub.closeChannel(ch.id);
  const p = SettlementSchema.safeParse(c.body);
  const after = await tokenBalances(ch);
  const refund = c.status === 200 && p.success ? centsOf(p.data.settlement.refund_usd) : undefined;
  const want = ch.depositCents - price;
  ctx.check(
    RID,
    refund === want && after.payer - before.payer === want * 10_000n && before.hub - after.hub === want * 10_000n,
    'the deposit counts once: close refunds exactly the deposit minus the one call, paid once on chain',
    {
      expected: `refund ${want} cents, payer +${want * 10_000n}`,
      actual: `${c.status} refund ${refund ?? '?'} cents, payer +${after.payer - before.payer}`,
    },
  );
}

export const channelReorg = defineScenario({
  kind: 'property',
  id: 'channel-deposit-reorg',
  title: 'A channel whose deposit a reorg removed pays for nothing and refunds nothing; a deposit mined again in another block still counts, once',
  requirements: [RID],
  ...HUB,
  roles: ['buyer1', 'buyer2'],
  capabilities: ['reorg'] as Capability[],
  arbitrary: () =>
    fc.record({
      payer: fc.constantFrom('buyer1', 'buyer2'),
      cents: fc.integer({ min: 50, max: 5_000 }),
      extra: fc.integer({ min: 0, max: 2 }),
      // Both outcomes in every run, in a generated order (scenario rule 4).
      reminedFirst: fc.boolean(),
    }),
  async run(ctx, v) {
    const hub = hubOf(ctx);
    const d = await discovered(ctx, hub, RID);
    const t = textTools(d.manifest.tools)[0];
    if (!t) throw new Indeterminate(RID, 'no tool callable with {text}');
    for (const remined of v.reminedFirst ? [true, false] : [false, true]) {
      // A reorg gives the payer its nonce back: the amount varies so a later deposit is a new transaction.
      const cents = BigInt(v.cents) + BigInt(Date.now() % 100_000);
      const ch = await openChannel(ctx, hub, t, v.payer, cents, RID);
      const s = ch.chain.session;
      // Mined again at the deposit's own height, the block could come out the same (harness/chain/reorg.ts):
      // a re-mined deposit goes at least one block higher, so it is in another block.
      const extra = remined ? Math.max(v.extra, 1) : v.extra;
      if (extra) await s.test.mine({ blocks: extra });
      const mined = await s.public.getTransactionReceipt({ hash: ch.depositTx });
      const rpc = s.spec.rpcUrl;
      const depth = await depthFrom(rpc, mined.blockNumber);
      ctx.act(
        remined
          ? `a reorg replaces the last ${depth} blocks; the deposit ${short(ch.depositTx)} is mined again in the newest block`
          : `a reorg replaces the last ${depth} blocks (from the deposit's block up) with blocks without the deposit`,
      );
      const r = await reorg(rpc, depth, { reinclude: remined ? [{ hash: ch.depositTx, block: depth - 1 }] : [] });
      if (remined) {
        if (r.reincluded[0]?.status !== 'success') throw new Indeterminate(RID, 'the deposit could not be mined again in the new branch');
        await depositRemined(ctx, ch, t);
      } else {
        await depositGone(ctx, ch, t);
      }
    }
  },
});
