/**
 * Agentripe across crashes (issue 15, capability `restart`): the server is killed with SIGKILL and
 * restarted by the target's restart control, and the task's lifecycle is then finished. Nothing
 * may be lost or done twice: the task is still there with the state it had, the escrow holds its
 * one deposit until exactly one release or refund, and the buyer and the vendor's wallet end with
 * exactly what the model says.
 *
 * Two kinds of crash:
 * - between requests, at every step boundary of a lifecycle (after the agent's registration, after
 *   the payment, after start, after a rejection, after the approval or the failure): any target
 *   with a restart control;
 * - inside the request that resolves the escrow (complete or fail), once the server decided: its
 *   release or refund transaction, or the reputation feedback that follows it, is held in the
 *   harness's RPC fault proxy while the server is killed, then dropped (crash before the send) or let
 *   through (crash after the send, before the server saw it mined). While the feedback is cut, the
 *   buyer gives the agent its own feedback with the task id as its hash: the server's is still owed.
 *   This needs `rpc-faults` too: the reference grants it, a target file cannot.
 */
import fc from 'fast-check';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { eventually } from '../../harness/engine/restart.ts';
import { ordinal } from '../../harness/profiles/constants.ts';
import { describeHit, expectFired, orLost, rpcErrorAnswer, rpcFaultsOf, sendsCall } from '../../harness/faults/index.ts';
import { AGENTRIPE_PROFILE, depositStatusCode, newTask, type TaskModel } from '../../reference-impl/agentripe/protocol/model.ts';
import { escrowAbi, reputationAbi } from '../../reference-impl/agentripe/protocol/abi.ts';
import { BUYERS, agr, applyRoles, badResult, constantsOf, deposit, feedbackCount, getJson, goodResult, registerAgent, rolesFor, short, type AgentRoles } from './lab.ts';
import { PATH, observe, paidTask, resolvedOnce, tidy, type ObserveReqs, type PaidTask } from './observe.ts';
import { BASE, next } from './tasks.ts';

const REQ = 'AGR-RST-01';
const PRICE = '$0.10';
/** Every observable after every restart, judged against the model under this one requirement. */
const OBSERVE: ObserveReqs = { status: REQ, escrow: REQ, money: REQ, detail: REQ, listing: REQ };
/** How long a restarted server may take to finish a release or refund it decided before the crash. */
const RESOLVE_WITHIN_MS = 20_000;

/** Each run restarts the server 5-9 times (seconds each on a loaded machine): 2 runs at most, 10 min each. */
// Restarts cost seconds each: a failing run is reported as it failed, not shrunk.
const RESTART = { ...BASE, capabilities: ['restart' as const], maxRuns: 2, runTimeoutMs: 600_000, shrink: false };

/** The restartable server's URL (a separate instance where the target keeps one for crash tests). */
async function restartableUrl(ctx: RunContext): Promise<string> {
  return (await ctx.restartable('agentripe')).url.replace(/\/+$/, '');
}

/** Crash and restart the server, then compare everything observable with the model. */
async function crashAndObserve(ctx: RunContext, t: PaidTask, m: TaskModel, boundary: string): Promise<void> {
  await ctx.restart('agentripe', boundary);
  await observe(ctx, t, m, OBSERVE);
}

/** Within RESOLVE_WITHIN_MS the task reads its final status and getDeposit the resolution (`what`: "of the restart the decided release"). */
async function expectCarriedOut(ctx: RunContext, req: string, t: PaidTask, final: TaskModel, what: string): Promise<void> {
  const code = depositStatusCode(final.escrow);
  const finished = await eventually(async () => (await getJson(t.a, `/tasks/${t.taskId}`)).body?.status === final.status && (await deposit(t.a, t.taskId)).status === code, RESOLVE_WITHIN_MS);
  if (finished) return;
  const [st, d] = await Promise.all([getJson(t.a, `/tasks/${t.taskId}`), deposit(t.a, t.taskId)]);
  ctx.check(req, false, `within ${RESOLVE_WITHIN_MS / 1000} s ${what} is carried out and the task reports it`, {
    expected: `task ${final.status}, getDeposit status ${code}`,
    actual: `task ${st.status} ${st.body?.status}, getDeposit status ${d.status}`,
  });
}

type Step = 'start' | 'reject' | 'approve' | 'fail';

/** One vendor step, checked to succeed as the model says; returns the model after it. */
async function stepOf(ctx: RunContext, t: PaidTask, m: TaskModel, s: Step, attempt: number): Promise<TaskModel> {
  if (s === 'start') {
    ctx.act(`${t.roles.actor} starts the task`);
    const r = await t.v.start(t.taskId);
    ctx.check(REQ, r.status === 200 && r.body?.task?.status === 'processing', 'after the restart, start → 200 processing', {
      expected: '200 processing',
      actual: `${r.status} ${JSON.stringify(r.body)?.slice(0, 200)}`,
    });
    return next(m, { kind: 'start' });
  }
  if (s === 'fail') {
    ctx.act(`${t.roles.actor} reports failure`);
    const r = await t.v.fail(t.taskId, 'cannot do it');
    const after = next(m, { kind: 'fail' });
    ctx.check(REQ, r.status === 200 && r.body?.task?.status === 'failed', 'after the restart, fail → 200 failed (refunded)', {
      expected: '200 failed',
      actual: `${r.status} ${JSON.stringify(r.body)?.slice(0, 200)}`,
    });
    return after;
  }
  const approved = s === 'approve';
  ctx.act(`${t.roles.actor} submits ${approved ? 'an honest result' : `a result that ignores the request (attempt ${attempt})`}`);
  const result = approved ? goodResult(PATH) : badResult(attempt);
  const r = await t.v.complete(t.taskId, result);
  if (t.reviewed && r.status === 200 && r.body?.review?.approved !== approved)
    throw new Indeterminate(REQ, `the target's reviewer ${approved ? 'rejected an honest result' : 'approved a result ignoring the request'}`);
  const after = next(m, { kind: 'complete', approved });
  if (approved) t.approvedResult = result;
  ctx.check(REQ, r.status === 200 && r.body?.task?.status === after.status, `after the restart, complete → 200 ${after.status}`, {
    expected: `200 ${after.status}`,
    actual: `${r.status} ${JSON.stringify(r.body)?.slice(0, 200)}`,
  });
  return after;
}

/** A lifecycle with a crash at every boundary: after registration, after the payment, after each step. */
async function crashEveryStep(ctx: RunContext, v: { buyer: string; roles: AgentRoles }, url: string, path: 'release' | 'refund'): Promise<void> {
  const a = await agr(ctx, url);
  const agentId = await registerAgent(a, v.roles.owner, PATH, PRICE);
  await applyRoles(a, agentId, v.roles);
  await ctx.restart('agentripe', 'after the agent was registered, before any payment');
  const t = await paidTask(ctx, { price: PRICE, buyer: v.buyer, agent: { agentId, roles: v.roles }, checkPay: false, url });
  let m = newTask(t.amount, constantsOf(ctx).reviewLimit);
  await crashAndObserve(ctx, t, m, 'after the payment (task pending)');
  const steps: Step[] = path === 'refund' ? ['start', 'fail'] : t.reviewed ? ['start', 'reject', 'approve'] : ['start', 'approve'];
  let attempt = 0;
  for (const s of steps) {
    m = await stepOf(ctx, t, m, s, s === 'reject' ? ++attempt : attempt);
    await crashAndObserve(ctx, t, m, `after ${s} (task ${m.status})`);
  }
  await resolvedOnce(ctx, REQ, t, m);
  await tidy(t);
}

export const restartEveryStep = defineScenario({
  kind: 'property',
  id: 'restart-every-step',
  title: 'The server is killed (SIGKILL) and restarted at every step boundary of a paid task; the task finishes with nothing lost or paid twice',
  requirements: [REQ],
  ...RESTART,
  // A fixed enumeration of the lifecycles (every boundary in every run); only the buyer and the roles
  // vary. A shuffled order would make each shrink attempt of a failure cost minutes of restarts.
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), shape: fc.constantFrom('same', 'all-apart' as const) }),
  async run(ctx, v) {
    const url = await restartableUrl(ctx);
    // Both lifecycles in every run, so every boundary is crossed whatever --runs is (rule 4).
    for (const path of ['refund', 'release'] as const) await crashEveryStep(ctx, { buyer: v.buyer, roles: rolesFor(v.shape) }, url, path);
  },
});

type Cut = 'before-send' | 'after-send';
/** What is in flight at the crash: the escrow transaction (release or refund), or the reputation feedback that follows it. */
type Held = 'resolution' | 'feedback';
/** Both escrow actions, each cut before and after its send; then the feedback of a release cut before its send and of a refund cut after it. */
const CASES = [
  ['approve', 'before-send', 'resolution'],
  ['approve', 'after-send', 'resolution'],
  ['fail', 'before-send', 'resolution'],
  ['fail', 'after-send', 'resolution'],
  ['approve', 'before-send', 'feedback'],
  ['fail', 'after-send', 'feedback'],
] as const;
const CUTS: Record<Held, Record<Cut, string>> = {
  resolution: {
    'before-send': 'after it decided, before its escrow transaction reached the chain (the send is dropped)',
    'after-send': 'after its escrow transaction was mined, before it saw the answer',
  },
  feedback: {
    'before-send': 'after the escrow resolved, before its reputation feedback reached the chain (the send is dropped)',
    'after-send': 'after its reputation feedback was mined, before it saw the answer',
  },
};
/** How long a server that answers before giving feedback may take to send it (profile §3.16). */
const FEEDBACK_SEND_WITHIN_MS = 20_000;

/**
 * One task whose release (approve) or refund (fail) is cut by a crash at `cut`, then finished. With
 * `held: 'feedback'` the escrow action goes through and the crash cuts the reputation feedback for
 * it instead: after the restart the agent must still get exactly one (resolvedOnce), none lost and
 * none given twice. Skipped on a target that declares no ReputationRegistry (nothing to hold).
 */
async function crashInsideResolution(ctx: RunContext, v: { buyer: string }, url: string, action: 'approve' | 'fail', cut: Cut, held: Held): Promise<void> {
  const t = await paidTask(ctx, { price: PRICE, buyer: v.buyer, roles: rolesFor('same'), checkPay: false, url, review: false });
  if (held === 'feedback' && !t.a.reputation.length) return;
  let m = newTask(t.amount, constantsOf(ctx).reviewLimit);
  m = await stepOf(ctx, t, m, 'start', 0);
  const proxy = await rpcFaultsOf(t.a.s.spec.rpcUrl);
  const what = held === 'feedback' ? `reputation feedback for the ${action === 'approve' ? 'release' : 'refund'}` : action === 'approve' ? 'release' : 'refund';
  const forTask = (a: readonly unknown[]) => String(a[0]).toLowerCase() === t.taskId.toLowerCase();
  const forAgent = (a: readonly unknown[]) => BigInt(a[0] as bigint) === t.agentId;
  const sends =
    held === 'feedback'
      ? sendsCall({ to: t.a.reputation, abi: reputationAbi, functions: ['giveFeedback'], args: forAgent })
      : sendsCall({ to: t.a.escrow, abi: escrowAbi, functions: ['releaseToVendor', 'refundToBuyer'], args: forTask });
  const fault = proxy.arm({
    name: `the server's ${what} of ${short(t.taskId)} held in the RPC proxy`,
    when: sends,
    action: { kind: 'delay', phase: cut === 'before-send' ? 'request' : 'response', hold: true },
  });
  const final = next(m, action === 'approve' ? { kind: 'complete', approved: true } : { kind: 'fail' });
  const send = () => (action === 'approve' ? t.v.complete(t.taskId, goodResult(PATH)) : t.v.fail(t.taskId, 'cannot do it'));
  if (action === 'approve') t.approvedResult = goodResult(PATH);
  ctx.act(`${t.roles.actor} ${action === 'approve' ? 'submits an honest result (no review: released)' : 'reports failure (refund)'}`);
  // Read before the request: a feedback let through ('after-send') may be mined moments after it.
  const feedbackBefore = held === 'feedback' ? ((await feedbackCount(t.a, t.agentId)) ?? 0) : 0;
  const first = orLost(send());
  let othersFeedback = 0;
  try {
    // A server may answer before it gives feedback (profile §3.16): its feedback send is waited for.
    const answered = held === 'feedback' ? new Promise<false>((r) => setTimeout(() => r(false), FEEDBACK_SEND_WITHIN_MS).unref()) : first.then(() => false as const);
    const fired = await Promise.race([fault.whenFired().then(() => true), answered]);
    // Only read the answer when nothing was held: a held request's answer never comes before the restart.
    if (!fired) {
      const said = await Promise.race([first.then((a) => `it answered ${JSON.stringify(a).slice(0, 120)}`), new Promise<string>((r) => setTimeout(() => r('no answer yet'), 0))]);
      expectFired(fault, REQ, `the server sent no ${what} transaction through the RPC proxy (${said})`);
    }
    if (cut === 'after-send') {
      const mined =
        held === 'feedback'
          ? await eventually(async () => ((await feedbackCount(t.a, t.agentId)) ?? 0) > feedbackBefore, 10_000)
          : await eventually(async () => (await deposit(t.a, t.taskId)).status !== AGENTRIPE_PROFILE.statuses.DEPOSITED, 10_000);
      if (!mined) throw new Indeterminate(REQ, `the node did not mine the held ${what} transaction, so the cut 'after the send' did not happen`);
    }
    // While the server's own feedback is cut, the buyer gives its own with the task id as the hash.
    if (held === 'feedback') othersFeedback = await buyerFeedback(ctx, t);
    await ctx.restart('agentripe', CUTS[held][cut]);
  } finally {
    // The old process is gone: what was held is delivered to nobody (after-send) or never sent (before-send).
    fault.discard();
    fault.disarm();
  }
  await first;
  ctx.evidence.note(describeHit(fault, fault.hits[0]!));
  // The vendor saw no answer: it sends the same request again, as any client would.
  ctx.act(`${t.roles.actor} got no answer and sends the same ${action === 'approve' ? 'complete' : 'fail'} again`);
  const retry = await orLost(send());
  ctx.check(
    REQ,
    retry !== 'lost' && ((retry.status === 200 && retry.body?.task?.status === final.status) || (retry.status >= 400 && retry.status < 500)),
    `the retry is answered with the decided outcome (200 ${final.status}) or refused (4xx), never a 5xx or nothing`,
    { expected: `200 ${final.status} or a 4xx`, actual: retry === 'lost' ? 'no answer' : `${retry.status} ${JSON.stringify(retry.body)?.slice(0, 200)}` },
  );
  await expectCarriedOut(ctx, REQ, t, final, `of the restart the decided ${final.escrow === 'released' ? 'release' : 'refund'}`);
  m = final;
  await observe(ctx, t, m, OBSERVE);
  await resolvedOnce(ctx, REQ, t, m, othersFeedback);
  await tidy(t);
}

/**
 * The buyer gives the agent its own ERC-8004 feedback for the task on every declared
 * ReputationRegistry, with the task id as `feedbackHash` (the natural hash for a review of a task
 * whose id is its payment's hash). A server that, after a restart, looks for "a NewFeedback with
 * this hash" from anyone, not from itself, takes the buyer's for its own and never gives its own.
 * Returns how many it gave.
 */
async function buyerFeedback(ctx: RunContext, t: PaidTask): Promise<number> {
  for (const r of t.a.reputation) {
    ctx.act(`${t.buyer} gives the agent its own reputation feedback for the task on ${short(r)} (feedbackHash = the task id, tag1 "agentripe")`);
    const res = await t.a.s.attempt({
      label: `${t.buyer} gives feedback`,
      role: t.buyer,
      address: r,
      abi: reputationAbi,
      functionName: 'giveFeedback',
      args: [t.agentId, 100n, 0, 'agentripe', 'completed', '', '', t.taskId],
    });
    if (!res.ok) throw new Indeterminate(REQ, `the ReputationRegistry at ${r} refused the buyer's feedback (${res.reason})`);
  }
  return t.a.reputation.length;
}

export const restartInsideResolution = defineScenario({
  kind: 'property',
  id: 'restart-inside-escrow-action',
  title:
    'The server is killed while its release or refund transaction, or the feedback for it, is in flight (before the send, after it was mined); after the restart the escrow is resolved exactly once and the agent has exactly one feedback',
  requirements: [REQ],
  ...RESTART,
  capabilities: ['restart', 'rpc-faults'],
  // Every case in every run, in a fixed order (see restart-every-step).
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const url = await restartableUrl(ctx);
    for (const [action, cut, held] of CASES) await crashInsideResolution(ctx, v, url, action, cut, held);
  },
});

/** What the node answers a send it will not take now (geth's pool limit): transient, the same signed transaction may be sent again. */
const REFUSED = { code: -32000, message: 'txpool is full' };
const FLT = 'AGR-FLT-04';

/**
 * One task whose release (approve) or refund (fail, or the review limit's last rejection) the node
 * refuses once (the RPC fault proxy answers the send in the node's place; nothing reaches the
 * chain). No crash: the server hears the refusal. Then the vendor sends the same request again, as
 * after any error: a retried last rejection must not be reviewed and counted again.
 */
async function refusedResolution(ctx: RunContext, buyer: string, url: string, action: 'approve' | 'fail' | 'reject'): Promise<void> {
  const limit = constantsOf(ctx).reviewLimit;
  // A target without an AI reviewer never rejects: it has no review limit to reach.
  if (action === 'reject' && !(await agr(ctx, url)).review) return;
  const t = await paidTask(ctx, { price: PRICE, buyer, roles: rolesFor('same'), checkPay: false, url, review: action === 'reject' });
  let m = newTask(t.amount, limit);
  ctx.act(`${t.roles.actor} starts the task`);
  const started = await t.v.start(t.taskId);
  ctx.check(FLT, started.status === 200 && started.body?.task?.status === 'processing', 'start → 200 processing', {
    expected: '200 processing',
    actual: `${started.status} ${JSON.stringify(started.body)?.slice(0, 200)}`,
  });
  m = next(m, { kind: 'start' });
  if (action === 'reject') {
    // All rejections but the review limit's last, which decides the refund.
    for (let i = 1; i < limit; i++) {
      ctx.act(`${t.roles.actor} submits a result that ignores the request (attempt ${i})`);
      const c = await t.v.complete(t.taskId, badResult(i));
      if (c.status !== 200 || c.body?.review?.approved !== false)
        throw new Indeterminate(FLT, `the target did not reject a result ignoring the request (${c.status} ${JSON.stringify(c.body?.review)})`);
      m = next(m, { kind: 'complete', approved: false });
    }
  }
  const what = action === 'approve' ? 'release' : 'refund';
  const rpc = await rpcFaultsOf(t.a.s.spec.rpcUrl);
  const fault = rpc.arm({
    name: `the node refuses the server's ${what} of ${short(t.taskId)} (JSON-RPC ${REFUSED.code} "${REFUSED.message}"), once`,
    when: sendsCall({ to: t.a.escrow, abi: escrowAbi, functions: ['releaseToVendor', 'refundToBuyer'], args: (a) => String(a[0]).toLowerCase() === t.taskId.toLowerCase() }),
    action: { kind: 'respond', answer: rpcErrorAnswer(REFUSED) },
  });
  const final = next(m, action === 'fail' ? { kind: 'fail' } : { kind: 'complete', approved: action === 'approve' });
  const send = () => (action === 'approve' ? t.v.complete(t.taskId, goodResult(PATH)) : action === 'reject' ? t.v.complete(t.taskId, badResult(limit)) : t.v.fail(t.taskId, 'cannot do it'));
  if (action === 'approve') t.approvedResult = goodResult(PATH);
  const doing = {
    approve: 'submits an honest result (no review: released)',
    fail: 'reports failure (refund)',
    reject: `submits a ${ordinal(limit)} result that ignores the request (the review limit: refund)`,
  }[action];
  ctx.act(`${t.roles.actor} ${doing}; the node refuses the ${what} transaction once`);
  let first: Awaited<ReturnType<typeof send>>;
  try {
    first = await send();
  } finally {
    fault.disarm();
  }
  expectFired(fault, FLT, `the server sent no ${what} transaction through the RPC proxy (it answered ${first.status} ${JSON.stringify(first.body)?.slice(0, 120)})`);
  ctx.evidence.note(describeHit(fault, fault.hits[0]!));
  // A 200 carries the decided status, and an escrowAction (if it has one: absent and null read the
  // same) of the seed's that is no lie: the decided resolution, or `none` (nothing moved this time:
  // whether a retry names the outcome or `none` is the server's reading). Never the other
  // resolution, never another word.
  const [decidedAction, other] = action === 'approve' ? ['released', 'refunded'] : ['refunded', 'released'];
  const escrowActions = [undefined, null, 'none', decidedAction];
  // A rejection's answer also counts the rejections: the retried last one is counted once.
  const counted = (r: { body?: any }) => action !== 'reject' || r.body?.task?.reviewRejectCount === undefined || Number(r.body.task.reviewRejectCount) === final.rejections;
  const decided = (r: { status: number; body?: any }) => r.status === 200 && r.body?.task?.status === final.status && escrowActions.includes(r.body?.escrowAction) && counted(r);
  ctx.check(FLT, decided(first) || first.status >= 400, `the ${action === 'approve' ? 'complete' : 'fail'} whose transaction was refused answers the decided outcome or an error`, {
    expected: `200 ${final.status} (escrowAction "${decidedAction}", "none", null or no field; not "${other}"), a 4xx, or a 5xx saying nothing was done`,
    actual: `${first.status} ${JSON.stringify(first.body)?.slice(0, 200)}`,
  });
  ctx.act(`${t.roles.actor} sends the same ${action === 'approve' ? 'complete' : 'fail'} again`);
  const retry = await send();
  ctx.check(FLT, decided(retry) || (retry.status >= 400 && retry.status < 500), `the retry is answered with the decided outcome (200 ${final.status}) or refused (4xx), never a 5xx`, {
    expected: `200 ${final.status} (escrowAction "${decidedAction}", "none", null or no field; not "${other}") or a 4xx`,
    actual: `${retry.status} ${JSON.stringify(retry.body)?.slice(0, 200)}`,
  });
  await expectCarriedOut(ctx, FLT, t, final, `of the retry the ${what}`);
  await observe(ctx, t, final, { status: FLT, escrow: FLT, money: FLT, detail: FLT, listing: FLT });
  await resolvedOnce(ctx, FLT, t, final);
  await tidy(t);
}

export const escrowSendRefused = defineScenario({
  kind: 'property',
  id: 'fault-escrow-send-refused',
  title: "The node refuses the server's release or refund transaction once: the vendor's retry gets the decided outcome or a 4xx, and the escrow is resolved exactly once",
  requirements: [FLT],
  ...BASE,
  // The reference's restartable instance is the one whose escrow transactions go through the RPC fault proxy; nothing is restarted.
  capabilities: ['restart', 'rpc-faults'],
  maxRuns: 2,
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const url = await restartableUrl(ctx);
    for (const action of ['approve', 'fail', 'reject'] as const) await refusedResolution(ctx, v.buyer, url, action);
  },
});

export const restartScenarios = [restartEveryStep, restartInsideResolution, escrowSendRefused];
