// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IDiemMarketplace} from "./IDiemMarketplace.sol";
import {AispMath} from "./AispMath.sol";

/// @notice The USDC (FiatToken v2.2) calls the marketplace makes.
interface IUSDCPermit {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
    function balanceOf(address account) external view returns (uint256);
    function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external;
}

/// @title DiemMarketplace
/// @notice AISP V2 escrow (seed 000, "diem-marketplace"): providers list idle DIEM / Venice inference
///         capacity, renters fund rentals in USDC, the backend releases the provider's scoped API key
///         on `Funded`, and the escrow pays the provider 99% (1% protocol fee) when the term is over,
///         or refunds the renter's unused whole days (the refund rule says whether the day in
///         progress is used) when the provider revokes early.
/// @dev Reconstructed: the V2 source is not public. Every rule the seed does not state is a profile
///      assumption, listed with its reasoning in scenarios/aisp/profile.md (AISP-PROF-nn).
///
///      Deployment model: the harness places this runtime code at the canonical address with
///      `anvil_setCode`, so there is no constructor and no immutable; `initialize` writes the
///      configuration once.
///
///      Accounting invariant (the invariant suite checks it):
///        usdc.balanceOf(this) == totalEscrowed + (USDC sent here outside `fund`)
///      where totalEscrowed is the sum of the costs of ACTIVE rentals. Money only leaves through
///      `settle` and `revokeAndRefund`, each of which ends its rental (at most once).
contract DiemMarketplace is IDiemMarketplace {
    /// @notice Longest rental term (AISP-PROF-04): one year.
    uint256 public constant MAX_TERM_DAYS = 365;
    uint256 private constant DAY = 1 days;

    bool private _initialized;
    bool private transient _locked;

    /// @notice The USDC escrowed.
    IUSDCPermit public usdc;
    /// @notice May move the fee recipient.
    address public admin;
    /// @notice Receives the protocol fee at settlement.
    address public feeRecipient;
    /// @notice Protocol fee in basis points (seed: 1% = 100).
    uint256 public feeBps;

    uint256 private _listingCount;
    uint256 private _rentalCount;
    /// @notice Sum of the costs of ACTIVE rentals: what the contract owes.
    uint256 public totalEscrowed;

    mapping(uint256 listingId => Listing) private _listings;
    mapping(uint256 rentalId => Rental) private _rentals;

    /// @notice How an early revoke counts the days used (AISP-PROF-05); STARTED_DAYS unless set.
    /// @dev Not an `initialize` argument, so a marketplace initialised before it keeps the rule it had;
    ///      the lab's reference service writes this slot for a what-if profile (anvil_setStorageAt)
    ///      and reads it back through this view. Declared last to leave every other slot in place.
    RefundRule public refundRule;

    modifier nonReentrant() {
        if (_locked) revert Reentrancy();
        _locked = true;
        _;
        _locked = false;
    }

    modifier initialized() {
        if (!_initialized) revert NotInitialized();
        _;
    }

    // ---------------------------------------------------------------------------------------------
    // Initialisation and administration
    // ---------------------------------------------------------------------------------------------

    /// @notice One-time configuration (replaces a constructor).
    /// @param usdc_ USDC token address.
    /// @param admin_ May change the fee recipient.
    /// @param feeRecipient_ Receives the protocol fee.
    /// @param feeBps_ Fee in basis points, at most 10_000 (profile: 100 = 1%).
    function initialize(address usdc_, address admin_, address feeRecipient_, uint256 feeBps_) external {
        if (_initialized) revert AlreadyInitialized();
        if (usdc_ == address(0) || admin_ == address(0) || feeRecipient_ == address(0)) revert ZeroAddress();
        if (feeBps_ > AispMath.BPS) revert InvalidFee(feeBps_);
        _initialized = true;
        usdc = IUSDCPermit(usdc_);
        admin = admin_;
        feeRecipient = feeRecipient_;
        feeBps = feeBps_;
        emit Initialized(usdc_, admin_, feeRecipient_, feeBps_);
    }

    /// @notice Moves the fee recipient (admin only); rentals settled later pay the new one.
    function setFeeRecipient(address newRecipient) external {
        if (msg.sender != admin) revert Unauthorized(msg.sender);
        if (newRecipient == address(0)) revert ZeroAddress();
        address previous = feeRecipient;
        feeRecipient = newRecipient;
        emit FeeRecipientUpdated(previous, newRecipient);
    }

    // ---------------------------------------------------------------------------------------------
    // Listings
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IDiemMarketplace
    /// @dev Reverts ZeroPrice, InvalidTerm (0 or above MAX_TERM_DAYS), InvalidDiemRange (diemMin 0 or
    ///      above diemMax) and PriceTooHigh (the largest rental's cost would not fit in uint256).
    function list(uint256 pricePerDay, uint256 termDays, uint256 diemMin, uint256 diemMax)
        external
        initialized
        returns (uint256 listingId)
    {
        if (pricePerDay == 0) revert ZeroPrice();
        if (termDays == 0 || termDays > MAX_TERM_DAYS) revert InvalidTerm(termDays);
        if (diemMin == 0 || diemMin > diemMax) revert InvalidDiemRange(diemMin, diemMax);
        if (pricePerDay > type(uint256).max / diemMax / termDays) revert PriceTooHigh();
        listingId = ++_listingCount;
        _listings[listingId] = Listing({
            provider: msg.sender,
            termDays: uint32(termDays),
            active: true,
            pricePerDay: pricePerDay,
            diemMin: diemMin,
            diemMax: diemMax,
            diemRented: 0
        });
        emit Listed(listingId, msg.sender, pricePerDay, termDays, diemMin, diemMax);
    }

    /// @notice The provider stops new rentals of a listing; its active rentals run on.
    function closeListing(uint256 listingId) external {
        Listing storage l = _listing(listingId);
        if (msg.sender != l.provider) revert Unauthorized(msg.sender);
        if (!l.active) revert ListingClosedError(listingId);
        l.active = false;
        emit ListingClosed(listingId, msg.sender);
    }

    // ---------------------------------------------------------------------------------------------
    // Rentals
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IDiemMarketplace
    /// @dev Reverts UnknownListing, ListingClosedError, SelfRental, InvalidTerm (0 or above the
    ///      listing's term), DiemOutOfRange, CapacityExceeded, or the token's own error when the
    ///      allowance or balance is short. Effects before the token call.
    function fund(uint256 listingId, uint256 termDays, uint256 diemAmount)
        external
        nonReentrant
        returns (uint256 rentalId)
    {
        return _fund(listingId, termDays, diemAmount, type(uint256).max);
    }

    /// @notice `fund` with an EIP-2612 USDC permit instead of a prior `approve` (AISP-PROF-11).
    ///         The permit is for `maxCost`; the rental reverts CostExceedsMax if it would cost more.
    ///         A permit that fails (e.g. already used by a front-runner) is ignored: the transfer
    ///         then needs the allowance it would have set.
    function fundWithPermit(
        uint256 listingId,
        uint256 termDays,
        uint256 diemAmount,
        uint256 maxCost,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint256 rentalId) {
        try usdc.permit(msg.sender, address(this), maxCost, deadline, v, r, s) {} catch {}
        return _fund(listingId, termDays, diemAmount, maxCost);
    }

    /// @inheritdoc IDiemMarketplace
    /// @dev Anyone may settle once the term is over (AISP-PROF-07): the money only ever goes to the
    ///      provider and the fee recipient, and settling frees the listing's capacity.
    function settle(uint256 rentalId) external nonReentrant {
        Rental storage rt = _activeRental(rentalId);
        if (block.timestamp < rt.expiresAt) revert NotExpired(rentalId, rt.expiresAt);
        Listing storage l = _listings[rt.listingId];
        uint256 cost_ = rt.cost;
        uint256 fee_ = AispMath.fee(cost_, feeBps);
        uint256 providerAmount = cost_ - fee_;
        rt.status = RentalStatus.SETTLED;
        l.diemRented -= rt.diemAmount;
        totalEscrowed -= cost_;
        address provider = l.provider;
        _pay(provider, providerAmount);
        _pay(feeRecipient, fee_);
        emit Settled(rentalId, provider, providerAmount, fee_);
    }

    /// @inheritdoc IDiemMarketplace
    /// @dev Only the listing's provider, only before `expiresAt` (afterwards the rental is settled).
    ///      usedDays = whole days elapsed since funding, + 1 under STARTED_DAYS (the day in progress
    ///      counts); the provider earns ceil(cost * usedDays / termDays), pays the fee on it, and the
    ///      renter gets the rest.
    function revokeAndRefund(uint256 rentalId) external nonReentrant {
        Rental storage rt = _activeRental(rentalId);
        Listing storage l = _listings[rt.listingId];
        if (msg.sender != l.provider) revert NotProvider(rentalId, msg.sender);
        if (block.timestamp >= rt.expiresAt) revert AlreadyExpired(rentalId, rt.expiresAt);
        uint256 usedDays = (block.timestamp - rt.fundedAt) / DAY + (refundRule == RefundRule.STARTED_DAYS ? 1 : 0);
        uint256 cost_ = rt.cost;
        (uint256 earned, uint256 refund) = AispMath.revokeSplit(cost_, rt.termDays, usedDays);
        uint256 fee_ = AispMath.fee(earned, feeBps);
        uint256 providerAmount = earned - fee_;
        rt.status = RentalStatus.REFUNDED;
        l.diemRented -= rt.diemAmount;
        totalEscrowed -= cost_;
        address renter = rt.renter;
        _pay(renter, refund);
        _pay(l.provider, providerAmount);
        _pay(feeRecipient, fee_);
        emit Revoked(rentalId, renter, refund, providerAmount, fee_, usedDays);
    }

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @notice A listing (all zero for an unknown id).
    function getListing(uint256 listingId) external view returns (Listing memory) {
        return _listings[listingId];
    }

    /// @notice A rental (all zero, status NONE, for an unknown id).
    function getRental(uint256 rentalId) external view returns (Rental memory) {
        return _rentals[rentalId];
    }

    /// @notice What `fund(listingId, termDays, diemAmount)` would cost (reverts like `fund` on bad terms, but
    ///         not on capacity).
    function quote(uint256 listingId, uint256 termDays, uint256 diemAmount) external view returns (uint256) {
        Listing storage l = _listing(listingId);
        _checkTerms(l, termDays, diemAmount);
        return AispMath.cost(l.pricePerDay, diemAmount, termDays);
    }

    /// @notice How a settled `amount` splits between the provider and the fee recipient.
    function splitFee(uint256 amount) external view returns (uint256 providerAmount, uint256 fee) {
        fee = AispMath.fee(amount, feeBps);
        providerAmount = amount - fee;
    }

    /// @notice Number of listings created (the last id).
    function listingCount() external view returns (uint256) {
        return _listingCount;
    }

    /// @notice Number of rentals funded (the last id).
    function rentalCount() external view returns (uint256) {
        return _rentalCount;
    }

    /// @notice Whether `initialize` has run.
    function isInitialized() external view returns (bool) {
        return _initialized;
    }

    // ---------------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------------

    function _fund(uint256 listingId, uint256 termDays, uint256 diemAmount, uint256 maxCost)
        private
        returns (uint256 rentalId)
    {
        Listing storage l = _listing(listingId);
        if (!l.active) revert ListingClosedError(listingId);
        if (msg.sender == l.provider) revert SelfRental(msg.sender);
        _checkTerms(l, termDays, diemAmount);
        uint256 available = l.diemMax - l.diemRented;
        if (diemAmount > available) revert CapacityExceeded(diemAmount, available);
        uint256 cost_ = AispMath.cost(l.pricePerDay, diemAmount, termDays);
        if (cost_ > maxCost) revert CostExceedsMax(cost_, maxCost);
        rentalId = ++_rentalCount;
        uint64 expiresAt = uint64(block.timestamp + termDays * DAY);
        _rentals[rentalId] = Rental({
            listingId: listingId,
            renter: msg.sender,
            termDays: uint32(termDays),
            fundedAt: uint64(block.timestamp),
            expiresAt: expiresAt,
            status: RentalStatus.ACTIVE,
            diemAmount: diemAmount,
            cost: cost_
        });
        l.diemRented += diemAmount;
        totalEscrowed += cost_;
        if (!usdc.transferFrom(msg.sender, address(this), cost_)) revert TransferFailed();
        emit Funded(rentalId, listingId, msg.sender, diemAmount, termDays, cost_, expiresAt);
    }

    function _checkTerms(Listing storage l, uint256 termDays, uint256 diemAmount) private view {
        if (termDays == 0 || termDays > l.termDays) revert InvalidTerm(termDays);
        if (diemAmount < l.diemMin || diemAmount > l.diemMax) revert DiemOutOfRange(diemAmount, l.diemMin, l.diemMax);
    }

    function _listing(uint256 listingId) private view returns (Listing storage l) {
        l = _listings[listingId];
        if (l.provider == address(0)) revert UnknownListing(listingId);
    }

    function _activeRental(uint256 rentalId) private view returns (Rental storage rt) {
        rt = _rentals[rentalId];
        if (rt.status == RentalStatus.NONE) revert UnknownRental(rentalId);
        if (rt.status != RentalStatus.ACTIVE) revert RentalNotActive(rentalId, rt.status);
    }

    function _pay(address to, uint256 amount) private {
        if (amount == 0) return;
        if (!usdc.transfer(to, amount)) revert TransferFailed();
    }
}
