// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title TempoStablecoin
/// @notice A Tempo-shaped 6-decimal USD stablecoin (AlphaUSD, pathUSD, BetaUSD, ThetaUSD at
///         0x20c0…0000-0003 on the `tempo` chain profile): a plain ERC-20 whose supply a single minter
///         (the lab's admin) creates with `mint(address,uint256)`, which is how the harness funds role
///         accounts (harness/chain/provision.ts, token kind `mintable`).
/// @dev Written for this harness; Tempo's TIP-20 tokens have more (memos, transfer policies, fee
///      payment) that APS-1 does not use. No constructor state: the runtime code is placed with
///      `anvil_setCode` and configured once by `initialize`.
contract TempoStablecoin {
    string private _name;
    string private _symbol;
    uint8 private _decimals;
    bool private _initialized;
    /// @notice The only account that may mint.
    address public minter;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event MinterChanged(address indexed previousMinter, address indexed newMinter);

    error AlreadyInitialized();
    error ZeroAddress();
    error NotMinter(address caller);
    error InsufficientBalance(address from, uint256 balance, uint256 needed);
    error InsufficientAllowance(address spender, uint256 allowance, uint256 needed);

    /// @notice One-time configuration (replaces a constructor).
    function initialize(string calldata name_, string calldata symbol_, uint8 decimals_, address minter_) external {
        if (_initialized) revert AlreadyInitialized();
        if (minter_ == address(0)) revert ZeroAddress();
        _initialized = true;
        _name = name_;
        _symbol = symbol_;
        _decimals = decimals_;
        minter = minter_;
        emit MinterChanged(address(0), minter_);
    }

    function name() external view returns (string memory) {
        return _name;
    }

    function symbol() external view returns (string memory) {
        return _symbol;
    }

    function decimals() external view returns (uint8) {
        return _decimals;
    }

    /// @notice Creates `amount` tokens for `to` (minter only).
    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert NotMinter(msg.sender);
        if (to == address(0)) revert ZeroAddress();
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    /// @notice Hands the minter role over (minter only).
    function setMinter(address newMinter) external {
        if (msg.sender != minter) revert NotMinter(msg.sender);
        if (newMinter == address(0)) revert ZeroAddress();
        emit MinterChanged(minter, newMinter);
        minter = newMinter;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        if (spender == address(0)) revert ZeroAddress();
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < value) revert InsufficientAllowance(msg.sender, allowed, value);
            allowance[from][msg.sender] = allowed - value;
        }
        _transfer(from, to, value);
        return true;
    }

    function _transfer(address from, address to, uint256 value) private {
        if (to == address(0)) revert ZeroAddress();
        uint256 bal = balanceOf[from];
        if (bal < value) revert InsufficientBalance(from, bal, value);
        unchecked {
            balanceOf[from] = bal - value;
        }
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
