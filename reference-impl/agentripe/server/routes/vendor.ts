/** Vendor routes (authenticated): the agent's tasks, start / complete (review) / fail, its agent URI. */
import type { Context, Hono } from 'hono';
import type { Hex } from 'viem';
import { z } from 'zod';
import { HttpError, jsonBody, parseWith } from '../../../_shared/http.ts';
import { agentUriDataSchema, loadAgentUriData, sellableAgentUriDataSchema } from '../../protocol/agenturi.ts';
import { authenticateVendor, type VendorAuth } from '../auth.ts';
import type { AgentripeContext } from '../context.ts';
import type { TaskRow } from '../db.ts';
import type { ReviewVerdict } from '../review.ts';
import { agentDataUri, agentIdOut, agentInfo, parseJsonOrNull, registryUnreadable, taskOr404, withEndpoint } from './common.ts';

type Vendor = Extract<VendorAuth, { ok: true }>;

const body = {
  complete: z.object({ result: z.unknown().refine((v) => v !== undefined && v !== null, 'result is required') }),
  fail: z.object({ errorMessage: z.string().max(10_000).optional() }),
};

const vendorTaskView = (t: TaskRow, stale = false) => ({
  id: t.id,
  productId: t.productId,
  buyerAddress: t.buyerAddress,
  requestPayload: t.requestPayload,
  taskDetail: t.taskDetail,
  taskMetadata: t.taskMetadata,
  reviewerRequest: t.reviewerRequest,
  status: stale ? 'pending' : t.status,
  errorMessage: t.errorMessage,
  reviewRejectCount: t.reviewRejectCount,
  createdAt: t.createdAt,
  updatedAt: t.updatedAt,
});

export function vendorRoutes(app: Hono, ctx: AgentripeContext): void {
  const { db, chain, cfg, faults, iso, locks, escrow } = ctx;

  async function vendor(c: Context): Promise<Vendor> {
    // The revert check runs beside the signature check and isAuthorizedOrOwner; an API key is a
    // row anchored to a block, so it is looked up only after the check.
    const checked = ctx.revertChecked();
    if (c.req.header('authorization')) await checked;
    const auth = await authenticateVendor((n) => c.req.header(n), {
      db,
      now: ctx.now,
      windowSeconds: cfg.authWindowSeconds,
      headerCheckAnd: faults.authHeaderCheckAnd,
      isAuthorizedOrOwner: async (a, id) => {
        if (faults.authOwnerOnly) return (await chain.ownerOf(id))?.toLowerCase() === a.toLowerCase();
        if (await chain.isAuthorizedOrOwner(a, id).catch((e: Error) => (faults.outageAsDenial ? false : registryUnreadable(e)))) return true;
        return faults.authAcceptsAgentWallet === true && (await chain.agentWallet(id).catch(() => null))?.toLowerCase() === a.toLowerCase();
      },
      solanaWalletOf: async (id) => {
        if (faults.solanaAnyKey) return c.req.header('x-solana-address');
        const uri = await chain.tokenUriOf(id).catch(() => null);
        if (uri === null) return undefined;
        const loaded = await loadAgentUriData(uri);
        return loaded.ok ? loaded.data.solanaWallet : undefined;
      },
    });
    await checked;
    if (!auth.ok) throw new HttpError(auth.status, auth.error);
    const named = c.req.header('x-agent-id');
    if (faults.apiKeyTrustsAgentHeader && auth.via === 'api-key' && named && /^\d{1,30}$/.test(named)) return { ...auth, agentId: BigInt(named).toString() };
    return auth;
  }

  /** Fault raceLoser502: a request that found the task open but got the lock after another resolved it. */
  function lostRace(seen: TaskRow, now: TaskRow): void {
    const open = (s: string) => s === 'pending' || s === 'processing' || s === 'rejected';
    if (faults.raceLoser502 && open(seen.status) && !open(now.status)) throw new HttpError(502, 'Escrow action failed; it will be retried');
  }

  function ownTask(auth: Vendor, id: string): TaskRow {
    const t = taskOr404(ctx, id);
    if (!faults.noOwnershipCheck && t.agentId !== auth.agentId) throw new HttpError(403, 'Not authorized for this agent');
    return t;
  }

  app.get('/vendor/tasks', async (c) => {
    const auth = await vendor(c);
    const status = c.req.query('status');
    const tasks = (faults.listAllTasks ? db.allTasks() : db.tasksForAgent(auth.agentId)).filter((t) => !status || t.status === status);
    return c.json({ tasks: tasks.map((t) => vendorTaskView(t, faults.vendorListStale)) });
  });

  app.post('/vendor/tasks/:id/start', async (c) => {
    const auth = await vendor(c);
    const id = ownTask(auth, c.req.param('id')).id;
    return locks.run(id, async () => {
      const t = db.getTask(id)!;
      if ((t.status !== 'pending' && t.status !== 'rejected') || t.pendingAction) {
        throw new HttpError(400, 'Cannot start: task is not in pending or rejected status');
      }
      const updatedAt = iso();
      db.updateTask(id, { status: 'processing', updatedAt });
      return c.json({ task: { id, status: 'processing', updatedAt } });
    });
  });

  app.post('/vendor/tasks/:id/complete', async (c) => {
    const auth = await vendor(c);
    const seen = ownTask(auth, c.req.param('id'));
    const id = seen.id;
    const b = parseWith(body.complete, await jsonBody(c));
    return locks.run(id, async () => {
      const t = db.getTask(id)!;
      lostRace(seen, t);
      if (faults.completeStoresResultFirst) db.updateTask(id, { result: JSON.stringify(b.result) });
      if (faults.noCrashRecovery && t.pendingAction) throw new HttpError(409, 'Cannot complete: an escrow action is pending');
      if (t.pendingAction && !faults.retryJudgesAgain) {
        // A previous attempt was judged but its escrow action did not finish (502): finish it and
        // answer with that decided outcome, so the vendor's retry reads as success, not a 400.
        const was = t.pendingAction;
        await escrow.resolve(id);
        const f = db.getTask(id)!;
        return c.json({
          task: { id, status: f.status, errorMessage: f.errorMessage, reviewRejectCount: f.reviewRejectCount, updatedAt: f.updatedAt },
          review: { approved: f.reviewApproved === null ? was === 'release' : f.reviewApproved === 1, reason: f.reviewReason ?? '' },
          escrowAction: faults.retryEscrowActionMisnamed ? 'done' : (f.depositState === 'released') !== (faults.retryEscrowActionInverted === true) ? 'released' : 'refunded',
        });
      }
      if (!faults.anyStateComplete && t.status !== 'processing' && t.status !== 'rejected') {
        throw new HttpError(400, 'Cannot complete: task is not in processing or rejected status');
      }
      if (faults.releaseBeforeReview) {
        await escrow.ensureRecorded(t);
        if ((await chain.getDeposit(id as Hex)).status === 'deposited') await chain.releaseToVendor(id as Hex);
      }
      if (faults.noReleaseWithoutReview && t.reviewerRequest === null) {
        db.updateTask(id, { result: JSON.stringify(b.result), status: 'completed', updatedAt: iso() });
        const f = db.getTask(id)!;
        return c.json({
          task: { id, status: f.status, errorMessage: f.errorMessage, reviewRejectCount: f.reviewRejectCount, updatedAt: f.updatedAt },
          review: { approved: true, reason: 'No reviewer_request: approved without review' },
          escrowAction: 'none',
        });
      }
      let review: ReviewVerdict;
      if (t.reviewerRequest === null) {
        review = { approved: true, reason: 'No reviewer_request: approved without review' };
      } else {
        try {
          review = await ctx.reviewer.review({ reviewerRequest: t.reviewerRequest, taskDetail: t.taskDetail, taskMetadata: parseJsonOrNull(t.taskMetadata), result: b.result });
        } catch (e) {
          throw new HttpError(502, 'Review failed; nothing was changed, retry later', { detail: (e as Error).message });
        }
      }
      const result = JSON.stringify(b.result);
      let escrowAction: 'released' | 'refunded' | 'none' = 'none';
      if (review.approved) {
        db.updateTask(id, {
          result,
          reviewApproved: 1,
          reviewReason: review.reason,
          pendingAction: faults.refundOnApprove ? 'refund' : 'release',
          pendingStatus: 'completed',
          pendingError: null,
          updatedAt: iso(),
        });
        escrowAction = 'released';
      } else {
        const count = t.reviewRejectCount + 1;
        if (count >= cfg.reviewLimit) {
          db.updateTask(id, {
            result,
            reviewApproved: 0,
            reviewReason: review.reason,
            reviewRejectCount: count,
            pendingAction: 'refund',
            pendingStatus: 'failed',
            pendingError: `Rejected by review ${count} times: ${review.reason}`,
            updatedAt: iso(),
          });
          escrowAction = 'refunded';
        } else {
          db.updateTask(id, { result, reviewApproved: 0, reviewReason: review.reason, reviewRejectCount: count, status: 'rejected', updatedAt: iso() });
        }
      }
      if (escrowAction !== 'none') await escrow.resolve(id);
      const f = db.getTask(id)!;
      // Report what the escrow did: after a buyer's reclaim a decided release ends as a refund.
      let done = escrowAction;
      if (escrowAction !== 'none') done = f.depositState === 'released' ? 'released' : 'refunded';
      if (faults.escrowActionAsDecided) done = escrowAction;
      return c.json({
        task: { id, status: f.status, errorMessage: f.errorMessage, reviewRejectCount: f.reviewRejectCount, updatedAt: f.updatedAt },
        review: { approved: review.approved, reason: review.reason },
        escrowAction: done,
      });
    });
  });

  app.post('/vendor/tasks/:id/fail', async (c) => {
    const auth = await vendor(c);
    const seen = ownTask(auth, c.req.param('id'));
    const id = seen.id;
    const b = parseWith(body.fail, await jsonBody(c));
    return locks.run(id, async () => {
      let t = db.getTask(id)!;
      lostRace(seen, t);
      if (faults.noCrashRecovery && t.pendingAction) throw new HttpError(409, 'Cannot fail: an escrow action is pending');
      if (t.pendingAction === 'refund') {
        // A previous fail (or 5th rejection) did not finish its refund: finish it and report it.
        await escrow.resolve(id);
        const f = db.getTask(id)!;
        return c.json({ task: { id, status: f.status, errorMessage: f.errorMessage, updatedAt: f.updatedAt } });
      }
      if (t.pendingAction) {
        await escrow.resolve(id);
        t = db.getTask(id)!;
      }
      if (t.status !== 'pending' && t.status !== 'processing' && t.status !== 'rejected') {
        throw new HttpError(400, 'Cannot fail: task is not in pending, processing or rejected status');
      }
      if (faults.failWithoutRefund) db.updateTask(id, { status: 'failed', errorMessage: b.errorMessage ?? 'Vendor reported failure', updatedAt: iso() });
      else {
        db.updateTask(id, { pendingAction: 'refund', pendingStatus: 'failed', pendingError: b.errorMessage ?? 'Vendor reported failure', updatedAt: iso() });
        await escrow.resolve(id);
      }
      const f = db.getTask(id)!;
      return c.json({ task: { id, status: f.status, errorMessage: f.errorMessage, updatedAt: f.updatedAt } });
    });
  });

  app.get('/vendor/agent-uri', async (c) => {
    const auth = await vendor(c);
    const info = await agentInfo(ctx, BigInt(auth.agentId)).catch(registryUnreadable);
    if (!info) throw new HttpError(404, 'Agent not found');
    return c.json({ agentId: info.agentId, agentURI: info.agentURI, data: info.data });
  });

  app.put('/vendor/agent-uri', async (c) => {
    const auth = await vendor(c);
    const raw = await jsonBody(c);
    const candidate = raw && typeof raw === 'object' && 'data' in raw ? (raw as { data: unknown }).data : raw;
    const data = withEndpoint(ctx, parseWith(faults.zeroPriceRegister ? agentUriDataSchema : sellableAgentUriDataSchema, candidate));
    const agentId = BigInt(auth.agentId);
    if (!(await chain.isAuthorizedOrOwner(chain.registrar.address, agentId).catch(registryUnreadable))) {
      throw new HttpError(403, 'This server is not authorized for this agent; call setAgentURI on the IdentityRegistry directly');
    }
    const agentURI = agentDataUri(data);
    const transactionHash = faults.agentUriNotWritten ? (`0x${'00'.repeat(32)}` as Hex) : await chain.setAgentURI(agentId, agentURI);
    return c.json({ agentId: agentIdOut(agentId), agentURI, transactionHash, data });
  });
}
