/**
 * AI Market paid-invocation benchmark on a fresh base anvil: paid invocations per second through the
 * reference hub, against the bare calls the same work needs, as ratios.
 *
 *   npx tsx reference-impl/aimarket/bench.ts [--n 40]
 *
 * - per-call payment: the buyer's USDC transfer (signed locally, eth_sendRawTransactionSync) then
 *   POST invoke with X-Payment (the hub reads the chain clock and the transaction receipt, checks the
 *   transfer, runs the capability, signs and stores the receipt). Bare: the same transfer sent the same
 *   way, the one eth_getTransactionReceipt the check needs, and the capability run in process.
 * - channel debit: POST invoke with X-Payment-Channel (chain clock read, one SQL debit, the capability,
 *   an Ed25519-signed v2 receipt). Bare: the same capability behind a plain node:http JSON endpoint
 *   called over the same client (the HTTP call a paid call cannot avoid).
 *
 * Prints plain text and, last, one JSON line with both ratios (stack / bare; DESIGN's goal is 0.5).
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

const { values: flags } = parseArgs({ options: { n: { type: 'string', default: '40' } } });
const N = Number(flags.n);
if (!Number.isInteger(N) || N < 1) {
  console.error('--n must be a positive integer');
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

  let t = performance.now();
  for (let i = 0; i < N; i++) {
    const h = await transfer(cap.priceMicros);
    const r = await hub.invoke(cap.productId, cap.capabilityId, input, { txHash: h });
    if (r.status !== 200) throw new Error(`paid invoke answered ${r.status}: ${r.text}`);
  }
  const perCall = rate(N, performance.now() - t);
  t = performance.now();
  for (let i = 0; i < N; i++) {
    const h = await transfer(cap.priceMicros);
    await rpcCall(chain.rpcUrl, 'eth_getTransactionReceipt', [h]);
    runCapability(cap, input);
  }
  const perCallBare = rate(N, performance.now() - t);

  const deposit = await transfer(BigInt(N + 2) * 10_000n);
  const open = await hub.openChannel((N + 2) / 100, deposit);
  const ch = open.body.channel.channel_id as string;
  await hub.invoke(cap.productId, cap.capabilityId, input, { channel: ch });
  t = performance.now();
  for (let i = 0; i < N; i++) {
    const r = await hub.invoke(cap.productId, cap.capabilityId, input, { channel: ch });
    if (r.status !== 200) throw new Error(`channel invoke answered ${r.status}: ${r.text}`);
  }
  const channel = rate(N, performance.now() - t);

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
  await bareCall();
  t = performance.now();
  for (let i = 0; i < N; i++) await bareCall();
  const channelBare = rate(N, performance.now() - t);
  bare.close();

  const out = {
    bench: 'aimarket-paid-invocations',
    n: N,
    perCall: { invocationsPerSecond: +perCall.toFixed(1), barePerSecond: +perCallBare.toFixed(1), ratio: +(perCall / perCallBare).toFixed(3) },
    channel: { invocationsPerSecond: +channel.toFixed(1), barePerSecond: +channelBare.toFixed(1), ratio: +(channel / channelBare).toFixed(3) },
  };
  console.log(`per-call payment: ${out.perCall.invocationsPerSecond} paid invocations/s; bare transfer + receipt read + work: ${out.perCall.barePerSecond}/s; ratio ${out.perCall.ratio}`);
  console.log(`channel debit:    ${out.channel.invocationsPerSecond} paid invocations/s; bare HTTP call of the work: ${out.channel.barePerSecond}/s; ratio ${out.channel.ratio}`);
  console.log(JSON.stringify(out));
} finally {
  await stack.stop();
  await chain.stop();
}
