/**
 * Sentinel targets: servers that implement nothing, to prove no check is vacuous. A protocol is
 * certified against each of them (every endpoint it uses, or its chain RPC when it has none, points
 * at the sentinel): nothing may pass; every requirement ends fail, indeterminate or not-applicable
 * with a reason that says what happened.
 */
import { createServer, type Server } from 'node:http';
import type net from 'node:net';
import { freePort } from '../util/net.ts';

export const SENTINEL_KINDS = ['closed-port', 'ok-empty-json', 'forbidden', 'ok-empty-body'] as const;
export type SentinelKind = (typeof SENTINEL_KINDS)[number];

/** What each sentinel answers to every request (any method, any path). */
export const SENTINEL_BEHAVIOUR: Record<SentinelKind, string> = {
  'closed-port': 'nothing listens (connection refused)',
  'ok-empty-json': '200 with the body {}',
  forbidden: '403 with {"error":"forbidden"}',
  'ok-empty-body': '200 with an empty body',
};

export interface Sentinel {
  kind: SentinelKind;
  url: string;
  stop(): Promise<void>;
}

/** Start a sentinel of `kind` on loopback. */
export async function startSentinel(kind: SentinelKind): Promise<Sentinel> {
  if (kind === 'closed-port') return { kind, url: `http://127.0.0.1:${await freePort()}`, stop: async () => {} };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (kind === 'ok-empty-json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      } else if (kind === 'forbidden') {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end('{"error":"forbidden"}');
      } else {
        res.writeHead(200, { 'content-length': '0' });
        res.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    kind,
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
