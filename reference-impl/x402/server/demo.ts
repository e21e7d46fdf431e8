/**
 * A minimal x402-paid resource (`GET /premium`), the reference target's `x402-resource` endpoint:
 * hono + the paywall middleware, one price in USDC, paid to `payTo`. `faults` exist only so tests can
 * show that the x402 scenarios notice a broken resource server; they are off unless set.
 */
import { Hono } from 'hono';
import type { Address } from 'viem';
import { errorHandler, listen, notFoundHandler } from '../../_shared/http.ts';
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
  /** URL of the paid resource. */
  resourceUrl: string;
  stop(): Promise<void>;
}

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
  const content = { content: 'premium', note: 'paid with x402' };
  if (faults.serveOnSettleFailure || faults.omitChallenge || faults.crashOnMalformed || faults.omitPaymentResponse || faults.failOpen) {
    // The faulty variants need the framework-neutral form to misbehave on purpose.
    app.get('/premium', async (c) => {
      const d = await checkPayment({ method: c.req.method, url: c.req.url, headers: c.req.raw.headers }, cfg);
      if (d.kind === 'respond') {
        if (faults.omitChallenge && d.response.status === 402) return c.body(null, 402);
        const paid = c.req.header('payment-signature') ?? c.req.header('x-payment');
        if (faults.failOpen && paid && d.response.status === 402) return c.json(content, 200);
        if (faults.crashOnMalformed && (d.response.status === 400 || d.response.status === 431)) return c.json({ error: 'internal' }, 500);
        return toResponse(d.response);
      }
      const out = await d.settle();
      if (!out.ok && !faults.serveOnSettleFailure) return toResponse(out.response);
      const headers = out.ok && !faults.omitPaymentResponse ? out.headers : {};
      return c.json(content, 200, headers);
    });
  } else {
    app.get('/premium', paywall(cfg), (c) => c.json(content));
  }
  app.get('/health', (c) => c.json({ status: 'ok' }));
  // crashOnMalformed lets 2 MB headers through node so they reach the paywall (and its fake 500).
  const server = await listen(app, { host: o.host, port: o.port, maxHeaderSize: faults.crashOnMalformed ? 2 * 1024 * 1024 : undefined });
  return { url: server.url, resourceUrl: `${server.url}/premium`, stop: () => server.stop() };
}
