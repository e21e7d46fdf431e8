/**
 * `amh load --protocol aimarket` as a user runs it (the CLI's own module, in this process): the
 * reference deployment under 5 agents for 5 s passes with every call paid on chain, served once with
 * a receipt verified under the pinned key, and money conserved; the kill table's `receiptOtherKey`
 * hub (receipts signed with a key other than the advertised one) fails the served-payments check:
 * the buyers paid for calls whose receipts they cannot trust; a paid call whose 200 a fault proxy
 * drops is counted `answer-lost` (the buyer cannot tell whether it was served), not as money the hub
 * kept. No timing assertions.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'vitest';
import { roleAccounts, targetChainEntry } from '../../harness/chain/index.ts';
import { withFaultProxy } from '../../harness/faults/index.ts';
import { AIM_FAULTS } from './server/faults.ts';
import { startAimStack } from './server/stack.ts';
import { loadLab, readLoadReport, runLoadCli } from '../../harness/testing/load.ts';

const lab = loadLab('base', 'amh-load-aim-');
const load = runLoadCli;
const readReport = readLoadReport;

/** A target file naming `url` as the hub on the lab chain, with the role accounts (the funder among them). */
async function targetFile(name: string, url: string): Promise<string> {
  const file = path.join(lab.dir, `${name}.json`);
  await writeFile(
    file,
    JSON.stringify({
      name: `aimarket ${name}`,
      chains: [targetChainEntry(lab.chain)],
      endpoints: { aimarket: url },
      accounts: roleAccounts.map((a) => ({ role: a.role, address: a.address, privateKey: a.privateKey })),
    }),
  );
  return file;
}

test('amh load --protocol aimarket on the reference deployment: 5 agents for 5 s, exit 0, every payment served with a verified receipt, money conserved', async () => {
  const out = path.join(lab.dir, 'reference');
  const r = await load(['--protocol', 'aimarket', '--agents', '5', '--duration', '5s', '--ramp', '1s', '--out', out, '--quiet']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /conservation holds to the unit/);
  const rep = await readReport(out);
  assert.equal(rep.protocol, 'aimarket');
  assert.equal(rep.iterations.failed, 0, JSON.stringify(rep.errors));
  const n = rep.iterations.completed;
  assert.ok(n > 0);
  // Per call: the 402 and the paid 200 (the transfer is the buyer's own transaction).
  assert.deepEqual(rep.requests.byStatus, { '200': n, '402': n });
  assert.equal(rep.ledger.byKind.paid!.count, n);
  assert.equal(rep.ledger.byKind.served!.count, n);
  assert.ok(rep.conservation.ok);
  const recipient = rep.conservation.holdings.find((h) => h.name.startsWith("recipient's USDC"))!;
  assert.equal(BigInt(recipient.delta), BigInt(rep.ledger.byKind.paid!.amount));
  // The cheapest reference tool, upper@v1, is $0.004.
  assert.equal(BigInt(rep.ledger.byKind.paid!.amount), 4_000n * BigInt(n));
});

test('a hub signing receipts with another key (receiptOtherKey) fails the served-payments check: exit 1, the check named', async () => {
  const stack = await startAimStack(lab.chain, { faults: AIM_FAULTS.parse(['receiptOtherKey']), federation: false });
  try {
    const file = await targetFile('receipt-other-key', stack.provider.url);
    const out = path.join(lab.dir, 'other-key');
    const r = await load(['--protocol', 'aimarket', '--agents', '3', '--duration', '2s', '--target', file, '--out', out, '--quiet']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /conservation VIOLATED/);
    assert.match(r.stdout, /conservation: payments refused unserved \(no answer was lost\): expected 0, got [1-9]/);
    const rep = await readReport(out);
    assert.equal(rep.iterations.completed, 0);
    assert.ok(rep.errors.byClass['protocol:receipt-unverified']! > 0);
    assert.equal(rep.errors.serverErrors, 0);
    // The USDC itself moved as the buyers saw it: the loss is the service they paid for.
    assert.ok(rep.conservation.checks.find((x) => x.name.startsWith("buyers' + recipient's USDC"))!.ok);
  } finally {
    await stack.stop();
  }
});

test("a paid call's 200 dropped by a fault proxy is counted answer-lost (exit 1, indeterminate), not as a payment the hub kept unserved", async () => {
  const stack = await startAimStack(lab.chain, { federation: false });
  try {
    await withFaultProxy(stack.provider.url, async (proxy) => {
      const fault = proxy.arm({ name: "the paid call's 200 lost", when: { method: 'POST', header: 'x-payment', status: 200 }, action: { kind: 'drop-response', how: 'close' } });
      const file = await targetFile('answer-lost', proxy.through(stack.provider.url));
      const out = path.join(lab.dir, 'answer-lost');
      // One agent: the fault takes the first paid call's answer alone (two at once could both match before either answered).
      const r = await load(['--protocol', 'aimarket', '--agents', '1', '--duration', '2s', '--target', file, '--out', out, '--quiet']);
      // The hub served the call whose answer was lost: its receipt is in the answer the buyer never saw.
      assert.equal(fault.hits.length, 1);
      assert.equal(fault.hits[0]!.upstream[0]?.status, 200);
      assert.match(fault.hits[0]!.upstream[0]!.body.toString('utf8'), /"receipt"/);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /conservation: payments whose answer was lost \(no answer, or a refused retry after one\): expected 0, got 1/);
      const rep = await readReport(out);
      assert.equal(rep.errors.byClass['protocol:answer-lost'], 1, JSON.stringify(rep.errors));
      assert.equal(rep.errors.serverErrors, 0);
      assert.equal(rep.ledger.byKind['answer-lost']!.count, 1);
      assert.equal(rep.ledger.byKind.served!.count, rep.ledger.byKind.paid!.count - 1);
      // Only that check fails: the money moved as the buyers saw it, and no payment was refused unserved.
      assert.deepEqual(
        rep.conservation.checks.filter((x) => !x.ok).map((x) => x.name),
        ['payments whose answer was lost (no answer, or a refused retry after one)'],
      );
    });
  } finally {
    await stack.stop();
  }
});
