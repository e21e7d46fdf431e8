/**
 * The APS-1 message schemas, exactly as specs/protocols.md §D.2 records the package's validator
 * (`@paypol-protocol/aps-1` src/validator.ts): manifest, negotiation message, escrow params,
 * execution envelope, result and settlement.
 *
 * Written with zod's v3 API (`zod/v3`), the engine the package runs on (its lock file resolves
 * zod 3.25.76), because zod 4 reads some of the same constraints differently, and a validator's
 * reading IS the protocol a client meets (profile.md APS-PROF-01, pinned by schemas.test.ts):
 * - timestamps: `z.string().datetime()` = UTC with a `Z`, no offset, seconds optional,
 *   any number of fractional digits, calendar-checked dates (2025-02-29 refused);
 * - unknown keys are stripped, not refused (z.object's default), at every level;
 * - string lengths count UTF-16 code units (an emoji is 2);
 * - `z.number()` accepts a JSON `1e999` (Infinity) and `.int()` any integral double (2^60);
 * - `z.string().url()` is anything `new URL()` parses (`mailto:x`, `foo:bar`);
 * - `z.record(z.unknown())` refuses arrays and null.
 */
import { z } from 'zod/v3';

const ethAddress = z.string().regex(/^0x[a-fA-F0-9]{40}$/, 'Invalid Ethereum address');
const bytes32 = z.string().regex(/^0x[a-fA-F0-9]{64}$/, 'Invalid bytes32 hash');
const txHash = z.string().regex(/^0x[a-fA-F0-9]{64}$/);
const isoTimestamp = z.string().datetime({ message: 'Must be ISO 8601 timestamp' });

export const CATEGORIES = ['security', 'escrow', 'payments', 'streams', 'analytics', 'deployment', 'privacy', 'verification', 'orchestration', 'payroll', 'admin'] as const;
export const PAYMENT_METHODS = ['nexus-escrow', 'stream-milestone', 'direct-transfer'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

const categorySchema = z.enum(CATEGORIES);
const paymentMethodSchema = z.enum(PAYMENT_METHODS);

const tokenConfigSchema = z.object({
  symbol: z.string().min(1).max(20),
  address: ethAddress,
  decimals: z.number().int().min(0).max(18),
});

export const APS1ManifestSchema = z.object({
  aps: z.literal('1.0'),
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z0-9-]+$/, 'Must be kebab-case'),
  name: z.string().min(1).max(128),
  description: z.string().min(1).max(1024),
  category: categorySchema,
  version: z.string().regex(/^\d+\.\d+\.\d+$/, 'Must be semver (e.g. 1.0.0)'),
  pricing: z.object({
    basePrice: z.number().min(0),
    currency: z.literal('USD'),
    negotiable: z.boolean(),
    minPrice: z.number().min(0).optional(),
    maxPrice: z.number().min(0).optional(),
  }),
  capabilities: z.array(z.string()).min(1),
  paymentMethods: z.array(paymentMethodSchema).min(1),
  supportedTokens: z.array(tokenConfigSchema).min(1),
  proofEnabled: z.boolean(),
  reputationScore: z.number().int().min(0).max(10000).optional(),
  walletAddress: ethAddress,
  endpoints: z.object({
    manifest: z.string().url(),
    execute: z.string().url(),
    negotiate: z.string().url().optional(),
    status: z.string().url().optional(),
    health: z.string().url().optional(),
  }),
  metadata: z.record(z.unknown()).optional(),
});

export const NEGOTIATION_TYPES = ['propose', 'counter', 'accept', 'reject'] as const;

export const APS1NegotiationSchema = z.object({
  type: z.enum(NEGOTIATION_TYPES),
  jobId: z.string().min(1),
  price: z.number().min(0),
  currency: z.literal('USD'),
  message: z.string().max(1024).optional(),
  timestamp: isoTimestamp,
});

export const APS1EscrowParamsSchema = z.object({
  method: paymentMethodSchema,
  token: ethAddress,
  amount: z.string().min(1),
  amountUSD: z.number().min(0),
  deadlineSeconds: z
    .number()
    .int()
    .min(60)
    .max(30 * 24 * 3600),
  workerWallet: ethAddress,
  judgeWallet: ethAddress.optional(),
  milestones: z
    .array(
      z.object({
        amount: z.string().min(1),
        deliverable: z.string().min(1).max(512),
      }),
    )
    .optional(),
});

export const APS1ExecutionEnvelopeSchema = z.object({
  jobId: z.string().min(1),
  agentId: z.string().min(1),
  prompt: z.string().min(1).max(10000),
  payload: z.record(z.unknown()).optional(),
  callerWallet: ethAddress,
  escrow: z
    .object({
      contractAddress: ethAddress,
      onChainId: z.number().int().min(0),
      txHash,
      method: paymentMethodSchema,
    })
    .optional(),
  proof: z
    .object({
      planHash: bytes32,
      commitmentId: bytes32,
      commitTxHash: txHash,
    })
    .optional(),
  timestamp: isoTimestamp,
});

export const APS1ResultSchema = z.object({
  jobId: z.string().min(1),
  agentId: z.string().min(1),
  status: z.enum(['success', 'error', 'pending']),
  result: z.unknown().optional(),
  error: z.string().optional(),
  onChain: z
    .object({
      executed: z.boolean(),
      transactions: z.array(
        z.object({
          hash: txHash,
          blockNumber: z.number().int().min(0),
          gasUsed: z.string(),
          explorerUrl: z.string().url(),
          description: z.string().optional(),
        }),
      ),
      network: z.string(),
      chainId: z.number().int(),
    })
    .optional(),
  proof: z
    .object({
      resultHash: bytes32,
      verifyTxHash: txHash,
      matched: z.boolean(),
    })
    .optional(),
  executionTimeMs: z.number().int().min(0),
  timestamp: isoTimestamp,
});

export const APS1SettlementSchema = z.object({
  jobId: z.string().min(1),
  type: z.enum(['settle', 'refund', 'dispute']),
  agentPayout: z.string(),
  platformFee: z.string(),
  txHash,
  timestamp: isoTimestamp,
});

export type APS1Manifest = z.infer<typeof APS1ManifestSchema>;
export type APS1Negotiation = z.infer<typeof APS1NegotiationSchema>;
export type APS1EscrowParams = z.infer<typeof APS1EscrowParamsSchema>;
export type APS1Envelope = z.infer<typeof APS1ExecutionEnvelopeSchema>;
export type APS1Result = z.infer<typeof APS1ResultSchema>;
export type APS1Settlement = z.infer<typeof APS1SettlementSchema>;

/** The package's validator result: data, or every issue as "path: message". */
export type ValidationResult<T> = { success: true; data: T } | { success: false; errors: string[] };

/** Validate like the package's `validate*` functions. */
export function validate<T>(schema: z.ZodType<T>, data: unknown): ValidationResult<T> {
  const r = schema.safeParse(data);
  if (r.success) return { success: true, data: r.data };
  return { success: false, errors: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) };
}

export const validateManifest = (d: unknown) => validate(APS1ManifestSchema, d);
export const validateNegotiation = (d: unknown) => validate(APS1NegotiationSchema, d);
export const validateEscrowParams = (d: unknown) => validate(APS1EscrowParamsSchema, d);
export const validateEnvelope = (d: unknown) => validate(APS1ExecutionEnvelopeSchema, d);
export const validateResult = (d: unknown) => validate(APS1ResultSchema, d);
export const validateSettlement = (d: unknown) => validate(APS1SettlementSchema, d);

/** The protocol version every message names. */
export const APS1_VERSION = '1.0';
