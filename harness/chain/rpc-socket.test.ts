/**
 * JSON-RPC over WebSockets (rpc-socket.ts): a registered URL's calls leave HTTP, answers keep the
 * caller's ids, concurrent calls get connections of their own, and what fails fails as over HTTP
 * (timeout, abort, a node that closes or is gone), with the next call connecting again. Then the
 * same against a real anvil: startChain registers it and stop() hands its URL back to HTTP.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, test } from 'vitest';
import { createChainClients, rpcBatch, rpcCall, startChain } from './index.ts';
import { jsonRpcFetch, postJsonRpc } from './rpc.ts';
import { closeRpcSocket, useRpcSocket } from './rpc-socket.ts';

/** A JSON-RPC node on HTTP and WebSocket that counts what came by which way. */
let server: http.Server;
let wss: WebSocketServer;
let url: string;
const seen = { http: 0, ws: 0, connections: 0 };
/** `wait` requests being answered now, the most at once, and `slow` answers sent (no clock in the assertions). */
const load = { waiting: 0, mostWaiting: 0, slowAnswered: 0 };
const sockets = new Set<WebSocket>();

/** Answers one request: `slow` after 2 s, `hangup` closes the connection, `fail` is an error, else the method name. */
function answer(msg: { id: unknown; method: string; params?: unknown[] }, hangup: () => void, reply: (s: string) => void): void {
  if (msg.method === 'hangup') {
    hangup();
    return;
  }
  const text =
    msg.method === 'fail'
      ? JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'no such method' } })
      : JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: msg.params?.[0] ?? msg.method });
  if (msg.method === 'slow')
    setTimeout(() => {
      load.slowAnswered++;
      reply(text);
    }, 2_000);
  else if (msg.method === 'wait') {
    load.mostWaiting = Math.max(load.mostWaiting, ++load.waiting);
    setTimeout(() => {
      load.waiting--;
      reply(text);
    }, 100);
  } else reply(text);
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.http++;
      res.setHeader('content-type', 'application/json');
      const msg = JSON.parse(body);
      if (Array.isArray(msg)) return void res.end(JSON.stringify(msg.map((m: { id: unknown; method: string }) => ({ jsonrpc: '2.0', id: m.id, result: m.method }))));
      answer(
        msg,
        () => req.socket.destroy(),
        (s) => res.end(s),
      );
    });
  });
  wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    seen.connections++;
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('message', (data: Buffer) => {
      seen.ws++;
      const msg = JSON.parse(data.toString('utf8'));
      if (Array.isArray(msg)) return void ws.send(JSON.stringify([...msg].reverse().map((m: { id: unknown; method: string }) => ({ jsonrpc: '2.0', id: m.id, result: m.method }))));
      answer(
        msg,
        () => ws.terminate(),
        (s) => ws.send(s),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => {
  closeRpcSocket(url);
  seen.http = seen.ws = seen.connections = 0;
  load.waiting = load.mostWaiting = load.slowAnswered = 0;
});
afterAll(() => {
  for (const ws of sockets) ws.terminate();
  wss.close();
  server.closeAllConnections();
  server.close();
});

test('a registered URL goes over one reused WebSocket; an unregistered one stays on HTTP', async () => {
  assert.equal(await rpcCall(url, 'eth_a'), 'eth_a');
  assert.deepEqual(seen, { http: 1, ws: 0, connections: 0 });
  useRpcSocket(url);
  for (let i = 0; i < 5; i++) assert.equal(await rpcCall(url, 'eth_b', [`x${i}`]), `x${i}`);
  assert.deepEqual(seen, { http: 1, ws: 5, connections: 1 });
  // viem's transport writes the URL with a root path.
  const res = await jsonRpcFetch(`${url}/`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 41, method: 'eth_c' }) });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('Content-Type'), 'application/json');
  assert.deepEqual(JSON.parse(await res.text()), { jsonrpc: '2.0', id: 41, result: 'eth_c' });
  assert.equal(seen.ws, 6);
  closeRpcSocket(url);
  assert.equal(await rpcCall(url, 'eth_d'), 'eth_d');
  assert.equal(seen.http, 2, 'closed: back to HTTP');
});

test("answers keep the caller's ids; a batch answered out of order is matched by id; errors keep their code", async () => {
  useRpcSocket(url);
  const raw = JSON.parse((await postJsonRpc(url, { jsonrpc: '2.0', id: 'mine', method: 'eth_x' })).text);
  assert.deepEqual(raw, { jsonrpc: '2.0', id: 'mine', result: 'eth_x' });
  const out = await rpcBatch(url, [
    { method: 'eth_one', params: [] },
    { method: 'eth_two', params: [] },
  ]);
  assert.deepEqual(
    out.map((o) => (o.ok ? o.value : o.error.message)),
    ['eth_one', 'eth_two'],
  );
  await assert.rejects(rpcCall(url, 'fail'), (e: Error & { code?: number }) => e.name === 'JsonRpcError' && e.code === -32601);
  assert.equal(seen.http, 0);
});

test('concurrent calls each get a connection (one request per connection), reused afterwards', async () => {
  useRpcSocket(url);
  const answers = await Promise.all([rpcCall(url, 'wait', ['a']), rpcCall(url, 'wait', ['b']), rpcCall(url, 'wait', ['c'])]);
  assert.deepEqual(answers, ['a', 'b', 'c']);
  assert.equal(load.mostWaiting, 3, 'the three waited side by side');
  assert.equal(seen.connections, 3);
  await Promise.all([rpcCall(url, 'eth_x'), rpcCall(url, 'eth_y')]);
  assert.equal(seen.connections, 3, 'idle connections are reused');
});

test('a timeout or an abort fails the call and drops its connection; the next call works', async () => {
  useRpcSocket(url);
  await assert.rejects(postJsonRpc(url, { jsonrpc: '2.0', id: 1, method: 'slow' }, 150), (e: Error) => e.name === 'TimeoutError');
  await assert.rejects(jsonRpcFetch(url, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'slow' }), signal: AbortSignal.timeout(100) }), (e: Error) =>
    /abort|timeout/i.test(`${e.name} ${e.message}`),
  );
  assert.equal(load.slowAnswered, 0, 'both failed before the node answered');
  assert.equal(await rpcCall(url, 'eth_after'), 'eth_after');
  // Neither late answer reached anyone: the dropped connections were closed, a new one answered.
  assert.equal(seen.connections, 3);
});

test('a node that closes the connection fails the call like a reset socket; the next call connects again', async () => {
  useRpcSocket(url);
  assert.equal(await rpcCall(url, 'eth_x'), 'eth_x');
  await assert.rejects(rpcCall(url, 'hangup'), (e: Error & { code?: string }) => e.code === 'ECONNRESET');
  assert.equal(await rpcCall(url, 'eth_y'), 'eth_y');
  assert.equal(seen.connections, 2);
});

test('a node that is not there fails with the connection error, as HTTP does', async () => {
  const probe = http.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const gone = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise((r) => probe.close(r));
  useRpcSocket(gone);
  try {
    await assert.rejects(rpcCall(gone, 'eth_x'), (e: Error & { code?: string }) => e.code === 'ECONNREFUSED');
  } finally {
    closeRpcSocket(gone);
  }
});

test('a node that takes the connection but never answers the upgrade: the call fails at its time limit, or at its abort', async () => {
  const silent = net.createServer(() => undefined); // accepts, reads nothing, answers nothing
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const mute = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  useRpcSocket(mute);
  try {
    // Nothing ever answers here: only the call's own limit or abort can end it.
    await assert.rejects(postJsonRpc(mute, { jsonrpc: '2.0', id: 1, method: 'eth_x' }, 200), (e: Error) => e.name === 'TimeoutError' && /in 200 ms/.test(e.message));
    await assert.rejects(jsonRpcFetch(mute, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'eth_x' }), signal: AbortSignal.timeout(150) }), (e: Error) =>
      /abort|timeout/i.test(`${e.name} ${e.message}`),
    );
  } finally {
    closeRpcSocket(mute);
    silent.close();
  }
  // A hang guard, not a speed check: a call that ignored its 200 ms limit would never end here.
}, 60_000);

test('a request over 8 MiB goes over HTTP', async () => {
  useRpcSocket(url);
  assert.equal((await rpcCall<string>(url, 'eth_big', ['x'.repeat(9 << 20)])).length, 9 << 20);
  assert.equal(seen.http, 1);
  assert.equal(seen.ws, 0);
});

test('startChain talks to its anvil over sockets; after stop() calls fail as for a stopped node', async () => {
  const chain = await startChain({ profile: 'base' });
  try {
    const { publicClient } = createChainClients(chain);
    const [n, id] = await Promise.all([publicClient.getBlockNumber(), rpcCall<string>(chain.rpcUrl, 'eth_chainId')]);
    assert.ok(n >= 0n);
    assert.equal(Number(id), chain.chainId);
    const out = await rpcBatch(chain.rpcUrl, [
      { method: 'eth_blockNumber', params: [] },
      { method: 'eth_gasPrice', params: [] },
    ]);
    assert.ok(out.every((o) => o.ok));
  } finally {
    await chain.stop();
  }
  await assert.rejects(rpcCall(chain.rpcUrl, 'eth_blockNumber'), (e: Error & { code?: string }) => e.code === 'ECONNREFUSED');
});
