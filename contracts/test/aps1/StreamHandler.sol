// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "../utils/Test.sol";
import {Aps1Fixture} from "./Aps1Fixture.sol";
import {PayPolStreamV1} from "../../src/aps1/PayPolStreamV1.sol";
import {TempoStablecoin} from "../../src/aps1/TempoStablecoin.sol";

/// @notice Invariant handler for PayPolStreamV1: clients, agents, the owner and an attacker submit,
///         approve, reject, cancel and time out milestone streams in any order while time moves.
///         Disagreements with the rules are counted; the invariant test asserts they stay 0.
contract StreamHandler is TestBase, Aps1Fixture {
    address public owner;
    address[2] public clients;
    address[2] public agents;
    address public attacker;
    uint256 public streamCount;

    uint256 public ghostIn;
    uint256 public ghostOut;
    uint256 public unexpectedSuccess;
    uint256 public unexpectedRevert;
    uint256 public wrongMoney;
    uint256 public closedChanged;
    mapping(uint256 => uint8) public lastStatus;

    uint256 public nApproved;
    uint256 public nRejected;
    uint256 public nCancelled;
    uint256 public nTimedOut;
    uint256 public nCompleted;

    constructor() {
        owner = vm.addr(0xA0);
        clients[0] = vm.addr(0xC1);
        clients[1] = vm.addr(0xC2);
        agents[0] = vm.addr(0xB1);
        agents[1] = vm.addr(0xB2);
        attacker = vm.addr(0xEE);
        _deployAps1(owner);
        _fund(usd6, clients[0], 2 ** 200, address(streams));
        _fund(usd6, clients[1], 2 ** 200, address(streams));
    }

    function streamsContract() external view returns (PayPolStreamV1) {
        return streams;
    }

    function token() external view returns (TempoStablecoin) {
        return usd6;
    }

    /// @dev Two times in three the role the action needs, else anyone.
    function _pick(uint256 seed, uint256 id, address right) internal view returns (address) {
        if (seed % 3 != 0) return right;
        PayPolStreamV1.Stream memory s = streams.getStream(id);
        uint256 k = (seed / 3) % 4;
        return k == 0 ? s.client : k == 1 ? s.agent : k == 2 ? owner : attacker;
    }

    /// @dev Half the time the first milestone in `want` status (or `want2`), else the fuzzer's index (maybe out of range).
    function _index(uint256 id, uint256 n, uint256 fuzzed, uint8 want, uint8 want2) internal view returns (uint256) {
        if (fuzzed % 2 == 0) {
            for (uint256 i; i < n; ++i) {
                uint8 st = uint8(streams.getMilestone(id, i).status);
                if (st == want || st == want2) return i;
            }
        }
        return bound(fuzzed, 0, n);
    }

    function _sweep() internal {
        for (uint256 i; i < streamCount; ++i) {
            uint8 s = uint8(streams.getStream(i).status);
            if (lastStatus[i] != 0 && s != lastStatus[i]) closedChanged++;
            lastStatus[i] = s;
        }
    }

    function create(uint256 c, uint256 a, uint256 n, uint256 seed, uint256 duration) external {
        n = bound(n, 1, 10);
        uint256[] memory amounts = new uint256[](n);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            amounts[i] = 1 + uint256(keccak256(abi.encode(seed, i))) % 1e12;
            total += amounts[i];
        }
        vm.prank(clients[c % 2]);
        try streams.createStream(agents[a % 2], address(usd6), amounts, bound(duration, 1, 30 days)) {
            streamCount++;
            ghostIn += total;
        } catch {
            unexpectedRevert++;
        }
        _sweep();
    }

    function submit(uint256 idSeed, uint256 index, uint256 who) external {
        if (streamCount == 0) return;
        uint256 id = idSeed % streamCount;
        PayPolStreamV1.Stream memory s = streams.getStream(id);
        index = _index(id, s.milestoneCount, index, 0, 3);
        address caller = _pick(who, id, s.agent);
        uint8 ms = index < s.milestoneCount ? uint8(streams.getMilestone(id, index).status) : 255;
        bool allowed = (caller == s.agent || caller == owner) && uint8(s.status) == 0 && (ms == 0 || ms == 3);
        vm.prank(caller);
        try streams.submitMilestone(id, index, keccak256(abi.encode(id, index))) {
            if (!allowed) unexpectedSuccess++;
        } catch {
            if (allowed) unexpectedRevert++;
        }
        _sweep();
    }

    function approve(uint256 idSeed, uint256 index, uint256 who) external {
        if (streamCount == 0) return;
        uint256 id = idSeed % streamCount;
        PayPolStreamV1.Stream memory s = streams.getStream(id);
        index = _index(id, s.milestoneCount, index, 1, 1);
        address caller = _pick(who, id, s.client);
        uint8 ms = index < s.milestoneCount ? uint8(streams.getMilestone(id, index).status) : 255;
        bool allowed = (caller == s.client || caller == owner) && uint8(s.status) == 0 && ms == 1;
        uint256 amount = index < s.milestoneCount ? streams.getMilestone(id, index).amount : 0;
        uint256 before = usd6.balanceOf(s.agent);
        vm.prank(caller);
        try streams.approveMilestone(id, index) {
            if (!allowed) unexpectedSuccess++;
            uint256 paid = usd6.balanceOf(s.agent) - before;
            if (paid != amount - amount * s.feeBps / 10_000) wrongMoney++;
            ghostOut += paid;
            nApproved++;
            if (uint8(streams.getStream(id).status) == 1) nCompleted++;
        } catch {
            if (allowed) unexpectedRevert++;
        }
        _sweep();
    }

    function reject(uint256 idSeed, uint256 index, uint256 who) external {
        if (streamCount == 0) return;
        uint256 id = idSeed % streamCount;
        PayPolStreamV1.Stream memory s = streams.getStream(id);
        index = _index(id, s.milestoneCount, index, 1, 1);
        address caller = _pick(who, id, s.client);
        uint8 ms = index < s.milestoneCount ? uint8(streams.getMilestone(id, index).status) : 255;
        bool allowed = (caller == s.client || caller == owner) && uint8(s.status) == 0 && ms == 1;
        vm.prank(caller);
        try streams.rejectMilestone(id, index) {
            if (!allowed) unexpectedSuccess++;
            nRejected++;
        } catch {
            if (allowed) unexpectedRevert++;
        }
        _sweep();
    }

    function cancel(uint256 idSeed, uint256 who) external {
        if (streamCount == 0) return;
        uint256 id = idSeed % streamCount;
        PayPolStreamV1.Stream memory s = streams.getStream(id);
        address caller = _pick(who, id, s.client);
        bool allowed = (caller == s.client || caller == owner) && uint8(s.status) == 0;
        uint256 before = usd6.balanceOf(s.client);
        vm.prank(caller);
        try streams.cancelStream(id) {
            if (!allowed) unexpectedSuccess++;
            uint256 back = usd6.balanceOf(s.client) - before;
            if (back != s.totalBudget - s.releasedAmount) wrongMoney++;
            ghostOut += back;
            nCancelled++;
        } catch {
            if (allowed) unexpectedRevert++;
        }
        _sweep();
    }

    function timeout(uint256 idSeed, uint256 who) external {
        if (streamCount == 0) return;
        uint256 id = idSeed % streamCount;
        PayPolStreamV1.Stream memory s = streams.getStream(id);
        address caller = _pick(who, id, s.client);
        bool allowed = caller == s.client && uint8(s.status) == 0 && block.timestamp > s.deadline;
        uint256 before = usd6.balanceOf(s.client);
        vm.prank(caller);
        try streams.claimTimeout(id) {
            if (!allowed) unexpectedSuccess++;
            uint256 back = usd6.balanceOf(s.client) - before;
            if (back != s.totalBudget - s.releasedAmount) wrongMoney++;
            ghostOut += back;
            nTimedOut++;
        } catch {
            if (allowed) unexpectedRevert++;
        }
        _sweep();
    }

    function withdrawFees(bool asOwner) external {
        uint256 amount = streams.accumulatedFees(address(usd6));
        vm.prank(asOwner ? owner : attacker);
        try streams.withdrawFees(address(usd6)) {
            if (!asOwner || amount == 0) unexpectedSuccess++;
            ghostOut += amount;
        } catch {
            if (asOwner && amount > 0) unexpectedRevert++;
        }
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + bound(secs, 1, 20 days));
    }
}
