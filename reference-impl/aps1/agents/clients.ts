/**
 * HTTP clients of the APS-1 agent API (`/manifest`, `/negotiate`, `/execute`, `/status/:jobId`,
 * `/health`) and of the marketplace API (`/agents`, `/agents/:id`, `/agents/:id/execute`), as an
 * employer or any other client sees them. They take only a base URL (and a fetch to record with),
 * so they drive any target; every call answers `{status, body}` with the raw JSON (or text).
 */
import { privateKeyToAccount } from 'viem/accounts';
import type { Hex } from 'viem';
import { AUTH_HEADERS, executeAuthMessage, type MarketplaceExecute } from '../protocol/marketplace.ts';
import type { APS1Envelope, APS1Negotiation } from '../protocol/schemas.ts';

export interface HttpAnswer {
  status: number;
  body: any;
  /** The raw text of the answer. */
  text: string;
}

async function call(f: typeof fetch, url: string, init?: RequestInit): Promise<HttpAnswer> {
  const res = await f(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* keep the text */
  }
  return { status: res.status, body, text };
}

const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-aps-version': '1.0', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

/** A client of one APS-1 agent. */
export function agentClient(baseUrl: string, f: typeof fetch = fetch) {
  const u = baseUrl.replace(/\/+$/, '');
  return {
    url: u,
    manifest: () => call(f, `${u}/manifest`),
    health: () => call(f, `${u}/health`),
    /** A negotiation message (or any body, to test refusals). */
    negotiate: (msg: APS1Negotiation | Record<string, unknown> | string) => call(f, `${u}/negotiate`, post(msg)),
    /** An execution envelope (or any body, to test refusals). */
    execute: (env: APS1Envelope | Record<string, unknown> | string) => call(f, `${u}/execute`, post(env)),
    status: (jobId: string) => call(f, `${u}/status/${encodeURIComponent(jobId)}`),
  };
}
export type AgentClient = ReturnType<typeof agentClient>;

/** A client of an APS-1 marketplace. `sign` signs as the caller wallet (a private key). */
export function marketplaceClient(baseUrl: string, f: typeof fetch = fetch) {
  const u = baseUrl.replace(/\/+$/, '');
  return {
    url: u,
    list: () => call(f, `${u}/agents`),
    get: (id: string) => call(f, `${u}/agents/${encodeURIComponent(id)}`),
    health: () => call(f, `${u}/health`),
    /**
     * Hire agent `id`. `signer` signs the request as the caller (EIP-191 over executeAuthMessage);
     * `auth` overrides the headers (forged or stale signatures in adversarial runs).
     */
    async execute(id: string, body: MarketplaceExecute | Record<string, unknown>, o: { signer?: Hex; timestamp?: number; auth?: Record<string, string> } = {}) {
      let headers = o.auth ?? {};
      if (!o.auth && o.signer) {
        const b = body as MarketplaceExecute;
        const timestamp = o.timestamp ?? Math.floor(Date.now() / 1000);
        const signature = await privateKeyToAccount(o.signer).signMessage({ message: executeAuthMessage({ agentId: id, jobId: b.jobId, callerWallet: b.callerWallet, prompt: b.prompt, timestamp }) });
        headers = { [AUTH_HEADERS.signature]: signature, [AUTH_HEADERS.timestamp]: String(timestamp) };
      }
      return call(f, `${u}/agents/${encodeURIComponent(id)}/execute`, post(body, headers));
    },
  };
}
export type MarketplaceClient = ReturnType<typeof marketplaceClient>;
