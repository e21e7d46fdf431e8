// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title BrokenFiatToken
/// @notice TEST FIXTURE ONLY. A minimal stand-alone token with USDC's public surface (ERC-20,
///         EIP-3009, EIP-2612, EIP-712 domain) whose individual checks can be switched off, one bug
///         per bit of `bugs`. With `bugs == 0` it behaves like FiatToken v2 for everything the
///         conformance scenarios touch, so a run against it is a control; each bit is the exact
///         defect one requirement exists to catch (kill-rate testing). FiatTokenV2_2's functions
///         are not virtual, hence a separate implementation rather than an override.
contract BrokenFiatToken {
    // Bug bits (keep in sync with scenarios/usdc/broken.ts).
    uint256 internal constant ACCEPT_EXPIRED = 1 << 0; // USDC-3009-02: ignore validBefore
    uint256 internal constant ACCEPT_EARLY = 1 << 1; // USDC-3009-03: ignore validAfter
    uint256 internal constant REUSE_NONCE = 1 << 2; // USDC-3009-04/08: never mark or check nonces
    uint256 internal constant SKIP_3009_SIG = 1 << 3; // USDC-3009-05: accept any signature
    uint256 internal constant RECEIVE_ANY_CALLER = 1 << 4; // USDC-3009-06: receiveWithAuthorization from anyone
    uint256 internal constant CANCEL_NOOP = 1 << 5; // USDC-3009-07: cancel emits but does not burn the nonce
    uint256 internal constant PERMIT_EXPIRED = 1 << 6; // USDC-2612-02: ignore permit deadline
    uint256 internal constant PERMIT_NONCE_STUCK = 1 << 7; // USDC-2612-03: permit nonce never increments
    uint256 internal constant SKIP_PERMIT_SIG = 1 << 8; // USDC-2612-04: accept any permit signature
    uint256 internal constant WRONG_DOMAIN = 1 << 9; // USDC-DOM-01: DOMAIN_SEPARATOR() disagrees with name()/version()
    uint256 internal constant SHORT_TRANSFER = 1 << 10; // USDC-3009-01: authorized transfer moves value - 1
    uint256 internal constant PERMIT_HALF = 1 << 11; // USDC-2612-01: permit approves value / 2
    uint256 internal constant EXPIRED_AT_BOUNDARY = 1 << 12; // USDC-3009-02: accepts now == validBefore

    bytes32 internal constant TRANSFER_TYPEHASH =
        keccak256("TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)");
    bytes32 internal constant RECEIVE_TYPEHASH =
        keccak256("ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)");
    bytes32 internal constant CANCEL_TYPEHASH = keccak256("CancelAuthorization(address authorizer,bytes32 nonce)");
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    string public name;
    string public symbol;
    string public version;
    uint8 public constant decimals = 6;
    uint256 public totalSupply;
    uint256 public bugs;
    address public minter;

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    mapping(address => uint256) public nonces;
    mapping(address => mapping(bytes32 => bool)) internal _authState;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce);
    event AuthorizationCanceled(address indexed authorizer, bytes32 indexed nonce);

    constructor(string memory name_, string memory version_, uint256 bugs_) {
        name = name_;
        symbol = "USDC";
        version = version_;
        bugs = bugs_;
        minter = msg.sender;
    }

    function _bug(uint256 b) internal view returns (bool) {
        return bugs & b != 0;
    }

    function mint(address to, uint256 amount) external {
        require(msg.sender == minter, "only minter");
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        string memory n = _bug(WRONG_DOMAIN) ? string.concat(name, " (wrong)") : name;
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256(bytes(n)),
                keccak256(bytes(version)),
                block.chainid,
                address(this)
            )
        );
    }

    // ---------------------------------------------------------------- ERC-20

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        _approve(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        require(value <= allowance[from][msg.sender], "ERC20: transfer amount exceeds allowance");
        allowance[from][msg.sender] -= value;
        _transfer(from, to, value);
        return true;
    }

    function _transfer(address from, address to, uint256 value) internal {
        require(from != address(0) && to != address(0), "ERC20: zero address");
        require(value <= balanceOf[from], "ERC20: transfer amount exceeds balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }

    function _approve(address owner, address spender, uint256 value) internal {
        allowance[owner][spender] = value;
        emit Approval(owner, spender, value);
    }

    // ---------------------------------------------------------------- EIP-3009

    function authorizationState(address authorizer, bytes32 nonce) external view returns (bool) {
        return _authState[authorizer][nonce];
    }

    function transferWithAuthorization(
        address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce,
        uint8 v, bytes32 r, bytes32 s
    ) external {
        _authorized(TRANSFER_TYPEHASH, from, to, value, validAfter, validBefore, nonce, abi.encodePacked(r, s, v));
    }

    function transferWithAuthorization(
        address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce,
        bytes memory signature
    ) external {
        _authorized(TRANSFER_TYPEHASH, from, to, value, validAfter, validBefore, nonce, signature);
    }

    function receiveWithAuthorization(
        address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce,
        uint8 v, bytes32 r, bytes32 s
    ) external {
        require(_bug(RECEIVE_ANY_CALLER) || to == msg.sender, "FiatTokenV2: caller must be the payee");
        _authorized(RECEIVE_TYPEHASH, from, to, value, validAfter, validBefore, nonce, abi.encodePacked(r, s, v));
    }

    function cancelAuthorization(address authorizer, bytes32 nonce, uint8 v, bytes32 r, bytes32 s) external {
        require(_bug(REUSE_NONCE) || !_authState[authorizer][nonce], "FiatTokenV2: authorization is used or canceled");
        _requireSig(authorizer, keccak256(abi.encode(CANCEL_TYPEHASH, authorizer, nonce)), abi.encodePacked(r, s, v), SKIP_3009_SIG);
        if (!_bug(CANCEL_NOOP) && !_bug(REUSE_NONCE)) _authState[authorizer][nonce] = true;
        emit AuthorizationCanceled(authorizer, nonce);
    }

    function _authorized(
        bytes32 typehash, address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce,
        bytes memory signature
    ) internal {
        require(_bug(ACCEPT_EARLY) || block.timestamp > validAfter, "FiatTokenV2: authorization is not yet valid");
        if (_bug(EXPIRED_AT_BOUNDARY)) {
            require(block.timestamp <= validBefore, "FiatTokenV2: authorization is expired");
        } else {
            require(_bug(ACCEPT_EXPIRED) || block.timestamp < validBefore, "FiatTokenV2: authorization is expired");
        }
        require(_bug(REUSE_NONCE) || !_authState[from][nonce], "FiatTokenV2: authorization is used or canceled");
        _requireSig(from, keccak256(abi.encode(typehash, from, to, value, validAfter, validBefore, nonce)), signature, SKIP_3009_SIG);
        if (!_bug(REUSE_NONCE)) _authState[from][nonce] = true;
        emit AuthorizationUsed(from, nonce);
        _transfer(from, to, _bug(SHORT_TRANSFER) && value > 0 ? value - 1 : value);
    }

    // ---------------------------------------------------------------- EIP-2612

    function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
    {
        require(_bug(PERMIT_EXPIRED) || deadline >= block.timestamp, "FiatTokenV2: permit is expired");
        uint256 n = nonces[owner];
        _requireSig(owner, keccak256(abi.encode(PERMIT_TYPEHASH, owner, spender, value, n, deadline)), abi.encodePacked(r, s, v), SKIP_PERMIT_SIG);
        if (!_bug(PERMIT_NONCE_STUCK)) nonces[owner] = n + 1;
        _approve(owner, spender, _bug(PERMIT_HALF) ? value / 2 : value);
    }

    // ---------------------------------------------------------------- signatures

    function _requireSig(address signer, bytes32 structHash, bytes memory sig, uint256 skipBit) internal view {
        if (_bug(skipBit)) return;
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", DOMAIN_SEPARATOR(), structHash));
        require(sig.length == 65, "FiatTokenV2: invalid signature");
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := mload(add(sig, 0x20))
            s := mload(add(sig, 0x40))
            v := byte(0, mload(add(sig, 0x60)))
        }
        address rec = ecrecover(digest, v, r, s);
        require(rec != address(0) && rec == signer, "FiatTokenV2: invalid signature");
    }
}
