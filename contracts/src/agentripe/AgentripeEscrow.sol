// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAgentripeEscrow, IUSDCLike, IAgentIdentityLike} from "./IAgentripeEscrow.sol";

/// @title AgentripeEscrow
/// @notice USDC escrow for Agentripe tasks (seed 002): a buyer's x402 payment is locked per task
///         (`depositId` = taskId = x402 payment tx hash) until the operator releases it to the
///         vendor agent's ERC-8004 `agentWallet` or refunds it to the buyer. Resolutions credit a
///         withdrawable balance; the beneficiary pulls it with `withdraw()`.
/// @dev Reconstructed: the real Agentripe source is not public. Rules not published by the seed are
///      profile assumptions, listed with their reasoning in scenarios/agentripe/profile.md.
///
///      Deployment model: the harness places this runtime code at the canonical address with
///      `anvil_setCode`, so there are no immutables and no constructor; all configuration lives in
///      storage and is written once by `initialize`.
///
///      Accounting invariant (checked by the invariant suite):
///        usdc.balanceOf(this) >= totalDeposited + totalWithdrawable
///      with equality unless someone sent USDC that was never recorded (a donation, or an x402
///      payment not recorded yet). `recordDeposit` only allocates such unallocated USDC, so
///      recording can never create money.
contract AgentripeEscrow is IAgentripeEscrow {
    /// @notice Lower bound for the buyer's reclaim delay: short enough for tests, long enough that a
    ///         vendor always gets a real working window.
    uint64 public constant MIN_RECLAIM_DELAY = 1 hours;
    /// @notice Upper bound for the reclaim delay, so an admin cannot lock buyers' funds indefinitely.
    uint64 public constant MAX_RECLAIM_DELAY = 365 days;

    /// @dev One slot for (buyer, reclaimableAt, status); agentId and amount get full words because
    ///      the seed publishes them as uint256.
    struct Deposit {
        uint256 agentId;
        address buyer;
        uint64 reclaimableAt;
        DepositStatus status;
        uint256 amount;
    }

    bool private _initialized;
    /// @dev Reentrancy lock. Transient, so it needs no initial value (setCode leaves storage empty).
    bool private transient _locked;

    /// @notice The USDC (FiatToken v2.2) contract whose tokens are escrowed.
    IUSDCLike public usdc;
    /// @notice The ERC-8004 IdentityRegistry used to resolve an agent's payout wallet.
    IAgentIdentityLike public identityRegistry;
    /// @notice May rotate the operator, change the reclaim delay and hand the admin role over.
    address public admin;
    /// @notice Proposed admin, who must call `acceptAdmin` (two-step transfer).
    address public pendingAdmin;
    /// @notice The only account that records and resolves deposits (the Agentripe server).
    address public operator;
    /// @notice Seconds after recording from which the buyer may reclaim an unresolved deposit.
    uint64 public reclaimDelay;

    /// @notice Sum of the amounts of all deposits in status DEPOSITED.
    uint256 public totalDeposited;
    /// @notice Sum of all withdrawable balances.
    uint256 public totalWithdrawable;

    mapping(bytes32 depositId => Deposit) private _deposits;
    mapping(address account => uint256) private _withdrawable;

    // ----------------------------------------------------------------------------------------------
    // Modifiers
    // ----------------------------------------------------------------------------------------------

    modifier nonReentrant() {
        if (_locked) revert Reentrancy();
        _locked = true;
        _;
        _locked = false;
    }

    modifier onlyOperator() {
        address current = operator;
        // operator is zero only before initialize (setOperator refuses zero).
        if (current == address(0)) revert NotInitialized();
        if (msg.sender != current) revert Unauthorized(msg.sender);
        _;
    }

    modifier onlyAdmin() {
        if (msg.sender != admin) revert Unauthorized(msg.sender);
        _;
    }

    // ----------------------------------------------------------------------------------------------
    // Initialisation and administration
    // ----------------------------------------------------------------------------------------------

    /// @notice One-time configuration (replaces a constructor, see the contract NatSpec).
    /// @dev Anyone may call it first; the harness calls it in the same setup step that places the
    ///      code, before the chain is handed to anyone. Reverts `AlreadyInitialized()` afterwards.
    /// @param usdc_ USDC token (FiatToken v2.2) address.
    /// @param identityRegistry_ ERC-8004 IdentityRegistry address.
    /// @param admin_ Admin account (operator rotation, reclaim delay, admin hand-over).
    /// @param operator_ Operator account (records and resolves deposits).
    /// @param reclaimDelay_ Seconds after recording before a buyer may reclaim an unresolved
    ///        deposit; within [MIN_RECLAIM_DELAY, MAX_RECLAIM_DELAY]. Profile default: 7 days.
    function initialize(address usdc_, address identityRegistry_, address admin_, address operator_, uint64 reclaimDelay_)
        external
    {
        if (_initialized) revert AlreadyInitialized();
        if (usdc_ == address(0) || identityRegistry_ == address(0) || admin_ == address(0) || operator_ == address(0)) {
            revert ZeroAddress();
        }
        _checkReclaimDelay(reclaimDelay_);
        _initialized = true;
        usdc = IUSDCLike(usdc_);
        identityRegistry = IAgentIdentityLike(identityRegistry_);
        admin = admin_;
        operator = operator_;
        reclaimDelay = reclaimDelay_;
        emit Initialized(usdc_, identityRegistry_, admin_, operator_, reclaimDelay_);
        emit AdminTransferred(address(0), admin_);
        emit OperatorUpdated(address(0), operator_);
    }

    /// @notice Whether `initialize` has run.
    function initialized() external view returns (bool) {
        return _initialized;
    }

    /// @notice Replaces the operator (e.g. a rotated server key). Takes effect immediately; pending
    ///         deposits stay resolvable by the new operator only.
    function setOperator(address newOperator) external onlyAdmin {
        if (newOperator == address(0)) revert ZeroAddress();
        address previous = operator;
        operator = newOperator;
        emit OperatorUpdated(previous, newOperator);
    }

    /// @notice Changes the reclaim delay for deposits recorded from now on. Deposits already
    ///         recorded keep the deadline they were recorded with, so a buyer's exit never moves.
    function setReclaimDelay(uint64 newDelay) external onlyAdmin {
        _checkReclaimDelay(newDelay);
        uint64 previous = reclaimDelay;
        reclaimDelay = newDelay;
        emit ReclaimDelayUpdated(previous, newDelay);
    }

    /// @notice Starts a two-step admin hand-over; `newAdmin` must call `acceptAdmin`.
    ///         Passing address(0) cancels a pending hand-over.
    function transferAdmin(address newAdmin) external onlyAdmin {
        pendingAdmin = newAdmin;
        emit AdminTransferStarted(msg.sender, newAdmin);
    }

    /// @notice Completes the hand-over started by `transferAdmin`.
    function acceptAdmin() external {
        if (msg.sender != pendingAdmin || msg.sender == address(0)) revert NotPendingAdmin(msg.sender);
        address previous = admin;
        admin = msg.sender;
        pendingAdmin = address(0);
        emit AdminTransferred(previous, msg.sender);
    }

    // ----------------------------------------------------------------------------------------------
    // Recording deposits
    // ----------------------------------------------------------------------------------------------

    /// @notice Records a deposit backed by USDC already sent to the escrow (the x402 path: the
    ///         facilitator settles the buyer's EIP-3009 authorization with `payTo` = this escrow,
    ///         then the server records it with `depositId` = the settlement tx hash).
    /// @dev Only the operator. The escrow must hold at least `amount` unallocated USDC
    ///      (balance - totalDeposited - totalWithdrawable), so a deposit cannot be recorded
    ///      twice against the same payment nor out of thin air. The contract cannot check that the
    ///      unallocated USDC came from `buyer`: attributing it is the operator's responsibility.
    /// @param depositId Task id = x402 payment tx hash; non-zero and never used before.
    /// @param agentId Vendor agent (must exist in the IdentityRegistry).
    /// @param buyer Account refunded on failure and allowed to reclaim after the deadline.
    /// @param amount USDC base units; non-zero.
    function recordDeposit(bytes32 depositId, uint256 agentId, address buyer, uint256 amount)
        external
        onlyOperator
        nonReentrant
    {
        uint256 unallocated = _unallocated();
        if (amount > unallocated) revert InsufficientBacking(amount, unallocated);
        _record(depositId, agentId, buyer, amount);
    }

    /// @notice Records a deposit and pulls its USDC from `buyer` in the same transaction using the
    ///         buyer's EIP-3009 `ReceiveWithAuthorization` (to = this escrow, value = amount).
    /// @dev Only the operator: the authorization does not bind `agentId` or `depositId`, so letting
    ///      anyone submit it would let them steer the buyer's money to an agent of their choice.
    ///      Effects first, then the token call, then the balance post-condition.
    /// @param depositId Deposit id chosen by the operator (profile: the authorization nonce).
    /// @param signature 65-byte ECDSA signature or an ERC-1271 signature of `buyer`.
    function depositWithAuthorization(
        bytes32 depositId,
        uint256 agentId,
        address buyer,
        uint256 amount,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external onlyOperator nonReentrant {
        _record(depositId, agentId, buyer, amount);
        IUSDCLike token = usdc;
        uint256 balanceBefore = token.balanceOf(address(this));
        token.receiveWithAuthorization(buyer, address(this), amount, validAfter, validBefore, nonce, signature);
        // Measure what actually arrived rather than trusting the token; older unallocated USDC
        // must not be able to back this deposit.
        uint256 received = token.balanceOf(address(this)) - balanceBefore;
        if (received < amount) revert InsufficientBacking(amount, received);
    }

    // ----------------------------------------------------------------------------------------------
    // Resolving deposits
    // ----------------------------------------------------------------------------------------------

    /// @notice Releases a DEPOSITED deposit to the vendor: credits its full amount (no fee) to the
    ///         withdrawable balance of the agent's ERC-8004 `agentWallet`, or of the agent NFT's
    ///         owner when no wallet is set.
    /// @dev Only the operator; a deposit is resolved at most once. The wallet is read at release
    ///      time, so a wallet change between recording and release is honoured.
    function releaseToVendor(bytes32 depositId) external onlyOperator nonReentrant {
        Deposit storage d = _pending(depositId);
        address wallet = _payoutWallet(d.agentId);
        uint256 amount = d.amount;
        d.status = DepositStatus.RELEASED;
        totalDeposited -= amount;
        _credit(wallet, amount);
        emit DepositReleased(depositId, wallet, amount);
    }

    /// @notice Refunds a DEPOSITED deposit: credits its full amount to the buyer's withdrawable
    ///         balance (task failed, or 5 AI-review rejections).
    /// @dev Only the operator; a deposit is resolved at most once.
    function refundToBuyer(bytes32 depositId) external onlyOperator nonReentrant {
        _refund(depositId, _pending(depositId));
    }

    /// @notice Lets the buyer take back a deposit nobody resolved, once its deadline
    ///         (`reclaimableAt`) has been reached. Marks it REFUNDED and emits `DepositRefunded`.
    /// @dev The operator may still resolve the deposit after the deadline; whichever comes first wins.
    function reclaim(bytes32 depositId) external nonReentrant {
        Deposit storage d = _pending(depositId);
        if (msg.sender != d.buyer) revert NotDepositBuyer(depositId, msg.sender);
        if (block.timestamp < d.reclaimableAt) revert ReclaimTooEarly(depositId, d.reclaimableAt);
        _refund(depositId, d);
    }

    // ----------------------------------------------------------------------------------------------
    // Withdrawals
    // ----------------------------------------------------------------------------------------------

    /// @notice Transfers the caller's whole withdrawable balance to the caller.
    /// @dev Reverts `NothingToWithdraw` on a zero balance, so a second call is a clear error.
    function withdraw() external nonReentrant {
        uint256 amount = _withdrawable[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        _withdrawable[msg.sender] = 0;
        totalWithdrawable -= amount;
        emit Withdrawn(msg.sender, amount);
        if (!usdc.transfer(msg.sender, amount)) revert TransferFailed();
    }

    // ----------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------

    /// @notice The deposit as published by the seed; an unknown id returns zeros and status NONE.
    function getDeposit(bytes32 depositId)
        external
        view
        returns (uint256 agentId, address buyer, uint256 amount, DepositStatus status)
    {
        Deposit storage d = _deposits[depositId];
        return (d.agentId, d.buyer, d.amount, d.status);
    }

    /// @notice Unix time from which the buyer may `reclaim` the deposit (0 for an unknown id).
    function reclaimableAt(bytes32 depositId) external view returns (uint64) {
        return _deposits[depositId].reclaimableAt;
    }

    /// @notice USDC `account` can pull with `withdraw()`.
    function withdrawableBalance(address account) external view returns (uint256) {
        return _withdrawable[account];
    }

    /// @notice totalDeposited + totalWithdrawable: the USDC the escrow owes.
    function totalAllocated() external view returns (uint256) {
        return totalDeposited + totalWithdrawable;
    }

    /// @notice USDC held but not owed to anyone yet (unrecorded x402 payments, donations).
    function unallocatedBalance() external view returns (uint256) {
        return _unallocated();
    }

    /// @notice The address a release of `agentId` would credit now (agentWallet, else NFT owner).
    function payoutWallet(uint256 agentId) external view returns (address) {
        return _payoutWallet(agentId);
    }

    // ----------------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------------

    /// @dev Validates and writes a new DEPOSITED record; callers check the backing.
    function _record(bytes32 depositId, uint256 agentId, address buyer, uint256 amount) private {
        if (depositId == bytes32(0)) revert ZeroDepositId();
        if (buyer == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        // Resolved deposits keep their record, so an id can never be reused.
        if (_deposits[depositId].status != DepositStatus.NONE) revert DepositAlreadyExists(depositId);
        _requireAgent(agentId);
        uint64 deadline = uint64(block.timestamp) + reclaimDelay;
        _deposits[depositId] = Deposit({
            agentId: agentId, buyer: buyer, reclaimableAt: deadline, status: DepositStatus.DEPOSITED, amount: amount
        });
        totalDeposited += amount;
        emit DepositRecorded(depositId, agentId, buyer, amount);
    }

    function _refund(bytes32 depositId, Deposit storage d) private {
        uint256 amount = d.amount;
        address buyer = d.buyer;
        d.status = DepositStatus.REFUNDED;
        totalDeposited -= amount;
        _credit(buyer, amount);
        emit DepositRefunded(depositId, buyer, amount);
    }

    function _credit(address account, uint256 amount) private {
        _withdrawable[account] += amount;
        totalWithdrawable += amount;
    }

    /// @dev The deposit, which must exist and still be DEPOSITED.
    function _pending(bytes32 depositId) private view returns (Deposit storage d) {
        d = _deposits[depositId];
        DepositStatus s = d.status;
        if (s == DepositStatus.NONE) revert DepositNotFound(depositId);
        if (s != DepositStatus.DEPOSITED) revert DepositNotPending(depositId, s);
    }

    /// @dev balance - allocated, floored at 0 (a shortfall would break the invariant, never the math).
    function _unallocated() private view returns (uint256) {
        uint256 balance = usdc.balanceOf(address(this));
        uint256 allocated = totalDeposited + totalWithdrawable;
        return balance > allocated ? balance - allocated : 0;
    }

    function _requireAgent(uint256 agentId) private view {
        try identityRegistry.ownerOf(agentId) returns (address owner) {
            if (owner == address(0)) revert AgentNotFound(agentId);
        } catch {
            revert AgentNotFound(agentId);
        }
    }

    function _payoutWallet(uint256 agentId) private view returns (address) {
        IAgentIdentityLike registry = identityRegistry;
        try registry.getAgentWallet(agentId) returns (address wallet) {
            if (wallet != address(0)) return wallet;
        } catch {}
        // Wallet unset (ERC-8004 clears it when the agent NFT changes hands): pay the owner.
        try registry.ownerOf(agentId) returns (address owner) {
            if (owner != address(0)) return owner;
        } catch {}
        revert AgentNotFound(agentId);
    }

    function _checkReclaimDelay(uint64 delay) private pure {
        if (delay < MIN_RECLAIM_DELAY || delay > MAX_RECLAIM_DELAY) revert InvalidReclaimDelay(delay);
    }
}
