// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title BrokenIdentityRegistry
/// @notice TEST FIXTURE ONLY. A stand-alone ERC-8004 identity registry (current v2 surface used by
///         the conformance scenarios) whose checks can be switched off one bit at a time. With
///         `bugs == 0` it is a correct implementation (the control); each bit is the defect one
///         requirement exists to catch. Deployed normally (constructor), not etched.
contract BrokenIdentityRegistry is ERC721 {
    // Bug bits (keep in sync with scenarios/erc8004/broken.ts).
    uint256 internal constant WALLET_ANY_CALLER = 1 << 0; // ERC8004-ID-03
    uint256 internal constant WALLET_SKIP_SIG = 1 << 1; // ERC8004-ID-04
    uint256 internal constant WALLET_EXPIRED_OK = 1 << 2; // ERC8004-ID-05
    uint256 internal constant WALLET_FAR_DEADLINE_OK = 1 << 3; // ERC8004-ID-06
    uint256 internal constant URI_ANY_CALLER = 1 << 4; // ERC8004-ID-02
    uint256 internal constant TRANSFER_KEEPS_WALLET = 1 << 5; // ERC8004-ID-07
    uint256 internal constant REGISTER_NO_WALLET = 1 << 6; // ERC8004-ID-01
    uint256 internal constant RESERVED_KEY_ALLOWED = 1 << 7; // ERC8004-ID-08

    bytes32 internal constant WALLET_TYPEHASH =
        keccak256("AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)");

    event Registered(uint256 indexed agentId, string agentURI, address indexed owner);
    event URIUpdated(uint256 indexed agentId, string newURI, address indexed updatedBy);
    event MetadataSet(uint256 indexed agentId, string indexed indexedMetadataKey, string metadataKey, bytes metadataValue);

    uint256 public immutable bugs;
    uint256 internal _lastId;
    mapping(uint256 => string) internal _uri;
    mapping(uint256 => mapping(string => bytes)) internal _metadata;
    mapping(uint256 => address) internal _wallet;

    constructor(uint256 bugs_) ERC721("AgentIdentity", "AGENT") {
        bugs = bugs_;
    }

    function _bug(uint256 b) internal view returns (bool) {
        return bugs & b != 0;
    }

    function register() external returns (uint256) {
        return _register("");
    }

    function register(string calldata agentURI) external returns (uint256) {
        return _register(agentURI);
    }

    function _register(string memory agentURI) internal returns (uint256 agentId) {
        agentId = _lastId++;
        _uri[agentId] = agentURI;
        _safeMint(msg.sender, agentId);
        emit Registered(agentId, agentURI, msg.sender);
        if (!_bug(REGISTER_NO_WALLET)) _setWallet(agentId, msg.sender);
    }

    function tokenURI(uint256 agentId) public view override returns (string memory) {
        _requireOwned(agentId);
        return _uri[agentId];
    }

    function setAgentURI(uint256 agentId, string calldata newURI) external {
        if (!_bug(URI_ANY_CALLER)) _requireAuthorized(agentId);
        _uri[agentId] = newURI;
        emit URIUpdated(agentId, newURI, msg.sender);
    }

    function getMetadata(uint256 agentId, string calldata key) external view returns (bytes memory) {
        return _metadata[agentId][key];
    }

    function setMetadata(uint256 agentId, string calldata key, bytes calldata value) external {
        if (!_bug(URI_ANY_CALLER)) _requireAuthorized(agentId);
        require(_bug(RESERVED_KEY_ALLOWED) || keccak256(bytes(key)) != keccak256("agentWallet"), "reserved key");
        _metadata[agentId][key] = value;
        emit MetadataSet(agentId, key, key, value);
    }

    function getAgentWallet(uint256 agentId) external view returns (address) {
        _requireOwned(agentId);
        return _wallet[agentId];
    }

    function setAgentWallet(uint256 agentId, address newWallet, uint256 deadline, bytes calldata signature) external {
        require(newWallet != address(0), "bad wallet");
        require(_bug(WALLET_EXPIRED_OK) || block.timestamp <= deadline, "expired");
        require(_bug(WALLET_FAR_DEADLINE_OK) || deadline <= block.timestamp + 5 minutes, "deadline too far");
        address agentOwner = _requireOwned(agentId);
        if (!_bug(WALLET_ANY_CALLER)) _requireAuthorized(agentId);
        if (!_bug(WALLET_SKIP_SIG)) {
            bytes32 digest = keccak256(
                abi.encodePacked("\x19\x01", _domainSeparator(), keccak256(abi.encode(WALLET_TYPEHASH, agentId, newWallet, agentOwner, deadline)))
            );
            require(signature.length == 65, "invalid wallet sig");
            bytes32 r;
            bytes32 s;
            uint8 v;
            assembly {
                r := calldataload(signature.offset)
                s := calldataload(add(signature.offset, 0x20))
                v := byte(0, calldataload(add(signature.offset, 0x40)))
            }
            require(ecrecover(digest, v, r, s) == newWallet, "invalid wallet sig");
        }
        _setWallet(agentId, newWallet);
    }

    function isAuthorizedOrOwner(address spender, uint256 agentId) public view returns (bool) {
        address o = _requireOwned(agentId);
        return spender == o || isApprovedForAll(o, spender) || getApproved(agentId) == spender;
    }

    function _requireAuthorized(uint256 agentId) internal view {
        require(isAuthorizedOrOwner(msg.sender, agentId), "Not authorized");
    }

    function _domainSeparator() internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("ERC8004IdentityRegistry"),
                keccak256("1"),
                block.chainid,
                address(this)
            )
        );
    }

    function _setWallet(uint256 agentId, address w) internal {
        _wallet[agentId] = w;
        bytes memory value = w == address(0) ? bytes("") : abi.encodePacked(w);
        _metadata[agentId]["agentWallet"] = value;
        emit MetadataSet(agentId, "agentWallet", "agentWallet", value);
    }

    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        if (from != address(0) && to != address(0) && !_bug(TRANSFER_KEEPS_WALLET)) _setWallet(tokenId, address(0));
    }
}

interface IIdentity {
    function isAuthorizedOrOwner(address spender, uint256 agentId) external view returns (bool);
}

/// @title BrokenReputationRegistry
/// @notice TEST FIXTURE ONLY. Minimal ERC-8004 reputation registry (giveFeedback, revokeFeedback,
///         readFeedback, getLastIndex, getSummary) with switchable defects; `bugs == 0` is correct.
contract BrokenReputationRegistry {
    uint256 internal constant SELF_FEEDBACK_OK = 1 << 0; // ERC8004-REP-02
    uint256 internal constant DECIMALS_UNCHECKED = 1 << 1; // ERC8004-REP-03
    uint256 internal constant REVOKED_COUNTED = 1 << 2; // ERC8004-REP-04
    uint256 internal constant INDEX_ZERO_BASED = 1 << 3; // ERC8004-REP-01

    struct Feedback {
        int128 value;
        uint8 valueDecimals;
        bool isRevoked;
        string tag1;
        string tag2;
    }

    event NewFeedback(
        uint256 indexed agentId, address indexed clientAddress, uint64 feedbackIndex, int128 value, uint8 valueDecimals,
        string indexed indexedTag1, string tag1, string tag2, string endpoint, string feedbackURI, bytes32 feedbackHash
    );
    event FeedbackRevoked(uint256 indexed agentId, address indexed clientAddress, uint64 indexed feedbackIndex);

    address public immutable identity;
    uint256 public immutable bugs;
    mapping(uint256 => mapping(address => uint64)) internal _last;
    mapping(uint256 => mapping(address => mapping(uint64 => Feedback))) internal _fb;

    constructor(address identity_, uint256 bugs_) {
        identity = identity_;
        bugs = bugs_;
    }

    function _bug(uint256 b) internal view returns (bool) {
        return bugs & b != 0;
    }

    function getIdentityRegistry() external view returns (address) {
        return identity;
    }

    function giveFeedback(
        uint256 agentId, int128 value, uint8 valueDecimals, string memory tag1, string memory tag2,
        string memory endpoint, string memory feedbackURI, bytes32 feedbackHash
    ) external {
        uint64 index = _admit(agentId, valueDecimals);
        _fb[agentId][msg.sender][index] = Feedback(value, valueDecimals, false, tag1, tag2);
        emit NewFeedback(agentId, msg.sender, index, value, valueDecimals, tag1, tag1, tag2, endpoint, feedbackURI, feedbackHash);
    }

    /// @dev Checks a new feedback and allocates its index (split out to keep giveFeedback's stack small).
    function _admit(uint256 agentId, uint8 valueDecimals) internal returns (uint64 index) {
        require(_bug(DECIMALS_UNCHECKED) || valueDecimals <= 18, "too many decimals");
        bool self = IIdentity(identity).isAuthorizedOrOwner(msg.sender, agentId); // reverts for unknown agents
        require(_bug(SELF_FEEDBACK_OK) || !self, "Self-feedback not allowed");
        index = _bug(INDEX_ZERO_BASED) ? _last[agentId][msg.sender] : _last[agentId][msg.sender] + 1;
        _last[agentId][msg.sender] += 1;
    }

    function revokeFeedback(uint256 agentId, uint64 feedbackIndex) external {
        require(feedbackIndex > 0, "index must be > 0");
        require(feedbackIndex <= _last[agentId][msg.sender], "index out of bounds");
        Feedback storage f = _fb[agentId][msg.sender][feedbackIndex];
        require(!f.isRevoked, "Already revoked");
        f.isRevoked = true;
        emit FeedbackRevoked(agentId, msg.sender, feedbackIndex);
    }

    function getLastIndex(uint256 agentId, address client) external view returns (uint64) {
        return _last[agentId][client];
    }

    function readFeedback(uint256 agentId, address client, uint64 index)
        external
        view
        returns (int128 value, uint8 valueDecimals, string memory tag1, string memory tag2, bool isRevoked)
    {
        require(index > 0, "index must be > 0");
        require(index <= _last[agentId][client], "index out of bounds");
        Feedback storage f = _fb[agentId][client][index];
        return (f.value, f.valueDecimals, f.tag1, f.tag2, f.isRevoked);
    }

    /// @dev Simplified: count and plain sum at 18 decimals scaled back to 0 decimals; the scenarios
    ///      only rely on `count`.
    function getSummary(uint256 agentId, address[] calldata clients, string calldata, string calldata)
        external
        view
        returns (uint64 count, int128 summaryValue, uint8 summaryValueDecimals)
    {
        require(clients.length > 0, "clientAddresses required");
        for (uint256 i = 0; i < clients.length; i++) {
            uint64 last = _last[agentId][clients[i]];
            for (uint64 j = 1; j <= last; j++) {
                Feedback storage f = _fb[agentId][clients[i]][j];
                if (f.isRevoked && !_bug(REVOKED_COUNTED)) continue;
                count++;
                summaryValue += f.value;
            }
        }
        if (count > 0) summaryValue = summaryValue / int128(uint128(count));
        summaryValueDecimals = 0;
    }
}
