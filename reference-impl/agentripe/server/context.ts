/** What the route modules and the escrow actions of one Agentripe server share. */
import type { KeyedLock } from '../../_shared/keyed-lock.ts';
import type { RevertGuard } from '../../_shared/revert-guard.ts';
import type { AgentripeChain } from './chain.ts';
import type { AgentripeConfig } from './config.ts';
import type { AgentripeDb } from './db.ts';
import type { EscrowActions } from './escrow.ts';
import type { AgentripeFaults } from './faults.ts';
import type { Reviewer } from './review.ts';

/** Everything but the escrow actions (which are built from it). */
export interface AgentripeBase {
  cfg: AgentripeConfig;
  db: AgentripeDb;
  chain: AgentripeChain;
  /** Milliseconds since the epoch (injectable: follows chain time in tests). */
  now: () => number;
  /** `now()` as an ISO timestamp, for rows. */
  iso: () => string;
  log: (msg: string) => void;
  faults: AgentripeFaults;
  reviewer: Reviewer;
  /** One operation per task at a time (start, complete, fail, resync). */
  locks: KeyedLock;
  /** Orphans rows whose blocks a revert took away. */
  revert: RevertGuard;
  /**
   * `revert.check()` that never rejects: RPC trouble skips the check (nothing is orphaned on doubt)
   * and the route reports its own errors. Await it before reading or writing anchored rows.
   */
  revertChecked(): Promise<void>;
  /** URL clients reach the server at; set once it listens when not configured. */
  publicUrl: string;
}

export interface AgentripeContext extends AgentripeBase {
  escrow: EscrowActions;
}
