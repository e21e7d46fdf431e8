/**
 * Each x402 requirement catches a broken implementation: a facilitator with one `faults` switch
 * and/or a demo resource with a defect is started on one base-sepolia anvil, described as a Target
 * (endpoints + chain + role accounts only), and the scenario covering the requirement must report
 * it failed. The healthy pair passes every requirement first.
 */
import { test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import type { Address } from 'viem';
import { roleAccount, roleAccounts, startChain, type RunningChain } from '../../harness/chain/index.ts';
import { createTargetClients } from '../../harness/engine/session.ts';
import { runAll } from '../../harness/engine/runner.ts';
import { parseTarget } from '../../harness/target/schema.ts';
import { startFacilitator, type FacilitatorFaults } from '../../reference-impl/x402/server/facilitator.ts';
import { startDemoResource, type DemoFaults } from '../../reference-impl/x402/server/demo.ts';
import x402 from './index.ts';

let chain: RunningChain;
beforeAll(async () => {
  chain = await startChain({ profile: 'base-sepolia' });
});
afterAll(async () => {
  await chain?.stop();
});

/** Start facilitator + demo with the given faults, run the x402 scenarios matching `grep`. */
async function certify(o: { facilitator?: FacilitatorFaults; simulate?: boolean; demo?: DemoFaults; grep?: string; runs: number }) {
  const fac = await startFacilitator({ rpcUrl: chain.rpcUrl, privateKey: roleAccount('provider').privateKey, faults: o.facilitator, simulate: o.simulate ?? true });
  const demo = await startDemoResource({
    facilitatorUrl: fac.url,
    payTo: roleAccount('judge').address,
    chainId: chain.chainId,
    asset: chain.profile.usdc.address as Address,
    domain: { name: chain.profile.usdc.name, version: chain.profile.usdc.version },
    faults: o.demo,
  });
  try {
    const { usdc: _u, ...contracts } = chain.profile.contracts;
    const target = parseTarget({
      name: 'x402 variant',
      chains: [{ id: 'base-sepolia', chainId: chain.chainId, rpcUrl: chain.rpcUrl, usdc: { ...chain.profile.usdc }, contracts }],
      endpoints: { 'x402-resource': demo.resourceUrl, 'x402-facilitator': fac.url },
      accounts: roleAccounts.map((a) => ({ role: a.role, address: a.address, privateKey: a.privateKey })),
      capabilities: ['clock-control'],
    });
    return await runAll(
      { target, targetInfo: { name: target.name, kind: 'file', capabilities: target.capabilities, chains: [] } as never, workers: [createTargetClients(target)], protocols: [x402] },
      { runs: o.runs, seed: 11, command: 'test', protocols: ['x402'], grep: o.grep },
    );
  } finally {
    await demo.stop();
    await fac.stop();
  }
}

test('healthy facilitator + resource pass every x402 requirement', { timeout: 120_000 }, async () => {
  const r = await certify({ runs: 4 });
  const reqs = r.protocols[0]!.requirements;
  assert.deepEqual(
    reqs.filter((q) => q.status !== 'pass').map((q) => `${q.id}: ${q.status} ${q.reason ?? ''}`),
    [],
  );
  assert.equal(reqs.length, x402.requirements.length);
  assert.equal(r.exitCode, 0);
});

/** requirement → the defect that must make it fail (and the scenario that shows it). */
// `simulate: false` lets a defective verify pass a payment the token would refuse, so the defect
// reaches settlement (where the demo's serveOnSettleFailure then serves it anyway).
const VARIANTS: { requirement: string; grep: string; runs: number; facilitator?: FacilitatorFaults; simulate?: boolean; demo?: DemoFaults }[] = [
  { requirement: 'X402-CH-01', grep: 'x402/challenge', runs: 2, demo: { omitChallenge: true } },
  { requirement: 'X402-PAY-01', grep: 'pay-exact', runs: 2, demo: { omitPaymentResponse: true } },
  { requirement: 'X402-AMT-01', grep: 'amount-v2-exact', runs: 4, facilitator: { skipAmountCheck: true } },
  { requirement: 'X402-AMT-02', grep: 'amount-v1-readings', runs: 8, facilitator: { skipAmountCheck: true } },
  { requirement: 'X402-NEG-01', grep: 'x402/wrong-payto', runs: 2, facilitator: { skipRecipientCheck: true } },
  { requirement: 'X402-NEG-02', grep: 'x402/wrong-asset', runs: 2, demo: { failOpen: true } },
  { requirement: 'X402-NEG-03', grep: 'x402/wrong-network', runs: 2, demo: { failOpen: true } },
  { requirement: 'X402-NEG-04', grep: 'x402/replay$', runs: 2, simulate: false, facilitator: { skipNonceCheck: true }, demo: { serveOnSettleFailure: true } },
  { requirement: 'X402-NEG-05', grep: 'x402/tampered-accepted', runs: 2, demo: { paywall: { trustAccepted: true } } },
  { requirement: 'X402-NEG-06', grep: 'malformed-header', runs: 10, demo: { crashOnMalformed: true } },
  { requirement: 'X402-NEG-07', grep: 'huge-header', runs: 2, demo: { crashOnMalformed: true } },
  { requirement: 'X402-NEG-08', grep: 'expires-before-settlement', runs: 2, simulate: false, facilitator: { hostClock: true }, demo: { serveOnSettleFailure: true } },
  { requirement: 'X402-RACE-01', grep: 'replay-race', runs: 4, simulate: false, facilitator: { skipNonceCheck: true }, demo: { serveOnSettleFailure: true } },
  { requirement: 'X402-FAC-01', grep: 'facilitator-verify', runs: 2, facilitator: { skipAmountCheck: true } },
];

for (const v of VARIANTS) {
  test(`${v.requirement} catches ${JSON.stringify({ ...v.facilitator, ...v.demo })}`, { timeout: 120_000 }, async () => {
    const r = await certify(v);
    const q = r.protocols[0]!.requirements.find((x) => x.id === v.requirement);
    assert.equal(q?.status, 'fail', `${v.requirement} is ${q?.status} (${q?.reason ?? ''}); scenarios: ${JSON.stringify(r.protocols[0]!.scenarios.map((s) => [s.caseId, s.status, s.reason]))}`);
    assert.equal(r.exitCode, 1);
  });
}
