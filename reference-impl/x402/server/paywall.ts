/**
 * x402 resource-server side ("paywall"): answers 402 with the v2 `PAYMENT-REQUIRED` header (and a
 * v1 body challenge), accepts `PAYMENT-SIGNATURE` (v2) and `X-PAYMENT` (v1), verifies and settles
 * through a facilitator over HTTP, and sets `PAYMENT-RESPONSE` / `X-PAYMENT-RESPONSE`.
 *
 * {@link checkPayment} is framework-neutral (a Request-like in, a decision out); {@link paywall}
 * wraps it as hono middleware with the official ordering (spec §1.6): verify, run the handler,
 * settle only when the handler answered < 400, and replace the answer with a 402 if settlement fails.
 */
import type { MiddlewareHandler } from 'hono';
import { getAddress, type Address } from 'viem';
import { keepAliveFetch, postJson } from '../../../harness/chain/index.ts';
import { parseUsd } from '../../../harness/util/money.ts';
import {
  CANONICAL_USDC,
  PaymentPayloadV1Schema,
  Reason,
  PaymentPayloadV2Schema,
  SettleResponseSchema,
  VerifyResponseSchema,
  chainIdOfNetwork,
  decodeHeader,
  encodeHeader,
  v1NetworkName,
  zodMessage,
  type RequirementsV1,
  type RequirementsV2,
  type SettleResponse,
  type SupportedResponse,
  type VerifyResponse,
} from '../protocol/wire.ts';

/** One way to pay for a resource. */
export interface PaymentOption {
  /** "$0.10" (parsed with `parseUsd`, USDC 6 decimals) or base units. */
  price: string | bigint;
  payTo: Address;
  /** CAIP-2, e.g. `eip155:84532`. */
  network: string;
  /** Token; default: USDC at its canonical address for the network. */
  asset?: Address;
  /** EIP-712 domain hints for the client; default `{name, version}` of canonical USDC. */
  extra?: Record<string, unknown>;
  /** Default 300, the v2 server default. */
  maxTimeoutSeconds?: number;
}

/** Paywall configuration for one resource (or a group of routes sharing a price). */
export interface PaywallConfig {
  facilitatorUrl: string;
  accepts: PaymentOption | PaymentOption[];
  description?: string;
  mimeType?: string;
  /** Resource URL advertised; default: the request URL. */
  resource?: string;
  /** Offer a v1 body challenge and accept `X-PAYMENT` (default true). */
  acceptV1?: boolean;
  /** Payment headers longer than this get 431 (default 16 KiB, Node's own header limit). */
  maxHeaderBytes?: number;
  /** Timeout of each facilitator call (default 60 s; settlement waits for a receipt). */
  facilitatorTimeoutMs?: number;
  fetch?: typeof globalThis.fetch;
  /**
   * Authorizations being verified/settled right now (key: token, payer, nonce). A second request
   * carrying one of them gets 402 `duplicate_settlement` instead of running the handler again
   * (x402 issues #803, #3060). `paywall()` supplies its own set; `checkPayment` callers may pass one
   * and must then call `settle()` or `release()` on every `proceed` decision.
   */
  inflight?: Set<string>;
  /**
   * Test-only defects. `trustAccepted`: pay against the client's `accepted` when it matches nothing
   * we offered. `noReplayGuard`: `paywall()` does not track in-flight authorizations.
   * `pendingIsFailure`: a `settlement_pending` answer is taken as a failed settlement (no second
   * /settle), although the transaction may land. `usedNonceIsPaid`: a payment whose authorization
   * is already used on chain is taken as one settled before a crash and served, with no settlement
   * of its own (any replay is then served). `noFailureHeader`: the 402 after a failed settlement
   * carries no PAYMENT-RESPONSE. `claimOutlivesSettle`: the in-flight claim of an authorization is
   * kept after its settlement ended: a payment whose settlement failed is answered
   * duplicate_settlement for good when sent again.
   */
  faults?: { trustAccepted?: boolean; noReplayGuard?: boolean; pendingIsFailure?: boolean; usedNonceIsPaid?: boolean; noFailureHeader?: boolean; claimOutlivesSettle?: boolean };
}

/** The parts of a request the paywall reads. */
export interface RequestLike {
  method: string;
  url: string;
  headers: Headers | Record<string, string | string[] | undefined>;
}

/** An HTTP answer to send as is. */
export interface PaywallResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** A payment that passed `/verify`. */
export interface VerifiedPayment {
  x402Version: 1 | 2;
  payer?: string;
  requirements: RequirementsV2 | RequirementsV1;
  payload: Record<string, unknown>;
}

/** Outcome of settling after the handler ran. */
export type SettleOutcome = { ok: true; headers: Record<string, string>; settlement: SettleResponse } | { ok: false; response: PaywallResponse; settlement?: SettleResponse };

/** What to do with a request. */
export type PaywallDecision = { kind: 'respond'; response: PaywallResponse } | { kind: 'proceed'; payment: VerifiedPayment; settle(): Promise<SettleOutcome>; release(): void };

/** Error talking to the facilitator (network, timeout, non-protocol answer). */
export class FacilitatorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FacilitatorError';
  }
}

/** Minimal HTTP client for a facilitator (`/verify`, `/settle`, `/supported`). */
export class FacilitatorClient {
  readonly url: string;
  private readonly fetchFn: typeof globalThis.fetch;
  private readonly customFetch: boolean;
  private readonly timeoutMs: number;

  constructor(url: string, opts: { fetch?: typeof globalThis.fetch; timeoutMs?: number } = {}) {
    this.url = url.replace(/\/+$/, '');
    // Without a fetch of the caller's: keep-alive node:http without fetch Response objects (two
    // facilitator calls per paid request; global fetch costs ~2x per call on loopback).
    this.customFetch = opts.fetch !== undefined;
    this.fetchFn = opts.fetch ?? (keepAliveFetch as typeof globalThis.fetch);
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  private async post(path: string, body: unknown): Promise<{ status: number; json: unknown }> {
    let status: number;
    let text: string;
    try {
      if (this.customFetch) {
        const res = await this.fetchFn(`${this.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        [status, text] = [res.status, await res.text()];
      } else ({ status, text } = await postJson(`${this.url}${path}`, JSON.stringify(body), this.timeoutMs, { idempotent: path === '/verify' }));
    } catch (err) {
      throw new FacilitatorError(`facilitator ${path} unreachable: ${(err as Error).message}`);
    }
    try {
      return { status, json: JSON.parse(text) as unknown };
    } catch {
      throw new FacilitatorError(`facilitator ${path} answered ${status} without JSON`);
    }
  }

  /** `POST /verify`. A non-2xx answer that still carries `isValid` is a verdict (CDP answers 400 so). */
  async verify(x402Version: 1 | 2, paymentPayload: unknown, paymentRequirements: unknown): Promise<VerifyResponse> {
    const { status, json } = await this.post('/verify', { x402Version, paymentPayload, paymentRequirements });
    const parsed = VerifyResponseSchema.safeParse(json);
    // A 5xx is the facilitator's failure, not a verdict on the payment (the buyer must not read it as "invalid").
    if (!parsed.success || status >= 500) {
      throw new FacilitatorError(`facilitator /verify answered ${status}: ${JSON.stringify(json).slice(0, 300)}`);
    }
    return parsed.data;
  }

  /** `POST /settle`. HTTP 200 with `success:false` is a normal failure (spec §1.5). */
  async settle(x402Version: 1 | 2, paymentPayload: unknown, paymentRequirements: unknown): Promise<SettleResponse> {
    const { status, json } = await this.post('/settle', { x402Version, paymentPayload, paymentRequirements });
    const parsed = SettleResponseSchema.safeParse(json);
    if (!parsed.success || (status >= 500 && !parsed.data.transaction)) throw new FacilitatorError(`facilitator /settle answered ${status}: ${JSON.stringify(json).slice(0, 300)}`);
    return parsed.data;
  }

  /** `GET /supported`. */
  async supported(): Promise<SupportedResponse> {
    let res: Response;
    try {
      res = await this.fetchFn(`${this.url}/supported`, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new FacilitatorError(`facilitator /supported unreachable: ${(err as Error).message}`);
    }
    if (!res.ok) throw new FacilitatorError(`facilitator /supported answered ${res.status}`);
    return (await res.json()) as SupportedResponse;
  }
}

/** Builds the v2 requirements for a set of options. Throws on a price or network it cannot read. */
export function buildRequirements(options: PaymentOption[]): RequirementsV2[] {
  return options.map((o) => {
    const chainId = chainIdOfNetwork(o.network, 2);
    if (chainId === undefined) throw new Error(`network "${o.network}" is not a CAIP-2 eip155 id`);
    const usdc = CANONICAL_USDC[chainId];
    const asset = o.asset ?? usdc?.address;
    if (!asset) throw new Error(`no asset given and no canonical USDC for ${o.network}`);
    const amount = typeof o.price === 'bigint' ? o.price : parseUsd(o.price);
    if (amount < 0n) throw new Error('price must not be negative');
    const extra = o.extra ?? (usdc && getAddress(asset) === usdc.address ? { name: usdc.name, version: usdc.version } : undefined);
    return {
      scheme: 'exact',
      network: o.network,
      amount: amount.toString(),
      asset: getAddress(asset),
      payTo: getAddress(o.payTo),
      maxTimeoutSeconds: o.maxTimeoutSeconds ?? 300,
      ...(extra ? { extra } : {}),
    };
  });
}

/** The v1 shape of a v2 requirement, when its network has a v1 name. */
export function toV1Requirements(r: RequirementsV2, resource: { url: string; description: string; mimeType: string }): RequirementsV1 | undefined {
  const chainId = chainIdOfNetwork(r.network, 2);
  const name = chainId === undefined ? undefined : v1NetworkName(chainId);
  if (!name) return undefined;
  return {
    scheme: r.scheme,
    network: name,
    maxAmountRequired: r.amount,
    asset: r.asset,
    payTo: r.payTo,
    resource: resource.url,
    description: resource.description,
    mimeType: resource.mimeType,
    maxTimeoutSeconds: r.maxTimeoutSeconds,
    extra: r.extra,
  };
}

function headerOf(headers: RequestLike['headers'], name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const rec = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(rec).find((k) => k.toLowerCase() === name.toLowerCase());
  const v = key === undefined ? undefined : rec[key];
  return Array.isArray(v) ? v.join(',') : v;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * v2 match, as @x402/core's server does: every field but `extra` must be deep-equal to what we
 * offered, and every `extra` entry we offered must be echoed unchanged (the client may add more).
 */
export function acceptedMatches(offered: RequirementsV2, accepted: unknown): boolean {
  if (typeof accepted !== 'object' || accepted === null) return false;
  const { extra: offeredExtra, ...offeredCore } = offered;
  const { extra: acceptedExtra, ...acceptedCore } = accepted as Record<string, unknown>;
  if (!jsonEqual(offeredCore, acceptedCore)) return false;
  if (!offeredExtra) return true;
  if (typeof acceptedExtra !== 'object' || acceptedExtra === null) return false;
  return Object.entries(offeredExtra).every(([k, v]) => jsonEqual(v, (acceptedExtra as Record<string, unknown>)[k]));
}

/**
 * Decides what to do with a request to a paid resource. Never throws for a client's input:
 * a missing payment gives 402, an unreadable one 400, an oversized one 431, a failed verify 402,
 * an unreachable facilitator 502.
 */
export async function checkPayment(req: RequestLike, cfg: PaywallConfig): Promise<PaywallDecision> {
  const options = Array.isArray(cfg.accepts) ? cfg.accepts : [cfg.accepts];
  const accepts = buildRequirements(options);
  const resource = { url: cfg.resource ?? req.url, description: cfg.description ?? '', mimeType: cfg.mimeType ?? 'application/json' };
  const acceptV1 = cfg.acceptV1 ?? true;
  const acceptsV1 = acceptV1 ? accepts.map((r) => toV1Requirements(r, resource)).filter((r): r is RequirementsV1 => !!r) : [];
  const client = new FacilitatorClient(cfg.facilitatorUrl, { fetch: cfg.fetch, timeoutMs: cfg.facilitatorTimeoutMs });

  const challenge = (error: string, extra: Record<string, unknown> = {}, status = 402, more: Record<string, string> = {}): PaywallResponse => {
    const paymentRequired = { x402Version: 2, error, resource, accepts };
    // v1 clients read the body; v2 clients read the header (@x402/fetch reads the header first).
    const body = acceptsV1.length > 0 ? { x402Version: 1, error, accepts: acceptsV1, ...extra } : { ...paymentRequired, ...extra };
    // Browser clients can read only the headers CORS exposes (x402 notes §1.3).
    const expose = ['PAYMENT-REQUIRED', ...Object.keys(more)].join(', ');
    return { status, headers: { 'content-type': 'application/json', 'PAYMENT-REQUIRED': encodeHeader(paymentRequired), 'Access-Control-Expose-Headers': expose, ...more }, body };
  };
  const clientError = (status: number, code: string, message: string): PaywallResponse => {
    const r = challenge(code, {}, status);
    return { ...r, body: { error: { code, message } } };
  };

  const v2Header = headerOf(req.headers, 'PAYMENT-SIGNATURE');
  const v1Header = acceptV1 ? headerOf(req.headers, 'X-PAYMENT') : undefined;
  const raw = v2Header ?? v1Header;
  const headerName = v2Header !== undefined ? 'PAYMENT-SIGNATURE' : 'X-PAYMENT';
  if (raw === undefined || raw === '') {
    return { kind: 'respond', response: challenge(acceptV1 ? 'X-PAYMENT or PAYMENT-SIGNATURE header is required' : 'PAYMENT-SIGNATURE header is required') };
  }
  const maxHeader = cfg.maxHeaderBytes ?? 16 * 1024;
  if (raw.length > maxHeader) {
    return { kind: 'respond', response: clientError(431, 'payment_header_too_large', `${headerName} is ${raw.length} bytes; the limit is ${maxHeader}`) };
  }
  let decoded: unknown;
  try {
    decoded = decodeHeader(raw);
  } catch (err) {
    return { kind: 'respond', response: clientError(400, 'malformed_payment_header', `${headerName}: ${(err as Error).message}`) };
  }
  const version = (decoded as { x402Version?: unknown } | null)?.x402Version;

  if (version === 2) {
    const parsed = PaymentPayloadV2Schema.safeParse(decoded);
    if (!parsed.success) return { kind: 'respond', response: clientError(400, 'malformed_payment_header', `${headerName}: ${zodMessage(parsed.error)}`) };
    const accepted = (decoded as { accepted: unknown }).accepted;
    const match = accepts.find((r) => acceptedMatches(r, accepted)) ?? (cfg.faults?.trustAccepted ? parsed.data.accepted : undefined);
    if (!match) return { kind: 'respond', response: challenge('No matching payment requirements') };
    return verifyAndProceed(client, 2, decoded as Record<string, unknown>, match, challenge, cfg.inflight, cfg.faults);
  }
  if (version === 1 && acceptV1) {
    const parsed = PaymentPayloadV1Schema.safeParse(decoded);
    if (!parsed.success) return { kind: 'respond', response: clientError(400, 'malformed_payment_header', `${headerName}: ${zodMessage(parsed.error)}`) };
    // v1 matches on scheme + network only (as @x402/core does); the facilitator checks the rest.
    const match = acceptsV1.find((r) => r.scheme === parsed.data.scheme && r.network === parsed.data.network);
    if (!match) return { kind: 'respond', response: challenge('No matching payment requirements') };
    return verifyAndProceed(client, 1, decoded as Record<string, unknown>, match, challenge, cfg.inflight, cfg.faults);
  }
  return {
    kind: 'respond',
    response: clientError(400, 'unsupported_x402_version', `${headerName}: x402Version ${JSON.stringify(version)} is not supported (use ${acceptV1 ? '1 or 2' : '2'})`),
  };
}

async function verifyAndProceed(
  client: FacilitatorClient,
  version: 1 | 2,
  payload: Record<string, unknown>,
  requirements: RequirementsV2 | RequirementsV1,
  challenge: (error: string, extra?: Record<string, unknown>, status?: number, more?: Record<string, string>) => PaywallResponse,
  inflight: Set<string> | undefined,
  faults: PaywallConfig['faults'] = {},
): Promise<PaywallDecision> {
  const gateway = (err: unknown): PaywallResponse => ({
    status: 502,
    headers: { 'content-type': 'application/json' },
    body: { error: { code: 'facilitator_error', message: (err as Error).message } },
  });
  let verdict: VerifyResponse;
  try {
    verdict = await client.verify(version, payload, requirements);
  } catch (err) {
    return { kind: 'respond', response: gateway(err) };
  }
  if (faults.usedNonceIsPaid) {
    if (!verdict.isValid && verdict.invalidReason === Reason.nonceUsed) return usedNonceServed(version, requirements, payload, verdict);
  }
  if (!verdict.isValid) {
    const reason = verdict.invalidReason ?? 'invalid_payment';
    return { kind: 'respond', response: challenge(reason, verdict.invalidMessage ? { message: verdict.invalidMessage } : {}) };
  }
  const responseHeader = version === 2 ? 'PAYMENT-RESPONSE' : 'X-PAYMENT-RESPONSE';
  // Claim the authorization so a concurrent copy of it cannot run the handler a second time.
  const auth = (payload.payload as { authorization?: { from?: unknown; nonce?: unknown } }).authorization ?? {};
  const key = `${requirements.asset}:${String(auth.from)}:${String(auth.nonce)}`.toLowerCase();
  if (inflight) {
    if (inflight.has(key)) {
      return { kind: 'respond', response: challenge('duplicate_settlement', { message: 'this authorization is already being settled' }) };
    }
    inflight.add(key);
  }
  const release = () => {
    inflight?.delete(key);
  };
  return {
    kind: 'proceed',
    payment: { x402Version: version, payer: verdict.payer, requirements, payload },
    release,
    async settle(): Promise<SettleOutcome> {
      let s: SettleResponse;
      try {
        s = await client.settle(version, payload, requirements);
        // Broadcast but unconfirmed: ask once more, the facilitator reconciles against that tx.
        if (!s.success && s.errorReason === 'settlement_pending' && s.transaction && !faults.pendingIsFailure) s = await client.settle(version, payload, requirements);
      } catch (err) {
        return { ok: false, response: gateway(err) };
      } finally {
        if (!faults.claimOutlivesSettle) release();
      }
      if (s.success) return { ok: true, headers: { [responseHeader]: encodeHeader(s) }, settlement: s };
      // The handler's answer is dropped: the buyer did not pay. The reason is kept (issue #3224).
      const reason = s.errorReason ?? 'settlement_failed';
      return { ok: false, settlement: s, response: challenge(reason, s.errorMessage ? { message: s.errorMessage } : {}, 402, faults.noFailureHeader ? {} : { [responseHeader]: encodeHeader(s) }) };
    },
  };
}

// Stryker disable all: test-only defect (usedNonceIsPaid), off unless a test sets it.
/** The usedNonceIsPaid defect: serve a payment whose nonce is used as if settled before a crash, naming no settlement. */
function usedNonceServed(version: 1 | 2, requirements: RequirementsV2 | RequirementsV1, payload: Record<string, unknown>, verdict: VerifyResponse): PaywallDecision {
  const settlement: SettleResponse = { success: true, transaction: '', network: requirements.network, ...(verdict.payer ? { payer: verdict.payer } : {}) };
  return {
    kind: 'proceed',
    payment: { x402Version: version, payer: verdict.payer, requirements, payload },
    release: () => {},
    settle: async () => ({ ok: true, headers: {}, settlement }),
  };
}
// Stryker restore all

/** Turns a {@link PaywallResponse} into a fetch `Response`. */
export function toResponse(r: PaywallResponse): Response {
  return new Response(JSON.stringify(r.body), { status: r.status, headers: r.headers });
}

/**
 * Hono middleware: protects the routes it is mounted on. The verified payment is available to the
 * handler as `c.get('x402Payment')`.
 */
export function paywall(cfg: PaywallConfig): MiddlewareHandler {
  // A bad price or network is the operator's mistake: fail at start-up, not on the first buyer.
  buildRequirements(Array.isArray(cfg.accepts) ? cfg.accepts : [cfg.accepts]);
  const config: PaywallConfig = cfg.faults?.noReplayGuard ? cfg : { ...cfg, inflight: cfg.inflight ?? new Set() };
  return async (c, next) => {
    let decision: PaywallDecision;
    try {
      decision = await checkPayment({ method: c.req.method, url: c.req.url, headers: c.req.raw.headers }, config);
    } catch (err) {
      // Not reachable with a config that passed the start-up check; kept so a bug never leaks a stack.
      return c.json({ error: { code: 'paywall_misconfigured', message: (err as Error).message } }, 500);
    }
    if (decision.kind === 'respond') return toResponse(decision.response);
    c.set('x402Payment' as never, decision.payment as never);
    try {
      await next();
    } catch (err) {
      decision.release();
      throw err;
    }
    if (c.res.status >= 400) {
      decision.release(); // the work failed: do not charge
      return;
    }
    const outcome = await decision.settle();
    if (outcome.ok) {
      const add = (headers: Headers) => {
        for (const [k, v] of Object.entries(outcome.headers)) headers.set(k, v);
        headers.append('Access-Control-Expose-Headers', Object.keys(outcome.headers).join(','));
      };
      try {
        // The handler's own Response, as it is: re-wrapping one that hono built would turn its
        // cached body into a web stream to read and pipe again.
        add(c.res.headers);
      } catch {
        // Immutable headers (a Response passed on from a fetch): re-wrap. The body was produced
        // already (the official middleware buffers it too); a buffer is cheaper than a stream pipe.
        const res = new Response(await c.res.arrayBuffer(), c.res);
        add(res.headers);
        c.res = undefined as never;
        c.res = res;
      }
    } else {
      c.res = undefined as never;
      c.res = toResponse(outcome.response);
    }
  };
}
