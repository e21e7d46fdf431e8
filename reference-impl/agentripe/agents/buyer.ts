/**
 * Scripted Agentripe buyer: discovers agents on the IdentityRegistry, pays for a task through x402
 * with the official client (`@x402/fetch` + `@x402/evm` exact scheme over a viem account), then
 * polls the task. Takes only a server base URL and chain coordinates, so it drives any server.
 */
import { privateKeyToAccount } from 'viem/accounts';
import type { Address, Hex } from 'viem';
import { wrapFetchWithPayment, x402Client, decodePaymentResponseHeader } from '@x402/fetch';
import { ExactEvmScheme } from '@x402/evm/exact/client';
import { discoverAgents, findOffers, type DiscoveredAgent, type Offer } from './discovery.ts';

/** Buyer configuration. */
export interface BuyerConfig {
  /** Agentripe server base URL (e.g. http://127.0.0.1:4021). */
  baseUrl: string;
  privateKey: Hex;
  rpcUrl: string;
  identityRegistry: Address;
  /** Spend cap per payment in base units (default 1 USDC). */
  maxAmount?: bigint;
  fetchImpl?: typeof fetch;
}

/** Task request body fields (seed 002 "Buying a Service"). */
export interface TaskRequest {
  task_detail?: string;
  task_metadata?: Record<string, unknown>;
  reviewer_request?: string;
  [extra: string]: unknown;
}

/** Result of a purchase attempt. */
export interface Purchase {
  status: number;
  body: unknown;
  taskId?: Hex;
  /** Decoded PAYMENT-RESPONSE header (settlement receipt), if any. */
  paymentResponse?: { success: boolean; transaction: string; network: string; payer?: string };
}

/** A scripted buyer. */
export interface Buyer {
  address: Address;
  discover(): Promise<DiscoveredAgent[]>;
  offers(servicePath: string): Promise<Offer[]>;
  /**
   * Pays for `/{agentId}/{servicePath}` and returns the task id. POST sends the request as a JSON
   * body; GET sends it as query parameters (`task_metadata` JSON-encoded), since fetch cannot send
   * a GET body.
   */
  buy(agentId: bigint | number | string, servicePath: string, request?: TaskRequest, opts?: { method?: 'GET' | 'POST' }): Promise<Purchase>;
  /** The unpaid request: what a client sees before paying (402 challenge). */
  quote(agentId: bigint | number | string, servicePath: string): Promise<{ status: number; headers: Headers; body: unknown }>;
  task(taskId: string): Promise<{ status: number; body: any }>;
  detail(taskId: string): Promise<{ status: number; body: any }>;
  result(taskId: string): Promise<{ status: number; body: any }>;
  /** Polls `/tasks/{id}/result` until it answers 200 (or 404), or `timeoutMs` passes. */
  waitForResult(taskId: string, opts?: { timeoutMs?: number; intervalMs?: number }): Promise<{ status: number; body: any }>;
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

/** Creates a buyer. */
export function createBuyer(cfg: BuyerConfig): Buyer {
  const account = privateKeyToAccount(cfg.privateKey);
  const base = cfg.baseUrl.replace(/\/+$/, '');
  const plainFetch = cfg.fetchImpl ?? fetch;
  const client = new x402Client();
  client.register('eip155:*', new ExactEvmScheme(account));
  const cap = cfg.maxAmount ?? 1_000_000n;
  // Our own cap instead of the library's USD default, in base units.
  client.setSpendControls(false);
  client.registerPolicy((_v, reqs) => reqs.filter((r) => BigInt((r as { amount?: string }).amount ?? '0') <= cap));
  const payFetch = wrapFetchWithPayment(plainFetch, client);
  const ref = { rpcUrl: cfg.rpcUrl, identityRegistry: cfg.identityRegistry };

  const get = async (path: string) => {
    const res = await plainFetch(`${base}${path}`);
    return { status: res.status, body: (await readJson(res)) as any };
  };

  return {
    address: account.address,
    discover: () => discoverAgents(ref, plainFetch),
    async offers(servicePath) {
      return findOffers(await discoverAgents(ref, plainFetch), servicePath);
    },
    async quote(agentId, servicePath) {
      const res = await plainFetch(`${base}/${agentId}/${servicePath}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      return { status: res.status, headers: res.headers, body: await readJson(res) };
    },
    async buy(agentId, servicePath, request = {}, opts = {}) {
      let res: Response;
      if (opts.method === 'GET') {
        const q = new URLSearchParams();
        for (const [k, v] of Object.entries(request)) if (v !== undefined) q.set(k, typeof v === 'string' ? v : JSON.stringify(v));
        res = await payFetch(`${base}/${agentId}/${servicePath}${q.size ? `?${q}` : ''}`, { method: 'GET' });
      } else {
        res = await payFetch(`${base}/${agentId}/${servicePath}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(request),
        });
      }
      const body = (await readJson(res)) as { taskId?: Hex } | null;
      const header = res.headers.get('PAYMENT-RESPONSE') ?? res.headers.get('X-PAYMENT-RESPONSE');
      let paymentResponse: Purchase['paymentResponse'];
      if (header) {
        try {
          paymentResponse = decodePaymentResponseHeader(header) as Purchase['paymentResponse'];
        } catch {
          paymentResponse = undefined;
        }
      }
      return { status: res.status, body, taskId: res.status === 200 ? body?.taskId : undefined, paymentResponse };
    },
    task: (id) => get(`/tasks/${id}`),
    detail: (id) => get(`/tasks/${id}/detail`),
    result: (id) => get(`/tasks/${id}/result`),
    async waitForResult(id, opts = {}) {
      const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
      for (;;) {
        const r = await get(`/tasks/${id}/result`);
        if (r.status !== 202 || Date.now() > deadline) return r;
        await new Promise((res) => setTimeout(res, opts.intervalMs ?? 100));
      }
    },
  };
}
