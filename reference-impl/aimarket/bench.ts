/**
 * AI Market paid-invocation benchmark on a fresh base anvil: paid invocations per second through the
 * reference hub, against the bare calls the same work needs, as ratios.
 *
 *   npx tsx reference-impl/aimarket/bench.ts [--n 40] [--rounds 3]
 *
 * - per-call payment: the buyer's USDC transfer (signed locally, eth_sendRawTransactionSync) then
 *   POST invoke with X-Payment (the hub reads the chain clock and the transaction receipt, checks the
 *   transfer, runs the capability, signs and stores the receipt). Bare: the same transfer sent the same
 *   way, the one eth_getTransactionReceipt the check needs, and the capability run in process.
 * - channel debit: POST invoke with X-Payment-Channel (chain clock read, one SQL debit, the capability,
 *   an Ed25519-signed v2 receipt). Bare: the same capability behind a plain node:http JSON endpoint
 *   called over the same client (the HTTP call a paid call cannot avoid).
 *
 * Stack and bare alternate in rounds (machine load changes hit both); the median of the per-round
 * ratios is reported. Prints plain text and, last, one JSON line with both ratios (stack / bare;
 * DESIGN's goal is 0.5).
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { encodeFunctionData, erc20Abi, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { roleAccount, rpcCall, startChain } from '../../harness/chain/index.ts';
import { keepAliveFetch } from '../../harness/chain/rpc.ts';
import { hubClient } from './agents/hub-client.ts';
import { REFERENCE_CATALOG, runCapability } from './protocol/catalog.ts';
import { startAimStack } from './server/stack.ts';

const { values: flags } = parseArgs({ options: { n: { type: 'string', default: '40' }, rounds: { type: 'string', default: '3' } } });
const N = Number(flags.n);
const ROUNDS = Number(flags.rounds);
if (!Number.isInteger(N) || N < 1 || !Number.isInteger(ROUNDS) || ROUNDS < 1) {
  console.error('--n and --rounds must be positive integers');
  process.exit(2);
}

const chain = await startChain({ profile: 'base' });
const stack = await startAimStack(chain, { federation: false });
const hub = hubClient(stack.provider.url, keepAliveFetch as typeof fetch);
const buyer = privateKeyToAccount(roleAccount('buyer1').privateKey);
const usdc = chain.profile.usdc!.address;
const cap = REFERENCE_CATALOG.find((c) => c.capabilityId === 'upper@v1')!;
const gasPrice = BigInt(await rpcCall<Hex>(chain.rpcUrl, 'eth_gasPrice')) * 2n;
let nonce = Number(BigInt(await rpcCall<Hex>(chain.rpcUrl, 'eth_getTransactionCount', [buyer.address, 'pending'])));

async function transfer(amount: bigint): Promise<Hex> {
  const data = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [stack.provider.recipient, amount] });
  const raw = await buyer.signTransaction({ to: usdc, data, nonce: nonce++, gas: 100_000n, gasPrice, chainId: chain.chainId, type: 'legacy' });
  const r = await rpcCall<{ transactionHash: Hex; status: Hex }>(chain.rpcUrl, 'eth_sendRawTransactionSync', [raw]);
  if (r.status !== '0x1') throw new Error('transfer reverted');
  return r.transactionHash;
}

const rate = (n: number, ms: number) => (n * 1000) / ms;
const input = { text: 'benchmark input' };

try {
  // warm up both paths
  await hub.invoke(cap.productId, cap.capabilityId, input, { txHash: await transfer(cap.priceMicros) });

  const timed = async (f: () => Promise<unknown>) => {
    const t = performance.now();
    for (let i = 0; i < N; i++) await f();
    return rate(N, performance.now() - t);
  };
  const paidCall = async () => {
    const r = await hub.invoke(cap.productId, cap.capabilityId, input, { txHash: await transfer(cap.priceMicros) });
    if (r.status !== 200) throw new Error(`paid invoke answered ${r.status}: ${r.text}`);
  };
  const bareCallPaid = async () => {
    const h = await transfer(cap.priceMicros);
    await rpcCall(chain.rpcUrl, 'eth_getTransactionReceipt', [h]);
    runCapability(cap, input);
  };

  const deposit = await transfer(BigInt(ROUNDS * N + 2) * 10_000n);
  const open = await hub.openChannel((ROUNDS * N + 2) / 100, deposit);
  const ch = open.body.channel.channel_id as string;
  const channelCall = async () => {
    const r = await hub.invoke(cap.productId, cap.capabilityId, input, { channel: ch });
    if (r.status !== 200) throw new Error(`channel invoke answered ${r.status}: ${r.text}`);
  };
  const bare = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { input: { text: string } };
      const out = runCapability(cap, body.input);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  const bareUrl = `http://127.0.0.1:${(bare.address() as { port: number }).port}/run`;
  const bareCall = async () => (await keepAliveFetch(bareUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input }) })).text();
  await channelCall();
  await bareCall();

  // Rounds alternate stack and bare so that a change of machine load hits both; the median ratio is reported.
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const r1: number[][] = [];
  const r2: number[][] = [];
  for (let k = 0; k < ROUNDS; k++) {
    r1.push([await timed(paidCall), await timed(bareCallPaid)]);
    r2.push([await timed(channelCall), await timed(bareCall)]);
  }
  bare.close();
  const perCall = median(r1.map((x) => x[0]!));
  const perCallBare = median(r1.map((x) => x[1]!));
  const channel = median(r2.map((x) => x[0]!));
  const channelBare = median(r2.map((x) => x[1]!));
  const ratio1 = median(r1.map((x) => x[0]! / x[1]!));
  const ratio2 = median(r2.map((x) => x[0]! / x[1]!));

  const out = {
    bench: 'aimarket-paid-invocations',
    n: N,
    rounds: ROUNDS,
    perCall: { invocationsPerSecond: +perCall.toFixed(1), barePerSecond: +perCallBare.toFixed(1), ratio: +ratio1.toFixed(3) },
    channel: { invocationsPerSecond: +channel.toFixed(1), barePerSecond: +channelBare.toFixed(1), ratio: +ratio2.toFixed(3) },
  };
  console.log(`per-call payment: ${out.perCall.invocationsPerSecond} paid invocations/s; bare transfer + receipt read + work: ${out.perCall.barePerSecond}/s; ratio ${out.perCall.ratio}`);
  console.log(`channel debit:    ${out.channel.invocationsPerSecond} paid invocations/s; bare HTTP call of the work: ${out.channel.barePerSecond}/s; ratio ${out.channel.ratio}`);
  console.log(JSON.stringify(out));
} finally {
  await stack.stop();
  await chain.stop();
}
