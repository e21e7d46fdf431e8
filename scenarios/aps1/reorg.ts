/**
 * An APS-1 agent under a real reorg (`anvil_reorg`, capability `reorg`): an employer funds a NexusV2
 * job for the agent, the agent executes it (commit, verify, completeJob), then every block from the
 * escrow's up is replaced by a new branch of the same height. Three cases in every run, in a
 * generated order: the escrow is gone; it is mined again in another block; it and the agent's own
 * transactions are mined again. Whatever the agent answers afterwards (its /status, a resent
 * envelope) must not name transactions the chain no longer has, it must send nothing for an escrow
 * that is gone, serve an escrow funded again on the new branch, and deliver a re-mined one at most
 * once (profile APS-PROF-19: depth 1, with the escrow re-checked before acting).
 */
import fc from 'fast-check';
import type { Hex } from 'viem';
import { depthFrom, reorg } from '../../harness/chain/index.ts';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import type { HttpAnswer } from '../../reference-impl/aps1/agents/clients.ts';
import { envelope } from '../../reference-impl/aps1/agents/employer.ts';
import { nexusAbi, proofAbi } from '../../reference-impl/aps1/protocol/abi.ts';
import type { APS1Envelope } from '../../reference-impl/aps1/protocol/schemas.ts';
import { hire, pay, type Hire } from './agent.ts';
import { agentOf, freshJobId, NEEDS, nonceOf, short } from './lab.ts';
import { falseClaims } from './trace.ts';

const REQ = 'APS-ORG-01';
const CASES = ['gone', 'remined', 'remined-with-agent'] as const;
type Case = (typeof CASES)[number];
const SAYS: Record<Case, string> = {
  gone: 'blocks without the escrow',
  remined: 'blocks that mine the escrow again in the newest block (the agent’s transactions are gone)',
  'remined-with-agent': 'blocks that mine the escrow and the agent’s transactions again in the newest block',
};

/** Every transaction mined from block `from` to the head, in order. */
async function txsFrom(h: Hire, from: bigint): Promise<Hex[]> {
  const head = await h.a.s.public.getBlockNumber({ cacheTime: 0 });
  const out: Hex[] = [];
  for (let n = from; n <= head; n++) out.push(...((await h.a.s.public.getBlock({ blockNumber: n })).transactions as Hex[]));
  return out;
}

/** An answer about a job after the reorg: refused or absent (4xx), or a result whose every claim is on the chain now. */
async function honest(ctx: RunContext, h: Hire, r: HttpAnswer, what: string): Promise<void> {
  const bad = r.status === 200 ? await falseClaims(h.a, r.body) : [];
  ctx.check(REQ, (r.status >= 400 && r.status < 500) || (r.status === 200 && bad.length === 0), `${what}: a 4xx, or a result whose every on-chain claim the new branch holds`, {
    expected: '404/4xx, or 200 with claims on chain',
    actual: `${r.status} ${bad.length ? bad.join('; ') : r.text.slice(0, 200)}`,
  });
}

/** Executes `jobId` on a fresh NexusV2 escrow; Indeterminate unless it ran. Returns the escrow and its block. */
async function executed(ctx: RunContext, h: Hire, employer: string, jobId: string, prompt: string) {
  const escrow = await pay(h, employer, 'nexus-escrow', h.price);
  const block = (await h.a.s.public.getTransactionReceipt({ hash: escrow.txHash })).blockNumber;
  const env = envelope({ jobId, agentId: h.m.id, prompt, callerWallet: h.a.s.address(employer), escrow });
  ctx.act(`${employer} sends the envelope for ${jobId} (NexusV2 job #${escrow.onChainId})`);
  return { escrow, block, env, r: await untilRun(h, env) };
}

/** Blocks an agent may wait for before it acts on an escrow (APS-PROF-19: any depth of at least 1 passes). */
const DEPTH_WAIT = 6;

/**
 * Sends `env` until the agent runs it: an agent that waits for more confirmations answers a 4xx
 * (mined a block, sent again, up to {@link DEPTH_WAIT}) or `pending` (its /status is followed).
 */
async function untilRun(h: Hire, env: APS1Envelope): Promise<HttpAnswer> {
  const agent = agentOf(h.a.ctx);
  let r = await agent.execute(env);
  for (let i = 0; i < DEPTH_WAIT && r.status >= 400 && r.status < 500; i++) {
    await h.a.s.test.mine({ blocks: 1 });
    r = await agent.execute(env);
  }
  for (let i = 0; i < 20 && r.status === 200 && r.body?.status === 'pending'; i++) {
    await new Promise((x) => setTimeout(x, 500));
    r = await agent.status(env.jobId);
  }
  return r;
}

async function oneCase(ctx: RunContext, h: Hire, employer: string, c: Case, extra: number): Promise<void> {
  const { a } = h;
  const jobId = freshJobId(`reorg-${c}`);
  const { escrow, block, env, r } = await executed(ctx, h, employer, jobId, `a job whose escrow a reorg will take (${c})`);
  if (r.status !== 200 || r.body?.status !== 'success') throw new Indeterminate(REQ, `the paid job did not run before the reorg (${r.status} ${r.text.slice(0, 160)})`);
  if (extra) await a.s.test.mine({ blocks: extra });
  const rpc = a.s.spec.rpcUrl;
  const depth = await depthFrom(rpc, block);
  const again = c === 'gone' ? [] : c === 'remined' ? [escrow.txHash] : await txsFrom(h, block);
  ctx.act(`a reorg replaces the last ${depth} blocks (from the escrow’s block ${block} up) with ${SAYS[c]}`);
  const out = await reorg(rpc, depth, { reinclude: again.map((hash) => ({ hash, block: depth - 1 })) });
  if (c !== 'gone') {
    const p = out.reincluded.find((x) => x.hash.toLowerCase() === escrow.txHash.toLowerCase());
    if (p?.status !== 'success') throw new Indeterminate(REQ, `the escrow could not be mined again in the new branch (${p ? 'reverted' : 'dropped'})`);
  }
  const from = (await a.s.public.getBlockNumber({ cacheTime: 0 })) - BigInt(depth);
  const nonce0 = await nonceOf(a, h.wallet);
  const agent = agentOf(ctx);
  ctx.act(`${employer} asks the agent for ${jobId} (GET /status) and resends its envelope`);
  await honest(ctx, h, await agent.status(jobId), `GET /status/${jobId} after the reorg`);
  const resent = await agent.execute(env);
  await honest(ctx, h, resent, `the resent envelope of ${jobId}`);
  const id = BigInt(escrow.onChainId);
  if (c === 'gone') {
    ctx.expectEqual(REQ, await nonceOf(a, h.wallet), nonce0, `the agent sent no transaction for ${jobId}, whose escrow is gone`);
    // The id is free on the new branch: the employer funds a job again (usually the same id).
    const next = freshJobId('reorg-refunded');
    const { escrow: e2, r: r2 } = await executed(ctx, h, employer, next, 'a job funded again on the new branch');
    ctx.check(
      REQ,
      r2.status === 200 && r2.body?.status === 'success',
      `NexusV2 job #${e2.onChainId} funded on the new branch${e2.onChainId === escrow.onChainId ? ' (the id the reorged escrow had)' : ''} is served like any paid job`,
      {
        expected: '200 success',
        actual: `${r2.status} ${r2.text.slice(0, 200)}`,
      },
    );
    const job = await a.s.read(a.c.nexus, nexusAbi, 'getJob', [BigInt(e2.onChainId)]);
    ctx.expectEqual(REQ, job.status, 2, `NexusV2 job #${e2.onChainId} is Completed by the agent`);
    return;
  }
  // The escrow counts on the new branch: delivered there at most once.
  const [changed, commits, job] = await Promise.all([
    a.s.public.getContractEvents({ address: a.c.nexus, abi: nexusAbi, eventName: 'JobStatusChanged', args: { jobId: id }, fromBlock: from + 1n }),
    a.s.public.getContractEvents({ address: a.c.proof, abi: proofAbi, eventName: 'CommitmentMade', args: { nexusJobId: id }, fromBlock: from + 1n }),
    a.s.read(a.c.nexus, nexusAbi, 'getJob', [id]),
  ]);
  const completions = changed.filter((e) => Number(e.args.newStatus) === 2).length;
  ctx.check(REQ, completions <= 1 && commits.length <= 1, `NexusV2 job #${id} is completed at most once on the new branch, with at most one plan commitment`, {
    expected: '≤ 1 completion, ≤ 1 commitment',
    actual: `${completions} completions, ${commits.length} commitments`,
  });
  if (resent.status === 200 && resent.body?.status === 'success')
    ctx.check(REQ, job.status === 2 && completions === 1, `the resend answered success: job #${id} is delivered (Completed) on the new branch`, {
      expected: 'Completed',
      actual: `status ${job.status}, ${completions} completions (${short(escrow.txHash)})`,
    });
}

export const escrowReorg = defineScenario({
  kind: 'property',
  id: 'escrow-reorg',
  title: 'An escrow a reorg removed pays for nothing (no answer names transactions the chain lost, no transaction sent, the id funded again is served); one mined again is delivered at most once',
  requirements: [REQ],
  endpoints: ['aps1-agent'],
  needs: NEEDS,
  roles: ['buyer1', 'buyer2', 'judge'],
  capabilities: ['reorg'],
  isolation: 'live',
  // Every case in every run (three reorgs, four executions): one run.
  maxRuns: 1,
  // A failing run is reported as it failed: a shrink step re-runs on the agent's state the failure
  // left behind (a job id the reorg recycled is then refused at once) and proves nothing more.
  shrink: false,
  arbitrary: () =>
    fc.record({
      employer: fc.constantFrom('buyer1', 'buyer2'),
      // Blocks mined on top before the reorg (all replaced by it).
      extra: fc.integer({ min: 0, max: 2 }),
      cases: fc.shuffledSubarray([...CASES], { minLength: CASES.length }),
    }),
  async run(ctx, v) {
    const h = await hire(ctx, agentOf(ctx), REQ);
    if (!h.methods.includes('nexus-escrow')) throw new Indeterminate(REQ, `the agent takes no NexusV2 escrow (${h.methods.join(', ')})`);
    for (const c of v.cases) await oneCase(ctx, h, v.employer, c, v.extra);
  },
});
