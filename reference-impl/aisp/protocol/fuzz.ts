/**
 * Malformed AISP requests as fast-check arbitraries, for the backend (`/api/...`) and the
 * Venice-compatible inference server (`/api/v1/...`): wrong methods and paths, bad ids, bodies that
 * are not JSON, wrong types, missing and extra fields, negative, fractional, zero and huge amounts,
 * oversized bodies and headers, bad, foreign, stale or misplaced signatures, bad API keys,
 * transport-level defects. Used by the reference's fuzz test (server/fuzz.test.ts: every request,
 * its strict answer check) and by the robustness scenario (scenarios/aisp/robustness.ts: the
 * requests every reading of the seed and profile refuses, {@link thirdPartyRequest}, judged by
 * harness/robustness/batch.ts).
 *
 * Every request is malformed by construction: a valid credential (the provider's or the funder's
 * fresh signature, a working INFERENCE key, an ADMIN key) only rides with something that must be
 * refused. Where only the reference's strictness refuses it (an extra field, a value the profile
 * bounds), the request is marked {@link AispFuzzRequest.lenientMayAct} and kept from third parties.
 */
import fc from 'fast-check';
import type { Hex, LocalAccount } from 'viem';
import { JSON_HEADERS, headerValue, malformedJson, serverRequest } from '../../../harness/robustness/arbitraries.ts';
import type { MalformedRequest } from '../../../harness/robustness/http.ts';
import { getKeyMessage, storeKeyMessage } from './messages.ts';

/** Which published server a request goes to. */
export type AispServer = 'backend' | 'inference';

/** One malformed request and the server it is for (paths are relative to that server's base URL). */
export interface AispFuzzRequest extends MalformedRequest {
  server: AispServer;
  /**
   * It carries a valid credential and is refused by the reference only by its own profile (an extra
   * field ignored, a default taken, a bound not enforced): a lenient but careful server could act on
   * it, so the robustness scenario does not send it to a third party.
   */
  lenientMayAct?: true;
}

/** A signed body part: an EIP-191 signature and the Unix-seconds timestamp it covers. */
export interface SignedPart {
  signature: Hex;
  timestamp: number;
}

/** What the generator aims at: real ids, real keys, signatures made up front (arbitraries are synchronous). */
export interface AispFuzzContext {
  listingId: bigint;
  /** A confirmed, active rental of `listingId`. */
  rentalId: bigint;
  /** A listing id no chain will reach. */
  unknownListingId: bigint;
  /** The key stored for `listingId` (the one its funder gets). */
  storedKey: string;
  /** A working INFERENCE key of the provider. */
  issuedKey: string;
  /** ADMIN keys of the two provider accounts. */
  adminKeys: [string, string];
  /** The inference model the server lists. */
  model: string;
  /** The lab clock when the signatures were made (seconds). */
  now: number;
  /** The provider's fresh, unused store-key signature for `listingId` (only ever sent inside a body that must be refused). */
  validStore: SignedPart;
  /** The funder's fresh, unused get-key signature for `rentalId` (same). */
  validGet: SignedPart;
  /** Near-miss signatures ({@link signNearMisses}). */
  sigs: NearMissSignatures;
}

/** Properly made signatures that are wrong in one way each. */
export interface NearMissSignatures {
  /** The attacker signs store-key for `listingId` at `now`. */
  attackerStore: Hex;
  /** The provider signs store-key for `listingId` an hour ago. */
  providerStoreStale: Hex;
  /** The provider signs store-key for `unknownListingId` at `now`. */
  providerStoreUnknown: Hex;
  /** The attacker signs get-key for `rentalId` at `now`. */
  attackerGet: Hex;
  /** The funder signs get-key for `rentalId` an hour ago. */
  renterGetStale: Hex;
  /** The funder signs get-key for another rental id at `now`. */
  renterGetOther: Hex;
}

/** Inputs of {@link signNearMisses}. */
export interface NearMissInputs {
  provider: LocalAccount;
  renter: LocalAccount;
  attacker: LocalAccount;
  listingId: bigint;
  rentalId: bigint;
  unknownListingId: bigint;
  now: number;
}

/** Signs the near-misses of {@link NearMissSignatures}. */
export async function signNearMisses(i: NearMissInputs): Promise<NearMissSignatures> {
  const sign = (a: LocalAccount, message: string) => a.signMessage({ message });
  const hourAgo = i.now - 3600;
  return {
    attackerStore: await sign(i.attacker, storeKeyMessage(i.listingId, i.now)),
    providerStoreStale: await sign(i.provider, storeKeyMessage(i.listingId, hourAgo)),
    providerStoreUnknown: await sign(i.provider, storeKeyMessage(i.unknownListingId, i.now)),
    attackerGet: await sign(i.attacker, getKeyMessage(i.rentalId, i.now)),
    renterGetStale: await sign(i.renter, getKeyMessage(i.rentalId, hourAgo)),
    renterGetOther: await sign(i.renter, getKeyMessage(i.rentalId + 1_000_000n, i.now)),
  };
}

// ---- building blocks ----------------------------------------------------------------------------

/** A key in the seed's format that no inference server issued. */
export const FAKE_KEY = 'vn-scoped-0123456789abcdef';

/** Path ids that name nothing (none a decimal integer; `0x` never). */
const junkId = fc.oneof(
  fc.constantFrom('', 'abc', '-1', '1.5', '%00', '..%2f..%2fetc', '9'.repeat(100), 'null', '[]', '%7B%7D', encodeURIComponent('١٢'), 'NaN', '%zz', '%'),
  fc.string({ maxLength: 30 }).map((s) => `z${encodeURIComponent(s)}`),
);
/**
 * Whether a lenient parser could read `id` as a number (`parseInt('1.5')` is 1, Python's `int('١٢')`
 * is 12): such an id never rides with a valid signature (AISP-PROF-14).
 */
function numberLike(id: string): boolean {
  let text = id;
  try {
    text = decodeURIComponent(id);
  } catch {
    /* not percent-encoded: as it is */
  }
  return /^\s*[+-]?\p{Nd}/u.test(text);
}

/** Bodies that are not a JSON object of the route's shape: not JSON at all, JSON of another type, arbitrary JSON. */
const junkJson = fc.oneof(
  malformedJson,
  fc.constantFrom('"\\u0000', '{}}', '\ufeff\ufeff{}', 'true', '123', '"str"', '[]', 'null'),
  fc.json({ maxDepth: 3 }).filter((j) => !j.startsWith('{')),
);
/** Arrays nested past any sane parser's depth. */
const deep = fc.integer({ min: 100, max: 5000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`);
/** Values no field of these bodies accepts. */
const wrongType = fc.constantFrom<unknown>(null, true, false, [], {}, -1, 1.5, '', 'x'.repeat(300), { nested: { deep: [1] } });

/** Amounts every reading of the profile refuses (base units are non-negative integers; AISP-PROF-16 and REQ-01 refuse zero). */
const badAmount = fc.constantFrom<unknown>('-5', -5, '1.5', 1.5, '0.000001', 0.5, '0', 0, 'abc', '', null, true, [], {}, '1 000', '--1');
/** Amounts only the reference's bounds refuse: a lenient server may read them (exponent, hex, padding, past uint256, unsafe integers). */
const strictAmount = fc.constantFrom<unknown>('1e3', '0x10', ' 1', '9'.repeat(79), 2 ** 53 + 2, 1e300);

/**
 * A body with one defect in `valid`: a required field removed or retyped, an extra field (where the
 * reference refuses extras: `extra` says whether a lenient server may act on one), or not a JSON
 * object at all.
 */
function oneDefect(
  valid: Record<string, unknown>,
  o: { required?: string[]; extra: 'none' | 'refused' | 'lenient'; lenientRemove?: string[]; lenientRetype?: boolean },
): fc.Arbitrary<{ body: string | Uint8Array; lenient: boolean; note: string }> {
  const keys = Object.keys(valid);
  const required = o.required ?? keys;
  return fc.oneof(
    fc
      .constantFrom(...required)
      .map((k) => ({ body: JSON.stringify(Object.fromEntries(Object.entries(valid).filter(([x]) => x !== k))), lenient: o.lenientRemove?.includes(k) ?? false, note: `no ${k}` })),
    fc.tuple(fc.constantFrom(...required), wrongType).map(([k, v]) => ({ body: JSON.stringify({ ...valid, [k]: v }), lenient: o.lenientRetype ?? false, note: `${k} of the wrong type` })),
    ...(o.extra === 'none'
      ? []
      : [
          fc
            .string({ minLength: 1, maxLength: 10 })
            .filter((k) => !keys.includes(k) && k !== '__proto__')
            .map((k) => ({ body: JSON.stringify({ ...valid, [k]: 1 }), lenient: o.extra === 'lenient', note: 'an extra field' })),
        ]),
    junkJson.map((body) => ({ body, lenient: false, note: 'not a JSON object' })),
    deep.map((body) => ({ body, lenient: false, note: 'deeply nested' })),
  );
}

// ---- the request arbitrary ----------------------------------------------------------------------

/** Any malformed request to the AISP backend or inference server described by `f`. */
export function malformedRequest(f: AispFuzzContext): fc.Arbitrary<AispFuzzRequest> {
  const req = serverRequest<AispServer>;
  const B = (cls: string, note: string, method: string, path: string, body?: string | Uint8Array, headers?: Record<string, string>, expect4xx = true, lenient = false) =>
    req('backend', cls, note, method, path, body, headers, expect4xx, lenient);
  const V = (cls: string, note: string, method: string, path: string, body?: string | Uint8Array, headers?: Record<string, string>, expect4xx = true, lenient = false) =>
    req('inference', cls, note, method, path, body, headers, expect4xx, lenient);
  const rid = f.rentalId.toString();
  const lid = f.listingId.toString();
  const storeValid = { listingId: lid, apiKey: FAKE_KEY, ...f.validStore };
  const getValid = { ...f.validGet };
  const chatValid = { model: f.model, messages: [{ role: 'user', content: 'hi' }] };
  const createValid = { apiKeyType: 'INFERENCE', description: 'fuzz', consumptionLimit: { diem: 1 } };
  const requestValid = { diemAmount: '1000000', termDays: 3, maxPricePerDay: '1000' };
  const auth = (k: string) => ({ ...JSON_HEADERS, authorization: `Bearer ${k}` });
  // Authorization values that name no key; the last one carries the real key with a trailing token (a lenient split could use it).
  const junkAuth = fc.oneof(
    fc.constant({ note: 'no Authorization', headers: { ...JSON_HEADERS }, lenient: false }),
    fc
      .constantFrom(
        'Bearer',
        'Bearer ',
        'Basic abc',
        `Bearer ${'a'.repeat(600)}`,
        'Bearer vn-scoped-nope',
        `bearer ${f.issuedKey.slice(0, -1)}`,
        `Bearer ${f.issuedKey}x`,
        `Token ${f.issuedKey.slice(1)}`,
      )
      .map((h) => ({ note: 'an Authorization that names no key', headers: { ...JSON_HEADERS, authorization: h }, lenient: false })),
    fc.constant({ note: 'the real key followed by a second token', headers: { ...JSON_HEADERS, authorization: `Bearer ${f.issuedKey} extra` }, lenient: true }),
  );
  return fc
    .oneof(
      // ---- backend: listings
      junkId.map((id) => B('listing-id', `listing id ${id.slice(0, 20)}`, 'GET', `/api/listings/${id}`, undefined, {}, false)),
      fc
        .constantFrom('/api/listings', `/api/listings/${lid}`, '/api/listings?limit=-1&x[]=1', `/api/listings/${f.unknownListingId}`)
        .map((p) => B('listing-read', 'a read', 'GET', p, undefined, {}, false)),
      fc.tuple(fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH'), fc.constantFrom('/api/listings', `/api/listings/${lid}`)).map(([m, p]) => B('listings-method', `${m} on a read route`, m, p, '{}')),
      // ---- backend: store-key, each body with one defect (the provider's fresh signature inside), and signatures that must not pass
      oneDefect(storeValid, { extra: 'lenient' }).map((d) => B('store-key-body', d.note, 'POST', '/api/keys', d.body, JSON_HEADERS, true, d.lenient)),
      fc
        .constantFrom(
          { note: 'signed by the attacker', body: { ...storeValid, signature: f.sigs.attackerStore, timestamp: f.now } },
          { note: 'stale timestamp', body: { ...storeValid, signature: f.sigs.providerStoreStale, timestamp: f.now - 3600 } },
          { note: 'signature over another listing', body: { ...storeValid, listingId: (f.listingId + 1n).toString() } },
          { note: 'a listing that does not exist', body: { ...storeValid, listingId: f.unknownListingId.toString(), signature: f.sigs.providerStoreUnknown, timestamp: f.now } },
          { note: 'all-zero signature', body: { ...storeValid, signature: `0x${'00'.repeat(65)}` } },
          { note: 'timestamp changed after signing', body: { ...storeValid, timestamp: f.validStore.timestamp + 10_000 } },
          { note: 'the stored key under a foreign signature', body: { ...storeValid, apiKey: f.issuedKey, signature: f.sigs.attackerStore, timestamp: f.now } },
        )
        .map((x) => B('store-key-near-miss', x.note, 'POST', '/api/keys', JSON.stringify(x.body))),
      badAmount.map((v) => B('store-key-listing-id', `listingId ${JSON.stringify(v)}`, 'POST', '/api/keys', JSON.stringify({ ...storeValid, listingId: v }))),
      // ---- backend: get-key
      fc.tuple(junkId, junkJson).map(([id, b]) => B('get-key-id', `rental id ${id.slice(0, 20)}`, 'POST', `/api/key/${id}`, b)),
      // A well-formed body under a path id that names nothing (the signature covers the real id, so no reading can serve it).
      junkId.filter((id) => !numberLike(id)).map((id) => B('get-key-id-signed', `rental id ${id.slice(0, 20)}, a well-formed body`, 'POST', `/api/key/${id}`, JSON.stringify(getValid))),
      oneDefect(getValid, { extra: 'lenient' }).map((d) => B('get-key-body', d.note, 'POST', `/api/key/${rid}`, d.body, JSON_HEADERS, true, d.lenient)),
      fc
        .constantFrom(
          { note: 'signed by the attacker', body: { signature: f.sigs.attackerGet, timestamp: f.now }, lenient: false },
          { note: 'stale timestamp', body: { signature: f.sigs.renterGetStale, timestamp: f.now - 3600 }, lenient: false },
          { note: "the funder's signature claimed by the attacker's address", body: { ...getValid, address: '0x000000000000000000000000000000000000dEaD' }, lenient: true },
          { note: "the funder's signature over another rental", body: { signature: f.sigs.renterGetOther, timestamp: f.now }, lenient: false },
          { note: 'all-ff signature', body: { signature: `0x${'ff'.repeat(65)}`, timestamp: f.now }, lenient: false },
          { note: 'timestamp changed after signing', body: { ...getValid, timestamp: f.validGet.timestamp - 1 }, lenient: false },
        )
        .map((x) => B('get-key-near-miss', x.note, 'POST', `/api/key/${rid}`, JSON.stringify(x.body), JSON_HEADERS, true, x.lenient)),
      fc.constantFrom(`/api/key/${f.unknownListingId}`, `/api/key/${rid}/x`, `/api/key/`, `/api/key`).map((p) => B('get-key-path', 'a path that names no rental', 'POST', p, JSON.stringify(getValid))),
      fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH').map((m) => B('get-key-method', `${m} on get-key`, m, `/api/key/${rid}`, JSON.stringify(getValid))),
      // ---- backend: balance (a read: 200 is allowed for a real key, never with a key it was not sent)
      oneDefect({ apiKey: FAKE_KEY }, { extra: 'refused' }).map((d) => B('balance-body', d.note, 'POST', '/api/balance', d.body)),
      fc.constantFrom(f.issuedKey, f.storedKey, 'vn-scoped-unknown-000000').map((k) => B('balance-key', 'a balance read', 'POST', '/api/balance', JSON.stringify({ apiKey: k }), JSON_HEADERS, false)),
      // ---- backend: rental requests (never a valid one: a valid request is stored)
      oneDefect(requestValid, { extra: 'lenient' }).map((d) => B('requests-body', d.note, 'POST', '/api/requests', d.body, JSON_HEADERS, true, d.lenient)),
      fc
        .tuple(
          fc.constantFrom('diemAmount', 'maxPricePerDay'),
          fc.oneof(
            { arbitrary: badAmount.map((v) => ({ v, lenient: false })), weight: 3 },
            strictAmount.map((v) => ({ v, lenient: true })),
          ),
        )
        .map(([k, { v, lenient }]) => B('requests-amount', `${k} ${JSON.stringify(v)}`, 'POST', '/api/requests', JSON.stringify({ ...requestValid, [k]: v }), JSON_HEADERS, true, lenient)),
      fc
        .constantFrom<[unknown, boolean]>([0, false], [-1, false], [1.5, false], ['3', true], [366, true], [1e9, true])
        .map(([v, lenient]) => B('requests-amount', `termDays ${JSON.stringify(v)}`, 'POST', '/api/requests', JSON.stringify({ ...requestValid, termDays: v }), JSON_HEADERS, true, lenient)),
      // ---- backend: what reaches the app oddly
      fc
        .constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '')
        .map((ct) => B('content-type', `content-type ${ct || '(empty)'}`, 'POST', '/api/keys', 'listingId=1&apiKey=x', { 'content-type': ct })),
      fc
        .integer({ min: 17, max: 40 })
        .map((kb) => B('oversized-body', `${kb} KiB apiKey`, 'POST', '/api/keys', JSON.stringify({ listingId: lid, apiKey: 'x'.repeat(kb * 1024), signature: '0x', timestamp: 1 }))),
      fc
        .tuple(fc.constantFrom('GET', 'POST', 'DELETE', 'OPTIONS'), fc.string({ maxLength: 20 }))
        .map(([m, s]) => B('unknown-route', `${m} on an unpublished path`, m, `/api/${encodeURIComponent(s)}x/y`, m === 'GET' ? undefined : '{}')),
      // ---- inference: chat with the working key and a body that must be refused (a valid call would be charged)
      oneDefect(chatValid, { extra: 'none', lenientRemove: ['model'], lenientRetype: true }).map((d) =>
        V('chat-body', d.note, 'POST', '/chat/completions', d.body, auth(f.issuedKey), true, d.lenient),
      ),
      fc
        .constantFrom(
          { note: 'unknown model', body: { ...chatValid, model: 'no-such-model' } },
          { note: 'no messages', body: { ...chatValid, messages: [] } },
          { note: 'unknown role', body: { ...chatValid, messages: [{ role: 'wizard', content: 'x' }] } },
          { note: 'negative max_tokens', body: { ...chatValid, max_tokens: -1 } },
          { note: 'fractional max_tokens', body: { ...chatValid, max_tokens: 1.5 } },
          { note: 'stream', body: { ...chatValid, stream: true } },
          { note: 'temperature 9', body: { ...chatValid, temperature: 9 } },
        )
        // Defaults and clamps differ between OpenAI-compatible servers: the reference's refusals only.
        .map((x) => V('chat-near-miss', x.note, 'POST', '/chat/completions', JSON.stringify(x.body), auth(f.issuedKey), true, true)),
      junkAuth.map((a) => V('chat-auth', a.note, 'POST', '/chat/completions', JSON.stringify(chatValid), a.headers, true, a.lenient)),
      junkAuth.map((a) => V('rate-limits-auth', a.note, 'GET', '/api_keys/rate_limits', undefined, a.headers, true, a.lenient)),
      // ---- inference: admin routes
      oneDefect(createValid, { required: ['apiKeyType', 'description'], extra: 'lenient', lenientRemove: ['apiKeyType', 'description'], lenientRetype: true }).map((d) =>
        V('create-key-body', d.note, 'POST', '/api_keys', d.body, auth(f.adminKeys[0]), true, d.lenient),
      ),
      fc
        .constantFrom(
          { note: 'apiKeyType ROOT', body: { ...createValid, apiKeyType: 'ROOT' } },
          { note: 'expiresAt in the past', body: { ...createValid, expiresAt: '2000-01-01T00:00:00Z' } },
          { note: 'expiresAt not a date', body: { ...createValid, expiresAt: 'tomorrow' } },
          { note: 'negative limit', body: { ...createValid, consumptionLimit: { diem: -1 } } },
        )
        .map((x) => V('create-key-near-miss', x.note, 'POST', '/api_keys', JSON.stringify(x.body), auth(f.adminKeys[0]), true, true)),
      fc
        .tuple(fc.constantFrom(f.issuedKey, 'vn-admin-wrong'), fc.constantFrom('POST', 'GET', 'DELETE'))
        .map(([k, m]) =>
          V(
            'admin-with-inference-key',
            `${m} /api_keys with ${k === f.issuedKey ? 'an INFERENCE key' : 'an unknown key'}`,
            m,
            m === 'DELETE' ? '/api_keys?id=x' : '/api_keys',
            m === 'POST' ? JSON.stringify(createValid) : undefined,
            auth(k),
          ),
        ),
      junkId.map((id) => V('delete-key-id', `delete id ${id.slice(0, 20)}`, 'DELETE', `/api_keys?id=${id}`, undefined, auth(f.adminKeys[1]))),
      junkId.map((id) => V('get-key-id', `key id ${id.slice(0, 20)}`, 'GET', `/api_keys/${id}x`, undefined, auth(f.adminKeys[0]), false)),
      fc
        .tuple(fc.constantFrom('GET', 'POST', 'PUT'), fc.string({ maxLength: 15 }))
        .map(([m, s]) => V('inference-unknown-route', `${m} on an unpublished path`, m, `/${encodeURIComponent(s)}zz`, m === 'GET' ? undefined : '{}', JSON_HEADERS)),
      fc.constantFrom('PUT', 'DELETE', 'PATCH').map((m) => V('inference-method', `${m} on chat/completions`, m, '/chat/completions', JSON.stringify(chatValid), auth(f.issuedKey))),
      fc
        .integer({ min: 1025, max: 1100 })
        // A valid chat of 1 MB: the reference's limit refuses it, a server with a larger context may run it.
        .map((kb) =>
          V(
            'chat-oversized',
            `${kb} KiB message`,
            'POST',
            '/chat/completions',
            JSON.stringify({ ...chatValid, messages: [{ role: 'user', content: 'x'.repeat(kb * 1024) }] }),
            auth(f.issuedKey),
            true,
            true,
          ),
        ),
      // ---- both: defects the HTTP layer meets first
      { arbitrary: transport(f), weight: 1 },
    )
    .chain(withJunk);
}

/**
 * Requests the HTTP layer refuses before the app (each on its own connection, which the server may
 * close): a header past the servers' 32 KiB limit, a raw non-ASCII or backslashed request-target, a
 * bad Host, an unknown method token, a bad Expect. None carries a valid credential.
 */
function transport(f: AispFuzzContext): fc.Arbitrary<AispFuzzRequest> {
  const server = fc.constantFrom<AispServer>('backend', 'inference');
  const pathOf = (s: AispServer) => (s === 'backend' ? `/api/key/${f.rentalId}` : '/chat/completions');
  return fc.oneof(
    fc.tuple(server, fc.integer({ min: 33, max: 60 })).map(([s, kb]) => ({
      server: s,
      cls: 'transport',
      note: `${kb} KiB header`,
      method: 'GET',
      path: s === 'backend' ? '/api/listings' : '/models',
      headers: { 'x-junk': 'y'.repeat(kb * 1024) },
      expect4xx: false,
      transport: 'header-too-large',
    })),
    fc
      .record({
        s: server,
        raw: fc.oneof(fc.string({ unit: fc.integer({ min: 0xa1, max: 0xff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 10 }), fc.constantFrom('a\\b', '..\\..\\x', '\\')),
      })
      .map(({ s, raw }) => ({
        server: s,
        cls: 'transport',
        note: 'raw non-ASCII or backslash in the request-target',
        method: 'GET',
        path: `${s === 'backend' ? '/api/listings/' : '/api_keys/'}${raw}`,
        headers: {},
        expect4xx: false,
        transport: 'bad-request-target',
      })),
    fc
      .tuple(server, fc.constantFrom('exa mple..com:99999', 'a/b', '[::1', 'x:y:z', 'évil'))
      .map(([s, host]) => ({ server: s, cls: 'transport', note: `bad Host ${host}`, method: 'POST', path: pathOf(s), headers: { host }, expect4xx: true, transport: 'bad-host' })),
    fc
      .tuple(server, fc.constantFrom('FOO', 'GETT', 'G-E-T', 'POSTX'))
      .map(([s, method]) => ({ server: s, cls: 'transport', note: `unknown method ${method}`, method, path: pathOf(s), headers: {}, expect4xx: true, transport: 'unknown-method' })),
    server.map((s) => ({
      server: s,
      cls: 'transport',
      note: 'Expect: nonsense',
      method: 'POST',
      path: pathOf(s),
      headers: { ...JSON_HEADERS, expect: 'nonsense' },
      body: '{}',
      expect4xx: true,
      transport: 'bad-expect',
    })),
  );
}

/** Junk that changes nothing on any request: an unknown header, a chunked body. */
function withJunk(r: AispFuzzRequest): fc.Arbitrary<AispFuzzRequest> {
  if (r.transport) return fc.constant(r);
  return fc
    .record({
      junk: fc.option(fc.dictionary(fc.constantFrom('x-forwarded-for', 'x-request-id', 'accept', 'x-junk', 'content-language'), headerValue(40), { maxKeys: 2 }), { nil: undefined, freq: 3 }),
      chunked: fc.boolean(),
    })
    .map(({ junk, chunked }) => ({ ...r, headers: { ...(junk ?? {}), ...r.headers }, ...(chunked && r.body !== undefined ? { chunked: true } : {}) }));
}

/** Whether the robustness scenario may send `r` to a third party: every careful reading refuses it without acting. */
export function thirdPartyRequest(r: AispFuzzRequest): boolean {
  return !r.lenientMayAct;
}

/**
 * The first of `secrets` an answer carries that its request did not (in its path, headers or body),
 * or undefined: a key that leaks (AISP-LEAK-01). A server may echo what the caller sent; it may not
 * reveal another key.
 */
export function leakedSecret(req: MalformedRequest, answer: string, secrets: readonly string[]): string | undefined {
  const sent = [req.path, ...Object.values(req.headers).flat(), req.body === undefined ? '' : typeof req.body === 'string' ? req.body : Buffer.from(req.body).toString('utf8')].join('\n');
  return secrets.find((s) => s.length >= 8 && answer.includes(s) && !sent.includes(s));
}
