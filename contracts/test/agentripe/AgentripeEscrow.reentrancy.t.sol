// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../utils/Test.sol";
import {IdentityRegistry} from "../../src/shared/erc8004/IdentityRegistry.sol";
import {AgentripeEscrow} from "../../src/agentripe/AgentripeEscrow.sol";
import {IAgentripeEscrow} from "../../src/agentripe/IAgentripeEscrow.sol";

/// @notice A hostile token: on `transfer` it calls back into the escrow (as the recipient would
///         with a hook-bearing token). Only to show the escrow's lock; real USDC has no hooks.
contract ReentrantToken {
    mapping(address => uint256) public balanceOf;
    AgentripeEscrow public target;
    bytes public reentryCall;
    bytes public reentryRevert;

    function setBalance(address who, uint256 amount) external {
        balanceOf[who] = amount;
    }

    function arm(AgentripeEscrow escrow, bytes calldata call) external {
        target = escrow;
        reentryCall = call;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        balanceOf[msg.sender] -= value;
        balanceOf[to] += value;
        if (address(target) != address(0)) {
            (bool ok, bytes memory ret) = address(target).call(reentryCall);
            // Surface the escrow's answer to the re-entrant call as the transfer's failure.
            if (!ok) {
                assembly {
                    revert(add(ret, 0x20), mload(ret))
                }
            }
        }
        return true;
    }

    function receiveWithAuthorization(address, address, uint256, uint256, uint256, bytes32, bytes calldata) external {}
}

contract AgentripeEscrowReentrancyTest is Test {
    ReentrantToken internal token;
    IdentityRegistry internal registry;
    AgentripeEscrow internal escrow;
    address internal operator = makeAddr("operator");
    address internal buyer = makeAddr("buyer");
    uint256 internal agentId;

    function setUp() public {
        token = new ReentrantToken();
        registry = new IdentityRegistry();
        registry.initialize();
        vm.prank(makeAddr("vendor"));
        agentId = registry.register();
        escrow = new AgentripeEscrow();
        escrow.initialize(address(token), address(registry), makeAddr("admin"), operator, 7 days);
        token.setBalance(address(escrow), 2_000);
        vm.startPrank(operator);
        escrow.recordDeposit(bytes32(uint256(1)), agentId, buyer, 1_000);
        escrow.recordDeposit(bytes32(uint256(2)), agentId, buyer, 1_000);
        escrow.refundToBuyer(bytes32(uint256(1)));
        escrow.refundToBuyer(bytes32(uint256(2)));
        vm.stopPrank();
    }

    /// withdraw -> token.transfer -> escrow.withdraw again: refused by the lock, nothing paid twice.
    function test_withdraw_reentry_refused() public {
        token.arm(escrow, abi.encodeCall(AgentripeEscrow.withdraw, ()));
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.Reentrancy.selector));
        vm.prank(buyer);
        escrow.withdraw();
        assertEq(escrow.withdrawableBalance(buyer), 2_000);
        assertEq(token.balanceOf(buyer), 0);
    }

    /// Re-entering any other state-changing entry point is refused too.
    function test_withdraw_reentryIntoReclaim_refused() public {
        token.arm(escrow, abi.encodeCall(AgentripeEscrow.reclaim, (bytes32(uint256(1)))));
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.Reentrancy.selector));
        vm.prank(buyer);
        escrow.withdraw();
    }

    /// Sanity: without re-entry the same withdraw works (so the refusals above are the lock's doing).
    function test_withdraw_withoutReentry_pays() public {
        vm.prank(buyer);
        escrow.withdraw();
        assertEq(token.balanceOf(buyer), 2_000);
        assertEq(escrow.withdrawableBalance(buyer), 0);
    }
}
