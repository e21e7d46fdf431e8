// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title SigLib
/// @notice Non-reverting signature helpers shared by the canonical-address contracts. Each caller maps
/// the outcome to the revert reason its real counterpart uses, so the error surface stays faithful.
library SigLib {
    /// @dev Outcome of {tryRecover}.
    enum RecoverError {
        None,
        InvalidLength,
        InvalidS,
        InvalidV,
        ZeroAddress
    }

    /// @dev secp256k1n / 2: signatures with a larger `s` are the malleable twin and are refused.
    uint256 internal constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// @dev ERC-1271 magic value: bytes4(keccak256("isValidSignature(bytes32,bytes)")).
    bytes4 internal constant ERC1271_MAGIC = 0x1626ba7e;

    /// @notice Recovers the signer of a 65-byte r||s||v signature, refusing high-s and bad v.
    function tryRecover(bytes32 digest, bytes memory signature) internal pure returns (address, RecoverError) {
        if (signature.length != 65) return (address(0), RecoverError.InvalidLength);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := mload(add(signature, 0x20))
            s := mload(add(signature, 0x40))
            v := byte(0, mload(add(signature, 0x60)))
        }
        return tryRecover(digest, v, r, s);
    }

    /// @notice (v, r, s) form of {tryRecover}.
    function tryRecover(bytes32 digest, uint8 v, bytes32 r, bytes32 s) internal pure returns (address, RecoverError) {
        if (uint256(s) > HALF_N) return (address(0), RecoverError.InvalidS);
        if (v != 27 && v != 28) return (address(0), RecoverError.InvalidV);
        address signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) return (address(0), RecoverError.ZeroAddress);
        return (signer, RecoverError.None);
    }

    /// @notice True when `signer` is a contract whose ERC-1271 `isValidSignature` returns the magic value.
    /// A reverting or malformed answer counts as invalid rather than bubbling up.
    function isValidERC1271(address signer, bytes32 digest, bytes memory signature) internal view returns (bool) {
        if (signer.code.length == 0) return false;
        (bool ok, bytes memory ret) = signer.staticcall(abi.encodeWithSelector(ERC1271_MAGIC, digest, signature));
        return ok && ret.length >= 32 && abi.decode(ret, (bytes32)) == bytes32(ERC1271_MAGIC);
    }

    /// @notice EIP-712 digest: keccak256("\x19\x01" || domainSeparator || structHash).
    function typedDataHash(bytes32 domainSeparator, bytes32 structHash) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, hex"1901")
            mstore(add(ptr, 0x02), domainSeparator)
            mstore(add(ptr, 0x22), structHash)
            digest := keccak256(ptr, 0x42)
        }
    }
}
