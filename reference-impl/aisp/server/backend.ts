/**
 * AISP reference backend (seed 000 "Backend API"; profile scenarios/aisp/profile.md):
 *
 * | route | what |
 * |---|---|
 * | `GET /api/listings` | `{listings:[…]}`: the rentable listings (open, a key stored, room for diemMin) |
 * | `GET /api/listings/:id` | `{listing}` (any listing the chain has), 404 otherwise |
 * | `POST /api/keys` | `{listingId, apiKey, signature, timestamp}`: the listing's provider stores (or rotates) its scoped key |
 * | `POST /api/key/:rentalId` | `{signature, timestamp}` → `{apiKey, expiresAt}`: only the funder, only a confirmed, active, unexpired rental |
 * | `POST /api/balance` | `{apiKey}` → what the key can still spend this epoch (asks the inference server) |
 * | `POST /api/requests` | `{diemAmount, termDays, maxPricePerDay, renter?, note?}` → 201 `{requestId}` |
 * | `GET /api/requests/:id`, `GET /health` | read back a request; liveness |
 *
 * State in SQLite (store.ts); the chain is followed by the indexer (indexer.ts), which survives a
 * restart and rolls back what a revert removed. Keys are AES-GCM encrypted at rest (keystore.ts) and
 * appear in exactly one answer: the funder's `POST /api/key/:rentalId`. Errors are
 * `{"error":{"code","message"}}` and never quote a key.
 */
import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { getAddress, isAddress } from 'viem';
import { z } from 'zod';
import { bounded, codedErrors, errorHandler, HttpError, jsonBody, listen, notFoundHandler, parseWith } from '../../_shared/http.ts';
import { getKeyMessage, signerOf, storeKeyMessage, withinWindow } from '../protocol/messages.ts';
import { AISP_PROFILE } from '../protocol/profile.ts';
import { balanceRequest, formatDiem, diemToUnits, getKeyRequest, rentalRequest, storeKeyRequest } from '../protocol/wire.ts';
import { chainClock, wallClock, type Clock } from './clock.ts';
import type { AispFaults } from './faults.ts';
import { Indexer } from './indexer.ts';
import { KeyBox } from './keystore.ts';
import { AispStore, type ListingRow } from './store.ts';

const address = z.string().refine((s) => isAddress(s, { strict: false }), 'invalid address');

/** Serializable backend configuration (zod-validated). */
export const aispBackendConfigSchema = z.object({
  rpcUrl: z.url(),
  chainId: z.number().int().positive(),
  /** The DiemMarketplace address. */
  marketplace: address,
  /** The Venice-compatible inference API the providers' keys belong to (…/api/v1). */
  veniceUrl: z.url(),
  dbPath: z.string().min(1).default(':memory:'),
  /** 32-byte hex secret for keys at rest (default: a file beside the database, or random in memory). */
  keySecret: z
    .string()
    .regex(/^(0x)?[0-9a-fA-F]{64}$/)
    .optional(),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(0),
  /** Blocks (the Funded block included) before a rental's key is released (AISP-PROF-13). */
  confirmations: z.number().int().min(1).max(1000).default(AISP_PROFILE.confirmations),
  /** ±seconds between a signed timestamp and the lab clock (AISP-PROF-12). */
  signatureWindowSeconds: z.number().int().positive().default(AISP_PROFILE.signatureWindowSeconds),
  /** First block the indexer reads. */
  fromBlock: z.number().int().min(0).default(0),
  /** Background sync interval (0: only on requests). */
  pollIntervalMs: z.number().int().min(0).default(1000),
  /** `chain`: the lab clock is the chain's pending block time (default); `wall`: the host clock. */
  clock: z.enum(['chain', 'wall']).default('chain'),
});

export type AispBackendConfig = z.input<typeof aispBackendConfigSchema> & {
  /** Injected clock (seconds); overrides `clock`. */
  now?: Clock;
  log?: (msg: string) => void;
  /** Deliberate defects for conformance tests only (faults.ts). */
  faults?: AispFaults;
};

export interface AispBackend {
  url: string;
  port: number;
  /** Brings the views up to the chain now. */
  sync(): Promise<number>;
  stop(): Promise<void>;
}

const decimalId = /^\d{1,78}$/;
/** How long a call to the inference server may take before the backend answers 502. */
const INFERENCE_TIMEOUT_MS = 30_000;

/** Starts the AISP reference backend. */
export async function startAispBackend(config: AispBackendConfig): Promise<AispBackend> {
  const cfg = aispBackendConfigSchema.parse(config);
  const log = config.log ?? (() => {});
  const faults = config.faults ?? {};
  const nowS: Clock = config.now ?? (cfg.clock === 'wall' ? wallClock : chainClock(cfg.rpcUrl));
  const store = new AispStore(cfg.dbPath, faults);
  const box = KeyBox.forDatabase(cfg.dbPath, cfg.keySecret, faults.keySecretPerStart);
  const indexer = new Indexer(store, {
    rpcUrl: cfg.rpcUrl,
    marketplace: getAddress(cfg.marketplace),
    fromBlock: cfg.fromBlock,
    log,
    keepRevertedRentals: faults.keepRevertedRentals,
    ignoreReorgs: faults.ignoreReorgs,
    noCatchUpOnStart: faults.noCatchUpOnStart,
  });
  const venice = cfg.veniceUrl.replace(/\/+$/, '');
  const balanceCache = new Map<string, unknown>();

  /** The stored key of a listing, if it belongs to this very listing (same Listed block). */
  const keyOf = (l: ListingRow): string | undefined => {
    const k = store.key(l.id);
    if (!k || k.listing_block_hash !== l.block_hash) return undefined;
    return box.open(k, `${l.id}:${l.block_hash}`);
  };

  const view = (l: ListingRow) => {
    const hasKey = keyOf(l) !== undefined;
    const rented = faults.listingIgnoresFunded ? 0n : BigInt(l.diem_rented);
    const available = BigInt(l.diem_max) - rented;
    return {
      listingId: l.id,
      provider: getAddress(l.provider),
      pricePerDay: l.price,
      termDays: l.term_days,
      diemMin: l.diem_min,
      diemMax: l.diem_max,
      diemRented: rented.toString(),
      diemAvailable: available.toString(),
      active: l.active === 1,
      hasKey,
      rentable: l.active === 1 && hasKey && available >= BigInt(l.diem_min),
      ...(faults.keyInListing ? { apiKey: keyOf(l) } : {}),
    };
  };

  /** Checks a signed request's window and signature; returns the signer (nothing is recorded yet). */
  const verify = async (message: string, signature: string, timestamp: number, claimed: string | undefined): Promise<{ signer: string; now: number }> => {
    const now = await nowS();
    if (!faults.noSignatureWindow && !withinWindow(timestamp, now, cfg.signatureWindowSeconds)) {
      throw new HttpError(401, `timestamp is outside the allowed window (±${cfg.signatureWindowSeconds} s of ${now})`, {}, {}, 'stale_signature');
    }
    const signer = await signerOf(message, signature);
    if (!signer) throw new HttpError(401, 'invalid signature', {}, {}, 'bad_signature');
    if (claimed && claimed.toLowerCase() !== signer.toLowerCase()) throw new HttpError(401, 'the signature is not by the given address', {}, {}, 'bad_signature');
    return { signer: signer.toLowerCase(), now };
  };

  const replayed = () => new HttpError(401, 'this signature was already used', {}, {}, 'replayed_signature');
  /**
   * Consumes an authorised signature (AISP-PROF-12): once the signer is known to be the one allowed,
   * its signature counts as used whatever the answer; a second use is a replay. Signatures of anyone
   * else change nothing (so garbage cannot fill the table).
   */
  const consume = (signer: string, message: string, now: number) => {
    const fresh = store.useSignature(signer, message, now, now - 2 * cfg.signatureWindowSeconds - 60);
    if (!fresh && !faults.acceptReplay) throw replayed();
  };
  /** Test-only fault usedSignatureRace: the check for earlier use, apart from the record in `consume`. */
  const refuseUsedEarly = (signer: string, message: string) => {
    if (faults.usedSignatureRace && store.signatureUsed(signer, message)) throw replayed();
  };

  /**
   * A GET to the inference server with `apiKey`; 502 when it cannot be reached. The wait is long
   * enough for a busy server (200 load agents made a 5 s wait answer 502 to honest requests).
   */
  const askInference = (path: string, apiKey: string) =>
    fetch(`${venice}${path}`, { headers: { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(INFERENCE_TIMEOUT_MS) }).catch(() => {
      throw new HttpError(502, 'the inference server could not be reached', {}, {}, 'inference_unreachable');
    });

  /** Asks the inference server what kind of key this is (never logs or returns the key). */
  const inspectKey = async (apiKey: string): Promise<'inference' | 'admin' | 'invalid'> => {
    const ask = (path: string) => askInference(path, apiKey);
    const rl = await ask('/api_keys/rate_limits');
    await rl.body?.cancel();
    if (rl.status === 401 || rl.status === 403) return 'invalid';
    if (!rl.ok) throw new HttpError(502, `the inference server answered ${rl.status}`, {}, {}, 'inference_error');
    const admin = await ask('/api_keys');
    await admin.body?.cancel();
    return admin.status === 200 ? 'admin' : 'inference';
  };

  const sync = async () => {
    try {
      return await indexer.sync();
    } catch (e) {
      log(`sync failed: ${(e as Error).message.split('\n')[0]}`);
      throw new HttpError(502, 'the chain could not be read', {}, {}, 'chain_unavailable');
    }
  };

  /** A request body as JSON, at most 16 KiB (400 when it is not JSON). */
  const readJson = async (c: Context): Promise<unknown> => (faults.bodyJsonParse ? JSON.parse(await c.req.text()) : jsonBody(c, { limit: 16 * 1024 }));

  const app = new Hono();
  app.onError(errorHandler({ shape: codedErrors, log }));
  // The message never echoes the path: a client may put anything there, a key included.
  app.notFound(notFoundHandler({ shape: codedErrors, message: () => 'no such route (see /api/listings, /api/keys, /api/key/:rentalId, /api/balance, /api/requests)' }));

  app.get('/health', (c) => c.json({ status: 'ok' }));

  app.get('/api/listings', async (c) => {
    await sync();
    return c.json({
      listings: store
        .listings()
        .map(view)
        .filter((l) => l.rentable),
    });
  });

  app.get('/api/listings/:id', async (c) => {
    const id = c.req.param('id');
    if (!decimalId.test(id)) throw new HttpError(400, 'listing id must be a decimal integer');
    await sync();
    const l = store.listing(BigInt(id).toString());
    if (!l) throw new HttpError(404, `no listing ${id}`);
    return c.json({ listing: view(l) });
  });

  app.post('/api/keys', async (c) => {
    const b = parseWith(storeKeyRequest, await readJson(c));
    const listingId = b.listingId.toString();
    if (faults.storeKeyBeforeAuth) {
      await sync();
      const early = store.listing(listingId);
      if (early)
        store.putKey({ listing_id: early.id, listing_block_hash: early.block_hash, provider: early.provider, ...box.seal(b.apiKey, `${early.id}:${early.block_hash}`), stored_at: await nowS() });
    }
    const message = storeKeyMessage(listingId, b.timestamp);
    const { signer, now } = await verify(message, b.signature, b.timestamp, undefined);
    refuseUsedEarly(signer, message);
    await sync();
    const l = store.listing(listingId);
    if (!l) throw new HttpError(404, `no listing ${listingId} on chain`);
    if (!faults.storeKeyAnySigner && signer !== l.provider) throw new HttpError(403, "only the listing's provider may store its key", {}, {}, 'not_provider');
    consume(signer, message, now);
    if (!faults.acceptAdminKey) {
      const kind = await inspectKey(b.apiKey);
      if (kind === 'invalid') throw new HttpError(400, 'the inference server does not accept this key', {}, {}, 'invalid_key');
      if (kind === 'admin') throw new HttpError(400, 'this is an ADMIN key: list an inference-only key', {}, {}, 'admin_key');
    }
    store.putKey({ listing_id: l.id, listing_block_hash: l.block_hash, provider: l.provider, ...box.seal(b.apiKey, `${l.id}:${l.block_hash}`), stored_at: now });
    log(`key stored for listing ${l.id}`);
    return c.json({ listingId: l.id, stored: true }, 201);
  });

  app.post('/api/key/:rentalId', async (c) => {
    const rentalId = c.req.param('rentalId');
    if (!decimalId.test(rentalId) && !faults.rentalIdUnchecked) throw new HttpError(400, 'rental id must be a decimal integer');
    const b = parseWith(getKeyRequest, await readJson(c));
    const id = BigInt(rentalId).toString();
    const message = getKeyMessage(id, b.timestamp);
    const { signer, now: signedAt } = await verify(message, b.signature, b.timestamp, b.address);
    refuseUsedEarly(signer, message);
    const latest = await sync();
    const r = store.rental(id);
    if (!r) throw new HttpError(404, `no funded rental ${id}`);
    if (!faults.keyToAnySigner && signer !== r.renter) throw new HttpError(403, "only the rental's funder may get its key", {}, {}, 'not_renter');
    consume(signer, message, signedAt);
    if (!faults.keyAfterEnd && r.status !== 'active') throw new HttpError(410, `rental ${id} has ended (${r.status})`, {}, {}, 'rental_ended');
    if (!faults.keyAfterExpiry && signedAt >= r.expires_at) throw new HttpError(410, `rental ${id} expired at ${r.expires_at}`, {}, {}, 'rental_expired');
    if (!faults.ignoreConfirmations && latest - r.block + 1 < cfg.confirmations)
      throw new HttpError(409, `rental ${id} is not confirmed yet (${latest - r.block + 1}/${cfg.confirmations} blocks)`, {}, {}, 'not_confirmed');
    const l = store.listing(r.listing_id);
    const apiKey = l ? keyOf(l) : undefined;
    if (!apiKey) throw new HttpError(409, `the provider of listing ${r.listing_id} has not stored a key yet`, {}, {}, 'no_key');
    log(`key released for rental ${id}`);
    return c.json({ apiKey, expiresAt: r.expires_at + (faults.expiresAtOffByOneDay ? 86_400 : 0), rentalId: id, listingId: r.listing_id });
  });

  app.post('/api/balance', async (c) => {
    const b = parseWith(balanceRequest, await readJson(c));
    const res = await askInference('/api_keys/rate_limits', b.apiKey);
    const body = (await res.json().catch(() => null)) as { data?: { balances?: { DIEM?: unknown; USD?: unknown }; keyExpiration?: unknown; nextEpochBegins?: unknown } } | null;
    if (res.status === 401 || res.status === 403) throw new HttpError(404, 'unknown or invalid API key', {}, {}, 'unknown_key');
    const diem = body?.data?.balances?.DIEM;
    if (!res.ok || typeof diem !== 'number') throw new HttpError(502, `the inference server answered ${res.status}`, {}, {}, 'inference_error');
    const units = diemToUnits(diem);
    const answer = {
      diem: formatDiem(units),
      diemUnits: units.toString(),
      usd: String(body?.data?.balances?.USD ?? 0),
      keyExpiration: typeof body?.data?.keyExpiration === 'string' && !faults.balanceDropsExpiry ? body.data.keyExpiration : null,
      nextEpochBegins: typeof body?.data?.nextEpochBegins === 'string' ? body.data.nextEpochBegins : undefined,
    };
    if (faults.balanceCached) {
      const seen = balanceCache.get(b.apiKey);
      if (seen) return c.json(seen);
      balanceCache.set(b.apiKey, answer);
    }
    return c.json(answer);
  });

  app.post('/api/requests', async (c) => {
    const raw = await readJson(c);
    const parsed = rentalRequest.safeParse(raw);
    if (!parsed.success && faults.requestsAcceptAnything) return c.json({ requestId: randomUUID(), status: 'open' }, 201);
    const b = parseWith(rentalRequest, raw);
    const r = {
      id: randomUUID(),
      diem: b.diemAmount.toString(),
      termDays: b.termDays,
      maxPrice: b.maxPricePerDay.toString(),
      renter: b.renter ? getAddress(b.renter) : null,
      note: b.note ?? null,
      createdAt: await nowS(),
    };
    store.insertRequest(r);
    return c.json({ requestId: r.id, status: 'open', diemAmount: r.diem, termDays: r.termDays, maxPricePerDay: r.maxPrice, renter: r.renter, note: r.note, createdAt: r.createdAt }, 201);
  });

  app.get('/api/requests/:id', (c) => {
    const r = store.request(c.req.param('id'));
    if (!r) throw new HttpError(404, 'no such request');
    return c.json({ requestId: r.id, status: 'open', diemAmount: r.diem, termDays: r.term_days, maxPricePerDay: r.max_price, renter: r.renter, note: r.note, createdAt: r.created_at });
  });

  // First sync before answering anything (a restart resumes from the stored cursor).
  await indexer.sync().catch((e: Error) => log(`initial sync failed: ${e.message.split('\n')[0]}`));
  const server = await listen(app, { host: cfg.host, port: cfg.port, shape: codedErrors, log, maxHeaderSize: 32 * 1024 });
  const timer = cfg.pollIntervalMs > 0 ? setInterval(() => void indexer.sync().catch(() => undefined), cfg.pollIntervalMs) : undefined;
  timer?.unref();
  let stopped = false;
  return {
    url: server.url,
    port: server.port,
    sync: () => indexer.sync(),
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      await bounded(server.stop(3000), 4000);
      // Let a sync in flight finish before the database closes.
      await bounded(indexer.idle(), 5000);
      store.close();
    },
  };
}
