/** The fault proxy against a real loopback server: forwarding, every action, triggers, records. */
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, test } from 'vitest';
import { Indeterminate } from '../engine/errors.ts';
import { expectFired, isConnectionLoss, rpcErrorAnswer, rpcFaultsOf, startFaultProxy, throughRpcFaults, type FaultProxy } from './index.ts';

/** What the upstream saw: one entry per request it handled to the end. */
interface Seen {
  method: string;
  path: string;
  host: string | undefined;
  payment: string | undefined;
  body: string;
}

let upstream: http.Server;
let upstreamUrl: string;
const seen: Seen[] = [];
/** Resolved each time the upstream finishes a request. */
let onSeen: (() => void) | undefined;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method!, path: req.url!, host: req.headers.host, payment: req.headers['payment-signature'] as string | undefined, body });
      const n = seen.length;
      onSeen?.();
      if (req.url === '/missing') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":"not found"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-served': String(n) });
      res.end(JSON.stringify({ n, echo: body }));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise<void>((r) => upstream.close(() => r()));
});

let proxy: FaultProxy;
afterEach(async () => {
  await proxy?.stop();
  seen.length = 0;
  onSeen = undefined;
});

/** The client's view: status and body, or the error when the connection was lost. */
async function call(url: string, init?: RequestInit): Promise<{ status: number; body: string } | { error: unknown }> {
  try {
    const res = await fetch(url, init);
    return { status: res.status, body: await res.text() };
  } catch (e) {
    return { error: e };
  }
}

const nextSeen = () => new Promise<void>((r) => (onSeen = r));
const paid = { method: 'POST', headers: { 'payment-signature': 'abc', 'content-type': 'application/json' }, body: '{"q":1}' };

describe('fault proxy', () => {
  test('forwards method, path, query, headers and body with Host rewritten; passes status, headers and body back', async () => {
    proxy = await startFaultProxy(upstreamUrl);
    const r = await call(`${proxy.url}/thing?x=1`, paid);
    assert.ok('status' in r);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { n: 1, echo: '{"q":1}' });
    assert.deepEqual(seen, [{ method: 'POST', path: '/thing?x=1', host: new URL(upstreamUrl).host, payment: 'abc', body: '{"q":1}' }]);
    assert.equal(proxy.deliveries, 1);
    assert.equal(proxy.through(`${upstreamUrl}/a/b?c=d`), `${proxy.url}/a/b?c=d`);
    const missing = await call(`${proxy.url}/missing`);
    assert.ok('status' in missing && missing.status === 404);
  });

  test('drop-request: the server never sees it, the client gets no answer; the next request passes', async () => {
    proxy = await startFaultProxy(upstreamUrl);
    const f = proxy.arm({ name: 'paid request lost', when: { header: 'payment-signature' }, action: { kind: 'drop-request' } });
    const lost = await call(`${proxy.url}/thing`, paid);
    assert.ok('error' in lost && isConnectionLoss(lost.error), `expected a lost connection, got ${JSON.stringify(lost)}`);
    assert.equal(seen.length, 0);
    assert.equal(f.fired, true);
    assert.deepEqual(f.hits[0], { method: 'POST', path: '/thing', upstream: [], errors: [] });
    const retry = await call(`${proxy.url}/thing`, paid);
    assert.ok('status' in retry && retry.status === 200);
    assert.equal(seen.length, 1);
    assert.equal(f.hits.length, 1);
  });

  test('reset: the connection is reset at once (ECONNRESET), the server never sees the request', async () => {
    proxy = await startFaultProxy(upstreamUrl);
    const f = proxy.arm({ name: 'reset', action: { kind: 'reset' } });
    const r = await call(`${proxy.url}/thing`);
    assert.ok('error' in r);
    assert.equal((r.error as { cause?: { code?: string } }).cause?.code, 'ECONNRESET');
    assert.equal(seen.length, 0);
    assert.equal(f.fired, true);
  });

  test('drop-response: the server processed the request, the client sees a lost connection, the hit keeps the answer', async () => {
    proxy = await startFaultProxy(upstreamUrl);
    const f = proxy.arm({ name: 'answer lost after processing', when: { method: 'POST', path: '/thing', status: 200 }, action: { kind: 'drop-response', how: 'reset' } });
    const r = await call(`${proxy.url}/thing`, paid);
    assert.ok('error' in r && isConnectionLoss(r.error));
    assert.equal(seen.length, 1, 'the server handled the request exactly once (the client did not retry behind our back)');
    assert.equal(f.hits.length, 1);
    assert.equal(f.hits[0]!.upstream[0]!.status, 200);
    assert.deepEqual(JSON.parse(f.hits[0]!.upstream[0]!.body.toString()), { n: 1, echo: '{"q":1}' });
    const again = await call(`${proxy.url}/thing`, paid);
    assert.ok('status' in again && again.status === 200);
  });

  test('triggers: a request that does not match (method, path, header, status) passes and the fault does not fire', async () => {
    proxy = await startFaultProxy(upstreamUrl);
    const byHeader = proxy.arm({ name: 'h', when: { header: ['x-payment', 'payment-signature'] }, action: { kind: 'drop-request' } });
    const byStatus = proxy.arm({ name: 's', when: { status: (s) => s >= 500 }, action: { kind: 'drop-response' } });
    const byPath = proxy.arm({ name: 'p', when: { path: /^\/other/, method: 'DELETE' }, action: { kind: 'reset' } });
    for (const path of ['/thing', '/missing', '/other']) {
      const r = await call(`${proxy.url}${path}`);
      assert.ok('status' in r, `${path} passes`);
    }
    assert.deepEqual([byHeader.fired, byStatus.fired, byPath.fired], [false, false, false]);
    assert.throws(
      () => expectFired(byHeader, 'REQ-1'),
      (e: unknown) => e instanceof Indeterminate && e.requirement === 'REQ-1' && /fault 'h' never fired/.test(e.message),
    );
    const r = await call(`${proxy.url}/thing`, { headers: { 'X-Payment': 'x' } });
    assert.ok('error' in r);
    expectFired(byHeader, 'REQ-1');
  });

  test('duplicate (concurrent): the server sees the request twice, the client gets the first answer, both are recorded', async () => {
    proxy = await startFaultProxy(upstreamUrl);
    const f = proxy.arm({ name: 'delivered twice', when: { header: 'payment-signature' }, action: { kind: 'duplicate' } });
    const r = await call(`${proxy.url}/thing`, paid);
    assert.ok('status' in r && r.status === 200);
    assert.equal(seen.length, 2);
    assert.deepEqual(
      seen.map((s) => s.body),
      ['{"q":1}', '{"q":1}'],
    );
    assert.equal(f.hits[0]!.upstream.length, 2);
    assert.equal(r.body, f.hits[0]!.upstream[0]!.body.toString());
    assert.equal(proxy.deliveries, 2);
  });

  test('duplicate (sequential, on a status): the second delivery follows the first answer', async () => {
    proxy = await startFaultProxy(upstreamUrl);
    const f = proxy.arm({ name: 'resent after a 200', when: { status: 200 }, action: { kind: 'duplicate', mode: 'sequential' } });
    const miss = await call(`${proxy.url}/missing`);
    assert.ok('status' in miss && miss.status === 404);
    assert.equal(f.fired, false);
    const r = await call(`${proxy.url}/thing`, paid);
    assert.ok('status' in r);
    assert.equal(JSON.parse(r.body).n, 2);
    assert.deepEqual(
      f.hits[0]!.upstream.map((a) => JSON.parse(a.body.toString()).n),
      [2, 3],
    );
  });

  test('delay (hold): the request waits in the proxy until released; a client that gave up leaves a late original the server still gets', async () => {
    proxy = await startFaultProxy(upstreamUrl);
    const f = proxy.arm({ name: 'original held', when: { header: 'payment-signature' }, action: { kind: 'delay', hold: true } });
    const abort = new AbortController();
    const first = call(`${proxy.url}/thing`, { ...paid, signal: abort.signal });
    await f.whenFired();
    assert.equal(seen.length, 0, 'held: not delivered yet');
    abort.abort();
    assert.ok('error' in (await first));
    const retry = await call(`${proxy.url}/thing`, paid);
    assert.ok('status' in retry && JSON.parse(retry.body).n === 1, 'the retry overtakes the held original');
    const late = nextSeen();
    f.release();
    await late;
    await f.settled();
    assert.equal(seen.length, 2);
    assert.equal(f.hits[0]!.upstream[0]!.status, 200);
  });

  test('delay (answer held, and by time): the client gets the answer once released', async () => {
    proxy = await startFaultProxy(upstreamUrl);
    const f = proxy.arm({ name: 'answer held', when: { status: 200 }, action: { kind: 'delay', phase: 'response', hold: true } });
    const processed = nextSeen();
    const pending = call(`${proxy.url}/thing`, paid);
    await processed;
    await f.whenFired();
    f.release();
    const r = await pending;
    assert.ok('status' in r && r.status === 200);
    const timed = proxy.arm({ name: 'short delay', action: { kind: 'delay', ms: 5 } });
    const r2 = await call(`${proxy.url}/thing`);
    assert.ok('status' in r2 && r2.status === 200);
    assert.equal(timed.fired, true);
  });

  test('discard: the held answer is dropped; an answer the fault did not act on, and one after the gate opened, pass', async () => {
    proxy = await startFaultProxy(upstreamUrl);
    const f = proxy.arm({ name: 'answer held then discarded', when: { status: 200 }, action: { kind: 'delay', phase: 'response', hold: true }, times: 3 });
    const held = call(`${proxy.url}/held`);
    await f.whenFired();
    const notActedOn = await call(`${proxy.url}/missing`);
    assert.ok('status' in notActedOn && notActedOn.status === 404, 'a 404 the trigger does not match is answered while an answer is held');
    f.discard();
    const r = await held;
    assert.ok('error' in r, 'the held answer is dropped: the client sees a lost connection');
    const later = await call(`${proxy.url}/later`);
    assert.ok('status' in later && later.status === 200, 'an answer after discard passes at once');
    const after404 = await call(`${proxy.url}/missing`);
    assert.ok('status' in after404 && after404.status === 404);
  });

  test('times and disarm', async () => {
    proxy = await startFaultProxy(upstreamUrl);
    const f = proxy.arm({ name: 'twice', action: { kind: 'drop-request' }, times: 2 });
    assert.ok('error' in (await call(`${proxy.url}/a`)));
    f.disarm();
    assert.ok('status' in (await call(`${proxy.url}/a`)));
    assert.equal(f.hits.length, 1);
  });

  test('respond: the client gets the substitute; without forward the server never sees the request', async () => {
    proxy = await startFaultProxy(upstreamUrl);
    const f = proxy.arm({ name: 'no such method', when: { method: 'POST' }, action: { kind: 'respond', answer: rpcErrorAnswer({ code: -32601, message: 'the method x does not exist' }) } });
    const one = await call(`${proxy.url}/rpc`, { method: 'POST', body: '{"jsonrpc":"2.0","id":7,"method":"x","params":[]}' });
    assert.ok('status' in one);
    assert.equal(one.status, 200);
    assert.deepEqual(JSON.parse(one.body), { jsonrpc: '2.0', id: 7, error: { code: -32601, message: 'the method x does not exist' } });
    assert.equal(seen.length, 0, 'the upstream never saw it');
    assert.deepEqual(f.hits[0]!.upstream, []);
    const batch = proxy.arm({ name: 'batch', action: { kind: 'respond', answer: rpcErrorAnswer({ code: -32004, message: 'm' }) } });
    const b = await call(`${proxy.url}/rpc`, { method: 'POST', body: '[{"id":0,"method":"a"},{"id":1,"method":"b"}]' });
    assert.ok('status' in b);
    assert.deepEqual(
      JSON.parse(b.body).map((x: { id: number }) => x.id),
      [0, 1],
    );
    assert.ok(batch.fired);
    assert.ok('status' in (await call(`${proxy.url}/rpc`, { method: 'POST', body: '{}' })));
    assert.equal(seen.length, 1, 'times 1: the next request passes');
  });

  test('respond (forward, on a status): the server acts on the request, the client gets the substitute built from its answer', async () => {
    proxy = await startFaultProxy(upstreamUrl);
    const f = proxy.arm({
      name: 'took it, answered an error',
      when: { status: 200 },
      action: { kind: 'respond', forward: true, answer: (_req, up) => ({ status: 504, body: `was ${up!.status}` }) },
    });
    const missing = await call(`${proxy.url}/missing`);
    assert.ok('status' in missing && missing.status === 404, 'a 404 does not match the status trigger and passes');
    assert.equal(f.fired, false);
    const r = await call(`${proxy.url}/a`, paid);
    assert.ok('status' in r);
    assert.deepEqual([r.status, r.body], [504, 'was 200']);
    assert.equal(seen.length, 2, 'the upstream saw both');
    assert.equal(f.hits[0]!.upstream[0]!.status, 200);
  });

  test('bad fault specs are refused with the reason', async () => {
    proxy = await startFaultProxy(upstreamUrl);
    assert.throws(() => proxy.arm({ name: 'x', when: { status: 200 }, action: { kind: 'drop-request' } }), /trigger on the upstream status needs an action taken after the answer/);
    assert.throws(() => proxy.arm({ name: 'x', action: { kind: 'delay' } }), /needs ms or hold/);
    assert.throws(() => proxy.arm({ name: 'x', action: { kind: 'reset' }, times: 0 }), /times must be a positive integer/);
    await assert.rejects(startFaultProxy('https://example.com'), /must be an http:\/\/ URL/);
  });

  test('an upstream that does not answer gives the client a 502 naming it', async () => {
    const closed = await startFaultProxy(upstreamUrl);
    const port = new URL(closed.url).port;
    await closed.stop();
    proxy = await startFaultProxy(`http://127.0.0.1:${port}`);
    const r = await call(`${proxy.url}/x`);
    assert.ok('status' in r && r.status === 502 && r.body.includes('fault proxy: upstream'));
  });
});

test('a kept-alive upstream connection closed as a request is sent on it: the request goes again on a new connection, once', async () => {
  // An upstream that answers the first request of each connection and hangs up when a second one
  // arrives on it: what an idle keep-alive timeout does when it races the next request.
  const requests: string[] = [];
  const racing = net.createServer((socket) => {
    let n = 0;
    socket.on('data', (chunk: Buffer) => {
      if (n++ > 0) {
        socket.destroy();
        return;
      }
      requests.push(chunk.toString('latin1').split('\r\n')[0]!);
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
    });
  });
  await new Promise<void>((r) => racing.listen(0, '127.0.0.1', r));
  const p = await startFaultProxy(`http://127.0.0.1:${(racing.address() as AddressInfo).port}`);
  try {
    for (const path of ['/a', '/b', '/c']) {
      const r = await call(`${p.url}${path}`);
      assert.deepEqual(r, { status: 200, body: 'ok' }, `${path} answered through a fresh connection`);
    }
    assert.deepEqual(requests, ['GET /a HTTP/1.1', 'GET /b HTTP/1.1', 'GET /c HTTP/1.1']);
    assert.equal(p.deliveries, 3);
  } finally {
    await p.stop();
    await new Promise<void>((r) => racing.close(() => r()));
  }
});

test('throughRpcFaults: the server gets the shared RPC proxy; the proxy goes when the last server using it stops, or at once when a start fails', async () => {
  const started: string[] = [];
  const server = (url: string) => {
    started.push(url);
    return Promise.resolve({ url, async stop() {} });
  };
  const a = await throughRpcFaults(upstreamUrl, server);
  const b = await throughRpcFaults(upstreamUrl, server);
  assert.equal(a.url, b.url, 'one proxy per chain, shared');
  assert.notEqual(a.url, upstreamUrl);
  const viaProxy = await call(`${a.url}/x`);
  assert.ok('status' in viaProxy && viaProxy.status === 200, 'it forwards to the chain');
  assert.ok(await rpcFaultsOf(upstreamUrl));
  await a.stop();
  assert.ok(await rpcFaultsOf(upstreamUrl), 'still used by the other server');
  await b.stop();
  await assert.rejects(rpcFaultsOf(upstreamUrl), /no RPC fault proxy/);
  await assert.rejects(
    throughRpcFaults(upstreamUrl, () => Promise.reject(new Error('port taken'))),
    /port taken/,
  );
  await assert.rejects(rpcFaultsOf(upstreamUrl), /no RPC fault proxy/, 'a failed start let the proxy go');
  assert.equal(started.length, 2);
});
