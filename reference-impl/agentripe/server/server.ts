/**
 * Agentripe reference server (seed 002; routes as listed in specs/protocols.md C.3).
 *
 * hono on 127.0.0.1 (port 0 by default), state in SQLite, money on chain:
 * x402 payment (payTo = escrow) → `recordDeposit(taskId = payment tx hash)` → vendor works →
 * review → `releaseToVendor` (+ positive ERC-8004 feedback) or, on `fail` / the 5th rejection,
 * `refundToBuyer` (+ negative feedback).
 *
 * Every chain action is written down as an intention first and confirmed after, and `resync()`
 * (run on start) reconciles intentions and open tasks with escrow events, so a crash or restart
 * loses nothing. See README.md for routes, the review rule and deviations.
 */
import { Hono, type Context } from 'hono';
import { getRequestListener } from '@hono/node-server';
import { createServer, STATUS_CODES, type Server as ServerType } from 'node:http';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { getAddress, isAddress, type Address, type Hex } from 'viem';
import { AgentripeDb, type TaskRow, type TaskStatus } from './db.ts';
import { AGENTRIPE_PROFILE } from '../protocol/profile.ts';
import { AgentripeChain, localChain } from './chain.ts';
import { checkPayment, toResponse } from '../../x402/server/paywall.ts';
import { registerWithKeyMessage, verifyPersonalSign, withinWindow } from '../protocol/auth.ts';
import { authenticateVendor, hashApiKey, type VendorAuth } from './auth.ts';
import { llmReviewer, ruleReviewer, type Reviewer, type ReviewVerdict } from './review.ts';
import { agentUriDataSchema, findCatalogEntry, loadAgentUriData, parseUsdPrice, toDataUri, type AgentUriData } from '../protocol/agenturi.ts';

/** Version reported by `/health` (the seed's). */
export const AGENTRIPE_VERSION = '2.0.0';

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const addr = z.string().refine((s) => isAddress(s, { strict: false }), 'invalid address');
const privateKey = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'expected a 32-byte hex private key');

/** Serializable server configuration (validated with zod). */
export const agentripeConfigSchema = z.object({
  rpcUrl: z.url(),
  chainId: z.number().int().positive(),
  addresses: z.object({ usdc: addr, identityRegistry: addr, reputationRegistry: addr, escrow: addr }),
  /** USDC EIP-712 domain (base-sepolia: "USDC"/"2"; base: "USD Coin"/"2"). */
  usdcDomain: z.object({ name: z.string().min(1), version: z.string().min(1) }),
  /** The escrow operator: records, releases, refunds, and gives reputation feedback. */
  operatorPrivateKey: privateKey,
  /**
   * Mints agents for the REST registration routes. Must differ from the operator: ERC-8004 forbids
   * feedback from an agent's owner, and the operator gives feedback.
   */
  registrarPrivateKey: privateKey,
  facilitatorUrl: z.url(),
  dbPath: z.string().min(1).default(':memory:'),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(0),
  /** URL clients reach the server at (defaults to the listening URL). */
  publicUrl: z.url().optional(),
  /** Rejections after which the deposit is refunded (seed: 5). */
  reviewLimit: z.number().int().positive().default(AGENTRIPE_PROFILE.reviewLimit),
  /** Vendor-auth and register-with-key timestamp tolerance in seconds (seed: ±5 min). */
  authWindowSeconds: z.number().int().positive().default(AGENTRIPE_PROFILE.authWindowSeconds),
  maxTimeoutSeconds: z.number().int().positive().default(300),
  resyncOnStart: z.boolean().default(true),
  /**
   * Reviewer when no `reviewer` object is injected: the deterministic rule reviewer (default) or an
   * OpenAI-compatible endpoint.
   */
  review: z
    .discriminatedUnion('type', [
      z.object({ type: z.literal('rule') }),
      z.object({ type: z.literal('llm'), endpoint: z.url(), model: z.string().min(1), apiKey: z.string().optional(), timeoutMs: z.number().int().positive().optional() }),
    ])
    .default({ type: 'rule' }),
});

/** Server configuration: the serializable part plus injectable clock, reviewer and logger. */
export type AgentripeServerConfig = z.input<typeof agentripeConfigSchema> & {
  /** Milliseconds since the epoch; inject to follow chain time. Default Date.now. */
  clock?: () => number;
  /** Review of results with `reviewer_request`. Default: the deterministic rule reviewer. */
  reviewer?: Reviewer;
  log?: (msg: string) => void;
  /** Deliberate defects for conformance tests only (all off by default). */
  faults?: AgentripeFaults;
};

/**
 * Test-only defects: each breaks one rule so a test can show the scenarios notice it. Never set in
 * production. `amountOffByOne`: the 402 asks (and the deposit records) one base unit more than the
 * catalog price. `releaseBeforeReview`: `complete` releases the escrow before the review runs.
 * `acceptReplayedPayment`: a payment header seen before creates another task without settlement.
 */
export interface AgentripeFaults {
  amountOffByOne?: boolean;
  releaseBeforeReview?: boolean;
  acceptReplayedPayment?: boolean;
  /** The deposit is recorded one unit short of what the buyer paid. */
  recordAmountOffByOne?: boolean;
  /** taskId is a random id instead of the payment tx hash. */
  taskIdNotTxHash?: boolean;
  /** complete is accepted from any state (e.g. pending). */
  anyStateComplete?: boolean;
  /** An approved result refunds the buyer instead of releasing. */
  refundOnApprove?: boolean;
  /** fail marks the task failed but never refunds. */
  failWithoutRefund?: boolean;
  /** Any authenticated vendor may act on any task. */
  noOwnershipCheck?: boolean;
  /** POST /agents/{id}/wallet answers 200 even when the registry refused the change. */
  walletChangeAlwaysOk?: boolean;
}

/** A running server. */
export interface AgentripeServer {
  url: string;
  port: number;
  /** Reconciles open tasks and unconfirmed chain actions with the chain (also run on start). */
  resync(): Promise<{ checked: number; changed: number }>;
  /** Operator and registrar addresses (the operator gives feedback; the registrar mints). */
  operator: Address;
  registrar: Address;
  stop(): Promise<void>;
}

const body = {
  paid: z
    .object({
      task_detail: z.string().max(100_000).optional(),
      task_metadata: z.record(z.string(), z.unknown()).optional(),
      reviewer_request: z.string().max(20_000).optional(),
    })
    .catchall(z.unknown()),
  complete: z.object({ result: z.unknown().refine((v) => v !== undefined && v !== null, 'result is required') }),
  fail: z.object({ errorMessage: z.string().max(10_000).optional() }),
  register: z.object({
    data: agentUriDataSchema,
    wallet: z.object({ address: addr, deadline: z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,20}$/)]), signature: z.string().regex(/^0x[0-9a-fA-F]+$/) }).optional(),
  }),
  registerWithKey: z.object({
    walletAddress: addr,
    walletSignature: z.string().regex(/^0x[0-9a-fA-F]+$/),
    timestamp: z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,12}$/)]),
    data: agentUriDataSchema,
  }),
  wallet: z.object({
    walletAddress: addr,
    deadline: z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,20}$/)]),
    signature: z.string().regex(/^0x[0-9a-fA-F]+$/),
  }),
};

/** A client mistake, answered with `status` and `{error}` (plus optional extra fields). */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function zodError(e: z.ZodError): string {
  const i = e.issues[0];
  if (!i) return 'Invalid request body';
  const where = i.path.length ? `${i.path.join('.')}: ` : '';
  return `Invalid request body: ${where}${i.message}`;
}

/** JSON-safe agent id: a number while it fits, else a decimal string. */
function agentIdOut(id: string | bigint): number | string {
  const b = BigInt(id);
  return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString();
}

function parseJsonOrNull(s: string | null): unknown {
  if (s === null) return null;
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/** Reads a request body of any method (node's GET bodies included), at most `limit` bytes. */
async function readRawBody(c: Context, limit = 1_000_000): Promise<string> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if ((c.req.method === 'GET' || c.req.method === 'HEAD') && incoming) {
    // hono's Request has no body for GET; the seed's `x402 pay -X GET -d '{…}'` sends one anyway.
    if (!incoming.headers['content-length'] && !incoming.headers['transfer-encoding']) return '';
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of incoming) {
      size += (chunk as Buffer).length;
      // The rest of the body stays unread, so this connection cannot carry another request: say so.
      if (size > limit) throw new HttpError(413, 'Request body too large', {}, { connection: 'close' });
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
  const text = await c.req.text();
  if (text.length > limit) throw new HttpError(413, 'Request body too large');
  return text;
}

async function jsonBody(c: Context): Promise<unknown> {
  const text = await readRawBody(c);
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'Request body is not valid JSON');
  }
}

function parseWith<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError(400, zodError(r.error));
  return r.data;
}

/** Starts the Agentripe reference server. */
export async function startAgentripeServer(config: AgentripeServerConfig): Promise<AgentripeServer> {
  const cfg = agentripeConfigSchema.parse(config);
  const now = config.clock ?? Date.now;
  const iso = () => new Date(now()).toISOString();
  const reviewer = config.reviewer ?? (cfg.review.type === 'llm' ? llmReviewer(cfg.review) : ruleReviewer());
  const log = config.log ?? (() => {});
  const faults = config.faults ?? {};
  const seenPayments = new Map<string, Address>();
  if (cfg.operatorPrivateKey.toLowerCase() === cfg.registrarPrivateKey.toLowerCase()) {
    throw new Error('registrarPrivateKey must differ from operatorPrivateKey (an agent owner cannot receive feedback from itself)');
  }

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
  const db = new AgentripeDb(cfg.dbPath);
  let publicUrl = cfg.publicUrl?.replace(/\/+$/, '') ?? '';

  // Authorizations being verified/settled now: a concurrent replay of one payment gets 402
  // `duplicate_settlement` from the paywall instead of a second settlement attempt.
  const inflight = new Set<string>();

  // One operation per task at a time (complete vs fail vs resync), so a task is never judged or
  // resolved twice concurrently.
  const locks = new Map<string, Promise<unknown>>();
  function withTaskLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = locks.get(id) ?? Promise.resolve();
    const p = prev.then(fn, fn);
    const tail = p.catch(() => undefined);
    locks.set(id, tail);
    void tail.then(() => {
      if (locks.get(id) === tail) locks.delete(id);
    });
    return p;
  }

  // ---- chain-side steps, each idempotent -------------------------------------------------

  /** Makes sure the task's deposit is recorded on the escrow. */
  async function ensureRecorded(t: TaskRow): Promise<void> {
    if (t.depositState !== 'unrecorded') return;
    const onChain = await chain.getDeposit(t.id as Hex);
    if (onChain.status === 'none') {
      const tx = await chain.recordDeposit(t.id as Hex, BigInt(t.agentId), t.buyerAddress as Address, BigInt(t.amount) - (faults.recordAmountOffByOne ? 1n : 0n));
      db.updateTask(t.id, { depositState: 'deposited', recordTx: tx });
    } else {
      db.updateTask(t.id, { depositState: onChain.status === 'deposited' ? 'deposited' : onChain.status });
    }
    t.depositState = db.getTask(t.id)!.depositState;
  }

  /**
   * Carries out the task's pending escrow action (release or refund) and applies the status it was
   * waiting for. If the chain already resolved the deposit the other way (e.g. the buyer reclaimed
   * it), the chain wins and the task follows it.
   */
  async function finishPending(id: string): Promise<void> {
    let t = db.getTask(id)!;
    if (!t.pendingAction) return;
    await ensureRecorded(t);
    t = db.getTask(id)!;
    let onChain = (await chain.getDeposit(id as Hex)).status;
    let tx: Hex | null = null;
    if (onChain === 'deposited') {
      tx = t.pendingAction === 'release' ? await chain.releaseToVendor(id as Hex) : await chain.refundToBuyer(id as Hex);
      onChain = t.pendingAction === 'release' ? 'released' : 'refunded';
    } else if (onChain === 'released' || onChain === 'refunded') {
      tx = (await chain.resolutions([id as Hex])).get(id)?.tx ?? null;
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

  /** Gives the pending reputation feedback once (checks chain events first, so resync never doubles it). */
  async function finishFeedback(id: string, checkChain: boolean): Promise<void> {
    const t = db.getTask(id)!;
    if (t.feedbackState !== 'pending') return;
    try {
      if (!(checkChain && (await chain.feedbackGiven(BigInt(t.agentId), id as Hex)))) {
        await chain.giveFeedback(BigInt(t.agentId), BigInt(t.feedbackValue ?? 0), t.depositState === 'released' ? 'completed' : 'refunded', `${publicUrl}/${t.agentId}/${t.productId}`, id as Hex);
      }
      db.updateTask(id, { feedbackState: 'given' });
    } catch (e) {
      // Feedback is best effort per request; the intention stays 'pending' and resync retries it.
      log(`feedback for ${id} failed: ${(e as Error).message}`);
    }
  }

  /** Runs a decided escrow action; chain failures become 502 (state stays pending for a retry). */
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
    await guardRevert();
    const open = db.openTasks();
    let changed = 0;
    const resolved = await chain.resolutions(open.map((t) => t.id as Hex));
    for (const t0 of open) {
      await withTaskLock(t0.id, async () => {
        const before = JSON.stringify(db.getTask(t0.id));
        try {
          const t = db.getTask(t0.id)!;
          const r = resolved.get(t.id);
          if (r && !t.pendingAction && (t.depositState === 'deposited' || t.depositState === 'unrecorded')) {
            // Resolved on chain without an intention here (buyer reclaim): follow the chain.
            db.updateTask(t.id, {
              status: r.kind === 'released' ? 'completed' : 'failed',
              errorMessage: r.kind === 'refunded' ? 'Deposit was refunded on chain' : t.errorMessage,
              depositState: r.kind,
              resolveTx: r.tx,
              feedbackState: 'none',
              updatedAt: iso(),
            });
          } else if (t.pendingAction) {
            await finishPending(t.id);
          } else {
            await ensureRecorded(t);
          }
          await finishFeedback(t.id, true);
        } catch (e) {
          log(`resync of ${t0.id} failed: ${(e as Error).message}`);
        }
        if (JSON.stringify(db.getTask(t0.id)) !== before) changed++;
      });
    }
    return { checked: open.length, changed };
  }

  // ---- chain reverts ---------------------------------------------------------------------------

  /**
   * Rows anchored to blocks the chain no longer has (an `evm_revert`, as the harness does between
   * property runs, or a reorg) describe payments and registrations that never happened: they are
   * orphaned (tasks vanish, API keys stop working). One block read per request detects a revert:
   * the newest live anchor must still be on chain.
   */
  let newestAnchor = db.liveAnchors()[0];
  let sweeping: Promise<void> | undefined;
  async function guardRevert(): Promise<void> {
    if (!newestAnchor) return;
    if ((await chain.blockHash(newestAnchor.block)) === newestAnchor.hash) return;
    // One sweep at a time, however many requests notice the revert.
    sweeping ??= (async () => {
      try {
        // A revert or reorg replaces a suffix of the chain: walk anchors newest first and stop at
        // the first one still on chain (every older one is too).
        const gone = [];
        for (const a of db.liveAnchors()) {
          if ((await chain.blockHash(a.block)) === a.hash) break;
          gone.push(a);
        }
        const n = db.orphanAnchors(gone);
        if (n) log(`chain revert detected: ${n} rows orphaned`);
        newestAnchor = db.liveAnchors()[0];
      } finally {
        sweeping = undefined;
      }
    })();
    await sweeping;
  }
  const noteAnchor = (a: { block: bigint; hash: string } | undefined) => {
    if (a && (!newestAnchor || a.block >= newestAnchor.block)) newestAnchor = a;
  };

  // ---- views ---------------------------------------------------------------------------------

  const vendorTaskView = (t: TaskRow) => ({
    id: t.id,
    productId: t.productId,
    buyerAddress: t.buyerAddress,
    requestPayload: t.requestPayload,
    taskDetail: t.taskDetail,
    taskMetadata: t.taskMetadata,
    reviewerRequest: t.reviewerRequest,
    status: t.status,
    errorMessage: t.errorMessage,
    reviewRejectCount: t.reviewRejectCount,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
  });

  async function agentInfo(agentId: bigint, uriTimeoutMs = 5000) {
    const owner = await chain.ownerOf(agentId);
    if (!owner) return null;
    const [agentURI, agentWallet] = await Promise.all([chain.tokenURI(agentId).catch(() => ''), chain.agentWallet(agentId).catch(() => null)]);
    const loaded = uriTimeoutMs > 0 ? await loadAgentUriData(agentURI, fetch, uriTimeoutMs) : { ok: false as const, reason: 'agent URI not resolved within the listing deadline' };
    return { agentId: agentIdOut(agentId), owner, agentWallet, agentURI, data: loaded.ok ? loaded.data : null, dataError: loaded.ok ? undefined : loaded.reason };
  }

  function taskOr404(id: string): TaskRow {
    if (!hex32.safeParse(id).success) throw new HttpError(404, 'Task not found');
    const t = db.getTask(id.toLowerCase());
    if (!t) throw new HttpError(404, 'Task not found');
    return t;
  }

  function parseAgentId(s: string): bigint {
    if (!/^\d{1,30}$/.test(s)) throw new HttpError(404, 'Agent not found');
    return BigInt(s);
  }

  async function vendor(c: Context): Promise<Extract<VendorAuth, { ok: true }>> {
    const auth = await authenticateVendor((n) => c.req.header(n), {
      db,
      now,
      windowSeconds: cfg.authWindowSeconds,
      isAuthorizedOrOwner: (a, id) => chain.isAuthorizedOrOwner(a, id),
      solanaWalletOf: async (id) => {
        if (!(await chain.ownerOf(id))) return undefined;
        const loaded = await loadAgentUriData(await chain.tokenURI(id).catch(() => ''));
        return loaded.ok ? loaded.data.solanaWallet : undefined;
      },
    });
    if (!auth.ok) throw new HttpError(auth.status, auth.error);
    return auth;
  }

  function ownTask(auth: Extract<VendorAuth, { ok: true }>, id: string): TaskRow {
    const t = taskOr404(id);
    if (!faults.noOwnershipCheck && t.agentId !== auth.agentId) throw new HttpError(403, 'Not authorized for this agent');
    return t;
  }

  /** Replaces every service endpoint with this server's URL (seed: "auto-replaced with PUBLIC_URL"). */
  const withEndpoint = (data: AgentUriData): AgentUriData => ({ ...data, services: data.services.map((s) => ({ ...s, endpoint: publicUrl })) });

  /** On-chain URIs cost gas per byte: catalogs above 16 KiB of JSON are refused before any transaction. */
  const MAX_AGENT_DATA_BYTES = 16 * 1024;
  const agentDataUri = (data: AgentUriData): string => {
    const size = Buffer.byteLength(JSON.stringify(data), 'utf8');
    if (size > MAX_AGENT_DATA_BYTES) throw new HttpError(400, `Invalid request body: data is ${size} bytes of JSON; the limit is ${MAX_AGENT_DATA_BYTES}`);
    return toDataUri(data);
  };

  // ---- routes --------------------------------------------------------------------------------

  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof HttpError) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return c.json({ error: err.message, ...err.extra }, err.status as 400);
    }
    log(`internal error: ${err.stack ?? err.message}`);
    return c.json({ error: 'Internal server error' }, 500);
  });
  app.notFound((c) => c.json({ error: 'Not found' }, 404));

  app.get('/health', (c) => c.json({ status: 'ok', version: AGENTRIPE_VERSION }));

  app.use('*', async (_c, next) => {
    try {
      await guardRevert();
    } catch (e) {
      // RPC trouble: skip the check (nothing is orphaned on doubt); the route reports its own errors.
      log(`revert check skipped: ${(e as Error).message.split('\n')[0]}`);
    }
    await next();
  });

  // -- buyer: task status

  app.get('/tasks/:id', (c) => {
    const t = taskOr404(c.req.param('id'));
    return c.json({ status: t.status, createdAt: t.createdAt, updatedAt: t.updatedAt });
  });

  app.get('/tasks/:id/detail', async (c) => {
    const t = taskOr404(c.req.param('id'));
    const info = await agentInfo(BigInt(t.agentId)).catch(() => null);
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
    const t = taskOr404(c.req.param('id'));
    if (t.status === 'completed') return c.json({ status: 'completed', result: parseJsonOrNull(t.result) }, 200);
    if (t.status === 'failed') return c.json({ status: 'failed', errorMessage: t.errorMessage }, 200);
    const message =
      t.status === 'pending'
        ? 'Task is waiting for the vendor'
        : t.status === 'processing'
          ? 'Task is being processed'
          : `Result was rejected by review (${t.reviewRejectCount}/${cfg.reviewLimit}); waiting for the vendor to resubmit`;
    return c.json({ status: t.status, message }, 202);
  });

  // -- agents

  app.get('/agents', async (c) => {
    const ids = await chain.registeredAgentIds();
    // Agent URIs are arbitrary URLs from chain data (anyone can register): resolve them 16 at a
    // time under one 3 s deadline, and list the ones that did not answer with `data: null`.
    const deadline = Date.now() + 3000;
    const infos = new Array<Awaited<ReturnType<typeof agentInfo>>>(ids.length);
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const i = next++;
        infos[i] = await agentInfo(ids[i]!, Math.min(5000, deadline - Date.now()));
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, ids.length) }, worker));
    return c.json({ agents: infos.filter((a) => a !== null) });
  });

  app.get('/agents/next-id', async (c) => {
    const ids = await chain.registeredAgentIds();
    const next = ids.length ? ids[ids.length - 1]! + 1n : 0n;
    // `owner` is who will own the minted agent: the EIP-712 AgentWalletSet signature must name it.
    return c.json({ nextAgentId: agentIdOut(next), owner: chain.registrar.address });
  });

  app.post('/agents/register', async (c) => {
    const b = parseWith(body.register, await jsonBody(c));
    const data = withEndpoint(b.data);
    const { agentId, transactionHash } = await chain.registerAgent(agentDataUri(data)).catch((e) => {
      throw new HttpError(502, 'Agent registration transaction failed', { detail: (e as Error).message.split('\n')[0] });
    });
    let walletSet = false;
    let walletError: string | undefined;
    if (b.wallet) {
      try {
        await chain.setAgentWallet(agentId, getAddress(b.wallet.address), BigInt(b.wallet.deadline), b.wallet.signature as Hex);
        walletSet = true;
        // The wallet proved control (EIP-712): approve it on the NFT so it can pass EVM vendor auth
        // (isAuthorizedOrOwner) while the server keeps ownership for PUT /vendor/agent-uri.
        await chain.approveAgent(agentId, getAddress(b.wallet.address));
      } catch (e) {
        walletError = (e as Error).message.split('\n')[0];
      }
    }
    return c.json({ agentId: agentIdOut(agentId), transactionHash, walletSet, ...(walletError ? { walletError } : {}) }, 201);
  });

  app.post('/agents/register-with-key', async (c) => {
    const b = parseWith(body.registerWithKey, await jsonBody(c));
    const ts = Number(b.timestamp);
    if (!withinWindow(ts, now(), cfg.authWindowSeconds)) throw new HttpError(401, 'Timestamp outside the allowed window (±5 minutes)');
    if (!(await verifyPersonalSign(b.walletAddress, registerWithKeyMessage(b.walletAddress, String(b.timestamp)), b.walletSignature))) {
      throw new HttpError(401, 'Invalid wallet signature');
    }
    const wallet = getAddress(b.walletAddress);
    const data = withEndpoint(b.data);
    const { agentId, transactionHash } = await chain.registerAgent(agentDataUri(data)).catch((e) => {
      throw new HttpError(502, 'Agent registration transaction failed', { detail: (e as Error).message.split('\n')[0] });
    });
    // The wallet proved control, so it becomes the owner: payouts go to the owner while no
    // agentWallet is set (escrow rule), and EVM vendor auth works for it too.
    if (wallet.toLowerCase() !== chain.registrar.address.toLowerCase()) await chain.transferAgent(agentId, wallet);
    const apiKey = `ak_${randomBytes(24).toString('hex')}`;
    const anchor = await chain.anchorOf(transactionHash);
    noteAnchor(anchor);
    db.setApiKey(agentId.toString(), hashApiKey(apiKey), iso(), anchor);
    return c.json({ agentId: agentIdOut(agentId), apiKey, transactionHash }, 201);
  });

  app.post('/agents/:id/wallet', async (c) => {
    const agentId = parseAgentId(c.req.param('id'));
    const b = parseWith(body.wallet, await jsonBody(c));
    if (!(await chain.ownerOf(agentId))) throw new HttpError(404, 'Agent not found');
    if (!(await chain.isAuthorizedOrOwner(chain.registrar.address, agentId))) {
      throw new HttpError(403, 'This server does not own this agent; call setAgentWallet on the IdentityRegistry directly');
    }
    const walletAddress = getAddress(b.walletAddress);
    const transactionHash = await chain.setAgentWallet(agentId, walletAddress, BigInt(b.deadline), b.signature as Hex).catch((e) => {
      if (faults.walletChangeAlwaysOk) return `0x${'00'.repeat(32)}` as Hex;
      throw new HttpError(400, 'setAgentWallet was rejected by the IdentityRegistry', { detail: (e as Error).message.split('\n')[0] });
    });
    return c.json({ agentId: agentIdOut(agentId), walletAddress, transactionHash });
  });

  app.get('/agents/:id/stats', async (c) => {
    const agentId = parseAgentId(c.req.param('id'));
    if (!(await chain.ownerOf(agentId))) throw new HttpError(404, 'Agent not found');
    const s = db.agentStats(agentId.toString());
    const rep = await chain.feedbackSummary(agentId);
    const total = Object.values(s.byStatus).reduce((a, b) => a + b, 0);
    return c.json({
      agentId: agentIdOut(agentId),
      totalTasks: total,
      pendingTasks: s.byStatus.pending ?? 0,
      processingTasks: s.byStatus.processing ?? 0,
      rejectedTasks: s.byStatus.rejected ?? 0,
      completedTasks: s.byStatus.completed ?? 0,
      failedTasks: s.byStatus.failed ?? 0,
      reviewRejections: s.rejections,
      releasedAmount: s.released.toString(),
      refundedAmount: s.refunded.toString(),
      reputation: rep ? { count: Number(rep.count), summaryValue: rep.summaryValue.toString(), valueDecimals: rep.decimals } : null,
    });
  });

  app.get('/agents/:id', async (c) => {
    const info = await agentInfo(parseAgentId(c.req.param('id')));
    if (!info) throw new HttpError(404, 'Agent not found');
    if (!info.data) throw new HttpError(404, 'Agent has no valid AgentURIData', { detail: info.dataError });
    return c.json(info.data);
  });

  // -- vendor

  app.get('/vendor/tasks', async (c) => {
    const auth = await vendor(c);
    const status = c.req.query('status');
    const tasks = db.tasksForAgent(auth.agentId).filter((t) => !status || t.status === status);
    return c.json({ tasks: tasks.map(vendorTaskView) });
  });

  app.post('/vendor/tasks/:id/start', async (c) => {
    const auth = await vendor(c);
    const id = ownTask(auth, c.req.param('id')).id;
    return withTaskLock(id, async () => {
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
    const id = ownTask(auth, c.req.param('id')).id;
    const b = parseWith(body.complete, await jsonBody(c));
    return withTaskLock(id, async () => {
      const t = db.getTask(id)!;
      if (t.pendingAction) {
        // A previous attempt was judged but its escrow action did not finish (502): finish it and
        // answer with that decided outcome, so the vendor's retry reads as success, not a 400.
        const was = t.pendingAction;
        await resolve(id);
        const f = db.getTask(id)!;
        return c.json({
          task: { id, status: f.status, errorMessage: f.errorMessage, reviewRejectCount: f.reviewRejectCount, updatedAt: f.updatedAt },
          review: { approved: f.reviewApproved === null ? was === 'release' : f.reviewApproved === 1, reason: f.reviewReason ?? '' },
          escrowAction: f.depositState === 'released' ? 'released' : 'refunded',
        });
      }
      if (!faults.anyStateComplete && t.status !== 'processing' && t.status !== 'rejected') {
        throw new HttpError(400, 'Cannot complete: task is not in processing or rejected status');
      }
      if (faults.releaseBeforeReview) {
        await ensureRecorded(t);
        if ((await chain.getDeposit(id as Hex)).status === 'deposited') await chain.releaseToVendor(id as Hex);
      }
      let review: ReviewVerdict;
      if (t.reviewerRequest === null) {
        review = { approved: true, reason: 'No reviewer_request: approved without review' };
      } else {
        try {
          review = await reviewer.review({ reviewerRequest: t.reviewerRequest, taskDetail: t.taskDetail, taskMetadata: parseJsonOrNull(t.taskMetadata), result: b.result });
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
      if (escrowAction !== 'none') await resolve(id);
      const f = db.getTask(id)!;
      return c.json({
        task: { id, status: f.status, errorMessage: f.errorMessage, reviewRejectCount: f.reviewRejectCount, updatedAt: f.updatedAt },
        review: { approved: review.approved, reason: review.reason },
        escrowAction,
      });
    });
  });

  app.post('/vendor/tasks/:id/fail', async (c) => {
    const auth = await vendor(c);
    const id = ownTask(auth, c.req.param('id')).id;
    const b = parseWith(body.fail, await jsonBody(c));
    return withTaskLock(id, async () => {
      let t = db.getTask(id)!;
      if (t.pendingAction === 'refund') {
        // A previous fail (or 5th rejection) did not finish its refund: finish it and report it.
        await resolve(id);
        const f = db.getTask(id)!;
        return c.json({ task: { id, status: f.status, errorMessage: f.errorMessage, updatedAt: f.updatedAt } });
      }
      if (t.pendingAction) {
        await resolve(id);
        t = db.getTask(id)!;
      }
      if (t.status !== 'pending' && t.status !== 'processing' && t.status !== 'rejected') {
        throw new HttpError(400, 'Cannot fail: task is not in pending, processing or rejected status');
      }
      if (faults.failWithoutRefund) db.updateTask(id, { status: 'failed', errorMessage: b.errorMessage ?? 'Vendor reported failure', updatedAt: iso() });
      else {
        db.updateTask(id, { pendingAction: 'refund', pendingStatus: 'failed', pendingError: b.errorMessage ?? 'Vendor reported failure', updatedAt: iso() });
        await resolve(id);
      }
      const f = db.getTask(id)!;
      return c.json({ task: { id, status: f.status, errorMessage: f.errorMessage, updatedAt: f.updatedAt } });
    });
  });

  app.get('/vendor/agent-uri', async (c) => {
    const auth = await vendor(c);
    const info = await agentInfo(BigInt(auth.agentId));
    if (!info) throw new HttpError(404, 'Agent not found');
    return c.json({ agentId: info.agentId, agentURI: info.agentURI, data: info.data });
  });

  app.put('/vendor/agent-uri', async (c) => {
    const auth = await vendor(c);
    const raw = await jsonBody(c);
    const candidate = raw && typeof raw === 'object' && 'data' in raw ? (raw as { data: unknown }).data : raw;
    const data = withEndpoint(parseWith(agentUriDataSchema, candidate));
    const agentId = BigInt(auth.agentId);
    if (!(await chain.isAuthorizedOrOwner(chain.registrar.address, agentId))) {
      throw new HttpError(403, 'This server is not authorized for this agent; call setAgentURI on the IdentityRegistry directly');
    }
    const agentURI = agentDataUri(data);
    const transactionHash = await chain.setAgentURI(agentId, agentURI);
    return c.json({ agentId: agentIdOut(agentId), agentURI, transactionHash, data });
  });

  // -- the paid route: GET|POST /{agentId}/{servicePath}

  const paid = async (c: Context) => {
    const agentIdStr = c.req.param('agentId')!;
    const servicePath = c.req.param('servicePath')!;
    const agentId = parseAgentId(agentIdStr);
    if (!(await chain.ownerOf(agentId))) throw new HttpError(404, 'Agent not found');
    const loaded = await loadAgentUriData(await chain.tokenURI(agentId).catch(() => ''));
    if (!loaded.ok) throw new HttpError(404, 'Agent has no valid service catalog', { detail: loaded.reason });
    const entry = findCatalogEntry(loaded.data, servicePath);
    if (!entry) throw new HttpError(404, 'Service not found');
    const amount = parseUsdPrice(entry.price) + (faults.amountOffByOne ? 1n : 0n);

    // Validate the request before any money moves: a bad body never costs the buyer anything.
    let raw = await jsonBody(c);
    if (c.req.method === 'GET' && raw && typeof raw === 'object' && !Array.isArray(raw) && Object.keys(raw).length === 0) {
      const q = c.req.query();
      if (Object.keys(q).length) {
        let meta: unknown;
        if (q.task_metadata !== undefined) {
          try {
            meta = JSON.parse(q.task_metadata);
          } catch {
            throw new HttpError(400, 'Invalid request body: task_metadata must be a JSON object');
          }
        }
        raw = { ...q, ...(meta !== undefined ? { task_metadata: meta } : {}) };
      }
    }
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new HttpError(400, 'Request body must be a JSON object');
    const b = parseWith(body.paid, raw);
    const { task_detail, task_metadata, reviewer_request, ...rest } = b;

    const payHeader = c.req.header('payment-signature') ?? c.req.header('x-payment') ?? '';
    if (faults.acceptReplayedPayment && seenPayments.has(payHeader)) {
      const taskId = `0x${randomBytes(32).toString('hex')}`;
      db.insertTask(
        {
          id: taskId,
          agentId: agentId.toString(),
          productId: servicePath,
          buyerAddress: seenPayments.get(payHeader)!,
          amount: amount.toString(),
          network: `eip155:${cfg.chainId}`,
          asset: chain.addresses.usdc,
          payTo: chain.addresses.escrow,
          method: c.req.method,
          requestPayload: JSON.stringify(rest),
          taskDetail: task_detail ?? null,
          taskMetadata: task_metadata === undefined ? null : JSON.stringify(task_metadata),
          reviewerRequest: reviewer_request ?? null,
          createdAt: iso(),
        },
        undefined,
      );
      return c.json({ taskId, message: 'Task created. Poll /tasks/:taskId/result for results.' }, 200);
    }
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
        resource: `${publicUrl}/${agentIdStr}/${servicePath}`,
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
    const s = outcome.settlement;
    if (!hex32.safeParse(s.transaction).success) throw new HttpError(502, 'Facilitator reported success without a transaction hash');
    const req = decision.payment.requirements;
    const payer = getAddress(s.payer ?? decision.payment.payer ?? '0x0000000000000000000000000000000000000000');
    const settled = { transaction: s.transaction.toLowerCase(), payer, network: s.network };
    const taskId = faults.taskIdNotTxHash ? `0x${randomBytes(32).toString('hex')}` : settled.transaction;
    if (faults.acceptReplayedPayment) seenPayments.set(payHeader, settled.payer);
    if (db.getTask(taskId)) throw new HttpError(409, 'A task already exists for this payment');
    const anchor = await chain.anchorOf(taskId as Hex);
    noteAnchor(anchor);
    db.insertTask(
      {
        id: taskId,
        agentId: agentId.toString(),
        productId: servicePath,
        buyerAddress: settled.payer,
        amount: amount.toString(),
        network: settled.network,
        asset: getAddress(req.asset),
        payTo: getAddress(req.payTo),
        method: c.req.method,
        requestPayload: JSON.stringify(rest),
        taskDetail: task_detail ?? null,
        taskMetadata: task_metadata === undefined ? null : JSON.stringify(task_metadata),
        reviewerRequest: reviewer_request ?? null,
        createdAt: iso(),
      },
      anchor,
    );
    // The money is in the escrow now; recording it is retried by resync if this fails.
    await withTaskLock(taskId, async () => ensureRecorded(db.getTask(taskId)!)).catch((e) => log(`recordDeposit for ${taskId} failed: ${(e as Error).message}`));
    for (const [k, v] of Object.entries(outcome.headers)) c.header(k, v);
    c.header('Access-Control-Expose-Headers', Object.keys(outcome.headers).join(','));
    return c.json({ taskId, message: 'Task created. Poll /tasks/:taskId/result for results.' }, 200);
  };
  app.on(['GET', 'POST'], '/:agentId{[0-9]+}/:servicePath{.+}', paid);

  // ---- start -------------------------------------------------------------------------------

  // A plain node server around hono's listener, so that refusals made below the app (parser
  // errors, oversized headers, bad request-targets, unknown Expect) are JSON `{error}` too.
  const jsonError = (status: number, error: string) => new Response(JSON.stringify({ error }), { status, headers: { 'content-type': 'application/json' } });
  const listener = getRequestListener(app.fetch, {
    hostname: cfg.host,
    errorHandler: (e) => {
      log(`request error: ${(e as Error)?.message}`);
      return jsonError(400, 'Bad request');
    },
  });
  // 64 KiB of headers: the paywall's own JSON 431 (16 KiB payment headers) answers before node's limit.
  const server: ServerType = createServer({ maxHeaderSize: 64 * 1024 }, listener);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const body = JSON.stringify({ error: status === 431 ? 'Request header fields too large' : 'Bad request' });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  server.on('checkExpectation', (_req, res) => {
    res.writeHead(417, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'Expectation failed: only "100-continue" is supported' }));
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => resolvePromise());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : cfg.port;
  const url = `http://${cfg.host}:${port}`;
  if (!publicUrl) publicUrl = url;

  if (cfg.resyncOnStart) {
    const r = await resync();
    if (r.changed) log(`resync: ${r.changed}/${r.checked} open tasks updated from chain`);
  }

  let stopped = false;
  return {
    url,
    port,
    resync,
    operator: chain.operator.address,
    registrar: chain.registrar.address,
    async stop() {
      if (stopped) return;
      stopped = true;
      // Bounded waits: a stuck client connection or chain call must not hang shutdown.
      const bounded = (p: Promise<unknown>, ms: number) => Promise.race([p, new Promise((r) => setTimeout(r, ms).unref())]);
      await bounded(
        new Promise<void>((r) => {
          server.close(() => r());
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
        3000,
      );
      // Let in-flight task operations finish before the DB closes.
      await bounded(Promise.allSettled([...locks.values()]), 10_000);
      db.close();
    },
  };
}
