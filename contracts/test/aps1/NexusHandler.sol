// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "../utils/Test.sol";
import {Aps1Fixture} from "./Aps1Fixture.sol";
import {PayPolNexusV2} from "../../src/aps1/PayPolNexusV2.sol";
import {TempoStablecoin} from "../../src/aps1/TempoStablecoin.sol";

/// @notice Invariant handler for PayPolNexusV2: employers, workers, judges, the owner and an attacker
///         call every function in any order, on two tokens (6 and 18 decimals), with time moving
///         and the owner flipping the compat switches. A ghost follows each job's status, how it
///         ended and every token that moved; disagreements with the rules are counted and the
///         invariant test asserts the counters stay 0.
contract NexusHandler is TestBase, Aps1Fixture {
    uint8 internal constant CREATED = 0;
    uint8 internal constant EXECUTING = 1;
    uint8 internal constant COMPLETED = 2;
    uint8 internal constant DISPUTED = 3;
    uint8 internal constant SETTLED = 4;
    uint8 internal constant REFUNDED = 5;

    /// @dev 0 open, 1 settled, 2 refunded, 3 timed out.
    struct Ghost {
        uint8 status;
        uint8 ending;
        uint8 endings;
    }

    address public owner;
    address[2] public employers;
    address[2] public workers;
    address public judge;
    address public attacker;
    TempoStablecoin[2] public tokens;
    uint256 public jobCount;
    mapping(uint256 => Ghost) public ghost;

    /// Tokens that ever entered (pulled) and left (sent) the contract, per token index.
    uint256[2] public ghostIn;
    uint256[2] public ghostOut;

    uint256 public unexpectedSuccess;
    uint256 public unexpectedRevert;
    uint256 public wrongMoney;
    uint256 public endedTwice;
    uint256 public terminalChanged;

    uint256 public nSettled;
    uint256 public nRefunded;
    uint256 public nTimedOut;
    uint256 public nDisputed;

    constructor() {
        owner = vm.addr(0xA0);
        employers[0] = vm.addr(0xE1);
        employers[1] = vm.addr(0xE2);
        workers[0] = vm.addr(0xB1);
        workers[1] = vm.addr(0xB2);
        judge = vm.addr(0xD1);
        attacker = vm.addr(0xEE);
        _deployAps1(owner);
        tokens[0] = usd6;
        tokens[1] = usd18;
        for (uint256 e; e < 2; ++e) {
            for (uint256 t; t < 2; ++t) _fund(tokens[t], employers[e], 2 ** 200, address(nexus));
        }
    }

    function nexusContract() external view returns (PayPolNexusV2) {
        return nexus;
    }

    function tokenAt(uint256 i) external view returns (TempoStablecoin) {
        return tokens[i];
    }

    // ---- helpers --------------------------------------------------------------------------------

    function _tokenIndex(address t) internal view returns (uint256) {
        return t == address(tokens[0]) ? 0 : 1;
    }

    /// @dev Two times in three the role the action needs (`right`), else anyone else (coverage of
    ///      the happy paths without losing the intruders).
    function _pick(uint256 seed, uint256 jobId, address right) internal view returns (address) {
        if (seed % 3 != 0) return right;
        PayPolNexusV2.Job memory j = nexus.getJob(jobId);
        uint256 k = (seed / 3) % 6;
        if (k == 0) return j.employer;
        if (k == 1) return j.worker;
        if (k == 2) return j.judge;
        if (k == 3) return owner;
        if (k == 4) return attacker;
        return employers[0] == j.employer ? employers[1] : employers[0];
    }

    function _open(uint8 s) internal pure returns (bool) {
        return s != SETTLED && s != REFUNDED;
    }

    function _balances(PayPolNexusV2.Job memory j) internal view returns (uint256 w, uint256 e, uint256 f) {
        TempoStablecoin t = TempoStablecoin(j.token);
        return (t.balanceOf(j.worker), t.balanceOf(j.employer), nexus.accumulatedFees(j.token));
    }

    function _sweep() internal {
        for (uint256 i; i < jobCount; ++i) {
            uint8 s = uint8(nexus.getJob(i).status);
            Ghost storage g = ghost[i];
            if (!_open(g.status) && s != g.status) terminalChanged++;
            g.status = s;
        }
    }

    // ---- actions --------------------------------------------------------------------------------

    function create(uint256 e, uint256 w, uint256 judgeSeed, uint256 t, uint256 amount, uint256 duration) external {
        address employer = employers[e % 2];
        address worker = workers[w % 2];
        // Roles that usually coincide are made to differ: sometimes the other worker judges.
        address j = judgeSeed % 3 == 0 ? workers[w % 2 == 0 ? 1 : 0] : judge;
        uint256 ti = t % 2;
        amount = bound(amount, 1, ti == 0 ? 1e15 : 1e27);
        duration = bound(duration, 1, 30 days);
        vm.prank(employer);
        try nexus.createJob(worker, j, address(tokens[ti]), amount, duration) returns (uint256 id) {
            if (id != jobCount) wrongMoney++;
            jobCount++;
            ghostIn[ti] += amount;
        } catch {
            unexpectedRevert++;
        }
        _sweep();
    }

    function start(uint256 jobSeed, uint256 who) external {
        if (jobCount == 0) return;
        uint256 id = jobSeed % jobCount;
        PayPolNexusV2.Job memory j = nexus.getJob(id);
        address caller = _pick(who, id, j.worker);
        bool allowed = (caller == j.worker || caller == j.judge || caller == owner) && uint8(j.status) == CREATED;
        vm.prank(caller);
        try nexus.startJob(id) {
            if (!allowed) unexpectedSuccess++;
        } catch {
            if (allowed) unexpectedRevert++;
        }
        _sweep();
    }

    function complete(uint256 jobSeed, uint256 who) external {
        if (jobCount == 0) return;
        uint256 id = jobSeed % jobCount;
        PayPolNexusV2.Job memory j = nexus.getJob(id);
        address caller = _pick(who, id, j.worker);
        bool allowed = (caller == j.worker || caller == j.judge || caller == owner) && (uint8(j.status) == CREATED || uint8(j.status) == EXECUTING)
            && (nexus.timeoutAfterDelivery() || block.timestamp <= j.deadline);
        vm.prank(caller);
        try nexus.completeJob(id) {
            if (!allowed) unexpectedSuccess++;
        } catch {
            if (allowed) unexpectedRevert++;
        }
        _sweep();
    }

    function dispute(uint256 jobSeed, uint256 who) external {
        if (jobCount == 0) return;
        uint256 id = jobSeed % jobCount;
        PayPolNexusV2.Job memory j = nexus.getJob(id);
        address caller = _pick(who, id, j.employer);
        uint8 s = uint8(j.status);
        bool allowed = caller == j.employer && (s == CREATED || s == EXECUTING || s == COMPLETED);
        uint256 expectedBond = nexus.penaltyFromWinner() ? 0 : nexus.penaltyOf(j.budget, j.token);
        uint256 before = TempoStablecoin(j.token).balanceOf(j.employer);
        vm.prank(caller);
        try nexus.disputeJob(id) {
            if (!allowed) unexpectedSuccess++;
            uint256 paid = before - TempoStablecoin(j.token).balanceOf(j.employer);
            if (paid != expectedBond || nexus.disputeBond(id) != expectedBond) wrongMoney++;
            ghostIn[_tokenIndex(j.token)] += paid;
            nDisputed++;
        } catch {
            if (allowed) unexpectedRevert++;
        }
        _sweep();
    }

    function settle(uint256 jobSeed, uint256 who) external {
        if (jobCount == 0) return;
        uint256 id = jobSeed % jobCount;
        PayPolNexusV2.Job memory j = nexus.getJob(id);
        address caller = _pick(who, id, j.judge);
        bool allowed = (caller == j.judge || caller == owner) && _open(uint8(j.status));
        uint256 bond = nexus.disputeBond(id);
        uint256 penalty = uint8(j.status) != DISPUTED ? 0 : bond > 0 ? bond : nexus.penaltyFromWinner() ? nexus.penaltyOf(j.budget, j.token) : 0;
        uint256 expectWorker = j.budget - j.platformFee - (bond > 0 ? 0 : penalty);
        (uint256 w0, uint256 e0, uint256 f0) = _balances(j);
        vm.prank(caller);
        try nexus.settleJob(id) {
            if (!allowed) unexpectedSuccess++;
            (uint256 w1, uint256 e1, uint256 f1) = _balances(j);
            if (j.worker != j.employer && (w1 - w0 != expectWorker || e1 != e0)) wrongMoney++;
            if (f1 - f0 != j.platformFee + penalty) wrongMoney++;
            ghostOut[_tokenIndex(j.token)] += expectWorker;
            _end(id, 1);
            nSettled++;
        } catch {
            if (allowed) unexpectedRevert++;
        }
        _sweep();
    }

    function refund(uint256 jobSeed, uint256 who) external {
        if (jobCount == 0) return;
        uint256 id = jobSeed % jobCount;
        PayPolNexusV2.Job memory j = nexus.getJob(id);
        address caller = _pick(who, id, j.judge);
        bool allowed = (caller == j.judge || caller == owner) && _open(uint8(j.status));
        uint256 bond = nexus.disputeBond(id);
        uint256 penalty = uint8(j.status) == DISPUTED && bond == 0 && nexus.penaltyFromWinner() ? nexus.penaltyOf(j.budget, j.token) : 0;
        uint256 expectEmployer = j.budget + bond - penalty;
        (, uint256 e0, uint256 f0) = _balances(j);
        vm.prank(caller);
        try nexus.refundJob(id) {
            if (!allowed) unexpectedSuccess++;
            (, uint256 e1, uint256 f1) = _balances(j);
            if (e1 - e0 != expectEmployer || f1 - f0 != penalty) wrongMoney++;
            ghostOut[_tokenIndex(j.token)] += expectEmployer;
            _end(id, 2);
            nRefunded++;
        } catch {
            if (allowed) unexpectedRevert++;
        }
        _sweep();
    }

    function timeout(uint256 jobSeed, uint256 who) external {
        if (jobCount == 0) return;
        uint256 id = jobSeed % jobCount;
        PayPolNexusV2.Job memory j = nexus.getJob(id);
        address caller = _pick(who, id, j.employer);
        uint8 s = uint8(j.status);
        bool statusOk = _open(s) && (nexus.timeoutAfterDelivery() || s == CREATED || s == EXECUTING);
        bool allowed = caller == j.employer && statusOk && block.timestamp > j.deadline;
        if (nexus.isTimedOut(id) != (statusOk && block.timestamp > j.deadline)) wrongMoney++;
        uint256 expectEmployer = j.budget + nexus.disputeBond(id);
        (, uint256 e0, uint256 f0) = _balances(j);
        vm.prank(caller);
        try nexus.claimTimeout(id) {
            if (!allowed) unexpectedSuccess++;
            (, uint256 e1, uint256 f1) = _balances(j);
            if (e1 - e0 != expectEmployer || f1 != f0) wrongMoney++;
            ghostOut[_tokenIndex(j.token)] += expectEmployer;
            _end(id, 3);
            nTimedOut++;
        } catch {
            if (allowed) unexpectedRevert++;
        }
        _sweep();
    }

    function rate(uint256 jobSeed, uint256 who, uint8 rating) external {
        if (jobCount == 0) return;
        uint256 id = jobSeed % jobCount;
        PayPolNexusV2.Job memory j = nexus.getJob(id);
        address caller = _pick(who, id, j.employer);
        rating = uint8(bound(rating, 0, 6));
        bool allowed = caller == j.employer && uint8(j.status) == SETTLED && !j.rated && rating >= 1 && rating <= 5;
        vm.prank(caller);
        try nexus.rateWorker(id, rating) {
            if (!allowed) unexpectedSuccess++;
        } catch {
            if (allowed) unexpectedRevert++;
        }
    }

    function withdrawFees(uint256 t, bool asOwner) external {
        TempoStablecoin token = tokens[t % 2];
        uint256 amount = nexus.accumulatedFees(address(token));
        address caller = asOwner ? owner : attacker;
        bool allowed = asOwner && amount > 0;
        vm.prank(caller);
        try nexus.withdrawFees(address(token)) {
            if (!allowed) unexpectedSuccess++;
            ghostOut[t % 2] += amount;
        } catch {
            if (allowed) unexpectedRevert++;
        }
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + bound(secs, 1, 20 days));
    }

    function flipCompat(bool a, bool b, bool c) external {
        vm.prank(owner);
        nexus.setCompat(a, b, c);
    }

    function _end(uint256 id, uint8 how) internal {
        Ghost storage g = ghost[id];
        if (g.endings > 0) endedTwice++;
        g.endings++;
        g.ending = how;
    }
}
