/**
 * AISP wire formats, as zod schemas: the backend's request bodies and answers (the seed names the
 * routes and the signed messages; field names beyond `{listingId, apiKey, signature, timestamp}` and
 * `{apiKey, expiresAt}` are the profile's, AISP-PROF-14..16), and the Venice API shapes the lab's
 * inference server follows (specs/protocols.md A.3). Servers parse requests with these; scenarios
 * and agents validate answers with them. Money is always a decimal string of base units on the
 * backend; Venice's own balances are JSON numbers of whole DIEM / USD (their format).
 */
import { z } from 'zod';
import { DIEM } from './profile.ts';

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 0x-prefixed 20-byte address');
const signature = z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'expected a 65-byte 0x-hex EIP-191 signature');
/** A decimal id or amount: digits only (a JSON number is accepted when it is a safe integer). */
const decimal = z.union([z.string().regex(/^\d{1,78}$/, 'expected a decimal integer string'), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)]).transform((v) => BigInt(v));
/** A Unix-seconds timestamp (integer, or a string of digits). */
const unixSeconds = z.union([
  z.number().int().nonnegative().max(1e12),
  z
    .string()
    .regex(/^\d{1,12}$/)
    .transform(Number),
]);
/** A Venice API key as the backend accepts it: printable, no spaces, 8..256 characters. */
export const apiKeyString = z
  .string()
  .min(8)
  .max(256)
  .regex(/^[\x21-\x7e]+$/, 'expected printable characters without spaces');

// ---- backend requests ----------------------------------------------------------------------

/** `POST /api/keys` (seed: `{ listingId, apiKey, signature, timestamp }`). */
export const storeKeyRequest = z.object({ listingId: decimal, apiKey: apiKeyString, signature, timestamp: unixSeconds }).strict();
export type StoreKeyRequest = z.input<typeof storeKeyRequest>;

/** `POST /api/key/:rentalId` body (profile AISP-PROF-14): the signature over get-key:{rentalId}:{timestamp}; `address` is optional (the signer is recovered). */
export const getKeyRequest = z.object({ signature, timestamp: unixSeconds, address: address.optional() }).strict();
export type GetKeyRequest = z.input<typeof getKeyRequest>;

/** `POST /api/balance` (seed: "apiKey in body (no signature)"). */
export const balanceRequest = z.object({ apiKey: apiKeyString }).strict();

/** `POST /api/requests` (seed: "Create rental request"; fields are the profile's, AISP-PROF-16). */
export const rentalRequest = z
  .object({
    diemAmount: decimal.refine((v) => v > 0n, 'must be above 0'),
    termDays: z.number().int().min(1).max(365),
    maxPricePerDay: decimal.refine((v) => v > 0n, 'must be above 0'),
    renter: address.optional(),
    note: z.string().max(500).optional(),
  })
  .strict();
export type RentalRequest = z.input<typeof rentalRequest>;

// ---- backend answers -----------------------------------------------------------------------

/** A listing as the backend describes it (amounts: decimal strings of base units). */
export const listingView = z.object({
  listingId: decimal,
  provider: address,
  pricePerDay: decimal,
  termDays: z.number().int(),
  diemMin: decimal,
  diemMax: decimal,
  diemRented: decimal,
  diemAvailable: decimal,
  active: z.boolean(),
  hasKey: z.boolean(),
  rentable: z.boolean(),
});
export type ListingView = z.output<typeof listingView>;

/** `GET /api/listings` → `{listings: [...]}` (a bare array is accepted too, as the seed's SDK reads `listings[0]`). */
export const listingsAnswer = z.union([z.object({ listings: z.array(listingView) }).transform((x) => x.listings), z.array(listingView)]);
/** `GET /api/listings/:id` → `{listing}` (or the listing itself). */
export const listingAnswer = z.union([z.object({ listing: listingView }).transform((x) => x.listing), listingView]);

/** `POST /api/key/:rentalId` → `{apiKey, expiresAt}` (seed; expiresAt = Unix seconds). */
export const keyAnswer = z.object({ apiKey: z.string().min(1), expiresAt: z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]) }).loose();

/** `POST /api/balance` → what the key can still spend this epoch (profile AISP-PROF-16). */
export const balanceAnswer = z
  .object({ diemUnits: decimal, diem: z.string(), usd: z.string().optional(), keyExpiration: z.string().nullable().optional(), nextEpochBegins: z.string().optional() })
  .loose();

/** `POST /api/requests` → 201 `{requestId, ...}`. */
export const requestAnswer = z.object({ requestId: z.union([z.string().min(1), z.number()]) }).loose();

/** DESIGN rule 7's error body `{"error":{"code","message"}}`; Venice's is `{"error":"message"}`. */
export const errorAnswer = z.object({ error: z.union([z.string(), z.object({ code: z.string(), message: z.string() }).loose()]) }).loose();

// ---- Venice (A.3) --------------------------------------------------------------------------

export const VENICE_KEY_TYPES = ['INFERENCE', 'ADMIN'] as const;
export type VeniceKeyType = (typeof VENICE_KEY_TYPES)[number];

/** `POST /api_keys` body (A.3). `expiresAt` ISO 8601, or '' / absent for none. */
export const createKeyRequest = z
  .object({
    apiKeyType: z.enum(VENICE_KEY_TYPES),
    description: z.string().min(1).max(200),
    consumptionLimit: z.object({ usd: z.number().nonnegative().optional(), diem: z.number().nonnegative().optional(), vcu: z.number().nonnegative().optional() }).strict().optional(),
    limitPeriod: z.enum(['DAY', 'EPOCH', 'MONTH']).optional(),
    expiresAt: z.union([z.iso.datetime({ offset: true }), z.literal('')]).optional(),
  })
  .strict();
export type CreateKeyRequest = z.input<typeof createKeyRequest>;

export const createKeyAnswer = z.object({
  data: z
    .object({
      apiKey: z.string().min(8),
      apiKeyType: z.enum(VENICE_KEY_TYPES),
      id: z.string().min(1),
      description: z.string(),
      expiresAt: z.string().nullable().optional(),
      consumptionLimit: z.unknown().optional(),
    })
    .loose(),
  success: z.literal(true).optional(),
});

export const rateLimitsAnswer = z.object({
  data: z
    .object({
      accessPermitted: z.boolean(),
      apiTier: z.object({ id: z.string(), isCharged: z.boolean() }).loose(),
      balances: z.object({ USD: z.number(), DIEM: z.number() }).loose(),
      keyExpiration: z.string().nullable(),
      nextEpochBegins: z.string(),
      rateLimits: z.array(z.unknown()),
    })
    .loose(),
});

export const listKeysAnswer = z.object({
  data: z.array(z.object({ id: z.string(), apiKeyType: z.enum(VENICE_KEY_TYPES), last6Chars: z.string(), description: z.string().optional() }).loose()),
  object: z.literal('list').optional(),
});

export const chatRequest = z
  .object({
    model: z.string().min(1).max(100),
    messages: z
      .array(z.object({ role: z.enum(['system', 'user', 'assistant', 'tool']), content: z.string().max(100_000), name: z.string().max(64).optional() }).strict())
      .min(1)
      .max(100),
    max_tokens: z.number().int().positive().max(100_000).optional(),
    temperature: z.number().min(0).max(2).optional(),
    stream: z.literal(false).optional(),
  })
  .loose();
export type ChatRequest = z.input<typeof chatRequest>;

export const chatAnswer = z.object({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.number(),
  model: z.string(),
  choices: z.array(z.object({ index: z.number(), message: z.object({ role: z.literal('assistant'), content: z.string() }).loose(), finish_reason: z.string().nullable() }).loose()).min(1),
  usage: z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() }).loose(),
});

/** Whole DIEM (a Venice JSON number) → base units, exact to 6 decimals (rounded to the nearest unit). */
export function diemToUnits(diem: number): bigint {
  const [w, f = ''] = diem.toFixed(6).split('.');
  return BigInt(w!) * DIEM + BigInt(f.padEnd(6, '0'));
}

/** Base units → whole DIEM as a JSON number (exact below 2^53 units). */
export function unitsToDiem(units: bigint): number {
  return Number(units) / Number(DIEM);
}

/** Base units → "12.345678" (exact decimal string, trailing zeros trimmed to at least one decimal). */
export function formatDiem(units: bigint): string {
  const whole = units / DIEM;
  const frac = (units % DIEM).toString().padStart(6, '0').replace(/0+$/, '');
  return `${whole}.${frac || '0'}`;
}
