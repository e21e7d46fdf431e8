/**
 * Scripted Agentripe vendors. A vendor talks to the server's `/vendor/*` API with EVM signature
 * auth (EIP-191 over "{address}:{timestamp}") or an `ak_` API key, and follows a strategy:
 *
 * - `honest`: starts each pending task and completes it with a result that mentions every key
 *   term of the buyer's reviewer_request (so the rule reviewer approves);
 * - `sloppy`: like honest, but its first `rejections` results per task contain `REJECT-ME`
 *   (so the rule reviewer rejects them);
 * - `failing`: starts, then reports failure (refund);
 * - `absent`: never picks anything up;
 * - `malicious`: tries to start/complete/fail tasks of *other* agents (must all be refused).
 *
 * Takes only a base URL (and a key), so it can drive an external server too.
 */
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import type { Hex } from 'viem';
import { approvedResult, REJECT_MARKER } from '../protocol/review-fixture.ts';
import { vendorAuthMessage } from '../protocol/auth.ts';

/** A vendor's behaviour. */
export type VendorStrategy =
  | { kind: 'honest' }
  | { kind: 'sloppy'; rejections: number }
  | { kind: 'failing'; errorMessage?: string }
  | { kind: 'absent' }
  | { kind: 'malicious'; targets: () => string[] | Promise<string[]> };

/** How the vendor authenticates. */
export type VendorCredentials = { privateKey: Hex } | { apiKey: string };

/** Vendor configuration. */
export interface VendorConfig {
  baseUrl: string;
  agentId: bigint | number | string;
  credentials: VendorCredentials;
  strategy: VendorStrategy;
  /** Clock for auth timestamps (ms); default Date.now. Lets a scenario sign with a skewed clock. */
  clock?: () => number;
  fetchImpl?: typeof fetch;
}

/** A task as listed by `GET /vendor/tasks`. */
export interface VendorTask {
  id: string;
  productId: string;
  buyerAddress: string;
  requestPayload: string | null;
  taskDetail: string | null;
  taskMetadata: string | null;
  reviewerRequest: string | null;
  status: string;
  errorMessage: string | null;
  createdAt: string;
}

/** One HTTP action a vendor took, for transcripts and assertions. */
export interface VendorAction {
  action: 'list' | 'start' | 'complete' | 'fail';
  taskId?: string;
  status: number;
  body: any;
}

/** A scripted vendor. */
export interface Vendor {
  readonly agentId: string;
  /** The auth headers a request would carry now. */
  authHeaders(): Promise<Record<string, string>>;
  listTasks(): Promise<{ status: number; body: any }>;
  start(taskId: string): Promise<VendorAction>;
  complete(taskId: string, result: unknown): Promise<VendorAction>;
  fail(taskId: string, errorMessage?: string): Promise<VendorAction>;
  getAgentUri(): Promise<{ status: number; body: any }>;
  putAgentUri(data: unknown): Promise<{ status: number; body: any }>;
  /** One pass of the strategy over the vendor's tasks; returns what it did. */
  step(): Promise<VendorAction[]>;
  /** Repeats `step` until a pass does nothing (or `maxSteps`). */
  runUntilIdle(maxSteps?: number): Promise<VendorAction[]>;
  /** Everything this vendor did so far. */
  readonly log: VendorAction[];
}

/** The result an honest vendor submits: it names every key term of the reviewer request (the review fixture approves it). */
export function honestResult(task: Pick<VendorTask, 'productId' | 'taskDetail' | 'reviewerRequest'>): string {
  return approvedResult(task.reviewerRequest, `Result for ${task.productId}: ${task.taskDetail ?? 'done'}`);
}

async function readJson(res: Response): Promise<any> {
  const text = await res.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

/** Creates a vendor. */
export function createVendor(cfg: VendorConfig): Vendor {
  const base = cfg.baseUrl.replace(/\/+$/, '');
  const f = cfg.fetchImpl ?? fetch;
  const clock = cfg.clock ?? Date.now;
  const agentId = BigInt(cfg.agentId).toString();
  const account: PrivateKeyAccount | undefined = 'privateKey' in cfg.credentials ? privateKeyToAccount(cfg.credentials.privateKey) : undefined;
  const attempts = new Map<string, number>();
  const log: VendorAction[] = [];

  // The signature of "{address}:{timestamp}" is deterministic (RFC 6979): sign once per second.
  let signed: { ts: string; signature: string } | undefined;
  async function authHeaders(): Promise<Record<string, string>> {
    if ('apiKey' in cfg.credentials) return { authorization: `Bearer ${cfg.credentials.apiKey}` };
    const ts = Math.floor(clock() / 1000).toString();
    if (signed?.ts !== ts) signed = { ts, signature: await account!.signMessage({ message: vendorAuthMessage(account!.address, ts) }) };
    return { 'x-vendor-address': account!.address, 'x-agent-id': agentId, 'x-timestamp': ts, 'x-signature': signed.signature };
  }

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = { ...(await authHeaders()) };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await f(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: await readJson(res) };
  }

  const record = (a: VendorAction) => {
    log.push(a);
    return a;
  };
  const start = async (id: string) => record({ action: 'start', taskId: id, ...(await call('POST', `/vendor/tasks/${id}/start`)) });
  const complete = async (id: string, result: unknown) => record({ action: 'complete', taskId: id, ...(await call('POST', `/vendor/tasks/${id}/complete`, { result })) });
  const fail = async (id: string, errorMessage?: string) =>
    record({ action: 'fail', taskId: id, ...(await call('POST', `/vendor/tasks/${id}/fail`, errorMessage === undefined ? {} : { errorMessage })) });

  function resultFor(task: VendorTask): string {
    const n = (attempts.get(task.id) ?? 0) + 1;
    attempts.set(task.id, n);
    if (cfg.strategy.kind === 'sloppy' && n <= cfg.strategy.rejections) return `Draft ${n} ${REJECT_MARKER}`;
    return honestResult(task);
  }

  async function step(): Promise<VendorAction[]> {
    const s = cfg.strategy;
    const did: VendorAction[] = [];
    if (s.kind === 'absent') return did;
    if (s.kind === 'malicious') {
      for (const id of await s.targets()) {
        did.push(await start(id), await complete(id, 'stolen work'), await fail(id, 'sabotage'));
      }
      return did;
    }
    const listed = await call('GET', '/vendor/tasks');
    if (listed.status !== 200) {
      did.push(record({ action: 'list', ...listed }));
      return did;
    }
    for (const task of (listed.body?.tasks ?? []) as VendorTask[]) {
      if (task.status === 'pending') {
        const a = await start(task.id);
        did.push(a);
        if (a.status !== 200) continue;
        task.status = 'processing';
      }
      if (task.status !== 'processing' && task.status !== 'rejected') continue;
      if (s.kind === 'failing') did.push(await fail(task.id, s.errorMessage ?? 'Unable to perform this task'));
      else did.push(await complete(task.id, resultFor(task)));
    }
    return did;
  }

  return {
    agentId,
    authHeaders,
    listTasks: () => call('GET', '/vendor/tasks'),
    start,
    complete,
    fail,
    getAgentUri: () => call('GET', '/vendor/agent-uri'),
    putAgentUri: (data) => call('PUT', '/vendor/agent-uri', { data }),
    step,
    async runUntilIdle(maxSteps = 20) {
      const all: VendorAction[] = [];
      for (let i = 0; i < maxSteps; i++) {
        const did = await step();
        all.push(...did);
        if (!did.length || cfg.strategy.kind === 'malicious') break;
      }
      return all;
    },
    log,
  };
}
