/**
 * ABI of the DiemMarketplace as AISP parties code against it: the seed's four functions (`list`,
 * `fund`, `settle`, `revokeAndRefund`) and `Funded` event, plus the profile's views, events and
 * permit path (contracts/src/aisp/IDiemMarketplace.sol; scenarios/aisp/profile.md). Written from the
 * interface, not generated from the compiled contract (abi.test.ts checks the two agree).
 */
import { parseAbi } from 'viem';

export const marketplaceAbi = parseAbi([
  'function list(uint256 pricePerDay, uint256 termDays, uint256 diemMin, uint256 diemMax) returns (uint256 listingId)',
  'function fund(uint256 listingId, uint256 termDays, uint256 diemAmount) returns (uint256 rentalId)',
  'function fundWithPermit(uint256 listingId, uint256 termDays, uint256 diemAmount, uint256 maxCost, uint256 deadline, uint8 v, bytes32 r, bytes32 s) returns (uint256 rentalId)',
  'function settle(uint256 rentalId)',
  'function revokeAndRefund(uint256 rentalId)',
  'function closeListing(uint256 listingId)',
  'function getListing(uint256 listingId) view returns ((address provider, uint32 termDays, bool active, uint256 pricePerDay, uint256 diemMin, uint256 diemMax, uint256 diemRented))',
  'function getRental(uint256 rentalId) view returns ((uint256 listingId, address renter, uint32 termDays, uint64 fundedAt, uint64 expiresAt, uint8 status, uint256 diemAmount, uint256 cost))',
  'function quote(uint256 listingId, uint256 termDays, uint256 diemAmount) view returns (uint256)',
  'function splitFee(uint256 amount) view returns (uint256 providerAmount, uint256 fee)',
  'function listingCount() view returns (uint256)',
  'function rentalCount() view returns (uint256)',
  'function totalEscrowed() view returns (uint256)',
  'function feeBps() view returns (uint256)',
  'function refundRule() view returns (uint8)',
  'function feeRecipient() view returns (address)',
  'function usdc() view returns (address)',
  'event Listed(uint256 indexed listingId, address indexed provider, uint256 pricePerDay, uint256 termDays, uint256 diemMin, uint256 diemMax)',
  'event ListingClosed(uint256 indexed listingId, address indexed provider)',
  'event Funded(uint256 indexed rentalId, uint256 indexed listingId, address indexed renter, uint256 diemAmount, uint256 termDays, uint256 cost, uint64 expiresAt)',
  'event Settled(uint256 indexed rentalId, address indexed provider, uint256 providerAmount, uint256 fee)',
  'event Revoked(uint256 indexed rentalId, address indexed renter, uint256 refund, uint256 providerAmount, uint256 fee, uint256 usedDays)',
  'error UnknownListing(uint256 listingId)',
  'error ListingClosedError(uint256 listingId)',
  'error SelfRental(address provider)',
  'error InvalidTerm(uint256 termDays)',
  'error InvalidDiemRange(uint256 diemMin, uint256 diemMax)',
  'error DiemOutOfRange(uint256 diemAmount, uint256 diemMin, uint256 diemMax)',
  'error CapacityExceeded(uint256 requested, uint256 available)',
  'error ZeroPrice()',
  'error PriceTooHigh()',
  'error UnknownRental(uint256 rentalId)',
  'error RentalNotActive(uint256 rentalId, uint8 status)',
  'error NotExpired(uint256 rentalId, uint64 expiresAt)',
  'error AlreadyExpired(uint256 rentalId, uint64 expiresAt)',
  'error NotProvider(uint256 rentalId, address caller)',
  'error CostExceedsMax(uint256 cost, uint256 maxCost)',
  'error Unauthorized(address caller)',
]);

/** The ERC-20 / EIP-2612 calls a renter makes on USDC. */
export const usdcAbi = parseAbi([
  'function approve(address spender, uint256 value) returns (bool)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function balanceOf(address account) view returns (uint256)',
  'function nonces(address owner) view returns (uint256)',
  'function transfer(address to, uint256 value) returns (bool)',
]);

/** `getRental(id).status` names, by code. */
export const RENTAL_STATUS = ['none', 'active', 'settled', 'refunded'] as const;
export type RentalStatusName = (typeof RENTAL_STATUS)[number];
