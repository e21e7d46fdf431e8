/**
 * Engine benchmark: property runs per second of a simple chain scenario through the whole harness
 * (fast-check, viem, evidence, snapshot/revert isolation, checks), against the same scenario's
 * JSON-RPC calls replayed bare, without the harness.
 *
 *   npm run bench -- [--runs 200] [--seed 42] [--scenario usdc/3009-valid-transfer] [--rounds 3]
 *
 * 1. Record: the scenario runs once through a recording proxy in front of a fixture chain
 *    (base profile, real FiatTokenV2_2), capturing every JSON-RPC request body in order.
 * 2. Harness: the same scenario, same seed and runs, straight to anvil (no proxy), timed.
 * 3. Bare: the recorded request bodies are sent one by one (postJsonRpc: the harness's own
 *    transport, WebSockets to the anvils it starts) to a fresh chain from the same fixture
 *    (snapshot ids remapped; signed transactions re-sent as recorded;
 *    nothing is generated, signed, decoded or checked). That is the floor for these chain calls.
 *
 * Prints plain lines and, last, one JSON line. Stops every process it starts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { keepAliveFetch, postJsonRpc, startChain, type RunningChain } from '../chain/index.ts';
import { runAll } from '../engine/runner.ts';
import { createTargetClients } from '../engine/session.ts';
import { targetInfo } from '../cli/execute.ts';
import { loadProtocols } from '../packs/discover.ts';
import { describeReference } from '../services/reference.ts';

const protocols = await loadProtocols();

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    seed: { type: 'string', default: '42' },
    scenario: { type: 'string', default: 'usdc/3009-valid-transfer' },
    rounds: { type: 'string', default: '3' },
  },
});
const runs = Number(values.runs);
const seed = Number(values.seed);
const rounds = Math.max(1, Number(values.rounds));
const [protocolId, scenarioId] = values.scenario!.split('/');
const protocol = protocols.find((p) => p.id === protocolId);
if (!protocol?.scenarios.some((s) => s.id === scenarioId)) throw new Error(`unknown scenario ${values.scenario}`);
const grep = `^${protocolId}/${scenarioId}$`;

interface Recorded {
  body: string;
  method: string;
  result?: unknown;
}

/** A JSON-RPC proxy that forwards to `upstream` and records each request (and snapshot results). */
async function recordingProxy(upstream: string): Promise<{ url: string; log: Recorded[]; close(): Promise<void> }> {
  const log: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const up = await keepAliveFetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await up.text();
      const parsed = JSON.parse(body) as { method?: string } | { method?: string }[];
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
        const entry: Recorded = { body: Array.isArray(parsed) ? JSON.stringify(m) : body, method: m.method ?? '?' };
        if (m.method === 'evm_snapshot') entry.result = (JSON.parse(text) as { result: unknown }).result;
        log.push(entry);
      }
      res.writeHead(up.status, { 'content-type': 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, log, close: () => new Promise((r) => server.close(() => r())) };
}

async function harnessRun(chain: RunningChain, rpcUrl: string): Promise<{ ms: number; runs: number; status: string }> {
  const target = describeReference([{ ...chain, rpcUrl }]);
  const t0 = performance.now();
  const report = await runAll({ target, targetInfo: targetInfo(target, 'reference'), workers: [createTargetClients(target)], protocols: [protocol!] }, { runs, seed, grep, command: 'bench' });
  const ms = performance.now() - t0;
  const sc = report.protocols[0]!.scenarios[0]!;
  return { ms, runs: sc.runs, status: sc.status };
}

async function bareReplay(rpcUrl: string, log: Recorded[]): Promise<number> {
  const ids = new Map<string, unknown>();
  const t0 = performance.now();
  for (const r of log) {
    let body = r.body;
    if (r.method === 'evm_revert') {
      const req = JSON.parse(body) as { params: unknown[] };
      req.params = [ids.get(String(req.params[0])) ?? req.params[0]];
      body = JSON.stringify(req);
    }
    const res = await postJsonRpc(rpcUrl, body);
    const out = JSON.parse(res.text) as { result?: unknown; error?: { message: string } };
    if (out.error) throw new Error(`bare replay: ${r.method} failed: ${out.error.message}`);
    if (r.method === 'evm_snapshot') ids.set(String(r.result), out.result);
  }
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const started: RunningChain[] = [];
const stopAll = () => Promise.allSettled(started.map((c) => c.stop()));
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));

try {
  const results: { harnessRps: number; bareRps: number }[] = [];
  let callsPerRun = 0;
  let methods: Record<string, number> = {};
  for (let round = 0; round < rounds; round++) {
    // 1. record
    const recChain = await startChain({ profile: 'base' });
    started.push(recChain);
    const proxy = await recordingProxy(recChain.rpcUrl);
    const rec = await harnessRun(recChain, proxy.url);
    await proxy.close();
    if (rec.status !== 'pass') throw new Error(`scenario did not pass while recording (${rec.status})`);
    callsPerRun = proxy.log.length / rec.runs;
    methods = {};
    for (const r of proxy.log) methods[r.method] = (methods[r.method] ?? 0) + 1;
    // 2. harness, timed, straight to anvil
    const h = await harnessRun(recChain, recChain.rpcUrl);
    await recChain.stop();
    // 3. bare replay of the recorded calls on a fresh chain from the same fixture
    const bareChain = await startChain({ profile: 'base' });
    started.push(bareChain);
    const bareMs = await bareReplay(bareChain.rpcUrl, proxy.log);
    await bareChain.stop();
    results.push({ harnessRps: (h.runs / h.ms) * 1000, bareRps: (rec.runs / bareMs) * 1000 });
    process.stdout.write(`round ${round + 1}: harness ${results.at(-1)!.harnessRps.toFixed(1)} runs/s, bare ${results.at(-1)!.bareRps.toFixed(1)} runs/s\n`);
  }
  const harnessRps = median(results.map((r) => r.harnessRps));
  const bareRps = median(results.map((r) => r.bareRps));
  const perRun = Object.fromEntries(Object.entries(methods).map(([m, n]) => [m, +(n / (callsPerRun ? Object.values(methods).reduce((a, b) => a + b, 0) / callsPerRun : 1)).toFixed(2)]));
  process.stdout.write(
    `${[
      `scenario ${values.scenario}, ${runs} runs, seed ${seed}, median of ${rounds} round(s)`,
      `harness: ${harnessRps.toFixed(1)} property runs/s (fast-check + viem + evidence + snapshot/revert + checks)`,
      `bare:    ${bareRps.toFixed(1)} runs/s (the same ${callsPerRun.toFixed(1)} JSON-RPC calls per run replayed over the same transport)`,
      `ratio harness/bare: ${(harnessRps / bareRps).toFixed(2)} (harness overhead ×${(bareRps / harnessRps).toFixed(2)})`,
      `calls per run: ${JSON.stringify(perRun)}`,
    ].join('\n')}\n`,
  );
  process.stdout.write(
    `${JSON.stringify({
      scenario: values.scenario,
      runs,
      seed,
      rounds,
      harnessRunsPerSec: +harnessRps.toFixed(2),
      bareRunsPerSec: +bareRps.toFixed(2),
      ratio: +(harnessRps / bareRps).toFixed(3),
      callsPerRun: +callsPerRun.toFixed(2),
      perRun,
    })}\n`,
  );
} finally {
  await stopAll();
}
