/**
 * Agentripe under a real reorg (`anvil_reorg`, capability `reorg`): a buyer pays, the server creates
 * the task (and records its deposit), then every block from the payment block up is replaced by a
 * new branch of the same height. Either the payment is gone (then the task must not live on: no
 * vendor action leads to a release or a refund, no money moves), or the payment, and optionally the
 * server's later transactions, are mined again in the newest block of the new branch (then the task
 * still counts, exactly once: it completes to one release of exactly the price).
 */
import fc from 'fast-check';
import type { Hex } from 'viem';
import { depthFrom, reorg } from '../../harness/chain/index.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import type { RunContext } from '../../harness/engine/context.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import type { Capability } from '../../harness/target/schema.ts';
import { AGENTRIPE_PROFILE } from '../../reference-impl/agentripe/protocol/model.ts';
import { callsRpc, describeHit, rpcFaultsOf } from '../../harness/faults/index.ts';
import { BUYERS, deposit, escrowEvents, getJson, goodResult, holdings, short } from './lab.ts';
import { PATH, paidTask, type PaidTask } from './observe.ts';
import { BASE } from './tasks.ts';

/** Statuses of a task that is still open or was paid out: what a task with no payment must not show. */
const LIVE = new Set(['pending', 'processing', 'rejected', 'completed']);

/** Every transaction mined from block `from` to the head, in order. */
async function txsFrom(t: PaidTask, from: bigint): Promise<Hex[]> {
  const head = await t.a.s.public.getBlockNumber({ cacheTime: 0 });
  const out: Hex[] = [];
  for (let n = from; n <= head; n++) out.push(...((await t.a.s.public.getBlock({ blockNumber: n })).transactions as Hex[]));
  return out;
}

/** Holdings of the buyer and the payee and the escrow's USDC, with the deposit: what a refused action must leave alone. */
async function money(t: PaidTask): Promise<string> {
  const [b, p, e, d] = await Promise.all([holdings(t.a, t.a.s.address(t.buyer)), holdings(t.a, t.payee), holdings(t.a, t.a.escrow), deposit(t.a, t.taskId)]);
  return `buyer ${b.total}, payee ${p.total}, escrow ${e.usdc}, deposit status ${d.status} amount ${d.amount}`;
}

/** The task's status on `GET /tasks/{id}`, or the HTTP status when it is not a 200. */
async function taskState(t: PaidTask): Promise<{ status: number; task?: string }> {
  const r = await getJson(t.a, `/tasks/${t.taskId}`);
  return { status: r.status, task: r.status === 200 && typeof r.body?.status === 'string' ? r.body.status : undefined };
}

async function paymentGone(ctx: RunContext, t: PaidTask): Promise<void> {
  const rid = 'AGR-ORG-01';
  const dead = (s: { status: number; task?: string }) => (s.status >= 400 && s.status < 500) || (s.status === 200 && s.task !== undefined && !LIVE.has(s.task));
  const show = (s: { status: number; task?: string }) => `${s.status}${s.task ? ` ${s.task}` : ''}`;
  const gone = await taskState(t);
  ctx.check(rid, dead(gone), `the task ${short(t.taskId)} whose payment was reorged away is gone or failed`, { expected: '4xx, or 200 with a failed status', actual: show(gone) });
  const before = await money(t);
  ctx.act(`the vendor tries to start and complete task ${short(t.taskId)}`);
  const s = await t.v.start(t.taskId);
  ctx.check(rid, s.status >= 400 && s.status < 500, 'start of a task with no payment is refused with 4xx', { expected: '4xx', actual: `${s.status} ${JSON.stringify(s.body).slice(0, 200)}` });
  const c = await t.v.complete(t.taskId, goodResult(PATH));
  ctx.check(rid, c.status >= 400 && c.status < 500, 'complete of a task with no payment is refused with 4xx (nothing to release)', {
    expected: '4xx',
    actual: `${c.status} ${JSON.stringify(c.body).slice(0, 200)}`,
  });
  const f = await t.v.fail(t.taskId, 'cannot');
  ctx.check(rid, f.status >= 400 && f.status < 500, 'fail of a task with no payment is refused with 4xx (nothing to refund)', {
    expected: '4xx',
    actual: `${f.status} ${JSON.stringify(f.body).slice(0, 200)}`,
  });
  ctx.expectEqual(rid, await money(t), before, 'no money moved and the escrow holds no deposit for the reorged payment');
  const d = await deposit(t.a, t.taskId);
  ctx.expectEqual(rid, d.status, AGENTRIPE_PROFILE.statuses.NONE, 'getDeposit(taskId) is NONE on the new branch');
  const later = await taskState(t);
  ctx.check(rid, dead(later), 'the task stays gone or failed after the vendor’s attempts', { expected: '4xx, or 200 with a failed status', actual: show(later) });
}

async function paymentRemined(ctx: RunContext, t: PaidTask, payeeBefore: bigint, buyerBefore: bigint): Promise<void> {
  const rid = 'AGR-ORG-02';
  const live = await taskState(t);
  ctx.check(rid, live.status === 200 && live.task === 'pending', `the task ${short(t.taskId)} whose payment was mined again is still served, pending`, {
    expected: '200 pending',
    actual: `${live.status}${live.task ? ` ${live.task}` : ''}`,
  });
  ctx.act(`the vendor starts and completes task ${short(t.taskId)}`);
  const s = await t.v.start(t.taskId);
  ctx.expectStatus(rid, s, 200, 'start is accepted');
  const c = await t.v.complete(t.taskId, goodResult(PATH));
  ctx.expectStatus(rid, c, 200, 'complete (no review asked) is accepted');
  const [d, payee, buyer, events] = await Promise.all([deposit(t.a, t.taskId), holdings(t.a, t.payee), holdings(t.a, t.a.s.address(t.buyer)), escrowEvents(t.a, t.taskId, t.paidBlock)]);
  const released = events.filter((e) => e.eventName === 'DepositReleased');
  const recorded = events.filter((e) => e.eventName === 'DepositRecorded');
  ctx.check(
    rid,
    d.status === AGENTRIPE_PROFILE.statuses.RELEASED && d.amount === t.amount && recorded.length === 1 && released.length === 1 && released[0]!.args.amount === t.amount,
    'the payment counts once: one deposit of the price, recorded once and released once',
    {
      expected: `RELEASED ${t.amount}, 1 DepositRecorded, 1 DepositReleased of ${t.amount}`,
      actual: `status ${d.status} amount ${d.amount}, ${recorded.length} DepositRecorded, ${released.length} DepositReleased${released.length ? ` of ${released.map((e) => e.args.amount).join(', ')}` : ''}`,
    },
  );
  ctx.check(rid, payee.total - payeeBefore === t.amount && buyer.total === buyerBefore, 'the payee is credited the price exactly once and the buyer paid exactly once', {
    expected: `payee +${t.amount}, buyer +0`,
    actual: `payee +${payee.total - payeeBefore}, buyer ${buyer.total - buyerBefore >= 0n ? '+' : ''}${buyer.total - buyerBefore}`,
  });
}

/**
 * A payment mined again by a reorg (as in payment-reorg), while the server's node fails every
 * receipt read (HTTP 503 to `eth_getTransactionReceipt`; blocks are still served): a server that
 * finds its anchor block replaced and looks for the payment's new block cannot tell "mined
 * elsewhere" from "gone" now, and must wait (doubt orphans nothing). Its task is answered as before
 * or 5xx meanwhile, never 404; once receipts are served, the payment counts exactly once. Runs on
 * the reference's restartable server, which reaches the node through the harness's fault proxy.
 */
export const paymentReorgReceiptsDown = defineScenario({
  kind: 'property',
  id: 'payment-reorg-receipts-down',
  title: "A payment a reorg mined again, while the server's node fails its receipt reads: the task is not dropped meanwhile, and counts exactly once after",
  requirements: ['AGR-ORG-02'],
  ...BASE,
  maxRuns: 2,
  capabilities: ['reorg', 'rpc-faults', 'restart'] as Capability[],
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const rid = 'AGR-ORG-02';
    const url = (await ctx.restartable('agentripe')).url.replace(/\/+$/, '');
    const t = await paidTask(ctx, { price: '$0.05', buyer: v.buyer, checkPay: false, review: false, url });
    await t.a.s.test.mine({ blocks: 1 });
    const seen = await taskState(t);
    if (seen.status !== 200) throw new Indeterminate(rid, `the paid task is not served before the reorg (${seen.status})`);
    const [payeeBefore, buyerBefore] = await Promise.all([holdings(t.a, t.payee), holdings(t.a, t.a.s.address(t.buyer))]);
    const rpc = t.a.s.spec.rpcUrl;
    const depth = await depthFrom(rpc, t.paidBlock);
    ctx.act(`a reorg replaces the last ${depth} blocks; the payment is mined again in the newest block`);
    const r = await reorg(rpc, depth, { reinclude: [{ hash: t.taskId, block: depth - 1 }] });
    if (r.reincluded.find((x) => x.hash.toLowerCase() === t.taskId)?.status !== 'success') throw new Indeterminate(rid, 'the payment could not be mined again in the new branch');
    const proxy = await rpcFaultsOf(rpc);
    const fault = proxy.arm({
      name: "the node answers HTTP 503 to every eth_getTransactionReceipt of the server's (its blocks are still served)",
      when: callsRpc('eth_getTransactionReceipt'),
      action: { kind: 'respond', answer: () => ({ status: 503, headers: { 'content-type': 'text/plain' }, body: 'receipts unavailable (harness fault)' }) },
      times: 1_000_000,
    });
    let during: { status: number; task?: string };
    try {
      ctx.act(`the buyer reads task ${short(t.taskId)} while the node serves no receipts`);
      during = await taskState(t);
    } finally {
      fault.disarm();
    }
    ctx.evidence.note(fault.fired ? describeHit(fault, fault.hits[0]!) : 'the server read no receipt while the node failed them');
    ctx.check(
      rid,
      (during.status === 200 && during.task === 'pending') || during.status >= 500,
      'while receipts fail, the re-mined payment’s task is answered as before (200 pending) or 5xx, never dropped',
      {
        expected: '200 pending, or 5xx',
        actual: `${during.status}${during.task ? ` ${during.task}` : ''}`,
      },
    );
    await paymentRemined(ctx, t, payeeBefore.total, buyerBefore.total);
  },
});

export const paymentReorg = defineScenario({
  kind: 'property',
  id: 'payment-reorg',
  title: 'A payment a reorg removed leaves no live task and moves no money; a payment mined again in another block counts exactly once',
  requirements: ['AGR-ORG-01', 'AGR-ORG-02'],
  ...BASE,
  capabilities: ['reorg'] as Capability[],
  arbitrary: () =>
    fc.record({
      buyer: fc.constantFrom(...BUYERS),
      // Blocks mined on top before the reorg (all replaced by it).
      extra: fc.integer({ min: 0, max: 2 }),
      // Both outcomes in every run, in a generated order (scenario rule 4).
      reminedFirst: fc.boolean(),
      // The server's own transactions after the payment (recordDeposit) mined again too, or lost.
      withServerTxs: fc.boolean(),
    }),
  async run(ctx, v) {
    for (const remined of v.reminedFirst ? [true, false] : [false, true]) {
      // Without reviewer_request any server approves a complete: the money path is under test.
      const t = await paidTask(ctx, { price: '$0.05', buyer: v.buyer, checkPay: false, review: false });
      // Mined again at its own height, the payment's block could come out the same (harness/chain/reorg.ts):
      // a re-mined payment goes at least one block higher, so it is in another block.
      const extra = remined ? Math.max(v.extra, 1) : v.extra;
      if (extra) await t.a.s.test.mine({ blocks: extra });
      const seen = await taskState(t);
      if (seen.status !== 200) throw new Indeterminate(remined ? 'AGR-ORG-02' : 'AGR-ORG-01', `the paid task is not served before the reorg (${seen.status})`);
      const [payeeBefore, buyerBefore] = await Promise.all([holdings(t.a, t.payee), holdings(t.a, t.a.s.address(t.buyer))]);
      const rpc = t.a.s.spec.rpcUrl;
      const depth = await depthFrom(rpc, t.paidBlock);
      const txs = await txsFrom(t, t.paidBlock);
      const again = remined ? (v.withServerTxs ? txs : [t.taskId]) : [];
      ctx.act(
        remined
          ? `a reorg replaces the last ${depth} blocks; the payment${v.withServerTxs ? ' and the server’s later transactions are' : ' is'} mined again in the newest block`
          : `a reorg replaces the last ${depth} blocks (from the payment block up) with blocks without the payment`,
      );
      const r = await reorg(rpc, depth, { reinclude: again.map((hash) => ({ hash, block: depth - 1 })) });
      if (remined) {
        const p = r.reincluded.find((x) => x.hash.toLowerCase() === t.taskId);
        if (p?.status !== 'success') throw new Indeterminate('AGR-ORG-02', `the payment could not be mined again in the new branch (${p ? 'reverted' : 'dropped'})`);
        await paymentRemined(ctx, t, payeeBefore.total, buyerBefore.total);
      } else {
        await paymentGone(ctx, t);
      }
    }
  },
});
