/**
 * APS-1 under load (`amh load --protocol aps1`): every load agent is an employer with a key of its
 * own (funded with the agent's token and gas money by the target's funder role, NexusV2 allowed to
 * pull its token once) and a judge key of its own (gas money only), hiring the target's `aps1-agent`.
 * One iteration is one job paid through the NexusV2 escrow (agents/employer.ts, agents/chain-actor.ts,
 * agents/clients.ts): the employer negotiates (proposes the agent's floor price, which a negotiable
 * agent accepts; else pays the base price), creates and funds the job for the agent's wallet, sends
 * the execution envelope naming the escrow (the same envelope again when its answer is lost or is a
 * 5xx: the agent's steps are idempotent), gets `status: success` with a matched proof, sees the job
 * Completed on chain, and its judge settles: the worker gets the budget less the platform fee, which
 * stays in the escrow's accrued fees.
 *
 * Conservation, exact to the unit: the employers', the worker's and the escrow's token add up to what
 * they held; the employers spent exactly the budgets they saw locked; the worker gained what the
 * settlements seen paid it; the escrow's balance gained the budgets not settled plus the fees, its
 * `escrowed` the budgets not settled and its `accumulatedFees` the fees, each fee the profile's share
 * of its budget (protocol/fees.ts); the chain holds one JobCreated per job seen (same ids, amounts)
 * and one JobSettled per settlement seen, and no job of the run was refunded or timed out.
 */
import type { Address } from 'viem';
import { addressSet, balancesOf, blockNumber, chainClients, eventLogs, fundAgents, fundGas, viewMany } from '../../harness/load/chain.ts';
import { defineLoad, equalCheck, expectStatus, LoadFailure, ledgerSum, sendPayment, unlessOutOfFunds, type IterationContext, type LedgerEntry, type LoadEnv } from '../../harness/load/pack.ts';
import { endpointOf, TargetError } from '../../harness/target/schema.ts';
import { viemActor, type ChainActor } from './agents/chain-actor.ts';
import { agentClient } from './agents/clients.ts';
import { allowAll, envelope, escrowNexus, NO_JOB_CREATED, nexusCall, negotiation, type Aps1Contracts } from './agents/employer.ts';
import { nexusAbi } from './protocol/abi.ts';
import { platformFee } from './protocol/fees.ts';
import { usdToUnits } from './protocol/price.ts';
import { APS1ManifestSchema, APS1ResultSchema } from './protocol/schemas.ts';

/** Jobs' worth of the token each employer gets per planned second. */
const JOBS_PER_SECOND_FUNDED = 20n;
/** Gas money per agent key. */
const GAS_WEI = 10n ** 17n;
/** The job's deadline: far beyond any iteration. */
const DEADLINE_SECONDS = 3600n;
/** NexusV2's Completed status (protocol/profile.json statuses.job). */
const COMPLETED = 2;

const eventOf = (name: string) => nexusAbi.find((x) => x.type === 'event' && x.name === name) as Extract<(typeof nexusAbi)[number], { type: 'event' }>;

async function setup(env: LoadEnv) {
  const agentUrl = endpointOf(env.target, 'aps1-agent')!.url;
  const spec = env.target.chains.find((c) => c.contracts.paypolNexusV2 && c.contracts.paypolStreamV1 && c.contracts.aiProofRegistry && c.contracts.paypolReputation);
  if (!spec) throw new TargetError('no target chain declares the APS-1 contracts (paypolNexusV2, paypolStreamV1, aiProofRegistry, paypolReputation)');
  const contracts: Aps1Contracts = {
    nexus: spec.contracts.paypolNexusV2 as Address,
    stream: spec.contracts.paypolStreamV1 as Address,
    proof: spec.contracts.aiProofRegistry as Address,
    reputation: spec.contracts.paypolReputation as Address,
  };
  const c = chainClients(env.target, spec.chainId);
  const m = await agentClient(agentUrl, env.fetch).manifest();
  const manifest = APS1ManifestSchema.safeParse(m.body);
  if (m.status !== 200 || !manifest.success) throw new TargetError(`aps1-agent ${agentUrl}/manifest answered ${m.status} without a valid APS1Manifest`);
  const { id: agentId, walletAddress, pricing } = manifest.data;
  const worker = walletAddress as Address;
  const tokenSpec = manifest.data.supportedTokens.find((t) => t.symbol === 'AlphaUSD') ?? manifest.data.supportedTokens[0]!;
  const token = tokenSpec.address as Address;
  const negotiate = pricing.negotiable && manifest.data.endpoints.negotiate !== undefined;
  const usd = negotiate ? (pricing.minPrice ?? pricing.basePrice) : pricing.basePrice;
  const price = usdToUnits(usd, tokenSpec.decimals);
  if (!price) throw new TargetError(`the agent's price ${usd} USD has no exact non-zero value in ${tokenSpec.decimals}-decimal base units`);
  const feeBps = (await c.public.readContract({ address: contracts.nexus, abi: nexusAbi, functionName: 'platformFeeBps' })) as bigint;

  const employerKeys = Array.from({ length: env.agents }, (_, i) => env.key(i, 'employer'));
  const judgeKeys = Array.from({ length: env.agents }, (_, i) => env.key(i, 'judge'));
  const employers = employerKeys.map((k) => k.address);
  await fundGas(c, [...employers, ...judgeKeys.map((k) => k.address)], GAS_WEI);
  const each = await fundAgents(c, token, employers, price * JOBS_PER_SECOND_FUNDED * BigInt(env.seconds), price, env.log);
  const employerActors: ChainActor[] = employerKeys.map((k) => viemActor(k.privateKey, spec.rpcUrl, spec.chainId));
  const judgeActors: ChainActor[] = judgeKeys.map((k) => viemActor(k.privateKey, spec.rpcUrl, spec.chainId));
  for (const [i, a] of employerActors.entries()) {
    const r = await allowAll(a, token, contracts.nexus);
    if (!r.ok) throw new TargetError(`load employer ${i} could not allow NexusV2 to pull ${token}: ${r.reason}`);
  }

  const snapshot = async () => {
    const perEmployer = await balancesOf(c, token, employers);
    const [workerHeld, nexusHeld] = await balancesOf(c, token, [worker, contracts.nexus]);
    const [escrowed] = (await viewMany(c, contracts.nexus, nexusAbi, 'escrowed', [[token]])) as bigint[];
    const [fees] = (await viewMany(c, contracts.nexus, nexusAbi, 'accumulatedFees', [[token]])) as bigint[];
    return { employers: perEmployer.reduce((a, b) => a + b, 0n), perEmployer, worker: workerHeld!, nexus: nexusHeld!, escrowed: escrowed!, fees: fees! };
  };
  const fromBlock = (await blockNumber(c)) + 1n;
  const before = await snapshot();
  // Job ids unique across runs against the same long-lived agent.
  const runTag = `load-${env.seed}-${Date.now().toString(36)}`;
  const counts = new Array<number>(env.agents).fill(0);

  return {
    describe: `${env.agents} employers funded with ${each} base units of ${tokenSpec.symbol} each, ${env.agents} judges; agent '${agentId}' (wallet ${worker}) at ${usd} USD = ${price} base units${negotiate ? ' (its floor, negotiated)' : ''}; platform fee ${feeBps} bps`,
    async iterate(agent: number, ctx: IterationContext) {
      const client = agentClient(agentUrl, ctx.fetch);
      const jobId = `${runTag}-${agent}-${counts[agent]!++}`;
      if (negotiate) {
        const n = await client.negotiate(negotiation('propose', jobId, usd));
        expectStatus(n.status, 200, 'negotiate', n.body);
        if (n.body?.type !== 'accept' || n.body?.price !== usd) throw new LoadFailure('not-accepted', `a proposal at the agent's floor ${usd} USD got ${JSON.stringify(n.body)?.slice(0, 200)}`);
      }
      const employer = employerActors[agent]!;
      // A createJob that reverted moved nothing: an employer whose tokens ran out stops. One that
      // was mined without its event may have taken the budget: that stays the target's failure.
      let mined = false;
      const funds = {
        step: 'createJob',
        needed: price,
        balance: async () => (await balancesOf(c, token, [employers[agent]!]))[0]!,
        moved: async () => mined,
      };
      const esc = await unlessOutOfFunds(funds, async () => {
        const e = await escrowNexus(employer, contracts, { worker, judge: judgeActors[agent]!.address, token, amount: price, duration: DEADLINE_SECONDS });
        if ('refused' in e) {
          mined = e.refused === NO_JOB_CREATED;
          throw new LoadFailure('create-job-failed', `createJob: ${e.refused}`.slice(0, 300));
        }
        return e;
      });
      const onChainId = BigInt(esc.onChainId);
      ctx.ledger('escrowed', price, onChainId.toString());
      // One envelope, sent again as it was when its answer is lost or a 5xx (the agent finishes or returns the stored result).
      const env1 = envelope({ jobId, agentId, prompt: `Analyze load job ${jobId}`, callerWallet: employer.address, escrow: esc });
      const { a: r } = await sendPayment(async () => {
        const a = await client.execute(env1);
        return { res: { status: a.status } as Response, a };
      });
      expectStatus(r.status, 200, 'execute', r.body);
      const result = APS1ResultSchema.safeParse(r.body);
      if (!result.success) throw new LoadFailure('bad-result', `execute answered 200 without a valid APS1Result: ${r.text.slice(0, 200)}`);
      if (result.data.status !== 'success') throw new LoadFailure(`result-${result.data.status}`, `execute answered status ${result.data.status}${result.data.error ? `: ${result.data.error}` : ''}`);
      if (manifest.data.proofEnabled && result.data.proof?.matched !== true)
        throw new LoadFailure('proof-not-matched', `a proof-enabled agent's result carries proof ${JSON.stringify(result.data.proof)}`);
      const job = (await c.public.readContract({ address: contracts.nexus, abi: nexusAbi, functionName: 'getJob', args: [onChainId] })) as { status: number };
      if (Number(job.status) !== COMPLETED) throw new LoadFailure('not-completed', `job ${onChainId} is in status ${job.status} after a successful execution (Completed = ${COMPLETED})`);
      const s = await judgeActors[agent]!.send(`settleJob(${onChainId})`, nexusCall(contracts, 'settleJob', onChainId));
      if (!s.ok) throw new LoadFailure('settle-failed', `settleJob(${onChainId}): ${s.reason}`.slice(0, 300));
      const ev = s.events.find((e) => e.eventName === 'JobSettled')?.args as { workerPay: bigint; fee: bigint } | undefined;
      if (!ev) throw new LoadFailure('no-settled-event', `settleJob(${onChainId}) mined without JobSettled (${s.hash})`);
      ctx.ledger('settled', price, onChainId.toString());
      ctx.ledger('worker-paid', ev.workerPay, onChainId.toString());
      ctx.ledger('fee', ev.fee, onChainId.toString());
      const fee = platformFee(price, feeBps);
      if (ev.fee !== fee || ev.workerPay !== price - fee)
        throw new LoadFailure('wrong-fee', `JobSettled pays ${ev.workerPay} + fee ${ev.fee} on a budget of ${price}; ${feeBps} bps is ${price - fee} + ${fee}`);
    },
    async conservation(ledger: readonly LedgerEntry[]) {
      const toBlock = await blockNumber(c);
      const after = await snapshot();
      const ours = addressSet(employers);
      const created = (await eventLogs(c, contracts.nexus, eventOf('JobCreated'), fromBlock, toBlock)).filter((l) => ours.has((l.args as { employer: string }).employer.toLowerCase()));
      const jobIds = new Set(created.map((l) => (l.args as { jobId: bigint }).jobId.toString()));
      const ofOurs = async (name: string) => (await eventLogs(c, contracts.nexus, eventOf(name), fromBlock, toBlock)).filter((l) => jobIds.has((l.args as { jobId: bigint }).jobId.toString()));
      const settled = await ofOurs('JobSettled');
      const ended = [...(await ofOurs('JobRefunded')), ...(await ofOurs('TimeoutClaimed'))];
      const refs = (kind: string) => ledger.filter((e) => e.kind === kind).map((e) => e.ref);
      const escrowedRefs = refs('escrowed');
      const settledRefs = new Set(refs('settled'));
      const open = ledger.filter((e) => e.kind === 'escrowed' && !settledRefs.has(e.ref)).reduce((a, e) => a + e.amount, 0n);
      const fees = ledgerSum(ledger, 'fee');
      const expectedFees = ledger.filter((e) => e.kind === 'settled').reduce((a, e) => a + platformFee(e.amount, feeBps), 0n);
      const sumOf = (ls: readonly { args: unknown }[], field: string) => ls.reduce((a, l) => a + (l.args as Record<string, bigint>)[field]!, 0n);
      const mismatched = employers.filter((_, i) => before.perEmployer[i]! - after.perEmployer[i]! !== ledgerSum(ledger, 'escrowed', i)).length;
      const total = (s: typeof before) => s.employers + s.worker + s.nexus;
      return {
        holdings: [
          { name: `employers' ${tokenSpec.symbol} (${env.agents})`, before: before.employers, after: after.employers },
          { name: `worker's ${tokenSpec.symbol} ${worker}`, before: before.worker, after: after.worker },
          { name: `NexusV2's ${tokenSpec.symbol} ${contracts.nexus}`, before: before.nexus, after: after.nexus },
          { name: 'NexusV2 escrowed', before: before.escrowed, after: after.escrowed },
          { name: 'NexusV2 accumulatedFees', before: before.fees, after: after.fees },
        ],
        checks: [
          equalCheck("employers' + worker's + NexusV2's token hold what they held before", total(before), total(after), 'money created or lost'),
          equalCheck("employers' spend = budgets the employers saw locked", ledgerSum(ledger, 'escrowed'), before.employers - after.employers),
          equalCheck('employers whose spend differs from their own ledger', 0, mismatched),
          equalCheck("worker's gain = pay of the settlements seen", ledgerSum(ledger, 'worker-paid'), after.worker - before.worker),
          equalCheck("NexusV2's token gain = budgets not settled + fees seen", open + fees, after.nexus - before.nexus),
          equalCheck('NexusV2 escrowed gain = budgets seen locked and not settled', open, after.escrowed - before.escrowed, 'the escrow holds exactly the unfinished jobs'),
          equalCheck('NexusV2 accumulatedFees gain = fees seen', fees, after.fees - before.fees),
          equalCheck(`fees seen = ${feeBps} bps of each settled budget, rounded down`, expectedFees, fees),
          equalCheck('JobCreated on chain by the employers = jobs seen locked', escrowedRefs.length, created.length, 'more on chain: a job funded without its employer seeing it, or twice'),
          equalCheck('distinct jobs = jobs seen locked', escrowedRefs.length, new Set(escrowedRefs).size),
          equalCheck('JobCreated on chain for a job nobody saw locked', 0, [...jobIds].filter((id) => !escrowedRefs.includes(id)).length),
          equalCheck('budget locked on chain = budgets seen locked', ledgerSum(ledger, 'escrowed'), sumOf(created, 'budget')),
          equalCheck('JobSettled on chain = settlements seen', settledRefs.size, settled.length),
          equalCheck('worker pay settled on chain = pay seen', ledgerSum(ledger, 'worker-paid'), sumOf(settled, 'workerPay')),
          equalCheck('jobs of the run refunded or timed out on chain (none was)', 0, ended.length),
        ],
      };
    },
  };
}

export default defineLoad({
  protocol: 'aps1',
  iteration:
    "one job through the NexusV2 escrow: the employer negotiates (proposes the agent's floor), creates and funds the job for the agent's wallet, sends the execution envelope; the agent commits its plan hash, runs, verifies and completes the job; the employer's judge settles (worker paid the budget less the platform fee)",
  endpoints: ['aps1-agent'],
  setup,
});
