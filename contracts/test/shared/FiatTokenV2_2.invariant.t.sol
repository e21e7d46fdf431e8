// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Test, TestBase} from "../utils/Test.sol";
import {FiatTokenV2_2} from "../../src/shared/FiatTokenV2_2.sol";
import {UsdcSigning} from "./Helpers.sol";

/// @notice Drives USDC with random mints, burns, transfers, EIP-3009 authorizations and cancels among
/// a fixed set of holders, and keeps ghost books the invariants compare with the token.
contract UsdcHandler is TestBase, UsdcSigning {
    FiatTokenV2_2 public immutable usdc;
    address public immutable minter;

    address[] public actors;
    uint256[] internal keys;

    uint256 public ghostMinted;
    uint256 public ghostBurned;
    /// @notice Successful uses (transfer, receive or cancel) of a nonce already used or canceled.
    uint256 public ghostNonceReuses;
    uint256 public ghostAuthorizationsUsed;
    mapping(address => mapping(bytes32 => bool)) public ghostNonceConsumed;
    address[] internal consumedBy;
    bytes32[] internal consumedNonce;

    constructor(FiatTokenV2_2 usdc_, address minter_, uint256 minterKey) {
        usdc = usdc_;
        minter = minter_;
        actors.push(minter_);
        keys.push(minterKey);
        for (uint256 i = 1; i < 5; ++i) {
            (address a, uint256 k) = makeAddrAndKey(string(abi.encodePacked("holder", vm.toString(i))));
            actors.push(a);
            keys.push(k);
        }
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function consumedCount() external view returns (uint256) {
        return consumedBy.length;
    }

    function consumedAt(uint256 i) external view returns (address, bytes32) {
        return (consumedBy[i], consumedNonce[i]);
    }

    // ------------------------------------------------------------------ actions

    function mint(uint256 toSeed, uint256 amount) external {
        amount = bound(amount, 1, 1e15);
        address to = actors[toSeed % actors.length];
        vm.prank(minter);
        usdc.mint(to, amount);
        ghostMinted += amount;
    }

    function burn(uint256 amount) external {
        uint256 bal = usdc.balanceOf(minter);
        if (bal == 0) return;
        amount = bound(amount, 1, bal);
        vm.prank(minter);
        usdc.burn(amount);
        ghostBurned += amount;
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amount) external {
        address from = actors[fromSeed % actors.length];
        address to = actors[toSeed % actors.length];
        amount = bound(amount, 0, usdc.balanceOf(from));
        vm.prank(from);
        usdc.transfer(to, amount);
    }

    function approveAndTransferFrom(uint256 fromSeed, uint256 spenderSeed, uint256 amount) external {
        address from = actors[fromSeed % actors.length];
        address spender = actors[spenderSeed % actors.length];
        amount = bound(amount, 0, usdc.balanceOf(from));
        vm.prank(from);
        usdc.approve(spender, amount);
        vm.prank(spender);
        usdc.transferFrom(from, spender, amount);
    }

    /// @dev Nonces come from a pool of 4 per holder so the fuzzer keeps trying to reuse them.
    function transferWithAuthorization(uint256 fromSeed, uint256 toSeed, uint256 amount, uint8 nonceSeed, bool useBytes)
        external
    {
        uint256 i = fromSeed % actors.length;
        address from = actors[i];
        address to = actors[toSeed % actors.length];
        amount = bound(amount, 0, usdc.balanceOf(from));
        bytes32 nonce = bytes32(uint256(nonceSeed % 4));
        uint256 validBefore = block.timestamp + 1 hours;
        bytes memory sig = signPacked(keys[i], authDigest(usdc, TWA_TYPEHASH, from, to, amount, 0, validBefore, nonce));
        bool ok;
        if (useBytes) {
            try usdc.transferWithAuthorization(from, to, amount, 0, validBefore, nonce, sig) {
                ok = true;
            } catch {}
        } else {
            ok = _twaVrs(from, to, amount, validBefore, nonce, sig);
        }
        if (ok) _consume(from, nonce);
    }

    function _twaVrs(address from, address to, uint256 amount, uint256 validBefore, bytes32 nonce, bytes memory sig)
        private
        returns (bool)
    {
        (uint8 v, bytes32 r, bytes32 s) = _split(sig);
        try usdc.transferWithAuthorization(from, to, amount, 0, validBefore, nonce, v, r, s) {
            return true;
        } catch {
            return false;
        }
    }

    function receiveWithAuthorization(uint256 fromSeed, uint256 toSeed, uint256 amount, uint8 nonceSeed) external {
        uint256 i = fromSeed % actors.length;
        address from = actors[i];
        address to = actors[toSeed % actors.length];
        amount = bound(amount, 0, usdc.balanceOf(from));
        bytes32 nonce = bytes32(uint256(nonceSeed % 4));
        uint256 validBefore = block.timestamp + 1 hours;
        bytes memory sig = signPacked(keys[i], authDigest(usdc, RWA_TYPEHASH, from, to, amount, 0, validBefore, nonce));
        if (_rwa(from, to, amount, validBefore, nonce, sig)) _consume(from, nonce);
    }

    function _rwa(address from, address to, uint256 amount, uint256 validBefore, bytes32 nonce, bytes memory sig)
        private
        returns (bool)
    {
        (uint8 v, bytes32 r, bytes32 s) = _split(sig);
        vm.prank(to);
        try usdc.receiveWithAuthorization(from, to, amount, 0, validBefore, nonce, v, r, s) {
            return true;
        } catch {
            return false;
        }
    }

    function cancelAuthorization(uint256 fromSeed, uint8 nonceSeed) external {
        uint256 i = fromSeed % actors.length;
        address from = actors[i];
        bytes32 nonce = bytes32(uint256(nonceSeed % 4));
        bytes32 digest = digestOf(
            usdcDomain(address(usdc), usdc.name(), usdc.version()), keccak256(abi.encode(CANCEL_TYPEHASH, from, nonce))
        );
        try usdc.cancelAuthorization(from, nonce, signPacked(keys[i], digest)) {
            _consume(from, nonce);
        } catch {}
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + bound(secs, 0, 1 days));
    }

    function _consume(address from, bytes32 nonce) private {
        if (ghostNonceConsumed[from][nonce]) {
            ghostNonceReuses++;
            return;
        }
        ghostNonceConsumed[from][nonce] = true;
        ghostAuthorizationsUsed++;
        consumedBy.push(from);
        consumedNonce.push(nonce);
    }

    function _split(bytes memory sig) private pure returns (uint8 v, bytes32 r, bytes32 s) {
        assembly ("memory-safe") {
            r := mload(add(sig, 0x20))
            s := mload(add(sig, 0x40))
            v := byte(0, mload(add(sig, 0x60)))
        }
    }
}

contract FiatTokenV2_2InvariantTest is Test {
    FiatTokenV2_2 internal usdc;
    UsdcHandler internal handler;

    function setUp() public {
        usdc = new FiatTokenV2_2();
        usdc.initialize("USD Coin", "USDC", "USD", 6, "2", address(this), address(this));
        (address minter, uint256 minterKey) = makeAddrAndKey("minter");
        usdc.configureMinter(minter, type(uint256).max);
        handler = new UsdcHandler(usdc, minter, minterKey);

        bytes4[] memory selectors = new bytes4[](8);
        selectors[0] = UsdcHandler.mint.selector;
        selectors[1] = UsdcHandler.burn.selector;
        selectors[2] = UsdcHandler.transfer.selector;
        selectors[3] = UsdcHandler.approveAndTransferFrom.selector;
        selectors[4] = UsdcHandler.transferWithAuthorization.selector;
        selectors[5] = UsdcHandler.receiveWithAuthorization.selector;
        selectors[6] = UsdcHandler.cancelAuthorization.selector;
        selectors[7] = UsdcHandler.warp.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @notice totalSupply equals the sum of every holder's balance, and minted minus burned.
    function invariant_supplyEqualsSumOfBalances() public view {
        uint256 sum;
        for (uint256 i; i < handler.actorCount(); ++i) {
            sum += usdc.balanceOf(handler.actors(i));
        }
        assertEq(usdc.totalSupply(), sum, "totalSupply != sum of balances");
        assertEq(usdc.totalSupply(), handler.ghostMinted() - handler.ghostBurned(), "totalSupply != minted - burned");
    }

    /// @notice An EIP-3009 nonce is consumed at most once (use or cancel), and stays consumed.
    function invariant_authorizationNonceNeverUsedTwice() public view {
        assertEq(handler.ghostNonceReuses(), 0, "a used or canceled nonce was accepted again");
        for (uint256 i; i < handler.consumedCount(); ++i) {
            (address from, bytes32 nonce) = handler.consumedAt(i);
            assertTrue(usdc.authorizationState(from, nonce), "consumed nonce not marked");
        }
    }
}
