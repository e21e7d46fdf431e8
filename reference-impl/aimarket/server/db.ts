/**
 * SQLite state of the AI Market reference hub (`node:sqlite`): transaction hashes already used, channels (integer-cent ledger), signed receipts, invocation
 * stats, federation peers and their indexed tools, pipelines. A debit or refund is one SQL
 * statement, so a channel is never overdrawn and a refund is atomic.
 */
import { DatabaseSync } from 'node:sqlite';
import type { Anchor } from '../../_shared/revert-guard.ts';

export interface ChannelRow {
  id: string;
  payer: string;
  deposit_cents: number;
  used_cents: number;
  status: 'open' | 'settled';
  opened_at: number;
  expires_at: number;
  open_tx: string;
  refund_cents: number | null;
  refund_tx: string | null;
  secret: string;
  /** The block of the deposit transaction (a reorg that removes it orphans the channel). */
  anchor_block?: number | null;
  anchor_hash?: string | null;
}

export interface PeerRow {
  url: string;
  name: string;
  status: 'pending' | 'active';
  pubkey: string | null;
  well_known_url: string;
  capabilities_count: number;
  last_crawl: string | null;
  first_seen: number;
  ok: number;
  total: number;
  bond_usd: number;
}

export class HubDb {
  readonly db: DatabaseSync;
  /** Used transactions under the test-only fault usedTxInMemory (lost with the process). */
  private readonly usedInMemory?: Set<string>;
  constructor(file = ':memory:', o: { usedTxInMemory?: boolean } = {}) {
    if (o.usedTxInMemory) this.usedInMemory = new Set();
    this.db = new DatabaseSync(file);
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS used_tx (tx_hash TEXT PRIMARY KEY, purpose TEXT, ref TEXT);
      CREATE TABLE IF NOT EXISTS channels (id TEXT PRIMARY KEY, payer TEXT, deposit_cents INTEGER, used_cents INTEGER, status TEXT,
        opened_at INTEGER, expires_at INTEGER, open_tx TEXT, refund_cents INTEGER, refund_tx TEXT, secret TEXT,
        anchor_block INTEGER, anchor_hash TEXT, orphaned INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS receipts (nonce TEXT PRIMARY KEY, pay_nonce TEXT, json TEXT);
      CREATE INDEX IF NOT EXISTS receipts_pay ON receipts(pay_nonce);
      CREATE TABLE IF NOT EXISTS invocations (id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT, pid TEXT, cid TEXT, success INTEGER, charged_micros TEXT, via TEXT);
      CREATE TABLE IF NOT EXISTS peers (url TEXT PRIMARY KEY, name TEXT, status TEXT, pubkey TEXT, well_known_url TEXT, capabilities_count INTEGER,
        last_crawl TEXT, first_seen INTEGER, ok INTEGER, total INTEGER, bond_usd REAL);
      CREATE TABLE IF NOT EXISTS fed_tools (hub_url TEXT, name TEXT, json TEXT, PRIMARY KEY (hub_url, name));
      CREATE TABLE IF NOT EXISTS pipelines (trace_id TEXT PRIMARY KEY, json TEXT);
    `);
  }

  close(): void {
    this.db.close();
  }

  /** Marks a transaction hash used; false when it already was (the primary key makes this atomic). */
  useTx(hash: string, purpose: string, ref: string): boolean {
    if (this.usedInMemory) {
      const had = this.usedInMemory.has(hash.toLowerCase());
      this.usedInMemory.add(hash.toLowerCase());
      return !had;
    }
    const r = this.db.prepare('INSERT OR IGNORE INTO used_tx (tx_hash, purpose, ref) VALUES (?, ?, ?)').run(hash.toLowerCase(), purpose, ref);
    return r.changes === 1;
  }
  releaseTx(hash: string): void {
    this.usedInMemory?.delete(hash.toLowerCase());
    this.db.prepare('DELETE FROM used_tx WHERE tx_hash = ?').run(hash.toLowerCase());
  }
  txUsed(hash: string): boolean {
    if (this.usedInMemory) return this.usedInMemory.has(hash.toLowerCase());
    return this.db.prepare('SELECT 1 FROM used_tx WHERE tx_hash = ?').get(hash.toLowerCase()) !== undefined;
  }

  openChannel(c: Omit<ChannelRow, 'refund_cents' | 'refund_tx' | 'used_cents' | 'status'>): void {
    this.db
      .prepare('INSERT INTO channels (id, payer, deposit_cents, used_cents, status, opened_at, expires_at, open_tx, secret, anchor_block, anchor_hash) VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)')
      .run(c.id, c.payer, c.deposit_cents, 'open', c.opened_at, c.expires_at, c.open_tx, c.secret, c.anchor_block ?? null, c.anchor_hash ?? null);
  }
  /** A channel whose deposit is still on chain (an orphaned one is unknown). */
  channel(id: string): ChannelRow | undefined {
    return this.db.prepare('SELECT * FROM channels WHERE id = ? AND orphaned = 0').get(id) as ChannelRow | undefined;
  }

  /** Distinct deposit blocks of live open channels, newest first (a settled channel's refund is paid: nothing left to protect). */
  liveAnchors(): Anchor[] {
    const rows = this.db.prepare(`SELECT DISTINCT anchor_block AS b, anchor_hash AS h FROM channels WHERE orphaned = 0 AND status = 'open' AND anchor_block IS NOT NULL ORDER BY b DESC`).all() as {
      b: number;
      h: string;
    }[];
    return rows.map((r) => ({ block: BigInt(r.b), hash: r.h }));
  }
  /** Orphans the open channels whose deposit block is one of `anchors`; their deposit hashes may open a channel again. */
  orphanAnchors(anchors: Anchor[]): number {
    let n = 0;
    for (const a of anchors) {
      const rows = this.db.prepare(`SELECT id, open_tx FROM channels WHERE anchor_block = ? AND anchor_hash = ? AND orphaned = 0 AND status = 'open'`).all(Number(a.block), a.hash) as {
        id: string;
        open_tx: string;
      }[];
      for (const r of rows) {
        this.db.prepare('UPDATE channels SET orphaned = 1 WHERE id = ?').run(r.id);
        this.releaseTx(r.open_tx);
        n++;
      }
    }
    return n;
  }
  /** Deposit transactions of the live open channels anchored at `a`. */
  depositsAnchoredAt(a: Anchor): string[] {
    return (this.db.prepare(`SELECT open_tx FROM channels WHERE anchor_block = ? AND anchor_hash = ? AND orphaned = 0 AND status = 'open'`).all(Number(a.block), a.hash) as { open_tx: string }[]).map(
      (r) => r.open_tx,
    );
  }
  /** Moves the channel of deposit `tx` to the block that mined it again after a reorg. */
  reanchorDeposit(tx: string, a: Anchor): number {
    return Number(this.db.prepare('UPDATE channels SET anchor_block = ?, anchor_hash = ? WHERE open_tx = ? AND orphaned = 0').run(Number(a.block), a.hash, tx.toLowerCase()).changes);
  }
  /** Debit `cents` if the channel is open, unexpired at `now` and holds them (one statement). */
  debit(id: string, cents: number, now: number, opts: { overdraw?: boolean; noExpiry?: boolean } = {}): boolean {
    const r = this.db
      .prepare(`UPDATE channels SET used_cents = used_cents + ? WHERE id = ? AND status = 'open' AND orphaned = 0 AND (? OR expires_at > ?) AND (? OR deposit_cents - used_cents >= ?)`)
      .run(cents, id, opts.noExpiry ? 1 : 0, now, opts.overdraw ? 1 : 0, cents);
    return r.changes === 1;
  }
  refund(id: string, cents: number): void {
    this.db.prepare('UPDATE channels SET used_cents = used_cents - ? WHERE id = ?').run(cents, id);
  }
  /** Settle: open → settled with the refund recorded; false when it was not open. */
  settle(id: string, refundCents: number, allowAgain = false): boolean {
    const r = this.db.prepare(`UPDATE channels SET status = 'settled', refund_cents = ? WHERE id = ? AND (? OR status = 'open')`).run(refundCents, id, allowAgain ? 1 : 0);
    return r.changes === 1;
  }
  setRefundTx(id: string, tx: string): void {
    this.db.prepare('UPDATE channels SET refund_tx = ? WHERE id = ?').run(tx, id);
  }

  putReceipt(nonce: string, payNonce: string | null, json: string): void {
    this.db.prepare('INSERT INTO receipts VALUES (?, ?, ?)').run(nonce, payNonce, json);
  }
  receipt(nonce: string): string | undefined {
    const r = this.db.prepare('SELECT json FROM receipts WHERE nonce = ? OR pay_nonce = ? LIMIT 1').get(nonce, nonce) as { json: string } | undefined;
    return r?.json;
  }

  logInvocation(ts: string, pid: string, cid: string, success: boolean, charged: bigint, via: string): void {
    this.db.prepare('INSERT INTO invocations (ts, pid, cid, success, charged_micros, via) VALUES (?, ?, ?, ?, ?, ?)').run(ts, pid, cid, success ? 1 : 0, charged.toString(), via);
  }
  stats(): { invocations: number; successes: number; revenue: bigint; recent: { ts: string; pid: string; cid: string; success: number; via: string }[] } {
    const rows = this.db.prepare('SELECT success, charged_micros FROM invocations').all() as { success: number; charged_micros: string }[];
    const recent = this.db.prepare('SELECT ts, pid, cid, success, via FROM invocations ORDER BY id DESC LIMIT 20').all() as never;
    return {
      invocations: rows.length,
      successes: rows.filter((r) => r.success).length,
      revenue: rows.reduce((a, r) => a + BigInt(r.charged_micros), 0n),
      recent,
    };
  }
  openChannels(): number {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM channels WHERE status = 'open' AND orphaned = 0`).get() as { n: number }).n;
  }

  peers(): PeerRow[] {
    return this.db.prepare('SELECT * FROM peers ORDER BY url').all() as unknown as PeerRow[];
  }
  peer(url: string): PeerRow | undefined {
    return this.db.prepare('SELECT * FROM peers WHERE url = ?').get(url) as PeerRow | undefined;
  }
  addPeer(p: PeerRow): boolean {
    const r = this.db
      .prepare('INSERT OR IGNORE INTO peers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(p.url, p.name, p.status, p.pubkey, p.well_known_url, p.capabilities_count, p.last_crawl, p.first_seen, p.ok, p.total, p.bond_usd);
    return r.changes === 1;
  }
  overwritePeer(url: string, name: string, pubkey: string): void {
    this.db.prepare('UPDATE peers SET name = ?, pubkey = ? WHERE url = ?').run(name, pubkey, url);
  }
  pendingCount(): number {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM peers WHERE status = 'pending'`).get() as { n: number }).n;
  }
  crawled(url: string, name: string, pubkey: string, count: number, at: string, tools: { name: string; json: string }[]): void {
    this.db.exec('BEGIN');
    try {
      this.db.prepare('UPDATE peers SET name = ?, pubkey = COALESCE(pubkey, ?), capabilities_count = ?, last_crawl = ? WHERE url = ?').run(name, pubkey, count, at, url);
      this.db.prepare('DELETE FROM fed_tools WHERE hub_url = ?').run(url);
      const ins = this.db.prepare('INSERT INTO fed_tools VALUES (?, ?, ?)');
      for (const t of tools) ins.run(url, t.name, t.json);
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }
  peerOutcome(url: string, ok: boolean): void {
    this.db.prepare('UPDATE peers SET total = total + 1, ok = ok + ? WHERE url = ?').run(ok ? 1 : 0, url);
  }
  fedTools(): { hub_url: string; json: string }[] {
    return this.db.prepare(`SELECT f.hub_url, f.json FROM fed_tools f JOIN peers p ON p.url = f.hub_url WHERE p.status = 'active' ORDER BY f.hub_url, f.name`).all() as never;
  }

  putPipeline(trace: string, json: string): void {
    this.db.prepare('INSERT INTO pipelines VALUES (?, ?)').run(trace, json);
  }
}
