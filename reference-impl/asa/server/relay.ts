/**
 * The reference Nostr relay: WebSocket (`ws`), events verified with nostr-tools, stored in SQLite
 * (`node:sqlite`). NIP-01 (EVENT/REQ/CLOSE/COUNT, OK/EOSE/CLOSED/NOTICE; filters ids, authors,
 * kinds, `#<letter>`, since/until inclusive, limit newest first with ties by lowest id), replaceable
 * and addressable replacement (`kind:pubkey:d`; an older version is refused; same second: lowest id
 * wins), NIP-09 deletion (by `e` and by `a`, only the author's own events, resubmission refused),
 * NIP-40 expiration (expired events are refused and no longer served), NIP-42 AUTH (a challenge on
 * connect; kind 22242), and gift wraps (kind 1059) served only to the authenticated pubkey named in
 * their `p` tag (NIP-17/59). An HTTP GET answers the NIP-11 document.
 *
 * Bad input never changes state: a frame that is not JSON, an unknown verb, a malformed event or
 * filter gets a NOTICE, an `OK false` or a `CLOSED`, and the relay goes on.
 */
import { randomBytes } from 'node:crypto';
import { keepIdleSockets } from '../../_shared/http.ts';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { verifyEvent } from 'nostr-tools/pure';
import { type WebSocket, WebSocketServer } from 'ws';
import type { NostrEvent } from '../protocol/events.ts';

export interface RelayFaults {
  skipVerify?: boolean;
  noOk?: boolean;
  ignoreTagFilters?: boolean;
  exclusiveSinceUntil?: boolean;
  oldestFirst?: boolean;
  keepAllVersions?: boolean;
  acceptOlderVersion?: boolean;
  tieHighestId?: boolean;
  ignoreDeletion?: boolean;
  deleteOthers?: boolean;
  serveExpired?: boolean;
  giftWrapsToAnyone?: boolean;
  acceptAnyAuth?: boolean;
  noEose?: boolean;
  /** A REQ past the subscription limit gets no answer at all (no CLOSED). */
  silentSubscriptionLimit?: boolean;
  /** A filter that is not an object (5, "x", null) is read as an empty filter: it matches everything. */
  lenientFilters?: boolean;
  /** A JSON object with "0", "1"… keys is read as the array it imitates. */
  objectMessages?: boolean;
  /** A frame that is not JSON, or not an array starting with a verb, closes the connection (instead of a NOTICE). */
  closeOnMalformed?: boolean;
}

export interface RelayOptions {
  host?: string;
  port?: number;
  /** SQLite file (default in memory). */
  db?: string;
  faults?: RelayFaults;
  now?: () => number;
  /** Largest frame accepted (bytes). */
  maxPayload?: number;
}

export interface RunningRelay {
  url: string;
  httpUrl: string;
  server: Server;
  /** Events stored (for tests: state must not change under bad input). */
  count(): number;
  stop(): Promise<void>;
}

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

const isReplaceable = (k: number) => k === 0 || k === 3 || (k >= 10000 && k < 20000);
const isAddressable = (k: number) => k >= 30000 && k < 40000;
const isEphemeral = (k: number) => k >= 20000 && k < 30000;

interface Filter {
  ids?: string[];
  authors?: string[];
  kinds?: number[];
  since?: number;
  until?: number;
  limit?: number;
  tags: [string, string[]][];
}

/** Parse a filter object; a string with the reason when it is malformed. */
function parseFilter(f: unknown): Filter | string {
  if (!f || typeof f !== 'object' || Array.isArray(f)) return 'a filter must be an object';
  const o = f as Record<string, unknown>;
  const out: Filter = { tags: [] };
  const strs = (k: string, re?: RegExp): string[] | string | undefined => {
    const v = o[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length > 1000 || v.some((x) => typeof x !== 'string' || x.length > 1024 || (re && !re.test(x))))
      return `${k} must be an array of ${re ? '64-char lowercase hex ' : ''}strings`;
    return v as string[];
  };
  for (const k of ['ids', 'authors'] as const) {
    const v = strs(k, HEX64);
    if (typeof v === 'string') return v;
    if (v) out[k] = v;
  }
  if (o.kinds !== undefined) {
    if (!Array.isArray(o.kinds) || o.kinds.some((x) => !Number.isInteger(x) || x < 0 || x > 65535)) return 'kinds must be an array of integers 0..65535';
    out.kinds = o.kinds as number[];
  }
  for (const k of ['since', 'until', 'limit'] as const) {
    const v = o[k];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || (v as number) < 0) return `${k} must be a non-negative integer`;
    out[k] = v as number;
  }
  for (const k of Object.keys(o)) {
    if (!/^#[A-Za-z]$/.test(k)) continue;
    const vals = strs(k);
    if (typeof vals === 'string') return vals;
    out.tags.push([k.slice(1), vals!]);
  }
  return out;
}

/** Shape of a signed event (the signature is checked separately). */
function shapeError(e: unknown): string | null {
  if (!e || typeof e !== 'object' || Array.isArray(e)) return 'event must be an object';
  const o = e as Record<string, unknown>;
  if (typeof o.id !== 'string' || !HEX64.test(o.id)) return 'id must be 64 lowercase hex';
  if (typeof o.pubkey !== 'string' || !HEX64.test(o.pubkey)) return 'pubkey must be 64 lowercase hex';
  if (typeof o.sig !== 'string' || !HEX128.test(o.sig)) return 'sig must be 128 lowercase hex';
  if (!Number.isSafeInteger(o.created_at) || (o.created_at as number) < 0) return 'created_at must be a non-negative integer';
  if (!Number.isInteger(o.kind) || (o.kind as number) < 0 || (o.kind as number) > 65535) return 'kind must be an integer 0..65535';
  if (typeof o.content !== 'string') return 'content must be a string';
  if (!Array.isArray(o.tags) || o.tags.some((t) => !Array.isArray(t) || t.some((x) => typeof x !== 'string'))) return 'tags must be an array of arrays of strings';
  return null;
}

const dTag = (e: NostrEvent) => e.tags.find((t) => t[0] === 'd')?.[1] ?? '';
const expiresAt = (e: NostrEvent): number | null => {
  const v = e.tags.find((t) => t[0] === 'expiration')?.[1];
  return v && /^\d{1,12}$/.test(v) ? Number(v) : null;
};

interface Conn {
  ws: WebSocket;
  challenge: string;
  authed: Set<string>;
  subs: Map<string, Filter[]>;
}

export async function startRelay(o: RelayOptions = {}): Promise<RunningRelay> {
  const faults = o.faults ?? {};
  const now = o.now ?? (() => Math.floor(Date.now() / 1000));
  const db = new DatabaseSync(o.db ?? ':memory:');
  db.exec(`
    PRAGMA journal_mode = WAL;
    CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, pubkey TEXT NOT NULL, created_at INTEGER NOT NULL, kind INTEGER NOT NULL, d TEXT, expires INTEGER, raw TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS events_time ON events (created_at DESC, id);
    CREATE INDEX IF NOT EXISTS events_addr ON events (kind, pubkey, d);
    CREATE TABLE IF NOT EXISTS tags (event_id TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS tags_nv ON tags (name, value, event_id);
    CREATE INDEX IF NOT EXISTS tags_e ON tags (event_id);
    CREATE TABLE IF NOT EXISTS deleted_ids (id TEXT NOT NULL, pubkey TEXT NOT NULL, PRIMARY KEY (id, pubkey));
    CREATE TABLE IF NOT EXISTS deleted_addrs (kind INTEGER NOT NULL, pubkey TEXT NOT NULL, d TEXT NOT NULL, until INTEGER NOT NULL, PRIMARY KEY (kind, pubkey, d));
  `);
  const q = {
    has: db.prepare('SELECT 1 AS x FROM events WHERE id = ?'),
    get: db.prepare('SELECT raw, pubkey, kind FROM events WHERE id = ?'),
    insert: db.prepare('INSERT INTO events (id, pubkey, created_at, kind, d, expires, raw) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    insertTag: db.prepare('INSERT INTO tags (event_id, name, value) VALUES (?, ?, ?)'),
    del: db.prepare('DELETE FROM events WHERE id = ?'),
    delTags: db.prepare('DELETE FROM tags WHERE event_id = ?'),
    versions: db.prepare('SELECT id, created_at FROM events WHERE kind = ? AND pubkey = ? AND d = ?'),
    deletedId: db.prepare('SELECT 1 AS x FROM deleted_ids WHERE id = ? AND pubkey = ?'),
    markDeleted: db.prepare('INSERT OR IGNORE INTO deleted_ids (id, pubkey) VALUES (?, ?)'),
    deletedAddr: db.prepare('SELECT until FROM deleted_addrs WHERE kind = ? AND pubkey = ? AND d = ?'),
    markAddr: db.prepare('INSERT INTO deleted_addrs (kind, pubkey, d, until) VALUES (?, ?, ?, ?) ON CONFLICT (kind, pubkey, d) DO UPDATE SET until = MAX(until, excluded.until)'),
    count: db.prepare('SELECT COUNT(*) AS n FROM events'),
  };
  const conns = new Set<Conn>();

  const store = (e: NostrEvent, d: string | null) => {
    db.exec('BEGIN');
    try {
      q.insert.run(e.id, e.pubkey, e.created_at, e.kind, d, expiresAt(e), JSON.stringify(e));
      for (const t of e.tags) if (t.length >= 2 && /^[A-Za-z]$/.test(t[0]!)) q.insertTag.run(e.id, t[0]!, t[1]!);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  };
  const remove = (id: string) => {
    q.del.run(id);
    q.delTags.run(id);
  };

  /** Can `conn` see `e`? Gift wraps only by the authenticated recipient. */
  const visible = (c: Conn, e: NostrEvent) => faults.giftWrapsToAnyone || e.kind !== 1059 || e.tags.some((t) => t[0] === 'p' && c.authed.has(t[1]!));

  function matches(f: Filter, e: NostrEvent): boolean {
    if (f.ids && !f.ids.includes(e.id)) return false;
    if (f.authors && !f.authors.includes(e.pubkey)) return false;
    if (f.kinds && !f.kinds.includes(e.kind)) return false;
    if (f.since !== undefined && (faults.exclusiveSinceUntil ? e.created_at <= f.since : e.created_at < f.since)) return false;
    if (f.until !== undefined && (faults.exclusiveSinceUntil ? e.created_at >= f.until : e.created_at > f.until)) return false;
    if (!faults.ignoreTagFilters) for (const [name, vals] of f.tags) if (!e.tags.some((t) => t[0] === name && t.length >= 2 && vals.includes(t[1]!))) return false;
    return true;
  }

  function query(c: Conn, filters: Filter[]): NostrEvent[] {
    const seen = new Map<string, NostrEvent>();
    const t = now();
    for (const f of filters) {
      const where: string[] = [];
      const args: (string | number)[] = [];
      const inList = (col: string, vals: readonly (string | number)[]) => {
        where.push(vals.length ? `${col} IN (${vals.map(() => '?').join(',')})` : '0');
        args.push(...vals);
      };
      if (f.ids) inList('e.id', f.ids);
      if (f.authors) inList('e.pubkey', f.authors);
      if (f.kinds) inList('e.kind', f.kinds);
      if (f.since !== undefined) {
        where.push(faults.exclusiveSinceUntil ? 'e.created_at > ?' : 'e.created_at >= ?');
        args.push(f.since);
      }
      if (f.until !== undefined) {
        where.push(faults.exclusiveSinceUntil ? 'e.created_at < ?' : 'e.created_at <= ?');
        args.push(f.until);
      }
      if (!faults.ignoreTagFilters)
        for (const [name, vals] of f.tags) {
          where.push(`EXISTS (SELECT 1 FROM tags t WHERE t.event_id = e.id AND t.name = ? AND t.value IN (${vals.map(() => '?').join(',') || "''"}))`);
          args.push(name, ...vals);
          if (!vals.length) where.push('0');
        }
      if (!faults.serveExpired) {
        where.push('(e.expires IS NULL OR e.expires > ?)');
        args.push(t);
      }
      const limit = Math.min(f.limit ?? 500, 500);
      if (limit === 0) continue;
      const order = faults.oldestFirst ? 'e.created_at ASC, e.id ASC' : 'e.created_at DESC, e.id ASC';
      const rows = db.prepare(`SELECT e.raw FROM events e ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order}`).all(...args) as { raw: string }[];
      let n = 0;
      for (const r of rows) {
        const e = JSON.parse(r.raw) as NostrEvent;
        if (!visible(c, e)) continue;
        seen.set(e.id, e);
        if (++n >= limit) break;
      }
    }
    return [...seen.values()].sort((a, b) => (faults.oldestFirst ? a.created_at - b.created_at : b.created_at - a.created_at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  const sendTo = (c: Conn, msg: unknown[]) => {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(msg));
  };
  const ok = (c: Conn, id: string, accepted: boolean, message: string) => {
    if (!faults.noOk) sendTo(c, ['OK', id, accepted, message]);
  };

  function broadcast(e: NostrEvent) {
    for (const c of conns)
      for (const [sub, filters] of c.subs)
        if (visible(c, e) && filters.some((f) => matches(f, e))) {
          sendTo(c, ['EVENT', sub, e]);
        }
  }

  /** Accept or refuse one event; returns [accepted, message]. */
  function ingest(e: NostrEvent): [boolean, string] {
    if (e.kind === 22242) return [false, 'invalid: AUTH events are sent in AUTH messages'];
    const t = now();
    const exp = expiresAt(e);
    if (!faults.serveExpired && exp !== null && exp <= t) return [false, 'invalid: event has expired (NIP-40)'];
    if (e.created_at > t + 900) return [false, 'invalid: created_at is more than 15 minutes in the future'];
    if (q.has.get(e.id)) return [true, 'duplicate: already have this event'];
    if (!faults.ignoreDeletion && q.deletedId.get(e.id, e.pubkey)) return [false, 'blocked: this event was deleted by its author'];
    if (isEphemeral(e.kind)) {
      broadcast(e);
      return [true, ''];
    }
    let d: string | null = null;
    if (isReplaceable(e.kind) || isAddressable(e.kind)) {
      d = isAddressable(e.kind) ? dTag(e) : '';
      const gone = q.deletedAddr.get(e.kind, e.pubkey, d) as { until: number } | undefined;
      if (!faults.ignoreDeletion && gone && e.created_at <= gone.until) return [false, 'blocked: this address was deleted by its author'];
      if (!faults.keepAllVersions) {
        const versions = q.versions.all(e.kind, e.pubkey, d) as { id: string; created_at: number }[];
        const newer = (v: { id: string; created_at: number }) => v.created_at > e.created_at || (v.created_at === e.created_at && (faults.tieHighestId ? v.id > e.id : v.id < e.id));
        if (!faults.acceptOlderVersion && versions.some(newer)) return [false, 'duplicate: a newer version of this event exists'];
        for (const v of versions) remove(v.id);
      }
    }
    if (e.kind === 5 && !faults.ignoreDeletion) {
      for (const tag of e.tags) {
        if (tag[0] === 'e' && tag[1] && HEX64.test(tag[1])) {
          const row = q.get.get(tag[1]) as { pubkey: string; kind: number } | undefined;
          if (row && row.kind !== 5 && (row.pubkey === e.pubkey || faults.deleteOthers)) remove(tag[1]);
          q.markDeleted.run(tag[1], e.pubkey);
        }
        if (tag[0] === 'a' && tag[1]) {
          const m = /^(\d+):([0-9a-f]{64}):(.*)$/.exec(tag[1]);
          if (!m || (m[2] !== e.pubkey && !faults.deleteOthers)) continue;
          const kind = Number(m[1]);
          for (const v of q.versions.all(kind, m[2]!, m[3]!) as { id: string; created_at: number }[]) if (v.created_at <= e.created_at) remove(v.id);
          if (m[2] === e.pubkey) q.markAddr.run(kind, m[2]!, m[3]!, e.created_at);
        }
      }
    }
    store(e, d);
    broadcast(e);
    return [true, ''];
  }

  function onMessage(c: Conn, raw: string) {
    let msg: unknown;
    try {
      msg = JSON.parse(raw);
    } catch {
      if (faults.closeOnMalformed) return c.ws.close(1003, 'not JSON');
      return sendTo(c, ['NOTICE', 'invalid: message is not JSON']);
    }
    if (faults.objectMessages && msg && typeof msg === 'object' && !Array.isArray(msg)) msg = Object.assign([], msg);
    if (!Array.isArray(msg) || typeof msg[0] !== 'string') {
      if (faults.closeOnMalformed) return c.ws.close(1003, 'not a NIP-01 message');
      return sendTo(c, ['NOTICE', 'invalid: message must be a JSON array starting with a verb']);
    }
    const verb = msg[0];
    if (verb === 'EVENT') {
      const e = msg[1] as NostrEvent;
      const shape = shapeError(e);
      const id = e && typeof e === 'object' && typeof (e as { id?: unknown }).id === 'string' ? (e as { id: string }).id : '';
      if (shape) return id ? ok(c, id, false, `invalid: ${shape}`) : sendTo(c, ['NOTICE', `invalid: ${shape}`]);
      if (!faults.skipVerify && !verifyEvent({ ...e })) return ok(c, e.id, false, 'invalid: bad event id or signature');
      const [accepted, message] = ingest(e);
      return ok(c, e.id, accepted, message);
    }
    if (verb === 'REQ' || verb === 'COUNT') {
      const sub = msg[1];
      if (typeof sub !== 'string' || sub.length === 0 || sub.length > 64) return sendTo(c, ['NOTICE', 'invalid: subscription id must be a string of 1 to 64 characters']);
      const filters: Filter[] = [];
      for (const f of msg.slice(2)) {
        if (faults.lenientFilters && (!f || typeof f !== 'object')) {
          filters.push({ tags: [] });
          continue;
        }
        const p = parseFilter(f);
        if (typeof p === 'string') return sendTo(c, ['CLOSED', sub, `invalid: ${p}`]);
        filters.push(p);
      }
      if (filters.length === 0) return sendTo(c, ['CLOSED', sub, 'invalid: at least one filter is required']);
      if (!faults.giftWrapsToAnyone && c.authed.size === 0 && filters.some((f) => f.kinds?.includes(1059))) {
        return sendTo(c, ['CLOSED', sub, 'auth-required: gift wraps are served only to their recipient']);
      }
      if (verb === 'COUNT')
        return sendTo(c, [
          'COUNT',
          sub,
          {
            count: query(
              c,
              filters.map((f) => ({ ...f, limit: undefined })),
            ).length,
          },
        ]);
      if (faults.silentSubscriptionLimit && !c.subs.has(sub) && c.subs.size >= 50) return;
      if (!c.subs.has(sub) && c.subs.size >= 50) return sendTo(c, ['CLOSED', sub, 'rate-limited: at most 50 subscriptions per connection']);
      c.subs.set(sub, filters);
      for (const e of query(c, filters)) sendTo(c, ['EVENT', sub, e]);
      if (!faults.noEose) sendTo(c, ['EOSE', sub]);
      return;
    }
    if (verb === 'CLOSE') {
      if (typeof msg[1] !== 'string') return sendTo(c, ['NOTICE', 'invalid: CLOSE needs a subscription id']);
      c.subs.delete(msg[1]);
      return;
    }
    if (verb === 'AUTH') {
      const e = msg[1] as NostrEvent;
      const shape = shapeError(e);
      const id = e && typeof e === 'object' && typeof (e as { id?: unknown }).id === 'string' ? (e as { id: string }).id : '';
      if (shape) return id ? ok(c, id, false, `invalid: ${shape}`) : sendTo(c, ['NOTICE', `invalid: ${shape}`]);
      if (!verifyEvent({ ...e })) return ok(c, e.id, false, 'invalid: bad event id or signature');
      if (e.kind !== 22242) return ok(c, e.id, false, 'invalid: AUTH needs a kind 22242 event');
      const challenge = e.tags.find((t) => t[0] === 'challenge')?.[1];
      if (!faults.acceptAnyAuth && challenge !== c.challenge) return ok(c, e.id, false, 'invalid: wrong challenge');
      if (!e.tags.some((t) => t[0] === 'relay' && t[1])) return ok(c, e.id, false, 'invalid: no relay tag');
      if (!faults.acceptAnyAuth && Math.abs(e.created_at - now()) > 600) return ok(c, e.id, false, 'invalid: created_at is more than 10 minutes off');
      c.authed.add(e.pubkey);
      return ok(c, e.id, true, '');
    }
    sendTo(c, ['NOTICE', `invalid: unknown verb ${JSON.stringify(verb).slice(0, 40)}`]);
  }

  const server = createServer((req, res) => {
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'application/json' });
      return res.end('{"error":{"code":"method_not_allowed","message":"use GET (NIP-11) or a WebSocket"}}');
    }
    res.writeHead(200, { 'content-type': 'application/nostr+json', 'access-control-allow-origin': '*' });
    res.end(
      JSON.stringify({
        name: 'agentmarket-harness asa reference relay',
        description: 'NIP-A5 reference relay (NIP-01, 09, 11, 40, 42; gift wraps to their recipient only)',
        supported_nips: [1, 9, 11, 17, 40, 42, 59],
        software: 'agentmarket-harness',
        version: '0.1.0',
        limitation: { max_subscriptions: 50, max_limit: 500, auth_required: false },
      }),
    );
  });
  keepIdleSockets(server);
  const wss = new WebSocketServer({ server, maxPayload: o.maxPayload ?? 256 * 1024 });
  wss.on('connection', (ws) => {
    const c: Conn = { ws, challenge: randomBytes(16).toString('hex'), authed: new Set(), subs: new Map() };
    conns.add(c);
    ws.on('message', (data, isBinary) => {
      try {
        onMessage(c, isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString());
      } catch (e) {
        sendTo(c, ['NOTICE', `error: ${(e as Error).message}`]);
      }
    });
    ws.on('close', () => conns.delete(c));
    ws.on('error', () => conns.delete(c));
    sendTo(c, ['AUTH', c.challenge]);
  });
  await new Promise<void>((r) => server.listen(o.port ?? 0, o.host ?? '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const host = o.host ?? '127.0.0.1';
  return {
    url: `ws://${host}:${port}`,
    httpUrl: `http://${host}:${port}`,
    server,
    count: () => (q.count.get() as { n: number }).n,
    stop: async () => {
      for (const c of conns) c.ws.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      db.close();
    },
  };
}
