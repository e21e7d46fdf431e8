// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test, console} from "../utils/Test.sol";
import {AgentripeHandler} from "./AgentripeHandler.sol";
import {AgentripeEscrow} from "../../src/agentripe/AgentripeEscrow.sol";
import {IAgentripeEscrow} from "../../src/agentripe/IAgentripeEscrow.sol";
import {FiatTokenV2_2} from "../../src/shared/FiatTokenV2_2.sol";

/// @notice Handler-driven invariants of AgentripeEscrow (runs/depth from foundry.toml: 256 x 50).
contract AgentripeEscrowInvariantTest is Test {
    AgentripeHandler internal handler;
    AgentripeEscrow internal escrow;
    FiatTokenV2_2 internal usdc;

    function setUp() public {
        vm.warp(1_750_000_000);
        handler = new AgentripeHandler();
        escrow = handler.escrowContract();
        usdc = handler.token();

        bytes4[] memory selectors = new bytes4[](13);
        selectors[0] = AgentripeHandler.payX402.selector;
        selectors[1] = AgentripeHandler.recordPayment.selector;
        selectors[2] = AgentripeHandler.recordUnbacked.selector;
        selectors[3] = AgentripeHandler.depositPull.selector;
        selectors[4] = AgentripeHandler.donate.selector;
        selectors[5] = AgentripeHandler.release.selector;
        selectors[6] = AgentripeHandler.refund.selector;
        selectors[7] = AgentripeHandler.reclaim.selector;
        selectors[8] = AgentripeHandler.intrude.selector;
        selectors[9] = AgentripeHandler.withdraw.selector;
        selectors[10] = AgentripeHandler.warp.selector;
        selectors[11] = AgentripeHandler.rotateOperator.selector;
        selectors[12] = AgentripeHandler.changeAgentWallet.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// Conservation: total in == total out + held, and what is held is exactly what is owed
    /// (sum of DEPOSITED amounts + sum of withdrawable balances) plus unrecorded USDC.
    function invariant_conservation() public view {
        uint256 balance = usdc.balanceOf(address(escrow));
        assertEq(balance + handler.ghostOut(), handler.ghostIn(), "in == out + held");

        uint256 sumDeposited;
        uint256 n = handler.idCount();
        for (uint256 i; i < n; ++i) {
            (,, uint256 amount, IAgentripeEscrow.DepositStatus s) = escrow.getDeposit(handler.ids(i));
            if (s == IAgentripeEscrow.DepositStatus.DEPOSITED) sumDeposited += amount;
        }
        uint256 sumWithdrawable;
        uint256 m = handler.payeeCount();
        for (uint256 i; i < m; ++i) {
            address p = handler.payees(i);
            uint256 w = escrow.withdrawableBalance(p);
            assertEq(w, handler.ghostCredit(p), "withdrawable == credited by the model");
            sumWithdrawable += w;
        }
        assertEq(escrow.totalDeposited(), sumDeposited, "totalDeposited == sum DEPOSITED");
        assertEq(escrow.totalWithdrawable(), sumWithdrawable, "totalWithdrawable == sum withdrawable");
        assertGe(balance, sumDeposited + sumWithdrawable, "balance >= owed");
        assertEq(balance, sumDeposited + sumWithdrawable + handler.ghostUnallocated(), "balance == owed + unrecorded");
        assertEq(handler.wrongPayout(), 0, "withdraw pays exactly the credit");
    }

    /// Recording never creates money: a deposit needs unallocated USDC behind it.
    function invariant_recordingNeedsBacking() public view {
        assertEq(handler.unbackedRecordAccepted(), 0, "unbacked deposit recorded");
    }

    /// A deposit leaves DEPOSITED at most once and never changes after RELEASED/REFUNDED; apart
    /// from its status, a recorded deposit (agentId, buyer, amount, deadline) never changes.
    function invariant_statusChangesAtMostOnce() public view {
        assertEq(handler.terminalStatusChanged(), 0, "resolved deposit changed status");
        assertEq(handler.recordFieldChanged(), 0, "recorded deposit fields changed");
        uint256 n = handler.idCount();
        for (uint256 i; i < n; ++i) {
            (,,, IAgentripeEscrow.DepositStatus s) = escrow.getDeposit(handler.ids(i));
            assertTrue(s != IAgentripeEscrow.DepositStatus.NONE, "recorded deposit vanished");
        }
    }

    /// Only the operator (release/refund) or the buyer after the deadline (reclaim) moves a deposit.
    function invariant_onlyOperatorOrBuyerAfterDeadline() public view {
        assertEq(handler.unexplainedStatusChange(), 0, "deposit moved by an unauthorised call");
        assertEq(handler.unexpectedSuccess(), 0, "forbidden call succeeded");
    }

    /// Liveness: whatever the profile allows (operator resolution, reclaim, withdraw) works.
    function invariant_allowedCallsSucceed() public view {
        assertEq(handler.unexpectedRevert(), 0, "allowed call reverted");
    }

    /// Coverage log for `-vv`: how often each outcome was actually reached in the last run.
    function afterInvariant() public view {
        console.log("deposits", handler.idCount());
        console.log("released", handler.nReleased());
        console.log("refunded", handler.nRefunded());
        console.log("reclaimed", handler.nReclaimed());
        console.log("withdrawn", handler.nWithdrawn());
        console.log("refused intrusions", handler.nRefusedIntrusions());
    }
}
