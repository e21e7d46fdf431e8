/**
 * Scenarios of an APS-1 agent server (endpoint `aps1-agent`): discovery, message readings,
 * malformed input, negotiation, and executions paid by each escrow method, checked on the target's
 * chain (the escrow, the proof, every transaction the agent reports). The agent keeps state, so
 * runs are `live`: fresh job ids and fresh escrows each time.
 */
import fc from 'fast-check';
import type { Address, Hex } from 'viem';
import { z as z3 } from 'zod/v3';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { hasCapability } from '../../harness/target/schema.ts';
import { envelope, escrowNexus, escrowStream, negotiation, nexusCall, payDirect, streamCall, type Escrow } from '../../reference-impl/aps1/agents/employer.ts';
import type { AgentClient } from '../../reference-impl/aps1/agents/clients.ts';
import { judge } from '../../reference-impl/aps1/agents/judge.ts';
import { nexusAbi, proofAbi, reputationAbi, streamAbi, tokenAbi } from '../../reference-impl/aps1/protocol/abi.ts';
import { platformFee, settleMilestone } from '../../reference-impl/aps1/protocol/fees.ts';
import { floorPrice } from '../../reference-impl/aps1/protocol/negotiation.ts';
import { unitsToUsd, usdToUnits } from '../../reference-impl/aps1/protocol/price.ts';
import { APS1_PROFILE } from '../../reference-impl/aps1/protocol/profile.ts';
import { planHash } from '../../reference-impl/aps1/protocol/proof.ts';
import { APS1ManifestSchema, APS1NegotiationSchema, APS1ResultSchema, type APS1Manifest, type APS1Result, type PaymentMethod } from '../../reference-impl/aps1/protocol/schemas.ts';
import { intent, actor, agentOf, allow, aps, freshJobId, mineAt, NEEDS, nonceOf, short, type Aps } from './lab.ts';

const AGENT = { endpoints: ['aps1-agent'], needs: NEEDS, isolation: 'live' as const };
const ROLES = ['buyer1', 'buyer2', 'judge'];
const P = APS1_PROFILE;
const isoTimestamp = z3.string().datetime();

/** A JSON answer's body as a v3-validated value, or the issue. */
function valid<T>(schema: z3.ZodType<T>, body: unknown): { ok: true; data: T } | { ok: false; why: string } {
  const r = schema.safeParse(body);
  if (r.success) return { ok: true, data: r.data };
  const i = r.error.issues[0]!;
  return { ok: false, why: `${i.path.join('.') || '(body)'}: ${i.message}` };
}

/** The agent's manifest, checked under `req` (no valid manifest: the scenario cannot hire it, so `req` fails). */
async function manifestFor(ctx: RunContext, agent: AgentClient, req: string): Promise<APS1Manifest> {
  ctx.act('the employer reads GET /manifest');
  const m = await agent.manifest();
  const v = valid(APS1ManifestSchema, m.body);
  ctx.check(req, m.status === 200 && v.ok, 'the agent serves a valid manifest (the way to hire it)', { expected: '200 APS1Manifest', actual: `${m.status} ${v.ok ? 'valid' : v.why}` });
  return (v as { data: APS1Manifest }).data;
}

/** What hiring this agent takes on this chain. */
export interface Hire {
  a: Aps;
  m: APS1Manifest;
  wallet: Address;
  token: Address;
  decimals: number;
  /** The base price in the token's base units. */
  price: bigint;
  methods: PaymentMethod[];
}

/** The agent's manifest and what hiring it takes (the way into every paid scenario). */
export async function hire(ctx: RunContext, agent: AgentClient, req: string): Promise<Hire> {
  return termsOf(ctx, await manifestFor(ctx, agent, req), req);
}

/** What hiring the agent of manifest `m` takes on the target's chain (Indeterminate under `req` when it takes none of its stablecoins). */
export async function termsOf(ctx: RunContext, m: APS1Manifest, req: string): Promise<Hire> {
  const a = await aps(ctx);
  const chainTokens = a.tokens.map((t) => t.toLowerCase());
  const tok = m.supportedTokens.find((t) => t.address.toLowerCase() === a.alpha.toLowerCase()) ?? m.supportedTokens.find((t) => chainTokens.includes(t.address.toLowerCase()));
  if (!tok) throw new Indeterminate(req, `the agent takes none of the chain's stablecoins (${m.supportedTokens.map((t) => t.symbol).join(', ')})`);
  const price = usdToUnits(m.pricing.basePrice, tok.decimals);
  if (price === null) throw new Indeterminate(req, `basePrice ${m.pricing.basePrice} has no exact ${tok.decimals}-decimal value`);
  return { a, m, wallet: m.walletAddress as Address, token: tok.address as Address, decimals: tok.decimals, price, methods: m.paymentMethods };
}

/** Lock `amount` for the agent by `method` as `employer`. */
export async function pay(h: Hire, employer: string, method: PaymentMethod, amount: bigint, o: { worker?: Address; judge?: string; duration?: bigint } = {}): Promise<Escrow> {
  const { a } = h;
  const act = actor(a, employer);
  let e: Escrow | { refused: string };
  if (method === 'nexus-escrow') {
    await allow(a, employer, h.token, a.c.nexus);
    e = await escrowNexus(act, a.c, { worker: o.worker ?? h.wallet, judge: a.s.address(o.judge ?? 'judge'), token: h.token, amount, duration: o.duration ?? 3600n });
  } else if (method === 'stream-milestone') {
    await allow(a, employer, h.token, a.c.stream);
    e = await escrowStream(act, a.c, { agent: o.worker ?? h.wallet, token: h.token, amounts: [amount, amount], duration: 3600n });
  } else e = await payDirect(act, { token: h.token, to: o.worker ?? h.wallet, amount });
  if ('refused' in e) throw new Indeterminate(undefined, `setup: ${employer} could not pay by ${method} (${e.refused})`);
  a.ctx.act(`${employer} pays ${amount} base units by ${method} (${method === 'direct-transfer' ? short(e.txHash) : `#${e.onChainId}`})`);
  return e;
}

/** rule 8: every transaction a result reports exists, succeeded, was sent by the agent's wallet, in the block it names. */
async function checkReportedTxs(ctx: RunContext, h: Hire, r: APS1Result, req: string): Promise<void> {
  for (const t of r.onChain?.transactions ?? []) {
    const receipt = await h.a.s.public.getTransactionReceipt({ hash: t.hash as Hex }).catch(() => null);
    const tx = receipt ? await h.a.s.public.getTransaction({ hash: t.hash as Hex }) : null;
    ctx.check(
      req,
      receipt !== null && receipt.status === 'success' && tx!.from.toLowerCase() === h.wallet.toLowerCase() && Number(receipt.blockNumber) === t.blockNumber,
      `reported transaction ${short(t.hash)} (${t.description ?? 'no description'}) is real: mined, successful, from the agent's wallet, in block ${t.blockNumber}`,
      { expected: `success from ${h.wallet} in ${t.blockNumber}`, actual: receipt ? `${receipt.status} from ${tx!.from} in ${receipt.blockNumber}` : 'no such transaction' },
    );
  }
}

/** Checks a result's proof against the chain (APS-PRF-01) and its plan hash (APS-PRF-04). */
async function checkProof(ctx: RunContext, h: Hire, r: APS1Result, env: ReturnType<typeof envelope>, escrow: Escrow, check: { prf04: boolean }): Promise<{ matched: boolean } | undefined> {
  if (!h.m.proofEnabled) return undefined;
  const { a } = h;
  ctx.check('APS-PRF-01', r.proof !== undefined, 'a proof-enabled agent reports result.proof', { expected: 'proof {resultHash, verifyTxHash, matched}', actual: JSON.stringify(r.proof ?? null) });
  const receipt = await a.s.public.getTransactionReceipt({ hash: r.proof!.verifyTxHash as Hex }).catch(() => null);
  const { parseEventLogs } = await import('viem');
  const ev = receipt ? parseEventLogs({ abi: proofAbi, logs: receipt.logs.filter((l) => l.address.toLowerCase() === a.c.proof.toLowerCase()), eventName: 'CommitmentVerified' })[0] : undefined;
  ctx.check('APS-PRF-01', ev !== undefined, 'verifyTxHash is an AIProofRegistry verification', {
    expected: 'CommitmentVerified',
    actual: receipt ? 'no CommitmentVerified event' : 'no such transaction',
  });
  const c = await a.s.read(a.c.proof, proofAbi, 'getCommitment', [ev!.args.commitmentId]);
  ctx.check(
    'APS-PRF-01',
    c.agent.toLowerCase() === h.wallet.toLowerCase() &&
      c.verified &&
      ev!.args.matched === r.proof!.matched &&
      ev!.args.resultHash.toLowerCase() === r.proof!.resultHash.toLowerCase() &&
      c.matched === r.proof!.matched,
    'the proof is the agent’s commitment, and result.proof reports what the chain recorded',
    {
      expected: `agent ${h.wallet}, matched ${ev!.args.matched}, resultHash ${ev!.args.resultHash}`,
      actual: `agent ${c.agent}, reported matched ${r.proof!.matched}, resultHash ${r.proof!.resultHash}`,
    },
  );
  if (escrow.method === 'nexus-escrow') {
    ctx.expectEqual('APS-PRF-01', c.nexusJobId, BigInt(escrow.onChainId), 'the commitment is for the NexusV2 job that paid');
    const made = await a.s.public.getContractEvents({
      address: a.c.proof,
      abi: proofAbi,
      eventName: 'CommitmentMade',
      args: { commitmentId: ev!.args.commitmentId },
      fromBlock: 0n,
      toBlock: 'latest',
    });
    const done = await a.s.public.getContractEvents({ address: a.c.nexus, abi: nexusAbi, eventName: 'JobStatusChanged', args: { jobId: BigInt(escrow.onChainId) }, fromBlock: 0n, toBlock: 'latest' });
    const completed = done.find((l) => Number(l.args.newStatus) === 2);
    ctx.check('APS-PRF-01', made[0] !== undefined && completed !== undefined && made[0]!.blockNumber <= completed.blockNumber, 'the plan was committed before the job was completed', {
      expected: 'commit block ≤ completion block',
      actual: `commit ${made[0]?.blockNumber ?? 'none'}, completion ${completed?.blockNumber ?? 'none'}`,
    });
  }
  if (check.prf04)
    ctx.expectEqual(
      'APS-PRF-04',
      c.planHash.toLowerCase(),
      planHash({ jobId: env.jobId, agentId: env.agentId, prompt: env.prompt, ...(env.payload ? { payload: env.payload } : {}) }),
      'planHash = keccak256(canonical task)',
    );
  return { matched: c.matched };
}

// ---- discovery ---------------------------------------------------------------------------------

export const manifest = defineScenario({
  kind: 'property',
  id: 'manifest',
  title: 'GET /manifest is a valid APS1Manifest that tells the truth (endpoints, tokens on chain, reputation); GET /health is ok',
  requirements: ['APS-MAN-01', 'APS-MAN-02', 'APS-MAN-03'],
  ...AGENT,
  arbitrary: () => fc.constant(null),
  async run(ctx) {
    const agent = agentOf(ctx);
    const m = await manifestFor(ctx, agent, 'APS-MAN-01');
    const h = await agent.health();
    ctx.check('APS-MAN-03', h.status === 200 && h.body?.status === 'ok' && h.body?.aps === '1.0' && h.body?.agent === m.id, 'GET /health answers {status:"ok", aps:"1.0", agent}', {
      expected: `200 ok 1.0 ${m.id}`,
      actual: `${h.status} ${JSON.stringify(h.body).slice(0, 200)}`,
    });
    ctx.act('the employer follows endpoints.manifest and endpoints.health');
    const again = await ctx.fetch(m.endpoints.manifest).then(async (r) => ({ status: r.status, body: await r.json().catch(() => null) }));
    ctx.expectEqual('APS-MAN-02', again.body, m, 'endpoints.manifest answers the same manifest');
    if (m.endpoints.health) {
      const hh = await ctx.fetch(m.endpoints.health).then((r) => r.status);
      ctx.expectEqual('APS-MAN-02', hh, 200, 'endpoints.health answers');
    }
    ctx.check('APS-MAN-02', Boolean(m.endpoints.negotiate) === m.pricing.negotiable, 'a negotiate endpoint is listed exactly when pricing is negotiable', {
      expected: m.pricing.negotiable ? 'listed' : 'absent',
      actual: m.endpoints.negotiate ?? 'absent',
    });
    if (m.pricing.minPrice !== undefined)
      ctx.check('APS-MAN-02', m.pricing.minPrice <= m.pricing.basePrice, 'minPrice ≤ basePrice', { expected: `≤ ${m.pricing.basePrice}`, actual: m.pricing.minPrice });
    const a = await aps(ctx);
    for (const t of m.supportedTokens) {
      const dec = await a.s.read(t.address as Address, tokenAbi, 'decimals').catch(() => null);
      ctx.check('APS-MAN-02', dec === t.decimals, `${t.symbol} exists on the chain with ${t.decimals} decimals`, { expected: t.decimals, actual: dec ?? 'no token there' });
    }
    const rep = await a.s.read(a.c.reputation, reputationAbi, 'getReputation', [m.walletAddress as Address]);
    if (m.reputationScore !== undefined)
      ctx.check('APS-MAN-02', rep.updatedAt > 0n && BigInt(m.reputationScore) === rep.score, 'reputationScore is the registry’s score of walletAddress', {
        expected: rep.updatedAt > 0n ? rep.score : 'no snapshot in the registry',
        actual: m.reputationScore,
      });
  },
});

// ---- message readings --------------------------------------------------------------------------

const REFUSED_TIMESTAMPS = ['2025-01-15T10:30:00+02:00', '2025-01-15 10:30:00Z', '2025-02-29T10:30:00Z', '2025-01-15T10:30:00', '1736937000'];
const ACCEPTED_TIMESTAMPS = ['2025-01-15T10:30Z', '2025-01-15T10:30:00.123456789Z', '2024-02-29T23:59:59Z'];

export const messageReadings = defineScenario({
  kind: 'property',
  id: 'message-readings',
  title: 'Timestamps and unknown keys as the validator reads them: offsets, spaces and impossible dates refused; no seconds, 9 fraction digits, extra keys accepted',
  requirements: ['APS-MSG-01', 'APS-MSG-02'],
  ...AGENT,
  roles: ROLES,
  arbitrary: () =>
    fc.record({
      order: fc.shuffledSubarray(REFUSED_TIMESTAMPS, { minLength: REFUSED_TIMESTAMPS.length }),
      accepted: fc.constantFrom(...ACCEPTED_TIMESTAMPS),
      extra: fc.boolean(),
      employer: fc.constantFrom('buyer1', 'buyer2'),
    }),
  async run(ctx, v) {
    const agent = agentOf(ctx);
    const h = await hire(ctx, agent, 'APS-MSG-01');
    const method = h.methods.includes('direct-transfer') ? 'direct-transfer' : h.methods[0]!;
    const escrow = await pay(h, v.employer, method, h.price);
    const nonce0 = await nonceOf(h.a, h.wallet);
    for (const ts of v.order) {
      const jobId = freshJobId('ts-refused');
      ctx.act(`${v.employer} sends an envelope timestamped '${ts}'`);
      const r = await agent.execute({ ...envelope({ jobId, agentId: h.m.id, prompt: 'timestamp reading', callerWallet: h.a.s.address(v.employer), escrow }), timestamp: ts });
      ctx.check('APS-MSG-01', r.status >= 400 && r.status < 500, `timestamp '${ts}' is refused (the validator refuses it)`, { expected: '4xx', actual: `${r.status} ${r.text.slice(0, 200)}` });
      ctx.expectEqual('APS-MSG-01', (await agent.status(jobId)).status, 404, 'nothing was recorded for the refused envelope');
    }
    ctx.expectEqual('APS-MSG-01', await nonceOf(h.a, h.wallet), nonce0, 'the agent sent no transaction for the refused envelopes');
    const jobId = freshJobId('ts-accepted');
    const base = envelope({ jobId, agentId: h.m.id, prompt: 'timestamp reading', callerWallet: h.a.s.address(v.employer), escrow });
    const env = v.extra ? { ...base, futureField: { nested: true }, escrow: { ...base.escrow!, note: 'unknown key' }, timestamp: v.accepted } : { ...base, timestamp: v.accepted };
    ctx.act(`${v.employer} sends the paid envelope timestamped '${v.accepted}'${v.extra ? ' with unknown keys at the top and in escrow' : ''}`);
    const r = await agent.execute(env);
    const req = v.extra ? 'APS-MSG-02' : 'APS-MSG-01';
    ctx.check(req, r.status === 200 && r.body?.jobId === jobId, v.extra ? 'unknown keys are ignored: the envelope runs' : `timestamp '${v.accepted}' is accepted: the envelope runs`, {
      expected: '200 result',
      actual: `${r.status} ${r.text.slice(0, 200)}`,
    });
    ctx.check('APS-MSG-01', isoTimestamp.safeParse(r.body?.timestamp).success, 'the result’s timestamp passes z.string().datetime()', { expected: 'ISO 8601 with Z', actual: r.body?.timestamp });
    if (h.m.pricing.negotiable && h.m.endpoints.negotiate) {
      const nj = freshJobId('ts-neg');
      for (const ts of v.order) {
        const x = await agent.negotiate({ ...negotiation('propose', nj, h.m.pricing.basePrice), timestamp: ts });
        ctx.check('APS-MSG-01', x.status >= 400 && x.status < 500, `a negotiation message timestamped '${ts}' is refused`, { expected: '4xx', actual: `${x.status} ${x.text.slice(0, 160)}` });
      }
      const ok = await agent.negotiate({ ...negotiation('propose', nj, h.m.pricing.basePrice), timestamp: v.accepted, ...(v.extra ? { futureField: 1 } : {}) });
      ctx.check(req, ok.status === 200, `a negotiation message timestamped '${v.accepted}'${v.extra ? ' with an unknown key' : ''} is answered`, {
        expected: 200,
        actual: `${ok.status} ${ok.text.slice(0, 160)}`,
      });
      ctx.check('APS-MSG-01', isoTimestamp.safeParse(ok.body?.timestamp).success, 'the reply’s timestamp passes z.string().datetime()', { expected: 'ISO 8601 with Z', actual: ok.body?.timestamp });
    }
  },
});

// ---- malformed input -----------------------------------------------------------------------------

type Mutation = { name: string; apply: (e: Record<string, any>) => unknown };
const ENVELOPE_MUTATIONS: Mutation[] = [
  { name: 'empty jobId', apply: (e) => ({ ...e, jobId: '' }) },
  { name: 'agentId missing', apply: ({ agentId: _, ...e }) => e },
  { name: 'empty prompt', apply: (e) => ({ ...e, prompt: '' }) },
  { name: 'prompt of 10,001 characters', apply: (e) => ({ ...e, prompt: 'x'.repeat(10_001) }) },
  { name: 'prompt of 5,001 emoji (10,002 UTF-16 units)', apply: (e) => ({ ...e, prompt: '😀'.repeat(5001) }) },
  { name: 'prompt a number', apply: (e) => ({ ...e, prompt: 42 }) },
  { name: 'payload an array', apply: (e) => ({ ...e, payload: [1, 2] }) },
  { name: 'payload null', apply: (e) => ({ ...e, payload: null }) },
  { name: 'callerWallet 39 hex digits', apply: (e) => ({ ...e, callerWallet: `0x${'a'.repeat(39)}` }) },
  { name: 'callerWallet without 0x', apply: (e) => ({ ...e, callerWallet: 'a'.repeat(40) }) },
  { name: 'escrow.onChainId negative', apply: (e) => ({ ...e, escrow: { ...e.escrow, onChainId: -1 } }) },
  { name: 'escrow.onChainId 1.5', apply: (e) => ({ ...e, escrow: { ...e.escrow, onChainId: 1.5 } }) },
  { name: 'escrow.onChainId a string', apply: (e) => ({ ...e, escrow: { ...e.escrow, onChainId: '1' } }) },
  { name: 'escrow.txHash 63 hex digits', apply: (e) => ({ ...e, escrow: { ...e.escrow, txHash: `0x${'1'.repeat(63)}` } }) },
  { name: 'escrow.method unknown', apply: (e) => ({ ...e, escrow: { ...e.escrow, method: 'credit-card' } }) },
  { name: 'escrow.contractAddress bad', apply: (e) => ({ ...e, escrow: { ...e.escrow, contractAddress: '0xnothex' } }) },
  { name: 'proof.planHash 31 bytes', apply: (e) => ({ ...e, proof: { planHash: `0x${'2'.repeat(62)}`, commitmentId: `0x${'3'.repeat(64)}`, commitTxHash: `0x${'4'.repeat(64)}` } }) },
  { name: 'timestamp a number', apply: (e) => ({ ...e, timestamp: 1736937000 }) },
  { name: 'body an array', apply: (e) => [e] },
  { name: 'body not JSON', apply: () => '{"jobId": "x", ' },
];
const NEGOTIATION_MUTATIONS: Mutation[] = [
  { name: 'type unknown', apply: (m) => ({ ...m, type: 'haggle' }) },
  { name: 'empty jobId', apply: (m) => ({ ...m, jobId: '' }) },
  { name: 'negative price', apply: (m) => ({ ...m, price: -1 }) },
  { name: 'price a string', apply: (m) => ({ ...m, price: '3.00' }) },
  { name: 'currency EUR', apply: (m) => ({ ...m, currency: 'EUR' }) },
  { name: 'message of 1,025 characters', apply: (m) => ({ ...m, message: 'm'.repeat(1025) }) },
  { name: 'body not JSON', apply: () => 'type=propose' },
];

export const malformed = defineScenario({
  kind: 'property',
  id: 'malformed-requests',
  title: 'Every malformed envelope and negotiation message is refused with a 4xx JSON error; nothing recorded, no transaction',
  requirements: ['APS-MSG-03'],
  ...AGENT,
  roles: ROLES,
  arbitrary: () =>
    fc.record({ env: fc.shuffledSubarray(ENVELOPE_MUTATIONS, { minLength: ENVELOPE_MUTATIONS.length }), neg: fc.shuffledSubarray(NEGOTIATION_MUTATIONS, { minLength: NEGOTIATION_MUTATIONS.length }) }),
  async run(ctx, v) {
    const agent = agentOf(ctx);
    const h = await hire(ctx, agent, 'APS-MSG-03');
    const escrow = await pay(h, 'buyer1', h.methods.includes('direct-transfer') ? 'direct-transfer' : h.methods[0]!, h.price);
    const nonce0 = await nonceOf(h.a, h.wallet);
    for (const mut of v.env) {
      const jobId = freshJobId('bad');
      const good = envelope({ jobId, agentId: h.m.id, prompt: 'a task', callerWallet: h.a.s.address('buyer1'), escrow });
      ctx.act(`an envelope with ${mut.name}`);
      const r = await agent.execute(mut.apply(good as Record<string, any>) as never);
      ctx.check('APS-MSG-03', r.status >= 400 && r.status < 500 && typeof r.body === 'object' && r.body !== null && 'error' in r.body, `${mut.name}: refused with a 4xx JSON error`, {
        expected: '4xx {error}',
        actual: `${r.status} ${r.text.slice(0, 160)}`,
      });
      ctx.expectEqual('APS-MSG-03', (await agent.status(jobId)).status, 404, `${mut.name}: nothing recorded`);
    }
    if (h.m.pricing.negotiable) {
      for (const mut of v.neg) {
        ctx.act(`a negotiation message with ${mut.name}`);
        const r = await agent.negotiate(mut.apply(negotiation('propose', freshJobId('bad-neg'), h.m.pricing.basePrice) as Record<string, any>) as never);
        ctx.check('APS-MSG-03', r.status >= 400 && r.status < 500 && typeof r.body === 'object' && r.body !== null && 'error' in r.body, `${mut.name}: refused with a 4xx JSON error`, {
          expected: '4xx {error}',
          actual: `${r.status} ${r.text.slice(0, 160)}`,
        });
      }
    }
    ctx.expectEqual('APS-MSG-03', await nonceOf(h.a, h.wallet), nonce0, 'the agent sent no transaction');
    // The payment was not consumed by any refused envelope: a valid one still runs.
    const ok = await agent.execute(envelope({ jobId: freshJobId('bad-then-good'), agentId: h.m.id, prompt: 'a task', callerWallet: h.a.s.address('buyer1'), escrow }));
    ctx.check('APS-MSG-03', ok.status === 200, 'the payment is still good for a valid envelope (the refusals recorded nothing)', { expected: 200, actual: `${ok.status} ${ok.text.slice(0, 160)}` });
  },
});

// ---- negotiation -------------------------------------------------------------------------------

export const negotiate = defineScenario({
  kind: 'property',
  id: 'negotiation',
  title: 'Negotiation: replies are valid messages for the job; never below the floor; an accept repeats the price; a counter is at most the base price',
  requirements: ['APS-NEG-01', 'APS-NEG-02'],
  ...AGENT,
  arbitrary: () =>
    fc.array(
      fc.record({
        type: fc.constantFrom<'propose' | 'counter' | 'accept' | 'reject'>('propose', 'propose', 'counter', 'accept', 'reject'),
        at: fc.constantFrom('zero', 'below', 'floor', 'between', 'base', 'above', 'one-unit-below'),
      }),
      { minLength: 1, maxLength: 5 },
    ),
  async run(ctx, msgs) {
    const agent = agentOf(ctx);
    const m = await manifestFor(ctx, agent, 'APS-NEG-01');
    const floor = floorPrice(m.pricing);
    const base = m.pricing.basePrice;
    const d = P.priceDecimals;
    const units = (x: number) => usdToUnits(x, d) ?? 0n;
    const priceAt = (at: string) =>
      ({
        zero: 0,
        below: unitsToUsd(units(floor) / 2n, d),
        'one-unit-below': unitsToUsd(units(floor) > 0n ? units(floor) - 1n : 0n, d),
        floor,
        between: unitsToUsd((units(floor) + units(base)) / 2n, d),
        base,
        above: unitsToUsd(units(base) + 1_000_000n, d),
      })[at]!;
    const jobId = freshJobId('neg');
    for (const msg of msgs) {
      const price = priceAt(msg.at);
      ctx.act(`the employer sends ${msg.type} at ${price} USD (${msg.at}) for ${jobId}`);
      const r = await agent.negotiate(negotiation(msg.type, jobId, price));
      if (!m.pricing.negotiable && r.status >= 400 && r.status < 500) {
        ctx.check('APS-NEG-01', r.status === 404 || r.status === 405 || r.status === 400, 'an agent that does not negotiate says so with a 4xx', { expected: '404', actual: r.status });
        continue;
      }
      const v = valid(APS1NegotiationSchema, r.body);
      ctx.check('APS-NEG-01', r.status === 200 && v.ok, 'the reply is a valid APS1Negotiation message', {
        expected: '200 APS1Negotiation',
        actual: `${r.status} ${v.ok ? 'valid' : v.why} ${r.text.slice(0, 160)}`,
      });
      const reply = (v as { data: z3.infer<typeof APS1NegotiationSchema> }).data;
      ctx.check('APS-NEG-01', reply.jobId === jobId && reply.type !== 'propose', 'the reply is for the same job, a counter, accept or reject', {
        expected: `${jobId} counter|accept|reject`,
        actual: `${reply.jobId} ${reply.type}`,
      });
      if (reply.type === 'accept') {
        ctx.check('APS-NEG-02', units(reply.price) >= units(floor), `an accept is never below the floor ${floor}`, { expected: `≥ ${floor}`, actual: reply.price });
        if (msg.type !== 'reject')
          ctx.check('APS-NEG-02', units(reply.price) === units(price) || m.pricing.negotiable === false, 'an accept names the price it accepts', { expected: price, actual: reply.price });
      }
      if (reply.type === 'counter')
        ctx.check('APS-NEG-02', units(reply.price) >= units(floor) && units(reply.price) <= units(base), `a counter is between the floor ${floor} and the base price ${base}`, {
          expected: `[${floor}, ${base}]`,
          actual: reply.price,
        });
    }
  },
});

export const negotiatedPrice = defineScenario({
  kind: 'property',
  id: 'negotiated-price',
  title: 'An agreed price is what the execution charges, also after a later proposal below the floor: an escrow of exactly it runs, one base unit less is refused',
  requirements: ['APS-NEG-03'],
  ...AGENT,
  roles: ROLES,
  arbitrary: () => fc.record({ employer: fc.constantFrom('buyer1', 'buyer2'), step: fc.integer({ min: 0, max: 4 }), method: fc.constantFrom<PaymentMethod>('nexus-escrow', 'direct-transfer') }),
  async run(ctx, v) {
    const agent = agentOf(ctx);
    const h = await hire(ctx, agent, 'APS-NEG-03');
    if (!h.m.pricing.negotiable) throw new Indeterminate('APS-NEG-03', 'the agent does not negotiate');
    const method = h.methods.includes(v.method) ? v.method : h.methods[0]!;
    const floor = usdToUnits(floorPrice(h.m.pricing), h.decimals)!;
    const target = floor + ((h.price - floor) * BigInt(v.step)) / 4n;
    const agree = async (jobId: string): Promise<bigint> => {
      const usd = unitsToUsd(target, h.decimals);
      ctx.act(`${v.employer} proposes ${usd} USD for ${jobId}`);
      let r = await agent.negotiate(negotiation('propose', jobId, usd));
      if (r.body?.type === 'counter') {
        ctx.act(`the agent counters at ${r.body.price}; ${v.employer} accepts it`);
        r = await agent.negotiate(negotiation('accept', jobId, r.body.price));
      }
      if (r.status !== 200 || r.body?.type !== 'accept') throw new Indeterminate('APS-NEG-03', `no agreement reached (${r.status} ${r.text.slice(0, 120)})`);
      return usdToUnits(r.body.price, h.decimals)!;
    };
    const job1 = freshJobId('agreed');
    let agreed = await agree(job1);
    // A proposal below the floor after the agreement does not undo it (the agent rejects or counters it).
    // Should the agent accept another price, either price may bind (profile.md), so the escrow pays the higher.
    if (floor > 1n) {
      const low = unitsToUsd(floor - 1n, h.decimals);
      ctx.act(`${v.employer} then proposes ${low} USD (below the floor) for ${job1}`);
      const x = await agent.negotiate(negotiation('propose', job1, low));
      const also = x.status === 200 && x.body?.type === 'accept' ? usdToUnits(x.body.price, h.decimals) : null;
      if (also !== null && also > agreed) agreed = also;
    }
    const e1 = await pay(h, v.employer, method, agreed);
    const r1 = await agent.execute(envelope({ jobId: job1, agentId: h.m.id, prompt: 'agreed task', callerWallet: h.a.s.address(v.employer), escrow: e1 }));
    ctx.check(
      'APS-NEG-03',
      r1.status === 200 && r1.body?.status !== 'error',
      `an escrow of exactly the agreed ${agreed} base units pays for the job (a later proposal below the floor did not undo the agreement)`,
      {
        expected: '200',
        actual: `${r1.status} ${r1.text.slice(0, 200)}`,
      },
    );
    const job2 = freshJobId('agreed-short');
    const agreed2 = await agree(job2);
    if (agreed2 <= 1n) return;
    const e2 = await pay(h, v.employer, method, agreed2 - 1n);
    const nonce0 = await nonceOf(h.a, h.wallet);
    const r2 = await agent.execute(envelope({ jobId: job2, agentId: h.m.id, prompt: 'agreed task, underpaid', callerWallet: h.a.s.address(v.employer), escrow: e2 }));
    ctx.check('APS-NEG-03', r2.status >= 400 && r2.status < 500, `an escrow one base unit below the agreed ${agreed2} is refused`, {
      expected: '4xx',
      actual: `${r2.status} ${r2.text.slice(0, 200)}`,
    });
    ctx.expectEqual('APS-NEG-03', (await agent.status(job2)).status, 404, 'nothing ran');
    ctx.expectEqual('APS-NEG-03', await nonceOf(h.a, h.wallet), nonce0, 'the agent sent no transaction');
  },
});

// ---- paid executions ---------------------------------------------------------------------------

export const executePaid = defineScenario({
  kind: 'property',
  id: 'execute-paid',
  title: 'A paid execution by each escrow method: an APS1Result kept by /status, proof committed before and verified after, the escrow honoured on chain, the agent paid',
  requirements: ['APS-EXE-01', 'APS-EXE-04', 'APS-PRF-01', 'APS-PRF-04'],
  ...AGENT,
  roles: ROLES,
  arbitrary: () =>
    fc.record({
      method: fc.constantFrom<PaymentMethod>('nexus-escrow', 'stream-milestone', 'direct-transfer'),
      employer: fc.constantFrom('buyer1', 'buyer2'),
      prompt: fc.string({ minLength: 1, maxLength: 200 }).filter((s) => s.trim().length > 0),
      payload: fc.option(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.oneof(fc.integer(), fc.string({ maxLength: 10 })), { maxKeys: 3 }), { nil: undefined }),
    }),
  async run(ctx, v) {
    const agent = agentOf(ctx);
    const h = await hire(ctx, agent, 'APS-EXE-01');
    const method = h.methods.includes(v.method) ? v.method : h.methods[0]!;
    const escrow = await pay(h, v.employer, method, h.price);
    const jobId = freshJobId('exec');
    const env = envelope({ jobId, agentId: h.m.id, prompt: v.prompt, ...(v.payload ? { payload: v.payload } : {}), callerWallet: h.a.s.address(v.employer), escrow });
    ctx.act(`${v.employer} sends the envelope for ${jobId}`);
    let r = await agent.execute(env);
    for (let i = 0; i < 20 && r.status === 200 && r.body?.status === 'pending'; i++) {
      await new Promise((x) => setTimeout(x, 500));
      r = await agent.status(jobId);
    }
    const v1 = valid(APS1ResultSchema, r.body);
    ctx.check('APS-EXE-01', (r.status === 200 || r.status === 500) && v1.ok, 'the answer is a valid APS1Result', {
      expected: 'APS1Result',
      actual: `${r.status} ${v1.ok ? 'valid' : v1.why} ${r.text.slice(0, 200)}`,
    });
    const res = (v1 as { data: APS1Result }).data;
    ctx.check('APS-EXE-01', res.jobId === jobId && res.agentId === h.m.id, 'the result is for this job and agent', { expected: `${jobId} / ${h.m.id}`, actual: `${res.jobId} / ${res.agentId}` });
    ctx.check('APS-EXE-01', res.onChain === undefined || res.onChain.chainId === h.a.s.chainId, 'onChain.chainId is the chain the job ran on', {
      expected: h.a.s.chainId,
      actual: res.onChain?.chainId,
    });
    const st = await agent.status(jobId);
    ctx.expectEqual('APS-EXE-01', st.body, r.body, 'GET /status/:jobId answers the same result');
    ctx.expectEqual('APS-EXE-01', (await agent.status(freshJobId('never'))).status, 404, 'an unknown jobId answers 404');
    if (res.status !== 'success') throw new Indeterminate('APS-EXE-04', `the agent answered ${res.status} (${res.error ?? ''}); the settlement path cannot be followed`);
    await checkReportedTxs(ctx, h, res, 'APS-EXE-04');
    const { a } = h;
    if (escrow.method === 'nexus-escrow') {
      const job0 = await a.s.read(a.c.nexus, nexusAbi, 'getJob', [BigInt(escrow.onChainId)]);
      ctx.check('APS-EXE-04', job0.status === 2 && job0.worker.toLowerCase() === h.wallet.toLowerCase(), 'the NexusV2 job is Completed (the worker delivered)', {
        expected: 'Completed',
        actual: P.statuses.job[job0.status],
      });
    }
    const proof = await checkProof(ctx, h, res, env, escrow, { prf04: true });
    if (escrow.method === 'nexus-escrow') {
      const job = await a.s.read(a.c.nexus, nexusAbi, 'getJob', [BigInt(escrow.onChainId)]);
      const ruling = judge({ status: job.status, proof: proof && { verified: true, matched: proof.matched, agentIsWorker: true } }, h.m.proofEnabled);
      const w0 = await a.s.balanceOf(h.token, h.wallet);
      ctx.act(`the judge rules: ${ruling}`);
      const s = await actor(a, 'judge').send(ruling, nexusCall(a.c, ruling === 'settle' ? 'settleJob' : 'refundJob', BigInt(escrow.onChainId)));
      const got = (await a.s.balanceOf(h.token, h.wallet)) - w0;
      if (ruling === 'settle')
        ctx.check('APS-EXE-04', s.ok && got === h.price - platformFee(h.price, intent(ctx).platformFeeBps), 'settled: the agent is paid the price minus the 8% fee', {
          expected: h.price - platformFee(h.price, intent(ctx).platformFeeBps),
          actual: got,
        });
    } else if (escrow.method === 'stream-milestone') {
      const ms = await a.s.read(a.c.stream, streamAbi, 'getMilestone', [BigInt(escrow.onChainId), 0n]);
      ctx.expectEqual('APS-EXE-04', P.statuses.milestone[ms.status], 'Submitted', 'the stream’s first milestone is Submitted');
      const w0 = await a.s.balanceOf(h.token, h.wallet);
      const ok = await actor(a, v.employer).send('approve milestone 0', streamCall(a.c, 'approveMilestone', BigInt(escrow.onChainId), 0n));
      const got = (await a.s.balanceOf(h.token, h.wallet)) - w0;
      ctx.check('APS-EXE-04', ok.ok && got === settleMilestone(h.price, intent(ctx).platformFeeBps).toAgent, 'approved: the agent is paid the milestone minus 8%', {
        expected: settleMilestone(h.price, intent(ctx).platformFeeBps).toAgent,
        actual: got,
      });
    }
  },
});

const FORGERIES = ['no-escrow', 'other-worker', 'too-small', 'unknown-job', 'wrong-contract', 'foreign-tx', 'finished-job', 'expired-job'] as const;

/**
 * A NexusV2 job for the agent whose deadline the chain has passed by at least two seconds (a one-second
 * job, then blocks until the latest block's time is past it): it can no longer be completed
 * (APS-PROF-06, -09), whichever way an agent compares the deadline with the chain's clock.
 */
async function expiredJob(ctx: RunContext, h: Hire, employer: string): Promise<Escrow> {
  const { a } = h;
  const escrow = await pay(h, employer, 'nexus-escrow', h.price, { duration: 1n });
  const { deadline } = await a.s.read(a.c.nexus, nexusAbi, 'getJob', [BigInt(escrow.onChainId)]);
  // With clock control one block at deadline + 2 does it; without, blocks follow the wall clock (seconds per run).
  if (hasCapability(ctx.target, 'clock-control')) {
    await mineAt(a, deadline + 2n);
    return escrow;
  }
  for (let i = 0; i < 8; i++) {
    if ((await a.s.public.getBlock({ blockTag: 'latest' })).timestamp > deadline + 1n) return escrow;
    if (i > 2) await new Promise((x) => setTimeout(x, 1000));
    await actor(a, employer).send('a transaction (a new block) after the deadline', { address: h.token, abi: tokenAbi, functionName: 'approve', args: [a.c.reputation, BigInt(i)] });
  }
  throw new Indeterminate('APS-EXE-02', `the chain's clock did not pass job #${escrow.onChainId}'s deadline ${deadline}`);
}

export const executeUnpaid = defineScenario({
  kind: 'property',
  id: 'execute-unpaid',
  title:
    'Every unpaid or forged escrow in every run (none, another worker’s job, too small, unknown id, another contract, a transaction that did not create it, a finished job, a job past its deadline): refused, nothing run, no transaction',
  requirements: ['APS-EXE-02'],
  ...AGENT,
  roles: [...ROLES, 'vendor1'],
  arbitrary: () => fc.record({ order: fc.shuffledSubarray([...FORGERIES], { minLength: FORGERIES.length }), employer: fc.constantFrom('buyer1', 'buyer2') }),
  async run(ctx, v) {
    const agent = agentOf(ctx);
    const h = await hire(ctx, agent, 'APS-EXE-02');
    if (h.price === 0n) throw new Indeterminate('APS-EXE-02', 'a free agent needs no payment');
    const { a } = h;
    const caller = a.s.address(v.employer);
    const good = h.methods.includes('nexus-escrow') ? await pay(h, v.employer, 'nexus-escrow', h.price) : await pay(h, v.employer, h.methods[0]!, h.price);
    for (const kind of v.order) {
      let escrow: Escrow | undefined;
      if (kind === 'other-worker') escrow = await pay(h, v.employer, good.method, h.price, { worker: a.s.address('vendor1') });
      if (kind === 'too-small') escrow = await pay(h, v.employer, good.method, h.price - 1n);
      if (kind === 'unknown-job') {
        if (good.method === 'direct-transfer') continue;
        escrow = { ...good, onChainId: good.onChainId + 1_000_000 };
      }
      if (kind === 'wrong-contract') escrow = { ...good, contractAddress: a.c.reputation };
      if (kind === 'foreign-tx') {
        const t = await actor(a, v.employer).send('an unrelated approve', { address: h.token, abi: tokenAbi, functionName: 'approve', args: [a.c.reputation, 1n] });
        escrow = { ...good, txHash: (t as { hash: Hex }).hash };
      }
      if (kind === 'expired-job') {
        if (good.method !== 'nexus-escrow') continue;
        escrow = await expiredJob(ctx, h, v.employer);
      }
      if (kind === 'finished-job') {
        if (good.method !== 'nexus-escrow') continue;
        escrow = await pay(h, v.employer, 'nexus-escrow', h.price);
        await actor(a, 'judge').send('refund (the job is finished)', nexusCall(a.c, 'refundJob', BigInt(escrow.onChainId)));
      }
      const jobId = freshJobId(`forged-${kind}`);
      const nonce0 = await nonceOf(a, h.wallet);
      ctx.act(`${v.employer} sends an envelope with ${kind === 'no-escrow' ? 'no escrow' : `a ${kind} escrow`}`);
      const r = await agent.execute(envelope({ jobId, agentId: h.m.id, prompt: 'pay me later', callerWallet: caller, ...(escrow ? { escrow } : {}) }));
      ctx.check('APS-EXE-02', r.status >= 400 && r.status < 500, `${kind}: refused with a 4xx`, { expected: '4xx', actual: `${r.status} ${r.text.slice(0, 200)}` });
      ctx.expectEqual('APS-EXE-02', (await agent.status(jobId)).status, 404, `${kind}: nothing ran`);
      ctx.expectEqual('APS-EXE-02', await nonceOf(a, h.wallet), nonce0, `${kind}: the agent sent no transaction`);
    }
    // The refusals are not blanket: the honest payment runs.
    const ok = await agent.execute(envelope({ jobId: freshJobId('paid'), agentId: h.m.id, prompt: 'paid task', callerWallet: caller, escrow: good }));
    ctx.check('APS-EXE-02', ok.status === 200, 'a real payment to the agent runs', { expected: 200, actual: `${ok.status} ${ok.text.slice(0, 200)}` });
  },
});

export const escrowReuse = defineScenario({
  kind: 'property',
  id: 'escrow-reuse',
  title: 'One escrow pays for one job (NexusV2 job and direct transfer, every run): a second job on it is refused; resending the same envelope answers the same result with no new transaction',
  requirements: ['APS-EXE-03'],
  ...AGENT,
  roles: ROLES,
  arbitrary: () => fc.record({ order: fc.shuffledSubarray<PaymentMethod>(['nexus-escrow', 'direct-transfer'], { minLength: 2 }), employer: fc.constantFrom('buyer1', 'buyer2') }),
  async run(ctx, v) {
    const agent = agentOf(ctx);
    const h = await hire(ctx, agent, 'APS-EXE-03');
    const methods = v.order.filter((m) => h.methods.includes(m));
    if (!methods.length) throw new Indeterminate('APS-EXE-03', `the agent takes neither a NexusV2 job nor a direct transfer (${h.methods.join(', ')})`);
    for (const method of methods) {
      const escrow = await pay(h, v.employer, method, h.price);
      const env = envelope({ jobId: freshJobId('once'), agentId: h.m.id, prompt: 'do it once', callerWallet: h.a.s.address(v.employer), escrow });
      const r1 = await agent.execute(env);
      if (r1.status !== 200) throw new Indeterminate('APS-EXE-03', `the first, paid execution answered ${r1.status}`);
      const nonce0 = await nonceOf(h.a, h.wallet);
      const second = freshJobId('twice');
      ctx.act(`${v.employer} sends another job (${second}) naming the same ${method}`);
      const r2 = await agent.execute({ ...env, jobId: second });
      ctx.check('APS-EXE-03', r2.status >= 400 && r2.status < 500, `a second job on a spent ${method} is refused`, { expected: '4xx', actual: `${r2.status} ${r2.text.slice(0, 200)}` });
      ctx.expectEqual('APS-EXE-03', (await agent.status(second)).status, 404, 'the second job did not run');
      ctx.act(`${v.employer} resends the first envelope`);
      const r3 = await agent.execute(env);
      ctx.check('APS-EXE-03', r3.status === 200 && JSON.stringify(r3.body) === JSON.stringify(r1.body), 'resending the same envelope answers the same result', {
        expected: r1.text.slice(0, 160),
        actual: `${r3.status} ${r3.text.slice(0, 160)}`,
      });
      ctx.expectEqual('APS-EXE-03', await nonceOf(h.a, h.wallet), nonce0, 'no new transaction');
    }
  },
});
