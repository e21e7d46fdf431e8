// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Aps1Fees
/// @notice The APS-1 fee math (seed 004: `APS1_PLATFORM_FEE_BPS = 800`; specs/protocols.md §D.3-D.4:
///         arbitration penalty 300 bps capped by `maxArbitrationPenalty`). The same rules are written
///         once in TypeScript (reference-impl/aps1/protocol/fees.ts), which the model, the scenarios'
///         oracle and the forge tests' vectors (contracts/test/aps1/FeeVectors.sol, generated from it)
///         all use; `FeeVectors.t.sol` checks this library against them.
/// @dev Rounding is specified, not accidental: every basis-point share rounds DOWN (floor), so the
///      platform never takes more than its rate and the remainder ("dust") stays with the payee.
library Aps1Fees {
    /// @notice Denominator of every rate.
    uint256 internal constant BPS = 10_000;

    /// @notice `amount * rateBps / 10_000`, rounded down.
    function share(uint256 amount, uint256 rateBps) internal pure returns (uint256) {
        return amount * rateBps / BPS;
    }

    /// @notice The arbitration-penalty cap in a token's base units.
    /// @param cap18 The cap as stored: 18-decimal units (the public contract's `10e18`).
    /// @param decimals The token's decimals.
    /// @param capIn18Decimals Compat quirk: use `cap18` as is, whatever the token's decimals (so with a
    ///        6-decimal token the cap is 10^13 tokens and never binds).
    function penaltyCap(uint256 cap18, uint8 decimals, bool capIn18Decimals) internal pure returns (uint256) {
        if (capIn18Decimals || decimals == 18) return cap18;
        if (decimals < 18) return cap18 / (10 ** (18 - decimals));
        return cap18 * (10 ** (decimals - 18));
    }

    /// @notice `min(budget * penaltyBps / 10_000, cap)`.
    function penalty(uint256 budget, uint256 penaltyBps, uint256 cap) internal pure returns (uint256) {
        uint256 p = share(budget, penaltyBps);
        return p < cap ? p : cap;
    }
}
