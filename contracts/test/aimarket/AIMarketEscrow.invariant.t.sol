// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../utils/Test.sol";
import {AIMarketEscrowHandler} from "./AIMarketEscrowHandler.sol";
import {AIMarketEscrow} from "../../src/aimarket/AIMarketEscrow.sol";

/// @notice Handler-driven invariants of AIMarketEscrow: deposits = debits paid + refunds + balance held.
contract AIMarketEscrowInvariantTest is Test {
    AIMarketEscrowHandler internal handler;

    function setUp() public {
        vm.warp(1_750_000_000);
        handler = new AIMarketEscrowHandler();
        bytes4[] memory selectors = new bytes4[](7);
        selectors[0] = AIMarketEscrowHandler.open.selector;
        selectors[1] = AIMarketEscrowHandler.debit.selector;
        selectors[2] = AIMarketEscrowHandler.settle.selector;
        selectors[3] = AIMarketEscrowHandler.refund.selector;
        selectors[4] = AIMarketEscrowHandler.expire.selector;
        selectors[5] = AIMarketEscrowHandler.warp.selector;
        selectors[6] = AIMarketEscrowHandler.setTtl.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// Conservation: what went in = what went to hubs + what went back + what is held.
    function invariant_conservation() public view {
        uint256 held = handler.token().balanceOf(address(handler.escrow()));
        assertEq(handler.ghostDeposits(), handler.ghostPaidToHubs() + handler.ghostRefunds() + held, "deposits = paid + refunded + held");
    }

    /// The contract holds exactly what open channels still owe (deposit of each open channel), and no
    /// channel is ever debited past its deposit.
    function invariant_heldEqualsOpenDeposits() public view {
        AIMarketEscrow e = handler.escrow();
        uint256 owed;
        uint256 n = handler.idCount();
        for (uint256 i; i < n; ++i) {
            AIMarketEscrow.Channel memory c = e.getChannel(handler.ids(i));
            assertTrue(c.used <= c.deposit, "used <= deposit");
            if (c.status == AIMarketEscrow.Status.Open) owed += c.deposit;
        }
        assertEq(handler.token().balanceOf(address(e)), owed, "held == open deposits");
    }

    /// Debits accepted = the sum of `used` over all channels (a forged signature never debits).
    function invariant_debitsTracked() public view {
        AIMarketEscrow e = handler.escrow();
        uint256 used;
        uint256 n = handler.idCount();
        for (uint256 i; i < n; ++i) used += e.getChannel(handler.ids(i)).used;
        assertEq(used, handler.ghostDebits(), "sum(used) == accepted debits");
    }
}
