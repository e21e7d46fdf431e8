/** The public interface of AIMarketEscrow (spec.md §6.1-6.2), written from the spec, not from our contract. */
import { parseAbi } from 'viem';

export const escrowAbi = parseAbi([
  'function openChannel(bytes32 channelId, address token, uint256 depositAmount)',
  'function debitChannel(bytes32 channelId, uint256 amount, bytes32 receiptId, uint256 deadline, bytes sig)',
  'function settleChannel(bytes32 channelId)',
  'function refundChannel(bytes32 channelId, string reason)',
  'function expireChannel(bytes32 channelId)',
  'function usedReceipts(bytes32 receiptId) view returns (bool)',
  'function domainSeparator() view returns (bytes32)',
  'function getChannel(bytes32 channelId) view returns ((address depositor, address token, address hub, uint8 status, uint256 deposit, uint256 used, uint256 nonce, uint256 expiresAt))',
  'event ChannelOpened(bytes32 indexed channelId, address indexed depositor, address indexed token, uint256 amount, uint256 expiresAt)',
  'event ChannelDebited(bytes32 indexed channelId, address indexed hub, uint256 amount, bytes32 receiptId, uint256 nonce)',
  'event ChannelSettled(bytes32 indexed channelId, address indexed hub, uint256 paid, uint256 refunded)',
  'event ChannelRefunded(bytes32 indexed channelId, uint256 amount, string reason)',
  'event ChannelExpired(bytes32 indexed channelId, uint256 paid, uint256 refunded)',
  'error InvalidSignature()',
]);

/** The key of the escrow in a Target chain's `contracts`. */
export const ESCROW_KEY = 'aimarketEscrow';
