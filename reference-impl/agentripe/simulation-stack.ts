/**
 * Agentripe on the real stack for `amh simulate --engine stack`: the reference server with its own
 * x402 facilitator (server/stack.ts) on the base-sepolia anvil chain, its AI reviewer pointed at the
 * harness's fixture reviewer (agents/reviewer.ts); every simulated seller one ERC-8004 agent it
 * registered itself (its catalog: one async service at its market price), served by the scripted
 * vendor (agents/vendor.ts, EVM signature auth); every buyer pays with the x402 payer
 * (../x402/agents/payer.ts) from its own key and reads results like the scripted buyer
 * (agents/buyer.ts). Each task runs the lifecycle the model runs (simulation.ts), with the answers
 * observed for real: the payment settled into the escrow and recorded as a deposit, the vendor's
 * start and complete (or fail), the reviewer's verdict, the release or refund read back from the
 * escrow's events, the buyer's reclaim after the reclaim delay (chain time moved with
 * evm_increaseTime), and every refund withdrawn by the buyer so it can spend it again.
 *
 * Time: the server, the vendors and the payer read the chain's clock (the server's injectable clock
 * follows the latest block), so the engine's chain time is everyone's. A reclaim moves the chain
 * ahead by the reclaim delay; chain time never goes back, so later tasks run that much later on
 * chain (their outcomes do not depend on it).
 *
 * Reviewers: the task's metadata names it; the fixture reviewer decides by its rule (good results
 * name every key term of the request, bad ones carry REJECT-ME), except for a reviewer that colludes
 * with the task's seller, which approves whatever it is sent (its verdict is scripted).
 *
 * Money on chain, per account: USDC held (`balances`) plus what the escrow owes it
 * (`withdrawableBalance`, `owed`); the escrow's own account: what it gained since the start minus
 * what it owes the simulated agents. The reference escrow takes no fee, so an economy with `escrowFeeBps` runs on the model
 * engine only.
 */
import { parseEventLogs, toEventSelector, type Hex } from 'viem';
import { fiatTokenV2_2Abi } from '../../harness/chain/bindings/index.ts';
import { createChainClients, rpcCall, serviceAccount } from '../../harness/chain/index.ts';
import { fundByTransfer, runPlanAsync, type SimTask, type StackEnv, type StackMarket, type TaskPlan } from '../../harness/sim/pack.ts';
import { createPayer, pickV2 } from '../x402/agents/payer.ts';
import { createBuyer } from './agents/buyer.ts';
import { startFixtureReviewer } from './agents/reviewer.ts';
import { createVendor, honestResult, type Vendor } from './agents/vendor.ts';
import { escrowAbi, identityAbi } from './protocol/abi.ts';
import { formatUsdPrice, toDataUri } from './protocol/agenturi.ts';
import { rejectedResult, reviewByFixtureRule } from './protocol/review-fixture.ts';
import { applyAgentripeConstants } from './server/apply-profile.ts';
import { agentripeAddresses, startAgentripeStack } from './server/stack.ts';
import { type AgentripeSimProfile, type Answer, type Ask, lifecycle } from './simulation.ts';

/** The one service every simulated agent sells. */
const SERVICE = 'sim-task';
/** Gas for every simulated account that sends transactions (sellers register, buyers reclaim and withdraw). */
const GAS = 10n ** 19n;
const DEPOSITED = 1;

/** One `make(account)` per account, made on first use. */
function perAccount<T>(make: (account: string) => T): (account: string) => T {
  const made = new Map<string, T>();
  return (account) => {
    let v = made.get(account);
    if (v === undefined) {
      v = make(account);
      made.set(account, v);
    }
    return v;
  };
}

export async function startAgentripeMarket(env: StackEnv): Promise<StackMarket> {
  const chain = env.chains.find((c) => c.profile.id === 'base-sepolia');
  if (!chain) throw new Error('the agentripe simulation needs the base-sepolia chain');
  const profile = env.profile as unknown as AgentripeSimProfile & { authWindowSeconds: number };
  const { usdc, escrow, identityRegistry } = agentripeAddresses(chain);
  const { publicClient, walletClient } = createChainClients(chain);
  const walletOf = perAccount((account) => walletClient(env.key(account).privateKey));
  const setGas = (address: string) => rpcCall(chain.rpcUrl, 'anvil_setBalance', [address, `0x${GAS.toString(16)}`]);

  // Everyone reads the chain's clock: the latest block's time plus the host time since it was read.
  let offsetMs = 0;
  const syncClock = async () => {
    const b = await publicClient.getBlock({ blockTag: 'latest' });
    offsetMs = Number(b.timestamp) * 1000 - Date.now();
    return b;
  };
  const nowMs = () => Date.now() + offsetMs;
  await syncClock();

  await applyAgentripeConstants(chain, { reviewLimit: profile.reviewLimit, reclaimDelaySeconds: profile.reclaimDelaySeconds, authWindowSeconds: profile.authWindowSeconds });
  // The tasks being run, for the reviewer's script (a colluding reviewer approves its vendors' work).
  const live = new Map<string, SimTask>();
  const reviewer = await startFixtureReviewer({
    host: env.host,
    script: (input) => {
      const meta = (typeof input.taskMetadata === 'string' ? JSON.parse(input.taskMetadata) : input.taskMetadata) as { simTask?: string } | null;
      const task = meta?.simTask ? live.get(meta.simTask) : undefined;
      return task?.reviewer?.colludes ? { approved: true, reason: `${task.reviewer.account} colludes with ${task.sellerPopulation}` } : undefined;
    },
  });
  // Its own facilitator key, so it never races another service (x402's) for nonces.
  const facilitatorKey = serviceAccount('agentripe-sim-facilitator');
  await setGas(facilitatorKey.address);
  let stack: Awaited<ReturnType<typeof startAgentripeStack>>;
  try {
    stack = await startAgentripeStack(chain, {
      host: env.host,
      clock: nowMs,
      review: { type: 'llm', endpoint: reviewer.url, model: 'review-fixture' },
      reviewLimit: profile.reviewLimit,
      authWindowSeconds: profile.authWindowSeconds,
      facilitatorKey: facilitatorKey.privateKey,
    });
  } catch (e) {
    await reviewer.stop();
    throw e;
  }
  const stop = async () => {
    await stack.stop();
    await reviewer.stop();
  };

  try {
    const base = stack.server.url;
    // One agent per seller, registered by the seller's own key (it owns the NFT: releases pay it, and it passes vendor auth).
    const agents = new Map<string, { agentId: bigint; vendor: Vendor }>();
    for (const s of env.sellers) {
      const key = env.key(s.account);
      await setGas(key.address);
      const card = toDataUri({
        name: `simulated ${s.account}`,
        description: `amh simulate seller (${s.strategy})`,
        x402Support: true,
        services: [{ name: 'x402', endpoint: base, catalog: [{ path: SERVICE, price: formatUsdPrice(s.price), type: 'async', description: 'a simulated task' }] }],
      });
      const r = await walletOf(s.account).writeContractSync({ address: identityRegistry, abi: identityAbi, functionName: 'register', args: [card] });
      const ev = parseEventLogs({ abi: identityAbi, eventName: 'Registered', logs: r.logs })[0];
      if (r.status !== 'success' || !ev) throw new Error(`agentripe simulation: ${s.account} could not register its agent (${r.transactionHash})`);
      agents.set(s.account, {
        agentId: ev.args.agentId,
        // The market calls start/complete/fail itself, per the lifecycle; the vendor's own strategy loop is not used.
        vendor: createVendor({ baseUrl: base, agentId: ev.args.agentId, credentials: { privateKey: key.privateKey }, strategy: { kind: 'honest' }, clock: nowMs }),
      });
    }
    for (const b of env.buyers) await setGas(env.key(b.account).address);
    const readerOf = perAccount((account) => createBuyer({ baseUrl: base, privateKey: env.key(account).privateKey, rpcUrl: chain.rpcUrl, identityRegistry }));
    const escrowUsdcAtStart = await publicClient.readContract({ address: usdc, abi: fiatTokenV2_2Abi, functionName: 'balanceOf', args: [escrow] });
    const resolved = [
      toEventSelector(escrowAbi.find((x) => x.type === 'event' && x.name === 'DepositReleased')!),
      toEventSelector(escrowAbi.find((x) => x.type === 'event' && x.name === 'DepositRefunded')!),
    ];

    /** How the escrow resolved a deposit, read from its events since `fromBlock`. */
    async function resolution(taskId: Hex, fromBlock: bigint) {
      const logs = await rpcCall<unknown[]>(chain!.rpcUrl, 'eth_getLogs', [{ address: escrow, fromBlock: `0x${fromBlock.toString(16)}`, toBlock: 'latest', topics: [resolved, taskId] }]);
      const evs = parseEventLogs({ abi: escrowAbi, logs: logs as never });
      if (evs.length !== 1) throw new Error(`agentripe simulation: deposit ${taskId} was resolved ${evs.length} times on chain`);
      return evs[0]!;
    }
    /** A refund seen on chain: `to` the buyer, then withdrawn by the buyer (so the ledger's balance is spendable). */
    async function refunded(task: SimTask, taskId: Hex, fromBlock: bigint): Promise<bigint> {
      const ev = await resolution(taskId, fromBlock);
      if (ev.eventName !== 'DepositRefunded' || ev.args.buyer.toLowerCase() !== env.key(task.buyer).address.toLowerCase())
        throw new Error(`agentripe simulation: ${task.id}: expected a refund to ${task.buyer}, the escrow emitted ${ev.eventName}`);
      const w = await walletOf(task.buyer).writeContractSync({ address: escrow, abi: escrowAbi, functionName: 'withdraw' });
      if (w.status !== 'success') throw new Error(`agentripe simulation: ${task.buyer} could not withdraw its refund (${w.transactionHash})`);
      return ev.args.amount;
    }

    async function run(task: SimTask): Promise<TaskPlan> {
      const agent = agents.get(task.seller)!;
      const buyerKey = env.key(task.buyer);
      const fromBlock = (await syncClock()).number;
      const request = { task_detail: `simulated task ${task.id}`, reviewer_request: `Must mention "${task.id}"`, task_metadata: { simTask: task.id } };
      let taskId: Hex | undefined;
      live.set(task.id, task);
      const answer = async (ask: Ask): Promise<Answer> => {
        if (ask.kind === 'pay') {
          const url = `${base}/${agent.agentId}/${SERVICE}`;
          const shape = { method: 'POST', body: request };
          const payer = createPayer({ privateKey: buyerKey.privateKey, chainId: chain!.chainId, now: async () => BigInt(Math.floor(nowMs() / 1000)) });
          const ch = await payer.challenge(url, shape);
          const req = pickV2(ch, chain!.chainId, usdc);
          if (ch.status !== 402 || !req) throw new Error(`agentripe simulation: ${task.id}: the unpaid request answered ${ch.status} without an exact USDC option`);
          if (BigInt(req.amount) !== task.amount) throw new Error(`agentripe simulation: ${task.seller}'s agent asks ${req.amount}, the market price is ${task.amount}`);
          const { res, body } = await payer.send(url, (await payer.v2Header(req)).header, shape);
          taskId = (body as { taskId?: Hex } | null)?.taskId;
          if (res.status !== 200 || !taskId) throw new Error(`agentripe simulation: ${task.id}: the paid request answered ${res.status} ${JSON.stringify(body)}`);
          const [agentId, depositor, amount, status] = await publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'getDeposit', args: [taskId] });
          if (agentId !== agent.agentId || depositor.toLowerCase() !== buyerKey.address.toLowerCase() || status !== DEPOSITED)
            throw new Error(`agentripe simulation: ${task.id}: the escrow holds deposit ${taskId} as (agent ${agentId}, buyer ${depositor}, status ${status})`);
          return amount;
        }
        const id = taskId!;
        if (ask.kind === 'reclaim') {
          const at = await publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'reclaimableAt', args: [id] });
          const latest = (await syncClock()).timestamp;
          if (at > latest) await rpcCall(chain!.rpcUrl, 'evm_increaseTime', [Number(at - latest)]);
          const r = await walletOf(task.buyer).writeContractSync({ address: escrow, abi: escrowAbi, functionName: 'reclaim', args: [id] });
          if (r.status !== 'success') throw new Error(`agentripe simulation: ${task.id}: the buyer's reclaim reverted (${r.transactionHash})`);
          await syncClock();
          return refunded(task, id, fromBlock);
        }
        const started = await agent.vendor.start(id);
        if (started.status !== 200) throw new Error(`agentripe simulation: ${task.id}: start answered ${started.status} ${JSON.stringify(started.body)}`);
        if (ask.kind === 'fail') {
          const f = await agent.vendor.fail(id, 'the simulated vendor fails');
          if (f.status !== 200) throw new Error(`agentripe simulation: ${task.id}: fail answered ${f.status} ${JSON.stringify(f.body)}`);
          return refunded(task, id, fromBlock);
        }
        const result = ask.good ? honestResult({ productId: SERVICE, taskDetail: request.task_detail, reviewerRequest: request.reviewer_request }) : rejectedResult(ask.attempt);
        const c = await agent.vendor.complete(id, result);
        const approved = (c.body as { review?: { approved?: unknown } } | null)?.review?.approved;
        const action = (c.body as { escrowAction?: unknown } | null)?.escrowAction;
        if (c.status !== 200 || typeof approved !== 'boolean') throw new Error(`agentripe simulation: ${task.id}: complete answered ${c.status} ${JSON.stringify(c.body)}`);
        if (action === 'none' && !approved) return { approved: false, escrow: 'none' };
        if (action === 'refunded' && !approved) return { approved: false, escrow: 'refunded', refunded: await refunded(task, id, fromBlock) };
        if (action !== 'released' || !approved) throw new Error(`agentripe simulation: ${task.id}: complete reports approved=${approved} with escrowAction ${JSON.stringify(action)}`);
        const ev = await resolution(id, fromBlock);
        if (ev.eventName !== 'DepositReleased' || ev.args.agentWallet.toLowerCase() !== env.key(task.seller).address.toLowerCase())
          throw new Error(`agentripe simulation: ${task.id}: expected a release to ${task.seller}, the escrow emitted ${ev.eventName}`);
        // The buyer reads what it received and judges it by the request it wrote.
        const got = await readerOf(task.buyer).result(id);
        if (got.status !== 200 || got.body?.status !== 'completed') throw new Error(`agentripe simulation: ${task.id}: a released task's result answered ${got.status} ${JSON.stringify(got.body)}`);
        const goodReceived = reviewByFixtureRule({ reviewerRequest: request.reviewer_request, taskDetail: request.task_detail, taskMetadata: null, result: got.body.result }).approved;
        return { approved: true, escrow: 'released', credited: ev.args.amount, goodReceived };
      };
      try {
        return await runPlanAsync(lifecycle(task), answer);
      } finally {
        live.delete(task.id);
      }
    }

    const agentAccounts = [...env.buyers.map((b) => b.account), ...env.sellers.map((x) => x.account)];
    const withdrawable = (address: Hex) => publicClient.readContract({ address: escrow, abi: escrowAbi, functionName: 'withdrawableBalance', args: [address] });
    const usdcOf = (address: Hex) => publicClient.readContract({ address: usdc, abi: fiatTokenV2_2Abi, functionName: 'balanceOf', args: [address] });
    return {
      fund: fundByTransfer(chain, usdc, env.key, 'agentripe'),
      run,
      async balances(accounts) {
        const out = new Map<string, bigint>();
        for (const a of accounts) if (!a.startsWith('escrow:') && !a.startsWith('fees:')) out.set(a, await usdcOf(env.key(a).address));
        if (accounts.includes('escrow:agentripe')) {
          // What the escrow holds for this market's open deposits: its gain since the start, less what it owes our agents.
          let owes = 0n;
          for (const a of agentAccounts) owes += await withdrawable(env.key(a).address);
          out.set('escrow:agentripe', (await usdcOf(escrow)) - escrowUsdcAtStart - owes);
        }
        return out;
      },
      async owed(accounts) {
        const out = new Map<string, bigint>();
        for (const a of accounts) out.set(a, await withdrawable(env.key(a).address));
        return out;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
