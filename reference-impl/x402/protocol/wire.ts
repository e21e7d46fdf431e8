/**
 * x402 wire formats (v1 and v2) for the `exact` scheme on EVM: zod schemas, network names,
 * header codecs and the reason strings our facilitator returns.
 *
 * Shapes follow /work/shared/specs/x402-erc8004.md §1.2-1.5; reason strings are those of
 * `@x402/evm` 2.27.0 (the version installed here), which the official client and server expect.
 */
import { z } from 'zod';
import { getAddress, type Address } from 'viem';

// ---------------------------------------------------------------------------------------------
// Reason strings

/** `invalidReason` / `errorReason` values this implementation can return. */
export const Reason = {
  // envelope level (spec §9 vocabulary; the official core throws instead, which becomes a 500)
  invalidX402Version: 'invalid_x402_version',
  invalidPayload: 'invalid_payload',
  invalidPaymentRequirements: 'invalid_payment_requirements',
  invalidNetwork: 'invalid_network',
  unsupportedScheme: 'unsupported_scheme',
  // exact/EVM (@x402/evm 2.27.0 errors.ts)
  scheme: 'invalid_exact_evm_scheme',
  networkMismatch: 'invalid_exact_evm_network_mismatch',
  missingDomain: 'invalid_exact_evm_missing_eip712_domain',
  recipientMismatch: 'invalid_exact_evm_recipient_mismatch',
  signature: 'invalid_exact_evm_signature',
  validBefore: 'invalid_exact_evm_payload_authorization_valid_before',
  validAfter: 'invalid_exact_evm_payload_authorization_valid_after',
  /** v2: value != amount (spec v2 §9 and @x402/evm 2.27 ExactEvmScheme agree on this string). */
  valueMismatchV2: 'invalid_exact_evm_payload_authorization_value_mismatch',
  /** v1: value below maxAmountRequired (@x402/evm 2.27 ExactEvmSchemeV1's string). */
  valueV1: 'invalid_exact_evm_authorization_value',
  eip3009NotSupported: 'invalid_exact_evm_eip3009_not_supported',
  nonceUsed: 'invalid_exact_evm_nonce_already_used',
  insufficientBalance: 'invalid_exact_evm_insufficient_balance',
  simulationFailed: 'invalid_exact_evm_transaction_simulation_failed',
  transactionFailed: 'invalid_exact_evm_transaction_failed',
  transferEventMismatch: 'invalid_exact_evm_transfer_event_mismatch',
  settlementPending: 'settlement_pending',
  unexpectedVerify: 'unexpected_verify_error',
  unexpectedSettle: 'unexpected_settle_error',
  permit2Unsupported: 'unsupported_payload_type',
} as const;

// ---------------------------------------------------------------------------------------------
// Networks

/** v1 network names the exact/EVM libraries map to chain ids (subset this harness serves). */
export const V1_NETWORK_CHAIN_IDS: Readonly<Record<string, number>> = {
  base: 8453,
  'base-sepolia': 84532,
};

/** CAIP-2 id of an EVM chain, e.g. `eip155:84532`. */
export function caip2(chainId: number): `eip155:${number}` {
  return `eip155:${chainId}`;
}

/** v1 network name of a chain id, if it has one. */
export function v1NetworkName(chainId: number): string | undefined {
  return Object.entries(V1_NETWORK_CHAIN_IDS).find(([, id]) => id === chainId)?.[0];
}

/** Chain id named by a network string: CAIP-2 for v2, a v1 name for v1. */
export function chainIdOfNetwork(network: string, version: 1 | 2): number | undefined {
  if (version === 1) return V1_NETWORK_CHAIN_IDS[network];
  const m = /^eip155:([1-9]\d{0,15})$/.exec(network);
  return m ? Number(m[1]) : undefined;
}

/** EIP-3009 token the facilitator accepts, with its EIP-712 domain. */
export interface TokenInfo {
  address: Address;
  name: string;
  version: string;
  decimals: number;
}

/** USDC at its canonical address on Base and Base Sepolia (DESIGN.md "Chains"). */
export const CANONICAL_USDC: Readonly<Record<number, TokenInfo>> = {
  8453: { address: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913', name: 'USD Coin', version: '2', decimals: 6 },
  84532: { address: '0x036CbD53842c5426634e7929541eC2318f3dCF7e', name: 'USDC', version: '2', decimals: 6 },
};

// ---------------------------------------------------------------------------------------------
// Schemas

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 20-byte hex address');
// 78 digits holds any uint256; longer strings are refused before BigInt() sees them.
const uintString = z.string().regex(/^\d{1,78}$/, 'expected an unsigned integer string');
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'expected 32 bytes of hex');

/** EIP-3009 authorization as carried in the exact/EVM payload (all numbers are decimal strings). */
export const AuthorizationSchema = z.object({
  from: address,
  to: address,
  value: uintString,
  validAfter: uintString,
  validBefore: uintString,
  nonce: bytes32,
});
export type Authorization = z.infer<typeof AuthorizationSchema>;

/** The exact/EVM EIP-3009 payload: `{signature, authorization}`. */
export const ExactEvmPayloadSchema = z.object({
  signature: z.string().regex(/^0x([0-9a-fA-F]{2})+$/, 'expected a hex signature'),
  authorization: AuthorizationSchema,
});
export type ExactEvmPayload = z.infer<typeof ExactEvmPayloadSchema>;

const extra = z.record(z.string(), z.unknown());

/** v2 `PaymentRequirements`. */
export const RequirementsV2Schema = z.object({
  scheme: z.string().min(1),
  network: z.string().min(1),
  amount: uintString,
  asset: z.string().min(1),
  payTo: z.string().min(1),
  maxTimeoutSeconds: z.number().int().nonnegative(),
  extra: extra.optional(),
});
export type RequirementsV2 = z.infer<typeof RequirementsV2Schema>;

/** v1 `PaymentRequirements` (spec-required fields required; `mimeType` optional as in the spec). */
export const RequirementsV1Schema = z.object({
  scheme: z.string().min(1),
  network: z.string().min(1),
  maxAmountRequired: uintString,
  asset: z.string().min(1),
  payTo: z.string().min(1),
  resource: z.string(),
  description: z.string(),
  mimeType: z.string().optional(),
  outputSchema: z.unknown().optional(),
  maxTimeoutSeconds: z.number().int().nonnegative(),
  extra: extra.nullish(),
});
export type RequirementsV1 = z.infer<typeof RequirementsV1Schema>;

/** v2 `PaymentPayload`; the scheme payload is checked by the scheme, not here. */
export const PaymentPayloadV2Schema = z.object({
  x402Version: z.literal(2),
  accepted: RequirementsV2Schema,
  payload: z.record(z.string(), z.unknown()),
  resource: z.object({ url: z.string() }).loose().optional(),
  extensions: z.record(z.string(), z.unknown()).optional(),
});
export type PaymentPayloadV2 = z.infer<typeof PaymentPayloadV2Schema>;

/** v1 `PaymentPayload` (`X-PAYMENT`). */
export const PaymentPayloadV1Schema = z.object({
  x402Version: z.literal(1),
  scheme: z.string().min(1),
  network: z.string().min(1),
  payload: z.record(z.string(), z.unknown()),
});
export type PaymentPayloadV1 = z.infer<typeof PaymentPayloadV1Schema>;

/** Body of `POST /verify` and `POST /settle`, either version. */
export const FacilitatorRequestSchema = z.union([
  z.object({ x402Version: z.literal(2).optional(), paymentPayload: PaymentPayloadV2Schema, paymentRequirements: RequirementsV2Schema }),
  z.object({ x402Version: z.literal(1).optional(), paymentPayload: PaymentPayloadV1Schema, paymentRequirements: RequirementsV1Schema }),
]);
export type FacilitatorRequest = z.infer<typeof FacilitatorRequestSchema>;

/** `/verify` answer. */
export const VerifyResponseSchema = z.object({
  isValid: z.boolean(),
  invalidReason: z.string().optional(),
  invalidMessage: z.string().optional(),
  payer: z.string().optional(),
});
export type VerifyResponse = z.infer<typeof VerifyResponseSchema>;

/** `/settle` answer. */
export const SettleResponseSchema = z.object({
  success: z.boolean(),
  errorReason: z.string().optional(),
  errorMessage: z.string().optional(),
  payer: z.string().optional(),
  transaction: z.string(),
  network: z.string(),
  amount: z.string().optional(),
});
export type SettleResponse = z.infer<typeof SettleResponseSchema>;

/** `/supported` answer. */
export interface SupportedResponse {
  kinds: { x402Version: 1 | 2; scheme: string; network: string; extra?: Record<string, unknown> }[];
  extensions: string[];
  signers: Record<string, string[]>;
}

// ---------------------------------------------------------------------------------------------
// Header codec (standard base64 of UTF-8 JSON, as @x402/core/http does)

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Encodes an object as an x402 header value. */
export function encodeHeader(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
}

/** Decodes an x402 header value; throws an Error with a readable message on bad base64 or JSON. */
export function decodeHeader(value: string): unknown {
  const v = value.trim();
  if (v.length === 0) throw new Error('header is empty');
  if (!BASE64.test(v) || v.length % 4 === 1) throw new Error('header is not standard base64');
  const text = Buffer.from(v, 'base64').toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new Error('header does not decode to JSON');
  }
}

/** Case-insensitive address equality for strings that may not be valid addresses. */
export function sameAddress(a: string, b: string): boolean {
  try {
    return getAddress(a) === getAddress(b);
  } catch {
    return false;
  }
}

/** First zod issue as "path: message". */
export function zodMessage(err: z.ZodError): string {
  const i = err.issues[0];
  if (!i) return 'invalid';
  return `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`;
}
