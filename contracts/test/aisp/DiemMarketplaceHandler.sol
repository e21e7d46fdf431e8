// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm} from "../utils/Vm.sol";
import {AispFixture} from "./AispFixture.sol";
import {DiemMarketplace} from "../../src/aisp/DiemMarketplace.sol";
import {IDiemMarketplace} from "../../src/aisp/IDiemMarketplace.sol";
import {FiatTokenV2_2} from "../../src/shared/FiatTokenV2_2.sol";

/// @notice Invariant handler: providers list and revoke, renters fund (racing for capacity), anyone
///         settles, strangers intrude, time passes, donors send USDC directly; an independent ghost
///         model predicts every outcome. Disagreements are counted and the invariant test asserts the
///         counters stay zero. The expected money split is computed here from the profile's formulas
///         written out naively (not through AispMath), so a wrong library would be caught.
contract DiemMarketplaceHandler is AispFixture {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint8 private constant NONE = 0;
    uint8 private constant ACTIVE = 1;
    uint8 private constant SETTLED = 2;
    uint8 private constant REFUNDED = 3;

    struct GhostRental {
        uint256 listingId;
        address renter;
        uint256 diem;
        uint256 termDays;
        uint256 cost;
        uint256 fundedAt;
        uint8 status;
        uint256 payouts; // how many times money left for this rental (must stay <= 1)
    }

    address public admin;
    address public feeTo;
    address[2] public providers;
    address[3] public renters;
    address public stranger;
    address public donor;

    uint256[] public listingIds;
    mapping(uint256 => address) public listingProvider;
    mapping(uint256 => uint256) public listingMax;
    mapping(uint256 => uint256) public listingMin;
    mapping(uint256 => uint256) public listingTerm;
    mapping(uint256 => uint256) public listingPrice;
    mapping(uint256 => bool) public listingOpen;
    uint256[] public rentalIds;
    mapping(uint256 => GhostRental) public ghost;

    uint256 public ghostIn;
    uint256 public ghostOut;
    uint256 public ghostDonated;

    // ---- violation counters (all must stay 0) ----
    uint256 public unexpectedSuccess;
    uint256 public unexpectedRevert;
    uint256 public wrongPayout;
    uint256 public wrongCost;
    uint256 public statusChangedUnexplained;
    uint256 public doublePayout;

    // ---- coverage ----
    uint256 public nFunded;
    uint256 public nCapacityRefused;
    uint256 public nSettled;
    uint256 public nRevoked;
    uint256 public nRefused;
    uint256 public nRuleSwitches;

    /// DiemMarketplace's storage slot of `refundRule` (after the two mappings).
    uint256 private constant REFUND_RULE_SLOT = 9;

    constructor() {
        admin = vm.addr(0xAD);
        feeTo = vm.addr(0xFE);
        _deployAll(admin, feeTo);
        providers[0] = vm.addr(0xA1);
        providers[1] = vm.addr(0xA2);
        for (uint256 i; i < 3; ++i) {
            renters[i] = vm.addr(0xB0 + i);
            _mint(renters[i], 1e30);
            vm.prank(renters[i]);
            usdc.approve(address(market), type(uint256).max);
        }
        stranger = vm.addr(0xEE);
        donor = vm.addr(0xD0);
        vm.prank(stranger);
        usdc.approve(address(market), type(uint256).max);
    }

    function marketContract() external view returns (DiemMarketplace) {
        return market;
    }

    function token() external view returns (FiatTokenV2_2) {
        return usdc;
    }

    function listingCount() external view returns (uint256) {
        return listingIds.length;
    }

    function rentalCount() external view returns (uint256) {
        return rentalIds.length;
    }

    // ---------------------------------------------------------------------------------------------
    // actions
    // ---------------------------------------------------------------------------------------------

    function list(uint256 who, uint256 price, uint256 termDays, uint256 diemMin, uint256 span) external {
        address p = providers[who % 2];
        price = _bound(price, 1, 5_000_000);
        termDays = _bound(termDays, 1, 30);
        diemMin = _bound(diemMin, 1, 1_000 * DIEM);
        uint256 diemMax = diemMin + _bound(span, 0, 5_000 * DIEM);
        vm.prank(p);
        try market.list(price, termDays, diemMin, diemMax) returns (uint256 id) {
            listingIds.push(id);
            listingProvider[id] = p;
            listingMax[id] = diemMax;
            listingMin[id] = diemMin;
            listingTerm[id] = termDays;
            listingPrice[id] = price;
            listingOpen[id] = true;
        } catch {
            unexpectedRevert++;
        }
        _sweep(0);
    }

    /// A renter asks for `diemSeed` DIEM; the model says whether it fits the remaining capacity.
    function fund(uint256 renterSeed, uint256 listingSeed, uint256 termSeed, uint256 diemSeed) external {
        if (listingIds.length == 0) return;
        uint256 id = listingIds[listingSeed % listingIds.length];
        address r = renters[renterSeed % 3];
        // Mostly valid terms, sometimes one off either side.
        uint256 termDays = termSeed % 8 == 0 ? (termSeed % 16 == 0 ? 0 : listingTerm[id] + 1) : _bound(termSeed, 1, listingTerm[id]);
        uint256 diem = diemSeed % 8 == 0 ? (diemSeed % 16 == 0 ? listingMin[id] - 1 : listingMax[id] + 1) : _bound(diemSeed, listingMin[id], listingMax[id]);
        uint256 rented = _rented(id);
        bool fits = termDays >= 1 && termDays <= listingTerm[id] && diem >= listingMin[id] && diem <= listingMax[id]
            && rented + diem <= listingMax[id] && listingOpen[id];
        // Naive cost: ceil(p * d * t / 1e6).
        uint256 expected = (listingPrice[id] * diem * termDays + DIEM - 1) / DIEM;
        uint256 balBefore = usdc.balanceOf(r);
        vm.prank(r);
        try market.fund(id, termDays, diem) returns (uint256 rid) {
            if (!fits) unexpectedSuccess++;
            uint256 paid = balBefore - usdc.balanceOf(r);
            if (paid != expected || market.getRental(rid).cost != expected) wrongCost++;
            rentalIds.push(rid);
            ghost[rid] = GhostRental(id, r, diem, termDays, paid, block.timestamp, ACTIVE, 0);
            ghostIn += paid;
            nFunded++;
        } catch {
            if (fits) unexpectedRevert++;
            else if (rented + diem > listingMax[id]) nCapacityRefused++;
            if (usdc.balanceOf(r) != balBefore) wrongCost++;
        }
        _sweep(0);
    }

    function settle(uint256 rentalSeed, uint256 callerSeed) external {
        if (rentalIds.length == 0) return;
        uint256 rid = rentalIds[rentalSeed % rentalIds.length];
        GhostRental storage g = ghost[rid];
        address caller = callerSeed % 2 == 0 ? stranger : listingProvider[g.listingId];
        bool allowed = g.status == ACTIVE && block.timestamp >= g.fundedAt + g.termDays * 1 days;
        address p = listingProvider[g.listingId];
        uint256 pBefore = usdc.balanceOf(p);
        uint256 fBefore = usdc.balanceOf(feeTo);
        vm.prank(caller);
        try market.settle(rid) {
            if (!allowed) unexpectedSuccess++;
            uint256 fee = g.cost / 100; // 1%, rounded down
            if (usdc.balanceOf(p) - pBefore != g.cost - fee || usdc.balanceOf(feeTo) - fBefore != fee) wrongPayout++;
            ghostOut += g.cost;
            g.status = SETTLED;
            g.payouts++;
            nSettled++;
            _sweep(rid);
        } catch {
            if (allowed) unexpectedRevert++;
            else nRefused++;
            _sweep(0);
        }
    }

    function revoke(uint256 rentalSeed, uint256 callerSeed) external {
        if (rentalIds.length == 0) return;
        uint256 rid = rentalIds[rentalSeed % rentalIds.length];
        GhostRental storage g = ghost[rid];
        address p = listingProvider[g.listingId];
        uint256 c = callerSeed % 4;
        address caller = c == 0 ? g.renter : c == 1 ? stranger : p;
        bool allowed =
            caller == p && g.status == ACTIVE && block.timestamp < g.fundedAt + g.termDays * 1 days;
        // The rule in force at the revoke: the day in progress is used (STARTED_DAYS) or refunded.
        uint256 used = (block.timestamp - g.fundedAt) / 1 days
            + (market.refundRule() == IDiemMarketplace.RefundRule.STARTED_DAYS ? 1 : 0);
        // Naive split: the provider earns ceil(cost * used / term) (small values here: no overflow).
        uint256 earned = (g.cost * used + g.termDays - 1) / g.termDays;
        uint256 fee = earned / 100;
        uint256 rBefore = usdc.balanceOf(g.renter);
        uint256 pBefore = usdc.balanceOf(p);
        uint256 fBefore = usdc.balanceOf(feeTo);
        vm.prank(caller);
        try market.revokeAndRefund(rid) {
            if (!allowed) unexpectedSuccess++;
            if (
                usdc.balanceOf(g.renter) - rBefore != g.cost - earned || usdc.balanceOf(p) - pBefore != earned - fee
                    || usdc.balanceOf(feeTo) - fBefore != fee
            ) wrongPayout++;
            ghostOut += g.cost;
            g.status = REFUNDED;
            g.payouts++;
            nRevoked++;
            _sweep(rid);
        } catch {
            if (allowed) unexpectedRevert++;
            else nRefused++;
            _sweep(0);
        }
    }

    /// The lab switches the refund rule (its storage slot, as the reference service does for a
    /// what-if profile); rentals revoked afterwards follow the new rule.
    function setRefundRule(uint256 ruleSeed) external {
        vm.store(address(market), bytes32(uint256(REFUND_RULE_SLOT)), bytes32(ruleSeed % 2));
        nRuleSwitches++;
    }

    function close(uint256 listingSeed, uint256 callerSeed) external {
        if (listingIds.length == 0) return;
        uint256 id = listingIds[listingSeed % listingIds.length];
        // Providers rarely close (a closed listing takes no more rentals); strangers try often.
        address caller = callerSeed % 8 == 0 ? listingProvider[id] : stranger;
        bool allowed = caller == listingProvider[id] && listingOpen[id];
        vm.prank(caller);
        try market.closeListing(id) {
            if (!allowed) unexpectedSuccess++;
            listingOpen[id] = false;
        } catch {
            if (allowed) unexpectedRevert++;
        }
        _sweep(0);
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + _bound(secs, 1, 10 days));
        _sweep(0);
    }

    /// USDC sent straight to the contract (not a rental): held, owed to nobody.
    function donate(uint256 amount) external {
        amount = _bound(amount, 1, 1e9);
        _mint(donor, amount);
        vm.prank(donor);
        usdc.transfer(address(market), amount);
        ghostIn += amount;
        ghostDonated += amount;
        _sweep(0);
    }

    // ---------------------------------------------------------------------------------------------
    // helpers
    // ---------------------------------------------------------------------------------------------

    function _rented(uint256 id) internal view returns (uint256 sum) {
        for (uint256 i; i < rentalIds.length; ++i) {
            GhostRental storage g = ghost[rentalIds[i]];
            if (g.listingId == id && g.status == ACTIVE) sum += g.diem;
        }
    }

    /// Every rental's on-chain status must equal the model's; only `changed` may have just moved.
    function _sweep(uint256 changed) internal {
        for (uint256 i; i < rentalIds.length; ++i) {
            uint256 rid = rentalIds[i];
            GhostRental storage g = ghost[rid];
            if (uint8(market.getRental(rid).status) != g.status) statusChangedUnexplained++;
            if (g.payouts > 1) doublePayout++;
            if (rid != changed && g.status != ACTIVE && g.payouts != 1) doublePayout++;
        }
    }

    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (x >= min && x <= max) return x;
        return min + (x % (max - min + 1));
    }
}
