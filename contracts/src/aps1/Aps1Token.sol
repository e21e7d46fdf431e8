// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice The ERC-20 calls the APS-1 escrows make.
interface IAps1Token {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
    function balanceOf(address account) external view returns (uint256);
}

/// @title Aps1Token
/// @notice Token moves for the APS-1 escrows: calls that tolerate tokens returning nothing, and a
///         pull that measures what arrived (a fee-on-transfer token cannot under-fund an escrow).
library Aps1Token {
    error TokenTransferFailed(address token);
    error ReceivedLess(address token, uint256 expected, uint256 received);

    function send(address token, address to, uint256 amount) internal {
        if (amount == 0) return;
        (bool ok, bytes memory ret) = token.call(abi.encodeCall(IAps1Token.transfer, (to, amount)));
        _check(token, ok, ret);
    }

    /// @notice Pulls exactly `amount` from `from` (needs an allowance) and checks it arrived.
    function pull(address token, address from, uint256 amount) internal {
        if (amount == 0) return;
        uint256 before = IAps1Token(token).balanceOf(address(this));
        (bool ok, bytes memory ret) = token.call(abi.encodeCall(IAps1Token.transferFrom, (from, address(this), amount)));
        _check(token, ok, ret);
        uint256 received = IAps1Token(token).balanceOf(address(this)) - before;
        if (received != amount) revert ReceivedLess(token, amount, received);
    }

    /// @dev A failed call re-raises the token's own error (an allowance or balance error stays readable).
    function _check(address token, bool ok, bytes memory ret) private pure {
        if (!ok) {
            if (ret.length == 0) revert TokenTransferFailed(token);
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        if (ret.length != 0 && (ret.length != 32 || !abi.decode(ret, (bool)))) revert TokenTransferFailed(token);
    }

    /// @notice The token's `decimals()`, or 18 when it has none (the cap is then used as stored).
    function decimalsOf(address token) internal view returns (uint8) {
        (bool ok, bytes memory ret) = token.staticcall(abi.encodeWithSignature("decimals()"));
        if (!ok || ret.length < 32) return 18;
        uint256 d = abi.decode(ret, (uint256));
        return d > 77 ? 18 : uint8(d);
    }
}
