/**
 * Ed25519 (RFC 8032) over canonical strings, base64 signatures (spec §7.3.1), and the verifiers
 * that know which canonical generation they check. A verifier is given the signer's **pinned** key
 * (spec §2.2): the `public_key` a document carries is a claim, never the identity it is checked
 * against.
 */
import { createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519';
import { announceCanonical, bomCanonical, carriedV2Fields, manifestCanonical, manifestCanonicalLegacy3, receiptCanonicalLegacy5, receiptCanonicalV1, receiptCanonicalV2 } from './canonical.ts';
import { parsePyJson, PyFloat, type PyValue, pyTruthy } from './pyjson.ts';

/** v2 fields whose presence makes a receipt rejection-bearing (it then MUST be signed at v2). */
const REJECTION_FIELDS = ['type', 'reason', 'verify_score', 'delivery_reasons', 'refunded', 'plugin', 'category'];

type Doc = { [k: string]: PyValue };

/** The published test key (test-vectors/README.md; RFC 8032 test 1). Never for production. */
export const TEST_KEY = {
  seedHex: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  publicB64: '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=',
} as const;

const hexToBytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/^0x/, ''), 'hex'));
export const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
export const unb64 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'base64'));

/** An Ed25519 signer from a 32-byte seed (hex). */
export interface Signer {
  publicB64: string;
  sign(canonical: string): string;
}

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * An Ed25519 signer from a 32-byte seed (hex). Signs with node:crypto (OpenSSL, native: a hub signs
 * every receipt); the public key is derived with @noble/curves, and vectors.test.ts checks both
 * libraries agree byte for byte (Ed25519 signatures are deterministic).
 */
export function signerFromSeed(seedHex: string): Signer {
  const seed = hexToBytes(seedHex);
  if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
  return {
    publicB64: b64(ed25519.getPublicKey(seed)),
    sign: (canonical) => cryptoSign(null, Buffer.from(canonical, 'utf8'), key).toString('base64'),
  };
}

/** The same signature computed by @noble/curves (pure JS), for cross-checks. */
export const nobleSign = (seedHex: string, canonical: string): string => b64(ed25519.sign(new TextEncoder().encode(canonical), hexToBytes(seedHex)));

/** A strict base64 check (standard alphabet, padded) before decoding. */
const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Verify a base64 signature over `canonical` with a base64 public key; malformed input is `false`. */
export function verifyEd25519(publicB64: string, canonical: string, sigB64: string): boolean {
  if (typeof publicB64 !== 'string' || typeof sigB64 !== 'string' || !B64.test(publicB64) || !B64.test(sigB64)) return false;
  const pub = unb64(publicB64);
  const sig = unb64(sigB64);
  if (pub.length !== 32 || sig.length !== 64) return false;
  try {
    // node:crypto (OpenSSL) for speed; @noble/curves agrees on every vector (vectors.test.ts).
    return cryptoVerify(null, Buffer.from(canonical, 'utf8'), createPublicKey({ key: Buffer.concat([SPKI_ED25519, pub]), format: 'der', type: 'spki' }), sig);
  } catch {
    return false;
  }
}

/** The same check with @noble/curves (RFC 8032 strict, no ZIP-215), for cross-checks. */
export function nobleVerify(publicB64: string, canonical: string, sigB64: string): boolean {
  try {
    return ed25519.verify(unb64(sigB64), new TextEncoder().encode(canonical), unb64(publicB64), { zip215: false });
  } catch {
    return false;
  }
}

/** A verdict that names the canonical generation it checked. */
export interface Verdict {
  ok: boolean;
  /** The canonical the signature verifies under ('none' when no known one does). */
  generation: string;
  reason: string;
  /** Receipt only: signed version (from `signature.version`, default 1). */
  version?: number;
  /** Receipt only: v2 fields present but outside the signature. */
  unsigned?: string[];
}

function sigOf(d: Doc): { value: string; version: PyValue; algorithm: PyValue; public_key: PyValue } | undefined {
  const s = d.signature;
  if (!s || typeof s !== 'object' || Array.isArray(s) || s instanceof PyFloat) return undefined;
  const o = s as Doc;
  if (typeof o.value !== 'string') return undefined;
  return { value: o.value, version: o.version ?? 1, algorithm: o.algorithm ?? null, public_key: o.public_key ?? null };
}

const asDoc = (d: Doc | string): Doc => {
  const v = typeof d === 'string' ? parsePyJson(d) : d;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
  return v as Doc;
};

function prelude(doc: Doc): { sig: NonNullable<ReturnType<typeof sigOf>> } | Verdict {
  const sig = sigOf(doc);
  if (!sig) return { ok: false, generation: 'none', reason: 'no signature object with a value' };
  if (sig.algorithm !== 'ed25519') return { ok: false, generation: 'none', reason: `signature.algorithm is ${JSON.stringify(sig.algorithm)}, not "ed25519"` };
  return { sig };
}

/**
 * Verify a manifest against the pinned key: the five-field canonical (§7.3.2) passes; a signature
 * over the superseded three-field canonical is named and refused.
 */
export function verifyManifest(input: Doc | string, pinnedB64: string): Verdict {
  const doc = asDoc(input);
  const p = prelude(doc);
  if ('ok' in p) return p;
  if (verifyEd25519(pinnedB64, manifestCanonical(doc), p.sig.value)) return { ok: true, generation: 'manifest-5field', reason: 'five-field canonical (§7.3.2)' };
  if (verifyEd25519(pinnedB64, manifestCanonicalLegacy3(doc), p.sig.value))
    return { ok: false, generation: 'manifest-legacy-3field', reason: 'signed over the superseded three-field canonical: tools[] and by_hub are outside the signature' };
  return { ok: false, generation: 'none', reason: wrongSigner(doc, pinnedB64, p.sig.public_key) ?? 'signature does not verify under the five-field canonical' };
}

function wrongSigner(_doc: Doc, pinned: string, carried: PyValue): string | undefined {
  return typeof carried === 'string' && carried !== pinned ? `signed for key ${carried}, not the pinned ${pinned}` : undefined;
}

/**
 * Verify a receipt against the pinned key. The signed version comes from `signature.version`
 * (default 1); the required version from the content (§7.3.4): a rejection-bearing receipt (success
 * false, or a type/reason/refunded/verify_score/... field) signed at v1 is not `ok`; any other v1
 * receipt is, with the v2 fields it carries listed in `unsigned`. A signature over the superseded
 * five-field canonical is named and refused.
 */
export function verifyReceipt(input: Doc | string, pinnedB64: string): Verdict {
  const doc = asDoc(input);
  const p = prelude(doc);
  if ('ok' in p) return p;
  const version = p.sig.version;
  if (version === 2) {
    const ok = verifyEd25519(pinnedB64, receiptCanonicalV2(doc), p.sig.value);
    return ok
      ? { ok: true, generation: 'receipt-v2', version: 2, unsigned: [], reason: 'v2 canonical with the fields digest (§7.3.4)' }
      : { ok: false, generation: 'none', version: 2, reason: wrongSigner(doc, pinnedB64, p.sig.public_key) ?? 'signature does not verify under the v2 canonical' };
  }
  if (version !== 1) return { ok: false, generation: 'none', reason: `unknown signature.version ${JSON.stringify(version)}` };
  const carried = carriedV2Fields(doc);
  if (verifyEd25519(pinnedB64, receiptCanonicalV1(doc), p.sig.value)) {
    // §7.3.4: the required version comes from the content. A rejection-bearing receipt MUST be v2;
    // any other may be v1, with the v2 fields it carries (e.g. channel_id) reported as unsigned.
    const rejection = REJECTION_FIELDS.some((k) => carried.includes(k)) || !pyTruthy(doc.success ?? null);
    if (!rejection)
      return { ok: true, generation: 'receipt-v1-7field', version: 1, unsigned: carried, reason: `seven-field v1 canonical (§7.3.3)${carried.length ? `; unsigned: ${carried.join(', ')}` : ''}` };
    return {
      ok: false,
      generation: 'receipt-v1-7field',
      version: 1,
      unsigned: carried,
      reason: `a rejection-bearing receipt signed at v1: ${carried.join(', ') || 'its rejection'} unsigned (§7.3.4 requires v2)`,
    };
  }
  if (verifyEd25519(pinnedB64, receiptCanonicalLegacy5(doc), p.sig.value))
    return {
      ok: false,
      generation: 'receipt-legacy-5field',
      version: 1,
      unsigned: ['success', 'latency_ms', ...carried],
      reason: 'signed over the superseded five-field canonical: success and latency_ms are unsigned',
    };
  return { ok: false, generation: 'none', version: 1, reason: wrongSigner(doc, pinnedB64, p.sig.public_key) ?? 'signature does not verify under the seven-field canonical' };
}

/** Verify a federation announcement (§7.3.5) against the pinned key. */
export function verifyAnnounce(input: Doc | string, pinnedB64: string): Verdict {
  const doc = asDoc(input);
  const sigField = doc.signature;
  // §2.3 shows `signature` as a bare string; the vector carries the object form: both are read.
  const value = typeof sigField === 'string' ? sigField : sigOf(doc)?.value;
  if (typeof value !== 'string') return { ok: false, generation: 'none', reason: 'no signature' };
  return verifyEd25519(pinnedB64, announceCanonical(doc), value)
    ? { ok: true, generation: 'announce-3field', reason: 'three-field canonical (§7.3.5)' }
    : { ok: false, generation: 'none', reason: 'signature does not verify under the announce canonical' };
}

/** Verify a signed bill of materials (our canonical, profile.md AIM-PROF-07). */
export function verifyBom(input: Doc | string, pinnedB64: string): Verdict {
  const doc = asDoc(input);
  const p = prelude(doc);
  if ('ok' in p) return p;
  return verifyEd25519(pinnedB64, bomCanonical(doc), p.sig.value)
    ? { ok: true, generation: 'bom-v1', reason: 'bill of materials canonical (profile AIM-PROF-07)' }
    : { ok: false, generation: 'none', reason: 'signature does not verify under the BOM canonical' };
}

/**
 * Whether a document verifies under **any** generation a lenient verifier might accept (current or
 * superseded canonicals, any receipt version): what an adversary can walk through such a verifier.
 * A tampered document must fail this too, or the target's signatures leave the tampered field
 * unsigned under some reading.
 */
export function verifiesUnderAnyGeneration(input: Doc | string, pinnedB64: string, kind: 'manifest' | 'receipt'): boolean {
  const doc = asDoc(input);
  const s = sigOf(doc);
  if (!s) return false;
  const canonicals = kind === 'manifest' ? [manifestCanonical(doc), manifestCanonicalLegacy3(doc)] : [receiptCanonicalV2(doc), receiptCanonicalV1(doc), receiptCanonicalLegacy5(doc)];
  return canonicals.some((c) => verifyEd25519(pinnedB64, c, s.value));
}
