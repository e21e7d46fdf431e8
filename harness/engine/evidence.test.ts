/** Evidence recording: HTTP transcripts over real loopback HTTP, trimming, redaction, JSON safety. */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, onTestFinished } from 'vitest';
import { EvidenceRecorder, MAX_ITEMS, jsonSafe, recordingFetch, trim, type HttpEvidence } from './evidence.ts';
import { progressPrinter } from '../cli/commands/_shared.ts';

test('recordingFetch records method, URL, status, headers and trimmed bodies; secrets are redacted', async (_t) => {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      res.writeHead(402, { 'content-type': 'application/json', 'payment-required': 'abc' });
      res.end(JSON.stringify({ echo: body.length, big: 'x'.repeat(5000) }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/task?id=1`;
  const rec = new EvidenceRecorder();
  const f = recordingFetch(rec, 'buy');
  const res = await f(url, { method: 'POST', headers: { authorization: 'Bearer secret-token', 'x-payment': 'p' }, body: 'hello' });
  assert.equal(res.status, 402);
  assert.equal(JSON.parse(await res.text()).echo, 5, 'the caller still reads the whole body');
  const e = rec.items[0] as HttpEvidence;
  assert.equal(e.kind, 'http');
  assert.equal(e.method, 'POST');
  assert.equal(e.url, url);
  assert.equal(e.status, 402);
  assert.equal(e.requestBody, 'hello');
  assert.match(e.requestHeaders.authorization!, /^\[redacted \d+ chars\]$/);
  assert.equal(e.requestHeaders['x-payment'], 'p');
  assert.equal(e.responseHeaders['payment-required'], 'abc');
  assert.match(e.responseBody!, /… \[\d+ more chars\]$/);
  await assert.rejects(f('http://127.0.0.1:9/unreachable'), /could not be reached \(.*ECONNREFUSED/);
  assert.equal((rec.items[1] as HttpEvidence).status, null);
  assert.ok((rec.items[1] as HttpEvidence).error);
});

test('recordingFetch follows redirects as fetch does (a 307 keeps method and body), unless told not to', async () => {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url === '/old') {
        res.writeHead(307, { location: '/new' });
        return void res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url, method: req.method, body }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const rec = new EvidenceRecorder();
  const f = recordingFetch(rec);
  const res = await f(`${base}/old`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { url: '/new', method: 'POST', body: '{"a":1}' });
  assert.equal((rec.items[0] as HttpEvidence).status, 200);
  const manual = await f(`${base}/old`, { redirect: 'manual' });
  assert.equal(manual.status, 307);
});

test('recorder caps items; jsonSafe turns bigints into strings; trim marks the cut', () => {
  const rec = new EvidenceRecorder();
  for (let i = 0; i < MAX_ITEMS + 5; i++) rec.note(`n${i}`);
  const snap = rec.snapshot();
  assert.equal(snap.length, MAX_ITEMS + 1);
  assert.match(JSON.stringify(snap.at(-1)), /5 more evidence items not kept/);
  assert.deepEqual(jsonSafe({ a: 10n ** 30n, b: [1n] }), { a: '1000000000000000000000000000000', b: ['1'] });
  assert.equal(trim('abcdef', 3), 'abc… [3 more chars]');
});

test('progress: plain lines when not a TTY, an in-place status line on a TTY', () => {
  const capture = (isTTY: boolean) => {
    let out = '';
    const stream = {
      isTTY,
      columns: 80,
      write: (s: string) => {
        out += s;
        return true;
      },
    } as unknown as NodeJS.WriteStream;
    const p = progressPrinter(stream);
    p.onProgress({ type: 'scenario-start', caseId: 'usdc/a', runs: 10, index: 0, total: 2 });
    p.onProgress({ type: 'run', caseId: 'usdc/a', runsDone: 3, failures: 0 });
    p.onProgress({ type: 'scenario-end', caseId: 'usdc/a', status: 'pass', runs: 10, durationMs: 5 });
    p.onProgress({ type: 'scenario-start', caseId: 'usdc/b', runs: 10, index: 1, total: 2 });
    p.onProgress({ type: 'scenario-end', caseId: 'usdc/b', status: 'fail', runs: 12, durationMs: 7 });
    p.done();
    return out;
  };
  const plain = capture(false);
  assert.equal(plain, '[1/2] usdc/a: pass (10 runs, 5 ms)\n[2/2] usdc/b: fail (12 runs, 7 ms)\n');
  const tty = capture(true);
  assert.match(tty, /\r\[0\/2\] usdc\/a {2}runs 3\/10 {2}failures so far: 0/);
  assert.match(tty, /\[2\/2\] usdc\/b: fail \(12 runs, 7 ms\)/);
  assert.ok(!tty.includes('usdc/a: pass (10 runs, 5 ms)\n'), 'passing scenarios are not printed as lines on a TTY');
});
