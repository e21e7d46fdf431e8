/**
 * Agent routes: buyer and discovery routes, REST registration (and its validation, `$0` prices
 * included), /agents/next-id, PUT|GET /vendor/agent-uri, /agents/{id}/stats and the reputation
 * feedback a resolution leaves. Every refusal is followed by a look at the chain: nothing minted,
 * nothing changed; every run also makes a request that must succeed, so no check passes against a
 * server that refuses everything.
 */
import fc from 'fast-check';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { hasCapability } from '../../harness/target/schema.ts';
import { identityAbi } from '../../reference-impl/agentripe/protocol/abi.ts';
import { registerWithKeyMessage } from '../../reference-impl/agentripe/protocol/auth.ts';
import { newTask, step, type TaskModel, type VendorAction } from '../../reference-impl/agentripe/protocol/model.ts';
import { registeredWith } from './auth.ts';
import {
  AGR_NEEDS,
  BUYERS,
  REVIEW_FIXTURE,
  agr,
  approveOperator,
  badResult,
  feedbackCount,
  getJson,
  goodResult,
  registerAgent,
  dataUri,
  sendJson,
  short,
  signWalletSet,
  uniq,
  vendor,
  type Agr,
  constantsOf,
} from './lab.ts';
import { PATH, expectChainFields, expectedStats, paidTask, pickStats, statsMatch, tidy } from './observe.ts';
import { BASE, priceArb } from './tasks.ts';

/** The AgentURIData behind an agent's tokenURI (a `data:` URI or an http(s) URL), or undefined. */
async function cardOf(a: Agr, agentId: bigint): Promise<any> {
  const uri = await a.s.read(a.identity, identityAbi, 'tokenURI', [agentId]).catch(() => '');
  const b64 = /^data:application\/json;base64,(.*)$/.exec(uri)?.[1];
  try {
    if (b64) return JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
    if (/^https?:\/\//.test(uri)) return await (await a.ctx.fetch(uri)).json();
  } catch {
    return undefined;
  }
  return undefined;
}

/** Whether `got` is `sent` with every service endpoint replaced (no longer `placeholder`). */
function sameCardNewEndpoint(got: any, sent: any, placeholder: string): boolean {
  if (!got || got.name !== sent.name || !Array.isArray(got.services) || got.services.length !== sent.services.length) return false;
  return sent.services.every((s: any, i: number) => {
    const g = got.services[i];
    return typeof g?.endpoint === 'string' && g.endpoint !== placeholder && /^https?:\/\//.test(g.endpoint) && JSON.stringify(g.catalog) === JSON.stringify(s.catalog);
  });
}

const PLACEHOLDER = 'https://placeholder.invalid/replace-me';

/** A card whose endpoint the server must replace. */
function sellable(name: string, entries: { path: string; price: string }[]) {
  return {
    name,
    description: 'agentmarket-harness registration',
    x402Support: true,
    services: [{ name: 'x402', endpoint: PLACEHOLDER, catalog: entries.map((e) => ({ ...e, type: 'async', description: `${e.path} service` })) }],
  };
}

export const buyerRoutes = defineScenario({
  kind: 'property',
  id: 'buyer-routes',
  title: '/health, /tasks/{id}/detail, /agents and /agents/{id} describe the task, payment and agent consistently; unknown agents are 404',
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
      { expected: `${t.taskId} / ${t.amount} / ${a.s.address(t.buyer)}`, actual: `${pay?.transactionHash} / ${pay?.amount} / ${pay?.payer}` },
    );
    const list = await getJson(a, '/agents');
    const listed = (list.body?.agents ?? []).some((x: { agentId?: unknown }) => String(x.agentId) === t.agentId.toString());
    ctx.check('AGR-API-01', list.status === 200 && listed, 'GET /agents lists the agent', {
      expected: `agent ${t.agentId} listed`,
      actual: `${list.status}, ${list.body?.agents?.length ?? 0} agents, listed=${listed}`,
    });
    const item = (list.body?.agents ?? []).find((x: { agentId?: unknown }) => String(x.agentId) === t.agentId.toString());
    if (item) await expectChainFields(ctx, 'AGR-API-01', a, t.agentId, item, 'GET /agents');
    const one = await getJson(a, `/agents/${t.agentId}`);
    const entry = one.body?.services?.flatMap((x: { catalog?: { path: string; price: string }[] }) => x.catalog ?? []).find((c: { path: string }) => c.path === PATH);
    ctx.check('AGR-API-01', one.status === 200 && typeof one.body?.name === 'string' && entry?.price === v.price, 'GET /agents/{id} returns the AgentURIData with the catalog entry', {
      expected: `${PATH} at ${v.price}`,
      actual: `${one.status} ${JSON.stringify(one.body).slice(0, 300)}`,
    });
    if (one.status === 200 && one.body && typeof one.body === 'object') await expectChainFields(ctx, 'AGR-API-01', a, t.agentId, one.body, `GET /agents/${t.agentId}`);
    const none = await getJson(a, `/agents/${t.agentId + 10n ** 15n}`);
    ctx.expectStatus('AGR-API-01', none, 404, 'GET /agents/{id} of an agent that does not exist answers 404');
    await t.v.fail(t.taskId, 'cleanup');
    await tidy(t);
  },
});

/** The registrar the server mints with: the owner of an agent it registered. */
async function registrarOf(a: Agr, agentId: bigint): Promise<Address> {
  return a.s.read(a.identity, identityAbi, 'ownerOf', [agentId]);
}

export const restRegistration = defineScenario({
  kind: 'property',
  id: 'rest-registration',
  title: 'POST /agents/register mints the agent with its catalog (endpoint replaced), with and without a wallet; /agents/next-id names the next id',
  requirements: ['AGR-REG-01', 'AGR-API-02'],
  ...BASE,
  arbitrary: () => fc.record({ price: priceArb, withWallet: fc.boolean() }),
  async run(ctx, v) {
    const a = await agr(ctx);
    const before = await registerAgent(a, 'vendor1', PATH, '$0.10');
    const n0 = await getJson(a, '/agents/next-id');
    const next = n0.body?.nextAgentId;
    ctx.check('AGR-API-02', n0.status === 200 && /^\d+$/.test(String(next)) && BigInt(String(next)) > before, `/agents/next-id names an id above the last registered one (${before})`, {
      expected: `> ${before}`,
      actual: `${n0.status} ${JSON.stringify(n0.body)}`,
    });
    const sent = sellable(`rest scenario agent ${uniq()}`, [{ path: PATH, price: v.price }]);
    ctx.act(`POST /agents/register an agent selling '${PATH}' for ${v.price}`);
    const r = await sendJson(a, 'POST', '/agents/register', { data: sent });
    ctx.check(
      'AGR-REG-01',
      r.status === 201 && r.body?.agentId !== undefined && /^0x[0-9a-fA-F]{64}$/.test(String(r.body?.transactionHash)) && r.body?.walletSet === false,
      'a valid registration answers 201 {agentId, transactionHash, walletSet:false}',
      {
        expected: '201 {agentId, transactionHash, walletSet: false}',
        actual: `${r.status} ${JSON.stringify(r.body).slice(0, 300)}`,
      },
    );
    const agentId = BigInt(r.body.agentId);
    ctx.check('AGR-API-02', BigInt(String(next)) <= agentId, 'the id /agents/next-id named is not above the id the registration got', { expected: `≤ ${agentId}`, actual: String(next) });
    const receipt = await a.s.public.getTransactionReceipt({ hash: r.body.transactionHash as Hex }).catch(() => null);
    const minted = receipt?.logs.some((l) => l.address.toLowerCase() === a.identity.toLowerCase() && l.topics[1] !== undefined && BigInt(l.topics[1]) === agentId);
    ctx.check('AGR-REG-01', receipt?.status === 'success' && Boolean(minted), 'transactionHash is the successful transaction that registered agentId', {
      expected: `a Registered(${agentId}) log`,
      actual: receipt ? `${receipt.status}, ${receipt.logs.length} logs` : 'no such transaction',
    });
    const got = await cardOf(a, agentId);
    ctx.check('AGR-REG-01', sameCardNewEndpoint(got, sent, PLACEHOLDER), "tokenURI holds the submitted AgentURIData with each service endpoint replaced by the server's URL", {
      expected: `${sent.name}, endpoint ≠ ${PLACEHOLDER}, catalog as sent`,
      actual: JSON.stringify(got).slice(0, 300),
    });
    if (!v.withWallet) return;
    // With a wallet: the signature binds the agent id and its owner, so ask for both first.
    const owner = (n0.body?.owner as Address | undefined) ?? (await registrarOf(a, agentId));
    const n1 = BigInt(String((await getJson(a, '/agents/next-id')).body?.nextAgentId ?? agentId + 1n));
    const deadline = (await a.s.pendingTime()) + 120n;
    const wallet = privateKeyToAccount(ctx.key('vendor2')).address;
    const signature = await signWalletSet(a, ctx.key('vendor2'), n1, owner, deadline);
    ctx.act(`POST /agents/register with wallet vendor2 (AgentWalletSet signed for agent ${n1}, owner ${short(owner)})`);
    const w = await sendJson(a, 'POST', '/agents/register', {
      data: sellable(`rest wallet agent ${uniq()}`, [{ path: PATH, price: v.price }]),
      wallet: { address: wallet, deadline: Number(deadline), signature },
    });
    if (w.status === 201 && String(w.body?.agentId) !== n1.toString()) throw new Indeterminate('AGR-REG-01', `another registration took agent id ${n1} meanwhile`);
    const set = w.status === 201 ? await a.s.read(a.identity, identityAbi, 'getAgentWallet', [n1]) : undefined;
    ctx.check(
      'AGR-REG-01',
      w.status === 201 && w.body?.walletSet === true && set?.toLowerCase() === wallet.toLowerCase(),
      'with a valid wallet signature, walletSet is true and getAgentWallet is that wallet',
      {
        expected: `201 walletSet true, agentWallet ${wallet}`,
        actual: `${w.status} ${JSON.stringify(w.body).slice(0, 200)}, agentWallet ${set}`,
      },
    );
  },
});

const INVALID = ['no-name', 'no-services', 'entry-without-path', 'entry-without-price', 'entry-without-type', 'entry-without-description'] as const;
const ZERO = ['register', 'register-with-key'] as const;

/** A card broken in one way. */
function broken(kind: (typeof INVALID)[number], name: string): Record<string, unknown> {
  const good = sellable(name, [{ path: PATH, price: '$0.10' }]) as any;
  if (kind === 'no-name') delete good.name;
  if (kind === 'no-services') good.services = [];
  const field = /^entry-without-(\w+)$/.exec(kind)?.[1];
  if (field) delete good.services[0].catalog[0][field];
  return good;
}

/** register-with-key for vendor2's wallet with `data`. */
async function registerWithKey(a: Agr, data: unknown): Promise<{ status: number; body: any }> {
  const wallet = privateKeyToAccount(a.ctx.key('vendor2'));
  const ts = Math.floor(Date.now() / 1000);
  const walletSignature = await wallet.signMessage({ message: registerWithKeyMessage(wallet.address, ts) });
  return sendJson(a, 'POST', '/agents/register-with-key', { walletAddress: wallet.address, walletSignature, timestamp: ts, data });
}

export const registrationValidation = defineScenario({
  kind: 'property',
  id: 'registration-validation',
  title: 'Registration refuses a card without name, services or a catalog field, and a $0 price (REST and register-with-key; every kind in every run): 4xx, nothing minted',
  requirements: ['AGR-REG-02', 'AGR-PRICE-02'],
  ...BASE,
  arbitrary: () =>
    fc.record({
      invalid: fc.shuffledSubarray([...INVALID], { minLength: INVALID.length }),
      zeroRoutes: fc.shuffledSubarray([...ZERO], { minLength: ZERO.length }),
      zero: fc.constantFrom('$0', '$0.00', '$0.000000'),
    }),
  async run(ctx, v) {
    const a = await agr(ctx);
    // First, a valid card registers on both routes: the refusals below are not blanket refusals.
    for (const [req, route] of [
      ['AGR-REG-02', 'register'],
      ['AGR-PRICE-02', 'register-with-key'],
    ] as const) {
      const data = sellable(`valid ${route} ${uniq()}`, [{ path: PATH, price: '$0.10' }]);
      const r = route === 'register' ? await sendJson(a, 'POST', '/agents/register', { data }) : await registerWithKey(a, data);
      ctx.expectStatus(req, r, 201, `a valid card is accepted by POST /agents/${route}`);
    }
    const from = await a.s.public.getBlockNumber({ cacheTime: 0 });
    for (const kind of v.invalid) {
      const label = `invalid ${kind} ${uniq()}`;
      ctx.act(`POST /agents/register with a card that has ${kind.replace(/-/g, ' ')}`);
      const r = await sendJson(a, 'POST', '/agents/register', { data: broken(kind, label) });
      ctx.expectRefused('AGR-REG-02', r, `a card with ${kind.replace(/-/g, ' ')} is refused`);
      ctx.expectEqual('AGR-REG-02', await registeredWith(a, from, label), 0, `nothing was minted for the card with ${kind.replace(/-/g, ' ')}`);
    }
    for (const route of v.zeroRoutes) {
      const label = `zero ${route} ${uniq()}`;
      const data = sellable(label, [{ path: PATH, price: v.zero }]);
      ctx.act(`POST /agents/${route} with a catalog price of ${v.zero}`);
      const r = route === 'register' ? await sendJson(a, 'POST', '/agents/register', { data }) : await registerWithKey(a, data);
      ctx.expectRefused('AGR-PRICE-02', r, `${route} with a ${v.zero} price is refused`);
      ctx.expectEqual('AGR-PRICE-02', await registeredWith(a, from, label), 0, `nothing was minted for the ${v.zero} card`);
    }
  },
});

export const agentUriUpdate = defineScenario({
  kind: 'property',
  id: 'agent-uri-update',
  title: "PUT /vendor/agent-uri writes the vendor's new catalog on chain (GET reads it back); invalid data and $0 prices are refused and change nothing",
  requirements: ['AGR-VEN-02', 'AGR-PRICE-02'],
  ...BASE,
  arbitrary: () => fc.record({ price: priceArb, zero: fc.constantFrom('$0', '$0.00'), badFirst: fc.boolean() }),
  async run(ctx, v) {
    const a = await agr(ctx);
    // The server writes the URI with its own key: learn it from an agent it registered, and approve it.
    const probe = await sendJson(a, 'POST', '/agents/register', { data: sellable(`uri probe ${uniq()}`, [{ path: PATH, price: '$0.10' }]) });
    if (probe.status !== 201 || probe.body?.agentId === undefined) throw new Indeterminate('AGR-VEN-02', `POST /agents/register answered ${probe.status}; cannot learn the server's registry key`);
    const server = await registrarOf(a, BigInt(probe.body.agentId));
    const agentId = await registerAgent(a, 'vendor1', PATH, '$0.10');
    await approveOperator(a, agentId, 'vendor1', null);
    ctx.act(`vendor1 approves the server's key ${short(server)} for agent ${agentId} (setAgentURI needs owner or approved)`);
    const ap = await a.s.attempt({ label: 'vendor1 approves the server', role: 'vendor1', address: a.identity, abi: identityAbi, functionName: 'approve', args: [server, agentId] });
    if (!ap.ok) throw new Indeterminate('AGR-VEN-02', `approve refused: ${ap.reason}`);
    const v1 = vendor(a, 'vendor1', agentId);
    const uriNow = () => a.s.read(a.identity, identityAbi, 'tokenURI', [agentId]);
    const refusals = async () => {
      for (const [req, kind, data] of [
        [
          'AGR-VEN-02',
          'a card without a name',
          (() => {
            const c = sellable('x', [{ path: PATH, price: '$0.20' }]) as any;
            delete c.name;
            return c;
          })(),
        ],
        ['AGR-PRICE-02', `a ${v.zero} price`, sellable(`zero ${uniq()}`, [{ path: PATH, price: v.zero }])],
      ] as const) {
        const before = await uriNow();
        ctx.act(`vendor1 PUTs ${kind}`);
        const r = await v1.putAgentUri(data);
        ctx.expectRefused(req, r, `PUT /vendor/agent-uri with ${kind} is refused`);
        ctx.expectEqual(req, await uriNow(), before, `the agent's tokenURI is unchanged after the refused PUT (${kind})`);
      }
    };
    if (v.badFirst) await refusals();
    const sent = sellable(`updated agent ${uniq()}`, [
      { path: PATH, price: v.price },
      { path: 'summarize', price: '$0.20' },
    ]);
    ctx.act(`vendor1 PUTs a new card: '${PATH}' for ${v.price} and 'summarize' for $0.20`);
    const put = await v1.putAgentUri(sent);
    if (put.status === 403)
      throw new Indeterminate('AGR-VEN-02', `the server refused to write the URI of an agent it did not register, although approved (${JSON.stringify(put.body).slice(0, 200)}); see profile.md`);
    ctx.expectStatus('AGR-VEN-02', put, '2xx', 'PUT /vendor/agent-uri with valid data is accepted');
    ctx.check('AGR-VEN-02', sameCardNewEndpoint(await cardOf(a, agentId), sent, PLACEHOLDER), 'tokenURI now holds the new card, endpoints replaced by the server URL', {
      expected: sent.name,
      actual: JSON.stringify(await cardOf(a, agentId)).slice(0, 300),
    });
    const g = await v1.getAgentUri();
    const gotData = g.body?.data ?? g.body;
    ctx.check(
      'AGR-VEN-02',
      g.status === 200 && (gotData?.name === sent.name || JSON.stringify(g.body).includes(dataUri(await cardOf(a, agentId)).slice(0, 40))),
      'GET /vendor/agent-uri reads the new card back',
      {
        expected: sent.name,
        actual: `${g.status} ${JSON.stringify(g.body).slice(0, 200)}`,
      },
    );
    const pub = await getJson(a, `/agents/${agentId}`);
    ctx.check('AGR-VEN-02', pub.status === 200 && pub.body?.name === sent.name, 'GET /agents/{id} shows the new card', { expected: sent.name, actual: `${pub.status} ${pub.body?.name}` });
    if (!v.badFirst) await refusals();
  },
});

export const agentStats = defineScenario({
  kind: 'property',
  id: 'agent-stats',
  title: "GET /agents/{id}/stats answers for every state of the agent's tasks (404 for an unknown agent) and counts them by status and amount",
  requirements: ['AGR-API-03', 'AGR-STAT-01'],
  ...BASE,
  arbitrary: (env) => fc.record({ price: priceArb, reject: hasCapability(env.target, REVIEW_FIXTURE) ? fc.boolean() : fc.constant(false), buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const t = await paidTask(ctx, { price: v.price, buyer: v.buyer, checkPay: false });
    const none = await getJson(t.a, `/agents/${t.agentId + 10n ** 15n}/stats`);
    ctx.expectStatus('AGR-API-03', none, 404, 'stats of an agent that does not exist answer 404');
    const tasks: { m: TaskModel; amount: bigint }[] = [{ m: newTask(t.amount, constantsOf(ctx).reviewLimit), amount: t.amount }];
    const compare = async (what: string) => {
      const s = await getJson(t.a, `/agents/${t.agentId}/stats`);
      ctx.check('AGR-API-03', s.status === 200 && s.body !== null && typeof s.body === 'object' && !Array.isArray(s.body), `stats answer 200 with an object (${what})`, {
        expected: '200 {…}',
        actual: `${s.status} ${JSON.stringify(s.body)}`.slice(0, 200),
      });
      const want = expectedStats(tasks);
      ctx.check('AGR-STAT-01', statsMatch(s.body, want), `stats count the agent's tasks (${what})`, { expected: JSON.stringify(want), actual: JSON.stringify(pickStats(s.body)) });
    };
    const apply = (i: number, act: VendorAction) => {
      const r = step(tasks[i]!.m, act);
      if (!r.refused) tasks[i]!.m = r.next;
    };
    await compare('one pending task');
    await t.v.start(t.taskId);
    apply(0, { kind: 'start' });
    await compare('processing');
    if (v.reject) {
      const c = await t.v.complete(t.taskId, badResult(1));
      apply(0, { kind: 'complete', approved: c.body?.review?.approved === true });
      await compare('after a rejection');
    }
    const c = await t.v.complete(t.taskId, goodResult(PATH));
    apply(0, { kind: 'complete', approved: !t.reviewed || c.body?.review?.approved === true });
    await compare('completed');
    // A second task of the same agent, which fails.
    const t2 = await paidTask(ctx, { price: v.price, buyer: v.buyer, checkPay: false, agent: { agentId: t.agentId, roles: t.roles } });
    tasks.push({ m: newTask(t2.amount, constantsOf(ctx).reviewLimit), amount: t2.amount });
    await compare('a second task, pending');
    await t2.v.fail(t2.taskId, 'cannot');
    apply(1, { kind: 'fail' });
    await compare('the second task failed');
    await tidy(t);
  },
});

export const reputationFeedback = defineScenario({
  kind: 'property',
  id: 'reputation-feedback',
  title: 'A release and a refund each leave exactly one feedback for the agent in the ReputationRegistry; nothing before',
  requirements: ['AGR-REP-01'],
  ...BASE,
  needs: [...AGR_NEEDS, 'reputationRegistry'],
  arbitrary: (env) =>
    fc.record({ outcome: fc.constantFrom('release', 'refund'), reject: hasCapability(env.target, REVIEW_FIXTURE) ? fc.boolean() : fc.constant(false), buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const t = await paidTask(ctx, { price: '$0.10', buyer: v.buyer, checkPay: false });
    const base = (await feedbackCount(t.a, t.agentId))!;
    const expectCount = async (n: number, what: string, wait = false) => {
      // A server may give feedback just after it answers: wait up to 3 s for the count to move.
      let c = (await feedbackCount(t.a, t.agentId))!;
      for (let i = 0; wait && c - base < n && i < 30; i++) {
        await new Promise((r) => setTimeout(r, 100));
        c = (await feedbackCount(t.a, t.agentId))!;
      }
      ctx.expectEqual('AGR-REP-01', c - base, n, `feedback entries for agent ${t.agentId} ${what}`);
    };
    await t.v.start(t.taskId);
    await expectCount(0, 'after start (nothing resolved yet)');
    if (v.reject) {
      await t.v.complete(t.taskId, badResult(1));
      await expectCount(0, 'after a rejection (nothing resolved yet)');
    }
    ctx.act(`${t.roles.actor} ${v.outcome === 'release' ? 'completes' : 'fails'} the task`);
    const r = v.outcome === 'release' ? await t.v.complete(t.taskId, goodResult(PATH)) : await t.v.fail(t.taskId, 'cannot');
    if (r.status !== 200) throw new Indeterminate('AGR-REP-01', `the ${v.outcome} was not accepted (${r.status})`);
    await expectCount(1, `after the ${v.outcome}`, true);
    await tidy(t);
  },
});
