/**
 * Agentripe lifecycle benchmark: how many full paid-task lifecycles per second the reference stack
 * does on a fresh base-sepolia anvil, against the bare chain calls those lifecycles need.
 *
 *   npx tsx reference-impl/agentripe/bench.ts [--n 30] [--withdraw] [--warmup 2] [--jit-warmup 200] [--rounds 3] [--count-rpc]
 *
 * 1. Stack: anvil + x402 facilitator + Agentripe server. One lifecycle = buyer pays over x402
 *    (official @x402/fetch client; buyer and vendor on keep-alive HTTP, as the x402 bench's payer) -> server settles and records the deposit -> vendor starts ->
 *    vendor completes (no reviewer_request, so approved) -> server releases to the vendor and gives
 *    ERC-8004 feedback; with `--withdraw` the vendor also withdraws (a direct escrow call).
 * 2. The transactions those lifecycles mined are read back from the blocks (so the count is what the
 *    stack really sent, not what we think it sends) and decoded by contract.
 * 3. Bare: on a second fresh chain, the same transactions (same senders, same calldata, same gas)
 *    are signed locally with viem and sent one by one with `eth_sendRawTransactionSync` (one round
 *    trip returns the receipt): the least the chain work of a lifecycle can cost here.
 *
 * Before either phase times anything, `--jit-warmup` lifecycles (and, in phase 3, their
 * transactions) run once and the chain goes back to its snapshot: this process's code nears the
 * steady state of a server that has been up a while (measured, this process's CPU per lifecycle:
 * 17.4 ms cold, 13-14 ms after 100-200, 10.7 ms after 400), while the timed lifecycles still meet a
 * fresh chain (anvil's own cost per transaction grows with the blocks it holds: a long run would
 * flatter the ratio).
 *
 * `--rounds R` repeats both phases on fresh chains and reports the median round (default 3: single
 * rounds of 30 lifecycles vary by a tenth on a quiet machine, by 2x under load). The chains keep
 * their past states in memory only, as `amh run`'s do (LONG_RUN_STATES): by default anvil writes
 * each state it moves out of memory to disk, which rounds longer than 128 blocks would measure.
 *
 * `--count-rpc` puts counting JSON-RPC proxies between the stack and anvil (one for the Agentripe
 * server, one for the x402 facilitator) and reports the RPC calls per lifecycle by method, and a
 * timing proxy in front of the facilitator that reports which share of the stack's time is spent
 * waiting for its /verify and /settle (where the overhead goes); the extra hops slow that run, so
 * its rates are not the headline figures.
 *
 * Prints plain text and, last, one JSON line. Stops every process it starts (also on SIGINT).
 */
import { parseArgs } from 'node:util';
import { bareReplayer, cpuMeter, running, type CpuUse, startRpcCounter, startTimer, stopAll } from '../../harness/testing/bench-tools.ts';
import { decodeFunctionData, parseEventLogs, type Abi, type Address, type Hex } from 'viem';
import { createChainClients, LONG_RUN_STATES, revert, roleAccount, roleAccounts, snapshot, startChain, type RunningChain } from '../../harness/chain/index.ts';
import { fiatTokenV2_2Abi, identityRegistryAbi, reputationRegistryAbi } from '../../harness/chain/bindings/index.ts';
import { escrowAbi as agentripeEscrowAbi } from './protocol/abi.ts';
import { keepAliveFetch } from '../../harness/chain/rpc.ts';
import { startAgentripeStack, type AgentripeStack } from './server/stack.ts';
import { createBuyer } from './agents/buyer.ts';
import { createVendor } from './agents/vendor.ts';
import { toDataUri, type AgentUriData } from './protocol/agenturi.ts';

const { values: flags } = parseArgs({
  options: {
    n: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '2' },
    'jit-warmup': { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
    withdraw: { type: 'boolean', default: false },
    'count-rpc': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log('usage: npx tsx reference-impl/agentripe/bench.ts [--n 30] [--warmup 2] [--jit-warmup 200] [--rounds 3] [--withdraw] [--count-rpc]');
  process.exit(0);
}
const N = Number(flags.n);
const WARMUP = Number(flags.warmup);
const JIT_WARMUP = Number(flags['jit-warmup']);
const ROUNDS = Number(flags.rounds);
if (![N, ROUNDS].every((x) => Number.isInteger(x) && x >= 1) || ![WARMUP, JIT_WARMUP].every((x) => Number.isInteger(x) && x >= 0)) {
  console.error('--n and --rounds must be positive integers, --warmup and --jit-warmup non-negative integers');
  process.exit(2);
}

/** One mined transaction of a lifecycle, enough to send it again elsewhere. */
interface RecordedTx {
  from: Address;
  to: Address;
  input: Hex;
  gas: bigint;
  value: bigint;
  name: string;
}

/** Registers vendor1's agent (one $0.10 "translate" service) directly on the IdentityRegistry. */
async function registerAgent(chain: RunningChain, endpoint: string): Promise<bigint> {
  const { publicClient, walletClient } = createChainClients(chain);
  const data: AgentUriData = {
    name: 'bench agent',
    description: 'benchmark vendor',
    x402Support: true,
    services: [{ name: 'x402', endpoint, catalog: [{ path: 'translate', price: '$0.10', type: 'async', description: 'translation' }] }],
  };
  const hash = await walletClient('vendor1').writeContract({ address: chain.profile.contracts.identityRegistry!, abi: identityRegistryAbi, functionName: 'register', args: [toDataUri(data)] });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  const ev = parseEventLogs({ abi: identityRegistryAbi, logs: receipt.logs, eventName: 'Registered' })[0];
  return (ev!.args as { agentId: bigint }).agentId;
}

/** Names a call by the ABI of the contract it went to. */
function namer(chain: RunningChain): (to: Address | null, input: Hex) => string {
  const c = chain.profile.contracts;
  const abis = new Map<string, { label: string; abi: Abi }>([
    [c.usdc!.toLowerCase(), { label: 'USDC', abi: fiatTokenV2_2Abi as Abi }],
    [c.agentripeEscrow!.toLowerCase(), { label: 'Escrow', abi: agentripeEscrowAbi as Abi }],
    [c.identityRegistry!.toLowerCase(), { label: 'Identity', abi: identityRegistryAbi as Abi }],
    [(c.legacyReputationRegistry ?? c.reputationRegistry)!.toLowerCase(), { label: 'Reputation', abi: reputationRegistryAbi as Abi }],
    [c.reputationRegistry!.toLowerCase(), { label: 'Reputation', abi: reputationRegistryAbi as Abi }],
  ]);
  return (to, input) => {
    const known = to ? abis.get(to.toLowerCase()) : undefined;
    if (!known) return `${to ?? 'create'}:${input.slice(0, 10)}`;
    try {
      return `${known.label}.${decodeFunctionData({ abi: known.abi, data: input }).functionName}`;
    } catch {
      return `${known.label}:${input.slice(0, 10)}`;
    }
  };
}

/** Phase 1: N lifecycles through the stack; returns timings and the transactions they mined. */
async function stackPhase(): Promise<{
  seconds: number;
  cpu: CpuUse;
  perStepMs: Record<string, number>;
  jitTxs: RecordedTx[];
  warmupTxs: RecordedTx[];
  txs: RecordedTx[];
  agentId: bigint;
  rpc?: Map<string, number>;
  facilitatorRpc?: Map<string, number>;
  rpcMs?: Map<string, { n: number; ms: number }>;
  facilitatorMs?: Map<string, { n: number; ms: number }>;
}> {
  const chain = await startChain({ profile: 'base-sepolia', pruneHistory: LONG_RUN_STATES });
  running.push(chain);
  const counter = flags['count-rpc'] ? await startRpcCounter(chain.rpcUrl) : undefined;
  const facCounter = flags['count-rpc'] ? await startRpcCounter(chain.rpcUrl) : undefined;
  let timer: Awaited<ReturnType<typeof startTimer>> | undefined;
  for (const c of [counter, facCounter]) if (c) running.push(c);
  // With --count-rpc the server and the facilitator each talk to anvil through a counter, and the
  // server reaches the facilitator through a timer.
  const stack: AgentripeStack = await startAgentripeStack(
    counter ? { ...chain, rpcUrl: counter.url } : chain,
    facCounter
      ? {
          facilitatorRpcUrl: facCounter.url,
          facilitatorVia: async (url) => {
            timer = await startTimer(url);
            running.push(timer);
            return timer.url;
          },
        }
      : {},
  );
  running.push(stack);
  const url = stack.server.url;
  const agentId = await registerAgent(chain, url);
  const clients = createChainClients(chain);
  const buyer = createBuyer({
    baseUrl: url,
    privateKey: roleAccount('buyer1').privateKey,
    rpcUrl: chain.rpcUrl,
    identityRegistry: chain.profile.contracts.identityRegistry!,
    fetchImpl: keepAliveFetch,
  });
  const vendor = createVendor({ baseUrl: url, agentId, credentials: { privateKey: roleAccount('vendor1').privateKey }, strategy: { kind: 'honest' }, fetchImpl: keepAliveFetch });
  const vendorWallet = clients.walletClient('vendor1');

  const steps = { pay: 0, start: 0, complete: 0, withdraw: 0 };
  const lifecycle = async (i: number, timed: boolean) => {
    let t = performance.now();
    const lap = (k: keyof typeof steps) => {
      const now = performance.now();
      if (timed) steps[k] += now - t;
      t = now;
    };
    const p = await buyer.buy(agentId, 'translate', { task_detail: `bench ${i}` });
    if (p.status !== 200 || !p.taskId) throw new Error(`payment ${i} failed: ${p.status} ${JSON.stringify(p.body)}`);
    lap('pay');
    const s = await vendor.start(p.taskId);
    if (s.status !== 200) throw new Error(`start ${i} failed: ${s.status} ${JSON.stringify(s.body)}`);
    lap('start');
    const c = await vendor.complete(p.taskId, `result ${i}`);
    if (c.status !== 200 || c.body.escrowAction !== 'released') throw new Error(`complete ${i} failed: ${c.status} ${JSON.stringify(c.body)}`);
    lap('complete');
    if (flags.withdraw) {
      const hash = await vendorWallet.writeContract({ address: chain.profile.contracts.agentripeEscrow!, abi: agentripeEscrowAbi, functionName: 'withdraw', args: [] });
      const r = await clients.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 5 });
      if (r.status !== 'success') throw new Error(`withdraw ${i} reverted`);
      lap('withdraw');
    }
  };

  // Every transaction mined between two blocks, in order, from the blocks themselves.
  const name = namer(chain);
  const minedIn = async (first: bigint, last: bigint) => {
    const out: RecordedTx[] = [];
    for (let b = first; b <= last; b++) {
      const block = await clients.publicClient.getBlock({ blockNumber: b, includeTransactions: true });
      for (const tx of block.transactions) {
        const receipt = await clients.publicClient.getTransactionReceipt({ hash: tx.hash });
        if (receipt.status !== 'success') throw new Error(`lifecycle transaction ${tx.hash} reverted`);
        out.push({ from: tx.from, to: tx.to!, input: tx.input, gas: tx.gas, value: tx.value, name: name(tx.to, tx.input) });
      }
    }
    return out;
  };
  const blockNumber = () => clients.publicClient.getBlockNumber({ cacheTime: 0 });

  const beforeJit = await snapshot(chain.rpcUrl);
  const jitFrom = (await blockNumber()) + 1n;
  for (let i = 0; i < JIT_WARMUP; i++) await lifecycle(-1000 - i, false);
  const jitTxs = await minedIn(jitFrom, await blockNumber());
  await revert(chain.rpcUrl, beforeJit);

  const warmFrom = (await blockNumber()) + 1n;
  for (let i = 0; i < WARMUP; i++) await lifecycle(-1 - i, false);
  const from = (await clients.publicClient.getBlockNumber({ cacheTime: 0 })) + 1n;
  const measuring = (on: boolean) => {
    for (const c of [counter, facCounter]) if (c) c.state.counting = on;
    if (timer) timer.state.timing = on;
  };
  measuring(true);
  const meter = cpuMeter(chain.pid);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await lifecycle(i, true);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = meter.stop();
  measuring(false);
  const to = await clients.publicClient.getBlockNumber({ cacheTime: 0 });

  // Every transaction mined during warm-up and the timed loop.
  const warmupTxs = await minedIn(warmFrom, from - 1n);
  const txs = await minedIn(from, to);
  const perStepMs = Object.fromEntries(
    Object.entries(steps)
      .filter(([k]) => k !== 'withdraw' || flags.withdraw)
      .map(([k, v]) => [k, v / N]),
  );
  await stopAll();
  return {
    seconds,
    cpu,
    perStepMs,
    jitTxs,
    warmupTxs,
    txs,
    agentId,
    rpc: counter ? new Map(counter.counts) : undefined,
    facilitatorRpc: facCounter ? new Map(facCounter.counts) : undefined,
    rpcMs:
      counter && facCounter ? new Map([...[...counter.times].map(([k, v]) => [`server ${k}`, v] as const), ...[...facCounter.times].map(([k, v]) => [`facilitator ${k}`, v] as const)]) : undefined,
    facilitatorMs: timer ? new Map(timer.totals) : undefined,
  };
}

/**
 * Phase 2: the same transactions, signed locally and sent bare (one synchronous send each). The
 * warm-up transactions are replayed first, untimed, so every timed call meets the same state (and
 * needs the same gas) as it did on the stack's chain.
 */
async function barePhase(jitTxs: RecordedTx[], warmupTxs: RecordedTx[], txs: RecordedTx[], agentId: bigint): Promise<{ seconds: number; cpu: CpuUse }> {
  const chain = await startChain({ profile: 'base-sepolia', pruneHistory: LONG_RUN_STATES });
  running.push(chain);
  // Same agent id as in phase 1, so recorded feedback/deposit calldata is valid here too.
  const id = await registerAgent(chain, 'http://127.0.0.1:1');
  if (id !== agentId) throw new Error(`agent id ${id} on the bare chain, ${agentId} on the stack chain`);
  const keys = new Map(roleAccounts.map((r) => [r.address.toLowerCase(), r.privateKey]));
  // The stack's JIT warm-up, replayed and reverted in the same way.
  const beforeJit = await snapshot(chain.rpcUrl);
  const sendJit = await bareReplayer(chain, keys, jitTxs);
  for (const tx of jitTxs) await sendJit(tx);
  await revert(chain.rpcUrl, beforeJit);
  const sendBare = await bareReplayer(chain, keys, [...warmupTxs, ...txs]);
  for (const tx of warmupTxs) await sendBare(tx);
  const meter = cpuMeter(chain.pid);
  const t0 = performance.now();
  for (const tx of txs) await sendBare(tx);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = meter.stop();
  await stopAll();
  return { seconds, cpu };
}

async function main(): Promise<number> {
  console.log(
    `Agentripe lifecycle benchmark: n=${N}, warmup=${WARMUP}, jit-warmup=${JIT_WARMUP} (then reverted), rounds=${ROUNDS}, withdraw ${flags.withdraw ? 'included (vendor withdraw() after each release)' : 'not included (use --withdraw)'}`,
  );
  const f = (x: number, d = 1) => x.toFixed(d);
  const rounds: { stack: Awaited<ReturnType<typeof stackPhase>>; bare: Awaited<ReturnType<typeof barePhase>>; rate: number; bareRate: number; factor: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const stack = await stackPhase();
    const bare = await barePhase(stack.jitTxs, stack.warmupTxs, stack.txs, stack.agentId);
    const round = { stack, bare, rate: N / stack.seconds, bareRate: N / bare.seconds, factor: N / bare.seconds / (N / stack.seconds) };
    rounds.push(round);
    if (ROUNDS > 1) console.log(`round ${r + 1}: stack ${f(round.rate, 2)} lifecycles/s, bare ${f(round.bareRate, 2)} lifecycles/s, factor ${f(round.factor, 2)}x, ${stack.txs.length} tx`);
  }
  if (new Set(rounds.map((r) => r.stack.txs.length)).size > 1) throw new Error('rounds mined different numbers of transactions');
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  // The representative round: the one with the median stack rate (per-step times and tx list from it).
  const mid = rounds.find((r) => r.rate === median(rounds.map((x) => x.rate)))!;
  const { stack } = mid;
  const rate = mid.rate;
  const bareRate = median(rounds.map((r) => r.bareRate));
  const factor = median(rounds.map((r) => r.factor));
  const breakdown: Record<string, number> = {};
  for (const tx of stack.txs) breakdown[tx.name] = (breakdown[tx.name] ?? 0) + 1;
  const txPerLifecycle = stack.txs.length / N;
  if (ROUNDS > 1) console.log(`median of ${ROUNDS} rounds:`);
  console.log(`stack: ${N} lifecycles in ${f(stack.seconds, 2)} s = ${f(rate, 2)} lifecycles/s (${f((stack.seconds * 1000) / N)} ms each)`);
  console.log(
    `  per step (ms): ${Object.entries(stack.perStepMs)
      .map(([k, v]) => `${k} ${f(v)}`)
      .join(', ')}`,
  );
  console.log(
    `  transactions per lifecycle: ${f(txPerLifecycle, 2)} (${Object.entries(breakdown)
      .map(([k, v]) => `${k} x${f(v / N, 2)}`)
      .join(', ')})`,
  );
  const cpuText = (c: CpuUse) => `this process ${f(c.selfMs / N)} ms, anvil ${c.anvilMs === undefined ? '?' : f(c.anvilMs / N)} ms`;
  console.log(`  CPU per lifecycle: ${cpuText(stack.cpu)} (server, facilitator, buyer and vendor all run in this process)`);
  console.log(`bare: same ${stack.txs.length} transactions, ${f(bareRate, 2)} lifecycles/s (${f((bareRate * stack.txs.length) / N, 0)} tx/s)`);
  console.log(`  CPU per lifecycle: ${cpuText(mid.bare.cpu)}`);
  console.log(
    `ratio stack/bare: ${f(rate / bareRate, 2)} · overhead factor (bare rate / stack rate): ${f(factor, 2)}x${stack.rpc ? ' (this run went through the RPC counter: rates are lower than without --count-rpc)' : ''}`,
  );
  let rpcPerLifecycle: Record<string, number> | undefined;
  let facilitatorRpcPerLifecycle: Record<string, number> | undefined;
  let facilitatorShare: { msPerLifecycle: number; share: number; byPath: Record<string, number> } | undefined;
  const perLifecycle = (m: Map<string, number>) => {
    const sorted = [...m.entries()].sort((a, b) => b[1] - a[1]);
    const total = sorted.reduce((a, [, v]) => a + v, 0);
    return {
      total,
      text: `${f(total / N)} (${sorted.map(([k, v]) => `${k} ${f(v / N)}`).join(', ')})`,
      obj: Object.fromEntries([['total', total / N], ...sorted.map(([k, v]) => [k, v / N] as const)]),
    };
  };
  if (stack.rpc && stack.facilitatorRpc) {
    const server = perLifecycle(stack.rpc);
    const fac = perLifecycle(stack.facilitatorRpc);
    rpcPerLifecycle = server.obj;
    facilitatorRpcPerLifecycle = fac.obj;
    console.log(`JSON-RPC calls per lifecycle: ${f((server.total + fac.total) / N)}; Agentripe server ${server.text}; x402 facilitator ${fac.text}; bare: 1 (eth_sendRawTransactionSync) per tx`);
  }
  if (stack.rpcMs) {
    const sorted = [...stack.rpcMs].sort((a, b) => b[1].ms - a[1].ms);
    const ms = sorted.reduce((a, [, e]) => a + e.ms, 0);
    console.log(
      `anvil answer time per lifecycle: ${f(ms / N)} ms = ${f((100 * ms) / 1000 / stack.seconds)}% of the stack's time (${sorted.map(([k, e]) => `${k} ${f(e.n / N)}x ${f(e.ms / N, 2)} ms`).join('; ')})`,
    );
  }
  if (stack.facilitatorMs) {
    const ms = [...stack.facilitatorMs.values()].reduce((a, e) => a + e.ms, 0);
    facilitatorShare = {
      msPerLifecycle: Number(f(ms / N, 2)),
      share: Number(f(ms / 1000 / stack.seconds, 3)),
      byPath: Object.fromEntries([...stack.facilitatorMs].map(([k, e]) => [k, Number(f(e.ms / N, 2))])),
    };
    console.log(
      `x402 facilitator: ${f(ms / N)} ms per lifecycle (${[...stack.facilitatorMs].map(([k, e]) => `${k} ${f(e.ms / N)} ms`).join(', ')}) = ${f((100 * ms) / 1000 / stack.seconds)}% of the stack's time`,
    );
  }
  console.log(
    JSON.stringify({
      bench: 'agentripe-lifecycle',
      n: N,
      warmup: WARMUP,
      jitWarmup: JIT_WARMUP,
      rounds: ROUNDS,
      withdraw: flags.withdraw,
      stackSeconds: Number(f(stack.seconds, 3)),
      lifecyclesPerSecond: Number(f(rate, 3)),
      msPerLifecycle: Number(f((stack.seconds * 1000) / N, 2)),
      perStepMs: Object.fromEntries(Object.entries(stack.perStepMs).map(([k, v]) => [k, Number(f(v, 2))])),
      txPerLifecycle,
      txBreakdownPerLifecycle: Object.fromEntries(Object.entries(breakdown).map(([k, v]) => [k, v / N])),
      cpuMsPerLifecycle: {
        stack: { self: Number(f(stack.cpu.selfMs / N, 2)), anvil: stack.cpu.anvilMs === undefined ? null : Number(f(stack.cpu.anvilMs / N, 2)) },
        bare: { self: Number(f(mid.bare.cpu.selfMs / N, 2)), anvil: mid.bare.cpu.anvilMs === undefined ? null : Number(f(mid.bare.cpu.anvilMs / N, 2)) },
      },
      bareSeconds: Number(f(N / bareRate, 3)),
      bareLifecyclesPerSecond: Number(f(bareRate, 3)),
      bareTxPerSecond: Number(f((bareRate * stack.txs.length) / N, 1)),
      ...(ROUNDS > 1
        ? { perRound: rounds.map((r) => ({ lifecyclesPerSecond: Number(f(r.rate, 3)), bareLifecyclesPerSecond: Number(f(r.bareRate, 3)), overheadFactor: Number(f(r.factor, 3)) })) }
        : {}),
      overheadFactor: Number(f(factor, 3)),
      ...(rpcPerLifecycle ? { rpcCounted: true, rpcPerLifecycle, facilitatorRpcPerLifecycle } : {}),
      ...(facilitatorShare ? { facilitator: facilitatorShare } : {}),
    }),
  );
  return 0;
}

main()
  .then((code) => stopAll().then(() => process.exit(code)))
  .catch(async (e: Error) => {
    console.error(`bench-agentripe failed: ${e.stack ?? e.message}`);
    await stopAll();
    process.exit(1);
  });
