/**
 * `amh load --protocol agentripe` as a user runs it (the CLI's own module, in this process): the
 * reference deployment under 10 agents for 5 s passes with every paid task released and money
 * conserved; the kill table's `refundOnApprove` server (an approved result is refunded to the buyer
 * on chain while the answer says "released") fails conservation, naming the vendor's and the
 * release checks. No timing assertions.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'vitest';
import { roleAccounts, targetChainEntry } from '../../harness/chain/index.ts';
import { withFaultProxy } from '../../harness/faults/index.ts';
import { AGENTRIPE_FAULTS } from './server/faults.ts';
import { startAgentripeStack } from './server/stack.ts';
import { loadLab, readLoadReport, runLoadCli } from '../../harness/testing/load.ts';

const lab = loadLab('base-sepolia', 'amh-load-agr-');
const load = runLoadCli;
const readReport = readLoadReport;

/** A target file naming `url` as the Agentripe server on the lab chain, with the role accounts. */
async function targetFile(id: string, name: string, url: string): Promise<string> {
  const file = path.join(lab.dir, `${id}.json`);
  await writeFile(
    file,
    JSON.stringify({
      name,
      chains: [targetChainEntry(lab.chain)],
      endpoints: { agentripe: url },
      accounts: roleAccounts.map((a) => ({ role: a.role, address: a.address, privateKey: a.privateKey })),
      // The stack's rule reviewer applies the review fixture's rule.
      capabilities: ['agentripe:review-fixture'],
    }),
  );
  return file;
}

test('amh load --protocol agentripe on the reference deployment: 10 agents for 5 s, exit 0, every task released, money conserved', async () => {
  const out = path.join(lab.dir, 'reference');
  const r = await load(['--protocol', 'agentripe', '--agents', '10', '--duration', '5s', '--ramp', '1s', '--out', out, '--quiet']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /reviewed by the fixture reviewer/);
  assert.match(r.stdout, /conservation holds to the unit/);
  const rep = await readReport(out);
  assert.equal(rep.protocol, 'agentripe');
  assert.equal(rep.rampMs, 1000);
  assert.equal(rep.iterations.failed, 0, JSON.stringify(rep.errors));
  assert.ok(rep.iterations.completed > 0);
  // Per lifecycle: the 402, the paid request, start and complete.
  assert.deepEqual(rep.requests.byStatus, { '200': 3 * rep.iterations.completed, '402': rep.iterations.completed });
  assert.equal(rep.ledger.byKind.paid!.count, rep.iterations.completed);
  assert.equal(rep.ledger.byKind.released!.count, rep.iterations.completed);
  assert.ok(rep.conservation.ok);
  const escrow = rep.conservation.holdings.find((h) => h.name.startsWith("escrow's USDC"))!;
  const vendor = rep.conservation.holdings.find((h) => h.name.startsWith("vendor's withdrawable"))!;
  assert.equal(BigInt(escrow.delta), BigInt(rep.ledger.byKind.paid!.amount));
  assert.equal(BigInt(vendor.delta), BigInt(rep.ledger.byKind.released!.amount));
});

test("a server that refunds an approved task but answers 'released' (refundOnApprove, escrowActionAsDecided) fails conservation: exit 1, the checks named", async () => {
  const c = lab.chain;
  // refundOnApprove alone now answers what the escrow did ("refunded"); the lie needs the second fault.
  const stack = await startAgentripeStack(c, { faults: AGENTRIPE_FAULTS.parse(['refundOnApprove', 'escrowActionAsDecided']) });
  try {
    const file = await targetFile('refund-on-approve', 'agentripe refundOnApprove', stack.server.url);
    const out = path.join(lab.dir, 'refund');
    const r = await load(['--protocol', 'agentripe', '--agents', '3', '--duration', '2s', '--target', file, '--out', out, '--quiet']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /conservation VIOLATED/);
    assert.match(r.stdout, /conservation: vendor's withdrawable gain = releases the vendor saw: expected [1-9]\d*, got 0/);
    assert.match(r.stdout, /conservation: DepositReleased on chain = releases seen: expected [1-9]\d*, got 0/);
    assert.match(r.stdout, /conservation: agents' withdrawable gain = refunds seen: expected 0, got [1-9]/);
    const rep = await readReport(out);
    assert.ok(rep.iterations.completed > 0);
    assert.equal(rep.errors.serverErrors, 0);
    assert.equal(rep.verdict.exitCode, 1);
    // The agents' USDC and the escrow's still add up: the money went to the wrong party, not away.
    assert.ok(rep.conservation.checks.find((x) => x.name.startsWith("agents' + escrow's USDC"))!.ok);
  } finally {
    await stack.stop();
  }
});

test("answers lost on the way back (the paid request's 200 {taskId}, the vendor's complete): the agent finds the task and the release on chain, so money is conserved", async () => {
  const c = lab.chain;
  const stack = await startAgentripeStack(c);
  try {
    await withFaultProxy(stack.server.url, async (proxy) => {
      // The first paid answer is dropped after the server created the task: the retry with the same
      // payment is refused (nonce used), and the task is the payment's transaction (C.2).
      const paidLost = proxy.arm({ name: "the paid request's 200 lost", when: { method: 'POST', header: 'payment-signature', status: 200 }, action: { kind: 'drop-response', how: 'close' } });
      const completeLost = proxy.arm({ name: "the complete's 200 lost", when: { method: 'POST', path: /\/complete$/, status: 200 }, action: { kind: 'drop-response', how: 'close' } });
      const file = await targetFile('lost-answers', 'agentripe behind a proxy that loses answers', proxy.through(stack.server.url));
      const out = path.join(lab.dir, 'lost-answers');
      // One agent: each fault takes the first matching answer alone.
      const r = await load(['--protocol', 'agentripe', '--agents', '1', '--duration', '2s', '--target', file, '--out', out, '--quiet']);
      assert.equal(paidLost.hits.length, 1);
      assert.equal(completeLost.hits.length, 1);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const rep = await readReport(out);
      assert.ok(rep.conservation.ok, JSON.stringify(rep.conservation.checks.filter((x) => !x.ok)));
      assert.equal(rep.ledger.byKind.paid!.count, rep.ledger.byKind.released!.count);
      assert.equal(rep.iterations.failed, 0, JSON.stringify(rep.errors));
    });
  } finally {
    await stack.stop();
  }
});
