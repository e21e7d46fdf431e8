/**
 * Discovery scenarios: the well-known document, the signed manifests (five-field canonical, pinned
 * key, tampering), the MCP tools list and the MCP endpoint through the official SDK client, pricing
 * quotes and intent discovery.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import fc from 'fast-check';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { tamperByHub, tamperPrice } from '../../reference-impl/aimarket/agents/adversary.ts';
import { requirementOf } from '../../reference-impl/aimarket/agents/buyer.ts';
import { parseUsdMicros } from '../../reference-impl/aimarket/protocol/money.ts';
import { parsePyJson, type PyValue } from '../../reference-impl/aimarket/protocol/pyjson.ts';
import { signerFromSeed, verifiesUnderAnyGeneration, verifyManifest } from '../../reference-impl/aimarket/protocol/sign.ts';
import { DiscoverSchema, McpListSchema, QuoteSchema, WellKnownSchema } from '../../reference-impl/aimarket/protocol/wire.ts';
import { balanceCents, configOf, discovered, HUB, hubOf, openChannel, randomCents, sameOrigin, textTools } from './lab.ts';

type Doc = { [k: string]: PyValue };

export const discovery = defineScenario({
  kind: 'property',
  id: 'discovery',
  title: 'Well-known document, five-field signed manifests under the pinned key, tampered copies refused, MCP tools list = catalog',
  requirements: ['AIM-DSC-01', 'AIM-SIG-01', 'AIM-SIG-02', 'AIM-MCP-01'],
  ...HUB,
  arbitrary: () =>
    fc.record({
      tool: fc.nat(),
      price: fc.integer({ min: 1, max: 9999 }),
      hub: fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{1,14}$/), fc.constantFrom('com', 'org', 'example', 'io')).map(([h, d]) => `https://${h}.${d}`),
    }),
  async run(ctx, v) {
    const hub = hubOf(ctx);
    ctx.act('the buyer reads /.well-known/ai-market.json');
    const wk = await ctx.json('AIM-DSC-01', `${hub.url}/.well-known/ai-market.json`, WellKnownSchema);
    const m = await hub.manifest(wk.manifest_url);
    ctx.check('AIM-DSC-01', m.status === 200 && m.body !== undefined, 'manifest_url answers the manifest', { expected: '200 JSON', actual: `${m.status} ${m.text.slice(0, 120)}` });
    const doc = parsePyJson(m.text) as Doc;
    const tools = doc.tools as Doc[];
    // products_count counts products; every product of the hub's own tools is one (a product may list no tool: a lower bound only).
    const plain = m.body as { products_count?: unknown; tools?: { product_id?: unknown; source_hub?: unknown }[] };
    const own = (plain.tools ?? []).filter((t) => typeof t.source_hub !== 'string' || sameOrigin(t.source_hub, hub.url));
    const products = new Set(own.map((t) => String(t.product_id))).size;
    for (const [where, n] of [
      ['well-known', wk.products_count],
      ['manifest', plain.products_count],
    ] as const)
      if (typeof n === 'number') ctx.check('AIM-DSC-01', n >= products, `the ${where} products_count counts every product of the hub's tools`, { expected: `>= ${products}`, actual: n });
    if (tools.length > 0) {
      const i = v.tool % tools.length;
      const tampered = tamperPrice(doc, i, v.price / 100_000);
      ctx.act(`an adversary rewrites the price of ${String(tools[i]!.name)} to ${v.price / 100_000}`);
      ctx.check('AIM-SIG-02', !verifiesUnderAnyGeneration(tampered, wk.signer_public_key, 'manifest'), 'a manifest with a rewritten price verifies under no canonical generation', {
        expected: 'refused',
        actual: 'verifies',
      });
    }
    ctx.act(`an adversary adds ${v.hub} to by_hub with trust 0.99`);
    ctx.check('AIM-SIG-02', !verifiesUnderAnyGeneration(tamperByHub(doc, v.hub), wk.signer_public_key, 'manifest'), 'a manifest with a rewritten by_hub verifies under no canonical generation', {
      expected: 'refused',
      actual: 'verifies',
    });
    const other = signerFromSeed('42'.repeat(32));
    ctx.check('AIM-SIG-02', !verifyManifest(doc, other.publicB64).ok, 'the manifest does not verify under another key', { expected: 'refused', actual: 'verifies' });
    const verdict = verifyManifest(m.text, wk.signer_public_key);
    ctx.check('AIM-SIG-01', verdict.ok, `the manifest verifies under the pinned key (${verdict.generation}: ${verdict.reason})`, { expected: 'manifest-5field', actual: verdict.generation });
    const v2 = await hub.manifestV2();
    if (v2.status === 200) {
      const v2v = verifyManifest(v2.text, wk.signer_public_key);
      ctx.check('AIM-SIG-01', v2v.ok, `the v2 manifest verifies (${v2v.generation}: ${v2v.reason})`, { expected: 'manifest-5field', actual: v2v.generation });
    }
    ctx.act('the buyer reads GET /ai-market/mcp');
    const mcp = await ctx.json('AIM-MCP-01', `${hub.url}/ai-market/mcp`, McpListSchema);
    const byName = new Map(mcp.tools.map((t) => [t.name, t]));
    ctx.expectEqual('AIM-MCP-01', [...byName.keys()].sort(), tools.map((t) => String(t.name)).sort(), 'the MCP tools are exactly the manifest tools');
    for (const t of tools)
      ctx.expectEqual(
        'AIM-MCP-01',
        byName.get(String(t.name))?.inputSchema,
        (m.body as { tools: { input_schema: unknown }[] }).tools.find((x) => (x as { name?: unknown }).name === t.name)?.input_schema,
        `inputSchema of ${String(t.name)} = input_schema`,
      );
  },
});

export const mcpSdk = defineScenario({
  kind: 'property',
  id: 'mcp-sdk',
  title: 'The official MCP SDK client: tools/list = catalog, an unpaid tools/call debits nothing, a paid one runs and debits its channel',
  requirements: ['AIM-MCP-02', 'AIM-CHN-01'],
  ...HUB,
  roles: ['buyer1'],
  arbitrary: () => fc.string({ minLength: 1, maxLength: 24 }).filter((s) => !s.includes('fail')),
  async run(ctx, text) {
    const hub = hubOf(ctx);
    const d = await discovered(ctx, hub, 'AIM-MCP-02');
    const endpoint = d.wellKnown.mcp_endpoint ?? `${hub.url}/ai-market/mcp`;
    const connect = async (headers: Record<string, string>) => {
      const client = new Client({ name: 'amh', version: '0.1.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(endpoint), { requestInit: { headers }, fetch: ctx.fetch }));
      return client;
    };
    ctx.act(`an MCP client (official SDK) connects to ${endpoint}`);
    let free: Client;
    try {
      free = await connect({});
    } catch (e) {
      ctx.check('AIM-MCP-02', false, 'the MCP endpoint accepts an MCP initialize (Streamable HTTP)', { expected: 'initialized', actual: (e as Error).message.slice(0, 200) });
      return;
    }
    try {
      const list = await free.listTools();
      ctx.expectEqual('AIM-MCP-02', list.tools.map((t) => t.name).sort(), d.manifest.tools.map((t) => t.name).sort(), 'tools/list names every manifest tool');
      const tool = textTools(d.manifest.tools)[0];
      if (!tool) return;
      const ch = await openChannel(ctx, hub, tool, 'buyer1', randomCents(ctx, 50, 90), 'AIM-CHN-01');
      const before = await balanceCents(hub, ch.id);
      ctx.act(`tools/call ${tool.name} without payment`);
      const unpaid = await free.callTool({ name: tool.name, arguments: { text } });
      ctx.check('AIM-MCP-02', unpaid.isError === true, 'an unpaid tools/call answers an error result', { expected: 'isError', actual: JSON.stringify(unpaid).slice(0, 200) });
      ctx.expectEqual('AIM-MCP-02', await balanceCents(hub, ch.id), before, 'the unpaid call debited nothing');
      const paid = await connect({ 'x-payment-channel': ch.id });
      ctx.act(`tools/call ${tool.name} with X-Payment-Channel ${ch.id}`);
      const r = await paid.callTool({ name: tool.name, arguments: { text } });
      ctx.check('AIM-MCP-02', r.isError !== true, 'a tools/call on a funded channel runs', { expected: 'a result', actual: JSON.stringify(r).slice(0, 200) });
      const after = await balanceCents(hub, ch.id);
      if (before !== undefined && after !== undefined) ctx.check('AIM-MCP-02', after < before, 'the paid call debited the channel', { expected: `< ${before}`, actual: after });
      const failure = configOf(ctx).failure;
      const failing = failure && d.manifest.tools.find((x) => x.product_id === failure.product_id && x.capability_id === failure.capability_id);
      if (failure && failing) {
        ctx.act(`tools/call ${failing.name} with the failing input on ${ch.id}`);
        // MCP reports a tool that fails as an isError result; a JSON-RPC error is read as a refusal too (profile AIM-PROF-04).
        const f = await paid.callTool({ name: failing.name, arguments: failure.input }).catch((e: Error) => ({ isError: true, thrown: e.message }));
        ctx.check('AIM-MCP-02', f.isError === true, 'a tools/call whose capability fails answers an error', { expected: 'isError', actual: JSON.stringify(f).slice(0, 200) });
      }
      await paid.close();
    } finally {
      await free.close();
    }
  },
});

export const pricing = defineScenario({
  kind: 'property',
  id: 'pricing',
  title: 'POST /ai-market/pricing quotes exactly what the 402 then asks, for small and large inputs; GET ?input_size answers',
  requirements: ['AIM-PRC-01'],
  ...HUB,
  arbitrary: () => fc.record({ tool: fc.nat(), size: fc.integer({ min: 1, max: 5000 }) }),
  async run(ctx, v) {
    const hub = hubOf(ctx);
    const d = await discovered(ctx, hub, 'AIM-PRC-01');
    const tools = textTools(d.manifest.tools);
    if (!tools.length) return;
    const t = tools[v.tool % tools.length]!;
    const input = { text: 'x'.repeat(v.size) };
    ctx.act(`the buyer asks a quote for ${t.name} with a ${v.size}-character text`);
    const q = await hub.quoteInput(t.product_id, t.capability_id, input);
    const qs = QuoteSchema.safeParse(q.body);
    const quoted = qs.success ? (qs.data.amount ?? qs.data.price_usd) : undefined;
    ctx.check('AIM-PRC-01', q.status === 200 && quoted !== undefined, 'POST pricing answers a price', { expected: '200 {price_usd | amount}', actual: `${q.status} ${q.text.slice(0, 160)}` });
    const u = await hub.invoke(t.product_id, t.capability_id, input);
    const r = requirementOf(u);
    if (u.status !== 402 || !r.ok) return;
    ctx.expectEqual('AIM-PRC-01', parseUsdMicros(quoted), r.amount, 'the quote is the amount the 402 asks (micro-USD)');
    const g = await hub.quoteSize(t.product_id, t.capability_id, v.size);
    const gq = QuoteSchema.safeParse(g.body);
    const gp = gq.success ? (gq.data.amount ?? gq.data.price_usd) : undefined;
    ctx.check('AIM-PRC-01', g.status === 200 && gp !== undefined && parseUsdMicros(gp) >= parseUsdMicros(t.price_per_call_usd), 'GET ?input_size answers a price at least the manifest price', {
      expected: `>= ${t.price_per_call_usd}`,
      actual: `${g.status} ${g.text.slice(0, 120)}`,
    });
  },
});

export const intent = defineScenario({
  kind: 'property',
  id: 'intent-discovery',
  title: 'POST /ai-market/discover plans from the real catalog within the budget',
  requirements: ['AIM-DIS-01'],
  ...HUB,
  arbitrary: () =>
    fc.record({ words: fc.subarray(['translate', 'text', 'upper', 'reverse', 'count', 'words', 'languages', 'echo', 'summarize'], { minLength: 1 }), budget: fc.integer({ min: 0, max: 200 }) }),
  async run(ctx, v) {
    const hub = hubOf(ctx);
    const d = await discovered(ctx, hub, 'AIM-DIS-01');
    const budget = v.budget / 100;
    ctx.act(`the buyer asks for "${v.words.join(' ')}" within $${budget}`);
    const r = await ctx.json('AIM-DIS-01', `${hub.url}/ai-market/discover`, DiscoverSchema, {
      init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: v.words.join(' '), budget_usd: budget, limit: 10 }) },
    });
    const price = new Map(d.manifest.tools.map((t) => [`${t.product_id}/${t.capability_id}`, t.price_per_call_usd]));
    for (const m of r.matches)
      ctx.expectEqual('AIM-DIS-01', m.price_per_call_usd, price.get(`${m.product_id}/${m.capability_id}`), `match ${m.product_id}/${m.capability_id} is a catalog capability at its manifest price`);
    let total = 0n;
    for (const p of r.plan) {
      const pr = price.get(`${p.product_id}/${p.capability_id}`);
      ctx.check('AIM-DIS-01', pr !== undefined, `plan step ${p.product_id}/${p.capability_id} is a catalog capability`, { expected: 'in the manifest', actual: 'unknown' });
      total += parseUsdMicros(pr);
    }
    ctx.expectEqual('AIM-DIS-01', parseUsdMicros(r.estimated_total_usd), total, 'estimated_total_usd = the sum of the plan’s prices');
    ctx.check('AIM-DIS-01', total <= parseUsdMicros(budget), 'the plan fits the budget', { expected: `<= ${budget}`, actual: Number(total) / 1e6 });

    // constraints.max_latency_ms against the manifest's p50_latency_ms (tools without one are not judged; profile AIM-PROF-16).
    const latency = new Map(d.manifest.tools.filter((t) => typeof t.p50_latency_ms === 'number').map((t) => [`${t.product_id}/${t.capability_id}`, t.p50_latency_ms as number]));
    if (latency.size === 0) return;
    const ask = (constraints?: { max_latency_ms: number }) =>
      ctx.json('AIM-DIS-01', `${hub.url}/ai-market/discover`, DiscoverSchema, {
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: v.words.join(' '), budget_usd: 100, limit: 100, ...(constraints ? { constraints } : {}) }),
        },
      });
    const judged = (r: { matches: { product_id: string; capability_id: string }[] }) =>
      r.matches
        .map((m) => `${m.product_id}/${m.capability_id}`)
        .filter((k) => latency.has(k))
        .sort();
    const slowest = Math.max(...latency.values());
    ctx.act(`the buyer asks again with constraints.max_latency_ms = ${slowest} (every capability meets it), then with the fastest p50`);
    ctx.expectEqual('AIM-DIS-01', judged(await ask({ max_latency_ms: slowest })), judged(await ask()), `max_latency_ms ${slowest}, which every capability meets, removes no match`);
    const fastest = Math.min(...latency.values());
    for (const p of (await ask({ max_latency_ms: fastest })).plan) {
      const l = latency.get(`${p.product_id}/${p.capability_id}`);
      if (l !== undefined) ctx.check('AIM-DIS-01', l <= fastest, `plan step ${p.product_id}/${p.capability_id} meets max_latency_ms ${fastest}`, { expected: `p50 <= ${fastest}`, actual: l });
    }
  },
});
