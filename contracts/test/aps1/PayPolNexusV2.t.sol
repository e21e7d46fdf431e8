// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../utils/Test.sol";
import {Aps1Fixture} from "./Aps1Fixture.sol";
import {Aps1FeeVectors} from "./Aps1FeeVectors.sol";
import {PayPolNexusV2} from "../../src/aps1/PayPolNexusV2.sol";
import {TempoStablecoin} from "../../src/aps1/TempoStablecoin.sol";

/// @notice Unit tests of PayPolNexusV2: the job lifecycle and who may move it, the fee fixed at
///         creation, disputes and the judge's powers, the deadline boundary, ratings, fees, and every
///         fee/penalty figure against the vectors computed by protocol/fees.ts (both profiles).
contract PayPolNexusV2Test is Test, Aps1Fixture {
    event JobCreated(uint256 indexed jobId, address indexed employer, address indexed worker, uint256 budget, uint256 deadline);
    event JobSettled(uint256 indexed jobId, uint256 workerPay, uint256 fee);
    event JobRefunded(uint256 indexed jobId, uint256 amount);
    event ArbitrationPenaltyApplied(uint256 indexed jobId, address indexed penalizedParty, uint256 amount);
    event TimeoutClaimed(uint256 indexed jobId, address indexed employer, uint256 amount);

    address internal owner = makeAddr("owner");
    address internal employer = makeAddr("employer");
    address internal worker = makeAddr("worker");
    address internal judge = makeAddr("judge");
    address internal attacker = makeAddr("attacker");

    uint256 internal constant BUDGET = 5_000_000; // 5 AlphaUSD: the seed's settlement example
    uint256 internal constant DURATION = 1 days;

    function setUp() public {
        vm.warp(1_750_000_000);
        _deployAps1(owner);
        _fund(usd6, employer, 2 ** 250, address(nexus));
        vm.prank(employer);
        usd6.approve(address(nexusCompat), type(uint256).max);
        _fund(usd18, employer, 1e40, address(nexus));
        vm.prank(employer);
        usd18.approve(address(nexusCompat), type(uint256).max);
    }

    function _create(PayPolNexusV2 n, TempoStablecoin token, uint256 budget) internal returns (uint256 id) {
        vm.prank(employer);
        id = n.createJob(worker, judge, address(token), budget, DURATION);
    }

    function _status(PayPolNexusV2 n, uint256 id) internal view returns (uint8) {
        return uint8(n.getJob(id).status);
    }

    // ---- creation -------------------------------------------------------------------------------

    function test_create_locksBudget_fixesFee_numbersFromZero() public {
        vm.expectEmit(address(nexus));
        emit JobCreated(0, employer, worker, BUDGET, block.timestamp + DURATION);
        uint256 id = _create(nexus, usd6, BUDGET);
        assertEq(id, 0);
        assertEq(_create(nexus, usd6, BUDGET), 1);
        PayPolNexusV2.Job memory j = nexus.getJob(id);
        assertEq(j.employer, employer);
        assertEq(j.worker, worker);
        assertEq(j.judge, judge);
        assertEq(j.budget, BUDGET);
        assertEq(j.platformFee, 400_000, "8% of 5 AlphaUSD");
        assertEq(j.deadline, block.timestamp + DURATION);
        assertEq(uint8(j.status), 0);
        assertEq(usd6.balanceOf(address(nexus)), 2 * BUDGET);
        assertEq(nexus.escrowed(address(usd6)), 2 * BUDGET);
    }

    function test_feeIsFixedAtCreation() public {
        uint256 id = _create(nexus, usd6, BUDGET);
        vm.prank(owner);
        nexus.setPlatformFee(3000);
        vm.prank(judge);
        nexus.settleJob(id);
        assertEq(usd6.balanceOf(worker), 4_600_000, "the worker gets budget - 8% although the fee is 30% now");
        assertEq(nexus.accumulatedFees(address(usd6)), 400_000);
        assertEq(nexus.getJob(_create(nexus, usd6, BUDGET)).platformFee, 1_500_000, "new jobs get the new fee");
    }

    function test_create_refusesBadInput() public {
        vm.startPrank(employer);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.ZeroAmount.selector));
        nexus.createJob(worker, judge, address(usd6), 0, DURATION);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.ZeroAddress.selector));
        nexus.createJob(address(0), judge, address(usd6), 1, DURATION);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.ZeroAddress.selector));
        nexus.createJob(worker, address(0), address(usd6), 1, DURATION);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.InvalidDeadline.selector, 0));
        nexus.createJob(worker, judge, address(usd6), 1, 0);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.InvalidDeadline.selector, 365 days + 1));
        nexus.createJob(worker, judge, address(usd6), 1, 365 days + 1);
        vm.stopPrank();
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(TempoStablecoin.InsufficientAllowance.selector, address(nexus), 0, 1));
        nexus.createJob(worker, judge, address(usd6), 1, DURATION);
        assertEq(nexus.nextJobId(), 0);
    }

    function test_initializeOnce() public {
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.AlreadyInitialized.selector));
        nexus.initialize(attacker, 0, 0, 0, false, false, false);
    }

    // ---- who may move a job -----------------------------------------------------------------------

    function test_startComplete_workerJudgeOwnerOnly() public {
        uint256 id = _create(nexus, usd6, BUDGET);
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.NotAuthorized.selector, id, attacker));
        nexus.startJob(id);
        vm.prank(employer);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.NotAuthorized.selector, id, employer));
        nexus.completeJob(id);
        vm.prank(worker);
        nexus.startJob(id);
        assertEq(_status(nexus, id), 1);
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.InvalidStatus.selector, id, PayPolNexusV2.JobStatus.Executing));
        nexus.startJob(id);
        vm.prank(judge);
        nexus.completeJob(id);
        assertEq(_status(nexus, id), 2);
        uint256 id2 = _create(nexus, usd6, BUDGET);
        vm.prank(owner);
        nexus.completeJob(id2);
        assertEq(_status(nexus, id2), 2, "complete straight from Created");
    }

    function test_disputeByEmployerOnly_fromOpenStatuses() public {
        uint256 id = _create(nexus, usd6, BUDGET);
        for (uint256 i; i < 3; ++i) {
            address who = i == 0 ? worker : i == 1 ? judge : attacker;
            vm.prank(who);
            vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.NotAuthorized.selector, id, who));
            nexus.disputeJob(id);
        }
        vm.prank(worker);
        nexus.completeJob(id);
        uint256 before = usd6.balanceOf(employer);
        vm.prank(employer);
        nexus.disputeJob(id);
        assertEq(_status(nexus, id), 3);
        assertEq(nexus.disputeBond(id), 150_000, "3% of 5 AlphaUSD, posted by the employer");
        assertEq(before - usd6.balanceOf(employer), 150_000);
        vm.prank(employer);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.InvalidStatus.selector, id, PayPolNexusV2.JobStatus.Disputed));
        nexus.disputeJob(id);
    }

    function test_settleRefund_judgeOrOwnerOnly_once() public {
        uint256 id = _create(nexus, usd6, BUDGET);
        address[3] memory bad = [employer, worker, attacker];
        for (uint256 i; i < 3; ++i) {
            vm.prank(bad[i]);
            vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.NotAuthorized.selector, id, bad[i]));
            nexus.settleJob(id);
            vm.prank(bad[i]);
            vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.NotAuthorized.selector, id, bad[i]));
            nexus.refundJob(id);
        }
        vm.prank(judge);
        nexus.settleJob(id);
        vm.prank(judge);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.InvalidStatus.selector, id, PayPolNexusV2.JobStatus.Settled));
        nexus.settleJob(id);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.InvalidStatus.selector, id, PayPolNexusV2.JobStatus.Settled));
        nexus.refundJob(id);
        uint256 id2 = _create(nexus, usd6, BUDGET);
        vm.prank(owner);
        nexus.refundJob(id2);
        assertEq(_status(nexus, id2), 5);
        vm.prank(employer);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.InvalidStatus.selector, id2, PayPolNexusV2.JobStatus.Refunded));
        nexus.claimTimeout(id2);
    }

    function test_unknownJob() public {
        vm.prank(judge);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.JobNotFound.selector, 7));
        nexus.settleJob(7);
        assertEq(nexus.getJob(7).employer, address(0));
        assertFalse(nexus.isTimedOut(7));
    }

    // ---- deadline -------------------------------------------------------------------------------

    function test_timeout_exactBoundary_employerOnly_fullRefundNoFee() public {
        uint256 id = _create(nexus, usd6, BUDGET);
        uint256 deadline = nexus.getJob(id).deadline;
        vm.warp(deadline);
        vm.prank(employer);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.DeadlineNotReached.selector, id, deadline));
        nexus.claimTimeout(id);
        assertFalse(nexus.isTimedOut(id));
        vm.warp(deadline + 1);
        assertTrue(nexus.isTimedOut(id));
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.NotAuthorized.selector, id, attacker));
        nexus.claimTimeout(id);
        uint256 before = usd6.balanceOf(employer);
        vm.expectEmit(address(nexus));
        emit TimeoutClaimed(id, employer, BUDGET);
        vm.prank(employer);
        nexus.claimTimeout(id);
        assertEq(usd6.balanceOf(employer) - before, BUDGET);
        assertEq(nexus.accumulatedFees(address(usd6)), 0);
        assertEq(_status(nexus, id), 5);
        assertFalse(nexus.isTimedOut(id));
    }

    function test_reference_deliveryCounts_lateDeliveryRefused() public {
        uint256 id = _create(nexus, usd6, BUDGET);
        uint256 deadline = nexus.getJob(id).deadline;
        vm.warp(deadline);
        vm.prank(worker);
        nexus.completeJob(id);
        vm.warp(deadline + 1);
        assertFalse(nexus.isTimedOut(id), "delivered in time: no timeout");
        vm.prank(employer);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.InvalidStatus.selector, id, PayPolNexusV2.JobStatus.Completed));
        nexus.claimTimeout(id);
        uint256 late = _create(nexus, usd6, BUDGET);
        uint256 lateDeadline = nexus.getJob(late).deadline;
        vm.warp(block.timestamp + DURATION + 1);
        vm.prank(worker);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.DeadlinePassed.selector, late, lateDeadline));
        nexus.completeJob(late);
    }

    function test_compat_timeoutAfterDelivery() public {
        uint256 id = _create(nexusCompat, usd6, BUDGET);
        vm.prank(worker);
        nexusCompat.completeJob(id);
        vm.warp(block.timestamp + DURATION + 1);
        uint256 before = usd6.balanceOf(employer);
        vm.prank(employer);
        nexusCompat.claimTimeout(id);
        assertEq(usd6.balanceOf(employer) - before, BUDGET, "public contract: a delivered job still times out");
        uint256 late = _create(nexusCompat, usd6, BUDGET);
        vm.warp(block.timestamp + DURATION + 1);
        vm.prank(worker);
        nexusCompat.completeJob(late);
        assertEq(_status(nexusCompat, late), 2, "public contract: no deadline on completion");
    }

    // ---- disputes -------------------------------------------------------------------------------

    function test_reference_disputeSettled_employerLosesBond_workerPaidInFull() public {
        uint256 id = _create(nexus, usd6, BUDGET);
        vm.prank(employer);
        nexus.disputeJob(id);
        vm.expectEmit(address(nexus));
        emit ArbitrationPenaltyApplied(id, employer, 150_000);
        vm.prank(judge);
        nexus.settleJob(id);
        assertEq(usd6.balanceOf(worker), 4_600_000, "the winner is not charged");
        assertEq(nexus.accumulatedFees(address(usd6)), 400_000 + 150_000);
        assertEq(usd6.balanceOf(address(nexus)), 550_000);
    }

    function test_reference_disputeRefunded_employerGetsBudgetAndBond() public {
        uint256 id = _create(nexus, usd6, BUDGET);
        uint256 before = usd6.balanceOf(employer);
        vm.prank(employer);
        nexus.disputeJob(id);
        vm.prank(judge);
        nexus.refundJob(id);
        assertEq(usd6.balanceOf(employer), before + BUDGET, "budget + bond back: the winner is not charged");
        assertEq(nexus.accumulatedFees(address(usd6)), 0);
    }

    function test_compat_penaltyFromWinner_namesLoser() public {
        uint256 id = _create(nexusCompat, usd6, BUDGET);
        vm.prank(employer);
        nexusCompat.disputeJob(id);
        assertEq(nexusCompat.disputeBond(id), 0);
        vm.expectEmit(address(nexusCompat));
        emit ArbitrationPenaltyApplied(id, employer, 150_000);
        vm.prank(judge);
        nexusCompat.settleJob(id);
        assertEq(usd6.balanceOf(worker), 4_450_000, "public contract: the worker (winner) pays the penalty");
        uint256 id2 = _create(nexusCompat, usd6, BUDGET);
        uint256 before = usd6.balanceOf(employer);
        vm.prank(employer);
        nexusCompat.disputeJob(id2);
        vm.expectEmit(address(nexusCompat));
        emit ArbitrationPenaltyApplied(id2, worker, 150_000);
        vm.prank(judge);
        nexusCompat.refundJob(id2);
        assertEq(usd6.balanceOf(employer), before + BUDGET - 150_000, "public contract: the employer (winner) pays the penalty");
    }

    function test_penaltyCap_inTokenUnits_vs_18Decimals() public view {
        uint256 big = 1_000_000_000; // 1,000 AlphaUSD: 3% = 30 > cap
        assertEq(nexus.penaltyOf(big, address(usd6)), 10_000_000, "10 tokens of a 6-decimal token");
        assertEq(nexusCompat.penaltyOf(big, address(usd6)), 30_000_000, "public contract: 10e18 never binds at 6 decimals");
        assertEq(nexus.penaltyOf(1000e18, address(usd18)), 10e18, "18 decimals: both readings agree");
        assertEq(nexusCompat.penaltyOf(1000e18, address(usd18)), 10e18);
        assertEq(nexus.penaltyOf(33, address(usd6)), 0, "rounds down");
        assertEq(nexus.penaltyOf(34, address(usd6)), 1);
    }

    function test_setters_bounded_ownerOnly() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.FeeTooHigh.selector, 3001, 3000));
        nexus.setPlatformFee(3001);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.FeeTooHigh.selector, 1001, 1000));
        nexus.setArbitrationPenalty(1001);
        nexus.setPlatformFee(3000);
        nexus.setArbitrationPenalty(1000);
        vm.stopPrank();
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.NotOwner.selector, attacker));
        nexus.setPlatformFee(0);
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.NotOwner.selector, attacker));
        nexus.setCompat(true, true, true);
    }

    // ---- ratings and fees -------------------------------------------------------------------------

    function test_rate_onceOnlySettled_1to5_employerOnly() public {
        uint256 id = _create(nexus, usd6, BUDGET);
        vm.prank(employer);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.InvalidStatus.selector, id, PayPolNexusV2.JobStatus.Created));
        nexus.rateWorker(id, 5);
        vm.prank(judge);
        nexus.settleJob(id);
        vm.prank(employer);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.InvalidRating.selector, 0));
        nexus.rateWorker(id, 0);
        vm.prank(employer);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.InvalidRating.selector, 6));
        nexus.rateWorker(id, 6);
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.NotAuthorized.selector, id, attacker));
        nexus.rateWorker(id, 1);
        vm.prank(employer);
        nexus.rateWorker(id, 4);
        vm.prank(employer);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.AlreadyRated.selector, id));
        nexus.rateWorker(id, 5);
        (uint256 sum, uint256 count) = nexus.getWorkerRating(worker);
        assertEq(sum, 4);
        assertEq(count, 1);
        assertTrue(nexus.getJob(id).rated);
    }

    function test_withdrawFees_ownerOnly() public {
        uint256 id = _create(nexus, usd6, BUDGET);
        vm.prank(judge);
        nexus.settleJob(id);
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.NotOwner.selector, attacker));
        nexus.withdrawFees(address(usd6));
        vm.prank(owner);
        nexus.withdrawFees(address(usd6));
        assertEq(usd6.balanceOf(owner), 400_000);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(PayPolNexusV2.NothingToWithdraw.selector, address(usd6)));
        nexus.withdrawFees(address(usd6));
    }

    // ---- the vectors from protocol/fees.ts ---------------------------------------------------------

    /// Every (budget, ending, disputed, profile) vector: the contract moves exactly the figures the
    /// TypeScript fee function computes, and the books balance.
    function test_vectors_jobSettlements() public {
        Aps1FeeVectors.JobVector[] memory v = Aps1FeeVectors.jobs();
        for (uint256 i; i < v.length; ++i) {
            _checkVector(v[i]);
        }
    }

    function _checkVector(Aps1FeeVectors.JobVector memory v) internal {
        PayPolNexusV2 n = v.compat ? nexusCompat : nexus;
        uint256 id = _create(n, usd6, v.budget);
        assertEq(n.getJob(id).platformFee, v.fee, "fee at creation");
        uint256 employerBefore = usd6.balanceOf(employer);
        if (v.disputed) {
            vm.prank(employer);
            n.disputeJob(id);
            assertEq(n.disputeBond(id), v.bond, "bond");
        }
        uint256 workerBefore = usd6.balanceOf(worker);
        uint256 feesBefore = n.accumulatedFees(address(usd6));
        if (v.end == 0) {
            vm.prank(judge);
            n.settleJob(id);
        } else if (v.end == 1) {
            vm.prank(judge);
            n.refundJob(id);
        } else {
            vm.warp(block.timestamp + DURATION + 1);
            vm.prank(employer);
            n.claimTimeout(id);
        }
        assertEq(usd6.balanceOf(worker) - workerBefore, v.toWorker, "to worker");
        assertEq(usd6.balanceOf(employer) + v.bond - employerBefore, v.toEmployer, "to employer");
        assertEq(n.accumulatedFees(address(usd6)) - feesBefore, v.toFees, "to fees");
        assertEq(usd6.balanceOf(address(n)), n.escrowed(address(usd6)) + n.accumulatedFees(address(usd6)), "conservation");
    }

    function test_vectors_penaltyCaps() public {
        Aps1FeeVectors.CapVector[] memory v = Aps1FeeVectors.caps();
        for (uint256 i; i < v.length; ++i) {
            TempoStablecoin t = new TempoStablecoin();
            t.initialize("T", "T", v[i].decimals, address(this));
            PayPolNexusV2 n = v[i].capIn18 ? nexusCompat : nexus;
            // A budget large enough for the cap to bind under either reading.
            uint256 budget = 1e40;
            assertEq(n.penaltyOf(budget, address(t)), v[i].cap, "cap in the token's units");
        }
    }

    /// Fuzz: any budget and ending, on both profiles, conserves exactly.
    function testFuzz_conservation(uint256 budget, uint8 end, bool disputed, bool compat) public {
        budget = bound(budget, 1, 2 ** 240);
        end = uint8(bound(end, 0, 2));
        PayPolNexusV2 n = compat ? nexusCompat : nexus;
        uint256 total = usd6.balanceOf(employer) + usd6.balanceOf(worker) + usd6.balanceOf(address(n));
        uint256 id = _create(n, usd6, budget);
        if (disputed) {
            vm.prank(employer);
            n.disputeJob(id);
        }
        if (end == 0) {
            vm.prank(judge);
            n.settleJob(id);
        } else if (end == 1) {
            vm.prank(judge);
            n.refundJob(id);
        } else if (!disputed || compat) {
            vm.warp(block.timestamp + DURATION + 1);
            vm.prank(employer);
            n.claimTimeout(id);
        }
        assertEq(usd6.balanceOf(employer) + usd6.balanceOf(worker) + usd6.balanceOf(address(n)), total, "nothing created or lost");
        assertEq(usd6.balanceOf(address(n)), n.escrowed(address(usd6)) + n.accumulatedFees(address(usd6)));
    }
}
