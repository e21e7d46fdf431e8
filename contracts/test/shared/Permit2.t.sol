// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Test} from "../utils/Test.sol";
import {Permit2} from "../../src/shared/Permit2.sol";
import {FiatTokenV2_2} from "../../src/shared/FiatTokenV2_2.sol";
import {ERC1271Wallet} from "./Helpers.sol";

contract Permit2Test is Test {
    Permit2 internal p2;
    FiatTokenV2_2 internal usdc;
    address internal alice;
    uint256 internal aliceKey;
    address internal facilitator = makeAddr("facilitator");
    address internal payTo = makeAddr("payTo");

    uint256 internal constant NOW = 1_700_000_000;

    // Type strings written out in full, EIP-712 style (referenced types sorted after the primary).
    string internal constant TOKEN_PERMISSIONS = "TokenPermissions(address token,uint256 amount)";
    string internal constant X402_WITNESS_TYPE_STRING =
        "Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,uint256 validAfter)";

    function setUp() public {
        (alice, aliceKey) = makeAddrAndKey("alice");
        vm.warp(NOW);
        p2 = new Permit2();
        usdc = new FiatTokenV2_2();
        usdc.initialize("USDC", "USDC", "USD", 6, "2", address(this), address(this));
        usdc.configureMinter(address(this), type(uint256).max);
        usdc.mint(alice, 1_000e6);
        vm.prank(alice);
        usdc.approve(address(p2), type(uint256).max);
    }

    function _domain() internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,uint256 chainId,address verifyingContract)"),
                keccak256("Permit2"),
                block.chainid,
                address(p2)
            )
        );
    }

    function _digest(bytes32 structHash) internal view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", _domain(), structHash));
    }

    function _permit(uint256 amount, uint256 nonce, uint256 deadline)
        internal
        view
        returns (Permit2.PermitTransferFrom memory)
    {
        return Permit2.PermitTransferFrom(Permit2.TokenPermissions(address(usdc), amount), nonce, deadline);
    }

    function _tpHash(address token, uint256 amount) internal pure returns (bytes32) {
        return keccak256(abi.encode(keccak256(bytes(TOKEN_PERMISSIONS)), token, amount));
    }

    function _transferDigest(address spender, uint256 amount, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes32)
    {
        bytes32 typeHash = keccak256(
            abi.encodePacked(
                "PermitTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline)",
                TOKEN_PERMISSIONS
            )
        );
        return _digest(keccak256(abi.encode(typeHash, _tpHash(address(usdc), amount), spender, nonce, deadline)));
    }

    function _signTransfer(uint256 key, address spender, uint256 amount, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        return signPacked(key, _transferDigest(spender, amount, nonce, deadline));
    }

    function test_domainSeparator_hasNoVersion() public view {
        assertEq(p2.DOMAIN_SEPARATOR(), _domain());
    }

    function test_typehashes() public view {
        assertEq(p2.TOKEN_PERMISSIONS_TYPEHASH(), keccak256(bytes(TOKEN_PERMISSIONS)));
        assertEq(
            p2.PERMIT_SINGLE_TYPEHASH(),
            keccak256(
                "PermitSingle(PermitDetails details,address spender,uint256 sigDeadline)PermitDetails(address token,uint160 amount,uint48 expiration,uint48 nonce)"
            )
        );
    }

    function test_permitTransferFrom_movesUpToPermittedAmount() public {
        bytes memory sig = _signTransfer(aliceKey, facilitator, 10e6, 0, NOW);
        vm.prank(facilitator);
        p2.permitTransferFrom(_permit(10e6, 0, NOW), Permit2.SignatureTransferDetails(payTo, 10e6), alice, sig);
        assertEq(usdc.balanceOf(payTo), 10e6);
        assertEq(p2.nonceBitmap(alice, 0), 1);
    }

    function test_permitTransferFrom_replayAndOtherSpenderRefused() public {
        bytes memory sig = _signTransfer(aliceKey, facilitator, 10e6, 5, NOW + 60);
        vm.prank(payTo); // not the signed spender
        vm.expectRevert(Permit2.InvalidSigner.selector);
        p2.permitTransferFrom(_permit(10e6, 5, NOW + 60), Permit2.SignatureTransferDetails(payTo, 1), alice, sig);
        vm.prank(facilitator);
        p2.permitTransferFrom(_permit(10e6, 5, NOW + 60), Permit2.SignatureTransferDetails(payTo, 1), alice, sig);
        vm.prank(facilitator);
        vm.expectRevert(Permit2.InvalidNonce.selector);
        p2.permitTransferFrom(_permit(10e6, 5, NOW + 60), Permit2.SignatureTransferDetails(payTo, 1), alice, sig);
    }

    function test_permitTransferFrom_deadlineAndAmountChecks() public {
        bytes memory sig = _signTransfer(aliceKey, facilitator, 10e6, 1, NOW - 1);
        vm.prank(facilitator);
        vm.expectRevert(abi.encodeWithSelector(Permit2.SignatureExpired.selector, NOW - 1));
        p2.permitTransferFrom(_permit(10e6, 1, NOW - 1), Permit2.SignatureTransferDetails(payTo, 1), alice, sig);

        sig = _signTransfer(aliceKey, facilitator, 10e6, 2, NOW);
        vm.prank(facilitator);
        vm.expectRevert(abi.encodeWithSelector(Permit2.InvalidAmount.selector, 10e6));
        p2.permitTransferFrom(_permit(10e6, 2, NOW), Permit2.SignatureTransferDetails(payTo, 10e6 + 1), alice, sig);
    }

    function test_permitTransferFrom_signatureForms() public {
        // Wrong signer.
        (, uint256 otherKey) = makeAddrAndKey("other");
        bytes memory bad = _signTransfer(otherKey, facilitator, 1, 3, NOW);
        vm.prank(facilitator);
        vm.expectRevert(Permit2.InvalidSigner.selector);
        p2.permitTransferFrom(_permit(1, 3, NOW), Permit2.SignatureTransferDetails(payTo, 1), alice, bad);
        // Bad length.
        vm.prank(facilitator);
        vm.expectRevert(Permit2.InvalidSignatureLength.selector);
        p2.permitTransferFrom(_permit(1, 3, NOW), Permit2.SignatureTransferDetails(payTo, 1), alice, hex"1234");
        // EIP-2098 compact 64-byte form.
        (bytes32 r, bytes32 vs) = vm.signCompact(aliceKey, _transferDigest(facilitator, 1, 3, NOW));
        vm.prank(facilitator);
        p2.permitTransferFrom(
            _permit(1, 3, NOW), Permit2.SignatureTransferDetails(payTo, 1), alice, abi.encodePacked(r, vs)
        );
        assertEq(usdc.balanceOf(payTo), 1);
    }

    function test_permitWitnessTransferFrom_x402Witness() public {
        // x402's Permit2 payload: witness = Witness(address to,uint256 validAfter).
        bytes32 witness = keccak256(abi.encode(keccak256("Witness(address to,uint256 validAfter)"), payTo, NOW - 600));
        bytes32 typeHash = keccak256(
            "PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,uint256 validAfter)"
        );
        bytes memory sig = signPacked(
            aliceKey,
            _digest(keccak256(abi.encode(typeHash, _tpHash(address(usdc), 25e5), facilitator, 99, NOW + 60, witness)))
        );
        // A different witness (e.g. another recipient) does not verify.
        bytes32 otherWitness =
            keccak256(abi.encode(keccak256("Witness(address to,uint256 validAfter)"), facilitator, NOW - 600));
        vm.prank(facilitator);
        vm.expectRevert(Permit2.InvalidSigner.selector);
        p2.permitWitnessTransferFrom(
            _permit(25e5, 99, NOW + 60),
            Permit2.SignatureTransferDetails(payTo, 25e5),
            alice,
            otherWitness,
            X402_WITNESS_TYPE_STRING,
            sig
        );
        vm.prank(facilitator);
        p2.permitWitnessTransferFrom(
            _permit(25e5, 99, NOW + 60),
            Permit2.SignatureTransferDetails(payTo, 25e5),
            alice,
            witness,
            X402_WITNESS_TYPE_STRING,
            sig
        );
        assertEq(usdc.balanceOf(payTo), 25e5);
    }

    function test_permitTransferFrom_batch() public {
        Permit2.TokenPermissions[] memory perms = new Permit2.TokenPermissions[](2);
        perms[0] = Permit2.TokenPermissions(address(usdc), 3);
        perms[1] = Permit2.TokenPermissions(address(usdc), 4);
        bytes32 typeHash = keccak256(
            abi.encodePacked(
                "PermitBatchTransferFrom(TokenPermissions[] permitted,address spender,uint256 nonce,uint256 deadline)",
                TOKEN_PERMISSIONS
            )
        );
        bytes32 permsHash = keccak256(abi.encodePacked(_tpHash(address(usdc), 3), _tpHash(address(usdc), 4)));
        bytes memory sig =
            signPacked(aliceKey, _digest(keccak256(abi.encode(typeHash, permsHash, facilitator, 7, NOW))));
        Permit2.SignatureTransferDetails[] memory det = new Permit2.SignatureTransferDetails[](2);
        det[0] = Permit2.SignatureTransferDetails(payTo, 3);
        det[1] = Permit2.SignatureTransferDetails(facilitator, 0); // zero: skipped
        vm.prank(facilitator);
        p2.permitTransferFrom(Permit2.PermitBatchTransferFrom(perms, 7, NOW), det, alice, sig);
        assertEq(usdc.balanceOf(payTo), 3);
        assertEq(usdc.balanceOf(facilitator), 0);
    }

    function test_invalidateUnorderedNonces() public {
        vm.prank(alice);
        p2.invalidateUnorderedNonces(1, 1 << 4); // nonce 256 + 4
        assertEq(p2.nonceBitmap(alice, 1), 1 << 4);
        bytes memory sig = _signTransfer(aliceKey, facilitator, 1, 260, NOW);
        vm.prank(facilitator);
        vm.expectRevert(Permit2.InvalidNonce.selector);
        p2.permitTransferFrom(_permit(1, 260, NOW), Permit2.SignatureTransferDetails(payTo, 1), alice, sig);
    }

    function test_erc1271Owner() public {
        ERC1271Wallet w = new ERC1271Wallet(alice);
        usdc.mint(address(w), 5);
        vm.prank(address(w));
        usdc.approve(address(p2), 5);
        bytes32 typeHash = keccak256(
            abi.encodePacked(
                "PermitTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline)",
                TOKEN_PERMISSIONS
            )
        );
        bytes memory sig = signPacked(
            aliceKey, _digest(keccak256(abi.encode(typeHash, _tpHash(address(usdc), 5), facilitator, 0, NOW)))
        );
        vm.prank(facilitator);
        p2.permitTransferFrom(_permit(5, 0, NOW), Permit2.SignatureTransferDetails(payTo, 5), address(w), sig);
        assertEq(usdc.balanceOf(payTo), 5);
    }

    // ------------------------------------------------------------------ AllowanceTransfer

    function test_allowance_approveTransferFromAndExpiry() public {
        vm.prank(alice);
        p2.approve(address(usdc), facilitator, 10, uint48(NOW + 100));
        (uint160 amount, uint48 exp, uint48 nonce) = p2.allowance(alice, address(usdc), facilitator);
        assertEq(uint256(amount), 10);
        assertEq(uint256(exp), NOW + 100);
        assertEq(uint256(nonce), 0);
        vm.prank(facilitator);
        p2.transferFrom(alice, payTo, 4, address(usdc));
        (amount,,) = p2.allowance(alice, address(usdc), facilitator);
        assertEq(uint256(amount), 6);
        vm.prank(facilitator);
        vm.expectRevert(abi.encodeWithSelector(Permit2.InsufficientAllowance.selector, 6));
        p2.transferFrom(alice, payTo, 7, address(usdc));
        vm.warp(NOW + 101);
        vm.prank(facilitator);
        vm.expectRevert(abi.encodeWithSelector(Permit2.AllowanceExpired.selector, NOW + 100));
        p2.transferFrom(alice, payTo, 1, address(usdc));
    }

    function test_allowance_permitSingleWithNonce() public {
        Permit2.PermitSingle memory ps = Permit2.PermitSingle(
            Permit2.PermitDetails(address(usdc), type(uint160).max, uint48(NOW + 1000), 0), facilitator, NOW + 60
        );
        bytes32 detailsHash = keccak256(
            abi.encode(
                keccak256("PermitDetails(address token,uint160 amount,uint48 expiration,uint48 nonce)"),
                address(usdc),
                type(uint160).max,
                uint48(NOW + 1000),
                uint48(0)
            )
        );
        bytes memory sig = signPacked(
            aliceKey, _digest(keccak256(abi.encode(p2.PERMIT_SINGLE_TYPEHASH(), detailsHash, facilitator, NOW + 60)))
        );
        p2.permit(alice, ps, sig);
        (uint160 amount,, uint48 nonce) = p2.allowance(alice, address(usdc), facilitator);
        assertEq(uint256(amount), type(uint160).max);
        assertEq(uint256(nonce), 1);
        // Unlimited allowance is not decremented.
        vm.prank(facilitator);
        p2.transferFrom(alice, payTo, 9, address(usdc));
        (amount,,) = p2.allowance(alice, address(usdc), facilitator);
        assertEq(uint256(amount), type(uint160).max);
        // Replay: the nonce has moved on.
        vm.expectRevert(Permit2.InvalidNonce.selector);
        p2.permit(alice, ps, sig);
        vm.warp(NOW + 61);
        vm.expectRevert(abi.encodeWithSelector(Permit2.SignatureExpired.selector, NOW + 60));
        p2.permit(alice, ps, sig);
    }
}
