/**
 * The shared HTTP plumbing on a real loopback server: JSON errors in either shape, including the
 * refusals node makes below the app; bounded bodies for every method; zod errors naming the field.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { z } from 'zod';
import { codedErrors, errorHandler, flatErrors, HttpError, jsonBody, listen, notFoundHandler, parseWith, readBody, type ErrorShape, type Listening } from './http.ts';

/** Sends raw bytes on a fresh socket; resolves with the status, headers and body of the answer. */
function raw(url: string, request: string): Promise<{ status: number; head: string; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const c = net.connect(Number(u.port), u.hostname);
    let buf = '';
    c.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
    });
    c.on('end', () => {
      const end = buf.indexOf('\r\n\r\n');
      resolve({ status: Number(buf.slice(9, 12)), head: buf.slice(0, end), body: buf.slice(end + 4) });
    });
    c.on('error', reject);
    c.end(request);
  });
}

function app(shape: ErrorShape): Hono {
  const a = new Hono();
  a.onError(errorHandler({ shape }));
  a.notFound(notFoundHandler({ shape }));
  a.on(['GET', 'POST'], '/echo', async (c) => c.json({ got: await jsonBody(c, { limit: 1000 }) }));
  a.post('/text', async (c) => c.text(await readBody(c, 10)));
  a.post('/named', async (c) => c.json(parseWith(z.object({ data: z.object({ name: z.string().min(1) }) }), await jsonBody(c))));
  a.get('/teapot', () => {
    throw new HttpError(418, 'short and stout', { detail: 'tip me over' }, { 'x-kettle': 'on' });
  });
  a.get('/boom', () => {
    throw new Error('secret internals');
  });
  return a;
}

describe.each([
  ['flat', flatErrors, (b: any) => b.error as string],
  ['coded', codedErrors, (b: any) => b.error.message as string],
] as const)('%s errors', (_name, shape, messageOf) => {
  let s: Listening;
  beforeAll(async () => {
    s = await listen(app(shape), { shape, maxHeaderSize: 4096 });
  });
  afterAll(() => s.stop());

  test('an HttpError keeps its status, message, extra fields and headers; other errors are a 500 that leaks nothing', async () => {
    const r = await fetch(`${s.url}/teapot`);
    assert.equal(r.status, 418);
    assert.equal(r.headers.get('x-kettle'), 'on');
    const b = await r.json();
    assert.equal(messageOf(b), 'short and stout');
    assert.equal(b.detail, 'tip me over');
    const boom = await fetch(`${s.url}/boom`);
    assert.equal(boom.status, 500);
    assert.doesNotMatch(JSON.stringify(await boom.json()), /secret/);
  });

  test('unknown routes, bad JSON and a bad field are JSON 4xx; the field is named', async () => {
    const nf = await fetch(`${s.url}/nowhere`);
    assert.equal(nf.status, 404);
    assert.equal(messageOf(await nf.json()), 'Not found');
    const bad = await fetch(`${s.url}/echo`, { method: 'POST', body: '{nope' });
    assert.equal(bad.status, 400);
    assert.match(messageOf(await bad.json()), /not valid JSON/);
    const named = await fetch(`${s.url}/named`, { method: 'POST', body: JSON.stringify({ data: { name: '' } }) });
    assert.equal(named.status, 400);
    assert.match(messageOf(await named.json()), /^Invalid request body: data\.name: /);
  });

  test('bodies of any method are read, GET included, and refused past the limit with Connection: close', async () => {
    const get = await raw(s.url, 'GET /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{"a":1}');
    assert.equal(get.status, 200);
    assert.deepEqual(JSON.parse(get.body), { got: { a: 1 } });
    const empty = await fetch(`${s.url}/echo`);
    assert.deepEqual(await empty.json(), { got: {} });
    for (const method of ['GET', 'POST']) {
      const big = await raw(s.url, `${method} /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n${'x'.repeat(2000)}`);
      assert.equal(big.status, 413, method);
      assert.match(big.head, /\r\nconnection: close/i, method);
      assert.equal(messageOf(JSON.parse(big.body)), 'Request body too large');
    }
    const chunked = await raw(s.url, 'POST /text HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n123456\r\n6\r\n789abc\r\n0\r\n\r\n');
    assert.equal(chunked.status, 413);
  });

  test("node's own refusals are JSON in the same shape: bad request line 400, oversized headers 431, bad Expect 417", async () => {
    const cases: [string, number][] = [
      ['GET /a\\b HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      ['NOPE / HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`, 431],
      ['POST /echo HTTP/1.1\r\nHost: x\r\nExpect: tea\r\nContent-Length: 2\r\n\r\n{}', 417],
    ];
    for (const [req, status] of cases) {
      const r = await raw(s.url, req);
      assert.equal(r.status, status, req.slice(0, 30));
      assert.match(r.head, /content-type: application\/json/i);
      assert.equal(typeof messageOf(JSON.parse(r.body)), 'string');
    }
  });
});

test('stop() closes open connections (idle, or halfway through a request) itself instead of waiting out its bound', async () => {
  const s = await listen(app(codedErrors));
  const idle = net.connect(s.port, '127.0.0.1');
  const midway = net.connect(s.port, '127.0.0.1');
  await Promise.all([idle, midway].map((c) => new Promise((r) => c.once('connect', r))));
  // Node's close() ends idle connections by itself, never one whose request has not ended.
  midway.write('GET /echo HTTP/1.1\r\nHost: x\r\n');
  // One whole exchange after it: by its answer the server has read the half request too.
  assert.equal((await raw(s.url, 'GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status, 404);
  // Destroyed by the server (a reset for the one midway): closed either way.
  for (const c of [idle, midway]) c.on('error', () => {});
  const closed = Promise.all([idle, midway].map((c) => new Promise((r) => c.once('close', r))));
  // A bound far past this test's own time limit: a stop() that waited for the connections to end
  // would fail the test instead of returning (no clock in the assertion).
  await s.stop(3_600_000);
  await closed;
  await assert.rejects(fetch(`${s.url}/echo`));
}, 60_000);

test('listen rejects when the port is taken', async () => {
  const s = await listen(app(codedErrors));
  await assert.rejects(listen(app(codedErrors), { port: s.port }), /EADDRINUSE/);
  await s.stop();
});
