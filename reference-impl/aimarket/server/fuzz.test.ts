/**
 * Malformed-input fuzzing of the AI Market reference hubs (provider and router) on a base anvil:
 * 2,400 seeded fast-check requests across every route (bad JSON, wrong types, missing fields, bodies
 * past the limit, junk payment headers, transactions that are not payments, unknown channels,
 * cyclic and unknown-node pipelines, bad search parameters, forged announcements, wrong methods and
 * paths). A real open channel and a real unused payment transaction are named in many of them.
 *
 * Per request: no 5xx; a 4xx for every request (none is well formed); every 4xx a JSON `{error}`.
 * After the run: both hubs' SQLite content, the channel's balance, the hub wallet's nonce and the block
 * height are exactly what they were, and the unused payment still pays.
 *
 * Env: FUZZ_SEED (default 2026_1201), FUZZ_RUNS (default 2400).
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import type { Hex } from 'viem';
import { afterAll, beforeAll, test } from 'vitest';
import { rpcCall } from '../../../harness/chain/index.ts';
import { hubClient } from '../agents/hub-client.ts';
import type { HubDb } from './db.ts';
import { type AimLab, startAimLab } from './testkit.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 2026_1201);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2400);

let lab: AimLab;
let channel = '';
let unusedTx = '';
let usedTx = '';

function dump(db: HubDb): string {
  const tables = (db.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((t) => t.name);
  return JSON.stringify(tables.map((t) => [t, db.db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()]));
}

beforeAll(async () => {
  lab = await startAimLab();
  const hub = hubClient(lab.stack.provider.url);
  const pay = lab.payer('buyer1');
  const dep = await pay.transfer(lab.usdc, lab.stack.provider.recipient, 500_000n);
  assert.ok(dep.ok);
  channel = (await hub.openChannel(0.5, dep.hash)).body.channel.channel_id;
  const u = await pay.transfer(lab.usdc, lab.stack.provider.recipient, 4_000n);
  assert.ok(u.ok);
  unusedTx = u.hash;
  const p = await pay.transfer(lab.usdc, lab.stack.provider.recipient, 15_000n);
  assert.ok(p.ok);
  usedTx = p.hash;
  assert.equal((await hub.invoke('prod-text', 'reverse@v1', { text: 'x' }, { txHash: usedTx })).status, 200);
}, 120_000);
afterAll(async () => {
  await lab?.stop();
});

interface Req {
  cls: string;
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
  hub: 'provider' | 'router';
}

const notJson = fc.constantFrom('{', '}', '[1,', 'nul', "{'a':1}", '{"a":}', 'NaN', '\u0000', '');
const nonObject = fc.oneof(
  fc.constantFrom('[]', 'null', '1', '"s"', 'true'),
  fc.json().filter((j) => !j.trim().startsWith('{')),
);
const weird = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 10 }), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 1 }));
const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `0x${Buffer.from(b).toString('hex')}`);

/** A POST on a connection used once (no keep-alive), answering a fetch Response. */
function oneShot(url: string, body: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0 })));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function requests(): fc.Arbitrary<Req> {
  const inv = (pid = 'prod-text', cid = 'upper@v1') => `/capabilities/${pid}/${cid}/invoke`;
  const body = (o: unknown) => JSON.stringify(o);
  const P = (cls: string, path: string, b: fc.Arbitrary<string>, headers?: fc.Arbitrary<Record<string, string>>): fc.Arbitrary<Req> =>
    fc.tuple(b, headers ?? fc.constant({})).map(([bd, h]) => ({ cls, method: 'POST', path, body: bd, headers: h, hub: 'provider' as const }));
  return fc.oneof(
    P('invoke: not JSON', inv(), notJson),
    P('invoke: not an object', inv(), nonObject),
    P(
      'invoke: input of a wrong type',
      inv(),
      weird.filter((w) => typeof w !== 'object' || w === null || Array.isArray(w)).map((w) => body({ input: w })),
    ),
    P(
      'invoke: text of a wrong type',
      inv(),
      weird.filter((w) => typeof w !== 'string').map((w) => body({ input: { text: w } })),
    ),
    P(
      'invoke: text too long',
      inv(),
      fc.integer({ min: 20_001, max: 30_000 }).map((n) => body({ input: { text: 'a'.repeat(n) } })),
    ),
    P('invoke: body past the limit', inv(), fc.constant(body({ input: { text: 'a'.repeat(250_000) } }))),
    P('invoke: unknown capability', inv('prod-text', 'nothing@v0'), fc.constant(body({ input: { text: 'x' } })), fc.constant({ 'x-payment-channel': channel })),
    P(
      'invoke: junk X-Payment',
      inv(),
      fc.constant(body({ input: { text: 'x' } })),
      fc.oneof(notJson, nonObject, fc.constant('{"hash":"0x1"}')).map((x) => ({ 'x-payment': x })),
    ),
    P(
      'invoke: tx_hash not a payment',
      inv(),
      fc.constant(body({ input: { text: 'x' } })),
      fc.oneof(hex64, fc.constant(usedTx), fc.string({ maxLength: 70 }), fc.constant('demo-123')).map((h) => ({ 'x-payment': body({ tx_hash: h }) })),
    ),
    P(
      'invoke: the unused payment for a dearer capability',
      inv('prod-text', 'reverse@v1'),
      fc.constant(body({ input: { text: 'x' } })),
      fc.constant({ 'x-payment': body({ tx_hash: '' }) }).map(() => ({ 'x-payment': body({ tx_hash: unusedTx }) })),
    ),
    P(
      'invoke: payment on another chain',
      inv(),
      fc.constant(body({ input: { text: 'x' } })),
      fc.constant(null).map(() => ({ 'x-payment': body({ tx_hash: unusedTx, chain: 'solana' }) })),
    ),
    P(
      'invoke: unknown channel',
      inv(),
      fc.constant(body({ input: { text: 'x' } })),
      fc.string({ maxLength: 80 }).map((c) => ({ 'x-payment-channel': `ch_${c}` })),
    ),
    P(
      'invoke: channel call with a bad input',
      inv(),
      weird.map((w) => body({ input: { text: w } })).filter((b) => !b.includes('"text":"')),
      fc.constant(null).map(() => ({ 'x-payment-channel': channel })),
    ),
    P(
      'open: bad body',
      '/ai-market/channel/open',
      fc.oneof(
        notJson,
        nonObject,
        weird.map((w) => body({ deposit_usd: w, tx_hash: w })),
      ),
    ),
    P(
      'open: bad deposit',
      '/ai-market/channel/open',
      fc.tuple(fc.constantFrom(-1, 0, 0.001, 0.015, 10_001, '1e9', 'abc', '1,5'), fc.constant(null)).map(([d]) => body({ deposit_usd: d, tx_hash: unusedTx })),
    ),
    P(
      'open: deposit transaction that does not match',
      '/ai-market/channel/open',
      fc.tuple(fc.constantFrom(0.01, 0.5, 1), fc.oneof(hex64, fc.constant(usedTx))).map(([d, h]) => body({ deposit_usd: d, tx_hash: h })),
    ),
    P(
      'open: wrong token or chain',
      '/ai-market/channel/open',
      fc.constantFrom(body({ deposit_usd: 0.01, tx_hash: `0x${'0'.repeat(64)}`, token: 'DAI' }), body({ deposit_usd: 0.01, tx_hash: `0x${'0'.repeat(64)}`, chain: 'solana' })),
    ),
    P(
      'close: bad body',
      '/ai-market/channel/close',
      fc.oneof(
        notJson,
        nonObject,
        weird.map((w) => body({ channel_id: w })).filter((b) => !/"channel_id":"[^"]+"/.test(b)),
      ),
    ),
    P(
      'close: unknown channel',
      '/ai-market/channel/close',
      fc.string({ minLength: 1, maxLength: 40 }).map((c) => body({ channel_id: `nope_${c}` })),
    ),
    P(
      'pricing: bad body',
      '/ai-market/pricing/prod-text/upper@v1',
      fc.oneof(
        notJson,
        nonObject,
        weird.map((w) => body({ input: w })).filter((b) => !b.startsWith('{"input":{')),
      ),
    ),
    P(
      'discover: bad body',
      '/ai-market/discover',
      fc.oneof(
        notJson,
        nonObject,
        weird.filter((w) => typeof w !== 'string' || w === '').map((w) => body({ query: w })),
      ),
    ),
    P(
      'pipeline: bad shape',
      '/ai-market/pipelines',
      fc
        .oneof(
          notJson,
          nonObject,
          weird.map((w) => body({ channel_id: channel, nodes: w })),
        )
        .filter((b) => !b.includes('"nodes":[{')),
    ),
    P(
      'pipeline: cycle / unknown node / unknown capability / unknown channel',
      '/ai-market/pipelines',
      fc.constantFrom(
        body({
          channel_id: channel,
          nodes: [
            { id: 'a', product_id: 'prod-text', capability_id: 'upper@v1', input_from: 'b' },
            { id: 'b', product_id: 'prod-text', capability_id: 'upper@v1', input_from: 'a' },
          ],
        }),
        body({ channel_id: channel, nodes: [{ id: 'a', product_id: 'prod-text', capability_id: 'upper@v1', input: { text: 'x' }, depends_on: ['zz'] }] }),
        body({ channel_id: channel, nodes: [{ id: 'a', product_id: 'x', capability_id: 'y@v1', input: { text: 'x' } }] }),
        body({ channel_id: 'ch_nope', nodes: [{ id: 'a', product_id: 'prod-text', capability_id: 'upper@v1', input: { text: 'x' } }] }),
        body({ channel_id: channel, nodes: [{ id: 'a', product_id: 'prod-text', capability_id: 'upper@v1' }] }),
        body({ channel_id: channel, nodes: Array.from({ length: 33 }, (_, i) => ({ id: `n${i}`, product_id: 'prod-text', capability_id: 'upper@v1', input: { text: 'x' } })) }),
        body({ channel_id: channel, nodes: Array.from({ length: 20 }, (_, i) => ({ id: `n${i}`, product_id: 'prod-lang', capability_id: 'translate.multi@v2', input: { text: 'x' } })) }),
      ),
    ),
    fc
      .tuple(fc.constantFrom('limit', 'budget', 'min_trust', 'max_latency_ms'), fc.constantFrom('0', '101', '-1', 'abc', '1e999', '2', '1.5', '-0.1', '100001'))
      .filter(
        ([k, v]) =>
          !(k === 'limit' && v === '2') &&
          !(k === 'min_trust' && v === '0') &&
          !(k === 'budget' && ['0', '101', '2', '1.5'].includes(v)) &&
          !(k === 'max_latency_ms' && ['0', '101', '2', '1.5', '100001'].includes(v)) &&
          !(k === 'min_trust' && v === '101'),
      )
      .map(([k, v]) => ({ cls: 'search: bad parameter', method: 'GET', path: `/ai-market/v2/search?${k}=${v}`, hub: 'router' as const })),
    fc
      .oneof(
        notJson,
        nonObject,
        weird.map((w) => body({ product_id: w, capability_id: w, input: w })),
      )
      .map((b) => ({ cls: 'routed invoke: bad body', method: 'POST', path: '/ai-market/v2/invoke', body: b, hub: 'router' as const })),
    fc.constantFrom('http://unknown.example', 'https://x.example', 'ftp://a').map((h) => ({
      cls: 'routed invoke: unknown source hub',
      method: 'POST',
      path: '/ai-market/v2/invoke',
      body: body({ product_id: 'prod-text', capability_id: 'upper@v1', source_hub: h, input: { text: 'x' } }),
      hub: 'router' as const,
    })),
    fc
      .record({
        url: fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{1,14}$/), fc.constantFrom('com', 'org', 'example', 'io')).map(([h, d]) => `https://${h}.${d}`),
        key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        sig: fc.uint8Array({ minLength: 64, maxLength: 64 }),
      })
      .map((r) => ({
        cls: 'announce: forged',
        method: 'POST',
        path: '/ai-market/v2/federation/announce',
        body: body({
          hub_url: r.url,
          well_known_url: `${r.url}/.well-known/ai-market.json`,
          capabilities_count: 1,
          signer_public_key: Buffer.from(r.key).toString('base64'),
          signature: { algorithm: 'ed25519', value: Buffer.from(r.sig).toString('base64') },
        }),
        hub: 'router' as const,
      })),
    fc.oneof(notJson, nonObject).map((b) => ({ cls: 'announce: bad body', method: 'POST', path: '/ai-market/v2/federation/announce', body: b, hub: 'router' as const })),
    fc
      .tuple(
        fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH'),
        fc.constantFrom('/ai-market/channel/open', '/ai-market/pipelines', '/ai-market/discover', '/nope', '/ai-market/v2/channel/ch_nope', '/ai-market/receipt/rcpt_nope', '/capabilities/a/b/invoke'),
      )
      .map(([m, p]) => ({ cls: 'wrong method or path', method: m, path: p, hub: 'provider' as const })),
  );
}

test(`${RUNS} malformed requests: no 5xx, every one a JSON 4xx, nothing changed`, { timeout: 900_000 }, async () => {
  const provider = lab.stack.provider;
  const router = lab.stack.router!;
  const before = [dump(provider.db), dump(router.db)];
  const height = await rpcCall<Hex>(lab.chain.rpcUrl, 'eth_blockNumber');
  const walletNonce = await rpcCall<Hex>(lab.chain.rpcUrl, 'eth_getTransactionCount', [provider.recipient, 'latest']);
  // Header values a client can send at all (printable ASCII): fetch refuses others before they leave.
  const sendable = requests().filter((r) => Object.values(r.headers ?? {}).every((v) => /^[\x20-\x7e]*$/.test(v)));
  const sample = fc.sample(sendable, { seed: SEED, numRuns: RUNS });
  const seen = new Map<string, number>();
  let prev = '';
  for (const r of sample) {
    const base = r.hub === 'provider' ? provider.url : router.url;
    const init: RequestInit = { method: r.method, headers: { ...(r.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(r.headers ?? {}) } };
    if (r.body !== undefined && r.method !== 'GET') init.body = r.body;
    let res: Response;
    try {
      // Past the body limit the hub answers 413 and drops the connection: send those on a connection of their own.
      res = r.cls === 'invoke: body past the limit' ? await oneShot(`${base}${r.path}`, r.body!) : await fetch(`${base}${r.path}`, init);
    } catch (e) {
      // Past the body limit the hub answers 413 with Connection: close before the client has sent
      // everything; the client may then see the reset instead of the answer. Nothing was read, so
      // nothing can have changed (checked after the run).
      if (r.cls === 'invoke: body past the limit') {
        seen.set(r.cls, (seen.get(r.cls) ?? 0) + 1);
        continue;
      }
      throw new Error(
        `after ${prev} — ${r.cls}: ${r.method} ${r.path} ${String(r.body).slice(0, 100)} ${JSON.stringify(r.headers ?? {}).slice(0, 100)}: ${(e as Error).message} ${String((e as { cause?: unknown }).cause)}`,
      );
    }
    const text = await res.text();
    const where = `${r.cls}: ${r.method} ${r.path} ${String(r.body).slice(0, 120)} ${JSON.stringify(r.headers ?? {}).slice(0, 120)} → ${res.status} ${text.slice(0, 200)}`;
    assert.ok(res.status < 500, `5xx: ${where}`);
    assert.ok(res.status >= 400, `accepted: ${where}`);
    let parsed: { error?: unknown } | undefined;
    try {
      parsed = JSON.parse(text);
    } catch {}
    assert.ok(parsed?.error !== undefined, `no JSON error: ${where}`);
    seen.set(r.cls, (seen.get(r.cls) ?? 0) + 1);
    prev = where;
  }
  assert.equal(sample.length, RUNS);
  assert.ok(seen.size >= 25, `classes exercised: ${[...seen.keys()].join(', ')}`);
  assert.deepEqual([dump(provider.db), dump(router.db)], before, 'the hubs’ SQLite content changed');
  assert.equal(await rpcCall<Hex>(lab.chain.rpcUrl, 'eth_blockNumber'), height, 'a block was mined');
  assert.equal(await rpcCall<Hex>(lab.chain.rpcUrl, 'eth_getTransactionCount', [provider.recipient, 'latest']), walletNonce, 'the hub sent a transaction');
  const hub = hubClient(provider.url);
  assert.equal((await hub.channel(channel)).body.balance_usd, 0.5);
  const ok = await hub.invoke('prod-text', 'upper@v1', { text: 'still pays' }, { txHash: unusedTx });
  assert.equal(ok.status, 200, ok.text);
});
