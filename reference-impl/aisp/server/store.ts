/**
 * The AISP backend's state in SQLite (`node:sqlite`).
 *
 * The chain is the source of truth: the backend keeps the marketplace's events (`events`, with the
 * block hash each came from) and the views derived from them (`listings`, `rentals`), plus what only
 * it knows: the providers' API keys (encrypted, `api_keys`), the signatures already used
 * (`used_signatures`) and rental requests (`requests`). A revert or reorg deletes the events of the
 * blocks it took away and rebuilds the views from the events that remain (indexer.ts), so nothing a
 * reverted block said survives.
 */
import { DatabaseSync } from 'node:sqlite';
import type { AispFaults } from './faults.ts';

/** A marketplace event as stored (args as decimal strings / lower-case addresses). */
export interface StoredEvent {
  block: number;
  logIndex: number;
  blockHash: string;
  tx: string;
  name: 'Listed' | 'ListingClosed' | 'Funded' | 'Settled' | 'Revoked';
  args: Record<string, string>;
}

export interface ListingRow {
  id: string;
  provider: string;
  price: string;
  term_days: number;
  diem_min: string;
  diem_max: string;
  diem_rented: string;
  active: number;
  block: number;
  block_hash: string;
}

export interface RentalRow {
  id: string;
  listing_id: string;
  renter: string;
  diem: string;
  term_days: number;
  cost: string;
  expires_at: number;
  status: 'active' | 'settled' | 'refunded';
  block: number;
  block_hash: string;
  tx: string;
}

export interface KeyRow {
  listing_id: string;
  listing_block_hash: string;
  provider: string;
  iv: string;
  tag: string;
  ciphertext: string;
  stored_at: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  block INTEGER NOT NULL,
  log_index INTEGER NOT NULL,
  block_hash TEXT NOT NULL,
  tx TEXT NOT NULL,
  name TEXT NOT NULL,
  args TEXT NOT NULL,
  PRIMARY KEY (block, log_index)
);
CREATE TABLE IF NOT EXISTS cursor (id INTEGER PRIMARY KEY CHECK (id = 1), block INTEGER NOT NULL, hash TEXT);
CREATE TABLE IF NOT EXISTS listings (
  id TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  price TEXT NOT NULL,
  term_days INTEGER NOT NULL,
  diem_min TEXT NOT NULL,
  diem_max TEXT NOT NULL,
  diem_rented TEXT NOT NULL,
  active INTEGER NOT NULL,
  block INTEGER NOT NULL,
  block_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rentals (
  id TEXT PRIMARY KEY,
  listing_id TEXT NOT NULL,
  renter TEXT NOT NULL,
  diem TEXT NOT NULL,
  term_days INTEGER NOT NULL,
  cost TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active','settled','refunded')),
  block INTEGER NOT NULL,
  block_hash TEXT NOT NULL,
  tx TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
  listing_id TEXT PRIMARY KEY,
  listing_block_hash TEXT NOT NULL,
  provider TEXT NOT NULL,
  iv TEXT NOT NULL,
  tag TEXT NOT NULL,
  ciphertext TEXT NOT NULL,
  stored_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS used_signatures (signer TEXT NOT NULL, message TEXT NOT NULL, used_at INTEGER NOT NULL, PRIMARY KEY (signer, message));
CREATE TABLE IF NOT EXISTS requests (
  id TEXT PRIMARY KEY,
  diem TEXT NOT NULL,
  term_days INTEGER NOT NULL,
  max_price TEXT NOT NULL,
  renter TEXT,
  note TEXT,
  created_at INTEGER NOT NULL
);
`;

export class AispStore {
  readonly db: DatabaseSync;
  /** Used signatures under the test-only fault replayMemoryInMemory (lost with the process). */
  private readonly usedInMemory = new Set<string>();

  constructor(
    path: string,
    private readonly faults: Pick<AispFaults, 'shortReplayMemory' | 'replayMemoryInMemory' | 'usedSignatureRace'> = {},
  ) {
    this.db = new DatabaseSync(path);
    // WAL with synchronous=NORMAL: a commit survives a crash of the process (restarts are safe), fsync happens at checkpoints.
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    this.db.exec(SCHEMA);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  /** Runs `fn` in one transaction (rolled back if it throws). */
  tx<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }

  // ---- sync cursor and events ----------------------------------------------------------------

  cursor(): { block: number; hash: string | null } | undefined {
    return this.db.prepare('SELECT block, hash FROM cursor WHERE id = 1').get() as { block: number; hash: string | null } | undefined;
  }

  setCursor(block: number, hash: string | null): void {
    this.db.prepare('INSERT INTO cursor (id, block, hash) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET block = excluded.block, hash = excluded.hash').run(block, hash);
  }

  /** Distinct blocks that hold events at or below `max`, newest first, with their hashes. */
  eventBlocks(max: number): { block: number; hash: string }[] {
    return this.db.prepare('SELECT DISTINCT block, block_hash AS hash FROM events WHERE block <= ? ORDER BY block DESC').all(max) as { block: number; hash: string }[];
  }

  insertEvent(e: StoredEvent): boolean {
    const r = this.db
      .prepare('INSERT OR IGNORE INTO events (block, log_index, block_hash, tx, name, args) VALUES (?,?,?,?,?,?)')
      .run(e.block, e.logIndex, e.blockHash, e.tx, e.name, JSON.stringify(e.args));
    return Number(r.changes) > 0;
  }

  /** Deletes every event above `block`; returns how many. */
  dropEventsAbove(block: number): number {
    return Number(this.db.prepare('DELETE FROM events WHERE block > ?').run(block).changes);
  }

  allEvents(): StoredEvent[] {
    const rows = this.db.prepare('SELECT * FROM events ORDER BY block, log_index').all() as {
      block: number;
      log_index: number;
      block_hash: string;
      tx: string;
      name: StoredEvent['name'];
      args: string;
    }[];
    return rows.map((r) => ({ block: r.block, logIndex: r.log_index, blockHash: r.block_hash, tx: r.tx, name: r.name, args: JSON.parse(r.args) as Record<string, string> }));
  }

  clearViews(): void {
    this.db.exec('DELETE FROM listings; DELETE FROM rentals;');
  }

  // ---- views ---------------------------------------------------------------------------------

  listing(id: string): ListingRow | undefined {
    return this.db.prepare('SELECT * FROM listings WHERE id = ?').get(id) as ListingRow | undefined;
  }

  listings(): ListingRow[] {
    return this.db.prepare('SELECT * FROM listings ORDER BY CAST(id AS INTEGER)').all() as unknown as ListingRow[];
  }

  rental(id: string): RentalRow | undefined {
    return this.db.prepare('SELECT * FROM rentals WHERE id = ?').get(id) as RentalRow | undefined;
  }

  upsertListing(l: ListingRow): void {
    this.db
      .prepare(
        `INSERT INTO listings (id, provider, price, term_days, diem_min, diem_max, diem_rented, active, block, block_hash) VALUES (?,?,?,?,?,?,?,?,?,?)
         ON CONFLICT(id) DO UPDATE SET provider=excluded.provider, price=excluded.price, term_days=excluded.term_days, diem_min=excluded.diem_min,
         diem_max=excluded.diem_max, diem_rented=excluded.diem_rented, active=excluded.active, block=excluded.block, block_hash=excluded.block_hash`,
      )
      .run(l.id, l.provider, l.price, l.term_days, l.diem_min, l.diem_max, l.diem_rented, l.active, l.block, l.block_hash);
  }

  setListingRented(id: string, diemRented: string): void {
    this.db.prepare('UPDATE listings SET diem_rented = ? WHERE id = ?').run(diemRented, id);
  }

  setListingActive(id: string, active: boolean): void {
    this.db.prepare('UPDATE listings SET active = ? WHERE id = ?').run(active ? 1 : 0, id);
  }

  insertRental(r: RentalRow): void {
    this.db
      .prepare(
        `INSERT INTO rentals (id, listing_id, renter, diem, term_days, cost, expires_at, status, block, block_hash, tx) VALUES (?,?,?,?,?,?,?,?,?,?,?)
         ON CONFLICT(id) DO UPDATE SET listing_id=excluded.listing_id, renter=excluded.renter, diem=excluded.diem, term_days=excluded.term_days,
         cost=excluded.cost, expires_at=excluded.expires_at, status=excluded.status, block=excluded.block, block_hash=excluded.block_hash, tx=excluded.tx`,
      )
      .run(r.id, r.listing_id, r.renter, r.diem, r.term_days, r.cost, r.expires_at, r.status, r.block, r.block_hash, r.tx);
  }

  setRentalStatus(id: string, status: RentalRow['status']): void {
    this.db.prepare('UPDATE rentals SET status = ? WHERE id = ?').run(status, id);
  }

  // ---- keys ----------------------------------------------------------------------------------

  key(listingId: string): KeyRow | undefined {
    return this.db.prepare('SELECT * FROM api_keys WHERE listing_id = ?').get(listingId) as KeyRow | undefined;
  }

  putKey(k: KeyRow): void {
    this.db
      .prepare(
        `INSERT INTO api_keys (listing_id, listing_block_hash, provider, iv, tag, ciphertext, stored_at) VALUES (?,?,?,?,?,?,?)
         ON CONFLICT(listing_id) DO UPDATE SET listing_block_hash=excluded.listing_block_hash, provider=excluded.provider, iv=excluded.iv,
         tag=excluded.tag, ciphertext=excluded.ciphertext, stored_at=excluded.stored_at`,
      )
      .run(k.listing_id, k.listing_block_hash, k.provider, k.iv, k.tag, k.ciphertext, k.stored_at);
  }

  // ---- signatures and requests ---------------------------------------------------------------

  /** Records a used signature; false when it was used before. Entries older than `forgetBefore` are dropped. */
  useSignature(signer: string, message: string, nowS: number, forgetBefore: number): boolean {
    if (this.faults.replayMemoryInMemory) {
      const id = `${signer.toLowerCase()}\n${message}`;
      if (this.usedInMemory.has(id)) return false;
      this.usedInMemory.add(id);
      return true;
    }
    if (this.faults.usedSignatureRace) {
      // Test-only: the caller asked signatureUsed earlier; a second record of one signature throws (UNIQUE).
      this.db.prepare('INSERT INTO used_signatures (signer, message, used_at) VALUES (?,?,?)').run(signer.toLowerCase(), message, nowS);
      return true;
    }
    return this.tx(() => {
      this.db.prepare('DELETE FROM used_signatures WHERE used_at < ?').run(this.faults.shortReplayMemory ? nowS - 60 : forgetBefore);
      const r = this.db.prepare('INSERT OR IGNORE INTO used_signatures (signer, message, used_at) VALUES (?,?,?)').run(signer.toLowerCase(), message, nowS);
      return Number(r.changes) > 0;
    });
  }

  /** Whether `signer` has used `message` (only the test-only fault usedSignatureRace asks apart from recording). */
  signatureUsed(signer: string, message: string): boolean {
    return this.db.prepare('SELECT 1 FROM used_signatures WHERE signer = ? AND message = ?').get(signer.toLowerCase(), message) !== undefined;
  }

  insertRequest(r: { id: string; diem: string; termDays: number; maxPrice: string; renter: string | null; note: string | null; createdAt: number }): void {
    this.db.prepare('INSERT INTO requests (id, diem, term_days, max_price, renter, note, created_at) VALUES (?,?,?,?,?,?,?)').run(r.id, r.diem, r.termDays, r.maxPrice, r.renter, r.note, r.createdAt);
  }

  request(id: string): Record<string, unknown> | undefined {
    return this.db.prepare('SELECT * FROM requests WHERE id = ?').get(id) as Record<string, unknown> | undefined;
  }
}
