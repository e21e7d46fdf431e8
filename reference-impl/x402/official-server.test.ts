/**
 * Verdicts on code nobody here wrote: a resource server whose x402 logic is the official
 * `@x402/core` x402HTTPResourceServer + `@x402/evm` exact server scheme, settling through our
 * facilitator, with a GET and a POST route. Only the HTTP glue is ours (node:http, ~40 lines,
 * following the documented middleware flow: the library decides the 402 or the verified payment,
 * the handler runs, an answer >= 400 is not settled, otherwise the library settles and supplies
 * the headers). Certified in-process: every MUST requirement passes on both routes, as the
 * scenarios must judge a correct server nobody here wrote; the missing CORS exposure is a
 * SHOULD warning, not a failure.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, test } from 'vitest';
import { HTTPFacilitatorClient, x402HTTPResourceServer, x402ResourceServer, type HTTPAdapter, type HTTPRequestContext } from '@x402/core/server';
import { ExactEvmScheme } from '@x402/evm/exact/server';
import { roleAccount, roleAccounts, rpcCall, serviceAccount, startChain, type RunningChain, targetChainEntry } from '../../harness/chain/index.ts';
import { throughRpcFaults } from '../../harness/faults/rpc.ts';
import { certifyInProcess } from '../../harness/testing/kill.ts';
import { parseTarget } from '../../harness/target/schema.ts';
import { startFacilitator, type RunningFacilitator } from './server/facilitator.ts';

let chain: RunningChain;
let fac: RunningFacilitator;
let server: http.Server;
let base: string;

/** The request as the library reads it. */
function adapterOf(req: http.IncomingMessage, url: URL, body: unknown): HTTPAdapter {
  const header = (name: string) => {
    const v = req.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(',') : v;
  };
  return {
    getHeader: header,
    getMethod: () => req.method ?? 'GET',
    getPath: () => url.pathname,
    getUrl: () => url.toString(),
    getAcceptHeader: () => header('accept') ?? '',
    getUserAgent: () => header('user-agent') ?? '',
    getQueryParams: () => Object.fromEntries(url.searchParams),
    getQueryParam: (n) => url.searchParams.get(n) ?? undefined,
    getBody: () => body,
  };
}

/** The application: what the routes answer once paid. */
function handle(method: string, path: string, body: unknown): { status: number; json: unknown } {
  if (method === 'GET' && path === '/weather') return { status: 200, json: { weather: 'sunny', temperature: 21 } };
  if (method === 'POST' && path === '/query') {
    const q = (body as { query?: unknown } | undefined)?.query;
    return typeof q === 'string' && q.length > 0 ? { status: 200, json: { answer: `about ${q}` } } : { status: 400, json: { error: 'query must be a non-empty string' } };
  }
  return { status: 404, json: { error: 'not found' } };
}

beforeAll(async () => {
  chain = await startChain({ profile: 'base-sepolia' });
  const key = serviceAccount('x402-facilitator');
  await rpcCall(chain.rpcUrl, 'anvil_setBalance', [key.address, `0x${(1000n * 10n ** 18n).toString(16)}`]);
  // Our facilitator reaches the chain through the harness's RPC fault proxy (capability rpc-faults).
  fac = await throughRpcFaults(chain.rpcUrl, (rpcUrl) => startFacilitator({ rpcUrl, privateKey: key.privateKey }));
  const payTo = roleAccount('judge').address;
  const accepts = { scheme: 'exact', price: '$0.01', network: 'eip155:84532' as const, payTo };
  const resourceServer = new x402ResourceServer(new HTTPFacilitatorClient({ url: fac.url })).register('eip155:84532', new ExactEvmScheme());
  const x402 = new x402HTTPResourceServer(resourceServer, {
    'GET /weather': { accepts, description: 'weather', mimeType: 'application/json' },
    'POST /query': { accepts, description: 'an answer', mimeType: 'application/json' },
  });
  await x402.initialize();
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const send = (status: number, headers: Record<string, string>, json: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(json));
      };
      try {
        const url = new URL(req.url ?? '/', base);
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        const adapter = adapterOf(req, url, body);
        const context: HTTPRequestContext = { adapter, path: url.pathname, method: req.method ?? 'GET', paymentHeader: adapter.getHeader('payment-signature') ?? adapter.getHeader('x-payment') };
        const decision = await x402.processHTTPRequest(context);
        if (decision.type === 'payment-error') return send(decision.response.status, decision.response.headers, decision.response.body ?? {});
        const out = handle(req.method ?? 'GET', url.pathname, body);
        if (decision.type === 'no-payment-required') return send(out.status, {}, out.json);
        if (out.status >= 400) {
          await decision.cancellationDispatcher.cancel({ reason: 'handler_failed', responseStatus: out.status });
          return send(out.status, {}, out.json);
        }
        const settled = await x402.processSettlement(decision.paymentPayload, decision.paymentRequirements, decision.declaredExtensions, {
          request: context,
          responseBody: Buffer.from(JSON.stringify(out.json)),
          responseHeaders: {},
        });
        if (!settled.success) return send(settled.response.status, settled.response.headers, settled.response.body ?? {});
        return send(out.status, settled.headers, out.json);
      } catch (e) {
        send(500, {}, { error: (e as Error).message });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await fac?.stop();
  await chain?.stop();
});

function target(resource: string | { url: string; method: string; body: unknown }) {
  return parseTarget({
    name: 'official @x402/core resource server',
    chains: [targetChainEntry(chain)],
    endpoints: { 'x402-resource': resource, 'x402-resource-failing': { url: `${base}/query`, method: 'POST', body: { query: '' } }, 'x402-facilitator': fac.url },
    accounts: roleAccounts.filter((a) => a.role.startsWith('buyer')).map((a) => ({ role: a.role, kind: 'evm', address: a.address, privateKey: a.privateKey })),
    capabilities: ['clock-control', 'rpc-faults', 'impersonate'],
  });
}

for (const [name, resource] of [
  ['POST /query with a JSON body', () => ({ url: `${base}/query`, method: 'POST', body: { query: 'tides in Porto' } })],
  ['GET /weather', () => `${base}/weather`],
] as const) {
  test(`the official resource server's ${name} passes every MUST requirement`, async () => {
    const r = await certifyInProcess(target(resource()), { protocol: 'x402', runs: 3, seed: 17 });
    const reqs = r.protocols[0]!.requirements;
    // The official server runs in this process: the harness cannot crash it (no restart control),
    // and this target does not offer its chain for reorgs. Every other MUST passes.
    assert.deepEqual(
      reqs.filter((q) => q.level === 'MUST' && q.status !== 'pass').map((q) => `${q.id}: ${q.status} ${q.reason ?? ''}`),
      ["X402-RST-01: not-applicable target lacks capability 'restart'", "X402-ORG-01: not-applicable target lacks capability 'reorg'"],
    );
    assert.equal(r.exitCode, 0);
    // It does not expose PAYMENT-REQUIRED to browsers (the library leaves CORS to the app): a warning.
    assert.equal(reqs.find((q) => q.id === 'X402-CH-02')?.status, 'warn');
    assert.equal(reqs.find((q) => q.id === 'X402-SET-01')?.status, 'pass');
  });
}
