/**
 * `amh load --protocol asa` as a user runs it (the CLI's own module, in this process): the reference
 * deployment under 3 agents for 5 s passes with every agreement paid, served and completed and every
 * msat of the network accounted for; a network that settles without crediting the payee (money
 * destroyed) and a provider that refuses every paid credential (money kept unserved) each exit 1
 * naming the check. No timing assertions.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, test } from 'vitest';
import { readLoadReport, runLoadCli } from '../../harness/testing/load.ts';
import { Requester } from './agents/requester.ts';
import { KIND } from './protocol/events.ts';
import { type AsaFaults, startAsaStack } from './server/stack.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'amh-load-asa-'));
});

/** `amh load` against an in-process stack with `faults`, described by a target file (no chain); `after` reads the stack before it stops. */
async function loadBroken(name: string, faults: AsaFaults, agents = 2, after?: (s: Awaited<ReturnType<typeof startAsaStack>>) => Promise<void>) {
  const s = await startAsaStack({ faults });
  try {
    const file = path.join(dir, `${name}.json`);
    await writeFile(file, JSON.stringify({ name: `asa ${name}`, endpoints: s.endpoints, config: s.config }));
    const out = path.join(dir, name);
    const r = await runLoadCli(['--protocol', 'asa', '--agents', String(agents), '--duration', '3s', '--target', file, '--out', out, '--quiet']);
    await after?.(s);
    return { r, rep: await readLoadReport(out) };
  } finally {
    await s.stop();
  }
}

test('amh load --protocol asa on the reference deployment: 3 agents for 5 s, exit 0, every agreement paid, served and completed, every msat accounted for', async () => {
  const out = path.join(dir, 'reference');
  const r = await runLoadCli(['--protocol', 'asa', '--agents', '3', '--duration', '5s', '--out', out, '--quiet']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /conservation holds to the unit/);
  assert.match(r.stdout, /paid \d+ \(\d+ msat\)/, 'amounts are printed in msat, not dollars');
  const rep = await readLoadReport(out);
  assert.equal(rep.protocol, 'asa');
  assert.equal(rep.ledger.unit, 'msat');
  assert.equal(rep.iterations.failed, 0, JSON.stringify(rep.errors));
  const n = rep.iterations.completed;
  assert.ok(n > 0);
  // Per agreement: the unpaid 402, the network's payment (200) and the paid request (200).
  assert.deepEqual(rep.requests.byStatus, { '200': 2 * n, '402': n });
  for (const kind of ['paid', 'fee', 'served', 'completed']) assert.equal(rep.ledger.byKind[kind]!.count, n, kind);
  // The reference provider lists 50 sats and offers its listed price to a budget at it.
  assert.equal(BigInt(rep.ledger.byKind.paid!.amount), 50_000n * BigInt(n));
  assert.ok(BigInt(rep.ledger.byKind.fee!.amount) > 0n, 'the hubs charge routing fees');
  const provider = rep.conservation.holdings.find((h) => h.name.startsWith("provider's node"))!;
  assert.equal(BigInt(provider.delta), BigInt(rep.ledger.byKind.paid!.amount));
  const hubs = rep.conservation.holdings.find((h) => h.name.startsWith('the rest of the network'))!;
  assert.equal(BigInt(hubs.delta), BigInt(rep.ledger.byKind.fee!.amount));
  assert.ok(rep.conservation.checks.length >= 10 && rep.conservation.checks.every((c) => c.ok));
});

test('a network that settles without crediting the payee (skipPayeeCredit) exits 1: msat destroyed, the provider gained nothing', async () => {
  const { r, rep } = await loadBroken('skip-payee-credit', { network: { skipPayeeCredit: true } });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /conservation VIOLATED/);
  assert.match(r.stdout, /conservation: the network's total msat is what it was: expected \d+, got \d+/);
  assert.match(r.stdout, /conservation: provider's gain = amounts of the payments seen: expected [1-9]\d*, got 0/);
  assert.equal(rep.errors.serverErrors, 0);
});

test('a provider that refuses every paid credential (refusePaid) exits 1 on the unserved payments; the msat themselves moved as the agents saw', async () => {
  const { r, rep } = await loadBroken('refuse-paid', { provider: { refusePaid: true } });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /conservation: payments refused unserved \(no answer was lost\): expected 0, got [1-9]/);
  assert.equal(rep.iterations.completed, 0);
  assert.ok(
    Object.keys(rep.errors.byClass).some((k) => k.startsWith('http 4')),
    JSON.stringify(rep.errors.byClass),
  );
  for (const name of ["the network's total msat", "agents' spend", "provider's gain"]) assert.ok(rep.conservation.checks.find((c) => c.name.startsWith(name))!.ok, name);
});

// Found by the 10-minute load: the provider stamped every event one second after the last, so at
// several agreements a second its clock ran minutes ahead until the relay refused its events.
test('under load the provider stamps agreement versions with the clock: none is more than a few seconds ahead of it', async () => {
  const { r, rep } = await loadBroken('clock', {}, 4, async (s) => {
    const reader = await Requester.connect(s.relay.url, 'ab'.repeat(32));
    try {
      const versions = await reader.query([{ kinds: [KIND.agreement], authors: [s.provider.pubkey] }]);
      assert.ok(versions.length >= 3, `agreements on the relay: ${versions.length}`);
      const ahead = Math.max(...versions.map((e) => e.created_at)) - Math.floor(Date.now() / 1000);
      assert.ok(ahead <= 3, `the latest 38402 is ${ahead} s ahead of the clock`);
    } finally {
      reader.close();
    }
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(rep.iterations.completed >= 3);
});
