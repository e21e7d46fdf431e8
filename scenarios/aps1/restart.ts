/**
 * APS-1 across crashes (issue 15, capability `restart`): the agent server (and the marketplace) is
 * killed with SIGKILL and restarted by the target's restart control, and the job is then finished.
 * Nothing may be lost or done twice (profile APS-PROF-20): an agreement still binds, a stored result
 * is still answered (by /status and to a resent envelope, with no new transaction), the NexusV2 job
 * is completed once and resolved once, a stream's next envelope delivers the next milestone, a
 * resent hire answers the stored answer and charges nothing more.
 *
 * Two kinds of crash:
 * - between requests, at every step boundary of three lifecycles (NexusV2 settled by the judge;
 *   NexusV2 disputed and refunded; a two-milestone stream) and of a hire, advanced together so
 *   that five restarts cross every boundary: any target with a restart control;
 * - inside the execution, once the agent decided to complete: its completeJob transaction is held
 *   in the harness's RPC fault proxy while it is killed, then dropped (before the send) or let
 *   through (after the send, before it saw the receipt). Needs `rpc-faults` too;
 * - inside a hire, the same way around each of the marketplace's transactions (the pull, createJob,
 *   the transfer back of a refund): the resent hire is answered and the money ends exact (settled
 *   once, or every unit back; the marketplace keeps nothing). Needs `rpc-faults` too.
 */
import fc from 'fast-check';
import type { Address } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { type ArmedFault, describeHit, expectFired, orLost, rpcErrorAnswer, rpcFaultsOf, sendsCall } from '../../harness/faults/index.ts';
import { type AgentClient, agentClient, marketplaceClient } from '../../reference-impl/aps1/agents/clients.ts';
import { envelope, negotiation, nexusCall, type Escrow } from '../../reference-impl/aps1/agents/employer.ts';
import { nexusAbi, streamAbi, tokenAbi } from '../../reference-impl/aps1/protocol/abi.ts';
import { floorPrice } from '../../reference-impl/aps1/protocol/negotiation.ts';
import { unitsToUsd, usdToUnits } from '../../reference-impl/aps1/protocol/price.ts';
import { APS1_PROFILE } from '../../reference-impl/aps1/protocol/profile.ts';
import type { APS1Envelope, APS1Manifest } from '../../reference-impl/aps1/protocol/schemas.ts';
import { hire, pay, type Hire } from './agent.ts';
import { actor, allow, aps, type Aps, freshJobId, NEEDS, nonceOf } from './lab.ts';
import { payToken } from './market.ts';
import { agentCalls, checkRanOnce } from './trace.ts';

const REQ = 'APS-RST-01';
const AGENT = 'aps1-agent';
/** How long a restarted agent may take to answer a job it was killed in the middle of. */
const RESOLVE_WITHIN_MS = 20_000;
/** Restarts cost seconds each (more under load): one run, 10 min; a failing run is reported as it failed. */
const RESTART = {
  needs: NEEDS,
  roles: ['buyer1', 'buyer2', 'judge'],
  isolation: 'live' as const,
  maxRuns: 1,
  runTimeoutMs: 600_000,
  shrink: false,
};

/** What identifies one execution in a result (timestamps and timings may be written again). */
const executionOf = (b: any) =>
  JSON.stringify({ jobId: b?.jobId, status: b?.status, result: b?.result, tx: (b?.onChain?.transactions ?? []).map((t: { hash?: string }) => t.hash), proof: b?.proof?.verifyTxHash });

/** One job of a run: the envelope, what the agent answered, and the agent's client. */
interface Job {
  h: Hire;
  agent: AgentClient;
  env: APS1Envelope;
  escrow: Escrow;
  answer: any;
}

/** Crash and restart the pair, then check that the job reads as before and a resend runs nothing new. */
async function crashAndObserve(ctx: RunContext, jobs: Job[], boundary: string): Promise<void> {
  await ctx.restart(AGENT, boundary);
  for (const j of jobs) {
    const st = await j.agent.status(j.env.jobId);
    ctx.check(REQ, st.status === 200 && executionOf(st.body) === executionOf(j.answer), `after the restart (${boundary}), GET /status/${j.env.jobId} answers what it answered before`, {
      expected: executionOf(j.answer).slice(0, 240),
      actual: `${st.status} ${executionOf(st.body).slice(0, 240)}`,
    });
    const nonce = await nonceOf(j.h.a, j.h.wallet);
    ctx.act(`the employer resends the envelope of ${j.env.jobId}`);
    const again = await j.agent.execute(j.env);
    ctx.check(REQ, again.status === 200 && executionOf(again.body) === executionOf(j.answer), `after the restart, resending ${j.env.jobId} answers the same execution`, {
      expected: executionOf(j.answer).slice(0, 240),
      actual: `${again.status} ${again.text.slice(0, 240)}`,
    });
    ctx.expectEqual(REQ, await nonceOf(j.h.a, j.h.wallet), nonce, `resending ${j.env.jobId} after the restart sends no transaction`);
  }
}

/** Sends `env` and expects a success (the job is paid); returns the job. */
async function execute(ctx: RunContext, h: Hire, agent: AgentClient, env: APS1Envelope, escrow: Escrow, when: string): Promise<Job> {
  ctx.act(`the employer sends the envelope of ${env.jobId} (${escrow.method} #${escrow.onChainId})`);
  const r = await agent.execute(env);
  ctx.check(REQ, r.status === 200 && r.body?.status === 'success', `${when}, the paid envelope of ${env.jobId} runs`, { expected: '200 success', actual: `${r.status} ${r.text.slice(0, 240)}` });
  return { h, agent, env, escrow, answer: r.body };
}

/** NexusV2 job `id` since `from`: how often it was completed and how often it ended (settled or refunded). */
async function jobHistory(a: Aps, id: bigint, from: bigint): Promise<{ completed: number; ended: number }> {
  const changed = await a.s.public.getContractEvents({ address: a.c.nexus, abi: nexusAbi, eventName: 'JobStatusChanged', args: { jobId: id }, fromBlock: from });
  return { completed: changed.filter((e) => Number(e.args.newStatus) === 2).length, ended: changed.filter((e) => Number(e.args.newStatus) >= 4).length };
}

/** The price the agent agrees for `jobId` (its floor, or its counter), or the base price when it does not negotiate. */
async function agreedPrice(ctx: RunContext, h: Hire, agent: AgentClient, jobId: string): Promise<bigint> {
  if (!h.m.pricing.negotiable) return h.price;
  const floor = usdToUnits(floorPrice(h.m.pricing), h.decimals) ?? h.price;
  ctx.act(`the employer proposes ${unitsToUsd(floor, h.decimals)} USD for ${jobId}`);
  let r = await agent.negotiate(negotiation('propose', jobId, Number(unitsToUsd(floor, h.decimals))));
  if (r.body?.type === 'counter') r = await agent.negotiate(negotiation('accept', jobId, r.body.price));
  if (r.status !== 200 || r.body?.type !== 'accept') throw new Indeterminate(REQ, `no agreement reached (${r.status} ${r.text.slice(0, 160)})`);
  return usdToUnits(r.body.price, h.decimals) ?? h.price;
}

/** A hire through the restartable marketplace, before a crash; `check` after it resends it: the stored answer (or a 4xx), charged nothing more. */
async function hireBeforeCrash(ctx: RunContext, h: Hire, caller: string): Promise<{ check(): Promise<void> }> {
  const { a } = h;
  const mk = marketplaceClient((await ctx.restartable('aps1-marketplace')).url, ctx.fetch);
  const list = await mk.list();
  const m = Array.isArray(list.body) ? list.body[0] : undefined;
  if (!m) throw new Indeterminate(REQ, `the restartable marketplace lists no agent (${list.status})`);
  const token = payToken(m, a);
  const who = a.s.address(caller);
  const jobId = freshJobId('rst-hire');
  const body = { jobId, prompt: 'a hire across a crash', callerWallet: who };
  // The restartable marketplace pulls the price with its own key (its /health names it).
  const spender = (await mk.health()).body?.address as Address | undefined;
  if (!spender) throw new Indeterminate(REQ, 'the restartable marketplace names no address in GET /health');
  await allow(a, caller, token, spender);
  ctx.act(`${caller} hires ${m.id} as ${jobId} through the restartable marketplace`);
  const first = await mk.execute(m.id, body, { signer: ctx.key(caller) });
  if (first.status !== 200) throw new Indeterminate(REQ, `the hire before the crash answered ${first.status} ${first.text.slice(0, 160)}`);
  return {
    async check() {
      const before = await a.s.balanceOf(token, who);
      ctx.act(`${caller} resends the hire ${jobId}`);
      const again = await mk.execute(m.id, body, { signer: ctx.key(caller) });
      ctx.check(
        REQ,
        (again.status === 200 && JSON.stringify(again.body) === JSON.stringify(first.body)) || (again.status >= 400 && again.status < 500),
        'after the restart, the resent hire answers the stored answer (or a 4xx)',
        {
          expected: `200 ${first.text.slice(0, 160)} (or a 4xx)`,
          actual: `${again.status} ${again.text.slice(0, 160)}`,
        },
      );
      ctx.expectEqual(REQ, await a.s.balanceOf(token, who), before, 'the resent hire charged nothing more');
    },
  };
}

/**
 * Two NexusV2 jobs (negotiated; one settled by the judge, one disputed and refunded), a
 * two-milestone stream and a hire, advanced together stage by stage with one crash between stages:
 * every step boundary of each lifecycle is crossed by a crash, for five restarts in all.
 */
async function everyStep(ctx: RunContext, h: Hire, agent: AgentClient, employer: string): Promise<void> {
  const { a } = h;
  const nexus = h.methods.includes('nexus-escrow');
  const stream = h.methods.includes('stream-milestone');
  const endings = nexus ? (['settle', 'dispute'] as const) : [];
  const ids = endings.map((e) => freshJobId(`rst-${e}`));
  const prices: bigint[] = [];
  for (const id of ids) prices.push(await agreedPrice(ctx, h, agent, id));
  await ctx.restart(AGENT, `after the negotiations of ${ids.join(' and ') || 'nothing'} agreed their prices`);

  const from = await a.s.public.getBlockNumber({ cacheTime: 0 });
  const escrows: Escrow[] = [];
  for (const price of prices) escrows.push(await pay(h, employer, 'nexus-escrow', price));
  const streamEscrow = stream ? await pay(h, employer, 'stream-milestone', h.price) : undefined;
  await ctx.restart(AGENT, 'after the escrows were funded, before any envelope');

  const jobs: Job[] = [];
  for (const [i, e] of escrows.entries()) {
    const env = envelope({ jobId: ids[i]!, agentId: h.m.id, prompt: `a job across crashes (${endings[i]})`, callerWallet: a.s.address(employer), escrow: e });
    jobs.push(await execute(ctx, h, agent, env, e, 'after two restarts (the agreement must still bind)'));
  }
  if (streamEscrow) {
    const env = envelope({ jobId: freshJobId('rst-ms0'), agentId: h.m.id, prompt: 'milestone one', callerWallet: a.s.address(employer), escrow: streamEscrow });
    jobs.push(await execute(ctx, h, agent, env, streamEscrow, 'the first milestone'));
  }
  const hired = await hireBeforeCrash(ctx, h, employer);
  await crashAndObserve(ctx, jobs, 'after the executions and the hire');
  await hired.check();

  const [settled, disputed] = escrows.map((e) => BigInt(e.onChainId));
  if (settled !== undefined) {
    ctx.act(`the judge settles NexusV2 job #${settled}`);
    const r = await actor(a, 'judge').send('settleJob', nexusCall(a.c, 'settleJob', settled));
    if (!r.ok) throw new Indeterminate(REQ, `setup: the judge's settleJob was refused (${r.reason})`);
  }
  if (disputed !== undefined) {
    ctx.act(`${employer} disputes NexusV2 job #${disputed}`);
    const d = await actor(a, employer).send('dispute', nexusCall(a.c, 'disputeJob', disputed));
    if (!d.ok) throw new Indeterminate(REQ, `setup: the dispute was refused (${d.reason})`);
  }
  if (streamEscrow) {
    const env = envelope({ jobId: freshJobId('rst-ms1'), agentId: h.m.id, prompt: 'milestone two', callerWallet: a.s.address(employer), escrow: streamEscrow });
    jobs.push(await execute(ctx, h, agent, env, streamEscrow, 'after a restart, the second milestone'));
  }
  await crashAndObserve(ctx, jobs, 'after the judge settled one job, the employer disputed the other, and the second milestone');

  if (disputed !== undefined) {
    ctx.act(`the judge refunds the disputed NexusV2 job #${disputed}`);
    const r = await actor(a, 'judge').send('refundJob', nexusCall(a.c, 'refundJob', disputed));
    if (!r.ok) throw new Indeterminate(REQ, `setup: the judge's refundJob was refused (${r.reason})`);
    await crashAndObserve(ctx, jobs, `after the judge refunded job #${disputed}`);
  }
  for (const id of [settled, disputed]) {
    if (id === undefined) continue;
    const hist = await jobHistory(h.a, id, from);
    ctx.check(REQ, hist.completed === 1 && hist.ended === 1, `NexusV2 job #${id} was completed once and resolved exactly once`, {
      expected: 'completed 1, settled or refunded 1',
      actual: `completed ${hist.completed}, ended ${hist.ended}`,
    });
  }
  if (streamEscrow) {
    const statuses = await Promise.all(
      [0n, 1n].map((i) => a.s.read(a.c.stream, streamAbi, 'getMilestone', [BigInt(streamEscrow.onChainId), i]).then((m) => APS1_PROFILE.statuses.milestone[m.status])),
    );
    ctx.expectEqual(REQ, statuses.join('/'), 'Submitted/Submitted', `stream #${streamEscrow.onChainId}: each envelope delivered its own milestone`);
  }
}

export const restartEveryStep = defineScenario({
  kind: 'property',
  id: 'restart-every-step',
  title:
    'The agent and the marketplace are killed (SIGKILL) and restarted at every step boundary of two NexusV2 jobs (settled; disputed and refunded), a stream and a hire; nothing is lost or run twice',
  requirements: [REQ],
  ...RESTART,
  endpoints: ['aps1-agent', 'aps1-marketplace'],
  capabilities: ['restart'],
  // Every lifecycle in every run, in a fixed order: only the employer varies.
  arbitrary: () => fc.record({ employer: fc.constantFrom('buyer1', 'buyer2') }),
  async run(ctx, v) {
    const agent = agentClient((await ctx.restartable(AGENT)).url, ctx.fetch);
    const h = await hire(ctx, agent, REQ);
    if (h.price === 0n) throw new Indeterminate(REQ, 'a free agent takes no escrow');
    await everyStep(ctx, h, agent, v.employer);
  },
});

type Cut = 'before-send' | 'after-send';
const CUTS: Record<Cut, string> = {
  'before-send': 'after it decided to complete, before its completeJob reached the chain (the send is dropped)',
  'after-send': 'after its completeJob was mined, before it saw the receipt',
};

/** One envelope whose completion is cut by a crash at `cut`, then resent. */
async function crashInsideCompletion(ctx: RunContext, h: Hire, agent: AgentClient, employer: string, cut: Cut): Promise<void> {
  const { a } = h;
  const escrow = await pay(h, employer, 'nexus-escrow', h.price);
  const id = BigInt(escrow.onChainId);
  const from = (await a.s.public.getTransactionReceipt({ hash: escrow.txHash })).blockNumber;
  const env = envelope({ jobId: freshJobId(`rst-${cut}`), agentId: h.m.id, prompt: `a job cut at ${cut}`, callerWallet: a.s.address(employer), escrow });
  const proxy = await rpcFaultsOf(a.s.spec.rpcUrl);
  const fault = proxy.arm({
    name: `the agent's completeJob(${id}) held in the RPC proxy`,
    when: sendsCall({ to: a.c.nexus, abi: nexusAbi, functions: ['completeJob'], args: (x) => x[0] === id }),
    action: { kind: 'delay', phase: cut === 'before-send' ? 'request' : 'response', hold: true },
  });
  ctx.act(`the employer sends the envelope of ${env.jobId}; the agent is killed ${CUTS[cut]}`);
  const first = orLost(agent.execute(env));
  try {
    const fired = await Promise.race([fault.whenFired().then(() => true), first.then(() => false)]);
    if (!fired) expectFired(fault, REQ, `the agent sent no completeJob through the RPC proxy (it answered ${JSON.stringify(await first).slice(0, 160)})`);
    if (cut === 'after-send') {
      const until = Date.now() + 10_000;
      while ((await a.s.read(a.c.nexus, nexusAbi, 'getJob', [id])).status !== 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      if ((await a.s.read(a.c.nexus, nexusAbi, 'getJob', [id])).status !== 2) throw new Indeterminate(REQ, "the node did not mine the held completeJob, so the cut 'after the send' did not happen");
    }
    await ctx.restart(AGENT, CUTS[cut]);
  } finally {
    // The old process is gone: what was held is delivered to nobody (after-send) or never sent (before-send).
    fault.discard();
    fault.disarm();
  }
  await first;
  ctx.evidence.note(describeHit(fault, fault.hits[0]!));
  ctx.act(`the employer got no answer and resends the envelope of ${env.jobId}`);
  const retry = await orLost(agent.execute(env));
  let served = retry !== 'lost' && retry.status === 200 ? retry.body : undefined;
  // A 4xx (still running) is fine if /status answers the result soon.
  const until = Date.now() + RESOLVE_WITHIN_MS;
  while (served?.status !== 'success' && Date.now() < until) {
    const st = await agent.status(env.jobId);
    if (st.status === 200 && st.body?.status === 'success') served = st.body;
    else await new Promise((r) => setTimeout(r, 500));
  }
  ctx.check(REQ, served?.status === 'success', `the employer gets the result of ${env.jobId} (from the resend, or /status within ${RESOLVE_WITHIN_MS / 1000} s)`, {
    expected: '200 success',
    actual: retry === 'lost' ? 'no answer' : `${retry.status} ${retry.text.slice(0, 200)}; /status ${JSON.stringify(served ?? null).slice(0, 120)}`,
  });
  const calls = await agentCalls(a, h.wallet, from);
  checkRanOnce(ctx, REQ, calls, `${env.jobId} (killed ${cut})`);
  const hist = await jobHistory(h.a, id, from);
  ctx.expectEqual(REQ, hist.completed, 1, `NexusV2 job #${id} was completed exactly once`);
}

export const restartInsideCompletion = defineScenario({
  kind: 'property',
  id: 'restart-inside-completion',
  title: 'The agent is killed while its completeJob is in flight (before the send, after it was mined); the resent envelope gets the result, and the job ran and completed once',
  requirements: [REQ],
  ...RESTART,
  endpoints: ['aps1-agent'],
  capabilities: ['restart', 'rpc-faults'],
  arbitrary: () => fc.record({ employer: fc.constantFrom('buyer1', 'buyer2'), cuts: fc.shuffledSubarray<Cut>(['before-send', 'after-send'], { minLength: 2 }) }),
  async run(ctx, v) {
    const agent = agentClient((await ctx.restartable(AGENT)).url, ctx.fetch);
    const h = await hire(ctx, agent, REQ);
    if (!h.methods.includes('nexus-escrow')) throw new Indeterminate(REQ, `the agent takes no NexusV2 escrow (${h.methods.join(', ')})`);
    for (const cut of v.cuts) await crashInsideCompletion(ctx, h, agent, v.employer, cut);
  },
});

/** The marketplace's transactions of a hire a crash cuts (the transfer back only happens on a refund). */
type HireStep = 'pull' | 'create' | 'return';
const HIRE_STEPS: Record<HireStep, string> = {
  pull: 'its transferFrom pulling the price from the caller',
  create: 'its NexusV2 createJob',
  return: 'its transfer returning a refund to the caller',
};
/** How long the caller keeps resending a cut hire before it must have an answer (200, or a 4xx). */
const HIRE_ANSWER_WITHIN_MS = 30_000;

/** The hire through the restartable marketplace every cut uses: the listed agent, its token and price, the marketplace's address. */
interface MarketHire {
  a: Aps;
  mk: ReturnType<typeof marketplaceClient>;
  m: APS1Manifest;
  token: Address;
  price: bigint;
  market: Address;
}

/**
 * One hire whose `step` transaction is held in the RPC proxy (`cut`: dropped, or mined with its
 * answer withheld) while the marketplace is killed; the caller then resends it until it gets an
 * answer, and the money is judged: settled once (caller −price, agent +price−fee), or every unit
 * back; the marketplace keeps nothing; never two NexusV2 jobs.
 */
async function crashInsideHire(ctx: RunContext, h: MarketHire, caller: string, step: HireStep, cut: Cut): Promise<void> {
  const { a, mk, m, token, price, market } = h;
  const who = a.s.address(caller);
  const wallet = m.walletAddress as Address;
  const jobId = freshJobId(`rst-hire-${step}-${cut}`);
  const body = { jobId, prompt: `a hire cut at ${step} (${cut})`, callerWallet: who };
  const from = await a.s.public.getBlockNumber({ cacheTime: 0 });
  const before = { caller: await a.s.balanceOf(token, who), agent: await a.s.balanceOf(token, wallet), market: await a.s.balanceOf(token, market) };
  const jobsSince = async () =>
    (await a.s.public.getContractEvents({ address: a.c.nexus, abi: nexusAbi, eventName: 'JobCreated', args: { employer: market }, fromBlock: from })).filter(
      (e) => e.args.worker?.toLowerCase() === wallet.toLowerCase(),
    );
  const proxy = await rpcFaultsOf(a.s.spec.rpcUrl);
  const armed: ArmedFault[] = [];
  if (step === 'return') {
    // A refund on demand: the node refuses the agent's completeJob (nothing is sent), the agent answers 502, the marketplace refunds.
    armed.push(
      proxy.arm({
        name: "the agent's completeJob refused by the node",
        when: sendsCall({ to: a.c.nexus, abi: nexusAbi, functions: ['completeJob'] }),
        action: { kind: 'respond', answer: rpcErrorAnswer({ code: -32000, message: 'refused by the harness (a refund on demand)' }) },
      }),
    );
  }
  const toCaller = (x: readonly unknown[]) => String(x[0]).toLowerCase() === who.toLowerCase();
  const held = proxy.arm({
    name: `the marketplace's ${step === 'pull' ? 'transferFrom' : step === 'create' ? 'createJob' : 'transfer back'} of ${jobId} held in the RPC proxy`,
    when:
      step === 'create'
        ? sendsCall({ to: a.c.nexus, abi: nexusAbi, functions: ['createJob'], args: (x) => String(x[0]).toLowerCase() === wallet.toLowerCase() })
        : sendsCall({ to: token, abi: tokenAbi, functions: [step === 'pull' ? 'transferFrom' : 'transfer'], args: toCaller }),
    action: { kind: 'delay', phase: cut === 'before-send' ? 'request' : 'response', hold: true },
  });
  armed.push(held);
  ctx.act(
    `${caller} hires ${m.id} as ${jobId}; the marketplace is killed ${cut === 'before-send' ? `before ${HIRE_STEPS[step]} reached the chain` : `after ${HIRE_STEPS[step]} was mined, before it saw the receipt`}`,
  );
  const first = orLost(mk.execute(m.id, body, { signer: ctx.key(caller) }));
  try {
    const fired = await Promise.race([held.whenFired().then(() => true), first.then(() => false)]);
    if (!fired) expectFired(held, REQ, `the marketplace sent no such transaction through the RPC proxy (it answered ${JSON.stringify(await first).slice(0, 160)})`);
    if (cut === 'after-send') {
      const minedYet = async () => (step === 'create' ? (await jobsSince()).length > 0 : (await a.s.balanceOf(token, who)) === (step === 'pull' ? before.caller - price : before.caller));
      const until = Date.now() + 10_000;
      while (!(await minedYet()) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      if (!(await minedYet())) throw new Indeterminate(REQ, `the node did not mine the held transaction, so the cut 'after the send' of ${HIRE_STEPS[step]} did not happen`);
    }
    await ctx.restart('aps1-marketplace', `inside the hire ${jobId}, ${cut} of ${HIRE_STEPS[step]}`);
  } finally {
    // The old process is gone: what was held is delivered to nobody (after-send) or never sent (before-send).
    for (const f of armed) {
      f.discard();
      f.disarm();
    }
  }
  await first;
  ctx.evidence.note(describeHit(held, held.hits[0]!));
  // The caller got no answer: it resends until it gets one (the marketplace may still be finishing the hire).
  let again: Awaited<ReturnType<typeof mk.execute>> | 'lost' = 'lost';
  const until = Date.now() + HIRE_ANSWER_WITHIN_MS;
  for (;;) {
    ctx.act(`${caller} resends the hire ${jobId}`);
    again = await orLost(mk.execute(m.id, body, { signer: ctx.key(caller) }));
    if ((again !== 'lost' && again.status < 500) || Date.now() >= until) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const answered = again !== 'lost' && (again.status === 200 || (again.status >= 400 && again.status < 500));
  ctx.check(REQ, answered, `within ${HIRE_ANSWER_WITHIN_MS / 1000} s of the restart, the resent hire ${jobId} is answered (200, or a 4xx)`, {
    expected: '200 APS1Result with its settlement, or a 4xx',
    actual: again === 'lost' ? 'no answer' : `${again.status} ${again.text.slice(0, 200)}`,
  });
  const jobs = await jobsSince();
  ctx.check(REQ, jobs.length <= 1, `the hire ${jobId} created at most one NexusV2 job`, { expected: '0 or 1 JobCreated', actual: `${jobs.length}: ${jobs.map((j) => `#${j.args.jobId}`).join(', ')}` });
  const id = jobs[0]?.args.jobId;
  const job = id !== undefined ? await a.s.read(a.c.nexus, nexusAbi, 'getJob', [id]) : undefined;
  const after = { caller: await a.s.balanceOf(token, who), agent: await a.s.balanceOf(token, wallet), market: await a.s.balanceOf(token, market) };
  a.s.recordBalances(`hire ${jobId} cut at ${step} (${cut})`, token, before, after);
  const paid = before.caller - after.caller;
  const agentGot = after.agent - before.agent;
  const settled = id !== undefined && job?.status === 4;
  if (settled) {
    const hist = await jobHistory(a, id, from);
    const fee = job.platformFee;
    ctx.check(REQ, paid === price && agentGot === price - fee && hist.ended === 1, `the hire ${jobId} settled once: the caller paid the price once and the agent got price − fee`, {
      expected: `caller −${price}, agent +${price - fee}, the job ended once`,
      actual: `caller −${paid}, agent +${agentGot}, ended ${hist.ended}`,
    });
    ctx.check(REQ, again !== 'lost' && again.status === 200 && again.body?.settlement?.type === 'settle', `the caller who paid for ${jobId} gets its answer (200, settled)`, {
      expected: '200 with settlement.type settle',
      actual: again === 'lost' ? 'no answer' : `${again.status} ${again.text.slice(0, 200)}`,
    });
  } else {
    ctx.check(REQ, paid === 0n && agentGot === 0n, `the hire ${jobId} did not settle, so the caller got every unit back`, {
      expected: 'caller ±0, agent ±0',
      actual: `caller −${paid}, agent +${agentGot}${job ? `; NexusV2 job #${id} ${APS1_PROFILE.statuses.job[job.status]}` : '; no NexusV2 job'}`,
    });
  }
  ctx.expectEqual(REQ, after.market, before.market, `the marketplace kept nothing of the hire ${jobId}`);
}

export const restartInsideHire = defineScenario({
  kind: 'property',
  id: 'restart-inside-hire',
  title:
    'The marketplace is killed inside a hire, around each of its transactions (the pull, createJob, the transfer back of a refund; dropped before the send, or mined with the answer withheld); the resent hire is answered, and the hire settled once or the caller got every unit back; the marketplace keeps nothing',
  requirements: [REQ],
  ...RESTART,
  endpoints: ['aps1-marketplace'],
  capabilities: ['restart', 'rpc-faults'],
  arbitrary: () =>
    fc.record({
      caller: fc.constantFrom('buyer1', 'buyer2'),
      cuts: fc.shuffledSubarray(
        (['pull', 'create', 'return'] as const).flatMap((step) => (['before-send', 'after-send'] as const).map((cut) => ({ step, cut }))),
        { minLength: 6 },
      ),
    }),
  async run(ctx, v) {
    const a = await aps(ctx);
    const mk = marketplaceClient((await ctx.restartable('aps1-marketplace')).url, ctx.fetch);
    const list = await mk.list();
    const m = Array.isArray(list.body) ? (list.body[0] as APS1Manifest | undefined) : undefined;
    if (!m) throw new Indeterminate(REQ, `the restartable marketplace lists no agent (${list.status})`);
    const token = payToken(m, a);
    const decimals = m.supportedTokens.find((t) => t.address.toLowerCase() === token.toLowerCase())?.decimals ?? 6;
    const price = usdToUnits(m.pricing.basePrice, decimals);
    if (!price) throw new Indeterminate(REQ, `${m.id} has no payable price`);
    // The restartable marketplace pulls the price with its own key (its /health names it).
    const market = (await mk.health()).body?.address as Address | undefined;
    if (!market) throw new Indeterminate(REQ, 'the restartable marketplace names no address in GET /health');
    await allow(a, v.caller, token, market);
    for (const c of v.cuts) await crashInsideHire(ctx, { a, mk, m, token, price, market }, v.caller, c.step, c.cut);
  },
});

export const restartScenarios = [restartEveryStep, restartInsideCompletion, restartInsideHire];
