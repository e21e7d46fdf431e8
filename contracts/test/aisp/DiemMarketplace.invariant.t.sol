// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test, console} from "../utils/Test.sol";
import {DiemMarketplaceHandler} from "./DiemMarketplaceHandler.sol";
import {DiemMarketplace} from "../../src/aisp/DiemMarketplace.sol";
import {IDiemMarketplace} from "../../src/aisp/IDiemMarketplace.sol";
import {FiatTokenV2_2} from "../../src/shared/FiatTokenV2_2.sol";

/// @notice Handler-driven invariants of DiemMarketplace (runs/depth from foundry.toml: 256 x 50).
contract DiemMarketplaceInvariantTest is Test {
    DiemMarketplaceHandler internal handler;
    DiemMarketplace internal market;
    FiatTokenV2_2 internal usdc;

    function setUp() public {
        vm.warp(1_750_000_000);
        handler = new DiemMarketplaceHandler();
        market = handler.marketContract();
        usdc = handler.token();
        bytes4[] memory selectors = new bytes4[](8);
        selectors[0] = DiemMarketplaceHandler.list.selector;
        selectors[1] = DiemMarketplaceHandler.fund.selector;
        selectors[2] = DiemMarketplaceHandler.settle.selector;
        selectors[3] = DiemMarketplaceHandler.revoke.selector;
        selectors[4] = DiemMarketplaceHandler.close.selector;
        selectors[5] = DiemMarketplaceHandler.warp.selector;
        selectors[6] = DiemMarketplaceHandler.donate.selector;
        selectors[7] = DiemMarketplaceHandler.setRefundRule.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// Conservation: USDC held == the costs of unsettled (ACTIVE) rentals + donations; in == out + held.
    function invariant_conservation() public view {
        uint256 held = usdc.balanceOf(address(market));
        assertEq(held + handler.ghostOut(), handler.ghostIn(), "in == out + held");
        uint256 owed;
        uint256 n = handler.rentalCount();
        for (uint256 i; i < n; ++i) {
            IDiemMarketplace.Rental memory r = market.getRental(handler.rentalIds(i));
            if (r.status == IDiemMarketplace.RentalStatus.ACTIVE) owed += r.cost;
        }
        assertEq(market.totalEscrowed(), owed, "totalEscrowed == sum of ACTIVE costs");
        assertEq(held, owed + handler.ghostDonated(), "held == owed + donations");
    }

    /// Settle and refund each happen at most once per rental; a finished rental never changes.
    function invariant_settleAndRefundAtMostOnce() public view {
        assertEq(handler.doublePayout(), 0, "a rental paid out twice (or finished without a payout)");
        assertEq(handler.statusChangedUnexplained(), 0, "a rental's status moved without its action");
    }

    /// Capacity: each listing's ACTIVE DIEM equals its diemRented and never exceeds diemMax.
    function invariant_capacity() public view {
        uint256 nl = handler.listingCount();
        uint256 nr = handler.rentalCount();
        for (uint256 i; i < nl; ++i) {
            uint256 id = handler.listingIds(i);
            IDiemMarketplace.Listing memory l = market.getListing(id);
            uint256 sum;
            for (uint256 j; j < nr; ++j) {
                IDiemMarketplace.Rental memory r = market.getRental(handler.rentalIds(j));
                if (r.listingId == id && r.status == IDiemMarketplace.RentalStatus.ACTIVE) sum += r.diemAmount;
            }
            assertEq(l.diemRented, sum, "diemRented == sum of ACTIVE diemAmount");
            assertLe(sum, l.diemMax, "capacity never exceeded");
        }
    }

    /// Fee math: every payout matched the profile's formulas (1% rounded down; cost rounded up;
    /// revoke pro rata by the days the refund rule in force counts, provider share rounded up), to the
    /// base unit.
    function invariant_feeMathExact() public view {
        assertEq(handler.wrongPayout(), 0, "settle/revoke paid a different split");
        assertEq(handler.wrongCost(), 0, "fund charged a different cost (or a refused fund moved money)");
    }

    /// Only allowed calls succeed, and every allowed call succeeds.
    function invariant_onlyAllowedCallsSucceed() public view {
        assertEq(handler.unexpectedSuccess(), 0, "a forbidden call succeeded");
        assertEq(handler.unexpectedRevert(), 0, "an allowed call reverted");
    }

    function afterInvariant() public view {
        console.log("funded", handler.nFunded());
        console.log("refused for capacity", handler.nCapacityRefused());
        console.log("settled", handler.nSettled());
        console.log("revoked", handler.nRevoked());
        console.log("refused", handler.nRefused());
        console.log("refund rule switches", handler.nRuleSwitches());
    }
}
