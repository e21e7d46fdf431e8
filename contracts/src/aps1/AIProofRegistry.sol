// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title AIProofRegistry
/// @notice APS-1 execution proofs (seed 004 "Phase 5: Verification"; specs/protocols.md §D.5): before
///         executing, an agent commits the hash of its plan for a NexusV2 job; after executing it
///         submits the hash of what it did; `matched = planHash == resultHash` is the proof of honest
///         execution. A commitment is verified once. The owner may slash a verified mismatch (a
///         counter and an event, no funds).
/// @dev Written for this harness from the public interface. Compat switch `verifyByAnyone`
///      reproduces the public source, where anyone may verify a commitment (so a third party can
///      front-run the agent with a wrong result hash and make it slashable); off (the reference),
///      only the committing agent verifies. No constructor: `initialize` once.
contract AIProofRegistry {
    struct Commitment {
        address agent;
        bytes32 planHash;
        bytes32 resultHash;
        uint256 nexusJobId;
        uint256 committedAt;
        uint256 verifiedAt;
        bool verified;
        bool matched;
        bool slashed;
    }

    bool private _initialized;
    address public owner;
    bool public verifyByAnyone;

    uint256 public totalCommitments;
    uint256 public totalVerified;
    uint256 public totalMatched;
    uint256 public totalSlashed;
    mapping(bytes32 => Commitment) private _commitments;
    mapping(uint256 => bytes32) private _jobCommitments;

    event Initialized(address owner, bool verifyByAnyone);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event CommitmentMade(bytes32 indexed commitmentId, address indexed agent, bytes32 planHash, uint256 indexed nexusJobId);
    event CommitmentVerified(bytes32 indexed commitmentId, bool matched, bytes32 resultHash);
    event AgentSlashed(bytes32 indexed commitmentId, address indexed agent);
    event CompatUpdated(bool verifyByAnyone);

    error AlreadyInitialized();
    error ZeroAddress();
    error ZeroPlanHash();
    error CommitmentNotFound(bytes32 commitmentId);
    error AlreadyVerified(bytes32 commitmentId);
    error NotCommitter(bytes32 commitmentId, address caller);
    error NotVerifiedMismatch(bytes32 commitmentId);
    error AlreadySlashed(bytes32 commitmentId);
    error NotOwner(address caller);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    function initialize(address owner_, bool verifyByAnyone_) external {
        if (_initialized) revert AlreadyInitialized();
        if (owner_ == address(0)) revert ZeroAddress();
        _initialized = true;
        owner = owner_;
        verifyByAnyone = verifyByAnyone_;
        emit Initialized(owner_, verifyByAnyone_);
        emit OwnershipTransferred(address(0), owner_);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    function setCompat(bool verifyByAnyone_) external onlyOwner {
        verifyByAnyone = verifyByAnyone_;
        emit CompatUpdated(verifyByAnyone_);
    }

    /// @notice Commits `planHash` for `nexusJobId`; the id is
    ///         keccak256(abi.encodePacked(agent, planHash, nexusJobId, block.timestamp, totalCommitments)).
    ///         The job's latest commitment is what `getJobCommitment` returns.
    function commit(bytes32 planHash, uint256 nexusJobId) external returns (bytes32 commitmentId) {
        if (planHash == bytes32(0)) revert ZeroPlanHash();
        commitmentId = keccak256(abi.encodePacked(msg.sender, planHash, nexusJobId, block.timestamp, totalCommitments));
        totalCommitments += 1;
        _commitments[commitmentId] = Commitment({
            agent: msg.sender,
            planHash: planHash,
            resultHash: bytes32(0),
            nexusJobId: nexusJobId,
            committedAt: block.timestamp,
            verifiedAt: 0,
            verified: false,
            matched: false,
            slashed: false
        });
        _jobCommitments[nexusJobId] = commitmentId;
        emit CommitmentMade(commitmentId, msg.sender, planHash, nexusJobId);
    }

    /// @notice Records the result hash once; `matched` is `planHash == resultHash`.
    function verify(bytes32 commitmentId, bytes32 resultHash) external returns (bool matched) {
        Commitment storage c = _commitments[commitmentId];
        if (c.agent == address(0)) revert CommitmentNotFound(commitmentId);
        if (c.verified) revert AlreadyVerified(commitmentId);
        if (!verifyByAnyone && msg.sender != c.agent) revert NotCommitter(commitmentId, msg.sender);
        matched = c.planHash == resultHash;
        c.verified = true;
        c.matched = matched;
        c.resultHash = resultHash;
        c.verifiedAt = block.timestamp;
        totalVerified += 1;
        if (matched) totalMatched += 1;
        emit CommitmentVerified(commitmentId, matched, resultHash);
    }

    /// @notice The owner marks a verified mismatch as slashed (once).
    function slash(bytes32 commitmentId) external onlyOwner {
        Commitment storage c = _commitments[commitmentId];
        if (c.agent == address(0)) revert CommitmentNotFound(commitmentId);
        if (!c.verified || c.matched) revert NotVerifiedMismatch(commitmentId);
        if (c.slashed) revert AlreadySlashed(commitmentId);
        c.slashed = true;
        totalSlashed += 1;
        emit AgentSlashed(commitmentId, c.agent);
    }

    function getCommitment(bytes32 commitmentId) external view returns (Commitment memory) {
        return _commitments[commitmentId];
    }

    function getJobCommitment(uint256 nexusJobId) external view returns (bytes32) {
        return _jobCommitments[nexusJobId];
    }

    /// @notice (commitments, verified, matched, mismatched, slashed).
    function getStats() external view returns (uint256 total, uint256 verified, uint256 matched, uint256 mismatched, uint256 slashed) {
        return (totalCommitments, totalVerified, totalMatched, totalVerified - totalMatched, totalSlashed);
    }
}
