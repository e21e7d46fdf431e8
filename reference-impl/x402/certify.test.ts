/**
 * Acceptance, as a user runs it: an x402 resource behind POST with a JSON body, described in a
 * target file, certified by `amh certify` in a child process.
 * - The correct demo resource (POST /premium/query) certifies green, and a proxy in front of it
 *   shows that every request the scenarios made to it used the declared method, body and headers.
 * - A resource that never settles but answers a made-up settlement hash makes certify exit 1 with
 *   X402-PAY-01 failing on the hash check itself (the transaction does not exist on the chain).
 * - A facilitator configured with the address a target file's `serverRpc.listen` names, and started
 *   only once certify's fault proxy listens there, is certified under node faults (rpc-faults): every
 *   requirement that needs only that capability passes for ours, and X402-FLT-12 fails for one that
 *   blames the payment for its node's failure.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, test } from 'vitest';
import { roleAccount, rpcCall, serviceAccount, startChain, tokenOf, type RunningChain, targetChainEntry } from '../../harness/chain/index.ts';
import { loadProtocols } from '../../harness/packs/discover.ts';
import { PROBE_HEADER } from '../../harness/robustness/http.ts';
import { waitUntilAnswers } from '../../harness/engine/restart.ts';
import { freeFixedPort } from '../../harness/util/net.ts';
import { startDemoResource, type DemoFaults, type DemoResource } from './server/demo.ts';
import { startFacilitator, type RunningFacilitator } from './server/facilitator.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const AMH = path.join(ROOT, 'harness', 'cli', 'amh.mjs');

function amh(args: string[], onStart?: () => void): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [AMH, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    onStart?.();
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** What reached the resource: method, path, JSON body and the client header we declared. */
interface Seen {
  method: string;
  path: string;
  body: string;
  client: string | undefined;
  /** The robustness probe header, on the requests X402-ROB-01 sends. */
  probe: string | undefined;
}

/** A proxy in front of `upstream` that records every request that reaches it (headers pass both ways unchanged). */
async function recordingProxy(upstream: string): Promise<{ url: string; seen: Seen[]; stop(): Promise<void> }> {
  const target = new URL(upstream);
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({
        method: req.method ?? '',
        path: req.url ?? '',
        body: body.toString('utf8'),
        client: req.headers['x-client-id'] as string | undefined,
        probe: req.headers[PROBE_HEADER] as string | undefined,
      });
      const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      up.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      up.end(body);
    });
  });
  // As the reference servers do (reference-impl/_shared/http.ts): the clients close idle sockets
  // first, so none is reused just as this side closes it (a run saw UND_ERR_SOCKET under load).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const QUERY = { query: 'weather in Lisbon tomorrow' };
const REFUSED = { query: '' };

let chain: RunningChain;
let fac: RunningFacilitator;
let dir: string;
const running: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  chain = await startChain({ profile: 'base-sepolia' });
  const key = serviceAccount('x402-facilitator');
  await rpcCall(chain.rpcUrl, 'anvil_setBalance', [key.address, `0x${(1000n * 10n ** 18n).toString(16)}`]);
  fac = await startFacilitator({ rpcUrl: chain.rpcUrl, privateKey: key.privateKey });
  dir = await mkdtemp(path.join(tmpdir(), 'amh-x402-certify-'));
});

afterAll(async () => {
  for (const r of running.reverse()) await r.stop();
  await fac?.stop();
  await chain?.stop();
});

async function demo(faults?: DemoFaults): Promise<DemoResource> {
  const usdc = tokenOf(chain.profile, 'usdc');
  const d = await startDemoResource({
    facilitatorUrl: fac.url,
    payTo: roleAccount('judge').address,
    chainId: chain.chainId,
    asset: usdc.address,
    domain: { name: usdc.name, version: usdc.version },
    faults,
  });
  running.push(d);
  return d;
}

/** A target file for a POST resource at `base` (+ the facilitator and the failing request). */
async function targetFile(name: string, base: string): Promise<string> {
  const file = path.join(dir, `${name}.json`);
  const headers = { 'x-client-id': 'amh-acceptance' };
  await writeFile(
    file,
    JSON.stringify(
      {
        $schema: path.join(ROOT, 'harness/target/target.schema.json'),
        name,
        chains: [targetChainEntry(chain)],
        endpoints: {
          'x402-resource': { url: `${base}/premium/query`, method: 'POST', body: QUERY, headers },
          'x402-resource-failing': { url: `${base}/premium/query`, method: 'POST', body: REFUSED, headers },
          'x402-facilitator': fac.url,
        },
        accounts: ['buyer1', 'buyer2'].map((role) => ({ role, address: roleAccount(role).address, privateKey: roleAccount(role).privateKey })),
        capabilities: ['clock-control'],
        protocols: ['x402'],
      },
      null,
      2,
    ),
  );
  return file;
}

test('a POST resource with a JSON body certifies green from a target file, and every request it got had the declared shape', async () => {
  const proxy = await recordingProxy((await demo()).url);
  running.push(proxy);
  const out = path.join(dir, 'post-ok');
  const r = await amh(['certify', '--protocol', 'x402', '--target', await targetFile('post-resource', proxy.url), '--runs', '3', '--seed', '5', '--out', out]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /PASS — every MUST requirement passed/);
  const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
  const reqs = report.protocols[0].requirements as { id: string; status: string; reason?: string }[];
  // X402-FLT-03..12 need the facilitator's RPC to go through the harness (rpc-faults), which this
  // file does not grant (it can: chains[].serverRpc, the last test); the crash and reorg scenarios need a restart
  // control and a chain the harness may rewrite, which this file does not declare; a smart-wallet
  // payer is placed with set-code, not declared either: not-applicable, with the reason.
  assert.deepEqual(
    reqs.filter((q) => q.status !== 'pass').map((q) => `${q.id}: ${q.status} ${q.reason ?? ''}`),
    [
      "X402-SW-01: not-applicable target lacks capability 'set-code'",
      "X402-SET-02: not-applicable target lacks capability 'rpc-faults'",
      "X402-SET-03: not-applicable target lacks capability 'rpc-faults'",
      ...['03', '04', '05', '06', '07', '08', '09'].map((n) => `X402-FLT-${n}: not-applicable target lacks capability 'rpc-faults'`),
      "X402-FLT-10: not-applicable target lacks capability 'rpc-faults', 'impersonate'",
      "X402-FLT-11: not-applicable target lacks capability 'rpc-faults', 'impersonate'",
      "X402-FLT-12: not-applicable target lacks capability 'rpc-faults'",
      "X402-RST-01: not-applicable target lacks capability 'restart'; target lacks capability 'restart', 'rpc-faults'",
      "X402-ORG-01: not-applicable target lacks capability 'reorg'",
    ],
  );
  assert.equal(reqs.length, (await loadProtocols(undefined, ['x402']))[0]!.requirements.length, 'every requirement of the catalog has a verdict');
  // The proxy saw the resource's own traffic: only POSTs to the declared path, each with one of the
  // two declared bodies and the declared header (the 1 MB headers end at the proxy with 431).
  assert.ok(proxy.seen.length > 100, `${proxy.seen.length} requests reached the resource`);
  // X402-ROB-01 sends other methods, paths and bodies on purpose (marked with the probe header).
  const wrong = proxy.seen
    .filter((s) => s.probe !== 'robustness')
    .filter((s) => s.method !== 'POST' || s.path !== '/premium/query' || s.client !== 'amh-acceptance' || ![JSON.stringify(QUERY), JSON.stringify(REFUSED)].includes(s.body));
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} requests without the declared shape`);
  assert.ok(proxy.seen.some((s) => s.body === JSON.stringify(QUERY)) && proxy.seen.some((s) => s.body === JSON.stringify(REFUSED)));
});

test('a resource answering a made-up settlement hash fails X402-PAY-01 on the hash check: certify exits 1', async () => {
  const d = await demo({ fakeSettlement: true });
  const out = path.join(dir, 'fake-hash');
  const r = await amh(['certify', '--protocol', 'x402', '--target', await targetFile('fake-settlement', d.url), '--grep', 'pay-exact', '--runs', '2', '--seed', '5', '--out', out]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /FAIL X402-PAY-01 \[MUST\]/);
  assert.match(r.stdout, /the reported transaction exists on chain base-sepolia/);
  assert.match(r.stdout, /actual:\s+no such transaction on the target chain/);
  const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
  const sc = report.protocols[0].scenarios.find((s: { id: string }) => s.id === 'pay-exact');
  assert.equal(sc.status, 'fail');
  assert.equal(sc.counterexample.requirement, 'X402-PAY-01');
  assert.match(sc.counterexample.message, /the reported transaction exists on chain/);
});

test('rpc-faults for a third-party facilitator: it reaches the chain at the serverRpc address where certify serves its fault proxy; the node-fault requirements pass, and X402-FLT-12 fails for a facilitator that blames the payment', async () => {
  // Fixed ports (below the ephemeral range): they stay free until certify and the facilitator bind them.
  const [proxyPort, facPort] = [await freeFixedPort(), await freeFixedPort()];
  const facilitatorUrl = `http://127.0.0.1:${facPort}`;
  const usdc = tokenOf(chain.profile, 'usdc');
  const resource = await startDemoResource({ facilitatorUrl, payTo: roleAccount('judge').address, chainId: chain.chainId, asset: usdc.address, domain: { name: usdc.name, version: usdc.version } });
  running.push(resource);
  const file = path.join(dir, 'server-rpc.json');
  await writeFile(
    file,
    JSON.stringify({
      name: 'facilitator behind the harness RPC proxy',
      chains: [{ ...targetChainEntry(chain), serverRpc: { listen: `127.0.0.1:${proxyPort}`, waitSeconds: 120 } }],
      endpoints: { 'x402-resource': `${resource.url}/premium`, 'x402-facilitator': facilitatorUrl },
      accounts: ['buyer1', 'buyer2'].map((role) => ({ role, address: roleAccount(role).address, privateKey: roleAccount(role).privateKey })),
      capabilities: ['clock-control', 'rpc-faults'],
      protocols: ['x402'],
    }),
  );
  const key = serviceAccount('x402-facilitator');
  for (const [name, faults, code, status, grep] of [
    ['ours', {}, 0, 'pass', 'fault-'],
    ['blames-payment', { nodeErrorBlamesPayment: true }, 1, 'fail', 'fault-facilitator-node-execution-fails'],
  ] as const) {
    let third: Promise<RunningFacilitator> | undefined;
    const out = path.join(dir, `server-rpc-${name}`);
    // The facilitator reads its token from the chain as it starts: it is started once the proxy
    // answers, while certify waits for its endpoint (serverRpc.waitSeconds).
    const proxyUrl = `http://127.0.0.1:${proxyPort}`;
    const r = await amh(['certify', '--protocol', 'x402', '--target', file, '--grep', grep, '--runs', '2', '--seed', '5', '--out', out], () => {
      third = waitUntilAnswers(proxyUrl, Date.now() + 60_000, "certify's RPC fault proxy").then(() => startFacilitator({ rpcUrl: proxyUrl, privateKey: key.privateKey, port: facPort, faults }));
      // Awaited below, after certify ends; a failure to start is reported there.
      third.catch(() => undefined);
    });
    await (await third!).stop();
    assert.equal(r.code, code, `${name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`RPC fault proxy listens at http://127\\.0\\.0\\.1:${proxyPort}`));
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
    const flt12 = (report.protocols[0].requirements as { id: string; status: string }[]).find((q) => q.id === 'X402-FLT-12');
    assert.equal(flt12?.status, status, `${name}: X402-FLT-12 ${JSON.stringify(flt12)}`);
    if (name !== 'ours') continue;
    // Every requirement that needs only rpc-faults is certified now (it was not-applicable for a
    // target file); the two that also need impersonate stay not-applicable for that alone.
    const statusOf = new Map((report.protocols[0].requirements as { id: string; status: string; reason?: string }[]).map((q) => [q.id, `${q.status}${q.reason ? ` ${q.reason}` : ''}`]));
    for (const id of ['X402-SET-02', 'X402-SET-03', ...['03', '04', '05', '06', '07', '08', '09', '12'].map((n) => `X402-FLT-${n}`)]) assert.equal(statusOf.get(id), 'pass', id);
    for (const id of ['X402-FLT-10', 'X402-FLT-11']) assert.equal(statusOf.get(id), "not-applicable target lacks capability 'impersonate'", id);
  }
});
