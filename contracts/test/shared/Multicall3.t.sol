// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Test} from "../utils/Test.sol";
import {Multicall3} from "../../src/shared/Multicall3.sol";

/// @notice A call target: returns values, reverts on demand, accepts ETH.
contract Target {
    uint256 public stored;

    function echo(uint256 x) external pure returns (uint256) {
        return x * 2;
    }

    function fail() external pure {
        revert("nope");
    }

    function deposit() external payable {
        stored += msg.value;
    }
}

contract Multicall3Test is Test {
    Multicall3 internal mc;
    Target internal t;

    function setUp() public {
        mc = new Multicall3();
        t = new Target();
    }

    function _calls(bool withFailure) internal view returns (Multicall3.Call[] memory c) {
        c = new Multicall3.Call[](2);
        c[0] = Multicall3.Call(address(t), abi.encodeCall(Target.echo, (21)));
        c[1] = withFailure
            ? Multicall3.Call(address(t), abi.encodeCall(Target.fail, ()))
            : Multicall3.Call(address(t), abi.encodeCall(Target.echo, (1)));
    }

    function test_aggregate_returnsBlockAndData() public {
        vm.roll(1234);
        (uint256 bn, bytes[] memory ret) = mc.aggregate(_calls(false));
        assertEq(bn, 1234);
        assertEq(abi.decode(ret[0], (uint256)), 42);
        assertEq(abi.decode(ret[1], (uint256)), 2);
        vm.expectRevert(bytes("Multicall3: call failed"));
        mc.aggregate(_calls(true));
    }

    function test_tryAggregate_reportsFailuresUnlessRequired() public {
        Multicall3.Result[] memory r = mc.tryAggregate(false, _calls(true));
        assertTrue(r[0].success);
        assertFalse(r[1].success);
        // The revert data of the failing call is passed through (Error(string) "nope").
        assertEq(r[1].returnData, abi.encodeWithSignature("Error(string)", "nope"));
        vm.expectRevert(bytes("Multicall3: call failed"));
        mc.tryAggregate(true, _calls(true));
    }

    function test_blockAndAggregate_variants() public {
        vm.roll(77);
        (uint256 bn, bytes32 bh, Multicall3.Result[] memory r) = mc.tryBlockAndAggregate(false, _calls(true));
        assertEq(bn, 77);
        assertEq(bh, blockhash(77));
        assertFalse(r[1].success);
        (bn,, r) = mc.blockAndAggregate(_calls(false));
        assertEq(bn, 77);
        assertTrue(r[1].success);
        vm.expectRevert(bytes("Multicall3: call failed"));
        mc.blockAndAggregate(_calls(true));
    }

    function test_aggregate3_allowFailurePerCall() public {
        Multicall3.Call3[] memory c = new Multicall3.Call3[](2);
        c[0] = Multicall3.Call3(address(t), false, abi.encodeCall(Target.echo, (5)));
        c[1] = Multicall3.Call3(address(t), true, abi.encodeCall(Target.fail, ()));
        Multicall3.Result[] memory r = mc.aggregate3(c);
        assertEq(abi.decode(r[0].returnData, (uint256)), 10);
        assertFalse(r[1].success);
        c[1].allowFailure = false;
        vm.expectRevert(bytes("Multicall3: call failed"));
        mc.aggregate3(c);
    }

    function test_aggregate3Value_forwardsValueAndChecksSum() public {
        Multicall3.Call3Value[] memory c = new Multicall3.Call3Value[](2);
        c[0] = Multicall3.Call3Value(address(t), false, 1 ether, abi.encodeCall(Target.deposit, ()));
        c[1] = Multicall3.Call3Value(address(t), false, 2 ether, abi.encodeCall(Target.deposit, ()));
        vm.deal(address(this), 10 ether);
        mc.aggregate3Value{value: 3 ether}(c);
        assertEq(t.stored(), 3 ether);
        assertEq(address(t).balance, 3 ether);
        vm.expectRevert(bytes("Multicall3: value mismatch"));
        mc.aggregate3Value{value: 4 ether}(c);
    }

    function test_getters() public {
        vm.chainId(8453);
        vm.warp(1_750_000_000);
        vm.roll(500);
        vm.fee(7 gwei);
        vm.coinbase(address(0xC0FFEE));
        vm.deal(address(0xBEEF), 123);
        assertEq(mc.getChainId(), 8453);
        assertEq(mc.getCurrentBlockTimestamp(), 1_750_000_000);
        assertEq(mc.getBlockNumber(), 500);
        assertEq(mc.getBasefee(), 7 gwei);
        assertEq(mc.getCurrentBlockCoinbase(), address(0xC0FFEE));
        assertEq(mc.getEthBalance(address(0xBEEF)), 123);
        assertEq(mc.getCurrentBlockGasLimit(), block.gaslimit);
        assertEq(mc.getCurrentBlockDifficulty(), block.prevrandao);
        vm.setBlockhash(499, keccak256("b499"));
        assertEq(mc.getLastBlockHash(), keccak256("b499"));
        assertEq(mc.getBlockHash(499), keccak256("b499"));
    }

    function test_selectors_matchCanonicalAbi() public pure {
        // Selectors every client (viem's multicall, the x402 facilitator) hard-codes.
        assertEq(bytes32(Multicall3.aggregate3.selector), bytes32(bytes4(0x82ad56cb)));
        assertEq(bytes32(Multicall3.aggregate.selector), bytes32(bytes4(0x252dba42)));
        assertEq(bytes32(Multicall3.tryAggregate.selector), bytes32(bytes4(0xbce38bd7)));
        assertEq(bytes32(Multicall3.aggregate3Value.selector), bytes32(bytes4(0x174dea71)));
        assertEq(bytes32(Multicall3.getEthBalance.selector), bytes32(bytes4(0x4d2301cc)));
    }
}
