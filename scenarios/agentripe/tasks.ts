/**
 * Task scenarios: a paid task through start / complete (review) / fail, as properties and as a
 * model-based run of random vendor actions (fc.commands), plus races between vendor calls. After
 * every action everything observable is compared with the model (observe.ts); agents are generated
 * with their owner, agentWallet and approved operator apart as well as together.
 */
import fc from 'fast-check';
import { defineScenario, type ModelScenario } from '../../harness/engine/dsl.ts';
import type { RunContext } from '../../harness/engine/context.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { hasCapability } from '../../harness/target/schema.ts';
import { formatUsd } from '../../harness/util/money.ts';
import { ordinal } from '../../harness/profiles/constants.ts';
import { allowed, depositStatusCode, newTask, raceOutcomes, step, type TaskModel, type VendorAction } from '../../reference-impl/agentripe/protocol/model.ts';
import type { VendorAction as Answer } from '../../reference-impl/agentripe/agents/vendor.ts';
import { AGR_NEEDS, BUYERS, constantsOf, OPERATOR_ROLE, REVIEW_FIXTURE, ROLE_SHAPES, approveOperator, badResult, deposit, getJson, goodResult, rolesFor, setWallet, totals } from './lab.ts';
import { OBSERVED, PATH, observe, observing, paidTask, parties, tidy, type PaidTask } from './observe.ts';

// Signer-only roles: the attacker (forged signatures, a wrong payTo) and an agent's approved operator.
export const BASE = { needs: AGR_NEEDS, endpoints: ['agentripe'], roles: ['buyer1', 'buyer2', 'vendor1', 'vendor2'], signers: ['attacker', OPERATOR_ROLE], isolation: 'live' as const };

/** Catalog prices: the seed's "$0.10", 1 unit, a large price, and anything in between. */
export const priceArb = fc.oneof(
  fc.constant('$0.10'),
  fc.constant('$0.000001'),
  fc.constant('$25000.123457'),
  fc.bigInt({ min: 1n, max: 5_000n * 10n ** 6n }).map((u) => formatUsd(u)),
);

/** Who owns the agent, holds its wallet and acts for it (scenario rule 3). */
export const rolesArb = fc.record({ shape: fc.constantFrom(...ROLE_SHAPES), byOperator: fc.boolean() }).map((r) => rolesFor(r.shape, 'vendor1', r.byOperator));

/** Apply an action the model must accept. */
export function next(m: TaskModel, a: VendorAction): TaskModel {
  const r = step(m, a);
  if (r.refused) throw new Error(`model refused ${a.kind} in ${m.status}`);
  return r.next;
}

/** The escrow/money requirement for an observation: open tasks are AGR-ESC-01, resolved ones `resolved`. */
const obs = (m: TaskModel, resolved: string) => observing(m.escrow === 'deposited' ? 'AGR-ESC-01' : resolved);

async function start(ctx: RunContext, t: PaidTask, m: TaskModel): Promise<TaskModel> {
  ctx.act(`${t.roles.actor} starts the task`);
  const s = await t.v.start(t.taskId);
  ctx.check('AGR-TASK-01', s.status === 200 && s.body?.task?.status === 'processing', 'start → 200 {task:{status:"processing"}}', {
    expected: '200 processing',
    actual: `${s.status} ${JSON.stringify(s.body)}`.slice(0, 300),
  });
  return next(m, { kind: 'start' });
}

/** A completed task gets another complete with a different result: refused, and nothing changes (its result included). */
async function refusedResubmission(ctx: RunContext, t: PaidTask, m: TaskModel, resolved: string): Promise<void> {
  ctx.act(`${t.roles.actor} submits another, different result for the completed task`);
  const again = await t.v.complete(t.taskId, `${goodResult(PATH)} (second version)`);
  ctx.expectRefused('AGR-TASK-01', again, 'complete on a completed task is refused');
  await observe(ctx, t, m, obs(m, resolved));
}

// ---------------------------------------------------------------------------------------------

export const happyPath = defineScenario({
  kind: 'property',
  id: 'paid-task-approved',
  title: 'Happy path: 402 for the catalog price, pay, start, complete, approve, release to the agentWallet with exact balances',
  requirements: ['AGR-PAY-01', 'AGR-PAY-02', 'AGR-AMT-01', 'AGR-REV-01', 'AGR-ESC-01', ...OBSERVED],
  ...BASE,
  capabilities: [REVIEW_FIXTURE],
  arbitrary: () => fc.record({ price: priceArb, buyer: fc.constantFrom(...BUYERS), roles: rolesArb }),
  async run(ctx, v) {
    const t = await paidTask(ctx, { price: v.price, buyer: v.buyer, roles: v.roles });
    let m = newTask(t.amount, constantsOf(ctx).reviewLimit);
    await observe(ctx, t, m, obs(m, 'AGR-REV-01'));
    m = await start(ctx, t, m);
    await observe(ctx, t, m, obs(m, 'AGR-REV-01'));
    ctx.act(`${t.roles.actor} completes it with an honest result`);
    const c = await t.v.complete(t.taskId, goodResult(PATH));
    if (c.body?.review?.approved !== true) throw new Indeterminate('AGR-REV-01', `the target's reviewer rejected an honest result (${c.status} ${JSON.stringify(c.body?.review)})`);
    m = next(m, { kind: 'complete', approved: true });
    t.approvedResult = goodResult(PATH);
    ctx.check('AGR-REV-01', c.status === 200 && c.body?.task?.status === 'completed' && c.body?.escrowAction === 'released', 'approved → task completed, escrowAction "released"', {
      expected: 'completed / released',
      actual: `${c.status} ${c.body?.task?.status} / ${c.body?.escrowAction}`,
    });
    await observe(ctx, t, m, obs(m, 'AGR-REV-01'));
    await refusedResubmission(ctx, t, m, 'AGR-REV-01');
    const unknown = await getJson(t.a, `/tasks/0x${'ab'.repeat(32)}/result`);
    ctx.expectStatus('AGR-TASK-01', unknown, 404, 'an unknown task id answers 404');
    await tidy(t);
  },
});

export const completedWithoutReview = defineScenario({
  kind: 'property',
  id: 'paid-task-completed',
  title: 'Without reviewer_request (POST, or GET with no body): no review; 402, pay, start, complete, release with exact balances (any reviewer)',
  requirements: ['AGR-PAY-01', 'AGR-PAY-02', 'AGR-AMT-01', 'AGR-REV-04', 'AGR-ESC-01', ...OBSERVED],
  ...BASE,
  arbitrary: () => fc.record({ price: priceArb, buyer: fc.constantFrom(...BUYERS), roles: rolesArb, get: fc.boolean() }),
  async run(ctx, v) {
    const t = await paidTask(ctx, { price: v.price, buyer: v.buyer, roles: v.roles, review: false, get: v.get });
    let m = newTask(t.amount, constantsOf(ctx).reviewLimit);
    await observe(ctx, t, m, obs(m, 'AGR-REV-04'));
    m = await start(ctx, t, m);
    await observe(ctx, t, m, obs(m, 'AGR-REV-04'));
    // The seed's complete carries {result}: one without it is refused and changes nothing. (A result
    // of null is left open: a lenient server may take it as the vendor's answer.)
    ctx.act(`${t.roles.actor} completes it without a result (body {})`);
    const bare = await t.v.complete(t.taskId, undefined);
    ctx.check('AGR-TASK-01', bare.status >= 400 && bare.status < 500, 'a complete without a result is refused with a 4xx', {
      expected: '4xx',
      actual: `${bare.status} ${JSON.stringify(bare.body)?.slice(0, 200)}`,
    });
    await observe(ctx, t, m, obs(m, 'AGR-REV-04'));
    ctx.act(`${t.roles.actor} completes it (no reviewer_request: no review)`);
    const c = await t.v.complete(t.taskId, goodResult(PATH));
    m = next(m, { kind: 'complete', approved: true });
    t.approvedResult = goodResult(PATH);
    ctx.check('AGR-REV-04', c.status === 200 && c.body?.task?.status === 'completed' && c.body?.escrowAction === 'released', 'complete without review → task completed, escrowAction "released"', {
      expected: 'completed / released',
      actual: `${c.status} ${c.body?.task?.status} / ${c.body?.escrowAction}`,
    });
    await observe(ctx, t, m, obs(m, 'AGR-REV-04'));
    await refusedResubmission(ctx, t, m, 'AGR-REV-04');
    await tidy(t);
  },
});

/** k rejections then (k < limit) an approval, or (k = limit, seed: 5) the refund and a refused next submission. */
async function rejectionRun(ctx: RunContext, v: { k: number; restart: boolean; buyer: string; roles: PaidTask['roles'] }): Promise<void> {
  const t = await paidTask(ctx, { price: '$0.10', buyer: v.buyer, roles: v.roles, checkPay: false });
  let m = newTask(t.amount, constantsOf(ctx).reviewLimit);
  await t.v.start(t.taskId);
  m = next(m, { kind: 'start' });
  for (let i = 1; i <= v.k; i++) {
    if (v.restart && m.status === 'rejected') {
      ctx.act(`${t.roles.actor} restarts the rejected task`);
      const s = await t.v.start(t.taskId);
      ctx.expectStatus('AGR-TASK-01', s, 200, 'a rejected task can be started again');
      m = next(m, { kind: 'start' });
    }
    ctx.act(`${t.roles.actor} submits a result that ignores the request (attempt ${i})`);
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
    await observe(ctx, t, m, obs(m, 'AGR-REV-03'));
  }
  const limit = constantsOf(ctx).reviewLimit;
  if (v.k < limit) {
    ctx.act(`${t.roles.actor} finally submits an honest result`);
    const c = await t.v.complete(t.taskId, goodResult(PATH));
    if (c.body?.review?.approved !== true) throw new Indeterminate('AGR-REV-01', `the target's reviewer rejected an honest result`);
    m = next(m, { kind: 'complete', approved: true });
    t.approvedResult = goodResult(PATH);
    ctx.check('AGR-REV-01', c.status === 200 && c.body?.escrowAction === 'released' && c.body?.task?.status === 'completed', 'an approved resubmission completes the task and releases', {
      expected: 'completed / released',
      actual: `${c.body?.task?.status} / ${c.body?.escrowAction}`,
    });
    await observe(ctx, t, m, obs(m, 'AGR-REV-01'));
  } else {
    ctx.act(`${t.roles.actor} tries a ${ordinal(limit + 1)} submission`);
    const c = await t.v.complete(t.taskId, goodResult(PATH));
    ctx.expectRefused('AGR-REV-03', c, `after the ${ordinal(limit)} rejection another complete is refused (no ${ordinal(limit + 1)} review)`);
    await observe(ctx, t, m, obs(m, 'AGR-REV-03'));
  }
  await tidy(t);
}

export const rejections = defineScenario({
  kind: 'property',
  id: 'review-rejections',
  title: 'Rejections below the limit (1..4 by default): money stays in escrow, the vendor resubmits, an approval then releases',
  requirements: ['AGR-REV-01', 'AGR-REV-02', 'AGR-REV-03', 'AGR-ESC-01', ...OBSERVED],
  ...BASE,
  capabilities: [REVIEW_FIXTURE],
  // With a rejection limit of 1 (a what-if profile) no rejection leaves the task open: k = 0.
  arbitrary: (env) =>
    fc.record({
      k: fc.integer({ min: Math.min(1, constantsOf(env).reviewLimit - 1), max: constantsOf(env).reviewLimit - 1 }),
      restart: fc.boolean(),
      buyer: fc.constantFrom(...BUYERS),
      roles: rolesArb,
    }),
  run: rejectionRun,
});

export const fifthRejection = defineScenario({
  kind: 'property',
  id: 'fifth-rejection-refund',
  title: 'The last allowed rejection (the 5th by default) refunds the buyer exactly; another submission is refused',
  requirements: ['AGR-REV-02', 'AGR-REV-03', 'AGR-ESC-01', ...OBSERVED],
  ...BASE,
  capabilities: [REVIEW_FIXTURE],
  arbitrary: (env) => fc.record({ k: fc.constant(constantsOf(env).reviewLimit), restart: fc.boolean(), buyer: fc.constantFrom(...BUYERS), roles: rolesArb }),
  run: rejectionRun,
});

export const vendorFailure = defineScenario({
  kind: 'property',
  id: 'vendor-fail-refund',
  title: 'Vendor failure from pending, processing or rejected refunds the buyer exactly; a later complete changes nothing',
  requirements: ['AGR-FAIL-01', 'AGR-ESC-01', ...OBSERVED],
  ...BASE,
  // 'rejected' needs a predictable reviewer to reject on purpose.
  arbitrary: (env) =>
    fc.record({
      from: hasCapability(env.target, REVIEW_FIXTURE) ? fc.constantFrom('pending', 'processing', 'rejected') : fc.constantFrom('pending', 'processing'),
      buyer: fc.constantFrom(...BUYERS),
      price: priceArb,
      roles: rolesArb,
    }),
  async run(ctx, v) {
    const t = await paidTask(ctx, { price: v.price, buyer: v.buyer, roles: v.roles, checkPay: false });
    let m = newTask(t.amount, constantsOf(ctx).reviewLimit);
    if (v.from !== 'pending') {
      await t.v.start(t.taskId);
      m = next(m, { kind: 'start' });
    }
    if (v.from === 'rejected') {
      const c = await t.v.complete(t.taskId, badResult(1));
      if (c.body?.review?.approved !== false) throw new Indeterminate(undefined, 'reviewer did not reject');
      m = next(m, { kind: 'complete', approved: false });
    }
    ctx.act(`${t.roles.actor} reports failure while the task is ${m.status}`);
    const f = await t.v.fail(t.taskId, 'cannot do it');
    m = next(m, { kind: 'fail' });
    ctx.check('AGR-FAIL-01', f.status === 200 && f.body?.task?.status === 'failed', 'fail → 200 {task:{status:"failed"}}', {
      expected: '200 failed',
      actual: `${f.status} ${JSON.stringify(f.body).slice(0, 200)}`,
    });
    await observe(ctx, t, m, obs(m, 'AGR-FAIL-01'));
    ctx.act(`${t.roles.actor} tries to complete the failed task`);
    const c = await t.v.complete(t.taskId, goodResult(PATH));
    ctx.expectRefused('AGR-TASK-01', c, 'complete on a failed task is refused');
    await observe(ctx, t, m, obs(m, 'AGR-FAIL-01'));
    await tidy(t);
  },
});

// ---- model-based lifecycle -------------------------------------------------------------------

/** The model: the task, who holds the agentWallet and whether the operator is approved. */
interface LModel {
  m: TaskModel;
  wallet: string;
  approved: boolean;
}
interface Real {
  t: PaidTask;
  ctx: RunContext;
}
type Cmd = fc.AsyncCommand<LModel, Real>;

const OWNER = 'vendor1';
const OTHER_WALLET = 'vendor2';

/** The escrow/money requirement of the state reached by `act` (what a violation there breaks). */
function reqOf(before: TaskModel, after: TaskModel, act: VendorAction, refused: boolean): string {
  if (after.escrow === 'deposited') return 'AGR-ESC-01';
  if (refused || before.escrow !== 'deposited') return after.escrow === 'released' ? 'AGR-REV-01' : 'AGR-FAIL-01';
  if (act.kind === 'fail') return 'AGR-FAIL-01';
  return after.escrow === 'released' ? 'AGR-REV-01' : 'AGR-REV-03';
}

/** The observation of the lifecycle: everything, stats counts included. */
const lifecycleObs = (escrow: string) => ({ ...observing(escrow), statsCounts: 'AGR-STAT-01' });

/** One vendor action by the owner or the approved operator, applied to model and server, then everything compared. */
class ActionCommand implements Cmd {
  constructor(
    readonly action: 'start' | 'good' | 'bad' | 'fail',
    readonly by: 'owner' | 'operator',
  ) {}
  check(s: Readonly<LModel>): boolean {
    return this.by === 'owner' || s.approved;
  }
  async run(s: LModel, r: Real): Promise<void> {
    const { t, ctx } = r;
    const before = s.m;
    const who = this.by === 'owner' ? OWNER : OPERATOR_ROLE;
    ctx.act(`${who} ${this.toString()} (task is ${before.status}, ${before.rejections} rejections)`);
    const v = t.as[who]!;
    let res: Answer;
    if (this.action === 'start') res = await v.start(t.taskId);
    else if (this.action === 'fail') res = await v.fail(t.taskId, 'scenario failure');
    else res = await v.complete(t.taskId, this.action === 'good' ? goodResult(PATH) : badResult(before.rejections + 1));
    // Where the model allows the action, a 401/403 can only be vendor auth refusing the operator.
    if (this.by === 'operator' && allowed(before, this.action === 'good' || this.action === 'bad' ? 'complete' : this.action))
      ctx.check('AGR-AUTH-06', res.status !== 401 && res.status !== 403, 'the approved operator passes vendor auth', {
        expected: 'not 401/403',
        actual: `${res.status} ${JSON.stringify(res.body)}`.slice(0, 200),
      });
    const act: VendorAction = this.action === 'start' ? { kind: 'start' } : this.action === 'fail' ? { kind: 'fail' } : { kind: 'complete', approved: res.body?.review?.approved === true };
    const out = step(before, act);
    if (out.refused) {
      ctx.expectRefused('AGR-TASK-01', res, `${act.kind} while ${before.status} is refused with 4xx`);
    } else {
      const req = reqOf(before, out.next, act, false);
      const accReq = act.kind === 'complete' && out.next.escrow === 'deposited' ? 'AGR-REV-02' : act.kind === 'start' ? 'AGR-TASK-01' : req;
      ctx.expectStatus(accReq, res, 200, `${act.kind} while ${before.status} is accepted`);
      if (act.kind === 'complete')
        ctx.check(
          accReq,
          res.body?.escrowAction === out.escrowAction && res.body?.task?.status === out.next.status,
          `complete reports task ${out.next.status} and escrowAction "${out.escrowAction}"`,
          {
            expected: `${out.next.status} / ${out.escrowAction}`,
            actual: `${res.body?.task?.status} / ${res.body?.escrowAction}`,
          },
        );
      if (act.kind === 'complete' && act.approved) t.approvedResult = goodResult(PATH);
      s.m = out.next;
    }
    await observe(ctx, t, s.m, lifecycleObs(reqOf(before, s.m, act, out.refused)));
  }
  toString(): string {
    return { start: 'starts', good: 'completes with an honest result', bad: 'completes with a result that ignores the request', fail: 'fails' }[this.action];
  }
}

/** The agentWallet, neither owner nor approved, tries to act: vendor auth refuses it and nothing changes. */
class WalletTriesCommand implements Cmd {
  check(s: Readonly<LModel>): boolean {
    return s.wallet !== OWNER;
  }
  async run(s: LModel, r: Real): Promise<void> {
    const { t, ctx } = r;
    ctx.act(`the agentWallet (${s.wallet}, neither owner nor approved) tries to start and to fail the task`);
    for (const res of [await t.as[s.wallet]!.start(t.taskId), await t.as[s.wallet]!.fail(t.taskId, 'not mine')]) {
      ctx.check('AGR-AUTH-06', res.status === 401 || res.status === 403, 'vendor auth refuses the agentWallet alone', {
        expected: '401 or 403',
        actual: `${res.status} ${JSON.stringify(res.body)}`.slice(0, 200),
      });
    }
    await observe(ctx, t, s.m, lifecycleObs(reqOf(s.m, s.m, { kind: 'start' }, true)));
  }
  toString(): string {
    return 'walletTries';
  }
}

/** The owner points the agentWallet somewhere else on chain (a release pays the wallet of the moment). */
class SetWalletCommand implements Cmd {
  constructor(readonly to: string) {}
  check(s: Readonly<LModel>): boolean {
    return s.wallet !== this.to;
  }
  async run(s: LModel, r: Real): Promise<void> {
    await setWallet(r.t.a, r.t.agentId, OWNER, this.to);
    s.wallet = this.to;
    if (s.m.escrow === 'deposited') r.t.payee = r.t.a.s.address(this.to);
    await observe(r.ctx, r.t, s.m, lifecycleObs(reqOf(s.m, s.m, { kind: 'start' }, true)));
  }
  toString(): string {
    return `setWallet(${this.to})`;
  }
}

/** The owner approves the operator, or clears the approval. */
class ApproveCommand implements Cmd {
  constructor(readonly on: boolean) {}
  check(s: Readonly<LModel>): boolean {
    return s.approved !== this.on;
  }
  async run(s: LModel, r: Real): Promise<void> {
    await approveOperator(r.t.a, r.t.agentId, OWNER, this.on ? OPERATOR_ROLE : null);
    s.approved = this.on;
    if (!this.on) {
      r.ctx.act(`${OPERATOR_ROLE}, no longer approved, tries to start the task`);
      const res = await r.t.as[OPERATOR_ROLE]!.start(r.t.taskId);
      r.ctx.check('AGR-AUTH-06', res.status === 401 || res.status === 403, 'an operator whose approval was cleared is refused', { expected: '401 or 403', actual: `${res.status}` });
      await observe(r.ctx, r.t, s.m, lifecycleObs(reqOf(s.m, s.m, { kind: 'start' }, true)));
    }
  }
  toString(): string {
    return `approve(${this.on})`;
  }
}

export const lifecycleModel: ModelScenario<LModel, Real> = defineScenario({
  kind: 'model',
  id: 'task-lifecycle-model',
  title: 'Model-based: random vendor actions by the owner or an approved operator, wallet changes and approvals agree with the task/escrow state machine on every route and view',
  requirements: ['AGR-TASK-01', 'AGR-REV-01', 'AGR-REV-02', 'AGR-REV-03', 'AGR-FAIL-01', 'AGR-ESC-01', 'AGR-AUTH-06', 'AGR-STAT-01', ...OBSERVED],
  ...BASE,
  capabilities: [REVIEW_FIXTURE],
  maxCommands: 10,
  commands: () => [
    ...(['start', 'good', 'bad', 'bad', 'fail'] as const).flatMap((a) => [fc.constant(new ActionCommand(a, 'owner')), fc.constant(new ActionCommand(a, 'operator'))]),
    fc.constant(new WalletTriesCommand()),
    fc.constantFrom(new SetWalletCommand(OWNER), new SetWalletCommand(OTHER_WALLET)),
    fc.constantFrom(new ApproveCommand(true), new ApproveCommand(false)),
  ],
  async setup(ctx) {
    // Start with owner, agentWallet and operator apart; the commands may bring them together.
    const t = await paidTask(ctx, { price: '$0.10', buyer: 'buyer1', roles: { owner: OWNER, wallet: OTHER_WALLET, operator: OPERATOR_ROLE, actor: OPERATOR_ROLE }, checkPay: false });
    return { model: { m: newTask(t.amount, constantsOf(ctx).reviewLimit), wallet: OTHER_WALLET, approved: true }, real: { t, ctx } };
  },
  async finish(_model, real) {
    await tidy(real.t);
  },
});

// ---- races -----------------------------------------------------------------------------------

type Kind = 'good' | 'fail' | 'bad';

/** What an answer reports: accepted with this outcome, or refused. */
function reported(x: Kind, res: Answer): { refused: boolean; status?: string; escrowAction?: string } {
  if (res.status >= 400 && res.status < 500) return { refused: true };
  return { refused: false, status: res.body?.task?.status, escrowAction: x === 'fail' ? undefined : res.body?.escrowAction };
}

/**
 * Whether the two answers read as the actions run one after the other in `order` ending in
 * `final`: an accepted step reports the model's outcome; a refused step got a 4xx, or a 2xx that
 * reports the final outcome (an idempotent answer to the loser).
 */
function answersFit(before: TaskModel, acts: [VendorAction, VendorAction], answers: [ReturnType<typeof reported>, ReturnType<typeof reported>], final: TaskModel): boolean {
  let m = before;
  for (let i = 0; i < 2; i++) {
    const r = step(m, acts[i]!);
    const got = answers[i]!;
    if (r.refused) {
      if (!got.refused && got.status !== final.status) return false;
      continue;
    }
    if (got.refused || got.status !== r.next.status) return false;
    if (acts[i]!.kind === 'complete' && got.escrowAction !== r.escrowAction) return false;
    m = r.next;
  }
  return m.status === final.status && m.escrow === final.escrow;
}

/**
 * Two vendor actions sent concurrently; a fast-check scheduler (generated with the command, so it
 * shrinks and replays with it) picks the order in which they start. The command awaits both with
 * `scheduler.waitFor`: fc.scheduledModelRun cannot be used here because its commands may not await
 * real I/O that is itself released by the scheduler (it deadlocks).
 */
class RaceCommand implements fc.AsyncCommand<{ m: TaskModel }, Real> {
  constructor(
    readonly a: Kind,
    readonly b: Kind,
    readonly sch: fc.Scheduler,
  ) {}
  check(): boolean {
    return true;
  }
  async run(model: { m: TaskModel }, r: Real): Promise<void> {
    const { t, ctx } = r;
    const sch = this.sch;
    const before = model.m;
    ctx.act(`${t.roles.actor} sends '${this.a}' and '${this.b}' at the same time (task ${before.status})`);
    const go = (x: Kind) =>
      sch
        .schedule(Promise.resolve(x), `send ${x}`)
        .then(() => (x === 'fail' ? t.v.fail(t.taskId, 'race') : t.v.complete(t.taskId, x === 'good' ? goodResult(PATH) : badResult(before.rejections + 1))));
    const [ra, rb] = await sch.waitFor(Promise.all([go(this.a), go(this.b)]));
    ctx.act(
      `  order: ${sch
        .report()
        .map((x) => x.label)
        .join(' → ')}; answers ${ra.status}, ${rb.status}`,
    );
    // Without reviewer_request there is no review: a complete is an approval whatever the answer says about review.
    const verdict = (x: Kind, res: { body: any }): VendorAction => (x === 'fail' ? { kind: 'fail' } : { kind: 'complete', approved: !t.reviewed || res.body?.review?.approved === true });
    const va = verdict(this.a, ra);
    const vb = verdict(this.b, rb);
    const options = raceOutcomes(before, va, vb);
    const [d, st] = await Promise.all([deposit(t.a, t.taskId), getJson(t.a, `/tasks/${t.taskId}`)]);
    const match = options.find((o) => depositStatusCode(o.escrow) === d.status && o.status === st.body?.status);
    ctx.check('AGR-ESC-02', match !== undefined, 'the race ends in a state reachable by running the two actions one after the other', {
      expected: options.map((o) => `${o.status}/${o.escrow}`).join(' or '),
      actual: `${st.body?.status}/${['none', 'deposited', 'released', 'refunded'][d.status]} (answers ${ra.status}, ${rb.status})`,
    });
    // Losers are judged by their answers: a 5xx, or a promise to retry what can never succeed, is a failure.
    const bad = [ra, rb].filter((x) => x.status >= 500 || /retr(y|ied)/i.test(JSON.stringify(x.body ?? '')));
    ctx.check('AGR-ESC-02', bad.length === 0, 'no answer in a race is a 5xx or a promise to retry', {
      expected: '2xx or 4xx, no "will be retried"',
      actual: bad.map((x) => `${x.status} ${JSON.stringify(x.body)}`.slice(0, 200)).join(' | ') || 'none',
    });
    const ans: [ReturnType<typeof reported>, ReturnType<typeof reported>] = [reported(this.a, ra), reported(this.b, rb)];
    const fits = answersFit(before, [va, vb], ans, match!) || answersFit(before, [vb, va], [ans[1], ans[0]], match!);
    ctx.check('AGR-ESC-02', fits, 'the two answers read as the actions run one after the other: the winner its outcome, the loser a 4xx conflict or the same final outcome', {
      expected: `answers consistent with ${match!.status}/${match!.escrow}`,
      actual: `${this.a}: ${ra.status} ${JSON.stringify(ans[0])}; ${this.b}: ${rb.status} ${JSON.stringify(ans[1])}`,
    });
    model.m = match!;
    const who = parties(t);
    const now = await totals(t.a, who);
    const got = (addr: string) => now[who.findIndex((w) => w.toLowerCase() === addr.toLowerCase())]! - t.base.get(addr.toLowerCase())!;
    const vendorGot = got(t.payee);
    const buyerGot = got(t.a.s.address(t.buyer));
    ctx.check('AGR-ESC-02', vendorGot === match!.vendorCredit && buyerGot === match!.buyerCredit && vendorGot + buyerGot <= t.amount, 'the amount is credited once, to one side only', {
      expected: `agent wallet +${match!.vendorCredit}, buyer +${match!.buyerCredit}`,
      actual: `agent wallet +${vendorGot}, buyer +${buyerGot}`,
    });
  }
  toString(): string {
    return `race(${this.a}, ${this.b})`;
  }
}

export const races: ModelScenario<{ m: TaskModel }, Real> = defineScenario({
  kind: 'model',
  id: 'vendor-races',
  title: 'Races: two completes, complete vs fail, fail vs fail on one task resolve the deposit once; the loser gets a conflict, never a 5xx',
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
    return { model: { m: { ...newTask(t.amount, constantsOf(ctx).reviewLimit), status: 'processing' } }, real: { t, ctx } };
  },
  async finish(_model, real) {
    await tidy(real.t);
  },
});
