/**
 * `amh load --protocol x402` as a user runs it (the CLI's own module, in this process): the
 * reference deployment under 10 agents for 5 s passes with money conserved; a resource that claims
 * settlements it never made (the kill table's `fakeSettlement`) fails conservation; a resource whose
 * paid handler answers 500 fails on the 5xx; an agent whose funder could give it only three
 * payments stops after them, and its refused fourth is not held against the resource. No timing
 * assertions.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Hono } from 'hono';
import { test } from 'vitest';
import { erc20Abi } from 'viem';
import { createChainClients, roleAccount, roleAccounts, throwawayAccount, tokenOf, targetChainEntry } from '../../harness/chain/index.ts';
import { errorHandler, listen, notFoundHandler } from '../_shared/http.ts';
import { startDemoResource, type DemoFaults } from './server/demo.ts';
import { startFacilitator } from './server/facilitator.ts';
import { paywall } from './server/paywall.ts';
import { loadLab, readLoadReport, runLoadCli } from '../../harness/testing/load.ts';

const lab = loadLab('base-sepolia', 'amh-load-x402-');
const load = runLoadCli;
const readReport = readLoadReport;

/** A target file for a resource on the test chain (the role accounts, unless others are given, fund the agents). */
async function targetFile(name: string, resourceUrl: string, accounts: readonly { role: string; address: string; privateKey: string }[] = roleAccounts): Promise<string> {
  const c = lab.chain;
  const file = path.join(lab.dir, `${name}.json`);
  await writeFile(
    file,
    JSON.stringify({
      name,
      chains: [targetChainEntry(c)],
      endpoints: { 'x402-resource': resourceUrl },
      accounts: accounts.map((a) => ({ role: a.role, address: a.address, privateKey: a.privateKey })),
    }),
  );
  return file;
}

/** The demo resource with a fault, behind our facilitator. */
async function demoWith(faults: DemoFaults) {
  const c = lab.chain;
  const usdc = tokenOf(c.profile, 'usdc');
  const fac = await startFacilitator({ rpcUrl: c.rpcUrl, privateKey: roleAccount('provider').privateKey });
  const demo = await startDemoResource({
    facilitatorUrl: fac.url,
    payTo: roleAccount('judge').address,
    chainId: c.chainId,
    asset: usdc.address,
    domain: { name: usdc.name, version: usdc.version },
    faults,
  });
  return { url: demo.resourceUrl, stop: async () => Promise.all([demo.stop(), fac.stop()]) };
}

test('amh load --protocol x402 on the reference deployment: 10 agents for 5 s, exit 0, money conserved, load.json', async () => {
  const out = path.join(lab.dir, 'reference');
  const r = await load(['--protocol', 'x402', '--agents', '10', '--duration', '5s', '--seed', '3', '--out', out, '--quiet']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /conservation holds to the unit/);
  assert.match(r.stdout, /^verdict: pass$/m);
  const rep = await readReport(out);
  assert.equal(rep.schemaVersion, '1.4.0');
  assert.deepEqual(rep.agentsOutOfFunds, [], 'the reference run funds its agents for the whole run');
  assert.equal(rep.ledger.unit, 'usd-6');
  assert.equal(rep.protocol, 'x402');
  assert.equal(rep.target.kind, 'reference');
  // The reference deployment's chains are the harness's: their pool repairs are counted, none lost.
  assert.ok(rep.nodeRepairs, 'nodeRepairs on a reference run');
  assert.equal(rep.nodeRepairs.lost, 0);
  assert.ok(rep.nodeRepairs.resent >= rep.nodeRepairs.stalls, 'each stall sends at least its stranded transaction back');
  assert.equal(rep.agents, 10);
  assert.equal(rep.seed, 3);
  assert.ok(rep.iterations.completed > 0);
  assert.equal(rep.errors.serverErrors, 0);
  // Every completed iteration is one 402 and one paid 200, and one ledger entry of the price.
  assert.equal(rep.iterations.failed, 0, JSON.stringify(rep.errors));
  assert.deepEqual(rep.requests.byStatus, { '200': rep.iterations.completed, '402': rep.iterations.completed });
  assert.equal(rep.ledger.byKind.paid!.count, rep.iterations.completed);
  assert.equal(BigInt(rep.ledger.byKind.paid!.amount), 10_000n * BigInt(rep.iterations.completed));
  assert.equal(rep.latencyMs.request.count, rep.requests.total - rep.requests.noAnswer);
  assert.ok(rep.conservation.ok);
  const payTo = rep.conservation.holdings.find((h) => h.name.startsWith('payTo'))!;
  assert.equal(BigInt(payTo.delta), BigInt(rep.ledger.byKind.paid!.amount));
});

test('a resource that reports settlements it never made (fakeSettlement) fails conservation: exit 1, the check named', async () => {
  const demo = await demoWith({ fakeSettlement: true });
  try {
    const out = path.join(lab.dir, 'fake');
    const r = await load(['--protocol', 'x402', '--agents', '3', '--duration', '2s', '--target', await targetFile('fake-settlement', demo.url), '--out', out, '--quiet']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /conservation VIOLATED/);
    assert.match(r.stdout, /conservation: payTo's gain = settled payments the agents saw: expected \d+, got 0/);
    assert.match(r.stdout, /conservation: reported settlement transactions not found on chain: expected 0, got [1-9]/);
    const rep = await readReport(out);
    assert.equal(rep.verdict.exitCode, 1);
    assert.equal(rep.errors.serverErrors, 0);
  } finally {
    await demo.stop();
  }
});

test('a resource whose paid handler answers 500 fails on the 5xx: exit 1, class http 500, nothing charged', async () => {
  const c = lab.chain;
  const usdc = tokenOf(c.profile, 'usdc');
  const fac = await startFacilitator({ rpcUrl: c.rpcUrl, privateKey: roleAccount('provider').privateKey });
  const app = new Hono();
  app.onError(errorHandler());
  app.notFound(notFoundHandler());
  const pay = paywall({
    facilitatorUrl: fac.url,
    accepts: { price: '$0.01', payTo: roleAccount('judge').address, network: `eip155:${c.chainId}`, asset: usdc.address, extra: { name: usdc.name, version: usdc.version } },
  });
  app.get('/broken', pay, (x) => x.json({ error: { code: 'internal', message: 'the handler fails' } }, 500));
  const server = await listen(app);
  try {
    const out = path.join(lab.dir, 'five-hundred');
    const r = await load(['--protocol', 'x402', '--agents', '3', '--duration', '2s', '--target', await targetFile('handler-500', `${server.url}/broken`), '--out', out, '--quiet']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /errors: http 500 \d+/);
    assert.match(r.stdout, /verdict: FAIL \(\d+ answers? with a 5xx status/);
    const rep = await readReport(out);
    assert.ok(rep.errors.byClass['http 500']! > 0);
    assert.equal(rep.iterations.completed, 0);
    // The paywall settles only answers below 400: the money stayed with the agents.
    assert.ok(rep.conservation.ok, JSON.stringify(rep.conservation.checks));
  } finally {
    await server.stop();
    await fac.stop();
  }
});

test('a funder holding three payments: the agent pays three times, then stops out of funds; the refused fourth is not the resource failing (exit 0)', async () => {
  const c = lab.chain;
  const usdc = tokenOf(c.profile, 'usdc');
  const demo = await demoWith({});
  try {
    // A funder of its own, given exactly three payments' worth ($0.01 each) and gas for the agent's funding.
    const funder = throwawayAccount('x402-load-test:poor-funder');
    const { walletClient, publicClient } = createChainClients(c);
    const admin = walletClient('admin');
    await publicClient.waitForTransactionReceipt({ hash: await admin.writeContract({ address: usdc.address, abi: erc20Abi, functionName: 'transfer', args: [funder.address, 30_000n] }) });
    await publicClient.waitForTransactionReceipt({ hash: await admin.sendTransaction({ to: funder.address, value: 10n ** 16n }) });
    const file = await targetFile('poor-funder', demo.url, [{ role: 'admin', address: funder.address, privateKey: funder.privateKey }]);
    const out = path.join(lab.dir, 'poor-funder');
    // A seed of its own: agent keys follow the seed, and the other tests' agents keep what they were given on this chain.
    const r = await load(['--protocol', 'x402', '--agents', '1', '--duration', '4s', '--seed', '41', '--target', file, '--out', out, '--quiet']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /^funds: 1 of 1 agent ran out of the money set-up gave it and stopped .*agent 0 held 0 after 3 iterations, one needs 10000\): the run's sizing or the funder, not the target/m,
    );
    const rep = await readReport(out);
    assert.equal(rep.iterations.completed, 3);
    assert.equal(rep.iterations.failed, 0, JSON.stringify(rep.errors));
    assert.equal(rep.agentsOutOfFunds.length, 1);
    assert.deepEqual({ ...rep.agentsOutOfFunds[0], atMs: 0 }, { agent: 0, atMs: 0, completed: 3, held: '0', needed: '10000', step: 'paid request' });
    // The fourth payment was refused with a 402 (the payer cannot cover it), counted as an answer only.
    assert.equal(rep.requests.byStatus['200'], 3);
    assert.ok(rep.conservation.ok, JSON.stringify(rep.conservation.checks));
    assert.equal(rep.ledger.byKind.paid!.amount, '30000');
  } finally {
    await demo.stop();
  }
});
