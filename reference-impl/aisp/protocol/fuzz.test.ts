/** The key-leak rule of AISP-ROB-01 and the fuzz test: a key the request did not carry is a leak; one it carried is an echo. */
import assert from 'node:assert/strict';
import { test } from 'vitest';
import type { MalformedRequest } from '../../../harness/robustness/http.ts';
import { leakedSecret } from './fuzz.ts';

const stored = 'vn-scoped-aaaaaaaaaaaaaaaaaaaaaaaa';
const admin = 'vn-admin-bbbbbbbbbbbbbbbbbbbbbbbb';
const req = (o: Partial<MalformedRequest> = {}): MalformedRequest => ({ cls: 't', note: 'n', method: 'POST', path: '/api/balance', headers: {}, expect4xx: true, ...o });

test('an answer revealing a key the request did not carry is a leak', () => {
  assert.equal(leakedSecret(req(), `{"listing":{"apiKey":"${stored}"}}`, [stored, admin]), stored);
  assert.equal(leakedSecret(req({ body: `{"apiKey":"${stored}"}` }), `{"error":"${admin}"}`, [stored, admin]), admin, 'carrying one key excuses only that one');
});

test('echoing what the caller sent, in its path, headers or body, is not a leak; nor is a short secret', () => {
  assert.equal(leakedSecret(req({ body: `{"apiKey":"${stored}"}` }), `{"error":"bad key ${stored}"}`, [stored]), undefined);
  assert.equal(leakedSecret(req({ headers: { authorization: `Bearer ${admin}` } }), `Bearer ${admin}`, [admin]), undefined);
  assert.equal(leakedSecret(req({ path: `/api/x/${stored}` }), `no route /api/x/${stored}`, [stored]), undefined);
  assert.equal(leakedSecret(req({ body: new TextEncoder().encode(stored) }), stored, [stored]), undefined);
  assert.equal(leakedSecret(req(), 'abc', ['abc']), undefined);
  assert.equal(leakedSecret(req(), '{}', [stored]), undefined);
});
