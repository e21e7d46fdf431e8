/**
 * Agentripe reference server (seed 002; routes as listed in specs/protocols.md C.3).
 *
 * hono on 127.0.0.1 (port 0 by default), state in SQLite, money on chain:
 * x402 payment (payTo = escrow) → `recordDeposit(taskId = payment tx hash)` → vendor works →
 * review → `releaseToVendor` (+ positive ERC-8004 feedback) or, on `fail` / the 5th rejection,
 * `refundToBuyer` (+ negative feedback).
 *
 * Every chain action is written down as an intention first and confirmed after (escrow.ts), and
 * `resync()` (run on start) reconciles intentions and open tasks with escrow events, so a crash or
 * restart loses nothing. Routes live in routes/, one module per group, sharing one context
 * (context.ts). See README.md for routes, the review rule and deviations.
 */
import { Hono } from 'hono';
import { getAddress, type Address, type Hex } from 'viem';
import { bounded, errorHandler, flatErrors, listen, notFoundHandler } from '../../_shared/http.ts';
import { KeyedLock } from '../../_shared/keyed-lock.ts';
import { RevertGuard } from '../../_shared/revert-guard.ts';
import { AgentripeChain, localChain } from './chain.ts';
import { agentripeConfigSchema, type AgentripeServerConfig } from './config.ts';
import type { AgentripeBase, AgentripeContext } from './context.ts';
import { AgentripeDb } from './db.ts';
import { createEscrowActions } from './escrow.ts';
import { llmReviewer, ruleReviewer } from './review.ts';
import { agentRoutes } from './routes/agents.ts';
import { paidRoutes } from './routes/paid.ts';
import { taskRoutes } from './routes/tasks.ts';
import { vendorRoutes } from './routes/vendor.ts';

export { agentripeConfigSchema, type AgentripeServerConfig } from './config.ts';
export type { AgentripeFaults } from './faults.ts';

/** Version reported by `/health` (the seed's). */
export const AGENTRIPE_VERSION = '2.0.0';

/** A running server. */
export interface AgentripeServer {
  url: string;
  port: number;
  /** Reconciles open tasks and unconfirmed chain actions with the chain (also run on start). */
  resync(): Promise<{ checked: number; changed: number }>;
  /** Operator and registrar addresses (the operator gives feedback; the registrar mints). */
  operator: Address;
  registrar: Address;
  /**
   * Forgets every task and API key, once in-flight task operations are done: for a chain taken back
   * to where it was when the server started (the harness does so between scenarios). The revert
   * guard would orphan them one block read at a time; this drops them at once.
   */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the Agentripe reference server. */
export async function startAgentripeServer(config: AgentripeServerConfig): Promise<AgentripeServer> {
  const cfg = agentripeConfigSchema.parse(config);
  if (cfg.operatorPrivateKey.toLowerCase() === cfg.registrarPrivateKey.toLowerCase()) {
    throw new Error('registrarPrivateKey must differ from operatorPrivateKey (an agent owner cannot receive feedback from itself)');
  }
  const now = config.clock ?? Date.now;
  const log = config.log ?? (() => {});
  const chain = new AgentripeChain(
    localChain(cfg.chainId, cfg.rpcUrl),
    cfg.rpcUrl,
    {
      usdc: getAddress(cfg.addresses.usdc),
      identityRegistry: getAddress(cfg.addresses.identityRegistry),
      reputationRegistry: getAddress(cfg.addresses.reputationRegistry),
      escrow: getAddress(cfg.addresses.escrow),
    },
    cfg.operatorPrivateKey as Hex,
    cfg.registrarPrivateKey as Hex,
  );
  const db = new AgentripeDb(config.faults?.inMemoryState ? ':memory:' : cfg.dbPath);
  const faults = config.faults ?? {};
  // Tasks vanish and API keys stop working when their payment or registration block is reverted; a
  // task whose payment a reorg mined again in another block follows it there.
  const revert = new RevertGuard(
    (n) => chain.blockHash(n),
    { liveAnchors: () => db.liveAnchors(), orphan: (a) => db.orphanAnchors(a), anchoredTxs: (a) => db.tasksAnchoredAt(a), reanchor: (tx, a) => db.reanchorTask(tx, a) },
    log,
    faults.orphanReminedPayments ? undefined : faults.receiptFailureIsNotMined ? (tx) => chain.anchorOf(tx as Hex) : (tx) => chain.minedAt(tx as Hex),
  );
  if (faults.noRevertCheck) revert.check = () => Promise.resolve();
  const base: AgentripeBase = {
    cfg,
    db,
    chain,
    now,
    iso: () => new Date(now()).toISOString(),
    log,
    faults,
    reviewer: config.reviewer ?? (cfg.review.type === 'llm' ? llmReviewer(cfg.review) : ruleReviewer()),
    locks: new KeyedLock(),
    revert,
    revertChecked: () =>
      revert.check().catch((e: Error) => {
        log(`revert check skipped: ${e.message.split('\n')[0]}`);
      }),
    publicUrl: cfg.publicUrl?.replace(/\/+$/, '') ?? '',
  };
  // One object: the escrow actions see what the routes see (publicUrl is set once listening).
  const ctx: AgentripeContext = Object.assign(base, { escrow: createEscrowActions(base) });

  const app = new Hono();
  app.onError(errorHandler({ shape: flatErrors, log }));
  app.notFound(notFoundHandler({ shape: flatErrors }));
  app.get('/health', (c) => c.json({ status: 'ok', version: AGENTRIPE_VERSION }));
  // Only these read rows anchored to blocks; the vendor, paid and register-with-key routes run the
  // check themselves, beside their own chain reads (one round trip fewer per request).
  app.use('*', async (c, next) => {
    const p = c.req.path;
    if (p.startsWith('/tasks/') || /^\/agents\/[^/]+\/stats$/.test(p)) await ctx.revertChecked();
    await next();
  });
  taskRoutes(app, ctx);
  agentRoutes(app, ctx);
  vendorRoutes(app, ctx);
  paidRoutes(app, ctx);

  // 64 KiB of headers: the paywall's own JSON 431 (16 KiB payment headers) answers before node's limit.
  const server = await listen(app, { host: cfg.host, port: cfg.port, maxHeaderSize: 64 * 1024, shape: flatErrors, log });
  if (!ctx.publicUrl) ctx.publicUrl = server.url;

  if (cfg.resyncOnStart && !ctx.faults.noCrashRecovery) {
    const r = await ctx.escrow.resync();
    if (r.changed) log(`resync: ${r.changed}/${r.checked} open tasks updated from chain`);
  }

  let stopped = false;
  return {
    url: server.url,
    port: server.port,
    resync: ctx.escrow.resync,
    operator: chain.operator.address,
    registrar: chain.registrar.address,
    // Stryker disable all: speed only. Without it the revert guard orphans the same rows on the
    // next request (a block read per row), so no verdict can tell the two apart.
    async reset() {
      await bounded(ctx.locks.idle(), 10_000);
      db.clear();
      revert.reload();
    },
    // Stryker restore all
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop(3000);
      // Let in-flight task operations finish before the DB closes; a stuck chain call must not hang shutdown.
      await bounded(ctx.locks.idle(), 10_000);
      db.close();
    },
  };
}
