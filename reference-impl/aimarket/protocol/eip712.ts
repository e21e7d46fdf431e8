/**
 * The on-chain channel escrow's EIP-712 `DebitAuthorization` (spec §6.2): the canonical typehash
 * literal, the domain (`AIMarketEscrow`, `1`, chain id, escrow address), and the digest/signature
 * helpers (viem). Tested against the SDKs' published cross-SDK digest vector.
 */
import { type Address, type Hex, hashTypedData, keccak256, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

export const DEBIT_TYPE_STRING = 'DebitAuthorization(bytes32 channelId,address hub,address token,uint256 amount,bytes32 receiptId,uint256 nonce,uint256 deadline)';
export const DEBIT_TYPEHASH = keccak256(toHex(DEBIT_TYPE_STRING));

export const DEBIT_TYPES = {
  DebitAuthorization: [
    { name: 'channelId', type: 'bytes32' },
    { name: 'hub', type: 'address' },
    { name: 'token', type: 'address' },
    { name: 'amount', type: 'uint256' },
    { name: 'receiptId', type: 'bytes32' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

export interface DebitAuthorization {
  channelId: Hex;
  hub: Address;
  token: Address;
  amount: bigint;
  receiptId: Hex;
  nonce: bigint;
  deadline: bigint;
}

export const escrowDomain = (chainId: number, verifyingContract: Address) => ({ name: 'AIMarketEscrow', version: '1', chainId, verifyingContract }) as const;

/** The EIP-712 digest the escrow recovers the depositor from. */
export function debitDigest(chainId: number, escrow: Address, m: DebitAuthorization): Hex {
  return hashTypedData({ domain: escrowDomain(chainId, escrow), types: DEBIT_TYPES, primaryType: 'DebitAuthorization', message: m });
}

/** The depositor's signature over a debit (65-byte r‖s‖v hex). */
export function signDebit(privateKey: Hex, chainId: number, escrow: Address, m: DebitAuthorization): Promise<Hex> {
  return privateKeyToAccount(privateKey).signTypedData({ domain: escrowDomain(chainId, escrow), types: DEBIT_TYPES, primaryType: 'DebitAuthorization', message: m });
}
