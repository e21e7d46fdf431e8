// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Permit2
/// @notice Stand-in for Uniswap's Permit2 at 0x000000000022D473030F116dDEE9F6B43aC78BA3, with the
/// canonical ABI, EIP-712 domain (name "Permit2", chainId, verifyingContract; no version) and type
/// strings, so x402's Permit2 payment path (permitWitnessTransferFrom with
/// `Witness(address to,uint256 validAfter)`) verifies signatures made for the real contract.
/// @dev Implemented:
///  - SignatureTransfer: permitTransferFrom, permitWitnessTransferFrom (single and batch),
///    nonceBitmap, invalidateUnorderedNonces;
///  - AllowanceTransfer (single only): approve, allowance, permit(owner, PermitSingle, signature),
///    transferFrom(from, to, amount, token), invalidateNonces.
/// Not implemented: AllowanceTransfer's PermitBatch permit, batch transferFrom
/// (AllowanceTransferDetails[]) and lockdown. Signatures follow Permit2's SignatureVerification:
/// 65-byte or 64-byte (EIP-2098) ECDSA for EOAs, ERC-1271 for contracts; like the original, high-s
/// values are not rejected. No state to initialise; the domain separator is recomputed per call.
contract Permit2 {
    // ---------------------------------------------------------------------------------------------
    // Types (as in ISignatureTransfer / IAllowanceTransfer)
    // ---------------------------------------------------------------------------------------------
    struct TokenPermissions {
        address token;
        uint256 amount;
    }

    struct PermitTransferFrom {
        TokenPermissions permitted;
        uint256 nonce;
        uint256 deadline;
    }

    struct SignatureTransferDetails {
        address to;
        uint256 requestedAmount;
    }

    struct PermitBatchTransferFrom {
        TokenPermissions[] permitted;
        uint256 nonce;
        uint256 deadline;
    }

    struct PermitDetails {
        address token;
        uint160 amount;
        uint48 expiration;
        uint48 nonce;
    }

    struct PermitSingle {
        PermitDetails details;
        address spender;
        uint256 sigDeadline;
    }

    struct PackedAllowance {
        uint160 amount;
        uint48 expiration;
        uint48 nonce;
    }

    // ---------------------------------------------------------------------------------------------
    // Errors and events (canonical names)
    // ---------------------------------------------------------------------------------------------
    error SignatureExpired(uint256 signatureDeadline);
    error InvalidAmount(uint256 maxAmount);
    error LengthMismatch();
    error InvalidNonce();
    error InvalidSignatureLength();
    error InvalidSignature();
    error InvalidSigner();
    error InvalidContractSignature();
    error AllowanceExpired(uint256 deadline);
    error InsufficientAllowance(uint256 amount);
    error ExcessiveInvalidation();

    event UnorderedNonceInvalidation(address indexed owner, uint256 word, uint256 mask);
    event Approval(
        address indexed owner, address indexed token, address indexed spender, uint160 amount, uint48 expiration
    );
    event Permit(
        address indexed owner,
        address indexed token,
        address indexed spender,
        uint160 amount,
        uint48 expiration,
        uint48 nonce
    );
    event NonceInvalidation(
        address indexed owner, address indexed token, address indexed spender, uint48 newNonce, uint48 oldNonce
    );

    // ---------------------------------------------------------------------------------------------
    // Type hashes
    // ---------------------------------------------------------------------------------------------
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,uint256 chainId,address verifyingContract)");
    bytes32 private constant NAME_HASH = keccak256("Permit2");

    bytes32 public constant TOKEN_PERMISSIONS_TYPEHASH = keccak256("TokenPermissions(address token,uint256 amount)");
    bytes32 public constant PERMIT_TRANSFER_FROM_TYPEHASH = keccak256(
        "PermitTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline)TokenPermissions(address token,uint256 amount)"
    );
    bytes32 public constant PERMIT_BATCH_TRANSFER_FROM_TYPEHASH = keccak256(
        "PermitBatchTransferFrom(TokenPermissions[] permitted,address spender,uint256 nonce,uint256 deadline)TokenPermissions(address token,uint256 amount)"
    );
    /// @notice Prefix of the witness type strings; the caller supplies the rest
    /// (e.g. "Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,uint256 validAfter)").
    string public constant PERMIT_WITNESS_TRANSFER_FROM_TYPEHASH_STUB =
        "PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,";
    string public constant PERMIT_BATCH_WITNESS_TRANSFER_FROM_TYPEHASH_STUB =
        "PermitBatchWitnessTransferFrom(TokenPermissions[] permitted,address spender,uint256 nonce,uint256 deadline,";
    bytes32 public constant PERMIT_DETAILS_TYPEHASH =
        keccak256("PermitDetails(address token,uint160 amount,uint48 expiration,uint48 nonce)");
    bytes32 public constant PERMIT_SINGLE_TYPEHASH = keccak256(
        "PermitSingle(PermitDetails details,address spender,uint256 sigDeadline)PermitDetails(address token,uint160 amount,uint48 expiration,uint48 nonce)"
    );

    // ---------------------------------------------------------------------------------------------
    // Storage
    // ---------------------------------------------------------------------------------------------

    /// @notice Unordered-nonce bitmap: bit (nonce & 0xff) of word (nonce >> 8) set = nonce used.
    mapping(address owner => mapping(uint256 wordPos => uint256 bitmap)) public nonceBitmap;

    /// @notice AllowanceTransfer allowances: owner => token => spender => (amount, expiration, nonce).
    mapping(address owner => mapping(address token => mapping(address spender => PackedAllowance))) public allowance;

    /// @notice EIP-712 domain separator, recomputed per call (no immutables).
    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, block.chainid, address(this)));
    }

    // ---------------------------------------------------------------------------------------------
    // SignatureTransfer
    // ---------------------------------------------------------------------------------------------

    /// @notice Transfers `owner`'s tokens to `transferDetails.to` on a one-time signed permit whose
    /// spender is msg.sender.
    function permitTransferFrom(
        PermitTransferFrom memory permit,
        SignatureTransferDetails calldata transferDetails,
        address owner,
        bytes calldata signature
    ) external {
        bytes32 structHash = keccak256(
            abi.encode(
                PERMIT_TRANSFER_FROM_TYPEHASH,
                _hashTokenPermissions(permit.permitted),
                msg.sender,
                permit.nonce,
                permit.deadline
            )
        );
        _permitTransferFrom(permit, transferDetails, owner, structHash, signature);
    }

    /// @notice As {permitTransferFrom}, with extra signed data (`witness`, typed by `witnessTypeString`).
    function permitWitnessTransferFrom(
        PermitTransferFrom memory permit,
        SignatureTransferDetails calldata transferDetails,
        address owner,
        bytes32 witness,
        string calldata witnessTypeString,
        bytes calldata signature
    ) external {
        bytes32 typeHash = keccak256(abi.encodePacked(PERMIT_WITNESS_TRANSFER_FROM_TYPEHASH_STUB, witnessTypeString));
        bytes32 structHash = keccak256(
            abi.encode(
                typeHash, _hashTokenPermissions(permit.permitted), msg.sender, permit.nonce, permit.deadline, witness
            )
        );
        _permitTransferFrom(permit, transferDetails, owner, structHash, signature);
    }

    /// @notice Batch form of {permitTransferFrom}; a zero requestedAmount skips that token.
    function permitTransferFrom(
        PermitBatchTransferFrom memory permit,
        SignatureTransferDetails[] calldata transferDetails,
        address owner,
        bytes calldata signature
    ) external {
        bytes32 structHash = keccak256(
            abi.encode(
                PERMIT_BATCH_TRANSFER_FROM_TYPEHASH,
                _hashPermittedArray(permit.permitted),
                msg.sender,
                permit.nonce,
                permit.deadline
            )
        );
        _permitBatchTransferFrom(permit, transferDetails, owner, structHash, signature);
    }

    /// @notice Batch form of {permitWitnessTransferFrom}.
    function permitWitnessTransferFrom(
        PermitBatchTransferFrom memory permit,
        SignatureTransferDetails[] calldata transferDetails,
        address owner,
        bytes32 witness,
        string calldata witnessTypeString,
        bytes calldata signature
    ) external {
        bytes32 typeHash = keccak256(
            abi.encodePacked(PERMIT_BATCH_WITNESS_TRANSFER_FROM_TYPEHASH_STUB, witnessTypeString)
        );
        bytes32 structHash = keccak256(
            abi.encode(
                typeHash, _hashPermittedArray(permit.permitted), msg.sender, permit.nonce, permit.deadline, witness
            )
        );
        _permitBatchTransferFrom(permit, transferDetails, owner, structHash, signature);
    }

    /// @notice Marks the nonces whose bits are set in `mask`, in word `wordPos`, as used.
    function invalidateUnorderedNonces(uint256 wordPos, uint256 mask) external {
        nonceBitmap[msg.sender][wordPos] |= mask;
        emit UnorderedNonceInvalidation(msg.sender, wordPos, mask);
    }

    function _permitTransferFrom(
        PermitTransferFrom memory permit,
        SignatureTransferDetails calldata transferDetails,
        address owner,
        bytes32 structHash,
        bytes calldata signature
    ) private {
        if (block.timestamp > permit.deadline) revert SignatureExpired(permit.deadline);
        if (transferDetails.requestedAmount > permit.permitted.amount) revert InvalidAmount(permit.permitted.amount);
        _useUnorderedNonce(owner, permit.nonce);
        _verify(signature, _hashTypedData(structHash), owner);
        _safeTransferFrom(permit.permitted.token, owner, transferDetails.to, transferDetails.requestedAmount);
    }

    function _permitBatchTransferFrom(
        PermitBatchTransferFrom memory permit,
        SignatureTransferDetails[] calldata transferDetails,
        address owner,
        bytes32 structHash,
        bytes calldata signature
    ) private {
        if (block.timestamp > permit.deadline) revert SignatureExpired(permit.deadline);
        if (permit.permitted.length != transferDetails.length) revert LengthMismatch();
        _useUnorderedNonce(owner, permit.nonce);
        _verify(signature, _hashTypedData(structHash), owner);
        for (uint256 i; i < permit.permitted.length; ++i) {
            uint256 requested = transferDetails[i].requestedAmount;
            if (requested > permit.permitted[i].amount) revert InvalidAmount(permit.permitted[i].amount);
            if (requested != 0) {
                _safeTransferFrom(permit.permitted[i].token, owner, transferDetails[i].to, requested);
            }
        }
    }

    function _useUnorderedNonce(address from, uint256 nonce) private {
        uint256 bit = 1 << (nonce & 0xff);
        uint256 flipped = nonceBitmap[from][nonce >> 8] ^= bit;
        if (flipped & bit == 0) revert InvalidNonce();
    }

    function _hashTokenPermissions(TokenPermissions memory permitted) private pure returns (bytes32) {
        return keccak256(abi.encode(TOKEN_PERMISSIONS_TYPEHASH, permitted.token, permitted.amount));
    }

    function _hashPermittedArray(TokenPermissions[] memory permitted) private pure returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](permitted.length);
        for (uint256 i; i < permitted.length; ++i) {
            hashes[i] = _hashTokenPermissions(permitted[i]);
        }
        return keccak256(abi.encodePacked(hashes));
    }

    // ---------------------------------------------------------------------------------------------
    // AllowanceTransfer (single)
    // ---------------------------------------------------------------------------------------------

    /// @notice Sets msg.sender's allowance for `spender` on `token`; expiration 0 means "this block".
    function approve(address token, address spender, uint160 amount, uint48 expiration) external {
        PackedAllowance storage allowed = allowance[msg.sender][token][spender];
        allowed.amount = amount;
        allowed.expiration = expiration == 0 ? uint48(block.timestamp) : expiration;
        emit Approval(msg.sender, token, spender, amount, expiration);
    }

    /// @notice Sets an allowance from `owner`'s signature over a PermitSingle; its nonce must be current.
    function permit(address owner, PermitSingle memory permitSingle, bytes calldata signature) external {
        if (block.timestamp > permitSingle.sigDeadline) revert SignatureExpired(permitSingle.sigDeadline);
        PermitDetails memory d = permitSingle.details;
        bytes32 detailsHash = keccak256(abi.encode(PERMIT_DETAILS_TYPEHASH, d.token, d.amount, d.expiration, d.nonce));
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_SINGLE_TYPEHASH, detailsHash, permitSingle.spender, permitSingle.sigDeadline));
        _verify(signature, _hashTypedData(structHash), owner);

        PackedAllowance storage allowed = allowance[owner][d.token][permitSingle.spender];
        if (allowed.nonce != d.nonce) revert InvalidNonce();
        allowed.amount = d.amount;
        allowed.expiration = d.expiration == 0 ? uint48(block.timestamp) : d.expiration;
        unchecked {
            allowed.nonce = d.nonce + 1;
        }
        emit Permit(owner, d.token, permitSingle.spender, d.amount, d.expiration, d.nonce);
    }

    /// @notice Moves `amount` of `token` from `from` to `to` within msg.sender's allowance
    /// (type(uint160).max is never decremented).
    function transferFrom(address from, address to, uint160 amount, address token) external {
        PackedAllowance storage allowed = allowance[from][token][msg.sender];
        if (block.timestamp > allowed.expiration) revert AllowanceExpired(allowed.expiration);
        uint160 maxAmount = allowed.amount;
        if (maxAmount != type(uint160).max) {
            if (amount > maxAmount) revert InsufficientAllowance(maxAmount);
            unchecked {
                allowed.amount = maxAmount - amount;
            }
        }
        _safeTransferFrom(token, from, to, amount);
    }

    /// @notice Raises msg.sender's allowance nonce for (token, spender), voiding pending permits.
    function invalidateNonces(address token, address spender, uint48 newNonce) external {
        PackedAllowance storage allowed = allowance[msg.sender][token][spender];
        uint48 oldNonce = allowed.nonce;
        if (newNonce <= oldNonce) revert InvalidNonce();
        // Same bound as Permit2: at most 2^16 nonces at once.
        if (newNonce - oldNonce > type(uint16).max) revert ExcessiveInvalidation();
        allowed.nonce = newNonce;
        emit NonceInvalidation(msg.sender, token, spender, newNonce, oldNonce);
    }

    // ---------------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------------

    function _hashTypedData(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", DOMAIN_SEPARATOR(), structHash));
    }

    /// @dev Permit2's SignatureVerification.verify.
    function _verify(bytes calldata signature, bytes32 digest, address claimedSigner) private view {
        if (claimedSigner.code.length == 0) {
            bytes32 r;
            bytes32 s;
            uint8 v;
            if (signature.length == 65) {
                r = bytes32(signature[0:32]);
                s = bytes32(signature[32:64]);
                v = uint8(signature[64]);
            } else if (signature.length == 64) {
                // EIP-2098 compact form: the top bit of `vs` carries v.
                r = bytes32(signature[0:32]);
                bytes32 vs = bytes32(signature[32:64]);
                s = vs & bytes32(uint256(type(uint256).max >> 1));
                v = uint8(uint256(vs) >> 255) + 27;
            } else {
                revert InvalidSignatureLength();
            }
            address signer = ecrecover(digest, v, r, s);
            if (signer == address(0)) revert InvalidSignature();
            if (signer != claimedSigner) revert InvalidSigner();
        } else {
            (bool ok, bytes memory ret) =
                claimedSigner.staticcall(abi.encodeWithSelector(0x1626ba7e, digest, signature));
            if (!ok || ret.length < 32 || abi.decode(ret, (bytes4)) != bytes4(0x1626ba7e)) {
                revert InvalidContractSignature();
            }
        }
    }

    /// @dev Solmate SafeTransferLib semantics: success, and either no return data or `true`.
    function _safeTransferFrom(address token, address from, address to, uint256 amount) private {
        (bool ok, bytes memory ret) = token.call(abi.encodeWithSelector(0x23b872dd, from, to, amount));
        require(ok && (ret.length == 0 || abi.decode(ret, (bool))) && token.code.length > 0, "TRANSFER_FROM_FAILED");
    }
}
