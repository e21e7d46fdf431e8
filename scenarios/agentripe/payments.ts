/**
 * Payments that must not create tasks: replayed, short, misdirected and expired authorizations
 * (every kind in every run), unknown agents and service paths, and `$0` catalog entries. After each
 * refusal the money (buyer, escrow, the wrong payee) and the agent's task list are checked unchanged.
 */
import fc from 'fast-check';
import type { Address } from 'viem';
import { defineScenario } from '../../harness/engine/dsl.ts';
import type { RunContext } from '../../harness/engine/context.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import type { Vendor } from '../../reference-impl/agentripe/agents/vendor.ts';
import { pickV2 } from '../../reference-impl/x402/agents/payer.ts';
import type { RequirementsV2 } from '../../reference-impl/x402/protocol/wire.ts';
import { BUYERS, askUnpaid, card, dataUri, listed, pay, registerAgent, registerUri, vendor, withdrawAll, type Agr, agr } from './lab.ts';
import { PATH } from './observe.ts';
import { BASE } from './tasks.ts';

/** A refused payment: a 4xx, or the seed's 500 "settlement failed"; never a 2xx nor a task id. */
function refusedPayment(status: number, body: unknown): boolean {
  return ((status >= 400 && status < 500) || status === 500) && !(body as { taskId?: unknown } | null)?.taskId;
}

/** Number of tasks the agent's vendor sees (an unchanged count: no task was created). */
async function taskCount(ctx: RunContext, requirement: string, v: Vendor): Promise<number> {
  const l = await listed(v);
  if (l.status !== 200) ctx.check(requirement, false, "the agent's vendor can list its tasks (to see that none was created)", { expected: 200, actual: l.status });
  return l.tasks.length;
}

const BAD_KINDS = ['replay', 'underpay', 'wrong-payto', 'expired'] as const;

export const badPayments = defineScenario({
  kind: 'property',
  id: 'bad-payments',
  title: 'Replayed, short, misdirected and expired payments (all in every run) create no task and move no money',
  requirements: ['AGR-PAY-03'],
  ...BASE,
  arbitrary: () => fc.record({ kinds: fc.shuffledSubarray([...BAD_KINDS], { minLength: BAD_KINDS.length }), buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const a = await agr(ctx);
    const agentId = await registerAgent(a, 'vendor1', PATH, '$0.10');
    const owner = vendor(a, 'vendor1', agentId);
    const c = await askUnpaid(a, agentId, PATH);
    const req = pickV2(c, a.s.chainId, a.usdc);
    if (!req) throw new Indeterminate('AGR-PAY-03', 'no v2 exact requirement offered');
    ctx.act(`${v.buyer} pays once, honestly`);
    const first = await pay(a, v.buyer, agentId, PATH, { req });
    if (first.status !== 200) throw new Indeterminate('AGR-PAY-03', `the first, honest payment was refused (${first.status})`);
    const holders = { buyer: a.s.address(v.buyer), escrow: a.escrow, attacker: a.s.address('attacker') };
    for (const kind of v.kinds) {
      const tasks0 = await taskCount(ctx, 'AGR-PAY-03', owner);
      const money = await ctx.balancesOf(a.s, a.usdc, holders);
      const now = await a.s.pendingTime();
      const tamper =
        kind === 'underpay'
          ? { auth: { value: BigInt(req.amount) - 1n } }
          : kind === 'wrong-payto'
            ? { auth: { to: a.s.address('attacker') } }
            : kind === 'expired'
              ? { auth: { validAfter: now - 3600n, validBefore: now - 1n } }
              : {};
      ctx.act(kind === 'replay' ? `${v.buyer} sends the same PAYMENT-SIGNATURE again` : `${v.buyer} pays with a ${kind} authorization`);
      const p = await pay(a, v.buyer, agentId, PATH, { req, header: kind === 'replay' ? first.header : undefined, tamper });
      ctx.check('AGR-PAY-03', refusedPayment(p.status, p.body), `a ${kind} payment is refused without a task id`, {
        expected: "4xx (or the seed's 500), no taskId",
        actual: `${p.status} ${JSON.stringify(p.body).slice(0, 200)}`,
      });
      await ctx.expectNoMoneyMoved('AGR-PAY-03', money, `no USDC moved after the ${kind} payment`);
      const tasks1 = await taskCount(ctx, 'AGR-PAY-03', owner);
      ctx.expectEqual('AGR-PAY-03', tasks1, tasks0, `the ${kind} payment created no task (the vendor lists as many as before)`);
    }
    await owner.fail(first.taskId!, 'cleanup');
    await withdrawAll(a, v.buyer).catch(() => undefined);
  },
});

/** A requirement for `amount` into the escrow, as the agent's 402 would state it. */
function requirementFor(a: Agr, like: RequirementsV2 | undefined, amount: bigint): RequirementsV2 {
  return {
    scheme: 'exact',
    network: `eip155:${a.s.chainId}`,
    amount: amount.toString(),
    asset: a.usdc,
    payTo: a.escrow,
    maxTimeoutSeconds: like?.maxTimeoutSeconds ?? 300,
    extra: like?.extra ?? { name: a.s.spec.usdc?.name, version: a.s.spec.usdc?.version },
  } as RequirementsV2;
}

const UNKNOWN = ['unknown-agent', 'unknown-path', 'card-without-catalog', 'card-not-json'] as const;
/** agentURIs of agents that exist but sell nothing: a card with no services, and a URI that is not JSON. */
const CATALOGLESS: Record<'card-without-catalog' | 'card-not-json', { uri: string; what: string }> = {
  'card-without-catalog': { uri: dataUri({ name: 'catalog-less agent', description: 'an AgentURIData with no services' }), what: 'whose card lists no services' },
  'card-not-json': { uri: `data:application/json;base64,${Buffer.from('this is not a card', 'utf8').toString('base64')}`, what: 'whose agentURI is not JSON' },
};

export const unknownService = defineScenario({
  kind: 'property',
  id: 'unknown-agent-or-service',
  title: 'An unknown agent id or service path, or an agent whose card sells nothing, gets 404 and no challenge; a payment sent there anyway moves nothing',
  requirements: ['AGR-PAY-04'],
  ...BASE,
  arbitrary: () =>
    fc.record({
      kinds: fc.shuffledSubarray([...UNKNOWN], { minLength: UNKNOWN.length }),
      path: fc.constantFrom('translatex', 'summarize', 'translate/extra', 'Translate'),
      agentOffset: fc.bigInt({ min: 1n, max: 10n ** 12n }),
      buyer: fc.constantFrom(...BUYERS),
    }),
  async run(ctx, v) {
    const a = await agr(ctx);
    const agentId = await registerAgent(a, 'vendor1', PATH, '$0.10');
    const owner = vendor(a, 'vendor1', agentId);
    const known = pickV2(await askUnpaid(a, agentId, PATH), a.s.chainId, a.usdc);
    if (!known) throw new Indeterminate('AGR-PAY-04', `the agent's known service '${PATH}' offers no v2 exact requirement`);
    const holders = { buyer: a.s.address(v.buyer), escrow: a.escrow };
    for (const kind of v.kinds) {
      const catalogless = kind === 'card-without-catalog' || kind === 'card-not-json' ? CATALOGLESS[kind] : undefined;
      // An id far above any registered one (ERC-8004 mints in sequence), or an agent that sells nothing.
      const id = kind === 'unknown-agent' ? agentId + 10n ** 15n + v.agentOffset : catalogless ? await registerUri(a, 'vendor1', catalogless.uri, catalogless.what) : agentId;
      const path = kind === 'unknown-path' ? v.path : PATH;
      const whose = kind === 'unknown-agent' ? `agent ${id}, which does not exist` : catalogless ? `agent ${id}, ${catalogless.what}` : `agent ${agentId}, which does not sell it`;
      const lister = catalogless ? vendor(a, 'vendor1', id) : owner;
      ctx.act(`${v.buyer} asks for '${path}' of ${whose}`);
      const c = await askUnpaid(a, id.toString(), path);
      ctx.check('AGR-PAY-04', c.status === 404 && !c.v2, `${kind}: 404 without a payment challenge`, {
        expected: '404, no PAYMENT-REQUIRED',
        actual: `${c.status}${c.v2 ? ' with PAYMENT-REQUIRED' : ''}`,
      });
      const money = await ctx.balancesOf(a.s, a.usdc, holders);
      const tasks0 = (await listed(lister)).tasks.length;
      ctx.act(`${v.buyer} sends a payment for the catalog price there anyway`);
      const p = await pay(a, v.buyer, id, path, { req: requirementFor(a, known, BigInt(known.amount)) });
      ctx.check('AGR-PAY-04', p.status === 404 && !p.taskId, `${kind}: a payment sent there is answered 404 and creates no task`, {
        expected: 404,
        actual: `${p.status} ${JSON.stringify(p.body).slice(0, 200)}`,
      });
      await ctx.expectNoMoneyMoved('AGR-PAY-04', money, `${kind}: no USDC moved`);
      ctx.expectEqual('AGR-PAY-04', (await listed(lister)).tasks.length, tasks0, `${kind}: the agent has no new task`);
    }
  },
});

export const zeroPrice = defineScenario({
  kind: 'property',
  id: 'zero-price-entry',
  title: 'A $0 catalog entry written to the registry directly is refused before any challenge; the card still sells its priced entry',
  requirements: ['AGR-PRICE-01'],
  ...BASE,
  arbitrary: () => fc.record({ zero: fc.constantFrom('$0', '$0.00', '$0.000000'), buyer: fc.constantFrom(...BUYERS) }),
  async run(ctx, v) {
    const a = await agr(ctx);
    const data = card(a, 'zero-price scenario agent', [
      { path: 'free', price: v.zero },
      { path: PATH, price: '$0.10' },
    ]);
    const agentId = await registerUri(a, 'vendor1', dataUri(data), `whose card sells 'free' for ${v.zero} and '${PATH}' for $0.10 (written to the registry directly)`);
    const owner = vendor(a, 'vendor1', agentId);
    ctx.act(`${v.buyer} asks for 'free' without paying`);
    const c = await askUnpaid(a, agentId, 'free');
    ctx.check('AGR-PRICE-01', c.status >= 400 && c.status < 500 && c.status !== 402 && !c.v2, 'a $0 entry is refused with a 4xx, not a 402 challenge', {
      expected: '4xx other than 402, no PAYMENT-REQUIRED',
      actual: `${c.status}${c.v2 ? ` offering ${JSON.stringify(c.v2.accepts.map((r) => r.amount))}` : ''} ${JSON.stringify(c.body).slice(0, 200)}`,
    });
    const holders: Record<string, Address> = { buyer: a.s.address(v.buyer), escrow: a.escrow };
    const money = await ctx.balancesOf(a.s, a.usdc, holders);
    ctx.act(`${v.buyer} sends a zero-value authorization for 'free' anyway`);
    const p = await pay(a, v.buyer, agentId, 'free', { req: requirementFor(a, undefined, 0n) });
    ctx.check('AGR-PRICE-01', p.status >= 400 && p.status < 500 && !p.taskId, 'a zero payment for a $0 entry is refused with a 4xx and no task', {
      expected: '4xx, no taskId',
      actual: `${p.status} ${JSON.stringify(p.body).slice(0, 200)}`,
    });
    await ctx.expectNoMoneyMoved('AGR-PRICE-01', money, 'nothing was charged or settled');
    ctx.expectEqual('AGR-PRICE-01', (await listed(owner)).tasks.length, 0, 'no task was created');
    ctx.act(`${v.buyer} asks for '${PATH}' of the same card`);
    const ok = pickV2(await askUnpaid(a, agentId, PATH), a.s.chainId, a.usdc);
    ctx.check('AGR-PRICE-01', ok !== undefined && ok.amount === '100000', "the card's priced entry still gets its 402 for $0.10", {
      expected: '402 for 100000',
      actual: ok ? ok.amount : 'no v2 exact requirement',
    });
  },
});
