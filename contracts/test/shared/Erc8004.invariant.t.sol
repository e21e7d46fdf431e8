// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Test, TestBase} from "../utils/Test.sol";
import {IdentityRegistry} from "../../src/shared/erc8004/IdentityRegistry.sol";
import {ReputationRegistry} from "../../src/shared/erc8004/ReputationRegistry.sol";

/// @notice Random callers (owners, operators, strangers) try to change agents' URI, metadata and
/// wallet, transfer agents and grant approvals. The handler keeps its own books of who owns and who
/// is approved for what, and of the expected URI, metadata and wallet of every agent.
contract IdentityHandler is TestBase {
    IdentityRegistry public immutable reg;
    uint256 public constant N_ACTORS = 4;
    uint256 public constant N_AGENTS = 3;

    address[N_ACTORS] public actors;
    uint256[N_ACTORS] internal keys;

    // Independent authorisation books.
    mapping(uint256 => address) public ghostOwner;
    mapping(address => mapping(address => bool)) internal ghostOperator;
    mapping(uint256 => address) internal ghostApproved;
    // Expected state.
    mapping(uint256 => string) public ghostUri;
    mapping(uint256 => bytes) public ghostMeta;
    mapping(uint256 => address) public ghostWallet;
    /// @notice Calls that changed state although the caller was not authorised.
    uint256 public ghostUnauthorizedWrites;
    /// @notice Calls by an authorised caller with valid input that nonetheless reverted.
    uint256 public ghostAuthorizedRefusals;

    constructor(IdentityRegistry reg_) {
        reg = reg_;
        for (uint256 i; i < N_ACTORS; ++i) {
            (actors[i], keys[i]) = makeAddrAndKey(string(abi.encodePacked("idActor", vm.toString(i))));
        }
        for (uint256 a; a < N_AGENTS; ++a) {
            address o = actors[a % N_ACTORS];
            vm.prank(o);
            uint256 id = reg.register(string(abi.encodePacked("ipfs://agent", vm.toString(a))));
            ghostOwner[id] = o;
            ghostUri[id] = string(abi.encodePacked("ipfs://agent", vm.toString(a)));
            ghostWallet[id] = o;
        }
    }

    function _authorized(address who, uint256 id) internal view returns (bool) {
        address o = ghostOwner[id];
        return who == o || ghostOperator[o][who] || ghostApproved[id] == who;
    }

    function _record(bool authorized, bool succeeded) internal {
        if (succeeded && !authorized) ghostUnauthorizedWrites++;
        if (!succeeded && authorized) ghostAuthorizedRefusals++;
    }

    // ------------------------------------------------------------------ actions

    function setAgentURI(uint256 callerSeed, uint256 agentSeed, uint256 uriSeed) external {
        address caller = actors[callerSeed % N_ACTORS];
        uint256 id = agentSeed % N_AGENTS;
        string memory uri = string(abi.encodePacked("ipfs://u", vm.toString(uriSeed % 100)));
        bool auth = _authorized(caller, id);
        vm.prank(caller);
        try reg.setAgentURI(id, uri) {
            _record(auth, true);
            if (auth) ghostUri[id] = uri;
        } catch {
            _record(auth, false);
        }
    }

    function setMetadata(uint256 callerSeed, uint256 agentSeed, uint256 valueSeed) external {
        address caller = actors[callerSeed % N_ACTORS];
        uint256 id = agentSeed % N_AGENTS;
        bytes memory value = abi.encodePacked(valueSeed % 1000);
        bool auth = _authorized(caller, id);
        vm.prank(caller);
        try reg.setMetadata(id, "k", value) {
            _record(auth, true);
            if (auth) ghostMeta[id] = value;
        } catch {
            _record(auth, false);
        }
    }

    function setAgentWallet(uint256 callerSeed, uint256 agentSeed, uint256 walletSeed, uint256 delay) external {
        address caller = actors[callerSeed % N_ACTORS];
        uint256 id = agentSeed % N_AGENTS;
        uint256 w = walletSeed % N_ACTORS;
        uint256 deadline = block.timestamp + bound(delay, 0, 5 minutes);
        bytes memory sig = signPacked(keys[w], _walletDigest(id, actors[w], ghostOwner[id], deadline));
        bool auth = _authorized(caller, id);
        vm.prank(caller);
        try reg.setAgentWallet(id, actors[w], deadline, sig) {
            _record(auth, true);
            if (auth) ghostWallet[id] = actors[w];
        } catch {
            _record(auth, false);
        }
    }

    function unsetAgentWallet(uint256 callerSeed, uint256 agentSeed) external {
        address caller = actors[callerSeed % N_ACTORS];
        uint256 id = agentSeed % N_AGENTS;
        bool auth = _authorized(caller, id);
        vm.prank(caller);
        try reg.unsetAgentWallet(id) {
            _record(auth, true);
            if (auth) ghostWallet[id] = address(0);
        } catch {
            _record(auth, false);
        }
    }

    function transferAgent(uint256 agentSeed, uint256 toSeed) external {
        uint256 id = agentSeed % N_AGENTS;
        address from = ghostOwner[id];
        address to = actors[toSeed % N_ACTORS];
        vm.prank(from);
        reg.transferFrom(from, to, id);
        ghostOwner[id] = to;
        ghostApproved[id] = address(0);
        ghostWallet[id] = address(0);
    }

    function setApprovalForAll(uint256 ownerSeed, uint256 opSeed, bool approved) external {
        address o = actors[ownerSeed % N_ACTORS];
        address op = actors[opSeed % N_ACTORS];
        if (o == op) return;
        vm.prank(o);
        reg.setApprovalForAll(op, approved);
        ghostOperator[o][op] = approved;
    }

    function approve(uint256 agentSeed, uint256 spenderSeed) external {
        uint256 id = agentSeed % N_AGENTS;
        address spender = actors[spenderSeed % N_ACTORS];
        vm.prank(ghostOwner[id]);
        reg.approve(spender, id);
        ghostApproved[id] = spender;
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + bound(secs, 0, 1 hours));
    }

    function _walletDigest(uint256 id, address newWallet, address owner_, uint256 deadline)
        internal
        view
        returns (bytes32)
    {
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("ERC8004IdentityRegistry"),
                keccak256("1"),
                block.chainid,
                address(reg)
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)"),
                id,
                newWallet,
                owner_,
                deadline
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }
}

/// @notice Clients (and, to probe the self-feedback rule, agent owners) give, revoke and respond to
/// feedback; the handler keeps every entry it believes the registry holds.
contract ReputationHandler is TestBase {
    IdentityRegistry public immutable idr;
    ReputationRegistry public immutable rep;
    uint256 public constant N_ACTORS = 4;
    uint256 public constant N_AGENTS = 2;

    address[N_ACTORS] public actors;

    struct Entry {
        int128 value;
        uint8 decimals;
        uint8 tag;
        bool revoked;
    }

    mapping(uint256 => mapping(address => Entry[])) internal ghost;

    /// @dev Running model of the live (non-revoked) feedback per agent and tag (index 2 = any tag):
    /// count, sum at 18 decimals, and how many used 0 and 2 decimals.
    struct Agg {
        uint64 count;
        int256 sum18;
        uint256 n0;
        uint256 n2;
    }

    mapping(uint256 => mapping(uint8 => Agg)) internal agg;
    uint256 public ghostSelfFeedbackAccepted;
    uint256 public ghostValidFeedbackRefused;
    uint256 public ghostGiven;
    uint256 public ghostRevoked;

    constructor(IdentityRegistry idr_, ReputationRegistry rep_) {
        idr = idr_;
        rep = rep_;
        for (uint256 i; i < N_ACTORS; ++i) {
            actors[i] = makeAddr(string(abi.encodePacked("repActor", vm.toString(i))));
        }
        // Agent a is owned by actors[a].
        for (uint256 a; a < N_AGENTS; ++a) {
            vm.prank(actors[a]);
            idr.register();
        }
    }

    function tagName(uint8 tag) public pure returns (string memory) {
        return tag == 0 ? "starred" : "uptime";
    }

    function entries(uint256 agentId, address client) external view returns (Entry[] memory) {
        return ghost[agentId][client];
    }

    function giveFeedback(uint256 clientSeed, uint256 agentSeed, int128 value, bool twoDecimals, bool secondTag)
        external
    {
        address client = actors[clientSeed % N_ACTORS];
        uint256 id = agentSeed % N_AGENTS;
        value = int128(bound(int256(value), -1e6, 1e6));
        uint8 decimals = twoDecimals ? 2 : 0;
        uint8 tag = secondTag ? 1 : 0;
        bool self = client == actors[id];
        vm.prank(client);
        try rep.giveFeedback(id, value, decimals, tagName(tag), "", "https://e", "ipfs://f", bytes32(0)) {
            if (self) {
                ghostSelfFeedbackAccepted++;
                return;
            }
            ghost[id][client].push(Entry(value, decimals, tag, false));
            ghostGiven++;
            _aggregate(id, Entry(value, decimals, tag, false), true);
        } catch {
            if (!self) ghostValidFeedbackRefused++;
        }
    }

    function revokeFeedback(uint256 clientSeed, uint256 agentSeed, uint64 indexSeed) external {
        address client = actors[clientSeed % N_ACTORS];
        uint256 id = agentSeed % N_AGENTS;
        Entry[] storage list = ghost[id][client];
        uint64 index = uint64(bound(indexSeed, 0, list.length + 1)); // includes 0 and out-of-range
        vm.prank(client);
        try rep.revokeFeedback(id, index) {
            if (index == 0 || index > list.length || list[index - 1].revoked) {
                // The registry accepted an invalid revocation: make the books disagree loudly.
                ghostValidFeedbackRefused += 1000;
                return;
            }
            list[index - 1].revoked = true;
            ghostRevoked++;
            _aggregate(id, list[index - 1], false);
        } catch {}
    }

    /// @notice The model's summary for (agent, tag): average at 18 decimals, truncated, expressed in
    /// the most frequent decimals (ties to the smaller).
    function expectedSummary(uint256 id, uint8 tag) external view returns (uint64 count, int128 value, uint8 decimals) {
        Agg storage a = agg[id][tag];
        count = a.count;
        if (count == 0) return (0, 0, 0);
        decimals = a.n2 > a.n0 ? 2 : 0;
        value = int128((a.sum18 / int256(uint256(count))) / int256(10 ** (18 - uint256(decimals))));
    }

    function lastIndexOf(uint256 id, address client) external view returns (uint256) {
        return ghost[id][client].length;
    }

    function _aggregate(uint256 id, Entry memory e, bool add) private {
        int256 v18 = int256(e.value) * int256(10 ** (18 - uint256(e.decimals)));
        uint8[2] memory tags = [e.tag, 2];
        for (uint256 k; k < 2; ++k) {
            Agg storage a = agg[id][tags[k]];
            if (add) {
                a.count++;
                a.sum18 += v18;
                if (e.decimals == 0) a.n0++;
                else a.n2++;
            } else {
                a.count--;
                a.sum18 -= v18;
                if (e.decimals == 0) a.n0--;
                else a.n2--;
            }
        }
    }

    function appendResponse(uint256 responderSeed, uint256 clientSeed, uint256 agentSeed) external {
        address client = actors[clientSeed % N_ACTORS];
        uint256 id = agentSeed % N_AGENTS;
        uint256 n = ghost[id][client].length;
        if (n == 0) return;
        vm.prank(actors[responderSeed % N_ACTORS]);
        rep.appendResponse(id, client, uint64(n), "ipfs://resp", bytes32(0));
    }
}

contract IdentityRegistryInvariantTest is Test {
    IdentityRegistry internal reg;
    IdentityHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        reg = new IdentityRegistry();
        reg.initialize();
        handler = new IdentityHandler(reg);
        bytes4[] memory s = new bytes4[](8);
        s[0] = IdentityHandler.setAgentURI.selector;
        s[1] = IdentityHandler.setMetadata.selector;
        s[2] = IdentityHandler.setAgentWallet.selector;
        s[3] = IdentityHandler.unsetAgentWallet.selector;
        s[4] = IdentityHandler.transferAgent.selector;
        s[5] = IdentityHandler.setApprovalForAll.selector;
        s[6] = IdentityHandler.approve.selector;
        s[7] = IdentityHandler.warp.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: s}));
    }

    /// @notice Only the owner, its operators or the approved address change an agent's URI, metadata
    /// or wallet, and the registry's state is exactly what those authorised calls set.
    function invariant_onlyAuthorizedChangeAgents() public view {
        assertEq(handler.ghostUnauthorizedWrites(), 0, "an unauthorised caller changed an agent");
        assertEq(handler.ghostAuthorizedRefusals(), 0, "an authorised change was refused");
        for (uint256 id; id < handler.N_AGENTS(); ++id) {
            assertEq(reg.ownerOf(id), handler.ghostOwner(id), "owner");
            assertEq(reg.tokenURI(id), handler.ghostUri(id), "agentURI");
            assertEq(reg.getMetadata(id, "k"), handler.ghostMeta(id), "metadata");
            assertEq(reg.getAgentWallet(id), handler.ghostWallet(id), "agentWallet");
        }
    }
}

contract ReputationRegistryInvariantTest is Test {
    IdentityRegistry internal idr;
    ReputationRegistry internal rep;
    ReputationHandler internal handler;

    function setUp() public {
        idr = new IdentityRegistry();
        idr.initialize();
        rep = new ReputationRegistry();
        rep.initialize(address(idr));
        handler = new ReputationHandler(idr, rep);
        bytes4[] memory s = new bytes4[](3);
        s[0] = ReputationHandler.giveFeedback.selector;
        s[1] = ReputationHandler.revokeFeedback.selector;
        s[2] = ReputationHandler.appendResponse.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: s}));
    }

    /// @notice Per agent and tag, getSummary's count is given minus revoked and its value is the
    /// model's average; getLastIndex counts every feedback given; self-feedback never lands.
    function invariant_feedbackCountsAndSummariesMatch() public view {
        assertEq(handler.ghostSelfFeedbackAccepted(), 0, "self-feedback accepted");
        assertEq(handler.ghostValidFeedbackRefused(), 0, "valid feedback or revocation mishandled");
        uint256 nActors = handler.N_ACTORS();
        address[] memory all = new address[](nActors);
        for (uint256 i; i < nActors; ++i) {
            all[i] = handler.actors(i);
        }
        uint256 totalLive;
        for (uint256 id; id < handler.N_AGENTS(); ++id) {
            for (uint256 i; i < nActors; ++i) {
                assertEq(uint256(rep.getLastIndex(id, all[i])), handler.lastIndexOf(id, all[i]), "lastIndex");
            }
            for (uint8 tag; tag < 3; ++tag) {
                // tag 2 stands for the wildcard "".
                string memory t = tag == 2 ? "" : handler.tagName(tag);
                (uint64 expCount, int128 expValue, uint8 expDecimals) = handler.expectedSummary(id, tag);
                (uint64 count, int128 value, uint8 decimals) = rep.getSummary(id, all, t, "");
                assertEq(uint256(count), uint256(expCount), "summary count");
                assertEq(int256(value), int256(expValue), "summary value");
                assertEq(uint256(decimals), uint256(expDecimals), "summary decimals");
                if (tag == 2) totalLive += count;
            }
        }
        assertEq(totalLive, handler.ghostGiven() - handler.ghostRevoked(), "given - revoked");
    }
}
