/**
 * L402 macaroons with the `macaroon` package (go-macaroon/js-macaroon, V2 binary). The identifier
 * is aperture's: uint16 BE version 0 ‖ payment_hash (32) ‖ token id (32). Caveats are
 * `condition=value` (split at the first `=`):
 * - `services=<name>:<tier>[,…]` service scope;
 * - `<service>_valid_until=<unix seconds>` expiry (satisfied while now < value);
 * - `<service>_max_requests=<n>` request count (the profile's name, following aperture's
 *   `<capability>_<constraint>` form);
 * unknown caveats are skipped, as the L402 macaroon spec requires. A repeated condition must be at
 * least as restrictive as the one before it, and the last one is the one evaluated.
 */
import { createHash } from 'node:crypto';
import { importMacaroon, type Macaroon, newMacaroon } from 'macaroon';

export interface L402Identifier {
  version: number;
  paymentHash: string;
  tokenId: string;
}

export function encodeIdentifier(id: L402Identifier): Uint8Array {
  const out = new Uint8Array(66);
  out[0] = (id.version >> 8) & 0xff;
  out[1] = id.version & 0xff;
  out.set(Buffer.from(id.paymentHash, 'hex'), 2);
  out.set(Buffer.from(id.tokenId, 'hex'), 34);
  return out;
}

export function decodeIdentifier(b: Uint8Array): L402Identifier | null {
  if (b.length !== 66) return null;
  return { version: (b[0]! << 8) | b[1]!, paymentHash: Buffer.from(b.subarray(2, 34)).toString('hex'), tokenId: Buffer.from(b.subarray(34, 66)).toString('hex') };
}

/**
 * V2 binary serialisation (go-macaroon's field types: EOS 0, location 1, identifier 2, vid 4,
 * signature 6). Written here because `macaroon` 3.0.4's `exportBinary` doubles its buffer on every
 * append (its `_grow` compares with an undefined `_capacity`): a macaroon with four caveats asks for
 * gigabytes. The package still does the HMAC chain, the import and the verification.
 */
export function exportV2(m: Macaroon): Uint8Array {
  const out: number[] = [2];
  const varint = (n: number) => {
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
  };
  const field = (type: number, data?: Uint8Array) => {
    varint(type);
    if (type === 0) return;
    varint(data!.length);
    for (const b of data!) out.push(b);
  };
  const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
  if (m.location) field(1, utf8(m.location));
  field(2, m.identifier);
  field(0);
  for (const c of m.caveats) {
    if (c.location) field(1, utf8(c.location));
    field(2, c.identifier);
    if (c.vid) field(4, c.vid);
    field(0);
  }
  field(0);
  field(6, m.signature);
  return new Uint8Array(out);
}

/** Standard padded base64 (L402 headers), from and to a macaroon. */
export const macaroonToBase64 = (m: Macaroon): string => Buffer.from(exportV2(m)).toString('base64');
export function macaroonFromBase64(s: string): Macaroon {
  return importMacaroon(new Uint8Array(Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64')));
}

export interface MintOptions {
  rootKey: Uint8Array;
  paymentHash: string;
  tokenId: string;
  service: string;
  validUntil?: number;
  maxRequests?: number;
  location?: string;
  extra?: string[];
}

export function mintMacaroon(o: MintOptions): string {
  const m = newMacaroon({ identifier: encodeIdentifier({ version: 0, paymentHash: o.paymentHash, tokenId: o.tokenId }), rootKey: o.rootKey, location: o.location ?? 'asa', version: 2 });
  m.addFirstPartyCaveat(`services=${o.service}:0`);
  if (o.validUntil !== undefined) m.addFirstPartyCaveat(`${o.service}_valid_until=${o.validUntil}`);
  if (o.maxRequests !== undefined) m.addFirstPartyCaveat(`${o.service}_max_requests=${o.maxRequests}`);
  for (const c of o.extra ?? []) m.addFirstPartyCaveat(c);
  return macaroonToBase64(m);
}

/** A holder's attenuation: add a first-party caveat (needs no root key). */
export function attenuate(b64: string, caveat: string): string {
  const m = macaroonFromBase64(b64);
  m.addFirstPartyCaveat(caveat);
  return macaroonToBase64(m);
}

export function caveatsOf(b64: string): string[] {
  return macaroonFromBase64(b64).caveats.map((c) => Buffer.from(c.identifier).toString('utf8'));
}

export function identifierOf(b64: string): L402Identifier | null {
  return decodeIdentifier(macaroonFromBase64(b64).identifier);
}

export interface VerifyContext {
  service: string;
  now: number;
  /** Requests already served with this token (before the one being checked). */
  used: number;
  /** Conditions to treat as unknown (skipped). Only a test fault of the reference server sets it. */
  ignore?: readonly string[];
}

/** Satisfiers: `previous` says whether a repeat is at least as strict; `final` judges the last value. */
interface Satisfier {
  previous(prev: string, next: string): boolean;
  final(value: string, ctx: VerifyContext): string | null;
}

function servicesOf(v: string): Map<string, number> | null {
  const m = new Map<string, number>();
  for (const part of v.split(',')) {
    const mm = /^([A-Za-z0-9._-]+):(\d{1,3})$/.exec(part.trim());
    if (!mm || Number(mm[2]) > 255) return null;
    m.set(mm[1]!, Number(mm[2]));
  }
  return m;
}

function satisfierFor(condition: string, ctx: VerifyContext): Satisfier | null {
  const int = (s: string) => (/^\d+$/.test(s) ? Number(s) : Number.NaN);
  if (condition === 'services')
    return {
      previous: (p, n) => {
        const a = servicesOf(p);
        const b = servicesOf(n);
        return !!a && !!b && [...b.keys()].every((k) => a.has(k));
      },
      final: (v) => {
        const s = servicesOf(v);
        if (!s) return `malformed services caveat ${v}`;
        return s.has(ctx.service) ? null : `service ${ctx.service} is not in ${v}`;
      },
    };
  if (condition === `${ctx.service}_valid_until`)
    return {
      previous: (p, n) => int(n) <= int(p),
      final: (v) => (Number.isFinite(int(v)) && ctx.now < int(v) ? null : `expired (valid until ${v}, now ${ctx.now})`),
    };
  if (condition === `${ctx.service}_max_requests`)
    return {
      previous: (p, n) => int(n) <= int(p),
      final: (v) => (Number.isFinite(int(v)) && ctx.used < int(v) ? null : `request count used up (${ctx.used} of ${v})`),
    };
  return null;
}

/**
 * Verify the HMAC chain with `rootKey` and every caveat against `ctx`. Returns null when the
 * macaroon is good, else the reason.
 */
export function verifyMacaroon(b64: string, rootKey: Uint8Array, ctx: VerifyContext): string | null {
  let m: Macaroon;
  try {
    m = macaroonFromBase64(b64);
  } catch (e) {
    return `not a macaroon: ${(e as Error).message}`;
  }
  const seen = new Map<string, string>();
  let problem: string | null = null;
  try {
    m.verify(rootKey, (cond) => {
      const i = cond.indexOf('=');
      if (i <= 0) return null; // undecodable caveats are skipped (aperture)
      const name = cond.slice(0, i).trim();
      const value = cond.slice(i + 1).trim();
      const s = ctx.ignore?.includes(name) ? null : satisfierFor(name, ctx);
      if (!s) return null; // unknown caveat: skipped
      const prev = seen.get(name);
      if (prev !== undefined && !s.previous(prev, value)) return `${name} is less restrictive than an earlier caveat`;
      seen.set(name, value);
      return null;
    });
  } catch (e) {
    return (e as Error).message;
  }
  for (const [name, value] of seen) {
    problem = satisfierFor(name, ctx)!.final(value, ctx);
    if (problem) return problem;
  }
  return null;
}

export const sha256hex = (b: Uint8Array | string): string =>
  createHash('sha256')
    .update(typeof b === 'string' ? Buffer.from(b, 'hex') : b)
    .digest('hex');
