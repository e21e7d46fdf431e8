/**
 * fast-check building blocks for malformed input, shared by the packs' request generators
 * (reference-impl/<id>/protocol/fuzz.ts): hex strings, header values, JSON values of the wrong
 * type, strings that are not addresses, not signatures, not unsigned integers, and bodies that are
 * not JSON, and requests the HTTP layer refuses before the application. Protocol knowledge (routes,
 * fields, credentials) stays in the packs.
 */
import fc from 'fast-check';
import type { MalformedRequest } from './http.ts';

const HEX = '0123456789abcdef'.split('');
/** Lower-case hex digits, `min` to `max` of them. */
export const hexString = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...HEX), minLength: min, maxLength: max });
/** A 0x-prefixed 32-byte hex string. */
export const hex32 = hexString(64, 64).map((h) => `0x${h}`);

/** Characters node accepts in a header value (tab, printable ASCII, latin-1). */
const headerChar = fc.oneof({ arbitrary: fc.integer({ min: 0x20, max: 0x7e }), weight: 8 }, { arbitrary: fc.integer({ min: 0x80, max: 0xff }), weight: 1 }).map((c) => String.fromCharCode(c));
/** A header value node will send (printable ASCII and latin-1). */
export const headerValue = (maxLength = 200) => fc.string({ unit: headerChar, maxLength });

/** Any JSON value that is not a string. */
export const notString = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 3 }),
);
/** Any JSON value that is not an object (arrays and null included). */
export const notObject = fc.oneof(fc.integer(), fc.string({ maxLength: 20 }), fc.boolean(), fc.constant(null), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }));
/** Any JSON value that is not an array. */
export const notArray = fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.boolean(), fc.constant(null), fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }));
/** Any JSON value that is not a boolean (the strings "true"/"false" included). */
export const notBoolean = fc.oneof(fc.integer(), fc.constantFrom('true', 'false', '1', ''), fc.constant(null), fc.array(fc.boolean(), { maxLength: 2 }));
/** A string 1 to 64 characters longer than `max`. */
export const tooLong = (max: number) => fc.integer({ min: max + 1, max: max + 64 }).map((n) => 'x'.repeat(n));

/** Strings that are not addresses under viem's non-strict isAddress. */
export const badAddress = fc.oneof(
  fc.constantFrom('', '0x', '0x123', 'hello', `0x${'g'.repeat(40)}`, `0x${'a'.repeat(41)}`, `0x${'a'.repeat(39)}`, `${'a'.repeat(40)}`, `0X${'a'.repeat(40)}`, ` 0x${'a'.repeat(40)}`),
  hexString(0, 39).map((h) => `0x${h}`),
  fc.string({ maxLength: 30 }).filter((s) => !/^0x[0-9a-fA-F]{40}$/.test(s)),
);
/** Strings that are not 0x-prefixed hex (`^0x[0-9a-fA-F]+$`). */
export const badSignature = fc.oneof(
  fc.constantFrom('', '0x', 'zz', '0xzz', '0x12 34', 'deadbeef', '0x-1'),
  fc.string({ maxLength: 20 }).filter((s) => !/^0x[0-9a-fA-F]+$/.test(s)),
);
/** Values that are neither a non-negative integer nor a string of 1 to `digits` decimal digits. */
export const badUint = (digits: number) =>
  fc.oneof(
    fc.integer({ max: -1 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
    fc.constantFrom('', '-1', '1.5', '1e3', '0x10', ' 1', 'abc', '9'.repeat(digits + 1), null, true, [], {}),
  );

/**
 * Whether no server can read `body` as JSON (decoded as UTF-8, with or without a BOM, then
 * trimmed; an empty body is not counted: some routes read it as `{}`).
 */
export function unreadableAsJson(body: string | Uint8Array): boolean {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  for (const text of [new TextDecoder().decode(bytes), Buffer.from(bytes).toString('utf8')]) {
    if (!text.trim()) return false;
    try {
      JSON.parse(text);
      return false;
    } catch {
      /* not JSON: good */
    }
  }
  return true;
}

/** Bodies that are not JSON: cut, quoted wrongly, trailing garbage, random bytes, unclosed arrays. */
export const malformedJson: fc.Arbitrary<string | Uint8Array> = fc
  .oneof(
    fc.constantFrom(
      '{',
      '}',
      '{"a":',
      '{"result":}',
      "{'a':1}",
      'undefined',
      'NaN',
      '{"a":1,}',
      '[1,2',
      '\u0000',
      '{"a":1}{"b":2}',
      '{"result":"x"} trailing',
      'tru',
      'nul',
      '{"a":"\\x"}',
      '--',
      '<xml/>',
      '\ufeff\ufeff{}',
      '{"result":"x"',
      'result=x',
      '{"task_detail":"a"',
    ),
    fc.string({ minLength: 1, maxLength: 40 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
    fc.uint8Array({ minLength: 1, maxLength: 64 }),
    fc.record({ v: fc.jsonValue({ maxDepth: 3 }), cut: fc.nat() }).map(({ v, cut }) => {
      const s = JSON.stringify(v);
      return s.slice(0, cut % Math.max(1, s.length));
    }),
    fc.nat({ max: 5000 }).map((n) => '['.repeat(n + 1)),
  )
  .filter(unreadableAsJson);

/** JSON text of an object whose `field` is nested `depth` levels deep (built as text: a value this deep cannot be stringified). */
export const deeplyNested = (field: string, depth: number) => `{"${field}":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;

/**
 * Requests the HTTP layer meets before the application, each at one of `servers` (paths relative to
 * that server's base URL): a header past common 16-32 KiB limits, a raw non-ASCII or backslashed
 * request-target, a bad Host, an unknown method token, a bad Expect. Each goes on its own connection,
 * which the server may close (`transport`). None carries a credential.
 */
export function transportDefects<S extends string>(servers: readonly { server: S; read: string; write: string }[]): fc.Arbitrary<MalformedRequest & { server: S }> {
  const at = fc.constantFrom(...servers);
  return fc.oneof(
    fc.tuple(at, fc.integer({ min: 33, max: 60 })).map(([s, kb]) => ({
      server: s.server,
      cls: 'transport',
      note: `${kb} KiB header`,
      method: 'GET',
      path: s.read,
      headers: { 'x-junk': 'y'.repeat(kb * 1024) },
      expect4xx: false,
      transport: 'header-too-large',
    })),
    fc
      .record({
        s: at,
        raw: fc.oneof(fc.string({ unit: fc.integer({ min: 0xa1, max: 0xff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 10 }), fc.constantFrom('a\\b', '..\\..\\x', '\\')),
      })
      .map(({ s, raw }) => ({
        server: s.server,
        cls: 'transport',
        note: 'raw non-ASCII or backslash in the request-target',
        method: 'GET',
        path: `${s.read.replace(/\/?$/, '/')}${raw}`,
        headers: {},
        expect4xx: false,
        transport: 'bad-request-target',
      })),
    fc
      .tuple(at, fc.constantFrom('exa mple..com:99999', 'a/b', '[::1', 'x:y:z', 'évil'))
      .map(([s, host]) => ({ server: s.server, cls: 'transport', note: `bad Host ${host}`, method: 'POST', path: s.write, headers: { host }, expect4xx: true, transport: 'bad-host' })),
    fc
      .tuple(at, fc.constantFrom('FOO', 'GETT', 'G-E-T', 'POSTX'))
      .map(([s, method]) => ({ server: s.server, cls: 'transport', note: `unknown method ${method}`, method, path: s.write, headers: {}, expect4xx: true, transport: 'unknown-method' })),
    at.map((s) => ({
      server: s.server,
      cls: 'transport',
      note: 'Expect: nonsense',
      method: 'POST',
      path: s.write,
      headers: { 'content-type': 'application/json', expect: 'nonsense' },
      body: '{}',
      expect4xx: true,
      transport: 'bad-expect',
    })),
  );
}

/** `r` with junk that changes nothing: unknown headers (never a credential), a chunked body. Transport-level requests stay as they are. */
export function withHarmlessJunk<R extends MalformedRequest>(r: R): fc.Arbitrary<R> {
  if (r.transport) return fc.constant(r);
  return fc
    .record({
      junk: fc.option(fc.dictionary(fc.constantFrom('x-forwarded-for', 'x-request-id', 'x-junk', 'content-language'), headerValue(40), { maxKeys: 2 }), { nil: undefined, freq: 3 }),
      chunked: fc.boolean(),
    })
    .map(({ junk, chunked }) => ({ ...r, headers: { ...(junk ?? {}), ...r.headers }, ...(chunked && r.body !== undefined ? { chunked: true } : {}) }));
}

/** The headers most malformed requests carry: a JSON body. */
export const JSON_HEADERS: Record<string, string> = { 'content-type': 'application/json' };

/**
 * One malformed request for one of a pack's servers, positionally (the packs' generators write
 * hundreds): `expect4xx` where it aims at a route that can change state; `lenient` when only the
 * reference's own strictness refuses it (a careful server may act on it: not sent to a third party).
 */
export function serverRequest<S extends string>(
  server: S,
  cls: string,
  note: string,
  method: string,
  path: string,
  body?: string | Uint8Array,
  headers: Record<string, string> = JSON_HEADERS,
  expect4xx = true,
  lenient = false,
): MalformedRequest & { server: S; lenientMayAct?: true } {
  return { server, cls, note, method, path, headers, body, expect4xx, ...(lenient ? { lenientMayAct: true as const } : {}) };
}
