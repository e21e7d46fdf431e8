// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Test} from "../utils/Test.sol";
import {IdentityRegistry} from "../../src/shared/erc8004/IdentityRegistry.sol";
import {ReputationRegistry} from "../../src/shared/erc8004/ReputationRegistry.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

contract ReputationRegistryTest is Test {
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

    IdentityRegistry internal idr;
    ReputationRegistry internal rep;
    address internal agentOwner = makeAddr("agentOwner");
    address internal operator = makeAddr("operator");
    address internal c1 = makeAddr("client1");
    address internal c2 = makeAddr("client2");
    uint256 internal agentId;

    function setUp() public {
        idr = new IdentityRegistry();
        idr.initialize();
        rep = new ReputationRegistry();
        rep.initialize(address(idr));
        vm.prank(agentOwner);
        agentId = idr.register("ipfs://a");
    }

    function _give(address client, int128 value, uint8 decimals, string memory tag1, string memory tag2) internal {
        vm.prank(client);
        rep.giveFeedback(agentId, value, decimals, tag1, tag2, "https://agent/api", "ipfs://fb", bytes32(0));
    }

    function _clients(address a) internal pure returns (address[] memory l) {
        l = new address[](1);
        l[0] = a;
    }

    function _clients(address a, address b) internal pure returns (address[] memory l) {
        l = new address[](2);
        l[0] = a;
        l[1] = b;
    }

    function test_initialize_onceAndGetter() public {
        assertEq(rep.getIdentityRegistry(), address(idr));
        vm.expectRevert(ReputationRegistry.AlreadyInitialized.selector);
        rep.initialize(address(1));
        ReputationRegistry fresh = new ReputationRegistry();
        vm.expectRevert(bytes("bad identity"));
        fresh.initialize(address(0));
    }

    function test_giveFeedback_storesOneBasedAndEmits() public {
        vm.expectEmit(true, true, true, true, address(rep));
        emit NewFeedback(
            agentId, c1, 1, 9977, 2, "uptime", "uptime", "day", "https://agent/api", "ipfs://fb", bytes32(0)
        );
        _give(c1, 9977, 2, "uptime", "day");
        _give(c1, 87, 0, "starred", "");
        assertEq(uint256(rep.getLastIndex(agentId, c1)), 2);
        (int128 v, uint8 d, string memory t1, string memory t2, bool revoked) = rep.readFeedback(agentId, c1, 1);
        assertEq(int256(v), 9977);
        assertEq(uint256(d), 2);
        assertEq(t1, "uptime");
        assertEq(t2, "day");
        assertFalse(revoked);
        address[] memory cl = rep.getClients(agentId);
        assertEq(cl.length, 1);
        assertEq(cl[0], c1);
    }

    function test_giveFeedback_selfFeedbackRefused() public {
        vm.prank(agentOwner);
        vm.expectRevert(bytes("Self-feedback not allowed"));
        rep.giveFeedback(agentId, 100, 0, "", "", "", "", bytes32(0));
        vm.prank(agentOwner);
        idr.setApprovalForAll(operator, true);
        vm.prank(operator);
        vm.expectRevert(bytes("Self-feedback not allowed"));
        rep.giveFeedback(agentId, 100, 0, "", "", "", "", bytes32(0));
        vm.prank(agentOwner);
        idr.approve(c2, agentId);
        vm.prank(c2);
        vm.expectRevert(bytes("Self-feedback not allowed"));
        rep.giveFeedback(agentId, 100, 0, "", "", "", "", bytes32(0));
    }

    function test_giveFeedback_unknownAgentReverts() public {
        vm.prank(c1);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 42));
        rep.giveFeedback(42, 1, 0, "", "", "", "", bytes32(0));
    }

    function test_giveFeedback_bounds() public {
        _give(c1, 1e38, 18, "", "");
        _give(c1, -1e38, 0, "", "");
        vm.prank(c1);
        vm.expectRevert(bytes("too many decimals"));
        rep.giveFeedback(agentId, 1, 19, "", "", "", "", bytes32(0));
        vm.prank(c1);
        vm.expectRevert(bytes("value too large"));
        rep.giveFeedback(agentId, 1e38 + 1, 0, "", "", "", "", bytes32(0));
        vm.prank(c1);
        vm.expectRevert(bytes("value too large"));
        rep.giveFeedback(agentId, -1e38 - 1, 0, "", "", "", "", bytes32(0));
    }

    function test_revokeFeedback_rules() public {
        _give(c1, 50, 0, "", "");
        vm.prank(c1);
        vm.expectRevert(bytes("index must be > 0"));
        rep.revokeFeedback(agentId, 0);
        vm.prank(c1);
        vm.expectRevert(bytes("index out of bounds"));
        rep.revokeFeedback(agentId, 2);
        // Another client cannot revoke c1's feedback: its own range is empty.
        vm.prank(c2);
        vm.expectRevert(bytes("index out of bounds"));
        rep.revokeFeedback(agentId, 1);
        vm.expectEmit(true, true, true, true, address(rep));
        emit FeedbackRevoked(agentId, c1, 1);
        vm.prank(c1);
        rep.revokeFeedback(agentId, 1);
        vm.prank(c1);
        vm.expectRevert(bytes("Already revoked"));
        rep.revokeFeedback(agentId, 1);
        (,,,, bool revoked) = rep.readFeedback(agentId, c1, 1);
        assertTrue(revoked);
    }

    function test_appendResponse_anyoneEvenOnRevoked() public {
        _give(c1, 50, 0, "", "");
        vm.prank(c1);
        rep.revokeFeedback(agentId, 1);
        vm.expectEmit(true, true, true, true, address(rep));
        emit ResponseAppended(agentId, c1, 1, agentOwner, "ipfs://r", bytes32(uint256(1)));
        vm.prank(agentOwner);
        rep.appendResponse(agentId, c1, 1, "ipfs://r", bytes32(uint256(1)));
        vm.prank(c2);
        rep.appendResponse(agentId, c1, 1, "ipfs://r2", bytes32(0));
        vm.prank(c2);
        rep.appendResponse(agentId, c1, 1, "ipfs://r3", bytes32(0));
        assertEq(uint256(rep.getResponseCount(agentId, c1, 1, new address[](0))), 3);
        assertEq(uint256(rep.getResponseCount(agentId, c1, 1, _clients(c2))), 2);
        assertEq(uint256(rep.getResponseCount(agentId, address(0), 0, new address[](0))), 3);
        vm.expectRevert(bytes("Empty URI"));
        rep.appendResponse(agentId, c1, 1, "", bytes32(0));
        vm.expectRevert(bytes("index out of bounds"));
        rep.appendResponse(agentId, c1, 2, "x", bytes32(0));
    }

    function test_getSummary_requiresClientsAndSkipsRevoked() public {
        vm.expectRevert(bytes("clientAddresses required"));
        rep.getSummary(agentId, new address[](0), "", "");
        (uint64 n, int128 v, uint8 d) = rep.getSummary(agentId, _clients(c1), "", "");
        assertEq(uint256(n), 0);
        assertEq(int256(v), 0);
        assertEq(uint256(d), 0);

        _give(c1, 80, 0, "starred", "");
        _give(c2, 90, 0, "starred", "");
        _give(c2, 10, 0, "starred", "");
        vm.prank(c2);
        rep.revokeFeedback(agentId, 2);
        (n, v, d) = rep.getSummary(agentId, _clients(c1, c2), "starred", "");
        assertEq(uint256(n), 2);
        assertEq(int256(v), 85);
        assertEq(uint256(d), 0);
        (n,,) = rep.getSummary(agentId, _clients(c1), "", "");
        assertEq(uint256(n), 1);
    }

    function test_getSummary_scalesToModeDecimals() public {
        // 99.77% (2 decimals), 98.5% (1 decimal), 99.00% (2 decimals): mode is 2 decimals.
        _give(c1, 9977, 2, "uptime", "");
        _give(c1, 985, 1, "uptime", "");
        _give(c2, 9900, 2, "uptime", "");
        (uint64 n, int128 v, uint8 d) = rep.getSummary(agentId, _clients(c1, c2), "uptime", "");
        assertEq(uint256(n), 3);
        assertEq(uint256(d), 2);
        // (99.77 + 98.5 + 99.00) / 3 = 99.09 (truncated)
        assertEq(int256(v), 9909);
    }

    function test_getSummary_negativeValuesAndTag2Filter() public {
        _give(c1, -5, 0, "pnl", "btc");
        _give(c1, 3, 0, "pnl", "eth");
        _give(c2, -10, 0, "pnl", "btc");
        (uint64 n, int128 v,) = rep.getSummary(agentId, _clients(c1, c2), "pnl", "btc");
        assertEq(uint256(n), 2);
        assertEq(int256(v), -7); // -7.5 truncated toward zero
    }

    function test_readAllFeedback_filtersAndIncludesRevoked() public {
        _give(c1, 1, 0, "a", "");
        _give(c2, 2, 0, "b", "");
        _give(c2, 3, 0, "a", "");
        vm.prank(c2);
        rep.revokeFeedback(agentId, 2);
        (address[] memory cl, uint64[] memory idx, int128[] memory vals,,,, bool[] memory rv) =
            rep.readAllFeedback(agentId, new address[](0), "a", "", false);
        assertEq(cl.length, 1);
        assertEq(cl[0], c1);
        assertEq(uint256(idx[0]), 1);
        assertEq(int256(vals[0]), 1);
        (cl, idx, vals,,,, rv) = rep.readAllFeedback(agentId, new address[](0), "a", "", true);
        assertEq(cl.length, 2);
        assertEq(cl[1], c2);
        assertEq(uint256(idx[1]), 2);
        assertTrue(rv[1]);
        (cl,,,,,,) = rep.readAllFeedback(agentId, _clients(c2), "", "", true);
        assertEq(cl.length, 2);
    }

    function test_readFeedback_bounds() public {
        vm.expectRevert(bytes("index must be > 0"));
        rep.readFeedback(agentId, c1, 0);
        vm.expectRevert(bytes("index out of bounds"));
        rep.readFeedback(agentId, c1, 1);
    }

    function testFuzz_getSummary_matchesModel(int128[3] memory values, uint8[3] memory decimals) public {
        address[3] memory who = [c1, c2, c1];
        int256 sum18;
        uint256[19] memory seen;
        for (uint256 i; i < 3; ++i) {
            values[i] = int128(bound(int256(values[i]), -1e38, 1e38));
            decimals[i] = uint8(bound(uint256(decimals[i]), 0, 18));
            _give(who[i], values[i], decimals[i], "t", "");
            sum18 += int256(values[i]) * int256(10 ** (18 - uint256(decimals[i])));
            seen[decimals[i]]++;
        }
        uint256 mode;
        for (uint256 d = 1; d <= 18; ++d) {
            if (seen[d] > seen[mode]) mode = d;
        }
        int256 expected = (sum18 / 3) / int256(10 ** (18 - mode));
        if (expected > type(int128).max || expected < type(int128).min) {
            vm.expectRevert(bytes("summary overflows int128"));
            rep.getSummary(agentId, _clients(c1, c2), "t", "");
            return;
        }
        (uint64 n, int128 v, uint8 d_) = rep.getSummary(agentId, _clients(c1, c2), "t", "");
        assertEq(uint256(n), 3);
        assertEq(uint256(d_), mode);
        assertEq(int256(v), expected);
    }
}
