/**
 * Kill table for `usdc`: each requirement and the BrokenFiatToken bug bit that violates it
 * (contracts/src/testing/BrokenFiatToken.sol, one switchable defect per rule), deployed on a fresh
 * blank chain and described as a Target; bug 0 is the correct token. USDC-3009-08 (relayers racing)
 * is caught by the nonce-reuse defect: the EVM puts transactions one after another.
 */
import { defineKills } from '../../harness/testing/kill.ts';
import { startBrokenTarget } from '../../harness/target/testing.ts';

export default defineKills<bigint>({
  protocol: 'usdc',
  seed: 42,
  controlRuns: 8,
  start: (bug) => startBrokenTarget({ tokenBugs: bug ?? 0n }),
  variants: [
    { requirement: 'USDC-3009-01', defect: 'authorized transfer moves value - 1', variant: 1n << 10n, runs: 15 },
    { requirement: 'USDC-3009-02', defect: 'validBefore ignored (expired authorization accepted)', variant: 1n << 0n, runs: 15 },
    { requirement: 'USDC-3009-02', defect: 'accepts block.timestamp == validBefore (off by one; needs clock-control)', variant: 1n << 12n, runs: 15 },
    { requirement: 'USDC-3009-03', defect: 'validAfter ignored', variant: 1n << 1n, runs: 15 },
    { requirement: 'USDC-3009-04', defect: 'nonces never marked used', variant: 1n << 2n, runs: 15 },
    { requirement: 'USDC-3009-05', defect: 'signature not verified', variant: 1n << 3n, runs: 15 },
    { requirement: 'USDC-3009-06', defect: 'receiveWithAuthorization callable by anyone', variant: 1n << 4n, runs: 15 },
    { requirement: 'USDC-3009-07', defect: 'cancelAuthorization emits but does not burn the nonce', variant: 1n << 5n, runs: 15 },
    { requirement: 'USDC-3009-08', defect: 'no replay protection: concurrent submissions all settle', variant: 1n << 2n, runs: 15 },
    { requirement: 'USDC-2612-01', defect: 'permit approves value / 2', variant: 1n << 11n, runs: 15 },
    { requirement: 'USDC-2612-02', defect: 'permit deadline ignored', variant: 1n << 6n, runs: 15 },
    { requirement: 'USDC-2612-03', defect: 'permit nonce never increments', variant: 1n << 7n, runs: 15 },
    { requirement: 'USDC-2612-04', defect: 'permit signature not verified', variant: 1n << 8n, runs: 15 },
    { requirement: 'USDC-DOM-01', defect: 'DOMAIN_SEPARATOR built from another name', variant: 1n << 9n, runs: 15 },
  ],
});
