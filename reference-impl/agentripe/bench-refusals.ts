/**
 * What refusing a heavy malformed request costs the Agentripe reference server: one unauthenticated
 * request must not hold the event loop. Each of the fuzz's heavy requests (protocol/fuzz.ts
 * `heavyRequests`: 60 KB headers, 1 MB bodies, nesting 100,000 deep) is sent to a real stack and its
 * CPU in this process (server and client run here) is set against the bare linear work of parsing
 * 1 MB of JSON, measured in the same run.
 *
 *   npx tsx reference-impl/agentripe/bench-refusals.ts [--tries 3] [--limit 6]
 *
 * A refusal over `--limit` times that work (and over 400 ms) is quadratic-looking work before a
 * size check: the script lists it and exits 1. Linear work on a 1 MB body costs about 3 times
 * parsing it; the quadratic base58 decoding this fuzz once found cost 0.8 s. To show the yardstick
 * sees such work on this machine today, a deliberately quadratic server (it base58-decodes a 90 KB
 * Solana address before refusing it) is measured too and must land over the limit (else exit 1).
 * Each figure is the cheapest of `--tries` sends (a refusal changes nothing, so sending it again is
 * safe): a garbage collection or a neighbour's burst in one send is not the server's cost.
 *
 * The answers themselves (a JSON 4xx each) are checked by server/fuzz.test.ts; timings are measured
 * here and never asserted in a test. Prints a table and, last, one JSON line.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { privateKeyToAccount } from 'viem/accounts';
import { roleAccount } from '../../harness/chain/index.ts';
import { sendRaw } from '../../harness/robustness/http.ts';
import { base58Decode, vendorAuthMessage } from './protocol/auth.ts';
import { checkResponse, heavyRequests, type FuzzRequest } from './protocol/fuzz.ts';
import { startLab, type Lab } from './server/testkit.ts';

const { values: flags } = parseArgs({
  options: {
    tries: { type: 'string', default: '3' },
    limit: { type: 'string', default: '6' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log('usage: npx tsx reference-impl/agentripe/bench-refusals.ts [--tries 3] [--limit 6]');
  process.exit(0);
}
const TRIES = Number(flags.tries);
const LIMIT = Number(flags.limit);
if (!Number.isInteger(TRIES) || TRIES < 1 || !(LIMIT > 0)) {
  console.error('--tries must be a positive integer and --limit a positive number');
  process.exit(2);
}
/** Below this no refusal is called quadratic, whatever the ratio (a fast machine parses 1 MB in ~20 ms). */
const FLOOR_MS = 400;

/** CPU ms of `work` in this process, the cheapest of {@link TRIES} runs. */
async function cheapestCpuMs(work: () => unknown): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < TRIES; i++) {
    const cpu0 = process.cpuUsage();
    await work();
    const cpu = process.cpuUsage(cpu0);
    best = Math.min(best, (cpu.user + cpu.system) / 1000);
  }
  return best;
}

/** Sends `req` TRIES times; its cheapest CPU and what was wrong with an answer, if anything. */
async function refusalCost(baseUrl: string, req: FuzzRequest, agent: http.Agent): Promise<{ ms: number; problem: string | null }> {
  let problem: string | null = null;
  const ms = await cheapestCpuMs(async () => {
    const answer = await sendRaw(baseUrl, req, agent);
    problem ??= 'closed' in answer ? answer.closed : checkResponse(req, answer);
  });
  return { ms, problem };
}

/** The regression this measures against: base58 decoding (quadratic) before any length check. */
async function startQuadraticServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const server = http.createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => {
    base58Decode(String(req.headers['x-solana-address'] ?? ''));
    res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid Solana address' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function main(): Promise<number> {
  const megabyte = JSON.stringify({ task_metadata: Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`k${i}`, `${i}`.padEnd(8, 'x')])) });
  let lab: Lab | undefined;
  let quadratic: Awaited<ReturnType<typeof startQuadraticServer>> | undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    lab = await startLab();
    const agentId = await lab.registerAgent('vendor1');
    const vendor = privateKeyToAccount(roleAccount('vendor1').privateKey);
    const now = Math.floor(Date.now() / 1000);
    const validAuth = {
      'x-vendor-address': vendor.address,
      'x-agent-id': agentId.toString(),
      'x-timestamp': String(now),
      'x-signature': await vendor.signMessage({ message: vendorAuthMessage(vendor.address, String(now)) }),
    };
    const cases = heavyRequests({ agent: agentId, service: 'translate', validAuth }, now);
    const bareMs = await cheapestCpuMs(() => JSON.parse(megabyte));
    const budgetMs = Math.max(FLOOR_MS, LIMIT * bareMs);
    console.log(`Agentripe refusal cost: ${cases.length} heavy malformed requests, cheapest of ${TRIES} sends each, against parsing 1 MB of JSON (${bareMs.toFixed(1)} ms here)`);
    console.log(`over ${LIMIT}x that and over ${FLOOR_MS} ms (budget ${budgetMs.toFixed(0)} ms) is reported as quadratic-looking work`);
    const rows: { note: string; ms: number; ratio: number; over: boolean; problem: string | null }[] = [];
    for (const req of cases) {
      const { ms, problem } = await refusalCost(lab.stack.server.url, req, agent);
      const row = { note: req.note, ms, ratio: ms / bareMs, over: ms >= budgetMs, problem };
      rows.push(row);
      console.log(`  ${req.note.padEnd(38)} ${ms.toFixed(1).padStart(7)} ms  ${row.ratio.toFixed(2).padStart(6)}x${row.over ? '  OVER' : ''}${problem ? `  wrong answer: ${problem}` : ''}`);
    }
    quadratic = await startQuadraticServer();
    const probe: FuzzRequest = {
      cls: 'oversized',
      note: '90 KB Solana address, decoded before its length is checked',
      method: 'GET',
      path: '/vendor/tasks',
      headers: { 'x-solana-address': 'z'.repeat(90_000), 'x-agent-id': agentId.toString(), 'x-timestamp': String(now), 'x-signature': 'ab'.repeat(64) },
      expect4xx: true,
    };
    const control = await refusalCost(quadratic.url, probe, new http.Agent({ keepAlive: false }));
    const seen = control.ms >= budgetMs;
    console.log(
      `control: a quadratic server (${probe.note}): ${control.ms.toFixed(0)} ms = ${(control.ms / bareMs).toFixed(1)}x; ${seen ? 'over the limit, as it must be' : 'UNDER the limit: this yardstick cannot see quadratic work on this machine now'}`,
    );
    const over = rows.filter((r) => r.over || r.problem);
    const worst = rows.reduce((a, r) => (r.ratio > a.ratio ? r : a), rows[0]!);
    console.log(`worst refusal: ${worst.note}, ${worst.ratio.toFixed(2)}x parsing 1 MB of JSON; ${over.length ? `${over.length} over the limit or answered wrong` : 'every refusal within the limit'}`);
    console.log(
      JSON.stringify({
        bench: 'agentripe-refusals',
        tries: TRIES,
        limit: LIMIT,
        bareParseMs: Number(bareMs.toFixed(2)),
        budgetMs: Number(budgetMs.toFixed(1)),
        refusals: rows.map((r) => ({ note: r.note, cpuMs: Number(r.ms.toFixed(2)), ratio: Number(r.ratio.toFixed(3)), over: r.over, problem: r.problem })),
        worstRatio: Number(worst.ratio.toFixed(3)),
        control: { cpuMs: Number(control.ms.toFixed(1)), ratio: Number((control.ms / bareMs).toFixed(2)), seen },
      }),
    );
    return over.length || !seen ? 1 : 0;
  } finally {
    agent.destroy();
    await quadratic?.stop();
    await lab?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`bench-refusals failed: ${e.stack ?? e.message}`);
    process.exit(1);
  },
);
