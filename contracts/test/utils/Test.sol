// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Vm} from "./Vm.sol";

/// @title console
/// @notice Minimal console.log for forge traces (`forge test -vv`). forge decodes calls to this
/// fixed address by the ABI signature, so only the shapes below are supported.
library console {
    address internal constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;

    function _send(bytes memory payload) private view {
        // staticcall so the library can be used from view functions; the result is ignored.
        (bool ok,) = CONSOLE.staticcall(payload);
        ok;
    }

    function log(string memory p0) internal view {
        _send(abi.encodeWithSignature("log(string)", p0));
    }

    function log(string memory p0, uint256 p1) internal view {
        _send(abi.encodeWithSignature("log(string,uint256)", p0, p1));
    }

    function log(string memory p0, int256 p1) internal view {
        _send(abi.encodeWithSignature("log(string,int256)", p0, p1));
    }

    function log(string memory p0, address p1) internal view {
        _send(abi.encodeWithSignature("log(string,address)", p0, p1));
    }

    function log(string memory p0, bytes32 p1) internal view {
        _send(abi.encodeWithSignature("log(string,bytes32)", p0, p1));
    }

    function log(string memory p0, bool p1) internal view {
        _send(abi.encodeWithSignature("log(string,bool)", p0, p1));
    }

    function log(string memory p0, string memory p1) internal view {
        _send(abi.encodeWithSignature("log(string,string)", p0, p1));
    }
}

/// @title TestBase
/// @notice Cheatcodes and helpers with no public functions, for invariant handlers (a handler that
/// inherited {Test} would expose its public getters to the fuzzer).
abstract contract TestBase {
    /// @dev The cheatcode address: keccak256("hevm cheat code") truncated to 20 bytes.
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant UINT256_MAX = type(uint256).max;

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    /// @notice Maps any `x` into [min, max] (inclusive); values already in range are kept as-is so
    /// fuzzers' edge values (0, 1, max) still reach the bounds.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "Test: bound min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        return min + (x % (size + 1));
    }

    /// @notice Signed variant of {bound}.
    function bound(int256 x, int256 min, int256 max) internal pure returns (int256) {
        require(min <= max, "Test: bound min > max");
        if (x >= min && x <= max) return x;
        // Shift into unsigned space (order-preserving) so the modulo is well defined.
        uint256 ux = uint256(x) ^ (1 << 255);
        uint256 umin = uint256(min) ^ (1 << 255);
        uint256 umax = uint256(max) ^ (1 << 255);
        return int256(bound(ux, umin, umax) ^ (1 << 255));
    }

    /// @notice A deterministic labelled address derived from `name`.
    function makeAddr(string memory name) internal returns (address addr) {
        (addr,) = makeAddrAndKey(name);
    }

    /// @notice A deterministic labelled address and its private key derived from `name`.
    function makeAddrAndKey(string memory name) internal returns (address addr, uint256 privateKey) {
        privateKey = uint256(keccak256(abi.encodePacked(name)));
        addr = vm.addr(privateKey);
        vm.label(addr, name);
    }

    /// @notice Sets `who`'s ETH balance (alias of vm.deal for forge-std habits).
    function deal(address who, uint256 amount) internal {
        vm.deal(who, amount);
    }

    /// @notice Advances block.timestamp by `secs`.
    function skip(uint256 secs) internal {
        vm.warp(block.timestamp + secs);
    }

    /// @notice Moves block.timestamp back by `secs`.
    function rewind(uint256 secs) internal {
        vm.warp(block.timestamp - secs);
    }

    /// @notice vm.prank + vm.deal in one, like forge-std's hoax.
    function hoax(address who, uint256 give) internal {
        vm.deal(who, give);
        vm.prank(who);
    }

    /// @notice 65-byte r||s||v signature of `digest` by `privateKey` (the `bytes signature` form).
    function signPacked(uint256 privateKey, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey, digest);
        return abi.encodePacked(r, s, v);
    }
}

/// @title Test
/// @notice The project's own minimal replacement for forge-std's Test (not available offline).
/// forge discovers the `test*` (incl. `testFuzz*`, fuzzed by their arguments) and `invariant*` functions of any
/// contract deriving from this; `setUp()` runs before each. Assertions revert (via the cheatcode
/// assertions), which is what forge 1.x treats as failure.
abstract contract Test is TestBase {
    /// @dev Marker some tools still look for.
    bool public IS_TEST = true;

    // ------------------------------------------------------------------------------------------
    // Invariant-testing configuration. forge calls the public getters below after setUp().
    // ------------------------------------------------------------------------------------------

    /// @dev A contract and the selectors of it the invariant fuzzer may call.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    /// @dev An artifact ("path:Contract") and selectors, for targetArtifactSelectors.
    struct FuzzArtifactSelector {
        string artifact;
        bytes4[] selectors;
    }

    /// @dev An address to be called through the ABI of the given artifacts.
    struct FuzzInterface {
        address addr;
        string[] artifacts;
    }

    address[] private _targetedContracts;
    address[] private _excludedContracts;
    address[] private _targetedSenders;
    address[] private _excludedSenders;
    FuzzSelector[] private _targetedSelectors;
    FuzzSelector[] private _excludedSelectors;
    string[] private _targetedArtifacts;
    string[] private _excludedArtifacts;
    FuzzArtifactSelector[] private _targetedArtifactSelectors;
    FuzzInterface[] private _targetedInterfaces;

    function targetContract(address newTarget) internal {
        _targetedContracts.push(newTarget);
    }

    function excludeContract(address newExclude) internal {
        _excludedContracts.push(newExclude);
    }

    function targetSender(address newSender) internal {
        _targetedSenders.push(newSender);
    }

    function excludeSender(address newExclude) internal {
        _excludedSenders.push(newExclude);
    }

    function targetSelector(FuzzSelector memory newSelector) internal {
        _targetedSelectors.push(newSelector);
    }

    function excludeSelector(FuzzSelector memory newSelector) internal {
        _excludedSelectors.push(newSelector);
    }

    function targetArtifact(string memory newArtifact) internal {
        _targetedArtifacts.push(newArtifact);
    }

    function excludeArtifact(string memory newArtifact) internal {
        _excludedArtifacts.push(newArtifact);
    }

    function targetArtifactSelector(FuzzArtifactSelector memory newSelector) internal {
        _targetedArtifactSelectors.push(newSelector);
    }

    function targetInterface(FuzzInterface memory newInterface) internal {
        _targetedInterfaces.push(newInterface);
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    function excludeContracts() public view returns (address[] memory) {
        return _excludedContracts;
    }

    function targetSenders() public view returns (address[] memory) {
        return _targetedSenders;
    }

    function excludeSenders() public view returns (address[] memory) {
        return _excludedSenders;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }

    function excludeSelectors() public view returns (FuzzSelector[] memory) {
        return _excludedSelectors;
    }

    function targetArtifacts() public view returns (string[] memory) {
        return _targetedArtifacts;
    }

    function excludeArtifacts() public view returns (string[] memory) {
        return _excludedArtifacts;
    }

    function targetArtifactSelectors() public view returns (FuzzArtifactSelector[] memory) {
        return _targetedArtifactSelectors;
    }

    function targetInterfaces() public view returns (FuzzInterface[] memory) {
        return _targetedInterfaces;
    }

    /// @notice Explicitly fails the current test.
    function fail() internal pure {
        vm.assertTrue(false, "Test: fail()");
    }

    function fail(string memory message) internal pure {
        vm.assertTrue(false, message);
    }

    // ------------------------------------------------------------------------------------------
    // Assertions (thin wrappers over the cheatcode assertions, which revert on failure)
    // ------------------------------------------------------------------------------------------

    function assertTrue(bool c) internal pure {
        vm.assertTrue(c);
    }

    function assertTrue(bool c, string memory err) internal pure {
        vm.assertTrue(c, err);
    }

    function assertFalse(bool c) internal pure {
        vm.assertFalse(c);
    }

    function assertFalse(bool c, string memory err) internal pure {
        vm.assertFalse(c, err);
    }

    function assertEq(bool a, bool b) internal pure {
        vm.assertEq(a, b);
    }

    function assertEq(bool a, bool b, string memory err) internal pure {
        vm.assertEq(a, b, err);
    }

    function assertEq(uint256 a, uint256 b) internal pure {
        vm.assertEq(a, b);
    }

    function assertEq(uint256 a, uint256 b, string memory err) internal pure {
        vm.assertEq(a, b, err);
    }

    function assertEq(int256 a, int256 b) internal pure {
        vm.assertEq(a, b);
    }

    function assertEq(int256 a, int256 b, string memory err) internal pure {
        vm.assertEq(a, b, err);
    }

    function assertEq(address a, address b) internal pure {
        vm.assertEq(a, b);
    }

    function assertEq(address a, address b, string memory err) internal pure {
        vm.assertEq(a, b, err);
    }

    function assertEq(bytes32 a, bytes32 b) internal pure {
        vm.assertEq(a, b);
    }

    function assertEq(bytes32 a, bytes32 b, string memory err) internal pure {
        vm.assertEq(a, b, err);
    }

    function assertEq(string memory a, string memory b) internal pure {
        vm.assertEq(a, b);
    }

    function assertEq(string memory a, string memory b, string memory err) internal pure {
        vm.assertEq(a, b, err);
    }

    function assertEq(bytes memory a, bytes memory b) internal pure {
        vm.assertEq(a, b);
    }

    function assertEq(bytes memory a, bytes memory b, string memory err) internal pure {
        vm.assertEq(a, b, err);
    }

    function assertNotEq(uint256 a, uint256 b) internal pure {
        vm.assertNotEq(a, b);
    }

    function assertNotEq(uint256 a, uint256 b, string memory err) internal pure {
        vm.assertNotEq(a, b, err);
    }

    function assertNotEq(address a, address b) internal pure {
        vm.assertNotEq(a, b);
    }

    function assertNotEq(address a, address b, string memory err) internal pure {
        vm.assertNotEq(a, b, err);
    }

    function assertNotEq(bytes32 a, bytes32 b) internal pure {
        vm.assertNotEq(a, b);
    }

    function assertNotEq(bytes32 a, bytes32 b, string memory err) internal pure {
        vm.assertNotEq(a, b, err);
    }

    function assertGt(uint256 a, uint256 b) internal pure {
        vm.assertGt(a, b);
    }

    function assertGt(uint256 a, uint256 b, string memory err) internal pure {
        vm.assertGt(a, b, err);
    }

    function assertGe(uint256 a, uint256 b) internal pure {
        vm.assertGe(a, b);
    }

    function assertGe(uint256 a, uint256 b, string memory err) internal pure {
        vm.assertGe(a, b, err);
    }

    function assertLt(uint256 a, uint256 b) internal pure {
        vm.assertLt(a, b);
    }

    function assertLt(uint256 a, uint256 b, string memory err) internal pure {
        vm.assertLt(a, b, err);
    }

    function assertLe(uint256 a, uint256 b) internal pure {
        vm.assertLe(a, b);
    }

    function assertLe(uint256 a, uint256 b, string memory err) internal pure {
        vm.assertLe(a, b, err);
    }

    function assertGt(int256 a, int256 b) internal pure {
        vm.assertGt(a, b);
    }

    function assertGt(int256 a, int256 b, string memory err) internal pure {
        vm.assertGt(a, b, err);
    }

    function assertGe(int256 a, int256 b) internal pure {
        vm.assertGe(a, b);
    }

    function assertGe(int256 a, int256 b, string memory err) internal pure {
        vm.assertGe(a, b, err);
    }

    function assertLt(int256 a, int256 b) internal pure {
        vm.assertLt(a, b);
    }

    function assertLt(int256 a, int256 b, string memory err) internal pure {
        vm.assertLt(a, b, err);
    }

    function assertLe(int256 a, int256 b) internal pure {
        vm.assertLe(a, b);
    }

    function assertLe(int256 a, int256 b, string memory err) internal pure {
        vm.assertLe(a, b, err);
    }

    function assertApproxEqAbs(uint256 a, uint256 b, uint256 d) internal pure {
        vm.assertApproxEqAbs(a, b, d);
    }

    function assertApproxEqAbs(uint256 a, uint256 b, uint256 d, string memory err) internal pure {
        vm.assertApproxEqAbs(a, b, d, err);
    }
}
