/**
 * The EIP-3009 token surface the exact/EVM scheme uses on chain, written from the EIP and FiatToken
 * v2.2's public interface (not generated from our contracts): the settlement call, the nonce view
 * and the two events a settlement emits. Clients and checkers read settlements with it.
 */
import { parseAbi } from 'viem';

export const eip3009TokenAbi = parseAbi([
  'function transferWithAuthorization(address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce, uint8 v, bytes32 r, bytes32 s)',
  'function transferWithAuthorization(address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce, bytes signature)',
  'function authorizationState(address authorizer, bytes32 nonce) view returns (bool)',
  'function balanceOf(address account) view returns (uint256)',
  'event Transfer(address indexed from, address indexed to, uint256 value)',
  'event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce)',
]);
