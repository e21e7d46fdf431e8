/**
 * The client side of the `exact` scheme on EVM: sign EIP-3009 authorizations the way the official
 * client (`@x402/evm`) does and build v1/v2 payment payloads, honest or deliberately broken (a
 * scripted attacker needs the broken ones). Pure: no I/O.
 */
import { domainSeparator, getAddress, isAddress, keccak256, maxUint256, toHex, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { randomFillSync } from 'node:crypto';
import { authorizationTypes } from '@x402/evm';
import { encodeHeader, type Authorization, type RequirementsV1, type RequirementsV2 } from './wire.ts';

/** Fields of an authorization a test may override before signing. */
export interface AuthorizationOverrides {
  from?: Address;
  to?: Address;
  value?: bigint;
  validAfter?: bigint;
  validBefore?: bigint;
  nonce?: Hex;
}

/** EIP-712 domain used to sign (tests override it to sign for a wrong token or chain). */
export interface SigningDomain {
  name: string;
  version: string;
  chainId: number;
  verifyingContract: Address;
}

// Deriving an account from its key is a curve multiplication (~1.5 ms): once per key, not per payment.
const accounts = new Map<Hex, ReturnType<typeof privateKeyToAccount>>();
function accountOf(privateKey: Hex) {
  let a = accounts.get(privateKey);
  if (!a) {
    a = privateKeyToAccount(privateKey);
    if (accounts.size >= 1024) accounts.clear();
    accounts.set(privateKey, a);
  }
  return a;
}

/** Signs a TransferWithAuthorization and returns the exact/EVM payload `{signature, authorization}`. */
export async function signAuthorization(
  privateKey: Hex,
  domain: SigningDomain,
  fields: Required<Omit<AuthorizationOverrides, 'from'>> & { from?: Address },
): Promise<{ signature: Hex; authorization: Authorization }> {
  const account = accountOf(privateKey);
  const message = {
    from: fields.from ?? account.address,
    to: getAddress(fields.to),
    value: fields.value,
    validAfter: fields.validAfter,
    validBefore: fields.validBefore,
    nonce: fields.nonce,
  };
  const digest = authorizationDigest(domain, message);
  const signature = digest ? await account.sign({ hash: digest }) : await account.signTypedData({ domain, types: authorizationTypes, primaryType: 'TransferWithAuthorization', message });
  return {
    signature,
    authorization: {
      from: message.from,
      to: message.to,
      value: message.value.toString(),
      validAfter: message.validAfter.toString(),
      validBefore: message.validBefore.toString(),
      nonce: message.nonce,
    },
  };
}

const TRANSFER_TYPE_HASH = keccak256(toHex('TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)'));
// One separator per token and chain: a payer pays the same few tokens over and over.
const separators = new Map<string, Hex>();

/**
 * The EIP-712 digest of a TransferWithAuthorization, as viem's hashTypedData computes it, with the
 * domain's separator kept (hashing the domain again each time was most of the signing cost).
 * Undefined for fields EIP-712 cannot encode; the caller then lets viem refuse them.
 */
export function authorizationDigest(domain: SigningDomain, m: { from: Address; to: Address; value: bigint; validAfter: bigint; validBefore: bigint; nonce: Hex }): Hex | undefined {
  const words = [m.value, m.validAfter, m.validBefore];
  if (words.some((w) => w < 0n || w > maxUint256) || !/^0x[0-9a-fA-F]{64}$/.test(m.nonce) || !isAddress(m.from) || !isAddress(m.to)) return undefined;
  const key = `${domain.name}\n${domain.version}\n${domain.chainId}\n${domain.verifyingContract}`;
  let separator = separators.get(key);
  if (!separator) {
    separator = domainSeparator({ domain });
    if (separators.size >= 256) separators.clear();
    separators.set(key, separator);
  }
  const word = (x: bigint) => x.toString(16).padStart(64, '0');
  const address = (a: Address) => a.slice(2).padStart(64, '0');
  const struct = keccak256(`${TRANSFER_TYPE_HASH}${address(m.from)}${address(m.to)}${words.map(word).join('')}${m.nonce.slice(2)}`);
  return keccak256(`0x1901${separator.slice(2)}${struct.slice(2)}`);
}

// Random bytes drawn 4 KB at a time: one call into the system's generator per 128 nonces, not per
// payment (each call costs as much as hashing the authorization).
const pool = Buffer.alloc(4096);
let poolAt = pool.length;

/** A fresh random 32-byte nonce. */
export function randomNonce(): Hex {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  poolAt += 32;
  return `0x${pool.toString('hex', poolAt - 32, poolAt)}`;
}

type PayOptions = { now: bigint; chainId: number; auth?: AuthorizationOverrides; domain?: Partial<SigningDomain> };

/** Signs the EIP-3009 authorization a client would send for `req` (shared by both versions). */
function authorizeFor(privateKey: Hex, req: RequirementsV1 | RequirementsV2, value: bigint, opts: PayOptions) {
  const domain: SigningDomain = {
    name: String(req.extra?.name),
    version: String(req.extra?.version),
    chainId: opts.chainId,
    verifyingContract: getAddress(req.asset),
    ...opts.domain,
  };
  return signAuthorization(privateKey, domain, {
    to: getAddress(req.payTo),
    value,
    validAfter: opts.now - 600n,
    validBefore: opts.now + BigInt(req.maxTimeoutSeconds),
    nonce: randomNonce(),
    ...opts.auth,
  });
}

/**
 * A v2 payload paying `req` (what `@x402/evm`'s client would send), with optional tampering:
 * `auth` changes signed fields, `domain` the signing domain, `accepted` the echoed requirements.
 */
export async function makeV2Payload(privateKey: Hex, req: RequirementsV2, opts: PayOptions & { accepted?: Partial<RequirementsV2> }): Promise<Record<string, unknown>> {
  const payload = await authorizeFor(privateKey, req, BigInt(req.amount), opts);
  return { x402Version: 2, accepted: { ...req, ...opts.accepted }, payload };
}

/** A v1 payload paying `req`. */
export async function makeV1Payload(privateKey: Hex, req: RequirementsV1, opts: PayOptions & { network?: string }): Promise<Record<string, unknown>> {
  const payload = await authorizeFor(privateKey, req, BigInt(req.maxAmountRequired), opts);
  return { x402Version: 1, scheme: req.scheme, network: opts.network ?? req.network, payload };
}

/** Base64 header value of a payload. */
export const asHeader = encodeHeader;
