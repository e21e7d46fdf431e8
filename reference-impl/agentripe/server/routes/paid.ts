/**
 * The paid route, `GET|POST /{agentId}/{servicePath}`: price from the agent's on-chain catalog, the
 * x402 challenge, then settle first (taskId = payment tx hash), write the task, record the deposit.
 */
import { randomBytes } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { getAddress, type Address, type Hex } from 'viem';
import { z } from 'zod';
import { HttpError, jsonBody, parseWith } from '../../../_shared/http.ts';
import { checkPayment, toResponse } from '../../../x402/server/paywall.ts';
import { findCatalogEntry, loadAgentUriData, parseUsdPrice } from '../../protocol/agenturi.ts';
import { hex32 } from '../config.ts';
import type { AgentripeContext } from '../context.ts';
import { parseAgentId, registryUnreadable } from './common.ts';

const paidBody = z
  .object({
    task_detail: z.string().max(100_000).optional(),
    task_metadata: z.record(z.string(), z.unknown()).optional(),
    reviewer_request: z.string().max(20_000).optional(),
  })
  .catchall(z.unknown());

const CREATED = 'Task created. Poll /tasks/:taskId/result for results.';

/** Deepest nesting a task body may have (task_metadata is free-form JSON, but it is stored and echoed). */
export const MAX_BODY_DEPTH = 64;

/** Nesting depth of a parsed JSON value, without recursion (a hostile body must not exhaust the stack). */
export function nestingDepth(v: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (d > max) max = d;
    if (x && typeof x === 'object') for (const y of Object.values(x)) stack.push([y, d + 1]);
  }
  return max;
}

/** A GET without a body carries its fields in the query string (`task_metadata` JSON-encoded). */
function queryFields(c: Context): Record<string, unknown> | undefined {
  const q = c.req.query();
  if (!Object.keys(q).length) return undefined;
  let meta: unknown;
  if (q.task_metadata !== undefined) {
    try {
      meta = JSON.parse(q.task_metadata);
    } catch {
      throw new HttpError(400, 'Invalid request body: task_metadata must be a JSON object');
    }
  }
  return { ...q, ...(meta !== undefined ? { task_metadata: meta } : {}) };
}

export function paidRoutes(app: Hono, ctx: AgentripeContext): void {
  const { db, chain, cfg, faults, iso, log } = ctx;
  // Authorizations being verified/settled now: a concurrent replay of one payment gets 402
  // `duplicate_settlement` from the paywall instead of a second settlement attempt.
  const inflight = new Set<string>();
  // Only for the acceptReplayedPayment fault: payment header → payer.
  const seenPayments = new Map<string, Address>();

  const paid = async (c: Context) => {
    const agentIdStr = c.req.param('agentId')!;
    const servicePath = c.req.param('servicePath')!;
    const agentId = parseAgentId(agentIdStr, faults.agentIdNoDigitCheck);
    const payHeader = c.req.header('payment-signature') ?? c.req.header('x-payment') ?? '';
    // Only a paid request writes a task (anchored to its payment block): the revert check runs
    // beside the catalog read and the facilitator, and must be done before the task is written.
    const reverted = payHeader ? ctx.revertChecked() : undefined;
    const uri = await chain.tokenUriOf(agentId).catch((e: Error) => (faults.outageAsDenial ? null : registryUnreadable(e)));
    if (uri === null) throw new HttpError(404, 'Agent not found');
    const loaded = await loadAgentUriData(uri);
    if (!loaded.ok) throw new HttpError(404, 'Agent has no valid service catalog', { detail: loaded.reason });
    const entry = findCatalogEntry(loaded.data, servicePath) ?? (faults.unknownServiceFirstEntry ? loaded.data.services[0]?.catalog[0] : undefined);
    if (!entry) throw new HttpError(404, 'Service not found');
    const price = parseUsdPrice(entry.price);
    // A card written straight to the IdentityRegistry can hold $0: refuse before any challenge, or the
    // zero payment would settle and its deposit could never be recorded (ZeroAmount).
    if (price === 0n && !faults.zeroPriceChallenge)
      throw new HttpError(409, `Service is priced ${entry.price}: a task needs a price above $0 (AGR-PROF-18); nothing was charged`, { price: entry.price });
    const amount = price + (faults.amountOffByOne ? 1n : 0n);

    // Validate the request before any money moves: a bad body never costs the buyer anything.
    let raw = await jsonBody(c);
    if (c.req.method === 'GET' && raw && typeof raw === 'object' && !Array.isArray(raw) && Object.keys(raw).length === 0) raw = queryFields(c) ?? raw;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new HttpError(400, 'Request body must be a JSON object');
    const { task_detail, task_metadata, reviewer_request, ...rest } = parseWith(paidBody, raw);
    // Everything the task row needs is checked and serialized before the challenge: a body that
    // cannot be stored (nested 100,000 levels deep) must be refused before any money moves, not
    // after settlement (the payment would sit in the escrow with no task).
    if (!faults.noBodyDepthCheck && nestingDepth(raw) > MAX_BODY_DEPTH) throw new HttpError(400, `Invalid request body: nested deeper than ${MAX_BODY_DEPTH} levels`);
    // Fault noBodyDepthCheck: the body is stored as a server that canonicalizes JSON would store it
    // (keys sorted by a recursive walk); with no depth limit a deep body overflows the stack. Node's
    // own JSON.stringify no longer does on Node 26, nor does the `canonicalize` package the harness
    // uses (it walks iteratively), so the fault brings its own recursion.
    let serialize: (v: unknown) => string = JSON.stringify;
    if (faults.noBodyDepthCheck) {
      const sortedJson = (v: unknown): string =>
        v && typeof v === 'object'
          ? Array.isArray(v)
            ? `[${v.map(sortedJson).join(',')}]`
            : `{${Object.keys(v)
                .sort()
                .map((k) => `${JSON.stringify(k)}:${sortedJson((v as Record<string, unknown>)[k])}`)
                .join(',')}}`
          : JSON.stringify(v);
      serialize = sortedJson;
    }
    const fields = {
      agentId: agentId.toString(),
      productId: servicePath,
      amount: amount.toString(),
      method: c.req.method,
      requestPayload: serialize(rest),
      taskDetail: task_detail ?? null,
      taskMetadata: task_metadata === undefined ? null : serialize(task_metadata),
      reviewerRequest: reviewer_request ?? null,
    };
    const taskFields = () => fields;

    if (faults.acceptReplayedPayment && seenPayments.has(payHeader)) {
      const taskId = `0x${randomBytes(32).toString('hex')}`;
      db.insertTask(
        {
          id: taskId,
          ...taskFields(),
          buyerAddress: seenPayments.get(payHeader)!,
          network: `eip155:${cfg.chainId}`,
          asset: chain.addresses.usdc,
          payTo: chain.addresses.escrow,
          createdAt: iso(),
        },
        undefined,
      );
      return c.json({ taskId, message: CREATED }, 200);
    }
    // Fault taskOnBadPayment: the task is written before the payment is verified.
    const ghost = faults.taskOnBadPayment && payHeader ? `0x${randomBytes(32).toString('hex')}` : undefined;
    // `faults.taskOnBadPayment &&` again (ghost implies it): the mutation ignorer knows fault-only
    // code by a test of the switch itself, not by a variable derived from it.
    if (faults.taskOnBadPayment && ghost)
      db.insertTask({
        id: ghost,
        ...taskFields(),
        buyerAddress: '0x0000000000000000000000000000000000000000',
        network: `eip155:${cfg.chainId}`,
        asset: chain.addresses.usdc,
        payTo: chain.addresses.escrow,
        createdAt: iso(),
      });
    const decision = await checkPayment(
      { method: c.req.method, url: c.req.url, headers: c.req.raw.headers },
      {
        facilitatorUrl: cfg.facilitatorUrl,
        accepts: {
          price: amount,
          payTo: chain.addresses.escrow,
          network: `eip155:${cfg.chainId}`,
          asset: chain.addresses.usdc,
          extra: { name: cfg.usdcDomain.name, version: cfg.usdcDomain.version },
          maxTimeoutSeconds: cfg.maxTimeoutSeconds,
        },
        resource: `${ctx.publicUrl}/${agentIdStr}/${servicePath}`,
        description: entry.description,
        mimeType: 'application/json',
        inflight,
      },
    );
    if (decision.kind === 'respond') return toResponse(decision.response);
    // Agentripe needs the settlement hash before the task exists (taskId = payment tx hash), so it
    // settles before doing the work instead of after, unlike the generic paywall middleware.
    const outcome = await decision.settle();
    if (!outcome.ok) {
      // Seed 002 C.3: "500 (settlement failed)". A facilitator outage stays 502.
      const r = outcome.response;
      return toResponse(r.status === 402 ? { ...r, status: 500 } : r);
    }
    if (faults.taskOnBadPayment && ghost) db.deleteTask(ghost);
    const s = outcome.settlement;
    if (!hex32.safeParse(s.transaction).success) throw new HttpError(502, 'Facilitator reported success without a transaction hash');
    const req = decision.payment.requirements;
    const payer = getAddress(s.payer ?? decision.payment.payer ?? '0x0000000000000000000000000000000000000000');
    const settled = { transaction: s.transaction.toLowerCase(), payer, network: s.network };
    const taskId = faults.taskIdNotTxHash ? `0x${randomBytes(32).toString('hex')}` : settled.transaction;
    if (faults.acceptReplayedPayment) seenPayments.set(payHeader, settled.payer);
    const [anchor] = await Promise.all([chain.anchorOf(taskId as Hex), reverted]);
    if (db.getTask(taskId)) throw new HttpError(409, 'A task already exists for this payment');
    ctx.revert.note(anchor);
    db.insertTask(
      {
        id: taskId,
        ...taskFields(),
        buyerAddress: settled.payer,
        network: settled.network,
        asset: getAddress(req.asset),
        payTo: getAddress(req.payTo),
        createdAt: iso(),
      },
      anchor,
    );
    // The money is in the escrow now; recording it is retried by resync if this fails.
    await ctx.locks.run(taskId, async () => ctx.escrow.ensureRecorded(db.getTask(taskId)!)).catch((e) => log(`recordDeposit for ${taskId} failed: ${(e as Error).message}`));
    for (const [k, v] of Object.entries(outcome.headers)) c.header(k, v);
    c.header('Access-Control-Expose-Headers', Object.keys(outcome.headers).join(','));
    return c.json({ taskId, message: CREATED }, 200);
  };
  app.on(['GET', 'POST'], '/:agentId{[0-9]+}/:servicePath{.+}', paid);
}
