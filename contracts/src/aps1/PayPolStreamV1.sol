// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Aps1Fees} from "./Aps1Fees.sol";
import {Aps1Token} from "./Aps1Token.sol";

/// @title PayPolStreamV1
/// @notice APS-1 milestone streams (seed 004 "stream-milestone"; specs/protocols.md §D.4): a client
///         locks the sum of up to 10 milestone amounts for an agent; the agent submits each milestone
///         with a proof hash; the client approves it (the agent is paid the amount minus the 8%
///         platform fee) or rejects it (the agent may resubmit, without limit). Cancelling, or the
///         client's timeout claim after the deadline, refunds what was not released.
/// @dev Written for this harness from the public interface. The fee rate is fixed per stream at
///      creation. Placed with `anvil_setCode`: no constructor, `initialize` once.
///      Conservation (invariant suite): the token balance equals the remainders of active streams
///      plus accrued fees, per token.
contract PayPolStreamV1 {
    enum StreamStatus {
        Active,
        Completed,
        Cancelled
    }

    enum MilestoneStatus {
        Pending,
        Submitted,
        Approved,
        Rejected
    }

    struct Milestone {
        uint256 amount;
        bytes32 proofHash;
        MilestoneStatus status;
    }

    struct Stream {
        address client;
        address agent;
        address token;
        uint256 totalBudget;
        uint256 releasedAmount;
        uint256 totalFees;
        uint256 deadline;
        uint256 milestoneCount;
        uint256 approvedCount;
        uint256 feeBps;
        StreamStatus status;
    }

    /// @notice At most this many milestones per stream.
    uint256 public constant MAX_MILESTONES = 10;
    uint256 public constant MAX_PLATFORM_FEE_BPS = 3000;
    uint256 public constant MAX_DEADLINE_DURATION = 365 days;

    bool private _initialized;
    bool private transient _locked;
    address public owner;
    /// @notice Fee on each approved milestone, in basis points (800 = 8%), fixed per stream at creation.
    uint256 public platformFeeBps;
    uint256 public nextStreamId;
    mapping(uint256 => Stream) private _streams;
    mapping(uint256 => mapping(uint256 => Milestone)) private _milestones;
    mapping(address => uint256) public accumulatedFees;
    /// @notice Unreleased remainders of active streams, per token.
    mapping(address => uint256) public escrowed;

    event Initialized(address owner, uint256 platformFeeBps);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event StreamCreated(uint256 indexed streamId, address indexed client, address indexed agent, uint256 totalBudget, uint256 milestoneCount, uint256 deadline);
    event MilestoneSubmitted(uint256 indexed streamId, uint256 indexed index, bytes32 proofHash);
    event MilestoneApproved(uint256 indexed streamId, uint256 indexed index, uint256 agentPayout, uint256 fee);
    event MilestoneRejected(uint256 indexed streamId, uint256 indexed index);
    event StreamCompleted(uint256 indexed streamId, uint256 totalReleased, uint256 totalFees);
    event StreamCancelled(uint256 indexed streamId, uint256 refunded);
    event StreamTimedOut(uint256 indexed streamId, uint256 refunded);
    event FeesWithdrawn(address indexed token, address indexed to, uint256 amount);

    error AlreadyInitialized();
    error Reentrancy();
    error ZeroAddress();
    error ZeroAmount(uint256 index);
    error InvalidMilestoneCount(uint256 count);
    error InvalidDeadline(uint256 duration);
    error FeeTooHigh(uint256 bps, uint256 max);
    error StreamNotFound(uint256 streamId);
    error StreamNotActive(uint256 streamId, StreamStatus status);
    error InvalidMilestone(uint256 streamId, uint256 index);
    error InvalidMilestoneStatus(uint256 streamId, uint256 index, MilestoneStatus status);
    error NotAuthorized(uint256 streamId, address caller);
    error DeadlineNotReached(uint256 streamId, uint256 deadline);
    error NotOwner(address caller);
    error NothingToWithdraw(address token);

    modifier nonReentrant() {
        if (_locked) revert Reentrancy();
        _locked = true;
        _;
        _locked = false;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @notice One-time configuration (replaces a constructor).
    function initialize(address owner_, uint256 feeBps) external {
        if (_initialized) revert AlreadyInitialized();
        if (owner_ == address(0)) revert ZeroAddress();
        if (feeBps > MAX_PLATFORM_FEE_BPS) revert FeeTooHigh(feeBps, MAX_PLATFORM_FEE_BPS);
        _initialized = true;
        owner = owner_;
        platformFeeBps = feeBps;
        emit Initialized(owner_, feeBps);
        emit OwnershipTransferred(address(0), owner_);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    /// @notice Locks the sum of `milestoneAmounts` (1 to 10 amounts, each > 0) of `token` for `agent`.
    function createStream(address agent, address token, uint256[] calldata milestoneAmounts, uint256 deadlineDuration)
        external
        nonReentrant
        returns (uint256 streamId)
    {
        if (agent == address(0) || token == address(0)) revert ZeroAddress();
        uint256 n = milestoneAmounts.length;
        if (n == 0 || n > MAX_MILESTONES) revert InvalidMilestoneCount(n);
        if (deadlineDuration == 0 || deadlineDuration > MAX_DEADLINE_DURATION) revert InvalidDeadline(deadlineDuration);
        streamId = nextStreamId++;
        uint256 total;
        for (uint256 i; i < n; ++i) {
            if (milestoneAmounts[i] == 0) revert ZeroAmount(i);
            total += milestoneAmounts[i];
            _milestones[streamId][i].amount = milestoneAmounts[i];
        }
        uint256 deadline = block.timestamp + deadlineDuration;
        _streams[streamId] = Stream({
            client: msg.sender,
            agent: agent,
            token: token,
            totalBudget: total,
            releasedAmount: 0,
            totalFees: 0,
            deadline: deadline,
            milestoneCount: n,
            approvedCount: 0,
            feeBps: platformFeeBps,
            status: StreamStatus.Active
        });
        escrowed[token] += total;
        emit StreamCreated(streamId, msg.sender, agent, total, n, deadline);
        Aps1Token.pull(token, msg.sender, total);
    }

    /// @notice The agent (or owner) submits milestone `index` with its proof: Pending|Rejected → Submitted.
    function submitMilestone(uint256 streamId, uint256 index, bytes32 proofHash) external {
        Stream storage s = _active(streamId);
        if (msg.sender != s.agent && msg.sender != owner) revert NotAuthorized(streamId, msg.sender);
        Milestone storage m = _milestone(streamId, s, index);
        if (m.status != MilestoneStatus.Pending && m.status != MilestoneStatus.Rejected) revert InvalidMilestoneStatus(streamId, index, m.status);
        m.status = MilestoneStatus.Submitted;
        m.proofHash = proofHash;
        emit MilestoneSubmitted(streamId, index, proofHash);
    }

    /// @notice The client (or owner) approves a submitted milestone: the agent gets its amount minus
    ///         the fee; the stream completes when every milestone is approved.
    function approveMilestone(uint256 streamId, uint256 index) external nonReentrant {
        Stream storage s = _active(streamId);
        if (msg.sender != s.client && msg.sender != owner) revert NotAuthorized(streamId, msg.sender);
        Milestone storage m = _milestone(streamId, s, index);
        if (m.status != MilestoneStatus.Submitted) revert InvalidMilestoneStatus(streamId, index, m.status);
        m.status = MilestoneStatus.Approved;
        uint256 fee = Aps1Fees.share(m.amount, s.feeBps);
        uint256 payout = m.amount - fee;
        s.releasedAmount += m.amount;
        s.totalFees += fee;
        s.approvedCount += 1;
        escrowed[s.token] -= m.amount;
        accumulatedFees[s.token] += fee;
        emit MilestoneApproved(streamId, index, payout, fee);
        if (s.approvedCount == s.milestoneCount) {
            s.status = StreamStatus.Completed;
            emit StreamCompleted(streamId, s.releasedAmount, s.totalFees);
        }
        Aps1Token.send(s.token, s.agent, payout);
    }

    /// @notice The client (or owner) rejects a submitted milestone; the agent may resubmit it.
    function rejectMilestone(uint256 streamId, uint256 index) external {
        Stream storage s = _active(streamId);
        if (msg.sender != s.client && msg.sender != owner) revert NotAuthorized(streamId, msg.sender);
        Milestone storage m = _milestone(streamId, s, index);
        if (m.status != MilestoneStatus.Submitted) revert InvalidMilestoneStatus(streamId, index, m.status);
        m.status = MilestoneStatus.Rejected;
        emit MilestoneRejected(streamId, index);
    }

    /// @notice The client (or owner) ends the stream; the client gets `totalBudget - releasedAmount`.
    function cancelStream(uint256 streamId) external nonReentrant {
        Stream storage s = _active(streamId);
        if (msg.sender != s.client && msg.sender != owner) revert NotAuthorized(streamId, msg.sender);
        uint256 refund = _close(s);
        emit StreamCancelled(streamId, refund);
        Aps1Token.send(s.token, s.client, refund);
    }

    /// @notice After the deadline the client ends the stream and gets the remainder back.
    function claimTimeout(uint256 streamId) external nonReentrant {
        Stream storage s = _active(streamId);
        if (msg.sender != s.client) revert NotAuthorized(streamId, msg.sender);
        if (block.timestamp <= s.deadline) revert DeadlineNotReached(streamId, s.deadline);
        uint256 refund = _close(s);
        emit StreamCancelled(streamId, refund);
        emit StreamTimedOut(streamId, refund);
        Aps1Token.send(s.token, s.client, refund);
    }

    /// @notice Sends the accrued fees of `token` to the owner.
    function withdrawFees(address token) external onlyOwner nonReentrant {
        uint256 amount = accumulatedFees[token];
        if (amount == 0) revert NothingToWithdraw(token);
        accumulatedFees[token] = 0;
        emit FeesWithdrawn(token, msg.sender, amount);
        Aps1Token.send(token, msg.sender, amount);
    }

    // ---- views ----------------------------------------------------------------------------------

    /// @notice A stream; an unknown id returns zeros (client address(0)).
    function getStream(uint256 streamId) external view returns (Stream memory) {
        return _streams[streamId];
    }

    function getMilestone(uint256 streamId, uint256 index) external view returns (Milestone memory) {
        return _milestones[streamId][index];
    }

    /// @notice Whether the client may `claimTimeout` now.
    function isTimedOut(uint256 streamId) external view returns (bool) {
        Stream storage s = _streams[streamId];
        return s.client != address(0) && s.status == StreamStatus.Active && block.timestamp > s.deadline;
    }

    /// @notice What a cancel would refund now (0 once the stream is closed).
    function getRemainingBalance(uint256 streamId) external view returns (uint256) {
        Stream storage s = _streams[streamId];
        return s.status == StreamStatus.Active ? s.totalBudget - s.releasedAmount : 0;
    }

    // ---- internals ------------------------------------------------------------------------------

    function _active(uint256 streamId) private view returns (Stream storage s) {
        s = _streams[streamId];
        if (s.client == address(0)) revert StreamNotFound(streamId);
        if (s.status != StreamStatus.Active) revert StreamNotActive(streamId, s.status);
    }

    function _milestone(uint256 streamId, Stream storage s, uint256 index) private view returns (Milestone storage) {
        if (index >= s.milestoneCount) revert InvalidMilestone(streamId, index);
        return _milestones[streamId][index];
    }

    function _close(Stream storage s) private returns (uint256 refund) {
        refund = s.totalBudget - s.releasedAmount;
        s.status = StreamStatus.Cancelled;
        escrowed[s.token] -= refund;
    }
}
