/**
 * AGR-ROB-01: seeded malformed requests at every published route of the target (wrong methods, bad
 * ids, bodies that are not JSON, bad vendor credentials, bad x402 payment headers, transport-level
 * defects; harness/robustness and reference-impl/agentripe/protocol/fuzz.ts), each answered below
 * 500 and refused where it aims at a state-changing route; after each batch nothing observable
 * changed: the USDC and escrow balances of every role, the deposits and read routes of the run's
 * own agents and tasks, the roles' nonces, and no event of the protocol's contracts. Valid signed
 * payments ride only on requests every reading of the seed refuses, and must never be settled.
 *
 * The agents and tasks aimed at (one in every state) are set up once per target and reused by
 * every run; `AMH_ROBUSTNESS_REQUESTS` (`--long`: 10,000) sets how many requests a certification sends.
 */
import fc from 'fast-check';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { ROBUSTNESS_RUNS, perRun, robustnessBudget, sendMalformedBatch, fixturePerTarget } from '../../harness/robustness/batch.ts';
import { asTopic, expectNoLogsSince, expectUnchanged, readRoutes, type Observables } from '../../harness/robustness/observe.ts';
import { createVendor } from '../../reference-impl/agentripe/agents/vendor.ts';
import { escrowAbi } from '../../reference-impl/agentripe/protocol/abi.ts';
import { registerWithKeyMessage } from '../../reference-impl/agentripe/protocol/auth.ts';
import { everyRunAuthRequests, everyRunBodyRequests, malformedRequest, signNearMisses, thirdPartyRequest, type FuzzContext } from '../../reference-impl/agentripe/protocol/fuzz.ts';
import { eip3009TokenAbi } from '../../reference-impl/x402/protocol/eip3009.ts';
import { authorizationOf } from '../../reference-impl/x402/protocol/fuzz.ts';
import { pickV2 } from '../../reference-impl/x402/agents/payer.ts';
import type { RequirementsV2 } from '../../reference-impl/x402/protocol/wire.ts';
import { OPERATOR_ROLE, type Agr, agr, askUnpaid, badResult, card, goodResult, pay, readMany, registerAgent, sendJson, getJson, vendor } from './lab.ts';
import { PATH } from './observe.ts';

/** Malformed requests per certification at the default size (a few seconds against the reference). */
const NORMAL_REQUESTS = 200;
/** Roles whose balances, escrow credit and nonces are watched. */
const WATCHED = ['buyer1', 'buyer2', 'vendor1', 'vendor2', 'reviewer', 'attacker'] as const;

/** What every run aims at: the agents and tasks set up once per target. */
type Fixture = Omit<FuzzContext, 'validAuth' | 'badAuth' | 'badPayments' | 'validPayments' | 'badRegisterWithKey'>;

/** Fixtures by target (endpoint + chain): runs of one certification share one; kill variants each get theirs. */
const fixtureOf = fixturePerTarget(buildFixture);

/** The agentId of a 2xx registration answer, if it has a well-formed one. */
function agentIdOf(r: { status: number; body: any }): bigint | undefined {
  const id = r.body?.agentId;
  return r.status >= 200 && r.status < 300 && (typeof id === 'number' || typeof id === 'string') && /^\d{1,78}$/.test(String(id)) ? BigInt(id) : undefined;
}

async function buildFixture(a: Agr): Promise<Fixture> {
  const ctx = a.ctx;
  const agent = await registerAgent(a, 'vendor1', PATH, '$0.10');
  const otherAgent = await registerAgent(a, 'vendor2', PATH, '$0.10');
  const validData = card(a, 'robustness agent', [{ path: 'summarize', price: '$0.05' }]) as unknown as FuzzContext['validData'];
  ctx.act('registers an agent through POST /agents/register');
  const reg = await sendJson(a, 'POST', '/agents/register', { data: validData });
  const restAgent = agentIdOf(reg);
  if (restAgent === undefined) throw new Indeterminate('AGR-ROB-01', `setup: POST /agents/register answered ${reg.status} without an agentId`);
  const wallet = privateKeyToAccount(ctx.key('reviewer'));
  const ts = Math.floor(Date.now() / 1000);
  ctx.act('reviewer registers an agent through POST /agents/register-with-key (an API key)');
  const rwk = await sendJson(a, 'POST', '/agents/register-with-key', {
    walletAddress: wallet.address,
    walletSignature: await wallet.signMessage({ message: registerWithKeyMessage(wallet.address, ts) }),
    timestamp: ts,
    data: validData,
  });
  const keyAgent = agentIdOf(rwk);
  if (keyAgent === undefined || typeof rwk.body?.apiKey !== 'string')
    throw new Indeterminate('AGR-ROB-01', `setup: POST /agents/register-with-key answered ${rwk.status} without an agentId and apiKey`);

  // One task in every state for vendor1's agent, and an open task of vendor2's.
  const v = vendor(a, 'vendor1', agent);
  const buy = async (id: bigint, buyer = 'buyer1') => {
    const p = await pay(a, buyer, id, PATH);
    if (p.status !== 200 || !p.taskId) throw new Indeterminate('AGR-ROB-01', `setup: a paid task request got ${p.status}`);
    return p.taskId;
  };
  const pending = await buy(agent);
  const processing = await buy(agent);
  await v.start(processing);
  let rejected = processing;
  if (a.review) {
    rejected = await buy(agent);
    await v.start(rejected);
    await v.complete(rejected, badResult(1));
  }
  const completed = await buy(agent);
  await v.start(completed);
  await v.complete(completed, goodResult(PATH));
  const failed = await buy(agent);
  await v.fail(failed, 'cannot');
  const otherPending = await buy(otherAgent, 'buyer2');

  const offered = pickV2(await askUnpaid(a, agent, PATH), a.s.chainId, a.usdc);
  if (!offered) throw new Indeterminate('AGR-ROB-01', 'setup: the agent offers no v2 exact requirement');
  const listed = await getJson(a, '/agents');
  const existing = Array.isArray(listed.body?.agents) ? (listed.body.agents as { agentId: number | string }[]).map((x) => BigInt(x.agentId)) : [];
  await quiet(a);
  return {
    agent,
    service: PATH,
    otherAgent,
    restAgent,
    keyAgent,
    existingAgents: [...new Set([...existing, agent, otherAgent, restAgent, keyAgent])],
    tasks: { pending, processing, rejected, completed, failed, otherPending },
    apiKey: rwk.body.apiKey as string,
    offered: offered as RequirementsV2,
    validData,
    someAddress: '0x000000000000000000000000000000000000dEaD' as Address,
  };
}

/** Waits until no block was mined for a second (the server's deposit records and feedback of the set-up tasks landed), at most 20 s. */
async function quiet(a: Agr): Promise<void> {
  let last = await a.s.public.getBlockNumber({ cacheTime: 0 });
  let since = Date.now();
  const until = Date.now() + 20_000;
  while (Date.now() < until && Date.now() - since < 1_000) {
    await new Promise((r) => setTimeout(r, 200));
    const h = await a.s.public.getBlockNumber({ cacheTime: 0 });
    if (h !== last) {
      last = h;
      since = Date.now();
    }
  }
}

/** Everything a third party can observe of the fixture: chain values and read routes. */
async function observe(a: Agr, f: Fixture, valid: { from: Address; nonce: Hex }[]): Promise<Observables> {
  const who = WATCHED.map((r) => [r, a.s.address(r)] as const);
  const tasks = Object.entries(f.tasks);
  const calls = [
    ...who.flatMap(([, w]) => [
      { address: a.usdc, abi: eip3009TokenAbi, functionName: 'balanceOf', args: [w] },
      { address: a.escrow, abi: escrowAbi, functionName: 'withdrawableBalance', args: [w] },
    ]),
    { address: a.usdc, abi: eip3009TokenAbi, functionName: 'balanceOf', args: [a.escrow] },
    ...tasks.map(([, id]) => ({ address: a.escrow, abi: escrowAbi, functionName: 'getDeposit', args: [id] })),
    ...valid.map((p) => ({ address: a.usdc, abi: eip3009TokenAbi, functionName: 'authorizationState', args: [p.from, p.nonce] })),
  ];
  const values = await readMany(a, calls);
  const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  const out: Observables = {};
  let i = 0;
  for (const [role] of who) {
    out[`usdc ${role}`] = show(values[i++]);
    out[`escrow withdrawable ${role}`] = show(values[i++]);
  }
  out['usdc escrow'] = show(values[i++]);
  for (const [name] of tasks) out[`deposit ${name}`] = show(values[i++]);
  for (const p of valid) out[`authorizationState ${p.from} ${p.nonce}`] = show(values[i++]);
  for (const [role, w] of who) out[`nonce ${role}`] = String(await a.s.public.getTransactionCount({ address: w, blockTag: 'latest' }));
  const agents = [f.agent, f.otherAgent, f.restAgent, f.keyAgent];
  const routes: Record<string, Record<string, string> | undefined> = { '/agents/next-id': undefined };
  for (const id of agents) {
    routes[`/agents/${id}`] = undefined;
    routes[`/agents/${id}/stats`] = undefined;
  }
  for (const [, id] of tasks) for (const suffix of ['', '/detail', '/result']) routes[`/tasks/${id}${suffix}`] = undefined;
  Object.assign(out, await readRoutes(a.url, routes));
  // The vendor's own views, with fresh credentials (the EVM headers carry a timestamp).
  const v = createVendor({ baseUrl: a.url, agentId: f.agent, credentials: { privateKey: a.ctx.key('vendor1') }, strategy: { kind: 'honest' } });
  out['GET /vendor/tasks (vendor1)'] = JSON.stringify(await v.listTasks());
  out['GET /vendor/agent-uri (vendor1)'] = JSON.stringify(await v.getAgentUri());
  Object.assign(out, await readRoutes(a.url, { '/vendor/tasks': { authorization: `Bearer ${f.apiKey}` } }));
  return out;
}

export const robustness = defineScenario({
  kind: 'property',
  id: 'robustness',
  title: 'Malformed requests at every route: no 5xx, refusals where state could change, and nothing observable changes (chain, deposits, read routes)',
  requirements: ['AGR-ROB-01'],
  needs: ['usdc', 'identityRegistry', 'agentripeEscrow'],
  endpoints: ['agentripe'],
  roles: ['buyer1', 'buyer2', 'vendor1', 'vendor2'],
  signers: ['attacker', 'reviewer', OPERATOR_ROLE],
  isolation: 'live',
  maxRuns: ROBUSTNESS_RUNS,
  arbitrary: () => fc.noShrink(fc.integer()),
  async run(ctx, seed) {
    const a = await agr(ctx);
    const key = `${a.url}|${a.s.spec.rpcUrl}`;
    const f = await fixtureOf(key, a);
    const signed = await signNearMisses({
      vendorKey: ctx.key('vendor1'),
      otherVendorKey: ctx.key('vendor2'),
      attackerKey: ctx.key('attacker'),
      buyerKey: ctx.key('buyer1'),
      agent: f.agent,
      otherAgent: f.otherAgent,
      offered: f.offered,
      chainId: a.s.chainId,
      chainNow: await a.s.pendingTime(),
      hostNow: Math.floor(Date.now() / 1000),
    });
    const fz: FuzzContext = { ...f, ...signed };
    const n = perRun(robustnessBudget(NORMAL_REQUESTS));
    const requests = [
      ...everyRunAuthRequests(fz),
      ...everyRunBodyRequests(fz),
      ...fc.sample(
        malformedRequest(fz).filter((r) => thirdPartyRequest(fz, r)),
        { seed, numRuns: n },
      ),
    ];
    const valid = signed.validPayments.map(authorizationOf).filter((x): x is { from: Address; nonce: Hex } => x !== undefined);
    const before = await observe(a, f, valid);
    const block = await a.s.public.getBlockNumber({ cacheTime: 0 });
    await sendMalformedBatch(ctx, 'AGR-ROB-01', a.url, requests, `agentripe, seed ${seed}`);
    ctx.act('reads every balance, deposit, nonce and read route again');
    expectUnchanged(ctx, 'AGR-ROB-01', before, await observe(a, f, valid), 'after the batch');
    const accounts = [...WATCHED.map((r) => a.s.address(r)), a.escrow].map(asTopic);
    const agents = [f.agent, f.otherAgent, f.restAgent, f.keyAgent].map(asTopic);
    await expectNoLogsSince(
      ctx,
      'AGR-ROB-01',
      a.s,
      [
        { address: a.usdc, naming: accounts },
        { address: a.escrow, naming: [...Object.values(f.tasks).map(asTopic), ...accounts, ...agents] },
        { address: a.identity },
        ...a.reputation.map((r) => ({ address: r, naming: agents })),
      ],
      block,
      'after the batch',
    );
  },
});
