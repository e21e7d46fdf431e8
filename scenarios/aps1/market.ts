/**
 * Scenarios of an APS-1 marketplace (endpoint `aps1-marketplace`): the listing, hiring each listed
 * agent with the money followed on chain, and the caller's authorization. The marketplace keeps
 * state, so runs are `live` with fresh job ids.
 */
import fc from 'fast-check';
import { parseEventLogs, type Address, type Hex } from 'viem';
import type { z } from 'zod/v3';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { nexusAbi, proofAbi, tokenAbi } from '../../reference-impl/aps1/protocol/abi.ts';
import { platformFee } from '../../reference-impl/aps1/protocol/fees.ts';
import { AUTH_HEADERS, AUTH_WINDOW_SECONDS, executeAuthMessage } from '../../reference-impl/aps1/protocol/marketplace.ts';
import { usdToUnits } from '../../reference-impl/aps1/protocol/price.ts';
import { APS1_PROFILE } from '../../reference-impl/aps1/protocol/profile.ts';
import { planHash } from '../../reference-impl/aps1/protocol/proof.ts';
import { APS1ManifestSchema, APS1ResultSchema, APS1SettlementSchema, type APS1Manifest } from '../../reference-impl/aps1/protocol/schemas.ts';
import { privateKeyToAccount } from 'viem/accounts';
import { intent, actor, aps, freshJobId, marketplaceOf, NEEDS, short } from './lab.ts';

const MARKET = { endpoints: ['aps1-marketplace'], needs: NEEDS, isolation: 'live' as const };
const P = APS1_PROFILE;

async function listing(ctx: Parameters<typeof marketplaceOf>[0], req: string): Promise<APS1Manifest[]> {
  const mk = marketplaceOf(ctx);
  ctx.act('the caller lists the marketplace’s agents (GET /agents)');
  const r = await mk.list();
  const arr = Array.isArray(r.body) ? r.body : null;
  const bad = arr?.map((m, i) => [i, APS1ManifestSchema.safeParse(m)] as const).find(([, x]) => !x.success);
  ctx.check(req, r.status === 200 && arr !== null && arr.length > 0 && !bad, 'GET /agents answers a non-empty array of valid APS1Manifests', {
    expected: '200 [APS1Manifest, …]',
    actual: `${r.status} ${arr ? `${arr.length} entries${bad ? `, entry ${bad[0]}: ${(bad[1] as z.SafeParseError<unknown>).error.issues[0]?.path.join('.')} ${(bad[1] as z.SafeParseError<unknown>).error.issues[0]?.message}` : ''}` : r.text.slice(0, 160)}`,
  });
  return arr as APS1Manifest[];
}

/** The token a listed agent is paid in here: the chain's AlphaUSD when it takes it, else its first. */
export function payToken(m: APS1Manifest, a: Awaited<ReturnType<typeof aps>>): Address {
  return (m.supportedTokens.find((t) => t.address.toLowerCase() === a.alpha.toLowerCase()) ?? m.supportedTokens[0]!).address as Address;
}

/** The listed agent `pick` chooses, with its token and base price (a hire scenario's start). */
async function hireable(ctx: Parameters<typeof marketplaceOf>[0], pick: number) {
  const list = await listing(ctx, 'APS-MKT-02');
  const a = await aps(ctx);
  const m = list[pick % list.length]!;
  const price = usdToUnits(m.pricing.basePrice, 6);
  if (!price) throw new Indeterminate('APS-MKT-02', `${m.id} has no payable price`);
  return { a, m, token: payToken(m, a), price };
}

/**
 * Lets the marketplace pull `token` from `role`: its address comes from GET /health (`address`) or
 * from the 402 it answers a hire the caller has not allowed (profile APS-PROF-12).
 */
export async function letMarketplaceSpend(ctx: Parameters<typeof marketplaceOf>[0], a: Awaited<ReturnType<typeof aps>>, role: string, token: Address, agentId: string): Promise<void> {
  const mk = marketplaceOf(ctx);
  let spender = (await mk.health()).body?.address as Address | undefined;
  if (!spender) {
    const probe = await mk.execute(agentId, { jobId: freshJobId('probe'), prompt: 'probe', callerWallet: a.s.address(role) }, { signer: ctx.key(role) });
    spender = probe.status === 402 ? (probe.body?.marketplace as Address | undefined) : undefined;
  }
  if (!spender) return;
  const have = await a.s.read(token, tokenAbi, 'allowance', [a.s.address(role), spender]);
  if (have < 2n ** 200n) await actor(a, role).send(`approve the marketplace ${short(spender)}`, { address: token, abi: tokenAbi, functionName: 'approve', args: [spender, 2n ** 255n] });
}

export const marketListing = defineScenario({
  kind: 'property',
  id: 'marketplace-listing',
  title: 'GET /agents lists valid manifests with distinct ids, GET /agents/{id} answers the same one (404 unknown), and each equals what the agent itself serves',
  requirements: ['APS-MKT-01'],
  endpoints: ['aps1-marketplace'],
  isolation: 'live',
  arbitrary: () => fc.constant(null),
  async run(ctx) {
    const mk = marketplaceOf(ctx);
    const list = await listing(ctx, 'APS-MKT-01');
    ctx.expectEqual('APS-MKT-01', new Set(list.map((m) => m.id)).size, list.length, 'agent ids are distinct');
    for (const m of list) {
      const one = await mk.get(m.id);
      ctx.expectEqual('APS-MKT-01', one.body, m, `GET /agents/${m.id} answers the listed manifest`);
      ctx.act(`the caller asks ${m.id} itself (${m.endpoints.manifest})`);
      const own = await ctx.fetch(m.endpoints.manifest).then(async (r) => (await r.json().catch(() => null)) as unknown);
      ctx.expectEqual('APS-MKT-01', own, m, `${m.id}: the listed manifest is what the agent serves`);
    }
    const unknown = await mk.get('no-such-agent-here');
    ctx.expectEqual('APS-MKT-01', unknown.status, 404, 'an unknown agent id answers 404');
  },
});

export const marketHire = defineScenario({
  kind: 'property',
  id: 'marketplace-hire',
  title:
    'Hire each listed agent: an unfunded caller is refused; the caller is charged the price into a NexusV2 job paying the agent, which gets the caller’s task; settled on a proven success, otherwise refunded in full; a resent hire answers the same',
  requirements: ['APS-MKT-02', 'APS-MKT-04', 'APS-EXE-01'],
  ...MARKET,
  roles: ['buyer1', 'buyer2'],
  signers: ['attacker'],
  arbitrary: () =>
    fc.record({
      caller: fc.constantFrom('buyer1', 'buyer2'),
      pick: fc.nat(),
      prompt: fc.string({ minLength: 1, maxLength: 80 }).filter((s) => s.trim().length > 0),
      payload: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.oneof(fc.integer(), fc.string({ maxLength: 10 })), { minKeys: 1, maxKeys: 3 }),
    }),
  async run(ctx, v) {
    const mk = marketplaceOf(ctx);
    const { a, m, token, price } = await hireable(ctx, v.pick);
    const caller = a.s.address(v.caller);
    // A caller who signs but has not allowed the marketplace anything: refused with a 4xx (rule 9), nothing moves.
    const poor = a.s.address('attacker');
    const spender = (await mk.health()).body?.address as Address | undefined;
    if (!spender || (await a.s.read(token, tokenAbi, 'allowance', [poor, spender])) === 0n) {
      const snap = await ctx.balancesOf(a.s, token, { caller: poor, agent: m.walletAddress as Address, nexus: a.c.nexus });
      ctx.act(`attacker (who allowed the marketplace nothing) hires ${m.id} in its own name`);
      const r0 = await mk.execute(m.id, { jobId: freshJobId('unfunded'), prompt: v.prompt, callerWallet: poor }, { signer: ctx.key('attacker') });
      ctx.check('APS-MKT-02', r0.status >= 400 && r0.status < 500, 'a hire the caller has not allowed the marketplace to pay is refused with a 4xx', {
        expected: '4xx (402)',
        actual: `${r0.status} ${r0.text.slice(0, 160)}`,
      });
      await ctx.expectNoMoneyMoved('APS-MKT-02', snap, 'the unfunded hire moved no money');
    }
    await letMarketplaceSpend(ctx, a, v.caller, token, m.id);
    const jobId = freshJobId('hire');
    const nexusNext = await a.s.read(a.c.nexus, nexusAbi, 'nextJobId');
    const before = await a.s.balanceOf(token, caller);
    const agentBefore = await a.s.balanceOf(token, m.walletAddress as Address);
    const feesBefore = await a.s.read(a.c.nexus, nexusAbi, 'accumulatedFees', [token]);
    ctx.act(`${v.caller} hires ${m.id} (${m.pricing.basePrice} USD) as ${jobId}`);
    const r = await mk.execute(m.id, { jobId, prompt: v.prompt, payload: v.payload, callerWallet: caller }, { signer: ctx.key(v.caller) });
    const res = APS1ResultSchema.safeParse(r.body);
    const set = APS1SettlementSchema.safeParse(r.body?.settlement);
    ctx.check('APS-MKT-02', r.status === 200 && res.success && set.success && r.body.jobId === jobId, 'the answer is an APS1Result for the job with an APS1Settlement', {
      expected: '200 APS1Result + settlement',
      actual: `${r.status} ${res.success ? '' : `result: ${res.error.issues[0]?.path.join('.')} ${res.error.issues[0]?.message}`} ${set.success ? '' : 'settlement invalid'} ${r.text.slice(0, 200)}`,
    });
    const nexusId = BigInt(r.body.escrow?.onChainId ?? -1);
    const job = await a.s.read(a.c.nexus, nexusAbi, 'getJob', [nexusId]);
    ctx.check(
      'APS-MKT-02',
      nexusId >= nexusNext && job.worker.toLowerCase() === m.walletAddress.toLowerCase() && job.budget === price && job.token.toLowerCase() === token.toLowerCase(),
      'a NexusV2 job created for this hire pays the agent’s wallet the price',
      {
        expected: `new job, worker ${m.walletAddress}, budget ${price}`,
        actual: `job ${nexusId}: worker ${job.worker}, budget ${job.budget}`,
      },
    );
    const settlement = set.data!;
    // What the chain says decides the outcome: settled only on success, completion and a matching proof of the agent.
    let proven = !m.proofEnabled;
    let commitment: { planHash: Hex } | undefined;
    if (m.proofEnabled && res.data?.proof) {
      const rc = await a.s.public.getTransactionReceipt({ hash: res.data.proof.verifyTxHash as Hex }).catch(() => null);
      const ev = rc ? parseEventLogs({ abi: proofAbi, logs: rc.logs.filter((l) => l.address.toLowerCase() === a.c.proof.toLowerCase()), eventName: 'CommitmentVerified' })[0] : undefined;
      const c = ev ? await a.s.read(a.c.proof, proofAbi, 'getCommitment', [ev.args.commitmentId]) : undefined;
      proven = Boolean(c?.matched && c.agent.toLowerCase() === m.walletAddress.toLowerCase() && c.nexusJobId === nexusId);
      commitment = c;
    }
    // The agent's own record of the hire, when it knows the job by the caller's jobId (profile APS-PROF-12):
    // an APS1Result it keeps at /status (success or error), and a plan hash of the caller's whole task.
    if (m.endpoints.status) {
      ctx.act(`the caller asks ${m.id} itself for ${jobId} (${m.endpoints.status})`);
      const own = await ctx
        .fetch(`${m.endpoints.status.replace(/\/+$/, '')}/${encodeURIComponent(jobId)}`)
        .then(async (x) => ({ status: x.status, body: (await x.json().catch(() => null)) as unknown }));
      if (own.status === 200) {
        const kept = APS1ResultSchema.safeParse(own.body);
        ctx.check('APS-EXE-01', kept.success && kept.data.jobId === jobId, `${m.id} keeps a valid APS1Result for the job at /status`, {
          expected: `APS1Result for ${jobId}`,
          actual: kept.success ? `${kept.data.jobId}` : `${kept.error.issues[0]?.path.join('.')} ${kept.error.issues[0]?.message}: ${JSON.stringify(own.body).slice(0, 160)}`,
        });
        if (commitment)
          ctx.expectEqual(
            'APS-MKT-02',
            commitment.planHash.toLowerCase(),
            planHash({ jobId, agentId: m.id, prompt: v.prompt, payload: v.payload }),
            'the agent was given the caller’s task (its plan hash covers prompt and payload)',
          );
      }
    }
    const shouldSettle = res.data?.status === 'success' && proven;
    const paid = before - (await a.s.balanceOf(token, caller));
    const agentGot = (await a.s.balanceOf(token, m.walletAddress as Address)) - agentBefore;
    const fees = (await a.s.read(a.c.nexus, nexusAbi, 'accumulatedFees', [token])) - feesBefore;
    const fee = platformFee(price, intent(ctx).platformFeeBps);
    a.s.recordBalances(`hire ${m.id}`, token, { caller: before, agent: agentBefore }, { caller: before - paid, agent: agentBefore + agentGot });
    if (shouldSettle) {
      ctx.check(
        'APS-MKT-02',
        settlement.type === 'settle' &&
          job.status === 4 &&
          paid === price &&
          agentGot === price - fee &&
          fees === fee &&
          BigInt(settlement.agentPayout) === price - fee &&
          BigInt(settlement.platformFee) === fee,
        'a proven success is settled: caller −price, agent +price−fee, agentPayout + platformFee = price',
        {
          expected: `settle; caller −${price}, agent +${price - fee}, fees +${fee}`,
          actual: `${settlement.type} (${P.statuses.job[job.status]}); caller −${paid}, agent +${agentGot}, fees +${fees}; payout ${settlement.agentPayout} fee ${settlement.platformFee}`,
        },
      );
    } else {
      ctx.check(
        'APS-MKT-02',
        settlement.type === 'refund' && job.status === 5 && paid === 0n && agentGot === 0n,
        `${res.data?.status === 'success' ? 'an unproven success' : `an ${res.data?.status ?? 'invalid'} result`} is refunded and the caller made whole`,
        {
          expected: 'refund; caller ±0, agent ±0',
          actual: `${settlement.type} (${P.statuses.job[job.status]}); caller −${paid}, agent +${agentGot}`,
        },
      );
    }
    const rc = await a.s.public.getTransactionReceipt({ hash: settlement.txHash as Hex }).catch(() => null);
    const ended = rc ? parseEventLogs({ abi: nexusAbi, logs: rc.logs, eventName: settlement.type === 'settle' ? 'JobSettled' : 'JobRefunded' }).find((l) => l.args.jobId === nexusId) : undefined;
    ctx.check('APS-MKT-02', ended !== undefined, 'settlement.txHash is the transaction that ended the job', {
      expected: `${settlement.type === 'settle' ? 'JobSettled' : 'JobRefunded'}(${nexusId})`,
      actual: rc ? 'no such event in it' : 'no such transaction',
    });
    ctx.act(`${v.caller} resends the same hire`);
    const again = await mk.execute(m.id, { jobId, prompt: v.prompt, payload: v.payload, callerWallet: caller }, { signer: ctx.key(v.caller) });
    ctx.check('APS-MKT-02', again.status < 500, 'resending it is answered (no 5xx)', { expected: '2xx/4xx', actual: again.status });
    ctx.check('APS-MKT-04', again.status === 200 && JSON.stringify(again.body) === JSON.stringify(r.body), 'resending it answers the stored answer', {
      expected: `200 ${r.text.slice(0, 120)}`,
      actual: `${again.status} ${again.text.slice(0, 120)}`,
    });
  },
});

// stale: a generated age past the window; stale-edge: 30 s past it, every run (a window a few minutes
// too wide passes every far timestamp).
const AUTH_ATTACKS = ['unsigned', 'stale', 'stale-edge', 'other-signer', 'other-job', 'unrecoverable', 'replay'] as const;

export const marketAuth = defineScenario({
  kind: 'property',
  id: 'marketplace-auth',
  title:
    'Every authorization attack in every run: unsigned, stale (far, and 30 s past the ±300 s window), signed by another wallet, a signature for another job, 65 zero bytes (no key can have signed them), a replayed jobId: no money moves',
  requirements: ['APS-MKT-03'],
  ...MARKET,
  roles: ['buyer1', 'buyer2'],
  signers: ['attacker'],
  arbitrary: () =>
    fc.record({
      order: fc.shuffledSubarray([...AUTH_ATTACKS], { minLength: AUTH_ATTACKS.length }),
      victim: fc.constantFrom('buyer1', 'buyer2'),
      skew: fc.integer({ min: AUTH_WINDOW_SECONDS + 1, max: 86_400 }),
    }),
  async run(ctx, v) {
    const mk = marketplaceOf(ctx);
    const list = await listing(ctx, 'APS-MKT-03');
    const a = await aps(ctx);
    const m = list.find((x) => x.id === 'data-analyzer') ?? list[0]!;
    const token = payToken(m, a);
    const victim = a.s.address(v.victim);
    const victimKey = ctx.key(v.victim);
    const sign = async (key: Hex, jobId: string, prompt: string, ts: number) => ({
      [AUTH_HEADERS.signature]: await privateKeyToAccount(key).signMessage({ message: executeAuthMessage({ agentId: m.id, jobId, callerWallet: victim, prompt, timestamp: ts }) }),
      [AUTH_HEADERS.timestamp]: String(ts),
    });
    // The victim allows the marketplace (so a missing check would really spend its money).
    await letMarketplaceSpend(ctx, a, v.victim, token, m.id);
    const now = Math.floor(Date.now() / 1000);
    const replayJob = freshJobId('replay');
    if (v.order.includes('replay')) {
      const first = await mk.execute(m.id, { jobId: replayJob, prompt: 'once', callerWallet: victim }, { signer: victimKey });
      if (first.status !== 200) throw new Indeterminate('APS-MKT-03', `the victim’s own signed hire answered ${first.status}`);
    }
    // What each attack sends as the caller's authorization (replay: the victim's own, already used).
    const credential = (kind: (typeof AUTH_ATTACKS)[number], jobId: string, prompt: string): Record<string, string> | Promise<Record<string, string>> => {
      if (kind === 'unsigned') return {};
      if (kind === 'unrecoverable') return { [AUTH_HEADERS.signature]: `0x${'00'.repeat(65)}`, [AUTH_HEADERS.timestamp]: String(now) };
      if (kind === 'stale') return sign(victimKey, jobId, prompt, now - v.skew);
      if (kind === 'stale-edge') return sign(victimKey, jobId, prompt, now - (AUTH_WINDOW_SECONDS + 30));
      if (kind === 'other-signer') return sign(ctx.key('attacker'), jobId, prompt, now);
      if (kind === 'other-job') return sign(victimKey, freshJobId('elsewhere'), prompt, now);
      return sign(victimKey, jobId, prompt, now);
    };
    for (const kind of v.order) {
      const jobId = kind === 'replay' ? replayJob : freshJobId(`auth-${kind}`);
      const prompt = kind === 'replay' ? 'once' : 'spend someone else’s money';
      const auth = await credential(kind, jobId, prompt);
      const snap = await ctx.balancesOf(a.s, token, { victim, agent: m.walletAddress as Address, nexus: a.c.nexus });
      ctx.act(`someone hires ${m.id} in ${v.victim}’s name: ${kind}`);
      const r = await mk.execute(m.id, { jobId, prompt, callerWallet: victim }, { auth });
      if (kind === 'replay') ctx.check('APS-MKT-03', r.status < 500, 'a replayed hire is answered without a 5xx', { expected: '2xx (stored answer) or 4xx', actual: r.status });
      else ctx.check('APS-MKT-03', r.status >= 400 && r.status < 500, `${kind}: refused with a 4xx`, { expected: '4xx', actual: `${r.status} ${r.text.slice(0, 160)}` });
      await ctx.expectNoMoneyMoved('APS-MKT-03', snap, `${kind}: no money moved`);
    }
  },
});

export const marketRevert = defineScenario({
  kind: 'property',
  id: 'marketplace-revert',
  title: 'A hire whose blocks a chain revert removed: resending it never answers a NexusV2 job or settlement the chain no longer has',
  requirements: ['APS-MKT-02'],
  ...MARKET,
  roles: ['buyer1', 'buyer2'],
  capabilities: ['snapshot'],
  arbitrary: () => fc.record({ caller: fc.constantFrom('buyer1', 'buyer2'), pick: fc.nat(), extra: fc.integer({ min: 1, max: 4 }) }),
  async run(ctx, v) {
    const mk = marketplaceOf(ctx);
    const { a, m, token, price } = await hireable(ctx, v.pick);
    const caller = a.s.address(v.caller);
    await letMarketplaceSpend(ctx, a, v.caller, token, m.id);
    const jobId = freshJobId('reverted');
    ctx.act('the chain takes a snapshot (a revert will come back to here)');
    const snap = await a.s.test.snapshot();
    ctx.act(`${v.caller} hires ${m.id} as ${jobId}`);
    const first = await mk.execute(m.id, { jobId, prompt: 'a hire the chain will forget', callerWallet: caller }, { signer: ctx.key(v.caller) });
    if (first.status !== 200) throw new Indeterminate('APS-MKT-02', `the hire before the revert answered ${first.status}`);
    ctx.act(`a revert removes the hire's blocks (evm_revert); the chain grows ${v.extra} blocks past that height again`);
    await a.s.test.revert({ id: snap });
    await a.s.test.mine({ blocks: v.extra + 8 });
    const before = await a.s.balanceOf(token, caller);
    ctx.act(`${v.caller} resends the hire ${jobId}`);
    const again = await mk.execute(m.id, { jobId, prompt: 'a hire the chain will forget', callerWallet: caller }, { signer: ctx.key(v.caller) });
    ctx.check('APS-MKT-02', again.status < 500, 'the resent hire is answered without a 5xx', { expected: '2xx (a new hire) or 4xx', actual: `${again.status} ${again.text.slice(0, 160)}` });
    if (again.status >= 300) {
      ctx.expectEqual('APS-MKT-02', await a.s.balanceOf(token, caller), before, 'a refused resend charges nothing');
      return;
    }
    // A 2xx answer names a job and a settlement: both must be on the chain as it is now (rule 8).
    const nexusId = BigInt(again.body?.escrow?.onChainId ?? -1);
    const job = nexusId >= 0n ? await a.s.read(a.c.nexus, nexusAbi, 'getJob', [nexusId]) : undefined;
    ctx.check(
      'APS-MKT-02',
      job !== undefined && job.worker.toLowerCase() === m.walletAddress.toLowerCase() && job.budget === price,
      'the answer’s NexusV2 job exists on the chain now and pays the agent the price',
      {
        expected: `job ${nexusId}: worker ${m.walletAddress}, budget ${price}`,
        actual: job ? `worker ${job.worker}, budget ${job.budget}` : 'no job id',
      },
    );
    const set = APS1SettlementSchema.safeParse(again.body?.settlement);
    const rc = set.success ? await a.s.public.getTransactionReceipt({ hash: set.data.txHash as Hex }).catch(() => null) : null;
    const ended = rc ? parseEventLogs({ abi: nexusAbi, logs: rc.logs, eventName: set.data!.type === 'settle' ? 'JobSettled' : 'JobRefunded' }).find((l) => l.args.jobId === nexusId) : undefined;
    ctx.check('APS-MKT-02', ended !== undefined, 'the answer’s settlement.txHash is on the chain now and ended that job', {
      expected: `a mined JobSettled/JobRefunded(${nexusId})`,
      actual: !set.success ? 'no valid settlement' : rc ? 'no such event in it' : 'no such transaction',
    });
  },
});
