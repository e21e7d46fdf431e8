/**
 * Escrow scenarios on chain: who gets the money when the agent's owner, its agentWallet and an
 * approved operator are three addresses (and who may act), withdrawing credits, and the buyer's
 * reclaim when nobody resolves a deposit.
 */
import fc from 'fast-check';
import type { Address, Hex } from 'viem';
import { defineScenario } from '../../harness/engine/dsl.ts';
import type { RunContext } from '../../harness/engine/context.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { escrowAbi } from '../../reference-impl/agentripe/protocol/abi.ts';
import { AGENTRIPE_PROFILE } from '../../reference-impl/agentripe/protocol/model.ts';
import { BUYERS, OPERATOR_ROLE, constantsOf, deposit, escrowEvents, getJson, goodResult, holdings, totals, type Agr } from './lab.ts';
import { PATH, paidTask, parties, type PaidTask } from './observe.ts';
import { BASE } from './tasks.ts';

/** Withdraw `role`'s credit (if the escrow holds one) and check it arrives exactly (AGR-ESC-05). */
async function withdrawChecked(ctx: RunContext, a: Agr, role: string): Promise<void> {
  const who = a.s.address(role);
  const before = await holdings(a, who);
  if (before.withdrawable === 0n) return; // an escrow that pays at release leaves nothing to withdraw
  ctx.act(`${role} withdraws its ${before.withdrawable} from the escrow`);
  const r = await a.s.attempt({ label: `${role} withdraws`, role, address: a.escrow, abi: escrowAbi, functionName: 'withdraw', args: [] });
  const after = await holdings(a, who);
  const ev = r.ok ? r.events.find((e) => e.eventName === 'Withdrawn') : undefined;
  ctx.check(
    'AGR-ESC-05',
    r.ok && after.usdc - before.usdc === before.withdrawable && after.withdrawable === 0n && String(ev?.args.account).toLowerCase() === who.toLowerCase() && ev?.args.amount === before.withdrawable,
    `withdraw() pays ${role} exactly its balance, emits Withdrawn(${role}, amount) and leaves 0`,
    {
      expected: `USDC +${before.withdrawable}, withdrawable 0, Withdrawn(${who}, ${before.withdrawable})`,
      actual: r.ok
        ? `USDC +${after.usdc - before.usdc}, withdrawable ${after.withdrawable}, ${ev ? `Withdrawn(${ev.args.account}, ${ev.args.amount})` : 'no Withdrawn event'}`
        : `refused: ${r.reason}`,
    },
  );
}

/** Credits since the task's baseline, by role. */
async function credits(t: PaidTask): Promise<Map<string, bigint>> {
  const who = parties(t);
  const now = await totals(t.a, who);
  return new Map(who.map((w, i) => [w.toLowerCase(), now[i]! - t.base.get(w.toLowerCase())!]));
}

function describe(t: PaidTask, m: Map<string, bigint>): string {
  const name = (addr: string) => [t.roles.owner, t.roles.wallet, t.roles.operator, t.buyer].filter((r) => r && t.a.s.address(r).toLowerCase() === addr).join('=');
  return [...m].map(([k, v]) => `${name(k)} +${v}`).join(', ');
}

export const vendorRoles = defineScenario({
  kind: 'property',
  id: 'vendor-roles',
  title: 'Owner, agentWallet and approved operator apart: owner and operator may act, the wallet alone may not; the release pays the wallet, the refund the buyer; credits withdraw exactly',
  requirements: ['AGR-AUTH-06', 'AGR-ESC-04', 'AGR-ESC-05'],
  ...BASE,
  arbitrary: () =>
    fc.record({
      // Owner and operator both act in every run (one starts, the other finishes); which outcome comes first.
      order: fc.constantFrom(['owner', 'operator'] as const, ['operator', 'owner'] as const),
      releaseFirst: fc.boolean(),
      buyer: fc.constantFrom(...BUYERS),
    }),
  async run(ctx, v) {
    const roles = { owner: 'vendor1', wallet: 'vendor2', operator: OPERATOR_ROLE, actor: 'vendor1' };
    const by = (x: 'owner' | 'operator') => (x === 'owner' ? roles.owner : roles.operator);
    const [starter, finisher] = v.order;
    let agent: { agentId: bigint; roles: typeof roles } | undefined;
    for (const outcome of v.releaseFirst ? (['release', 'refund'] as const) : (['refund', 'release'] as const)) {
      // Without reviewer_request any server approves a complete: the money path, not the review, is under test.
      // The second task is bought from the same agent.
      const t = await paidTask(ctx, { price: '$0.10', buyer: v.buyer, roles, checkPay: false, review: false, agent });
      agent = { agentId: t.agentId, roles };
      const snap = async () => JSON.stringify([(await getJson(t.a, `/tasks/${t.taskId}`)).body?.status, (await deposit(t.a, t.taskId)).status]);
      const before = await snap();
      ctx.act(`the agentWallet ${roles.wallet} (neither owner nor approved) tries to start the task`);
      const w = await t.as[roles.wallet]!.start(t.taskId);
      ctx.check('AGR-AUTH-06', w.status === 401 || w.status === 403, 'vendor auth refuses the agentWallet alone', {
        expected: '401 or 403',
        actual: `${w.status} ${JSON.stringify(w.body)}`.slice(0, 200),
      });
      ctx.expectEqual('AGR-AUTH-06', await snap(), before, 'the refused request changed neither the task nor its deposit');
      ctx.act(`${by(starter)} starts the task`);
      const s = await t.as[by(starter)]!.start(t.taskId);
      ctx.expectStatus('AGR-AUTH-06', s, 200, `the ${starter} is accepted as the agent's vendor`);
      ctx.act(`${by(finisher)} ${outcome === 'release' ? 'completes' : 'fails'} the task`);
      const f = outcome === 'release' ? await t.as[by(finisher)]!.complete(t.taskId, goodResult(PATH)) : await t.as[by(finisher)]!.fail(t.taskId, 'cannot');
      ctx.expectStatus('AGR-AUTH-06', f, 200, `the ${finisher} is accepted as the agent's vendor`);
      const got = await credits(t);
      const to: Address = outcome === 'release' ? t.a.s.address(roles.wallet) : t.a.s.address(t.buyer);
      const want = new Map([...got.keys()].map((k) => [k, k === to.toLowerCase() ? t.amount : 0n]));
      ctx.check(
        'AGR-ESC-04',
        [...want].every(([k, x]) => got.get(k) === x),
        `the ${outcome} credits exactly ${outcome === 'release' ? 'the agentWallet' : 'the buyer'}, and nobody else`,
        {
          expected: describe(t, want),
          actual: describe(t, got),
        },
      );
      const ev = (await escrowEvents(t.a, t.taskId as Hex, t.paidBlock)).find((e) => e.eventName === (outcome === 'release' ? 'DepositReleased' : 'DepositRefunded'));
      const named = ev ? String(ev.args.agentWallet ?? ev.args.buyer) : undefined;
      ctx.check(
        'AGR-ESC-04',
        named?.toLowerCase() === to.toLowerCase() && ev?.args.amount === t.amount,
        `${ev?.eventName ?? (outcome === 'release' ? 'DepositReleased' : 'DepositRefunded')} names ${outcome === 'release' ? 'the agentWallet' : 'the buyer'}`,
        {
          expected: `${to} ${t.amount}`,
          actual: ev ? `${named} ${ev.args.amount}` : 'no such event',
        },
      );
      await withdrawChecked(ctx, t.a, outcome === 'release' ? roles.wallet : t.buyer);
    }
  },
});

/**
 * After the buyer's reclaim the server must follow the escrow (AGR-PROF-09): the vendor who turns up
 * late may have its start and complete accepted or refused, but a complete never reports a release,
 * the task ends failed, and nothing moves again. When the server learns of the reclaim is its own
 * (profile ambiguity 22): on start, on a read, or when the vendor next acts.
 */
async function lateVendor(ctx: RunContext, t: PaidTask, buyerAfterReclaim: bigint): Promise<void> {
  const a = t.a;
  ctx.act('the vendor turns up after the reclaim: it starts the task and submits an honest result');
  const s = await t.v.start(t.taskId);
  const c = await t.v.complete(t.taskId, goodResult(PATH));
  const show = (r: { status: number; body: any }) => `${r.status} ${JSON.stringify(r.body)}`.slice(0, 200);
  ctx.check('AGR-ESC-03', s.status < 500, "start after the buyer's reclaim is answered (accepted or refused), not with a 5xx", { expected: '2xx or 4xx', actual: show(s) });
  const completeOk = (c.status >= 400 && c.status < 500) || (c.status === 200 && c.body?.task?.status === 'failed' && ['refunded', 'none'].includes(c.body?.escrowAction));
  ctx.check('AGR-ESC-03', completeOk, "complete after the buyer's reclaim is refused, or reports the task failed and nothing released", {
    expected: '4xx, or 200 {task: {status: "failed"}, escrowAction: "refunded" | "none"}',
    actual: show(c),
  });
  const [st, res, d, evs, buyer] = await Promise.all([
    getJson(a, `/tasks/${t.taskId}`),
    getJson(a, `/tasks/${t.taskId}/result`),
    deposit(a, t.taskId),
    escrowEvents(a, t.taskId as Hex, t.paidBlock),
    holdings(a, a.s.address(t.buyer)),
  ]);
  ctx.check(
    'AGR-ESC-03',
    st.body?.status === 'failed' && res.status === 200 && res.body?.status === 'failed' && typeof res.body?.errorMessage === 'string',
    'the reclaimed task then reads failed: /tasks/{id} and /result 200 {status: "failed", errorMessage}',
    { expected: 'failed / 200 failed + errorMessage', actual: `${st.status} ${st.body?.status} / ${show(res)}` },
  );
  const released = evs.filter((e) => e.eventName === 'DepositReleased').length;
  ctx.check(
    'AGR-ESC-03',
    d.status === AGENTRIPE_PROFILE.statuses.REFUNDED && released === 0 && buyer.total === buyerAfterReclaim,
    'the late vendor moved nothing: the deposit stays REFUNDED, nothing is released, the buyer is not refunded twice',
    { expected: `REFUNDED, no DepositReleased, buyer ${buyerAfterReclaim}`, actual: `status ${d.status}, ${released} DepositReleased, buyer ${buyer.total}` },
  );
}

export const reclaim = defineScenario({
  kind: 'property',
  id: 'vendor-absent-reclaim',
  title: 'Vendor absent: the buyer reclaims the deposit after the deadline, not before; nobody else can',
  requirements: ['AGR-ESC-03'],
  ...BASE,
  // The attacker sends a reclaim transaction itself, so it needs a funded account.
  roles: [...BASE.roles, 'attacker'],
  signers: [OPERATOR_ROLE],
  capabilities: ['clock-control', 'snapshot'],
  arbitrary: (env) => fc.record({ early: fc.integer({ min: 1, max: constantsOf(env).reclaimDelaySeconds - 60 }), buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    // Without reviewer_request, so that any server approves the late vendor's result below.
    const t = await paidTask(ctx, { price: '$0.10', buyer: v.buyer, checkPay: false, review: false });
    const a = t.a;
    const escrowCall = (role: string, label: string) => a.s.attempt({ label, role, address: a.escrow, abi: escrowAbi, functionName: 'reclaim', args: [t.taskId] });
    // Chain time moves forward here; revert afterwards so later runs see the ordinary clock. The
    // server's only change after the snapshot is this task's (failed, following the reclaim), and no
    // later run looks at it again.
    const snap = await a.s.test.snapshot();
    try {
      const due = await a.s.read(a.escrow, escrowAbi, 'reclaimableAt', [t.taskId]);
      // The deadline is the recording block's time + the reclaim delay (AGR-PROF-09; a what-if profile may change the delay).
      const delay = constantsOf(ctx).reclaimDelaySeconds;
      const head = await a.s.public.getBlockNumber();
      const recorded = await a.s.public.getContractEvents({
        address: a.escrow,
        abi: escrowAbi,
        eventName: 'DepositRecorded',
        args: { depositId: t.taskId },
        fromBlock: head > 256n ? head - 256n : 0n,
      });
      if (recorded.length) {
        const at = (await a.s.public.getBlock({ blockNumber: recorded.at(-1)!.blockNumber })).timestamp;
        ctx.check('AGR-ESC-03', due === at + BigInt(delay), `the reclaim deadline is the recording time + ${delay} s`, { expected: (at + BigInt(delay)).toString(), actual: due.toString() });
      }
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
      if (ok.ok) await lateVendor(ctx, t, b1.total);
    } finally {
      await a.s.test.revert({ id: snap });
    }
  },
});

/**
 * The same reclaim seen by a server that restarts afterwards (capability `restart`, on the target's
 * restartable instance): whatever it makes of the chain on start, the late vendor moves nothing
 * and the task ends failed. One run: it moves chain time and restarts a server.
 */
export const reclaimRestart = defineScenario({
  kind: 'property',
  id: 'reclaim-then-restart',
  title: 'The buyer reclaims after the deadline and the server restarts: it follows the escrow (the late vendor moves nothing, the task ends failed)',
  requirements: ['AGR-ESC-03'],
  ...BASE,
  capabilities: ['clock-control', 'snapshot', 'restart'],
  maxRuns: 1,
  shrink: false,
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const url = (await ctx.restartable('agentripe')).url.replace(/\/+$/, '');
    const t = await paidTask(ctx, { price: '$0.10', buyer: v.buyer, checkPay: false, review: false, url });
    const a = t.a;
    // Chain time moves past the deadline; reverted afterwards so later scenarios see the ordinary clock.
    const snap = await a.s.test.snapshot();
    try {
      const due = await a.s.read(a.escrow, escrowAbi, 'reclaimableAt', [t.taskId]);
      ctx.act('the vendor never acts; the chain clock passes the reclaim deadline and the buyer reclaims');
      await a.s.test.increaseTime({ seconds: Number(due - (await a.s.now())) + 1 });
      await a.s.test.mine({ blocks: 1 });
      const r = await a.s.attempt({ label: 'buyer reclaims after the deadline', role: t.buyer, address: a.escrow, abi: escrowAbi, functionName: 'reclaim', args: [t.taskId] });
      if (!r.ok) throw new Indeterminate('AGR-ESC-03', `the buyer's reclaim was refused (${r.reason}); vendor-absent-reclaim judges the reclaim itself`);
      const after = await holdings(a, a.s.address(t.buyer));
      await ctx.restart('agentripe', 'after the buyer reclaimed');
      await lateVendor(ctx, t, after.total);
    } finally {
      await a.s.test.revert({ id: snap });
    }
  },
});
