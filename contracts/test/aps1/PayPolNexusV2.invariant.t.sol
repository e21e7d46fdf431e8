// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test, console} from "../utils/Test.sol";
import {NexusHandler} from "./NexusHandler.sol";
import {PayPolNexusV2} from "../../src/aps1/PayPolNexusV2.sol";
import {TempoStablecoin} from "../../src/aps1/TempoStablecoin.sol";

/// @notice Handler-driven invariants of PayPolNexusV2 (runs/depth from foundry.toml).
contract PayPolNexusV2InvariantTest is Test {
    NexusHandler internal handler;
    PayPolNexusV2 internal nexus;

    function setUp() public {
        vm.warp(1_750_000_000);
        handler = new NexusHandler();
        nexus = handler.nexusContract();
        bytes4[] memory selectors = new bytes4[](11);
        selectors[0] = NexusHandler.create.selector;
        selectors[1] = NexusHandler.start.selector;
        selectors[2] = NexusHandler.complete.selector;
        selectors[3] = NexusHandler.dispute.selector;
        selectors[4] = NexusHandler.settle.selector;
        selectors[5] = NexusHandler.refund.selector;
        selectors[6] = NexusHandler.timeout.selector;
        selectors[7] = NexusHandler.rate.selector;
        selectors[8] = NexusHandler.withdrawFees.selector;
        selectors[9] = NexusHandler.warp.selector;
        selectors[10] = NexusHandler.flipCompat.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// Conservation: per token, what the contract holds = what came in - what went out = the budgets
    /// of unfinished jobs + open dispute bonds + accrued fees.
    function invariant_conservation() public view {
        for (uint256 t; t < 2; ++t) {
            TempoStablecoin token = handler.tokenAt(t);
            uint256 held = token.balanceOf(address(nexus));
            assertEq(held, handler.ghostIn(t) - handler.ghostOut(t), "held == in - out");
            uint256 owed;
            uint256 n = handler.jobCount();
            for (uint256 i; i < n; ++i) {
                PayPolNexusV2.Job memory j = nexus.getJob(i);
                if (j.token != address(token)) continue;
                if (j.status != PayPolNexusV2.JobStatus.Settled && j.status != PayPolNexusV2.JobStatus.Refunded) owed += j.budget;
                owed += nexus.disputeBond(i);
            }
            assertEq(nexus.escrowed(address(token)), owed, "escrowed == open budgets + bonds");
            assertEq(held, owed + nexus.accumulatedFees(address(token)), "held == owed + fees");
        }
        assertEq(handler.wrongMoney(), 0, "a settlement moved other amounts than the rules say");
    }

    /// Every job ends in exactly one of settled, refunded, timed out, and never changes after.
    function invariant_oneEnding() public view {
        uint256 n = handler.jobCount();
        for (uint256 i; i < n; ++i) {
            (uint8 status, uint8 ending, uint8 endings) = handler.ghost(i);
            PayPolNexusV2.Job memory j = nexus.getJob(i);
            assertEq(uint256(uint8(j.status)), uint256(status), "ghost follows the status");
            bool finished = j.status == PayPolNexusV2.JobStatus.Settled || j.status == PayPolNexusV2.JobStatus.Refunded;
            assertEq(endings, finished ? 1 : 0, "a finished job ended exactly once, an open one never");
            if (finished) assertTrue(j.status == PayPolNexusV2.JobStatus.Settled ? ending == 1 : ending == 2 || ending == 3, "status matches how it ended");
            if (finished) assertEq(nexus.disputeBond(i), 0, "no bond outlives its job");
        }
        assertEq(handler.endedTwice(), 0, "a job ended twice");
        assertEq(handler.terminalChanged(), 0, "a settled or refunded job changed");
    }

    /// Only the roles the rules name move a job; what the rules allow succeeds.
    function invariant_authorityAndLiveness() public view {
        assertEq(handler.unexpectedSuccess(), 0, "a forbidden call succeeded");
        assertEq(handler.unexpectedRevert(), 0, "an allowed call reverted");
    }

    function afterInvariant() public view {
        console.log("jobs", handler.jobCount());
        console.log("settled", handler.nSettled());
        console.log("refunded", handler.nRefunded());
        console.log("timed out", handler.nTimedOut());
        console.log("disputed", handler.nDisputed());
    }
}
