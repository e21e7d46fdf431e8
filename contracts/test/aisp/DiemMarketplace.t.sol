// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../utils/Test.sol";
import {AispFixture, AispMathHarness} from "./AispFixture.sol";
import {FeeVectors} from "./FeeVectors.sol";
import {DiemMarketplace} from "../../src/aisp/DiemMarketplace.sol";
import {IDiemMarketplace} from "../../src/aisp/IDiemMarketplace.sol";

/// @notice Unit tests of DiemMarketplace (profile: scenarios/aisp/profile.md) against the project's USDC.
contract DiemMarketplaceTest is Test, AispFixture {
    event Listed(
        uint256 indexed listingId,
        address indexed provider,
        uint256 pricePerDay,
        uint256 termDays,
        uint256 diemMin,
        uint256 diemMax
    );
    event Funded(
        uint256 indexed rentalId,
        uint256 indexed listingId,
        address indexed renter,
        uint256 diemAmount,
        uint256 termDays,
        uint256 cost,
        uint64 expiresAt
    );
    event Settled(uint256 indexed rentalId, address indexed provider, uint256 providerAmount, uint256 fee);
    event Revoked(
        uint256 indexed rentalId,
        address indexed renter,
        uint256 refund,
        uint256 providerAmount,
        uint256 fee,
        uint256 usedDays
    );

    address internal admin = makeAddr("admin");
    address internal feeTo = makeAddr("feeRecipient");
    address internal provider = makeAddr("provider");
    address internal provider2 = makeAddr("provider2");
    address internal renter = makeAddr("renter");
    address internal renter2 = makeAddr("renter2");
    address internal stranger = makeAddr("stranger");
    AispMathHarness internal math;

    uint256 internal constant PRICE = 800_000; // $0.80 per DIEM per day (the seed's example)
    uint256 internal constant T0 = 1_750_000_000;

    function setUp() public {
        vm.warp(T0);
        _deployAll(admin, feeTo);
        math = new AispMathHarness();
        _mint(renter, 1e15);
        _mint(renter2, 1e15);
    }

    function _status(uint256 id) internal view returns (IDiemMarketplace.RentalStatus) {
        return market.getRental(id).status;
    }

    function _assertBooks() internal view {
        assertEq(usdc.balanceOf(address(market)), market.totalEscrowed(), "held == owed");
    }

    // ---------------------------------------------------------------------------------------------
    // fee math: the TypeScript vectors (fees.ts) against AispMath
    // ---------------------------------------------------------------------------------------------

    function test_math_costMatchesTypeScriptVectors() public view {
        uint256[] memory p = FeeVectors.costPrice();
        uint256[] memory d = FeeVectors.costDiem();
        uint256[] memory t = FeeVectors.costDays();
        uint256[] memory e = FeeVectors.costExpected();
        for (uint256 i; i < p.length; ++i) {
            assertEq(math.cost(p[i], d[i], t[i]), e[i], "cost vector");
        }
    }

    function test_math_feeMatchesTypeScriptVectors() public view {
        assertEq(FeeVectors.FEE_BPS, FEE_BPS, "vectors use the profile's fee");
        uint256[] memory a = FeeVectors.feeAmount();
        uint256[] memory e = FeeVectors.feeExpected();
        for (uint256 i; i < a.length; ++i) {
            assertEq(math.fee(a[i], FEE_BPS), e[i], "fee vector");
        }
    }

    function test_math_revokeSplitMatchesTypeScriptVectors() public view {
        uint256[] memory c = FeeVectors.revokeCost();
        uint256[] memory t = FeeVectors.revokeTerm();
        uint256[] memory u = FeeVectors.revokeUsed();
        uint256[] memory er = FeeVectors.revokeEarned();
        uint256[] memory rf = FeeVectors.revokeRefund();
        for (uint256 i; i < c.length; ++i) {
            (uint256 earned, uint256 refund) = math.revokeSplit(c[i], t[i], u[i]);
            assertEq(earned, er[i], "earned vector");
            assertEq(refund, rf[i], "refund vector");
        }
    }

    function test_math_feeAtOneUnitIsZero_andAtMaxIsExact() public view {
        assertEq(math.fee(1, FEE_BPS), 0, "1 unit: the fee rounds down to 0");
        assertEq(math.fee(100, FEE_BPS), 1, "100 units: 1");
        uint256 max = type(uint256).max;
        assertEq(math.fee(max, FEE_BPS), max / 100, "max: floor(max / 100) without overflow");
        assertEq(math.fee(max, 10_000), max, "a 100% fee takes everything, even at max");
    }

    function testFuzz_math_feeIsFloorOfOnePercent(uint256 amount) public view {
        uint256 f = math.fee(amount, FEE_BPS);
        // f == floor(amount / 100) for a 1% fee.
        assertEq(f, amount / 100, "1% fee == floor(amount/100)");
        assertLe(f * 100, amount, "never more than 1%");
    }

    function testFuzz_math_revokeSplitConserves(uint256 c, uint256 t, uint256 u) public view {
        t = bound(t, 1, 365);
        u = bound(u, 1, t);
        (uint256 earned, uint256 refund) = math.revokeSplit(c, t, u);
        assertEq(earned + refund, c, "earned + refund == cost");
        if (u == t) assertEq(refund, 0, "the last day: nothing back");
    }

    // ---------------------------------------------------------------------------------------------
    // initialize
    // ---------------------------------------------------------------------------------------------

    function test_initialize_once() public {
        assertTrue(market.isInitialized());
        assertEq(market.feeBps(), FEE_BPS);
        assertEq(market.feeRecipient(), feeTo);
        vm.expectRevert(IDiemMarketplace.AlreadyInitialized.selector);
        market.initialize(address(usdc), admin, feeTo, FEE_BPS);
    }

    function test_initialize_refusesBadConfig() public {
        DiemMarketplace m = new DiemMarketplace();
        vm.expectRevert(IDiemMarketplace.ZeroAddress.selector);
        m.initialize(address(0), admin, feeTo, FEE_BPS);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.InvalidFee.selector, 10_001));
        m.initialize(address(usdc), admin, feeTo, 10_001);
        vm.expectRevert(IDiemMarketplace.NotInitialized.selector);
        m.list(1, 1, 1, 1);
    }

    function test_setFeeRecipient_adminOnly() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.Unauthorized.selector, stranger));
        market.setFeeRecipient(stranger);
        vm.prank(admin);
        market.setFeeRecipient(provider2);
        assertEq(market.feeRecipient(), provider2);
    }

    // ---------------------------------------------------------------------------------------------
    // list
    // ---------------------------------------------------------------------------------------------

    function test_list_recordsTermsAndEmits() public {
        vm.expectEmit(true, true, false, true, address(market));
        emit Listed(1, provider, PRICE, 30, 1000 * DIEM, 4000 * DIEM);
        uint256 id = _list(provider, PRICE, 30, 1000 * DIEM, 4000 * DIEM);
        assertEq(id, 1, "ids start at 1");
        IDiemMarketplace.Listing memory l = market.getListing(id);
        assertEq(l.provider, provider);
        assertEq(l.pricePerDay, PRICE);
        assertEq(uint256(l.termDays), 30);
        assertEq(l.diemMin, 1000 * DIEM);
        assertEq(l.diemMax, 4000 * DIEM);
        assertEq(l.diemRented, 0);
        assertTrue(l.active);
        assertEq(_list(provider2, 1, 1, 1, 1), 2, "next id");
        assertEq(market.listingCount(), 2);
    }

    function test_list_revertConditions() public {
        vm.startPrank(provider);
        vm.expectRevert(IDiemMarketplace.ZeroPrice.selector);
        market.list(0, 30, 1, 2);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.InvalidTerm.selector, 0));
        market.list(1, 0, 1, 2);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.InvalidTerm.selector, 366));
        market.list(1, 366, 1, 2);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.InvalidDiemRange.selector, 0, 2));
        market.list(1, 30, 0, 2);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.InvalidDiemRange.selector, 3, 2));
        market.list(1, 30, 3, 2);
        vm.expectRevert(IDiemMarketplace.PriceTooHigh.selector);
        market.list(type(uint256).max / 2 / 30 + 1, 30, 1, 2);
        vm.stopPrank();
        assertEq(market.listingCount(), 0, "nothing listed");
        // The boundaries themselves are accepted.
        _list(provider, type(uint256).max / 2 / 365, 365, 2, 2);
    }

    function test_closeListing_providerOnly_stopsNewRentals() public {
        uint256 id = _list(provider, PRICE, 30, DIEM, 10 * DIEM);
        uint256 r = _fund(renter, id, 1, DIEM);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.Unauthorized.selector, stranger));
        market.closeListing(id);
        vm.prank(provider);
        market.closeListing(id);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.ListingClosedError.selector, id));
        market.closeListing(id);
        vm.prank(renter2);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.ListingClosedError.selector, id));
        market.fund(id, 1, DIEM);
        // The running rental still settles.
        skip(1 days);
        market.settle(r);
        assertEq(uint8(_status(r)), uint8(IDiemMarketplace.RentalStatus.SETTLED));
    }

    // ---------------------------------------------------------------------------------------------
    // fund
    // ---------------------------------------------------------------------------------------------

    function test_fund_pullsExactCostAndEmits() public {
        uint256 id = _list(provider, PRICE, 30, 1000 * DIEM, 4000 * DIEM);
        uint256 cost = 800_000 * 1000 * 30; // $0.80 x 1000 DIEM x 30 days = $24,000
        assertEq(market.quote(id, 30, 1000 * DIEM), cost);
        uint256 before = usdc.balanceOf(renter);
        vm.prank(renter);
        usdc.approve(address(market), cost);
        vm.expectEmit(true, true, true, true, address(market));
        emit Funded(1, id, renter, 1000 * DIEM, 30, cost, uint64(T0 + 30 days));
        vm.prank(renter);
        uint256 r = market.fund(id, 30, 1000 * DIEM);
        assertEq(r, 1);
        assertEq(before - usdc.balanceOf(renter), cost, "renter paid the cost");
        assertEq(usdc.balanceOf(address(market)), cost, "escrowed");
        IDiemMarketplace.Rental memory rt = market.getRental(r);
        assertEq(rt.listingId, id);
        assertEq(rt.renter, renter);
        assertEq(rt.diemAmount, 1000 * DIEM);
        assertEq(uint256(rt.termDays), 30);
        assertEq(rt.cost, cost);
        assertEq(uint256(rt.fundedAt), T0);
        assertEq(uint256(rt.expiresAt), T0 + 30 days);
        assertEq(market.getListing(id).diemRented, 1000 * DIEM);
        _assertBooks();
    }

    function test_fund_costRoundsUp_soOneUnitIsNeverFree() public {
        uint256 id = _list(provider, 1, 1, 1, 1);
        assertEq(market.quote(id, 1, 1), 1, "1 unit x 1 unit x 1 day rounds up to 1");
        uint256 r = _fund(renter, id, 1, 1);
        assertEq(market.getRental(r).cost, 1);
    }

    function test_fund_revertConditions_moveNothing() public {
        uint256 id = _list(provider, PRICE, 10, 2 * DIEM, 5 * DIEM);
        uint256 before = usdc.balanceOf(renter);
        vm.prank(renter);
        usdc.approve(address(market), type(uint256).max);
        vm.startPrank(renter);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.UnknownListing.selector, 99));
        market.fund(99, 1, 2 * DIEM);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.InvalidTerm.selector, 0));
        market.fund(id, 0, 2 * DIEM);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.InvalidTerm.selector, 11));
        market.fund(id, 11, 2 * DIEM);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.DiemOutOfRange.selector, 2 * DIEM - 1, 2 * DIEM, 5 * DIEM));
        market.fund(id, 1, 2 * DIEM - 1);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.DiemOutOfRange.selector, 5 * DIEM + 1, 2 * DIEM, 5 * DIEM));
        market.fund(id, 1, 5 * DIEM + 1);
        vm.stopPrank();
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.SelfRental.selector, provider));
        market.fund(id, 1, 2 * DIEM);
        // No allowance: the token refuses.
        vm.prank(stranger);
        vm.expectRevert();
        market.fund(id, 1, 2 * DIEM);
        assertEq(usdc.balanceOf(renter), before);
        assertEq(market.rentalCount(), 0);
        assertEq(market.getListing(id).diemRented, 0);
        _assertBooks();
    }

    function test_capacity_lastUnitGoesToTheFirst_restIsRefused() public {
        uint256 id = _list(provider, PRICE, 10, DIEM, 5 * DIEM);
        _fund(renter, id, 1, 3 * DIEM);
        _fund(renter2, id, 1, 2 * DIEM); // exactly full
        assertEq(market.getListing(id).diemRented, 5 * DIEM);
        vm.prank(renter);
        usdc.approve(address(market), type(uint256).max);
        vm.prank(renter);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.CapacityExceeded.selector, DIEM, 0));
        market.fund(id, 1, DIEM);
    }

    function test_capacity_freedBySettleAndRevoke() public {
        uint256 id = _list(provider, PRICE, 10, DIEM, 2 * DIEM);
        uint256 a = _fund(renter, id, 1, DIEM);
        uint256 b = _fund(renter2, id, 5, DIEM);
        vm.prank(provider);
        market.revokeAndRefund(b);
        assertEq(market.getListing(id).diemRented, DIEM, "revoke frees its DIEM");
        skip(1 days);
        market.settle(a);
        assertEq(market.getListing(id).diemRented, 0, "settle frees its DIEM");
        _fund(renter, id, 1, 2 * DIEM);
    }

    function test_fundWithPermit() public {
        (address r, uint256 key) = makeAddrAndKey("permitRenter");
        _mint(r, 10 * DIEM);
        uint256 id = _list(provider, 1_000_000, 3, DIEM, 10 * DIEM);
        uint256 cost = market.quote(id, 2, DIEM);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                r,
                address(market),
                cost,
                usdc.nonces(r),
                deadline
            )
        );
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(key, keccak256(abi.encodePacked("\x19\x01", usdc.DOMAIN_SEPARATOR(), structHash)));
        vm.prank(r);
        uint256 rentalId = market.fundWithPermit(id, 2, DIEM, cost, deadline, v, rr, s);
        assertEq(market.getRental(rentalId).cost, cost);
        assertEq(usdc.balanceOf(r), 10 * DIEM - cost);
        // A second rental above the permitted max refuses before any transfer.
        vm.prank(r);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.CostExceedsMax.selector, cost, cost - 1));
        market.fundWithPermit(id, 2, DIEM, cost - 1, deadline, v, rr, s);
    }

    // ---------------------------------------------------------------------------------------------
    // settle
    // ---------------------------------------------------------------------------------------------

    function test_settle_refusedBeforeExpiry_exactAfter_byAnyone() public {
        uint256 id = _list(provider, PRICE, 30, 1000 * DIEM, 4000 * DIEM);
        uint256 r = _fund(renter, id, 30, 1000 * DIEM);
        uint256 cost = market.getRental(r).cost;
        skip(30 days - 1);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.NotExpired.selector, r, uint64(T0 + 30 days)));
        market.settle(r);
        skip(1);
        uint256 fee = cost / 100;
        vm.expectEmit(true, true, false, true, address(market));
        emit Settled(r, provider, cost - fee, fee);
        vm.prank(stranger);
        market.settle(r);
        assertEq(usdc.balanceOf(provider), cost - fee, "provider gets 99%");
        assertEq(usdc.balanceOf(feeTo), fee, "fee recipient gets 1%");
        assertEq(usdc.balanceOf(address(market)), 0);
        assertEq(uint8(_status(r)), uint8(IDiemMarketplace.RentalStatus.SETTLED));
        _assertBooks();
    }

    function test_settle_atMostOnce_andNotAfterRevoke() public {
        uint256 id = _list(provider, PRICE, 30, DIEM, 4 * DIEM);
        uint256 a = _fund(renter, id, 1, DIEM);
        uint256 b = _fund(renter2, id, 2, DIEM);
        skip(1 days);
        market.settle(a);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.RentalNotActive.selector, a, IDiemMarketplace.RentalStatus.SETTLED));
        market.settle(a);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.RentalNotActive.selector, a, IDiemMarketplace.RentalStatus.SETTLED));
        market.revokeAndRefund(a);
        vm.prank(provider);
        market.revokeAndRefund(b);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.RentalNotActive.selector, b, IDiemMarketplace.RentalStatus.REFUNDED));
        market.revokeAndRefund(b);
        skip(10 days);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.RentalNotActive.selector, b, IDiemMarketplace.RentalStatus.REFUNDED));
        market.settle(b);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.UnknownRental.selector, 77));
        market.settle(77);
        _assertBooks();
    }

    function test_settle_oneUnitRental_feeRoundsTowardProvider() public {
        uint256 id = _list(provider, 1, 1, 1, 1);
        uint256 r = _fund(renter, id, 1, 1);
        skip(1 days);
        market.settle(r);
        assertEq(usdc.balanceOf(provider), 1, "a 1-unit rental pays the provider 1 unit");
        assertEq(usdc.balanceOf(feeTo), 0, "and no fee");
    }

    function test_settle_hugeRental_exact() public {
        // A cost near FiatToken's cap: fee math exact, no overflow.
        uint256 price = MAX_USDC / (2 * DIEM) / 1;
        uint256 id = _list(provider, price, 1, 2 * DIEM, 2 * DIEM);
        uint256 cost = market.quote(id, 1, 2 * DIEM);
        assertEq(cost, price * 2, "price x 2 DIEM x 1 day");
        _mint(stranger, cost);
        uint256 r = _fund(stranger, id, 1, 2 * DIEM);
        skip(1 days);
        market.settle(r);
        assertEq(usdc.balanceOf(feeTo), cost / 100);
        assertEq(usdc.balanceOf(provider), cost - cost / 100);
        assertEq(usdc.balanceOf(feeTo) + usdc.balanceOf(provider), cost, "nothing lost, nothing created");
    }

    // ---------------------------------------------------------------------------------------------
    // revokeAndRefund
    // ---------------------------------------------------------------------------------------------

    function test_revoke_providerOnly_beforeExpiry() public {
        uint256 id = _list(provider, PRICE, 30, DIEM, 4 * DIEM);
        _list(provider2, PRICE, 30, DIEM, 4 * DIEM);
        uint256 r = _fund(renter, id, 3, DIEM);
        for (uint256 i; i < 3; ++i) {
            address who = [renter, stranger, provider2][i];
            vm.prank(who);
            vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.NotProvider.selector, r, who));
            market.revokeAndRefund(r);
        }
        skip(3 days);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(IDiemMarketplace.AlreadyExpired.selector, r, uint64(T0 + 3 days)));
        market.revokeAndRefund(r);
        market.settle(r);
    }

    function test_revoke_refundsUnusedWholeDays() public {
        uint256 id = _list(provider, PRICE, 30, 1000 * DIEM, 4000 * DIEM);
        uint256 r = _fund(renter, id, 30, 1000 * DIEM);
        uint256 cost = market.getRental(r).cost; // $24,000
        uint256 renterBefore = usdc.balanceOf(renter);
        skip(6 days + 1 hours); // 7th day in progress: 7 days used
        uint256 earned = cost * 7 / 30;
        uint256 fee = earned / 100;
        vm.expectEmit(true, true, false, true, address(market));
        emit Revoked(r, renter, cost - earned, earned - fee, fee, 7);
        vm.prank(provider);
        market.revokeAndRefund(r);
        assertEq(usdc.balanceOf(renter) - renterBefore, cost - earned, "23 unused days back");
        assertEq(usdc.balanceOf(provider), earned - fee);
        assertEq(usdc.balanceOf(feeTo), fee);
        assertEq(uint8(_status(r)), uint8(IDiemMarketplace.RentalStatus.REFUNDED));
        _assertBooks();
    }

    function test_revoke_inTheFirstSecond_chargesOneDay_roundedUp() public {
        uint256 id = _list(provider, 1, 3, 100, 100);
        uint256 r = _fund(renter, id, 3, 100); // cost = ceil(1*100*3/1e6) = 1
        assertEq(market.getRental(r).cost, 1);
        uint256 before = usdc.balanceOf(renter);
        vm.prank(provider);
        market.revokeAndRefund(r);
        assertEq(usdc.balanceOf(renter), before, "1 unit over 3 days: the started day rounds up to the whole unit");
        assertEq(usdc.balanceOf(provider), 1);
    }

    /// The lab's way to set the refund rule (the reference service writes this slot for a profile).
    function _setRefundRule(IDiemMarketplace.RefundRule rule) internal {
        vm.store(address(market), bytes32(uint256(9)), bytes32(uint256(uint8(rule))));
        assertEq(uint8(market.refundRule()), uint8(rule), "refundRule lives in slot 9");
    }

    function test_refundRule_defaultsToStartedDays() public view {
        assertEq(uint8(market.refundRule()), uint8(IDiemMarketplace.RefundRule.STARTED_DAYS));
    }

    function test_revoke_completedDays_refundsTheDayInProgress() public {
        _setRefundRule(IDiemMarketplace.RefundRule.COMPLETED_DAYS);
        uint256 id = _list(provider, PRICE, 30, 1000 * DIEM, 4000 * DIEM);
        uint256 r = _fund(renter, id, 30, 1000 * DIEM);
        uint256 cost = market.getRental(r).cost;
        uint256 renterBefore = usdc.balanceOf(renter);
        skip(6 days + 1 hours); // 7th day in progress: 6 completed days used
        uint256 earned = cost * 6 / 30;
        uint256 fee = earned / 100;
        vm.expectEmit(true, true, false, true, address(market));
        emit Revoked(r, renter, cost - earned, earned - fee, fee, 6);
        vm.prank(provider);
        market.revokeAndRefund(r);
        assertEq(usdc.balanceOf(renter) - renterBefore, cost - earned, "24 days back");
        assertEq(usdc.balanceOf(provider), earned - fee);
        assertEq(usdc.balanceOf(feeTo), fee);
        _assertBooks();
    }

    function test_revoke_completedDays_inTheFirstDay_refundsEverything() public {
        _setRefundRule(IDiemMarketplace.RefundRule.COMPLETED_DAYS);
        uint256 id = _list(provider, PRICE, 3, DIEM, DIEM);
        uint256 r = _fund(renter, id, 3, DIEM);
        uint256 before = usdc.balanceOf(renter);
        skip(1 days - 1);
        vm.expectEmit(true, true, false, true, address(market));
        emit Revoked(r, renter, market.getRental(r).cost, 0, 0, 0);
        vm.prank(provider);
        market.revokeAndRefund(r);
        assertEq(usdc.balanceOf(renter) - before, market.getRental(r).cost, "no completed day: all back");
        assertEq(usdc.balanceOf(provider), 0);
        assertEq(usdc.balanceOf(feeTo), 0);
        _assertBooks();
    }

    function testFuzz_revoke_completedDays_conserves(uint256 price, uint256 diem, uint256 termDays, uint256 elapsed) public {
        _setRefundRule(IDiemMarketplace.RefundRule.COMPLETED_DAYS);
        price = bound(price, 1, 1e9);
        diem = bound(diem, 1, 1e12);
        termDays = bound(termDays, 1, 365);
        elapsed = bound(elapsed, 0, termDays * 1 days - 1);
        uint256 id = _list(provider, price, termDays, 1, diem);
        uint256 cost = market.quote(id, termDays, diem);
        _mint(renter2, cost);
        uint256 r = _fund(renter2, id, termDays, diem);
        uint256 renterBefore = usdc.balanceOf(renter2);
        skip(elapsed);
        vm.prank(provider);
        market.revokeAndRefund(r);
        uint256 got = usdc.balanceOf(renter2) - renterBefore;
        assertEq(got + usdc.balanceOf(provider) + usdc.balanceOf(feeTo), cost, "refund + provider + fee == cost");
        uint256 used = elapsed / 1 days;
        assertLe(got * termDays, cost * (termDays - used), "never refunds more than the days not completed");
        assertGe(got * termDays + termDays, cost * (termDays - used), "refunds the days not completed (less the provider's rounding)");
        _assertBooks();
    }

    function testFuzz_revoke_conserves(uint256 price, uint256 diem, uint256 termDays, uint256 elapsed) public {
        price = bound(price, 1, 1e9);
        diem = bound(diem, 1, 1e12);
        termDays = bound(termDays, 1, 365);
        elapsed = bound(elapsed, 0, termDays * 1 days - 1);
        uint256 id = _list(provider, price, termDays, 1, diem);
        uint256 cost = market.quote(id, termDays, diem);
        _mint(renter2, cost);
        uint256 r = _fund(renter2, id, termDays, diem);
        uint256 renterBefore = usdc.balanceOf(renter2);
        skip(elapsed);
        vm.prank(provider);
        market.revokeAndRefund(r);
        uint256 got = usdc.balanceOf(renter2) - renterBefore;
        assertEq(got + usdc.balanceOf(provider) + usdc.balanceOf(feeTo), cost, "refund + provider + fee == cost");
        uint256 used = elapsed / 1 days + 1;
        assertLe(got * termDays, cost * (termDays - used), "never refunds more than the unused days");
        _assertBooks();
    }
}
