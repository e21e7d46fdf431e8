/** Buyer routes: a task's status, detail and result (no auth: the task id is the payment tx hash). */
import type { Hono } from 'hono';
import type { AgentripeContext } from '../context.ts';
import { agentIdOut, agentInfo, parseJsonOrNull, taskOr404 } from './common.ts';

export function taskRoutes(app: Hono, ctx: AgentripeContext): void {
  app.get('/tasks/:id', (c) => {
    const t = taskOr404(ctx, c.req.param('id'));
    return c.json({ status: t.status, createdAt: t.createdAt, updatedAt: t.updatedAt });
  });

  app.get('/tasks/:id/detail', async (c) => {
    const t = taskOr404(ctx, c.req.param('id'));
    const info = await agentInfo(ctx, BigInt(t.agentId)).catch(() => null);
    return c.json({
      task: {
        id: t.id,
        productId: t.productId,
        status: t.status,
        buyerAddress: t.buyerAddress,
        requestPayload: t.requestPayload,
        taskDetail: t.taskDetail,
        taskMetadata: t.taskMetadata,
        reviewerRequest: t.reviewerRequest,
        errorMessage: t.errorMessage,
        reviewRejectCount: t.reviewRejectCount,
        createdAt: t.createdAt,
        updatedAt: t.updatedAt,
      },
      payment: {
        transactionHash: t.id,
        network: t.network,
        asset: t.asset,
        payTo: t.payTo,
        amount: t.amount,
        payer: t.buyerAddress,
        escrowStatus: t.depositState,
        recordTransactionHash: t.recordTx,
        resolveTransactionHash: t.resolveTx,
      },
      agent: { agentId: agentIdOut(t.agentId), name: info?.data?.name ?? null, agentWallet: info?.agentWallet ?? null },
    });
  });

  app.get('/tasks/:id/result', (c) => {
    const t = taskOr404(ctx, c.req.param('id'));
    if (t.status === 'completed') return c.json({ status: 'completed', result: parseJsonOrNull(t.result) }, 200);
    if (t.status === 'failed') return c.json({ status: 'failed', errorMessage: t.errorMessage }, 200);
    const message =
      t.status === 'pending'
        ? 'Task is waiting for the vendor'
        : t.status === 'processing'
          ? 'Task is being processed'
          : `Result was rejected by review (${t.reviewRejectCount}/${ctx.cfg.reviewLimit}); waiting for the vendor to resubmit`;
    return c.json({ status: t.status, message }, 202);
  });
}
