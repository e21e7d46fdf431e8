/**
 * Kill-rate table for `erc8004`: each requirement and the BrokenIdentityRegistry /
 * BrokenReputationRegistry bug bit that violates it (contracts/src/testing/BrokenErc8004.sol).
 */
export const ERC8004_KILLS: readonly { requirement: string; identityBugs: bigint; reputationBugs: bigint; defect: string }[] = [
  { requirement: 'ERC8004-ID-01', identityBugs: 1n << 6n, reputationBugs: 0n, defect: 'register does not set agentWallet to the caller' },
  { requirement: 'ERC8004-ID-02', identityBugs: 1n << 4n, reputationBugs: 0n, defect: 'anyone can set the agent URI and metadata' },
  { requirement: 'ERC8004-ID-03', identityBugs: 1n << 0n, reputationBugs: 0n, defect: 'anyone can call setAgentWallet' },
  { requirement: 'ERC8004-ID-04', identityBugs: 1n << 1n, reputationBugs: 0n, defect: 'wallet signature not verified' },
  { requirement: 'ERC8004-ID-05', identityBugs: 1n << 2n, reputationBugs: 0n, defect: 'expired wallet signature accepted' },
  { requirement: 'ERC8004-ID-06', identityBugs: 1n << 3n, reputationBugs: 0n, defect: 'deadline far in the future accepted' },
  { requirement: 'ERC8004-ID-07', identityBugs: 1n << 5n, reputationBugs: 0n, defect: 'transfer keeps the old wallet' },
  { requirement: 'ERC8004-ID-08', identityBugs: 1n << 7n, reputationBugs: 0n, defect: 'setMetadata("agentWallet") allowed' },
  { requirement: 'ERC8004-REP-01', identityBugs: 0n, reputationBugs: 1n << 3n, defect: 'feedback indexes start at 0' },
  { requirement: 'ERC8004-REP-02', identityBugs: 0n, reputationBugs: 1n << 0n, defect: 'self-feedback accepted' },
  { requirement: 'ERC8004-REP-03', identityBugs: 0n, reputationBugs: 1n << 1n, defect: 'valueDecimals unchecked' },
  { requirement: 'ERC8004-REP-04', identityBugs: 0n, reputationBugs: 1n << 2n, defect: 'revoked feedback still counted by getSummary' },
];
