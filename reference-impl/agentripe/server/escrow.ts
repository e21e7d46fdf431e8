/**
 * The server's escrow actions, each idempotent: every chain action is first written down as an
 * intention on the task row, then carried out, then confirmed; `resync` finishes whatever a crash
 * or an RPC failure left open, following the chain where it already decided.
 */
import type { Address, Hex } from 'viem';
import { HttpError } from '../../_shared/http.ts';
import type { AgentripeBase } from './context.ts';
import type { DepositStatusName } from '../protocol/abi.ts';
import type { TaskRow, TaskStatus } from './db.ts';

export interface EscrowActions {
  /** Makes sure the task's deposit is recorded on the escrow. */
  ensureRecorded(t: TaskRow): Promise<void>;
  /**
   * Carries out the task's pending escrow action (release or refund) and applies the status it was
   * waiting for; where the chain already resolved the deposit the other way, the task follows it.
   */
  finishPending(id: string): Promise<void>;
  /** Gives the pending reputation feedback once (`checkChain`: look for it on chain first). */
  finishFeedback(id: string, checkChain: boolean): Promise<void>;
  /** Runs a decided escrow action; chain failures become 502 (the intention stays for a retry). */
  resolve(id: string): Promise<void>;
  /** Reconciles open tasks and unconfirmed chain actions with the chain. */
  resync(): Promise<{ checked: number; changed: number }>;
}

export function createEscrowActions(ctx: AgentripeBase): EscrowActions {
  const { db, chain, faults, iso, log } = ctx;

  /** The block to scan the chain from for events about `t` (its payment block). */
  const fromBlockOf = (t: TaskRow) => (t.anchorBlock === null ? 0n : BigInt(t.anchorBlock));

  async function ensureRecorded(t: TaskRow): Promise<void> {
    if (t.depositState !== 'unrecorded') return;
    // Optimistic: almost always the deposit is not on chain yet, so record it without reading
    // first; only a refused record (already recorded before a crash, or resolved) reads the chain.
    try {
      const tx = await chain.recordDeposit(t.id as Hex, BigInt(t.agentId), t.buyerAddress as Address, BigInt(t.amount) - (faults.recordAmountOffByOne ? 1n : 0n));
      db.updateTask(t.id, { depositState: 'deposited', recordTx: tx });
    } catch (e) {
      const onChain = await chain.getDeposit(t.id as Hex);
      if (onChain.status === 'none') throw e;
      db.updateTask(t.id, { depositState: onChain.status });
    }
    t.depositState = db.getTask(t.id)!.depositState;
  }

  async function finishPending(id: string): Promise<void> {
    let t = db.getTask(id)!;
    if (!t.pendingAction) return;
    await ensureRecorded(t);
    t = db.getTask(id)!;
    let onChain: DepositStatusName = t.depositState === 'unrecorded' ? 'none' : t.depositState;
    let tx: Hex | null = null;
    if (onChain === 'deposited') {
      // Optimistic again: the DB says DEPOSITED; if the escrow refuses (a buyer reclaim, a crash
      // after the call), the chain is read and followed below.
      try {
        tx = t.pendingAction === 'release' ? await chain.releaseToVendor(id as Hex) : await chain.refundToBuyer(id as Hex);
        onChain = t.pendingAction === 'release' ? 'released' : 'refunded';
      } catch (e) {
        onChain = (await chain.getDeposit(id as Hex)).status;
        if (onChain === 'deposited' || onChain === 'none') throw e;
      }
    }
    if ((onChain === 'released' || onChain === 'refunded') && !tx) {
      tx = (await chain.resolutions([id as Hex], fromBlockOf(t))).get(id)?.tx ?? null;
    }
    if (onChain !== 'released' && onChain !== 'refunded') throw new Error(`deposit ${id} is ${onChain} on chain`);
    const matches = (onChain === 'released') === (t.pendingAction === 'release');
    const status: TaskStatus = matches ? t.pendingStatus! : onChain === 'released' ? 'completed' : 'failed';
    const errorMessage = matches ? t.pendingError : onChain === 'refunded' ? 'Deposit was refunded on chain' : null;
    db.updateTask(id, {
      status,
      errorMessage,
      depositState: onChain,
      resolveTx: tx,
      pendingAction: null,
      pendingStatus: null,
      pendingError: null,
      feedbackState: 'pending',
      feedbackValue: onChain === 'released' ? 100 : -100,
      updatedAt: iso(),
    });
  }

  async function finishFeedback(id: string, checkChain: boolean): Promise<void> {
    const t = db.getTask(id)!;
    if (t.feedbackState !== 'pending') return;
    if (faults.noFeedbackOnRefund && t.depositState === 'refunded') {
      db.updateTask(id, { feedbackState: 'given' });
      return;
    }
    try {
      if (!(checkChain && (await chain.feedbackGiven(BigInt(t.agentId), id as Hex, fromBlockOf(t), faults.ownFeedbackByHashAlone === true)))) {
        await chain.giveFeedback(BigInt(t.agentId), BigInt(t.feedbackValue ?? 0), t.depositState === 'released' ? 'completed' : 'refunded', `${ctx.publicUrl}/${t.agentId}/${t.productId}`, id as Hex);
      }
      db.updateTask(id, { feedbackState: 'given' });
    } catch (e) {
      // Feedback is best effort per request; the intention stays 'pending' and resync retries it.
      log(`feedback for ${id} failed: ${(e as Error).message}`);
    }
  }

  async function resolve(id: string): Promise<void> {
    try {
      await finishPending(id);
    } catch (e) {
      log(`escrow action for ${id} failed: ${(e as Error).message}`);
      throw new HttpError(502, 'Escrow action failed; it will be retried', { detail: (e as Error).message.split('\n')[0] });
    }
    await finishFeedback(id, false);
  }

  async function resync(): Promise<{ checked: number; changed: number }> {
    await ctx.revert.check();
    const open = db.openTasks();
    let changed = 0;
    // Scan from the oldest open task's payment block, not from genesis.
    let from: bigint | undefined;
    for (const t of open) if (from === undefined || fromBlockOf(t) < from) from = fromBlockOf(t);
    const resolved = await chain.resolutions(
      open.map((t) => t.id as Hex),
      from,
    );
    for (const t0 of open) {
      await ctx.locks.run(t0.id, async () => {
        const before = JSON.stringify(db.getTask(t0.id));
        try {
          const t = db.getTask(t0.id)!;
          const r = resolved.get(t.id);
          // Fault resyncDropsOwedFeedback: a resolved task with feedback owed takes this branch too.
          const reclaimLike = t.depositState === 'deposited' || t.depositState === 'unrecorded' || (faults.resyncDropsOwedFeedback && t.feedbackState === 'pending');
          if (r && !t.pendingAction && reclaimLike) {
            // Resolved on chain without an intention here (buyer reclaim): follow the chain.
            db.updateTask(t.id, {
              status: r.kind === 'released' ? 'completed' : 'failed',
              errorMessage: r.kind === 'refunded' ? 'Deposit was refunded on chain' : t.errorMessage,
              depositState: r.kind,
              resolveTx: r.tx,
              feedbackState: 'none',
              updatedAt: iso(),
            });
            // Fault resyncReclaimAsRelease: any resolution found on chain is read as a release.
            if (faults.resyncReclaimAsRelease) db.updateTask(t.id, { status: 'completed', errorMessage: null });
          } else if (t.pendingAction) {
            await finishPending(t.id);
          } else {
            await ensureRecorded(t);
          }
          // Fault resyncSkipsFeedback: a feedback still owed at start is marked given without being given.
          if (faults.resyncSkipsFeedback) db.updateTask(t.id, { feedbackState: 'given' });
          await finishFeedback(t.id, true);
        } catch (e) {
          log(`resync of ${t0.id} failed: ${(e as Error).message}`);
        }
        if (JSON.stringify(db.getTask(t0.id)) !== before) changed++;
      });
    }
    return { checked: open.length, changed };
  }

  return { ensureRecorded, finishPending, finishFeedback, resolve, resync };
}
