/**
 * First contact with an endpoint that is not up yet: a target problem at once, unless a chain's
 * `serverRpc.waitSeconds` says the target's servers start after the harness (they reach their chain
 * through its proxy); then the endpoint is asked again until it answers, or the wait is over.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { afterEach, test } from 'vitest';
import { freePort } from '../util/net.ts';
import { parseTarget } from '../target/schema.ts';
import type { ProtocolModule, Scenario } from './dsl.ts';
import { preflight } from './preflight.ts';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A target with one endpoint at `port` and a chain whose servers' RPC the harness serves, with `waitSeconds`. */
function target(port: number, waitSeconds: number) {
  return parseTarget({
    name: 'late server',
    chains: [{ id: 'c', chainId: 1, rpcUrl: 'http://127.0.0.1:1', serverRpc: { listen: '127.0.0.1:2', waitSeconds } }],
    endpoints: { late: `http://127.0.0.1:${port}` },
  });
}
const jobs = [{ p: { id: 'p', endpoints: { late: 'a server started after the harness' } } as unknown as ProtocolModule, s: { endpoints: ['late'] } as unknown as Scenario }];

/** Starts an HTTP server answering 200 on `port` after `ms`. */
function startLater(port: number, ms: number): void {
  setTimeout(() => {
    const s = http.createServer((_q, r) => r.end('{}'));
    servers.push(s);
    s.listen(port, '127.0.0.1');
  }, ms);
}

test('an endpoint that comes up within serverRpc.waitSeconds is no target problem', async () => {
  const port = await freePort();
  startLater(port, 700);
  const problems = await preflight(target(port, 10), jobs, () => []);
  assert.deepEqual([...problems], []);
});

test('without a wait (or past it) an endpoint that is not up is a target problem naming method and URL', async () => {
  const port = await freePort();
  startLater(port, 700);
  // Asked once: had it waited, the server would have answered.
  const problems = await preflight(target(port, 0), jobs, () => []);
  assert.match(problems.get('endpoint:late') ?? '', new RegExp(`endpoint 'late': GET http://127\\.0\\.0\\.1:${port} could not be reached`));
});
