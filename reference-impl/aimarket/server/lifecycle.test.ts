/**
 * The AI Market reference hub end to end on a base anvil: discovery and the signed manifest, the
 * 402 → on-chain transfer → X-Payment flow with a verified receipt, a reused hash refused, a channel
 * with cent-ceiling debits, a refunded failure and an exact close paid back on chain, a pipeline with
 * its signed bill of materials, federation through the routing hub (routed price, routed invoke,
 * 502 for the stopped peer), and the MCP endpoint driven by the official SDK's client.
 */
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, test } from 'vitest';
import { buyerRun, checkReceipt, discoverHub, payAndInvoke, requirementOf } from '../agents/buyer.ts';
import { hubClient } from '../agents/hub-client.ts';
import { verifyBom } from '../protocol/sign.ts';
import { type AimLab, startAimLab } from './testkit.ts';

let lab: AimLab;
let key = '';
beforeAll(async () => {
  lab = await startAimLab();
  key = lab.stack.provider.publicKey;
}, 120_000);
afterAll(async () => {
  await lab?.stop();
});

test('discovery: the manifest verifies under the advertised key, five-field canonical', async () => {
  const d = await discoverHub(hubClient(lab.stack.provider.url));
  assert.ok('verdict' in d, JSON.stringify(d));
  assert.equal(d.verdict.ok, true, d.verdict.reason);
  assert.equal(d.verdict.generation, 'manifest-5field');
  assert.equal(d.wellKnown.signer_public_key, key);
});

test('402 → transfer → X-Payment: receipt verifies; the hash cannot pay twice', async () => {
  const hub = hubClient(lab.stack.provider.url);
  const r = await payAndInvoke(hub, lab.payer('buyer1'), lab.usdc, 'prod-lang', 'translate.multi@v2', { text: 'hello', locales: ['ru'] });
  assert.equal(r.first.status, 402);
  assert.equal(r.amount, 400_000n);
  assert.equal(r.paid?.status, 200, r.paid?.text);
  assert.equal(checkReceipt(r.paid!.text, key).ok, true);
  const again = await hub.invoke('prod-lang', 'translate.multi@v2', { text: 'hello' }, { txHash: r.hash });
  assert.equal(again.status, 402);
  const nonce = r.paid!.body.receipt.nonce;
  const look = await hub.receipt(nonce);
  assert.equal(look.status, 200);
  assert.equal(checkReceipt(look.text, key).ok, true);
});

test('channel: ceiling debits, refunded failure, exact close paid back on chain', async () => {
  const hub = hubClient(lab.stack.provider.url);
  const buyer = lab.payer('buyer2');
  const unpaid = await hub.invoke('prod-text', 'upper@v1', { text: 'x' });
  const req = requirementOf(unpaid);
  assert.ok(req.ok);
  const tx = await buyer.transfer(lab.usdc, req.req.recipient, 50_000n);
  assert.ok(tx.ok);
  const open = await hub.openChannel(0.05, tx.hash);
  assert.equal(open.status, 200, open.text);
  const ch = open.body.channel.channel_id as string;
  const up = await hub.invoke('prod-text', 'upper@v1', { text: 'abc' }, { channel: ch });
  assert.equal(up.status, 200);
  assert.equal(up.body.result.text, 'ABC');
  assert.equal((await hub.channel(ch)).body.balance_usd, 0.04);
  const fail = await hub.invoke('prod-text', 'flaky@v1', { text: 'fail' }, { channel: ch });
  assert.equal(fail.body.success, false);
  assert.equal(checkReceipt(fail.text, key).generation, 'receipt-v2');
  assert.equal((await hub.channel(ch)).body.balance_usd, 0.04);
  const rev = await hub.invoke('prod-text', 'reverse@v1', { text: 'abc' }, { channel: ch });
  assert.equal(rev.status, 200);
  assert.equal((await hub.channel(ch)).body.balance_usd, 0.02);
  const rev2 = await hub.invoke('prod-text', 'reverse@v1', { text: 'abc' }, { channel: ch });
  assert.equal(rev2.status, 200);
  const broke = await hub.invoke('prod-text', 'upper@v1', { text: 'abc' }, { channel: ch });
  assert.equal(broke.status, 402);
  const close = await hub.closeChannel(ch);
  assert.equal(close.status, 200, close.text);
  assert.deepEqual([close.body.settlement.used_usd, close.body.settlement.refund_usd], [0.05, 0]);
});

test('pipeline: topological order, BOM signed and totalled', async () => {
  const hub = hubClient(lab.stack.provider.url);
  const buyer = lab.payer('buyer1');
  const tx = await buyer.transfer(lab.usdc, lab.stack.provider.recipient, 1_000_000n);
  assert.ok(tx.ok);
  const ch = (await hub.openChannel('1.00', tx.hash)).body.channel.channel_id;
  const p = await hub.pipeline(ch, [
    { id: 'b', product_id: 'prod-text', capability_id: 'reverse@v1', input_from: 'a', depends_on: ['a'] },
    { id: 'a', product_id: 'prod-text', capability_id: 'upper@v1', input: { text: 'abc' } },
  ]);
  assert.equal(p.status, 200, p.text);
  assert.deepEqual(p.body.final_result, { text: 'CBA' });
  assert.equal(p.body.bill_of_materials.total_usd, 0.03);
  assert.equal(verifyBom(JSON.stringify(p.body.bill_of_materials), key).ok, true);
  const cyc = await hub.pipeline(ch, [
    { id: 'a', product_id: 'prod-text', capability_id: 'upper@v1', input_from: 'b' },
    { id: 'b', product_id: 'prod-text', capability_id: 'upper@v1', input_from: 'a' },
  ]);
  assert.equal(cyc.status, 400);
  assert.equal((await hub.channel(ch)).body.balance_usd, 0.97);
});

test('federation: routed price with the fee, routed 402 and paid invoke, 502 for a stopped peer', async () => {
  const router = hubClient(lab.stack.router!.url);
  const s = await router.search({ intent: 'translate languages' });
  assert.equal(s.status, 200);
  const m = s.body.matches.find((x: { capability_id: string }) => x.capability_id === 'translate.multi@v2');
  assert.equal(m.routed_price_usd, 0.404);
  const body = { product_id: 'prod-lang', capability_id: 'translate.multi@v2', source_hub: lab.stack.provider.url, input: { text: 'hi' } };
  const u = await router.routedInvoke(body);
  assert.equal(u.status, 402);
  assert.ok(requirementOf(u).ok);
  const tx = await lab.payer('buyer1').transfer(lab.usdc, lab.stack.provider.recipient, 400_000n);
  assert.ok(tx.ok);
  const paid = await router.routedInvoke(body, { txHash: tx.hash });
  assert.equal(paid.status, 200, paid.text);
  assert.equal(paid.headers.get('x-aimarket-routing-fee'), '100');
  assert.equal(checkReceipt(paid.text, key).ok, true);
  const down = await router.routedInvoke({ product_id: 'prod-text', capability_id: 'count@v1', source_hub: lab.stack.downPeer, input: { text: 'x' } });
  assert.equal(down.status, 502);
});

test('MCP: the official SDK client lists the catalog and calls a tool paid by a channel', async () => {
  const hub = hubClient(lab.stack.provider.url);
  const tx = await lab.payer('buyer2').transfer(lab.usdc, lab.stack.provider.recipient, 100_000n);
  assert.ok(tx.ok);
  const ch = (await hub.openChannel(0.1, tx.hash)).body.channel.channel_id as string;
  const connect = async (headers: Record<string, string>) => {
    const client = new Client({ name: 'amh-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${lab.stack.provider.url}/ai-market/mcp`), { requestInit: { headers } }));
    return client;
  };
  const free = await connect({});
  const tools = await free.listTools();
  const manifest = (await hub.manifest()).body;
  assert.deepEqual(tools.tools.map((t) => t.name).sort(), manifest.tools.map((t: { name: string }) => t.name).sort());
  const unpaid = await free.callTool({ name: 'prod-text.upper@v1', arguments: { text: 'mcp' } });
  assert.equal(unpaid.isError, true);
  await free.close();
  const paid = await connect({ 'x-payment-channel': ch });
  const r = await paid.callTool({ name: 'prod-text.upper@v1', arguments: { text: 'mcp' } });
  assert.equal(r.isError, false);
  assert.deepEqual((r.structuredContent as { result: unknown }).result, { text: 'MCP' });
  const v = checkReceipt(JSON.stringify(r.structuredContent), key);
  assert.equal(v.ok, true, `${v.reason} ${JSON.stringify(r.structuredContent)}`);
  await paid.close();
  assert.equal((await hub.channel(ch)).body.balance_usd, 0.09);
});

test('the buyer agent: plans from an intent within a budget, pays, runs the plan, verifies what it gets', async () => {
  const hub = hubClient(lab.stack.provider.url);
  const one = await buyerRun(hub, lab.payer('buyer2'), lab.usdc, 'translate this', 0.5, { text: 'hi', locales: ['fr'] });
  assert.equal(one.error, undefined, String(one.error));
  assert.deepEqual(one.plan, ['prod-lang.translate.multi@v2']);
  assert.equal(one.verdicts[0]?.ok, true);
  const many = await buyerRun(hub, lab.payer('buyer1'), lab.usdc, 'upper reverse', 0.02, { text: 'abc' });
  assert.equal(many.error, undefined, String(many.error));
  assert.deepEqual(many.plan, ['prod-text.upper@v1', 'prod-text.reverse@v1']);
  assert.deepEqual(many.results[0], { text: 'CBA' });
  assert.equal(many.spentCents, 3n);
  const none = await buyerRun(hub, lab.payer('buyer1'), lab.usdc, 'translate', 0.1, { text: 'x' });
  assert.match(none.error ?? '', /nothing in the catalog/);
});
