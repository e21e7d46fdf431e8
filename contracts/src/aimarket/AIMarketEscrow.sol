// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title AIMarketEscrow: pre-funded payment channels for AI Market hubs (spec.md §6)
/// @notice A depositor opens a channel with tokens; a hub debits it with the depositor's EIP-712
/// `DebitAuthorization` (one receipt id once, the channel's nonce in order, before the deadline, never
/// past the deposit); settle pays the debits to the hub and refunds the rest; refund returns
/// everything before any debit; expire settles anyone's channel after its lifetime (24 h). Written for the harness
/// from the spec's description (the public source is not stored): every rule is the spec's words.
/// @dev No constructor state: the contract is placed with anvil_setCode at a lab address, so the EIP-712
/// domain separator is computed from `address(this)` and `block.chainid` on every use (which also covers
/// the spec's "recomputes it if block.chainid changes").
contract AIMarketEscrow {
    using SafeERC20 for IERC20;

    /// @notice Default channel lifetime: "sets 24h expiry".
    uint256 public constant CHANNEL_TTL = 24 hours;

    bytes32 public constant DEBIT_TYPEHASH = keccak256(
        "DebitAuthorization(bytes32 channelId,address hub,address token,uint256 amount,bytes32 receiptId,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    enum Status {
        None,
        Open,
        Settled,
        Refunded
    }

    struct Channel {
        address depositor;
        address token;
        address hub;
        Status status;
        uint256 deposit;
        uint256 used;
        uint256 nonce;
        uint256 expiresAt;
    }

    mapping(bytes32 => Channel) private _channels;
    mapping(bytes32 => bool) public usedReceipts;
    /// @dev A lifetime other than CHANNEL_TTL, in seconds (0: CHANNEL_TTL). No constructor and no admin
    ///      here, so the lab's reference service writes this slot for a what-if profile
    ///      (anvil_setStorageAt) and reads it back through `channelTtl()`. Declared last: the other
    ///      slots stay where they were.
    uint256 private _channelTtl;

    event ChannelOpened(bytes32 indexed channelId, address indexed depositor, address indexed token, uint256 amount, uint256 expiresAt);
    event ChannelDebited(bytes32 indexed channelId, address indexed hub, uint256 amount, bytes32 receiptId, uint256 nonce);
    event ChannelSettled(bytes32 indexed channelId, address indexed hub, uint256 paid, uint256 refunded);
    event ChannelRefunded(bytes32 indexed channelId, uint256 amount, string reason);
    event ChannelExpired(bytes32 indexed channelId, uint256 paid, uint256 refunded);

    error ChannelExists(bytes32 channelId);
    error ChannelNotOpen(bytes32 channelId);
    error ZeroAmount();
    error ZeroToken();
    error Expired(bytes32 channelId);
    error NotExpired(bytes32 channelId);
    error DeadlinePassed(uint256 deadline);
    error ReceiptUsed(bytes32 receiptId);
    error WrongHub(address expected, address caller);
    error Overdraft(uint256 available, uint256 requested);
    error InvalidSignature();
    error NotDepositor(address caller);
    error NotParty(address caller);
    error AlreadyDebited(bytes32 channelId);

    /// @notice The EIP-712 domain separator (name "AIMarketEscrow", version "1", this chain, this address).
    function domainSeparator() public view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("AIMarketEscrow"), keccak256("1"), block.chainid, address(this)));
    }

    /// @notice The digest a depositor signs for one debit.
    function debitDigest(bytes32 channelId, address hub, address token, uint256 amount, bytes32 receiptId, uint256 nonce, uint256 deadline)
        public
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(DEBIT_TYPEHASH, channelId, hub, token, amount, receiptId, nonce, deadline));
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
    }

    /// @notice The lifetime of a channel opened now, in seconds (24 h unless the deployment set another).
    function channelTtl() public view returns (uint256) {
        uint256 ttl = _channelTtl;
        return ttl == 0 ? CHANNEL_TTL : ttl;
    }

    function getChannel(bytes32 channelId) external view returns (Channel memory) {
        return _channels[channelId];
    }

    /// @notice Opens `channelId` with `depositAmount` of `token` pulled from the caller (the depositor).
    function openChannel(bytes32 channelId, address token, uint256 depositAmount) external {
        if (_channels[channelId].status != Status.None) revert ChannelExists(channelId);
        if (token == address(0)) revert ZeroToken();
        if (depositAmount == 0) revert ZeroAmount();
        uint256 expiresAt = block.timestamp + channelTtl();
        _channels[channelId] = Channel({
            depositor: msg.sender,
            token: token,
            hub: address(0),
            status: Status.Open,
            deposit: depositAmount,
            used: 0,
            nonce: 0,
            expiresAt: expiresAt
        });
        IERC20(token).safeTransferFrom(msg.sender, address(this), depositAmount);
        emit ChannelOpened(channelId, msg.sender, token, depositAmount, expiresAt);
    }

    /// @notice The calling hub debits `amount` with the depositor's signature; binds the hub on the first debit.
    function debitChannel(bytes32 channelId, uint256 amount, bytes32 receiptId, uint256 deadline, bytes calldata sig) external {
        Channel storage c = _channels[channelId];
        if (c.status != Status.Open) revert ChannelNotOpen(channelId);
        if (block.timestamp >= c.expiresAt) revert Expired(channelId);
        if (block.timestamp > deadline) revert DeadlinePassed(deadline);
        if (amount == 0) revert ZeroAmount();
        if (usedReceipts[receiptId]) revert ReceiptUsed(receiptId);
        if (c.hub != address(0) && c.hub != msg.sender) revert WrongHub(c.hub, msg.sender);
        uint256 available = c.deposit - c.used;
        if (amount > available) revert Overdraft(available, amount);
        bytes32 digest = debitDigest(channelId, msg.sender, c.token, amount, receiptId, c.nonce, deadline);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, sig);
        if (err != ECDSA.RecoverError.NoError || signer != c.depositor) revert InvalidSignature();
        if (c.hub == address(0)) c.hub = msg.sender;
        usedReceipts[receiptId] = true;
        c.used += amount;
        emit ChannelDebited(channelId, msg.sender, amount, receiptId, c.nonce);
        c.nonce += 1;
    }

    /// @notice The depositor or the bound hub settles: the debits go to the hub, the rest back to the depositor.
    function settleChannel(bytes32 channelId) external {
        Channel storage c = _channels[channelId];
        if (c.status != Status.Open) revert ChannelNotOpen(channelId);
        if (msg.sender != c.depositor && (c.hub == address(0) || msg.sender != c.hub)) revert NotParty(msg.sender);
        (uint256 paid, uint256 refunded) = _close(c);
        emit ChannelSettled(channelId, c.hub, paid, refunded);
    }

    /// @notice The depositor takes everything back, only before any debit.
    function refundChannel(bytes32 channelId, string calldata reason) external {
        Channel storage c = _channels[channelId];
        if (c.status != Status.Open) revert ChannelNotOpen(channelId);
        if (msg.sender != c.depositor) revert NotDepositor(msg.sender);
        if (c.used != 0 || c.nonce != 0) revert AlreadyDebited(channelId);
        c.status = Status.Refunded;
        uint256 amount = c.deposit;
        IERC20(c.token).safeTransfer(c.depositor, amount);
        emit ChannelRefunded(channelId, amount, reason);
    }

    /// @notice Anyone, after expiry: the same economics as settle.
    function expireChannel(bytes32 channelId) external {
        Channel storage c = _channels[channelId];
        if (c.status != Status.Open) revert ChannelNotOpen(channelId);
        if (block.timestamp < c.expiresAt) revert NotExpired(channelId);
        (uint256 paid, uint256 refunded) = _close(c);
        emit ChannelExpired(channelId, paid, refunded);
    }

    function _close(Channel storage c) private returns (uint256 paid, uint256 refunded) {
        c.status = Status.Settled;
        paid = c.used;
        refunded = c.deposit - c.used;
        IERC20 t = IERC20(c.token);
        if (paid != 0) t.safeTransfer(c.hub, paid);
        if (refunded != 0) t.safeTransfer(c.depositor, refunded);
    }
}
