/**
 * AIM-ROB-01: seeded malformed requests at every endpoint the target publishes for the AI Market
 * protocol (harness/robustness and reference-impl/aimarket/protocol/fuzz.ts): the hub's HTTP routes,
 * its MCP endpoint (JSON-RPC over Streamable HTTP, inside a session the official MCP SDK client
 * opened) and, when published, the routing hub. Bodies that are not JSON or not the route's shape,
 * inputs that fail the tool's schema, payments that pay nothing (junk, not on chain, used, one hex
 * digit off, short), channel ids one character off, over-claimed deposits, pipelines no reading can
 * run, announcements whose signed fields changed after signing, JSON-RPC that is not a request,
 * unknown methods, tool calls with bad names, arguments or payments, wrong methods, unpublished
 * paths, transport-level defects. Each answer is below 500, a refusal where it could change state (an
 * MCP error where the protocol defines one: a 4xx, a JSON-RPC error or an isError result), and
 * carries no channel credential it was not sent. After each batch nothing observable changed: the
 * buyer's and the hub's token balances and nonces, no token or escrow event names them, the channel's
 * balance, the stats, the receipt, the discovery documents, the manifest, the MCP tool list (the same
 * MCP session still answers), the router's peers, search index and reputation of the provider; and
 * the unused payment the batch carried still pays one call.
 *
 * Only the requests every reading of the documents and the profile refuses are sent
 * (protocol/fuzz.ts `thirdPartyRequest`; the reference's own fuzz test sends the rest). The
 * channel and receipt aimed at are set up once per target; `AMH_ROBUSTNESS_REQUESTS` (`--long`:
 * 10,000) sets how many requests a certification sends.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import fc from 'fast-check';
import type { Address, Hex } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import type { ChainSession } from '../../harness/engine/session.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { type AnswerRule, fixturePerTarget, perRun, ROBUSTNESS_RUNS, robustnessBudget, sendMalformedBatch, unsentSecret } from '../../harness/robustness/batch.ts';
import { asTopic, expectNoLogsSince, expectUnchanged, type Observables, type WatchedLogs } from '../../harness/robustness/observe.ts';
import { endpointOf } from '../../harness/target/schema.ts';
import { signedAnnouncement } from '../../reference-impl/aimarket/agents/adversary.ts';
import { type HubClient, hubClient } from '../../reference-impl/aimarket/agents/hub-client.ts';
import { type AimFuzzContext, type AimFuzzRequest, type AimServer, type AimTool, malformedRequest, mcpAnswerProblem, thirdPartyRequest } from '../../reference-impl/aimarket/protocol/fuzz.ts';
import { centsCeil, formatUsd, parseUsdMicros } from '../../reference-impl/aimarket/protocol/money.ts';
import { signerFromSeed } from '../../reference-impl/aimarket/protocol/sign.ts';
import type { Tool } from '../../reference-impl/aimarket/protocol/wire.ts';
import { discovered, HUB, openChannel, type OpenedChannel, payerOf, requirementFor, textTools } from './lab.ts';

const REQ = 'AIM-ROB-01';
/** Malformed requests per certification at the default size (a few seconds against the reference). */
const NORMAL_REQUESTS = 200;
/** The buyer whose channel and payments the batch aims at. */
const ROLE = 'buyer2';
/** The fixture channel's deposit: one cent, so a tool dearer than a cent is over any pipeline's budget. */
const DEPOSIT_CENTS = 1n;

/** What every run aims at: set up once per target. */
interface Fixture {
  tool: Tool;
  dearer?: Tool;
  overBudget?: Tool;
  channel: OpenedChannel;
  /** What one call of `tool` with `{text: "x"}` costs (the 402's amount, micro-USD). */
  price: bigint;
  /** The chain (by chain id) and token the hub is paid on: each run takes its own session. */
  chainId: number;
  token: Address;
  usedTx: Hex;
  /** The receipt of the call `usedTx` paid. */
  receiptNonce?: string;
  mcpEndpoint: string;
  escrow?: Address;
}

const fixtureOf = fixturePerTarget(buildFixture);

const aimTool = (t: Tool): AimTool => ({ productId: t.product_id, capabilityId: t.capability_id, name: t.name });
const micros = (t: Tool) => parseUsdMicros(t.price_per_call_usd);

async function buildFixture(ctx: RunContext): Promise<Fixture> {
  const hub = hubClient(ctx.endpoint('aimarket').url, ctx.fetch);
  const d = await discovered(ctx, hub, REQ);
  const tools = textTools(d.manifest.tools);
  const tool = tools[0];
  if (!tool) throw new Indeterminate(REQ, 'setup: the manifest lists no tool callable with {text}');
  const { req, amount } = await requirementFor(ctx, hub, tool.product_id, tool.capability_id, { text: 'x' }, REQ);
  // A channel that does not open is AIM-CHN-01's failure, not this requirement's.
  const channel = await openChannel(ctx, hub, tool, ROLE, DEPOSIT_CENTS, 'AIM-CHN-01');
  if (!channel.id) throw new Indeterminate(REQ, 'setup: no channel opened (AIM-CHN-01 reports it)');
  const payer = payerOf(ctx, channel.chain.session, ROLE);
  const paid = await payer.transfer(channel.chain.token, req.recipient, amount);
  if (!paid.ok) throw new Indeterminate(REQ, `setup: the payment transfer failed (${paid.reason})`);
  ctx.act(`${ROLE} pays one call of ${tool.name} with that transaction`);
  const call = await hub.invoke(tool.product_id, tool.capability_id, { text: 'x' }, { txHash: paid.hash });
  if (call.status !== 200) throw new Indeterminate(REQ, `setup: a paid call answered ${call.status} (AIM-PAY-02 reports it)`);
  const spec = ctx.target.chains.find((c) => c.chainId === channel.chain.session.chainId);
  return {
    tool,
    dearer: tools.find((t) => micros(t) > micros(tool)),
    overBudget: tools.find((t) => centsCeil(micros(t)) > DEPOSIT_CENTS),
    channel,
    price: amount,
    chainId: channel.chain.session.chainId,
    token: channel.chain.token,
    usedTx: paid.hash as Hex,
    receiptNonce: (call.body as { receipt?: { nonce?: string } } | undefined)?.receipt?.nonce,
    mcpEndpoint: d.wellKnown.mcp_endpoint ?? `${hub.url}/ai-market/mcp`,
    escrow: spec?.contracts.aimarketEscrow as Address | undefined,
  };
}

/** A JSON answer's fields by name (absent ones left out), or `status text` when it is not a JSON object. */
function fields(a: { status: number; body: unknown; text: string }, keys: string[]): string {
  const b = a.body as Record<string, unknown> | undefined;
  if (a.status !== 200 || !b || typeof b !== 'object') return `${a.status} ${a.text.slice(0, 300)}`;
  return JSON.stringify(Object.fromEntries(keys.filter((k) => k in b).map((k) => [k, b[k]])));
}

const sortedList = (xs: unknown, pick: (x: Record<string, unknown>) => string): string =>
  Array.isArray(xs) ? JSON.stringify(xs.map((x) => pick((x ?? {}) as Record<string, unknown>)).sort()) : String(xs);

/** Everything a third party can observe of the fixture: the chain, the hub's documents and views, the MCP tool list, the router's index. */
async function observe(s: ChainSession, f: Fixture, hub: HubClient, router: HubClient | undefined, mcp: Client | undefined): Promise<Observables> {
  const out: Observables = {};
  const holders: Record<string, Address> = { [ROLE]: s.address(ROLE), 'hub recipient': f.channel.recipient, ...(f.escrow ? { escrow: f.escrow } : {}) };
  for (const [label, who] of Object.entries(holders)) {
    out[`token ${label}`] = String(await s.balanceOf(f.token, who));
    out[`nonce ${label}`] = String(await s.public.getTransactionCount({ address: who, blockTag: 'latest' }));
  }
  const wk = await hub.wellKnown();
  out['GET /.well-known/ai-market.json'] = fields(wk, ['name', 'protocol_versions', 'manifest_url', 'mcp_endpoint', 'signer_public_key', 'capabilities_count', 'products_count']);
  out['well-known peers'] = sortedList((wk.body as { peers?: unknown } | undefined)?.peers ?? [], (p) => String(p.url));
  const m = await hub.manifest((wk.body as { manifest_url?: string } | undefined)?.manifest_url);
  out.manifest = `${m.status} ${sortedList((m.body as { tools?: unknown } | undefined)?.tools, (t) => `${t.name} ${t.product_id}/${t.capability_id} ${t.price_per_call_usd}`)}`;
  const list = await hub.mcpList();
  out['GET /ai-market/mcp'] = `${list.status} ${list.status === 200 ? sortedList((list.body as { tools?: unknown } | undefined)?.tools, (t) => String(t.name)) : ''}`;
  out.channel = fields(await hub.channel(f.channel.id), ['channel_id', 'deposit_usd', 'balance_usd', 'used_usd', 'status']);
  out.stats = fields(await hub.stats(), ['invocations', 'successes', 'failures', 'revenue_usd', 'channels_open']);
  if (f.receiptNonce) out.receipt = (await hub.receipt(f.receiptNonce)).text;
  if (mcp) {
    // The session opened before the batch still answers (the transport lost no later traffic).
    const tools = await mcp.listTools().then(
      (r) => JSON.stringify(r.tools.map((t) => t.name).sort()),
      (e: Error) => `error: ${e.message.slice(0, 200)}`,
    );
    out['MCP tools/list'] = tools;
  }
  if (router) {
    const rwk = await router.wellKnown();
    out['router well-known peers'] = sortedList((rwk.body as { peers?: unknown } | undefined)?.peers ?? [], (p) => String(p.url));
    const rm = await router.manifestV2();
    out['router v2 manifest'] = rm.status === 200 ? `${Object.keys((rm.body as { by_hub?: object }).by_hub ?? {}).sort()} ${(rm.body as { tools?: unknown[] }).tools?.length}` : String(rm.status);
    const peers = await router.peers();
    out['router federation peers'] = peers.status === 200 ? sortedList((peers.body as { peers?: unknown }).peers, (p) => `${p.url} ${p.status}`) : String(peers.status);
    const search = await router.search({ limit: 100 });
    out['router search'] = sortedList(
      (search.body as { matches?: unknown } | undefined)?.matches ?? [],
      (x) => `${x.source_hub} ${x.product_id}/${x.capability_id} ${x.price_per_call_usd} ${x.routed_price_usd}`,
    );
    const rep = await router.call('GET', `/ai-market/v2/reputation/${encodeURIComponent(hub.url)}`);
    out['router reputation of the hub'] = fields(rep, ['successful_invocations', 'total_invocations', 'bond_usd']);
  }
  return out;
}

/** A live MCP session through the official SDK client (its headers for the raw requests), or why there is none. */
async function mcpSession(endpoint: string): Promise<{ client: Client; headers: Record<string, string> } | { error: string }> {
  const transport = new StreamableHTTPClientTransport(new URL(endpoint));
  const client = new Client({ name: 'amh-robustness', version: '0.1.0' });
  try {
    await client.connect(transport);
  } catch (e) {
    return { error: (e as Error).message.slice(0, 200) };
  }
  const headers: Record<string, string> = {};
  if (transport.sessionId) headers['mcp-session-id'] = transport.sessionId;
  if (transport.protocolVersion) headers['mcp-protocol-version'] = transport.protocolVersion;
  return { client, headers };
}

export const robustness = defineScenario({
  kind: 'property',
  id: 'robustness',
  title: 'Malformed requests at the hub, its MCP endpoint and the router: no 5xx, refusals (MCP errors) where state could change, no channel credential revealed, and nothing observable changes',
  requirements: [REQ, 'AIM-CHN-01'],
  ...HUB,
  roles: [ROLE],
  signers: ['attacker'],
  maxRuns: ROBUSTNESS_RUNS,
  arbitrary: () => fc.noShrink(fc.integer()),
  async run(ctx, seed) {
    const hubUrl = ctx.endpoint('aimarket').url;
    const routerUrl = endpointOf(ctx.target, 'aimarket-router')?.url;
    const f = await fixtureOf(`${hubUrl}|${routerUrl ?? ''}|${ctx.target.chains.map((c) => c.rpcUrl).join(',')}`, ctx);
    // Reads that are not evidence (the batch's own answers are): the global fetch.
    const hub = hubClient(hubUrl, fetch);
    const router = routerUrl ? hubClient(routerUrl, fetch) : undefined;
    const session = await ctx.chain({ chainId: f.chainId });
    const payer = payerOf(ctx, session, ROLE);
    const unused = await payer.transfer(f.token, f.channel.recipient, f.price);
    if (!unused.ok) throw new Indeterminate(REQ, `setup: the payment transfer failed (${unused.reason})`);
    ctx.act(`an MCP client (official SDK) opens a session at ${f.mcpEndpoint}`);
    const live = await mcpSession(f.mcpEndpoint);
    if ('error' in live) ctx.act(`no MCP session (${live.error}): no MCP request is sent (AIM-MCP-02 reports it)`);
    const mcp = 'client' in live ? live.client : undefined;
    const attacker = signerFromSeed(ctx.key('attacker').slice(2));
    const doc = { hub_url: `https://rob-${seed >>> 0}.example.com`, well_known_url: `https://rob-${seed >>> 0}.example.com/.well-known/ai-market.json`, capabilities_count: 1 };
    const signed = signedAnnouncement(attacker, doc);
    const other = signedAnnouncement(signerFromSeed('5a'.repeat(32)), doc);
    const sig = signed.signature as { algorithm: string; value: string };
    const fz: AimFuzzContext = {
      tool: aimTool(f.tool),
      ...(f.dearer ? { dearer: aimTool(f.dearer) } : {}),
      ...(f.overBudget ? { overBudget: aimTool(f.overBudget) } : {}),
      channelId: f.channel.id,
      depositTx: f.channel.depositTx,
      depositUsd: formatUsd(f.channel.depositCents * 10_000n),
      usedTx: f.usedTx,
      unusedTx: unused.hash,
      unusedUsd: formatUsd(f.price),
      mcpPath: `${new URL(f.mcpEndpoint).pathname}${new URL(f.mcpEndpoint).search}`,
      mcpSession: 'headers' in live ? live.headers : {},
      // Each changes a field the announce canonical signs (§7.3.5), or the signature itself.
      announces: [
        { note: 'hub_url changed after signing', body: { ...signed, hub_url: `https://rob-${seed >>> 0}x.example.com` } },
        { note: 'well_known_url changed after signing', body: { ...signed, well_known_url: `${doc.well_known_url}?x` } },
        { note: 'capabilities_count changed after signing', body: { ...signed, capabilities_count: 2 } },
        { note: "another key's signature under the attacker's key", body: { ...signed, signature: other.signature } },
        { note: 'a signature cut short', body: { ...signed, signature: { ...sig, value: sig.value.slice(0, 40) } } },
        { note: 'a signature that is not base64', body: { ...signed, signature: { ...sig, value: '!!not-base64!!' } } },
        { note: 'no signature', body: { ...doc, signer_public_key: signed.signer_public_key } },
      ],
      router: router !== undefined,
    };
    const requests = fc.sample(
      malformedRequest(fz).filter((r) => thirdPartyRequest(r) && (mcp !== undefined || r.server !== 'mcp')),
      { seed, numRuns: perRun(robustnessBudget(NORMAL_REQUESTS)) },
    );
    const credentials = [f.channel.secret ?? f.channel.id];
    const rule: AnswerRule<AimFuzzRequest> = {
      what: `an MCP request the protocol answers with an error gets one (a 4xx, a JSON-RPC error or an isError result), and no answer carries the channel's ${f.channel.secret ? 'secret' : 'id'} unless the request did`,
      problem: (req, answer) => {
        const leaked = unsentSecret(req, `${JSON.stringify(answer.headers)}\n${answer.body}`, credentials);
        if (leaked) return `the answer carries the channel's ${f.channel.secret ? 'secret' : 'id'}, which the request did not`;
        return mcpAnswerProblem(req, answer);
      },
    };
    const baseOf: Record<AimServer, string | undefined> = { hub: hubUrl, mcp: new URL(f.mcpEndpoint).origin, router: routerUrl };
    try {
      const before = await observe(session, f, hub, router, mcp);
      const block = await session.public.getBlockNumber({ cacheTime: 0 });
      for (const server of ['hub', 'mcp', 'router'] as const) {
        const batch = requests.filter((r) => r.server === server);
        if (batch.length && baseOf[server]) await sendMalformedBatch(ctx, REQ, baseOf[server]!, batch, `${server}, seed ${seed}`, rule);
      }
      ctx.act('reads the balances, the channel, the stats, the receipt, the documents, the MCP tool list and the router’s index again');
      expectUnchanged(ctx, REQ, before, await observe(session, f, hub, router, mcp), 'after the batch');
      const named = [session.address(ROLE), f.channel.recipient].map(asTopic);
      const watch: WatchedLogs[] = [{ address: f.token, naming: named }, ...(f.escrow ? [{ address: f.escrow, naming: named }] : [])];
      await expectNoLogsSince(ctx, REQ, session, watch, block, 'after the batch');
      ctx.act(`${ROLE} pays one call of ${f.tool.name} with the payment the batch carried`);
      const pays = await hub.invoke(f.tool.product_id, f.tool.capability_id, { text: 'x' }, { txHash: unused.hash });
      ctx.check(REQ, pays.status === 200 && (pays.body as { success?: unknown } | undefined)?.success === true, 'the unused payment the batch carried still pays one call', {
        expected: '200 {success: true}',
        actual: `${pays.status} ${pays.text.slice(0, 200)}`,
      });
    } finally {
      await mcp?.close().catch(() => undefined);
    }
  },
});
