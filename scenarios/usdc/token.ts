/**
 * USDC (FiatToken v2.2) public interface as the scenarios see it: the ABI from EIP-3009/EIP-2612
 * and Circle's FiatToken v2, EIP-712 signing helpers, and small arbitraries. Scenarios use only
 * this and the Target's declared address/domain — never the reference contract's internals.
 */
import fc from 'fast-check';
import { parseAbi, parseSignature, toHex, type Address, type Hex, type PrivateKeyAccount } from 'viem';
import type { ChainSession } from '../../harness/engine/session.ts';
import type { ScenarioEnv } from '../../harness/engine/dsl.ts';

export const usdcAbi = parseAbi([
  'function name() view returns (string)',
  'function version() view returns (string)',
  'function decimals() view returns (uint8)',
  'function DOMAIN_SEPARATOR() view returns (bytes32)',
  'function balanceOf(address) view returns (uint256)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function nonces(address owner) view returns (uint256)',
  'function authorizationState(address authorizer, bytes32 nonce) view returns (bool)',
  'function transferFrom(address from, address to, uint256 value) returns (bool)',
  'function transferWithAuthorization(address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce, uint8 v, bytes32 r, bytes32 s)',
  'function receiveWithAuthorization(address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce, uint8 v, bytes32 r, bytes32 s)',
  'function cancelAuthorization(address authorizer, bytes32 nonce, uint8 v, bytes32 r, bytes32 s)',
  'function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)',
  'event Transfer(address indexed from, address indexed to, uint256 value)',
  'event Approval(address indexed owner, address indexed spender, uint256 value)',
  'event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce)',
  'event AuthorizationCanceled(address indexed authorizer, bytes32 indexed nonce)',
]);

/** Payers and payees drawn by the arbitraries (role accounts every target is asked to fund). */
export const HOLDERS = ['buyer1', 'buyer2', 'vendor1', 'vendor2'] as const;
/** Accounts that relay a signed authorization (anyone may submit transferWithAuthorization). */
export const RELAYERS = ['provider', 'attacker', 'operator'] as const;

/** EIP-712 domain of the target's USDC on one chain, as the target declares it. */
export function usdcDomain(s: ChainSession) {
  const u = s.spec.usdc!;
  return { name: u.name, version: u.version, chainId: s.chainId, verifyingContract: u.address as Address };
}

export interface Authorization {
  from: Address;
  to: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
}

const authTypes = (primary: 'TransferWithAuthorization' | 'ReceiveWithAuthorization') =>
  ({
    [primary]: [
      { name: 'from', type: 'address' },
      { name: 'to', type: 'address' },
      { name: 'value', type: 'uint256' },
      { name: 'validAfter', type: 'uint256' },
      { name: 'validBefore', type: 'uint256' },
      { name: 'nonce', type: 'bytes32' },
    ],
  }) as const;

/** Sign an EIP-3009 authorization; returns v, r, s. */
export async function signAuthorization(
  signer: PrivateKeyAccount,
  domain: ReturnType<typeof usdcDomain>,
  a: Authorization,
  primaryType: 'TransferWithAuthorization' | 'ReceiveWithAuthorization' = 'TransferWithAuthorization',
): Promise<{ v: number; r: Hex; s: Hex }> {
  const sig = await signer.signTypedData({ domain, types: authTypes(primaryType), primaryType, message: a } as never);
  return vrs(sig);
}

/** Sign an EIP-3009 cancellation. */
export async function signCancel(signer: PrivateKeyAccount, domain: ReturnType<typeof usdcDomain>, authorizer: Address, nonce: Hex) {
  const sig = await signer.signTypedData({
    domain,
    types: {
      CancelAuthorization: [
        { name: 'authorizer', type: 'address' },
        { name: 'nonce', type: 'bytes32' },
      ],
    },
    primaryType: 'CancelAuthorization',
    message: { authorizer, nonce },
  });
  return vrs(sig);
}

export interface Permit {
  owner: Address;
  spender: Address;
  value: bigint;
  nonce: bigint;
  deadline: bigint;
}

/** Sign an EIP-2612 permit. */
export async function signPermit(signer: PrivateKeyAccount, domain: ReturnType<typeof usdcDomain>, p: Permit) {
  const sig = await signer.signTypedData({
    domain,
    types: {
      Permit: [
        { name: 'owner', type: 'address' },
        { name: 'spender', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'Permit',
    message: p,
  });
  return vrs(sig);
}

function vrs(sig: Hex): { v: number; r: Hex; s: Hex } {
  const p = parseSignature(sig);
  return { v: Number(p.v ?? BigInt(27 + (p.yParity ?? 0))), r: p.r, s: p.s };
}

/** Args of transferWithAuthorization / receiveWithAuthorization. */
export function authArgs(a: Authorization, sig: { v: number; r: Hex; s: Hex }) {
  return [a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, sig.v, sig.r, sig.s] as const;
}

/** Format USDC base units as a readable amount (6 decimals). */
export function usd(v: bigint): string {
  const neg = v < 0n;
  const a = neg ? -v : v;
  const frac = (a % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${a / 1_000_000n}${frac ? `.${frac}` : ''} USDC`;
}

/** A chain that declares USDC. */
export const chainArb = (env: ScenarioEnv) => fc.constantFrom(...env.chains.map((c) => c.id));
/** A 32-byte nonce. */
export const nonceArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b));
/** A payment amount: 1 base unit up to 10,000 USDC, biased to small values. */
export const amountArb = fc.bigInt({ min: 1n, max: 10_000_000_000n });
/** Two distinct holders (payer, payee). */
export const pairArb = fc.tuple(fc.constantFrom(...HOLDERS), fc.constantFrom(...HOLDERS)).filter(([a, b]) => a !== b);

/** Read the balances of roles on the target's USDC. */
export async function usdcBalances(s: ChainSession, roles: string[]) {
  return s.balances(s.contract('usdc'), roles);
}
