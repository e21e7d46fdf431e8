// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @dev The identity-registry calls the reputation registry needs.
interface IIdentityRegistryView {
    function isAuthorizedOrOwner(address spender, uint256 agentId) external view returns (bool);
}

/// @title ReputationRegistry
/// @notice ERC-8004 reputation registry, current (v2, "2.0.0") interface: clients leave signed-number
/// feedback (`int128 value` with `uint8 valueDecimals`, two tags) about agents of an
/// {IdentityRegistry}; clients may revoke their own feedback; anyone may append responses.
/// @dev Deviations from erc-8004-contracts' ReputationRegistryUpgradeable, on purpose:
///  - no proxy/UUPS/Ownable; {initialize} is callable once by anyone (the harness calls it right after
///    etching the code), reverting AlreadyInitialized() afterwards;
///  - storage layout differs (no ERC-7201 namespace);
///  - {getSummary}'s rounding: the average is taken at 18 decimals with Solidity's truncating
///    division (towards zero), then truncated again to the mode of the decimals seen; a tie between
///    modes picks the smallest number of decimals. The real contract's tie rule is not specified;
///    an average that does not fit int128 at that precision reverts "summary overflows int128".
contract ReputationRegistry {
    event NewFeedback(
        uint256 indexed agentId,
        address indexed clientAddress,
        uint64 feedbackIndex,
        int128 value,
        uint8 valueDecimals,
        string indexed indexedTag1,
        string tag1,
        string tag2,
        string endpoint,
        string feedbackURI,
        bytes32 feedbackHash
    );
    event FeedbackRevoked(uint256 indexed agentId, address indexed clientAddress, uint64 indexed feedbackIndex);
    event ResponseAppended(
        uint256 indexed agentId,
        address indexed clientAddress,
        uint64 feedbackIndex,
        address indexed responder,
        string responseURI,
        bytes32 responseHash
    );

    /// @notice Raised by a second {initialize}.
    error AlreadyInitialized();

    struct Feedback {
        int128 value;
        uint8 valueDecimals;
        bool isRevoked;
        string tag1;
        string tag2;
    }

    /// @notice Largest accepted |value| (1e38, below int128's 1.7e38).
    int128 public constant MAX_ABS_VALUE = 1e38;
    /// @notice Largest accepted valueDecimals.
    uint8 public constant MAX_DECIMALS = 18;

    address private _identityRegistry;
    mapping(uint256 => mapping(address => mapping(uint64 => Feedback))) private _feedback;
    mapping(uint256 => mapping(address => uint64)) private _lastIndex;
    mapping(uint256 => address[]) private _clients;
    mapping(uint256 => mapping(address => bool)) private _isClient;
    mapping(uint256 => mapping(address => mapping(uint64 => mapping(address => uint64)))) private _responseCount;
    mapping(uint256 => mapping(address => mapping(uint64 => address[]))) private _responders;

    /// @notice One-time setup: binds this registry to an identity registry.
    function initialize(address identityRegistry_) external {
        if (_identityRegistry != address(0)) revert AlreadyInitialized();
        require(identityRegistry_ != address(0), "bad identity");
        _identityRegistry = identityRegistry_;
    }

    function getIdentityRegistry() external view returns (address) {
        return _identityRegistry;
    }

    function getVersion() external pure returns (string memory) {
        return "2.0.0";
    }

    // ---------------------------------------------------------------------------------------------
    // Writes
    // ---------------------------------------------------------------------------------------------

    /// @notice Records feedback from the caller about `agentId`. The agent's owner and operators may
    /// not rate it. `endpoint`, `feedbackURI` and `feedbackHash` are only emitted, not stored.
    function giveFeedback(
        uint256 agentId,
        int128 value,
        uint8 valueDecimals,
        string memory tag1,
        string memory tag2,
        string memory endpoint,
        string memory feedbackURI,
        bytes32 feedbackHash
    ) external {
        // `memory` strings (one stack slot each, not two) keep this within the legacy stack limit.
        require(valueDecimals <= MAX_DECIMALS, "too many decimals");
        require(value <= MAX_ABS_VALUE && value >= -MAX_ABS_VALUE, "value too large");
        // Reverts ERC721NonexistentToken for an unknown agent.
        require(
            !IIdentityRegistryView(_identityRegistry).isAuthorizedOrOwner(msg.sender, agentId),
            "Self-feedback not allowed"
        );

        uint64 index = _lastIndex[agentId][msg.sender] + 1; // 1-based
        _lastIndex[agentId][msg.sender] = index;
        Feedback storage fb = _feedback[agentId][msg.sender][index];
        fb.value = value;
        fb.valueDecimals = valueDecimals;
        fb.tag1 = tag1;
        fb.tag2 = tag2;
        if (!_isClient[agentId][msg.sender]) {
            _isClient[agentId][msg.sender] = true;
            _clients[agentId].push(msg.sender);
        }
        emit NewFeedback(
            agentId, msg.sender, index, value, valueDecimals, tag1, tag1, tag2, endpoint, feedbackURI, feedbackHash
        );
    }

    /// @notice Revokes the caller's own feedback number `feedbackIndex` about `agentId`.
    function revokeFeedback(uint256 agentId, uint64 feedbackIndex) external {
        require(feedbackIndex > 0, "index must be > 0");
        require(feedbackIndex <= _lastIndex[agentId][msg.sender], "index out of bounds");
        Feedback storage fb = _feedback[agentId][msg.sender][feedbackIndex];
        require(!fb.isRevoked, "Already revoked");
        fb.isRevoked = true;
        emit FeedbackRevoked(agentId, msg.sender, feedbackIndex);
    }

    /// @notice Appends a response (by anyone) to existing feedback, revoked or not.
    function appendResponse(
        uint256 agentId,
        address clientAddress,
        uint64 feedbackIndex,
        string calldata responseURI,
        bytes32 responseHash
    ) external {
        require(bytes(responseURI).length > 0, "Empty URI");
        require(feedbackIndex > 0, "index must be > 0");
        require(feedbackIndex <= _lastIndex[agentId][clientAddress], "index out of bounds");
        if (_responseCount[agentId][clientAddress][feedbackIndex][msg.sender] == 0) {
            _responders[agentId][clientAddress][feedbackIndex].push(msg.sender);
        }
        _responseCount[agentId][clientAddress][feedbackIndex][msg.sender]++;
        emit ResponseAppended(agentId, clientAddress, feedbackIndex, msg.sender, responseURI, responseHash);
    }

    // ---------------------------------------------------------------------------------------------
    // Reads
    // ---------------------------------------------------------------------------------------------

    function getLastIndex(uint256 agentId, address clientAddress) external view returns (uint64) {
        return _lastIndex[agentId][clientAddress];
    }

    function getClients(uint256 agentId) external view returns (address[] memory) {
        return _clients[agentId];
    }

    function readFeedback(uint256 agentId, address clientAddress, uint64 feedbackIndex)
        external
        view
        returns (int128 value, uint8 valueDecimals, string memory tag1, string memory tag2, bool isRevoked)
    {
        require(feedbackIndex > 0, "index must be > 0");
        require(feedbackIndex <= _lastIndex[agentId][clientAddress], "index out of bounds");
        Feedback storage fb = _feedback[agentId][clientAddress][feedbackIndex];
        return (fb.value, fb.valueDecimals, fb.tag1, fb.tag2, fb.isRevoked);
    }

    /// @notice Every matching feedback entry. Empty `clientAddresses` means all clients; an empty tag
    /// matches any tag.
    function readAllFeedback(
        uint256 agentId,
        address[] calldata clientAddresses,
        string memory tag1,
        string memory tag2,
        bool includeRevoked
    )
        external
        view
        returns (
            address[] memory clients,
            uint64[] memory feedbackIndexes,
            int128[] memory values,
            uint8[] memory valueDecimals,
            string[] memory tag1s,
            string[] memory tag2s,
            bool[] memory revokedStatuses
        )
    {
        address[] memory list = clientAddresses;
        if (list.length == 0) list = _clients[agentId];
        // Built in a helper returning one struct: seven return arrays plus loop locals exceed the
        // legacy code generator's stack window.
        AllFeedback memory r = _readAll(agentId, list, keccak256(bytes(tag1)), keccak256(bytes(tag2)), includeRevoked);
        return (r.clients, r.feedbackIndexes, r.values, r.valueDecimals, r.tag1s, r.tag2s, r.revokedStatuses);
    }

    struct AllFeedback {
        address[] clients;
        uint64[] feedbackIndexes;
        int128[] values;
        uint8[] valueDecimals;
        string[] tag1s;
        string[] tag2s;
        bool[] revokedStatuses;
    }

    function _readAll(uint256 agentId, address[] memory list, bytes32 t1, bytes32 t2, bool includeRevoked)
        private
        view
        returns (AllFeedback memory r)
    {
        (r.clients, r.feedbackIndexes) = _collect(agentId, list, t1, t2, includeRevoked);
        uint256 n = r.clients.length;
        r.values = new int128[](n);
        r.valueDecimals = new uint8[](n);
        r.tag1s = new string[](n);
        r.tag2s = new string[](n);
        r.revokedStatuses = new bool[](n);
        for (uint256 k; k < n; ++k) {
            Feedback storage fb = _feedback[agentId][r.clients[k]][r.feedbackIndexes[k]];
            r.values[k] = fb.value;
            r.valueDecimals[k] = fb.valueDecimals;
            r.tag1s[k] = fb.tag1;
            r.tag2s[k] = fb.tag2;
            r.revokedStatuses[k] = fb.isRevoked;
        }
    }

    /// @notice Count and average of the non-revoked feedback from `clientAddresses` (required, as a
    /// Sybil mitigation) matching the tags (empty = any). The average is expressed with the most
    /// frequent valueDecimals among the matches; (0, 0, 0) when nothing matches.
    function getSummary(uint256 agentId, address[] calldata clientAddresses, string memory tag1, string memory tag2)
        external
        view
        returns (uint64 count, int128 summaryValue, uint8 summaryValueDecimals)
    {
        require(clientAddresses.length > 0, "clientAddresses required");
        (address[] memory clients, uint64[] memory indexes) =
            _collect(agentId, clientAddresses, keccak256(bytes(tag1)), keccak256(bytes(tag2)), false);
        count = uint64(clients.length);
        if (count == 0) return (0, 0, 0);
        int256 sum18; // every value scaled to 18 decimals: |value| <= 1e38, so |v * 1e18| <= 1e56
        uint256[19] memory decimalsSeen;
        for (uint256 k; k < clients.length; ++k) {
            Feedback storage fb = _feedback[agentId][clients[k]][indexes[k]];
            sum18 += int256(fb.value) * int256(10 ** (18 - uint256(fb.valueDecimals)));
            decimalsSeen[fb.valueDecimals]++;
        }
        uint256 best;
        for (uint256 d = 1; d <= 18; ++d) {
            if (decimalsSeen[d] > decimalsSeen[best]) best = d;
        }
        summaryValueDecimals = uint8(best);
        int256 scaled = (sum18 / int256(uint256(count))) / int256(10 ** (18 - best));
        // Expressing a large low-precision average at a higher mode precision can exceed int128:
        // refuse rather than wrap silently.
        require(scaled >= type(int128).min && scaled <= type(int128).max, "summary overflows int128");
        summaryValue = int128(scaled);
    }

    /// @dev (client, index) of every entry of `list` matching the tag hashes, in client then index order.
    function _collect(uint256 agentId, address[] memory list, bytes32 t1, bytes32 t2, bool includeRevoked)
        private
        view
        returns (address[] memory clients, uint64[] memory indexes)
    {
        uint256 total;
        for (uint256 i; i < list.length; ++i) {
            total += _lastIndex[agentId][list[i]];
        }
        clients = new address[](total);
        indexes = new uint64[](total);
        uint256 n;
        for (uint256 i; i < list.length; ++i) {
            uint64 last = _lastIndex[agentId][list[i]];
            for (uint64 j = 1; j <= last; ++j) {
                Feedback storage fb = _feedback[agentId][list[i]][j];
                if (!includeRevoked && fb.isRevoked) continue;
                if (!_matches(fb, t1, t2)) continue;
                clients[n] = list[i];
                indexes[n] = j;
                ++n;
            }
        }
        // Shrink the arrays to the matches found (memory arrays keep their length in the first word).
        assembly ("memory-safe") {
            mstore(clients, n)
            mstore(indexes, n)
        }
    }

    /// @notice Number of responses to feedback. `clientAddress == 0`: over all clients;
    /// `feedbackIndex == 0`: over all of that client's feedback; empty `responders`: all responders.
    function getResponseCount(
        uint256 agentId,
        address clientAddress,
        uint64 feedbackIndex,
        address[] calldata responders
    ) external view returns (uint64 count) {
        if (clientAddress == address(0)) {
            address[] storage all = _clients[agentId];
            for (uint256 i; i < all.length; ++i) {
                count += _countAllIndexes(agentId, all[i], responders);
            }
        } else if (feedbackIndex == 0) {
            count = _countAllIndexes(agentId, clientAddress, responders);
        } else {
            count = _countResponses(agentId, clientAddress, feedbackIndex, responders);
        }
    }

    function _countAllIndexes(uint256 agentId, address client, address[] calldata responders)
        private
        view
        returns (uint64 count)
    {
        uint64 last = _lastIndex[agentId][client];
        for (uint64 j = 1; j <= last; ++j) {
            count += _countResponses(agentId, client, j, responders);
        }
    }

    function _countResponses(uint256 agentId, address client, uint64 index, address[] calldata responders)
        private
        view
        returns (uint64 count)
    {
        if (responders.length == 0) {
            address[] storage all = _responders[agentId][client][index];
            for (uint256 k; k < all.length; ++k) {
                count += _responseCount[agentId][client][index][all[k]];
            }
        } else {
            for (uint256 k; k < responders.length; ++k) {
                count += _responseCount[agentId][client][index][responders[k]];
            }
        }
    }

    function _matches(Feedback storage fb, bytes32 t1, bytes32 t2) private view returns (bool) {
        bytes32 empty = keccak256("");
        if (t1 != empty && t1 != keccak256(bytes(fb.tag1))) return false;
        if (t2 != empty && t2 != keccak256(bytes(fb.tag2))) return false;
        return true;
    }
}
