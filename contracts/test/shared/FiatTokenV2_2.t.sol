// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Test} from "../utils/Test.sol";
import {FiatTokenV2_2} from "../../src/shared/FiatTokenV2_2.sol";
import {ERC1271Wallet, UsdcSigning} from "./Helpers.sol";

contract FiatTokenV2_2Test is Test, UsdcSigning {
    event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce);
    event AuthorizationCanceled(address indexed authorizer, bytes32 indexed nonce);
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    FiatTokenV2_2 internal usdc;
    address internal owner = makeAddr("owner");
    address internal masterMinter = makeAddr("masterMinter");
    address internal minter = makeAddr("minter");
    address internal alice;
    uint256 internal aliceKey;
    address internal bob;
    uint256 internal bobKey;
    address internal relayer = makeAddr("relayer");

    uint256 internal constant NOW = 1_700_000_000;

    function setUp() public {
        (alice, aliceKey) = makeAddrAndKey("alice");
        (bob, bobKey) = makeAddrAndKey("bob");
        vm.warp(NOW);
        usdc = new FiatTokenV2_2();
        usdc.initialize("USD Coin", "USDC", "USD", 6, "2", masterMinter, owner);
        vm.prank(masterMinter);
        usdc.configureMinter(minter, 1_000_000e6);
        vm.prank(minter);
        usdc.mint(alice, 1_000e6);
    }

    // ------------------------------------------------------------------ metadata and init

    function test_initialize_setsBaseMetadata() public view {
        assertEq(usdc.name(), "USD Coin");
        assertEq(usdc.symbol(), "USDC");
        assertEq(usdc.currency(), "USD");
        assertEq(uint256(usdc.decimals()), 6);
        assertEq(usdc.version(), "2");
        assertEq(usdc.owner(), owner);
        assertEq(usdc.masterMinter(), masterMinter);
        assertEq(usdc.DOMAIN_SEPARATOR(), usdcDomain(address(usdc), "USD Coin", "2"));
    }

    function test_initialize_secondCallReverts() public {
        vm.expectRevert(FiatTokenV2_2.AlreadyInitialized.selector);
        usdc.initialize("X", "X", "X", 18, "9", alice, alice);
    }

    function test_typehashes_matchFiatToken() public view {
        assertEq(usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), TWA_TYPEHASH);
        assertEq(
            usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(),
            0x7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267
        );
        assertEq(usdc.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(), RWA_TYPEHASH);
        assertEq(usdc.CANCEL_AUTHORIZATION_TYPEHASH(), CANCEL_TYPEHASH);
        assertEq(usdc.PERMIT_TYPEHASH(), PERMIT_TYPEHASH_);
    }

    function test_domainSeparator_followsChainId() public {
        bytes32 before = usdc.DOMAIN_SEPARATOR();
        vm.chainId(84532);
        assertNotEq(usdc.DOMAIN_SEPARATOR(), before);
        assertEq(usdc.DOMAIN_SEPARATOR(), usdcDomain(address(usdc), "USD Coin", "2"));
    }

    function test_etchedCode_worksAtAnotherAddress() public {
        // The harness places the runtime code at the canonical address, then initialises it.
        address canonical = 0x036CbD53842c5426634e7929541eC2318f3dCF7e;
        vm.etch(canonical, address(usdc).code);
        FiatTokenV2_2 t = FiatTokenV2_2(canonical);
        t.initialize("USDC", "USDC", "USD", 6, "2", masterMinter, owner);
        assertEq(t.name(), "USDC");
        assertEq(t.totalSupply(), 0);
        assertEq(t.DOMAIN_SEPARATOR(), usdcDomain(canonical, "USDC", "2"));
    }

    // ------------------------------------------------------------------ minting

    function test_mint_exactAllowanceThenOneMoreReverts() public {
        vm.prank(masterMinter);
        usdc.configureMinter(minter, 5);
        vm.prank(minter);
        usdc.mint(bob, 5);
        assertEq(usdc.minterAllowance(minter), 0);
        assertEq(usdc.balanceOf(bob), 5);
        vm.prank(minter);
        vm.expectRevert(bytes("FiatToken: mint amount exceeds minterAllowance"));
        usdc.mint(bob, 1);
    }

    function test_mint_byNonMinterReverts() public {
        vm.prank(alice);
        vm.expectRevert(bytes("FiatToken: caller is not a minter"));
        usdc.mint(alice, 1);
    }

    function test_mint_zeroAmountAndZeroAddressRevert() public {
        vm.startPrank(minter);
        vm.expectRevert(bytes("FiatToken: mint amount not greater than 0"));
        usdc.mint(bob, 0);
        vm.expectRevert(bytes("FiatToken: mint to the zero address"));
        usdc.mint(address(0), 1);
        vm.stopPrank();
    }

    function test_configureMinter_onlyMasterMinter() public {
        vm.prank(owner);
        vm.expectRevert(bytes("FiatToken: caller is not the masterMinter"));
        usdc.configureMinter(owner, 1);
        assertFalse(usdc.isMinter(owner));
        vm.prank(masterMinter);
        usdc.configureMinter(owner, 7);
        assertTrue(usdc.isMinter(owner));
        assertEq(usdc.minterAllowance(owner), 7);
    }

    function test_burn_reducesSupplyAndOnlyOwnBalance() public {
        vm.prank(minter);
        usdc.mint(minter, 10);
        uint256 supply = usdc.totalSupply();
        vm.prank(minter);
        usdc.burn(4);
        assertEq(usdc.totalSupply(), supply - 4);
        assertEq(usdc.balanceOf(minter), 6);
        vm.prank(minter);
        vm.expectRevert(bytes("FiatToken: burn amount exceeds balance"));
        usdc.burn(7);
        vm.prank(alice);
        vm.expectRevert(bytes("FiatToken: caller is not a minter"));
        usdc.burn(1);
    }

    // ------------------------------------------------------------------ ERC-20

    function test_transfer_oneUnitAndWholeBalance() public {
        vm.prank(alice);
        assertTrue(usdc.transfer(bob, 1));
        assertEq(usdc.balanceOf(bob), 1);
        uint256 rest = usdc.balanceOf(alice);
        vm.prank(alice);
        usdc.transfer(bob, rest);
        assertEq(usdc.balanceOf(alice), 0);
        assertEq(usdc.balanceOf(bob), 1_000e6);
    }

    function test_transfer_maxSupplyBalance() public {
        // v2.2's cap: balances (and so the supply) stop at 2^255 - 1.
        uint256 cap = (uint256(1) << 255) - 1;
        FiatTokenV2_2 t = new FiatTokenV2_2();
        t.initialize("USD Coin", "USDC", "USD", 6, "2", address(this), address(this));
        t.configureMinter(address(this), type(uint256).max);
        t.mint(alice, cap);
        vm.expectRevert(bytes("FiatTokenV2_2: Balance exceeds (2^255 - 1)"));
        t.mint(bob, 1);
        vm.prank(alice);
        t.transfer(bob, cap);
        assertEq(t.balanceOf(bob), cap);
        assertEq(t.totalSupply(), cap);
    }

    function test_transfer_revertsWithFiatTokenMessages() public {
        vm.startPrank(alice);
        vm.expectRevert(bytes("ERC20: transfer amount exceeds balance"));
        usdc.transfer(bob, 1_000e6 + 1);
        vm.expectRevert(bytes("ERC20: transfer to the zero address"));
        usdc.transfer(address(0), 1);
        vm.stopPrank();
    }

    function test_transferFrom_consumesAllowance() public {
        vm.prank(alice);
        usdc.approve(bob, 10);
        vm.prank(bob);
        vm.expectRevert(bytes("ERC20: transfer amount exceeds allowance"));
        usdc.transferFrom(alice, bob, 11);
        vm.prank(bob);
        usdc.transferFrom(alice, relayer, 10);
        assertEq(usdc.allowance(alice, bob), 0);
        assertEq(usdc.balanceOf(relayer), 10);
    }

    function test_pauseAndBlacklist_blockTransfers() public {
        vm.prank(owner);
        usdc.blacklist(bob);
        vm.prank(alice);
        vm.expectRevert(bytes("Blacklistable: account is blacklisted"));
        usdc.transfer(bob, 1);
        vm.prank(owner);
        usdc.pause();
        vm.prank(alice);
        vm.expectRevert(bytes("Pausable: paused"));
        usdc.transfer(relayer, 1);
    }

    // ------------------------------------------------------------------ EIP-3009

    function _signTwa(uint256 key, address from, address to, uint256 value, uint256 va, uint256 vb, bytes32 nonce)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        return vm.sign(key, authDigest(usdc, TWA_TYPEHASH, from, to, value, va, vb, nonce));
    }

    function test_twa_movesFundsMarksNonceAndEmits() public {
        bytes32 nonce = keccak256("n1");
        (uint8 v, bytes32 r, bytes32 s) = _signTwa(aliceKey, alice, bob, 25e6, NOW - 600, NOW + 60, nonce);
        vm.expectEmit(true, true, false, true, address(usdc));
        emit AuthorizationUsed(alice, nonce);
        vm.expectEmit(true, true, false, true, address(usdc));
        emit Transfer(alice, bob, 25e6);
        vm.prank(relayer);
        usdc.transferWithAuthorization(alice, bob, 25e6, NOW - 600, NOW + 60, nonce, v, r, s);
        assertEq(usdc.balanceOf(bob), 25e6);
        assertEq(usdc.balanceOf(alice), 975e6);
        assertTrue(usdc.authorizationState(alice, nonce));
    }

    function test_twa_validAfterEqualToNowReverts() public {
        (uint8 v, bytes32 r, bytes32 s) = _signTwa(aliceKey, alice, bob, 1, NOW, NOW + 60, bytes32(0));
        vm.expectRevert(bytes("FiatTokenV2: authorization is not yet valid"));
        usdc.transferWithAuthorization(alice, bob, 1, NOW, NOW + 60, bytes32(0), v, r, s);
    }

    function test_twa_validBeforeEqualToNowReverts() public {
        (uint8 v, bytes32 r, bytes32 s) = _signTwa(aliceKey, alice, bob, 1, 0, NOW, bytes32(0));
        vm.expectRevert(bytes("FiatTokenV2: authorization is expired"));
        usdc.transferWithAuthorization(alice, bob, 1, 0, NOW, bytes32(0), v, r, s);
    }

    function test_twa_tightestOpenWindowPasses() public {
        (uint8 v, bytes32 r, bytes32 s) = _signTwa(aliceKey, alice, bob, 1, NOW - 1, NOW + 1, bytes32(0));
        usdc.transferWithAuthorization(alice, bob, 1, NOW - 1, NOW + 1, bytes32(0), v, r, s);
        assertEq(usdc.balanceOf(bob), 1);
    }

    function testFuzz_twa_windowIsStrict(uint256 validAfter, uint256 validBefore) public {
        validAfter = bound(validAfter, NOW - 5, NOW + 5);
        validBefore = bound(validBefore, NOW - 5, NOW + 5);
        bytes memory sig =
            signPacked(aliceKey, authDigest(usdc, TWA_TYPEHASH, alice, bob, 1, validAfter, validBefore, "w"));
        bool shouldPass = validAfter < NOW && NOW < validBefore;
        if (!shouldPass) vm.expectRevert();
        usdc.transferWithAuthorization(alice, bob, 1, validAfter, validBefore, "w", sig);
        assertEq(usdc.balanceOf(bob), shouldPass ? 1 : 0);
    }

    function test_twa_replayReverts() public {
        (uint8 v, bytes32 r, bytes32 s) = _signTwa(aliceKey, alice, bob, 1, 0, NOW + 60, "n");
        usdc.transferWithAuthorization(alice, bob, 1, 0, NOW + 60, "n", v, r, s);
        vm.expectRevert(bytes("FiatTokenV2: authorization is used or canceled"));
        usdc.transferWithAuthorization(alice, bob, 1, 0, NOW + 60, "n", v, r, s);
    }

    function test_twa_wrongSignerReverts() public {
        (uint8 v, bytes32 r, bytes32 s) = _signTwa(bobKey, alice, bob, 1, 0, NOW + 60, "n");
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        usdc.transferWithAuthorization(alice, bob, 1, 0, NOW + 60, "n", v, r, s);
        assertFalse(usdc.authorizationState(alice, "n"));
    }

    function test_twa_tamperedValueReverts() public {
        (uint8 v, bytes32 r, bytes32 s) = _signTwa(aliceKey, alice, bob, 1, 0, NOW + 60, "n");
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        usdc.transferWithAuthorization(alice, bob, 2, 0, NOW + 60, "n", v, r, s);
    }

    function test_twa_signatureForOtherDomainReverts() public {
        // Signed for the Base Sepolia name ("USDC") but the token is "USD Coin".
        bytes32 structHash = keccak256(abi.encode(TWA_TYPEHASH, alice, bob, 1, 0, NOW + 60, bytes32("n")));
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(aliceKey, digestOf(usdcDomain(address(usdc), "USDC", "2"), structHash));
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        usdc.transferWithAuthorization(alice, bob, 1, 0, NOW + 60, "n", v, r, s);
    }

    function test_twa_bytesOverloadAcceptsEoaSignature() public {
        bytes memory sig = signPacked(aliceKey, authDigest(usdc, TWA_TYPEHASH, alice, bob, 7, 0, NOW + 60, "b"));
        usdc.transferWithAuthorization(alice, bob, 7, 0, NOW + 60, "b", sig);
        assertEq(usdc.balanceOf(bob), 7);
    }

    function test_twa_highSIsRejected() public {
        bytes32 digest = authDigest(usdc, TWA_TYPEHASH, alice, bob, 1, 0, NOW + 60, "m");
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, digest);
        // The malleable twin (n - s, flipped v) recovers the same signer; FiatToken refuses it.
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        bytes32 s2 = bytes32(n - uint256(s));
        uint8 v2 = v == 27 ? 28 : 27;
        assertEq(ecrecover(digest, v2, r, s2), alice);
        vm.expectRevert(bytes("ECRecover: invalid signature 's' value"));
        usdc.transferWithAuthorization(alice, bob, 1, 0, NOW + 60, "m", v2, r, s2);
        usdc.transferWithAuthorization(alice, bob, 1, 0, NOW + 60, "m", v, r, s);
    }

    function test_twa_erc1271WalletViaBytesOverload() public {
        ERC1271Wallet wallet = new ERC1271Wallet(alice);
        vm.prank(minter);
        usdc.mint(address(wallet), 50);
        bytes memory sig =
            signPacked(aliceKey, authDigest(usdc, TWA_TYPEHASH, address(wallet), bob, 50, 0, NOW + 60, "c"));
        usdc.transferWithAuthorization(address(wallet), bob, 50, 0, NOW + 60, "c", sig);
        assertEq(usdc.balanceOf(bob), 50);
        // A signature by someone else is refused by the wallet.
        bytes memory bad = signPacked(bobKey, authDigest(usdc, TWA_TYPEHASH, address(wallet), bob, 0, 0, NOW + 60, "d"));
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        usdc.transferWithAuthorization(address(wallet), bob, 0, 0, NOW + 60, "d", bad);
    }

    function test_rwa_onlyPayeeMaySubmit() public {
        bytes32 digest = authDigest(usdc, RWA_TYPEHASH, alice, bob, 3, 0, NOW + 60, "r");
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, digest);
        vm.prank(relayer);
        vm.expectRevert(bytes("FiatTokenV2: caller must be the payee"));
        usdc.receiveWithAuthorization(alice, bob, 3, 0, NOW + 60, "r", v, r, s);
        vm.prank(bob);
        usdc.receiveWithAuthorization(alice, bob, 3, 0, NOW + 60, "r", v, r, s);
        assertEq(usdc.balanceOf(bob), 3);
        assertTrue(usdc.authorizationState(alice, "r"));
    }

    function test_rwa_transferTypedSignatureIsNotAReceiveAuthorization() public {
        bytes memory sig = signPacked(aliceKey, authDigest(usdc, TWA_TYPEHASH, alice, bob, 3, 0, NOW + 60, "x"));
        vm.prank(bob);
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        usdc.receiveWithAuthorization(alice, bob, 3, 0, NOW + 60, "x", sig);
    }

    function test_cancelAuthorization_blocksLaterUseAndSecondCancel() public {
        bytes32 cancelDigest = digestOf(
            usdcDomain(address(usdc), "USD Coin", "2"), keccak256(abi.encode(CANCEL_TYPEHASH, alice, bytes32("k")))
        );
        (uint8 cv, bytes32 cr, bytes32 cs) = vm.sign(aliceKey, cancelDigest);
        vm.expectEmit(true, true, false, true, address(usdc));
        emit AuthorizationCanceled(alice, "k");
        usdc.cancelAuthorization(alice, "k", cv, cr, cs);
        assertTrue(usdc.authorizationState(alice, "k"));

        (uint8 v, bytes32 r, bytes32 s) = _signTwa(aliceKey, alice, bob, 1, 0, NOW + 60, "k");
        vm.expectRevert(bytes("FiatTokenV2: authorization is used or canceled"));
        usdc.transferWithAuthorization(alice, bob, 1, 0, NOW + 60, "k", v, r, s);
        vm.expectRevert(bytes("FiatTokenV2: authorization is used or canceled"));
        usdc.cancelAuthorization(alice, "k", abi.encodePacked(cr, cs, cv));
    }

    function test_cancelAuthorization_wrongSignerReverts() public {
        bytes32 cancelDigest = digestOf(
            usdcDomain(address(usdc), "USD Coin", "2"), keccak256(abi.encode(CANCEL_TYPEHASH, alice, bytes32("k")))
        );
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        usdc.cancelAuthorization(alice, "k", signPacked(bobKey, cancelDigest));
    }

    // ------------------------------------------------------------------ EIP-2612

    function _permitDigest(address holder, address spender, uint256 value, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes32)
    {
        return digestOf(
            usdcDomain(address(usdc), "USD Coin", "2"),
            keccak256(abi.encode(PERMIT_TYPEHASH_, holder, spender, value, nonce, deadline))
        );
    }

    function test_permit_setsAllowanceAndBumpsNonce() public {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, _permitDigest(alice, bob, 99, 0, NOW));
        vm.expectEmit(true, true, false, true, address(usdc));
        emit Approval(alice, bob, 99);
        usdc.permit(alice, bob, 99, NOW, v, r, s); // deadline == now is still valid
        assertEq(usdc.allowance(alice, bob), 99);
        assertEq(usdc.nonces(alice), 1);
        vm.expectRevert(bytes("EIP2612: invalid signature")); // replay: nonce moved on
        usdc.permit(alice, bob, 99, NOW, v, r, s);
    }

    function test_permit_expiredDeadlineReverts() public {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, _permitDigest(alice, bob, 1, 0, NOW - 1));
        vm.expectRevert(bytes("FiatTokenV2: permit is expired"));
        usdc.permit(alice, bob, 1, NOW - 1, v, r, s);
    }

    function test_permit_maxDeadlineNeverExpiresAndBytesOverload() public {
        vm.warp(type(uint64).max);
        bytes memory sig = signPacked(aliceKey, _permitDigest(alice, bob, 5, 0, type(uint256).max));
        usdc.permit(alice, bob, 5, type(uint256).max, sig);
        assertEq(usdc.allowance(alice, bob), 5);
    }

    function test_permit_wrongSignerReverts() public {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(bobKey, _permitDigest(alice, bob, 1, 0, NOW));
        vm.expectRevert(bytes("EIP2612: invalid signature"));
        usdc.permit(alice, bob, 1, NOW, v, r, s);
        assertEq(usdc.nonces(alice), 0);
    }
}
