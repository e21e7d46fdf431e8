/**
 * Kill table for `erc8004`: each requirement and the BrokenIdentityRegistry /
 * BrokenReputationRegistry bug bits that violate it (contracts/src/testing/BrokenErc8004.sol),
 * deployed on a fresh blank chain and described as a Target; bits 0 are the correct registries.
 */
import { defineKills } from '../../harness/testing/kill.ts';
import { startBrokenTarget } from '../../harness/target/testing.ts';

export default defineKills<{ identity: bigint; reputation: bigint }>({
  protocol: 'erc8004',
  seed: 42,
  controlRuns: 8,
  start: (bugs) => startBrokenTarget({ identityBugs: bugs?.identity ?? 0n, reputationBugs: bugs?.reputation ?? 0n }),
  variants: [
    { requirement: 'ERC8004-ID-01', defect: 'register does not set agentWallet to the caller', variant: { identity: 1n << 6n, reputation: 0n }, runs: 15 },
    { requirement: 'ERC8004-ID-02', defect: 'anyone can set the agent URI and metadata', variant: { identity: 1n << 4n, reputation: 0n }, runs: 15 },
    { requirement: 'ERC8004-ID-03', defect: 'anyone can call setAgentWallet', variant: { identity: 1n << 0n, reputation: 0n }, runs: 15 },
    { requirement: 'ERC8004-ID-04', defect: 'wallet signature not verified', variant: { identity: 1n << 1n, reputation: 0n }, runs: 15 },
    { requirement: 'ERC8004-ID-05', defect: 'expired wallet signature accepted', variant: { identity: 1n << 2n, reputation: 0n }, runs: 15 },
    { requirement: 'ERC8004-ID-06', defect: 'deadline far in the future accepted', variant: { identity: 1n << 3n, reputation: 0n }, runs: 15 },
    { requirement: 'ERC8004-ID-07', defect: 'transfer keeps the old wallet', variant: { identity: 1n << 5n, reputation: 0n }, runs: 15 },
    { requirement: 'ERC8004-ID-08', defect: 'setMetadata("agentWallet") allowed', variant: { identity: 1n << 7n, reputation: 0n }, runs: 15 },
    { requirement: 'ERC8004-REP-01', defect: 'feedback indexes start at 0', variant: { identity: 0n, reputation: 1n << 3n }, runs: 15 },
    { requirement: 'ERC8004-REP-02', defect: 'self-feedback accepted', variant: { identity: 0n, reputation: 1n << 0n }, runs: 15 },
    { requirement: 'ERC8004-REP-03', defect: 'valueDecimals unchecked', variant: { identity: 0n, reputation: 1n << 1n }, runs: 15 },
    { requirement: 'ERC8004-REP-04', defect: 'revoked feedback still counted by getSummary', variant: { identity: 0n, reputation: 1n << 2n }, runs: 15 },
  ],
});
