/**
 * x402 payment benchmark: paid requests per second through the reference stack against the bare
 * chain calls the same payments need.
 *
 *   npx tsx reference-impl/x402/bench.ts [--n 100] [--warmup 600] [--rounds 3] [--count-rpc]
 *
 * - Stack: a fresh base-sepolia anvil, our facilitator and the demo resource (`GET /premium`). One
 *   paid request = the payer agent (keep-alive HTTP, host clock) signs an EIP-3009 authorization
 *   for the already known 402 requirement and sends it as PAYMENT-SIGNATURE -> the resource
 *   verifies through the facilitator, serves, settles (transferWithAuthorization, receipt) -> 200 +
 *   PAYMENT-RESPONSE. Every answer is checked, and the payer's balance at the end.
 * - Bare: on a second fresh chain, for the very same signed authorizations, the chain calls the
 *   protocol makes a payment need, sent directly (bench-tools' `x402PaymentReads`, over the facilitator's transport) with nothing around them:
 *   /verify's (the pending block for the clock + an `eth_call` simulation of the transfer, one
 *   batch), /settle's re-verify before sending (the same two + the sender's pending nonce, one
 *   batch), and the settlement (that calldata signed locally, one `eth_sendRawTransactionSync`):
 *   3 round trips.
 * - Floor, for comparison, on a third chain: the simulation and the settlement only (2 round trips,
 *   no clock, no re-verify): what no verify-then-settle facilitator can go below.
 *
 * The three run side by side in alternating chunks of 10 payments, so load from other jobs on this
 * shared machine hits them alike. `--rounds R` repeats on fresh chains and reports the median.
 * The chains keep their past states in memory only, as `amh run`'s do (LONG_RUN_STATES): by
 * default anvil writes each state it moves out of memory to disk, which rounds longer than 128
 * blocks would measure.
 * `--count-rpc` puts a counting JSON-RPC proxy in front of the stack's chain and reports the calls
 * per paid request by method (slower: its rates are not the headline figures).
 *
 * Prints plain lines and, last, one JSON line. Stops every process it starts (also on SIGINT).
 */
import { parseArgs } from 'node:util';
import { type CpuUse, running, startRpcCounter, stopAll, stopwatch, x402PaymentReads } from '../../harness/testing/bench-tools.ts';
import { encodeFunctionData, getAddress, parseSignature, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { eip3009ABI } from '@x402/evm';
import { createChainClients, keepAliveFetch, LONG_RUN_STATES, revert, roleAccount, rpcCall, serviceAccount, snapshot, startChain, tokenOf } from '../../harness/chain/index.ts';
import { createPayer, pickV2 } from './agents/payer.ts';
import type { ExactEvmPayload } from './protocol/wire.ts';
import { startFacilitator } from './server/facilitator.ts';
import { startDemoResource } from './server/demo.ts';

const { values: flags } = parseArgs({
  options: {
    n: { type: 'string', default: '100' },
    warmup: { type: 'string', default: '600' },
    rounds: { type: 'string', default: '3' },
    'count-rpc': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log('usage: npx tsx reference-impl/x402/bench.ts [--n 100] [--warmup 600] [--rounds 3] [--count-rpc]');
  process.exit(0);
}
const N = Number(flags.n);
const WARMUP = Number(flags.warmup);
const ROUNDS = Number(flags.rounds);
if (![N, ROUNDS].every((x) => Number.isInteger(x) && x >= 1) || !Number.isInteger(WARMUP) || WARMUP < 0) {
  console.error('--n and --rounds must be positive integers and --warmup a non-negative integer');
  process.exit(2);
}

const buyer = roleAccount('buyer1');
const payTo = roleAccount('judge').address;
const facilitatorKey = serviceAccount('x402-facilitator');
const GAS_ETH = `0x${(1000n * 10n ** 18n).toString(16)}`;

function transferCalldata(p: ExactEvmPayload): Hex {
  const a = p.authorization;
  const sig = parseSignature(p.signature as Hex);
  const v = sig.v !== undefined ? Number(sig.v) : sig.yParity + 27;
  return encodeFunctionData({
    abi: eip3009ABI,
    functionName: 'transferWithAuthorization',
    args: [getAddress(a.from), getAddress(a.to), BigInt(a.value), BigInt(a.validAfter), BigInt(a.validBefore), a.nonce as Hex, v, sig.r, sig.s],
  });
}

/** The stack: a chain, our facilitator, the demo resource and a payer that knows the price. */
async function startStack() {
  const chain = await startChain({ profile: 'base-sepolia', pruneHistory: LONG_RUN_STATES });
  running.push(chain);
  await rpcCall(chain.rpcUrl, 'anvil_setBalance', [facilitatorKey.address, GAS_ETH]);
  const counter = flags['count-rpc'] ? await startRpcCounter(chain.rpcUrl) : undefined;
  if (counter) running.push(counter);
  const usdc = tokenOf(chain.profile, 'usdc');
  const fac = await startFacilitator({ rpcUrl: counter?.url ?? chain.rpcUrl, privateKey: facilitatorKey.privateKey });
  running.push(fac);
  const demo = await startDemoResource({ facilitatorUrl: fac.url, payTo, chainId: chain.chainId, asset: usdc.address, domain: { name: usdc.name, version: usdc.version } });
  running.push(demo);
  // The host clock, as a real client has (a fresh anvil's blocks follow it); a keep-alive client.
  const payer = createPayer({ privateKey: buyer.privateKey, chainId: chain.chainId, now: async () => BigInt(Math.floor(Date.now() / 1000)), fetchImpl: keepAliveFetch as typeof fetch });
  const challenge = await payer.challenge(demo.resourceUrl);
  const req = pickV2(challenge, chain.chainId, usdc.address);
  if (challenge.status !== 402 || !req) throw new Error(`no v2 challenge from the demo resource (${challenge.status})`);
  const { publicClient } = createChainClients(chain);
  const balance = () => publicClient.readContract({ address: usdc.address, abi: eip3009ABI, functionName: 'balanceOf', args: [buyer.address] });
  return {
    counter,
    rpcUrl: chain.rpcUrl,
    anvilPid: chain.pid,
    amount: BigInt(req.amount),
    balance,
    /** One paid request; every answer is checked. */
    async pay(): Promise<ExactEvmPayload> {
      const { header, payload } = await payer.v2Header(req);
      const { res, body } = await payer.send(demo.resourceUrl, header);
      if (res.status !== 200 || !res.headers.get('payment-response')) throw new Error(`paid request failed: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
      return payload.payload as ExactEvmPayload;
    },
  };
}

/** Bare: a chain and the calls a payment needs, sent directly (`protocol`: 3 round trips; `floor`: 2). */
async function startBare(kind: 'protocol' | 'floor') {
  const chain = await startChain({ profile: 'base-sepolia', pruneHistory: LONG_RUN_STATES });
  running.push(chain);
  const sender = privateKeyToAccount(facilitatorKey.privateKey);
  await rpcCall(chain.rpcUrl, 'anvil_setBalance', [sender.address, GAS_ETH]);
  const { publicClient } = createChainClients(chain);
  const usdc: Address = tokenOf(chain.profile, 'usdc').address;
  const count = () => publicClient.getTransactionCount({ address: sender.address, blockTag: 'pending' });
  let nonce = await count();
  const block = await publicClient.getBlock();
  const maxFeePerGas = (block.baseFeePerGas ?? 1_000_000_000n) * 4n + 1_000_000_000n;
  return Object.assign(
    async (p: ExactEvmPayload) => {
      const data = transferCalldata(p);
      if (kind === 'protocol') await x402PaymentReads(chain.rpcUrl, { from: sender.address, to: usdc, data });
      else await rpcCall(chain.rpcUrl, 'eth_call', [{ from: sender.address, to: usdc, data }, 'latest']);
      const raw = await sender.signTransaction({ chainId: chain.chainId, type: 'eip1559', to: usdc, data, gas: 200_000n, nonce: nonce++, maxFeePerGas, maxPriorityFeePerGas: 1_000_000_000n });
      const r = await rpcCall<{ status: Hex } | null>(chain.rpcUrl, 'eth_sendRawTransactionSync', [raw]);
      if (r?.status !== '0x1') throw new Error('bare settlement reverted');
    },
    {
      rpcUrl: chain.rpcUrl,
      anvilPid: chain.pid,
      /** After a revert: the sender's next nonce from the chain again. */
      async recount() {
        nonce = await count();
      },
    },
  );
}

interface Round {
  stack: number;
  bare: number;
  floor: number;
  /** CPU milliseconds per paid request: this process and the chain's anvil, stack and bare. */
  cpu: { stack: CpuUse; bare: CpuUse };
  rpc?: Map<string, number>;
}

/**
 * One round: the stack and both bare variants run side by side, in alternating chunks of 10
 * payments (the bare ones replay the chunk the stack just paid), so a load change on this shared
 * machine hits all three alike.
 */
async function round(): Promise<Round> {
  const stack = await startStack();
  const bare = await startBare('protocol');
  const floor = await startBare('floor');
  // Warm-up payments bring this process's code to the steady state of a server that has been up a
  // while (measured: this process's CPU per payment falls from 5.6 ms over the first hundred to about
  // 3.3 ms after five hundred, as V8 optimizes; hence 600 by default); the chains then go back
  // to their snapshot, so the timed payments meet fresh chains as in a cold round (anvil's own cost
  // per transaction grows with the blocks it holds).
  const chains = [stack.rpcUrl, bare.rpcUrl, floor.rpcUrl];
  const snapshots = await Promise.all(chains.map((url) => snapshot(url)));
  for (let i = 0; i < WARMUP; i++) {
    const p = await stack.pay();
    await bare(p);
    await floor(p);
  }
  await Promise.all(chains.map((url, i) => revert(url, snapshots[i]!)));
  await bare.recount();
  await floor.recount();
  const before = await stack.balance();
  if (stack.counter) stack.counter.state.counting = true;
  // The floor's CPU is not reported (no anvil pid: only this process's is read).
  const watch = { stack: stopwatch(stack.anvilPid), bare: stopwatch(bare.anvilPid), floor: stopwatch(undefined) };
  for (let done = 0; done < N; ) {
    const chunk: ExactEvmPayload[] = [];
    const k = Math.min(10, N - done);
    await watch.stack.time(async () => {
      for (let i = 0; i < k; i++) chunk.push(await stack.pay());
    });
    await watch.bare.time(async () => {
      for (const p of chunk) await bare(p);
    });
    await watch.floor.time(async () => {
      for (const p of chunk) await floor(p);
    });
    done += k;
  }
  if (stack.counter) stack.counter.state.counting = false;
  const moved = before - (await stack.balance());
  if (moved !== stack.amount * BigInt(N)) throw new Error(`the payer lost ${moved}, expected ${stack.amount * BigInt(N)}`);
  await stopAll();
  const rate = (w: ReturnType<typeof stopwatch>) => N / w.total.seconds;
  const perRequest = (c: CpuUse): CpuUse => ({ selfMs: c.selfMs / N, anvilMs: (c.anvilMs ?? Number.NaN) / N });
  return {
    stack: rate(watch.stack),
    bare: rate(watch.bare),
    floor: rate(watch.floor),
    cpu: { stack: perRequest(watch.stack.total.cpu), bare: perRequest(watch.bare.total.cpu) },
    rpc: stack.counter ? new Map(stack.counter.counts) : undefined,
  };
}

async function main(): Promise<number> {
  console.log(`x402 payment benchmark: n=${N}, warmup=${WARMUP}, rounds=${ROUNDS}`);
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    rounds.push(await round());
    const x = rounds.at(-1)!;
    console.log(
      `round ${r + 1}: stack ${x.stack.toFixed(1)} paid requests/s, bare ${x.bare.toFixed(1)}/s, ratio ${(x.stack / x.bare).toFixed(2)} (floor ${x.floor.toFixed(1)}/s: ${(x.stack / x.floor).toFixed(2)})`,
    );
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  const stack = median(rounds.map((r) => r.stack));
  const bare = median(rounds.map((r) => r.bare));
  const floor = median(rounds.map((r) => r.floor));
  const ratio = median(rounds.map((r) => r.stack / r.bare));
  const ratioFloor = median(rounds.map((r) => r.stack / r.floor));
  if (ROUNDS > 1) console.log(`median of ${ROUNDS} rounds:`);
  console.log(`stack: ${stack.toFixed(1)} paid requests/s (${(1000 / stack).toFixed(2)} ms each: sign, resource, /verify, handler, /settle with its receipt)`);
  console.log(`bare:  ${bare.toFixed(1)} payments/s (${(1000 / bare).toFixed(2)} ms: verify's and settle's chain reads, one batch each, + eth_sendRawTransactionSync)`);
  console.log(`ratio stack/bare: ${ratio.toFixed(2)} (against the 2-call floor, ${floor.toFixed(1)}/s: ${ratioFloor.toFixed(2)})`);
  // CPU of the round with the median stack rate: where the stack's extra time goes.
  const mid = rounds.find((r) => r.stack === stack)!.cpu;
  const cpuText = (c: CpuUse) => `this process ${c.selfMs.toFixed(2)} ms, anvil ${c.anvilMs!.toFixed(2)} ms`;
  console.log(`CPU per paid request: stack ${cpuText(mid.stack)} (payer, resource and facilitator all run in this process); bare ${cpuText(mid.bare)}`);
  let rpcPerRequest: Record<string, number> | undefined;
  const counted = rounds.find((r) => r.rpc)?.rpc;
  if (counted) {
    const sorted = [...counted.entries()].sort((a, b) => b[1] - a[1]);
    const total = sorted.reduce((a, [, v]) => a + v, 0);
    rpcPerRequest = Object.fromEntries([['total', total / N], ...sorted.map(([k, v]) => [k, v / N] as const)]);
    console.log(`stack JSON-RPC calls per paid request: ${(total / N).toFixed(1)} (${sorted.map(([k, v]) => `${k} ${(v / N).toFixed(2)}`).join(', ')}); bare: 6 in 3 round trips`);
  }
  console.log(
    JSON.stringify({
      bench: 'x402-payment',
      n: N,
      warmup: WARMUP,
      rounds: ROUNDS,
      stackPerSecond: +stack.toFixed(2),
      barePerSecond: +bare.toFixed(2),
      floorPerSecond: +floor.toFixed(2),
      ratio: +ratio.toFixed(3),
      ratioFloor: +ratioFloor.toFixed(3),
      cpuMsPerRequest: Object.fromEntries(Object.entries(mid).map(([k, c]) => [k, { self: +c.selfMs.toFixed(2), anvil: +c.anvilMs!.toFixed(2) }])),
      ...(ROUNDS > 1 ? { perRound: rounds.map((r) => ({ stack: +r.stack.toFixed(2), bare: +r.bare.toFixed(2), ratio: +(r.stack / r.bare).toFixed(3) })) } : {}),
      ...(rpcPerRequest ? { rpcCounted: true, rpcPerRequest } : {}),
    }),
  );
  return 0;
}

main()
  .then((code) => stopAll().then(() => process.exit(code)))
  .catch(async (e: Error) => {
    console.error(`x402 bench failed: ${e.stack ?? e.message}`);
    await stopAll();
    process.exit(1);
  });
