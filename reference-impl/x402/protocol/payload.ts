/**
 * The client side of the `exact` scheme on EVM: sign EIP-3009 authorizations the way the official
 * client (`@x402/evm`) does and build v1/v2 payment payloads, honest or deliberately broken (a
 * scripted attacker needs the broken ones). Pure: no I/O.
 */
import { getAddress, toHex, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { randomBytes } from 'node:crypto';
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
  const signature = await account.signTypedData({ domain, types: authorizationTypes, primaryType: 'TransferWithAuthorization', message });
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

/** A fresh random 32-byte nonce. */
export function randomNonce(): Hex {
  return toHex(randomBytes(32));
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
