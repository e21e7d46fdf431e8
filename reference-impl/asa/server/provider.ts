/**
 * The reference ASA provider agent: a Nostr identity that advertises a capability (38400), negotiates
 * over NIP-17 gift-wrapped DMs (service_request → service_offer | reject; accept → a 38402 `active`
 * agreement; complete → `completed` with the settled `payment_hash`; dispute → `disputed`; a timeout
 * without completion → `expired`), and serves its endpoint behind L402 on a Lightning node of the
 * simulated network. State (root key, tokens, offers, agreements) is in SQLite.
 *
 * HTTP:
 *   GET  /health                       {ok, pubkey, node}
 *   GET|POST /v1/<service>[?agreement=d]  the paid resource (402 + WWW-Authenticate until paid)
 *   GET  /reputation/<pubkey>          the PR's proof-of-payment verification over the relay's 38403s
 */
import { createHash, randomBytes } from 'node:crypto';
import { keepIdleSockets } from '../../_shared/http.ts';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { finalizeEvent, getPublicKey } from 'nostr-tools/pure';
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay';
import WebSocket from 'ws';
import { LightningClient } from '../agents/lightning.ts';
import { DmKey, type Rumor } from '../protocol/dm.ts';
import { agreementTags, type AgreementStatus, capabilityTags, canTransition, KIND, type NostrEvent } from '../protocol/events.ts';
import { formatChallenge, parseCredential } from '../protocol/l402.ts';
import { caveatsOf, identifierOf, mintMacaroon, sha256hex, verifyMacaroon } from '../protocol/macaroons.ts';
import { parseDm } from '../protocol/negotiation.ts';
import { scoreAttestations } from '../protocol/reputation.ts';
import { guard, readRaw, refuse, send } from './http.ts';
import { ASA_CONSTANTS } from '../protocol/constants.ts';

useWebSocketImplementation(WebSocket);

export interface ProviderFaults {
  /** Invoice amount one sat above the price. */
  wrongAmount?: boolean;
  /** Invoices signed by another node than the provider's. */
  foreignNode?: boolean;
  /** Challenge carries no invoice. */
  noInvoice?: boolean;
  /** A preimage need not hash to the token's payment hash. */
  skipPreimageCheck?: boolean;
  /** The macaroon's HMAC chain is not verified (identifier lookup only). */
  skipSignature?: boolean;
  ignoreExpiry?: boolean;
  ignoreServices?: boolean;
  ignoreCount?: boolean;
  rejectUnknownCaveats?: boolean;
  rejectLsat?: boolean;
  /** A malformed Authorization header crashes the handler (500). */
  crashOnMalformed?: boolean;
  /** Offers below the floor when the budget is lower. */
  ignoreFloor?: boolean;
  /** Replies to DMs in clear (kind 4 style, content not encrypted). */
  plaintextReply?: boolean;
  /** The agreement names only the requester (no p tag with role provider). */
  agreementOneParty?: boolean;
  /** Completion and dispute DMs from anyone are honoured. */
  anyoneMayComplete?: boolean;
  /** A completed agreement can be disputed afterwards (illegal transition). */
  disputeAfterComplete?: boolean;
  /** Completed without payment_hash. */
  noPaymentHash?: boolean;
  /** Never marks agreements expired. */
  neverExpire?: boolean;
  /** Omits `d` on 38402 (the SDK dialect). */
  omitAgreementD?: boolean;
  /** Capability price written as "fifty". */
  badPriceTag?: boolean;
  /** Reputation view: counts self-attestations, fake proofs and duplicates. */
  naiveReputation?: boolean;
  /** Reputation view: ignores proof-bearing attestations too. */
  emptyReputation?: boolean;
  /** The agreement carries the listed price, not the negotiated one. */
  agreementListedPrice?: boolean;
  /** Refuses every paid credential. */
  refusePaid?: boolean;
  /** Never answers service requests. */
  silent?: boolean;
  /** The L402 root key is kept in memory only: a new one at every start, so issued macaroons stop verifying after a restart. */
  rootKeyPerStart?: boolean;
  /** Issued tokens (the paid-invoice memory) are kept in memory only: a restart forgets them, and a paid buyer is refused. */
  tokensInMemory?: boolean;
  /** Token use counts are kept in memory only: a restart resets them, and a spent token is served again. */
  usesInMemory?: boolean;
  /** The request count is judged on the value read before the settlement lookup: two deliveries of one credential at once are both served. */
  staleUseCount?: boolean;
}

/** How long the provider waits for the relay's OK to one publish before sending the event again. */
const RELAY_OK_WAIT_MS = 30_000;

export interface ProviderOptions {
  relayUrl: string;
  lightningUrl: string;
  /** Nostr secret key (hex). */
  nostrKey: string;
  /** Lightning node secret key (hex). */
  nodeKey: string;
  host?: string;
  port?: number;
  db?: string;
  service?: string;
  priceSats?: bigint;
  floorSats?: bigint;
  /** Challenge generation(s): aperture's pair (LSAT + L402 macaroon=), or the 2026 token= form. */
  challenge?: 'aperture' | 'token';
  /** Seconds a token stays valid (default 3600: ASA-PROF-07). */
  tokenLifetime?: number;
  /** Requests one token buys (default 1: ASA-PROF-07). */
  tokenMaxRequests?: number;
  faults?: ProviderFaults;
}

export interface RunningProvider {
  url: string;
  resourceUrl: string;
  pubkey: string;
  node: string;
  capabilityId: string;
  server: Server;
  stop(): Promise<void>;
}

interface AgreementRow {
  d: string;
  requester: string;
  capability: string;
  price_sats: string;
  status: AgreementStatus;
  event_id: string;
  created_at: number;
  deadline: number;
  payment_hash: string | null;
}

export async function startProvider(o: ProviderOptions): Promise<RunningProvider> {
  const faults = o.faults ?? {};
  const service = o.service ?? 'translate';
  const price = o.priceSats ?? 50n;
  const floor = o.floorSats ?? 30n;
  const sk = new Uint8Array(Buffer.from(o.nostrKey, 'hex'));
  const pubkey = getPublicKey(sk);
  const dms = new DmKey(sk);
  const ln = new LightningClient(o.lightningUrl);
  const node = (await ln.addNode(o.nodeKey, { alias: 'asa-provider', hubs: true })).pubkey;
  const foreign = faults.foreignNode ? (await ln.addNode(randomBytes(32).toString('hex'), { alias: 'not-the-provider', hubs: true })).pubkey : null;

  const db = new DatabaseSync(o.db ?? ':memory:');
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS tokens (token_id TEXT PRIMARY KEY, payment_hash TEXT NOT NULL, agreement TEXT, amount_msat TEXT NOT NULL, uses INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS offers (rumor_id TEXT PRIMARY KEY, requester TEXT NOT NULL, capability TEXT NOT NULL, price_sats TEXT NOT NULL, timeout INTEGER NOT NULL, accepted INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS versions (event_id TEXT PRIMARY KEY, d TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS agreements (d TEXT PRIMARY KEY, requester TEXT NOT NULL, capability TEXT NOT NULL, price_sats TEXT NOT NULL, status TEXT NOT NULL, event_id TEXT NOT NULL, created_at INTEGER NOT NULL, deadline INTEGER NOT NULL, payment_hash TEXT);
    CREATE TABLE IF NOT EXISTS handled_dms (wrap_id TEXT PRIMARY KEY);
    CREATE TABLE IF NOT EXISTS capability_versions (event_id TEXT PRIMARY KEY);
  `);
  // Test-only: state a careless provider would keep in memory, lost as at a restart.
  if (faults.rootKeyPerStart) db.exec("DELETE FROM meta WHERE k = 'root'");
  if (faults.tokensInMemory) db.exec('DELETE FROM tokens');
  if (faults.usesInMemory) db.exec('UPDATE tokens SET uses = 0');
  let root = (db.prepare("SELECT v FROM meta WHERE k = 'root'").get() as { v: string } | undefined)?.v;
  if (!root) {
    root = randomBytes(32).toString('hex');
    db.prepare("INSERT INTO meta (k, v) VALUES ('root', ?)").run(root);
  }
  const rootKey = new Uint8Array(Buffer.from(root, 'hex'));

  // ---- HTTP: the L402 resource -------------------------------------------------------------------
  const now = () => Math.floor(Date.now() / 1000);
  const agreementRow = (d: string) => db.prepare('SELECT * FROM agreements WHERE d = ?').get(d) as AgreementRow | undefined;

  async function challenge(res: ServerResponse, agreement: string | null, reason: string): Promise<void> {
    const row = agreement ? agreementRow(agreement) : undefined;
    const sats = row ? BigInt(row.price_sats) : price;
    const amountMsat = sats * 1000n + (faults.wrongAmount ? 1000n : 0n);
    const inv = await ln.invoice(foreign ?? node, { amountMsat, description: `asa:${service}${row ? `:${row.d}` : ''}`, expiry: 600 });
    const tokenId = randomBytes(32).toString('hex');
    const mac = mintMacaroon({
      rootKey,
      paymentHash: inv.paymentHash,
      tokenId,
      service,
      validUntil: now() + (o.tokenLifetime ?? ASA_CONSTANTS.defaults.tokenLifetimeSeconds),
      maxRequests: o.tokenMaxRequests ?? ASA_CONSTANTS.defaults.tokenMaxRequests,
    });
    db.prepare('INSERT INTO tokens (token_id, payment_hash, agreement, amount_msat, created_at) VALUES (?, ?, ?, ?, ?)').run(tokenId, inv.paymentHash, row?.d ?? null, amountMsat.toString(), now());
    const invoice = faults.noInvoice ? '' : inv.paymentRequest;
    const headers =
      o.challenge === 'token'
        ? [formatChallenge({ macaroon: mac, invoice, generation: 'token' })]
        : [formatChallenge({ macaroon: mac, invoice, scheme: 'LSAT' }), formatChallenge({ macaroon: mac, invoice, scheme: 'L402' })];
    send(res, 402, { error: { code: 'payment_required', message: reason }, invoice, macaroon: mac }, { 'www-authenticate': headers });
  }

  async function resource(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    req.resume();
    const agreement = url.searchParams.get('agreement');
    if (agreement !== null && !agreementRow(agreement)) return refuse(res, 404, 'unknown_agreement', 'no agreement with that d');
    const auth = req.headers.authorization;
    if (!auth) return challenge(res, agreement, 'payment required');
    if (faults.crashOnMalformed && !/^(LSAT|L402) /.test(auth)) throw new Error('cannot parse the credential');
    const cred = parseCredential(auth);
    if (!cred) return challenge(res, agreement, 'malformed L402 credential; here is a fresh challenge');
    if (cred.scheme === 'LSAT' && faults.rejectLsat) return refuse(res, 401, 'unsupported_scheme', 'use L402');
    const mac = cred.macaroons[0]!;
    let id: ReturnType<typeof identifierOf>;
    try {
      id = identifierOf(mac);
    } catch {
      id = null;
    }
    if (!id) return refuse(res, 401, 'invalid_macaroon', 'the macaroon does not decode or has no L402 identifier');
    const tok = db.prepare('SELECT * FROM tokens WHERE token_id = ?').get(id.tokenId) as { payment_hash: string; agreement: string | null; uses: number } | undefined;
    if (!tok || tok.payment_hash !== id.paymentHash) return refuse(res, 401, 'unknown_token', 'this server minted no such token');
    if (!faults.skipPreimageCheck && sha256hex(cred.preimage) !== id.paymentHash) return refuse(res, 401, 'wrong_preimage', 'the preimage does not hash to the token’s payment hash');
    const caveatProblem = (used: number) =>
      faults.skipSignature
        ? null
        : verifyMacaroon(mac, rootKey, {
            service,
            ignore: faults.ignoreServices ? ['services'] : [],
            now: faults.ignoreExpiry ? 0 : now(),
            used: faults.ignoreCount ? 0 : used,
          });
    const problem = caveatProblem(tok.uses);
    if (problem) return refuse(res, 401, 'caveat_failed', problem);
    if (faults.rejectUnknownCaveats) {
      if (caveatsOf(mac).some((c) => !/^(services|[a-z0-9-]+_(valid_until|max_requests))=/.test(c))) return refuse(res, 401, 'caveat_failed', 'unknown caveat');
    }
    const inv = await ln.lookup(foreign ?? node, id.paymentHash).catch(() => null);
    if (!faults.skipPreimageCheck && inv?.state !== 'SETTLED') return refuse(res, 401, 'unpaid', 'the invoice is not settled');
    if (faults.refusePaid) return refuse(res, 401, 'refused', 'refused');
    // Test-only: a slow lookup, so that the stale count's race shows in one run.
    if (faults.staleUseCount) await new Promise((r) => setTimeout(r, 50));
    // The count again, read after the lookup's await: a second delivery of the same credential may have used the token meanwhile.
    const uses = (db.prepare('SELECT uses FROM tokens WHERE token_id = ?').get(id.tokenId) as { uses: number }).uses;
    const spent = uses === tok.uses || faults.staleUseCount ? null : caveatProblem(uses);
    if (spent) return refuse(res, 401, 'caveat_failed', spent);
    db.prepare('UPDATE tokens SET uses = uses + 1 WHERE token_id = ?').run(id.tokenId);
    if (tok.agreement) {
      const row = agreementRow(tok.agreement);
      if (row && row.status === 'active') db.prepare('UPDATE agreements SET payment_hash = ? WHERE d = ?').run(id.paymentHash, row.d);
    }
    let input = '';
    if (req.method === 'GET') input = url.searchParams.get('text') ?? '';
    send(res, 200, { service, agreement: tok.agreement, result: `translated:${input.slice(0, 200)}`, paymentHash: id.paymentHash });
  }

  // ---- Nostr ------------------------------------------------------------------------------------
  const relay = await Relay.connect(o.relayUrl);
  // A loaded relay answers OK in seconds: nostr-tools gives up after 4.4 s, and a handler whose
  // publish failed was lost (its DM is marked handled first), leaving an accept without its
  // agreement or a complete without its status under load. Wait longer, and send the same event
  // again when no OK came (a relay answers a duplicate with OK).
  relay.publishTimeout = RELAY_OK_WAIT_MS;
  const toRelay = async (e: NostrEvent): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await relay.publish(e as never);
        return;
      } catch (err) {
        if (attempt >= 3 || !/timed out/i.test(String(err))) throw err;
      }
    }
  };
  const sign = async (t: { kind: number; tags: string[][]; content: string; created_at: number }) => finalizeEvent(t, sk);
  relay.onauth = sign as never;
  for (let i = 0; i < 100; i++) {
    try {
      await relay.auth(sign as never);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  // A new version of an addressable event must be later than the one it replaces (NIP-01 keeps the
  // latest created_at), across restarts too: a version published in the same second as one before a
  // crash would not replace it. Counted per address, not for the provider as a whole: one counter for
  // every event ran ahead of the clock under load (three versions an agreement, several agreements a
  // second) until the relay refused the provider's events as from the future. Others carry the clock.
  const stamp = (address?: string) => {
    if (address === undefined) return now();
    const key = `last_created:${address}`;
    const last = Number((db.prepare('SELECT v FROM meta WHERE k = ?').get(key) as { v: string } | undefined)?.v ?? 0);
    const t = Math.max(now(), last + 1);
    db.prepare('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v').run(key, String(t));
    return t;
  };
  const publish = async (kind: number, tags: string[][], content: string): Promise<NostrEvent> => {
    const address = kind >= 30_000 && kind < 40_000 ? `${kind}:${tags.find((t) => t[0] === 'd')?.[1] ?? ''}` : undefined;
    const e = finalizeEvent({ kind, tags, content, created_at: stamp(address) }, sk) as NostrEvent;
    await toRelay(e);
    return e;
  };

  const http = createServer((req, res) => {
    void guard(res, async () => {
      const url = new URL(`http://x${req.url ?? '/'}`);
      // Read (and ignore) every body first, so no answer leaves unread bytes on a keep-alive connection.
      await readRaw(req);
      if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, { ok: true, pubkey, node, service });
      if ((req.method === 'GET' || req.method === 'POST') && url.pathname === `/v1/${service}`) return resource(req, res, url);
      const rep = /^\/reputation\/([0-9a-f]{64})$/.exec(url.pathname);
      if (req.method === 'GET' && rep) return reputation(res, rep[1]!);
      req.resume();
      refuse(res, 404, 'not_found', 'no such route');
    });
  });
  keepIdleSockets(http);
  const listen = () => new Promise<void>((r) => http.listen(o.port ?? 0, o.host ?? '127.0.0.1', r));
  // A fixed port is known before listening: listen last, so that answering means started (a
  // supervisor restarting it polls /health, then may kill it again at once); port 0 must listen first.
  if (!o.port) await listen();
  const url = `http://${o.host ?? '127.0.0.1'}:${o.port || (http.address() as AddressInfo).port}`;
  const resourceUrl = `${url}/v1/${service}`;

  const capability = await publish(
    KIND.capability,
    capabilityTags({
      d: `${service}-v1`,
      s: [service],
      prices: [{ amount: faults.badPriceTag ? 'fifty' : price.toString(), currency: 'sats', frequency: 'per-request' }],
      l402: resourceUrl,
      endpoint: { url: resourceUrl, method: 'POST' },
      capacity: { amount: '100', unit: 'requests/hour' },
      uptime: '0.999',
      t: [service, 'asa-reference'],
      negotiable: { kind: 'floor', amount: floor.toString() },
    }),
    `Reference ASA provider: ${service} at ${price} sats per request, negotiable down to ${floor} sats.`,
  );
  // Every start publishes a new version: a requester may name any of them (one found before a restart).
  db.prepare('INSERT OR IGNORE INTO capability_versions (event_id) VALUES (?)').run(capability.id);
  const isOurCapability = (id: string) => db.prepare('SELECT 1 FROM capability_versions WHERE event_id = ?').get(id) !== undefined;

  const reply = async (to: string, msg: object): Promise<void> => {
    const text = JSON.stringify(msg);
    if (faults.plaintextReply) {
      await publish(4, [['p', to]], text);
      return;
    }
    const wrap = dms.wrap(dms.rumor(to, text), to);
    await toRelay(wrap);
  };

  const publishAgreement = async (row: AgreementRow, status: AgreementStatus, paymentHash?: string): Promise<NostrEvent> => {
    const tags = agreementTags({
      d: row.d,
      provider: pubkey,
      requester: row.requester,
      capability: row.capability,
      l402: resourceUrl,
      terms: [
        { type: 'per-request', value: faults.agreementListedPrice ? price.toString() : row.price_sats, unit: 'sats' },
        { type: 'timeout', value: String(row.deadline - row.created_at), unit: 'seconds' },
      ],
      status,
      paymentHash,
      expiration: row.deadline + 86_400,
    }).filter((t) => !(faults.omitAgreementD && t[0] === 'd') && !(faults.agreementOneParty && t[0] === 'p' && t[3] === 'provider'));
    const e = await publish(KIND.agreement, tags, `Agreement ${row.d}: ${service} for ${row.price_sats} sats per request (${status}).`);
    db.prepare('UPDATE agreements SET status = ?, event_id = ? WHERE d = ?').run(status, e.id, row.d);
    db.prepare('INSERT OR IGNORE INTO versions (event_id, d) VALUES (?, ?)').run(e.id, row.d);
    return e;
  };

  const handling: Promise<void>[] = [];
  async function onDm(wrap: NostrEvent): Promise<void> {
    // A restart subscribes again and the relay serves every stored wrap (their created_at is randomised,
    // so no `since`): answer each at most once, marked before handling (a crash inside a handler loses
    // its rest, as the requester can see, rather than answering an accept it already honoured with a reject).
    if (db.prepare('INSERT OR IGNORE INTO handled_dms (wrap_id) VALUES (?)').run(wrap.id).changes === 0) return;
    await handleDm(wrap);
  }
  async function handleDm(wrap: NostrEvent): Promise<void> {
    let rumor: Rumor;
    try {
      rumor = dms.unwrap(wrap);
    } catch {
      return; // not for us, or not a valid gift wrap
    }
    const msg = parseDm(rumor.content);
    if (!msg || faults.silent) return;
    const from = rumor.pubkey;
    if (msg.type === 'service_request') {
      if (!isOurCapability(msg.capability)) return reply(from, { type: 'reject', reason: 'unknown capability' });
      const budget = msg.budget === undefined ? price : BigInt(msg.budget);
      const offer = budget >= price ? price : budget >= floor || faults.ignoreFloor ? budget : null;
      if (offer === null) return reply(from, { type: 'reject', reason: `budget ${budget} sats is below the floor of ${floor} sats` });
      const timeout = Math.min(Math.max(msg.timeout ?? 3600, 1), 86_400);
      const text = JSON.stringify({
        type: 'service_offer',
        price: Number(offer),
        price_model: 'per-request',
        l402_endpoint: resourceUrl,
        terms: { timeout, max_requests: 10, total_cap: Number(offer) * 10 },
      });
      if (faults.plaintextReply) {
        const e = await publish(4, [['p', from]], text);
        db.prepare('INSERT OR IGNORE INTO offers (rumor_id, requester, capability, price_sats, timeout) VALUES (?, ?, ?, ?, ?)').run(e.id, from, capability.id, offer.toString(), timeout);
        return;
      }
      const rumorOut = dms.rumor(from, text, now());
      db.prepare('INSERT OR IGNORE INTO offers (rumor_id, requester, capability, price_sats, timeout) VALUES (?, ?, ?, ?, ?)').run(rumorOut.id, from, capability.id, offer.toString(), timeout);
      const wrapOut = dms.wrap(rumorOut, from);
      await toRelay(wrapOut);
      return;
    }
    if (msg.type === 'accept') {
      const off = db.prepare('SELECT * FROM offers WHERE rumor_id = ?').get(msg.offer_event) as
        | { requester: string; capability: string; price_sats: string; timeout: number; accepted: number }
        | undefined;
      if (!off || off.requester !== from || off.accepted) return reply(from, { type: 'reject', reason: 'no open offer with that id for you' });
      db.prepare('UPDATE offers SET accepted = 1 WHERE rumor_id = ?').run(msg.offer_event);
      const d = `asa-${randomBytes(8).toString('hex')}`;
      const t = now();
      db.prepare('INSERT INTO agreements (d, requester, capability, price_sats, status, event_id, created_at, deadline) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
        d,
        from,
        off.capability,
        off.price_sats,
        'proposed',
        '',
        t,
        t + off.timeout,
      );
      const row = agreementRow(d)!;
      await publishAgreement(row, 'proposed');
      const active = await publishAgreement({ ...row, status: 'proposed' }, 'active');
      return reply(from, { type: 'agreement', asa: active.id, d });
    }
    if (msg.type === 'complete' || msg.type === 'dispute') {
      // `asa` names the agreement by the id of any of its versions (or by its d).
      const d = (db.prepare('SELECT d FROM versions WHERE event_id = ?').get(msg.asa) as { d: string } | undefined)?.d ?? msg.asa;
      const row = agreementRow(d);
      if (!row) return;
      if (row.requester !== from && !faults.anyoneMayComplete) return;
      const to: AgreementStatus = msg.type === 'complete' ? 'completed' : 'disputed';
      if (!canTransition(row.status, to) && !(faults.disputeAfterComplete && row.status === 'completed' && to === 'disputed')) return;
      await publishAgreement(row, to, to === 'completed' && !faults.noPaymentHash ? (row.payment_hash ?? undefined) : undefined);
    }
  }

  const sub = relay.subscribe([{ kinds: [1059], '#p': [pubkey] }], {
    onevent: (e) => {
      const p = onDm(e as NostrEvent).catch(() => {});
      handling.push(p);
      void p.finally(() => handling.splice(handling.indexOf(p), 1));
    },
  });

  const expiry = setInterval(() => {
    if (faults.neverExpire) return;
    const due = db.prepare("SELECT * FROM agreements WHERE status = 'active' AND deadline <= ?").all(now()) as unknown as AgreementRow[];
    for (const row of due) void publishAgreement(row, 'expired').catch(() => {});
  }, 250);

  async function reputation(res: ServerResponse, subject: string): Promise<void> {
    if (subject !== pubkey) return refuse(res, 404, 'unknown_subject', 'this provider verifies its own reputation only (it can check settlement on its own node)');
    const list = await collect([{ kinds: [KIND.attestation], '#p': [subject] }]);
    const ids = [...new Set(list.flatMap((a) => a.tags.filter((t) => t[0] === 'e' && t[1]).map((t) => t[1]!)))];
    const agreements = new Map<string, NostrEvent>();
    if (ids.length) for (const e of await collect([{ ids }])) agreements.set(e.id, e);
    const settledHashes = new Set<string>();
    for (const a of list) {
      const proof = a.tags.find((t) => t[0] === 'proof')?.[1];
      if (proof && /^[0-9a-f]{64}$/.test(proof)) {
        const inv = await ln.lookup(node, proof).catch(() => null);
        if (inv?.state === 'SETTLED') settledHashes.add(proof);
      }
    }
    if (faults.emptyReputation) return send(res, 200, { subject, count: 0, withProof: 0, average: null, counted: [], ignored: [] });
    if (faults.naiveReputation) {
      const counted = list.map((a) => ({ id: a.id, rating: Number(a.tags.find((t) => t[0] === 'rating')?.[1] ?? 0), proof: a.tags.some((t) => t[0] === 'proof') }));
      return send(res, 200, { subject, count: counted.length, withProof: counted.filter((c) => c.proof).length, average: null, counted, ignored: [] });
    }
    send(
      res,
      200,
      scoreAttestations(subject, list, agreements, (h) => settledHashes.has(h)),
    );
  }

  function collect(filters: object[]): Promise<NostrEvent[]> {
    return new Promise((resolve) => {
      const out: NostrEvent[] = [];
      const s = relay.subscribe(filters as never, {
        onevent: (e) => out.push(e as NostrEvent),
        oneose: () => {
          s.close();
          resolve(out);
        },
        eoseTimeout: 3000,
      });
    });
  }

  if (o.port) await listen();

  return {
    url,
    resourceUrl,
    pubkey,
    node,
    capabilityId: capability.id,
    server: http,
    stop: async () => {
      clearInterval(expiry);
      sub.close();
      await Promise.allSettled(handling);
      relay.close();
      await new Promise<void>((r) => {
        http.close(() => r());
        http.closeAllConnections();
      });
      db.close();
    },
  };
}

export const paymentHashOf = (preimage: string): string => createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex');
