/**
 * Kill table for `x402`: our facilitator and demo resource with one deliberate defect each (their
 * test-only `faults` switches), on one base-sepolia anvil shared by every variant, described as a
 * Target (endpoints + chain + role accounts only). `simulate: false` lets a defective verify pass a
 * payment the token would refuse, so the defect reaches settlement (where the demo's
 * serveOnSettleFailure then serves it anyway).
 */
import { roleAccount, roleAccounts, startChain, tokenOf, type RunningChain } from '../../harness/chain/index.ts';
import { defineKills } from '../../harness/testing/kill.ts';
import { parseTarget } from '../../harness/target/schema.ts';
import { startDemoResource, type DemoFaults } from './server/demo.ts';
import { startFacilitator, type FacilitatorFaults } from './server/facilitator.ts';

interface Variant {
  facilitator?: FacilitatorFaults;
  simulate?: boolean;
  demo?: DemoFaults;
}

let chain: RunningChain | undefined;

export default defineKills<Variant>({
  protocol: 'x402',
  seed: 11,
  controlRuns: 4,
  async setup() {
    chain = await startChain({ profile: 'base-sepolia' });
  },
  async teardown() {
    await chain?.stop();
  },
  async start(v) {
    const c = chain!;
    const usdc = tokenOf(c.profile, 'usdc');
    const fac = await startFacilitator({ rpcUrl: c.rpcUrl, privateKey: roleAccount('provider').privateKey, faults: v?.facilitator, simulate: v?.simulate ?? true });
    const demo = await startDemoResource({
      facilitatorUrl: fac.url,
      payTo: roleAccount('judge').address,
      chainId: c.chainId,
      asset: usdc.address,
      domain: { name: usdc.name, version: usdc.version },
      faults: v?.demo,
    }).catch(async (e) => {
      await fac.stop();
      throw e;
    });
    const { usdc: _u, ...contracts } = c.profile.contracts;
    const target = parseTarget({
      name: `x402 reference variant ${JSON.stringify(v ?? {})}`,
      chains: [{ id: 'base-sepolia', chainId: c.chainId, rpcUrl: c.rpcUrl, usdc: { address: usdc.address, name: usdc.name, version: usdc.version, decimals: usdc.decimals }, contracts }],
      endpoints: { 'x402-resource': demo.resourceUrl, 'x402-facilitator': fac.url },
      accounts: roleAccounts.map((a) => ({ role: a.role, kind: 'evm', address: a.address, privateKey: a.privateKey })),
      capabilities: ['clock-control'],
    });
    return {
      target,
      async stop() {
        await demo.stop();
        await fac.stop();
      },
    };
  },
  variants: [
    { requirement: 'X402-CH-01', defect: 'the 402 carries no challenge', grep: 'x402/challenge', runs: 2, variant: { demo: { omitChallenge: true } } },
    { requirement: 'X402-PAY-01', defect: 'no PAYMENT-RESPONSE after settling', grep: 'pay-exact', runs: 2, variant: { demo: { omitPaymentResponse: true } } },
    { requirement: 'X402-AMT-01', defect: 'facilitator skips the amount check', grep: 'amount-v2-exact', runs: 4, variant: { facilitator: { skipAmountCheck: true } } },
    { requirement: 'X402-AMT-02', defect: 'facilitator skips the amount check (v1)', grep: 'amount-v1-readings', runs: 8, variant: { facilitator: { skipAmountCheck: true } } },
    { requirement: 'X402-NEG-01', defect: 'facilitator skips the recipient check', grep: 'x402/wrong-payto', runs: 2, variant: { facilitator: { skipRecipientCheck: true } } },
    { requirement: 'X402-NEG-02', defect: 'resource serves when payment is refused (fail open)', grep: 'x402/wrong-asset', runs: 2, variant: { demo: { failOpen: true } } },
    { requirement: 'X402-NEG-03', defect: 'resource serves when payment is refused (fail open)', grep: 'x402/wrong-network', runs: 2, variant: { demo: { failOpen: true } } },
    {
      requirement: 'X402-NEG-04',
      defect: 'no nonce check, and the resource serves on a failed settlement',
      grep: 'x402/replay$',
      runs: 2,
      variant: { simulate: false, facilitator: { skipNonceCheck: true }, demo: { serveOnSettleFailure: true } },
    },
    {
      requirement: 'X402-NEG-05',
      defect: "paywall trusts the payload's `accepted` instead of its own requirements",
      grep: 'x402/tampered-accepted',
      runs: 2,
      variant: { demo: { paywall: { trustAccepted: true } } },
    },
    { requirement: 'X402-NEG-06', defect: 'a malformed header crashes the resource (500)', grep: 'malformed-header', runs: 10, variant: { demo: { crashOnMalformed: true } } },
    { requirement: 'X402-NEG-07', defect: 'an oversized header crashes the resource (500)', grep: 'huge-header', runs: 2, variant: { demo: { crashOnMalformed: true } } },
    {
      requirement: 'X402-NEG-08',
      defect: 'facilitator reads the host clock, and the resource serves on a failed settlement',
      grep: 'expires-before-settlement',
      runs: 2,
      variant: { simulate: false, facilitator: { hostClock: true }, demo: { serveOnSettleFailure: true } },
    },
    {
      requirement: 'X402-RACE-01',
      defect: 'no nonce check, and the resource serves on a failed settlement',
      grep: 'replay-race',
      runs: 4,
      variant: { simulate: false, facilitator: { skipNonceCheck: true }, demo: { serveOnSettleFailure: true } },
    },
    { requirement: 'X402-FAC-01', defect: 'facilitator skips the amount check', grep: 'facilitator-verify', runs: 2, variant: { facilitator: { skipAmountCheck: true } } },
  ],
});
