/**
 * ABIs of the public interfaces Agentripe parties code against: the escrow (seed 002 events and
 * reads; recordDeposit/release/refund/reclaim per the profile's IAgentripeEscrow.sol), the ERC-8004
 * Identity and Reputation registries (current revision) and USDC. Written from the published
 * interfaces, not generated from this project's contracts (abi.test.ts checks they agree).
 */
import { parseAbi } from 'viem';

/** AgentripeEscrow (seed 002 events and reads; recordDeposit/release/refund per IAgentripeEscrow.sol). */
export const escrowAbi = parseAbi([
  'function recordDeposit(bytes32 depositId, uint256 agentId, address buyer, uint256 amount)',
  'function releaseToVendor(bytes32 depositId)',
  'function refundToBuyer(bytes32 depositId)',
  'function withdraw()',
  'function getDeposit(bytes32 depositId) view returns (uint256 agentId, address buyer, uint256 amount, uint8 status)',
  'function withdrawableBalance(address account) view returns (uint256)',
  'function reclaim(bytes32 depositId)',
  'function reclaimableAt(bytes32 depositId) view returns (uint64)',
  'function operator() view returns (address)',
  // Administration (profile AGR-PROF-02): operator rotation, used by restart/revert tests and deployments.
  'function setOperator(address newOperator)',
  // The reclaim delay (AGR-PROF-09), which a what-if profile may change (constants.ts).
  'function reclaimDelay() view returns (uint64)',
  'function setReclaimDelay(uint64 newDelay)',
  'function payoutWallet(uint256 agentId) view returns (address)',
  'event OperatorUpdated(address indexed previousOperator, address indexed newOperator)',
  'event DepositRecorded(bytes32 indexed depositId, uint256 indexed agentId, address indexed buyer, uint256 amount)',
  'event DepositReleased(bytes32 indexed depositId, address indexed agentWallet, uint256 amount)',
  'event DepositRefunded(bytes32 indexed depositId, address indexed buyer, uint256 amount)',
  'event Withdrawn(address indexed account, uint256 amount)',
]);

/** ERC-8004 IdentityRegistry (current revision), the parts Agentripe uses. */
export const identityAbi = parseAbi([
  'function register() returns (uint256 agentId)',
  'function register(string agentURI) returns (uint256 agentId)',
  'function setAgentURI(uint256 agentId, string newURI)',
  'function setAgentWallet(uint256 agentId, address newWallet, uint256 deadline, bytes signature)',
  'function getAgentWallet(uint256 agentId) view returns (address)',
  'function isAuthorizedOrOwner(address spender, uint256 agentId) view returns (bool)',
  'function ownerOf(uint256 agentId) view returns (address)',
  'function tokenURI(uint256 agentId) view returns (string)',
  'function transferFrom(address from, address to, uint256 tokenId)',
  'function approve(address to, uint256 tokenId)',
  'event Registered(uint256 indexed agentId, string agentURI, address indexed owner)',
]);

/** ERC-8004 ReputationRegistry (current revision), the parts Agentripe uses. */
export const reputationAbi = parseAbi([
  'function giveFeedback(uint256 agentId, int128 value, uint8 valueDecimals, string tag1, string tag2, string endpoint, string feedbackURI, bytes32 feedbackHash)',
  'function getSummary(uint256 agentId, address[] clientAddresses, string tag1, string tag2) view returns (uint64 count, int128 summaryValue, uint8 summaryValueDecimals)',
  'function readAllFeedback(uint256 agentId, address[] clientAddresses, string tag1, string tag2, bool includeRevoked) view returns (address[] clients, uint64[] feedbackIndexes, int128[] values, uint8[] valueDecimals, string[] tag1s, string[] tag2s, bool[] revokedStatuses)',
  'event NewFeedback(uint256 indexed agentId, address indexed clientAddress, uint64 feedbackIndex, int128 value, uint8 valueDecimals, string indexed indexedTag1, string tag1, string tag2, string endpoint, string feedbackURI, bytes32 feedbackHash)',
]);

/** USDC (FiatToken v2.2), the ERC-20 reads. */
export const usdcAbi = parseAbi(['function balanceOf(address account) view returns (uint256)', 'function transfer(address to, uint256 value) returns (bool)']);

/** Escrow deposit status as published by the seed. */
export const DEPOSIT_STATUS = ['none', 'deposited', 'released', 'refunded'] as const;
export type DepositStatusName = (typeof DEPOSIT_STATUS)[number];
