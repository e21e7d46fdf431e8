/**
 * The canonical strings AI Market signs (spec §7.3, normative; profile.md for the bill of materials
 * and the legacy generations). Every builder takes the document as Python reads it
 * ({@link PyValue}: see pyjson.ts), because the strings interpolate Python's `str()` of each value.
 */
import { createHash } from 'node:crypto';
import { dumpsPy, type PyValue, pyStr, pyTruthy } from './pyjson.ts';

type Doc = { [k: string]: PyValue };

/** sha256 hex of a UTF-8 string. */
export const sha256Hex = (s: string | Uint8Array): string => createHash('sha256').update(s).digest('hex');

/** `sha256(json.dumps(v, sort_keys=True, ensure_ascii=False))`: default separators (manifest digests). */
export const digestDefault = (v: PyValue | undefined): string => sha256Hex(dumpsPy(v));
/** The same with compact separators (receipt v2 field digest, provider binding). */
export const digestCompact = (v: PyValue | undefined): string => sha256Hex(dumpsPy(v, { compact: true }));

const get = (d: Doc, k: string, dflt: PyValue): PyValue => (Object.hasOwn(d, k) ? d[k]! : dflt);

/** §7.3.2 manifest, five fields (current). An absent `by_hub` hashes as `{}`. */
export function manifestCanonical(m: Doc): string {
  return [
    `capabilities_count:${pyStr(get(m, 'capabilities_count', 0))}`,
    `generated_at:${pyStr(get(m, 'generated_at', ''))}`,
    `protocol_version:${pyStr(get(m, 'protocol_version', 'v1'))}`,
    `tools_hash:${digestDefault(get(m, 'tools', []))}`,
    `by_hub_hash:${digestDefault(get(m, 'by_hub', {}))}`,
  ].join('|');
}

/** The superseded three-field manifest canonical (v1 doc until 2026-08-28): recognised only to be named and refused. */
export function manifestCanonicalLegacy3(m: Doc): string {
  return manifestCanonical(m).split('|').slice(0, 3).join('|');
}

/** §7.3.3 receipt v1, seven fields (current). */
export function receiptCanonicalV1(r: Doc): string {
  return [
    `nonce:${pyStr(get(r, 'nonce', ''))}`,
    `product_id:${pyStr(get(r, 'product_id', ''))}`,
    `capability_id:${pyStr(get(r, 'capability_id', ''))}`,
    `price_usd:${pyStr(get(r, 'price_usd', 0))}`,
    `timestamp:${pyStr(get(r, 'timestamp', ''))}`,
    `success:${pyTruthy(get(r, 'success', null)) ? 1 : 0}`,
    `latency_ms:${pyStr(get(r, 'latency_ms', 0))}`,
  ].join('|');
}

/** The superseded five-field receipt canonical (vectors before 2026-07-29): `success` and `latency_ms` unsigned. */
export function receiptCanonicalLegacy5(r: Doc): string {
  return receiptCanonicalV1(r).split('|').slice(0, 5).join('|');
}

/** The nine keys the receipt v2 `fields:` digest binds (absent → null). */
export const RECEIPT_V2_FIELDS = ['type', 'channel_id', 'category', 'plugin', 'reason', 'verify_score', 'delivery_reasons', 'trace_id', 'refunded'] as const;

/** §7.3.4 fields digest: compact, sorted keys, absent keys bound as null. */
export function receiptV2FieldsDigest(r: Doc): string {
  return digestCompact(Object.fromEntries(RECEIPT_V2_FIELDS.map((k) => [k, get(r, k, null)])));
}

/** §7.3.4 receipt v2 canonical: `{v1}|v:2|fields:{digest}`. */
export function receiptCanonicalV2(r: Doc): string {
  return `${receiptCanonicalV1(r)}|v:2|fields:${receiptV2FieldsDigest(r)}`;
}

/** The v2 fields a receipt carries (present and not null): what a v1 signature leaves unsigned. */
export function carriedV2Fields(r: Doc): string[] {
  return RECEIPT_V2_FIELDS.filter((k) => Object.hasOwn(r, k) && r[k] !== null);
}

/** §7.3.5 federation announce, three fields. */
export function announceCanonical(a: Doc): string {
  return [`hub_url:${pyStr(get(a, 'hub_url', ''))}`, `well_known_url:${pyStr(get(a, 'well_known_url', ''))}`, `capabilities_count:${pyStr(get(a, 'capabilities_count', 0))}`].join('|');
}

/**
 * §7.1 provider response binding: the compact, sorted, unescaped JSON of
 * `{capability_id, product_id, input_sha256, result}`, where `input_sha256` is the sha256 of the
 * input's compact canonical JSON.
 */
export function providerBinding(productId: string, capabilityId: string, input: PyValue, result: PyValue): string {
  return dumpsPy({ capability_id: capabilityId, product_id: productId, input_sha256: digestCompact(input), result }, { compact: true });
}

/**
 * The bill of materials canonical (not specified by the protocol; chosen here, profile.md AIM-PROF-07):
 * `trace_id:{trace_id}|total_usd:{total_usd}|steps_hash:{sha256 compact sorted JSON of steps}`.
 */
export function bomCanonical(b: Doc): string {
  return [`trace_id:${pyStr(get(b, 'trace_id', ''))}`, `total_usd:${pyStr(get(b, 'total_usd', 0))}`, `steps_hash:${digestCompact(get(b, 'steps', []))}`].join('|');
}
