/**
 * Malformed ASA input as fast-check arbitraries, for every published asa endpoint: WebSocket frames
 * for the NIP-A5 relay (frames that are not JSON, message arrays of the wrong shape, events with a
 * bad id, signature, kind, tags or fields, the provider's own 38402 and 38400 one field off, oversized
 * content, bad AUTH, REQs with bad subscription ids and filters, binary and non-UTF-8 frames) and
 * HTTP requests for the provider's L402 resource (no, malformed, forged, attenuated or mismatched
 * credentials; another invoice's preimage; unknown agreements; other methods and paths) and the
 * Lightning network API (bad node keys, channels to nobody or to oneself, bad amounts, invoices that
 * are cut, tampered, paid, expired or of an unknown node, fee limits no route meets, other methods
 * and paths). Used by the reference's fuzz test (server/fuzz.test.ts) and by the robustness scenario
 * (scenarios/asa/robustness.ts: only {@link thirdPartyRequest}s and {@link thirdPartyFrame}s, judged
 * by harness/robustness/batch.ts and the scenario's relay rules).
 *
 * Every item is malformed by construction: a valid credential (the paid token, an unpaid invoice, a
 * fresh node key) only rides inside something that must be refused. Where only the reference's
 * strictness refuses it, the item is marked `lenientMayAct` and kept from third parties.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { finalizeEvent, getEventHash } from 'nostr-tools/pure';
import { deeplyNested, headerValue, hexString, malformedJson, notArray, notObject, notString, transportDefects, withHarmlessJunk } from '../../../harness/robustness/arbitraries.ts';
import type { MalformedRequest } from '../../../harness/robustness/http.ts';
import { KIND, type NostrEvent } from './events.ts';
import { formatCredential } from './l402.ts';
import { attenuate, caveatsOf, identifierOf, mintMacaroon } from './macaroons.ts';

// ---- what the generators aim at -----------------------------------------------------------------

/** What the generators aim at: real events, tokens, invoices and nodes, made up front (arbitraries are synchronous). */
export interface AsaFuzzContext {
  /** Path (and query, if any) of the L402 resource on its origin, e.g. `/v1/translate`. */
  resourcePath: string;
  /** The service name of the resource's macaroons (`services=<service>:0`). */
  service: string;
  /** d of an agreement of the provider's (null: none was made). */
  agreementD: string | null;
  /** Events signed by others that the relay stores: the provider's capability and latest 38402. */
  signed: NostrEvent[];
  /** Valid events signed by a fuzz key, tagged `['t', tag]`: sent only after one field is changed. */
  pool: NostrEvent[];
  /** The `t` tag every pool event carries (nothing with it may be stored). */
  tag: string;
  /** A paid token, unused: its macaroon and preimage (rides only broken or attenuated). */
  paid: { macaroon: string; preimage: string };
  /** A challenge's macaroon and invoice, never paid. */
  unpaid: { macaroon: string; invoice: string };
  /** The paid token's identifier under another root key. */
  forgedMacaroon: string;
  /** The paid token attenuated to another service, and to an expiry in the past. */
  attenuated: { otherService: string; expired: string };
  /** Lightning: two registered, funded nodes of the fixture, and what they hold. */
  ln: {
    payer: string;
    payee: string;
    /** A node id nobody registered. */
    unknownNode: string;
    /** A private key nobody registered (rides only in bodies that cannot be read). */
    freshNodeKey: string;
    /** An invoice of `payee`, settled by `payer`. */
    paidInvoice: string;
    /** An invoice of `payee`, unpaid (rides only where it must be refused). */
    openInvoice: string;
    /** An invoice of `payee` past its expiry. */
    expiredInvoice: string;
    /** An invoice signed by `unknownNode`'s key (no route reaches it). */
    foreignInvoice: string;
  };
}

/** Which HTTP endpoint a request is for. */
export type AsaHttpServer = 'l402' | 'lightning';

/** One malformed HTTP request and its endpoint (L402 paths are absolute on the resource's origin; Lightning paths are relative to its base URL). */
export interface AsaFuzzRequest extends MalformedRequest {
  server: AsaHttpServer;
  /** Only the reference's strictness refuses it: a lenient but careful server could act on it. */
  lenientMayAct?: true;
}

/**
 * What every careful relay does with a frame:
 * - `ok-false`: a NIP-01 EVENT whose id or signature does not verify: `["OK", id, false, …]` (NIP-01: OK MUST answer an EVENT);
 * - `not-accepted`: anything but `["OK", id, true, …]` for the event it carries (OK false, NOTICE, or nothing);
 * - `any`: any answer, or none.
 * In every case the connection stays open, unless the frame has a `transport` defect.
 */
export type RelayExpect = 'ok-false' | 'not-accepted' | 'any';

/** One malformed relay frame. */
export interface RelayFrame {
  cls: string;
  note: string;
  /** The frame's payload: text, or bytes (sent as a text frame unless `binary`). */
  data: string | Uint8Array;
  binary?: true;
  expect: RelayExpect;
  /** The id of the event it carries, when it has one (it must never be stored). */
  eventId?: string;
  /** The subscription id of a REQ or COUNT (closed after it). */
  subId?: string;
  /**
   * A defect a WebSocket layer may answer by closing the connection (RFC 6455 §8.1: text that is not
   * UTF-8; a binary frame NIP-01 does not speak; a frame past 64 KiB, the smallest common relay limit).
   */
  transport?: string;
  lenientMayAct?: true;
}

/** What {@link fuzzContext} builds the generators' context from: real tokens, events and nodes of the deployment aimed at. */
export interface FuzzInputs {
  /** The L402 resource's URL. */
  resourceUrl: string;
  /** A paid, unused challenge (macaroon and preimage) and an unpaid one (macaroon and invoice). */
  paid: { macaroon: string; preimage: string };
  unpaid: { macaroon: string; invoice: string };
  providerPk: string;
  /** The provider's capability and (when one was made) an agreement of its. */
  capability: NostrEvent;
  agreement: NostrEvent | null;
  /** The agreement's d (null: none). */
  agreementD: string | null;
  /** The key that signs the pool events, and the tag they carry. */
  fuzzKey: Uint8Array;
  tag: string;
  ln: AsaFuzzContext['ln'];
  /** Unix seconds, and a label that makes this batch's pool events its own. */
  now: number;
  label: string | number;
}

/** The generators' context: pool events signed, the paid token forged under another root and attenuated; null when the macaroon carries no L402 identifier. */
export function fuzzContext(i: FuzzInputs): AsaFuzzContext | null {
  const id = identifierOf(i.paid.macaroon);
  if (!id) return null;
  const service =
    caveatsOf(i.paid.macaroon)
      .find((c) => c.startsWith('services='))
      ?.slice(9)
      .split(',')[0]
      ?.split(':')[0] ?? 'service';
  const sign = (kind: number, tags: string[][]) => finalizeEvent({ kind, tags, content: kind === 1 ? `robustness ${i.label}` : '', created_at: i.now }, i.fuzzKey) as NostrEvent;
  const u = new URL(i.resourceUrl);
  return {
    resourcePath: `${u.pathname}${u.search}`,
    service,
    agreementD: i.agreementD,
    signed: [i.capability, ...(i.agreement ? [i.agreement] : [])],
    pool: [
      sign(1, [['t', i.tag]]),
      sign(KIND.agreement, [
        ['d', `rob-${i.label}`],
        ['t', i.tag],
        ['p', i.providerPk, '', 'provider'],
        ['status', 'active'],
      ]),
      sign(KIND.capability, [
        ['d', `rob-cap-${i.label}`],
        ['t', i.tag],
        ['s', 'robustness'],
      ]),
    ],
    tag: i.tag,
    paid: i.paid,
    unpaid: i.unpaid,
    forgedMacaroon: mintMacaroon({ rootKey: new Uint8Array(randomBytes(32)), paymentHash: id.paymentHash, tokenId: id.tokenId, service, validUntil: i.now + 3600, maxRequests: 1 }),
    attenuated: { otherService: attenuate(i.paid.macaroon, `services=not-${service}:0`), expired: attenuate(i.paid.macaroon, `${service}_valid_until=${i.now - 3600}`) },
    ln: i.ln,
  };
}

// ---- building blocks ----------------------------------------------------------------------------

const JSON_HEADERS = { 'content-type': 'application/json' };
/** Bytes past this may be refused by closing the connection (as harness/robustness does for HTTP bodies). */
const CLOSE_OK_FRAME_BYTES = 64 * 1024;

/** `h` with the hex digit at `i` changed (still lower-case hex). */
const flipHex = (h: string, i: number) => {
  const k = i % h.length;
  return `${h.slice(0, k)}${h[k] === '0' ? '1' : '0'}${h.slice(k + 1)}`;
};
/**
 * A base64 macaroon with one bit of its signature flipped (the last 32 bytes of a V2 macaroon). A
 * change elsewhere may change nothing the HMAC covers (the location is a hint, not authenticated).
 */
const flipSignature = (b64: string, i: number) => {
  const bytes = Buffer.from(b64.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  bytes[bytes.length - 1 - (i % 32)]! ^= 1 << (i % 8);
  return bytes.toString('base64');
};
const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
/** A bech32 string (a BOLT11 invoice) with one data character replaced by another bech32 character: the checksum no longer holds. */
const flipBech32 = (s: string, i: number) => {
  const start = s.lastIndexOf('1') + 1;
  const k = start + (i % Math.max(1, s.length - start));
  const c = BECH32[(BECH32.indexOf(s[k]!) + 1 + (i % 31)) % 32]!;
  return `${s.slice(0, k)}${c}${s.slice(k + 1)}`;
};

/** Whether `bytes` is valid UTF-8 (a text frame that is not must be refused, RFC 6455 §8.1). */
function isUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}
const sizeOf = (d: string | Uint8Array) => (typeof d === 'string' ? Buffer.byteLength(d) : d.length);

/** One signed field changed after signing, so the id (or the signature) no longer verifies. */
const EVENT_DEFECTS = ['id', 'sig', 'pubkey', 'content', 'created_at', 'kind', 'tags', 'status', 'd'] as const;
type EventDefect = (typeof EVENT_DEFECTS)[number];

/** `e` with `defect`: everything still well-formed (lower-case hex of the right lengths, integer kind and time), nothing verifies. */
function oneFieldOff(e: NostrEvent, defect: EventDefect, n: number, otherPubkey: string): NostrEvent {
  switch (defect) {
    case 'id':
      return { ...e, id: flipHex(e.id, n) };
    case 'sig':
      return { ...e, sig: flipHex(e.sig, n) };
    case 'pubkey':
      return { ...e, pubkey: otherPubkey === e.pubkey ? flipHex(e.pubkey, n) : otherPubkey };
    case 'content':
      return { ...e, content: `${e.content} ` };
    case 'created_at':
      return { ...e, created_at: e.created_at + 1 + (n % 600) };
    case 'kind':
      return { ...e, kind: e.kind === 38402 ? 38403 : 38402 };
    case 'tags':
      return { ...e, tags: [...e.tags, ['t', 'added-after-signing']] };
    case 'status': {
      const has = e.tags.some((t) => t[0] === 'status');
      return { ...e, tags: has ? e.tags.map((t) => (t[0] === 'status' ? ['status', 'completed'] : t)) : [...e.tags, ['status', 'completed']], created_at: e.created_at + 1 };
    }
    case 'd':
      return { ...e, tags: e.tags.some((t) => t[0] === 'd') ? e.tags.map((t) => (t[0] === 'd' ? ['d', `${t[1]}x`] : t)) : [...e.tags, ['d', 'x']] };
  }
}

/** The same event with its id recomputed for the changed fields: the id is right, the signature is not. */
const rehashed = (e: NostrEvent): NostrEvent => ({ ...e, id: getEventHash(e as never) });

// ---- the relay ----------------------------------------------------------------------------------

/** Any malformed frame for the relay described by `f`. */
export function malformedFrame(f: AsaFuzzContext): fc.Arbitrary<RelayFrame> {
  const all = [...f.signed, ...f.pool];
  const fuzzPub = f.pool[0]!.pubkey;
  const text = (cls: string, note: string, msg: unknown, expect: RelayExpect, more: Partial<RelayFrame> = {}): RelayFrame => ({
    cls,
    note,
    data: typeof msg === 'string' ? msg : JSON.stringify(msg),
    expect,
    ...more,
  });
  const sub = fc.string({ minLength: 1, maxLength: 20 }).map((s) => `rob-${s}`);
  const badFilter = fc.oneof(
    notObject,
    fc.record(
      {
        ids: fc.oneof(notArray, fc.array(fc.oneof(notString, hexString(0, 63), hexString(65, 70)), { minLength: 1, maxLength: 3 })),
        authors: fc.oneof(notArray, fc.array(notString, { minLength: 1, maxLength: 2 })),
        kinds: fc.oneof(notArray, fc.array(fc.oneof(fc.constantFrom(-1, 1.5, 70000, '1', null), fc.string({ maxLength: 3 })), { minLength: 1, maxLength: 3 })),
        since: fc.oneof(fc.constantFrom(-1, 1.5, '0', null, [], {}), fc.string({ maxLength: 5 })),
        until: fc.oneof(fc.constantFrom(-1, 1.5, '0', null, [], {}), fc.string({ maxLength: 5 })),
        limit: fc.oneof(fc.constantFrom(-1, 1.5, '10', null, [], {}), fc.string({ maxLength: 5 })),
        '#d': fc.oneof(notArray, fc.array(notString, { minLength: 1, maxLength: 2 })),
        '#p': fc.oneof(notArray, fc.array(notString, { minLength: 1, maxLength: 2 })),
      },
      { requiredKeys: [] },
    ),
  );
  const wellFormedBad = fc.tuple(fc.constantFrom(...all), fc.constantFrom(...EVENT_DEFECTS), fc.nat(), fc.boolean()).map(([e, defect, n, rehash]) => {
    const off = oneFieldOff(e, defect, n, fuzzPub);
    // Rehashing a change of the id or signature alone would only undo it.
    const bad = rehash && defect !== 'id' && defect !== 'sig' ? rehashed(off) : off;
    if (JSON.stringify(bad) === JSON.stringify(e)) throw new Error(`fuzz: the ${defect} defect left kind ${e.kind} unchanged`);
    return { e: bad, note: `${e.pubkey === fuzzPub ? 'a fuzz' : 'the provider’s'} kind ${e.kind} with its ${defect} changed after signing${bad !== off ? ' (id recomputed)' : ''}` };
  });
  const misshapen = fc
    .tuple(
      fc.constantFrom(...all),
      fc.constantFrom('id', 'pubkey', 'sig', 'created_at', 'kind', 'tags', 'content'),
      fc.option(fc.oneof(notString, fc.jsonValue({ maxDepth: 2 })), { nil: undefined, freq: 6 }),
    )
    // A value equal to the original would leave a valid event.
    .filter(([e, k, v]) => JSON.stringify(v) !== JSON.stringify((e as unknown as Record<string, unknown>)[k]))
    .map(([e, k, v]) => {
      const o: Record<string, unknown> = { ...e };
      if (v === undefined) delete o[k];
      else o[k] = v;
      return { o, note: `kind ${e.kind} with ${k} = ${JSON.stringify(v)?.slice(0, 30)}` };
    });
  const shapeDefects = fc.tuple(fc.constantFrom(...all), fc.nat()).chain(([e, n]) =>
    fc.constantFrom(
      // The same event with its id in upper case: a relay that reads hex case-insensitively stores the original (lenient).
      { o: { ...e, id: e.id.toUpperCase() }, note: 'an upper-case id', lenient: true },
      { o: { ...e, id: e.id.slice(0, 63) }, note: 'a 63-digit id' },
      { o: { ...e, sig: `${e.sig}00` }, note: 'a 130-digit signature' },
      { o: { ...e, kind: -1 }, note: 'kind -1' },
      { o: { ...e, kind: 1.5 }, note: 'kind 1.5' },
      { o: { ...e, kind: 70_000 + (n % 1000) }, note: 'kind past 65535' },
      { o: { ...e, created_at: -1 }, note: 'created_at -1' },
      { o: { ...e, created_at: e.created_at + 0.5 }, note: 'a fractional created_at' },
      { o: { ...e, tags: [['p', 5]] }, note: 'a tag value that is a number' },
      { o: { ...e, tags: ['d', 'x'] }, note: 'tags that are strings, not arrays' },
      { o: { ...e, tags: { d: 'x' } }, note: 'tags as an object' },
      { o: { ...e, extra: 1, id: flipHex(e.id, n) }, note: 'an extra field and a wrong id' },
    ),
  );
  const oversized = fc.tuple(fc.constantFrom(...f.pool), fc.integer({ min: 65, max: 200 })).map(([e, kb]) => {
    const big = { ...e, content: 'x'.repeat(kb * 1024) };
    return { e: big, note: `${kb} KiB content, the id and signature of the short original` };
  });
  const badAuth = fc.tuple(fc.constantFrom(...f.pool), fc.nat()).map(([e, n]) => ({
    ...e,
    kind: 22242,
    tags: [
      ['relay', 'ws://127.0.0.1'],
      ['challenge', 'not-the-challenge'],
    ],
    sig: flipHex(e.sig, n),
  }));
  const frame: fc.Arbitrary<RelayFrame> = fc.oneof(
    // Not JSON, or JSON that is no NIP-01 message.
    { arbitrary: malformedJson.map((d) => ({ cls: 'not-json', note: 'a frame that is not JSON', data: d, expect: 'any' as const })), weight: 3 },
    notArray.map((v) => text('not-an-array', `a message that is ${JSON.stringify(v).slice(0, 30)}`, v, 'any')),
    fc
      .constantFrom<unknown[]>([], [null], [5, 'x'], ['event', {}], ['NOPE'], ['EVENT'], ['REQ'], ['CLOSE'], ['AUTH'], ['COUNT'], ['OK', 'x', true, ''], ['EOSE', 'x'], ['NOTICE', 'x'])
      .map((m) => text('wrong-array', `the message ${JSON.stringify(m)}`, m, 'any')),
    fc.tuple(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 })).map(([verb, v]) => text('unknown-verb', `verb ${JSON.stringify(verb)}`, [`X${verb}`, v], 'any')),
    fc.nat({ max: 3000 }).map((n) => ({ cls: 'deep', note: `an array ${n + 100} deep`, data: `${'['.repeat(n + 100)}${']'.repeat(n + 100)}`, expect: 'any' as const })),
    fc.constant(text('deep', 'an EVENT whose content is an object 2,000 deep', `["EVENT",${deeplyNested('content', 2000)}]`, 'any')),
    // EVENT messages that are not NIP-01 events, or whose event does not verify.
    notObject.map((v) => text('event-not-object', `EVENT with ${JSON.stringify(v).slice(0, 30)}`, ['EVENT', v], 'any')),
    { arbitrary: wellFormedBad.map(({ e, note }) => text('event-one-field-off', note, ['EVENT', e], 'ok-false', { eventId: e.id })), weight: 6 },
    { arbitrary: misshapen.map(({ o, note }) => text('event-misshapen', note, ['EVENT', o], 'not-accepted', typeof o.id === 'string' ? { eventId: o.id } : {})), weight: 3 },
    {
      arbitrary: shapeDefects.map((x: { o: Record<string, unknown>; note: string; lenient?: boolean }) =>
        text('event-shape', x.note, ['EVENT', x.o], 'not-accepted', { eventId: String(x.o.id), ...(x.lenient ? { lenientMayAct: true as const } : {}) }),
      ),
      weight: 2,
    },
    fc
      .constantFrom(...f.pool)
      .map((e) => text('event-as-object', 'an EVENT message sent as a JSON object imitating the array', { 0: 'EVENT', 1: { ...e, sig: flipHex(e.sig, 1) } }, 'not-accepted', { eventId: e.id })),
    fc
      .constantFrom(...f.pool)
      .map((e) => text('event-extra-elements', 'an EVENT with a bad signature and extra array elements', ['EVENT', { ...e, sig: flipHex(e.sig, 7) }, 'x', 1], 'not-accepted', { eventId: e.id })),
    oversized.map(({ e, note }) => text('event-oversized', note, ['EVENT', e], 'not-accepted', { eventId: e.id, transport: 'frame-too-large' })),
    // AUTH with events that do not verify.
    badAuth.map((e) => text('auth', 'AUTH with a kind 22242 whose signature does not verify', ['AUTH', e], 'not-accepted', { eventId: e.id })),
    notObject.map((v) => text('auth', `AUTH with ${JSON.stringify(v).slice(0, 30)}`, ['AUTH', v], 'any')),
    // REQ, COUNT and CLOSE with bad subscription ids and filters.
    fc.tuple(notString, fc.constantFrom('REQ', 'COUNT')).map(([id, verb]) => text('req-sub-id', `${verb} with subscription id ${JSON.stringify(id).slice(0, 20)}`, [verb, id, { limit: 1 }], 'any')),
    fc
      .tuple(sub, fc.array(badFilter, { minLength: 1, maxLength: 3 }), fc.constantFrom('REQ', 'COUNT'))
      .map(([id, fs, verb]) => text('req-filter', `${verb} with filters ${JSON.stringify(fs).slice(0, 60)}`, [verb, id, ...fs], 'any', { subId: id })),
    sub.map((id) => text('req-no-filter', 'REQ with no filter', ['REQ', id], 'any', { subId: id })),
    fc.tuple(notString, fc.boolean()).map(([id, extra]) => text('close', `CLOSE with ${JSON.stringify(id).slice(0, 20)}`, extra ? ['CLOSE', id, 'x'] : ['CLOSE', id], 'any')),
    // Defects the WebSocket layer may refuse by closing.
    fc
      .uint8Array({ minLength: 1, maxLength: 64 })
      .filter((b) => !isUtf8(b))
      .map((d) => ({ cls: 'transport', note: 'a text frame that is not UTF-8', data: d, expect: 'any' as const, transport: 'invalid-utf8' })),
    fc.constantFrom(...f.pool).map((e) => ({
      cls: 'transport',
      note: 'an EVENT with a bad signature in a binary frame',
      data: new TextEncoder().encode(JSON.stringify(['EVENT', { ...e, sig: flipHex(e.sig, 3) }])),
      binary: true as const,
      expect: 'not-accepted' as const,
      eventId: e.id,
      transport: 'binary-frame',
    })),
  );
  // Whatever class a frame has, bytes that are not UTF-8 in a text frame, or a frame past 64 KiB, are a WebSocket-level defect too.
  return frame.map((fr) => {
    if (fr.transport !== undefined) return fr;
    if (typeof fr.data !== 'string' && !fr.binary && !isUtf8(fr.data)) return { ...fr, transport: 'invalid-utf8' };
    return sizeOf(fr.data) > CLOSE_OK_FRAME_BYTES ? { ...fr, transport: 'frame-too-large' } : fr;
  });
}

/** Whether the robustness scenario may send `fr` to a third party. */
export function thirdPartyFrame(fr: RelayFrame): boolean {
  return !fr.lenientMayAct;
}

// ---- HTTP: the L402 resource and the Lightning API ----------------------------------------------

/** Any malformed HTTP request to the L402 resource or the Lightning API described by `f`. */
export function malformedRequest(f: AsaFuzzContext): fc.Arbitrary<AsaFuzzRequest> {
  const req = (
    server: AsaHttpServer,
    cls: string,
    note: string,
    method: string,
    path: string,
    o: { body?: string | Uint8Array; headers?: Record<string, string>; expect4xx?: boolean; lenient?: boolean } = {},
  ): AsaFuzzRequest => ({
    server,
    cls,
    note,
    method,
    path,
    headers: o.headers ?? (o.body === undefined ? {} : JSON_HEADERS),
    body: o.body,
    expect4xx: o.expect4xx ?? true,
    ...(o.lenient ? { lenientMayAct: true as const } : {}),
  });
  const R = f.resourcePath;
  const sep = R.includes('?') ? '&' : '?';
  const L = (cls: string, note: string, method: string, path: string, o?: Parameters<typeof req>[5]) => req('l402', cls, note, method, path, o);
  const N = (cls: string, note: string, method: string, path: string, o?: Parameters<typeof req>[5]) => req('lightning', cls, note, method, path, o);
  const p = f.paid;
  const u = f.unpaid;
  const method = fc.constantFrom('GET', 'POST');
  // Credentials no reading of L402 serves: each is refused (401 or 402, ASA-PROF-08).
  const badCredential = fc.oneof(
    fc.nat().map((n) => ({ note: 'the paid macaroon with a wrong preimage', v: formatCredential({ macaroons: [p.macaroon], preimage: flipHex(p.preimage, n) }) })),
    fc.constant({ note: 'the unpaid macaroon with the paid token’s preimage', v: formatCredential({ macaroons: [u.macaroon], preimage: p.preimage }) }),
    hexString(64, 64).map((h) => ({ note: 'the unpaid macaroon with a random preimage', v: formatCredential({ macaroons: [u.macaroon], preimage: h }) })),
    fc.nat().map((n) => ({ note: 'the paid macaroon with one bit of its signature flipped', v: formatCredential({ macaroons: [flipSignature(p.macaroon, n)], preimage: p.preimage }) })),
    fc.constant({ note: 'the paid identifier under another root key', v: formatCredential({ macaroons: [f.forgedMacaroon], preimage: p.preimage }) }),
    fc.constant({ note: 'the paid macaroon attenuated to another service', v: formatCredential({ macaroons: [f.attenuated.otherService], preimage: p.preimage }) }),
    fc.constant({ note: 'the paid macaroon attenuated to an expiry in the past', v: formatCredential({ macaroons: [f.attenuated.expired], preimage: p.preimage }) }),
    fc.constant({ note: 'the paid macaroon cut in half', v: formatCredential({ macaroons: [p.macaroon.slice(0, p.macaroon.length >> 1)], preimage: p.preimage }) }),
    fc.constant({ note: 'the macaroon without a preimage', v: `L402 ${p.macaroon}` }),
    fc.constant({ note: 'a preimage without a macaroon', v: `L402 :${p.preimage}` }),
    fc.constant({ note: 'the macaroon as a Bearer token', v: `Bearer ${p.macaroon}` }),
    fc.constant({ note: 'a 63-digit preimage', v: `L402 ${p.macaroon}:${p.preimage.slice(1)}` }),
    fc.constant({ note: 'the preimage and macaroon swapped', v: `L402 ${p.preimage}:${p.macaroon}` }),
    headerValue(300).map((h) => ({ note: 'an Authorization of random characters', v: h })),
    headerValue(120).map((h) => ({ note: 'L402 and random characters', v: `L402 ${h}` })),
    fc
      .tuple(hexString(64, 64), fc.string({ unit: fc.constantFrom(...'ABCDEFabcdef0123456789+/='.split('')), minLength: 1, maxLength: 80 }))
      .map(([h, m]) => ({ note: 'LSAT with a random macaroon', v: `LSAT ${m}:${h}` })),
  );
  const paths = fc.oneof(
    fc.string({ maxLength: 12 }).map((s) => `${R.split('?')[0]}/zz${encodeURIComponent(s)}`),
    fc.string({ maxLength: 12 }).map((s) => `/zz${encodeURIComponent(s)}/x`),
  );
  const node = (k: string) => `/v1/nodes/${k}`;
  const junkNode = fc.oneof(
    fc.constantFrom('', 'abc', '%00', '..', f.ln.unknownNode, f.ln.unknownNode.toUpperCase(), `${f.ln.payer}00`, f.ln.payer.slice(2), '0'.repeat(66)),
    hexString(0, 70).map((h) => `zz${h}`),
  );
  const badMsat = fc.constantFrom<unknown>(-1, '-1', 1.5, '1.5', 'abc', '', '1e3', '0x10', [], {}, true);
  // Bodies no reader can take for the route's object: not JSON, or JSON of another type.
  const junkBody = fc.oneof(
    malformedJson,
    fc.json({ maxDepth: 2 }).filter((j) => !j.trimStart().startsWith('{')),
  );
  const cut = (s: string, n: number) => s.slice(0, 1 + (n % (s.length - 1)));
  return fc
    .oneof(
      // ---- L402: no credential (402), malformed or wrong ones (401/402), other methods and paths
      fc.tuple(method, fc.option(junkBody, { nil: undefined })).map(([m, b]) => L('l402-unpaid', 'no credential', m, R, m === 'POST' && b !== undefined ? { body: b } : {})),
      { arbitrary: fc.tuple(method, badCredential).map(([m, c]) => L('l402-credential', c.note, m, R, { headers: { authorization: c.v } })), weight: 6 },
      fc.tuple(method, badCredential).map(([m, c]) => L('l402-credential', `${c.note}, as LSAT`, m, R, { headers: { authorization: c.v.replace(/^L402 /, 'LSAT ') } })),
      fc
        .tuple(
          method,
          fc.oneof(
            fc.string({ maxLength: 20 }).map((s) => `zz-${encodeURIComponent(s)}`),
            fc.constantFrom('', '%00', '..', 'x'.repeat(300)),
          ),
        )
        .map(([m, d]) => L('l402-agreement', `agreement ${d.slice(0, 20)} that names nothing`, m, `${R}${sep}agreement=${d}`)),
      ...(f.agreementD
        ? [
            fc
              .tuple(method, badCredential)
              .map(([m, c]) => L('l402-agreement', `${c.note}, for the agreement`, m, `${R}${sep}agreement=${encodeURIComponent(f.agreementD!)}`, { headers: { authorization: c.v } })),
          ]
        : []),
      // With the paid credential and an agreement that names nothing: a server that ignores the parameter serves it (ASA-PROF-06 is the profile's).
      fc.constant(
        L('l402-agreement', 'the paid credential for an agreement that names nothing', 'GET', `${R}${sep}agreement=zz-none`, {
          headers: { authorization: formatCredential({ macaroons: [p.macaroon], preimage: p.preimage }) },
          lenient: true,
        }),
      ),
      // An upper-case preimage: the reference refuses it (aperture's lower-case rule, ASA-L402-10); a server that lower-cases it first would serve it.
      fc.constant(
        L('l402-credential', 'the paid credential with an upper-case preimage', 'GET', R, {
          headers: { authorization: formatCredential({ macaroons: [p.macaroon], preimage: p.preimage.toUpperCase() }) },
          lenient: true,
        }),
      ),
      fc.constantFrom('PUT', 'DELETE', 'PATCH').map((m) => L('l402-method', `${m} on the resource without a credential`, m, R, { body: '{}' })),
      fc.tuple(fc.constantFrom('GET', 'POST', 'DELETE'), paths).map(([m, path]) => L('l402-unknown-route', `${m} on an unpublished path`, m, path, m === 'GET' ? {} : { body: '{}' })),
      // ---- Lightning: node registration with keys no reading accepts
      fc
        .oneof(fc.constantFrom<unknown>('', 'zz', 5, null, [], {}, '0'.repeat(64), 'f'.repeat(64)), hexString(0, 63), hexString(65, 80))
        .map((k) => N('ln-node', `privateKey ${JSON.stringify(k).slice(0, 24)}`, 'POST', '/v1/nodes', { body: JSON.stringify({ privateKey: k, alias: 'rob', hubs: true }) })),
      fc.nat().map((n) => N('ln-node', 'a fresh node key in a body cut short', 'POST', '/v1/nodes', { body: cut(JSON.stringify({ privateKey: f.ln.freshNodeKey, hubs: true }), n) })),
      junkBody.map((b) => N('ln-node', 'a body that is not a JSON object', 'POST', '/v1/nodes', { body: b })),
      // ---- channels to nobody, to oneself, with amounts no reading takes
      fc.tuple(junkNode, fc.boolean()).map(([k, first]) =>
        N('ln-channel', `a channel ${first ? 'from' : 'to'} ${k.slice(0, 12)}`, 'POST', '/v1/channels', {
          body: JSON.stringify(first ? { node1: k, node2: f.ln.payee, balance1Msat: '1000', balance2Msat: '0' } : { node1: f.ln.payer, node2: k, balance1Msat: '1000', balance2Msat: '0' }),
        }),
      ),
      fc.constant(
        N('ln-channel', 'a channel from the payer to itself', 'POST', '/v1/channels', { body: JSON.stringify({ node1: f.ln.payer, node2: f.ln.payer, balance1Msat: '1000', balance2Msat: '0' }) }),
      ),
      fc.tuple(fc.constantFrom('balance1Msat', 'balance2Msat'), badMsat).map(([k, v]) =>
        N('ln-channel', `${k} ${JSON.stringify(v)}`, 'POST', '/v1/channels', {
          body: JSON.stringify({ node1: f.ln.payer, node2: f.ln.payee, balance1Msat: '1000', balance2Msat: '0', [k]: v }),
          // Exponent and hex strings: a lenient parser reads a number.
          lenient: v === '1e3' || v === '0x10' || v === true || v === '',
        }),
      ),
      junkBody.map((b) => N('ln-channel', 'a body that is not a JSON object', 'POST', '/v1/channels', { body: b })),
      // ---- invoices: bad amounts, unknown nodes (creating an invoice moves no money: any answer below 500 for a lenient amount)
      badMsat.map((v) =>
        N('ln-invoice', `amountMsat ${JSON.stringify(v)}`, 'POST', `${node(f.ln.payee)}/invoices`, {
          body: JSON.stringify({ amountMsat: v, description: 'rob' }),
          lenient: v === '1e3' || v === '0x10' || v === true || v === '',
        }),
      ),
      junkNode.map((k) => N('ln-invoice', `an invoice of node ${k.slice(0, 12)}`, 'POST', `${node(k)}/invoices`, { body: JSON.stringify({ amountMsat: '1000' }) })),
      fc.tuple(junkNode, hexString(0, 70)).map(([k, h]) => N('ln-invoice-read', 'an invoice lookup that names nothing', 'GET', `${node(k)}/invoices/${h}`, { expect4xx: false })),
      hexString(0, 70).map((h) => N('ln-invoice-read', 'a lookup of an invoice nobody issued', 'GET', `${node(f.ln.payee)}/invoices/${h}`, { expect4xx: false })),
      // ---- payments that no route, no invoice or no rule lets through
      fc
        .tuple(
          fc.oneof(
            fc.constant({ note: 'an invoice already paid', pr: f.ln.paidInvoice }),
            fc.constant({ note: 'an expired invoice', pr: f.ln.expiredInvoice }),
            fc.constant({ note: 'an invoice of a node nobody registered', pr: f.ln.foreignInvoice }),
            fc.nat().map((n) => ({ note: 'the open invoice with one character changed', pr: flipBech32(f.ln.openInvoice, n) })),
            fc.nat().map((n) => ({ note: 'the open invoice cut short', pr: cut(f.ln.openInvoice, n) })),
            fc.string({ maxLength: 60 }).map((s) => ({ note: 'a paymentRequest of random characters', pr: s })),
            fc.constant({ note: 'the open invoice in upper case with a prefix', pr: `lightning:${f.ln.openInvoice}x` }),
          ),
          fc.constantFrom(f.ln.payer, f.ln.payee),
        )
        .map(([x, from]) => N('ln-payment', x.note, 'POST', `${node(from)}/payments`, { body: JSON.stringify({ paymentRequest: x.pr }) })),
      fc.constant(
        N('ln-payment', 'the open invoice with a fee limit of 0 (every route has a fee)', 'POST', `${node(f.ln.payer)}/payments`, {
          body: JSON.stringify({ paymentRequest: f.ln.openInvoice, maxFeeMsat: '0' }),
          // The reference's hubs charge a fee; a network whose hubs forward for free would pay it.
          lenient: true,
        }),
      ),
      badMsat.map((v) =>
        N('ln-payment', `the open invoice with maxFeeMsat ${JSON.stringify(v)}`, 'POST', `${node(f.ln.payer)}/payments`, {
          body: JSON.stringify({ paymentRequest: f.ln.openInvoice, maxFeeMsat: v }),
          // A server that ignores a fee limit it cannot read pays with none (ASA-PROF-10 does not pin it).
          lenient: true,
        }),
      ),
      junkNode.map((k) => N('ln-payment', `the open invoice paid by node ${k.slice(0, 12)}`, 'POST', `${node(k)}/payments`, { body: JSON.stringify({ paymentRequest: f.ln.openInvoice }) })),
      fc
        .constantFrom('PUT', 'PATCH', 'DELETE')
        .map((m) => N('ln-payment', `the open invoice sent with ${m}`, m, `${node(f.ln.payer)}/payments`, { body: JSON.stringify({ paymentRequest: f.ln.openInvoice }) })),
      fc
        .constantFrom('pay', 'payment', 'payments/x')
        .map((s) => N('ln-payment', `the open invoice POSTed to /${s}`, 'POST', `${node(f.ln.payer)}/${s}`, { body: JSON.stringify({ paymentRequest: f.ln.openInvoice }) })),
      junkBody.map((b) => N('ln-payment', 'a body that is not a JSON object', 'POST', `${node(f.ln.payer)}/payments`, { body: b })),
      // ---- online: bodies no reading takes
      junkBody.map((b) => N('ln-online', 'a body that is not a JSON object', 'POST', `${node(f.ln.payee)}/online`, { body: b })),
      fc
        .constantFrom<unknown>('false', 0, null, 'no')
        .map((v) => N('ln-online', `online ${JSON.stringify(v)}`, 'POST', `${node(f.ln.payee)}/online`, { body: JSON.stringify({ online: v }), lenient: true })),
      // ---- other methods and paths
      fc.constantFrom('PUT', 'DELETE', 'PATCH').map((m) => N('ln-method', `${m} on /v1/channels`, m, '/v1/channels', { body: '{}' })),
      fc
        .tuple(fc.constantFrom('GET', 'POST', 'DELETE'), fc.string({ maxLength: 12 }))
        .map(([m, s]) => N('ln-unknown-route', `${m} on an unpublished path`, m, `/v1/zz${encodeURIComponent(s)}`, m === 'GET' ? {} : { body: '{}' })),
      // ---- both: defects the HTTP layer meets first
      transportDefects<AsaHttpServer>([
        { server: 'l402', read: f.resourcePath.split('?')[0]!, write: f.resourcePath },
        { server: 'lightning', read: '/v1/nodes', write: `/v1/nodes/${f.ln.payer}/payments` },
      ]),
    )
    .chain(withHarmlessJunk);
}

/** Whether the robustness scenario may send `r` to a third party: every careful reading refuses it without acting. */
export function thirdPartyRequest(r: AsaFuzzRequest): boolean {
  return !r.lenientMayAct;
}
