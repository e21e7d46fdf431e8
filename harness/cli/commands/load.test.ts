/**
 * `amh load`'s own rules without a chain: options (durations, the agent cap, usage errors exit 2),
 * loopback-only targets, the error classes of real failed requests, and the driver's verdict on an
 * in-memory pack against a real loopback server (5xx answers and failed conservation checks fail the
 * run; the ledger reaches the pack). The packs' own runs are in reference-impl/{x402,agentripe}/load.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { UsageError } from '../execute.ts';
import { errorClass, LoadRecorder } from '../../load/measure.ts';
import { AgentOutOfFunds, defineLoad, equalCheck, expectStatus, HttpStatusFailure, LoadFailure, ledgerSum, PAYMENT_RETRIES, sendPayment, unlessOutOfFunds, type LedgerEntry } from '../../load/pack.ts';
import { checkLoadOptions, isLoopback, MAX_AGENTS, parseDuration, runLoad } from '../../load/run.ts';
import { runLoadCli } from '../../testing/load.ts';
import { summaryLines } from './load.ts';

const load = runLoadCli;

let server: Server;
let base: string;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'amh-load-'));
  // /ok answers 200, /fail 503, /hang never answers.
  server = createServer((req, res) => {
    if (req.url === '/hang') return;
    res.writeHead(req.url === '/fail' ? 503 : 200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test('durations: 30s, 10m, 1h, 1m30s, 500ms; a bare number or another unit is refused', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('10m'), 600_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('500ms'), 500);
  for (const bad of ['10', '10 m', '1d', '-5s', '', 's'])
    assert.throws(
      () => parseDuration(bad, '--duration'),
      (e: Error) => e instanceof UsageError && /--duration must be a duration like 30s/.test(e.message),
      bad,
    );
});

test('bounds: agents from 1 to the cap, a duration of at least 1 s, duration + ramp at most an hour', () => {
  checkLoadOptions({ agents: 1, durationMs: 1000 });
  checkLoadOptions({ agents: MAX_AGENTS, durationMs: 50 * 60_000, rampMs: 10 * 60_000 });
  assert.throws(() => checkLoadOptions({ agents: MAX_AGENTS + 1, durationMs: 1000 }), /above the maximum of 1000/);
  assert.throws(() => checkLoadOptions({ agents: 0, durationMs: 1000 }), /positive integer/);
  assert.throws(() => checkLoadOptions({ agents: 1, durationMs: 999 }), /at least 1s/);
  assert.throws(() => checkLoadOptions({ agents: 1, durationMs: 60 * 60_000, rampMs: 1 }), /must not exceed 60m/);
});

test('loopback: 127.0.0.0/8, ::1 and localhost only', () => {
  for (const u of ['http://127.0.0.1:8545', 'http://127.1.2.3/x', 'http://localhost:4020', 'http://[::1]:80']) assert.ok(isLoopback(u), u);
  for (const u of ['http://10.0.0.1:8545', 'https://example.com', 'http://0.0.0.0:1', 'http://128.0.0.1', 'not a url']) assert.ok(!isLoopback(u), u);
});

test('usage errors exit 2 with the reason: missing options, the agent cap, a bad duration, a protocol without load, a remote target', async () => {
  assert.match((await load(['--agents', '1', '--duration', '1s'])).stderr, /needs --protocol P/);
  const capped = await load(['--protocol', 'x402', '--agents', '5000', '--duration', '1s']);
  assert.equal(capped.code, 2);
  assert.match(capped.stderr, /--agents 5000 is above the maximum of 1000/);
  assert.match((await load(['--protocol', 'x402', '--agents', '2', '--duration', '10'])).stderr, /--duration must be a duration like 30s/);
  const usdc = await load(['--protocol', 'usdc', '--agents', '2', '--duration', '1s']);
  assert.equal(usdc.code, 2);
  assert.match(usdc.stderr, /protocol 'usdc' has no load definition .*protocols with one: .*x402/);
  const file = path.join(dir, 'remote.json');
  await writeFile(file, JSON.stringify({ name: 'remote', chains: [{ id: 'c', chainId: 1, rpcUrl: 'http://10.0.0.2:8545' }], endpoints: { 'x402-resource': 'http://10.0.0.1:4021/premium' } }));
  const remote = await load(['--protocol', 'x402', '--agents', '2', '--duration', '1s', '--target', file]);
  assert.equal(remote.code, 2);
  assert.match(remote.stderr, /loopback targets only; http:\/\/10\.0\.0\.1:4021\/premium, http:\/\/10\.0\.0\.2:8545 are not on this machine \(pass --allow-remote/);
});

test('error classes of real failures: connection refused, timeout, an unexpected status, a protocol failure, a harness bug', async () => {
  const rec = new LoadRecorder(300);
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const refused = await rec.fetch(`http://127.0.0.1:${closedPort}/`).catch((e: unknown) => e);
  assert.equal(errorClass(refused).cls, 'connection');
  const hung = await rec.fetch(`${base}/hang`).catch((e: unknown) => e);
  assert.equal(errorClass(hung).cls, 'timeout');
  assert.equal(rec.requestFailures, 2);
  const res = await rec.fetch(`${base}/fail`);
  assert.throws(() => expectStatus(res.status, 200, 'step', {}), HttpStatusFailure);
  assert.equal(errorClass(new HttpStatusFailure(res.status, 'step', {})).cls, 'http 503');
  assert.equal(rec.serverErrors, 1);
  assert.equal(errorClass(new LoadFailure('settlement-failed', 'x')).cls, 'protocol:settlement-failed');
  assert.equal(errorClass(new TypeError('x is undefined')).cls, 'harness');
});

/**
 * An in-memory pack driving the loopback server: each iteration GETs `path` and records 5 units;
 * `first` runs before each iteration (it may throw what an iteration would).
 */
function fakePack(pathOf: (agent: number) => string, conserved = true, first?: (agent: number) => void) {
  let seen: readonly LedgerEntry[] = [];
  const pack = defineLoad({
    protocol: 'x402',
    iteration: 'one GET',
    endpoints: ['x402-resource'],
    async setup(env) {
      return {
        describe: `${env.agents} fake agents`,
        async iterate(agent, ctx) {
          first?.(agent);
          const r = await ctx.fetch(`${base}${pathOf(agent)}`);
          await r.text();
          expectStatus(r.status, 200, 'GET', null);
          ctx.ledger('paid', 5n, `${agent}`);
        },
        async conservation(ledger) {
          seen = ledger;
          const paid = ledgerSum(ledger, 'paid');
          return { holdings: [{ name: 'seller', before: 0n, after: paid }], checks: [equalCheck('seller gained what was paid', paid, conserved ? paid : paid + 1n)] };
        },
      };
    },
  });
  return { pack, seen: () => seen };
}

async function targetFile(): Promise<string> {
  const file = path.join(dir, 'local.json');
  await writeFile(file, JSON.stringify({ name: 'local', endpoints: { 'x402-resource': `${base}/ok` } }));
  return file;
}

test('the driver: N loops for the duration, every request timed, the ledger handed to the pack, load.json written; a clean run passes', async () => {
  const { pack, seen } = fakePack(() => '/ok');
  const out = path.join(dir, 'clean');
  const { report, file } = await runLoad({ protocol: 'x402', agents: 4, durationMs: 1000, rampMs: 200, seed: 1, out, targetFile: await targetFile(), packs: new Map([['x402', pack]]) });
  assert.equal(report.verdict.exitCode, 0, report.verdict.reasons.join('; '));
  assert.ok(report.iterations.completed > 0);
  assert.equal(report.requests.byStatus['200'], report.iterations.completed);
  assert.equal(report.latencyMs.request.count, report.iterations.completed);
  assert.equal(seen().length, report.iterations.completed);
  assert.deepEqual(new Set(seen().map((e) => e.agent)), new Set([0, 1, 2, 3]));
  assert.equal(report.ledger.byKind.paid!.amount, String(5 * report.iterations.completed));
  assert.equal(report.target.kind, 'file');
  assert.equal(report.nodeRepairs, undefined, "a target file's chains are not the harness's: no repairs to report");
  assert.deepEqual(JSON.parse(await readFile(file, 'utf8')).verdict, report.verdict);
  // The summary names node repairs only when anvil stranded something.
  const nodeLine = (r: typeof report) => summaryLines(r, file).filter((l) => l.startsWith('node:'));
  assert.deepEqual(nodeLine(report), []);
  assert.deepEqual(nodeLine({ ...report, nodeRepairs: { stalls: 0, resent: 0, lost: 0 } }), []);
  assert.deepEqual(nodeLine({ ...report, nodeRepairs: { stalls: 1, resent: 3, lost: 0 } }), [
    "node: anvil stranded a sender's transaction in its pool once; the harness sent 3 transactions back (harness/chain/pool-repair.ts)",
  ]);
  assert.deepEqual(nodeLine({ ...report, nodeRepairs: { stalls: 2, resent: 1, lost: 1 } }), [
    "node: anvil stranded a sender's transaction in its pool 2 times; the harness sent 1 transaction back, 1 could not be (harness/chain/pool-repair.ts)",
  ]);
});

test('the driver: a 5xx answer fails the run even when conservation holds; a failed conservation check fails it with the check named', async () => {
  const fivexx = fakePack((agent) => (agent === 0 ? '/fail' : '/ok'));
  const a = await runLoad({ protocol: 'x402', agents: 2, durationMs: 1000, seed: 1, out: path.join(dir, 'fivexx'), targetFile: await targetFile(), packs: new Map([['x402', fivexx.pack]]) });
  assert.equal(a.report.verdict.exitCode, 1);
  assert.ok(a.report.errors.byClass['http 503']! > 0);
  assert.match(a.report.verdict.reasons[0]!, /answers? with a 5xx status/);
  assert.ok(a.report.conservation.ok);

  const lost = fakePack(() => '/ok', false);
  const b = await runLoad({ protocol: 'x402', agents: 2, durationMs: 1000, seed: 1, out: path.join(dir, 'lost'), targetFile: await targetFile(), packs: new Map([['x402', lost.pack]]) });
  assert.equal(b.report.verdict.exitCode, 1);
  assert.equal(b.report.conservation.ok, false);
  assert.match(b.report.verdict.reasons.join('\n'), /conservation: seller gained what was paid: expected \d+, got \d+/);
});

test('unlessOutOfFunds: a failed spend with less than one iteration left (and nothing moved) is the agent out of funds; anything else keeps its own error', async () => {
  const refused = new HttpStatusFailure(402, 'paid request', 'insufficient funds');
  let reads = 0;
  const funds = (held: bigint | Error, moved?: boolean | Error) => ({
    step: 'paid request',
    needed: 10n,
    balance: async () => {
      reads++;
      if (held instanceof Error) throw held;
      return held;
    },
    ...(moved === undefined
      ? {}
      : {
          moved: async () => {
            if (moved instanceof Error) throw moved;
            return moved;
          },
        }),
  });
  const fail = async () => {
    throw refused;
  };
  // A spend that succeeds reads nothing.
  assert.equal(await unlessOutOfFunds(funds(0n), async () => 'paid'), 'paid');
  assert.equal(reads, 0);
  // Less than needed, nothing moved: out of funds, with what was held and needed.
  const out = await unlessOutOfFunds(funds(9n), fail).catch((e: unknown) => e);
  assert.ok(out instanceof AgentOutOfFunds);
  assert.deepEqual([out.held, out.needed, out.step], [9n, 10n, 'paid request']);
  assert.equal((await unlessOutOfFunds(funds(9n, false), fail).catch((e: unknown) => e)) instanceof AgentOutOfFunds, true);
  // Enough left (exactly one iteration): the target refused a payment the agent could cover.
  assert.equal(await unlessOutOfFunds(funds(10n), fail).catch((e: unknown) => e), refused);
  // The money left anyway (settled, then the answer failed), or that cannot be told: the target's failure.
  assert.equal(await unlessOutOfFunds(funds(0n, true), fail).catch((e: unknown) => e), refused);
  assert.equal(await unlessOutOfFunds(funds(0n, new Error('node down')), fail).catch((e: unknown) => e), refused);
  // The balance cannot be read: the step's error stands.
  assert.equal(await unlessOutOfFunds(funds(new Error('node down')), fail).catch((e: unknown) => e), refused);
});

test('the driver: an agent out of funds stops without a failure counted; the others go on; load.json and the summary say so', async () => {
  let calls = 0;
  // Agent 1 can pay for two iterations.
  const { pack } = fakePack(
    () => '/ok',
    true,
    (agent) => {
      if (agent === 1 && ++calls > 2) throw new AgentOutOfFunds(3n, 5n, 'paid request');
    },
  );
  const out = path.join(dir, 'out-of-funds');
  const { report, file } = await runLoad({ protocol: 'x402', agents: 2, durationMs: 1000, seed: 1, out, targetFile: await targetFile(), packs: new Map([['x402', pack]]) });
  assert.equal(report.verdict.exitCode, 0, report.verdict.reasons.join('; '));
  assert.equal(report.iterations.failed, 0);
  assert.equal(calls, 3, 'agent 1 stopped at its first iteration it could not pay for');
  assert.equal(report.agentsOutOfFunds.length, 1);
  const [stopped] = report.agentsOutOfFunds;
  assert.deepEqual({ ...stopped, atMs: 0 }, { agent: 1, atMs: 0, completed: 2, held: '3', needed: '5', step: 'paid request' });
  assert.ok(report.iterations.completed > 2, 'agent 0 went on');
  assert.deepEqual(JSON.parse(await readFile(file, 'utf8')).agentsOutOfFunds, report.agentsOutOfFunds);
  const line = summaryLines(report, file).find((l) => l.startsWith('funds:'));
  assert.match(
    line ?? '',
    /^funds: 1 of 2 agents ran out of the money set-up gave them and stopped \(at \d+\.\d s; agent 1 held 3 after 2 iterations, one needs 5\): the run's sizing or the funder, not the target/,
  );
  // Everybody out of funds before a single success: the run fails, saying why.
  calls = 0;
  const none = defineLoad({
    ...pack,
    async setup(env) {
      const run = await pack.setup(env);
      return {
        ...run,
        async iterate() {
          throw new AgentOutOfFunds(0n, 5n, 'paid request');
        },
      };
    },
  });
  const b = await runLoad({ protocol: 'x402', agents: 2, durationMs: 1000, seed: 1, out: path.join(dir, 'all-out'), targetFile: await targetFile(), packs: new Map([['x402', none]]) });
  assert.equal(b.report.verdict.exitCode, 1);
  assert.deepEqual(b.report.verdict.reasons, ['no iteration succeeded (2 agents ran out of funds)']);
});

test('sendPayment: the same payment goes again after a lost answer or a 5xx, at most PAYMENT_RETRIES times', async () => {
  // What the n-th request gets; every request is counted.
  let answers: ('hang up' | number)[] = ['hang up', 502, 200];
  let n = 0;
  const server = createServer((req, res) => {
    const a = answers[Math.min(n++, answers.length - 1)]!;
    if (a === 'hang up') return req.socket.destroy();
    res.writeHead(a).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const send = async () => ({ res: await fetch(url, { headers: { connection: 'close' } }) });
  try {
    assert.equal((await sendPayment(send)).res.status, 200);
    assert.equal(n, 3, 'a lost answer, a 502, then the answer');
    answers = [503];
    n = 0;
    assert.equal((await sendPayment(send)).res.status, 503, 'the last 5xx is returned once the retries are spent');
    assert.equal(n, 1 + PAYMENT_RETRIES);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});
