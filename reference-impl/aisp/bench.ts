/**
 * AISP rental benchmark: how many full rentals per second the reference stack does on a fresh `base`
 * anvil, against the bare chain calls those rentals need.
 *
 *   npx tsx reference-impl/aisp/bench.ts [--n 20] [--warmup 2] [--rounds 1]
 *
 * 1. Stack: anvil + the AISP backend + the lab inference server. One rental = the provider lists on
 *    chain, issues a scoped key on its Venice account and stores it on the backend (signed); the
 *    renter approves and funds on chain, gets the key from the backend (signed; the backend follows
 *    the Funded event), makes one inference call with it; the term passes (evm_increaseTime + mine);
 *    the provider settles on chain.
 * 2. The transactions those rentals mined are read back by hash from the agents' receipts and checked
 *    against the blocks (so the count is what the stack really sent).
 * 3. Bare: on a second fresh chain, the same transactions (same senders, calldata, gas) signed locally
 *    and sent with `eth_sendRawTransactionSync` (one round trip with the receipt), with the same clock
 *    moves: the least the chain work of a rental can cost here.
 *
 * Prints plain text and, last, one JSON line; `ratio` = stack rentals/s ÷ bare rentals/s (DESIGN:
 * the goal is at least 0.5). Stops every process it starts (also on SIGINT).
 */
import { parseArgs } from 'node:util';
import { running, stopAll } from '../../harness/testing/bench-tools.ts';
import type { Address, Hex, TransactionSerializable } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { roleAccounts, rpcCall, startChain, type RunningChain } from '../../harness/chain/index.ts';
import { DIEM } from './protocol/profile.ts';
import { LAB_MODEL } from './protocol/inference.ts';
import { startLab, type Lab } from './server/testkit.ts';

const { values: flags } = parseArgs({
  options: { n: { type: 'string', default: '20' }, warmup: { type: 'string', default: '2' }, rounds: { type: 'string', default: '1' }, help: { type: 'boolean', default: false } },
});
if (flags.help) {
  console.log('usage: npx tsx reference-impl/aisp/bench.ts [--n 20] [--warmup 2] [--rounds 1]');
  process.exit(0);
}
const N = Number(flags.n);
const WARMUP = Number(flags.warmup);
const ROUNDS = Number(flags.rounds);
if (!Number.isInteger(N) || N < 1 || !Number.isInteger(WARMUP) || WARMUP < 0 || !Number.isInteger(ROUNDS) || ROUNDS < 1) {
  console.error('--n and --rounds must be positive integers and --warmup a non-negative integer');
  process.exit(2);
}

const TERMS = { pricePerDay: 10_000n, termDays: 1n, diemMin: DIEM, diemMax: 10n * DIEM };
const DAY = 86_400;

interface RecordedTx {
  from: Address;
  to: Address;
  input: Hex;
  gas: bigint;
}
/** One rental's transactions: those before the clock moves, then those after. */
interface RentalTxs {
  before: RecordedTx[];
  after: RecordedTx[];
}

async function warp(chain: RunningChain, seconds: number) {
  await rpcCall(chain.rpcUrl, 'evm_increaseTime', [seconds]);
  await rpcCall(chain.rpcUrl, 'evm_mine', []);
}

async function stackPhase(): Promise<{ seconds: number; perStepMs: Record<string, number>; warm: RentalTxs[]; timed: RentalTxs[] }> {
  const chain = await startChain({ profile: 'base' });
  running.push(chain);
  const lab: Lab = await startLab({ chain });
  running.push({ stop: () => lab.stack.stop() });
  const provider = lab.provider();
  const renter = lab.renter('buyer1');
  const pub = lab.market('buyer1').pub;
  const steps = { list: 0, fund: 0, key: 0, inference: 0, settle: 0 };
  const hashes: Hex[][] = [];

  const rental = async (timed: boolean) => {
    let t = performance.now();
    const lap = (k: keyof typeof steps) => {
      const now = performance.now();
      if (timed) steps[k] += now - t;
      t = now;
    };
    const before: Hex[] = [];
    const { listingId } = await provider.createListing(TERMS);
    lap('list');
    const m = lab.market('buyer1');
    const cost = await m.quote(listingId, 1n, DIEM);
    const ap = await m.approve(cost);
    const f = await m.fund(listingId, 1n, DIEM);
    lap('fund');
    const k = await renter.getKey(f.rentalId);
    if (k.status !== 200) throw new Error(`get key answered ${k.status}: ${k.text}`);
    lap('key');
    const use = await renter.use((k.body as { apiKey: string }).apiKey, LAB_MODEL, 'one question');
    if (use.status !== 200) throw new Error(`inference answered ${use.status}`);
    lap('inference');
    await warp(chain, DAY);
    const s = await lab.market('provider').settle(f.rentalId);
    lap('settle');
    // The list transaction's hash: the Listed event's block holds exactly one tx from the provider.
    const listBlock = await pub.getBlock({ blockNumber: ap.receipt.blockNumber - 1n });
    before.push(...(listBlock.transactions as Hex[]), ap.receipt.transactionHash, f.receipt.transactionHash);
    hashes.push(before, [s.receipt.transactionHash]);
  };

  for (let i = 0; i < WARMUP; i++) await rental(false);
  const from = await pub.getBlockNumber({ cacheTime: 0 });
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await rental(true);
  const seconds = (performance.now() - t0) / 1000;
  const to = await pub.getBlockNumber({ cacheTime: 0 });
  // Every transaction mined in the timed loop must be one we recorded (the servers send none).
  let mined = 0;
  for (let b = from + 1n; b <= to; b++) mined += (await pub.getBlock({ blockNumber: b })).transactions.length;
  const load = async (hs: Hex[]) =>
    Promise.all(
      hs.map(async (h) => {
        const tx = await pub.getTransaction({ hash: h });
        return { from: tx.from, to: tx.to!, input: tx.input, gas: tx.gas };
      }),
    );
  const pairs: RentalTxs[] = [];
  for (let i = 0; i < hashes.length; i += 2) pairs.push({ before: await load(hashes[i]!), after: await load(hashes[i + 1]!) });
  const timed = pairs.slice(WARMUP);
  const recorded = timed.reduce((s, r) => s + r.before.length + r.after.length, 0);
  if (recorded !== mined) throw new Error(`the timed rentals mined ${mined} transactions, the agents recorded ${recorded}`);
  await stopAll();
  return { seconds, perStepMs: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, v / N])), warm: pairs.slice(0, WARMUP), timed };
}

async function barePhase(warm: RentalTxs[], timed: RentalTxs[]): Promise<{ seconds: number }> {
  const chain = await startChain({ profile: 'base' });
  running.push(chain);
  const rpc = (method: string, params: unknown[]) => rpcCall<unknown>(chain.rpcUrl, method, params);
  const keys = new Map(roleAccounts.map((a) => [a.address.toLowerCase(), privateKeyToAccount(a.privateKey)]));
  const nonces = new Map<string, number>();
  const block = (await rpc('eth_getBlockByNumber', ['latest', false])) as { baseFeePerGas?: Hex };
  const maxFeePerGas = BigInt(block.baseFeePerGas ?? '0x3b9aca00') * 4n + 1_000_000_000n;
  const send = async (tx: RecordedTx) => {
    const k = tx.from.toLowerCase();
    const account = keys.get(k);
    if (!account) throw new Error(`no key for ${tx.from}`);
    if (!nonces.has(k)) nonces.set(k, Number(BigInt((await rpc('eth_getTransactionCount', [tx.from, 'latest'])) as Hex)));
    const nonce = nonces.get(k)!;
    nonces.set(k, nonce + 1);
    const unsigned: TransactionSerializable = { chainId: chain.chainId, type: 'eip1559', to: tx.to, data: tx.input, gas: tx.gas, nonce, maxFeePerGas, maxPriorityFeePerGas: 1_000_000_000n };
    const receipt = (await rpc('eth_sendRawTransactionSync', [await account.signTransaction(unsigned)])) as { status: Hex } | null;
    if (receipt?.status !== '0x1') throw new Error(`bare replay of a call to ${tx.to} (${tx.input.slice(0, 10)}) did not succeed`);
  };
  const rental = async (r: RentalTxs) => {
    for (const tx of r.before) await send(tx);
    await warp(chain, DAY);
    for (const tx of r.after) await send(tx);
  };
  for (const r of warm) await rental(r);
  const t0 = performance.now();
  for (const r of timed) await rental(r);
  const seconds = (performance.now() - t0) / 1000;
  await stopAll();
  return { seconds };
}

async function main(): Promise<number> {
  console.log(`AISP rental benchmark: n=${N}, warmup=${WARMUP}, rounds=${ROUNDS} (one rental = list + store key, approve + fund, get key, one inference call, term passes, settle)`);
  const f = (x: number, d = 2) => x.toFixed(d);
  const rounds: { rate: number; bareRate: number; stack: Awaited<ReturnType<typeof stackPhase>> }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const stack = await stackPhase();
    const bare = await barePhase(stack.warm, stack.timed);
    rounds.push({ rate: N / stack.seconds, bareRate: N / bare.seconds, stack });
    if (ROUNDS > 1) console.log(`round ${r + 1}: stack ${f(N / stack.seconds)} rentals/s, bare ${f(N / bare.seconds)} rentals/s`);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  const rate = median(rounds.map((r) => r.rate));
  const bareRate = median(rounds.map((r) => r.bareRate));
  const mid = rounds.find((r) => r.rate === rate)!.stack;
  const txPerRental = mid.timed.reduce((s, r) => s + r.before.length + r.after.length, 0) / N;
  console.log(
    `stack: ${f(rate)} rentals/s (${f(1000 / rate, 1)} ms each); per step (ms): ${Object.entries(mid.perStepMs)
      .map(([k, v]) => `${k} ${f(v, 1)}`)
      .join(', ')}`,
  );
  console.log(`bare: the same ${txPerRental} transactions per rental (list, approve, fund, settle) and clock moves: ${f(bareRate)} rentals/s`);
  console.log(`ratio (stack / bare): ${f(rate / bareRate, 3)}  ·  overhead factor ${f(bareRate / rate)}x`);
  console.log(
    JSON.stringify({
      bench: 'aisp-rental',
      n: N,
      warmup: WARMUP,
      rounds: ROUNDS,
      rentalsPerSecond: Number(f(rate, 3)),
      msPerRental: Number(f(1000 / rate, 2)),
      perStepMs: Object.fromEntries(Object.entries(mid.perStepMs).map(([k, v]) => [k, Number(f(v, 2))])),
      txPerRental,
      bareRentalsPerSecond: Number(f(bareRate, 3)),
      ratio: Number(f(rate / bareRate, 3)),
      overheadFactor: Number(f(bareRate / rate, 3)),
    }),
  );
  return 0;
}

main()
  .then((code) => stopAll().then(() => process.exit(code)))
  .catch(async (e: Error) => {
    console.error(`bench-aisp failed: ${e.stack ?? e.message}`);
    await stopAll();
    process.exit(1);
  });
