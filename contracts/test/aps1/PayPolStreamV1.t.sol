// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../utils/Test.sol";
import {Aps1Fixture} from "./Aps1Fixture.sol";
import {Aps1FeeVectors} from "./Aps1FeeVectors.sol";
import {PayPolStreamV1} from "../../src/aps1/PayPolStreamV1.sol";

/// @notice Unit tests of PayPolStreamV1: at most 10 milestones, submit / approve (amount - 8%) /
///         reject and resubmit, cancel and timeout refund the remainder, who may do what.
contract PayPolStreamV1Test is Test, Aps1Fixture {
    event MilestoneApproved(uint256 indexed streamId, uint256 indexed index, uint256 agentPayout, uint256 fee);
    event StreamCompleted(uint256 indexed streamId, uint256 totalReleased, uint256 totalFees);
    event StreamCancelled(uint256 indexed streamId, uint256 refunded);

    address internal owner = makeAddr("owner");
    address internal client = makeAddr("client");
    address internal agent = makeAddr("agent");
    address internal attacker = makeAddr("attacker");
    uint256 internal constant DURATION = 7 days;
    bytes32 internal constant PROOF = keccak256("milestone proof");

    function setUp() public {
        vm.warp(1_750_000_000);
        _deployAps1(owner);
        _fund(usd6, client, 2 ** 250, address(streams));
    }

    function _amounts(uint256 n, uint256 each) internal pure returns (uint256[] memory a) {
        a = new uint256[](n);
        for (uint256 i; i < n; ++i) a[i] = each + i;
    }

    function _create(uint256[] memory amounts) internal returns (uint256 id) {
        vm.prank(client);
        id = streams.createStream(agent, address(usd6), amounts, DURATION);
    }

    function _submit(uint256 id, uint256 i) internal {
        vm.prank(agent);
        streams.submitMilestone(id, i, PROOF);
    }

    function test_create_boundsAndTotals() public {
        vm.startPrank(client);
        vm.expectRevert(abi.encodeWithSelector(PayPolStreamV1.InvalidMilestoneCount.selector, 0));
        streams.createStream(agent, address(usd6), new uint256[](0), DURATION);
        vm.expectRevert(abi.encodeWithSelector(PayPolStreamV1.InvalidMilestoneCount.selector, 11));
        streams.createStream(agent, address(usd6), _amounts(11, 1), DURATION);
        uint256[] memory withZero = _amounts(3, 1);
        withZero[1] = 0;
        vm.expectRevert(abi.encodeWithSelector(PayPolStreamV1.ZeroAmount.selector, 1));
        streams.createStream(agent, address(usd6), withZero, DURATION);
        vm.stopPrank();
        uint256 id = _create(_amounts(10, 1_000_000));
        PayPolStreamV1.Stream memory s = streams.getStream(id);
        assertEq(s.milestoneCount, 10);
        assertEq(s.totalBudget, 10 * 1_000_000 + 45);
        assertEq(usd6.balanceOf(address(streams)), s.totalBudget);
        assertEq(streams.getRemainingBalance(id), s.totalBudget);
    }

    function test_submitApprove_paysAmountMinusFee_completes() public {
        uint256[] memory a = new uint256[](2);
        a[0] = 5_000_000;
        a[1] = 125;
        uint256 id = _create(a);
        _submit(id, 0);
        assertEq(streams.getMilestone(id, 0).proofHash, PROOF);
        vm.expectEmit(address(streams));
        emit MilestoneApproved(id, 0, 4_600_000, 400_000);
        vm.prank(client);
        streams.approveMilestone(id, 0);
        assertEq(usd6.balanceOf(agent), 4_600_000);
        _submit(id, 1);
        vm.expectEmit(address(streams));
        emit StreamCompleted(id, 5_000_125, 400_010);
        vm.prank(client);
        streams.approveMilestone(id, 1);
        assertEq(usd6.balanceOf(agent), 4_600_000 + 115, "125 - floor(10) = 115: dust stays with the agent");
        assertEq(uint8(streams.getStream(id).status), 1);
        assertEq(streams.getRemainingBalance(id), 0);
        assertEq(usd6.balanceOf(address(streams)), streams.accumulatedFees(address(usd6)));
    }

    function test_rejectAndResubmit_unlimited() public {
        uint256 id = _create(_amounts(1, 1_000_000));
        for (uint256 k; k < 5; ++k) {
            _submit(id, 0);
            vm.prank(client);
            streams.rejectMilestone(id, 0);
            assertEq(uint8(streams.getMilestone(id, 0).status), 3);
        }
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(PayPolStreamV1.InvalidMilestoneStatus.selector, id, 0, PayPolStreamV1.MilestoneStatus.Rejected));
        streams.approveMilestone(id, 0);
        _submit(id, 0);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(PayPolStreamV1.InvalidMilestoneStatus.selector, id, 0, PayPolStreamV1.MilestoneStatus.Submitted));
        streams.submitMilestone(id, 0, PROOF);
        vm.prank(client);
        streams.approveMilestone(id, 0);
    }

    function test_roles() public {
        uint256 id = _create(_amounts(2, 1_000_000));
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(PayPolStreamV1.NotAuthorized.selector, id, client));
        streams.submitMilestone(id, 0, PROOF);
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(PayPolStreamV1.NotAuthorized.selector, id, attacker));
        streams.submitMilestone(id, 0, PROOF);
        _submit(id, 0);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(PayPolStreamV1.NotAuthorized.selector, id, agent));
        streams.approveMilestone(id, 0);
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(PayPolStreamV1.NotAuthorized.selector, id, attacker));
        streams.rejectMilestone(id, 0);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(PayPolStreamV1.NotAuthorized.selector, id, agent));
        streams.cancelStream(id);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(PayPolStreamV1.InvalidMilestone.selector, id, 2));
        streams.submitMilestone(id, 2, PROOF);
        vm.prank(owner);
        streams.approveMilestone(id, 0);
    }

    function test_cancel_refundsRemainder_closes() public {
        uint256 id = _create(_amounts(3, 1_000_000));
        _submit(id, 0);
        vm.prank(client);
        streams.approveMilestone(id, 0);
        _submit(id, 1);
        uint256 before = usd6.balanceOf(client);
        vm.expectEmit(address(streams));
        emit StreamCancelled(id, 2_000_003);
        vm.prank(client);
        streams.cancelStream(id);
        assertEq(usd6.balanceOf(client) - before, 2_000_003, "a submitted but unapproved milestone is refunded too");
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(PayPolStreamV1.StreamNotActive.selector, id, PayPolStreamV1.StreamStatus.Cancelled));
        streams.approveMilestone(id, 1);
        assertEq(usd6.balanceOf(address(streams)), streams.accumulatedFees(address(usd6)));
    }

    function test_timeout_boundary_clientOnly() public {
        uint256 id = _create(_amounts(2, 1_000_000));
        uint256 deadline = streams.getStream(id).deadline;
        vm.warp(deadline);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(PayPolStreamV1.DeadlineNotReached.selector, id, deadline));
        streams.claimTimeout(id);
        assertFalse(streams.isTimedOut(id));
        vm.warp(deadline + 1);
        assertTrue(streams.isTimedOut(id));
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(PayPolStreamV1.NotAuthorized.selector, id, owner));
        streams.claimTimeout(id);
        uint256 before = usd6.balanceOf(client);
        vm.prank(client);
        streams.claimTimeout(id);
        assertEq(usd6.balanceOf(client) - before, 2_000_001);
        assertFalse(streams.isTimedOut(id));
    }

    function test_vectors_milestones() public {
        Aps1FeeVectors.MilestoneVector[] memory v = Aps1FeeVectors.milestones();
        for (uint256 i; i < v.length; ++i) {
            uint256[] memory a = new uint256[](1);
            a[0] = v[i].amount;
            uint256 id = _create(a);
            _submit(id, 0);
            uint256 before = usd6.balanceOf(agent);
            uint256 feesBefore = streams.accumulatedFees(address(usd6));
            vm.prank(client);
            streams.approveMilestone(id, 0);
            assertEq(usd6.balanceOf(agent) - before, v[i].toAgent, "to agent");
            assertEq(streams.accumulatedFees(address(usd6)) - feesBefore, v[i].toFees, "to fees");
        }
    }
}
