/**
 * APS-1 under duplicate delivery (issue 15): the harness's fault proxy (harness/faults) sits between
 * the employer and the agent (or the caller and the marketplace) and delivers one paid request
 * twice, both copies at once or the second after the first was answered. No capability: it runs
 * against any server. The proxy records both answers (the client saw only the first); a case whose
 * fault never fired is indeterminate, never passed.
 *
 * One envelope is one job: whatever the network did, the agent ran it once (at most one plan
 * commitment, verification, completion and milestone submission on chain), the escrow was used once
 * (a NexusV2 job Completed once, one stream milestone Submitted), every answer is the job's result
 * or a 4xx, never a 5xx. One hire is one escrow: one NexusV2 job for it, the caller charged once.
 */
import fc from 'fast-check';
import type { Address } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { describeHit, expectFired, type FaultProxy, type SeenAnswer, seenAnswer, withFaultProxy } from '../../harness/faults/index.ts';
import { agentClient, marketplaceClient } from '../../reference-impl/aps1/agents/clients.ts';
import { envelope } from '../../reference-impl/aps1/agents/employer.ts';
import { nexusAbi, streamAbi } from '../../reference-impl/aps1/protocol/abi.ts';
import { APS1_PROFILE } from '../../reference-impl/aps1/protocol/profile.ts';
import type { PaymentMethod } from '../../reference-impl/aps1/protocol/schemas.ts';
import { hire, pay, type Hire } from './agent.ts';
import { agentOf, aps, freshJobId, marketplaceOf, NEEDS } from './lab.ts';
import { letMarketplaceSpend, payToken } from './market.ts';
import { agentCalls, checkRanOnce } from './trace.ts';

const REQ = 'APS-FLT-01';
/** Property runs at most: every case runs in every run (six executions; two hires); more runs only vary the employer and the order. */
const FAULT_RUNS = 1;
const MODES = ['concurrent', 'sequential'] as const;
type Mode = (typeof MODES)[number];
const SAYS: Record<Mode, string> = { concurrent: 'delivers it twice at once', sequential: 'delivers it again after the first was answered' };

/** An answer one delivery got (the client's, or one only the proxy saw). */
type Answer = SeenAnswer;

const shown = (x: Answer) => `${x.who}: ${x.status} ${JSON.stringify(x.body)?.slice(0, 200)}`;

/** Deliver one request twice through `proxy` (`path` on POST) and return both answers (the proxy's record). */
async function deliveredTwice(ctx: RunContext, proxy: FaultProxy, path: RegExp, mode: Mode, send: () => Promise<unknown>): Promise<Answer[]> {
  const fault = proxy.arm({ name: `the request delivered twice (${mode})`, when: { method: 'POST', path }, action: { kind: 'duplicate', mode } });
  await send();
  expectFired(fault, REQ, 'the request never reached the proxy');
  await fault.settled();
  const hit = fault.hits[0]!;
  ctx.evidence.note(describeHit(fault, hit));
  ctx.check(REQ, hit.errors.length === 0 && hit.upstream.length === 2, 'both deliveries reach the server and are answered', { expected: '2 answers', actual: describeHit(fault, hit) });
  return hit.upstream.map((u, i) => seenAnswer(`delivery ${i + 1} of 2`, u));
}

/** What identifies one execution in a result: the job, its outcome, and the transactions and proof it reports. */
const executionOf = (b: any) =>
  JSON.stringify({ jobId: b?.jobId, status: b?.status, result: b?.result, tx: (b?.onChain?.transactions ?? []).map((t: { hash?: string }) => t.hash), proof: b?.proof?.verifyTxHash });

/** Every answer is the job's one outcome (a 2xx naming the same execution) or a 4xx, and at least one is a 2xx. */
function judgeAnswers(ctx: RunContext, answers: Answer[], what: string, same: (b: any) => string): any {
  for (const x of answers) ctx.check(REQ, x.status < 500, `${what}, ${x.who}: answered without a 5xx`, { expected: 'the outcome (2xx) or a 4xx', actual: shown(x) });
  const served = answers.filter((x) => x.status >= 200 && x.status < 300);
  ctx.check(REQ, served.length >= 1, `${what}: at least one delivery is served`, { expected: 'a 2xx', actual: answers.map(shown).join(' | ') });
  const outcomes = new Set(served.map((x) => same(x.body)));
  ctx.check(REQ, outcomes.size <= 1, `${what}: every served delivery answers the same outcome (one execution, not two)`, {
    expected: 'one outcome',
    actual: served.map(shown).join(' | '),
  });
  return served[0]?.body;
}

/** One envelope paid by `method`, delivered twice: one execution, one use of the escrow. */
async function executeTwice(ctx: RunContext, h: Hire, employer: string, method: PaymentMethod, mode: Mode, proxy: FaultProxy): Promise<void> {
  const { a } = h;
  const escrow = await pay(h, employer, method, h.price);
  const from = await a.s.public.getBlockNumber({ cacheTime: 0 });
  const jobId = freshJobId(`dup-${mode}`);
  const agent = agentClient(proxy.through(ctx.endpoint('aps1-agent').url), ctx.fetch);
  const env = envelope({ jobId, agentId: h.m.id, prompt: `one job, delivered twice (${method})`, callerWallet: a.s.address(employer), escrow });
  ctx.act(`${employer} sends the envelope for ${jobId} (paid by ${method}); the network ${SAYS[mode]}`);
  const answers = await deliveredTwice(ctx, proxy, /\/execute(\?|$)/, mode, () => agent.execute(env));
  let served = judgeAnswers(ctx, answers, `${jobId} (${method}, ${mode})`, executionOf);
  // An agent that answers `pending` finishes later: its /status says how it ended.
  for (let i = 0; i < 20 && served?.status === 'pending'; i++) {
    await new Promise((r) => setTimeout(r, 500));
    served = (await agentOf(ctx).status(jobId)).body;
  }
  if (served?.status !== 'success') throw new Indeterminate(REQ, `the agent did not run the paid job (${JSON.stringify(served)?.slice(0, 160)})`);
  const st = await agentOf(ctx).status(jobId);
  ctx.check(REQ, st.status === 200 && executionOf(st.body) === executionOf(served), 'GET /status/:jobId answers that one execution', {
    expected: executionOf(served).slice(0, 200),
    actual: `${st.status} ${executionOf(st.body).slice(0, 200)}`,
  });
  const calls = await agentCalls(a, h.wallet, from);
  checkRanOnce(ctx, REQ, calls, `${jobId} (${method}, ${mode})`);
  if (method === 'nexus-escrow') {
    const changed = await a.s.public.getContractEvents({ address: a.c.nexus, abi: nexusAbi, eventName: 'JobStatusChanged', args: { jobId: BigInt(escrow.onChainId) }, fromBlock: from + 1n });
    const completions = changed.filter((e) => Number(e.args.newStatus) === 2).length;
    ctx.check(REQ, completions === 1, `NexusV2 job #${escrow.onChainId} was completed exactly once`, { expected: 1, actual: completions });
  }
  if (method === 'stream-milestone') {
    const statuses = await Promise.all([0n, 1n].map((i) => a.s.read(a.c.stream, streamAbi, 'getMilestone', [BigInt(escrow.onChainId), i]).then((m) => APS1_PROFILE.statuses.milestone[m.status])));
    ctx.expectEqual(REQ, statuses.join('/'), 'Submitted/Pending', `stream #${escrow.onChainId}: the one envelope delivered one milestone, not two`);
  }
}

export const duplicateExecute = defineScenario({
  kind: 'property',
  id: 'fault-duplicate-execute',
  title: 'A paid envelope delivered twice (at once, and again after its answer), by every escrow method the agent takes: one execution, one use of the escrow, never a 5xx',
  requirements: [REQ],
  endpoints: ['aps1-agent'],
  needs: NEEDS,
  roles: ['buyer1', 'buyer2', 'judge'],
  isolation: 'live',
  maxRuns: FAULT_RUNS,
  arbitrary: () =>
    fc.record({
      employer: fc.constantFrom('buyer1', 'buyer2'),
      methods: fc.shuffledSubarray<PaymentMethod>(['nexus-escrow', 'stream-milestone', 'direct-transfer'], { minLength: 3 }),
      modes: fc.shuffledSubarray([...MODES], { minLength: 2 }),
    }),
  async run(ctx, v) {
    const h = await hire(ctx, agentOf(ctx), REQ);
    if (h.price === 0n) throw new Indeterminate(REQ, 'a free agent takes no escrow');
    const methods = v.methods.filter((m) => h.methods.includes(m));
    await withFaultProxy(ctx.endpoint('aps1-agent').url, async (proxy) => {
      // Every method and both kinds of duplicate in every run (rule 4).
      for (const method of methods) for (const mode of v.modes) await executeTwice(ctx, h, v.employer, method, mode, proxy);
    });
  },
});

export const duplicateHire = defineScenario({
  kind: 'property',
  id: 'fault-duplicate-hire',
  title: 'A signed hire delivered twice (at once, and again after its answer): one NexusV2 job for it, the caller charged once, both answered without a 5xx',
  requirements: [REQ],
  endpoints: ['aps1-marketplace'],
  needs: NEEDS,
  roles: ['buyer1', 'buyer2'],
  isolation: 'live',
  maxRuns: FAULT_RUNS,
  arbitrary: () => fc.record({ caller: fc.constantFrom('buyer1', 'buyer2'), pick: fc.nat(), modes: fc.shuffledSubarray([...MODES], { minLength: 2 }) }),
  async run(ctx, v) {
    const mk = marketplaceOf(ctx);
    const list = (await mk.list()).body;
    if (!Array.isArray(list) || !list.length) throw new Indeterminate(REQ, 'the marketplace lists no agent');
    const m = list[v.pick % list.length];
    const a = await aps(ctx);
    const token = payToken(m, a);
    const caller = a.s.address(v.caller);
    await letMarketplaceSpend(ctx, a, v.caller, token, m.id);
    await withFaultProxy(mk.url, async (proxy) => {
      const via = marketplaceClient(proxy.through(mk.url), ctx.fetch);
      for (const mode of v.modes) {
        const from = await a.s.public.getBlockNumber({ cacheTime: 0 });
        const before = await a.s.balanceOf(token, caller);
        const jobId = freshJobId(`dup-hire-${mode}`);
        ctx.act(`${v.caller} hires ${m.id} as ${jobId}; the network ${SAYS[mode]}`);
        const answers = await deliveredTwice(ctx, proxy, /\/agents\/[^/]+\/execute(\?|$)/, mode, () =>
          via.execute(m.id, { jobId, prompt: 'one hire, delivered twice', callerWallet: caller }, { signer: ctx.key(v.caller) }),
        );
        const served = judgeAnswers(ctx, answers, `hire ${jobId} (${mode})`, (b) => JSON.stringify({ escrow: b?.escrow, settlement: b?.settlement?.txHash, status: b?.status }));
        const created = await a.s.public.getContractEvents({ address: a.c.nexus, abi: nexusAbi, eventName: 'JobCreated', args: { worker: m.walletAddress as Address }, fromBlock: from + 1n });
        const onChainId = served?.escrow?.onChainId;
        ctx.check(REQ, created.length === 1 && BigInt(onChainId ?? -1) === created[0]!.args.jobId, `hire ${jobId}: one NexusV2 job was created for it, the one the answer names`, {
          expected: `1 JobCreated for ${m.id}, #${onChainId}`,
          actual: `${created.length} JobCreated${created.length ? ` (#${created.map((e) => e.args.jobId).join(', #')})` : ''}`,
        });
        const settled = served?.settlement?.type === 'settle';
        const paid = before - (await a.s.balanceOf(token, caller));
        const price = created[0] ? created[0].args.budget : 0n;
        ctx.check(REQ, paid === (settled ? price : 0n), `hire ${jobId}: the caller paid once (${settled ? 'settled: the price' : 'refunded: nothing'})`, {
          expected: settled ? price : 0n,
          actual: paid,
        });
        // The caller's money and the one job agree: the job ended once.
        if (created[0]) {
          const rc = await a.s.public.getContractEvents({ address: a.c.nexus, abi: nexusAbi, eventName: 'JobStatusChanged', args: { jobId: created[0].args.jobId }, fromBlock: from + 1n });
          const ends = rc.filter((e) => Number(e.args.newStatus) >= 4).length;
          ctx.check(REQ, ends === 1, `NexusV2 job #${created[0].args.jobId} ended once`, { expected: 1, actual: ends });
        }
      }
    });
  },
});

export const faultScenarios = [duplicateExecute, duplicateHire];
