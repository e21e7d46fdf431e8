// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721URIStorage} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721URIStorage.sol";
import {SigLib} from "../lib/SigLib.sol";

/// @title IdentityRegistry
/// @notice ERC-8004 "Trustless Agents" identity registry, current (v2, "2.0.0") interface: each agent
/// is an ERC-721 token whose tokenURI is the agent's registration file (the agentURI), with free-form
/// metadata and a reserved, signature-verified `agentWallet` entry.
/// @dev Deviations from erc-8004-contracts' IdentityRegistryUpgradeable, on purpose:
///  - no proxy/UUPS/Ownable: the runtime code is placed at the canonical address with
///    `anvil_setCode`; {initialize} only marks the instance as set up (name, symbol and the EIP-712
///    domain are constants, so nothing needs constructor or proxy state);
///  - ERC-7201 namespaced storage is not reproduced (storage slots differ from the real contract);
///  - ERC-5267 `eip712Domain()` is exposed (the real one inherits it from EIP712Upgradeable too).
contract IdentityRegistry is ERC721URIStorage {
    /// @notice A metadata entry passed to {register}.
    struct MetadataEntry {
        string metadataKey;
        bytes metadataValue;
    }

    event Registered(uint256 indexed agentId, string agentURI, address indexed owner);
    event URIUpdated(uint256 indexed agentId, string newURI, address indexed updatedBy);
    event MetadataSet(
        uint256 indexed agentId, string indexed indexedMetadataKey, string metadataKey, bytes metadataValue
    );

    /// @notice Raised by a second {initialize}.
    error AlreadyInitialized();

    /// @notice keccak256("AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)")
    bytes32 public constant AGENT_WALLET_SET_TYPEHASH =
        keccak256("AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)");
    /// @notice How far ahead a setAgentWallet deadline may be.
    uint256 public constant MAX_DEADLINE_DELAY = 5 minutes;

    string private constant AGENT_WALLET_KEY = "agentWallet";
    bytes32 private constant AGENT_WALLET_KEY_HASH = keccak256("agentWallet");
    bytes32 private constant EIP712_DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant DOMAIN_NAME_HASH = keccak256("ERC8004IdentityRegistry");
    bytes32 private constant DOMAIN_VERSION_HASH = keccak256("1");

    bool private _initialized;
    uint256 private _lastId;
    mapping(uint256 agentId => mapping(string metadataKey => bytes metadataValue)) private _metadata;
    mapping(uint256 agentId => address wallet) private _agentWallet;

    /// @dev Empty name/symbol: {name} and {symbol} are overridden with constants so etched code works.
    constructor() ERC721("", "") {}

    /// @notice One-time setup call after the code is placed; reverts AlreadyInitialized() after.
    function initialize() external {
        if (_initialized) revert AlreadyInitialized();
        _initialized = true;
    }

    /// @notice "AgentIdentity".
    function name() public pure override returns (string memory) {
        return "AgentIdentity";
    }

    /// @notice "AGENT".
    function symbol() public pure override returns (string memory) {
        return "AGENT";
    }

    /// @notice Contract version of the ERC-8004 revision implemented.
    function getVersion() external pure returns (string memory) {
        return "2.0.0";
    }

    // ---------------------------------------------------------------------------------------------
    // Registration
    // ---------------------------------------------------------------------------------------------

    /// @notice Registers a new agent with no URI; the caller owns it and is its initial agentWallet.
    function register() external returns (uint256 agentId) {
        agentId = _register("", new MetadataEntry[](0));
    }

    /// @notice Registers a new agent whose tokenURI is `agentURI`.
    function register(string calldata agentURI) external returns (uint256 agentId) {
        agentId = _register(agentURI, new MetadataEntry[](0));
    }

    /// @notice Registers a new agent with a URI and extra metadata ("agentWallet" is reserved).
    function register(string calldata agentURI, MetadataEntry[] calldata metadata) external returns (uint256 agentId) {
        agentId = _register(agentURI, metadata);
    }

    function _register(string memory agentURI, MetadataEntry[] memory metadata) private returns (uint256 agentId) {
        // Refuse the reserved key before any state change.
        for (uint256 i; i < metadata.length; ++i) {
            require(keccak256(bytes(metadata[i].metadataKey)) != AGENT_WALLET_KEY_HASH, "reserved key");
        }
        agentId = _lastId++;
        _safeMint(msg.sender, agentId);
        if (bytes(agentURI).length != 0) _setTokenURI(agentId, agentURI);
        emit Registered(agentId, agentURI, msg.sender);
        _writeWallet(agentId, msg.sender);
        for (uint256 i; i < metadata.length; ++i) {
            _metadata[agentId][metadata[i].metadataKey] = metadata[i].metadataValue;
            emit MetadataSet(agentId, metadata[i].metadataKey, metadata[i].metadataKey, metadata[i].metadataValue);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // URI and metadata
    // ---------------------------------------------------------------------------------------------

    /// @notice Replaces the agentURI (tokenURI). Owner, operator or approved address only.
    function setAgentURI(uint256 agentId, string calldata newURI) external {
        _requireAuthorized(agentId);
        _setTokenURI(agentId, newURI);
        emit URIUpdated(agentId, newURI, msg.sender);
    }

    /// @notice Raw metadata bytes (empty when unset). "agentWallet" holds the 20-byte wallet.
    function getMetadata(uint256 agentId, string calldata metadataKey) external view returns (bytes memory) {
        return _metadata[agentId][metadataKey];
    }

    /// @notice Sets a metadata entry. Owner, operator or approved address only; "agentWallet" is reserved.
    function setMetadata(uint256 agentId, string calldata metadataKey, bytes calldata metadataValue) external {
        _requireAuthorized(agentId);
        require(keccak256(bytes(metadataKey)) != AGENT_WALLET_KEY_HASH, "reserved key");
        _metadata[agentId][metadataKey] = metadataValue;
        emit MetadataSet(agentId, metadataKey, metadataKey, metadataValue);
    }

    // ---------------------------------------------------------------------------------------------
    // Agent wallet
    // ---------------------------------------------------------------------------------------------

    /// @notice The agent's verified payment wallet, or address(0) when unset. Reverts for unknown agents.
    function getAgentWallet(uint256 agentId) external view returns (address) {
        _requireOwned(agentId);
        return _agentWallet[agentId];
    }

    /// @notice Sets the agent's wallet; `newWallet` proves control by signing the EIP-712
    /// AgentWalletSet(agentId, newWallet, owner, deadline) message (EOA, or ERC-1271 contract).
    /// @param deadline Must not have passed and be at most {MAX_DEADLINE_DELAY} ahead.
    function setAgentWallet(uint256 agentId, address newWallet, uint256 deadline, bytes calldata signature) external {
        require(newWallet != address(0), "bad wallet");
        require(block.timestamp <= deadline, "expired");
        require(deadline <= block.timestamp + MAX_DEADLINE_DELAY, "deadline too far");
        address agentOwner = _requireAuthorized(agentId);

        bytes32 digest = SigLib.typedDataHash(
            _domainSeparator(),
            keccak256(abi.encode(AGENT_WALLET_SET_TYPEHASH, agentId, newWallet, agentOwner, deadline))
        );
        // ECDSA first, then ERC-1271 on newWallet.
        (address recovered, SigLib.RecoverError err) = SigLib.tryRecover(digest, signature);
        bool ok = err == SigLib.RecoverError.None && recovered == newWallet;
        if (!ok) ok = SigLib.isValidERC1271(newWallet, digest, signature);
        require(ok, "invalid wallet sig");

        _writeWallet(agentId, newWallet);
    }

    /// @notice Clears the agent's wallet. Owner, operator or approved address only.
    function unsetAgentWallet(uint256 agentId) external {
        _requireAuthorized(agentId);
        _writeWallet(agentId, address(0));
    }

    /// @notice True when `spender` is the owner of `agentId`, an operator of the owner, or the
    /// token's approved address. Reverts ERC721NonexistentToken for unknown agents.
    function isAuthorizedOrOwner(address spender, uint256 agentId) public view returns (bool) {
        address agentOwner = _requireOwned(agentId);
        return spender == agentOwner || isApprovedForAll(agentOwner, spender) || getApproved(agentId) == spender;
    }

    /// @notice ERC-5267 description of the EIP-712 domain used by {setAgentWallet}.
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory domainName,
            string memory domainVersion,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", "ERC8004IdentityRegistry", "1", block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    // ---------------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------------

    /// @dev Recomputed per call (no immutables): right at any etched address and chain id.
    function _domainSeparator() private view returns (bytes32) {
        return keccak256(
            abi.encode(EIP712_DOMAIN_TYPEHASH, DOMAIN_NAME_HASH, DOMAIN_VERSION_HASH, block.chainid, address(this))
        );
    }

    function _requireAuthorized(uint256 agentId) private view returns (address agentOwner) {
        agentOwner = _requireOwned(agentId);
        require(
            msg.sender == agentOwner || isApprovedForAll(agentOwner, msg.sender) || getApproved(agentId) == msg.sender,
            "Not authorized"
        );
    }

    /// @dev The wallet lives both in its own slot and, for indexers, as the reserved metadata entry.
    function _writeWallet(uint256 agentId, address wallet) private {
        _agentWallet[agentId] = wallet;
        bytes memory value = wallet == address(0) ? bytes("") : abi.encodePacked(wallet);
        _metadata[agentId][AGENT_WALLET_KEY] = value;
        emit MetadataSet(agentId, AGENT_WALLET_KEY, AGENT_WALLET_KEY, value);
    }

    /// @dev A transfer (not mint or burn) clears the verified wallet: it belonged to the old owner.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        if (from != address(0) && to != address(0)) _writeWallet(tokenId, address(0));
    }
}
