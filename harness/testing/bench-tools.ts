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

/**
 * An HTTP proxy in front of `target`: each request is forwarded as it came (path, method, headers,
 * body); `onRequest` sees the body, `onAnswered` is called when the answer has been passed back.
 */
async function startProxy(target: string, onRequest: (req: http.IncomingMessage, body: Buffer) => void, onAnswered: (req: http.IncomingMessage, startedAt: number) => void) {
  const upstream = new http.Agent({ keepAlive: true });
  const host = new URL(target).host;
  const server = http.createServer((req, res) => {
    const t0 = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      onRequest(req, body);
      const up = http.request(new URL(req.url ?? '/', target), { method: req.method, headers: { ...req.headers, host }, agent: upstream }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
        ur.on('end', () => onAnswered(req, t0));
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
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      upstream.destroy();
    },
  };
}

/** A JSON-RPC proxy in front of `target` that counts calls by method while `state.counting` is on. */
export async function startRpcCounter(target: string) {
  const counts = new Map<string, number>();
  const state = { counting: false };
  const count = (m: string) => counts.set(m, (counts.get(m) ?? 0) + 1);
  const proxy = await startProxy(
    target,
    (_req, body) => {
      if (!state.counting) return;
      try {
        const j = JSON.parse(body.toString('utf8')) as { method?: string } | { method?: string }[];
        for (const m of Array.isArray(j) ? j : [j]) count(String(m.method));
      } catch {
        count('(unparsable)');
      }
    },
    () => {},
  );
  return { ...proxy, counts, state };
}

/** An HTTP proxy in front of `target` that adds up, per path, the time its answers took while `state.timing` is on. */
export async function startTimer(target: string) {
  const totals = new Map<string, { n: number; ms: number }>();
  const state = { timing: false };
  const proxy = await startProxy(
    target,
    () => {},
    (req, t0) => {
      if (!state.timing) return;
      const k = (req.url ?? '').split('?')[0]!;
      const e = totals.get(k) ?? { n: 0, ms: 0 };
      e.n++;
      e.ms += performance.now() - t0;
      totals.set(k, e);
    },
  );
  return { ...proxy, totals, state };
}
