// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../utils/Test.sol";
import {FiatTokenV2_2} from "../../src/shared/FiatTokenV2_2.sol";
import {AIMarketEscrow} from "../../src/aimarket/AIMarketEscrow.sol";

/// @notice Unit tests of AIMarketEscrow: lifecycle, every refusal, and the SDKs' cross-SDK EIP-712 vector.
contract AIMarketEscrowTest is Test {
    FiatTokenV2_2 internal usdc;
    AIMarketEscrow internal escrow;
    uint256 internal depositorKey = 0xA11CE;
    address internal depositor;
    address internal hub = address(0xB0B);
    address internal otherHub = address(0xCAFE);
    bytes32 internal constant CH = bytes32(uint256(1));

    function setUp() public {
        vm.warp(1_750_000_000);
        depositor = vm.addr(depositorKey);
        usdc = new FiatTokenV2_2();
        usdc.initialize("USD Coin", "USDC", "USD", 6, "2", address(this), address(this));
        usdc.configureMinter(address(this), type(uint256).max);
        escrow = new AIMarketEscrow();
        usdc.mint(depositor, 100e6);
        vm.prank(depositor);
        usdc.approve(address(escrow), type(uint256).max);
    }

    function _open(uint256 amount) internal {
        vm.prank(depositor);
        escrow.openChannel(CH, address(usdc), amount);
    }

    function _sig(address h, uint256 amount, bytes32 receipt, uint256 nonce, uint256 deadline) internal view returns (bytes memory) {
        return signPacked(depositorKey, escrow.debitDigest(CH, h, address(usdc), amount, receipt, nonce, deadline));
    }

    function _debit(address h, uint256 amount, bytes32 receipt) internal {
        AIMarketEscrow.Channel memory c = escrow.getChannel(CH);
        uint256 deadline = block.timestamp + 60;
        bytes memory sig = _sig(h, amount, receipt, c.nonce, deadline);
        vm.prank(h);
        escrow.debitChannel(CH, amount, receipt, deadline, sig);
    }

    function test_typehash_isTheCanonicalLiteral() public view {
        assertEq(
            escrow.DEBIT_TYPEHASH(),
            keccak256("DebitAuthorization(bytes32 channelId,address hub,address token,uint256 amount,bytes32 receiptId,uint256 nonce,uint256 deadline)")
        );
    }

    /// aimarket-sdks test-vectors/debit_authorization.json: chain 31337, escrow 0x5FbDB…0aa3.
    function test_sdkCrossVectorDigest() public {
        vm.chainId(31337);
        address at = 0x5FbDB2315678afecb367f032d93F642f64180aa3;
        vm.etch(at, address(escrow).code);
        bytes32 d = AIMarketEscrow(at).debitDigest(
            bytes32(uint256(1)), address(0xbEEF), 0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913, 5000000, bytes32(uint256(0x1234)), 0, 2000000000
        );
        assertEq(d, 0x3f1004cedd565143d1a0fbe67f56de61d44de52ec49390d33a3784b1a2f95c69);
    }

    function test_domainFollowsChainId() public {
        bytes32 a = escrow.domainSeparator();
        vm.chainId(84532);
        assertTrue(escrow.domainSeparator() != a);
    }

    function test_open_debit_settle_conserves() public {
        _open(10e6);
        assertEq(usdc.balanceOf(address(escrow)), 10e6);
        _debit(hub, 3e6, bytes32("r1"));
        _debit(hub, 2e6, bytes32("r2"));
        AIMarketEscrow.Channel memory c = escrow.getChannel(CH);
        assertEq(c.used, 5e6);
        assertEq(c.nonce, 2);
        assertEq(c.hub, hub);
        vm.prank(hub);
        escrow.settleChannel(CH);
        assertEq(usdc.balanceOf(hub), 5e6);
        assertEq(usdc.balanceOf(depositor), 95e6);
        assertEq(usdc.balanceOf(address(escrow)), 0);
    }

    function test_open_refusals() public {
        vm.expectRevert(AIMarketEscrow.ZeroAmount.selector);
        vm.prank(depositor);
        escrow.openChannel(CH, address(usdc), 0);
        _open(1e6);
        vm.expectRevert(abi.encodeWithSelector(AIMarketEscrow.ChannelExists.selector, CH));
        vm.prank(depositor);
        escrow.openChannel(CH, address(usdc), 1e6);
    }

    function test_debit_refusals() public {
        _open(10e6);
        uint256 deadline = block.timestamp + 60;
        // wrong signer
        bytes memory bad = signPacked(0xBAD, escrow.debitDigest(CH, hub, address(usdc), 1e6, bytes32("x"), 0, deadline));
        vm.prank(hub);
        vm.expectRevert(AIMarketEscrow.InvalidSignature.selector);
        escrow.debitChannel(CH, 1e6, bytes32("x"), deadline, bad);
        // signature for another hub
        bytes memory forOther = _sig(otherHub, 1e6, bytes32("x"), 0, deadline);
        vm.prank(hub);
        vm.expectRevert(AIMarketEscrow.InvalidSignature.selector);
        escrow.debitChannel(CH, 1e6, bytes32("x"), deadline, forOther);
        // wrong amount under a valid signature
        bytes memory one = _sig(hub, 1e6, bytes32("x"), 0, deadline);
        vm.prank(hub);
        vm.expectRevert(AIMarketEscrow.InvalidSignature.selector);
        escrow.debitChannel(CH, 2e6, bytes32("x"), deadline, one);
        // overdraft
        bytes memory big = _sig(hub, 11e6, bytes32("x"), 0, deadline);
        vm.prank(hub);
        vm.expectRevert(abi.encodeWithSelector(AIMarketEscrow.Overdraft.selector, 10e6, 11e6));
        escrow.debitChannel(CH, 11e6, bytes32("x"), deadline, big);
        // deadline
        vm.warp(deadline + 1);
        vm.prank(hub);
        vm.expectRevert(abi.encodeWithSelector(AIMarketEscrow.DeadlinePassed.selector, deadline));
        escrow.debitChannel(CH, 1e6, bytes32("x"), deadline, one);
    }

    function test_receiptOnce_nonceInOrder_hubBound() public {
        _open(10e6);
        _debit(hub, 1e6, bytes32("r1"));
        uint256 deadline = block.timestamp + 60;
        bytes memory replay = _sig(hub, 1e6, bytes32("r1"), 1, deadline);
        vm.prank(hub);
        vm.expectRevert(abi.encodeWithSelector(AIMarketEscrow.ReceiptUsed.selector, bytes32("r1")));
        escrow.debitChannel(CH, 1e6, bytes32("r1"), deadline, replay);
        bytes memory oldNonce = _sig(hub, 1e6, bytes32("r2"), 0, deadline);
        vm.prank(hub);
        vm.expectRevert(AIMarketEscrow.InvalidSignature.selector);
        escrow.debitChannel(CH, 1e6, bytes32("r2"), deadline, oldNonce);
        bytes memory other = _sig(otherHub, 1e6, bytes32("r3"), 1, deadline);
        vm.prank(otherHub);
        vm.expectRevert(abi.encodeWithSelector(AIMarketEscrow.WrongHub.selector, hub, otherHub));
        escrow.debitChannel(CH, 1e6, bytes32("r3"), deadline, other);
    }

    function test_refund_onlyDepositor_onlyBeforeDebit() public {
        _open(10e6);
        vm.prank(hub);
        vm.expectRevert(abi.encodeWithSelector(AIMarketEscrow.NotDepositor.selector, hub));
        escrow.refundChannel(CH, "blocked");
        vm.prank(depositor);
        escrow.refundChannel(CH, "safety gate");
        assertEq(usdc.balanceOf(depositor), 100e6);
        bytes32 ch2 = bytes32(uint256(2));
        vm.prank(depositor);
        escrow.openChannel(ch2, address(usdc), 5e6);
        uint256 deadline = block.timestamp + 60;
        bytes memory s = signPacked(depositorKey, escrow.debitDigest(ch2, hub, address(usdc), 1e6, bytes32("q"), 0, deadline));
        vm.prank(hub);
        escrow.debitChannel(ch2, 1e6, bytes32("q"), deadline, s);
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(AIMarketEscrow.AlreadyDebited.selector, ch2));
        escrow.refundChannel(ch2, "too late");
    }

    function test_expire_after24h_byAnyone_andDebitRefused() public {
        _open(10e6);
        _debit(hub, 4e6, bytes32("r1"));
        vm.expectRevert(abi.encodeWithSelector(AIMarketEscrow.NotExpired.selector, CH));
        escrow.expireChannel(CH);
        vm.warp(block.timestamp + 24 hours);
        uint256 deadline = block.timestamp + 60;
        bytes memory s = _sig(hub, 1e6, bytes32("r2"), 1, deadline);
        vm.prank(hub);
        vm.expectRevert(abi.encodeWithSelector(AIMarketEscrow.Expired.selector, CH));
        escrow.debitChannel(CH, 1e6, bytes32("r2"), deadline, s);
        vm.prank(address(0xD00D));
        escrow.expireChannel(CH);
        assertEq(usdc.balanceOf(hub), 4e6);
        assertEq(usdc.balanceOf(depositor), 96e6);
    }

    function test_channelTtl_defaultsTo24h() public view {
        assertEq(escrow.channelTtl(), 24 hours);
    }

    /// The lab's other lifetime (slot 2, written by the reference service for a what-if profile)
    /// applies to channels opened afterwards; 0 means the default again.
    function test_channelTtl_fromItsSlot_expiresThen() public {
        vm.store(address(escrow), bytes32(uint256(2)), bytes32(uint256(1 hours)));
        assertEq(escrow.channelTtl(), 1 hours, "the lifetime lives in slot 2");
        _open(10e6);
        assertEq(escrow.getChannel(CH).expiresAt, block.timestamp + 1 hours);
        _debit(hub, 4e6, bytes32("r1"));
        vm.warp(block.timestamp + 1 hours - 1);
        vm.expectRevert(abi.encodeWithSelector(AIMarketEscrow.NotExpired.selector, CH));
        escrow.expireChannel(CH);
        vm.warp(block.timestamp + 1);
        vm.prank(address(0xD00D));
        escrow.expireChannel(CH);
        assertEq(usdc.balanceOf(hub), 4e6);
        assertEq(usdc.balanceOf(depositor), 96e6);
        vm.store(address(escrow), bytes32(uint256(2)), bytes32(0));
        assertEq(escrow.channelTtl(), 24 hours);
    }

    function test_settle_onlyParties() public {
        _open(10e6);
        vm.prank(hub);
        vm.expectRevert(abi.encodeWithSelector(AIMarketEscrow.NotParty.selector, hub));
        escrow.settleChannel(CH);
        vm.prank(depositor);
        escrow.settleChannel(CH);
        vm.prank(depositor);
        vm.expectRevert(abi.encodeWithSelector(AIMarketEscrow.ChannelNotOpen.selector, CH));
        escrow.settleChannel(CH);
        assertEq(usdc.balanceOf(depositor), 100e6);
    }
}
