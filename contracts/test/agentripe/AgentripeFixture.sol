// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm} from "../utils/Vm.sol";
import {FiatTokenV2_2} from "../../src/shared/FiatTokenV2_2.sol";
import {IdentityRegistry} from "../../src/shared/erc8004/IdentityRegistry.sol";
import {AgentripeEscrow} from "../../src/agentripe/AgentripeEscrow.sol";

/// @notice Deploys the real project USDC, ERC-8004 IdentityRegistry and the escrow, and signs the
///         EIP-3009 / ERC-8004 messages the tests need. Shared by the unit and invariant suites.
/// @dev Not a Test itself (the invariant handler uses it too), so it declares its own `vm`.
abstract contract AgentripeFixture {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev The profile's default reclaim delay (scenarios/agentripe/profile.md, AGR-P-06).
    uint64 internal constant RECLAIM_DELAY = 7 days;
    /// @dev FiatToken v2.2 keeps balances below 2^255 (the top bit is the blacklist flag).
    uint256 internal constant MAX_USDC = (1 << 255) - 1;

    bytes32 private constant EIP712_DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant AGENT_WALLET_SET_TYPEHASH =
        keccak256("AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)");

    FiatTokenV2_2 internal usdc;
    IdentityRegistry internal registry;
    AgentripeEscrow internal escrow;

    /// @notice Deploys and initialises the three contracts; the caller becomes USDC's minter.
    function _deployAll(address admin, address operator) internal {
        usdc = new FiatTokenV2_2();
        usdc.initialize("USDC", "USDC", "USD", 6, "2", address(this), address(this));
        usdc.configureMinter(address(this), type(uint256).max);
        registry = new IdentityRegistry();
        registry.initialize();
        escrow = new AgentripeEscrow();
        escrow.initialize(address(usdc), address(registry), admin, operator, RECLAIM_DELAY);
    }

    /// @notice Registers an agent owned by `owner` (its agentWallet defaults to `owner`).
    function _registerAgent(address owner) internal returns (uint256 agentId) {
        VM.prank(owner);
        agentId = registry.register();
    }

    /// @notice Sets `agentId`'s agentWallet to the address of `walletKey`, signed as ERC-8004 requires.
    function _setAgentWallet(uint256 agentId, uint256 walletKey) internal returns (address wallet) {
        wallet = VM.addr(walletKey);
        address owner = registry.ownerOf(agentId);
        uint256 deadline = block.timestamp + 60;
        bytes32 domain = keccak256(
            abi.encode(
                EIP712_DOMAIN_TYPEHASH,
                keccak256("ERC8004IdentityRegistry"),
                keccak256("1"),
                block.chainid,
                address(registry)
            )
        );
        bytes32 structHash = keccak256(abi.encode(AGENT_WALLET_SET_TYPEHASH, agentId, wallet, owner, deadline));
        bytes memory sig = _sign(walletKey, keccak256(abi.encodePacked("\x19\x01", domain, structHash)));
        VM.prank(owner);
        registry.setAgentWallet(agentId, wallet, deadline, sig);
    }

    /// @notice Mints USDC to `to`.
    function _mint(address to, uint256 amount) internal {
        usdc.mint(to, amount);
    }

    /// @notice An EIP-3009 authorization signed by `key` (typehash chooses transfer vs receive).
    function _signAuthorization(
        bytes32 typehash,
        uint256 key,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce
    ) internal view returns (bytes memory) {
        bytes32 structHash = keccak256(abi.encode(typehash, VM.addr(key), to, value, validAfter, validBefore, nonce));
        return _sign(key, keccak256(abi.encodePacked("\x19\x01", usdc.DOMAIN_SEPARATOR(), structHash)));
    }

    /// @notice The x402 "exact" EVM settlement: the buyer signs TransferWithAuthorization with
    ///         to = payTo = escrow, and a facilitator submits it. Returns a stand-in for the
    ///         settlement tx hash (the real one is not visible inside the EVM).
    function _payX402(uint256 buyerKey, uint256 amount, bytes32 nonce, address facilitator)
        internal
        returns (bytes32 paymentTxHash)
    {
        uint256 validAfter = block.timestamp - 1;
        uint256 validBefore = block.timestamp + 300;
        bytes memory sig = _signAuthorization(
            usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(),
            buyerKey,
            address(escrow),
            amount,
            validAfter,
            validBefore,
            nonce
        );
        VM.prank(facilitator);
        usdc.transferWithAuthorization(VM.addr(buyerKey), address(escrow), amount, validAfter, validBefore, nonce, sig);
        paymentTxHash = keccak256(abi.encode("x402-settlement", VM.addr(buyerKey), nonce));
    }

    /// @notice A ReceiveWithAuthorization signature for the escrow's pull path.
    function _signReceive(uint256 buyerKey, uint256 amount, bytes32 nonce)
        internal
        view
        returns (uint256 validAfter, uint256 validBefore, bytes memory sig)
    {
        validAfter = block.timestamp - 1;
        validBefore = block.timestamp + 300;
        sig = _signAuthorization(
            usdc.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(),
            buyerKey,
            address(escrow),
            amount,
            validAfter,
            validBefore,
            nonce
        );
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = VM.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }
}
