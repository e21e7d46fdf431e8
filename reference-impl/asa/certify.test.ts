/**
 * `amh certify --protocol asa` against the reference parts started as their own processes
 * (reference-impl/asa/serve.ts: the Lightning simulation, the relay, the provider agent) and
 * described only by the target file the provider writes: the healthy deployment (with `--restartable`:
 * a restart control in the file, so ASA-RST-01 runs) passes (exit 0);
 * a provider with a deliberately broken macaroon check makes certify exit 1 naming ASA-L402-04.
 * nostr-tools' SimplePool publishes to and reads from the separate relay process.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { SimplePool, useWebSocketImplementation } from 'nostr-tools/pool';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { test } from 'vitest';
import WebSocket from 'ws';
import { capabilityTags, KIND } from './protocol/events.ts';
import { asaServeLab } from './serve-lab.ts';

useWebSocketImplementation(WebSocket);

const lab = asaServeLab();
const { certify, reportOf } = lab;

test('nostr-tools SimplePool publishes to and reads from the relay process', async () => {
  const pool = new SimplePool();
  try {
    const sk = generateSecretKey();
    const e = finalizeEvent(
      {
        kind: KIND.capability,
        tags: capabilityTags({ d: 'pool-test', s: ['pool-category'], prices: [{ amount: '21', currency: 'sats', frequency: 'per-request' }] }),
        content: 'via SimplePool',
        created_at: Math.floor(Date.now() / 1000),
      },
      sk,
    );
    await Promise.all(pool.publish([lab.relay.line.url], e));
    const got = await pool.querySync([lab.relay.line.url], { kinds: [KIND.capability], '#s': ['pool-category'], authors: [getPublicKey(sk)] });
    assert.deepEqual(
      got.map((x) => x.id),
      [e.id],
    );
  } finally {
    pool.destroy();
  }
});

test('the reference relay and provider in their own processes pass certify through the target file alone (the crash requirement through its restart command)', { timeout: 900_000 }, async () => {
  const p = await lab.provider('healthy', ['--db', path.join(lab.dir, 'provider.sqlite'), '--restartable']);
  const targetFile = p.targetFile;
  try {
    const out = path.join(lab.dir, 'healthy');
    const r = await certify(targetFile, out, ['--runs', '3']);
    assert.equal(r.code, 0, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.deepEqual(
      reportOf(out)
        .requirements.filter((q) => q.status !== 'pass')
        .map((q) => `${q.id}: ${q.status} ${q.reason ?? ''}`),
      [],
    );
  } finally {
    await p.stop();
  }
});

test('a provider that does not verify macaroon signatures makes certify exit 1 naming ASA-L402-04', { timeout: 300_000 }, async () => {
  const p = await lab.provider('broken', ['--fault', 'skipSignature', '--challenge', 'token']);
  const targetFile = p.targetFile;
  try {
    const out = path.join(lab.dir, 'broken');
    const r = await certify(targetFile, out, ['--runs', '3', '--grep', 'l402-forged-macaroon|l402-paid']);
    assert.equal(r.code, 1, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /FAIL ASA-L402-04\b/);
    assert.equal(reportOf(out).requirements.find((q) => q.id === 'ASA-L402-02')?.status, 'pass', 'the token= challenge generation is read and paid');
  } finally {
    await p.stop();
  }
});
