/**
 * Helpers for x402 tests and scripted agents: sign EIP-3009 authorizations the way the official
 * client does, build v1/v2 payloads (honest or deliberately broken), read balances, move chain time.
 */
import { createPublicClient, getAddress, http, toHex, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { randomBytes } from 'node:crypto';
import { authorizationTypes, eip3009ABI } from '@x402/evm';
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

/** Signs a TransferWithAuthorization and returns the exact/EVM payload `{signature, authorization}`. */
export async function signAuthorization(
  privateKey: Hex,
  domain: SigningDomain,
  fields: Required<Omit<AuthorizationOverrides, 'from'>> & { from?: Address },
): Promise<{ signature: Hex; authorization: Authorization }> {
  const account = privateKeyToAccount(privateKey);
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

/**
 * A v2 payload paying `req` (what `@x402/evm`'s client would send), with optional tampering:
 * `auth` changes signed fields, `domain` the signing domain, `accepted` the echoed requirements.
 */
export async function makeV2Payload(
  privateKey: Hex,
  req: RequirementsV2,
  opts: { now: bigint; chainId: number; auth?: AuthorizationOverrides; domain?: Partial<SigningDomain>; accepted?: Partial<RequirementsV2> } ,
): Promise<Record<string, unknown>> {
  const domain: SigningDomain = {
    name: String(req.extra?.name),
    version: String(req.extra?.version),
    chainId: opts.chainId,
    verifyingContract: getAddress(req.asset),
    ...opts.domain,
  };
  const payload = await signAuthorization(privateKey, domain, {
    to: getAddress(req.payTo),
    value: BigInt(req.amount),
    validAfter: opts.now - 600n,
    validBefore: opts.now + BigInt(req.maxTimeoutSeconds),
    nonce: randomNonce(),
    ...opts.auth,
  });
  return { x402Version: 2, accepted: { ...req, ...opts.accepted }, payload };
}

/** A v1 payload paying `req`. */
export async function makeV1Payload(
  privateKey: Hex,
  req: RequirementsV1,
  opts: { now: bigint; chainId: number; auth?: AuthorizationOverrides; domain?: Partial<SigningDomain>; network?: string },
): Promise<Record<string, unknown>> {
  const domain: SigningDomain = {
    name: String(req.extra?.name),
    version: String(req.extra?.version),
    chainId: opts.chainId,
    verifyingContract: getAddress(req.asset),
    ...opts.domain,
  };
  const payload = await signAuthorization(privateKey, domain, {
    to: getAddress(req.payTo),
    value: BigInt(req.maxAmountRequired),
    validAfter: opts.now - 600n,
    validBefore: opts.now + BigInt(req.maxTimeoutSeconds),
    nonce: randomNonce(),
    ...opts.auth,
  });
  return { x402Version: 1, scheme: req.scheme, network: opts.network ?? req.network, payload };
}

/** Base64 header value of a payload. */
export const asHeader = encodeHeader;

/** Small chain helpers over one RPC URL. */
export function chainTools(rpcUrl: string) {
  const client = createPublicClient({ transport: http(rpcUrl) });
  const rpc = async <T>(method: string, params: unknown[] = []): Promise<T> => {
    const res = await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
    const j = (await res.json()) as { result?: T; error?: { message: string } };
    if (j.error) throw new Error(`${method}: ${j.error.message}`);
    return j.result as T;
  };
  return {
    client,
    rpc,
    /** Timestamp the next block will carry. */
    async now(): Promise<bigint> {
      return (await client.getBlock({ blockTag: 'pending' })).timestamp;
    },
    /** Moves chain time forward and mines a block so `latest` shows it too. */
    async advance(seconds: number): Promise<void> {
      await rpc('evm_increaseTime', [seconds]);
      await rpc('evm_mine');
    },
    async balanceOf(token: Address, who: Address): Promise<bigint> {
      return client.readContract({ address: token, abi: eip3009ABI, functionName: 'balanceOf', args: [who] });
    },
    async txCount(who: Address): Promise<number> {
      return client.getTransactionCount({ address: who });
    },
  };
}
