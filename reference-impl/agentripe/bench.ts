/**
 * Agentripe lifecycle benchmark: how many full paid-task lifecycles per second the reference stack
 * does on a fresh base-sepolia anvil, against the bare chain calls those lifecycles need.
 *
 *   npx tsx reference-impl/agentripe/bench.ts [--n 30] [--withdraw] [--warmup 2] [--jit-warmup 200] [--rounds 9] [--count-rpc]
 *
 * 1. Stack: anvil + x402 facilitator + Agentripe server. One lifecycle = buyer pays over x402
 *    (official @x402/fetch client: a request, its 402 challenge, the paid request; buyer and vendor
 *    on keep-alive HTTP) -> server settles and records the deposit -> vendor starts ->
 *    vendor completes (no reviewer_request, so approved) -> server releases to the vendor and gives
 *    ERC-8004 feedback; with `--withdraw` the vendor also withdraws (a direct escrow call).
 * 2. The transactions those lifecycles mined are read back from the blocks (so the count is what the
 *    stack really sent, not what we think it sends) and decoded by contract.
 * 3. Bare: on a second fresh chain, the chain calls the protocol makes a lifecycle need, sent
 *    directly with nothing around them, counted as the x402 bench counts a payment's: the same
 *    transactions (same senders, same calldata, same gas) signed locally with viem and sent one by
 *    one with `eth_sendRawTransactionSync` (one round trip returns the receipt), and before them
 *    the reads the protocol needs (the catalog, the payment's /verify and /settle reads, the
 *    vendor's authority, and before each transaction its sender's pre-send reads; see
 *    {@link startBareSide}). The ratio stack/bare is the headline; the ratio against the bare side
 *    without the operator's pre-send reads (how "bare" was counted before 2026-12-04) is printed
 *    beside it.
 * 4. Floor, for comparison, on a third fresh chain: the transactions alone, what no server can go
 *    below (the ratio against it is printed too).
 *
 * The three are timed in alternating chunks of 10 lifecycles (the bare sides replay the chunk the
 * stack just ran), as in the x402 bench, so a load change on this shared machine hits them alike.
 * Before anything is timed, `--jit-warmup` lifecycles (200) run and every chain goes back to its
 * snapshot (the bare sides replay them the same way): this process's code nears the steady state of
 * a server that has been up a while (measured, this process's CPU per lifecycle: 17.4 ms cold,
 * 13-14 ms after 100-200, 10.7 ms after 400), while the timed lifecycles still meet a fresh chain
 * (anvil's own cost per transaction grows with the blocks it holds: a long run would flatter the
 * ratio).
 *
 * `--rounds R` repeats the whole on fresh chains and reports the median round (default 9: single
 * rounds of 30 lifecycles vary by a tenth on a quiet machine, by 2x under load, and their ratios
 * from 0.41 to 0.57 within one run on 2026-12-04; the median of 3 moved by ±0.05 between runs, that
 * of 5 from 0.46 to 0.57, and 9 halve the spread of the median of 5 again). The chains keep
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
import { bareReplayer, preSendReads, running, type CpuUse, startRpcCounter, startTimer, stopAll, stopwatch, x402PaymentReads } from '../../harness/testing/bench-tools.ts';
import { decodeFunctionData, encodeFunctionData, parseEventLogs, type Abi, type Address, type Hex } from 'viem';
import { createChainClients, LONG_RUN_STATES, revert, roleAccount, roleAccounts, rpcCall, snapshot, startChain, type RunningChain } from '../../harness/chain/index.ts';
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
    rounds: { type: 'string', default: '9' },
    withdraw: { type: 'boolean', default: false },
    'count-rpc': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log('usage: npx tsx reference-impl/agentripe/bench.ts [--n 30] [--warmup 2] [--jit-warmup 200] [--rounds 9] [--withdraw] [--count-rpc]');
  process.exit(0);
}
const N = Number(flags.n);
const WARMUP = Number(flags.warmup);
const JIT_WARMUP = Number(flags['jit-warmup']);
const ROUNDS = Number(flags.rounds);
/** Lifecycles per timed chunk (the stack, then each bare side). */
const CHUNK = 10;
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

/** One round: N lifecycles through the stack, their transactions (and reads) replayed on the bare side and the floor chunk by chunk; timings of all three and the transactions mined. */
async function runRound(): Promise<{
  seconds: number;
  cpu: CpuUse;
  perStepMs: Record<string, number>;
  txs: RecordedTx[];
  bare: { seconds: number; cpu: CpuUse; preSendSeconds: number };
  floor: { seconds: number; cpu: CpuUse };
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
  const buy = async (i: number): Promise<Hex> => {
    const p = await buyer.buy(agentId, 'translate', { task_detail: `bench ${i}` });
    if (p.status !== 200 || !p.taskId) throw new Error(`payment ${i} failed: ${p.status} ${JSON.stringify(p.body)}`);
    return p.taskId;
  };
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
    const taskId = await buy(i);
    lap('pay');
    const s = await vendor.start(taskId);
    if (s.status !== 200) throw new Error(`start ${i} failed: ${s.status} ${JSON.stringify(s.body)}`);
    lap('start');
    const c = await vendor.complete(taskId, `result ${i}`);
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

  // The bare sides' chains, with the same agent id.
  const bare = await startBareSide('protocol', agentId);
  const floor = await startBareSide('floor', agentId);

  const beforeJit = await snapshot(chain.rpcUrl);
  const jitFrom = (await blockNumber()) + 1n;
  for (let i = 0; i < JIT_WARMUP; i++) await lifecycle(-1000 - i, false);
  const jitTxs = await minedIn(jitFrom, await blockNumber());
  await revert(chain.rpcUrl, beforeJit);
  for (const side of [bare, floor]) await side.warmJit(jitTxs);

  const warmFrom = (await blockNumber()) + 1n;
  for (let i = 0; i < WARMUP; i++) await lifecycle(-1 - i, false);
  const warmupTxs = await minedIn(warmFrom, await blockNumber());
  for (const side of [bare, floor]) await side.warm(warmupTxs, [...jitTxs, ...warmupTxs]);
  const measuring = (on: boolean) => {
    for (const c of [counter, facCounter]) if (c) c.state.counting = on;
    if (timer) timer.state.timing = on;
  };
  // Timed in alternating chunks, as the x402 bench: CHUNK lifecycles through the stack, then their
  // transactions (and reads) on each bare side, so a load change on this shared machine hits all
  // three alike.
  const watch = stopwatch(chain.pid);
  const txs: RecordedTx[] = [];
  for (let done = 0; done < N; ) {
    const k = Math.min(CHUNK, N - done);
    const from = (await blockNumber()) + 1n;
    measuring(true);
    await watch.time(async () => {
      for (let i = done; i < done + k; i++) await lifecycle(i, true);
    });
    measuring(false);
    const chunk = await minedIn(from, await blockNumber());
    for (const side of [bare, floor]) await side.timed(chunk);
    txs.push(...chunk);
    done += k;
  }
  const perStepMs = Object.fromEntries(
    Object.entries(steps)
      .filter(([k]) => k !== 'withdraw' || flags.withdraw)
      .map(([k, v]) => [k, v / N]),
  );
  await stopAll();
  return {
    ...watch.total,
    perStepMs,
    txs,
    bare: { ...bare.total, preSendSeconds: bare.preSendSeconds() },
    floor: floor.total,
    rpc: counter ? new Map(counter.counts) : undefined,
    facilitatorRpc: facCounter ? new Map(facCounter.counts) : undefined,
    rpcMs:
      counter && facCounter ? new Map([...[...counter.times].map(([k, v]) => [`server ${k}`, v] as const), ...[...facCounter.times].map(([k, v]) => [`facilitator ${k}`, v] as const)]) : undefined,
    facilitatorMs: timer ? new Map(timer.totals) : undefined,
  };
}

/**
 * A bare side: a fresh chain on which the stack's transactions are sent again, signed locally (one
 * synchronous send each; the warm-up ones first, untimed, so every timed call meets the same state
 * and needs the same gas as on the stack's chain).
 *
 * `protocol`: each lifecycle also makes the reads the protocol needs, sent directly, the way the
 * x402 bench counts a payment's: the agent's catalog (tokenURI) for the 402 challenge and again for
 * the paid request (the price lives on chain, seed 002), the x402 payment's /verify and /settle
 * reads (bench-tools' `x402PaymentReads`: 2 batches), the vendor's authority
 * (`isAuthorizedOrOwner`) for start and for complete (seed 002 "Verification flow"), and before each
 * of the operator's transactions the same pre-send batch the payment's /settle makes (bench-tools'
 * `preSendReads`: the pending block, a simulation, the sender's nonce; a sender that keeps no
 * state needs them, and counting them for one server's transaction but not for the other's was
 * the bench measuring two things under one name): 13 round trips per lifecycle. `floor`: the 4
 * transactions alone (4 round trips), what no server can go below.
 */
async function startBareSide(kind: 'protocol' | 'floor', agentId: bigint) {
  const chain = await startChain({ profile: 'base-sepolia', pruneHistory: LONG_RUN_STATES });
  running.push(chain);
  // Same agent id as on the stack's chain, so recorded feedback/deposit calldata is valid here too.
  const id = await registerAgent(chain, 'http://127.0.0.1:1');
  if (id !== agentId) throw new Error(`agent id ${id} on the ${kind} chain, ${agentId} on the stack chain`);
  const keys = new Map(roleAccounts.map((r) => [r.address.toLowerCase(), r.privateKey]));
  const identity = chain.profile.contracts.identityRegistry!;
  const read = (data: Hex) => [{ to: identity, data }, 'latest'];
  const catalog = read(encodeFunctionData({ abi: identityRegistryAbi, functionName: 'tokenURI', args: [agentId] }));
  const authority = read(encodeFunctionData({ abi: identityRegistryAbi, functionName: 'isAuthorizedOrOwner', args: [roleAccount('vendor1').address, agentId] }));
  // The pre-send reads of the operator's (and a withdrawing vendor's) transactions are also timed
  // apart (a clock read, no CPU meter), for the figure without them; counted from the first timed chunk.
  let preSendMs = 0;
  /** The protocol's reads that come before `tx` in a lifecycle (none for the floor). */
  const readsBefore = async (tx: RecordedTx) => {
    if (kind === 'floor') return;
    const call = { from: tx.from, to: tx.to, data: tx.input };
    if (tx.name === 'USDC.transferWithAuthorization') {
      for (let i = 0; i < 2; i++) await rpcCall(chain.rpcUrl, 'eth_call', catalog);
      await x402PaymentReads(chain.rpcUrl, call);
      return;
    }
    if (tx.name === 'Escrow.releaseToVendor') for (let i = 0; i < 2; i++) await rpcCall(chain.rpcUrl, 'eth_call', authority);
    const t0 = performance.now();
    await preSendReads(chain.rpcUrl, call);
    preSendMs += performance.now() - t0;
  };
  const replay = async (send: (tx: RecordedTx) => Promise<unknown>, txs: RecordedTx[]) => {
    for (const tx of txs) {
      await readsBefore(tx);
      await send(tx);
    }
  };
  let send: ((tx: RecordedTx) => Promise<unknown>) | undefined;
  const watch = stopwatch(chain.pid);
  return {
    /** The stack's JIT warm-up, replayed and reverted in the same way. */
    async warmJit(txs: RecordedTx[]) {
      const before = await snapshot(chain.rpcUrl);
      await replay(await bareReplayer(chain, keys, txs), txs);
      await revert(chain.rpcUrl, before);
    },
    /** The stack's warm-up lifecycles (untimed); `all` are every transaction this side will send (their senders are set up now). */
    async warm(txs: RecordedTx[], all: RecordedTx[]) {
      send = await bareReplayer(chain, keys, all);
      await replay(send, txs);
      preSendMs = 0;
    },
    /** A timed chunk: the transactions of lifecycles the stack just ran. */
    timed: (txs: RecordedTx[]) => watch.time(() => replay(send!, txs)),
    /** Seconds and CPU of the timed chunks so far. */
    total: watch.total,
    /** Seconds of those spent in the pre-send reads of the transactions after the payment. */
    preSendSeconds: () => preSendMs / 1000,
  };
}
async function main(): Promise<number> {
  console.log(
    `Agentripe lifecycle benchmark: n=${N}, warmup=${WARMUP}, jit-warmup=${JIT_WARMUP} (then reverted), rounds=${ROUNDS}, withdraw ${flags.withdraw ? 'included (vendor withdraw() after each release)' : 'not included (use --withdraw)'}`,
  );
  const f = (x: number, d = 1) => x.toFixed(d);
  type BareRun = { seconds: number; cpu: CpuUse };
  const rounds: {
    stack: Awaited<ReturnType<typeof runRound>>;
    bare: BareRun;
    floor: BareRun;
    rate: number;
    bareRate: number;
    /** The bare side's rate without the pre-send reads of the operator's transactions (the definition before 2026-12-04). */
    blindSendRate: number;
    floorRate: number;
    factor: number;
  }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const stack = await runRound();
    const { bare, floor } = stack;
    const round = {
      stack,
      bare,
      floor,
      rate: N / stack.seconds,
      bareRate: N / bare.seconds,
      blindSendRate: N / (bare.seconds - bare.preSendSeconds),
      floorRate: N / floor.seconds,
      factor: N / bare.seconds / (N / stack.seconds),
    };
    rounds.push(round);
    if (ROUNDS > 1)
      console.log(
        `round ${r + 1}: stack ${f(round.rate, 2)} lifecycles/s, bare ${f(round.bareRate, 2)} lifecycles/s (ratio ${f(round.rate / round.bareRate, 2)}; ${f(round.rate / round.blindSendRate, 2)} without the operator's pre-send reads), floor ${f(round.floorRate, 2)}/s (ratio ${f(round.rate / round.floorRate, 2)}), ${stack.txs.length} tx`,
      );
  }
  if (new Set(rounds.map((r) => r.stack.txs.length)).size > 1) throw new Error('rounds mined different numbers of transactions');
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  // The representative round: the one with the median stack rate (per-step times and tx list from it).
  const mid = rounds.find((r) => r.rate === median(rounds.map((x) => x.rate)))!;
  const { stack } = mid;
  const rate = mid.rate;
  const bareRate = median(rounds.map((r) => r.bareRate));
  const floorRate = median(rounds.map((r) => r.floorRate));
  const factor = median(rounds.map((r) => r.factor));
  // The three sides of a round ran interleaved, so each round's quotient is the measurement; the
  // headline is their median (with an odd number of rounds, exactly 1 / factor).
  const ratio = median(rounds.map((r) => r.rate / r.bareRate));
  const floorRatio = median(rounds.map((r) => r.rate / r.floorRate));
  const blindSendRatio = median(rounds.map((r) => r.rate / r.blindSendRate));
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
  console.log(
    `bare: the chain calls the protocol needs (the same ${stack.txs.length} transactions, each after its pre-send reads (the pending block, a simulation, the sender's nonce: one batch; the payment's are /settle's), and per lifecycle the catalog read twice, the x402 payment's /verify reads, the vendor's authority read twice: ${f(10 + txPerLifecycle - 1, 0)} round trips), ${f(bareRate, 2)} lifecycles/s`,
  );
  console.log(`  CPU per lifecycle: ${cpuText(mid.bare.cpu)}`);
  console.log(`floor: the ${f(txPerLifecycle, 0)} transactions alone (one round trip each), ${f(floorRate, 2)} lifecycles/s (${f((floorRate * stack.txs.length) / N, 0)} tx/s)`);
  console.log(`  CPU per lifecycle: ${cpuText(mid.floor.cpu)}`);
  console.log(
    `ratio stack/bare: ${f(ratio, 2)} · overhead factor (bare rate / stack rate): ${f(factor, 2)}x · without the operator's pre-send reads in bare (the definition before 2026-12-04): ${f(blindSendRatio, 2)} · ratio stack/floor: ${f(floorRatio, 2)}${stack.rpc ? ' (this run went through the RPC counter: rates are lower than without --count-rpc)' : ''}`,
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
        floor: { self: Number(f(mid.floor.cpu.selfMs / N, 2)), anvil: mid.floor.cpu.anvilMs === undefined ? null : Number(f(mid.floor.cpu.anvilMs / N, 2)) },
      },
      bareSeconds: Number(f(N / bareRate, 3)),
      bareLifecyclesPerSecond: Number(f(bareRate, 3)),
      floorLifecyclesPerSecond: Number(f(floorRate, 3)),
      floorTxPerSecond: Number(f((floorRate * stack.txs.length) / N, 1)),
      ratio: Number(f(ratio, 3)),
      blindSendRatio: Number(f(blindSendRatio, 3)),
      floorRatio: Number(f(floorRatio, 3)),
      ...(ROUNDS > 1
        ? {
            perRound: rounds.map((r) => ({
              lifecyclesPerSecond: Number(f(r.rate, 3)),
              bareLifecyclesPerSecond: Number(f(r.bareRate, 3)),
              floorLifecyclesPerSecond: Number(f(r.floorRate, 3)),
              overheadFactor: Number(f(r.factor, 3)),
            })),
          }
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
