// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Aps1Fees} from "./Aps1Fees.sol";
import {Aps1Token} from "./Aps1Token.sol";

/// @title PayPolNexusV2
/// @notice APS-1 job escrow with a judge (seed 004 "nexus-escrow"; specs/protocols.md §D.3): an
///         employer locks a budget for a worker, the platform fee (8%) is fixed at creation, the
///         worker delivers, and the job ends in exactly one way: settled by the judge (worker paid
///         budget - fee), refunded by the judge (employer paid back), or timed out (employer reclaims
///         the whole budget after the deadline, no fee). The employer may dispute; the judge decides.
/// @dev Written for this harness from the public interface and the seed's intent; the public source's
///      quirks are reproducible with the `compat` switches (owner-settable, initialised from
///      reference-impl/aps1/protocol/profile.json), each listed in scenarios/aps1/profile.md:
///      - `penaltyFromWinner`: the arbitration penalty is cut from the winner's money (the worker's pay
///        on settle, the employer's refund on refund) although the event names the loser. Off (the
///        reference): the employer posts the penalty as a dispute bond when disputing; a settled
///        dispute (employer lost) forfeits the bond, a refunded one (employer won) returns it; the
///        winner is never charged.
///      - `penaltyCapIn18Decimals`: `maxArbitrationPenalty` (10e18) is compared with base units of
///        6-decimal tokens, so it never binds. Off: the cap is 10 tokens in the token's own units.
///      - `timeoutAfterDelivery`: `claimTimeout` works from any unfinished status (even after the
///        worker delivered in time) and `completeJob` has no deadline. Off: a job completes only until
///        its deadline and times out only if it was not delivered (Created or Executing).
///      Placed at its canonical address with `anvil_setCode`: no constructor, `initialize` once.
///      Conservation (invariant suite): the token balance of this contract equals the budgets of
///      unfinished jobs + open dispute bonds + accrued fees, per token.
contract PayPolNexusV2 {
    enum JobStatus {
        Created,
        Executing,
        Completed,
        Disputed,
        Settled,
        Refunded
    }

    struct Job {
        address employer;
        address worker;
        address judge;
        address token;
        uint256 budget;
        uint256 platformFee;
        uint256 deadline;
        JobStatus status;
        bool rated;
    }

    /// @notice Upper bound of `platformFeeBps` (public contract: 3000).
    uint256 public constant MAX_PLATFORM_FEE_BPS = 3000;
    /// @notice Upper bound of `arbitrationPenaltyBps` (public contract: 1000).
    uint256 public constant MAX_PENALTY_BPS = 1000;
    /// @notice Longest deadline a job may be given (profile APS-PROF-06).
    uint256 public constant MAX_DEADLINE_DURATION = 365 days;

    bool private _initialized;
    bool private transient _locked;

    address public owner;
    /// @notice Platform fee in basis points, applied at creation (800 = 8%).
    uint256 public platformFeeBps;
    /// @notice Arbitration penalty in basis points of the budget (300 = 3%).
    uint256 public arbitrationPenaltyBps;
    /// @notice Penalty cap in 18-decimal units (public contract: 10e18, i.e. 10 tokens).
    uint256 public maxArbitrationPenalty;
    bool public penaltyFromWinner;
    bool public penaltyCapIn18Decimals;
    bool public timeoutAfterDelivery;

    /// @notice Id the next job gets (jobs are numbered from 0).
    uint256 public nextJobId;
    mapping(uint256 => Job) private _jobs;
    /// @notice The employer's dispute bond held for a job (reference profile only).
    mapping(uint256 => uint256) public disputeBond;
    /// @notice Fees and penalties accrued per token, withdrawable by the owner.
    mapping(address => uint256) public accumulatedFees;
    /// @notice Budgets of unfinished jobs + open dispute bonds, per token.
    mapping(address => uint256) public escrowed;
    mapping(address => uint256) private _ratingSum;
    mapping(address => uint256) private _ratingCount;

    event Initialized(address owner, uint256 platformFeeBps, uint256 arbitrationPenaltyBps, uint256 maxArbitrationPenalty);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event JobCreated(uint256 indexed jobId, address indexed employer, address indexed worker, uint256 budget, uint256 deadline);
    event JobStatusChanged(uint256 indexed jobId, JobStatus oldStatus, JobStatus newStatus);
    event JobDisputed(uint256 indexed jobId, address indexed employer, uint256 bond);
    event JobSettled(uint256 indexed jobId, uint256 workerPay, uint256 fee);
    event JobRefunded(uint256 indexed jobId, uint256 amount);
    event TimeoutClaimed(uint256 indexed jobId, address indexed employer, uint256 amount);
    event WorkerRated(uint256 indexed jobId, address indexed worker, uint8 rating);
    event ArbitrationPenaltyApplied(uint256 indexed jobId, address indexed penalizedParty, uint256 amount);
    event FeesWithdrawn(address indexed token, address indexed to, uint256 amount);
    event PlatformFeeUpdated(uint256 oldBps, uint256 newBps);
    event ArbitrationPenaltyUpdated(uint256 oldBps, uint256 newBps);
    event MaxArbitrationPenaltyUpdated(uint256 oldCap, uint256 newCap);
    event CompatUpdated(bool penaltyFromWinner, bool penaltyCapIn18Decimals, bool timeoutAfterDelivery);

    error AlreadyInitialized();
    error Reentrancy();
    error ZeroAddress();
    error ZeroAmount();
    error InvalidDeadline(uint256 duration);
    error FeeTooHigh(uint256 bps, uint256 max);
    error JobNotFound(uint256 jobId);
    error NotAuthorized(uint256 jobId, address caller);
    error InvalidStatus(uint256 jobId, JobStatus status);
    error DeadlinePassed(uint256 jobId, uint256 deadline);
    error DeadlineNotReached(uint256 jobId, uint256 deadline);
    error NotOwner(address caller);
    error InvalidRating(uint8 rating);
    error AlreadyRated(uint256 jobId);
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

    // ---------------------------------------------------------------------------------------------
    // Initialisation and administration
    // ---------------------------------------------------------------------------------------------

    /// @notice One-time configuration (replaces a constructor).
    /// @param maxPenaltyTokens The cap in whole tokens; stored as `maxPenaltyTokens * 1e18` like the public contract.
    function initialize(
        address owner_,
        uint256 feeBps,
        uint256 penaltyBps,
        uint256 maxPenaltyTokens,
        bool penaltyFromWinner_,
        bool penaltyCapIn18Decimals_,
        bool timeoutAfterDelivery_
    ) external {
        if (_initialized) revert AlreadyInitialized();
        if (owner_ == address(0)) revert ZeroAddress();
        if (feeBps > MAX_PLATFORM_FEE_BPS) revert FeeTooHigh(feeBps, MAX_PLATFORM_FEE_BPS);
        if (penaltyBps > MAX_PENALTY_BPS) revert FeeTooHigh(penaltyBps, MAX_PENALTY_BPS);
        _initialized = true;
        owner = owner_;
        platformFeeBps = feeBps;
        arbitrationPenaltyBps = penaltyBps;
        maxArbitrationPenalty = maxPenaltyTokens * 1e18;
        penaltyFromWinner = penaltyFromWinner_;
        penaltyCapIn18Decimals = penaltyCapIn18Decimals_;
        timeoutAfterDelivery = timeoutAfterDelivery_;
        emit Initialized(owner_, feeBps, penaltyBps, maxPenaltyTokens * 1e18);
        emit OwnershipTransferred(address(0), owner_);
        emit CompatUpdated(penaltyFromWinner_, penaltyCapIn18Decimals_, timeoutAfterDelivery_);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    /// @notice Changes the fee of jobs created from now on (at most 30%).
    function setPlatformFee(uint256 bps) external onlyOwner {
        if (bps > MAX_PLATFORM_FEE_BPS) revert FeeTooHigh(bps, MAX_PLATFORM_FEE_BPS);
        emit PlatformFeeUpdated(platformFeeBps, bps);
        platformFeeBps = bps;
    }

    /// @notice Changes the arbitration penalty rate (at most 10%).
    function setArbitrationPenalty(uint256 bps) external onlyOwner {
        if (bps > MAX_PENALTY_BPS) revert FeeTooHigh(bps, MAX_PENALTY_BPS);
        emit ArbitrationPenaltyUpdated(arbitrationPenaltyBps, bps);
        arbitrationPenaltyBps = bps;
    }

    /// @notice Changes the penalty cap (18-decimal units).
    function setMaxArbitrationPenalty(uint256 cap18) external onlyOwner {
        emit MaxArbitrationPenaltyUpdated(maxArbitrationPenalty, cap18);
        maxArbitrationPenalty = cap18;
    }

    /// @notice Selects the public contract's quirks (see the contract NatSpec). Jobs already
    ///         disputed keep the bond they posted; a bond is always returned or forfeited with its job.
    function setCompat(bool penaltyFromWinner_, bool penaltyCapIn18Decimals_, bool timeoutAfterDelivery_) external onlyOwner {
        penaltyFromWinner = penaltyFromWinner_;
        penaltyCapIn18Decimals = penaltyCapIn18Decimals_;
        timeoutAfterDelivery = timeoutAfterDelivery_;
        emit CompatUpdated(penaltyFromWinner_, penaltyCapIn18Decimals_, timeoutAfterDelivery_);
    }

    // ---------------------------------------------------------------------------------------------
    // Job lifecycle
    // ---------------------------------------------------------------------------------------------

    /// @notice Locks `amount` of `token` (pulled from the caller, who becomes the employer) for
    ///         `worker`, judged by `judge`, due `deadlineDuration` seconds from now. The platform fee
    ///         is computed now and never changes for this job.
    function createJob(address worker, address judge, address token, uint256 amount, uint256 deadlineDuration)
        external
        nonReentrant
        returns (uint256 jobId)
    {
        if (worker == address(0) || judge == address(0) || token == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        if (deadlineDuration == 0 || deadlineDuration > MAX_DEADLINE_DURATION) revert InvalidDeadline(deadlineDuration);
        jobId = nextJobId++;
        uint256 deadline = block.timestamp + deadlineDuration;
        _jobs[jobId] = Job({
            employer: msg.sender,
            worker: worker,
            judge: judge,
            token: token,
            budget: amount,
            platformFee: Aps1Fees.share(amount, platformFeeBps),
            deadline: deadline,
            status: JobStatus.Created,
            rated: false
        });
        escrowed[token] += amount;
        emit JobCreated(jobId, msg.sender, worker, amount, deadline);
        Aps1Token.pull(token, msg.sender, amount);
    }

    /// @notice The worker (or judge, or owner) takes the job on: Created → Executing.
    function startJob(uint256 jobId) external {
        Job storage j = _job(jobId);
        _onlyWorkerJudgeOwner(jobId, j);
        if (j.status != JobStatus.Created) revert InvalidStatus(jobId, j.status);
        _setStatus(jobId, j, JobStatus.Executing);
    }

    /// @notice The worker (or judge, or owner) delivers: Created|Executing → Completed. In the
    ///         reference profile only until the deadline (a late delivery cannot block the refund).
    function completeJob(uint256 jobId) external {
        Job storage j = _job(jobId);
        _onlyWorkerJudgeOwner(jobId, j);
        if (j.status != JobStatus.Created && j.status != JobStatus.Executing) revert InvalidStatus(jobId, j.status);
        if (!timeoutAfterDelivery && block.timestamp > j.deadline) revert DeadlinePassed(jobId, j.deadline);
        _setStatus(jobId, j, JobStatus.Completed);
    }

    /// @notice The employer contests the job: Created|Executing|Completed → Disputed. In the reference
    ///         profile the employer posts the arbitration penalty as a bond (pulled now; needs an allowance).
    function disputeJob(uint256 jobId) external nonReentrant {
        Job storage j = _job(jobId);
        if (msg.sender != j.employer) revert NotAuthorized(jobId, msg.sender);
        if (j.status != JobStatus.Created && j.status != JobStatus.Executing && j.status != JobStatus.Completed) {
            revert InvalidStatus(jobId, j.status);
        }
        uint256 bond = penaltyFromWinner ? 0 : penaltyOf(j.budget, j.token);
        disputeBond[jobId] = bond;
        escrowed[j.token] += bond;
        _setStatus(jobId, j, JobStatus.Disputed);
        emit JobDisputed(jobId, msg.sender, bond);
        Aps1Token.pull(j.token, msg.sender, bond);
    }

    /// @notice The judge (or owner) pays the worker `budget - fee`. If the job was disputed, the
    ///         employer lost: reference, its bond is the penalty; compat, the penalty is cut from
    ///         the worker's pay.
    function settleJob(uint256 jobId) external nonReentrant {
        Job storage j = _job(jobId);
        _onlyJudgeOwner(jobId, j);
        _notFinal(jobId, j);
        uint256 fee = j.platformFee;
        uint256 workerPay = j.budget - fee;
        uint256 toFees = fee;
        uint256 released = j.budget;
        if (j.status == JobStatus.Disputed) {
            // The regime is fixed when the dispute is opened: a bonded dispute never charges the winner.
            uint256 penalty = disputeBond[jobId];
            if (penalty > 0) {
                released += penalty;
                disputeBond[jobId] = 0;
            } else if (penaltyFromWinner) {
                penalty = penaltyOf(j.budget, j.token);
                workerPay -= penalty;
            }
            toFees += penalty;
            emit ArbitrationPenaltyApplied(jobId, j.employer, penalty);
        }
        escrowed[j.token] -= released;
        accumulatedFees[j.token] += toFees;
        _setStatus(jobId, j, JobStatus.Settled);
        emit JobSettled(jobId, workerPay, fee);
        Aps1Token.send(j.token, j.worker, workerPay);
    }

    /// @notice The judge (or owner) returns the budget to the employer, no platform fee. If the job
    ///         was disputed, the worker lost: reference, the employer also gets its bond back;
    ///         compat, the penalty is cut from the employer's refund.
    function refundJob(uint256 jobId) external nonReentrant {
        Job storage j = _job(jobId);
        _onlyJudgeOwner(jobId, j);
        _notFinal(jobId, j);
        uint256 refund = j.budget;
        uint256 released = j.budget;
        if (j.status == JobStatus.Disputed) {
            uint256 bond = disputeBond[jobId];
            if (bond > 0) {
                refund += bond;
                released += bond;
                disputeBond[jobId] = 0;
            } else if (penaltyFromWinner) {
                uint256 penalty = penaltyOf(j.budget, j.token);
                refund -= penalty;
                accumulatedFees[j.token] += penalty;
                emit ArbitrationPenaltyApplied(jobId, j.worker, penalty);
            }
        }
        escrowed[j.token] -= released;
        _setStatus(jobId, j, JobStatus.Refunded);
        emit JobRefunded(jobId, refund);
        Aps1Token.send(j.token, j.employer, refund);
    }

    /// @notice After the deadline the employer takes back the whole budget (no fee) of a job the
    ///         worker did not deliver (reference: Created or Executing; compat: any unfinished job).
    function claimTimeout(uint256 jobId) external nonReentrant {
        Job storage j = _job(jobId);
        if (msg.sender != j.employer) revert NotAuthorized(jobId, msg.sender);
        if (!_timeoutAllowed(j.status)) revert InvalidStatus(jobId, j.status);
        if (block.timestamp <= j.deadline) revert DeadlineNotReached(jobId, j.deadline);
        uint256 bond = disputeBond[jobId];
        uint256 refund = j.budget + bond;
        disputeBond[jobId] = 0;
        escrowed[j.token] -= refund;
        _setStatus(jobId, j, JobStatus.Refunded);
        emit JobRefunded(jobId, refund);
        emit TimeoutClaimed(jobId, msg.sender, refund);
        Aps1Token.send(j.token, j.employer, refund);
    }

    /// @notice The employer rates the worker of a settled job once, 1 to 5.
    function rateWorker(uint256 jobId, uint8 rating) external {
        Job storage j = _job(jobId);
        if (msg.sender != j.employer) revert NotAuthorized(jobId, msg.sender);
        if (j.status != JobStatus.Settled) revert InvalidStatus(jobId, j.status);
        if (j.rated) revert AlreadyRated(jobId);
        if (rating < 1 || rating > 5) revert InvalidRating(rating);
        j.rated = true;
        _ratingSum[j.worker] += rating;
        _ratingCount[j.worker] += 1;
        emit WorkerRated(jobId, j.worker, rating);
    }

    /// @notice Sends the accrued fees and penalties of `token` to the owner.
    function withdrawFees(address token) external onlyOwner nonReentrant {
        uint256 amount = accumulatedFees[token];
        if (amount == 0) revert NothingToWithdraw(token);
        accumulatedFees[token] = 0;
        emit FeesWithdrawn(token, msg.sender, amount);
        Aps1Token.send(token, msg.sender, amount);
    }

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @notice A job; an unknown id returns zeros (employer address(0)).
    function getJob(uint256 jobId) external view returns (Job memory) {
        return _jobs[jobId];
    }

    /// @notice Sum and count of the ratings a worker received.
    function getWorkerRating(address worker) external view returns (uint256 totalRating, uint256 ratingCount) {
        return (_ratingSum[worker], _ratingCount[worker]);
    }

    /// @notice Whether the employer may `claimTimeout` now.
    function isTimedOut(uint256 jobId) external view returns (bool) {
        Job storage j = _jobs[jobId];
        return j.employer != address(0) && block.timestamp > j.deadline && _timeoutAllowed(j.status);
    }

    /// @notice The arbitration penalty of a dispute on `budget` of `token`, with today's rate and cap.
    function penaltyOf(uint256 budget, address token) public view returns (uint256) {
        uint256 cap = Aps1Fees.penaltyCap(maxArbitrationPenalty, Aps1Token.decimalsOf(token), penaltyCapIn18Decimals);
        return Aps1Fees.penalty(budget, arbitrationPenaltyBps, cap);
    }

    // ---------------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------------

    function _job(uint256 jobId) private view returns (Job storage j) {
        j = _jobs[jobId];
        if (j.employer == address(0)) revert JobNotFound(jobId);
    }

    function _onlyWorkerJudgeOwner(uint256 jobId, Job storage j) private view {
        if (msg.sender != j.worker && msg.sender != j.judge && msg.sender != owner) revert NotAuthorized(jobId, msg.sender);
    }

    function _onlyJudgeOwner(uint256 jobId, Job storage j) private view {
        if (msg.sender != j.judge && msg.sender != owner) revert NotAuthorized(jobId, msg.sender);
    }

    function _notFinal(uint256 jobId, Job storage j) private view {
        if (j.status == JobStatus.Settled || j.status == JobStatus.Refunded) revert InvalidStatus(jobId, j.status);
    }

    function _timeoutAllowed(JobStatus s) private view returns (bool) {
        if (s == JobStatus.Settled || s == JobStatus.Refunded) return false;
        return timeoutAfterDelivery || s == JobStatus.Created || s == JobStatus.Executing;
    }

    function _setStatus(uint256 jobId, Job storage j, JobStatus next) private {
        emit JobStatusChanged(jobId, j.status, next);
        j.status = next;
    }
}
