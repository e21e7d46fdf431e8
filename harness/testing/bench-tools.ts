/**
 * Pieces the packs' benchmarks share (reference-impl/<id>/bench.ts): a stop list for what a bench
 * started (also on SIGINT), a JSON-RPC proxy that counts calls by method, and an HTTP proxy that
 * adds up answer times per path.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a bench started, stopped last-first by {@link stopAll} (also on SIGINT, exit 130). */
export const running: { stop(): Promise<void> }[] = [];
export async function stopAll(): Promise<void> {
  // Last started, first stopped (the server before its chain).
  for (const r of running.splice(0).reverse()) await r.stop().catch((e: Error) => console.error(`stop failed: ${e.message}`));
}
process.on('SIGINT', () => {
  void stopAll().finally(() => process.exit(130));
});

/** A JSON-RPC proxy in front of `target` that counts calls by method while `counting` is on. */
export async function startRpcCounter(target: string) {
  const counts = new Map<string, number>();
  const state = { counting: false };
  const upstream = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (state.counting) {
        try {
          const j = JSON.parse(body.toString('utf8')) as { method?: string } | { method?: string }[];
          for (const m of Array.isArray(j) ? j : [j]) counts.set(String(m.method), (counts.get(String(m.method)) ?? 0) + 1);
        } catch {
          counts.set('(unparsable)', (counts.get('(unparsable)') ?? 0) + 1);
        }
      }
      const up = http.request(target, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(body.length) }, agent: upstream }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, { 'content-type': String(ur.headers['content-type'] ?? 'application/json') });
        ur.pipe(res);
      });
      up.on('error', (e) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(e.message);
      });
      up.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    state,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      upstream.destroy();
    },
  };
}

/** An HTTP proxy in front of `target` that adds up, per path, the time its answers took while `timing` is on. */
export async function startTimer(target: string) {
  const totals = new Map<string, { n: number; ms: number }>();
  const state = { timing: false };
  const upstream = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const t0 = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const up = http.request(`${target}${req.url}`, { method: req.method, headers: { ...req.headers, host: new URL(target).host }, agent: upstream }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
        ur.on('end', () => {
          if (!state.timing) return;
          const k = (req.url ?? '').split('?')[0]!;
          const e = totals.get(k) ?? { n: 0, ms: 0 };
          e.n++;
          e.ms += performance.now() - t0;
          totals.set(k, e);
        });
      });
      up.on('error', (e) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(e.message);
      });
      up.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    totals,
    state,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      upstream.destroy();
    },
  };
}
