/**
 * `amh load --protocol aisp` as a user runs it (the CLI's own module, in this process): the reference
 * deployment under 5 agents for 5 s passes with every rental funded, its key released, used, revoked
 * and refunded, and money conserved to the unit (a get-key 404 for a funded rental was the indexer's
 * single-flight race, fixed: indexer.test.ts); the kill table's `expiresAtOffByOneDay` backend (the
 * key answer says the rental ends a day later than it does on chain) fails the key-release check.
 * No timing assertions.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'vitest';
import { roleAccounts, targetChainEntry } from '../../harness/chain/index.ts';
import { AISP_FAULTS } from './server/faults.ts';
import { startAispStack } from './server/stack.ts';
import { loadLab, readLoadReport, runLoadCli } from '../../harness/testing/load.ts';

const lab = loadLab('base', 'amh-load-aisp-');
const load = runLoadCli;
const readReport = readLoadReport;

test('amh load --protocol aisp on the reference deployment: 5 agents for 5 s, exit 0, every keyed rental revoked and refunded, money conserved', async () => {
  const out = path.join(lab.dir, 'reference');
  const r = await load(['--protocol', 'aisp', '--agents', '5', '--duration', '5s', '--ramp', '1s', '--out', out, '--quiet']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /conservation holds to the unit/);
  const rep = await readReport(out);
  assert.equal(rep.protocol, 'aisp');
  const n = rep.iterations.completed;
  assert.ok(n > 0);
  assert.equal(rep.iterations.failed, 0, JSON.stringify(rep.errors));
  // Per rental the agents' HTTP: get key, the chat completion, the key rotation (issue, store, delete
  // the old one), the old key refused. Chain transactions are the agents' own and not counted here.
  assert.equal(rep.requests.byStatus['401'], n);
  assert.equal(rep.errors.serverErrors, 0);
  assert.equal(rep.ledger.byKind.funded!.count, n);
  for (const kind of ['key', 'refunded', 'provider-paid', 'fee']) assert.equal(rep.ledger.byKind[kind]!.count, n, kind);
  assert.ok(rep.conservation.ok);
  const held = (prefix: string) => BigInt(rep.conservation.holdings.find((h) => h.name.startsWith(prefix))!.delta);
  // Every rental was resolved: the escrow holds nothing more than before.
  assert.equal(held("marketplace's USDC"), 0n);
  assert.equal(held('marketplace totalEscrowed'), 0n);
  assert.equal(held("renters' USDC"), -(BigInt(rep.ledger.byKind['provider-paid']!.amount) + BigInt(rep.ledger.byKind.fee!.amount)));
  assert.ok(BigInt(rep.ledger.byKind.fee!.amount) > 0n);
});

test('a backend whose key answer says the rental ends a day late (expiresAtOffByOneDay) fails the key-release check: exit 1, the check named', async () => {
  const c = lab.chain;
  const stack = await startAispStack(c, { faults: AISP_FAULTS.parse(['expiresAtOffByOneDay']) });
  try {
    const file = path.join(lab.dir, 'expires-off-by-one-day.json');
    await writeFile(
      file,
      JSON.stringify({
        name: 'aisp expiresAtOffByOneDay',
        chains: [targetChainEntry(c)],
        endpoints: { 'aisp-backend': stack.backend.url, 'aisp-inference': stack.venice.url },
        accounts: roleAccounts.map((a) => ({ role: a.role, address: a.address, privateKey: a.privateKey })),
        config: { aisp: { adminKeys: stack.adminKeys } },
      }),
    );
    const out = path.join(lab.dir, 'expiry');
    const r = await load(['--protocol', 'aisp', '--agents', '3', '--duration', '2s', '--target', file, '--out', out, '--quiet']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /conservation VIOLATED/);
    assert.match(r.stdout, /conservation: key releases whose expiresAt differs from the rental's on chain: expected 0, got [1-9]/);
    const rep = await readReport(out);
    assert.ok(rep.target.capabilities.includes('aisp:admin-keys'), 'the fixture the file asks for (its ADMIN keys) ran, as under certify');
    assert.ok(rep.iterations.completed > 0);
    assert.equal(rep.errors.serverErrors, 0);
    // The money itself is conserved: the defect is in what the key answer promises.
    assert.ok(
      rep.conservation.checks.filter((x) => !x.ok).every((x) => x.name.startsWith('key releases whose expiresAt')),
      JSON.stringify(rep.conservation.checks.filter((x) => !x.ok)),
    );
  } finally {
    await stack.stop();
  }
});
