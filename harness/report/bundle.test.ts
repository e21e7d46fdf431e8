/**
 * Verdict bundles (pure): secrets of a target file are redacted (and nothing else), a signed bundle
 * verifies, and changing one byte of the verdict, the report, the signature or the signer makes
 * verification fail; key files in hex, JSON and PKCS#8 PEM; the badge says what the bundle says.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'vitest';
import { badgeContent, renderBadge } from './badge.ts';
import { BundleError, bundlePayload, canonicalHash, generateKey, loadSigningKey, parseBundle, publicKeyOf, REDACTED, redactSecrets, signBundle, verifyBundle, type Bundle } from './bundle.ts';
import type { Report } from './types.ts';

const KEY = '4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318';
const sk = new Uint8Array(Buffer.from(KEY, 'hex'));

const targetJson = {
  name: 'acme',
  chains: [
    {
      id: 'base',
      chainId: 8453,
      rpcUrl: 'https://user:hunter2@rpc.example/v1',
      tokens: { usdc: { address: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913', name: 'USD Coin', version: '2', decimals: 6 } },
    },
  ],
  accounts: [
    { role: 'buyer1', kind: 'evm', address: '0x0000000000000000000000000000000000000001', privateKey: `0x${'ab'.repeat(32)}` },
    { role: 'provider', kind: 'ed25519', privateKey: 'cd'.repeat(32), publicKey: 'ef'.repeat(32) },
  ],
  endpoints: { 'x402-resource': { url: 'http://127.0.0.1:4021/paid', method: 'POST', headers: { Authorization: 'Bearer sk-live-123', 'content-type': 'application/json', 'X-API-Key': 'k-456' } } },
  capabilities: ['snapshot'],
  config: {
    aisp: { veniceApiKey: 'vk-789', api_key: 'zz', secretToken: 's', mnemonic: 'test test test', note: 'keep', adminKeys: { provider: `vn-admin-${'1f'.repeat(16)}` } },
    x402: { note: `issued ak_${'2e'.repeat(16)} to the buyer` },
  },
};

const report = (exitCode: 0 | 1 = 1): Report => ({
  schemaVersion: '1.3.0',
  harness: { name: 'agentmarket-harness', version: '0.1.0' },
  command: 'certify',
  target: { name: 'acme', kind: 'file', source: '/tmp/acme.json', capabilities: ['snapshot'], chains: [] },
  seed: 7,
  runs: 3,
  startedAt: '2026-12-01T12:00:00.000Z',
  durationMs: 1000,
  exitCode,
  summary: { pass: 12, fail: exitCode, warn: 0, notApplicable: 0, error: 0, indeterminate: 0, uncovered: 0, checks: 40 },
  errors: [],
  protocols: [
    {
      id: 'usdc',
      title: 'USDC',
      requirements: [
        {
          id: 'USDC-3009-02',
          level: 'MUST',
          title: 'expired refused',
          source: { document: 'd', section: 's' },
          text: 't',
          profileAssumption: false,
          status: exitCode ? 'fail' : 'pass',
          checks: { passed: 3, failed: exitCode },
          scenarios: ['usdc/3009-expired'],
          evidence: [
            {
              kind: 'http',
              method: 'POST',
              url: 'http://127.0.0.1:4021/paid',
              status: 402,
              requestHeaders: { authorization: 'Bearer sk-live-123', accept: '*/*' },
              responseHeaders: {},
              durationMs: 3,
            },
          ],
        },
      ],
      scenarios: [],
    },
  ],
});

test('redaction: private keys, API keys, secrets, mnemonics, credential headers and URL passwords; nothing else', () => {
  const { redacted, redactions } = redactSecrets(targetJson);
  const r = redacted as typeof targetJson;
  assert.equal(r.accounts[0]!.privateKey, REDACTED);
  assert.equal(r.accounts[1]!.privateKey, REDACTED);
  assert.equal(r.accounts[1]!.publicKey, 'ef'.repeat(32), 'public keys stay');
  assert.equal(r.accounts[0]!.address, '0x0000000000000000000000000000000000000001');
  assert.equal(r.endpoints['x402-resource'].headers.Authorization, REDACTED);
  assert.equal(r.endpoints['x402-resource'].headers['X-API-Key'], REDACTED);
  assert.equal(r.endpoints['x402-resource'].headers['content-type'], 'application/json');
  assert.equal(r.chains[0]!.rpcUrl, `https://${REDACTED}@rpc.example/v1`);
  assert.equal(r.chains[0]!.tokens.usdc.name, 'USD Coin', '"tokens" (contract addresses) are not secrets');
  assert.deepEqual(r.config.aisp, { veniceApiKey: REDACTED, api_key: REDACTED, secretToken: REDACTED, mnemonic: REDACTED, note: 'keep', adminKeys: REDACTED });
  assert.equal(r.config.x402.note, `issued ${REDACTED} to the buyer`, 'an issued key is recognised by its shape under any name');
  const text = JSON.stringify(redacted);
  for (const secret of ['ab'.repeat(32), 'cd'.repeat(32), 'sk-live-123', 'k-456', 'hunter2', 'vk-789', 'test test test', 'vn-admin-', 'ak_']) assert.ok(!text.includes(secret), `${secret} leaked`);
  assert.equal(redactions.length, 11, redactions.join(', '));
});

test('sign and verify; one changed byte of the verdict, the report, the hash or the signature, or another signer → invalid', () => {
  const payload = bundlePayload(report(), { file: '/tmp/acme.json', json: targetJson }, new Date('2026-12-01T13:00:00Z'));
  assert.equal(payload.target.kind, 'file');
  assert.ok(!JSON.stringify(payload).includes('sk-live-123'), 'credential headers in the evidence are redacted too');
  assert.equal(payload.profile, null);
  // A run with a what-if profile: the bundle carries it, and changing it breaks the signature.
  const profile = { name: 'limit 2', hash: 'a'.repeat(64), constants: { agentripe: { reviewLimit: '2' } } };
  const withProfile = signBundle(bundlePayload({ ...report(), schemaVersion: '1.3.0', profile }, { file: '/tmp/acme.json', json: targetJson }), sk);
  assert.deepEqual(withProfile.payload.profile, profile);
  assert.equal(verifyBundle(withProfile, withProfile.signature.publicKey).ok, true);
  const otherProfile = { ...withProfile, payload: { ...withProfile.payload, profile: { ...profile, constants: { agentripe: { reviewLimit: '3' } } } } };
  assert.equal(verifyBundle(otherProfile, withProfile.signature.publicKey).ok, false);
  const b = signBundle(payload, sk);
  assert.equal(b.signature.publicKey, publicKeyOf(sk));
  const ok = verifyBundle(b, b.signature.publicKey);
  assert.deepEqual(ok.problems, []);
  assert.equal(ok.ok, true);
  // Whitespace and key order do not matter (canonical JSON): a re-serialised bundle still verifies.
  const reordered = JSON.parse(JSON.stringify({ signature: b.signature, hash: b.hash, payload: Object.fromEntries(Object.entries(b.payload).reverse()) }, null, 4));
  assert.equal(verifyBundle(parseBundle(reordered)).ok, true);

  const text = JSON.stringify(b);
  // One byte: the report's exit code 1 → 0.
  const i = text.indexOf('"exitCode":1', text.indexOf('"report"'));
  assert.ok(i > 0);
  const tampered = parseBundle(JSON.parse(`${text.slice(0, i)}"exitCode":0${text.slice(i + 12)}`));
  const v = verifyBundle(tampered);
  assert.equal(v.ok, false);
  assert.match(v.problems.join('\n'), /hash mismatch: the payload hashes to [0-9a-f]{64}, the bundle says [0-9a-f]{64} \(the payload was changed after signing\)/);
  // One byte of a requirement's status.
  const t2: Bundle = structuredClone(b);
  t2.payload.report.protocols[0]!.requirements[0]!.status = 'pass';
  assert.equal(verifyBundle(t2).ok, false);
  // A re-computed hash without the key: the signature fails.
  const t3: Bundle = structuredClone(t2);
  t3.hash.value = canonicalHash(t3.payload);
  assert.match(verifyBundle(t3).problems.join('\n'), /^bad signature/);
  // A flipped signature byte.
  const t4: Bundle = structuredClone(b);
  t4.signature.value = (t4.signature.value[0] === '0' ? '1' : '0') + t4.signature.value.slice(1);
  assert.match(verifyBundle(t4).problems.join('\n'), /bad signature/);
  // Re-signed by someone else: valid, but not the expected signer.
  const other = signBundle(payload, new Uint8Array(Buffer.from(generateKey().privateKey, 'hex')));
  assert.equal(verifyBundle(other).ok, true);
  assert.match(verifyBundle(other, b.signature.publicKey).problems.join('\n'), /untrusted signer: signed by [0-9a-f]{64}, expected [0-9a-f]{64}/);
});

test('bundle input errors: a file-target report without the target file, a shard report, not a bundle', () => {
  assert.throws(
    () => bundlePayload(report(), undefined),
    (e: Error) => e instanceof BundleError && /give it with --target FILE/.test(e.message),
  );
  assert.throws(() => bundlePayload({ ...report(), shard: { index: 1, total: 2, cases: [], protocols: [] } }, { file: 'x', json: {} }), /bundle the merged report/);
  assert.throws(() => parseBundle({ hello: 1 }, 'x.json'), /x\.json is not a verdict bundle \(written by amh bundle\)/);
  const ref = bundlePayload({ ...report(0), target: { name: 'ref', kind: 'reference', capabilities: [], chains: [] } }, undefined);
  assert.deepEqual(ref.target, { kind: 'reference' });
});

test('key files: hex (with or without 0x), JSON, PKCS#8 PEM give the same key; bad ones are refused clearly', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'amh-key-'));
  const w = async (name: string, text: string) => {
    const f = path.join(dir, name);
    await writeFile(f, text);
    return f;
  };
  const pub = publicKeyOf(sk);
  assert.equal(publicKeyOf(await loadSigningKey(await w('k.hex', `${KEY}\n`))), pub);
  assert.equal(publicKeyOf(await loadSigningKey(await w('k0x.hex', `0x${KEY}`))), pub);
  assert.equal(publicKeyOf(await loadSigningKey(await w('k.json', JSON.stringify({ privateKey: KEY })))), pub);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const rawPub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
  assert.equal(publicKeyOf(await loadSigningKey(await w('k.pem', pem))), rawPub, 'a PEM from openssl/node gives its own public key');
  await assert.rejects(loadSigningKey(path.join(dir, 'none')), /cannot read key .*none: no such file \(create one with amh keygen -o FILE\)/);
  await assert.rejects(loadSigningKey(await w('short', 'abcd')), /expected an Ed25519 private key as 64 hex characters/);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  await assert.rejects(loadSigningKey(await w('rsa.pem', rsa)), /not an Ed25519 private key/);
});

test('badge: verdict, counts and date from the bundle; hash and signer embedded', () => {
  const fail = signBundle(bundlePayload(report(1), { file: 'a.json', json: targetJson }), sk);
  assert.deepEqual(badgeContent(fail), { label: 'amh usdc', message: 'fail 1/13 · 2026-12-01', color: 'red' });
  const pass = signBundle(bundlePayload(report(0), { file: 'a.json', json: targetJson }), sk);
  assert.deepEqual(badgeContent(pass), { label: 'amh usdc', message: 'pass 12/12 · 2026-12-01', color: 'brightgreen' });
  const svg = renderBadge(pass);
  assert.match(svg, /^<svg [^>]*>/);
  assert.ok(svg.includes(pass.hash.value) && svg.includes(pass.signature.publicKey));
  assert.match(svg, /amh usdc: pass 12\/12 · 2026-12-01/);
});
