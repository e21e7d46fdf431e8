/**
 * Payment channels: opening only on a verified deposit; a model-based scenario (calls at
 * boundary prices, failing calls, unknown channels, close, calls after close) whose balance, 402s,
 * receipts and settlement follow an integer-cent model with the ceiling rule; and expiry after the
 * channel lifetime (24 h unless a what-if profile sets another) on the chain clock.
 */
import fc from 'fast-check';
import type { Hex } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { checkReceipt, receiptOf } from '../../reference-impl/aimarket/agents/buyer.ts';
import type { HubClient } from '../../reference-impl/aimarket/agents/hub-client.ts';
import { AIMARKET_CONSTANTS } from '../../reference-impl/aimarket/protocol/constants.ts';
import { centsCeil, parseUsdMicros } from '../../reference-impl/aimarket/protocol/money.ts';
import type { Tool } from '../../reference-impl/aimarket/protocol/wire.ts';
import { SettlementSchema } from '../../reference-impl/aimarket/protocol/wire.ts';
import { balanceCents, centsOf, chainFor, configOf, discovered, HUB, hubOf, type OpenedChannel, openChannel, payerOf, randomCents, requirementFor, short, textTools, transfersIn } from './lab.ts';

export const channelOpen = defineScenario({
  kind: 'property',
  id: 'channel-open',
  title: 'A channel opens only on an exact, unused deposit transfer to the hub (short, misdirected and reused deposits refused)',
  requirements: ['AIM-CHN-01', 'AIM-PAY-03'],
  ...HUB,
  roles: ['buyer1', 'buyer2'],
  signers: ['attacker'],
  arbitrary: () =>
    fc.record({ cents: fc.integer({ min: 2, max: 500 }), payer: fc.constantFrom('buyer1', 'buyer2'), order: fc.shuffledSubarray(['short', 'elsewhere', 'float', 'zero'] as const, { minLength: 4 }) }),
  async run(ctx, v) {
    const hub = hubOf(ctx);
    const d = await discovered(ctx, hub, 'AIM-CHN-01');
    const tool = textTools(d.manifest.tools)[0];
    if (!tool) throw new Indeterminate('AIM-CHN-01', 'no tool callable with {text}');
    const { req } = await requirementFor(ctx, hub, tool.product_id, tool.capability_id, { text: 'probe' }, 'AIM-CHN-01');
    const chain = await chainFor(ctx, req, 'AIM-CHN-01');
    const payer = payerOf(ctx, chain.session, v.payer);
    const cents = BigInt(v.cents);
    const usd = v.cents / 100;
    // v2's channel open takes 0 < deposit_usd ≤ 10000; a v1 hub is not held to the lower bound (profile AIM-PROF-16).
    const v2 = d.wellKnown.protocol_versions.includes('v2');
    for (const kind of v.order) {
      if (kind === 'zero' && !v2) continue;
      const r =
        kind === 'short'
          ? await payer.transfer(chain.token, req.recipient, cents * 10_000n - 1n)
          : kind === 'elsewhere'
            ? await payer.transfer(chain.token, chain.session.address('attacker'), cents * 10_000n)
            : await payer.transfer(chain.token, req.recipient, kind === 'zero' ? 0n : cents * 10_000n);
      if (!r.ok) throw new Indeterminate('AIM-CHN-01', `setup: transfer failed (${r.reason})`);
      const hash = r.hash;
      // 'float': the right transfer, but the deposit claimed is a cent more than it moved; 'zero': a transfer of 0 claimed as a deposit of 0.
      const claimed = kind === 'float' ? (v.cents + 1) / 100 : kind === 'zero' ? 0 : usd;
      ctx.act(`${v.payer} opens a channel of $${claimed} with a ${kind} deposit ${short(hash)}`);
      const o = await hub.openChannel(claimed, hash);
      ctx.expectRefused('AIM-CHN-01', { status: o.status, body: o.body }, `a ${kind} deposit opens no channel`);
    }
    const good = await payer.transfer(chain.token, req.recipient, cents * 10_000n);
    if (!good.ok) throw new Indeterminate('AIM-CHN-01', `setup: transfer failed (${good.reason})`);
    ctx.act(`${v.payer} opens a channel of $${usd} with the exact deposit ${short(good.hash)}`);
    const o = await hub.openChannel(usd, good.hash);
    const ch = (o.body as { channel?: { channel_id?: string; balance_usd?: number } } | undefined)?.channel;
    ctx.check('AIM-CHN-01', o.status === 200 && typeof ch?.channel_id === 'string', 'the exact deposit opens a channel', { expected: '200 {channel}', actual: `${o.status} ${o.text.slice(0, 160)}` });
    ctx.expectEqual('AIM-CHN-01', centsOf(ch!.balance_usd), cents, 'its balance is the deposit');
    const b = await balanceCents(hub, ch!.channel_id!);
    if (b !== undefined) ctx.expectEqual('AIM-CHN-01', b, cents, 'GET the channel: balance is the deposit');
    const again = await hub.openChannel(usd, good.hash);
    ctx.expectRefused('AIM-PAY-03', { status: again.status, body: again.body }, 'the same deposit transaction cannot open a second channel');
    await hub.closeChannel(ch!.channel_id!);
  },
});

// ---- model-based channel ------------------------------------------------------------------------

interface Model {
  deposit: bigint;
  used: bigint;
  closed: boolean;
}

interface Real {
  ctx: RunContext;
  hub: HubClient;
  ch: OpenedChannel;
  tools: Tool[];
  pinned: string;
  failure?: { product_id: string; capability_id: string; input: Record<string, unknown> };
  observable: boolean;
  /** The payer's role (a second channel in `finish` is opened by it). */
  role: string;
  /** What this run's commands reached: a funded call, a call refused past the balance, a failing call's receipt. */
  reached: { funded?: boolean; refused?: boolean; failureReceipt?: boolean };
}

type Cmd = fc.AsyncCommand<Model, Real>;

async function expectBalance(m: Model, r: Real, what: string): Promise<void> {
  if (!r.observable || m.closed) return;
  const b = await balanceCents(r.hub, r.ch.id);
  r.ctx.expectEqual('AIM-CHN-02', b, m.deposit - m.used, `balance after ${what} = deposit − debits (cents)`);
}

class CallCmd implements Cmd {
  constructor(
    readonly tool: number,
    readonly text: string,
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    // tool -1: the dearest tool (drains the channel fast, so depletion is reached in most runs)
    const t = this.tool < 0 ? r.tools[r.tools.length - 1]! : r.tools[this.tool % r.tools.length]!;
    const cents = centsCeil(parseUsdMicros(t.price_per_call_usd));
    r.ctx.act(`call ${t.name} ($${t.price_per_call_usd} → ${cents} cents) on ${r.ch.id}`);
    const a = await r.hub.invoke(t.product_id, t.capability_id, { text: this.text }, { channel: r.ch.id });
    if (m.closed || m.deposit - m.used < cents) {
      if (!m.closed) r.reached.refused = true;
      r.ctx.expectStatus(m.closed ? 'AIM-CHN-05' : 'AIM-CHN-03', { status: a.status, body: a.body }, 402, m.closed ? 'a closed channel pays no call (402)' : 'a call past the balance answers 402');
      r.ctx.check('AIM-CHN-03', receiptOf(a.text) === undefined, 'the refused call ran nothing', { expected: 'no receipt', actual: a.text.slice(0, 120) });
      await expectBalance(m, r, 'a refused call');
      return;
    }
    r.reached.funded = true;
    r.ctx.expectStatus('AIM-CHN-02', { status: a.status, body: a.body }, 200, 'a funded call answers 200');
    const v = checkReceipt(a.text, r.pinned);
    r.ctx.check('AIM-RCP-01', v.ok, `the channel call's receipt verifies (${v.generation}: ${v.reason})`, { expected: 'verified', actual: v.generation });
    m.used += cents;
    await expectBalance(m, r, `${t.name}`);
  }
  toString = () => `call(${this.tool}, ${JSON.stringify(this.text)})`;
}

class FailCmd implements Cmd {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    if (!r.failure || m.closed) return;
    const f = r.failure;
    r.ctx.act(`call ${f.product_id}.${f.capability_id} with the failing input on ${r.ch.id}`);
    const a = await r.hub.invoke(f.product_id, f.capability_id, f.input, { channel: r.ch.id });
    r.ctx.check('AIM-CHN-04', (a.body as { success?: unknown } | undefined)?.success !== true && a.status < 500, 'the failing call reports failure (not a 5xx)', {
      expected: 'success false',
      actual: `${a.status} ${a.text.slice(0, 160)}`,
    });
    const rc = receiptOf(a.text);
    if (rc) {
      r.reached.failureReceipt = true;
      const v = checkReceipt(a.text, r.pinned);
      r.ctx.check('AIM-RCP-02', v.ok && v.version === 2 && rc.success === false, `the failure receipt is a verifying v2 receipt with success false (${v.generation}: ${v.reason})`, {
        expected: 'receipt-v2, success false',
        actual: `${v.generation} success=${String(rc.success)}`,
      });
    }
    if (r.observable) r.ctx.expectEqual('AIM-CHN-04', await balanceCents(r.hub, r.ch.id), m.deposit - m.used, 'the failed call’s debit was refunded');
  }
  toString = () => 'fail()';
}

class UnknownCmd implements Cmd {
  check = () => true;
  async run(_m: Model, r: Real): Promise<void> {
    const t = r.tools[0]!;
    const id = `ch_${Math.random().toString(36).slice(2)}`;
    r.ctx.act(`call ${t.name} on the unknown channel ${id}`);
    const a = await r.hub.invoke(t.product_id, t.capability_id, { text: 'x' }, { channel: id });
    r.ctx.expectStatus('AIM-CHN-03', { status: a.status, body: a.body }, 402, 'an unknown channel answers 402');
  }
  toString = () => 'unknown-channel()';
}

async function closeAndCheck(m: Model, r: Real): Promise<void> {
  r.ctx.act(`close ${r.ch.id}`);
  const a = await r.hub.closeChannel(r.ch.id);
  if (m.closed) {
    r.ctx.expectRefused('AIM-CHN-05', { status: a.status, body: a.body }, 'a second close is refused');
    return;
  }
  const p = SettlementSchema.safeParse(a.body);
  r.ctx.check('AIM-CHN-05', a.status === 200 && p.success, 'close answers {settlement:{used_usd, refund_usd}}', { expected: '200 settlement', actual: `${a.status} ${a.text.slice(0, 200)}` });
  const s = p.data!.settlement;
  r.ctx.expectEqual('AIM-CHN-05', [centsOf(s.used_usd), centsOf(s.refund_usd)], [m.used, m.deposit - m.used], 'used = the debits, refund = deposit − used (cents)');
  m.closed = true;
  const refund = (m.deposit - m.used) * 10_000n;
  if (typeof s.refund_tx_hash === 'string' && refund > 0n) {
    const moved = await transfersIn(r.ch.chain.session, r.ch.chain.token, s.refund_tx_hash as Hex);
    r.ctx.check(
      'AIM-CHN-05',
      moved?.some((x) => x.to.toLowerCase() === r.ch.payer.toLowerCase() && x.value === refund) === true,
      'the reported refund transaction moved exactly the refund to the depositor',
      { expected: `${refund} to ${r.ch.payer}`, actual: JSON.stringify(moved, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) },
    );
  }
}

class CloseCmd implements Cmd {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    await closeAndCheck(m, r);
  }
  toString = () => 'close()';
}

export const channelModel = defineScenario({
  kind: 'model',
  id: 'channel-model',
  title: 'Model-based channel: calls at boundary prices debit whole cents (ceiling), failures refund, depleted/closed/unknown channels answer 402, close settles exactly once',
  requirements: ['AIM-CHN-02', 'AIM-CHN-03', 'AIM-CHN-04', 'AIM-CHN-05', 'AIM-RCP-01', 'AIM-RCP-02', 'AIM-CHN-01'],
  ...HUB,
  roles: ['buyer1', 'buyer2'],
  maxCommands: 14,
  commands: () => [
    fc
      .tuple(
        fc.nat(),
        fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.includes('fail')),
      )
      .map(([t, s]) => new CallCmd(t, s)),
    fc.tuple(fc.constant(-1), fc.constant('abc')).map(([t, s]) => new CallCmd(t, s)),
    fc.constant(new FailCmd()),
    fc.constant(new UnknownCmd()),
    fc.constant(new CloseCmd()),
  ],
  async setup(ctx) {
    const hub = hubOf(ctx);
    const d = await discovered(ctx, hub, 'AIM-CHN-02');
    // Cheapest first: tool -1 (the last) is the dearest, whatever order the manifest lists them in.
    const tools = textTools(d.manifest.tools)
      .filter((t) => t.price_per_call_usd <= 1)
      .sort((a, b) => a.price_per_call_usd - b.price_per_call_usd);
    if (!tools.length) throw new Indeterminate('AIM-CHN-02', 'no tool callable with {text} under $1');
    const role = ctx.draw(fc.constantFrom('buyer1', 'buyer2'));
    const cents = randomCents(ctx, 3, 60);
    const ch = await openChannel(ctx, hub, tools[0]!, role, cents, 'AIM-CHN-01');
    const observable = (await balanceCents(hub, ch.id)) !== undefined;
    if (!observable && d.wellKnown.protocol_versions.includes('v2'))
      ctx.check('AIM-CHN-02', false, 'a hub that declares v2 answers GET /ai-market/v2/channel/{id} with the balance', { expected: '200 {balance_usd}', actual: '404 or 405' });
    const failure = configOf(ctx).failure;
    return { model: { deposit: cents, used: 0n, closed: false }, real: { ctx, hub, ch, tools, pinned: d.wellKnown.signer_public_key, failure, observable, role, reached: {} } };
  },
  async finish(m, r) {
    // Every run tries one failing call while the channel is open (the refund rules are checked in every run).
    if (!m.closed) await new FailCmd().run(m, r);
    if (!m.closed) await closeAndCheck(m, r);
    // Every rule is checked in every run: what the generated commands did not reach (a closed or
    // drained channel, no dear enough call) runs on a fresh channel holding two of the dearest calls:
    // a failing call, then the dearest tool until the balance refuses it, then close.
    if (!r.reached.funded || !r.reached.refused || (r.failure && !r.reached.failureReceipt)) {
      const dearest = centsCeil(parseUsdMicros(r.tools[r.tools.length - 1]!.price_per_call_usd));
      const fresh: Model = { deposit: dearest > 0n ? 2n * dearest : 100n, used: 0n, closed: false };
      const ch = await openChannel(r.ctx, r.hub, r.tools[0]!, r.role, fresh.deposit, 'AIM-CHN-01');
      const again: Real = { ...r, ch, observable: (await balanceCents(r.hub, ch.id)) !== undefined, reached: {} };
      await new FailCmd().run(fresh, again);
      for (let i = 0; i < 4 && !again.reached.refused; i++) await new CallCmd(-1, 'tail').run(fresh, again);
      await closeAndCheck(fresh, again);
    }
    const t = r.tools[0]!;
    const a = await r.hub.invoke(t.product_id, t.capability_id, { text: 'after' }, { channel: r.ch.id });
    r.ctx.expectStatus('AIM-CHN-05', { status: a.status, body: a.body }, 402, 'a settled channel pays no call');
    await closeAndCheck(m, r);
  },
});

export const channelExpiry = defineScenario({
  kind: 'property',
  id: 'channel-expiry',
  title: 'A channel expires its lifetime (24 h unless a profile sets another) after it opens on the chain clock: calls answer 402, the balance is still refunded',
  requirements: ['AIM-CHN-06'],
  endpoints: ['aimarket'],
  roles: ['buyer1'],
  capabilities: ['clock-control', 'snapshot'],
  isolation: 'snapshot',
  // Up to an hour before the mark (the shortest lifetime a profile allows is 10 minutes: at most half of it).
  arbitrary: (env) => fc.record({ early: fc.integer({ min: 60, max: Math.min(3600, AIMARKET_CONSTANTS.of(env.profile).channelExpirySeconds / 2) }) }),
  async run(ctx, v) {
    const ttl = BigInt(AIMARKET_CONSTANTS.of(ctx.profile).channelExpirySeconds);
    const hub = hubOf(ctx);
    const d = await discovered(ctx, hub, 'AIM-CHN-06');
    const t = textTools(d.manifest.tools)[0];
    if (!t) throw new Indeterminate('AIM-CHN-06', 'no tool callable with {text}');
    // Runs are reverted (snapshot), so buyer1's nonce repeats: a deposit of the same amount would be the
    // same transaction hash, which the hub rightly refuses as used. The clock makes each amount new.
    const cents = BigInt(10_000 + (Date.now() % 900_000));
    const ch = await openChannel(ctx, hub, t, 'buyer1', cents, 'AIM-CHN-06');
    const s = ch.chain.session;
    const opened = await s.now();
    ctx.act(`the chain clock moves to ${v.early} s before the ${ttl} s mark`);
    await s.test.setNextBlockTimestamp({ timestamp: opened + ttl - BigInt(v.early) });
    await s.test.mine({ blocks: 1 });
    const before = await hub.invoke(t.product_id, t.capability_id, { text: 'before' }, { channel: ch.id });
    ctx.expectStatus('AIM-CHN-06', { status: before.status, body: before.body }, 200, `before ${ttl} s the channel pays`);
    const used = centsCeil(parseUsdMicros(t.price_per_call_usd));
    ctx.act(`the chain clock moves past ${ttl} s`);
    await s.test.setNextBlockTimestamp({ timestamp: opened + ttl + 5n });
    await s.test.mine({ blocks: 1 });
    const after = await hub.invoke(t.product_id, t.capability_id, { text: 'after' }, { channel: ch.id });
    ctx.expectStatus('AIM-CHN-06', { status: after.status, body: after.body }, 402, `after ${ttl} s a call answers 402`);
    const c = await hub.closeChannel(ch.id);
    const p = SettlementSchema.safeParse(c.body);
    ctx.check('AIM-CHN-06', c.status === 200 && p.success, 'the expired channel still settles', { expected: '200 settlement', actual: `${c.status} ${c.text.slice(0, 160)}` });
    ctx.expectEqual('AIM-CHN-06', centsOf(p.data!.settlement.refund_usd), ch.depositCents - used, 'the remaining balance is refunded');
  },
});
