// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test, console} from "../utils/Test.sol";
import {StreamHandler} from "./StreamHandler.sol";
import {PayPolStreamV1} from "../../src/aps1/PayPolStreamV1.sol";

/// @notice Handler-driven invariants of PayPolStreamV1 (runs/depth from foundry.toml).
contract PayPolStreamV1InvariantTest is Test {
    StreamHandler internal handler;
    PayPolStreamV1 internal streams;

    function setUp() public {
        vm.warp(1_750_000_000);
        handler = new StreamHandler();
        streams = handler.streamsContract();
        bytes4[] memory selectors = new bytes4[](8);
        selectors[0] = StreamHandler.create.selector;
        selectors[1] = StreamHandler.submit.selector;
        selectors[2] = StreamHandler.approve.selector;
        selectors[3] = StreamHandler.reject.selector;
        selectors[4] = StreamHandler.cancel.selector;
        selectors[5] = StreamHandler.timeout.selector;
        selectors[6] = StreamHandler.withdrawFees.selector;
        selectors[7] = StreamHandler.warp.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// Conservation: what the contract holds = in - out = remainders of active streams + accrued fees;
    /// per stream, released + remainder = budget and fees = the sum of per-milestone fees.
    function invariant_conservation() public view {
        uint256 held = handler.token().balanceOf(address(streams));
        assertEq(held, handler.ghostIn() - handler.ghostOut(), "held == in - out");
        uint256 owed;
        uint256 n = handler.streamCount();
        for (uint256 i; i < n; ++i) {
            PayPolStreamV1.Stream memory s = streams.getStream(i);
            uint256 released;
            uint256 fees;
            uint256 approved;
            for (uint256 k; k < s.milestoneCount; ++k) {
                PayPolStreamV1.Milestone memory m = streams.getMilestone(i, k);
                if (m.status == PayPolStreamV1.MilestoneStatus.Approved) {
                    released += m.amount;
                    fees += m.amount * s.feeBps / 10_000;
                    approved++;
                }
            }
            assertEq(s.releasedAmount, released, "released == approved amounts");
            assertEq(s.totalFees, fees, "fees == per-milestone fees");
            assertEq(s.approvedCount, approved);
            if (s.status == PayPolStreamV1.StreamStatus.Active) owed += s.totalBudget - s.releasedAmount;
            assertEq(s.status == PayPolStreamV1.StreamStatus.Completed, approved == s.milestoneCount, "completed iff every milestone approved");
        }
        assertEq(streams.escrowed(address(handler.token())), owed, "escrowed == active remainders");
        assertEq(held, owed + streams.accumulatedFees(address(handler.token())), "held == remainders + fees");
        assertEq(handler.wrongMoney(), 0, "a payout or refund differs from the rules");
    }

    function invariant_authorityLivenessFinality() public view {
        assertEq(handler.unexpectedSuccess(), 0, "a forbidden call succeeded");
        assertEq(handler.unexpectedRevert(), 0, "an allowed call reverted");
        assertEq(handler.closedChanged(), 0, "a completed or cancelled stream changed");
    }

    function afterInvariant() public view {
        console.log("streams", handler.streamCount());
        console.log("approved", handler.nApproved());
        console.log("rejected", handler.nRejected());
        console.log("cancelled", handler.nCancelled());
        console.log("timed out", handler.nTimedOut());
        console.log("completed", handler.nCompleted());
    }
}
