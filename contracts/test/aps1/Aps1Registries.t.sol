// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../utils/Test.sol";
import {Aps1Fixture} from "./Aps1Fixture.sol";
import {Aps1FeeVectors} from "./Aps1FeeVectors.sol";
import {AIProofRegistry} from "../../src/aps1/AIProofRegistry.sol";
import {PayPolReputationRegistry} from "../../src/aps1/PayPolReputationRegistry.sol";
import {TempoStablecoin} from "../../src/aps1/TempoStablecoin.sol";

/// @notice AIProofRegistry (commit, verify once, matched flag, slash only verified mismatches; who may
///         verify in each profile), PayPolReputationRegistry (score and tiers against the vectors from
///         protocol/reputation.ts) and the Tempo stablecoin.
contract Aps1RegistriesTest is Test, Aps1Fixture {
    event CommitmentMade(bytes32 indexed commitmentId, address indexed agent, bytes32 planHash, uint256 indexed nexusJobId);
    event CommitmentVerified(bytes32 indexed commitmentId, bool matched, bytes32 resultHash);

    address internal owner = makeAddr("owner");
    address internal agentA = makeAddr("agent");
    address internal attacker = makeAddr("attacker");
    bytes32 internal constant PLAN = keccak256("plan");

    function setUp() public {
        vm.warp(1_750_000_000);
        _deployAps1(owner);
    }

    // ---- AIProofRegistry ------------------------------------------------------------------------

    function test_commit_idFormula_zeroRefused() public {
        vm.prank(agentA);
        vm.expectRevert(abi.encodeWithSelector(AIProofRegistry.ZeroPlanHash.selector));
        proofs.commit(bytes32(0), 1);
        bytes32 expected = keccak256(abi.encodePacked(agentA, PLAN, uint256(42), block.timestamp, uint256(0)));
        vm.expectEmit(address(proofs));
        emit CommitmentMade(expected, agentA, PLAN, 42);
        vm.prank(agentA);
        bytes32 id = proofs.commit(PLAN, 42);
        assertEq(id, expected);
        assertEq(proofs.getJobCommitment(42), id);
        AIProofRegistry.Commitment memory c = proofs.getCommitment(id);
        assertEq(c.agent, agentA);
        assertEq(c.planHash, PLAN);
        assertEq(c.nexusJobId, 42);
        assertFalse(c.verified);
    }

    function test_verify_once_matchedFlag_onlyCommitter() public {
        vm.prank(agentA);
        bytes32 id = proofs.commit(PLAN, 1);
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(AIProofRegistry.NotCommitter.selector, id, attacker));
        proofs.verify(id, keccak256("forged"));
        vm.expectEmit(address(proofs));
        emit CommitmentVerified(id, true, PLAN);
        vm.prank(agentA);
        assertTrue(proofs.verify(id, PLAN));
        vm.prank(agentA);
        vm.expectRevert(abi.encodeWithSelector(AIProofRegistry.AlreadyVerified.selector, id));
        proofs.verify(id, PLAN);
        vm.prank(agentA);
        bytes32 id2 = proofs.commit(PLAN, 2);
        vm.prank(agentA);
        assertFalse(proofs.verify(id2, keccak256("something else")));
        (uint256 total, uint256 verified, uint256 matched, uint256 mismatched, uint256 slashed) = proofs.getStats();
        assertEq(total, 2);
        assertEq(verified, 2);
        assertEq(matched, 1);
        assertEq(mismatched, 1);
        assertEq(slashed, 0);
        vm.expectRevert(abi.encodeWithSelector(AIProofRegistry.CommitmentNotFound.selector, bytes32(uint256(1))));
        proofs.verify(bytes32(uint256(1)), PLAN);
    }

    function test_compat_anyoneVerifies_frontRunMakesAgentSlashable() public {
        vm.prank(agentA);
        bytes32 id = proofsCompat.commit(PLAN, 1);
        vm.prank(attacker);
        assertFalse(proofsCompat.verify(id, keccak256("forged")));
        vm.prank(owner);
        proofsCompat.slash(id);
        assertTrue(proofsCompat.getCommitment(id).slashed, "public contract: a third party's verify gets the agent slashed");
    }

    function test_slash_onlyVerifiedMismatch_once_ownerOnly() public {
        vm.startPrank(agentA);
        bytes32 open = proofs.commit(PLAN, 1);
        bytes32 good = proofs.commit(PLAN, 2);
        proofs.verify(good, PLAN);
        bytes32 bad = proofs.commit(PLAN, 3);
        proofs.verify(bad, bytes32(uint256(7)));
        vm.stopPrank();
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(AIProofRegistry.NotVerifiedMismatch.selector, open));
        proofs.slash(open);
        vm.expectRevert(abi.encodeWithSelector(AIProofRegistry.NotVerifiedMismatch.selector, good));
        proofs.slash(good);
        vm.stopPrank();
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(AIProofRegistry.NotOwner.selector, attacker));
        proofs.slash(bad);
        vm.prank(owner);
        proofs.slash(bad);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(AIProofRegistry.AlreadySlashed.selector, bad));
        proofs.slash(bad);
        (,,,, uint256 slashed) = proofs.getStats();
        assertEq(slashed, 1);
    }

    // ---- PayPolReputationRegistry ---------------------------------------------------------------

    function test_vectors_scoreAndTier() public {
        Aps1FeeVectors.ReputationVector[] memory v = Aps1FeeVectors.reputations();
        for (uint256 i; i < v.length; ++i) {
            uint256[10] memory x = v[i].inputs;
            address a = address(uint160(0x1000 + i));
            vm.prank(owner);
            reputation.updateReputation(a, x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9]);
            assertEq(reputation.getScore(a), v[i].score, "score");
            assertEq(reputation.getTier(a), v[i].tier, "tier");
            assertEq(reputation.tierOf(v[i].score), v[i].tier);
        }
    }

    function test_ownerOnly_batch() public {
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(PayPolReputationRegistry.NotOwner.selector, attacker));
        reputation.updateReputation(agentA, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0);
        address[] memory agents = new address[](2);
        agents[0] = agentA;
        agents[1] = attacker;
        PayPolReputationRegistry.Inputs[] memory inputs = new PayPolReputationRegistry.Inputs[](1);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(PayPolReputationRegistry.LengthMismatch.selector, 2, 1));
        reputation.batchUpdateReputation(agents, inputs);
        inputs = new PayPolReputationRegistry.Inputs[](2);
        inputs[0].nexusRatingSum = 5;
        inputs[0].nexusRatingCount = 1;
        vm.prank(owner);
        reputation.batchUpdateReputation(agents, inputs);
        assertEq(reputation.getScore(agentA), 3000);
        assertEq(reputation.getScore(attacker), 0);
        assertEq(reputation.getReputation(agentA).updatedAt, block.timestamp);
    }

    // ---- TempoStablecoin ------------------------------------------------------------------------

    function test_token_minterOnly_erc20() public {
        assertEq(usd6.decimals(), 6);
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(TempoStablecoin.NotMinter.selector, attacker));
        usd6.mint(attacker, 1);
        usd6.mint(agentA, 10);
        vm.prank(agentA);
        usd6.transfer(attacker, 4);
        assertEq(usd6.balanceOf(attacker), 4);
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(TempoStablecoin.InsufficientBalance.selector, attacker, 4, 5));
        usd6.transfer(agentA, 5);
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(TempoStablecoin.InsufficientAllowance.selector, attacker, 0, 1));
        usd6.transferFrom(agentA, attacker, 1);
        assertEq(usd6.totalSupply(), 10);
        vm.expectRevert(abi.encodeWithSelector(TempoStablecoin.AlreadyInitialized.selector));
        usd6.initialize("x", "x", 6, attacker);
    }
}
