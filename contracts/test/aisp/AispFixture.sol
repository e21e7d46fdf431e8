// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm} from "../utils/Vm.sol";
import {FiatTokenV2_2} from "../../src/shared/FiatTokenV2_2.sol";
import {DiemMarketplace} from "../../src/aisp/DiemMarketplace.sol";
import {AispMath} from "../../src/aisp/AispMath.sol";

/// @notice Exposes the AispMath library so tests can call it with any inputs.
contract AispMathHarness {
    function cost(uint256 p, uint256 d, uint256 t) external pure returns (uint256) {
        return AispMath.cost(p, d, t);
    }

    function fee(uint256 amount, uint256 feeBps) external pure returns (uint256) {
        return AispMath.fee(amount, feeBps);
    }

    function revokeSplit(uint256 c, uint256 t, uint256 u) external pure returns (uint256 earned, uint256 refund) {
        return AispMath.revokeSplit(c, t, u);
    }
}

/// @notice Deploys the project's USDC and the marketplace; shared by the unit and invariant suites.
/// @dev Not a Test itself (the invariant handler uses it too), so it declares its own `vm`.
abstract contract AispFixture {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev The profile's fee (reference-impl/aisp/protocol/profile.json): 1%.
    uint256 internal constant FEE_BPS = 100;
    /// @dev FiatToken v2.2 keeps balances below 2^255 (the top bit is the blacklist flag).
    uint256 internal constant MAX_USDC = (1 << 255) - 1;
    uint256 internal constant DIEM = 1e6;

    FiatTokenV2_2 internal usdc;
    DiemMarketplace internal market;

    /// @notice Deploys and initialises USDC and the marketplace; the caller becomes USDC's minter.
    function _deployAll(address admin, address feeRecipient) internal {
        usdc = new FiatTokenV2_2();
        usdc.initialize("USD Coin", "USDC", "USD", 6, "2", address(this), address(this));
        usdc.configureMinter(address(this), type(uint256).max);
        market = new DiemMarketplace();
        market.initialize(address(usdc), admin, feeRecipient, FEE_BPS);
    }

    function _mint(address to, uint256 amount) internal {
        usdc.mint(to, amount);
    }

    /// @notice `provider` lists; returns the id.
    function _list(address provider, uint256 price, uint256 termDays, uint256 diemMin, uint256 diemMax)
        internal
        returns (uint256 id)
    {
        VM.prank(provider);
        id = market.list(price, termDays, diemMin, diemMax);
    }

    /// @notice `renter` approves exactly the quote and funds; returns the rental id.
    function _fund(address renter, uint256 listingId, uint256 termDays, uint256 diemAmount)
        internal
        returns (uint256 id)
    {
        uint256 q = market.quote(listingId, termDays, diemAmount);
        VM.prank(renter);
        usdc.approve(address(market), q);
        VM.prank(renter);
        id = market.fund(listingId, termDays, diemAmount);
    }
}
