/**
 * Verdict bundles: a certification a third party can check instead of trusting a badge.
 *
 * A bundle is `{payload, hash, signature}`. The payload holds the report.json, the target file with
 * its secrets redacted, the harness version, seed, runs, selection, and the profile and spec revision
 * when there are any (neither exists yet: both are null). `hash` is the SHA-256 of the payload in
 * RFC 8785 canonical JSON (JCS, the `canonicalize` package), so whitespace and key order do not
 * matter but every value does; `signature` is an Ed25519 signature (@noble/curves) of those 32 hash
 * bytes, with the signer's public key. `amh verify` recomputes both; `amh replay BUNDLE` re-runs the
 * certification and compares the verdicts; `amh badge` draws an SVG from a verified bundle.
 */
import { REDACTED, redactSecrets } from '../util/secrets.ts';

export { REDACTED, redactSecrets };
import { createHash, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519';
import canonicalize from 'canonicalize';
import { z } from 'zod';
import type { Evidence } from '../engine/evidence.ts';
import { asReport } from './write.ts';
import type { ProfileInfo, Report } from './types.ts';

export const BUNDLE_KIND = 'agentmarket-harness verdict bundle';
export const BUNDLE_VERSION = 1;

/** A problem with a bundle or key file (exit 2 in the CLI). */
export class BundleError extends Error {
  override name = 'BundleError';
}

export interface BundlePayload {
  kind: typeof BUNDLE_KIND;
  version: typeof BUNDLE_VERSION;
  createdAt: string;
  harness: { name: string; version: string };
  command: string;
  seed: number;
  runs: number;
  protocols: string[];
  grep?: string;
  /** What-if protocol profile the run used (name, hash, the constants that differ from the defaults); null: the defaults. */
  profile: ProfileInfo | null;
  /** Spec revision certified per protocol (null: no protocol of the report declares revisions). */
  specRevision: Record<string, string> | null;
  verdict: { exitCode: 0 | 1 | 2; summary: Report['summary'] };
  /** The target: the reference implementation, or the target file with its secrets redacted. */
  target: { kind: 'reference' } | { kind: 'file'; file: string; redacted: unknown; redactions: string[] };
  report: Report;
}

export interface Bundle {
  payload: BundlePayload;
  hash: { algorithm: 'sha-256'; canonicalization: 'RFC 8785'; value: string };
  signature: { algorithm: 'Ed25519'; publicKey: string; value: string };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

/** The report as bundled: request headers that carry credentials are redacted in the evidence. */
function redactReport(r: Report): Report {
  const ev = (e: Evidence): Evidence => (e.kind === 'http' ? { ...e, requestHeaders: redactSecrets(e.requestHeaders).redacted as Record<string, string> } : e);
  return { ...r, protocols: r.protocols.map((p) => ({ ...p, requirements: p.requirements.map((q) => ({ ...q, evidence: q.evidence.map(ev) })) })) };
}

/** SHA-256 of the RFC 8785 canonical JSON of a value, hex. */
export function canonicalHash(v: unknown): string {
  const text = canonicalize(v);
  if (text === undefined) throw new BundleError('cannot canonicalize the payload');
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Read an Ed25519 private key: 32 bytes as hex (the format `amh keygen` writes, `0x` allowed), a
 * PKCS#8 PEM (`openssl genpkey -algorithm ed25519`), or JSON `{"privateKey": "<hex>"}`.
 */
export async function loadSigningKey(file: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (e) {
    throw new BundleError(`cannot read key ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file (create one with amh keygen -o FILE)' : (e as Error).message}`);
  }
  if (text.includes('-----BEGIN')) {
    try {
      const jwk = createPrivateKey(text).export({ format: 'jwk' });
      if (jwk.crv !== 'Ed25519' || !jwk.d) throw new Error(`a ${jwk.crv ?? jwk.kty} key, not Ed25519`);
      return new Uint8Array(Buffer.from(jwk.d, 'base64url'));
    } catch (e) {
      throw new BundleError(`key ${file}: not an Ed25519 private key (${(e as Error).message})`);
    }
  }
  let h = text;
  if (text.startsWith('{')) {
    try {
      h = String(JSON.parse(text).privateKey ?? '');
    } catch {
      throw new BundleError(`key ${file}: not JSON`);
    }
  }
  h = h.replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{64}$/.test(h)) throw new BundleError(`key ${file}: expected an Ed25519 private key as 64 hex characters, a PKCS#8 PEM, or {"privateKey": "<hex>"}`);
  return unhex(h);
}

/** A fresh Ed25519 key pair (hex). */
export function generateKey(): { privateKey: string; publicKey: string } {
  const sk = ed25519.utils.randomPrivateKey();
  return { privateKey: hex(sk), publicKey: hex(ed25519.getPublicKey(sk)) };
}

export const publicKeyOf = (sk: Uint8Array) => hex(ed25519.getPublicKey(sk));

/** Build the payload of a bundle from a report and (for a file target) the target file's JSON. */
export function bundlePayload(report: Report, target: { file: string; json: unknown } | undefined, now = new Date()): BundlePayload {
  if (report.target.kind === 'file' && !target) throw new BundleError(`the report certifies a target file (${report.target.source ?? 'path not recorded'}); give it with --target FILE`);
  if (report.shard) throw new BundleError(`the report is shard ${report.shard.index}/${report.shard.total}; bundle the merged report (amh report --merge)`);
  const t = target ? { kind: 'file' as const, file: path.basename(target.file), ...redactSecrets(target.json) } : { kind: 'reference' as const };
  return {
    kind: BUNDLE_KIND,
    version: BUNDLE_VERSION,
    createdAt: now.toISOString(),
    harness: report.harness,
    command: report.command,
    seed: report.seed,
    runs: report.runs,
    protocols: report.protocols.map((p) => p.id),
    ...(report.grep ? { grep: report.grep } : {}),
    profile: report.profile ?? null,
    specRevision: report.protocols.some((p) => p.revision) ? Object.fromEntries(report.protocols.filter((p) => p.revision).map((p) => [p.id, p.revision!.id])) : null,
    verdict: { exitCode: report.exitCode, summary: report.summary },
    target: t,
    report: redactReport(report),
  };
}

/** Hash and sign a payload. */
export function signBundle(payload: BundlePayload, secretKey: Uint8Array): Bundle {
  const value = canonicalHash(payload);
  const sig = ed25519.sign(unhex(value), secretKey);
  return { payload, hash: { algorithm: 'sha-256', canonicalization: 'RFC 8785', value }, signature: { algorithm: 'Ed25519', publicKey: publicKeyOf(secretKey), value: hex(sig) } };
}

const BundleShape = z.object({
  payload: z.object({ kind: z.literal(BUNDLE_KIND), version: z.literal(BUNDLE_VERSION), report: z.unknown(), target: z.object({ kind: z.enum(['reference', 'file']) }).passthrough() }).passthrough(),
  hash: z.object({ algorithm: z.literal('sha-256'), canonicalization: z.literal('RFC 8785'), value: z.string().regex(/^[0-9a-f]{64}$/) }).strict(),
  signature: z.object({ algorithm: z.literal('Ed25519'), publicKey: z.string().regex(/^[0-9a-f]{64}$/), value: z.string().regex(/^[0-9a-f]{128}$/) }).strict(),
});

/** Parse a bundle file (structure only; {@link verifyBundle} checks hash and signature). */
export async function readBundle(file: string): Promise<Bundle> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new BundleError(`cannot read bundle ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return parseBundle(data, file);
}

export function parseBundle(data: unknown, file = 'bundle'): Bundle {
  const r = BundleShape.safeParse(data);
  if (!r.success)
    throw new BundleError(
      `${file} is not a verdict bundle (written by amh bundle):\n${r.error.issues
        .slice(0, 8)
        .map((i) => `  - ${i.path.join('.') || '(top level)'}: ${i.message}`)
        .join('\n')}`,
    );
  asReport(r.data.payload.report, `${file} (payload.report)`);
  return data as Bundle;
}

/** True when the value looks like a bundle rather than a report. */
export const isBundle = (v: unknown): boolean => Boolean(v && typeof v === 'object' && 'payload' in v && 'signature' in v);

export interface Verification {
  ok: boolean;
  problems: string[];
  hash: string;
  publicKey: string;
}

/**
 * Check a bundle: the payload's canonical hash equals `hash.value`, the signature verifies against
 * the embedded public key, and (when `trusted` is given) that key is the expected signer's.
 */
export function verifyBundle(b: Bundle, trusted?: string): Verification {
  const problems: string[] = [];
  const actual = canonicalHash(b.payload);
  if (actual !== b.hash.value) problems.push(`hash mismatch: the payload hashes to ${actual}, the bundle says ${b.hash.value} (the payload was changed after signing)`);
  let sigOk = false;
  try {
    sigOk = ed25519.verify(unhex(b.signature.value), unhex(b.hash.value), unhex(b.signature.publicKey));
  } catch {
    sigOk = false;
  }
  if (!sigOk) problems.push(`bad signature: the Ed25519 signature does not verify for public key ${b.signature.publicKey}`);
  if (trusted && trusted.toLowerCase().replace(/^0x/, '') !== b.signature.publicKey) problems.push(`untrusted signer: signed by ${b.signature.publicKey}, expected ${trusted}`);
  const p = b.payload;
  if (p.verdict.exitCode !== p.report.exitCode) problems.push(`inconsistent payload: verdict exit code ${p.verdict.exitCode} but the report's is ${p.report.exitCode}`);
  return { ok: problems.length === 0, problems, hash: actual, publicKey: b.signature.publicKey };
}
