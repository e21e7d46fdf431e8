// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../utils/Test.sol";
import {AgentripeFixture} from "./AgentripeFixture.sol";
import {AgentripeEscrow} from "../../src/agentripe/AgentripeEscrow.sol";
import {IAgentripeEscrow} from "../../src/agentripe/IAgentripeEscrow.sol";

/// @notice Unit tests of AgentripeEscrow against the project's USDC and ERC-8004 IdentityRegistry.
contract AgentripeEscrowTest is Test, AgentripeFixture {
    // Mirrors of the escrow's events, for vm.expectEmit.
    event DepositRecorded(bytes32 indexed depositId, uint256 indexed agentId, address indexed buyer, uint256 amount);
    event DepositReleased(bytes32 indexed depositId, address indexed agentWallet, uint256 amount);
    event DepositRefunded(bytes32 indexed depositId, address indexed buyer, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event OperatorUpdated(address indexed previousOperator, address indexed newOperator);
    event ReclaimDelayUpdated(uint64 previousDelay, uint64 newDelay);
    event AdminTransferred(address indexed previousAdmin, address indexed newAdmin);

    uint8 internal constant NONE = 0;
    uint8 internal constant DEPOSITED = 1;
    uint8 internal constant RELEASED = 2;
    uint8 internal constant REFUNDED = 3;

    address internal admin = makeAddr("admin");
    address internal operator = makeAddr("operator");
    address internal facilitator = makeAddr("facilitator");
    address internal vendor = makeAddr("vendor");
    address internal stranger = makeAddr("stranger");
    address internal buyer;
    uint256 internal buyerKey;
    address internal buyer2;
    uint256 internal buyer2Key;
    uint256 internal agentId;

    uint256 internal constant PRICE = 100_000; // $0.10

    function setUp() public {
        vm.warp(1_750_000_000);
        (buyer, buyerKey) = makeAddrAndKey("buyer");
        (buyer2, buyer2Key) = makeAddrAndKey("buyer2");
        _deployAll(admin, operator);
        agentId = _registerAgent(vendor);
        _mint(buyer, 1_000_000_000);
        _mint(buyer2, 1_000_000_000);
    }

    // ---------------------------------------------------------------------------------------------
    // helpers
    // ---------------------------------------------------------------------------------------------

    /// x402 payment + operator recording; returns the depositId.
    function _deposit(uint256 key, uint256 amount, bytes32 nonce) internal returns (bytes32 id) {
        id = _payX402(key, amount, nonce, facilitator);
        vm.prank(operator);
        escrow.recordDeposit(id, agentId, vm.addr(key), amount);
    }

    function _status(bytes32 id) internal view returns (uint8) {
        (,,, IAgentripeEscrow.DepositStatus s) = escrow.getDeposit(id);
        return uint8(s);
    }

    function _assertBooks() internal view {
        assertEq(
            usdc.balanceOf(address(escrow)),
            escrow.totalDeposited() + escrow.totalWithdrawable() + escrow.unallocatedBalance(),
            "balance == deposited + withdrawable + unallocated"
        );
    }

    // ---------------------------------------------------------------------------------------------
    // initialize and roles
    // ---------------------------------------------------------------------------------------------

    function test_initialize_storesConfig() public view {
        assertTrue(escrow.initialized());
        assertEq(address(escrow.usdc()), address(usdc));
        assertEq(address(escrow.identityRegistry()), address(registry));
        assertEq(escrow.admin(), admin);
        assertEq(escrow.operator(), operator);
        assertEq(uint256(escrow.reclaimDelay()), 7 days);
    }

    function test_initialize_onlyOnce() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.AlreadyInitialized.selector));
        escrow.initialize(address(usdc), address(registry), stranger, stranger, RECLAIM_DELAY);
    }

    function test_initialize_rejectsZeroAddressesAndBadDelay() public {
        AgentripeEscrow e = new AgentripeEscrow();
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.ZeroAddress.selector));
        e.initialize(address(0), address(registry), admin, operator, RECLAIM_DELAY);
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.ZeroAddress.selector));
        e.initialize(address(usdc), address(registry), admin, address(0), RECLAIM_DELAY);
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.InvalidReclaimDelay.selector, uint64(1 hours - 1)));
        e.initialize(address(usdc), address(registry), admin, operator, 1 hours - 1);
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.InvalidReclaimDelay.selector, uint64(365 days + 1)));
        e.initialize(address(usdc), address(registry), admin, operator, 365 days + 1);
        e.initialize(address(usdc), address(registry), admin, operator, 1 hours);
        assertEq(uint256(e.reclaimDelay()), 1 hours);
    }

    function test_uninitialized_refusesEveryone() public {
        AgentripeEscrow e = new AgentripeEscrow();
        address[2] memory callers = [address(0), stranger];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.NotInitialized.selector));
            vm.prank(callers[i]);
            e.recordDeposit(bytes32(uint256(1)), agentId, buyer, 1);
            vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.NotInitialized.selector));
            vm.prank(callers[i]);
            e.releaseToVendor(bytes32(uint256(1)));
        }
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.Unauthorized.selector, stranger));
        vm.prank(stranger);
        e.setOperator(stranger);
    }

    function test_setOperator_rotates() public {
        bytes32 id = _deposit(buyerKey, PRICE, "n1");
        address newOperator = makeAddr("newOperator");
        vm.expectEmit(address(escrow));
        emit OperatorUpdated(operator, newOperator);
        vm.prank(admin);
        escrow.setOperator(newOperator);
        assertEq(escrow.operator(), newOperator);

        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.Unauthorized.selector, operator));
        vm.prank(operator);
        escrow.releaseToVendor(id);

        vm.prank(newOperator);
        escrow.releaseToVendor(id);
        assertEq(_status(id), RELEASED);
    }

    function test_setOperator_onlyAdmin_nonZero() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.Unauthorized.selector, operator));
        vm.prank(operator);
        escrow.setOperator(stranger);
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.ZeroAddress.selector));
        vm.prank(admin);
        escrow.setOperator(address(0));
    }

    function test_adminTransfer_twoStep() public {
        address next = makeAddr("nextAdmin");
        vm.prank(admin);
        escrow.transferAdmin(next);
        assertEq(escrow.admin(), admin, "not moved before accept");
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.NotPendingAdmin.selector, stranger));
        vm.prank(stranger);
        escrow.acceptAdmin();
        vm.expectEmit(address(escrow));
        emit AdminTransferred(admin, next);
        vm.prank(next);
        escrow.acceptAdmin();
        assertEq(escrow.admin(), next);
        assertEq(escrow.pendingAdmin(), address(0));
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.Unauthorized.selector, admin));
        vm.prank(admin);
        escrow.setOperator(stranger);
    }

    function test_acceptAdmin_refusedWithoutPending() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.NotPendingAdmin.selector, address(0)));
        vm.prank(address(0));
        escrow.acceptAdmin();
    }

    function test_setReclaimDelay_appliesToNewDepositsOnly() public {
        bytes32 oldId = _deposit(buyerKey, PRICE, "n1");
        uint256 oldDeadline = escrow.reclaimableAt(oldId);
        vm.expectEmit(address(escrow));
        emit ReclaimDelayUpdated(7 days, 1 days);
        vm.prank(admin);
        escrow.setReclaimDelay(1 days);
        bytes32 newId = _deposit(buyerKey, PRICE, "n2");
        assertEq(escrow.reclaimableAt(oldId), oldDeadline, "existing deadline unchanged");
        assertEq(escrow.reclaimableAt(newId), block.timestamp + 1 days);

        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.Unauthorized.selector, operator));
        vm.prank(operator);
        escrow.setReclaimDelay(2 days);
    }

    // ---------------------------------------------------------------------------------------------
    // recording
    // ---------------------------------------------------------------------------------------------

    function test_record_x402Path() public {
        bytes32 id = _payX402(buyerKey, PRICE, "n1", facilitator);
        assertEq(usdc.balanceOf(address(escrow)), PRICE);
        assertEq(escrow.unallocatedBalance(), PRICE, "payment unallocated until recorded");

        vm.expectEmit(address(escrow));
        emit DepositRecorded(id, agentId, buyer, PRICE);
        vm.prank(operator);
        escrow.recordDeposit(id, agentId, buyer, PRICE);

        (uint256 a, address b, uint256 amt, IAgentripeEscrow.DepositStatus s) = escrow.getDeposit(id);
        assertEq(a, agentId);
        assertEq(b, buyer);
        assertEq(amt, PRICE);
        assertEq(uint8(s), DEPOSITED);
        assertEq(escrow.totalDeposited(), PRICE);
        assertEq(escrow.unallocatedBalance(), 0);
        assertEq(escrow.reclaimableAt(id), block.timestamp + RECLAIM_DELAY);
        _assertBooks();
    }

    function test_record_withoutBacking_refused() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.InsufficientBacking.selector, PRICE, 0));
        vm.prank(operator);
        escrow.recordDeposit(bytes32(uint256(1)), agentId, buyer, PRICE);
        assertEq(_status(bytes32(uint256(1))), NONE);
    }

    function test_record_partialBacking_refused() public {
        _payX402(buyerKey, PRICE - 1, "n1", facilitator);
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.InsufficientBacking.selector, PRICE, PRICE - 1));
        vm.prank(operator);
        escrow.recordDeposit(bytes32(uint256(1)), agentId, buyer, PRICE);
    }

    /// One payment cannot back two deposits.
    function test_record_samePaymentTwice_refused() public {
        bytes32 id = _deposit(buyerKey, PRICE, "n1");
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.InsufficientBacking.selector, PRICE, 0));
        vm.prank(operator);
        escrow.recordDeposit(keccak256(abi.encode(id)), agentId, buyer, PRICE);
    }

    /// Funds owed to withdrawers are allocated too: a released-but-not-withdrawn balance cannot back a new deposit.
    function test_record_cannotReuseWithdrawableFunds() public {
        bytes32 id = _deposit(buyerKey, PRICE, "n1");
        vm.prank(operator);
        escrow.releaseToVendor(id);
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.InsufficientBacking.selector, PRICE, 0));
        vm.prank(operator);
        escrow.recordDeposit(bytes32(uint256(7)), agentId, buyer, PRICE);
    }

    function test_record_duplicateId_refused_evenAfterResolution() public {
        bytes32 id = _deposit(buyerKey, PRICE, "n1");
        _payX402(buyerKey, PRICE, "n2", facilitator);
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.DepositAlreadyExists.selector, id));
        vm.prank(operator);
        escrow.recordDeposit(id, agentId, buyer, PRICE);

        vm.prank(operator);
        escrow.refundToBuyer(id);
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.DepositAlreadyExists.selector, id));
        vm.prank(operator);
        escrow.recordDeposit(id, agentId, buyer, PRICE);
    }

    function test_record_rejectsBadArguments() public {
        _payX402(buyerKey, PRICE, "n1", facilitator);
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.ZeroDepositId.selector));
        escrow.recordDeposit(bytes32(0), agentId, buyer, PRICE);
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.ZeroAddress.selector));
        escrow.recordDeposit(bytes32(uint256(1)), agentId, address(0), PRICE);
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.ZeroAmount.selector));
        escrow.recordDeposit(bytes32(uint256(1)), agentId, buyer, 0);
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.AgentNotFound.selector, agentId + 1000));
        escrow.recordDeposit(bytes32(uint256(1)), agentId + 1000, buyer, PRICE);
        vm.stopPrank();
    }

    function test_record_nonOperator_refused() public {
        _payX402(buyerKey, PRICE, "n1", facilitator);
        address[4] memory callers = [buyer, vendor, admin, stranger];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.Unauthorized.selector, callers[i]));
            vm.prank(callers[i]);
            escrow.recordDeposit(bytes32(uint256(1)), agentId, buyer, PRICE);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // pull path (depositWithAuthorization)
    // ---------------------------------------------------------------------------------------------

    function test_depositWithAuthorization_pullsAndRecords() public {
        (uint256 va, uint256 vb, bytes memory sig) = _signReceive(buyerKey, PRICE, "p1");
        bytes32 id = bytes32("p1");
        uint256 before = usdc.balanceOf(buyer);
        vm.expectEmit(address(escrow));
        emit DepositRecorded(id, agentId, buyer, PRICE);
        vm.prank(operator);
        escrow.depositWithAuthorization(id, agentId, buyer, PRICE, va, vb, "p1", sig);
        assertEq(usdc.balanceOf(buyer), before - PRICE);
        assertEq(usdc.balanceOf(address(escrow)), PRICE);
        assertEq(_status(id), DEPOSITED);
        assertEq(escrow.unallocatedBalance(), 0);
        _assertBooks();
    }

    function test_depositWithAuthorization_nonOperator_refused() public {
        (uint256 va, uint256 vb, bytes memory sig) = _signReceive(buyerKey, PRICE, "p1");
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.Unauthorized.selector, stranger));
        vm.prank(stranger);
        escrow.depositWithAuthorization(bytes32("p1"), agentId, buyer, PRICE, va, vb, "p1", sig);
    }

    /// A signature for another amount (or another signer) moves nothing and records nothing.
    function test_depositWithAuthorization_badSignature_revertsAtomically() public {
        (uint256 va, uint256 vb, bytes memory sig) = _signReceive(buyerKey, PRICE, "p1");
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        vm.prank(operator);
        escrow.depositWithAuthorization(bytes32("p1"), agentId, buyer, PRICE + 1, va, vb, "p1", sig);
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        vm.prank(operator);
        escrow.depositWithAuthorization(bytes32("p1"), agentId, buyer2, PRICE, va, vb, "p1", sig);
        assertEq(_status(bytes32("p1")), NONE);
        assertEq(escrow.totalDeposited(), 0);
        assertEq(usdc.balanceOf(address(escrow)), 0);
    }

    /// An x402 TransferWithAuthorization cannot be replayed as a ReceiveWithAuthorization.
    function test_depositWithAuthorization_transferTypehash_refused() public {
        uint256 va = block.timestamp - 1;
        uint256 vb = block.timestamp + 300;
        bytes memory sig = _signAuthorization(
            usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), buyerKey, address(escrow), PRICE, va, vb, "p1"
        );
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        vm.prank(operator);
        escrow.depositWithAuthorization(bytes32("p1"), agentId, buyer, PRICE, va, vb, "p1", sig);
    }

    /// Nobody but the escrow can redeem a ReceiveWithAuthorization made out to it, so the buyer's
    /// authorization cannot be front-run into a deposit for another agent.
    function test_receiveAuthorization_notRedeemableByOthers() public {
        (uint256 va, uint256 vb, bytes memory sig) = _signReceive(buyerKey, PRICE, "p1");
        vm.expectRevert(bytes("FiatTokenV2: caller must be the payee"));
        vm.prank(stranger);
        usdc.receiveWithAuthorization(buyer, address(escrow), PRICE, va, vb, "p1", sig);
    }

    function test_depositWithAuthorization_replay_refused() public {
        (uint256 va, uint256 vb, bytes memory sig) = _signReceive(buyerKey, PRICE, "p1");
        vm.prank(operator);
        escrow.depositWithAuthorization(bytes32("p1"), agentId, buyer, PRICE, va, vb, "p1", sig);
        vm.expectRevert(bytes("FiatTokenV2: authorization is used or canceled"));
        vm.prank(operator);
        escrow.depositWithAuthorization(bytes32("p2"), agentId, buyer, PRICE, va, vb, "p1", sig);
    }

    // ---------------------------------------------------------------------------------------------
    // release
    // ---------------------------------------------------------------------------------------------

    function test_release_creditsDefaultAgentWallet() public {
        bytes32 id = _deposit(buyerKey, PRICE, "n1");
        assertEq(registry.getAgentWallet(agentId), vendor, "register() sets agentWallet = owner");
        vm.expectEmit(address(escrow));
        emit DepositReleased(id, vendor, PRICE);
        vm.prank(operator);
        escrow.releaseToVendor(id);
        assertEq(_status(id), RELEASED);
        assertEq(escrow.withdrawableBalance(vendor), PRICE);
        assertEq(escrow.totalDeposited(), 0);
        assertEq(usdc.balanceOf(address(escrow)), PRICE, "pull payment: nothing moved yet");
        _assertBooks();

        vm.expectEmit(address(escrow));
        emit Withdrawn(vendor, PRICE);
        vm.prank(vendor);
        escrow.withdraw();
        assertEq(usdc.balanceOf(vendor), PRICE);
        assertEq(usdc.balanceOf(address(escrow)), 0);
        assertEq(escrow.totalWithdrawable(), 0);
    }

    function test_release_creditsCustomAgentWallet_readAtReleaseTime() public {
        bytes32 id = _deposit(buyerKey, PRICE, "n1");
        (, uint256 walletKey) = makeAddrAndKey("vendorWallet");
        address wallet = _setAgentWallet(agentId, walletKey);
        assertEq(escrow.payoutWallet(agentId), wallet);
        vm.expectEmit(address(escrow));
        emit DepositReleased(id, wallet, PRICE);
        vm.prank(operator);
        escrow.releaseToVendor(id);
        assertEq(escrow.withdrawableBalance(wallet), PRICE);
        assertEq(escrow.withdrawableBalance(vendor), 0);
    }

    function test_release_fallsBackToOwner_whenWalletUnset() public {
        bytes32 id = _deposit(buyerKey, PRICE, "n1");
        address newOwner = makeAddr("newOwner");
        // ERC-8004 clears agentWallet when the agent NFT changes hands.
        vm.prank(vendor);
        registry.transferFrom(vendor, newOwner, agentId);
        assertEq(registry.getAgentWallet(agentId), address(0));
        vm.expectEmit(address(escrow));
        emit DepositReleased(id, newOwner, PRICE);
        vm.prank(operator);
        escrow.releaseToVendor(id);
        assertEq(escrow.withdrawableBalance(newOwner), PRICE);
    }

    // ---------------------------------------------------------------------------------------------
    // refund
    // ---------------------------------------------------------------------------------------------

    function test_refund_creditsBuyer() public {
        bytes32 id = _deposit(buyerKey, PRICE, "n1");
        uint256 before = usdc.balanceOf(buyer);
        vm.expectEmit(address(escrow));
        emit DepositRefunded(id, buyer, PRICE);
        vm.prank(operator);
        escrow.refundToBuyer(id);
        assertEq(_status(id), REFUNDED);
        assertEq(escrow.withdrawableBalance(buyer), PRICE);
        _assertBooks();
        vm.prank(buyer);
        escrow.withdraw();
        assertEq(usdc.balanceOf(buyer), before + PRICE);
    }

    // ---------------------------------------------------------------------------------------------
    // at most one resolution, operator only, unknown ids
    // ---------------------------------------------------------------------------------------------

    function test_doubleResolve_refused_allOrders() public {
        for (uint256 first; first < 3; ++first) {
            for (uint256 second; second < 3; ++second) {
                bytes32 nonce = keccak256(abi.encode(first, second));
                bytes32 id = _deposit(buyerKey, PRICE, nonce);
                vm.warp(block.timestamp + RECLAIM_DELAY);
                uint8 finalStatus = _resolve(first, id);
                uint256 withdrawableBefore = escrow.totalWithdrawable();
                vm.expectRevert(
                    abi.encodeWithSelector(
                        IAgentripeEscrow.DepositNotPending.selector, id, IAgentripeEscrow.DepositStatus(finalStatus)
                    )
                );
                _resolve(second, id);
                assertEq(_status(id), finalStatus);
                assertEq(escrow.totalWithdrawable(), withdrawableBefore, "no second credit");
            }
        }
    }

    /// 0 = operator release, 1 = operator refund, 2 = buyer reclaim.
    function _resolve(uint256 how, bytes32 id) internal returns (uint8) {
        if (how == 0) {
            vm.prank(operator);
            escrow.releaseToVendor(id);
            return RELEASED;
        } else if (how == 1) {
            vm.prank(operator);
            escrow.refundToBuyer(id);
            return REFUNDED;
        }
        vm.prank(buyer);
        escrow.reclaim(id);
        return REFUNDED;
    }

    function test_resolve_nonOperator_refused() public {
        bytes32 id = _deposit(buyerKey, PRICE, "n1");
        address[4] memory callers = [buyer, vendor, admin, stranger];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.Unauthorized.selector, callers[i]));
            vm.prank(callers[i]);
            escrow.releaseToVendor(id);
            vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.Unauthorized.selector, callers[i]));
            vm.prank(callers[i]);
            escrow.refundToBuyer(id);
        }
        assertEq(_status(id), DEPOSITED);
    }

    function test_unknownDeposit() public {
        bytes32 id = keccak256("never recorded");
        (uint256 a, address b, uint256 amt, IAgentripeEscrow.DepositStatus s) = escrow.getDeposit(id);
        assertEq(a, 0);
        assertEq(b, address(0));
        assertEq(amt, 0);
        assertEq(uint8(s), NONE);
        assertEq(escrow.reclaimableAt(id), 0);
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.DepositNotFound.selector, id));
        escrow.releaseToVendor(id);
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.DepositNotFound.selector, id));
        escrow.refundToBuyer(id);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.DepositNotFound.selector, id));
        vm.prank(buyer);
        escrow.reclaim(id);
    }

    // ---------------------------------------------------------------------------------------------
    // buyer reclaim after the deadline
    // ---------------------------------------------------------------------------------------------

    function test_reclaim_beforeDeadline_refused() public {
        bytes32 id = _deposit(buyerKey, PRICE, "n1");
        uint64 deadline = escrow.reclaimableAt(id);
        vm.warp(deadline - 1);
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.ReclaimTooEarly.selector, id, deadline));
        vm.prank(buyer);
        escrow.reclaim(id);
        assertEq(_status(id), DEPOSITED);
    }

    function test_reclaim_atDeadline() public {
        bytes32 id = _deposit(buyerKey, PRICE, "n1");
        vm.warp(escrow.reclaimableAt(id));
        vm.expectEmit(address(escrow));
        emit DepositRefunded(id, buyer, PRICE);
        vm.prank(buyer);
        escrow.reclaim(id);
        assertEq(_status(id), REFUNDED);
        assertEq(escrow.withdrawableBalance(buyer), PRICE);
        _assertBooks();
    }

    function test_reclaim_afterDeadline_thenWithdraw() public {
        bytes32 id = _deposit(buyerKey, PRICE, "n1");
        uint256 before = usdc.balanceOf(buyer);
        vm.warp(escrow.reclaimableAt(id) + 30 days);
        vm.prank(buyer);
        escrow.reclaim(id);
        vm.prank(buyer);
        escrow.withdraw();
        assertEq(usdc.balanceOf(buyer), before + PRICE);
    }

    function test_reclaim_onlyBuyer() public {
        bytes32 id = _deposit(buyerKey, PRICE, "n1");
        vm.warp(escrow.reclaimableAt(id));
        address[4] memory callers = [operator, vendor, admin, buyer2];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.NotDepositBuyer.selector, id, callers[i]));
            vm.prank(callers[i]);
            escrow.reclaim(id);
        }
    }

    /// The operator keeps its power after the deadline; the first resolution wins.
    function test_operatorCanStillResolveAfterDeadline() public {
        bytes32 id = _deposit(buyerKey, PRICE, "n1");
        vm.warp(escrow.reclaimableAt(id) + 1);
        vm.prank(operator);
        escrow.releaseToVendor(id);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAgentripeEscrow.DepositNotPending.selector, id, IAgentripeEscrow.DepositStatus.RELEASED
            )
        );
        vm.prank(buyer);
        escrow.reclaim(id);
    }

    // ---------------------------------------------------------------------------------------------
    // amounts: 1 unit and the largest USDC balance
    // ---------------------------------------------------------------------------------------------

    function test_oneUnit_fullCycle() public {
        bytes32 id = _deposit(buyerKey, 1, "n1");
        vm.prank(operator);
        escrow.releaseToVendor(id);
        assertEq(escrow.withdrawableBalance(vendor), 1);
        vm.prank(vendor);
        escrow.withdraw();
        assertEq(usdc.balanceOf(vendor), 1);
        assertEq(usdc.balanceOf(address(escrow)), 0);
    }

    function test_hugeAmount_fullCycle() public {
        (address whale, uint256 whaleKey) = makeAddrAndKey("whale");
        uint256 huge = MAX_USDC - usdc.totalSupply();
        _mint(whale, huge);
        bytes32 id = _deposit(whaleKey, huge, "big");
        assertEq(escrow.totalDeposited(), huge);
        vm.prank(operator);
        escrow.refundToBuyer(id);
        assertEq(escrow.withdrawableBalance(whale), huge);
        vm.prank(whale);
        escrow.withdraw();
        assertEq(usdc.balanceOf(whale), huge);
        assertEq(escrow.totalAllocated(), 0);
    }

    function testFuzz_recordResolveWithdraw_conserves(uint256 amount, bool release, uint256 donation) public {
        amount = bound(amount, 1, 1e15);
        donation = bound(donation, 0, 1e12);
        _mint(buyer, amount);
        if (donation > 0) {
            _mint(stranger, donation);
            vm.prank(stranger);
            usdc.transfer(address(escrow), donation);
        }
        bytes32 id = _deposit(buyerKey, amount, keccak256(abi.encode(amount)));
        vm.prank(operator);
        if (release) escrow.releaseToVendor(id);
        else escrow.refundToBuyer(id);
        address payee = release ? vendor : buyer;
        uint256 before = usdc.balanceOf(payee);
        vm.prank(payee);
        escrow.withdraw();
        assertEq(usdc.balanceOf(payee), before + amount);
        assertEq(usdc.balanceOf(address(escrow)), donation, "only the donation is left");
        assertEq(escrow.unallocatedBalance(), donation);
        assertEq(escrow.totalAllocated(), 0);
    }

    // ---------------------------------------------------------------------------------------------
    // withdraw
    // ---------------------------------------------------------------------------------------------

    function test_withdraw_zero_refused() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.NothingToWithdraw.selector, stranger));
        vm.prank(stranger);
        escrow.withdraw();
    }

    function test_withdraw_twice_secondRefused() public {
        bytes32 id = _deposit(buyerKey, PRICE, "n1");
        vm.prank(operator);
        escrow.releaseToVendor(id);
        vm.prank(vendor);
        escrow.withdraw();
        vm.expectRevert(abi.encodeWithSelector(IAgentripeEscrow.NothingToWithdraw.selector, vendor));
        vm.prank(vendor);
        escrow.withdraw();
        assertEq(usdc.balanceOf(vendor), PRICE);
    }

    function test_withdraw_accumulatesAcrossDeposits() public {
        bytes32 a = _deposit(buyerKey, PRICE, "n1");
        bytes32 b = _deposit(buyer2Key, 3 * PRICE, "n2");
        vm.startPrank(operator);
        escrow.releaseToVendor(a);
        escrow.releaseToVendor(b);
        vm.stopPrank();
        assertEq(escrow.withdrawableBalance(vendor), 4 * PRICE);
        vm.expectEmit(address(escrow));
        emit Withdrawn(vendor, 4 * PRICE);
        vm.prank(vendor);
        escrow.withdraw();
        assertEq(usdc.balanceOf(vendor), 4 * PRICE);
    }

    /// A blacklisted buyer cannot block the operator's refund (pull payments); only its own withdraw fails.
    function test_blacklistedBuyer_doesNotBlockRefund() public {
        bytes32 id = _deposit(buyerKey, PRICE, "n1");
        usdc.blacklist(buyer);
        vm.prank(operator);
        escrow.refundToBuyer(id);
        assertEq(escrow.withdrawableBalance(buyer), PRICE);
        vm.expectRevert();
        vm.prank(buyer);
        escrow.withdraw();
        assertEq(escrow.withdrawableBalance(buyer), PRICE, "credit kept after a failed withdraw");
    }
}
