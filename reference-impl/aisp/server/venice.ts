/**
 * A local Venice-compatible inference server (specs/protocols.md A.3), the one AISP providers issue
 * their scoped keys on in the lab. Real HTTP on loopback, state in SQLite (`node:sqlite`):
 *
 * - `POST /api/v1/chat/completions` (OpenAI-compatible, deterministic answers; each call costs
 *   DIEM by the profile's token price, debited from the key's epoch limit and the account);
 * - `GET /api/v1/api_keys/rate_limits` (any key: balances, key expiry, next epoch);
 * - admin (`ADMIN` keys only): `POST /api/v1/api_keys`, `GET /api/v1/api_keys`,
 *   `GET /api/v1/api_keys/{id}`, `DELETE /api/v1/api_keys?id=`;
 * - `GET /api/v1/models` (no auth).
 *
 * Per-key consumption limits are in DIEM per epoch, epochs start at 00:00 UTC of the lab clock
 * (chain time), keys expire at their `expiresAt` and stop working when deleted. Errors are Venice's
 * `{"error": "message", "code": "VENICE_CODE"}`. Keys are stored as SHA-256 hashes only.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { bounded, errorHandler, HttpError, jsonBody, listen, notFoundHandler, type ErrorShape } from '../../_shared/http.ts';
import { deterministicAnswer, epochOf, inferenceCost, LAB_MODEL, nextEpochBegins, promptTokens, completionTokens } from '../protocol/inference.ts';
import { chatRequest, createKeyRequest, diemToUnits, unitsToDiem, type VeniceKeyType } from '../protocol/wire.ts';
import { wallClock, type Clock } from './clock.ts';
import type { AispFaults } from './faults.ts';

/** How long the test-only fault debitAfterCompletion lets a call "generate" between its check and its debit. */
const GENERATION_MS = 250;

/** Venice's error body: `{"error": "message"}` plus its code. */
export const veniceErrors: ErrorShape = ({ message, code, extra }) => ({ error: message, code, ...extra });

/** An account of the inference server: its ADMIN key and DIEM per epoch (base units). */
export interface VeniceAccount {
  id: string;
  adminKey: string;
  diemPerEpoch: bigint;
}

export interface VeniceConfig {
  accounts: VeniceAccount[];
  dbPath?: string;
  host?: string;
  port?: number;
  /** Lab clock (seconds); default the wall clock. */
  clock?: Clock;
  log?: (msg: string) => void;
  faults?: AispFaults;
}

export interface VeniceServer {
  /** Base URL of the API, ending in `/api/v1`. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, diem_per_epoch TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  last6 TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('INFERENCE','ADMIN')),
  description TEXT NOT NULL,
  limit_diem TEXT,
  limit_usd TEXT,
  expires_at INTEGER,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS key_usage (key_id TEXT NOT NULL, epoch INTEGER NOT NULL, diem TEXT NOT NULL, PRIMARY KEY (key_id, epoch));
CREATE TABLE IF NOT EXISTS account_usage (account_id TEXT NOT NULL, epoch INTEGER NOT NULL, diem TEXT NOT NULL, PRIMARY KEY (account_id, epoch));
`;

interface KeyRow {
  id: string;
  account_id: string;
  key_hash: string;
  last6: string;
  type: VeniceKeyType;
  description: string;
  limit_diem: string | null;
  limit_usd: string | null;
  expires_at: number | null;
  created_at: number;
  last_used_at: number | null;
  revoked: number;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const iso = (s: number | null) => (s === null ? null : new Date(s * 1000).toISOString());

/** A new secret key: `vn-scoped-…` (INFERENCE, the seed's prefix) or `vn-admin-…`. */
export function newVeniceKey(type: VeniceKeyType): string {
  return `vn-${type === 'ADMIN' ? 'admin' : 'scoped'}-${randomBytes(24).toString('hex')}`;
}

/** The inference server's store. */
class VeniceDb {
  readonly db: DatabaseSync;
  constructor(path: string) {
    this.db = new DatabaseSync(path);
    // WAL with synchronous=NORMAL: a commit survives a crash of the process (restarts are safe), fsync happens at checkpoints.
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    this.db.exec(SCHEMA);
  }
  close() {
    if (this.db.isOpen) this.db.close();
  }
  keyByHash(hash: string): KeyRow | undefined {
    return this.db.prepare('SELECT * FROM keys WHERE key_hash = ?').get(hash) as KeyRow | undefined;
  }
  keyById(id: string): KeyRow | undefined {
    return this.db.prepare('SELECT * FROM keys WHERE id = ?').get(id) as KeyRow | undefined;
  }
  keyUsage(keyId: string, epoch: number): bigint {
    const r = this.db.prepare('SELECT diem FROM key_usage WHERE key_id = ? AND epoch = ?').get(keyId, epoch) as { diem: string } | undefined;
    return BigInt(r?.diem ?? '0');
  }
  accountUsage(accountId: string, epoch: number): bigint {
    const r = this.db.prepare('SELECT diem FROM account_usage WHERE account_id = ? AND epoch = ?').get(accountId, epoch) as { diem: string } | undefined;
    return BigInt(r?.diem ?? '0');
  }
  accountAllowance(accountId: string): bigint {
    const r = this.db.prepare('SELECT diem_per_epoch FROM accounts WHERE id = ?').get(accountId) as { diem_per_epoch: string } | undefined;
    return BigInt(r?.diem_per_epoch ?? '0');
  }
}

/** Starts the inference server. */
export async function startVeniceServer(config: VeniceConfig): Promise<VeniceServer> {
  const clock = config.clock ?? wallClock;
  const log = config.log ?? (() => {});
  const faults = config.faults ?? {};
  const store = new VeniceDb(config.dbPath ?? ':memory:');
  const db = store.db;
  const now0 = await clock();
  for (const a of config.accounts) {
    db.prepare('INSERT INTO accounts (id, diem_per_epoch) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET diem_per_epoch = excluded.diem_per_epoch').run(a.id, a.diemPerEpoch.toString());
    db.prepare("INSERT OR IGNORE INTO keys (id, account_id, key_hash, last6, type, description, created_at) VALUES (?, ?, ?, ?, 'ADMIN', 'account admin key', ?)").run(
      `admin-${a.id}`,
      a.id,
      sha256(a.adminKey),
      a.adminKey.slice(-6),
      now0,
    );
  }
  // Epoch counters for the faults: "no epoch reset" keeps counting in the first epoch ever seen.
  const epoch = (nowS: number) => (faults.noEpochReset ? 0 : epochOf(nowS));
  let nonce = 0;

  /** The key behind `Authorization: Bearer …`, valid now; 401 otherwise (never echoing the key). */
  const authenticate = async (c: Context): Promise<{ key: KeyRow; nowS: number }> => {
    const h = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S{1,512})$/i.exec(h);
    const fail = () => new HttpError(401, 'Authentication failed', {}, {}, 'AUTHENTICATION_FAILED');
    if (!m) throw fail();
    const key = store.keyByHash(sha256(m[1]!));
    if (!key) throw fail();
    const nowS = await clock();
    if (key.revoked && !faults.revokedKeysWork) throw fail();
    if (key.expires_at !== null && nowS >= key.expires_at && !faults.expiredKeysWork) throw fail();
    return { key, nowS };
  };
  const requireAdmin = async (c: Context) => {
    const a = await authenticate(c);
    if (a.key.type !== 'ADMIN' && !faults.inferenceKeysAreAdmin) throw new HttpError(401, 'This route requires an ADMIN API key', {}, {}, 'UNAUTHORIZED');
    return a;
  };
  /** What a key can still spend this epoch (min of its own limit and its account's balance). */
  const spendable = (key: KeyRow, nowS: number) => {
    const e = epoch(nowS);
    const account = store.accountAllowance(key.account_id) - store.accountUsage(key.account_id, e);
    const own = key.limit_diem === null || faults.noSpendLimit ? undefined : BigInt(key.limit_diem) - store.keyUsage(key.id, e);
    const acct = account < 0n ? 0n : account;
    return { account: acct, key: own === undefined ? undefined : own < 0n ? 0n : own, total: own === undefined ? acct : own < acct ? (own < 0n ? 0n : own) : acct };
  };
  const describeKey = (k: KeyRow, nowS: number) => ({
    id: k.id,
    apiKeyType: k.type,
    description: k.description,
    consumptionLimits: { usd: k.limit_usd === null ? null : unitsToDiem(BigInt(k.limit_usd)), diem: k.limit_diem === null ? null : unitsToDiem(BigInt(k.limit_diem)), vcu: null },
    createdAt: iso(k.created_at),
    expiresAt: iso(k.expires_at),
    last6Chars: k.last6,
    lastUsedAt: iso(k.last_used_at),
    usage: { trailingSevenDays: { usd: '0', diem: unitsToDiem(store.keyUsage(k.id, epoch(nowS))).toFixed(4) } },
    currentPeriodUsage: { usd: '0', diem: unitsToDiem(store.keyUsage(k.id, epoch(nowS))).toFixed(6) },
  });

  const app = new Hono();
  app.onError(errorHandler({ shape: veniceErrors, log }));
  app.notFound(notFoundHandler({ shape: veniceErrors, message: () => 'Not found' }));
  const api = new Hono();

  api.get('/models', (c) =>
    c.json({ object: 'list', data: [{ id: LAB_MODEL, object: 'model', type: 'text', owned_by: 'agentmarket-harness', model_spec: { pricing: { diemUnitsPerToken: '100' } } }] }),
  );

  api.post('/chat/completions', async (c) => {
    const { key, nowS } = await authenticate(c);
    const r = chatRequest.safeParse(await jsonBody(c, { limit: 1_000_000 }));
    if (!r.success) throw new HttpError(400, 'Invalid request parameters', { issues: r.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) }, {}, 'INVALID_REQUEST');
    const req = r.data;
    if (req.model !== LAB_MODEL) throw new HttpError(400, 'Invalid model specified', {}, {}, 'INVALID_MODEL');
    const cost = inferenceCost(req);
    const e = epoch(nowS);
    // Check and debit in one synchronous step: concurrent requests cannot both spend the last DIEM.
    const s = spendable(key, nowS);
    if (s.key !== undefined && s.key < cost) {
      throw new HttpError(
        402,
        'API key DIEM spend limit exceeded. Your account may still have DIEM balance, but this API key has reached its configured DIEM spending limit.',
        {},
        {},
        'API_KEY_DIEM_SPEND_LIMIT_EXCEEDED',
      );
    }
    if (s.account < cost) throw new HttpError(402, 'Insufficient USD or Diem balance to complete request.', {}, {}, 'INSUFFICIENT_BALANCE');
    if (faults.debitAfterCompletion) await new Promise((r) => setTimeout(r, GENERATION_MS));
    db.exec('BEGIN IMMEDIATE');
    try {
      db.prepare('INSERT INTO key_usage (key_id, epoch, diem) VALUES (?, ?, ?) ON CONFLICT(key_id, epoch) DO UPDATE SET diem = CAST(CAST(diem AS INTEGER) + ? AS TEXT)').run(
        key.id,
        e,
        cost.toString(),
        cost.toString(),
      );
      if (!faults.noAccountDebit)
        db.prepare('INSERT INTO account_usage (account_id, epoch, diem) VALUES (?, ?, ?) ON CONFLICT(account_id, epoch) DO UPDATE SET diem = CAST(CAST(diem AS INTEGER) + ? AS TEXT)').run(
          key.account_id,
          e,
          cost.toString(),
          cost.toString(),
        );
      db.prepare('UPDATE keys SET last_used_at = ? WHERE id = ?').run(nowS, key.id);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
    const content = faults.inferenceNondeterministic ? `${deterministicAnswer(req)} ${++nonce}` : deterministicAnswer(req);
    const left = spendable(key, nowS).total;
    c.header('x-venice-balance-diem', unitsToDiem(left).toString());
    const pt = promptTokens(req);
    const ct = completionTokens(req);
    return c.json({
      id: `chatcmpl-${createHash('sha256').update(`${key.id}:${nowS}:${++nonce}`).digest('hex').slice(0, 24)}`,
      object: 'chat.completion',
      created: nowS,
      model: req.model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: { prompt_tokens: pt, completion_tokens: ct, total_tokens: pt + ct },
    });
  });

  api.get('/api_keys/rate_limits', async (c) => {
    const { key, nowS } = await authenticate(c);
    const s = spendable(key, nowS);
    return c.json({
      data: {
        accessPermitted: true,
        apiTier: { id: 'paid', isCharged: true },
        balances: { USD: 0, DIEM: unitsToDiem(s.total) },
        keyExpiration: iso(key.expires_at),
        nextEpochBegins: nextEpochBegins(nowS),
        rateLimits: [
          {
            apiModelId: LAB_MODEL,
            rateLimits: [
              { amount: 500, type: 'RPM' },
              { amount: 1_000_000, type: 'TPM' },
            ],
          },
        ],
      },
    });
  });

  api.post('/api_keys', async (c) => {
    const { key, nowS } = await requireAdmin(c);
    const r = createKeyRequest.safeParse(await jsonBody(c, { limit: 64 * 1024 }));
    if (!r.success) throw new HttpError(400, 'Invalid request parameters', { issues: r.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) }, {}, 'INVALID_REQUEST');
    const b = r.data;
    const expiresAt = b.expiresAt ? Math.floor(Date.parse(b.expiresAt) / 1000) : null;
    if (expiresAt !== null && expiresAt <= nowS) throw new HttpError(400, 'expiresAt must be in the future', {}, {}, 'INVALID_REQUEST');
    const secret = newVeniceKey(b.apiKeyType);
    const id = randomUUID();
    const limitDiem = b.consumptionLimit?.diem === undefined ? null : diemToUnits(b.consumptionLimit.diem);
    const limitUsd = b.consumptionLimit?.usd === undefined ? null : diemToUnits(b.consumptionLimit.usd);
    db.prepare('INSERT INTO keys (id, account_id, key_hash, last6, type, description, limit_diem, limit_usd, expires_at, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)').run(
      id,
      key.account_id,
      sha256(secret),
      secret.slice(-6),
      b.apiKeyType,
      b.description,
      limitDiem?.toString() ?? null,
      limitUsd?.toString() ?? null,
      expiresAt,
      nowS,
    );
    return c.json({
      data: {
        apiKey: secret,
        apiKeyType: b.apiKeyType,
        consumptionLimit: { usd: b.consumptionLimit?.usd ?? null, diem: b.consumptionLimit?.diem ?? null, vcu: null },
        expiresAt: iso(expiresAt),
        id,
        description: b.description,
      },
      success: true,
    });
  });

  api.get('/api_keys', async (c) => {
    const { key, nowS } = await requireAdmin(c);
    const rows = db.prepare('SELECT * FROM keys WHERE account_id = ? AND revoked = 0 ORDER BY created_at, id').all(key.account_id) as unknown as KeyRow[];
    return c.json({ data: rows.map((k) => describeKey(k, nowS)), object: 'list' });
  });

  api.get('/api_keys/:id', async (c) => {
    const { key, nowS } = await requireAdmin(c);
    const k = store.keyById(c.req.param('id'));
    if (!k || k.account_id !== key.account_id || k.revoked) throw new HttpError(404, 'API key not found', {}, {}, 'NOT_FOUND');
    return c.json({ data: describeKey(k, nowS) });
  });

  api.delete('/api_keys', async (c) => {
    const { key } = await requireAdmin(c);
    const id = z
      .string()
      .min(1)
      .max(100)
      .safeParse(c.req.query('id') ?? '');
    if (!id.success) throw new HttpError(400, 'Query parameter id is required', {}, {}, 'INVALID_REQUEST');
    const k = store.keyById(id.data);
    if (!k || k.account_id !== key.account_id || k.revoked) throw new HttpError(404, 'API key not found', {}, {}, 'NOT_FOUND');
    db.prepare('UPDATE keys SET revoked = 1 WHERE id = ?').run(k.id);
    return c.json({ success: true });
  });

  // Test-only faults that mangle a GET's answer on its way out (registered before the routes, so they wrap them).
  if (faults.modelsNotAList || faults.adminKeyListedWhole) {
    const adminKeys = new Map(config.accounts.map((a) => [`admin-${a.id}`, a.adminKey]));
    const mangle = (path: string, body: Record<string, unknown>) => {
      if (faults.modelsNotAList && path === '/api/v1/models') return { ...body, object: 'models' };
      if (faults.adminKeyListedWhole && path === '/api/v1/api_keys' && Array.isArray(body.data))
        return { ...body, data: (body.data as { id: string }[]).map((k) => (adminKeys.has(k.id) ? { ...k, last6Chars: adminKeys.get(k.id)!.slice(6) } : k)) };
      return body;
    };
    app.get('/api/v1/*', async (c, next) => {
      await next();
      if (c.res.status === 200) c.res = c.json(mangle(c.req.path, (await c.res.json()) as Record<string, unknown>));
    });
  }
  app.route('/api/v1', api);
  const server = await listen(app, { host: config.host ?? '127.0.0.1', port: config.port ?? 0, shape: veniceErrors, log, maxHeaderSize: 32 * 1024 });
  let stopped = false;
  return {
    url: `${server.url}/api/v1`,
    port: server.port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await bounded(server.stop(3000), 4000);
      store.close();
    },
  };
}
