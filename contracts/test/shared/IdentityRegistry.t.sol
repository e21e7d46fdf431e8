// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Test} from "../utils/Test.sol";
import {IdentityRegistry} from "../../src/shared/erc8004/IdentityRegistry.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC1271Wallet} from "./Helpers.sol";

/// @notice Signing helper for AgentWalletSet, with the domain and type string spelled out here.
abstract contract AgentWalletSigning is Test {
    function agentWalletDigest(address registry, uint256 agentId, address newWallet, address owner_, uint256 deadline)
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
                registry
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)"),
                agentId,
                newWallet,
                owner_,
                deadline
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }
}

contract IdentityRegistryTest is AgentWalletSigning {
    event Registered(uint256 indexed agentId, string agentURI, address indexed owner);
    event URIUpdated(uint256 indexed agentId, string newURI, address indexed updatedBy);
    event MetadataSet(
        uint256 indexed agentId, string indexed indexedMetadataKey, string metadataKey, bytes metadataValue
    );
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);

    IdentityRegistry internal reg;
    address internal owner = makeAddr("agentOwner");
    address internal operator = makeAddr("operator");
    address internal stranger = makeAddr("stranger");
    address internal wallet;
    uint256 internal walletKey;
    uint256 internal agentId;

    uint256 internal constant NOW = 1_700_000_000;

    function setUp() public {
        (wallet, walletKey) = makeAddrAndKey("wallet");
        vm.warp(NOW);
        reg = new IdentityRegistry();
        reg.initialize();
        vm.prank(owner);
        agentId = reg.register("ipfs://agent0");
    }

    function _entries(string memory k, bytes memory v)
        internal
        pure
        returns (IdentityRegistry.MetadataEntry[] memory e)
    {
        e = new IdentityRegistry.MetadataEntry[](1);
        e[0] = IdentityRegistry.MetadataEntry({metadataKey: k, metadataValue: v});
    }

    function test_initialize_onceAndConstantsWithoutState() public {
        vm.expectRevert(IdentityRegistry.AlreadyInitialized.selector);
        reg.initialize();
        address canonical = 0x8004A818BFB912233c491871b3d84c89A494BD9e;
        vm.etch(canonical, address(reg).code);
        IdentityRegistry etched = IdentityRegistry(canonical);
        etched.initialize();
        assertEq(etched.name(), "AgentIdentity");
        assertEq(etched.symbol(), "AGENT");
        assertEq(etched.getVersion(), "2.0.0");
    }

    function test_register_idsStartAtZeroAndCount() public {
        assertEq(agentId, 0);
        vm.prank(stranger);
        assertEq(reg.register(), 1);
        vm.prank(stranger);
        assertEq(reg.register("https://x", _entries("k", "v")), 2);
        assertEq(reg.ownerOf(2), stranger);
        assertEq(reg.tokenURI(1), "");
        assertEq(reg.tokenURI(2), "https://x");
        assertEq(reg.getMetadata(2, "k"), bytes("v"));
    }

    function test_register_emitsTransferRegisteredThenMetadata() public {
        vm.expectEmit(true, true, true, true, address(reg));
        emit Transfer(address(0), stranger, 1);
        vm.expectEmit(true, true, false, true, address(reg));
        emit Registered(1, "ipfs://a", stranger);
        vm.expectEmit(true, true, false, true, address(reg));
        emit MetadataSet(1, "agentWallet", "agentWallet", abi.encodePacked(stranger));
        vm.expectEmit(true, true, false, true, address(reg));
        emit MetadataSet(1, "role", "role", bytes("seller"));
        vm.prank(stranger);
        reg.register("ipfs://a", _entries("role", "seller"));
    }

    function test_register_setsAgentWalletToCaller() public view {
        assertEq(reg.getAgentWallet(agentId), owner);
        assertEq(reg.getMetadata(agentId, "agentWallet"), abi.encodePacked(owner));
    }

    function test_register_reservedKeyReverts() public {
        vm.prank(stranger);
        vm.expectRevert(bytes("reserved key"));
        reg.register("u", _entries("agentWallet", abi.encodePacked(stranger)));
    }

    function test_setAgentURI_ownerOperatorApprovedOnly() public {
        vm.prank(stranger);
        vm.expectRevert(bytes("Not authorized"));
        reg.setAgentURI(agentId, "evil");

        vm.expectEmit(true, true, false, true, address(reg));
        emit URIUpdated(agentId, "ipfs://v2", owner);
        vm.prank(owner);
        reg.setAgentURI(agentId, "ipfs://v2");
        assertEq(reg.tokenURI(agentId), "ipfs://v2");

        vm.prank(owner);
        reg.setApprovalForAll(operator, true);
        vm.prank(operator);
        reg.setAgentURI(agentId, "ipfs://v3");
        assertEq(reg.tokenURI(agentId), "ipfs://v3");

        vm.prank(owner);
        reg.approve(stranger, agentId);
        vm.prank(stranger);
        reg.setAgentURI(agentId, "ipfs://v4");
        assertEq(reg.tokenURI(agentId), "ipfs://v4");
    }

    function test_setMetadata_authAndReservedKey() public {
        vm.prank(stranger);
        vm.expectRevert(bytes("Not authorized"));
        reg.setMetadata(agentId, "k", "v");
        vm.prank(owner);
        vm.expectRevert(bytes("reserved key"));
        reg.setMetadata(agentId, "agentWallet", abi.encodePacked(stranger));
        vm.prank(owner);
        reg.setMetadata(agentId, "k", "v");
        assertEq(reg.getMetadata(agentId, "k"), bytes("v"));
    }

    function test_unknownAgent_revertsNonexistentToken() public {
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 99));
        reg.isAuthorizedOrOwner(owner, 99);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 99));
        reg.getAgentWallet(99);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 99));
        reg.setMetadata(99, "k", "v");
    }

    function test_isAuthorizedOrOwner() public {
        assertTrue(reg.isAuthorizedOrOwner(owner, agentId));
        assertFalse(reg.isAuthorizedOrOwner(operator, agentId));
        vm.prank(owner);
        reg.setApprovalForAll(operator, true);
        assertTrue(reg.isAuthorizedOrOwner(operator, agentId));
        vm.prank(owner);
        reg.approve(stranger, agentId);
        assertTrue(reg.isAuthorizedOrOwner(stranger, agentId));
    }

    function test_setAgentWallet_deadlineExactlyFiveMinutesAccepted() public {
        uint256 deadline = NOW + 5 minutes;
        bytes memory sig = signPacked(walletKey, agentWalletDigest(address(reg), agentId, wallet, owner, deadline));
        vm.expectEmit(true, true, false, true, address(reg));
        emit MetadataSet(agentId, "agentWallet", "agentWallet", abi.encodePacked(wallet));
        vm.prank(owner);
        reg.setAgentWallet(agentId, wallet, deadline, sig);
        assertEq(reg.getAgentWallet(agentId), wallet);
        assertEq(reg.getMetadata(agentId, "agentWallet"), abi.encodePacked(wallet));
    }

    function test_setAgentWallet_deadlineFiveMinutesPlusOneRefused() public {
        uint256 deadline = NOW + 5 minutes + 1;
        bytes memory sig = signPacked(walletKey, agentWalletDigest(address(reg), agentId, wallet, owner, deadline));
        vm.prank(owner);
        vm.expectRevert(bytes("deadline too far"));
        reg.setAgentWallet(agentId, wallet, deadline, sig);
    }

    function test_setAgentWallet_deadlineNowOkPassedRefused() public {
        bytes memory sig = signPacked(walletKey, agentWalletDigest(address(reg), agentId, wallet, owner, NOW));
        vm.prank(owner);
        reg.setAgentWallet(agentId, wallet, NOW, sig);
        bytes memory late = signPacked(walletKey, agentWalletDigest(address(reg), agentId, wallet, owner, NOW - 1));
        vm.prank(owner);
        vm.expectRevert(bytes("expired"));
        reg.setAgentWallet(agentId, wallet, NOW - 1, late);
    }

    function test_setAgentWallet_wrongSignerOrCallerRefused() public {
        uint256 deadline = NOW + 60;
        (, uint256 otherKey) = makeAddrAndKey("other");
        bytes memory byOther = signPacked(otherKey, agentWalletDigest(address(reg), agentId, wallet, owner, deadline));
        vm.prank(owner);
        vm.expectRevert(bytes("invalid wallet sig"));
        reg.setAgentWallet(agentId, wallet, deadline, byOther);

        bytes memory good = signPacked(walletKey, agentWalletDigest(address(reg), agentId, wallet, owner, deadline));
        vm.prank(stranger);
        vm.expectRevert(bytes("Not authorized"));
        reg.setAgentWallet(agentId, wallet, deadline, good);

        vm.prank(owner);
        vm.expectRevert(bytes("bad wallet"));
        reg.setAgentWallet(agentId, address(0), deadline, good);
    }

    function test_setAgentWallet_erc1271Wallet() public {
        ERC1271Wallet sw = new ERC1271Wallet(wallet);
        uint256 deadline = NOW + 60;
        bytes memory sig = signPacked(walletKey, agentWalletDigest(address(reg), agentId, address(sw), owner, deadline));
        vm.prank(owner);
        reg.setAgentWallet(agentId, address(sw), deadline, sig);
        assertEq(reg.getAgentWallet(agentId), address(sw));
    }

    function test_unsetAgentWallet() public {
        vm.prank(stranger);
        vm.expectRevert(bytes("Not authorized"));
        reg.unsetAgentWallet(agentId);
        vm.expectEmit(true, true, false, true, address(reg));
        emit MetadataSet(agentId, "agentWallet", "agentWallet", "");
        vm.prank(owner);
        reg.unsetAgentWallet(agentId);
        assertEq(reg.getAgentWallet(agentId), address(0));
        assertEq(reg.getMetadata(agentId, "agentWallet").length, 0);
    }

    function test_transfer_clearsAgentWallet() public {
        vm.prank(owner);
        reg.transferFrom(owner, stranger, agentId);
        assertEq(reg.ownerOf(agentId), stranger);
        assertEq(reg.getAgentWallet(agentId), address(0));
        assertEq(reg.getMetadata(agentId, "agentWallet").length, 0);
        // The old owner lost control.
        vm.prank(owner);
        vm.expectRevert(bytes("Not authorized"));
        reg.setAgentURI(agentId, "x");
    }

    function test_setAgentWallet_signatureBoundToOwner() public {
        // A signature naming the previous owner is useless after a transfer.
        uint256 deadline = NOW + 60;
        bytes memory sig = signPacked(walletKey, agentWalletDigest(address(reg), agentId, wallet, owner, deadline));
        vm.prank(owner);
        reg.transferFrom(owner, stranger, agentId);
        vm.prank(stranger);
        vm.expectRevert(bytes("invalid wallet sig"));
        reg.setAgentWallet(agentId, wallet, deadline, sig);
    }

    function test_eip712Domain() public view {
        (, string memory n, string memory v, uint256 chainId, address vc,,) = reg.eip712Domain();
        assertEq(n, "ERC8004IdentityRegistry");
        assertEq(v, "1");
        assertEq(chainId, block.chainid);
        assertEq(vc, address(reg));
    }
}
