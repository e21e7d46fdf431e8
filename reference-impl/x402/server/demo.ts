/**
 * A minimal x402-paid resource, the reference target's `x402-resource` endpoint: hono + the paywall
 * middleware, one price in USDC, paid to `payTo`, on two routes:
 * - `GET /premium`: fixed content;
 * - `POST /premium/query`: takes a JSON body `{"query": "<1-500 characters>"}` and answers it. The
 *   body is checked by the handler, after the payment verified: a bad body gets 400 and is not
 *   charged (the paywall settles only answers below 400).
 *
 * `faults` exist only so tests can show that the x402 scenarios notice a broken resource server;
 * they are off unless set.
 */
import { randomBytes } from 'node:crypto';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { Address } from 'viem';
import { z } from 'zod';
import { errorHandler, listen, notFoundHandler } from '../../_shared/http.ts';
import { decodeHeader, encodeHeader } from '../protocol/wire.ts';
import { checkPayment, paywall, toResponse, type PaywallConfig } from './paywall.ts';

/** Deliberate defects of the demo resource (tests only). */
export interface DemoFaults {
  /** Serve the content even when settlement fails (a replay or an expired authorization then gets through). */
  serveOnSettleFailure?: boolean;
  /** Answer 402 without the `PAYMENT-REQUIRED` header and with an empty body. */
  omitChallenge?: boolean;
  /** Answer 500 instead of 400/431 to an unreadable or oversized payment header (accepts 2 MB headers to get there). */
  crashOnMalformed?: boolean;
  /** Fail open: serve the content when the facilitator rejects a payment (402 after a payment was sent). */
  failOpen?: boolean;
  /** Strip the settlement header from a paid response. */
  omitPaymentResponse?: boolean;
  /** Name a paid response's settlement header after the other x402 generation (v2 answers in X-PAYMENT-RESPONSE). */
  otherGenerationHeader?: boolean;
  /** Never settle: answer 200 with a settlement header claiming success and a made-up transaction hash. */
  fakeSettlement?: boolean;
  /** Settle, but report the first settlement's transaction hash for every later payment (x402 issue #1805). */
  staleSettlementHash?: boolean;
  /** Settle even when the handler answered >= 400: the buyer pays for failed work. */
  settleOnHandlerError?: boolean;
  /** A refused payment's 402 carries a settlement header claiming success. */
  claimSuccessOnRefusal?: boolean;
  /** A request carrying an authorization that is being settled right now gets 500 instead of 402. */
  crashOnDuplicate?: boolean;
  /** The 402 does not expose `PAYMENT-REQUIRED` to browser clients (no Access-Control-Expose-Headers). */
  noCorsExpose?: boolean;
  /** BigInt() on the payment payload's authorization fields before checking their shape: a 500 for `"value": "1e6"` or `"nonce": "0x"`. */
  bigIntOnPayload?: boolean;
  /** The paywall guards every path and method, not just the paid routes (with settleOnHandlerError: a payment sent to a 404 is settled). */
  paywallOnEveryPath?: boolean;
  /** Paywall faults (`trustAccepted`, `noReplayGuard`). */
  paywall?: PaywallConfig['faults'];
}

/** Options of {@link startDemoResource}. */
export interface DemoResourceOptions {
  facilitatorUrl: string;
  payTo: Address;
  chainId: number;
  asset: Address;
  /** EIP-712 domain of the asset, advertised in `extra`. */
  domain: { name: string; version: string };
  /** "$0.01" or base units; default "$0.01". */
  price?: string | bigint;
  host?: string;
  port?: number;
  faults?: DemoFaults;
}

/** A running demo resource. */
export interface DemoResource {
  /** Base URL of the server. */
  url: string;
  /** URL of the paid `GET` resource. */
  resourceUrl: string;
  /** URL of the paid `POST` resource (JSON body `{"query": "..."}`). */
  queryUrl: string;
  stop(): Promise<void>;
}

const QueryBody = z.object({ query: z.string().min(1).max(500) });

// Stryker disable all: test-only code. addHeaders and faultyPaywall run only when a test sets a fault
// (startDemoResource picks them when `faults` has one on); the reference service never does. Mutants here
// are reported Ignored, like the amh-fault-switches ignorer's (harness/README.md "Mutation testing").
/** Replace the handler's response with one carrying extra headers (hono responses may be immutable). */
function addHeaders(c: Context, headers: Record<string, string>): void {
  const res = new Response(c.res.body, c.res);
  for (const [k, v] of Object.entries(headers)) res.headers.set(k, v);
  c.res = undefined as never;
  c.res = res;
}

/** The paywall with the requested defects (mirrors `paywall()`'s order: verify, handler, settle). */
function faultyPaywall(cfg: PaywallConfig, faults: DemoFaults): MiddlewareHandler {
  const config: PaywallConfig = faults.paywall?.noReplayGuard ? cfg : { ...cfg, inflight: new Set() };
  let firstHash: string | undefined;
  return async (c, next) => {
    if (faults.bigIntOnPayload) bigIntFields(c.req.header('payment-signature') ?? c.req.header('x-payment'));
    const d = await checkPayment({ method: c.req.method, url: c.req.url, headers: c.req.raw.headers }, config);
    const paid = c.req.header('payment-signature') ?? c.req.header('x-payment');
    if (d.kind === 'respond') {
      const r = d.response;
      if (faults.omitChallenge && r.status === 402) return c.body(null, 402);
      if (faults.failOpen && paid && r.status === 402) return next();
      if (faults.crashOnMalformed && (r.status === 400 || r.status === 431)) return c.json({ error: 'internal' }, 500);
      if (faults.crashOnDuplicate && (r.body as { error?: string }).error === 'duplicate_settlement') return c.json({ error: 'internal' }, 500);
      const headers = { ...r.headers };
      if (faults.noCorsExpose) delete headers['Access-Control-Expose-Headers'];
      if (faults.claimSuccessOnRefusal && paid && r.status === 402) {
        const fake = encodeHeader({ success: true, transaction: `0x${randomBytes(32).toString('hex')}`, network: cfg.accepts && !Array.isArray(cfg.accepts) ? cfg.accepts.network : '' });
        headers['PAYMENT-RESPONSE'] = fake;
        headers['X-PAYMENT-RESPONSE'] = fake;
      }
      return toResponse({ ...r, headers });
    }
    await next();
    if (c.res.status >= 400 && !faults.settleOnHandlerError) {
      d.release();
      return;
    }
    const headerName = d.payment.x402Version === 2 ? 'PAYMENT-RESPONSE' : 'X-PAYMENT-RESPONSE';
    if (faults.fakeSettlement) {
      d.release();
      addHeaders(c, { [headerName]: encodeHeader({ success: true, transaction: `0x${randomBytes(32).toString('hex')}`, network: d.payment.requirements.network, payer: d.payment.payer }) });
      return;
    }
    const status = c.res.status;
    const out = await d.settle();
    if (!out.ok && !faults.serveOnSettleFailure) {
      c.res = undefined as never;
      c.res = toResponse(out.response);
      return;
    }
    if (status >= 400 || !out.ok || faults.omitPaymentResponse) return;
    firstHash ??= out.settlement.transaction;
    const other = headerName === 'PAYMENT-RESPONSE' ? 'X-PAYMENT-RESPONSE' : 'PAYMENT-RESPONSE';
    if (faults.otherGenerationHeader) addHeaders(c, { [other]: encodeHeader(out.settlement) });
    else addHeaders(c, faults.staleSettlementHash ? { [headerName]: encodeHeader({ ...out.settlement, transaction: firstHash }) } : out.headers);
  };
}

/** The bigIntOnPayload fault: reads the authorization's numbers as a careless server would (throws on a non-integer). */
function bigIntFields(header: string | undefined): void {
  let auth: Record<string, unknown> | undefined;
  try {
    auth = (decodeHeader(header ?? '') as { payload?: { authorization?: Record<string, unknown> } } | null)?.payload?.authorization;
  } catch {
    return;
  }
  for (const k of ['value', 'validAfter', 'validBefore', 'nonce']) if (typeof auth?.[k] === 'string') BigInt(auth[k] as string);
}

// Stryker restore all

/** Start the demo resource on loopback (port 0 by default). */
export async function startDemoResource(o: DemoResourceOptions): Promise<DemoResource> {
  const faults = o.faults ?? {};
  const cfg: PaywallConfig = {
    facilitatorUrl: o.facilitatorUrl,
    accepts: { price: o.price ?? '$0.01', payTo: o.payTo, network: `eip155:${o.chainId}`, asset: o.asset, extra: { name: o.domain.name, version: o.domain.version } },
    description: 'agentmarket-harness demo premium content',
    mimeType: 'application/json',
    faults: faults.paywall,
  };
  const app = new Hono();
  app.onError(errorHandler());
  app.notFound(notFoundHandler());
  // The faulty variants need the framework-neutral form to misbehave on purpose.
  const guarded = Object.values(faults).some(Boolean) ? faultyPaywall(cfg, faults) : paywall(cfg);
  if (faults.paywallOnEveryPath) app.use('*', guarded);
  const pay: MiddlewareHandler = faults.paywallOnEveryPath ? (_c, next) => next() : guarded;
  app.get('/premium', pay, (c) => c.json({ content: 'premium', note: 'paid with x402' }));
  app.post('/premium/query', pay, async (c) => {
    const body = QueryBody.safeParse(await c.req.json().catch(() => undefined));
    if (!body.success) return c.json({ error: { code: 'invalid_body', message: 'expected a JSON body {"query": "<1-500 characters>"}' } }, 400);
    return c.json({ query: body.data.query, answer: `premium answer to "${body.data.query}"`, note: 'paid with x402' });
  });
  app.get('/health', (c) => c.json({ status: 'ok' }));
  // crashOnMalformed lets 2 MB headers through node so they reach the paywall (and its fake 500).
  const server = await listen(app, { host: o.host, port: o.port, maxHeaderSize: faults.crashOnMalformed ? 2 * 1024 * 1024 : undefined });
  return { url: server.url, resourceUrl: `${server.url}/premium`, queryUrl: `${server.url}/premium/query`, stop: () => server.stop() };
}
