/**
 * APS-1 full-job benchmark: how many complete jobs per second the reference deployment does on a
 * fresh tempo anvil — escrow (the employer's NexusV2 createJob), execute with proof (POST /execute:
 * the agent commits its plan hash, runs, verifies the result hash and completes the job), settle
 * (the judge's settleJob) — against the bare chain calls those jobs need.
 *
 *   npx tsx reference-impl/aps1/bench.ts [--n 30] [--warmup 2] [--rounds 1]
 *
 * 1. Stack: anvil + the APS-1 servers; a scripted employer and judge (viem, one synchronous send
 *    each) and the agent server over HTTP.
 * 2. The transactions the jobs mined are read back from the blocks (what the stack really sent).
 * 3. Bare: on a second fresh chain with the same block times (the commitment id hashes the block
 *    time), the same transactions are signed locally and sent one by one with
 *    eth_sendRawTransactionSync (one round trip each): the least the chain work can cost here.
 *
 * Prints plain text and, last, one JSON line: jobs/s through the stack, jobs/s bare, and the ratio
 * (stack / bare; DESIGN's goal is at least 0.5).
 */
import { parseArgs } from 'node:util';
import { bareReplayer, running, stopAll } from '../../harness/testing/bench-tools.ts';
import { decodeFunctionData, type Abi, type Address, type Hex } from 'viem';
import { createChainClients, roleAccount, roleAccounts, rpcCall, serviceAccount, startChain } from '../../harness/chain/index.ts';
import { viemActor } from './agents/chain-actor.ts';
import { agentClient } from './agents/clients.ts';
import { allowAll, envelope, escrowNexus, nexusCall, type Escrow } from './agents/employer.ts';
import { nexusAbi, proofAbi, tokenAbi } from './protocol/abi.ts';
import { startAps1Stack } from './server/stack.ts';

const { values: flags } = parseArgs({
  options: { n: { type: 'string', default: '30' }, warmup: { type: 'string', default: '2' }, rounds: { type: 'string', default: '1' }, help: { type: 'boolean', default: false } },
});
if (flags.help) {
  console.log('usage: npx tsx reference-impl/aps1/bench.ts [--n 30] [--warmup 2] [--rounds 1]');
  process.exit(0);
}
const N = Number(flags.n);
const WARMUP = Number(flags.warmup);
const ROUNDS = Number(flags.rounds);
if (!Number.isInteger(N) || N < 1 || !Number.isInteger(WARMUP) || WARMUP < 0 || !Number.isInteger(ROUNDS) || ROUNDS < 1) {
  console.error('--n and --rounds must be positive integers and --warmup a non-negative integer');
  process.exit(2);
}

/** A fixed start time and one second per block, on both chains. */
const T0 = 1_800_000_000n;
const GAS = 1000n * 10n ** 18n;

interface RecordedTx {
  from: Address;
  to: Address;
  input: Hex;
  gas: bigint;
  name: string;
}

async function freezeClock(rpcUrl: string): Promise<void> {
  await rpcCall(rpcUrl, 'anvil_setBlockTimestampInterval', [1]);
  await rpcCall(rpcUrl, 'evm_setNextBlockTimestamp', [`0x${T0.toString(16)}`]);
}

function namer(c: Record<string, Address | undefined>) {
  const abis = new Map<string, { label: string; abi: Abi }>([
    [c.paypolNexusV2!.toLowerCase(), { label: 'NexusV2', abi: nexusAbi as Abi }],
    [c.aiProofRegistry!.toLowerCase(), { label: 'AIProofRegistry', abi: proofAbi as Abi }],
    [c.alphaUSD!.toLowerCase(), { label: 'AlphaUSD', abi: tokenAbi as Abi }],
  ]);
  return (to: Address | null, input: Hex) => {
    const k = to ? abis.get(to.toLowerCase()) : undefined;
    if (!k) return `${to}:${input.slice(0, 10)}`;
    try {
      return `${k.label}.${decodeFunctionData({ abi: k.abi, data: input }).functionName}`;
    } catch {
      return `${k.label}:${input.slice(0, 10)}`;
    }
  };
}

/** Phase 1: N jobs through the stack. */
async function stackPhase() {
  const chain = await startChain({ profile: 'tempo' });
  running.push(chain);
  const stack = await startAps1Stack(chain);
  running.push(stack);
  const clients = createChainClients(chain);
  const contracts = {
    nexus: chain.profile.contracts.paypolNexusV2!,
    stream: chain.profile.contracts.paypolStreamV1!,
    proof: chain.profile.contracts.aiProofRegistry!,
    reputation: chain.profile.contracts.paypolReputation!,
  };
  const alpha = chain.profile.contracts.alphaUSD!;
  const employer = viemActor(roleAccount('buyer1').privateKey, chain.rpcUrl, chain.chainId);
  const judge = viemActor(roleAccount('judge').privateKey, chain.rpcUrl, chain.chainId);
  const agent = agentClient(stack.agent.url);
  await freezeClock(chain.rpcUrl);
  const warmFrom = (await clients.publicClient.getBlockNumber({ cacheTime: 0 })) + 1n;
  await allowAll(employer, alpha, contracts.nexus);
  const steps = { escrow: 0, execute: 0, settle: 0 };
  const job = async (i: number, timed: boolean) => {
    let t = performance.now();
    const lap = (k: keyof typeof steps) => {
      const now = performance.now();
      if (timed) steps[k] += now - t;
      t = now;
    };
    const e = await escrowNexus(employer, contracts, { worker: stack.agent.wallet, judge: judge.address, token: alpha, amount: 5_000_000n, duration: 3600n });
    if ('refused' in e) throw new Error(`escrow ${i} refused: ${e.refused}`);
    lap('escrow');
    const r = await agent.execute(envelope({ jobId: `bench-${i}`, agentId: 'data-analyzer', prompt: `bench job ${i}`, callerWallet: employer.address, escrow: e as Escrow }));
    if (r.status !== 200 || r.body?.proof?.matched !== true) throw new Error(`execute ${i}: ${r.status} ${r.text.slice(0, 200)}`);
    lap('execute');
    const s = await judge.send('settle', nexusCall(contracts, 'settleJob', BigInt((e as Escrow).onChainId)));
    if (!s.ok) throw new Error(`settle ${i}: ${s.reason}`);
    lap('settle');
  };
  for (let i = 0; i < WARMUP; i++) await job(-1 - i, false);
  const from = (await clients.publicClient.getBlockNumber({ cacheTime: 0 })) + 1n;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await job(i, true);
  const seconds = (performance.now() - t0) / 1000;
  const to = await clients.publicClient.getBlockNumber({ cacheTime: 0 });
  const name = namer(chain.profile.contracts);
  const minedIn = async (first: bigint, last: bigint) => {
    const out: RecordedTx[] = [];
    for (let b = first; b <= last; b++) {
      const block = await clients.publicClient.getBlock({ blockNumber: b, includeTransactions: true });
      for (const tx of block.transactions) out.push({ from: tx.from, to: tx.to!, input: tx.input, gas: tx.gas, name: name(tx.to, tx.input) });
    }
    return out;
  };
  const warmupTxs = await minedIn(warmFrom, from - 1n);
  const txs = await minedIn(from, to);
  await stopAll();
  return { seconds, perStepMs: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, v / N])), warmupTxs, txs };
}

/** Phase 2: the same transactions, bare, on a fresh chain with the same block times. */
async function barePhase(warmupTxs: RecordedTx[], txs: RecordedTx[]) {
  const chain = await startChain({ profile: 'tempo' });
  running.push(chain);
  const agentKey = serviceAccount('aps1-agent-data-analyzer');
  await rpcCall(chain.rpcUrl, 'anvil_setBalance', [agentKey.address, `0x${GAS.toString(16)}`]);
  const keys = new Map([...roleAccounts.map((r) => [r.address.toLowerCase(), r.privateKey] as const), [agentKey.address.toLowerCase(), agentKey.privateKey]]);
  const send = await bareReplayer(chain, keys, [...warmupTxs, ...txs]);
  await freezeClock(chain.rpcUrl);
  for (const tx of warmupTxs) await send(tx);
  const t0 = performance.now();
  for (const tx of txs) await send(tx);
  const seconds = (performance.now() - t0) / 1000;
  await stopAll();
  return { seconds };
}

async function main(): Promise<number> {
  console.log(`APS-1 full-job benchmark (escrow → execute with proof → settle): n=${N}, warmup=${WARMUP}, rounds=${ROUNDS}`);
  const f = (x: number, d = 1) => x.toFixed(d);
  const rounds: { stack: Awaited<ReturnType<typeof stackPhase>>; rate: number; bareRate: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const stack = await stackPhase();
    const bare = await barePhase(stack.warmupTxs, stack.txs);
    rounds.push({ stack, rate: N / stack.seconds, bareRate: N / bare.seconds });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  const mid = rounds.find((r) => r.rate === median(rounds.map((x) => x.rate)))!;
  const rate = mid.rate;
  const bareRate = median(rounds.map((r) => r.bareRate));
  const ratio = rate / bareRate;
  const breakdown: Record<string, number> = {};
  for (const tx of mid.stack.txs) breakdown[tx.name] = (breakdown[tx.name] ?? 0) + 1;
  for (const k of Object.keys(breakdown)) breakdown[k] = breakdown[k]! / N;
  console.log(`stack: ${N} jobs in ${f(mid.stack.seconds, 2)} s = ${f(rate, 2)} jobs/s (${f((mid.stack.seconds * 1000) / N)} ms each)`);
  console.log(
    `  per step (ms): ${Object.entries(mid.stack.perStepMs)
      .map(([k, v]) => `${k} ${f(v)}`)
      .join(', ')}`,
  );
  console.log(
    `  transactions per job: ${f(mid.stack.txs.length / N, 2)} (${Object.entries(breakdown)
      .map(([k, v]) => `${k} x${f(v, 2)}`)
      .join(', ')})`,
  );
  console.log(`bare: the same ${mid.stack.txs.length} transactions, ${f(bareRate, 2)} jobs/s`);
  console.log(`ratio (stack / bare): ${f(ratio, 2)}  (the stack does ${f(ratio * 100, 0)}% of the jobs the bare chain calls allow)`);
  console.log(
    JSON.stringify({
      bench: 'aps1-full-job',
      n: N,
      warmup: WARMUP,
      rounds: ROUNDS,
      jobsPerSecond: Number(f(rate, 3)),
      bareJobsPerSecond: Number(f(bareRate, 3)),
      ratio: Number(f(ratio, 3)),
      txPerJob: mid.stack.txs.length / N,
      txBreakdownPerJob: breakdown,
      perStepMs: Object.fromEntries(Object.entries(mid.stack.perStepMs).map(([k, v]) => [k, Number(f(v, 2))])),
    }),
  );
  return 0;
}

main()
  .then((code) => stopAll().then(() => process.exit(code)))
  .catch(async (e: Error) => {
    console.error(`bench-aps1 failed: ${e.stack ?? e.message}`);
    await stopAll();
    process.exit(1);
  });
