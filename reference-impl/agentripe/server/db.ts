/**
 * Agentripe server state in SQLite (`node:sqlite`). Every multi-row change runs in a transaction.
 *
 * Crash model: a chain action (record / release / refund / feedback) is first written down as an
 * intention (`deposit_state='unrecorded'`, `pending_action`, `feedback_state='pending'`), then sent,
 * then confirmed in the DB. On start the server finishes or reconciles every intention against the
 * chain (see escrow.ts `resync`), so a crash between any two steps loses nothing.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { Anchor } from '../../_shared/revert-guard.ts';

/** Re-exported for callers that hash keys next to the store (the hash lives in auth.ts). */
export { hashApiKey } from './auth.ts';

/** Task states (seed 002 "Task States"). */
export type TaskStatus = 'pending' | 'processing' | 'completed' | 'rejected' | 'failed';
/** Escrow side of a task, mirrored from the chain. */
export type DepositState = 'unrecorded' | 'deposited' | 'released' | 'refunded';
/** The escrow action decided but not yet confirmed. */
export type PendingAction = 'release' | 'refund';
/** Reputation feedback for the task's outcome. */
export type FeedbackState = 'none' | 'pending' | 'given';

/** A block a row depends on (its payment or registration); see the revert guard. */
export type { Anchor };

/** One task row (camelCase view). */
export interface TaskRow {
  id: string;
  agentId: string;
  productId: string;
  buyerAddress: string;
  amount: string;
  network: string;
  asset: string;
  payTo: string;
  method: string;
  requestPayload: string | null;
  taskDetail: string | null;
  taskMetadata: string | null;
  reviewerRequest: string | null;
  status: TaskStatus;
  errorMessage: string | null;
  result: string | null;
  reviewApproved: number | null;
  reviewReason: string | null;
  reviewRejectCount: number;
  depositState: DepositState;
  pendingAction: PendingAction | null;
  /** Status and error message to apply once `pendingAction` is confirmed. */
  pendingStatus: TaskStatus | null;
  pendingError: string | null;
  feedbackState: FeedbackState;
  feedbackValue: number | null;
  recordTx: string | null;
  resolveTx: string | null;
  createdAt: string;
  updatedAt: string;
  /** Block of the task's payment (null when unknown): chain scans about the task start there. */
  anchorBlock: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tasks (
  id TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL,
  product_id TEXT NOT NULL,
  buyer_address TEXT NOT NULL,
  amount TEXT NOT NULL,
  network TEXT NOT NULL,
  asset TEXT NOT NULL,
  pay_to TEXT NOT NULL,
  method TEXT NOT NULL,
  request_payload TEXT,
  task_detail TEXT,
  task_metadata TEXT,
  reviewer_request TEXT,
  status TEXT NOT NULL CHECK (status IN ('pending','processing','completed','rejected','failed')),
  error_message TEXT,
  result TEXT,
  review_approved INTEGER,
  review_reason TEXT,
  review_reject_count INTEGER NOT NULL DEFAULT 0,
  deposit_state TEXT NOT NULL CHECK (deposit_state IN ('unrecorded','deposited','released','refunded')),
  pending_action TEXT CHECK (pending_action IN ('release','refund')),
  pending_status TEXT,
  pending_error TEXT,
  feedback_state TEXT NOT NULL DEFAULT 'none' CHECK (feedback_state IN ('none','pending','given')),
  feedback_value INTEGER,
  record_tx TEXT,
  resolve_tx TEXT,
  anchor_block INTEGER,
  anchor_hash TEXT,
  orphaned INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_agent ON tasks(agent_id, created_at);
CREATE TABLE IF NOT EXISTS api_keys (
  key_hash TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL,
  active INTEGER NOT NULL,
  anchor_block INTEGER,
  anchor_hash TEXT,
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_one_active ON api_keys(agent_id) WHERE active = 1;
`;

const COLS: Record<keyof TaskRow, string> = {
  id: 'id',
  agentId: 'agent_id',
  productId: 'product_id',
  buyerAddress: 'buyer_address',
  amount: 'amount',
  network: 'network',
  asset: 'asset',
  payTo: 'pay_to',
  method: 'method',
  requestPayload: 'request_payload',
  taskDetail: 'task_detail',
  taskMetadata: 'task_metadata',
  reviewerRequest: 'reviewer_request',
  status: 'status',
  errorMessage: 'error_message',
  result: 'result',
  reviewApproved: 'review_approved',
  reviewReason: 'review_reason',
  reviewRejectCount: 'review_reject_count',
  depositState: 'deposit_state',
  pendingAction: 'pending_action',
  pendingStatus: 'pending_status',
  pendingError: 'pending_error',
  feedbackState: 'feedback_state',
  feedbackValue: 'feedback_value',
  recordTx: 'record_tx',
  resolveTx: 'resolve_tx',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  anchorBlock: 'anchor_block',
};

function toRow(r: Record<string, unknown>): TaskRow {
  const out: Record<string, unknown> = {};
  for (const [k, col] of Object.entries(COLS)) out[k] = r[col] ?? null;
  return out as unknown as TaskRow;
}

/** The server's store. */
export class AgentripeDb {
  readonly db: DatabaseSync;
  private readonly stmts = new Map<string, StatementSync>();

  constructor(path: string) {
    this.db = new DatabaseSync(path);
    // WAL + synchronous=NORMAL: a commit survives a process crash (the crash model of the restart
    // tests) without an fsync per write; only a power loss can drop the last commits.
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    this.db.exec(SCHEMA);
  }

  /** A prepared statement, compiled once per SQL text. */
  private q(sql: string): StatementSync {
    let st = this.stmts.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.stmts.set(sql, st);
    }
    return st;
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  /** Deletes every task and API key (the server's reset, after its chain went back to where it started). */
  clear(): void {
    // Stryker disable next-line all: speed only (see the server's reset).
    this.tx(() => this.db.exec('DELETE FROM tasks; DELETE FROM api_keys;'));
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

  /**
   * Inserts a new pending task. `anchor` is the block holding its payment: if the chain later no
   * longer has that block (evm_revert, reorg), the task is orphaned (see {@link orphanAnchors}).
   */
  insertTask(
    t: Pick<
      TaskRow,
      'id' | 'agentId' | 'productId' | 'buyerAddress' | 'amount' | 'network' | 'asset' | 'payTo' | 'method' | 'requestPayload' | 'taskDetail' | 'taskMetadata' | 'reviewerRequest' | 'createdAt'
    >,
    anchor?: Anchor,
  ): void {
    // The same payment can be mined again after a revert (same signed authorization): the orphaned
    // copy gives way to the live one.
    this.q('DELETE FROM tasks WHERE id = ? AND orphaned = 1').run(t.id);
    this.q(
      `INSERT INTO tasks (id, agent_id, product_id, buyer_address, amount, network, asset, pay_to, method,
          request_payload, task_detail, task_metadata, reviewer_request, status, deposit_state, anchor_block, anchor_hash, created_at, updated_at)
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,'pending','unrecorded',?,?,?,?)`,
    ).run(
      t.id,
      t.agentId,
      t.productId,
      t.buyerAddress,
      t.amount,
      t.network,
      t.asset,
      t.payTo,
      t.method,
      t.requestPayload,
      t.taskDetail,
      t.taskMetadata,
      t.reviewerRequest,
      anchor ? Number(anchor.block) : null,
      anchor?.hash ?? null,
      t.createdAt,
      t.createdAt,
    );
  }

  /** Distinct anchors of live rows (tasks not orphaned, active API keys), newest first. */
  liveAnchors(): Anchor[] {
    const rows = this.q(
      `SELECT anchor_block AS b, anchor_hash AS h FROM tasks WHERE orphaned = 0 AND anchor_block IS NOT NULL
         UNION SELECT anchor_block, anchor_hash FROM api_keys WHERE active = 1 AND anchor_block IS NOT NULL
         ORDER BY b DESC`,
    ).all() as { b: number; h: string }[];
    return rows.map((r) => ({ block: BigInt(r.b), hash: r.h }));
  }

  /** Orphans every task and deactivates every API key anchored at one of `anchors`. Returns rows changed. */
  orphanAnchors(anchors: Anchor[]): number {
    let n = 0;
    this.tx(() => {
      for (const a of anchors) {
        n += Number(this.q('UPDATE tasks SET orphaned = 1 WHERE anchor_block = ? AND anchor_hash = ? AND orphaned = 0').run(Number(a.block), a.hash).changes);
        n += Number(this.q('UPDATE api_keys SET active = 0 WHERE anchor_block = ? AND anchor_hash = ? AND active = 1').run(Number(a.block), a.hash).changes);
      }
    });
    return n;
  }

  /** Ids (payment tx hashes) of the live tasks anchored at `a`. */
  tasksAnchoredAt(a: Anchor): string[] {
    // Only unresolved tasks follow their payment: a released or refunded one's resolution went with
    // the replaced blocks too, and its row no longer says what the chain holds (profile AGR-PROF-20:
    // not followed back; it is orphaned, and the payment mined again makes a task of its own).
    return (
      this.q("SELECT id FROM tasks WHERE anchor_block = ? AND anchor_hash = ? AND orphaned = 0 AND deposit_state IN ('unrecorded','deposited')").all(Number(a.block), a.hash) as {
        id: string;
      }[]
    ).map((r) => r.id);
  }

  /**
   * Moves a live task to the block that mined its payment again after a reorg. Its recordDeposit may
   * not have been mined again: a deposit it believed recorded is recorded again before it is resolved
   * (recording one that is on chain already is refused and then read back: ensureRecorded).
   */
  reanchorTask(id: string, a: Anchor): number {
    return Number(
      this.q(
        `UPDATE tasks SET anchor_block = ?, anchor_hash = ?, deposit_state = CASE deposit_state WHEN 'deposited' THEN 'unrecorded' ELSE deposit_state END
           WHERE id = ? AND orphaned = 0`,
      ).run(Number(a.block), a.hash, id).changes,
    );
  }

  getTask(id: string): TaskRow | undefined {
    const r = this.q('SELECT * FROM tasks WHERE id = ? AND orphaned = 0').get(id);
    return r ? toRow(r as Record<string, unknown>) : undefined;
  }

  /** Updates the given fields of a task (and nothing else). */
  updateTask(id: string, fields: Partial<Omit<TaskRow, 'id'>>): void {
    const keys = Object.keys(fields) as (keyof TaskRow)[];
    if (!keys.length) return;
    const sql = `UPDATE tasks SET ${keys.map((k) => `${COLS[k]} = ?`).join(', ')} WHERE id = ?`;
    this.q(sql).run(...keys.map((k) => (fields as Record<string, string | number | null>)[k]!), id);
  }

  /** Every live task (only the listAllTasks fault lists them to a vendor). */
  allTasks(): TaskRow[] {
    return (this.q('SELECT * FROM tasks WHERE orphaned = 0 ORDER BY created_at, id').all() as Record<string, unknown>[]).map(toRow);
  }

  /** Removes a task row (only the taskOnBadPayment fault writes rows it may have to take back). */
  deleteTask(id: string): void {
    this.q('DELETE FROM tasks WHERE id = ?').run(id);
  }

  tasksForAgent(agentId: string): TaskRow[] {
    return (this.q('SELECT * FROM tasks WHERE agent_id = ? AND orphaned = 0 ORDER BY created_at, id').all(agentId) as Record<string, unknown>[]).map(toRow);
  }

  /** Tasks whose chain side is not final or has an unconfirmed intention. */
  openTasks(): TaskRow[] {
    return (
      this.q(
        `SELECT * FROM tasks WHERE orphaned = 0 AND (deposit_state IN ('unrecorded','deposited') OR pending_action IS NOT NULL
           OR feedback_state = 'pending') ORDER BY created_at, id`,
      ).all() as Record<string, unknown>[]
    ).map(toRow);
  }

  /** Per-agent counts by status plus released amount (base units, as a decimal string). */
  agentStats(agentId: string): { byStatus: Record<string, number>; released: bigint; refunded: bigint; rejections: number } {
    const byStatus: Record<string, number> = {};
    let released = 0n;
    let refunded = 0n;
    let rejections = 0;
    for (const t of this.tasksForAgent(agentId)) {
      byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
      if (t.depositState === 'released') released += BigInt(t.amount);
      if (t.depositState === 'refunded') refunded += BigInt(t.amount);
      rejections += t.reviewRejectCount;
    }
    return { byStatus, released, refunded, rejections };
  }

  /** Issues `keyHash` as the only active key of `agentId` (revoking the previous one). */
  setApiKey(agentId: string, keyHash: string, createdAt: string, anchor?: Anchor): void {
    this.tx(() => {
      this.q('UPDATE api_keys SET active = 0 WHERE agent_id = ? AND active = 1').run(agentId);
      this.q('INSERT INTO api_keys (key_hash, agent_id, active, anchor_block, anchor_hash, created_at) VALUES (?,?,1,?,?,?)').run(
        keyHash,
        agentId,
        anchor ? Number(anchor.block) : null,
        anchor?.hash ?? null,
        createdAt,
      );
    });
  }

  /** The agent of an active API key hash, if any. */
  agentForKey(keyHash: string): string | undefined {
    const r = this.q('SELECT agent_id FROM api_keys WHERE key_hash = ? AND active = 1').get(keyHash) as { agent_id: string } | undefined;
    return r?.agent_id;
  }
}
