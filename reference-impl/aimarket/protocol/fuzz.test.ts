/**
 * The MCP answer rule of AIM-ROB-01 (mcpAnswerProblem), case by case: what fails a broken server
 * and every reading a correct one may take; and the generator's promise that a real credential
 * never rides with a request that is not marked when a lenient hub could act on it.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { test } from 'vitest';
import type { RawAnswer } from '../../../harness/robustness/http.ts';
import { type AimFuzzContext, type AimFuzzRequest, malformedRequest, mcpAnswerProblem, thirdPartyRequest } from './fuzz.ts';

const call: AimFuzzRequest = { server: 'mcp', cls: 'mcp-call-args', note: 'n', method: 'POST', path: '/ai-market/mcp', headers: {}, expect4xx: false, mcpError: true };
const json = (status: number, body: unknown): RawAnswer => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const sse = (body: unknown): RawAnswer => ({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: `event: message\ndata: ${JSON.stringify(body)}\n\n` });

test('a broken server: a tool result, or a 2xx without a JSON-RPC error, to a request MCP answers with an error', () => {
  assert.match(mcpAnswerProblem(call, json(200, { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'X' }] } }))!, /result that is not an error/);
  assert.match(mcpAnswerProblem(call, sse({ jsonrpc: '2.0', id: 1, result: { content: [], isError: false } }))!, /result that is not an error/);
  assert.match(mcpAnswerProblem(call, { status: 202, headers: {}, body: '' })!, /202 without a JSON-RPC error/);
  assert.match(mcpAnswerProblem(call, { status: 302, headers: {}, body: 'moved' })!, /302/);
});

test('every reading a correct server may take passes', () => {
  assert.equal(mcpAnswerProblem(call, json(400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } })), null, 'a 4xx');
  assert.equal(mcpAnswerProblem(call, json(200, { jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'bad params' } })), null, 'a JSON-RPC error in a 200');
  assert.equal(mcpAnswerProblem(call, json(200, { jsonrpc: '2.0', id: 1, result: { isError: true, content: [] } })), null, 'an isError result');
  assert.equal(mcpAnswerProblem(call, sse({ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'no' } })), null, 'an error in an event stream');
  assert.equal(mcpAnswerProblem(call, json(200, [{ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'no' } }])), null, 'a batch answer');
  assert.equal(mcpAnswerProblem({ ...call, mcpError: undefined }, json(200, { jsonrpc: '2.0', id: 1, result: { tools: [] } })), null, 'a request MCP may serve');
});

test('in what a third party is sent, the real channel and the unused payment ride only with requests held to a refusal, never with a valid call', () => {
  const f: AimFuzzContext = {
    tool: { productId: 'p', capabilityId: 'c@v1', name: 'p.c@v1' },
    dearer: { productId: 'p', capabilityId: 'd@v1', name: 'p.d@v1' },
    channelId: 'ch_00112233445566778899aabb',
    depositTx: `0x${'1'.repeat(64)}`,
    depositUsd: '0.01',
    usedTx: `0x${'2'.repeat(64)}`,
    unusedTx: `0x${'3'.repeat(64)}`,
    unusedUsd: '0.004',
    mcpPath: '/ai-market/mcp',
    mcpSession: {},
    announces: [],
    router: true,
  };
  // The exact credential: the channel's id, or an X-Payment naming the unused payment on no other chain.
  const credential = (r: AimFuzzRequest) => {
    const h = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
    if (h['x-payment-channel'] === f.channelId) return true;
    try {
      const p = JSON.parse(h['x-payment'] ?? '') as { tx_hash?: unknown; chain?: unknown };
      return p.tx_hash === f.unusedTx && p.chain === undefined;
    } catch {
      return false;
    }
  };
  const body = (r: AimFuzzRequest) => (typeof r.body === 'string' ? r.body : '');
  let carried = 0;
  for (const r of fc.sample(malformedRequest(f).filter(thirdPartyRequest), { seed: 5, numRuns: 1500 })) {
    if (!credential(r)) continue;
    carried++;
    assert.ok(r.expect4xx || r.mcpError, `a credential on a request not held to a refusal: ${r.cls} ${r.note}`);
    const validCall =
      (r.server === 'hub' && r.method === 'POST' && r.path === '/capabilities/p/c%40v1/invoke' && body(r) === JSON.stringify({ input: { text: 'x' } })) ||
      (r.server === 'mcp' && body(r).includes('"name":"p.c@v1","arguments":{"text":"x"}'));
    assert.ok(!validCall, `a valid paid call of the paid tool: ${r.cls} ${r.note}`);
  }
  assert.ok(carried > 150, `requests carrying a real credential: ${carried}`);
});
