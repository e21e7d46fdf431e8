/**
 * asa benchmark, each figure against the bare work it needs, measured in one run:
 * - relay publish: signed events sent one at a time over one WebSocket, each awaiting its OK, vs
 *   the same frames to a raw `ws` echo server awaiting the echo (the transport's floor);
 * - relay query: a REQ by id awaiting EVENT + EOSE, vs the same echo round trip;
 * - paid L402 requests: GET → 402 → pay over the network API → GET with the credential → 200, vs
 *   the payment's own work in process (sign a BOLT11 invoice, mint a macaroon, route and settle on
 *   the simulated network, verify the macaroon and the preimage).
 *
 *   npx tsx reference-impl/asa/bench.ts [--n 300] [--paid 60]
 *
 * Prints plain text and, last, one JSON line with events/s, requests/s and the ratios.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import WebSocket, { WebSocketServer } from 'ws';
import { roleKey } from '../../harness/chain/accounts.ts';
import { LightningClient } from './agents/lightning.ts';
import { payAndCall } from './agents/requester.ts';
import { WireClient } from './agents/wire.ts';
import { mintMacaroon, sha256hex, verifyMacaroon } from './protocol/macaroons.ts';
import { LightningNetwork } from './server/lightning.ts';
import { startAsaStack } from './server/stack.ts';

const { values } = parseArgs({ options: { n: { type: 'string', default: '300' }, paid: { type: 'string', default: '60' } } });
const N = Number(values.n);
const PAID = Number(values.paid);

async function echoServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d.toString())));
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, stop: () => new Promise<void>((r) => wss.close(() => r())) };
}

async function echoRate(url: string, frames: string[]): Promise<number> {
  const ws = new WebSocket(url);
  await new Promise((r) => ws.once('open', r));
  const t = performance.now();
  for (const f of frames) {
    await new Promise<void>((r) => {
      ws.once('message', () => r());
      ws.send(f);
    });
  }
  const rate = frames.length / ((performance.now() - t) / 1000);
  ws.terminate();
  return rate;
}

const s = await startAsaStack();
const echo = await echoServer();
try {
  const sk = generateSecretKey();
  const events = Array.from({ length: N }, (_, i) => finalizeEvent({ kind: 1, tags: [['t', 'bench']], content: `bench ${i}`, created_at: Math.floor(Date.now() / 1000) }, sk));
  const w = await WireClient.connect(s.relay.url);
  let t = performance.now();
  for (const e of events) {
    const ok = await w.publish(e);
    if (!ok?.ok) throw new Error(`publish refused: ${JSON.stringify(ok)}`);
  }
  const publish = N / ((performance.now() - t) / 1000);
  const echoPublish = await echoRate(
    echo.url,
    events.map((e) => JSON.stringify(['EVENT', e])),
  );
  t = performance.now();
  for (const e of events) {
    const q = await w.query([{ ids: [e.id] }]);
    if (q.events.length !== 1) throw new Error('query lost an event');
  }
  const query = N / ((performance.now() - t) / 1000);
  const echoQuery = await echoRate(
    echo.url,
    events.map((e) => JSON.stringify(['REQ', 'q', { ids: [e.id] }])),
  );
  w.close();

  const ln = new LightningClient(s.lightning.url);
  const node = (await ln.addNode(roleKey('buyer1', 'lightning').privateKey, { hubs: true })).pubkey;
  t = performance.now();
  for (let i = 0; i < PAID; i++) {
    const c = await payAndCall(fetch, s.provider.resourceUrl, ln, node);
    if (c.second?.status !== 200) throw new Error(`paid call answered ${c.second?.status}`);
  }
  const paid = PAID / ((performance.now() - t) / 1000);
  // Bare: the same payment work in process.
  const net = new LightningNetwork();
  const payer = net.addNode(randomBytes(32).toString('hex')).pubkey;
  const hub = net.addNode(randomBytes(32).toString('hex')).pubkey;
  const payee = net.addNode(randomBytes(32).toString('hex')).pubkey;
  net.openChannel(payer, hub, 10n ** 12n, 10n ** 12n);
  net.openChannel(hub, payee, 10n ** 12n, 10n ** 12n);
  const root = new Uint8Array(randomBytes(32));
  t = performance.now();
  for (let i = 0; i < PAID; i++) {
    const inv = net.createInvoice(payee, { amountMsat: 50_000n, description: 'asa:translate' });
    const mac = mintMacaroon({ rootKey: root, paymentHash: inv.paymentHash, tokenId: randomBytes(32).toString('hex'), service: 'translate', validUntil: 2e9, maxRequests: 1 });
    const p = net.pay(payer, inv.paymentRequest);
    if (sha256hex(p.preimage) !== inv.paymentHash || verifyMacaroon(mac, root, { service: 'translate', now: 1e9, used: 0 })) throw new Error('bare payment failed');
  }
  const bare = PAID / ((performance.now() - t) / 1000);
  const out = {
    bench: 'asa',
    relayPublishPerSecond: Math.round(publish),
    echoPublishPerSecond: Math.round(echoPublish),
    publishRatio: +(publish / echoPublish).toFixed(3),
    relayQueryPerSecond: Math.round(query),
    echoQueryPerSecond: Math.round(echoQuery),
    queryRatio: +(query / echoQuery).toFixed(3),
    paidRequestsPerSecond: +paid.toFixed(1),
    barePaymentsPerSecond: +bare.toFixed(1),
    paidRatio: +(paid / bare).toFixed(3),
    n: N,
    paid: PAID,
  };
  console.log(`relay publish ${out.relayPublishPerSecond} events/s vs raw WebSocket echo ${out.echoPublishPerSecond}/s: ratio ${out.publishRatio}`);
  console.log(`relay query ${out.relayQueryPerSecond} REQ/s vs echo ${out.echoQueryPerSecond}/s: ratio ${out.queryRatio}`);
  console.log(`paid L402 requests ${out.paidRequestsPerSecond}/s vs the payment's own signing and routing ${out.barePaymentsPerSecond}/s: ratio ${out.paidRatio}`);
  console.log(JSON.stringify(out));
} finally {
  await echo.stop();
  await s.stop();
}
process.exit(0);
