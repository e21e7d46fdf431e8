// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title AispMath
/// @notice The AISP profile's money arithmetic, exact for every uint256 input (no intermediate overflow):
///         the rental cost, the 1% protocol fee and the early-revoke split. The same three functions
///         exist in TypeScript (reference-impl/aisp/protocol/fees.ts), which generates the test vectors
///         these are checked against (contracts/test/aisp/FeeVectors.sol).
/// @dev Rounding (scenarios/aisp/profile.md AISP-PROF-02/03/05): the cost rounds up (toward the
///      provider: a rental is never free), the fee rounds down (toward the provider: the protocol takes
///      at most 1%), and on an early revoke the provider's share of the started days rounds up.
library AispMath {
    /// @notice DIEM has 6 decimals: `pricePerDay` is USDC base units per whole DIEM (1e6 units) per day.
    uint256 internal constant DIEM_UNIT = 1e6;
    uint256 internal constant BPS = 10_000;

    /// @notice ceil(pricePerDay * diemAmount * termDays / 1e6). Callers bound the product (see
    ///         `DiemMarketplace.list`), so the multiplication cannot overflow.
    function cost(uint256 pricePerDay, uint256 diemAmount, uint256 termDays) internal pure returns (uint256) {
        uint256 n = pricePerDay * diemAmount * termDays;
        return n / DIEM_UNIT + (n % DIEM_UNIT == 0 ? 0 : 1);
    }

    /// @notice floor(amount * feeBps / 10_000), exact for any uint256 `amount` and `feeBps` <= 10_000.
    function fee(uint256 amount, uint256 feeBps) internal pure returns (uint256) {
        return (amount / BPS) * feeBps + ((amount % BPS) * feeBps) / BPS;
    }

    /// @notice Early revoke of a rental of `termDays` days after `usedDays` used days
    ///         (0 <= usedDays <= termDays): the provider earns ceil(cost * usedDays / termDays), the
    ///         renter gets the rest back. Exact for any uint256 `cost`.
    function revokeSplit(uint256 cost_, uint256 termDays, uint256 usedDays)
        internal
        pure
        returns (uint256 earned, uint256 refund)
    {
        uint256 q = cost_ / termDays;
        uint256 r = cost_ % termDays;
        uint256 part = r * usedDays;
        earned = q * usedDays + part / termDays + (part % termDays == 0 ? 0 : 1);
        refund = cost_ - earned;
    }
}
