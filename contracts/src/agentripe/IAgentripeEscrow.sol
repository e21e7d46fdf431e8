// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IAgentripeEscrow
/// @notice Interface of the Agentripe escrow as reconstructed by agentmarket-harness.
/// @dev The four events, `getDeposit`, `withdrawableBalance` and `withdraw` are published by the
///      Agentripe SKILL.md (seed 002); `releaseToVendor` / `refundToBuyer` are named in its lifecycle
///      diagram without signatures. Everything else is a harness profile assumption, documented in
///      scenarios/agentripe/profile.md.
interface IAgentripeEscrow {
    /// @notice Lifecycle of a deposit. Values are fixed by the seed: 0 NONE, 1 DEPOSITED, 2 RELEASED, 3 REFUNDED.
    enum DepositStatus {
        NONE,
        DEPOSITED,
        RELEASED,
        REFUNDED
    }

    // ----------------------------------------------------------------------------------------------
    // Events published by the seed (verbatim)
    // ----------------------------------------------------------------------------------------------

    /// @notice A deposit was recorded and its USDC is now locked for `agentId`.
    event DepositRecorded(bytes32 indexed depositId, uint256 indexed agentId, address indexed buyer, uint256 amount);
    /// @notice A deposit was released: `amount` was credited to `agentWallet`'s withdrawable balance.
    event DepositReleased(bytes32 indexed depositId, address indexed agentWallet, uint256 amount);
    /// @notice A deposit was refunded (by the operator or reclaimed by the buyer after the deadline):
    ///         `amount` was credited to `buyer`'s withdrawable balance.
    event DepositRefunded(bytes32 indexed depositId, address indexed buyer, uint256 amount);
    /// @notice `account` pulled `amount` USDC out of its withdrawable balance.
    event Withdrawn(address indexed account, uint256 amount);

    // ----------------------------------------------------------------------------------------------
    // Administrative events (profile)
    // ----------------------------------------------------------------------------------------------

    /// @notice Emitted once by `initialize`.
    event Initialized(
        address indexed usdc, address indexed identityRegistry, address admin, address operator, uint64 reclaimDelay
    );
    /// @notice The operator role moved from `previousOperator` to `newOperator`.
    event OperatorUpdated(address indexed previousOperator, address indexed newOperator);
    /// @notice The admin proposed `pendingAdmin` as its successor (two-step transfer).
    event AdminTransferStarted(address indexed currentAdmin, address indexed pendingAdmin);
    /// @notice The admin role moved from `previousAdmin` to `newAdmin`.
    event AdminTransferred(address indexed previousAdmin, address indexed newAdmin);
    /// @notice The reclaim delay applied to deposits recorded from now on changed.
    event ReclaimDelayUpdated(uint64 previousDelay, uint64 newDelay);

    // ----------------------------------------------------------------------------------------------
    // Errors
    // ----------------------------------------------------------------------------------------------

    error AlreadyInitialized();
    error NotInitialized();
    error ZeroAddress();
    error ZeroAmount();
    error ZeroDepositId();
    error InvalidReclaimDelay(uint64 delay);
    error Unauthorized(address caller);
    error NotPendingAdmin(address caller);
    error DepositAlreadyExists(bytes32 depositId);
    error DepositNotFound(bytes32 depositId);
    error DepositNotPending(bytes32 depositId, DepositStatus status);
    error NotDepositBuyer(bytes32 depositId, address caller);
    error ReclaimTooEarly(bytes32 depositId, uint64 reclaimableAt);
    error InsufficientBacking(uint256 amount, uint256 unallocated);
    error AgentNotFound(uint256 agentId);
    error NothingToWithdraw(address account);
    error Reentrancy();
    error TransferFailed();

    // ----------------------------------------------------------------------------------------------
    // Functions
    // ----------------------------------------------------------------------------------------------

    function initialize(address usdc_, address identityRegistry_, address admin_, address operator_, uint64 reclaimDelay_)
        external;

    function recordDeposit(bytes32 depositId, uint256 agentId, address buyer, uint256 amount) external;

    function depositWithAuthorization(
        bytes32 depositId,
        uint256 agentId,
        address buyer,
        uint256 amount,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external;

    function releaseToVendor(bytes32 depositId) external;

    function refundToBuyer(bytes32 depositId) external;

    function reclaim(bytes32 depositId) external;

    function withdraw() external;

    function getDeposit(bytes32 depositId)
        external
        view
        returns (uint256 agentId, address buyer, uint256 amount, DepositStatus status);

    function withdrawableBalance(address account) external view returns (uint256);
}

/// @notice The slice of FiatToken v2.2 (USDC) the escrow uses.
interface IUSDCLike {
    function balanceOf(address account) external view returns (uint256);
    function transfer(address to, uint256 value) external returns (bool);
    /// @dev EIP-3009 `receiveWithAuthorization`, the `bytes signature` overload (EOA or ERC-1271).
    ///      The token requires `to == msg.sender`, so only the escrow itself can redeem an
    ///      authorization made out to it: a watcher cannot front-run it into another deposit.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external;
}

/// @notice The slice of the ERC-8004 IdentityRegistry the escrow uses.
interface IAgentIdentityLike {
    /// @dev Returns address(0) when the wallet is unset (e.g. after an agent NFT transfer).
    function getAgentWallet(uint256 agentId) external view returns (address);
    /// @dev Reverts for an agentId that was never minted.
    function ownerOf(uint256 agentId) external view returns (address);
}
