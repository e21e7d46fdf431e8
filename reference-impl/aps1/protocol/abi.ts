/**
 * ABIs of the APS-1 contracts as their parties code against them (specs/protocols.md §D.3-D.5:
 * PayPolNexusV2, PayPolStreamV1, AIProofRegistry, ReputationRegistry) plus the profile's additions
 * (the dispute bond, the compat switches, the timeout event; scenarios/aps1/profile.md), and the
 * ERC-20 calls on the Tempo stablecoins. Written by hand from the public interface, not generated
 * from this project's contracts; abi.test.ts checks they agree with the compiled artifacts.
 */
import { parseAbi } from 'viem';

export const nexusAbi = parseAbi([
  'struct Job { address employer; address worker; address judge; address token; uint256 budget; uint256 platformFee; uint256 deadline; uint8 status; bool rated; }',
  'function createJob(address worker, address judge, address token, uint256 amount, uint256 deadlineDuration) returns (uint256 jobId)',
  'function startJob(uint256 jobId)',
  'function completeJob(uint256 jobId)',
  'function disputeJob(uint256 jobId)',
  'function settleJob(uint256 jobId)',
  'function refundJob(uint256 jobId)',
  'function claimTimeout(uint256 jobId)',
  'function rateWorker(uint256 jobId, uint8 rating)',
  'function withdrawFees(address token)',
  'function getJob(uint256 jobId) view returns (Job)',
  'function getWorkerRating(address worker) view returns (uint256 totalRating, uint256 ratingCount)',
  'function isTimedOut(uint256 jobId) view returns (bool)',
  'function penaltyOf(uint256 budget, address token) view returns (uint256)',
  'function owner() view returns (address)',
  'function nextJobId() view returns (uint256)',
  'function platformFeeBps() view returns (uint256)',
  'function arbitrationPenaltyBps() view returns (uint256)',
  'function maxArbitrationPenalty() view returns (uint256)',
  'function accumulatedFees(address token) view returns (uint256)',
  'function escrowed(address token) view returns (uint256)',
  'function disputeBond(uint256 jobId) view returns (uint256)',
  'function penaltyFromWinner() view returns (bool)',
  'function penaltyCapIn18Decimals() view returns (bool)',
  'function timeoutAfterDelivery() view returns (bool)',
  'function setPlatformFee(uint256 bps)',
  'function setArbitrationPenalty(uint256 bps)',
  'function setMaxArbitrationPenalty(uint256 cap18)',
  'function setCompat(bool penaltyFromWinner, bool penaltyCapIn18Decimals, bool timeoutAfterDelivery)',
  'event JobCreated(uint256 indexed jobId, address indexed employer, address indexed worker, uint256 budget, uint256 deadline)',
  'event JobStatusChanged(uint256 indexed jobId, uint8 oldStatus, uint8 newStatus)',
  'event JobDisputed(uint256 indexed jobId, address indexed employer, uint256 bond)',
  'event JobSettled(uint256 indexed jobId, uint256 workerPay, uint256 fee)',
  'event JobRefunded(uint256 indexed jobId, uint256 amount)',
  'event TimeoutClaimed(uint256 indexed jobId, address indexed employer, uint256 amount)',
  'event WorkerRated(uint256 indexed jobId, address indexed worker, uint8 rating)',
  'event ArbitrationPenaltyApplied(uint256 indexed jobId, address indexed penalizedParty, uint256 amount)',
  'event FeesWithdrawn(address indexed token, address indexed to, uint256 amount)',
]);

export const streamAbi = parseAbi([
  'struct Stream { address client; address agent; address token; uint256 totalBudget; uint256 releasedAmount; uint256 totalFees; uint256 deadline; uint256 milestoneCount; uint256 approvedCount; uint256 feeBps; uint8 status; }',
  'struct Milestone { uint256 amount; bytes32 proofHash; uint8 status; }',
  'function createStream(address agent, address token, uint256[] milestoneAmounts, uint256 deadlineDuration) returns (uint256 streamId)',
  'function submitMilestone(uint256 streamId, uint256 index, bytes32 proofHash)',
  'function approveMilestone(uint256 streamId, uint256 index)',
  'function rejectMilestone(uint256 streamId, uint256 index)',
  'function cancelStream(uint256 streamId)',
  'function claimTimeout(uint256 streamId)',
  'function withdrawFees(address token)',
  'function getStream(uint256 streamId) view returns (Stream)',
  'function getMilestone(uint256 streamId, uint256 index) view returns (Milestone)',
  'function isTimedOut(uint256 streamId) view returns (bool)',
  'function getRemainingBalance(uint256 streamId) view returns (uint256)',
  'function owner() view returns (address)',
  'function nextStreamId() view returns (uint256)',
  'function platformFeeBps() view returns (uint256)',
  'function accumulatedFees(address token) view returns (uint256)',
  'function escrowed(address token) view returns (uint256)',
  'function MAX_MILESTONES() view returns (uint256)',
  'event StreamCreated(uint256 indexed streamId, address indexed client, address indexed agent, uint256 totalBudget, uint256 milestoneCount, uint256 deadline)',
  'event MilestoneSubmitted(uint256 indexed streamId, uint256 indexed index, bytes32 proofHash)',
  'event MilestoneApproved(uint256 indexed streamId, uint256 indexed index, uint256 agentPayout, uint256 fee)',
  'event MilestoneRejected(uint256 indexed streamId, uint256 indexed index)',
  'event StreamCompleted(uint256 indexed streamId, uint256 totalReleased, uint256 totalFees)',
  'event StreamCancelled(uint256 indexed streamId, uint256 refunded)',
  'event StreamTimedOut(uint256 indexed streamId, uint256 refunded)',
]);

export const proofAbi = parseAbi([
  'struct Commitment { address agent; bytes32 planHash; bytes32 resultHash; uint256 nexusJobId; uint256 committedAt; uint256 verifiedAt; bool verified; bool matched; bool slashed; }',
  'function commit(bytes32 planHash, uint256 nexusJobId) returns (bytes32 commitmentId)',
  'function verify(bytes32 commitmentId, bytes32 resultHash) returns (bool matched)',
  'function slash(bytes32 commitmentId)',
  'function getCommitment(bytes32 commitmentId) view returns (Commitment)',
  'function getJobCommitment(uint256 nexusJobId) view returns (bytes32)',
  'function getStats() view returns (uint256 total, uint256 verified, uint256 matched, uint256 mismatched, uint256 slashed)',
  'function owner() view returns (address)',
  'function verifyByAnyone() view returns (bool)',
  'function setCompat(bool verifyByAnyone)',
  'event CommitmentMade(bytes32 indexed commitmentId, address indexed agent, bytes32 planHash, uint256 indexed nexusJobId)',
  'event CommitmentVerified(bytes32 indexed commitmentId, bool matched, bytes32 resultHash)',
  'event AgentSlashed(bytes32 indexed commitmentId, address indexed agent)',
]);

export const reputationAbi = parseAbi([
  'struct Inputs { uint256 nexusRatingSum; uint256 nexusRatingCount; uint256 offChainRatingSum; uint256 offChainRatingCount; uint256 jobsCompleted; uint256 jobsFailed; uint256 proofCommitments; uint256 proofVerified; uint256 proofMatched; uint256 proofSlashed; }',
  'struct Reputation { Inputs inputs; uint256 score; uint8 tier; uint256 updatedAt; }',
  'function updateReputation(address agent, uint256 nexusRatingSum, uint256 nexusRatingCount, uint256 offChainRatingSum, uint256 offChainRatingCount, uint256 jobsCompleted, uint256 jobsFailed, uint256 proofCommitments, uint256 proofVerified, uint256 proofMatched, uint256 proofSlashed)',
  'function batchUpdateReputation(address[] agents, Inputs[] inputs)',
  'function getReputation(address agent) view returns (Reputation)',
  'function getScore(address agent) view returns (uint256)',
  'function getTier(address agent) view returns (uint8)',
  'function computeScore(Inputs r) pure returns (uint256)',
  'function tierOf(uint256 score) pure returns (uint8)',
  'function owner() view returns (address)',
  'event ReputationUpdated(address indexed agent, uint256 score, uint8 tier)',
]);

/** The ERC-20 calls on the Tempo stablecoins (and `mint` for the lab's minter). */
export const tokenAbi = parseAbi([
  'function balanceOf(address account) view returns (uint256)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function approve(address spender, uint256 value) returns (bool)',
  'function transfer(address to, uint256 value) returns (bool)',
  'function transferFrom(address from, address to, uint256 value) returns (bool)',
  'function decimals() view returns (uint8)',
  'function symbol() view returns (string)',
  'function name() view returns (string)',
  'function totalSupply() view returns (uint256)',
  'function mint(address to, uint256 amount)',
  'event Transfer(address indexed from, address indexed to, uint256 value)',
  'event Approval(address indexed owner, address indexed spender, uint256 value)',
]);

/** Contract keys of the APS-1 deployment in a target chain's `contracts` / `tokens`. */
export const APS1_CONTRACTS = {
  nexus: 'paypolNexusV2',
  stream: 'paypolStreamV1',
  proof: 'aiProofRegistry',
  reputation: 'paypolReputation',
} as const;

/** The seed's canonical addresses (Tempo L1 Moderato). */
export const APS1_ADDRESSES = {
  paypolNexusV2: '0x6A467Cd4156093bB528e448C04366586a1052Fab',
  paypolStreamV1: '0x4fE37c46E3D442129c2319de3D24c21A6cbfa36C',
  aiProofRegistry: '0x8fDB8E871c9eaF2955009566F41490Bbb128a014',
  paypolReputation: '0x9332c1B2bb94C96DA2D729423f345c76dB3494D0',
  shieldVaultV2: '0x3B4b47971B61cB502DD97eAD9cAF0552ffae0055',
  multisendV2: '0x25f4d3f12C579002681a52821F3a6251c46D4575',
} as const;

/** The seed's supported tokens (symbol, address, decimals), keyed as in the tempo chain profile; AlphaUSD (the seed's example) first. */
export const APS1_TOKENS = {
  alphaUSD: { symbol: 'AlphaUSD', address: '0x20C0000000000000000000000000000000000001', decimals: 6 },
  pathUSD: { symbol: 'pathUSD', address: '0x20C0000000000000000000000000000000000000', decimals: 6 },
  betaUSD: { symbol: 'BetaUSD', address: '0x20C0000000000000000000000000000000000002', decimals: 6 },
  thetaUSD: { symbol: 'ThetaUSD', address: '0x20C0000000000000000000000000000000000003', decimals: 6 },
} as const;
export type Aps1TokenKey = keyof typeof APS1_TOKENS;
export const APS1_TOKEN_KEYS = Object.keys(APS1_TOKENS) as Aps1TokenKey[];

/** Every APS-1 event (NexusV2, StreamV1, AIProofRegistry, reputation, ERC-20), for decoding receipts. */
export const APS1_EVENTS = [...nexusAbi, ...streamAbi, ...proofAbi, ...reputationAbi, ...tokenAbi].filter((x) => x.type === 'event');
