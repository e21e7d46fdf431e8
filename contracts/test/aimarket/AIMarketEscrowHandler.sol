// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm} from "../utils/Vm.sol";
import {FiatTokenV2_2} from "../../src/shared/FiatTokenV2_2.sol";
import {AIMarketEscrow} from "../../src/aimarket/AIMarketEscrow.sol";

/// @notice Drives AIMarketEscrow with random opens, signed debits (some forged), settles, refunds,
/// expiries and time; keeps ghost totals of what went in and out.
contract AIMarketEscrowHandler {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    FiatTokenV2_2 public token;
    AIMarketEscrow public escrow;
    uint256[3] internal keys = [uint256(0xA1), 0xA2, 0xA3];
    address[2] internal hubs = [address(0xB1), address(0xB2)];
    bytes32[] public ids;
    uint256 public ghostDeposits;
    uint256 public ghostPaidToHubs;
    uint256 public ghostRefunds;
    uint256 public ghostDebits;
    uint256 internal receiptSeq;

    constructor() {
        token = new FiatTokenV2_2();
        token.initialize("USD Coin", "USDC", "USD", 6, "2", address(this), address(this));
        token.configureMinter(address(this), type(uint256).max);
        escrow = new AIMarketEscrow();
        for (uint256 i; i < 3; ++i) {
            address d = VM.addr(keys[i]);
            token.mint(d, 1e15);
            VM.prank(d);
            token.approve(address(escrow), type(uint256).max);
        }
    }

    function idCount() external view returns (uint256) {
        return ids.length;
    }

    function open(uint256 who, uint256 amount) external {
        who = who % 3;
        amount = 1 + (amount % 1e9);
        bytes32 id = keccak256(abi.encode(ids.length, who));
        VM.prank(VM.addr(keys[who]));
        escrow.openChannel(id, address(token), amount);
        ids.push(id);
        ghostDeposits += amount;
    }

    function debit(uint256 ch, uint256 hubIx, uint256 amount, bool forge) external {
        if (ids.length == 0) return;
        bytes32 id = ids[ch % ids.length];
        AIMarketEscrow.Channel memory c = escrow.getChannel(id);
        if (c.status != AIMarketEscrow.Status.Open) return;
        amount = 1 + (amount % (c.deposit + 10));
        _debit(id, hubs[hubIx % 2], amount, forge ? 0xBAD : _keyOf(c.depositor), c);
    }

    function _debit(bytes32 id, address hub, uint256 amount, uint256 key, AIMarketEscrow.Channel memory c) internal {
        bytes32 receipt = bytes32(++receiptSeq);
        uint256 deadline = block.timestamp + 100;
        bytes memory sig = _sign(key, escrow.debitDigest(id, hub, c.token, amount, receipt, c.nonce, deadline));
        VM.prank(hub);
        try escrow.debitChannel(id, amount, receipt, deadline, sig) {
            ghostDebits += amount;
        } catch {}
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = VM.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function settle(uint256 ch, bool byHub) external {
        if (ids.length == 0) return;
        bytes32 id = ids[ch % ids.length];
        AIMarketEscrow.Channel memory c = escrow.getChannel(id);
        VM.prank(byHub && c.hub != address(0) ? c.hub : c.depositor);
        try escrow.settleChannel(id) {
            ghostPaidToHubs += c.used;
            ghostRefunds += c.deposit - c.used;
        } catch {}
    }

    function refund(uint256 ch) external {
        if (ids.length == 0) return;
        bytes32 id = ids[ch % ids.length];
        AIMarketEscrow.Channel memory c = escrow.getChannel(id);
        VM.prank(c.depositor);
        try escrow.refundChannel(id, "fuzz") {
            ghostRefunds += c.deposit;
        } catch {}
    }

    function expire(uint256 ch) external {
        if (ids.length == 0) return;
        bytes32 id = ids[ch % ids.length];
        AIMarketEscrow.Channel memory c = escrow.getChannel(id);
        try escrow.expireChannel(id) {
            ghostPaidToHubs += c.used;
            ghostRefunds += c.deposit - c.used;
        } catch {}
    }

    /// The lab sets another channel lifetime (slot 2, as the reference service does for a profile):
    /// channels opened afterwards expire then; money is conserved whatever the lifetime.
    function setTtl(uint256 secs) external {
        VM.store(address(escrow), bytes32(uint256(2)), bytes32(secs % 48 hours));
    }

    function warp(uint256 secs) external {
        VM.warp(block.timestamp + (secs % 30 hours));
    }

    function _keyOf(address d) internal view returns (uint256) {
        for (uint256 i; i < 3; ++i) if (VM.addr(keys[i]) == d) return keys[i];
        return 0xBAD;
    }
}
