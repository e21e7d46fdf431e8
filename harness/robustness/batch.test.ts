/**
 * The per-answer rule of the robustness requirements (AGR-ROB-01, X402-ROB-01), case by case: each
 * branch that fails a broken server, and each reading a correct server may take.
 */
import assert from 'node:assert/strict';
import { test } from 'vitest';
import { robustnessProblem, unsentSecret } from './batch.ts';
import type { MalformedRequest, RawAnswer } from './http.ts';

const req = (o: Partial<MalformedRequest> = {}): MalformedRequest => ({ cls: 'test', note: 'n', method: 'POST', path: '/tasks', headers: {}, expect4xx: true, ...o });
const answer = (status: number): RawAnswer => ({ status, headers: {}, body: '' });

test('a broken server: a 5xx, a 2xx to a state-changing route, no answer to an ordinary request', () => {
  assert.match(robustnessProblem(req(), answer(500))!, /500 for a malformed request/);
  assert.match(robustnessProblem(req({ expect4xx: false }), answer(502))!, /502/);
  assert.match(robustnessProblem(req(), answer(200))!, /200, not a refusal/);
  assert.match(robustnessProblem(req({ method: 'DELETE' }), answer(204))!, /204, not a refusal/);
  assert.match(robustnessProblem(req({ body: 'x'.repeat(100) }), { closed: 'reset' })!, /no answer \(reset\)/);
  assert.match(robustnessProblem(req({ method: 'GET' }), answer(501))!, /501/, 'GET is implemented by every server: 501 is no excuse');
});

test('every reading a correct server may take passes', () => {
  for (const s of [400, 401, 403, 404, 405, 409, 413, 415, 422, 431]) assert.equal(robustnessProblem(req(), answer(s)), null, String(s));
  assert.equal(robustnessProblem(req({ method: 'FOO' }), answer(501)), null, '501 for an unimplemented method');
  assert.equal(robustnessProblem(req({ method: 'OPTIONS' }), answer(204)), null, 'a CORS preflight acts on nothing');
  assert.equal(robustnessProblem(req({ expect4xx: false, method: 'GET' }), answer(200)), null, 'a read route may answer');
  assert.equal(robustnessProblem(req({ transport: 'huge header' }), { closed: 'closed' }), null, 'a transport-level defect may close the connection');
  assert.equal(robustnessProblem(req({ body: new Uint8Array(64 * 1024 + 1) }), { closed: 'closed' }), null, 'a body over 64 KiB may be cut off');
});

test('unsentSecret: a credential the request did not carry is a leak; an echo of what it sent is not', () => {
  const secret = 'ch_0123456789abcdef';
  assert.equal(unsentSecret(req({ body: '{}' }), `{"channel_id":"${secret}"}`, [secret]), secret);
  assert.equal(unsentSecret(req({ headers: { 'x-payment-channel': secret } }), `{"channel_id":"${secret}"}`, [secret]), undefined, 'echoed from a header');
  assert.equal(unsentSecret(req({ body: `{"channel_id":"${secret}"}` }), `unknown ${secret}`, [secret]), undefined, 'echoed from the body');
  assert.equal(unsentSecret(req({ path: `/ai-market/v2/channel/${secret}` }), secret, [secret]), undefined, 'echoed from the path');
  assert.equal(unsentSecret(req(), 'short', ['short']), undefined, 'values under 8 characters are not judged');
});
