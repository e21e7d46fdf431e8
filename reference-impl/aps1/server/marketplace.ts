/**
 * The APS-1 reference marketplace (what the package's `APS1Client` talks to; protocol/marketplace.ts):
 *
 *   GET  /agents               the manifests of the agents it lists (an array, as the client expects)
 *   GET  /agents/:id           one manifest (404 unknown)
 *   POST /agents/:id/execute   {jobId, prompt, payload?, callerWallet, token?}, signed by the caller:
 *                              pull the price from the caller → NexusV2 job (worker = the agent's
 *                              wallet, judge = the marketplace) → POST the agent's /execute with the
 *                              escrow → settle when the agent succeeded, completed the job and (if it
 *                              proves) its proof matched on chain; otherwise refund and return the
 *                              money to the caller. Answers the agent's APS1Result + escrow + settlement.
 *   GET  /health
 *
 * Every step is written down on the job row first (pulled → created → executed → settled | refunded →
 * returned), under one lock per jobId; a jobId is charged once (a retry gets the stored answer).
 */
import { Hono } from 'hono';
import { getAddress, verifyMessage, type Address, type Hex } from 'viem';
import { HttpError, bounded, errorHandler, listen, notFoundHandler } from '../../_shared/http.ts';
import { KeyedLock } from '../../_shared/keyed-lock.ts';
import { RevertGuard } from '../../_shared/revert-guard.ts';
import { AUTH_HEADERS, AUTH_WINDOW_SECONDS, MarketplaceExecuteSchema, executeAuthMessage } from '../protocol/marketplace.ts';
import { usdToUnits } from '../protocol/price.ts';
import { APS1ManifestSchema, APS1ResultSchema, APS1_VERSION, type APS1Manifest, type APS1Result, type APS1Settlement } from '../protocol/schemas.ts';
import { Aps1Chain, localChain, type Aps1Addresses, type MinedTx } from './chain.ts';
import { Aps1Db } from './db.ts';
import type { Aps1Faults } from './faults.ts';
import { aps1Errors, objectBody, parseV3 } from './http.ts';

export interface MarketplaceConfig {
  rpcUrl: string;
  chainId: number;
  addresses: Aps1Addresses;
  /** Tokens the marketplace escrows in (the first the agent also takes is used unless the caller names one). */
  tokens: Address[];
  /** The marketplace's key: employer and judge of the jobs it escrows. */
  privateKey: Hex;
  /** Base URLs of the agents it lists. */
  agents: string[];
  deadlineSeconds?: number;
  dbPath?: string;
  host?: string;
  port?: number;
  faults?: Aps1Faults;
  log?: (line: string) => void;
  /** Milliseconds since the epoch (auth window, timestamps). */
  clock?: () => number;
}

export interface Marketplace {
  url: string;
  address: Address;
  db: Aps1Db;
  stop(): Promise<void>;
}

export async function startMarketplace(cfg: MarketplaceConfig): Promise<Marketplace> {
  const log = cfg.log ?? (() => {});
  const faults = cfg.faults ?? {};
  const now = cfg.clock ?? Date.now;
  const iso = () => new Date(now()).toISOString();
  const chain = new Aps1Chain(localChain(cfg.chainId, cfg.rpcUrl), cfg.rpcUrl, cfg.addresses, cfg.privateKey);
  const me = chain.address;
  const db = new Aps1Db(faults.inMemoryState ? ':memory:' : (cfg.dbPath ?? ':memory:'));
  const locks = new KeyedLock();
  const revert = new RevertGuard((n) => chain.blockHash(n), { liveAnchors: () => db.liveAnchors(), orphan: (a) => db.orphanAnchors(a) }, log);
  const deadline = BigInt(cfg.deadlineSeconds ?? 3600);

  // NexusV2 pulls budgets from the marketplace: one standing allowance per token.
  for (const t of cfg.tokens) {
    if ((await chain.allowance(t, me, cfg.addresses.nexus)) < 2n ** 200n) await chain.approve(t, cfg.addresses.nexus, 2n ** 256n - 1n);
  }

  async function manifests(): Promise<APS1Manifest[]> {
    const out = await Promise.all(
      cfg.agents.map(async (u) => {
        try {
          const res = await fetch(`${u.replace(/\/+$/, '')}/manifest`, { signal: AbortSignal.timeout(5000) });
          const r = APS1ManifestSchema.safeParse(await res.json());
          return r.success ? r.data : null;
        } catch {
          return null;
        }
      }),
    );
    const list = out.filter((m): m is APS1Manifest => m !== null);
    return faults.staleListing ? list.map((m) => ({ ...m, pricing: { ...m.pricing, basePrice: m.pricing.basePrice + 1 } })) : list;
  }

  async function manifestOf(id: string): Promise<APS1Manifest> {
    const m = (await manifests()).find((x) => x.id === id);
    if (!m) throw new HttpError(404, `Agent '${id}' not found`);
    return m;
  }

  const txOut = (t: MinedTx) => t.hash;

  /** Settle or refund a created job and build the answer. */
  async function conclude(
    jobId: string,
    m: APS1Manifest,
    nexusJobId: bigint,
    token: Address,
    amount: bigint,
    caller: Address,
    r: APS1Result | null,
    why: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const job = await chain.getJob(nexusJobId);
    let good = r?.status === 'success' && job.status === 2;
    if (good && m.proofEnabled) {
      const v = r?.proof ? await chain.verification(r.proof.verifyTxHash as Hex) : null;
      const c = v ? await chain.getCommitment(v.commitmentId) : null;
      good = Boolean(v && c && v.matched && c.matched && c.agent.toLowerCase() === m.walletAddress.toLowerCase() && c.nexusJobId === nexusJobId);
    }
    if (faults.settleOnFailure && job.status < 4) good = true;
    let settlement: APS1Settlement;
    if (good) {
      const tx = job.status === 4 ? null : await chain.settleJob(nexusJobId);
      // The fee was fixed when the job was created: the settlement reports that one.
      settlement = {
        jobId,
        type: 'settle',
        agentPayout: (amount - job.platformFee + (faults.payoutOffByOne ? 1n : 0n)).toString(),
        platformFee: job.platformFee.toString(),
        txHash: tx ? txOut(tx) : ((await chain.endingTx(nexusJobId)) ?? ''),
        timestamp: iso(),
      };
      db.updateMarketJob(jobId, { state: 'settled' });
    } else {
      const tx = job.status === 5 ? null : await chain.refundJob(nexusJobId);
      db.updateMarketJob(jobId, { state: 'refunded' });
      if (!faults.keepRefund) await chain.transfer(token, caller, amount);
      db.updateMarketJob(jobId, { state: 'returned' });
      settlement = { jobId, type: 'refund', agentPayout: '0', platformFee: '0', txHash: tx ? txOut(tx) : ((await chain.endingTx(nexusJobId)) ?? ''), timestamp: iso() };
    }
    const result: APS1Result = r ?? {
      jobId,
      agentId: m.id,
      status: 'error',
      error: why,
      executionTimeMs: 0,
      timestamp: iso(),
    };
    return { status: 200, body: { ...result, escrow: { contractAddress: cfg.addresses.nexus, onChainId: Number(nexusJobId), method: 'nexus-escrow' }, settlement } };
  }

  const app = new Hono();
  app.onError(errorHandler({ shape: aps1Errors, log }));
  app.notFound(
    notFoundHandler({ shape: aps1Errors, message: (c) => `No route ${c.req.method} ${new URL(c.req.url).pathname} (APS-1 marketplace: /agents, /agents/:id, /agents/:id/execute, /health)` }),
  );
  app.use('*', async (_c, next) => {
    try {
      await revert.check();
    } catch (e) {
      log(`revert check skipped: ${(e as Error).message.split('\n')[0]}`);
    }
    await next();
  });
  app.get('/health', (c) => c.json({ status: 'ok', aps: APS1_VERSION, marketplace: true, address: me, agents: cfg.agents.length }));
  app.get('/agents', async (c) => c.json(await manifests()));
  app.get('/agents/:id', async (c) => c.json(await manifestOf(c.req.param('id'))));

  app.post('/agents/:id/execute', async (c) => {
    const agentId = c.req.param('id');
    // The fault stands for an unguarded JSON.parse: its SyntaxError reaches the error handler as a 500.
    const raw = await objectBody(c).catch((e: unknown) => {
      throw faults.hireJunk500 && e instanceof HttpError && /not valid JSON/.test(e.message) ? new SyntaxError('Unexpected token in JSON') : e;
    });
    const body = parseV3(MarketplaceExecuteSchema, raw, 'request body');
    const m = await manifestOf(agentId);
    const caller = getAddress(body.callerWallet);
    if (!faults.noCallerAuth) {
      const sig = c.req.header(AUTH_HEADERS.signature);
      const ts = Number(c.req.header(AUTH_HEADERS.timestamp));
      if (!sig || !/^0x[0-9a-fA-F]{130}$/.test(sig) || !Number.isInteger(ts)) throw new HttpError(401, `the caller must sign the request (${AUTH_HEADERS.signature}, ${AUTH_HEADERS.timestamp})`);
      if (Math.abs(ts - Math.floor(now() / 1000)) > AUTH_WINDOW_SECONDS) throw new HttpError(401, `${AUTH_HEADERS.timestamp} is more than ${AUTH_WINDOW_SECONDS} s from the server clock`);
      const signed = verifyMessage({
        address: caller,
        message: executeAuthMessage({ agentId, jobId: body.jobId, callerWallet: caller, prompt: body.prompt, timestamp: ts }),
        signature: sig as Hex,
      });
      // A signature no key can have made (verifyMessage throws) is no signature.
      const ok = await (faults.acceptUnverifiableSignature ? signed.catch(() => true) : signed.catch(() => false));
      if (!ok) throw new HttpError(401, 'the signature is not the caller wallet’s over this request');
    }
    const token = body.token
      ? cfg.tokens.find((t) => t.toLowerCase() === body.token!.toLowerCase() && m.supportedTokens.some((s) => s.address.toLowerCase() === t.toLowerCase()))
      : cfg.tokens.find((t) => m.supportedTokens.some((s) => s.address.toLowerCase() === t.toLowerCase()));
    if (!token) throw new HttpError(400, `Invalid request body: token: neither the marketplace nor agent '${agentId}' takes ${body.token ?? 'any common token'}`);
    const decimals = m.supportedTokens.find((s) => s.address.toLowerCase() === token.toLowerCase())!.decimals;
    const amount = usdToUnits(m.pricing.basePrice, decimals);
    if (amount === null || amount === 0n) throw new HttpError(409, `agent '${agentId}' has no payable price`);
    return locks.run(`job:${body.jobId}`, async () => {
      const prev = db.marketJob(body.jobId);
      if (prev) {
        if (prev.response && prev.callerWallet === caller && !faults.forgetHireAnswer) return c.json(JSON.parse(prev.response));
        throw new HttpError(409, `jobId '${body.jobId}' is already in use`);
      }
      const [allowance, balance] = await Promise.all([chain.allowance(token, caller, me), chain.balanceOf(token, caller)]);
      if (!faults.noFundsCheck && (allowance < amount || balance < amount)) {
        throw new HttpError(402, `Payment required: the caller must hold and allow the marketplace (${me}) at least ${amount} base units of ${token}`, {
          marketplace: me,
          token,
          amount: amount.toString(),
        });
      }
      if (!db.insertMarketJob({ jobId: body.jobId, agentId, callerWallet: caller, token, amount: amount.toString(), state: 'pulling' }, iso()))
        throw new HttpError(409, `jobId '${body.jobId}' is already in use`);
      let created: { tx: MinedTx; jobId: bigint };
      try {
        await chain.transferFrom(token, caller, amount);
        db.updateMarketJob(body.jobId, { state: 'pulled' });
        created = await chain.createJob(m.walletAddress as Address, me, token, amount, deadline);
      } catch (e) {
        log(`market job ${body.jobId}: escrow failed: ${(e as Error).message.split('\n')[0]}`);
        if (db.marketJob(body.jobId)?.state === 'pulled') await chain.transfer(token, caller, amount).catch(() => undefined);
        db.updateMarketJob(body.jobId, { state: 'failed' });
        throw new HttpError(502, 'the escrow could not be created; nothing was charged');
      }
      db.updateMarketJob(body.jobId, {
        state: 'created',
        nexusJobId: created.jobId.toString(),
        anchor: faults.noHireAnchor ? undefined : { block: created.tx.blockNumber, hash: created.tx.blockHash },
      });
      revert.note({ block: created.tx.blockNumber, hash: created.tx.blockHash });
      const envelope = {
        jobId: body.jobId,
        agentId,
        prompt: body.prompt,
        ...(body.payload && !faults.dropPayload ? { payload: body.payload } : {}),
        callerWallet: caller,
        escrow: { contractAddress: cfg.addresses.nexus, onChainId: Number(created.jobId), txHash: created.tx.hash, method: 'nexus-escrow' },
        timestamp: iso(),
      };
      let result: APS1Result | null = null;
      let why = '';
      try {
        const res = await fetch(m.endpoints.execute, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-aps-version': APS1_VERSION },
          body: JSON.stringify(envelope),
          signal: AbortSignal.timeout(60_000),
        });
        const parsed = APS1ResultSchema.safeParse(await res.json().catch(() => null));
        if (parsed.success) result = parsed.data;
        else why = `the agent answered ${res.status} without a valid APS1Result`;
      } catch (e) {
        why = `the agent could not be reached: ${(e as Error).message}`;
      }
      db.updateMarketJob(body.jobId, { state: 'executed' });
      const out = await conclude(body.jobId, m, created.jobId, token, amount, caller, result, why);
      out.body.escrow = { ...(out.body.escrow as object), txHash: created.tx.hash };
      db.updateMarketJob(body.jobId, { response: JSON.stringify(out.body) });
      return c.json(out.body, out.status as 200);
    });
  });

  const server = await listen(app, { host: cfg.host ?? '127.0.0.1', port: cfg.port ?? 0, shape: aps1Errors, log });
  let stopped = false;
  return {
    url: server.url,
    address: getAddress(me),
    db,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop(3000);
      await bounded(locks.idle(), 10_000);
      db.close();
    },
  };
}
