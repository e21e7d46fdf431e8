/**
 * The APS-1 reference agent server (seed 004; the package's `APS1Agent`, specs/protocols.md §D.2):
 *
 *   GET  /manifest        the APS1Manifest (endpoints under this server's URL; reputationScore read
 *                         from the ReputationRegistry when it has a snapshot of the wallet)
 *   POST /negotiate       propose / counter / accept / reject (protocol/negotiation.ts's policy; 404
 *                         when the agent's pricing is not negotiable, as the package does)
 *   POST /execute         APS1ExecutionEnvelope in, APS1Result out
 *   GET  /status/:jobId   the stored APS1Result (404 for an unknown job)
 *   GET  /health          {status:"ok", aps, agent, name, version, uptime}
 *
 * An execution is paid before it runs: the envelope's escrow claim is checked on chain (a NexusV2
 * job or StreamV1 stream that pays this agent's wallet at least the price in a supported token, or
 * a direct transfer of at least the price to the wallet) and can pay for one job only. With
 * `proofEnabled` the agent commits the task's plan hash on AIProofRegistry before running it and
 * verifies with the hash of what it ran afterwards; then it completes the NexusV2 job (or submits
 * the stream's next milestone with the result hash as proof). Every step is idempotent, so a retry
 * of the same request, or a restart, finishes a job instead of paying or proving twice.
 *
 * Messages are validated with the package's schemas (protocol/schemas.ts); like the package's
 * server, a missing envelope `jobId`/`timestamp` or negotiation `currency`/`timestamp` is filled in
 * (profile APS-PROF-03), everything else must be valid. Errors: `{error, code, aps:"1.0"}`.
 */
import { randomBytes } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { getAddress, keccak256, stringToBytes, type Address, type Hex } from 'viem';
import { HttpError, bounded, errorHandler, listen, notFoundHandler } from '../../_shared/http.ts';
import { KeyedLock } from '../../_shared/keyed-lock.ts';
import { RevertGuard } from '../../_shared/revert-guard.ts';
import { workerHandler, type WorkOutcome, type WorkerStrategy } from '../agents/workers.ts';
import { respond, type Pricing } from '../protocol/negotiation.ts';
import { usdToUnits } from '../protocol/price.ts';
import { APS1_PROFILE } from '../protocol/profile.ts';
import { canonicalJson, planHash as taskPlanHash, resultHash as taskResultHash, type TaskSpec } from '../protocol/proof.ts';
import { APS1ExecutionEnvelopeSchema, APS1NegotiationSchema, APS1_VERSION, type APS1Envelope, type APS1Manifest, type APS1Result, type PaymentMethod } from '../protocol/schemas.ts';
import { Aps1Chain, localChain, type Aps1Addresses, type MinedTx } from './chain.ts';
import { Aps1Db } from './db.ts';
import type { Aps1Faults } from './faults.ts';
import { aps1Errors, objectBody, parseV3, unknownKeys } from './http.ts';

/** A token the agent accepts. */
export interface TokenConfig {
  symbol: string;
  address: Address;
  decimals: number;
}

/** What the agent says about itself (the manifest's content). */
export interface AgentIdentity {
  id: string;
  name: string;
  description: string;
  category: APS1Manifest['category'];
  version: string;
  pricing: Pricing;
  capabilities: string[];
  paymentMethods?: PaymentMethod[];
  proofEnabled?: boolean;
  metadata?: Record<string, unknown>;
}

export interface AgentServerConfig {
  rpcUrl: string;
  chainId: number;
  addresses: Aps1Addresses;
  tokens: TokenConfig[];
  /** The agent's wallet key: paid by escrows, signs commits, completions and milestone submissions. */
  privateKey: Hex;
  agent: AgentIdentity;
  strategy: WorkerStrategy;
  /** How long a `slow` agent takes (ms). */
  slowDelayMs?: number;
  dbPath?: string;
  host?: string;
  port?: number;
  publicUrl?: string;
  faults?: Aps1Faults;
  log?: (line: string) => void;
  /** Milliseconds since the epoch (results' timestamps). */
  clock?: () => number;
}

export interface AgentServer {
  url: string;
  wallet: Address;
  manifest(): Promise<APS1Manifest>;
  db: Aps1Db;
  stop(): Promise<void>;
}

const storeEscrow = (e: EscrowCheck) => JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
const reviveEscrow = (s: string) => JSON.parse(s, (_k, v) => (typeof v === 'string' && /^\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v)) as EscrowCheck;

const ENVELOPE_KEYS = ['jobId', 'agentId', 'prompt', 'payload', 'callerWallet', 'escrow', 'proof', 'timestamp'];
const NEGOTIATION_KEYS = ['type', 'jobId', 'price', 'currency', 'message', 'timestamp'];
const NEXUS_OPEN = new Set([0, 1]);

/** An escrow claim checked on chain. */
interface EscrowCheck {
  key: string;
  method: PaymentMethod;
  onChainId: bigint;
  milestone?: bigint;
  anchor: { block: bigint; hash: string };
}

export async function startAgentServer(cfg: AgentServerConfig): Promise<AgentServer> {
  const log = cfg.log ?? (() => {});
  const faults = cfg.faults ?? {};
  const now = cfg.clock ?? Date.now;
  const iso = () => {
    const s = new Date(now()).toISOString();
    return faults.offsetTimestamps ? s.replace('Z', '+00:00') : s;
  };
  const chain = new Aps1Chain(localChain(cfg.chainId, cfg.rpcUrl), cfg.rpcUrl, cfg.addresses, cfg.privateKey);
  const wallet = chain.address;
  const db = new Aps1Db(faults.inMemoryState ? ':memory:' : (cfg.dbPath ?? ':memory:'));
  const locks = new KeyedLock();
  const revert = new RevertGuard((n) => chain.blockHash(n), { liveAnchors: () => db.liveAnchors(), orphan: (a) => db.orphanAnchors(a) }, log);
  const handler = workerHandler(cfg.strategy);
  const started = Date.now();
  const id = cfg.agent.id;
  const proofEnabled = cfg.agent.proofEnabled ?? true;
  const paymentMethods = cfg.agent.paymentMethods ?? ['nexus-escrow', 'stream-milestone', 'direct-transfer'];
  const promptHash = (t: TaskSpec) => keccak256(stringToBytes(t.prompt));
  const planHash = faults.otherPlanHash ? promptHash : taskPlanHash;
  const resultHash = faults.otherPlanHash ? promptHash : taskResultHash;
  const explorer = (hash: string) => `${APS1_PROFILE.explorerTxUrl}${hash}`;
  let publicUrl = cfg.publicUrl?.replace(/\/+$/, '') ?? '';

  async function manifest(): Promise<APS1Manifest> {
    const rep = await chain.reputation(wallet).catch(() => ({ score: 0n, known: false }));
    const m: APS1Manifest = {
      aps: '1.0',
      id,
      name: cfg.agent.name,
      description: cfg.agent.description,
      category: cfg.agent.category,
      version: cfg.agent.version,
      pricing: { ...cfg.agent.pricing },
      capabilities: cfg.agent.capabilities,
      paymentMethods,
      supportedTokens: cfg.tokens.map((t) => ({ symbol: t.symbol, address: t.address, decimals: faults.tokenDecimals18 ? 18 : t.decimals })),
      proofEnabled,
      ...(rep.known ? { reputationScore: Number(rep.score) } : {}),
      walletAddress: wallet,
      endpoints: {
        manifest: `${publicUrl}/manifest`,
        execute: `${publicUrl}/execute`,
        ...(cfg.agent.pricing.negotiable ? { negotiate: `${publicUrl}/negotiate` } : {}),
        status: `${publicUrl}/status`,
        health: `${publicUrl}/health`,
      },
      ...(cfg.agent.metadata ? { metadata: cfg.agent.metadata } : {}),
    };
    if (faults.manifestNoWallet) delete (m as Partial<APS1Manifest>).walletAddress;
    return m;
  }

  /** The price a job pays, in base units of `decimals`: the agreed one, else the base price. */
  function priceUnits(jobId: string, decimals: number): bigint {
    const agreed = faults.ignoreAgreement ? undefined : db.negotiation(jobId)?.agreed;
    const units = usdToUnits(agreed ?? cfg.agent.pricing.basePrice, decimals);
    if (units === null) throw new Error(`price ${agreed ?? cfg.agent.pricing.basePrice} has no exact ${decimals}-decimal value`);
    return units;
  }

  const tokenOf = (address: string) => cfg.tokens.find((t) => t.address.toLowerCase() === address.toLowerCase());
  const paid = (why: string, extra: Record<string, unknown> = {}) => new HttpError(402, `Payment required: ${why}`, extra, {}, 'payment_required');

  /** Checks the envelope's escrow claim on chain (see the module docs). */
  async function checkEscrow(env: APS1Envelope): Promise<EscrowCheck | null> {
    const e = env.escrow;
    if (!e) {
      if (cfg.agent.pricing.basePrice === 0 || faults.executeWithoutEscrow) return null;
      throw paid('this agent executes only with an escrow (nexus-escrow, stream-milestone or direct-transfer)', {
        accepts: paymentMethods,
        walletAddress: wallet,
        price: cfg.agent.pricing.basePrice,
        currency: 'USD',
      });
    }
    if (!paymentMethods.includes(e.method)) throw paid(`this agent does not take ${e.method}`, { accepts: paymentMethods });
    const receipt = await chain.receipt(e.txHash as Hex);
    const anchor = receipt ? { block: receipt.blockNumber, hash: receipt.blockHash } : { block: 0n, hash: '' };
    const contract = e.contractAddress.toLowerCase();
    const onChainId = BigInt(e.onChainId);
    if (faults.skipEscrowCheck) return { key: `${e.method}:${contract}:${onChainId}:${e.txHash.toLowerCase()}`, method: e.method, onChainId, anchor };
    if (receipt?.status !== 'success') throw paid(`escrow transaction ${e.txHash} is not a successful transaction on chain ${cfg.chainId}`);
    if (e.method === 'nexus-escrow') {
      if (contract !== cfg.addresses.nexus.toLowerCase()) throw paid(`escrow.contractAddress is not NexusV2 (${cfg.addresses.nexus})`);
      if (!chain.jobsCreatedIn(receipt).includes(onChainId)) throw paid(`transaction ${e.txHash} did not create NexusV2 job ${onChainId}`);
      const job = await chain.getJob(onChainId);
      const token = tokenOf(job.token);
      if (job.worker.toLowerCase() !== wallet.toLowerCase()) throw paid(`NexusV2 job ${onChainId} pays ${job.worker}, not this agent (${wallet})`);
      if (!token) throw paid(`NexusV2 job ${onChainId} is in ${job.token}, which this agent does not take`);
      if (!NEXUS_OPEN.has(job.status)) throw new HttpError(409, `NexusV2 job ${onChainId} is not open (status ${APS1_PROFILE.statuses.job[job.status]})`);
      if (!faults.ignoreDeadline && job.deadline <= (await chain.now())) throw new HttpError(409, `NexusV2 job ${onChainId} is past its deadline`);
      const need = priceUnits(env.jobId, token.decimals);
      if (job.budget < need) throw paid(`NexusV2 job ${onChainId} holds ${job.budget} base units; the price is ${need}`);
      return { key: `nexus:${contract}:${onChainId}`, method: e.method, onChainId, anchor };
    }
    if (e.method === 'stream-milestone') {
      if (contract !== cfg.addresses.stream.toLowerCase()) throw paid(`escrow.contractAddress is not StreamV1 (${cfg.addresses.stream})`);
      if (!chain.streamsCreatedIn(receipt).includes(onChainId)) throw paid(`transaction ${e.txHash} did not create stream ${onChainId}`);
      const s = await chain.getStream(onChainId);
      const token = tokenOf(s.token);
      if (s.agent.toLowerCase() !== wallet.toLowerCase()) throw paid(`stream ${onChainId} pays ${s.agent}, not this agent (${wallet})`);
      if (!token) throw paid(`stream ${onChainId} is in ${s.token}, which this agent does not take`);
      if (s.status !== 0) throw new HttpError(409, `stream ${onChainId} is not active`);
      const need = priceUnits(env.jobId, token.decimals);
      if (s.totalBudget < need) throw paid(`stream ${onChainId} holds ${s.totalBudget} base units; the price is ${need}`);
      for (let i = 0n; i < s.milestoneCount; i++) {
        const st = await chain.milestoneStatus(onChainId, i);
        if (st === 0 || st === 3) return { key: `stream:${contract}:${onChainId}:${i}:${e.txHash.toLowerCase()}:${env.jobId}`, method: e.method, onChainId, milestone: i, anchor };
      }
      throw new HttpError(409, `stream ${onChainId} has no milestone left to deliver`);
    }
    const token = tokenOf(contract);
    if (!token) throw paid(`escrow.contractAddress ${e.contractAddress} is not a token this agent takes`);
    const need = priceUnits(env.jobId, token.decimals);
    const got = chain
      .transfersIn(receipt, token.address)
      .filter((t) => t.to.toLowerCase() === wallet.toLowerCase())
      .reduce((a, t) => a + t.value, 0n);
    if (got < need) throw paid(`transaction ${e.txHash} transfers ${got} base units of ${token.symbol} to this agent; the price is ${need}`);
    return { key: `direct:${e.txHash.toLowerCase()}`, method: e.method, onChainId, anchor };
  }

  function txOut(t: MinedTx, description: string) {
    return { hash: t.hash, blockNumber: Number(t.blockNumber), gasUsed: t.gasUsed.toString(), explorerUrl: explorer(t.hash), description };
  }

  function result(env: APS1Envelope, started: number, w: Partial<APS1Result>): APS1Result {
    return {
      jobId: env.jobId,
      agentId: id,
      status: w.status ?? 'success',
      ...(w.result !== undefined ? { result: w.result } : {}),
      ...(w.error !== undefined ? { error: w.error } : {}),
      onChain: w.onChain ?? { executed: false, transactions: [], network: APS1_PROFILE.network, chainId: faults.wrongChainId ? 1 : cfg.chainId },
      ...(w.proof ? { proof: w.proof } : {}),
      executionTimeMs: Math.max(0, Date.now() - started),
      timestamp: iso(),
    };
  }

  /** Runs (or resumes) a job whose escrow is checked and row written. Returns the HTTP status and result. */
  async function run(env: APS1Envelope, escrow: EscrowCheck | null, t0: number): Promise<{ status: number; body: APS1Result }> {
    const task: TaskSpec = { jobId: env.jobId, agentId: id, prompt: env.prompt, ...(env.payload ? { payload: env.payload } : {}) };
    const txs: ReturnType<typeof txOut>[] = [];
    let commitmentId = db.agentJob(env.jobId)?.commitmentId as Hex | null | undefined;
    if (proofEnabled && !faults.skipProofCommit) {
      if (env.proof) commitmentId = env.proof.commitmentId as Hex;
      if (!commitmentId) {
        const c = await chain.commit(planHash(task), escrow?.onChainId ?? 0n);
        commitmentId = c.commitmentId;
        db.updateAgentJob(env.jobId, { commitmentId });
        txs.push(txOut(c.tx, 'AIProofRegistry.commit (plan hash, before execution)'));
      }
    }
    let outcome: WorkOutcome;
    try {
      outcome = await handler(task);
    } catch (e) {
      outcome = { status: 'error', error: (e as Error).message, ran: task };
    }
    if (outcome.status === 'error') {
      const body = result(env, t0, { status: 'error', error: outcome.error, onChain: { executed: txs.length > 0, transactions: txs, network: APS1_PROFILE.network, chainId: cfg.chainId } });
      if (faults.invalidErrorResult) body.status = 'failed' as APS1Result['status'];
      return { status: 500, body };
    }
    const rHash = resultHash(outcome.ran);
    let proof: APS1Result['proof'];
    if (commitmentId) {
      const c = await chain.getCommitment(commitmentId);
      if (c.verified) {
        const v = await findVerifyTx(commitmentId);
        proof = { resultHash: c.resultHash, verifyTxHash: v ?? (`0x${'0'.repeat(64)}` as Hex), matched: c.matched };
      } else {
        const v = await chain.verify(commitmentId, rHash);
        txs.push(txOut(v.tx, 'AIProofRegistry.verify (result hash, after execution)'));
        proof = { resultHash: rHash, verifyTxHash: v.tx.hash, matched: v.matched };
      }
    }
    if (escrow?.method === 'nexus-escrow' && !faults.noComplete) {
      const job = await chain.getJob(escrow.onChainId);
      if (NEXUS_OPEN.has(job.status)) txs.push(txOut(await chain.completeJob(escrow.onChainId), 'NexusV2.completeJob'));
    } else if (escrow?.method === 'stream-milestone' && escrow.milestone !== undefined) {
      const st = await chain.milestoneStatus(escrow.onChainId, escrow.milestone);
      if (st === 0 || st === 3) txs.push(txOut(await chain.submitMilestone(escrow.onChainId, escrow.milestone, rHash), `PayPolStreamV1.submitMilestone #${escrow.milestone}`));
    }
    return {
      status: 200,
      body: result(env, t0, {
        status: 'success',
        result: outcome.result,
        onChain: { executed: txs.length > 0, transactions: txs, network: APS1_PROFILE.network, chainId: faults.wrongChainId ? 1 : cfg.chainId },
        ...(proof ? { proof } : {}),
      }),
    };
  }

  async function findVerifyTx(commitmentId: Hex): Promise<Hex | undefined> {
    const { proofAbi } = await import('../protocol/abi.ts');
    const logs = await chain.pub.getContractEvents({ address: cfg.addresses.proof, abi: proofAbi, eventName: 'CommitmentVerified', args: { commitmentId }, fromBlock: 0n, toBlock: 'latest' });
    return logs[0]?.transactionHash;
  }

  /** Checks an envelope's own proof claim: a commitment of this agent's wallet, for this task, not verified yet. */
  async function checkProofClaim(env: APS1Envelope): Promise<void> {
    if (!env.proof) return;
    const task: TaskSpec = { jobId: env.jobId, agentId: id, prompt: env.prompt, ...(env.payload ? { payload: env.payload } : {}) };
    const c = await chain.getCommitment(env.proof.commitmentId as Hex);
    if (c.agent.toLowerCase() !== wallet.toLowerCase() || c.planHash.toLowerCase() !== env.proof.planHash.toLowerCase() || c.planHash !== planHash(task)) {
      throw new HttpError(400, 'Invalid envelope: proof does not name a commitment of this agent for this task');
    }
  }

  const app = new Hono();
  app.onError(errorHandler({ shape: aps1Errors, log }));
  app.notFound(
    notFoundHandler({ shape: aps1Errors, message: (c) => `No route ${c.req.method} ${new URL(c.req.url).pathname} (APS-1 agent: /manifest, /negotiate, /execute, /status/:jobId, /health)` }),
  );
  app.use('*', async (_c, next) => {
    try {
      if (!faults.noRevertCheck) await revert.check();
    } catch (e) {
      log(`revert check skipped: ${(e as Error).message.split('\n')[0]}`);
    }
    await next();
  });
  if (faults.malformed500) {
    app.use('*', async (c, next) => {
      try {
        await next();
      } catch (e) {
        if (e instanceof HttpError && e.status === 400) return c.json({ error: 'internal error', aps: APS1_VERSION }, 500);
        throw e;
      }
      if (c.res.status === 400) c.res = c.json({ error: 'internal error', aps: APS1_VERSION }, 500);
    });
  }

  app.get('/manifest', async (c) => c.json(await manifest()));
  app.get('/health', (c) =>
    c.json({ status: faults.healthNotOk ? 'degraded' : 'ok', aps: APS1_VERSION, agent: id, name: cfg.agent.name, version: cfg.agent.version, uptime: (Date.now() - started) / 1000 }),
  );

  app.post('/negotiate', async (c) => {
    if (!cfg.agent.pricing.negotiable) throw new HttpError(404, 'This agent does not support negotiation');
    const raw = await objectBody(c);
    if (faults.refuseUnknownKeys && unknownKeys(raw, NEGOTIATION_KEYS).length) throw new HttpError(400, `Invalid negotiation message: unknown keys ${unknownKeys(raw, NEGOTIATION_KEYS).join(', ')}`);
    const msg = parseV3(
      APS1NegotiationSchema,
      { ...raw, currency: 'currency' in raw ? raw.currency : 'USD', timestamp: 'timestamp' in raw ? raw.timestamp : new Date(now()).toISOString() },
      'negotiation message',
    );
    if (usdToUnits(msg.price, APS1_PROFILE.priceDecimals) === null)
      throw new HttpError(400, `Invalid negotiation message: price: ${msg.price} has no exact value in base units (at most ${APS1_PROFILE.priceDecimals} decimals, finite)`);
    return locks.run(`neg:${msg.jobId}`, async () => {
      const prev = db.negotiation(msg.jobId);
      const state = faults.statelessNegotiation ? {} : { ...(prev?.agreed != null ? { agreed: prev.agreed } : {}), ...(prev?.closed ? { closed: true } : {}) };
      const pricing = faults.acceptBelowFloor ? { ...cfg.agent.pricing, minPrice: 0 } : cfg.agent.pricing;
      const { reply, next } = respond(pricing, state, msg, APS1_PROFILE.priceDecimals);
      if (faults.counterAboveBase && reply.type === 'counter') reply.price = cfg.agent.pricing.basePrice * 2;
      db.saveNegotiation({ jobId: msg.jobId, agreed: next.agreed ?? null, closed: next.closed ?? false }, iso());
      return c.json({
        type: reply.type,
        jobId: faults.replyOtherJob ? `${msg.jobId}-other` : msg.jobId,
        price: reply.price,
        currency: 'USD',
        ...(reply.message ? { message: reply.message } : {}),
        timestamp: iso(),
      });
    });
  });

  /** `parse()`, except that with the `recordRefusedEnvelopes` fault a refused envelope naming a new jobId is stored as an error result first. */
  function withRefusalRecorded<T>(raw: Record<string, unknown>, parse: () => T): T {
    try {
      return parse();
    } catch (e) {
      const jobId = raw.jobId;
      if (faults.recordRefusedEnvelopes && typeof jobId === 'string' && jobId && !db.agentJob(jobId)) {
        const body = { jobId, agentId: id, status: 'error', error: (e as Error).message, executionTimeMs: 0, timestamp: iso() };
        if (db.startAgentJob({ jobId, requestHash: 'refused', escrowKey: null, escrow: null }, iso())) db.updateAgentJob(jobId, { state: 'done', result: JSON.stringify(body), httpStatus: 400 });
      }
      throw e;
    }
  }

  app.post('/execute', async (c: Context) => {
    const t0 = Date.now();
    const raw = await objectBody(c);
    if (faults.refuseUnknownKeys && unknownKeys(raw, ENVELOPE_KEYS).length) throw new HttpError(400, `Invalid envelope: unknown keys ${unknownKeys(raw, ENVELOPE_KEYS).join(', ')}`);
    const env = withRefusalRecorded(raw, () =>
      parseV3(
        APS1ExecutionEnvelopeSchema,
        { ...raw, jobId: 'jobId' in raw ? raw.jobId : `aps1-${Date.now()}-${randomBytes(4).toString('hex')}`, timestamp: 'timestamp' in raw ? raw.timestamp : new Date(now()).toISOString() },
        'envelope',
      ),
    );
    if (env.agentId !== id) throw new HttpError(400, `Invalid envelope: agentId: this agent is '${id}', not '${env.agentId}'`);
    const requestHash = keccak256(stringToBytes(canonicalJson({ ...env, timestamp: undefined })));
    // The fault: no lock and no lookup by jobId, so each delivery is a job of its own.
    const lockKey = faults.noIdempotency ? `job:${env.jobId}:${randomBytes(4).toString('hex')}` : `job:${env.jobId}`;
    return locks.run(lockKey, async () => {
      const existing = faults.noIdempotency ? undefined : db.agentJob(env.jobId);
      if (existing) {
        if (existing.requestHash !== requestHash) throw new HttpError(409, `jobId '${env.jobId}' was already used for another request`);
        if (existing.state === 'done') return c.json(JSON.parse(existing.result!), (existing.httpStatus ?? 200) as 200);
      }
      let escrow: EscrowCheck | null;
      if (existing) {
        if (faults.noCrashResume) throw new HttpError(409, `job '${env.jobId}' is still running`);
        // A retry of a job a failure left running: resume with the claim checked the first time.
        escrow = existing.escrow ? reviveEscrow(existing.escrow) : null;
      } else {
        await checkProofClaim(env);
        escrow = await checkEscrow(env);
        const key = faults.acceptReusedEscrow || faults.noIdempotency ? null : (escrow?.key ?? null);
        const taken = key ? db.agentJobByEscrow(key) : undefined;
        if (taken) throw new HttpError(409, `this escrow already paid for job '${taken.jobId}'`);
        if (faults.noIdempotency) db.deleteAgentJob(env.jobId);
        if (!db.startAgentJob({ jobId: env.jobId, requestHash, escrowKey: key, escrow: escrow ? storeEscrow(escrow) : null, anchor: escrow?.anchor.hash ? escrow.anchor : undefined }, iso())) {
          throw new HttpError(409, `jobId '${env.jobId}' or its escrow is already taken`);
        }
        if (escrow?.anchor.hash) revert.note(escrow.anchor);
      }
      if (cfg.strategy === 'slow') {
        const pending = result(env, t0, { status: 'pending' });
        db.updateAgentJob(env.jobId, { result: JSON.stringify(pending), httpStatus: 200 });
        setTimeout(() => {
          void locks.run(`job:${env.jobId}`, () => finish(env, escrow, t0)).catch((e: Error) => log(`slow job ${env.jobId}: ${e.message}`));
        }, cfg.slowDelayMs ?? 2000).unref();
        return c.json(pending);
      }
      const out = await finish(env, escrow, t0);
      return c.json(out.body, out.status as 200);
    });
  });

  async function finish(env: APS1Envelope, escrow: EscrowCheck | null, t0: number): Promise<{ status: number; body: APS1Result }> {
    let out: { status: number; body: APS1Result };
    try {
      out = await run(env, escrow, t0);
    } catch (e) {
      log(`job ${env.jobId}: chain step failed: ${(e as Error).message.split('\n')[0]}`);
      throw new HttpError(502, `a chain step of job '${env.jobId}' failed; retry the same request to finish it`);
    }
    db.updateAgentJob(env.jobId, { state: 'done', result: JSON.stringify(out.body), httpStatus: out.status });
    return out;
  }

  app.get('/status/:jobId', (c) => {
    const j = db.agentJob(c.req.param('jobId'));
    if (!j?.result || faults.forgetStatus) throw new HttpError(404, 'Job not found');
    return c.json(JSON.parse(j.result));
  });

  const server = await listen(app, { host: cfg.host ?? '127.0.0.1', port: cfg.port ?? 0, shape: aps1Errors, log });
  if (!publicUrl) publicUrl = server.url;
  // Jobs a crash left running are finished by a retry of their request; nothing runs by itself.
  let stopped = false;
  return {
    url: server.url,
    wallet: getAddress(wallet),
    manifest,
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
