// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm} from "../utils/Vm.sol";
import {AgentripeFixture} from "./AgentripeFixture.sol";
import {AgentripeEscrow} from "../../src/agentripe/AgentripeEscrow.sol";
import {IAgentripeEscrow} from "../../src/agentripe/IAgentripeEscrow.sol";
import {FiatTokenV2_2} from "../../src/shared/FiatTokenV2_2.sol";

/// @notice Invariant handler: drives the escrow through every actor (operator, buyers, vendors,
///         admin, an attacker, donors, the x402 facilitator) while keeping an independent ghost
///         model. Every call is wrapped in try/catch and compared with what the profile says must
///         happen; disagreements are counted and the invariant test asserts the counters are zero.
/// @dev After each action `_sweep` re-reads every known deposit and flags any status change the
///      action did not account for, so a change made by the wrong caller (or twice) is caught even
///      if the acting call itself looked fine.
contract AgentripeHandler is AgentripeFixture {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint8 private constant NONE = 0;
    uint8 private constant DEPOSITED = 1;
    uint8 private constant RELEASED = 2;
    uint8 private constant REFUNDED = 3;
    uint256 private constant MAX_AMOUNT = 1e12; // $1M per payment

    struct GhostDeposit {
        address buyer;
        uint256 agentId;
        uint256 amount;
        uint64 deadline;
        uint8 status;
    }

    struct PendingPayment {
        address buyer;
        uint256 amount;
        bytes32 txHash;
    }

    // ---- actors ----
    address public admin;
    address[2] public operators;
    uint256 public currentOperator;
    uint256[3] private buyerKeys;
    address[3] public buyers;
    address public vendorA; // owns agent 0, default agentWallet
    address public vendorB; // owns agent 1, wallet toggled between walletB, walletC and unset
    uint256 private walletBKey;
    uint256 private walletCKey;
    address public attacker;
    address public facilitator;
    address public donor;
    uint256[2] public agents;
    address[] public payees; // every address that can ever be credited (plus the attacker)

    // ---- ghost model ----
    bytes32[] public ids;
    mapping(bytes32 => GhostDeposit) public ghost;
    PendingPayment[] private pending; // x402 payments that arrived but are not recorded yet
    uint256 public ghostIn; // USDC ever sent to the escrow
    uint256 public ghostOut; // USDC ever withdrawn
    uint256 public ghostUnallocated; // donations + unrecorded payments
    mapping(address => uint256) public ghostCredit; // expected withdrawable balances
    uint256 private nonceCounter;

    // ---- violation counters (all must stay 0) ----
    uint256 public unexpectedSuccess; // a call the profile forbids went through
    uint256 public unexpectedRevert; // a call the profile allows failed (liveness)
    uint256 public unexplainedStatusChange; // a deposit moved without an authorised resolution of it
    uint256 public terminalStatusChanged; // a RELEASED/REFUNDED deposit changed status again
    uint256 public recordFieldChanged; // agentId, buyer, amount or deadline of a deposit changed
    uint256 public unbackedRecordAccepted; // a deposit was recorded without USDC behind it
    uint256 public wrongPayout; // a withdraw paid a different amount than credited

    // ---- coverage counters (for the report / sanity) ----
    uint256 public nReleased;
    uint256 public nRefunded;
    uint256 public nReclaimed;
    uint256 public nWithdrawn;
    uint256 public nRefusedIntrusions;

    constructor() {
        admin = vm.addr(0xAD);
        operators[0] = vm.addr(0x0A);
        operators[1] = vm.addr(0x0B);
        _deployAll(admin, operators[0]);
        for (uint256 i; i < 3; ++i) {
            buyerKeys[i] = 0xB0 + i;
            buyers[i] = vm.addr(buyerKeys[i]);
            payees.push(buyers[i]);
        }
        vendorA = vm.addr(0xA1);
        vendorB = vm.addr(0xA2);
        walletBKey = 0xC1;
        walletCKey = 0xC2;
        attacker = vm.addr(0xEE);
        facilitator = vm.addr(0xFA);
        donor = vm.addr(0xD0);
        agents[0] = _registerAgent(vendorA);
        agents[1] = _registerAgent(vendorB);
        _setAgentWallet(agents[1], walletBKey);
        payees.push(vendorA);
        payees.push(vendorB);
        payees.push(vm.addr(walletBKey));
        payees.push(vm.addr(walletCKey));
        payees.push(attacker);
    }

    // ---------------------------------------------------------------------------------------------
    // views for the invariant test
    // ---------------------------------------------------------------------------------------------

    function escrowContract() external view returns (AgentripeEscrow) {
        return escrow;
    }

    function token() external view returns (FiatTokenV2_2) {
        return usdc;
    }

    function idCount() external view returns (uint256) {
        return ids.length;
    }

    function payeeCount() external view returns (uint256) {
        return payees.length;
    }

    function operator() public view returns (address) {
        return operators[currentOperator];
    }

    // ---------------------------------------------------------------------------------------------
    // actions: money in
    // ---------------------------------------------------------------------------------------------

    /// x402 settlement to payTo = escrow (not recorded yet).
    function payX402(uint256 buyerSeed, uint256 amountSeed) external {
        uint256 b = buyerSeed % 3;
        uint256 amount = _bound(amountSeed, 1, MAX_AMOUNT);
        _mint(buyers[b], amount);
        bytes32 txHash = _payX402(buyerKeys[b], amount, _nextNonce(), facilitator);
        pending.push(PendingPayment(buyers[b], amount, txHash));
        ghostIn += amount;
        ghostUnallocated += amount;
        _sweep(bytes32(0), NONE);
    }

    /// The operator records one of the unrecorded x402 payments.
    function recordPayment(uint256 pendingSeed, uint256 agentSeed) external {
        if (pending.length == 0) return;
        uint256 i = pendingSeed % pending.length;
        PendingPayment memory p = pending[i];
        uint256 agentId = agents[agentSeed % 2];
        vm.prank(operator());
        try escrow.recordDeposit(p.txHash, agentId, p.buyer, p.amount) {
            pending[i] = pending[pending.length - 1];
            pending.pop();
            ghostUnallocated -= p.amount;
            _adopt(p.txHash, p.buyer, agentId, p.amount);
        } catch {
            ++unexpectedRevert;
        }
        _sweep(bytes32(0), NONE);
    }

    /// The operator tries to record more than the unallocated USDC: must be refused.
    function recordUnbacked(uint256 buyerSeed, uint256 agentSeed, uint256 excessSeed) external {
        uint256 amount = ghostUnallocated + _bound(excessSeed, 1, MAX_AMOUNT);
        bytes32 id = keccak256(abi.encode("unbacked", _nextNonce()));
        address buyer = buyers[buyerSeed % 3];
        uint256 agentId = agents[agentSeed % 2];
        vm.prank(operator());
        try escrow.recordDeposit(id, agentId, buyer, amount) {
            ++unbackedRecordAccepted;
            _adopt(id, buyer, agentId, amount); // keep the model in step so later checks still run
        } catch {}
        _sweep(bytes32(0), NONE);
    }

    /// The pull path: the operator redeems the buyer's ReceiveWithAuthorization.
    function depositPull(uint256 buyerSeed, uint256 agentSeed, uint256 amountSeed) external {
        uint256 b = buyerSeed % 3;
        uint256 amount = _bound(amountSeed, 1, MAX_AMOUNT);
        uint256 agentId = agents[agentSeed % 2];
        _mint(buyers[b], amount);
        bytes32 nonce = _nextNonce();
        (uint256 va, uint256 vb, bytes memory sig) = _signReceive(buyerKeys[b], amount, nonce);
        vm.prank(operator());
        try escrow.depositWithAuthorization(nonce, agentId, buyers[b], amount, va, vb, nonce, sig) {
            ghostIn += amount;
            _adopt(nonce, buyers[b], agentId, amount);
        } catch {
            ++unexpectedRevert;
        }
        _sweep(bytes32(0), NONE);
    }

    /// Someone sends USDC to the escrow without any deposit (must stay unallocated).
    function donate(uint256 amountSeed) external {
        uint256 amount = _bound(amountSeed, 1, MAX_AMOUNT);
        _mint(donor, amount);
        vm.prank(donor);
        usdc.transfer(address(escrow), amount);
        ghostIn += amount;
        ghostUnallocated += amount;
        _sweep(bytes32(0), NONE);
    }

    // ---------------------------------------------------------------------------------------------
    // actions: resolution
    // ---------------------------------------------------------------------------------------------

    function release(uint256 idSeed) external {
        if (ids.length == 0) return;
        bytes32 id = ids[idSeed % ids.length];
        GhostDeposit storage g = ghost[id];
        bool allowed = g.status == DEPOSITED;
        address payee = _expectedPayee(g.agentId);
        vm.prank(operator());
        try escrow.releaseToVendor(id) {
            if (!allowed) ++unexpectedSuccess;
            ghostCredit[payee] += g.amount;
            ++nReleased;
        } catch {
            if (allowed) ++unexpectedRevert;
        }
        _sweep(id, RELEASED);
    }

    function refund(uint256 idSeed) external {
        if (ids.length == 0) return;
        bytes32 id = ids[idSeed % ids.length];
        GhostDeposit storage g = ghost[id];
        bool allowed = g.status == DEPOSITED;
        vm.prank(operator());
        try escrow.refundToBuyer(id) {
            if (!allowed) ++unexpectedSuccess;
            ghostCredit[g.buyer] += g.amount;
            ++nRefunded;
        } catch {
            if (allowed) ++unexpectedRevert;
        }
        _sweep(id, REFUNDED);
    }

    /// Reclaim by the deposit's buyer (half the time) or by someone else.
    function reclaim(uint256 idSeed, uint256 callerSeed) external {
        if (ids.length == 0) return;
        bytes32 id = ids[idSeed % ids.length];
        GhostDeposit storage g = ghost[id];
        address caller = callerSeed % 2 == 0 ? g.buyer : _anyone(callerSeed >> 1);
        bool allowed = g.status == DEPOSITED && caller == g.buyer && block.timestamp >= g.deadline;
        vm.prank(caller);
        try escrow.reclaim(id) {
            if (!allowed) ++unexpectedSuccess;
            ghostCredit[g.buyer] += g.amount;
            ++nReclaimed;
        } catch {
            if (allowed) ++unexpectedRevert;
        }
        _sweep(allowed ? id : bytes32(0), REFUNDED);
    }

    /// Anyone but the current operator tries to release, refund or record: always refused.
    function intrude(uint256 idSeed, uint256 callerSeed, uint256 whatSeed) external {
        address caller = _anyone(callerSeed);
        bytes32 id = ids.length == 0 ? bytes32(uint256(1)) : ids[idSeed % ids.length];
        uint256 what = whatSeed % 3;
        bool ok;
        vm.prank(caller);
        if (what == 0) {
            try escrow.releaseToVendor(id) {
                ok = true;
            } catch {}
        } else if (what == 1) {
            try escrow.refundToBuyer(id) {
                ok = true;
            } catch {}
        } else {
            // Try to claim an unrecorded payment (or a donation) for the intruder.
            uint256 amount = pending.length == 0 ? 1 : pending[idSeed % pending.length].amount;
            try escrow.recordDeposit(keccak256(abi.encode("intrude", _nextNonce())), agents[0], caller, amount) {
                ok = true;
            } catch {}
        }
        if (ok) ++unexpectedSuccess;
        else ++nRefusedIntrusions;
        _sweep(bytes32(0), NONE);
    }

    function withdraw(uint256 payeeSeed) external {
        address who = payees[payeeSeed % payees.length];
        uint256 expected = ghostCredit[who];
        uint256 before = usdc.balanceOf(who);
        vm.prank(who);
        try escrow.withdraw() {
            if (expected == 0) ++unexpectedSuccess;
            uint256 got = usdc.balanceOf(who) - before;
            if (got != expected) ++wrongPayout;
            ghostOut += got;
            ghostCredit[who] = 0;
            ++nWithdrawn;
        } catch {
            if (expected != 0) ++unexpectedRevert;
        }
        _sweep(bytes32(0), NONE);
    }

    // ---------------------------------------------------------------------------------------------
    // actions: environment
    // ---------------------------------------------------------------------------------------------

    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + _bound(secondsSeed, 0, 10 days));
        _sweep(bytes32(0), NONE);
    }

    /// The admin rotates the operator; the old one loses its power at once.
    function rotateOperator() external {
        uint256 next = 1 - currentOperator;
        vm.prank(admin);
        escrow.setOperator(operators[next]);
        currentOperator = next;
        _sweep(bytes32(0), NONE);
    }

    /// Agent 1's payout wallet changes: set to walletB, walletC, or unset (payout falls back to its owner).
    function changeAgentWallet(uint256 seed) external {
        uint256 what = seed % 3;
        if (what == 2) {
            vm.prank(vendorB);
            registry.unsetAgentWallet(agents[1]);
        } else {
            _setAgentWallet(agents[1], what == 0 ? walletBKey : walletCKey);
        }
        _sweep(bytes32(0), NONE);
    }

    // ---------------------------------------------------------------------------------------------
    // internals
    // ---------------------------------------------------------------------------------------------

    function _adopt(bytes32 id, address buyer, uint256 agentId, uint256 amount) private {
        ids.push(id);
        ghost[id] = GhostDeposit({
            buyer: buyer,
            agentId: agentId,
            amount: amount,
            deadline: uint64(block.timestamp) + RECLAIM_DELAY,
            status: DEPOSITED
        });
        (,,, IAgentripeEscrow.DepositStatus s) = escrow.getDeposit(id);
        if (uint8(s) != DEPOSITED) ++unexplainedStatusChange;
    }

    /// Compares every known deposit's on-chain status with the model. The only change allowed is
    /// DEPOSITED -> `allowedTo` on `allowedId` (the deposit the current call was entitled to resolve).
    function _sweep(bytes32 allowedId, uint8 allowedTo) private {
        for (uint256 i; i < ids.length; ++i) {
            bytes32 id = ids[i];
            GhostDeposit storage gd = ghost[id];
            (uint256 agentId, address buyer, uint256 amount, IAgentripeEscrow.DepositStatus st) = escrow.getDeposit(id);
            if (
                agentId != gd.agentId || buyer != gd.buyer || amount != gd.amount
                    || escrow.reclaimableAt(id) != gd.deadline
            ) ++recordFieldChanged;
            uint8 s = uint8(st);
            uint8 g = gd.status;
            if (s == g) continue;
            if (g == RELEASED || g == REFUNDED) ++terminalStatusChanged;
            if (!(id == allowedId && g == DEPOSITED && s == allowedTo)) ++unexplainedStatusChange;
            gd.status = s;
        }
    }

    /// Who a release of `agentId` must credit: its ERC-8004 agentWallet, else the NFT owner.
    function _expectedPayee(uint256 agentId) private view returns (address) {
        address w = registry.getAgentWallet(agentId);
        return w != address(0) ? w : registry.ownerOf(agentId);
    }

    /// Any actor except the current operator (includes the previous operator and the admin).
    function _anyone(uint256 seed) private view returns (address) {
        uint256 k = seed % 8;
        if (k < 3) return buyers[k];
        if (k == 3) return vendorA;
        if (k == 4) return vendorB;
        if (k == 5) return admin;
        if (k == 6) return operators[1 - currentOperator];
        return attacker;
    }

    function _nextNonce() private returns (bytes32) {
        return keccak256(abi.encode("agentripe-handler", ++nonceCounter));
    }

    function _bound(uint256 x, uint256 min, uint256 max) private pure returns (uint256) {
        if (x >= min && x <= max) return x;
        return min + (x % (max - min + 1));
    }
}
