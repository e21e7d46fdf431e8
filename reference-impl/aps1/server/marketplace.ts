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
 * Every step is written down on the job row first (pulling → pulled → created → executed → settled |
 * refunded → returned), under one lock per jobId; a jobId is charged once (a retry gets the stored
 * answer). Each transaction's hash is written before it is broadcast, so a hire a crash cut is
 * finished when the marketplace starts again (or by the caller's resend): the chain says which of
 * its transactions were mined, and none is sent twice.
 */
import { Hono } from 'hono';
import { getAddress, verifyMessage, type Address, type Hex, type TransactionReceipt } from 'viem';
import { HttpError, bounded, errorHandler, listen, notFoundHandler } from '../../_shared/http.ts';
import { KeyedLock } from '../../_shared/keyed-lock.ts';
import { RevertGuard } from '../../_shared/revert-guard.ts';
import { AUTH_HEADERS, AUTH_WINDOW_SECONDS, MarketplaceExecuteSchema, executeAuthMessage } from '../protocol/marketplace.ts';
import { usdToUnits } from '../protocol/price.ts';
import { APS1ManifestSchema, APS1ResultSchema, APS1_VERSION, type APS1Manifest, type APS1Result, type APS1Settlement } from '../protocol/schemas.ts';
import { Aps1Chain, localChain, type Aps1Addresses, type MinedTx } from './chain.ts';
import { Aps1Db, type MarketJobRow } from './db.ts';
import type { Aps1Faults } from './faults.ts';
import { aps1Errors, objectBody, parseV3 } from './http.ts';

type Answer = { status: number; body: Record<string, unknown> };

/** How long a resumed hire waits for its agent to answer again (it restarts with the marketplace). */
const AGENT_WAIT_MS = 30_000;

/** Whether a hire's row is open (a crash cut it, or a step failed) and records enough to finish it (rows of older files do not). */
const resumable = (r: MarketJobRow) => !['settled', 'returned', 'failed'].includes(r.state) && r.manifest !== null && r.prompt !== null;

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
  let stopped = false;

  /** The receipt of a recorded transaction if it was mined and succeeded (null: it never will be). */
  async function succeeded(hash: string | null): Promise<TransactionReceipt | null> {
    const r = hash ? await chain.landed(hash as Hex) : null;
    return r?.status === 'success' ? r : null;
  }

  /**
   * Takes the hire on row `jobId` from the state the row records to its answer (under the job's
   * lock). Each transaction's hash is on the row before it is broadcast and each step's outcome
   * before the next starts, so whatever a crash cut, the row says what may have happened and the
   * chain says whether it did. `resumed`: a crash may have cut the current step (a restart, or a
   * resend finding the row open).
   */
  async function advance(jobId: string, resumed: boolean): Promise<Answer> {
    const row = db.marketJob(jobId)!;
    const m = JSON.parse(row.manifest!) as APS1Manifest;
    const token = row.token as Address;
    const caller = row.callerWallet as Address;
    const amount = BigInt(row.amount);
    let state = row.state;
    // Written down, then acted on: `state` follows the row.
    const record = (f: Parameters<Aps1Db['updateMarketJob']>[1]) => {
      db.updateMarketJob(jobId, f);
      if (f.state) state = f.state;
    };
    const recorded = () => db.marketJob(jobId)!;
    if (state === 'pulling') {
      let pulled = Boolean(await succeeded(row.pullTx));
      if (!pulled && !resumed) {
        try {
          pulled = Boolean(await chain.transferFrom(token, caller, amount, { onSigned: (h) => record({ pullTx: h }) }));
        } catch (e) {
          log(`market job ${jobId}: the pull failed: ${(e as Error).message.split('\n')[0]}`);
          // It may have been mined all the same (an answer lost on the way): the chain decides.
          pulled = Boolean(await succeeded(recorded().pullTx));
        }
      }
      // Not mined and never will be: the pull's nonce goes to the next transaction.
      if (!pulled) {
        record({ state: 'failed' });
        throw new HttpError(502, 'the escrow could not be created; nothing was charged');
      }
      record({ state: 'pulled' });
    }
    if (state === 'pulled') {
      const before = await succeeded(row.createTx);
      let created = before ? chain.createdBy(before) : null;
      if (!created) {
        try {
          created = await chain.createJob(m.walletAddress as Address, me, token, amount, deadline, { onSigned: (h) => record({ createTx: h }) });
        } catch (e) {
          log(`market job ${jobId}: createJob failed: ${(e as Error).message.split('\n')[0]}`);
          const r = await succeeded(recorded().createTx);
          created = r ? chain.createdBy(r) : null;
        }
      }
      if (!created) record({ state: 'failing' });
      else {
        record({ state: 'created', nexusJobId: created.jobId.toString(), anchor: faults.noHireAnchor ? undefined : { block: created.tx.blockNumber, hash: created.tx.blockHash } });
        revert.note({ block: created.tx.blockNumber, hash: created.tx.blockHash });
      }
    }
    if (state === 'failing') {
      // No job holds the money: it goes back to the caller, once.
      if (!(await succeeded(recorded().returnTx))) await chain.transfer(token, caller, amount, { onSigned: (h) => record({ returnTx: h }) });
      record({ state: 'failed' });
      throw new HttpError(502, 'the escrow could not be created; nothing was charged');
    }
    const now = recorded();
    const nexusJobId = BigInt(now.nexusJobId!);
    if (state === 'created') {
      const answer = await execute(now, m, nexusJobId, resumed);
      record({ state: 'executed', answer: JSON.stringify(answer) });
    }
    const { result, why } = JSON.parse(recorded().answer ?? '{"result":null,"why":"the hire was interrupted before the agent answered"}') as { result: APS1Result | null; why: string };
    const out = await conclude(jobId, m, nexusJobId, token, amount, caller, result, why);
    out.body.escrow = { ...(out.body.escrow as object), txHash: now.createTx };
    // Closed with its answer in one write: a resend gets the answer whenever the crash came.
    record({ state: (out.body.settlement as APS1Settlement).type === 'settle' ? 'settled' : 'returned', response: JSON.stringify(out.body) });
    return out;
  }

  /** POSTs the hire's envelope to the agent (again, when resumed: an APS-1 agent answers a resent envelope with its stored execution). */
  async function execute(row: MarketJobRow, m: APS1Manifest, nexusJobId: bigint, resumed: boolean): Promise<{ result: APS1Result | null; why: string }> {
    const envelope = {
      jobId: row.jobId,
      agentId: m.id,
      prompt: row.prompt!,
      ...(row.payload && !faults.dropPayload ? { payload: JSON.parse(row.payload) as Record<string, unknown> } : {}),
      callerWallet: row.callerWallet,
      escrow: { contractAddress: cfg.addresses.nexus, onChainId: Number(nexusJobId), txHash: row.createTx!, method: 'nexus-escrow' },
      timestamp: iso(),
    };
    // After a restart the agent may still be starting: a resumed hire waits for it a while before it gives up on it.
    const until = Date.now() + (resumed ? AGENT_WAIT_MS : 0);
    for (;;) {
      try {
        const res = await fetch(m.endpoints.execute, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-aps-version': APS1_VERSION },
          body: JSON.stringify(envelope),
          signal: AbortSignal.timeout(60_000),
        });
        const parsed = APS1ResultSchema.safeParse(await res.json().catch(() => null));
        return parsed.success ? { result: parsed.data, why: '' } : { result: null, why: `the agent answered ${res.status} without a valid APS1Result` };
      } catch (e) {
        // Stopping is no verdict on the agent: the row stays 'created' for the next start.
        if (stopped) throw new Error(`market job ${row.jobId}: the marketplace is stopping; the hire is resumed at its next start`);
        if (Date.now() >= until) return { result: null, why: `the agent could not be reached: ${(e as Error).message}` };
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Settle or refund a created job and build the answer; the row is closed with the answer in one write. */
  async function conclude(jobId: string, m: APS1Manifest, nexusJobId: bigint, token: Address, amount: bigint, caller: Address, r: APS1Result | null, why: string): Promise<Answer> {
    const job = await chain.getJob(nexusJobId);
    // A job already ended (a crash after its settle or refund was mined) keeps that ending.
    let good = job.status === 4 || (r?.status === 'success' && job.status === 2);
    if (good && job.status !== 4 && m.proofEnabled) {
      const v = r?.proof ? await chain.verification(r.proof.verifyTxHash as Hex) : null;
      const c = v ? await chain.getCommitment(v.commitmentId) : null;
      good = Boolean(v && c && v.matched && c.matched && c.agent.toLowerCase() === m.walletAddress.toLowerCase() && c.nexusJobId === nexusJobId);
    }
    if (faults.settleOnFailure && job.status < 4) good = true;
    const result: APS1Result = r ?? {
      jobId,
      agentId: m.id,
      status: 'error',
      error: why,
      executionTimeMs: 0,
      timestamp: iso(),
    };
    const answer = (settlement: APS1Settlement): Answer => ({
      status: 200,
      body: { ...result, escrow: { contractAddress: cfg.addresses.nexus, onChainId: Number(nexusJobId), method: 'nexus-escrow' }, settlement },
    });
    if (good) {
      const tx = job.status === 4 ? null : await chain.settleJob(nexusJobId);
      // The fee was fixed when the job was created: the settlement reports that one.
      return answer({
        jobId,
        type: 'settle',
        agentPayout: (amount - job.platformFee + (faults.payoutOffByOne ? 1n : 0n)).toString(),
        platformFee: job.platformFee.toString(),
        txHash: tx ? txOut(tx) : ((await chain.endingTx(nexusJobId)) ?? ''),
        timestamp: iso(),
      });
    }
    const tx = job.status === 5 ? null : await chain.refundJob(nexusJobId);
    db.updateMarketJob(jobId, { state: 'refunded' });
    // The refund is forwarded once: a transfer recorded and mined before a crash is not sent again.
    if (!faults.keepRefund && !(await succeeded(db.marketJob(jobId)!.returnTx))) await chain.transfer(token, caller, amount, { onSigned: (h) => db.updateMarketJob(jobId, { returnTx: h }) });
    return answer({ jobId, type: 'refund', agentPayout: '0', platformFee: '0', txHash: tx ? txOut(tx) : ((await chain.endingTx(nexusJobId)) ?? ''), timestamp: iso() });
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
      if (Math.abs(ts - Math.floor(now() / 1000)) > (faults.authWindowTenMinutes ? 600 : AUTH_WINDOW_SECONDS))
        throw new HttpError(401, `${AUTH_HEADERS.timestamp} is more than ${AUTH_WINDOW_SECONDS} s from the server clock`);
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
        if (prev.callerWallet !== caller) throw new HttpError(409, `jobId '${body.jobId}' is already in use`);
        if (prev.response && !faults.forgetHireAnswer) return c.json(JSON.parse(prev.response));
        // A hire a crash (or a failed step) left open is finished by its caller's resend.
        if (resumable(prev) && !faults.noHireRecovery) {
          const out = await advance(body.jobId, true);
          return c.json(out.body, out.status as 200);
        }
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
      const row = {
        jobId: body.jobId,
        agentId,
        callerWallet: caller,
        token,
        amount: amount.toString(),
        state: 'pulling',
        prompt: body.prompt,
        payload: body.payload ? JSON.stringify(body.payload) : null,
        manifest: JSON.stringify(m),
      };
      if (!db.insertMarketJob(row, iso())) throw new HttpError(409, `jobId '${body.jobId}' is already in use`);
      const out = await advance(body.jobId, false);
      return c.json(out.body, out.status as 200);
    });
  });

  // Hires a crash left open are finished in the background, each under its job's lock (a resend waits for it).
  if (!faults.noHireRecovery) {
    for (const row of db.openMarketJobs().filter(resumable)) {
      log(`market job ${row.jobId}: resuming from '${row.state}'`);
      void locks.run(`job:${row.jobId}`, () => advance(row.jobId, true)).catch((e: Error) => log(`market job ${row.jobId}: resume failed: ${e.message.split('\n')[0]}`));
    }
  }

  const server = await listen(app, { host: cfg.host ?? '127.0.0.1', port: cfg.port ?? 0, shape: aps1Errors, log });
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
