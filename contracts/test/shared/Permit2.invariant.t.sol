// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Test, TestBase} from "../utils/Test.sol";
import {Permit2} from "../../src/shared/Permit2.sol";
import {FiatTokenV2_2} from "../../src/shared/FiatTokenV2_2.sol";

/// @notice Signs and submits SignatureTransfer permits (plain and with the x402 witness) from a
/// small nonce pool, and invalidates nonces, so the fuzzer keeps trying to reuse them.
contract Permit2Handler is TestBase {
    Permit2 public immutable p2;
    FiatTokenV2_2 public immutable usdc;
    address public immutable spender;
    uint256 public constant N_OWNERS = 3;
    uint256 public constant NONCE_POOL = 6;

    address[N_OWNERS] public owners;
    uint256[N_OWNERS] internal keys;

    mapping(address => mapping(uint256 => bool)) public ghostConsumed;
    uint256 public ghostReuses;
    uint256 public ghostTransferred;

    constructor(Permit2 p2_, FiatTokenV2_2 usdc_, address spender_) {
        p2 = p2_;
        usdc = usdc_;
        spender = spender_;
        for (uint256 i; i < N_OWNERS; ++i) {
            (owners[i], keys[i]) = makeAddrAndKey(string(abi.encodePacked("p2owner", vm.toString(i))));
        }
    }

    function _nonce(uint256 seed) internal pure returns (uint256) {
        // Spread across two bitmap words: 0..2 and 256..258.
        uint256 k = seed % NONCE_POOL;
        return k < 3 ? k : 256 + (k - 3);
    }

    function _digest(bytes32 structHash) internal view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", p2.DOMAIN_SEPARATOR(), structHash));
    }

    function permitTransfer(uint256 ownerSeed, uint256 nonceSeed, uint256 amount, bool withWitness) external {
        uint256 i = ownerSeed % N_OWNERS;
        address owner = owners[i];
        uint256 nonce = _nonce(nonceSeed);
        amount = bound(amount, 0, usdc.balanceOf(owner));
        uint256 deadline = block.timestamp + 60;
        bytes32 tp =
            keccak256(abi.encode(keccak256("TokenPermissions(address token,uint256 amount)"), address(usdc), amount));
        Permit2.PermitTransferFrom memory permit =
            Permit2.PermitTransferFrom(Permit2.TokenPermissions(address(usdc), amount), nonce, deadline);
        Permit2.SignatureTransferDetails memory details = Permit2.SignatureTransferDetails(spender, amount);
        bool ok;
        if (withWitness) {
            bytes32 witness =
                keccak256(abi.encode(keccak256("Witness(address to,uint256 validAfter)"), spender, uint256(0)));
            bytes32 typeHash = keccak256(
                "PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,uint256 validAfter)"
            );
            bytes memory sig =
                signPacked(keys[i], _digest(keccak256(abi.encode(typeHash, tp, spender, nonce, deadline, witness))));
            vm.prank(spender);
            try p2.permitWitnessTransferFrom(
                permit,
                details,
                owner,
                witness,
                "Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,uint256 validAfter)",
                sig
            ) {
                ok = true;
            } catch {}
        } else {
            bytes32 typeHash = keccak256(
                "PermitTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline)TokenPermissions(address token,uint256 amount)"
            );
            bytes memory sig =
                signPacked(keys[i], _digest(keccak256(abi.encode(typeHash, tp, spender, nonce, deadline))));
            vm.prank(spender);
            try p2.permitTransferFrom(permit, details, owner, sig) {
                ok = true;
            } catch {}
        }
        if (ok) {
            if (ghostConsumed[owner][nonce]) ghostReuses++;
            ghostConsumed[owner][nonce] = true;
            ghostTransferred += amount;
        }
    }

    function invalidate(uint256 ownerSeed, uint256 nonceSeed) external {
        address owner = owners[ownerSeed % N_OWNERS];
        uint256 nonce = _nonce(nonceSeed);
        vm.prank(owner);
        p2.invalidateUnorderedNonces(nonce >> 8, 1 << (nonce & 0xff));
        ghostConsumed[owner][nonce] = true;
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + bound(secs, 0, 120));
    }
}

contract Permit2InvariantTest is Test {
    Permit2 internal p2;
    FiatTokenV2_2 internal usdc;
    Permit2Handler internal handler;
    address internal spender = makeAddr("facilitator");
    uint256 internal constant START = 1_000e6;

    function setUp() public {
        p2 = new Permit2();
        usdc = new FiatTokenV2_2();
        usdc.initialize("USDC", "USDC", "USD", 6, "2", address(this), address(this));
        usdc.configureMinter(address(this), type(uint256).max);
        handler = new Permit2Handler(p2, usdc, spender);
        for (uint256 i; i < handler.N_OWNERS(); ++i) {
            address o = handler.owners(i);
            usdc.mint(o, START);
            vm.prank(o);
            usdc.approve(address(p2), type(uint256).max);
        }
        bytes4[] memory s = new bytes4[](3);
        s[0] = Permit2Handler.permitTransfer.selector;
        s[1] = Permit2Handler.invalidate.selector;
        s[2] = Permit2Handler.warp.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: s}));
    }

    /// @notice A Permit2 unordered nonce pays out at most once; consumed nonces stay set in the
    /// bitmap; only signed amounts left the owners.
    function invariant_unorderedNonceSingleUse() public view {
        assertEq(handler.ghostReuses(), 0, "a consumed Permit2 nonce paid out again");
        uint256 ownersTotal;
        for (uint256 i; i < handler.N_OWNERS(); ++i) {
            address o = handler.owners(i);
            ownersTotal += usdc.balanceOf(o);
            for (uint256 k; k < handler.NONCE_POOL(); ++k) {
                uint256 nonce = k < 3 ? k : 256 + (k - 3);
                bool set = (p2.nonceBitmap(o, nonce >> 8) >> (nonce & 0xff)) & 1 == 1;
                assertEq(set, handler.ghostConsumed(o, nonce), "bitmap disagrees with consumed nonces");
            }
        }
        assertEq(usdc.balanceOf(spender), handler.ghostTransferred(), "spender received");
        assertEq(ownersTotal + usdc.balanceOf(spender), START * handler.N_OWNERS(), "conservation");
    }
}
