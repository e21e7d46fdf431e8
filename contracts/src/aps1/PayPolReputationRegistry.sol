// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title PayPolReputationRegistry
/// @notice APS-1 agent reputation (seed 004 "On-chain reputation scores"; specs/protocols.md §D.5):
///         the owner pushes snapshots of an agent's record (NexusV2 ratings, off-chain ratings, jobs
///         completed and failed, proof commitments) and the registry derives a score 0..10000 and a
///         tier. Score = min(3000, nexusSum*600/nexusCount) + min(2500, offSum*500/offCount)
///         + completed*2500/(completed+failed) + max(0, matched*2000/verified - 200*slashed),
///         capped at 10000 (a term with a zero denominator is 0). Tiers: >9500 Legend (4),
///         >8000 Elite (3), >6000 Trusted (2), >3000 Rising (1), else Newcomer (0).
/// @dev The same formula is the pure function reference-impl/aps1/protocol/reputation.ts (forge
///      vectors are generated from it). Named PayPolReputationRegistry here so its artifact does not
///      collide with ERC-8004's ReputationRegistry; deployed at the seed's ReputationRegistry address.
contract PayPolReputationRegistry {
    struct Inputs {
        uint256 nexusRatingSum;
        uint256 nexusRatingCount;
        uint256 offChainRatingSum;
        uint256 offChainRatingCount;
        uint256 jobsCompleted;
        uint256 jobsFailed;
        uint256 proofCommitments;
        uint256 proofVerified;
        uint256 proofMatched;
        uint256 proofSlashed;
    }

    struct Reputation {
        Inputs inputs;
        uint256 score;
        uint8 tier;
        uint256 updatedAt;
    }

    uint256 public constant MAX_SCORE = 10_000;

    bool private _initialized;
    address public owner;
    mapping(address => Reputation) private _reputations;

    event Initialized(address owner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event ReputationUpdated(address indexed agent, uint256 score, uint8 tier);

    error AlreadyInitialized();
    error ZeroAddress();
    error NotOwner(address caller);
    error LengthMismatch(uint256 agents, uint256 inputs);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    function initialize(address owner_) external {
        if (_initialized) revert AlreadyInitialized();
        if (owner_ == address(0)) revert ZeroAddress();
        _initialized = true;
        owner = owner_;
        emit Initialized(owner_);
        emit OwnershipTransferred(address(0), owner_);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    /// @notice Replaces `agent`'s snapshot and recomputes its score and tier.
    function updateReputation(
        address agent,
        uint256 nexusRatingSum,
        uint256 nexusRatingCount,
        uint256 offChainRatingSum,
        uint256 offChainRatingCount,
        uint256 jobsCompleted,
        uint256 jobsFailed,
        uint256 proofCommitments,
        uint256 proofVerified,
        uint256 proofMatched,
        uint256 proofSlashed
    ) external onlyOwner {
        _update(
            agent,
            Inputs(
                nexusRatingSum,
                nexusRatingCount,
                offChainRatingSum,
                offChainRatingCount,
                jobsCompleted,
                jobsFailed,
                proofCommitments,
                proofVerified,
                proofMatched,
                proofSlashed
            )
        );
    }

    /// @notice `updateReputation` for several agents at once (all or nothing).
    function batchUpdateReputation(address[] calldata agents, Inputs[] calldata inputs) external onlyOwner {
        if (agents.length != inputs.length) revert LengthMismatch(agents.length, inputs.length);
        for (uint256 i; i < agents.length; ++i) {
            _update(agents[i], inputs[i]);
        }
    }

    function getReputation(address agent) external view returns (Reputation memory) {
        return _reputations[agent];
    }

    function getScore(address agent) external view returns (uint256) {
        return _reputations[agent].score;
    }

    function getTier(address agent) external view returns (uint8) {
        return _reputations[agent].tier;
    }

    /// @notice The score formula (see the contract NatSpec).
    function computeScore(Inputs memory r) public pure returns (uint256 score) {
        if (r.nexusRatingCount > 0) score += _min(3000, r.nexusRatingSum * 600 / r.nexusRatingCount);
        if (r.offChainRatingCount > 0) score += _min(2500, r.offChainRatingSum * 500 / r.offChainRatingCount);
        uint256 total = r.jobsCompleted + r.jobsFailed;
        if (total > 0) score += r.jobsCompleted * 2500 / total;
        if (r.proofVerified > 0) {
            uint256 proof = r.proofMatched * 2000 / r.proofVerified;
            uint256 slashPenalty = r.proofSlashed * 200;
            if (proof > slashPenalty) score += proof - slashPenalty;
        }
        if (score > MAX_SCORE) score = MAX_SCORE;
    }

    /// @notice The tier of a score.
    function tierOf(uint256 score) public pure returns (uint8) {
        if (score > 9500) return 4;
        if (score > 8000) return 3;
        if (score > 6000) return 2;
        if (score > 3000) return 1;
        return 0;
    }

    function _update(address agent, Inputs memory r) private {
        if (agent == address(0)) revert ZeroAddress();
        uint256 score = computeScore(r);
        uint8 tier = tierOf(score);
        _reputations[agent] = Reputation({inputs: r, score: score, tier: tier, updatedAt: block.timestamp});
        emit ReputationUpdated(agent, score, tier);
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
