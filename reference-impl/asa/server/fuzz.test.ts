/**
 * Fuzz: 2,400 malformed WebSocket frames to the relay and 2,400 malformed HTTP requests to the
 * provider's L402 resource and the Lightning API. Nothing crashes (every server still answers), no
 * HTTP answer is a 5xx, and no state changes: the relay stores nothing new, the network's balances
 * and channels are as before, and a paid token still buys exactly one request.
 */
import { fc } from '@fast-check/vitest';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import { afterAll, beforeAll, expect, test } from 'vitest';
import WebSocket from 'ws';
import { roleKey } from '../../../harness/chain/accounts.ts';
import { LightningClient } from '../agents/lightning.ts';
import { WireClient } from '../agents/wire.ts';
import { formatCredential } from '../protocol/l402.ts';
import { type AsaStack, startAsaStack } from './stack.ts';

let s: AsaStack;
beforeAll(async () => {
  s = await startAsaStack();
});
afterAll(async () => {
  await s?.stop();
});

const valid = () => finalizeEvent({ kind: 1, tags: [['t', 'fuzz']], content: 'x', created_at: Math.floor(Date.now() / 1000) }, generateSecretKey());
const json = fc.jsonValue({ maxDepth: 3 });
const hexish = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFxz'), maxLength: 130 });
const badEvent = fc.oneof(
  json,
  fc.record(
    {
      id: hexish,
      pubkey: hexish,
      created_at: fc.oneof(fc.integer(), fc.string(), fc.double()),
      kind: fc.oneof(fc.integer(), fc.string()),
      tags: fc.oneof(json, fc.array(fc.array(fc.string()))),
      content: fc.oneof(fc.string(), fc.integer()),
      sig: hexish,
    },
    { requiredKeys: [] },
  ),
  fc.tuple(fc.constantFrom('id', 'pubkey', 'sig', 'content', 'kind', 'created_at', 'tags'), json).map(([k, v]) => ({ ...valid(), [k]: v })),
);
const frame = fc.oneof(
  fc.string({ maxLength: 300 }),
  json.map((v) => JSON.stringify(v)),
  badEvent.map((e) => JSON.stringify(['EVENT', e])),
  badEvent.map((e) => JSON.stringify(['AUTH', e])),
  fc.tuple(fc.oneof(fc.string({ maxLength: 80 }), json), fc.array(json, { maxLength: 3 })).map(([id, fs]) => JSON.stringify(['REQ', id, ...fs])),
  fc
    .record({ ids: fc.array(hexish), authors: fc.array(json), kinds: fc.array(fc.oneof(fc.integer(), fc.string())), since: json, until: json, limit: json, '#e': json }, { requiredKeys: [] })
    .map((f) => JSON.stringify(['REQ', 'sub', f])),
  fc.tuple(fc.constantFrom('CLOSE', 'COUNT', 'NEG-OPEN', 'EVENT', 'REQ', 'AUTH', ''), json).map(([v, x]) => JSON.stringify([v, x])),
);

test('2,400 malformed relay frames: no crash, nothing stored, the relay still serves', { timeout: 300_000 }, async () => {
  const before = s.relay.count();
  const frames = fc.sample(frame, { numRuns: 2400, seed: 42 });
  for (let i = 0; i < frames.length; i += 400) {
    const ws = new WebSocket(s.relay.url);
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    for (const f of frames.slice(i, i + 400)) ws.send(f);
    ws.send(Buffer.from([0xff, 0xfe, 0x00]), { binary: true });
    await new Promise((r) => setTimeout(r, 200));
    ws.terminate();
  }
  const w = await WireClient.connect(s.relay.url);
  const q = await w.query([{ kinds: [1], '#t': ['fuzz'] }]);
  expect(q.eose).toBe(true);
  expect(q.events).toEqual([]);
  const ok = await w.publish(valid());
  expect(ok?.ok).toBe(true);
  w.close();
  expect(s.relay.count()).toBe(before + 1);
});

test('2,400 malformed HTTP requests: no 5xx, the network unchanged, a paid token still buys exactly one request', { timeout: 300_000 }, async () => {
  const ln = new LightningClient(s.lightning.url);
  const node = (await ln.addNode(roleKey('buyer2', 'lightning').privateKey)).pubkey;
  // A paid token, kept unused through the fuzz.
  const r0 = await fetch(s.provider.resourceUrl);
  const ch = JSON.parse(await r0.text()) as { invoice: string; macaroon: string };
  const paid = await ln.pay(node, ch.invoice);
  const graph = JSON.stringify(await ln.graph());
  const reqs = fc.sample(
    fc.record({
      target: fc.constantFrom('provider', 'lightning'),
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
      path: fc.oneof(
        fc.constantFrom(
          '/v1/translate',
          '/v1/nodes',
          '/v1/channels',
          `/v1/nodes/${node}/payments`,
          `/v1/nodes/${node}/invoices`,
          `/v1/nodes/${node}/invoices/${'0'.repeat(64)}`,
          `/v1/nodes/${node}/online`,
          '/reputation/xyz',
          '/health',
        ),
        fc.webPath(),
      ),
      auth: fc.option(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.constant(`L402 ${ch.macaroon}:${'0'.repeat(64)}`),
          fc.constant(`L402 ${ch.macaroon.slice(3)}:${paid.preimage}`),
          hexish.map((h) => `LSAT ${h}:${h}`),
        ),
        { nil: undefined },
      ),
      body: fc.option(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          json.map((j) => JSON.stringify(j)),
          fc
            .record({ privateKey: hexish, paymentRequest: fc.string(), amountMsat: json, node1: hexish, node2: hexish, balance1Msat: json, online: json }, { requiredKeys: [] })
            .map((o) => JSON.stringify(o)),
        ),
        { nil: undefined },
      ),
    }),
    { numRuns: 2400, seed: 7 },
  );
  const statuses = new Map<number, number>();
  let resets = 0;
  await Promise.all(
    Array.from({ length: 8 }, async (_, w) => {
      for (let i = w; i < reqs.length; i += 8) {
        const q = reqs[i]!;
        const base = q.target === 'provider' ? s.provider.url : s.lightning.url;
        // Never register a valid node or open a channel by chance: bodies are malformed by construction.
        const body = q.method === 'GET' || q.method === 'DELETE' ? undefined : (q.body ?? '');
        const headers: Record<string, string> = {};
        if (q.auth !== undefined) headers.authorization = q.auth.replace(/[^\x20-\x7e]/g, '');
        // A keep-alive socket the server closed between two requests resets once on the client's side
        // (undici reuses it); a second attempt on a fresh socket must be answered.
        const go = () => fetch(`${base}${q.path}`, { method: q.method, headers, body });
        const res = await go()
          .catch(() => {
            resets++;
            return go();
          })
          .catch((e: Error) => {
            throw new Error(`${q.method} ${base}${q.path} auth=${JSON.stringify(headers.authorization)} body=${String(body).slice(0, 80)}: ${e.message} ${(e.cause as Error)?.message}`);
          });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status, `${q.method} ${q.path} ${JSON.stringify(q.auth)} ${String(body).slice(0, 80)}`).toBeLessThan(500);
      }
    }),
  );
  const after = JSON.parse(await ln.graph().then((g) => JSON.stringify(g))) as { channels: unknown[]; totalMsat: string };
  const was = JSON.parse(graph) as { channels: unknown[]; totalMsat: string };
  expect(after.totalMsat).toBe(was.totalMsat);
  expect(after.channels).toEqual(was.channels);
  const use = () => fetch(s.provider.resourceUrl, { headers: { authorization: formatCredential({ macaroons: [ch.macaroon], preimage: paid.preimage }) } }).then((r) => r.status);
  expect(await use()).toBe(200);
  expect(await use()).toBe(401);
  expect([...statuses.keys()].every((k) => k < 500)).toBe(true);
  expect(resets).toBeLessThan(24);
});
