/**
 * SQLite state of the APS-1 reference servers (`node:sqlite`): the agent's negotiations and jobs,
 * the marketplace's escrowed jobs. A row that depends on a block (the escrow it was paid with) keeps
 * that block as its anchor, so a chain revert orphans it (RevertGuard) and the escrow can be used
 * again, as on the chain.
 */
import { DatabaseSync } from 'node:sqlite';
import type { Anchor } from '../../_shared/revert-guard.ts';

export interface NegotiationRow {
  jobId: string;
  agreed: number | null;
  closed: boolean;
}

export type JobState = 'running' | 'done';

export interface AgentJobRow {
  jobId: string;
  requestHash: string;
  escrowKey: string | null;
  state: JobState;
  httpStatus: number | null;
  result: string | null;
  commitmentId: string | null;
  /** The escrow claim as checked when the job started (JSON), so a retry resumes without re-checking. */
  escrow: string | null;
  createdAt: string;
}

export interface MarketJobRow {
  jobId: string;
  agentId: string;
  callerWallet: string;
  token: string;
  amount: string;
  nexusJobId: string | null;
  /**
   * pulling → pulled → created → executed → settled | refunded → returned (refund forwarded to the
   * caller); pulling → failed (nothing pulled); pulled → failing → failed (no job: price sent back).
   */
  state: string;
  response: string | null;
  /** The caller's task, to build the agent's envelope again after a crash. */
  prompt: string | null;
  /** JSON. */
  payload: string | null;
  /** The agent's manifest as hired (JSON): wallet, proof, endpoint. */
  manifest: string | null;
  /** Hashes of the hire's transactions, each written once signed, before it is broadcast. */
  pullTx: string | null;
  createTx: string | null;
  returnTx: string | null;
  /** What the agent answered (JSON {result, why}), so a resumed hire concludes on it. */
  answer: string | null;
  createdAt: string;
}

/** Columns market_jobs gained after its first version (added to older files on open). */
const MARKET_ADDED = ['prompt', 'payload', 'manifest', 'pull_tx', 'create_tx', 'return_tx', 'answer'];
const MARKET_FIELDS = {
  state: 'state',
  nexusJobId: 'nexus_job_id',
  response: 'response',
  pullTx: 'pull_tx',
  createTx: 'create_tx',
  returnTx: 'return_tx',
  answer: 'answer',
} as const;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS negotiations (
  job_id TEXT PRIMARY KEY,
  agreed REAL,
  closed INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agent_jobs (
  job_id TEXT PRIMARY KEY,
  request_hash TEXT NOT NULL,
  escrow_key TEXT,
  state TEXT NOT NULL CHECK (state IN ('running','done')),
  http_status INTEGER,
  result TEXT,
  commitment_id TEXT,
  escrow TEXT,
  anchor_block INTEGER,
  anchor_hash TEXT,
  orphaned INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS agent_jobs_escrow ON agent_jobs(escrow_key) WHERE escrow_key IS NOT NULL AND orphaned = 0;
CREATE TABLE IF NOT EXISTS market_jobs (
  job_id TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL,
  caller_wallet TEXT NOT NULL,
  token TEXT NOT NULL,
  amount TEXT NOT NULL,
  nexus_job_id TEXT,
  state TEXT NOT NULL,
  response TEXT,
  prompt TEXT,
  payload TEXT,
  manifest TEXT,
  pull_tx TEXT,
  create_tx TEXT,
  return_tx TEXT,
  answer TEXT,
  anchor_block INTEGER,
  anchor_hash TEXT,
  orphaned INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
`;

export class Aps1Db {
  readonly db: DatabaseSync;

  constructor(path: string) {
    this.db = new DatabaseSync(path);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;');
    this.db.exec(SCHEMA);
    const have = new Set((this.db.prepare('PRAGMA table_info(market_jobs)').all() as { name: string }[]).map((c) => c.name));
    for (const c of MARKET_ADDED) if (!have.has(c)) this.db.exec(`ALTER TABLE market_jobs ADD COLUMN ${c} TEXT`);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  // ---- negotiations ----------------------------------------------------------------------------

  negotiation(jobId: string): NegotiationRow | undefined {
    const r = this.db.prepare('SELECT job_id, agreed, closed FROM negotiations WHERE job_id = ?').get(jobId) as { job_id: string; agreed: number | null; closed: number } | undefined;
    return r ? { jobId: r.job_id, agreed: r.agreed, closed: r.closed === 1 } : undefined;
  }

  saveNegotiation(n: NegotiationRow, at: string): void {
    this.db
      .prepare(
        'INSERT INTO negotiations (job_id, agreed, closed, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(job_id) DO UPDATE SET agreed = excluded.agreed, closed = excluded.closed, updated_at = excluded.updated_at',
      )
      .run(n.jobId, n.agreed, n.closed ? 1 : 0, at);
  }

  // ---- agent jobs ------------------------------------------------------------------------------

  agentJob(jobId: string): AgentJobRow | undefined {
    const r = this.db.prepare('SELECT * FROM agent_jobs WHERE job_id = ? AND orphaned = 0').get(jobId) as Record<string, unknown> | undefined;
    return r ? toAgentJob(r) : undefined;
  }

  agentJobByEscrow(key: string): AgentJobRow | undefined {
    const r = this.db.prepare('SELECT * FROM agent_jobs WHERE escrow_key = ? AND orphaned = 0').get(key) as Record<string, unknown> | undefined;
    return r ? toAgentJob(r) : undefined;
  }

  /** Inserts a running job; false when the job id or the escrow is taken. */
  startAgentJob(j: { jobId: string; requestHash: string; escrowKey: string | null; escrow: string | null; anchor?: Anchor }, at: string): boolean {
    return this.tx(() => {
      // An orphaned row (its escrow block was reverted away) gives its id back.
      this.db.prepare('DELETE FROM agent_jobs WHERE job_id = ? AND orphaned = 1').run(j.jobId);
      try {
        this.db
          .prepare('INSERT INTO agent_jobs (job_id, request_hash, escrow_key, escrow, state, anchor_block, anchor_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
          .run(j.jobId, j.requestHash, j.escrowKey, j.escrow, 'running', j.anchor ? Number(j.anchor.block) : null, j.anchor?.hash ?? null, at);
        return true;
      } catch (e) {
        if (/UNIQUE|PRIMARY/i.test((e as Error).message)) return false;
        throw e;
      }
    });
  }

  updateAgentJob(jobId: string, f: Partial<Pick<AgentJobRow, 'state' | 'httpStatus' | 'result' | 'commitmentId'>>): void {
    const sets: string[] = [];
    const vals: (string | number | null)[] = [];
    if (f.state !== undefined) {
      sets.push('state = ?');
      vals.push(f.state);
    }
    if (f.httpStatus !== undefined) {
      sets.push('http_status = ?');
      vals.push(f.httpStatus);
    }
    if (f.result !== undefined) {
      sets.push('result = ?');
      vals.push(f.result);
    }
    if (f.commitmentId !== undefined) {
      sets.push('commitment_id = ?');
      vals.push(f.commitmentId);
    }
    if (!sets.length) return;
    this.db.prepare(`UPDATE agent_jobs SET ${sets.join(', ')} WHERE job_id = ? AND orphaned = 0`).run(...vals, jobId);
  }

  deleteAgentJob(jobId: string): void {
    this.db.prepare('DELETE FROM agent_jobs WHERE job_id = ? AND orphaned = 0').run(jobId);
  }

  runningAgentJobs(): AgentJobRow[] {
    return (this.db.prepare("SELECT * FROM agent_jobs WHERE state = 'running' AND orphaned = 0").all() as Record<string, unknown>[]).map(toAgentJob);
  }

  // ---- marketplace jobs ------------------------------------------------------------------------

  marketJob(jobId: string): MarketJobRow | undefined {
    const r = this.db.prepare('SELECT * FROM market_jobs WHERE job_id = ? AND orphaned = 0').get(jobId) as Record<string, unknown> | undefined;
    return r ? toMarketJob(r) : undefined;
  }

  insertMarketJob(j: Pick<MarketJobRow, 'jobId' | 'agentId' | 'callerWallet' | 'token' | 'amount' | 'state' | 'prompt' | 'payload' | 'manifest'>, at: string): boolean {
    return this.tx(() => {
      this.db.prepare('DELETE FROM market_jobs WHERE job_id = ? AND orphaned = 1').run(j.jobId);
      try {
        this.db
          .prepare('INSERT INTO market_jobs (job_id, agent_id, caller_wallet, token, amount, state, prompt, payload, manifest, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .run(j.jobId, j.agentId, j.callerWallet, j.token, j.amount, j.state, j.prompt, j.payload, j.manifest, at);
        return true;
      } catch (e) {
        if (/UNIQUE|PRIMARY/i.test((e as Error).message)) return false;
        throw e;
      }
    });
  }

  updateMarketJob(jobId: string, f: Partial<Pick<MarketJobRow, keyof typeof MARKET_FIELDS>> & { anchor?: Anchor }): void {
    const sets: string[] = [];
    const vals: (string | number | null)[] = [];
    for (const [k, col] of Object.entries(MARKET_FIELDS)) {
      const v = f[k as keyof typeof MARKET_FIELDS];
      if (v === undefined) continue;
      sets.push(`${col} = ?`);
      vals.push(v);
    }
    if (f.anchor) {
      sets.push('anchor_block = ?', 'anchor_hash = ?');
      vals.push(Number(f.anchor.block), f.anchor.hash);
    }
    if (!sets.length) return;
    this.db.prepare(`UPDATE market_jobs SET ${sets.join(', ')} WHERE job_id = ? AND orphaned = 0`).run(...vals, jobId);
  }

  openMarketJobs(): MarketJobRow[] {
    return (this.db.prepare("SELECT * FROM market_jobs WHERE state NOT IN ('settled','returned','failed') AND orphaned = 0").all() as Record<string, unknown>[]).map(toMarketJob);
  }

  // ---- revert guard ----------------------------------------------------------------------------

  liveAnchors(): Anchor[] {
    const rows = this.db
      .prepare(
        `SELECT DISTINCT anchor_block AS b, anchor_hash AS h FROM (
           SELECT anchor_block, anchor_hash FROM agent_jobs WHERE orphaned = 0 AND anchor_block IS NOT NULL
           UNION SELECT anchor_block, anchor_hash FROM market_jobs WHERE orphaned = 0 AND anchor_block IS NOT NULL)
         ORDER BY b DESC`,
      )
      .all() as { b: number; h: string }[];
    return rows.map((r) => ({ block: BigInt(r.b), hash: r.h }));
  }

  orphanAnchors(anchors: Anchor[]): number {
    if (!anchors.length) return 0;
    return this.tx(() => {
      let n = 0;
      for (const a of anchors) {
        n += Number(this.db.prepare('UPDATE agent_jobs SET orphaned = 1 WHERE anchor_block = ? AND anchor_hash = ? AND orphaned = 0').run(Number(a.block), a.hash).changes);
        n += Number(this.db.prepare('UPDATE market_jobs SET orphaned = 1 WHERE anchor_block = ? AND anchor_hash = ? AND orphaned = 0').run(Number(a.block), a.hash).changes);
      }
      return n;
    });
  }

  /** Every table's rows (the fuzz test compares them before and after). */
  dump(): Record<string, unknown[]> {
    const out: Record<string, unknown[]> = {};
    for (const t of ['negotiations', 'agent_jobs', 'market_jobs']) out[t] = this.db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all();
    return out;
  }

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
}

function toAgentJob(r: Record<string, unknown>): AgentJobRow {
  return {
    jobId: r.job_id as string,
    requestHash: r.request_hash as string,
    escrowKey: (r.escrow_key as string | null) ?? null,
    state: r.state as JobState,
    httpStatus: (r.http_status as number | null) ?? null,
    result: (r.result as string | null) ?? null,
    commitmentId: (r.commitment_id as string | null) ?? null,
    escrow: (r.escrow as string | null) ?? null,
    createdAt: r.created_at as string,
  };
}

function toMarketJob(r: Record<string, unknown>): MarketJobRow {
  return {
    jobId: r.job_id as string,
    agentId: r.agent_id as string,
    callerWallet: r.caller_wallet as string,
    token: r.token as string,
    amount: r.amount as string,
    nexusJobId: (r.nexus_job_id as string | null) ?? null,
    state: r.state as string,
    response: (r.response as string | null) ?? null,
    prompt: (r.prompt as string | null) ?? null,
    payload: (r.payload as string | null) ?? null,
    manifest: (r.manifest as string | null) ?? null,
    pullTx: (r.pull_tx as string | null) ?? null,
    createTx: (r.create_tx as string | null) ?? null,
    returnTx: (r.return_tx as string | null) ?? null,
    answer: (r.answer as string | null) ?? null,
    createdAt: r.created_at as string,
  };
}
