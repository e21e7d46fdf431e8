/** Client of the simulated Lightning network's HTTP API (server/lightning-http.ts describes the routes). */

export interface GraphChannel {
  id: string;
  node1: string;
  node2: string;
  balance1Msat: string;
  balance2Msat: string;
  policy1: { baseMsat: string; ppm: string; cltvDelta: number };
  policy2: { baseMsat: string; ppm: string; cltvDelta: number };
}
export interface Graph {
  height: number;
  nodes: { pubkey: string; alias: string; feesEarnedMsat: string }[];
  channels: GraphChannel[];
  totalMsat: string;
}
export interface PaymentResult {
  preimage: string;
  paymentHash: string;
  amountMsat: string;
  feeMsat: string;
  route: { channel: string; from: string; to: string; amountMsat: string; feeMsat: string }[];
}

export class LnError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class LightningClient {
  constructor(
    readonly url: string,
    private readonly f: typeof fetch = fetch,
  ) {}

  private async call<T>(method: string, path: string, body?: unknown, shape: (j: any) => boolean = () => true): Promise<T> {
    const res = await this.f(`${this.url.replace(/\/+$/, '')}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let j: any;
    try {
      j = text ? JSON.parse(text) : undefined;
    } catch {
      throw new LnError(res.status, 'not_json', `${method} ${path} answered ${res.status} ${text.slice(0, 100)}`);
    }
    if (!res.ok) throw new LnError(res.status, j?.error?.code ?? 'error', j?.error?.message ?? `${method} ${path} answered ${res.status}`);
    if (!j || typeof j !== 'object' || !shape(j)) throw new LnError(res.status, 'bad_answer', `${method} ${path} answered ${res.status} ${text.slice(0, 100)}, not the documented shape`);
    return j as T;
  }

  graph = () => this.call<Graph>('GET', '/v1/graph', undefined, (j) => Array.isArray(j.channels) && Array.isArray(j.nodes) && typeof j.totalMsat === 'string');
  addNode = (privateKey: string, o: { alias?: string; hubs?: boolean } = {}) =>
    this.call<{ pubkey: string }>('POST', '/v1/nodes', { privateKey, ...o }, (j) => typeof j.pubkey === 'string' && /^0[23][0-9a-f]{64}$/.test(j.pubkey));
  openChannel = (c: { node1: string; node2: string; balance1Msat: bigint; balance2Msat: bigint; policy1?: object; policy2?: object }) =>
    this.call<{ id: string }>('POST', '/v1/channels', { ...c, balance1Msat: c.balance1Msat.toString(), balance2Msat: c.balance2Msat.toString() }, (j) => typeof j.id === 'string');
  invoice = (node: string, o: { amountMsat: bigint; description?: string; descriptionHash?: string; expiry?: number }) =>
    this.call<{ paymentRequest: string; paymentHash: string; expiresAt: number }>(
      'POST',
      `/v1/nodes/${node}/invoices`,
      { ...o, amountMsat: o.amountMsat.toString() },
      (j) => typeof j.paymentRequest === 'string' && typeof j.paymentHash === 'string',
    );
  lookup = (node: string, hash: string) =>
    this.call<{ state: string; amountMsat: string; payer: string | null }>('GET', `/v1/nodes/${node}/invoices/${hash}`, undefined, (j) => typeof j.state === 'string');
  pay = (node: string, paymentRequest: string, o: { maxFeeMsat?: bigint; excludeChannels?: string[] } = {}) =>
    this.call<PaymentResult>(
      'POST',
      `/v1/nodes/${node}/payments`,
      { paymentRequest, ...(o.maxFeeMsat !== undefined ? { maxFeeMsat: o.maxFeeMsat.toString() } : {}), excludeChannels: o.excludeChannels },
      (j) => typeof j.preimage === 'string' && /^[0-9a-f]{64}$/.test(j.preimage) && Array.isArray(j.route),
    );
  /** A settled payment `node` made (LnError 404 `unknown_payment` when none). */
  payment = (node: string, hash: string) =>
    this.call<PaymentResult>('GET', `/v1/nodes/${node}/payments/${hash}`, undefined, (j) => typeof j.preimage === 'string' && /^[0-9a-f]{64}$/.test(j.preimage) && typeof j.feeMsat === 'string');
  setOnline = (node: string, online: boolean) => this.call<{ online: boolean }>('POST', `/v1/nodes/${node}/online`, { online });
}

/** Balance of each node (sum of its channel sides), from a graph. */
export function nodeBalances(g: Graph): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const c of g.channels) {
    m.set(c.node1, (m.get(c.node1) ?? 0n) + BigInt(c.balance1Msat));
    m.set(c.node2, (m.get(c.node2) ?? 0n) + BigInt(c.balance2Msat));
  }
  return m;
}
