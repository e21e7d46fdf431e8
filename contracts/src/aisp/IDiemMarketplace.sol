// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IDiemMarketplace
/// @notice Interface of the AISP ("diem-marketplace") V2 escrow as defined by agentmarket-harness.
/// @dev The seed (AISP skill v2.0.2) publishes only `list(pricePerDay, termDays, diemMin, diemMax)
///      -> listingId`, `fund(listingId, termDays, diemAmount) -> rentalId`, `settle(rentalId)`, a
///      provider-side `revokeAndRefund`, the `Funded` event name and "provider paid 99%, 1% fee".
///      The V2 source is not public: everything else here (structs, event fields, the price formula,
///      the refund rule, capacity, rounding, revert conditions) is the harness profile, written down
///      with its reasoning in scenarios/aisp/profile.md (AISP-PROF-nn).
interface IDiemMarketplace {
    /// @notice Lifecycle of a rental: NONE (never funded), ACTIVE (funded, money in escrow),
    ///         SETTLED (paid to the provider after the term), REFUNDED (ended early by the provider).
    /// @notice How an early revoke counts the days the renter used (AISP-PROF-05): STARTED_DAYS (the
    ///         default) charges the day in progress, COMPLETED_DAYS refunds it.
    enum RefundRule {
        STARTED_DAYS,
        COMPLETED_DAYS
    }

    enum RentalStatus {
        NONE,
        ACTIVE,
        SETTLED,
        REFUNDED
    }

    /// @notice A provider's offer: `pricePerDay` USDC base units per whole DIEM per day; rentals of
    ///         1..`termDays` days and `diemMin`..`diemMax` DIEM (6 decimals); `diemRented` is the DIEM
    ///         of its ACTIVE rentals (never above `diemMax`).
    struct Listing {
        address provider;
        uint32 termDays;
        bool active;
        uint256 pricePerDay;
        uint256 diemMin;
        uint256 diemMax;
        uint256 diemRented;
    }

    /// @notice One funded rental; `cost` USDC sits in the contract while it is ACTIVE.
    struct Rental {
        uint256 listingId;
        address renter;
        uint32 termDays;
        uint64 fundedAt;
        uint64 expiresAt;
        RentalStatus status;
        uint256 diemAmount;
        uint256 cost;
    }

    // ---------------------------------------------------------------------------------------------
    // Events (the seed names `Funded`; fields are the profile's)
    // ---------------------------------------------------------------------------------------------

    /// @notice A listing was created.
    event Listed(
        uint256 indexed listingId,
        address indexed provider,
        uint256 pricePerDay,
        uint256 termDays,
        uint256 diemMin,
        uint256 diemMax
    );
    /// @notice The provider stopped new rentals of a listing (active rentals run on).
    event ListingClosed(uint256 indexed listingId, address indexed provider);
    /// @notice A renter funded a rental: `cost` USDC moved into escrow; the key is due until `expiresAt`.
    event Funded(
        uint256 indexed rentalId,
        uint256 indexed listingId,
        address indexed renter,
        uint256 diemAmount,
        uint256 termDays,
        uint256 cost,
        uint64 expiresAt
    );
    /// @notice A rental was settled after its term: `providerAmount` to the provider, `fee` to the fee recipient.
    event Settled(uint256 indexed rentalId, address indexed provider, uint256 providerAmount, uint256 fee);
    /// @notice The provider ended a rental early: `refund` back to the renter for the unused whole days,
    ///         `providerAmount` + `fee` for the `usedDays` days the refund rule counts as used.
    event Revoked(
        uint256 indexed rentalId,
        address indexed renter,
        uint256 refund,
        uint256 providerAmount,
        uint256 fee,
        uint256 usedDays
    );
    /// @notice Emitted once by `initialize`.
    event Initialized(address indexed usdc, address indexed admin, address feeRecipient, uint256 feeBps);
    /// @notice The admin moved the fee recipient.
    event FeeRecipientUpdated(address indexed previousRecipient, address indexed newRecipient);

    // ---------------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------------

    error AlreadyInitialized();
    error NotInitialized();
    error ZeroAddress();
    error InvalidFee(uint256 feeBps);
    error Unauthorized(address caller);
    error Reentrancy();
    error ZeroPrice();
    error InvalidTerm(uint256 termDays);
    error InvalidDiemRange(uint256 diemMin, uint256 diemMax);
    error PriceTooHigh();
    error UnknownListing(uint256 listingId);
    error ListingClosedError(uint256 listingId);
    error SelfRental(address provider);
    error DiemOutOfRange(uint256 diemAmount, uint256 diemMin, uint256 diemMax);
    error CapacityExceeded(uint256 requested, uint256 available);
    error UnknownRental(uint256 rentalId);
    error RentalNotActive(uint256 rentalId, RentalStatus status);
    error NotExpired(uint256 rentalId, uint64 expiresAt);
    error AlreadyExpired(uint256 rentalId, uint64 expiresAt);
    error NotProvider(uint256 rentalId, address caller);
    error TransferFailed();
    error CostExceedsMax(uint256 cost, uint256 maxCost);

    // ---------------------------------------------------------------------------------------------
    // Seed functions
    // ---------------------------------------------------------------------------------------------

    /// @notice Creates a listing (caller = provider); returns its id (ids start at 1).
    function list(uint256 pricePerDay, uint256 termDays, uint256 diemMin, uint256 diemMax)
        external
        returns (uint256 listingId);

    /// @notice Rents `diemAmount` DIEM of a listing for `termDays` days; pulls the cost in USDC from
    ///         the caller (who approved it) into escrow; returns the rental id (ids start at 1).
    function fund(uint256 listingId, uint256 termDays, uint256 diemAmount) external returns (uint256 rentalId);

    /// @notice After `expiresAt`, pays the provider the cost minus the 1% fee and the fee recipient the fee.
    function settle(uint256 rentalId) external;

    /// @notice The provider ends an active rental before `expiresAt`: the renter gets the unused whole
    ///         days back, the provider the days started (minus the fee).
    function revokeAndRefund(uint256 rentalId) external;
}
