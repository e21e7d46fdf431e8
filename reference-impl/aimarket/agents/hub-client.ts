/**
 * A scripted client of one AI Market factory or hub, over any `fetch` (the scenarios pass the run's
 * recording fetch). Every call answers `{status, headers, body, text}` and never throws on a status:
 * the caller judges. Bodies that are not JSON come back as `body: undefined` with the text.
 */
import { HEADERS } from '../protocol/wire.ts';

export interface Answer<T = any> {
  status: number;
  headers: Headers;
  body: T | undefined;
  text: string;
}

export type Fetch = typeof fetch;

export function hubClient(baseUrl: string, f: Fetch = fetch) {
  const root = baseUrl.replace(/\/+$/, '');
  async function call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
    const init: RequestInit = { method, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers } };
    if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
    const res = await f(path.startsWith('http') ? path : `${root}${path}`, init);
    const text = await res.text();
    let parsed: T | undefined;
    try {
      parsed = text ? (JSON.parse(text) as T) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  }
  const enc = encodeURIComponent;
  return {
    url: root,
    call,
    wellKnown: () => call('GET', '/.well-known/ai-market.json'),
    manifest: (url?: string) => call('GET', url ?? '/ai-market/manifest'),
    manifestV2: () => call('GET', '/ai-market/v2/manifest'),
    mcpList: () => call('GET', '/ai-market/mcp'),
    invoke: (pid: string, cid: string, input: unknown, pay: { txHash?: string; chain?: string; channel?: string; raw?: Record<string, string> } = {}) => {
      const h: Record<string, string> = { ...(pay.raw ?? {}) };
      if (pay.txHash !== undefined) h[HEADERS.payment] = JSON.stringify(pay.chain ? { tx_hash: pay.txHash, chain: pay.chain } : { tx_hash: pay.txHash });
      if (pay.channel !== undefined) h[HEADERS.channel] = pay.channel;
      return call('POST', `/capabilities/${enc(pid)}/${enc(cid)}/invoke`, input === undefined ? undefined : { input }, h);
    },
    quoteSize: (pid: string, cid: string, size: number) => call('GET', `/ai-market/pricing/${enc(pid)}/${enc(cid)}?input_size=${size}`),
    quoteInput: (pid: string, cid: string, input: unknown) => call('POST', `/ai-market/pricing/${enc(pid)}/${enc(cid)}`, { input }),
    discover: (query: string, budgetUsd?: number, limit?: number) =>
      call('POST', '/ai-market/discover', { query, ...(budgetUsd !== undefined ? { budget_usd: budgetUsd } : {}), ...(limit ? { limit } : {}) }),
    openChannel: (depositUsd: number | string, txHash: string) => call('POST', '/ai-market/channel/open', { deposit_usd: depositUsd, tx_hash: txHash }),
    closeChannel: (channelId: string) => call('POST', '/ai-market/channel/close', { channel_id: channelId }),
    channel: (channelId: string) => call('GET', `/ai-market/v2/channel/${enc(channelId)}`),
    pipeline: (channelId: string, nodes: unknown[]) => call('POST', '/ai-market/pipelines', { channel_id: channelId, nodes }),
    receipt: (nonce: string) => call('GET', `/ai-market/receipt/${enc(nonce)}`),
    stats: () => call('GET', '/ai-market/stats'),
    search: (q: Record<string, string | number>) => call('GET', `/ai-market/v2/search?${new URLSearchParams(Object.entries(q).map(([k, v]) => [k, String(v)]))}`),
    routedInvoke: (body: Record<string, unknown>, pay: { txHash?: string; channel?: string } = {}) => {
      const h: Record<string, string> = { [HEADERS.routeOk]: 'true' };
      if (pay.txHash !== undefined) h[HEADERS.payment] = JSON.stringify({ tx_hash: pay.txHash });
      if (pay.channel !== undefined) h[HEADERS.channel] = pay.channel;
      return call('POST', '/ai-market/v2/invoke', body, h);
    },
    announce: (doc: unknown) => call('POST', '/ai-market/v2/federation/announce', doc),
    peers: () => call('GET', '/ai-market/v2/federation/peers'),
  };
}
export type HubClient = ReturnType<typeof hubClient>;

/** X-Payment-Required read as raw JSON (the v1 doc); undefined when absent or not JSON. */
export function paymentRequiredOf(a: Answer): unknown {
  const h = a.headers.get(HEADERS.paymentRequired);
  if (h === null) return undefined;
  try {
    return JSON.parse(h);
  } catch {
    return undefined;
  }
}
