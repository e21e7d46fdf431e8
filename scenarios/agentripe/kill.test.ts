/**
 * Each Agentripe requirement catches a broken server: an Agentripe stack with one test-only fault
 * (or a changed rule such as the review limit) runs on one base-sepolia anvil, is described as a
 * Target (endpoints + chain + accounts only), and the scenario covering the requirement must report
 * it failed. The five acceptance variants are also run through `amh certify` on a separate process
 * in certify.test.ts; this file covers the other requirements in-process, which is faster.
 *
 * Not here: AGR-ESC-02 (one resolution under races) and AGR-ESC-03 (buyer reclaim) are enforced by
 * the escrow contract, not the server (a server without its per-task lock still resolves once,
 * because the escrow refuses a second resolution); their broken variants are the forge invariant
 * suite's deliberately broken escrows (contracts/test/agentripe).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { roleAccounts, startChain, type RunningChain } from '../../harness/chain/index.ts';
import { createTargetClients } from '../../harness/engine/session.ts';
import { runAll } from '../../harness/engine/runner.ts';
import { parseTarget } from '../../harness/target/schema.ts';
import { startAgentripeStack } from '../../reference-impl/agentripe/stack.ts';
import type { AgentripeServerConfig } from '../../reference-impl/agentripe/server.ts';
import agentripe from './index.ts';

let chain: RunningChain;
before(async () => {
  chain = await startChain({ profile: 'base-sepolia' });
});
after(async () => {
  await chain?.stop();
});

async function certify(o: { config: Partial<AgentripeServerConfig>; grep: string; runs: number }) {
  const stack = await startAgentripeStack(chain, o.config);
  try {
    const { usdc: _u, ...contracts } = chain.profile.contracts;
    const target = parseTarget({
      name: 'agentripe variant',
      chains: [{ id: 'base-sepolia', chainId: chain.chainId, rpcUrl: chain.rpcUrl, usdc: { ...chain.profile.usdc }, contracts }],
      endpoints: { agentripe: stack.server.url },
      accounts: roleAccounts.map((a) => ({ role: a.role, address: a.address, privateKey: a.privateKey })),
      capabilities: ['clock-control', 'snapshot'],
    });
    return await runAll(
      { target, targetInfo: { name: target.name, kind: 'file', capabilities: target.capabilities, chains: [] } as never, workers: [createTargetClients(target)], protocols: [agentripe] },
      { runs: o.runs, seed: 5, command: 'test', protocols: ['agentripe'], grep: o.grep },
    );
  } finally {
    await stack.stop();
  }
}

/** requirement → a server defect that must make it fail, and the scenario that shows it. */
const VARIANTS: { requirement: string; grep: string; runs: number; config: Partial<AgentripeServerConfig> }[] = [
  { requirement: 'AGR-PAY-02', grep: 'paid-task-approved', runs: 2, config: { faults: { taskIdNotTxHash: true } } },
  { requirement: 'AGR-AMT-01', grep: 'paid-task-approved', runs: 2, config: { faults: { recordAmountOffByOne: true } } },
  { requirement: 'AGR-TASK-01', grep: 'task-lifecycle-model', runs: 10, config: { faults: { anyStateComplete: true } } },
  { requirement: 'AGR-REV-01', grep: 'paid-task-approved', runs: 2, config: { faults: { refundOnApprove: true } } },
  { requirement: 'AGR-REV-02', grep: 'review-rejections', runs: 2, config: { reviewLimit: 1 } },
  { requirement: 'AGR-FAIL-01', grep: 'vendor-fail-refund', runs: 2, config: { faults: { failWithoutRefund: true } } },
  { requirement: 'AGR-AUTH-01', grep: 'vendor-ownership', runs: 2, config: { faults: { noOwnershipCheck: true } } },
  { requirement: 'AGR-AUTH-03', grep: 'wallet-change-signature', runs: 2, config: { faults: { walletChangeAlwaysOk: true } } },
];

for (const v of VARIANTS) {
  test(`${v.requirement} catches ${JSON.stringify(v.config)}`, { timeout: 120_000 }, async () => {
    const r = await certify(v);
    const p = r.protocols[0]!;
    const q = p.requirements.find((x) => x.id === v.requirement);
    assert.equal(q?.status, 'fail', `${v.requirement} is ${q?.status} (${q?.reason ?? ''}); scenarios: ${JSON.stringify(p.scenarios.map((s) => [s.caseId, s.status, s.reason]))}`);
    assert.equal(r.exitCode, 1);
  });
}
