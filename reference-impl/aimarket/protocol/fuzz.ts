/**
 * Malformed AI Market requests as fast-check arbitraries, for a hub (endpoint `aimarket`), its MCP
 * endpoint (JSON-RPC over MCP Streamable HTTP) and a routing hub (`aimarket-router`): bodies that
 * are not JSON or not the route's shape, inputs that fail the tool's schema, payment headers that
 * are junk or name a transaction that does not pay (not on chain, already used, one hex digit off,
 * short for the capability), channel ids one character off, over-claimed deposits, pipelines no
 * reading can run, announcements whose signed fields changed after signing, JSON-RPC envelopes that
 * are not requests, unknown methods, tool calls with bad names, arguments or payments, wrong
 * methods, unpublished paths, transport-level defects. Used by the robustness scenario
 * (scenarios/aimarket/robustness.ts: the requests every reading refuses, {@link thirdPartyRequest},
 * judged by harness/robustness/batch.ts and {@link mcpAnswerProblem}) and by the reference's fuzz
 * test (server/fuzz.test.ts: every request, the reference's strict answers).
 *
 * A real credential (the fixture channel's id, an unused payment transaction) only rides with
 * something that must be refused. Where only the reference's strictness refuses it (an input value a
 * lenient hub could coerce, a bound it may not enforce), the request is marked
 * {@link AimFuzzRequest.lenientMayAct} and kept from third parties.
 */
import fc from 'fast-check';
import { JSON_HEADERS, deeplyNested, headerValue, hex32, malformedJson, notObject, notString, serverRequest, transportDefects, withHarmlessJunk } from '../../../harness/robustness/arbitraries.ts';
import type { MalformedRequest, RawAnswer } from '../../../harness/robustness/http.ts';

/** Which published server a request goes to (paths are relative to its base URL; `mcp`: the MCP endpoint's origin). */
export type AimServer = 'hub' | 'mcp' | 'router';

/** One malformed request and the server it is for. */
export interface AimFuzzRequest extends MalformedRequest {
  server: AimServer;
  /**
   * It carries a real credential and only the reference's own strictness refuses it (a value a
   * lenient hub could coerce, a bound it need not enforce): not sent to a third party.
   */
  lenientMayAct?: true;
  /**
   * An MCP request the protocol answers with an error: a 4xx, a JSON-RPC error or (for tools/call)
   * an `isError` result; never a tool's result.
   */
  mcpError?: true;
}

/** A tool of the hub's manifest. */
export interface AimTool {
  productId: string;
  capabilityId: string;
  /** Its MCP tool name. */
  name: string;
}

/** What the generator aims at: the hub's real tools, channel and payments (made up front: arbitraries are synchronous). */
export interface AimFuzzContext {
  /** The cheapest tool callable with `{text}`. */
  tool: AimTool;
  /** A text tool dearer than `tool` (the unused payment is short for it), when the hub lists one. */
  dearer?: AimTool;
  /** A text tool one call of which costs more than the channel holds, when the hub lists one. */
  overBudget?: AimTool;
  /** An open channel of the harness's buyer. */
  channelId: string;
  /** The transaction that opened it (used). */
  depositTx: string;
  /** Its deposit in USD as a decimal string. */
  depositUsd: string;
  /** A transaction that paid one call (used). */
  usedTx: string;
  /** A transaction that pays exactly one call of `tool` with `{text: "x"}` and was never used: only sent with something that must be refused. */
  unusedTx: string;
  /** Its amount in USD as a decimal string (what the 402 asked). */
  unusedUsd: string;
  /** The MCP endpoint's path on its origin. */
  mcpPath: string;
  /** Headers of a live MCP session (its id and protocol version; empty for a stateless endpoint). */
  mcpSession: Record<string, string>;
  /** Signed announcements with one signed field changed afterwards (sent to the router). */
  announces: { note: string; body: Record<string, unknown> }[];
  /** The target publishes a routing hub. */
  router: boolean;
}

const MCP_ACCEPT = 'application/json, text/event-stream';
const enc = encodeURIComponent;
const invokePath = (t: { productId: string; capabilityId: string }) => `/capabilities/${enc(t.productId)}/${enc(t.capabilityId)}/invoke`;

/** Bodies that are not a JSON object: not JSON at all, JSON of another type, arrays nested deep (also the AIM-MAL-01 scenario's). */
export const junkJson: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  malformedJson,
  fc.constantFrom('true', '123', '"str"', '[]', 'null', '{}}', '"\\u0000'),
  fc.json({ maxDepth: 3 }).filter((j) => !j.trim().startsWith('{')),
  fc.integer({ min: 100, max: 5000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
);

/** Distinct strings one edit away from `id` (never `id` itself, in any case, nor `id` with spaces around). */
function nearMisses(id: string): string[] {
  const last = id.at(-1) ?? 'a';
  const swap = (c: string) => (c === 'a' ? 'b' : c === '0' ? '1' : /[0-9a-f]/i.test(c) ? (c === 'f' ? 'e' : 'f') : 'a');
  const out = [`${id.slice(0, -1)}${swap(last)}`, `${id}0`, id.slice(0, -1), `x${id}`, `${id.slice(0, 3)}${swap(id[3] ?? 'a')}${id.slice(4)}`, `${id}/`, `${id}%00`];
  return [...new Set(out)].filter((v) => v.trim().toLowerCase() !== id.toLowerCase() && v.length > 0);
}

/** A 0x-hash with its last hex digit changed. */
const offByOneDigit = (h: string) => `${h.slice(0, -1)}${h.at(-1) === '0' ? '1' : '0'}`;

/** Path segments that name nothing (never a real id after decoding). */
const junkSegment = fc.oneof(
  fc.constantFrom('zz', 'zz%00', 'zz..%2f..%2f', 'zz%zz', `zz${'9'.repeat(80)}`, 'zz%7B%7D', 'zz%E2%80%AE'),
  fc.string({ maxLength: 24 }).map((s) => `zz${enc(s)}`),
);

/** Any malformed request to the hub, its MCP endpoint and (when published) the router described by `f`. */
export function malformedRequest(f: AimFuzzContext): fc.Arbitrary<AimFuzzRequest> {
  const req = serverRequest<AimServer>;
  const H = (cls: string, note: string, method: string, path: string, body?: string | Uint8Array, headers?: Record<string, string>, expect4xx = true, lenient = false) =>
    req('hub', cls, note, method, path, body, headers, expect4xx, lenient);
  const R = (cls: string, note: string, method: string, path: string, body?: string | Uint8Array, headers?: Record<string, string>, expect4xx = true) =>
    req('router', cls, note, method, path, body, headers, expect4xx);
  const valid = JSON.stringify({ input: { text: 'x' } });
  const channel = { 'x-payment-channel': f.channelId };
  const unused = { 'x-payment': JSON.stringify({ tx_hash: f.unusedTx }) };
  // The credentials a request that must be refused may carry: none, the real channel, the unused payment.
  const credential = fc.constantFrom<[string, Record<string, string>]>(['unpaid', {}], ['the real channel', channel], ['the unused payment', unused]);
  const inv = invokePath(f.tool);
  const channelMisses = nearMisses(f.channelId);
  const txMisses = [offByOneDigit(f.unusedTx), `${f.unusedTx}0`, f.unusedTx.slice(0, -1), f.usedTx, f.depositTx, `0x${'0'.repeat(64)}`];

  // ---- invoke --------------------------------------------------------------------------------------------
  const invokeBody = fc.oneof(
    junkJson.map((b) => ({ note: 'a body that is not a JSON object', body: b, lenient: false })),
    notObject.map((v) => ({ note: 'input not an object', body: JSON.stringify({ input: v }), lenient: false })),
    fc.constantFrom('{}', '{"input":null}', '{"input":{}}', '{"inputs":{"text":"x"}}').map((b) => ({ note: 'no input, or no input.text', body: b, lenient: false })),
    fc.integer({ min: 100, max: 3000 }).map((n) => ({ note: 'input nested deep', body: `{"input":${'['.repeat(n)}${']'.repeat(n)}}`, lenient: false })),
    // A hub that does not validate the schema could coerce a value or skip a maxLength: the reference's refusals only.
    notString.map((v) => ({ note: 'input.text not a string', body: JSON.stringify({ input: { text: v } }), lenient: true })),
    fc.integer({ min: 20_001, max: 30_000 }).map((n) => ({ note: 'input.text past maxLength', body: JSON.stringify({ input: { text: 'a'.repeat(n) } }), lenient: true })),
  );
  const invoke = [
    fc.tuple(invokeBody, credential).map(([b, [c, h]]) => H('invoke-body', `${b.note}, ${c}`, 'POST', inv, b.body, { ...JSON_HEADERS, ...h }, true, b.lenient && c !== 'unpaid')),
    fc.tuple(fc.constantFrom('pid', 'cid', 'extra', 'no-invoke'), junkSegment, fc.constantFrom(channel, unused)).map(([where, s, h]) => {
      const path =
        where === 'pid'
          ? `/capabilities/${s}/${enc(f.tool.capabilityId)}/invoke`
          : where === 'cid'
            ? `/capabilities/${enc(f.tool.productId)}/${s}/invoke`
            : where === 'extra'
              ? `${inv}/${s}`
              : `/capabilities/${enc(f.tool.productId)}/${enc(f.tool.capabilityId)}`;
      return H('invoke-path', `a path that names no capability (${where})`, 'POST', path, valid, { ...JSON_HEADERS, ...h });
    }),
    fc
      .oneof(
        headerValue(120),
        fc.constantFrom('{', '[]', 'null', '{"hash":"0x1"}', '{"tx_hash":5}', '{"tx_hash":null}', '{"tx_hash":"demo-123"}', '{"tx_hash":"0x12"}', `{"tx_hash":["${f.unusedTx.slice(0, 10)}"]}`),
        fc.constantFrom(...txMisses).map((h) => JSON.stringify({ tx_hash: h })),
      )
      .map((x) => H('invoke-payment', 'an X-Payment that pays nothing (junk, not on chain, used, one digit off)', 'POST', inv, valid, { ...JSON_HEADERS, 'x-payment': x })),
    fc
      .oneof(headerValue(80), fc.constantFrom(...channelMisses))
      .map((c) => H('invoke-channel', 'an X-Payment-Channel that names no channel (junk, one character off)', 'POST', inv, valid, { ...JSON_HEADERS, 'x-payment-channel': c })),
    ...(f.dearer ? [fc.constant(H('invoke-short', `the unused payment for the dearer ${f.dearer.name}`, 'POST', invokePath(f.dearer), valid, { ...JSON_HEADERS, ...unused }))] : []),
    // A hub that ignores the claimed chain would take the payment: the reference's refusal only.
    fc.constant(
      H('invoke-chain', 'the unused payment claimed on another chain', 'POST', inv, valid, { ...JSON_HEADERS, 'x-payment': JSON.stringify({ tx_hash: f.unusedTx, chain: 'solana' }) }, true, true),
    ),
    fc
      .tuple(fc.constantFrom('PUT', 'DELETE', 'PATCH'), fc.constantFrom(channel, unused))
      .map(([m, h]) => H('invoke-method', `${m} on invoke with a valid body and a real credential`, m, inv, valid, { ...JSON_HEADERS, ...h })),
    fc
      .integer({ min: 70, max: 300 })
      // Unpaid: a hub with a larger body limit and no maxLength would run it if it were paid.
      .map((kb) => H('invoke-oversized', `${kb} KiB body, unpaid`, 'POST', inv, JSON.stringify({ input: { text: 'a'.repeat(kb * 1024) } }))),
  ];

  // ---- channels --------------------------------------------------------------------------------------------
  // Claims above the unused payment's amount under any numeric reading (never one it covers: an "at least" hub would open it).
  const unusedMicros = Math.round(Number(f.unusedUsd) * 1e6);
  const overClaim = [(unusedMicros + 10_000) / 1e6, 1, 10_001, '1e9', 1e300, '0x10'].filter((d) => Number(d) * 1e6 > unusedMicros);
  const channels = [
    junkJson.map((b) => H('open-body', 'a body that is not a JSON object', 'POST', '/ai-market/channel/open', b)),
    fc
      .oneof(fc.constantFrom<unknown>(-1, '-0.01', 'abc', 'NaN', ...overClaim), fc.double({ max: -0.001, noNaN: true, noDefaultInfinity: true }))
      .map((d) =>
        H(
          'open-deposit',
          `deposit_usd ${JSON.stringify(d)} with the unused payment (never a claim it covers)`,
          'POST',
          '/ai-market/channel/open',
          JSON.stringify({ deposit_usd: d, tx_hash: f.unusedTx }),
        ),
      ),
    fc
      .tuple(fc.constantFrom<unknown>('', null, true, [], {}, 0, '0'), hex32)
      .map(([d, h]) => H('open-type', `deposit_usd ${JSON.stringify(d)} with a transaction not on chain`, 'POST', '/ai-market/channel/open', JSON.stringify({ deposit_usd: d, tx_hash: h }))),
    fc
      .oneof(
        fc.constantFrom<unknown>(...txMisses, 'demo-123', '0x12', 5, null, [], {}),
        fc.string({ maxLength: 70 }).filter((s) => s.toLowerCase() !== f.unusedTx.toLowerCase()),
      )
      .map((h) => H('open-tx', `tx_hash ${JSON.stringify(h).slice(0, 24)} (junk, used, not on chain)`, 'POST', '/ai-market/channel/open', JSON.stringify({ deposit_usd: f.unusedUsd, tx_hash: h }))),
    // A hub that ignores the claimed token or chain would open it: the reference's refusal only.
    fc
      .constantFrom({ token: 'DAI' }, { chain: 'solana' })
      .map((x) =>
        H(
          'open-token',
          `the unused payment claimed as ${JSON.stringify(x)}`,
          'POST',
          '/ai-market/channel/open',
          JSON.stringify({ deposit_usd: f.unusedUsd, tx_hash: f.unusedTx, ...x }),
          JSON_HEADERS,
          true,
          true,
        ),
      ),
    fc.constant(H('open-reuse', "the channel's own deposit again", 'POST', '/ai-market/v2/channel/open', JSON.stringify({ deposit_usd: Number(f.depositUsd), tx_hash: f.depositTx }))),
    junkJson.map((b) => H('close-body', 'a body that is not a JSON object', 'POST', '/ai-market/channel/close', b)),
    fc
      .tuple(
        fc.oneof(
          fc.constantFrom(...channelMisses),
          fc.string({ maxLength: 40 }).map((s) => `ch_zz${s}`),
          fc.constantFrom<unknown>(5, null, true, [], {}, ''),
        ),
        fc.constantFrom('/ai-market/channel/close', '/ai-market/v2/channel/close'),
      )
      .map(([c, path]) => H('close-id', `channel_id ${JSON.stringify(c).slice(0, 30)} (names no channel)`, 'POST', path, JSON.stringify({ channel_id: c }))),
    fc.oneof(junkSegment, fc.constantFrom(...channelMisses)).map((c) => H('channel-view', 'a channel id that names nothing', 'GET', `/ai-market/v2/channel/${c}`, undefined, {}, false)),
  ];

  // ---- pipelines -------------------------------------------------------------------------------------------
  const node = (id: string, extra: Record<string, unknown> = {}) => ({ id, product_id: f.tool.productId, capability_id: f.tool.capabilityId, input: { text: 'x' }, ...extra });
  const pipe = (o: Record<string, unknown>) => JSON.stringify({ channel_id: f.channelId, ...o });
  const pipelines = [
    junkJson.map((b) => H('pipeline-body', 'a body that is not a JSON object', 'POST', '/ai-market/pipelines', b)),
    notObject.map((v) => H('pipeline-shape', 'nodes not an array of nodes', 'POST', '/ai-market/pipelines', pipe({ nodes: Array.isArray(v) ? v.map(() => 5) : v }))),
    fc
      .constantFrom(
        { note: 'a cycle through every node', nodes: [node('a', { input: undefined, input_from: 'b' }), node('b', { input: undefined, input_from: 'a' })], lenient: false },
        // A hub may run a pipeline node by node and answer 200 with a failed step (the documents say only "topological execution"): the reference's refusals only.
        { note: 'the only node names an unknown capability', nodes: [node('a', { capability_id: 'zz-none@v0' })], lenient: true },
        { note: 'the only node names an unknown product', nodes: [node('a', { product_id: 'zz-none' })], lenient: true },
        { note: 'no nodes', nodes: [], lenient: true },
        { note: 'a node with neither input nor input_from', nodes: [node('a', { input: undefined })], lenient: true },
        { note: 'a dependency on an unknown node', nodes: [node('a', { depends_on: ['zz'] })], lenient: true },
        { note: 'two nodes with one id', nodes: [node('a'), node('a')], lenient: true },
      )
      .map((x) => H('pipeline-dag', x.note, 'POST', '/ai-market/pipelines', pipe({ nodes: x.nodes }), JSON_HEADERS, true, x.lenient)),
    fc.constantFrom(...channelMisses).map((c) => H('pipeline-channel', 'a channel id one character off', 'POST', '/ai-market/pipelines', JSON.stringify({ channel_id: c, nodes: [node('a')] }))),
    ...(f.overBudget
      ? [
          fc.constant(
            H(
              'pipeline-budget',
              `one ${f.overBudget.name} node, dearer than the channel holds`,
              'POST',
              '/ai-market/pipelines',
              pipe({ nodes: [{ id: 'a', product_id: f.overBudget.productId, capability_id: f.overBudget.capabilityId, input: { text: 'x' } }] }),
              JSON_HEADERS,
              true,
              true,
            ),
          ),
        ]
      : []),
  ];

  // ---- reads: a malformed read may be answered (never 5xx) -----------------------------------------------------
  const reads = [
    junkJson.map((b) => H('pricing-body', 'a quote for a body that is not a JSON object', 'POST', `/ai-market/pricing/${enc(f.tool.productId)}/${enc(f.tool.capabilityId)}`, b, JSON_HEADERS, false)),
    fc
      .constantFrom('-1', '1.5', 'abc', '1e999', '', '99999999999999999999')
      .map((s) => H('pricing-size', `input_size=${s}`, 'GET', `/ai-market/pricing/${enc(f.tool.productId)}/${enc(f.tool.capabilityId)}?input_size=${enc(s)}`, undefined, {}, false)),
    fc
      .oneof(
        junkJson,
        notString.map((q) => JSON.stringify({ query: q })),
        fc.constant(deeplyNested('query', 3000)),
      )
      .map((b) => H('discover-body', 'a discover body of the wrong shape', 'POST', '/ai-market/discover', b, JSON_HEADERS, false)),
    junkSegment.map((n) => H('receipt-nonce', 'a receipt nonce that names nothing', 'GET', `/ai-market/receipt/${n}`, undefined, {}, false)),
    fc
      .tuple(fc.constantFrom('limit', 'budget', 'min_trust', 'max_latency_ms', 'hub'), fc.constantFrom('-1', 'abc', '1e999', '', '%00', '101', 'NaN'))
      .map(([k, v]) => H('search-param', `search ${k}=${v}`, 'GET', `/ai-market/v2/search?${k}=${v}`, undefined, {}, false)),
    fc
      .tuple(fc.constantFrom('POST', 'PUT', 'DELETE'), fc.constantFrom('/.well-known/ai-market.json', '/ai-market/manifest', '/ai-market/v2/manifest', '/ai-market/stats'))
      .map(([m, p]) => H('read-method', `${m} on a read route`, m, p, m === 'DELETE' ? undefined : '{}', JSON_HEADERS, false)),
    fc
      .tuple(fc.constantFrom('GET', 'POST', 'DELETE'), fc.string({ maxLength: 16 }))
      .map(([m, s]) => H('unknown-route', `${m} on an unpublished path`, m, `/ai-market/zz${enc(s)}/x`, m === 'POST' ? '{}' : undefined)),
  ];

  // ---- v2 invoke on the hub itself (no source_hub: local) ------------------------------------------------------
  const v2 = [
    fc
      .oneof(
        junkJson.map((b) => ({ note: 'a body that is not a JSON object', b })),
        notObject.map((v) => ({ note: 'input not an object', b: JSON.stringify({ product_id: f.tool.productId, capability_id: f.tool.capabilityId, input: v }) })),
        fc.constantFrom(
          { note: 'no product_id', b: JSON.stringify({ capability_id: f.tool.capabilityId, input: { text: 'x' } }) },
          { note: 'an unknown capability', b: JSON.stringify({ product_id: f.tool.productId, capability_id: 'zz-none@v0', input: { text: 'x' } }) },
        ),
      )
      .map(({ note, b }) => H('v2-invoke', `${note}, the real channel`, 'POST', '/ai-market/v2/invoke', b, { ...JSON_HEADERS, ...channel })),
  ];

  // ---- MCP (JSON-RPC over Streamable HTTP) ---------------------------------------------------------------------
  const mcpHeaders = (extra: Record<string, string> = {}) => ({ ...JSON_HEADERS, accept: MCP_ACCEPT, ...f.mcpSession, ...extra });
  const M = (cls: string, note: string, body: unknown, o: { headers?: Record<string, string>; error?: boolean; lenient?: boolean; raw?: boolean } = {}): AimFuzzRequest => ({
    server: 'mcp',
    cls,
    note,
    method: 'POST',
    path: f.mcpPath,
    headers: o.headers ?? mcpHeaders(),
    body: o.raw ? (body as string | Uint8Array) : JSON.stringify(body),
    // JSON-RPC errors travel in a 200: the MCP rule (mcpAnswerProblem) judges them.
    expect4xx: false,
    ...(o.error ? { mcpError: true as const } : {}),
    ...(o.lenient ? { lenientMayAct: true as const } : {}),
  });
  const rpc = (id: unknown, method: unknown, params?: unknown) => ({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
  const call = (params: unknown) => rpc(11, 'tools/call', params);
  const mcpPay = fc.constantFrom<[string, Record<string, string>]>(['the real channel', channel], ['the unused payment', unused]);
  const mcp = [
    junkJson.filter((b) => typeof b !== 'string' || !b.trim().startsWith('[')).map((b) => M('mcp-not-rpc', 'a body that is not a JSON-RPC message', b, { raw: true, error: true })),
    fc
      .constantFrom<unknown>(
        { jsonrpc: '1.0', id: 1, method: 'tools/list' },
        { id: 1, method: 'tools/list' },
        { jsonrpc: '2.0', id: 1, method: 5 },
        { jsonrpc: '2.0', id: {}, method: 'tools/list' },
        { jsonrpc: '2.0', id: 1 },
        [],
        [rpc(1, 'tools/list'), rpc(2, 'amh-unknown/x')],
      )
      .map((b) => M('mcp-envelope', 'a JSON-RPC envelope that is not a request (version, method, id, batch)', b)),
    fc.string({ maxLength: 20 }).map((s) => M('mcp-unknown-method', 'an unknown method', rpc(7, `amh-unknown/${s}`), { error: true })),
    fc.string({ maxLength: 20 }).map((s) => M('mcp-notification', 'an unknown notification', { jsonrpc: '2.0', method: `notifications/amh-unknown${s}` })),
    fc
      .tuple(
        mcpPay,
        fc.oneof(
          fc.string({ maxLength: 20 }).map((s) => ({ note: 'an unknown tool', params: { name: `zz-none.${s}`, arguments: { text: 'x' } }, lenient: false })),
          fc.constantFrom<unknown>(5, null, [], {}).map((n) => ({ note: 'a name of the wrong type', params: { name: n, arguments: { text: 'x' } }, lenient: false })),
          fc.constant({ note: 'no name', params: { arguments: { text: 'x' } }, lenient: false }),
          notObject.map((a) => ({ note: 'arguments not an object', params: { name: f.tool.name, arguments: a }, lenient: false })),
          notObject.map((p) => ({ note: 'params not an object', params: p, lenient: false })),
          fc.constant({ note: 'no arguments.text', params: { name: f.tool.name, arguments: {} }, lenient: false }),
          notString.map((v) => ({ note: 'arguments.text not a string', params: { name: f.tool.name, arguments: { text: v } }, lenient: true })),
          fc.integer({ min: 20_001, max: 30_000 }).map((n) => ({ note: 'arguments.text past maxLength', params: { name: f.tool.name, arguments: { text: 'a'.repeat(n) } }, lenient: true })),
        ),
      )
      .map(([[c, h], x]) => M('mcp-call-args', `tools/call: ${x.note}, ${c}`, call(x.params), { headers: mcpHeaders(h), error: true, lenient: x.lenient })),
    fc
      .oneof(
        fc.constantFrom(...channelMisses).map((c) => ({ 'x-payment-channel': c })),
        fc.constantFrom(...txMisses).map((t) => ({ 'x-payment': JSON.stringify({ tx_hash: t }) })),
        headerValue(60).map((v) => ({ 'x-payment': v })),
      )
      .map((h) => M('mcp-call-payment', 'tools/call with a payment that pays nothing', call({ name: f.tool.name, arguments: { text: 'x' } }), { headers: mcpHeaders(h), error: true })),
    ...(f.dearer
      ? [
          fc.constant(
            M('mcp-call-short', `tools/call ${f.dearer.name} with the unused payment (short for it)`, call({ name: f.dearer.name, arguments: { text: 'x' } }), {
              headers: mcpHeaders(unused),
              error: true,
            }),
          ),
        ]
      : []),
    fc
      .constantFrom<[string, Record<string, string>]>(
        ['content-type text/plain', { ...mcpHeaders(), 'content-type': 'text/plain' }],
        ['no Accept', Object.fromEntries(Object.entries(mcpHeaders()).filter(([k]) => k !== 'accept'))],
        ['an unknown session', mcpHeaders({ 'mcp-session-id': 'amh-no-such-session' })],
        ['an unknown protocol version', mcpHeaders({ 'mcp-protocol-version': '1999-01-01' })],
      )
      .map(([note, h]) => M('mcp-headers', `tools/list with ${note}`, rpc(3, 'tools/list'), { headers: h })),
  ];

  // ---- the router ---------------------------------------------------------------------------------------------
  const router = f.router
    ? [
        junkJson.map((b) => R('announce-body', 'a body that is not a JSON object', 'POST', '/ai-market/v2/federation/announce', b)),
        fc
          .tuple(fc.constantFrom('hub_url', 'well_known_url', 'signer_public_key', 'signature'), fc.constantFrom<unknown>(5, null, [], {}, ''))
          .map(([k, v]) => R('announce-type', `${k} ${JSON.stringify(v)}`, 'POST', '/ai-market/v2/federation/announce', JSON.stringify({ ...(f.announces[0]?.body ?? {}), [k]: v }))),
        ...(f.announces.length ? [fc.constantFrom(...f.announces).map((a) => R('announce-forged', a.note, 'POST', '/ai-market/v2/federation/announce', JSON.stringify(a.body)))] : []),
        fc
          .oneof(
            junkJson.map((b) => ({ note: 'a body that is not a JSON object', b })),
            fc.constantFrom('https://zz-unknown.example', 'ftp://zz.example', 'not a url', 'http://169.254.169.254').map((h) => ({
              note: `source_hub ${h} (not a peer)`,
              b: JSON.stringify({ product_id: f.tool.productId, capability_id: f.tool.capabilityId, source_hub: h, input: { text: 'x' } }),
            })),
          )
          .map(({ note, b }) => R('routed-invoke', note, 'POST', '/ai-market/v2/invoke', b)),
        fc
          .tuple(fc.constantFrom('limit', 'budget', 'min_trust', 'max_latency_ms'), fc.constantFrom('-1', 'abc', '1e999', '', 'NaN', '2'))
          .map(([k, v]) => R('router-search', `search ${k}=${v}`, 'GET', `/ai-market/v2/search?${k}=${v}`, undefined, {}, false)),
        junkSegment.map((h) => R('reputation', 'a hub that is not a peer', 'GET', `/ai-market/v2/reputation/${h}`, undefined, {}, false)),
      ]
    : [];

  const servers = [
    { server: 'hub' as const, read: '/ai-market/receipt', write: '/ai-market/channel/open' },
    ...(f.router ? [{ server: 'router' as const, read: '/ai-market/v2/reputation', write: '/ai-market/v2/federation/announce' }] : []),
  ];
  return fc
    .oneof(
      { arbitrary: fc.oneof(...invoke), weight: 6 },
      { arbitrary: fc.oneof(...channels), weight: 4 },
      { arbitrary: fc.oneof(...pipelines), weight: 2 },
      { arbitrary: fc.oneof(...reads), weight: 3 },
      { arbitrary: fc.oneof(...v2), weight: 1 },
      { arbitrary: fc.oneof(...mcp), weight: 5 },
      ...(router.length ? [{ arbitrary: fc.oneof(...router), weight: 3 }] : []),
      { arbitrary: transportDefects(servers), weight: 1 },
    )
    .chain(withHarmlessJunk);
}

/** Whether the robustness scenario may send `r` to a third party: every careful reading refuses it without acting. */
export function thirdPartyRequest(r: AimFuzzRequest): boolean {
  return !r.lenientMayAct;
}

/** The JSON-RPC messages of an MCP answer: a JSON body (one message or a batch) or the `data:` lines of an event stream. */
export function mcpMessages(answer: RawAnswer): Record<string, unknown>[] {
  const texts = /text\/event-stream/i.test(String(answer.headers['content-type'] ?? ''))
    ? answer.body
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
    : [answer.body];
  const out: Record<string, unknown>[] = [];
  for (const t of texts) {
    try {
      const v = JSON.parse(t) as unknown;
      for (const m of Array.isArray(v) ? v : [v]) if (m && typeof m === 'object') out.push(m as Record<string, unknown>);
    } catch {
      /* not JSON: no message */
    }
  }
  return out;
}

/**
 * What is wrong with the answer to an MCP request the protocol answers with an error
 * ({@link AimFuzzRequest.mcpError}), or null: a 4xx, a JSON-RPC `error` or a tools/call result
 * flagged `isError` is an error; a tool's result, or an empty 2xx, is not.
 */
export function mcpAnswerProblem(req: AimFuzzRequest, answer: RawAnswer): string | null {
  if (!req.mcpError || answer.status >= 400) return null;
  const msgs = mcpMessages(answer);
  if (msgs.some((m) => m.error !== undefined || (m.result as { isError?: unknown } | undefined)?.isError === true)) return null;
  const result = msgs.find((m) => m.result !== undefined);
  return result ? `${answer.status} with a result that is not an error: ${JSON.stringify(result.result).slice(0, 200)}` : `${answer.status} without a JSON-RPC error`;
}
