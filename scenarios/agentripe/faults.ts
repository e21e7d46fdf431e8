/**
 * Agentripe under network faults on the buyer's side (issue 15): the harness's fault proxy
 * (harness/faults) sits between the buyer and the server, so these need no capability and run
 * against any server. The proxy records what the buyer could not see (the 200 {taskId} it dropped,
 * both answers to a duplicate); a case whose fault never fired is indeterminate, never passed.
 *
 * One payment is one task (taskId = the payment's transaction): whatever the network did, the
 * agent's vendor sees exactly one new task, the escrow holds exactly one deposit of the price for
 * it, and the buyer is debited once. A retry or a duplicate is answered with that same taskId or
 * refused (a 4xx, or the seed's 500 "settlement failed", as for any refused payment: AGR-PAY-03).
 */
import fc from 'fast-check';
import type { Address, Hex } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate, TargetProblem } from '../../harness/engine/errors.ts';
import {
  LOSSES,
  callsRpc,
  describeHit,
  expectFired,
  lossFault,
  rpcFaultsOf,
  withFaultProxy,
  type FaultProxy,
  type Hangup,
  type SeenAnswer,
  seenAnswer,
  type UpstreamAnswer,
} from '../../harness/faults/index.ts';
import type { Vendor } from '../../reference-impl/agentripe/agents/vendor.ts';
import { createPayer, pickV2, sendWithPayment } from '../../reference-impl/x402/agents/payer.ts';
import { eip3009TokenAbi } from '../../reference-impl/x402/protocol/eip3009.ts';
import type { RequirementsV2 } from '../../reference-impl/x402/protocol/wire.ts';
import { BUYERS, agr, askUnpaid, deposit, getJson, listed, pay, purchase, registerAgent, short, vendor, withdrawAll, type Agr, type Paid } from './lab.ts';
import { PATH } from './observe.ts';
import { BASE } from './tasks.ts';

const PRICE = '$0.10';
/** Property runs of each fault scenario at most. */
const FAULT_RUNS = 5;

/** An answer to a paid request: status and body (the buyer's, or one only the proxy saw). */
type Answer = SeenAnswer;
const answerOf = seenAnswer;

const taskIdOf = (body: unknown): string | undefined => {
  const t = (body as { taskId?: unknown } | null)?.taskId;
  return typeof t === 'string' ? t.toLowerCase() : undefined;
};

/** What one case sets up: an agent, its vendor, the offer, and the state before the payment. */
interface Fixture {
  a: Agr;
  agentId: bigint;
  owner: Vendor;
  req: RequirementsV2;
}

async function fixture(ctx: RunContext, requirement: string, url?: string): Promise<Fixture> {
  const a = await agr(ctx, url);
  const agentId = await registerAgent(a, 'vendor1', PATH, PRICE);
  const owner = vendor(a, 'vendor1', agentId);
  const req = pickV2(await askUnpaid(a, agentId, PATH), a.s.chainId, a.usdc);
  if (!req) throw new Indeterminate(requirement, 'the agent offers no v2 exact requirement');
  return { a, agentId, owner, req };
}

/** Send a signed payment for the fixture's task through the proxy; `lost` when the connection ended without an answer. */
async function sendPaid(f: Fixture, proxy: FaultProxy, header: string, signal?: AbortSignal): Promise<Answer | 'lost'> {
  const ctx = f.a.ctx;
  const fetchVia: typeof fetch = (u, init) => ctx.fetch(u, { ...init, signal });
  try {
    const { res, body } = await sendWithPayment(fetchVia, `${proxy.through(f.a.url).replace(/\/+$/, '')}/${f.agentId}/${PATH}`, header, purchase(f.a));
    return { who: 'the buyer', status: res.status, body };
  } catch (e) {
    // recordingFetch turns a connection that ended without an answer into a TargetProblem; here the
    // proxy caused it on purpose (the caller checks that the fault fired).
    if (e instanceof TargetProblem) return 'lost';
    throw e;
  }
}

/** Task ids the agent's vendor lists. */
async function taskIds(ctx: RunContext, requirement: string, owner: Vendor): Promise<Set<string>> {
  const l = await listed(owner);
  if (l.status !== 200) ctx.check(requirement, false, "the agent's vendor can list its tasks", { expected: 200, actual: l.status });
  return new Set(l.tasks.map((t: { id?: string; taskId?: string }) => String(t.id ?? t.taskId).toLowerCase()));
}

/**
 * After one payment and whatever the network did: every answer is the one task's id or a refusal
 * (never another task id, never a 2xx without one); at least one answer created the task; the
 * vendor lists exactly one new task, that one; the escrow holds one deposit of the price for it;
 * the buyer paid the price once.
 */
async function judge(ctx: RunContext, req: string, f: Fixture, buyer: Address, before: { tasks: Set<string>; money: Awaited<ReturnType<RunContext['balancesOf']>> }, answers: Answer[]) {
  const amount = BigInt(f.req.amount);
  const ids = [...new Set(answers.map((x) => taskIdOf(x.body)).filter((t): t is string => t !== undefined))];
  const shown = answers.map((x) => `${x.who}: ${x.status} ${JSON.stringify(x.body)?.slice(0, 160)}`).join(' | ');
  ctx.check(req, ids.length === 1, 'the answers name exactly one task (none for a payment that was taken is money without a task; two is a second task for one payment)', {
    expected: 'one taskId',
    actual: shown,
  });
  const taskId = ids[0]!;
  for (const x of answers) {
    const id = taskIdOf(x.body);
    const ok = x.status === 200 ? id === taskId : ((x.status >= 400 && x.status < 500) || x.status === 500) && id === undefined;
    ctx.check(req, ok, `${x.who}: 200 with the payment's task, or refused (4xx, or the seed's 500 "settlement failed") without a task id`, {
      expected: `200 {taskId: ${short(taskId)}} or a refusal`,
      actual: `${x.status} ${JSON.stringify(x.body)?.slice(0, 200)}`,
    });
  }
  const after = await taskIds(ctx, req, f.owner);
  const added = [...after].filter((t) => !before.tasks.has(t));
  ctx.check(req, added.length === 1 && added[0] === taskId, "the agent's vendor lists exactly one new task, the payment's", {
    expected: `one new task ${short(taskId)}`,
    actual: added.length ? added.map(short).join(', ') : 'no new task',
  });
  const d = await deposit(f.a, taskId as Hex);
  ctx.check(req, d.amount === amount && d.buyer.toLowerCase() === buyer.toLowerCase(), 'the escrow holds one deposit of the price for that task', {
    expected: `getDeposit(${short(taskId)}) = ${amount} from ${buyer}`,
    actual: `${d.amount} from ${d.buyer}`,
  });
  const now = await ctx.balancesOf(f.a.s, f.a.usdc, before.money.holders);
  f.a.s.recordBalances('one payment, whatever the network did', f.a.usdc, before.money.before, now.before);
  const dBuyer = now.before.buyer! - before.money.before.buyer!;
  const dEscrow = now.before.escrow! - before.money.before.escrow!;
  ctx.check(req, dBuyer === -amount && dEscrow === amount, 'the buyer paid the price once, into the escrow', {
    expected: `buyer -${amount}, escrow +${amount}`,
    actual: `buyer ${dBuyer}, escrow +${dEscrow}`,
  });
  return taskId;
}

/** Fail the task (refunds the buyer) and withdraw, so runs do not drain the buyer. */
async function cleanup(f: Fixture, buyer: string, taskId: string | undefined) {
  if (taskId) await f.owner.fail(taskId, 'cleanup').catch(() => undefined);
  await withdrawAll(f.a, buyer).catch(() => undefined);
}

export const lostAnswerRetry = defineScenario({
  kind: 'property',
  id: 'fault-lost-retry',
  title: 'A paid request, or its 200 {taskId}, is lost; the buyer retries with the same payment: one task, one deposit, paid once',
  requirements: ['AGR-FLT-01'],
  // Every case runs in every run; more runs only vary the buyer and the order (npm start stays quick).
  maxRuns: FAULT_RUNS,
  ...BASE,
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), losses: fc.shuffledSubarray([...LOSSES], { minLength: LOSSES.length }) }),
  async run(ctx, v) {
    const f = await fixture(ctx, 'AGR-FLT-01');
    const buyer = f.a.s.address(v.buyer);
    const payer = createPayer({ privateKey: ctx.key(v.buyer), chainId: f.a.s.chainId, now: () => f.a.s.pendingTime(), fetchImpl: ctx.fetch });
    await withFaultProxy(f.a.url, async (proxy) => {
      // Every way of losing the request or its answer, every run (rule 4).
      for (const loss of v.losses) {
        const before = { tasks: await taskIds(ctx, 'AGR-FLT-01', f.owner), money: await ctx.balancesOf(f.a.s, f.a.usdc, { buyer, escrow: f.a.escrow }) };
        const { header } = await payer.v2Header(f.req);
        const fault = proxy.arm(lossFault(loss, { header: 'payment-signature' }, (status) => status === 200, 'the paid request'));
        ctx.act(`${v.buyer} pays ${PRICE} for '${PATH}' of agent ${f.agentId}; ${loss.describe}${loss.afterAnswer ? ' after the server answered 200' : ''}`);
        const first = await sendPaid(f, proxy, header);
        expectFired(fault, 'AGR-FLT-01', `the paid request was not answered 200 (${first === 'lost' ? 'no answer' : first.status}), so no task's answer was lost`);
        ctx.evidence.note(describeHit(fault, fault.hits[0]!));
        ctx.act(`${v.buyer} sends the same PAYMENT-SIGNATURE again`);
        const retry = await sendPaid(f, proxy, header);
        ctx.check('AGR-FLT-01', retry !== 'lost', 'the retry gets an answer', { expected: 'an HTTP answer', actual: 'the connection ended without one' });
        const lost = loss.afterAnswer ? [answerOf('the lost answer', fault.hits[0]!.upstream[0]!)] : [];
        let taskId = [...lost, retry as Answer].map((x) => taskIdOf(x.body)).find(Boolean);
        try {
          taskId = await judge(ctx, 'AGR-FLT-01', f, buyer, before, [...lost, { ...(retry as Answer), who: 'the retry' }]);
        } finally {
          await cleanup(f, v.buyer, taskId);
        }
      }
    });
  },
});

export const duplicateDelivery = defineScenario({
  kind: 'property',
  id: 'fault-duplicate-delivery',
  title: 'A paid request delivered twice (both at once, or a held original arriving after the retry was served): one task, one deposit, paid once',
  requirements: ['AGR-FLT-02'],
  // Every case runs in every run; more runs only vary the buyer and the order (npm start stays quick).
  maxRuns: FAULT_RUNS,
  ...BASE,
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), kinds: fc.shuffledSubarray(['at once', 'late original'] as const, { minLength: 2 }) }),
  async run(ctx, v) {
    const f = await fixture(ctx, 'AGR-FLT-02');
    const buyer = f.a.s.address(v.buyer);
    const payer = createPayer({ privateKey: ctx.key(v.buyer), chainId: f.a.s.chainId, now: () => f.a.s.pendingTime(), fetchImpl: ctx.fetch });
    await withFaultProxy(f.a.url, async (proxy) => {
      for (const kind of v.kinds) {
        const before = { tasks: await taskIds(ctx, 'AGR-FLT-02', f.owner), money: await ctx.balancesOf(f.a.s, f.a.usdc, { buyer, escrow: f.a.escrow }) };
        const { header } = await payer.v2Header(f.req);
        const answers: Answer[] = [];
        if (kind === 'at once') {
          const fault = proxy.arm({ name: 'the paid request delivered twice at once', when: { header: 'payment-signature' }, action: { kind: 'duplicate' } });
          ctx.act(`${v.buyer} pays ${PRICE} for '${PATH}' of agent ${f.agentId}; the network delivers the request twice at once`);
          await sendPaid(f, proxy, header);
          expectFired(fault, 'AGR-FLT-02', 'the paid request never reached the proxy');
          const hit = fault.hits[0]!;
          ctx.evidence.note(describeHit(fault, hit));
          ctx.check('AGR-FLT-02', hit.errors.length === 0 && hit.upstream.length === 2, 'both deliveries are answered', { expected: '2 answers', actual: describeHit(fault, hit) });
          answers.push(...hit.upstream.map((u, i) => answerOf(`delivery ${i + 1} of 2`, u)));
        } else {
          const fault = proxy.arm({ name: 'the paid request held in the network', when: { header: 'payment-signature' }, action: { kind: 'delay', hold: true } });
          ctx.act(`${v.buyer} pays ${PRICE} for '${PATH}' of agent ${f.agentId}; the request is held in the network and the buyer gives up`);
          const abort = new AbortController();
          const original = sendPaid(f, proxy, header, abort.signal);
          await fault.whenFired();
          abort.abort();
          await original;
          ctx.act(`${v.buyer} sends the same PAYMENT-SIGNATURE again; after its answer the held original reaches the server`);
          const retry = await sendPaid(f, proxy, header);
          ctx.check('AGR-FLT-02', retry !== 'lost', 'the retry gets an answer', { expected: 'an HTTP answer', actual: 'the connection ended without one' });
          fault.release();
          await fault.settled();
          const hit = fault.hits[0]!;
          ctx.evidence.note(describeHit(fault, hit));
          ctx.check('AGR-FLT-02', hit.errors.length === 0 && hit.upstream.length === 1, 'the late original is answered', { expected: '1 answer', actual: describeHit(fault, hit) });
          answers.push({ ...(retry as Answer), who: 'the retry' }, answerOf('the late original', hit.upstream[0]!));
        }
        let taskId = answers.map((x) => taskIdOf(x.body)).find(Boolean);
        try {
          taskId = await judge(ctx, 'AGR-FLT-02', f, buyer, before, answers);
        } finally {
          await cleanup(f, v.buyer, taskId);
        }
      }
    });
  },
});

/** The transaction hash in a recorded eth_sendRawTransaction(Sync) answer: the hash, or the receipt's. */
function sentHash(a: UpstreamAnswer | undefined): string | undefined {
  try {
    const r = (JSON.parse(a?.body.toString('utf8') ?? '') as { result?: unknown }).result;
    const h = typeof r === 'string' ? r : (r as { transactionHash?: unknown } | null)?.transactionHash;
    return typeof h === 'string' ? h.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The RPC side (capability `rpc-faults`): the server's facilitator reaches the chain through the
 * harness's fault proxy and the answer to its transaction send is lost, although the node mined it.
 * The buyer's money is then in the escrow: the server must still create the one task for it (in its
 * answer, or in answer to the buyer's retry with the same payment), never leave the money without
 * a task, never charge twice.
 */
export const facilitatorLostSend = defineScenario({
  kind: 'property',
  id: 'fault-facilitator-lost-send',
  title: "The answer to the settlement's transaction send is lost although it landed: the payment still gets its one task (at once or on the buyer's retry), paid once",
  requirements: ['AGR-FLT-03'],
  // Every case runs in every run; more runs only vary the buyer and the order (npm start stays quick).
  maxRuns: FAULT_RUNS,
  ...BASE,
  capabilities: ['rpc-faults'],
  arbitrary: () => fc.record({ buyer: fc.constantFrom(...BUYERS), hangups: fc.shuffledSubarray(['close', 'reset'] as Hangup[], { minLength: 2 }) }),
  async run(ctx, v) {
    const f = await fixture(ctx, 'AGR-FLT-03');
    const buyer = f.a.s.address(v.buyer);
    const rpc = await rpcFaultsOf(f.a.s.spec.rpcUrl);
    const payer = createPayer({ privateKey: ctx.key(v.buyer), chainId: f.a.s.chainId, now: () => f.a.s.pendingTime(), fetchImpl: ctx.fetch });
    for (const how of v.hangups) {
      const before = { tasks: await taskIds(ctx, 'AGR-FLT-03', f.owner), money: await ctx.balancesOf(f.a.s, f.a.usdc, { buyer, escrow: f.a.escrow }) };
      const { header, payload } = await payer.v2Header(f.req);
      const auth = (payload.payload as { authorization: { from: Address; nonce: Hex } }).authorization;
      const fault = rpc.arm({
        name: `the answer to the settlement's eth_sendRawTransaction(Sync) lost, connection ${how === 'reset' ? 'reset' : 'closed'}`,
        when: callsRpc('eth_sendRawTransaction', 'eth_sendRawTransactionSync'),
        action: { kind: 'drop-response', how },
      });
      ctx.act(`${v.buyer} pays ${PRICE} for '${PATH}' of agent ${f.agentId}; the node mines the settlement but the answer to its send is lost (connection ${how === 'reset' ? 'reset' : 'closed'})`);
      let first: Paid;
      try {
        first = await pay(f.a, v.buyer, f.agentId, PATH, { req: f.req, header });
      } finally {
        fault.disarm();
      }
      expectFired(fault, 'AGR-FLT-03', "the server's settlement sent no transaction through the RPC proxy");
      const hit = fault.hits[0]!;
      ctx.evidence.note(describeHit(fault, hit));
      const landed = await f.a.s.read(f.a.usdc, eip3009TokenAbi, 'authorizationState', [auth.from, auth.nonce]);
      if (!landed) throw new Indeterminate('AGR-FLT-03', `the node did not mine the settlement whose send answer was lost (authorization unused; the server said ${first.status})`);
      const answers: Answer[] = [{ who: 'the paid request', status: first.status, body: first.body }];
      if (first.status !== 200) {
        ctx.act(`${v.buyer} sends the same PAYMENT-SIGNATURE again`);
        const retry = await pay(f.a, v.buyer, f.agentId, PATH, { req: f.req, header });
        answers.push({ who: 'the retry', status: retry.status, body: retry.body });
      }
      let taskId = answers.map((x) => taskIdOf(x.body)).find(Boolean);
      try {
        taskId = await judge(ctx, 'AGR-FLT-03', f, buyer, before, answers);
        const hash = sentHash(hit.upstream[0]);
        if (hash) ctx.check('AGR-FLT-03', taskId === hash, 'the task is the transaction that landed', { expected: hash, actual: taskId });
      } finally {
        await cleanup(f, v.buyer, taskId);
      }
    }
  },
});

const FLT5 = 'AGR-FLT-05';
/** What the harness's proxy answers every JSON-RPC request of the server while its node is down. */
const NODE_DOWN = { status: 503, headers: { 'content-type': 'text/plain' }, body: 'node unavailable (harness fault: the node is down)' };
/** The three requests AGR-FLT-05 makes during the outage and after it. */
const OUTAGE_ASKS = ['paid route', 'agent card', 'vendor listing'] as const;
type OutageAsk = (typeof OUTAGE_ASKS)[number];

/** Whether a challenge offers what `req` offered before the outage (price, payee, asset, network). */
function sameOffer(c: Awaited<ReturnType<typeof askUnpaid>>, req: RequirementsV2): boolean {
  return (c.v2?.accepts ?? []).some(
    (x) => x.amount === req.amount && x.payTo.toLowerCase() === req.payTo.toLowerCase() && x.asset.toLowerCase() === req.asset.toLowerCase() && x.network === req.network,
  );
}

/** One of the three requests, judged: during the outage 5xx or the answer from before; after it, the answer from before. */
async function askDuringOutage(ctx: RunContext, f: Fixture, ask: OutageAsk, nodeDown: boolean): Promise<void> {
  const when = nodeDown ? 'while the node is down' : 'once the node answers again';
  let status: number;
  let body: unknown;
  let normal: boolean;
  let expected: string;
  if (ask === 'paid route') {
    ctx.act(`a buyer asks agent ${f.agentId}'s '${PATH}' without paying ${when}`);
    const c = await askUnpaid(f.a, f.agentId, PATH);
    ({ status, body } = c);
    normal = status === 402 && sameOffer(c, f.req);
    expected = `402 with the offer from before (${f.req.amount} to ${short(f.req.payTo)})`;
  } else if (ask === 'agent card') {
    ctx.act(`a client reads GET /agents/${f.agentId} ${when}`);
    ({ status, body } = await getJson(f.a, `/agents/${f.agentId}`));
    normal = status === 200;
    expected = '200';
  } else {
    ctx.act(`the agent's vendor lists its tasks (EVM signature auth) ${when}`);
    ({ status, body } = await f.owner.listTasks());
    normal = status === 200;
    expected = '200';
  }
  const actual = `${status} ${JSON.stringify(body)?.slice(0, 200)}`;
  if (nodeDown) {
    ctx.check(FLT5, normal || (status >= 500 && status < 600), `${ask} ${when}: a 5xx, or the answer from before; never "not found", "not authorized" or another 4xx`, {
      expected: `5xx or ${expected}`,
      actual,
    });
  } else {
    ctx.check(FLT5, normal, `${ask} ${when}: answered as before the outage (the failure is not remembered as an answer)`, { expected, actual });
  }
}

export const nodeDown = defineScenario({
  kind: 'property',
  id: 'fault-node-down',
  title: "The server's node is down: an existing agent is never answered as missing nor its vendor as unauthorized (5xx, or what the server knew); once the node is back, all is answered as before",
  requirements: [FLT5],
  // Every request runs in every run; more runs only vary the order. A run takes seconds (a server
  // retries a read the node fails before it answers), so 2 runs keep npm start quick.
  maxRuns: 2,
  ...BASE,
  // The server must reach its node through the harness's fault proxy: in the reference, the
  // instance the crash scenarios restart does (restart.ts; a target file: serve.ts --restartable --rpc-faults-listen).
  capabilities: ['rpc-faults', 'restart'],
  arbitrary: () => fc.record({ order: fc.shuffledSubarray([...OUTAGE_ASKS], { minLength: OUTAGE_ASKS.length }) }),
  async run(ctx, v) {
    const f = await fixture(ctx, FLT5, (await ctx.restartable('agentripe')).url.replace(/\/+$/, ''));
    const listedBefore = await f.owner.listTasks();
    if (listedBefore.status !== 200) throw new Indeterminate(FLT5, `the agent's vendor cannot list its tasks with the node up (${listedBefore.status})`);
    const rpc = await rpcFaultsOf(f.a.s.spec.rpcUrl);
    const fault = rpc.arm({
      name: 'the node is down: every JSON-RPC request of the server is answered HTTP 503',
      when: { method: 'POST' },
      action: { kind: 'respond', answer: () => NODE_DOWN },
      times: 1_000_000,
    });
    try {
      for (const ask of v.order) await askDuringOutage(ctx, f, ask, true);
    } finally {
      fault.disarm();
    }
    // A server that answered everything from what it knew never asked the node: nothing more to see.
    ctx.evidence.note(fault.hits.length ? `the server asked its node ${fault.hits.length} times during the outage` : 'the server did not ask its node during the outage');
    for (const ask of v.order) await askDuringOutage(ctx, f, ask, false);
  },
});

export const faultScenarios = [lostAnswerRetry, duplicateDelivery, facilitatorLostSend, nodeDown];
