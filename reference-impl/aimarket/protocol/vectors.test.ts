/**
 * Every published AI Market test vector (alexar76/aimarket-protocol test-vectors/, positive and
 * negative, and the SDKs' cross-SDK EIP-712 vector), checked byte for byte through the pack's own
 * canonical strings, Python-json digests and Ed25519 verifier. Files: ./vectors (README there).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { keccak256, toHex } from 'viem';
import { describe, expect, it } from 'vitest';
import { announceCanonical, digestDefault, manifestCanonical, receiptCanonicalV1, receiptCanonicalV2, receiptV2FieldsDigest } from './canonical.ts';
import { DEBIT_TYPEHASH, debitDigest } from './eip712.ts';
import { parsePyJson, type PyValue } from './pyjson.ts';
import { signerFromSeed, TEST_KEY, verifyAnnounce, verifyManifest, verifyReceipt } from './sign.ts';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'vectors');
const text = (f: string) => readFileSync(path.join(DIR, f), 'utf8');
const doc = (f: string) => parsePyJson(text(f)) as { [k: string]: PyValue };
const PIN = TEST_KEY.publicB64;

describe('the test key', () => {
  it('derives the published public key from the published seed', () => {
    expect(signerFromSeed(TEST_KEY.seedHex).publicB64).toBe(PIN);
  });
});

describe('positive vectors', () => {
  it('manifest (five-field): the negatives’ signature verifies over the untampered five-field manifest, canonical as the README prints it', () => {
    // The five-field positive file the README quotes is not stored; the tampered-price negative is that
    // file with one price changed, so undoing the change must give a verifying five-field manifest.
    const m = parsePyJson(text('negative/manifest-tampered-price.json').replace('"price_per_call_usd": 0.0001', '"price_per_call_usd": 0.4')) as { [k: string]: PyValue };
    expect(manifestCanonical(m)).toBe(
      'capabilities_count:5|generated_at:2026-08-28T09:00:50Z|protocol_version:v1|tools_hash:7fbf86cde4c3a1d265ce4d893a5626584b2a34cedbf3630c4f2a8d6d9a468fcb|by_hub_hash:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
    );
    expect(verifyManifest(m, PIN)).toMatchObject({ ok: true, generation: 'manifest-5field' });
  });
  it('by_hub absent hashes as {} = sha256("{}")', () => {
    expect(digestDefault({})).toBe('44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  });
  it.each(['manifest-signed@3b055cc.json', 'manifest-signed@824999d.json'])('%s (stored generation) verifies only under the legacy three-field canonical, and is named and refused', (f) => {
    expect(verifyManifest(text(f), PIN)).toMatchObject({ ok: false, generation: 'manifest-legacy-3field' });
  });
  it('receipt v1 (seven fields)', () => {
    const r = doc('receipt-signed@47e80b8.json');
    expect(receiptCanonicalV1(r)).toBe('nonce:rcpt_test001|product_id:prod-001|capability_id:translate.multi@v2|price_usd:0.4|timestamp:2026-08-28T09:00:50Z|success:1|latency_ms:8100');
    expect(verifyReceipt(r, PIN)).toMatchObject({ ok: true, generation: 'receipt-v1-7field', version: 1, unsigned: [] });
  });
  it('receipt of the older generation (five fields) is named legacy and refused', () => {
    expect(verifyReceipt(text('receipt-signed@3b055cc.json'), PIN)).toMatchObject({ ok: false, generation: 'receipt-legacy-5field' });
  });
  it('receipt v2: fields digest (compact, sorted, null for absent) and price_usd:0.0 (Python float text)', () => {
    const r = doc('receipt-v2-signed@47e80b8.json');
    expect(receiptV2FieldsDigest(r)).toBe('62e8135ac924809d58b3b8d8e8e0ff9b3bdaaabca378881003524c36408a61aa');
    expect(receiptCanonicalV2(r)).toBe(
      'nonce:rcpt_test002|product_id:prod-001|capability_id:translate.multi@v2|price_usd:0.0|timestamp:2026-08-28T09:00:50Z|success:0|latency_ms:0|v:2|fields:62e8135ac924809d58b3b8d8e8e0ff9b3bdaaabca378881003524c36408a61aa',
    );
    expect(verifyReceipt(r, PIN)).toMatchObject({ ok: true, generation: 'receipt-v2', version: 2 });
  });
  it('receipt v2 read the JavaScript way (0.0 → 0) does not verify: the parity is what makes it pass', () => {
    const js = JSON.parse(text('receipt-v2-signed@47e80b8.json')) as { [k: string]: PyValue };
    expect(verifyReceipt(js, PIN).ok).toBe(false);
  });
  it('federation announce (three fields)', () => {
    const a = doc('federation-announce-signed@47e80b8.json');
    expect(announceCanonical(a)).toBe('hub_url:https://test-hub.example.com|well_known_url:https://test-hub.example.com/.well-known/ai-market.json|capabilities_count:5');
    expect(verifyAnnounce(a, PIN)).toMatchObject({ ok: true, generation: 'announce-3field' });
  });
});

describe('negative vectors: every one is refused, for its reason', () => {
  it.each([
    ['manifest-tampered-price.json', 'none'],
    ['manifest-tampered-by-hub.json', 'none'],
    ['manifest-legacy-3field-canonical.json', 'manifest-legacy-3field'],
  ])('%s', (f, generation) => {
    expect(verifyManifest(text(`negative/${f}`), PIN)).toMatchObject({ ok: false, generation });
  });
  it.each(['receipt-flipped-success.json', 'receipt-stale-timestamp.json', 'receipt-tampered-latency.json'])('%s', (f) => {
    expect(verifyReceipt(text(`negative/${f}`), PIN)).toMatchObject({ ok: false, generation: 'none' });
  });
  it('receipt-wrong-signer.json: verifies under the key it carries, refused under the pinned key', () => {
    const r = doc('negative/receipt-wrong-signer.json');
    const carried = (r.signature as { public_key: string }).public_key;
    expect(verifyReceipt(r, carried).ok).toBe(true);
    const v = verifyReceipt(r, PIN);
    expect(v.ok).toBe(false);
    expect(v.reason).toContain('not the pinned');
  });
  it('receipt-v2-downgraded-to-v1.json: the v1 signature covers its seven fields, the v2 fields are named unsigned, not ok', () => {
    const v = verifyReceipt(text('negative/receipt-v2-downgraded-to-v1.json'), PIN);
    expect(v).toMatchObject({ ok: false, generation: 'receipt-v1-7field', version: 1 });
    expect(v.unsigned?.sort()).toEqual(['channel_id', 'delivery_reasons', 'reason', 'refunded', 'trace_id', 'type', 'verify_score']);
  });
  it('announce-tampered-hub-url.json', () => {
    expect(verifyAnnounce(text('negative/announce-tampered-hub-url.json'), PIN)).toMatchObject({ ok: false });
  });
});

describe('EIP-712 DebitAuthorization', () => {
  it('typehash of the canonical literal', () => {
    expect(DEBIT_TYPEHASH).toBe(keccak256(toHex(JSON.parse(text('debit-authorization@345e038.json')).typehash)));
  });
  it('the SDKs’ cross-SDK digest vector (chain 31337, escrow 0x5FbDB…0aa3)', () => {
    const v = JSON.parse(text('sdks-debit_authorization@019112c.json'));
    const p = v.params;
    const d = debitDigest(p.chainId, p.verifyingContract, {
      channelId: p.channelId,
      hub: p.hub,
      token: p.token,
      amount: BigInt(p.amount),
      receiptId: p.receiptId,
      nonce: BigInt(p.nonce),
      deadline: BigInt(p.deadline),
    });
    expect(d).toBe(v.expectedDigest);
  });
});

describe('required version from content (§7.3.4)', () => {
  it('a successful v1 receipt carrying channel_id verifies, channel_id reported unsigned', async () => {
    const { signerFromSeed: s } = await import('./sign.ts');
    const { receiptCanonicalV1: c } = await import('./canonical.ts');
    const signer = s(TEST_KEY.seedHex);
    const r = { nonce: 'n', product_id: 'p', capability_id: 'c@v1', price_usd: 0.01, timestamp: 't', success: true, latency_ms: 1, channel_id: 'ch_1' };
    const doc = { ...r, signature: { algorithm: 'ed25519', value: signer.sign(c(r)) } };
    expect(verifyReceipt(doc, PIN)).toMatchObject({ ok: true, unsigned: ['channel_id'] });
    const failed = { ...r, success: false };
    expect(verifyReceipt({ ...failed, signature: { algorithm: 'ed25519', value: signer.sign(c(failed)) } }, PIN).ok).toBe(false);
  });
});

describe('two Ed25519 implementations agree (node:crypto signs and verifies; @noble/curves cross-checks)', () => {
  it('on every positive vector and on fresh signatures', async () => {
    const { nobleSign, nobleVerify, signerFromSeed: s } = await import('./sign.ts');
    const { receiptCanonicalV1: c1, receiptCanonicalV2: c2, announceCanonical: ca } = await import('./canonical.ts');
    const r = doc('receipt-signed@47e80b8.json');
    expect(nobleVerify(PIN, c1(r), (r.signature as { value: string }).value)).toBe(true);
    const r2 = doc('receipt-v2-signed@47e80b8.json');
    expect(nobleVerify(PIN, c2(r2), (r2.signature as { value: string }).value)).toBe(true);
    const a = doc('federation-announce-signed@47e80b8.json');
    expect(nobleVerify(PIN, ca(a), (a.signature as { value: string }).value)).toBe(true);
    for (const msg of ['', 'x', 'nonce:a|b', 'ü✓😀']) expect(s(TEST_KEY.seedHex).sign(msg)).toBe(nobleSign(TEST_KEY.seedHex, msg));
    // the README's signature of the receipt canonical is reproduced byte for byte from the seed
    expect(s(TEST_KEY.seedHex).sign(c1(r))).toBe((r.signature as { value: string }).value);
  });
});
