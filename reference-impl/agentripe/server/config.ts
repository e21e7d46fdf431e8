/** The Agentripe server's configuration: a zod-validated serializable part plus injectables. */
import { isAddress } from 'viem';
import { z } from 'zod';
import { AGENTRIPE_PROFILE } from '../protocol/profile.ts';
import type { AgentripeFaults } from './faults.ts';
import type { Reviewer } from './review.ts';

export const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
export const addr = z.string().refine((s) => isAddress(s, { strict: false }), 'invalid address');
const privateKey = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'expected a 32-byte hex private key');

/** Serializable server configuration (validated with zod). */
export const agentripeConfigSchema = z.object({
  rpcUrl: z.url(),
  chainId: z.number().int().positive(),
  addresses: z.object({ usdc: addr, identityRegistry: addr, reputationRegistry: addr, escrow: addr }),
  /** USDC EIP-712 domain (base-sepolia: "USDC"/"2"; base: "USD Coin"/"2"). */
  usdcDomain: z.object({ name: z.string().min(1), version: z.string().min(1) }),
  /** The escrow operator: records, releases, refunds, and gives reputation feedback. */
  operatorPrivateKey: privateKey,
  /**
   * Mints agents for the REST registration routes. Must differ from the operator: ERC-8004 forbids
   * feedback from an agent's owner, and the operator gives feedback.
   */
  registrarPrivateKey: privateKey,
  facilitatorUrl: z.url(),
  dbPath: z.string().min(1).default(':memory:'),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(0),
  /** URL clients reach the server at (defaults to the listening URL). */
  publicUrl: z.url().optional(),
  /** Rejections after which the deposit is refunded (seed: 5). */
  reviewLimit: z.number().int().positive().default(AGENTRIPE_PROFILE.reviewLimit),
  /** Vendor-auth and register-with-key timestamp tolerance in seconds (seed: ±5 min). */
  authWindowSeconds: z.number().int().positive().default(AGENTRIPE_PROFILE.authWindowSeconds),
  maxTimeoutSeconds: z.number().int().positive().default(300),
  resyncOnStart: z.boolean().default(true),
  /**
   * Reviewer when no `reviewer` object is injected: the deterministic rule reviewer (default) or an
   * OpenAI-compatible endpoint.
   */
  review: z
    .discriminatedUnion('type', [
      z.object({ type: z.literal('rule') }),
      z.object({ type: z.literal('llm'), endpoint: z.url(), model: z.string().min(1), apiKey: z.string().optional(), timeoutMs: z.number().int().positive().optional() }),
    ])
    .default({ type: 'rule' }),
});

/** The configuration after validation (defaults filled in). */
export type AgentripeConfig = z.output<typeof agentripeConfigSchema>;

/** Server configuration: the serializable part plus injectable clock, reviewer and logger. */
export type AgentripeServerConfig = z.input<typeof agentripeConfigSchema> & {
  /** Milliseconds since the epoch; inject to follow chain time. Default Date.now. */
  clock?: () => number;
  /** Review of results with `reviewer_request`. Default: the deterministic rule reviewer. */
  reviewer?: Reviewer;
  log?: (msg: string) => void;
  /** Deliberate defects for conformance tests only (all off by default; see faults.ts). */
  faults?: AgentripeFaults;
};
