/**
 * Malformed-input fuzzing of the AI Market reference hubs (provider, its MCP endpoint, router) on a
 * base anvil: 2,400 seeded requests from the generators the robustness scenario uses
 * (protocol/fuzz.ts), including those only the reference's strict reading refuses (`lenientMayAct`),
 * sent byte for byte (harness/robustness/http.ts). A real open channel, a real unused payment and
 * real signed announcements are named in many of them.
 *
 * Per request, the reference's own reading: no 5xx; the per-answer rule of AIM-ROB-01
 * (harness/robustness/batch.ts, and an MCP error where MCP defines one); and beyond it, every HTTP
 * request except the search filters (which a malformed parameter may leave valid) is a 4xx with a JSON
 * `{error}`, and every lenient request is refused too. After the run: both hubs' SQLite content, the
 * channel's balance, the hub wallet's nonce and the block height are exactly what they were, and the
 * unused payment still pays.
 *
 * Env: FUZZ_SEED (default 2026_1201), FUZZ_RUNS (default 2400).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import fc from 'fast-check';
import type { Hex } from 'viem';
import { afterAll, beforeAll, test } from 'vitest';
import { rpcCall } from '../../../harness/chain/index.ts';
import { robustnessProblem } from '../../../harness/robustness/batch.ts';
import { describeRequest, sendRaw } from '../../../harness/robustness/http.ts';
import { signedAnnouncement } from '../agents/adversary.ts';
import { hubClient } from '../agents/hub-client.ts';
import { type AimFuzzContext, malformedRequest, mcpAnswerProblem } from '../protocol/fuzz.ts';
import { signerFromSeed } from '../protocol/sign.ts';
import type { HubDb } from './db.ts';
import { type AimLab, startAimLab } from './testkit.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 2026_1201);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2400);

let lab: AimLab;
let fz: AimFuzzContext;

function dump(db: HubDb): string {
  const tables = (db.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((t) => t.name);
  return JSON.stringify(tables.map((t) => [t, db.db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()]));
}

const tool = (productId: string, capabilityId: string) => ({ productId, capabilityId, name: `${productId}.${capabilityId}` });

beforeAll(async () => {
  lab = await startAimLab();
  const hub = hubClient(lab.stack.provider.url);
  const pay = lab.payer('buyer1');
  const to = lab.stack.provider.recipient;
  // One cent: reverse@v1 (2 cents a call) is over any pipeline's budget.
  const dep = await pay.transfer(lab.usdc, to, 10_000n);
  assert.ok(dep.ok);
  const channelId = (await hub.openChannel(0.01, dep.hash)).body.channel.channel_id as string;
  const u = await pay.transfer(lab.usdc, to, 4_000n);
  assert.ok(u.ok);
  const p = await pay.transfer(lab.usdc, to, 4_000n);
  assert.ok(p.ok);
  assert.equal((await hub.invoke('prod-text', 'upper@v1', { text: 'x' }, { txHash: p.hash })).status, 200);
  const doc = { hub_url: 'https://fuzz.example.com', well_known_url: 'https://fuzz.example.com/.well-known/ai-market.json', capabilities_count: 1 };
  const signed = signedAnnouncement(signerFromSeed('7e'.repeat(32)), doc);
  fz = {
    tool: tool('prod-text', 'upper@v1'),
    dearer: tool('prod-text', 'count@v1'),
    overBudget: tool('prod-text', 'reverse@v1'),
    channelId,
    depositTx: dep.hash,
    depositUsd: '0.01',
    usedTx: p.hash,
    unusedTx: u.hash,
    unusedUsd: '0.004',
    mcpPath: '/ai-market/mcp',
    mcpSession: {},
    announces: [
      { note: 'hub_url changed after signing', body: { ...signed, hub_url: 'https://fuzz2.example.com' } },
      { note: 'capabilities_count changed after signing', body: { ...signed, capabilities_count: 3 } },
    ],
    router: true,
  };
}, 120_000);
afterAll(async () => {
  await lab?.stop();
});

/** Search filters a malformed parameter may leave valid (`hub=-1` filters to nothing; `limit=2` is a limit). */
const MAY_ANSWER = new Set(['search-param', 'router-search']);

test(`${RUNS} malformed requests: no 5xx, every one refused by the reference, nothing changed`, { timeout: 900_000 }, async () => {
  const provider = lab.stack.provider;
  const router = lab.stack.router!;
  const before = [dump(provider.db), dump(router.db)];
  const height = await rpcCall<Hex>(lab.chain.rpcUrl, 'eth_blockNumber');
  const walletNonce = await rpcCall<Hex>(lab.chain.rpcUrl, 'eth_getTransactionCount', [provider.recipient, 'latest']);
  const sample = fc.sample(malformedRequest(fz), { seed: SEED, numRuns: RUNS });
  const seen = new Map<string, number>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (const r of sample) {
      const answer = await sendRaw(r.server === 'router' ? router.url : provider.url, r, agent);
      const where = `${describeRequest(r)} → ${'closed' in answer ? `closed: ${answer.closed}` : `${answer.status} ${answer.body.slice(0, 200)}`}`;
      const general = robustnessProblem(r, answer);
      assert.equal(general, null, `${general}: ${where}`);
      seen.set(r.cls, (seen.get(r.cls) ?? 0) + 1);
      if ('closed' in answer) continue;
      if (r.server === 'mcp') {
        assert.equal(mcpAnswerProblem(r, answer), null, `MCP: ${where}`);
        if (r.lenientMayAct) assert.ok(answer.status >= 400 || answer.body.includes('"isError":true') || answer.body.includes('"error"'), `lenient MCP call not refused: ${where}`);
        continue;
      }
      if (MAY_ANSWER.has(r.cls)) continue;
      assert.ok(answer.status >= 400 && answer.status < 500, `not a 4xx: ${where}`);
      // Node's own refusals (431, 400 for a bad request-target) come before the app: no JSON there.
      if (r.transport) continue;
      let parsed: { error?: unknown } | undefined;
      try {
        parsed = JSON.parse(answer.body);
      } catch {}
      assert.ok(parsed?.error !== undefined, `no JSON error: ${where}`);
    }
  } finally {
    agent.destroy();
  }
  assert.equal(sample.length, RUNS);
  assert.ok(seen.size >= 40, `classes exercised: ${[...seen.keys()].join(', ')}`);
  assert.deepEqual([dump(provider.db), dump(router.db)], before, 'the hubs’ SQLite content changed');
  assert.equal(await rpcCall<Hex>(lab.chain.rpcUrl, 'eth_blockNumber'), height, 'a block was mined');
  assert.equal(await rpcCall<Hex>(lab.chain.rpcUrl, 'eth_getTransactionCount', [provider.recipient, 'latest']), walletNonce, 'the hub sent a transaction');
  const hub = hubClient(provider.url);
  assert.equal((await hub.channel(fz.channelId)).body.balance_usd, 0.01);
  const ok = await hub.invoke('prod-text', 'upper@v1', { text: 'still pays' }, { txHash: fz.unusedTx });
  assert.equal(ok.status, 200, ok.text);
});
