/**
 * `amh load --protocol aps1` as a user runs it (the CLI's own module, in this process): the reference
 * deployment under 5 agents for 5 s passes with every job locked, executed with a matched proof,
 * completed and settled, the fee exact to the unit; an agent that does the work but answers the
 * execution with a 500 (a loopback front of the reference agent) fails on the 5xx, and the jobs it
 * left completed but unsettled are still accounted for in the escrow. No timing assertions.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Hono } from 'hono';
import { test } from 'vitest';
import { roleAccounts } from '../../harness/chain/index.ts';
import type { LoadReport } from '../../harness/load/run.ts';
import { listen } from '../_shared/http.ts';
import { startAps1Stack } from './server/stack.ts';
import { loadLab, readLoadReport, runLoadCli } from '../../harness/testing/load.ts';

const lab = loadLab('tempo', 'amh-load-aps1-');
const load = runLoadCli;
const readReport = readLoadReport;
const delta = (rep: LoadReport, prefix: string) => BigInt(rep.conservation.holdings.find((h) => h.name.startsWith(prefix))!.delta);

test('amh load --protocol aps1 on the reference deployment: 5 agents for 5 s, exit 0, every job settled, fees exact, money conserved', async () => {
  const out = path.join(lab.dir, 'reference');
  const r = await load(['--protocol', 'aps1', '--agents', '5', '--duration', '5s', '--ramp', '1s', '--out', out, '--quiet']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /conservation holds to the unit/);
  const rep = await readReport(out);
  assert.equal(rep.protocol, 'aps1');
  assert.equal(rep.iterations.failed, 0, JSON.stringify(rep.errors));
  const n = rep.iterations.completed;
  assert.ok(n > 0);
  // Per job: the negotiation and the execution (the chain transactions are the agents' own).
  assert.deepEqual(rep.requests.byStatus, { '200': 2 * n });
  for (const kind of ['escrowed', 'settled', 'worker-paid', 'fee']) assert.equal(rep.ledger.byKind[kind]!.count, n, kind);
  assert.ok(rep.conservation.ok);
  const budgets = BigInt(rep.ledger.byKind.escrowed!.amount);
  const fees = BigInt(rep.ledger.byKind.fee!.amount);
  // The seed's 8%: the reference agent's floor is $2 = 2,000,000 base units, 160,000 of it the fee.
  assert.equal(budgets, 2_000_000n * BigInt(n));
  assert.equal(fees, 160_000n * BigInt(n));
  assert.equal(delta(rep, "worker's"), budgets - fees);
  assert.equal(delta(rep, 'NexusV2 escrowed'), 0n);
  assert.equal(delta(rep, 'NexusV2 accumulatedFees'), fees);
});

test('an agent that does the job but answers the execution with a 500 fails on the 5xx: exit 1, class http 500; the unsettled jobs stay in the escrow, accounted for', async () => {
  const c = lab.chain;
  const stack = await startAps1Stack(c);
  // A front of the reference agent: everything is passed through, but an execution's answer (after
  // the agent ran, proved and completed the job) is replaced by a 500.
  const upstream = stack.agent.url.replace(/\/+$/, '');
  const app = new Hono();
  app.all('*', async (x) => {
    const u = new URL(x.req.url);
    const res = await fetch(`${upstream}${u.pathname}${u.search}`, {
      method: x.req.method,
      headers: { 'content-type': x.req.header('content-type') ?? 'application/json' },
      body: x.req.method === 'GET' ? undefined : await x.req.text(),
    });
    const text = await res.text();
    if (x.req.method === 'POST' && u.pathname === '/execute') return x.json({ error: 'internal error', code: 'internal', aps: '1.0' }, 500);
    return x.body(text, res.status as 200, { 'content-type': res.headers.get('content-type') ?? 'application/json' });
  });
  const front = await listen(app);
  try {
    const tokens = Object.fromEntries(c.profile.tokens.map((t) => [t.key, { address: t.address, name: t.name, version: t.version, decimals: t.decimals }]));
    const contracts = Object.fromEntries(Object.entries(c.profile.contracts).filter(([k]) => !c.profile.tokens.some((t) => t.key === k)));
    const file = path.join(lab.dir, 'execute-500.json');
    await writeFile(
      file,
      JSON.stringify({
        name: 'aps1 agent answering executions with 500',
        chains: [{ id: c.profile.id, chainId: c.chainId, rpcUrl: c.rpcUrl, tokens, contracts }],
        endpoints: { 'aps1-agent': front.url, 'aps1-marketplace': stack.marketplace.url },
        accounts: roleAccounts.map((a) => ({ role: a.role, address: a.address, privateKey: a.privateKey })),
      }),
    );
    const out = path.join(lab.dir, 'five-hundred');
    const r = await load(['--protocol', 'aps1', '--agents', '3', '--duration', '2s', '--target', file, '--out', out, '--quiet']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /errors: .*http 500 \d+/);
    assert.match(r.stdout, /verdict: FAIL \(\d+ answers? with a 5xx status/);
    const rep = await readReport(out);
    assert.equal(rep.iterations.completed, 0);
    assert.ok(rep.errors.byClass['http 500']! > 0);
    // Nothing settled, nothing lost: every budget locked is still in the escrow.
    assert.ok(rep.conservation.ok, JSON.stringify(rep.conservation.checks));
    const locked = BigInt(rep.ledger.byKind.escrowed!.amount);
    assert.ok(locked > 0n);
    assert.equal(delta(rep, 'NexusV2 escrowed'), locked);
    assert.equal(delta(rep, "worker's"), 0n);
  } finally {
    await front.stop();
    await stack.stop();
  }
});
