/**
 * APS-1 on the real stack for `amh simulate --engine stack`: the tempo anvil chain with the pack's
 * contracts (NexusV2, AIProofRegistry) carrying the economy's constants (server/apply-profile.ts);
 * every simulated seller one reference agent server (server/agent-server.ts) on the seller's own key,
 * so its wallet is paid by the escrow and signs its commitments and completions: the honest worker
 * for work it does right, the reference's shortcut worker (`mismatching`) for bad work, the failing
 * worker for a failure (a sloppy seller has both of the first two, on the same key; each is started
 * on first use). Every buyer escrows with the scripted employer (agents/employer.ts) from its own
 * key and sends the execution envelope with the agent client; the task's judge (the reviewer drawn,
 * else the market's judge account) settles or refunds with its own key.
 *
 * Each task runs the lifecycle the model runs (simulation.ts), with the answers observed for real:
 * the job read back after createJob, the execution's HTTP answer and the evidence on chain (the
 * job's status, its commitment's verification), the buyer's own look at the result (is it the
 * analysis of the task it asked for?), the ruling's payout read from JobSettled / JobRefunded /
 * TimeoutClaimed and checked against the token's Transfer logs of the same receipt, and the rating
 * read from WorkerRated. A timeout moves the chain past the job's deadline
 * (evm_setNextBlockTimestamp); chain time never goes back, so later tasks run that much later on
 * chain (their outcomes do not depend on it).
 *
 * Money on chain: every agent's AlphaUSD; the escrow's account is what NexusV2 gained in AlphaUSD
 * since the start less the fees it accrued since then, and the fee account is those fees
 * (`accumulatedFees`). NexusV2 pays workers and employers directly: it owes no agent anything.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Address, Hex } from 'viem';
import { createChainClients, rpcCall } from '../../harness/chain/index.ts';
import { fundByTransfer, runPlanAsync, type SimTask, type StackEnv, type StackMarket, type TaskPlan } from '../../harness/sim/pack.ts';
import { type ChainActor, type SendResult, eventOf, viemActor } from './agents/chain-actor.ts';
import { agentClient } from './agents/clients.ts';
import { allowAll, envelope, type Escrow, escrowNexus, nexusCall, rateCall } from './agents/employer.ts';
import type { Evidence } from './agents/judge.ts';
import { honestAnalysis, type WorkerStrategy } from './agents/workers.ts';
import { nexusAbi, proofAbi, tokenAbi } from './protocol/abi.ts';
import { unitsToUsd, usdToUnits } from './protocol/price.ts';
import type { TaskSpec } from './protocol/proof.ts';
import { applyProfileConstants } from './server/apply-profile.ts';
import { type AgentServer, startAgentServer } from './server/agent-server.ts';
import { aps1Addresses, aps1Tokens } from './server/stack.ts';
import { type Answer, type Aps1SimProfile, type Ask, aps1ProfileOfSim, type Execution, type Payout, lifecycle, type Work } from './simulation.ts';

/** Gas for every simulated account that sends transactions (buyers, sellers' agents, judges). */
const GAS = 10n ** 19n;
/** The judge of a job when the economy has no reviewers. */
const MARKET_JUDGE = 'judge:aps1';
const ZERO_ID = `0x${'0'.repeat(64)}`;
/** The worker each kind of work is done by. */
const WORKER_OF: Record<Work, WorkerStrategy> = { good: 'honest', bad: 'mismatching', fail: 'failing' };

/** One `make(key)` per key, made on first use. */
function perKey<T>(make: (key: string) => T): (key: string) => T {
  const made = new Map<string, T>();
  return (key) => {
    let v = made.get(key);
    if (v === undefined) {
      v = make(key);
      made.set(key, v);
    }
    return v;
  };
}

export async function startAps1Market(env: StackEnv): Promise<StackMarket> {
  const chain = env.chains.find((c) => c.profile.id === 'tempo');
  if (!chain) throw new Error('the aps1 simulation needs the tempo chain');
  // The engine reads an agent's money once, from the first of its protocols: AlphaUSD on tempo is
  // not the other packs' base-sepolia USDC, so an agent here must trade on APS-1 only.
  const shared = [...env.buyers, ...env.sellers].filter((a) => a.protocols.length > 1).map((a) => a.population);
  if (shared.length)
    throw new Error(
      `aps1 pays in AlphaUSD on the tempo chain, the other packs in base-sepolia USDC: on the stack engine populations trading on aps1 must trade on it only (protocols: [aps1]); not so: ${[...new Set(shared)].join(', ')}`,
    );
  const profile = env.profile as unknown as Aps1SimProfile;
  const addresses = aps1Addresses(chain);
  const tokens = aps1Tokens(chain);
  const alpha = chain.profile.contracts.alphaUSD as Address;
  if (!alpha) throw new Error('the tempo chain profile has no AlphaUSD');
  const { publicClient } = createChainClients(chain);
  const setGas = (address: string) => rpcCall(chain.rpcUrl, 'anvil_setBalance', [address, `0x${GAS.toString(16)}`]);
  const actorOf = perKey((account): ChainActor => viemActor(env.key(account).privateKey, chain.rpcUrl, chain.chainId));

  await applyProfileConstants(chain, aps1ProfileOfSim(profile));
  const read = <T>(address: Address, abi: readonly unknown[], functionName: string, args: readonly unknown[] = []) =>
    publicClient.readContract({ address, abi: abi as never, functionName, args } as never) as Promise<T>;
  const alphaOf = (address: Address) => read<bigint>(alpha, tokenAbi, 'balanceOf', [address]);
  const feesNow = () => read<bigint>(addresses.nexus, nexusAbi, 'accumulatedFees', [alpha]);
  const nexusAtStart = await alphaOf(addresses.nexus);
  const feesAtStart = await feesNow();

  const servers: AgentServer[] = [];
  const stop = async () => {
    for (const s of servers.splice(0).reverse()) await s.stop().catch(() => undefined);
  };
  try {
    for (const a of [...env.buyers, ...env.sellers]) await setGas(env.key(a.account).address);
    for (const b of env.buyers) {
      const r = await allowAll(actorOf(b.account), alpha, addresses.nexus);
      if (!r.ok) throw new Error(`aps1 simulation: ${b.account} could not allow NexusV2 to pull AlphaUSD: ${r.reason}`);
    }
    const sellerIndex = new Map(env.sellers.map((s, i) => [s.account, i]));
    const agentIdOf = (seller: string) => `sim-seller-${sellerIndex.get(seller)}`;
    /** A judge's actor, given gas on first use. */
    const judgeOf = perKey(async (account: string) => {
      await setGas(env.key(account).address);
      return actorOf(account);
    });
    const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
    /** The seller's agent server for this kind of work (its wallet is the seller's key). */
    const serverOf = perKey(async (key: string): Promise<AgentServer> => {
      const [account, strategy] = key.split('|') as [string, WorkerStrategy];
      const s = env.sellers.find((x) => x.account === account)!;
      const basePrice = unitsToUsd(s.price);
      if (usdToUnits(basePrice) !== s.price) throw new Error(`aps1 simulation: ${account}'s price ${s.price} has no exact USD number`);
      const server = await startAgentServer({
        rpcUrl: chain.rpcUrl,
        chainId: chain.chainId,
        addresses,
        tokens,
        privateKey: env.key(account).privateKey,
        agent: {
          id: agentIdOf(account),
          name: `simulated ${account}`,
          description: `amh simulate seller (${s.strategy})`,
          category: 'analytics',
          version: '1.0.0',
          pricing: { basePrice, currency: 'USD', negotiable: false },
          capabilities: ['sim-task'],
          paymentMethods: ['nexus-escrow'],
          proofEnabled: true,
        },
        strategy,
        host: env.host,
      });
      servers.push(server);
      return server;
    });

    /** Tokens `from` → `to` in a receipt's AlphaUSD Transfer logs. */
    const moved = (r: SendResult, from: Address, to: Address) =>
      r.ok ? r.events.filter((e) => e.eventName === 'Transfer' && same(e.address, alpha) && same(e.args.from, from) && same(e.args.to, to)).reduce((a, e) => a + (e.args.value as bigint), 0n) : 0n;
    const getJob = (id: bigint) =>
      read<{ employer: Address; worker: Address; judge: Address; budget: bigint; platformFee: bigint; deadline: bigint; status: number }>(addresses.nexus, nexusAbi, 'getJob', [id]);

    async function run(task: SimTask): Promise<TaskPlan> {
      const buyer = actorOf(task.buyer);
      const worker = env.key(task.seller).address;
      const judgeAccount = task.reviewer?.account ?? MARKET_JUDGE;
      const judge = await judgeOf(judgeAccount);
      const spec: TaskSpec = { jobId: task.id, agentId: agentIdOf(task.seller), prompt: `simulated task ${task.id} for ${task.buyer}` };
      let escrow: Escrow | undefined;
      const fail = (what: string): never => {
        throw new Error(`aps1 simulation: ${task.id}: ${what}`);
      };
      /** The payout a ruling or a timeout receipt reports, checked against its token transfers. */
      const payout = (r: SendResult, what: string): Payout => {
        if (!r.ok) return fail(`${what} reverted: ${r.reason}`);
        const settled = eventOf(r, 'JobSettled');
        const refunded = eventOf(r, 'JobRefunded') ?? eventOf(r, 'TimeoutClaimed');
        const p: Payout = settled
          ? { toWorker: settled.workerPay as bigint, toEmployer: 0n, toFees: settled.fee as bigint }
          : refunded
            ? { toWorker: 0n, toEmployer: refunded.amount as bigint, toFees: 0n }
            : fail(`${what} emitted neither JobSettled nor JobRefunded`);
        if (moved(r, addresses.nexus, worker) !== p.toWorker || moved(r, addresses.nexus, buyer.address) !== p.toEmployer)
          fail(`${what}: the token transfers do not match the payout ${JSON.stringify(p, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
        return p;
      };
      const answer = async (ask: Ask): Promise<Answer> => {
        if (ask.kind === 'escrow') {
          const e = await escrowNexus(buyer, addresses, { worker, judge: judge.address, token: alpha, amount: task.amount, duration: BigInt(profile.jobDeadlineSeconds) });
          if ('refused' in e) return fail(`createJob refused: ${e.refused}`);
          escrow = e;
          const job = await getJob(BigInt(e.onChainId));
          if (!same(job.employer, buyer.address) || !same(job.worker, worker) || !same(job.judge, judge.address) || job.status !== 0)
            fail(`NexusV2 holds job ${e.onChainId} as (employer ${job.employer}, worker ${job.worker}, judge ${job.judge}, status ${job.status})`);
          return job.budget;
        }
        const jobId = BigInt(escrow!.onChainId);
        switch (ask.kind) {
          case 'timeout': {
            const { deadline } = await getJob(jobId);
            const latest = (await publicClient.getBlock({ blockTag: 'latest' })).timestamp;
            if (latest <= deadline) {
              await rpcCall(chain!.rpcUrl, 'evm_setNextBlockTimestamp', [`0x${(deadline + 1n).toString(16)}`]);
              await rpcCall(chain!.rpcUrl, 'evm_mine', []);
            }
            return payout(await buyer.send('claimTimeout', nexusCall(addresses, 'claimTimeout', jobId)), 'claimTimeout');
          }
          case 'execute': {
            const server = await serverOf(`${task.seller}|${WORKER_OF[ask.work]}`);
            const r = await agentClient(server.url).execute(envelope({ ...spec, callerWallet: buyer.address, escrow: escrow! }));
            const ok = r.status === 200 && r.body?.status === 'success';
            if (ok !== (ask.work !== 'fail')) fail(`the ${WORKER_OF[ask.work]} agent answered ${r.status} ${r.text.slice(0, 300)}`);
            const job = await getJob(jobId);
            const commitmentId = await read<Hex>(addresses.proof, proofAbi, 'getJobCommitment', [jobId]);
            const evidence: Evidence = { status: job.status };
            if (commitmentId !== ZERO_ID) {
              const c = await read<{ agent: Address; verified: boolean; matched: boolean }>(addresses.proof, proofAbi, 'getCommitment', [commitmentId]);
              evidence.proof = { verified: c.verified, matched: c.matched, agentIsWorker: same(c.agent, job.worker) };
            }
            // The buyer's own look: is the result the analysis of the task it asked for?
            const received: Execution['received'] = ok ? (isDeepStrictEqual(r.body.result, honestAnalysis(spec)) ? 'good' : 'bad') : 'none';
            return { evidence, received };
          }
          case 'rule':
            return payout(await judge.send(ask.ruling, nexusCall(addresses, ask.ruling === 'settle' ? 'settleJob' : 'refundJob', jobId)), `${ask.ruling} by ${judgeAccount}`);
          case 'rate': {
            const r = await buyer.send('rate', rateCall(addresses, jobId, ask.rating));
            const ev = eventOf(r, 'WorkerRated');
            if (!ev || !same(ev.worker, worker)) return fail(`rateWorker: ${r.ok ? 'no WorkerRated event for the worker' : r.reason}`);
            return Number(ev.rating);
          }
        }
      };
      return runPlanAsync(lifecycle(task), answer);
    }

    return {
      fund: fundByTransfer(chain, alpha, env.key, 'aps1'),
      run,
      async balances(accounts) {
        const out = new Map<string, bigint>();
        for (const a of accounts) if (!a.startsWith('escrow:') && !a.startsWith('fees:')) out.set(a, await alphaOf(env.key(a).address));
        const fees = (await feesNow()) - feesAtStart;
        if (accounts.includes('escrow:aps1')) out.set('escrow:aps1', (await alphaOf(addresses.nexus)) - nexusAtStart - fees);
        if (accounts.includes('fees:aps1')) out.set('fees:aps1', fees);
        return out;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
