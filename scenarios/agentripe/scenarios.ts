/**
 * `agentripe` scenarios: buyers pay through x402, vendors act through `/vendor/*`, the escrow is read
 * on chain, and every outcome is compared with the pure model (model.ts). The review verdict is
 * what the server reports; the model follows it, so a target with any reviewer can be certified
 * (the reference rule reviewer rejects results containing REJECT-ME and approves honest ones).
 */
import fc from 'fast-check';
import type { Address, Hex } from 'viem';
import { defineScenario, type ModelScenario } from '../../harness/engine/dsl.ts';
import type { RunContext } from '../../harness/engine/context.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { hasCapability } from '../../harness/target/schema.ts';
import { escrowAbi, identityAbi } from '../../reference-impl/agentripe/protocol/abi.ts';
import { formatUsd, parseUsd } from '../../harness/util/money.ts';
import type { Vendor } from '../../reference-impl/agentripe/agents/vendor.ts';
import { registerWithKeyMessage, vendorAuthMessage } from '../../reference-impl/agentripe/protocol/auth.ts';
import { privateKeyToAccount } from 'viem/accounts';
import { pickV2 } from '../../reference-impl/x402/agents/payer.ts';
import { AGR_NEEDS, BUYERS, REVIEW_FIXTURE, agentWallet, agr, askUnpaid, badResult, deposit, getJson, goodResult, holdings, pay, registerAgent, short, vendor, withdrawAll, type Agr } from './lab.ts';
import { AGENTRIPE_PROFILE, depositStatusCode, newTask, raceOutcomes, step, type TaskModel, type VendorAction } from '../../reference-impl/agentripe/protocol/model.ts';

// The attacker only signs or receives (forged signatures, a wrong payTo): a throwaway key when the target declares none.
const BASE = { needs: AGR_NEEDS, endpoints: ['agentripe'], roles: ['buyer1', 'buyer2', 'vendor1', 'vendor2'], signers: ['attacker'], isolation: 'live' as const };
const PATH = 'translate';

/** Catalog prices: the seed's "$0.10", 1 unit, a large price, and anything in between. */
const priceArb = fc.oneof(
  fc.constant('$0.10'),
  fc.constant('$0.000001'),
  fc.constant('$25000.123457'),
  fc.bigInt({ min: 1n, max: 5_000n * 10n ** 6n }).map((u) => formatUsd(u)),
);

/** A paid task ready for the vendor, with the money checks of AGR-PAY-01/02 and AGR-AMT-01 done. */
interface PaidTask {
  a: Agr;
  agentId: bigint;
  taskId: Hex;
  amount: bigint;
  buyer: string;
  vendorRole: string;
  wallet: Address;
  v: Vendor;
}

/** Register an agent, check the 402, pay, and check the deposit (shared by most scenarios). */
async function paidTask(ctx: RunContext, o: { price: string; buyer: string; vendorRole?: string; checkPay?: boolean; review?: boolean }): Promise<PaidTask> {
  const opened = await agr(ctx);
  // `review: false` buys a task without reviewer_request even where the reviewer is predictable.
  const a = { ...opened, review: opened.review && (o.review ?? true) };
  const vendorRole = o.vendorRole ?? 'vendor1';
  const amount = parseUsd(o.price);
  const agentId = await registerAgent(a, vendorRole, PATH, o.price);
  ctx.act(`${o.buyer} asks for '${PATH}' of agent ${agentId} without paying`);
  const c = await askUnpaid(a, agentId, PATH);
  const req = pickV2(c, a.s.chainId, a.usdc);
  const check = o.checkPay ?? true;
  if (check) {
    ctx.check('AGR-PAY-01', c.status === 402 && Boolean(req), "an unpaid request gets 402 with a v2 exact requirement in the chain's USDC", {
      expected: `402 with exact / eip155:${a.s.chainId} / ${a.usdc}`,
      actual: `${c.status}${c.v2 ? ` offering ${JSON.stringify(c.v2.accepts.map((r) => [r.scheme, r.network, r.asset]))}` : ' without a PAYMENT-REQUIRED header'}${c.v2Error ? ` (${c.v2Error})` : ''}`,
    });
    ctx.check('AGR-PAY-01', BigInt(req!.amount) === amount, `the 402 amount is exactly the catalog price ${o.price} in base units`, { expected: amount, actual: req!.amount });
    ctx.check('AGR-PAY-01', req!.payTo.toLowerCase() === a.escrow.toLowerCase(), "payTo is the Agentripe escrow (the buyer's USDC is locked there, never sent to the seller)", {
      expected: a.escrow,
      actual: req!.payTo,
    });
  }
  const buyerAddr = a.s.address(o.buyer);
  const b0 = await holdings(a, buyerAddr);
  const e0 = await holdings(a, a.escrow);
  ctx.act(`${o.buyer} pays ${o.price} (v2 exact, EIP-3009)`);
  const p = await pay(a, o.buyer, agentId, PATH, { req: req ?? undefined });
  if (check)
    ctx.check('AGR-PAY-02', p.status === 200 && /^0x[0-9a-fA-F]{64}$/.test(p.taskId ?? ''), 'a paid request answers 200 {taskId}', {
      expected: '200 + 32-byte taskId',
      actual: `${p.status} ${JSON.stringify(p.body).slice(0, 200)}`,
    });
  else if (p.status !== 200 || !p.taskId) throw new Indeterminate(undefined, `payment was not accepted (${p.status}); cannot run the rest of the scenario`);
  const taskId = p.taskId!.toLowerCase() as Hex;
  ctx.act(`→ task ${short(taskId)}`);
  const b1 = await holdings(a, buyerAddr);
  const e1 = await holdings(a, a.escrow);
  a.s.recordBalances('payment', a.usdc, { buyer: b0.usdc, escrow: e0.usdc }, { buyer: b1.usdc, escrow: e1.usdc });
  const d = await deposit(a, taskId);
  if (check) {
    const receipt = await a.s.public.getTransactionReceipt({ hash: taskId }).catch(() => null);
    ctx.check('AGR-PAY-02', receipt !== null && receipt.status === 'success', 'taskId is the hash of a mined payment transaction', {
      expected: 'a successful tx',
      actual: receipt ? receipt.status : 'no such transaction',
    });
    ctx.check(
      'AGR-PAY-02',
      d.status === AGENTRIPE_PROFILE.statuses.DEPOSITED && d.agentId === agentId && d.buyer.toLowerCase() === buyerAddr.toLowerCase(),
      'getDeposit(taskId) = (agentId, buyer, amount, DEPOSITED)',
      {
        expected: `(${agentId}, ${buyerAddr}, ${amount}, 1)`,
        actual: `(${d.agentId}, ${d.buyer}, ${d.amount}, ${d.status})`,
      },
    );
    ctx.check('AGR-AMT-01', b0.usdc - b1.usdc === amount && e1.usdc - e0.usdc === amount && d.amount === amount, `buyer debit, escrow credit and deposit amount are exactly ${amount}`, {
      expected: `${amount} / ${amount} / ${amount}`,
      actual: `${b0.usdc - b1.usdc} / ${e1.usdc - e0.usdc} / ${d.amount}`,
    });
  }
  const wallet = await agentWallet(a, agentId);
  return { a, agentId, taskId, amount, buyer: o.buyer, vendorRole, wallet, v: vendor(a, vendorRole, agentId) };
}

/** Compare the server's task, the escrow and the credits with the model. */
async function expectState(ctx: RunContext, t: PaidTask, m: TaskModel, base: { vendor: bigint; buyer: bigint }, req: { status: string; escrow: string; money: string }): Promise<void> {
  const st = await getJson(t.a, `/tasks/${t.taskId}`);
  ctx.check(req.status, st.status === 200 && st.body?.status === m.status, `/tasks/{id} reports '${m.status}'`, { expected: m.status, actual: `${st.status} ${st.body?.status}` });
  const d = await deposit(t.a, t.taskId);
  ctx.check(req.escrow, d.status === depositStatusCode(m.escrow), `escrow deposit is ${m.escrow.toUpperCase()}`, { expected: depositStatusCode(m.escrow), actual: d.status });
  const vh = await holdings(t.a, t.wallet);
  const bh = await holdings(t.a, t.a.s.address(t.buyer));
  const sameAccount = t.wallet.toLowerCase() === t.a.s.address(t.buyer).toLowerCase();
  const vendorGot = vh.total - base.vendor;
  const buyerGot = bh.total - base.buyer;
  ctx.check(req.money, sameAccount || (vendorGot === m.vendorCredit && buyerGot === m.buyerCredit), 'agent wallet and buyer are credited exactly what the model says (balance + withdrawable)', {
    expected: `agent wallet +${m.vendorCredit}, buyer +${m.buyerCredit}`,
    actual: `agent wallet +${vendorGot}, buyer +${buyerGot}`,
  });
}

/** Reference point for credits: holdings right after payment. */
async function baseline(t: PaidTask): Promise<{ vendor: bigint; buyer: bigint }> {
  return { vendor: (await holdings(t.a, t.wallet)).total, buyer: (await holdings(t.a, t.a.s.address(t.buyer))).total };
}

/** Keep role balances from draining across runs (refunds and payouts are pull-style in the profile). */
async function tidy(t: PaidTask): Promise<void> {
  await withdrawAll(t.a, t.buyer).catch(() => undefined);
  await withdrawAll(t.a, t.vendorRole).catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------

export const happyPath = defineScenario({
  kind: 'property',
  id: 'paid-task-approved',
  title: 'Happy path: 402 for the catalog price, pay, start, complete, approve, release with exact balances',
  requirements: ['AGR-PAY-01', 'AGR-PAY-02', 'AGR-AMT-01', 'AGR-REV-01', 'AGR-TASK-01'],
  ...BASE,
  capabilities: [REVIEW_FIXTURE],
  arbitrary: () => fc.record({ price: priceArb, buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const t = await paidTask(ctx, { price: v.price, buyer: v.buyer });
    const base = await baseline(t);
    let m = newTask(t.amount);
    const r0 = await getJson(t.a, `/tasks/${t.taskId}/result`);
    ctx.check('AGR-TASK-01', r0.status === 202 && r0.body?.status === 'pending', 'an open task answers 202 {status:"pending"} on /result', {
      expected: '202 pending',
      actual: `${r0.status} ${r0.body?.status}`,
    });
    ctx.act(`${t.vendorRole} starts the task`);
    const s = await t.v.start(t.taskId);
    ctx.check('AGR-TASK-01', s.status === 200 && s.body?.task?.status === 'processing', 'start → 200 {task:{status:"processing"}}', {
      expected: '200 processing',
      actual: `${s.status} ${JSON.stringify(s.body)}`,
    });
    m = (step(m, { kind: 'start' }) as { next: TaskModel }).next;
    ctx.act(`${t.vendorRole} completes it with an honest result`);
    const c = await t.v.complete(t.taskId, goodResult(PATH));
    const approved = c.body?.review?.approved === true;
    if (!approved) throw new Indeterminate('AGR-REV-01', `the target's reviewer rejected an honest result (${c.status} ${JSON.stringify(c.body?.review)})`);
    m = (step(m, { kind: 'complete', approved: true }) as { next: TaskModel }).next;
    ctx.check('AGR-REV-01', c.status === 200 && c.body?.task?.status === 'completed' && c.body?.escrowAction === 'released', 'approved → task completed, escrowAction "released"', {
      expected: 'completed / released',
      actual: `${c.status} ${c.body?.task?.status} / ${c.body?.escrowAction}`,
    });
    await expectState(ctx, t, m, base, { status: 'AGR-TASK-01', escrow: 'AGR-REV-01', money: 'AGR-REV-01' });
    const r1 = await getJson(t.a, `/tasks/${t.taskId}/result`);
    ctx.check('AGR-TASK-01', r1.status === 200 && r1.body?.status === 'completed' && r1.body?.result !== undefined, 'a completed task answers 200 {status:"completed", result}', {
      expected: '200 completed + result',
      actual: `${r1.status} ${JSON.stringify(r1.body).slice(0, 200)}`,
    });
    const unknown = await getJson(t.a, `/tasks/0x${'ab'.repeat(32)}/result`);
    ctx.check('AGR-TASK-01', unknown.status === 404, 'an unknown task id answers 404', { expected: 404, actual: unknown.status });
    await tidy(t);
  },
});

export const completedWithoutReview = defineScenario({
  kind: 'property',
  id: 'paid-task-completed',
  title: 'Without reviewer_request: 402, pay, start, complete, release with exact balances (any reviewer)',
  requirements: ['AGR-PAY-01', 'AGR-PAY-02', 'AGR-AMT-01', 'AGR-TASK-01', 'AGR-ESC-01'],
  ...BASE,
  arbitrary: () => fc.record({ price: priceArb, buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const t = await paidTask(ctx, { price: v.price, buyer: v.buyer, review: false });
    const base = await baseline(t);
    let m = newTask(t.amount);
    await expectState(ctx, t, m, base, { status: 'AGR-TASK-01', escrow: 'AGR-ESC-01', money: 'AGR-ESC-01' });
    ctx.act(`${t.vendorRole} starts the task`);
    const st = await t.v.start(t.taskId);
    ctx.check('AGR-TASK-01', st.status === 200 && st.body?.task?.status === 'processing', 'start → 200 {task:{status:"processing"}}', {
      expected: '200 processing',
      actual: `${st.status} ${JSON.stringify(st.body)}`,
    });
    m = (step(m, { kind: 'start' }) as { next: TaskModel }).next;
    await expectState(ctx, t, m, base, { status: 'AGR-TASK-01', escrow: 'AGR-ESC-01', money: 'AGR-ESC-01' });
    ctx.act(`${t.vendorRole} completes it (no reviewer_request: no review)`);
    const c = await t.v.complete(t.taskId, goodResult(PATH));
    m = (step(m, { kind: 'complete', approved: true }) as { next: TaskModel }).next;
    ctx.check('AGR-TASK-01', c.status === 200 && c.body?.task?.status === 'completed' && c.body?.escrowAction === 'released', 'complete without review → task completed, escrowAction "released"', {
      expected: 'completed / released',
      actual: `${c.status} ${c.body?.task?.status} / ${c.body?.escrowAction}`,
    });
    await expectState(ctx, t, m, base, { status: 'AGR-TASK-01', escrow: 'AGR-TASK-01', money: 'AGR-TASK-01' });
    const r1 = await getJson(t.a, `/tasks/${t.taskId}/result`);
    ctx.check('AGR-TASK-01', r1.status === 200 && r1.body?.status === 'completed' && r1.body?.result !== undefined, 'a completed task answers 200 {status:"completed", result}', {
      expected: '200 completed + result',
      actual: `${r1.status} ${JSON.stringify(r1.body).slice(0, 200)}`,
    });
    await tidy(t);
  },
});

/** k rejections then (k < 5) an approval, or (k = 5) the refund and a refused sixth submission. */
async function rejectionRun(ctx: RunContext, v: { k: number; restart: boolean; buyer: string }): Promise<void> {
  const t = await paidTask(ctx, { price: '$0.10', buyer: v.buyer, checkPay: false });
  const base = await baseline(t);
  let m = newTask(t.amount);
  await t.v.start(t.taskId);
  m = (step(m, { kind: 'start' }) as { next: TaskModel }).next;
  for (let i = 1; i <= v.k; i++) {
    if (v.restart && m.status === 'rejected') {
      ctx.act(`${t.vendorRole} restarts the rejected task`);
      const s = await t.v.start(t.taskId);
      ctx.check('AGR-TASK-01', s.status === 200, 'a rejected task can be started again', { expected: 200, actual: s.status });
      m = (step(m, { kind: 'start' }) as { next: TaskModel }).next;
    }
    ctx.act(`${t.vendorRole} submits a result that ignores the request (attempt ${i})`);
    const c = await t.v.complete(t.taskId, badResult(i));
    if (c.body?.review?.approved !== false) throw new Indeterminate('AGR-REV-02', `the target's reviewer did not reject a result ignoring the request (${c.status} ${JSON.stringify(c.body?.review)})`);
    const r = step(m, { kind: 'complete', approved: false });
    if (r.refused) throw new Error('model refused a complete it should allow');
    m = r.next;
    const req = m.escrow === 'refunded' ? 'AGR-REV-03' : 'AGR-REV-02';
    ctx.check(
      req,
      c.status === 200 && c.body?.task?.status === m.status && c.body?.escrowAction === r.escrowAction && Number(c.body?.task?.reviewRejectCount) === m.rejections,
      `rejection ${i}: task ${m.status}, escrowAction "${r.escrowAction}", reviewRejectCount ${m.rejections}`,
      {
        expected: `${m.status} / ${r.escrowAction} / ${m.rejections}`,
        actual: `${c.status} ${c.body?.task?.status} / ${c.body?.escrowAction} / ${c.body?.task?.reviewRejectCount}`,
      },
    );
    await expectState(ctx, t, m, base, { status: 'AGR-TASK-01', escrow: m.escrow === 'deposited' ? 'AGR-ESC-01' : 'AGR-REV-03', money: m.escrow === 'deposited' ? 'AGR-ESC-01' : 'AGR-REV-03' });
  }
  if (v.k < AGENTRIPE_PROFILE.reviewLimit) {
    ctx.act(`${t.vendorRole} finally submits an honest result`);
    const c = await t.v.complete(t.taskId, goodResult(PATH));
    if (c.body?.review?.approved !== true) throw new Indeterminate('AGR-REV-01', `the target's reviewer rejected an honest result`);
    m = (step(m, { kind: 'complete', approved: true }) as { next: TaskModel }).next;
    ctx.check('AGR-REV-01', c.status === 200 && c.body?.escrowAction === 'released' && c.body?.task?.status === 'completed', 'an approved resubmission completes the task and releases', {
      expected: 'completed / released',
      actual: `${c.body?.task?.status} / ${c.body?.escrowAction}`,
    });
    await expectState(ctx, t, m, base, { status: 'AGR-TASK-01', escrow: 'AGR-REV-01', money: 'AGR-REV-01' });
  } else {
    ctx.act(`${t.vendorRole} tries a sixth submission`);
    const c = await t.v.complete(t.taskId, goodResult(PATH));
    ctx.check('AGR-REV-03', c.status >= 400 && c.status < 500, 'after the fifth rejection another complete is refused (no sixth review)', {
      expected: '4xx',
      actual: `${c.status} ${JSON.stringify(c.body).slice(0, 200)}`,
    });
    await expectState(ctx, t, m, base, { status: 'AGR-REV-03', escrow: 'AGR-REV-03', money: 'AGR-REV-03' });
    const r = await getJson(t.a, `/tasks/${t.taskId}/result`);
    ctx.check('AGR-TASK-01', r.status === 200 && r.body?.status === 'failed' && typeof r.body?.errorMessage === 'string', 'a failed task answers 200 {status:"failed", errorMessage}', {
      expected: '200 failed',
      actual: `${r.status} ${JSON.stringify(r.body).slice(0, 200)}`,
    });
  }
  await tidy(t);
}

export const rejections = defineScenario({
  kind: 'property',
  id: 'review-rejections',
  title: 'Rejections 1..4: money stays in escrow, the vendor resubmits, an approval then releases',
  requirements: ['AGR-REV-01', 'AGR-REV-02', 'AGR-ESC-01', 'AGR-TASK-01'],
  ...BASE,
  capabilities: [REVIEW_FIXTURE],
  arbitrary: () => fc.record({ k: fc.integer({ min: 1, max: 4 }), restart: fc.boolean(), buyer: fc.constantFrom(...BUYERS) }),
  run: rejectionRun,
});

export const fifthRejection = defineScenario({
  kind: 'property',
  id: 'fifth-rejection-refund',
  title: 'The 5th rejection refunds the buyer exactly; a sixth submission is refused',
  requirements: ['AGR-REV-02', 'AGR-REV-03', 'AGR-ESC-01', 'AGR-TASK-01'],
  ...BASE,
  capabilities: [REVIEW_FIXTURE],
  arbitrary: () => fc.record({ k: fc.constant(AGENTRIPE_PROFILE.reviewLimit), restart: fc.boolean(), buyer: fc.constantFrom(...BUYERS) }),
  run: rejectionRun,
});

export const vendorFailure = defineScenario({
  kind: 'property',
  id: 'vendor-fail-refund',
  title: 'Vendor failure from pending, processing or rejected refunds the buyer exactly',
  requirements: ['AGR-FAIL-01', 'AGR-TASK-01'],
  ...BASE,
  // 'rejected' needs a predictable reviewer to reject on purpose.
  arbitrary: (env) =>
    fc.record({
      from: hasCapability(env.target, REVIEW_FIXTURE) ? fc.constantFrom('pending', 'processing', 'rejected') : fc.constantFrom('pending', 'processing'),
      buyer: fc.constantFrom(...BUYERS),
      price: priceArb,
    }),
  async run(ctx, v) {
    const t = await paidTask(ctx, { price: v.price, buyer: v.buyer, checkPay: false });
    const base = await baseline(t);
    let m = newTask(t.amount);
    if (v.from !== 'pending') {
      await t.v.start(t.taskId);
      m = (step(m, { kind: 'start' }) as { next: TaskModel }).next;
    }
    if (v.from === 'rejected') {
      const c = await t.v.complete(t.taskId, badResult(1));
      if (c.body?.review?.approved !== false) throw new Indeterminate(undefined, 'reviewer did not reject');
      m = (step(m, { kind: 'complete', approved: false }) as { next: TaskModel }).next;
    }
    ctx.act(`${t.vendorRole} reports failure while the task is ${m.status}`);
    const f = await t.v.fail(t.taskId, 'cannot do it');
    m = (step(m, { kind: 'fail' }) as { next: TaskModel }).next;
    ctx.check('AGR-FAIL-01', f.status === 200 && f.body?.task?.status === 'failed', 'fail → 200 {task:{status:"failed"}}', {
      expected: '200 failed',
      actual: `${f.status} ${JSON.stringify(f.body).slice(0, 200)}`,
    });
    await expectState(ctx, t, m, base, { status: 'AGR-TASK-01', escrow: 'AGR-FAIL-01', money: 'AGR-FAIL-01' });
    ctx.act(`${t.vendorRole} tries to complete the failed task`);
    const c = await t.v.complete(t.taskId, goodResult(PATH));
    ctx.check('AGR-TASK-01', c.status >= 400 && c.status < 500, 'complete on a failed task is refused', { expected: '4xx', actual: c.status });
    await expectState(ctx, t, m, base, { status: 'AGR-TASK-01', escrow: 'AGR-FAIL-01', money: 'AGR-FAIL-01' });
    await tidy(t);
  },
});

// ---- model-based lifecycle -------------------------------------------------------------------

interface Real {
  t: PaidTask;
  base: { vendor: bigint; buyer: bigint };
  ctx: RunContext;
}
type Cmd = fc.AsyncCommand<{ m: TaskModel }, Real>;

/** One vendor action applied to model and server, then everything compared. */
class ActionCommand implements Cmd {
  constructor(readonly action: 'start' | 'good' | 'bad' | 'fail') {}
  check(): boolean {
    return true; // invalid actions are part of the test: the server must refuse them
  }
  async run(model: { m: TaskModel }, r: Real): Promise<void> {
    const { t, ctx } = r;
    const before = model.m;
    ctx.act(`${t.vendorRole} ${this.toString()} (task is ${before.status}, ${before.rejections} rejections)`);
    let res;
    if (this.action === 'start') res = await t.v.start(t.taskId);
    else if (this.action === 'fail') res = await t.v.fail(t.taskId, 'scenario failure');
    else res = await t.v.complete(t.taskId, this.action === 'good' ? goodResult(PATH) : badResult(before.rejections + 1));
    const act: VendorAction = this.action === 'start' ? { kind: 'start' } : this.action === 'fail' ? { kind: 'fail' } : { kind: 'complete', approved: res.body?.review?.approved === true };
    const out = step(before, act);
    let req = 'AGR-TASK-01';
    if (!out.refused) {
      if (act.kind === 'fail') req = 'AGR-FAIL-01';
      else if (act.kind === 'complete') req = act.approved ? 'AGR-REV-01' : out.next.escrow === 'refunded' ? 'AGR-REV-03' : 'AGR-REV-02';
    }
    if (out.refused) {
      ctx.check('AGR-TASK-01', res.status >= 400 && res.status < 500, `${act.kind} while ${before.status} is refused with 4xx`, {
        expected: '4xx',
        actual: `${res.status} ${JSON.stringify(res.body).slice(0, 200)}`,
      });
    } else {
      ctx.check(req, res.status === 200, `${act.kind} while ${before.status} is accepted`, { expected: 200, actual: `${res.status} ${JSON.stringify(res.body).slice(0, 200)}` });
      if (act.kind === 'complete')
        ctx.check(req, res.body?.escrowAction === out.escrowAction && res.body?.task?.status === out.next.status, `complete reports task ${out.next.status} and escrowAction "${out.escrowAction}"`, {
          expected: `${out.next.status} / ${out.escrowAction}`,
          actual: `${res.body?.task?.status} / ${res.body?.escrowAction}`,
        });
      model.m = out.next;
    }
    const m = model.m;
    const escrowReq = m.escrow === 'deposited' ? 'AGR-ESC-01' : req === 'AGR-TASK-01' ? (m.escrow === 'released' ? 'AGR-REV-01' : 'AGR-FAIL-01') : req;
    await expectState(ctx, t, m, r.base, { status: 'AGR-TASK-01', escrow: escrowReq, money: escrowReq });
  }
  toString(): string {
    return { start: 'starts', good: 'completes with an honest result', bad: 'completes with a result that ignores the request', fail: 'fails' }[this.action];
  }
}

export const lifecycleModel: ModelScenario<{ m: TaskModel }, Real> = defineScenario({
  kind: 'model',
  id: 'task-lifecycle-model',
  title: 'Model-based: random vendor action sequences agree with the task/escrow state machine',
  requirements: ['AGR-TASK-01', 'AGR-REV-01', 'AGR-REV-02', 'AGR-REV-03', 'AGR-FAIL-01', 'AGR-ESC-01'],
  ...BASE,
  capabilities: [REVIEW_FIXTURE],
  maxCommands: 8,
  commands: () => [
    fc.constant(new ActionCommand('start')),
    fc.constant(new ActionCommand('good')),
    fc.constant(new ActionCommand('bad')),
    fc.constant(new ActionCommand('bad')),
    fc.constant(new ActionCommand('fail')),
  ],
  async setup(ctx) {
    const t = await paidTask(ctx, { price: '$0.10', buyer: 'buyer1', checkPay: false });
    const base = await baseline(t);
    return { model: { m: newTask(t.amount) }, real: { t, base, ctx } };
  },
});

// ---- races (scheduledModelRun) ---------------------------------------------------------------

type RaceReal = Real;

/**
 * Two vendor actions sent concurrently; a fast-check scheduler (generated with the command, so it
 * shrinks and replays with it) picks the order in which they start. The command awaits both with
 * `scheduler.waitFor`: fc.scheduledModelRun cannot be used here because its commands may not await
 * real I/O that is itself released by the scheduler (it deadlocks).
 */
class RaceCommand implements fc.AsyncCommand<{ m: TaskModel }, RaceReal> {
  constructor(
    readonly a: 'good' | 'fail' | 'bad',
    readonly b: 'good' | 'fail' | 'bad',
    readonly sch: fc.Scheduler,
  ) {}
  check(): boolean {
    return true;
  }
  async run(model: { m: TaskModel }, r: RaceReal): Promise<void> {
    const { t, ctx } = r;
    const sch = this.sch;
    const before = model.m;
    ctx.act(`${t.vendorRole} sends '${this.a}' and '${this.b}' at the same time (task ${before.status})`);
    const go = (x: 'good' | 'fail' | 'bad') =>
      sch
        .schedule(Promise.resolve(x), `send ${x}`)
        .then(() => (x === 'fail' ? t.v.fail(t.taskId, 'race') : t.v.complete(t.taskId, x === 'good' ? goodResult(PATH) : badResult(before.rejections + 1))));
    const [ra, rb] = await sch.waitFor(Promise.all([go(this.a), go(this.b)]));
    ctx.act(
      `  order: ${sch
        .report()
        .map((x) => x.label)
        .join(' → ')}`,
    );
    // Without reviewer_request there is no review: a complete is an approval whatever the answer says about review.
    const verdict = (x: typeof this.a, res: { body: any }): VendorAction => (x === 'fail' ? { kind: 'fail' } : { kind: 'complete', approved: !t.a.review || res.body?.review?.approved === true });
    const options = raceOutcomes(before, verdict(this.a, ra), verdict(this.b, rb));
    const d = await deposit(t.a, t.taskId);
    const st = await getJson(t.a, `/tasks/${t.taskId}`);
    const match = options.find((o) => depositStatusCode(o.escrow) === d.status && o.status === st.body?.status);
    ctx.check('AGR-ESC-02', match !== undefined, 'the race ends in a state reachable by running the two actions one after the other', {
      expected: options.map((o) => `${o.status}/${o.escrow}`).join(' or '),
      actual: `${st.body?.status}/${['none', 'deposited', 'released', 'refunded'][d.status]} (responses ${ra.status}, ${rb.status})`,
    });
    model.m = match!;
    const vh = await holdings(t.a, t.wallet);
    const bh = await holdings(t.a, t.a.s.address(t.buyer));
    const vendorGot = vh.total - r.base.vendor;
    const buyerGot = bh.total - r.base.buyer;
    ctx.check('AGR-ESC-02', vendorGot === match!.vendorCredit && buyerGot === match!.buyerCredit && vendorGot + buyerGot <= t.amount, 'the amount is credited once, to one side only', {
      expected: `agent wallet +${match!.vendorCredit}, buyer +${match!.buyerCredit}`,
      actual: `agent wallet +${vendorGot}, buyer +${buyerGot}`,
    });
  }
  toString(): string {
    return `race(${this.a}, ${this.b})`;
  }
}

export const races: ModelScenario<{ m: TaskModel }, RaceReal> = defineScenario({
  kind: 'model',
  id: 'vendor-races',
  title: 'Races: two completes, complete vs fail, fail vs fail on one task resolve the deposit once',
  requirements: ['AGR-ESC-02'],
  ...BASE,
  maxCommands: 3,
  // A rejected result ('bad') is only predictable with the review fixture; without it tasks carry no reviewer_request.
  commands: (env) => [
    fc.scheduler().map((sch) => new RaceCommand('good', 'good', sch)),
    fc.scheduler().map((sch) => new RaceCommand('good', 'fail', sch)),
    fc.scheduler().map((sch) => new RaceCommand('fail', 'fail', sch)),
    ...(hasCapability(env.target, REVIEW_FIXTURE) ? [fc.scheduler().map((sch) => new RaceCommand('bad', 'good', sch))] : []),
  ],
  async setup(ctx) {
    const t = await paidTask(ctx, { price: '$0.10', buyer: 'buyer2', checkPay: false });
    await t.v.start(t.taskId);
    const base = await baseline(t);
    return { model: { m: { ...newTask(t.amount), status: 'processing' } }, real: { t, base, ctx } };
  },
});

// ---- payments that must not create tasks ------------------------------------------------------

export const badPayments = defineScenario({
  kind: 'property',
  id: 'bad-payments',
  title: 'Replayed, short, misdirected and expired payments create no task and move no money',
  requirements: ['AGR-PAY-03'],
  ...BASE,
  arbitrary: () => fc.record({ kind: fc.constantFrom('replay', 'underpay', 'wrong-payto', 'expired'), buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const a = await agr(ctx);
    const agentId = await registerAgent(a, 'vendor1', PATH, '$0.10');
    const c = await askUnpaid(a, agentId, PATH);
    const req = pickV2(c, a.s.chainId, a.usdc);
    if (!req) throw new Indeterminate('AGR-PAY-03', 'no v2 exact requirement offered');
    const buyer = a.s.address(v.buyer);
    let header: string | undefined;
    if (v.kind === 'replay') {
      ctx.act(`${v.buyer} pays once`);
      const first = await pay(a, v.buyer, agentId, PATH, { req });
      if (first.status !== 200) throw new Indeterminate('AGR-PAY-03', `the first, honest payment was refused (${first.status})`);
      header = first.header;
    }
    const now = await a.s.pendingTime();
    const tamper =
      v.kind === 'underpay'
        ? { auth: { value: BigInt(req.amount) - 1n } }
        : v.kind === 'wrong-payto'
          ? { auth: { to: a.s.address('attacker') } }
          : v.kind === 'expired'
            ? { auth: { validAfter: now - 3600n, validBefore: now - 1n } }
            : {};
    const b0 = await holdings(a, buyer);
    const e0 = await holdings(a, a.escrow);
    ctx.act(v.kind === 'replay' ? `${v.buyer} sends the same PAYMENT-SIGNATURE again` : `${v.buyer} pays with a ${v.kind} authorization`);
    const p = await pay(a, v.buyer, agentId, PATH, { req, header, tamper });
    ctx.check('AGR-PAY-03', (p.status < 200 || p.status >= 300) && !p.taskId, `a ${v.kind} payment is refused without creating a task`, {
      expected: '402/4xx, no taskId',
      actual: `${p.status} ${JSON.stringify(p.body).slice(0, 200)}`,
    });
    const b1 = await holdings(a, buyer);
    const e1 = await holdings(a, a.escrow);
    a.s.recordBalances(`${v.kind} payment`, a.usdc, { buyer: b0.usdc, escrow: e0.usdc }, { buyer: b1.usdc, escrow: e1.usdc });
    ctx.check('AGR-PAY-03', b1.usdc === b0.usdc && e1.usdc === e0.usdc, 'no USDC moved', { expected: `buyer ${b0.usdc}, escrow ${e0.usdc}`, actual: `buyer ${b1.usdc}, escrow ${e1.usdc}` });
  },
});

// ---- ownership and auth ----------------------------------------------------------------------

export const ownership = defineScenario({
  kind: 'property',
  id: 'vendor-ownership',
  title: "A vendor cannot start, complete or fail another agent's task",
  requirements: ['AGR-AUTH-01'],
  ...BASE,
  arbitrary: () => fc.record({ action: fc.constantFrom('start', 'complete', 'fail'), started: fc.boolean() }),
  async run(ctx, v) {
    const t = await paidTask(ctx, { price: '$0.10', buyer: 'buyer1', checkPay: false });
    if (v.started) await t.v.start(t.taskId);
    const base = await baseline(t);
    const a = t.a;
    const otherAgent = await registerAgent(a, 'vendor2', 'other', '$0.10');
    const intruder = vendor(a, 'vendor2', otherAgent);
    const before = await getJson(a, `/tasks/${t.taskId}`);
    ctx.act(`vendor2 (agent ${otherAgent}) tries to ${v.action} vendor1's task ${short(t.taskId)}`);
    const res = v.action === 'start' ? await intruder.start(t.taskId) : v.action === 'fail' ? await intruder.fail(t.taskId, 'sabotage') : await intruder.complete(t.taskId, goodResult(PATH));
    ctx.check('AGR-AUTH-01', res.status === 403 || res.status === 404, `${v.action} on another agent's task is refused (403 "Not authorized for this agent")`, {
      expected: 403,
      actual: `${res.status} ${JSON.stringify(res.body).slice(0, 200)}`,
    });
    const after = await getJson(a, `/tasks/${t.taskId}`);
    ctx.check('AGR-AUTH-01', after.body?.status === before.body?.status, 'the task is unchanged', { expected: before.body?.status, actual: after.body?.status });
    const m = { ...newTask(t.amount), status: before.body?.status } as TaskModel;
    await expectState(ctx, t, m, base, { status: 'AGR-AUTH-01', escrow: 'AGR-AUTH-01', money: 'AGR-AUTH-01' });
    await t.v.fail(t.taskId, 'cleanup');
    await tidy(t);
  },
});

export const vendorAuth = defineScenario({
  kind: 'property',
  id: 'vendor-signature-auth',
  title: 'Vendor EIP-191 auth refuses stale, future, forged and non-owner signatures',
  requirements: ['AGR-AUTH-02'],
  ...BASE,
  arbitrary: () =>
    fc.record({
      kind: fc.constantFrom('stale', 'future', 'forged', 'not-owner'),
      skew: fc.integer({ min: AGENTRIPE_PROFILE.authWindowSeconds + 30, max: 86_400 }),
    }),
  async run(ctx, v) {
    const t = await paidTask(ctx, { price: '$0.10', buyer: 'buyer2', checkPay: false });
    const a = t.a;
    const owner = privateKeyToAccount(ctx.key('vendor1'));
    const other = privateKeyToAccount(ctx.key('attacker'));
    const nowS = Math.floor(Date.now() / 1000);
    const ts = v.kind === 'stale' ? nowS - v.skew : v.kind === 'future' ? nowS + v.skew : nowS;
    const claimed = v.kind === 'not-owner' ? other.address : owner.address;
    const signer = v.kind === 'forged' || v.kind === 'not-owner' ? other : owner;
    const signature = await signer.signMessage({ message: vendorAuthMessage(claimed, ts) });
    ctx.act(
      `a request for agent ${t.agentId} with a ${v.kind} signature (timestamp ${ts - nowS >= 0 ? '+' : ''}${ts - nowS}s, claimed ${claimed.slice(0, 8)}…, signed by ${signer.address.slice(0, 8)}…)`,
    );
    const res = await ctx.fetch(`${a.url}/vendor/tasks/${t.taskId}/start`, {
      method: 'POST',
      headers: { 'x-vendor-address': claimed, 'x-agent-id': t.agentId.toString(), 'x-timestamp': String(ts), 'x-signature': signature },
    });
    ctx.check('AGR-AUTH-02', res.status === 401 || res.status === 403, `a ${v.kind} vendor signature is refused`, { expected: 401, actual: `${res.status} ${(await res.text()).slice(0, 200)}` });
    const st = await getJson(a, `/tasks/${t.taskId}`);
    ctx.check('AGR-AUTH-02', st.body?.status === 'pending', 'the task is unchanged', { expected: 'pending', actual: st.body?.status });
    // The honest vendor with a fresh timestamp is accepted, so refusals above are not blanket refusals.
    const ok = await t.v.start(t.taskId);
    ctx.check('AGR-AUTH-02', ok.status === 200, 'the owner with a fresh signature is accepted', { expected: 200, actual: ok.status });
    await t.v.fail(t.taskId, 'cleanup');
    await tidy(t);
  },
});

const walletTypes = {
  AgentWalletSet: [
    { name: 'agentId', type: 'uint256' },
    { name: 'newWallet', type: 'address' },
    { name: 'owner', type: 'address' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

export const walletChange = defineScenario({
  kind: 'property',
  id: 'wallet-change-signature',
  title: 'An agent wallet changes only with a valid EIP-712 AgentWalletSet signature by the new wallet',
  requirements: ['AGR-AUTH-03'],
  ...BASE,
  arbitrary: () => fc.constantFrom('wrong-signer', 'wrong-agent', 'expired'),
  async run(ctx, kind) {
    const a = await agr(ctx);
    const data = {
      name: 'wallet scenario agent',
      description: 'x',
      x402Support: true,
      services: [{ name: 'x402', endpoint: a.url, catalog: [{ path: PATH, price: '$0.10', type: 'async', description: 'x' }] }],
    };
    const reg = await ctx.fetch(`${a.url}/agents/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data }) });
    const rb = (await reg.json().catch(() => ({}))) as { agentId?: number | string };
    if (reg.status !== 201 || rb.agentId === undefined) throw new Indeterminate('AGR-AUTH-03', `POST /agents/register answered ${reg.status}; cannot test wallet changes`);
    const agentId = BigInt(rb.agentId);
    const owner = await a.s.read(a.identity, identityAbi, 'ownerOf', [agentId]);
    const before = await agentWallet(a, agentId);
    const newWallet = privateKeyToAccount(ctx.key('vendor2'));
    const attacker = privateKeyToAccount(ctx.key('attacker'));
    const now = await a.s.pendingTime();
    const domain = { name: 'ERC8004IdentityRegistry', version: '1', chainId: a.s.chainId, verifyingContract: a.identity };
    const sign = (signer: typeof attacker, id: bigint, deadline: bigint) =>
      signer.signTypedData({ domain, types: walletTypes, primaryType: 'AgentWalletSet', message: { agentId: id, newWallet: newWallet.address, owner, deadline } });
    const deadline = kind === 'expired' ? now - 10n : now + 120n;
    const sig =
      kind === 'wrong-signer' ? await sign(attacker, agentId, deadline) : kind === 'wrong-agent' ? await sign(newWallet, agentId + 1000n, deadline) : await sign(newWallet, agentId, deadline);
    ctx.act(`someone asks to set agent ${agentId}'s wallet to vendor2 with a ${kind} signature`);
    const res = await ctx.fetch(`${a.url}/agents/${agentId}/wallet`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ walletAddress: newWallet.address, deadline: Number(deadline), signature: sig }),
    });
    ctx.check('AGR-AUTH-03', res.status >= 400 && res.status < 500, `a wallet change with a ${kind} signature is refused`, {
      expected: '4xx',
      actual: `${res.status} ${(await res.text()).slice(0, 200)}`,
    });
    const after = await agentWallet(a, agentId);
    ctx.check('AGR-AUTH-03', after === before, 'getAgentWallet is unchanged', { expected: before, actual: after });
    ctx.act('the new wallet signs a valid AgentWalletSet');
    const good = await sign(newWallet, agentId, now + 120n);
    const ok = await ctx.fetch(`${a.url}/agents/${agentId}/wallet`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ walletAddress: newWallet.address, deadline: Number(now + 120n), signature: good }),
    });
    const w = await agentWallet(a, agentId);
    ctx.check('AGR-AUTH-03', ok.status === 200 && w.toLowerCase() === newWallet.address.toLowerCase(), 'a valid signature does change the wallet (refusals are not blanket)', {
      expected: `200, wallet ${newWallet.address}`,
      actual: `${ok.status}, wallet ${w}`,
    });
  },
});

// ---- read routes and API keys ----------------------------------------------------------------

export const buyerRoutes = defineScenario({
  kind: 'property',
  id: 'buyer-routes',
  title: '/health, /tasks/{id}/detail, /agents and /agents/{id} describe the task, payment and agent consistently',
  requirements: ['AGR-API-01'],
  ...BASE,
  arbitrary: () => fc.record({ price: priceArb, buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const t = await paidTask(ctx, { price: v.price, buyer: v.buyer, checkPay: false });
    const a = t.a;
    const h = await getJson(a, '/health');
    ctx.check('AGR-API-01', h.status === 200 && h.body?.status === 'ok', '/health answers {status:"ok"}', { expected: '200 ok', actual: `${h.status} ${JSON.stringify(h.body)}` });
    ctx.act(`${v.buyer} reads /tasks/${short(t.taskId)}/detail`);
    const d = await getJson(a, `/tasks/${t.taskId}/detail`);
    const pay = d.body?.payment;
    ctx.check('AGR-API-01', d.status === 200 && d.body?.task?.id?.toLowerCase() === t.taskId && d.body?.task?.productId === PATH && d.body?.task?.status === 'pending', 'detail.task names the task', {
      expected: `${t.taskId} / ${PATH} / pending`,
      actual: `${d.status} ${JSON.stringify(d.body?.task).slice(0, 300)}`,
    });
    ctx.check(
      'AGR-API-01',
      String(pay?.transactionHash).toLowerCase() === t.taskId && String(pay?.amount) === t.amount.toString() && String(pay?.payer).toLowerCase() === a.s.address(t.buyer).toLowerCase(),
      'detail.payment: transactionHash = taskId, amount = price, payer = buyer',
      {
        expected: `${t.taskId} / ${t.amount} / ${a.s.address(t.buyer)}`,
        actual: `${pay?.transactionHash} / ${pay?.amount} / ${pay?.payer}`,
      },
    );
    const list = await getJson(a, '/agents');
    const listed = (list.body?.agents ?? []).some((x: { agentId?: unknown }) => String(x.agentId) === t.agentId.toString());
    ctx.check('AGR-API-01', list.status === 200 && listed, 'GET /agents lists the agent', {
      expected: `agent ${t.agentId} listed`,
      actual: `${list.status}, ${list.body?.agents?.length ?? 0} agents, listed=${listed}`,
    });
    const one = await getJson(a, `/agents/${t.agentId}`);
    const entry = one.body?.services?.flatMap((x: { catalog?: { path: string; price: string }[] }) => x.catalog ?? []).find((c: { path: string }) => c.path === PATH);
    ctx.check('AGR-API-01', one.status === 200 && typeof one.body?.name === 'string' && entry?.price === v.price, 'GET /agents/{id} returns the AgentURIData with the catalog entry', {
      expected: `${PATH} at ${v.price}`,
      actual: `${one.status} ${JSON.stringify(one.body).slice(0, 300)}`,
    });
    await t.v.fail(t.taskId, 'cleanup');
    await tidy(t);
  },
});

export const apiKeys = defineScenario({
  kind: 'property',
  id: 'api-key-auth',
  title: 'register-with-key: fresh signature → ak_ key for that agent; unknown key, stale or foreign signature refused',
  requirements: ['AGR-AUTH-04'],
  ...BASE,
  // Every run tries the stale and the foreign signature (in a generated order) before the fresh one.
  arbitrary: () => fc.record({ bads: fc.shuffledSubarray(['stale', 'foreign'] as const, { minLength: 2 }), skew: fc.integer({ min: AGENTRIPE_PROFILE.authWindowSeconds + 30, max: 86_400 }) }),
  async run(ctx, v) {
    const a = await agr(ctx);
    const wallet = privateKeyToAccount(ctx.key('vendor2'));
    const other = privateKeyToAccount(ctx.key('attacker'));
    const data = {
      name: 'api-key scenario agent',
      description: 'x',
      x402Support: true,
      services: [{ name: 'x402', endpoint: a.url, catalog: [{ path: PATH, price: '$0.10', type: 'async', description: 'x' }] }],
    };
    const register = async (ts: number, signer: typeof wallet) => {
      const walletSignature = await signer.signMessage({ message: registerWithKeyMessage(wallet.address, ts) });
      const res = await ctx.fetch(`${a.url}/agents/register-with-key`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ walletAddress: wallet.address, walletSignature, timestamp: ts, data }),
      });
      return { status: res.status, body: (await res.json().catch(() => null)) as { agentId?: number | string; apiKey?: string } | null };
    };
    const nowS = Math.floor(Date.now() / 1000);
    for (const bad of v.bads) {
      const ts = bad === 'stale' ? nowS - v.skew : nowS;
      ctx.act(`vendor2 registers with a ${bad} signature (timestamp ${ts - nowS}s)`);
      const r = await register(ts, bad === 'foreign' ? other : wallet);
      ctx.check('AGR-AUTH-04', r.status >= 400 && r.status < 500 && !r.body?.apiKey, `a ${bad} register-with-key is refused`, {
        expected: '4xx, no apiKey',
        actual: `${r.status} ${JSON.stringify(r.body).slice(0, 200)}`,
      });
    }
    ctx.act('vendor2 registers with a fresh signature');
    const ok = await register(nowS, wallet);
    ctx.check('AGR-AUTH-04', ok.status === 201 && /^ak_/.test(ok.body?.apiKey ?? '') && ok.body?.agentId !== undefined, 'a fresh signature registers an agent and returns an ak_ key', {
      expected: '201 {agentId, apiKey: ak_…}',
      actual: `${ok.status} ${JSON.stringify(ok.body).slice(0, 200)}`,
    });
    const listWith = async (key: string) => (await ctx.fetch(`${a.url}/vendor/tasks`, { headers: { authorization: `Bearer ${key}` } })).status;
    const good = await listWith(ok.body!.apiKey!);
    ctx.check('AGR-AUTH-04', good === 200, 'the issued key authenticates /vendor/tasks', { expected: 200, actual: good });
    const wrong = await listWith(`ak_${'0'.repeat(48)}`);
    ctx.check('AGR-AUTH-04', wrong === 401, 'an unknown ak_ key gets 401', { expected: 401, actual: wrong });
  },
});

// ---- timeouts --------------------------------------------------------------------------------

export const reclaim = defineScenario({
  kind: 'property',
  id: 'vendor-absent-reclaim',
  title: 'Vendor absent: the buyer reclaims the deposit after the deadline, not before; nobody else can',
  requirements: ['AGR-ESC-03'],
  ...BASE,
  // The attacker sends a reclaim transaction itself, so it needs a funded account.
  roles: [...BASE.roles, 'attacker'],
  capabilities: ['clock-control', 'snapshot'],
  arbitrary: () => fc.record({ early: fc.integer({ min: 1, max: AGENTRIPE_PROFILE.reclaimDelaySeconds - 60 }), buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const t = await paidTask(ctx, { price: '$0.10', buyer: v.buyer, checkPay: false });
    const a = t.a;
    const escrowCall = (role: string, label: string) => a.s.attempt({ label, role, address: a.escrow, abi: escrowAbi, functionName: 'reclaim', args: [t.taskId] });
    // Chain time moves forward here; revert afterwards so later runs see the ordinary clock. The
    // servers did nothing after the snapshot, so their own state stays consistent with the chain.
    const snap = await a.s.test.snapshot();
    try {
      const due = await a.s.read(a.escrow, escrowAbi, 'reclaimableAt', [t.taskId]);
      const now = await a.s.now();
      ctx.act(`the vendor never acts; ${v.early}s later the buyer tries to reclaim`);
      await a.s.test.increaseTime({ seconds: Math.min(v.early, Math.max(0, Number(due - now) - 30)) });
      await a.s.test.mine({ blocks: 1 });
      const early = await escrowCall(t.buyer, 'buyer reclaims before the deadline');
      ctx.check('AGR-ESC-03', !early.ok, 'reclaim before the deadline is refused', { expected: 'refused', actual: early.ok ? 'accepted' : early.reason });
      const now2 = await a.s.now();
      ctx.act('the chain clock passes the reclaim deadline');
      await a.s.test.increaseTime({ seconds: Number(due - now2) + 1 });
      await a.s.test.mine({ blocks: 1 });
      const thief = await escrowCall('attacker', "attacker reclaims the buyer's deposit");
      ctx.check('AGR-ESC-03', !thief.ok, 'only the buyer may reclaim', { expected: 'refused', actual: thief.ok ? 'accepted' : thief.reason });
      const b0 = await holdings(a, a.s.address(t.buyer));
      const ok = await escrowCall(t.buyer, 'buyer reclaims after the deadline');
      const b1 = await holdings(a, a.s.address(t.buyer));
      const d = await deposit(a, t.taskId);
      ctx.check('AGR-ESC-03', ok.ok && d.status === AGENTRIPE_PROFILE.statuses.REFUNDED && b1.total - b0.total === t.amount, 'after the deadline the buyer gets exactly the amount back', {
        expected: `REFUNDED, buyer +${t.amount}`,
        actual: `${ok.ok ? 'accepted' : `refused (${ok.reason})`}, status ${d.status}, buyer +${b1.total - b0.total}`,
      });
    } finally {
      await a.s.test.revert({ id: snap });
    }
  },
});

export const agentripeScenarios = [
  happyPath,
  completedWithoutReview,
  rejections,
  fifthRejection,
  vendorFailure,
  lifecycleModel,
  races,
  badPayments,
  ownership,
  vendorAuth,
  walletChange,
  buyerRoutes,
  apiKeys,
  reclaim,
];
