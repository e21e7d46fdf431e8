/**
 * APS-ROB-01: seeded malformed requests at the target's APS-1 agent server and marketplace
 * (harness/robustness and reference-impl/aps1/protocol/fuzz.ts): bodies that are not JSON or not an
 * object, envelopes without a task, broken or unpaid escrow claims, negotiation messages no reading
 * can take, hires whose signature covers another request or that carry none, agents that are not
 * listed, wrong methods, unpublished paths, oversized bodies, transport-level defects. Each answer is
 * below 500 and a refusal where it could change state; after each batch nothing observable changed:
 * the manifest and the listing, the finished job's stored result, no job recorded under any jobId
 * the batch named, the agent's and the marketplace's nonces, the balances and allowances of the
 * parties, the fixture's NexusV2 job, the contracts' counters, and no event of NexusV2, StreamV1,
 * AIProofRegistry or the token names the agent, the marketplace or the harness's roles.
 *
 * How it differs from APS-MSG-03 (malformed-requests): that one sends each of a fixed list of
 * validator violations to /execute and /negotiate, requires a JSON `{error}` and checks that the
 * payment is still good afterwards; this one sends a seeded batch (200 per certification,
 * `--long` 10,000, half to each server) at every route of both servers, transport defects included,
 * accepts any refusal, and compares the chain and the public views before and after. Only requests
 * every reading of the seed and the profile refuses are sent (APS-PROF-17; protocol/fuzz.ts
 * `thirdPartyRequest`; the reference's own fuzz test sends the rest).
 *
 * The escrow, the finished job and the marketplace's allowance aimed at are set up once per target
 * and reused by every run.
 */
import fc from 'fast-check';
import { privateKeyToAccount } from 'viem/accounts';
import type { Address } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { ROBUSTNESS_RUNS, fixturePerTarget, perRun, robustnessBudget, sendMalformedBatch } from '../../harness/robustness/batch.ts';
import { asTopic, expectNoLogsSince, expectUnchanged, type Observables, type WatchedLogs } from '../../harness/robustness/observe.ts';
import { agentClient, marketplaceClient } from '../../reference-impl/aps1/agents/clients.ts';
import { envelope } from '../../reference-impl/aps1/agents/employer.ts';
import { nexusAbi, proofAbi, streamAbi, tokenAbi } from '../../reference-impl/aps1/protocol/abi.ts';
import { malformedRequest, signHire, thirdPartyRequest, type AgentFuzzTarget, type Aps1FuzzRequest } from '../../reference-impl/aps1/protocol/fuzz.ts';
import { APS1ManifestSchema, type APS1Manifest } from '../../reference-impl/aps1/protocol/schemas.ts';
import { pay, termsOf, type Hire } from './agent.ts';
import { aps, freshJobId, NEEDS, type Aps } from './lab.ts';
import { letMarketplaceSpend, payToken } from './market.ts';

const REQ = 'APS-ROB-01';
/** Malformed requests per certification at the default size (a few seconds against the reference), half to each server. */
const NORMAL_REQUESTS = 200;
/** Requests one run of one server's scenario sends. */
const perServerRun = () => perRun(Math.ceil(robustnessBudget(NORMAL_REQUESTS) / 2));

/** A manifest as a third party can compare it: everything but the free-form metadata. */
function manifestView(status: number, body: unknown): string {
  const m = APS1ManifestSchema.safeParse(body);
  if (!m.success) return `${status} ${JSON.stringify(body)?.slice(0, 2000)}`;
  const { metadata: _, ...rest } = m.data;
  return `${status} ${JSON.stringify(rest)}`;
}

/** The seed's batch for one server: `ctx`'s seed, only the requests a third party may get. */
function batchOf(seed: number, f: Parameters<typeof malformedRequest>[0], o: { freeAgent: boolean }): Aps1FuzzRequest[] {
  return fc.sample(
    malformedRequest(f).filter((r) => thirdPartyRequest(r, o)),
    { seed, numRuns: perServerRun() },
  );
}

// ---- the agent server ---------------------------------------------------------------------------

interface AgentFixture {
  h: Hire;
  target: AgentFuzzTarget;
  /** The unused escrow's NexusV2 job or stream, when it is one. */
  nexusJob?: bigint;
  streamId?: bigint;
}

const agentFixtureOf = fixturePerTarget(buildAgentFixture);

async function buildAgentFixture(ctx: RunContext): Promise<AgentFixture> {
  const agent = agentClient(ctx.endpoint('aps1-agent').url, ctx.fetch);
  ctx.act('the employer reads GET /manifest');
  const r = await agent.manifest();
  const m = APS1ManifestSchema.safeParse(r.body);
  if (r.status !== 200 || !m.success) throw new Indeterminate(REQ, `setup: the agent serves no valid manifest (${r.status} ${r.text.slice(0, 160)})`);
  const h = await termsOf(ctx, m.data, REQ);
  const buyer = h.a.s.address('buyer1');
  // NexusV2 when the agent takes it (its job's state is on chain to compare), else what it takes.
  const method = h.methods.includes('nexus-escrow') ? 'nexus-escrow' : h.methods.includes('direct-transfer') ? 'direct-transfer' : h.methods[0]!;
  const escrowFor = async () => (h.price === 0n ? undefined : await pay(h, 'buyer1', method, h.price, { duration: 86_400n }));
  // A finished job: a request naming its jobId must not change what /status answers for it.
  const doneJobId = freshJobId('rob-done');
  const paid = await escrowFor();
  ctx.act(`buyer1 has the agent run ${doneJobId} before the batch`);
  const done = await agent.execute(envelope({ jobId: doneJobId, agentId: m.data.id, prompt: 'a task finished before the robustness batch', callerWallet: buyer, escrow: paid }));
  if (done.status !== 200) throw new Indeterminate(REQ, `setup: the agent did not run a paid envelope (${done.status} ${done.text.slice(0, 160)})`);
  for (let i = 0; i < 60 && (await agent.status(doneJobId)).body?.status === 'pending'; i++) await new Promise((ok) => setTimeout(ok, 1000));
  // The escrow every malformed envelope names: it pays this agent and has paid for nothing.
  const unused = await escrowFor();
  return {
    h,
    target: {
      id: m.data.id,
      callerWallet: buyer,
      ...(unused ? { escrow: { contractAddress: unused.contractAddress, onChainId: unused.onChainId, txHash: unused.txHash, method: unused.method } } : {}),
      doneJobId,
    },
    ...(unused?.method === 'nexus-escrow' ? { nexusJob: BigInt(unused.onChainId) } : {}),
    ...(unused?.method === 'stream-milestone' ? { streamId: BigInt(unused.onChainId) } : {}),
  };
}

/** Roles whose balances are watched (the employers and the attacker). */
const WATCHED = ['buyer1', 'buyer2', 'attacker'] as const;

/** What a third party can observe of the agent and its payments. */
async function observeAgent(ctx: RunContext, a: Aps, f: AgentFixture): Promise<Observables> {
  const agent = agentClient(ctx.endpoint('aps1-agent').url);
  const out: Observables = {};
  const m = await agent.manifest();
  out['GET /manifest'] = manifestView(m.status, m.body);
  const done = await agent.status(f.target.doneJobId);
  out[`GET /status/${f.target.doneJobId}`] = `${done.status} ${done.text}`;
  const wallet = f.h.wallet;
  out['nonce agent wallet'] = String(await a.s.public.getTransactionCount({ address: wallet, blockTag: 'latest' }));
  for (const [name, who] of [['agent wallet', wallet], ...WATCHED.map((r) => [r, a.s.address(r)]), ['NexusV2', a.c.nexus], ['StreamV1', a.c.stream]] as const) {
    out[`balance ${name}`] = String(await a.s.balanceOf(f.h.token, who as Address));
  }
  await contractViews(a, out);
  const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  if (f.nexusJob !== undefined) out[`getJob ${f.nexusJob}`] = show(await a.s.read(a.c.nexus, nexusAbi, 'getJob', [f.nexusJob]));
  if (f.streamId !== undefined) out[`getStream ${f.streamId}`] = show(await a.s.read(a.c.stream, streamAbi, 'getStream', [f.streamId]));
  return out;
}

/** The contracts' counters: no job, stream or commitment was created. */
async function contractViews(a: Aps, out: Observables): Promise<void> {
  out['NexusV2.nextJobId'] = String(await a.s.read(a.c.nexus, nexusAbi, 'nextJobId'));
  out['StreamV1.nextStreamId'] = String(await a.s.read(a.c.stream, streamAbi, 'nextStreamId'));
  out['AIProofRegistry.getStats'] = (await a.s.read(a.c.proof, proofAbi, 'getStats')).map(String).join(' ');
}

/** After the batch, no jobId it named answers a stored result. */
async function expectNothingRecorded(ctx: RunContext, sent: Aps1FuzzRequest[]): Promise<void> {
  const agent = agentClient(ctx.endpoint('aps1-agent').url);
  const ids = [...new Set(sent.map((r) => r.jobId).filter((j): j is string => typeof j === 'string' && j.length > 0))];
  const recorded: string[] = [];
  for (const id of ids) {
    const s = await agent.status(id);
    if (s.status >= 200 && s.status < 300) recorded.push(`${id}: ${s.status} ${s.text.slice(0, 160)}`);
  }
  ctx.check(REQ, recorded.length === 0, `after the batch: none of the ${ids.length} jobIds its refused envelopes named has a job (GET /status/:jobId answers no result)`, {
    expected: 'no 2xx',
    actual: recorded.length ? `${recorded.length} recorded, first ${recorded[0]}` : 'none recorded',
  });
}

export const robustnessAgent = defineScenario({
  kind: 'property',
  id: 'robustness-agent',
  title: 'Malformed requests at the agent server: no 5xx, refusals where state could change, and nothing observable changes (no job recorded, no transaction, no escrow touched)',
  requirements: [REQ],
  endpoints: ['aps1-agent'],
  needs: NEEDS,
  roles: ['buyer1', 'buyer2', 'judge', 'attacker'],
  isolation: 'live',
  maxRuns: ROBUSTNESS_RUNS,
  arbitrary: () => fc.noShrink(fc.integer()),
  async run(ctx, seed) {
    const a = await aps(ctx);
    const f = await agentFixtureOf(`${ctx.endpoint('aps1-agent').url}|${a.s.spec.rpcUrl}`, ctx);
    const requests = batchOf(seed, { tag: freshJobId('rob'), agent: f.target }, { freeAgent: f.h.price === 0n });
    const before = await observeAgent(ctx, a, f);
    const block = await a.s.public.getBlockNumber({ cacheTime: 0 });
    await sendMalformedBatch(ctx, REQ, ctx.endpoint('aps1-agent').url, requests, `agent, seed ${seed}`);
    ctx.act('reads the manifest, the finished job, the balances, the escrow and the contracts’ counters again');
    expectUnchanged(ctx, REQ, before, await observeAgent(ctx, a, f), 'after the batch');
    await expectNothingRecorded(ctx, requests);
    const parties = [f.h.wallet, ...WATCHED.map((r) => a.s.address(r))];
    const watch: WatchedLogs[] = [
      { address: a.c.nexus, naming: [...parties.map(asTopic), ...(f.nexusJob !== undefined ? [asTopic(f.nexusJob)] : [])] },
      { address: a.c.stream, naming: [...parties.map(asTopic), ...(f.streamId !== undefined ? [asTopic(f.streamId)] : [])] },
      { address: a.c.proof, naming: [asTopic(f.h.wallet)] },
      { address: f.h.token, naming: parties.map(asTopic) },
    ];
    await expectNoLogsSince(ctx, REQ, a.s, watch, block, 'after the batch');
  },
});

// ---- the marketplace ----------------------------------------------------------------------------

interface MarketFixture {
  m: APS1Manifest;
  token: Address;
  /** The marketplace's own address (GET /health), when it says. */
  address?: Address;
}

const marketFixtureOf = fixturePerTarget(buildMarketFixture);

async function buildMarketFixture(ctx: RunContext): Promise<MarketFixture> {
  const mk = marketplaceClient(ctx.endpoint('aps1-marketplace').url, ctx.fetch);
  ctx.act('the caller lists the marketplace’s agents (GET /agents)');
  const list = await mk.list();
  const manifests = Array.isArray(list.body) ? list.body.map((x: unknown) => APS1ManifestSchema.safeParse(x)).filter((x) => x.success) : [];
  if (list.status !== 200 || !manifests.length) throw new Indeterminate(REQ, `setup: the marketplace lists no valid agent (${list.status} ${list.text.slice(0, 160)})`);
  const m = (manifests.find((x) => x.data!.id === 'data-analyzer') ?? manifests[0]!).data!;
  const a = await aps(ctx);
  const token = payToken(m, a);
  // The victim lets the marketplace spend: a marketplace that acted on a malformed hire would move its money.
  await letMarketplaceSpend(ctx, a, 'buyer1', token, m.id);
  const health = await mk.health();
  const address = typeof health.body?.address === 'string' && /^0x[0-9a-fA-F]{40}$/.test(health.body.address) ? (health.body.address as Address) : undefined;
  return { m, token, ...(address ? { address } : {}) };
}

async function observeMarket(ctx: RunContext, a: Aps, f: MarketFixture): Promise<Observables> {
  const mk = marketplaceClient(ctx.endpoint('aps1-marketplace').url);
  const out: Observables = {};
  const list = await mk.list();
  out['GET /agents'] = Array.isArray(list.body) ? `${list.status} ${list.body.map((x: unknown) => manifestView(200, x)).join('\n')}` : `${list.status} ${list.text.slice(0, 2000)}`;
  const one = await mk.get(f.m.id);
  out[`GET /agents/${f.m.id}`] = manifestView(one.status, one.body);
  for (const role of WATCHED) out[`balance ${role}`] = String(await a.s.balanceOf(f.token, a.s.address(role)));
  if (f.address) {
    out['balance marketplace'] = String(await a.s.balanceOf(f.token, f.address));
    out['nonce marketplace'] = String(await a.s.public.getTransactionCount({ address: f.address, blockTag: 'latest' }));
    out['allowance buyer1 → marketplace'] = String(await a.s.read(f.token, tokenAbi, 'allowance', [a.s.address('buyer1'), f.address]));
  }
  out['balance NexusV2'] = String(await a.s.balanceOf(f.token, a.c.nexus));
  await contractViews(a, out);
  return out;
}

export const robustnessMarketplace = defineScenario({
  kind: 'property',
  id: 'robustness-marketplace',
  title: 'Malformed requests at the marketplace: no 5xx, refusals where state could change, and nothing observable changes (no money pulled, no job escrowed, the listing as before)',
  requirements: [REQ],
  endpoints: ['aps1-marketplace'],
  needs: NEEDS,
  roles: ['buyer1', 'buyer2'],
  signers: ['attacker'],
  isolation: 'live',
  maxRuns: ROBUSTNESS_RUNS,
  arbitrary: () => fc.noShrink(fc.integer()),
  async run(ctx, seed) {
    const a = await aps(ctx);
    const f = await marketFixtureOf(`${ctx.endpoint('aps1-marketplace').url}|${a.s.spec.rpcUrl}`, ctx);
    const now = Math.floor(Date.now() / 1000);
    const signedJobId = freshJobId('rob-signed');
    const signedPrompt = 'a hire the batch never sends as it was signed';
    const sigs = await signHire({ victim: privateKeyToAccount(ctx.key('buyer1')), attacker: privateKeyToAccount(ctx.key('attacker')), agentId: f.m.id, jobId: signedJobId, prompt: signedPrompt, now });
    const requests = batchOf(seed, { tag: freshJobId('rob'), marketplace: { agentId: f.m.id, victim: a.s.address('buyer1'), signedJobId, signedPrompt, now, sigs } }, { freeAgent: false });
    const before = await observeMarket(ctx, a, f);
    const block = await a.s.public.getBlockNumber({ cacheTime: 0 });
    await sendMalformedBatch(ctx, REQ, ctx.endpoint('aps1-marketplace').url, requests, `marketplace, seed ${seed}`);
    ctx.act('reads the listing, the balances, the allowance and the contracts’ counters again');
    expectUnchanged(ctx, REQ, before, await observeMarket(ctx, a, f), 'after the batch');
    const parties = [...WATCHED.map((r) => a.s.address(r)), f.m.walletAddress as Address, ...(f.address ? [f.address] : [])];
    await expectNoLogsSince(
      ctx,
      REQ,
      a.s,
      [
        { address: a.c.nexus, naming: parties.map(asTopic) },
        { address: f.token, naming: parties.map(asTopic) },
      ],
      block,
      'after the batch',
    );
  },
});
