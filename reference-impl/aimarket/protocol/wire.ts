/**
 * AI Market wire formats as zod schemas, read leniently where the documents differ (extra keys
 * pass; numbers or decimal strings for amounts). Sources: v1 doc (aicom docs/ai-market-protocol-v1.md),
 * spec.md v2 §2-§6, schemas/well-known.json; the notes in specs/protocols.md §B.
 */
import { z } from 'zod';

export const HEADERS = {
  paymentRequired: 'x-payment-required',
  payment: 'x-payment',
  channel: 'x-payment-channel',
  providerSignature: 'x-provider-signature',
  routingFee: 'x-aimarket-routing-fee',
  routingHub: 'x-aimarket-routing-hub',
  routeOk: 'x-aimarket-route-ok',
} as const;

const amount = z.union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?$/)]);
const b64key = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'a base64 Ed25519 public key (32 bytes)');

/** GET /.well-known/ai-market.json (schemas/well-known.json required fields + v1/v2 optional ones). */
export const WellKnownSchema = z
  .object({
    name: z.string().min(1),
    protocol_versions: z.array(z.enum(['v1', 'v2', 'mcp'])).min(1),
    manifest_url: z.string().url(),
    signer_public_key: b64key,
    mcp_endpoint: z.string().url().optional(),
    products_count: z.number().int().nonnegative().optional(),
    capabilities_count: z.number().int().nonnegative().optional(),
    supported_chains: z.array(z.string()).optional(),
    supported_tokens: z.array(z.string()).optional(),
    hub_version: z.string().optional(),
    federation: z
      .object({
        crawl_interval_s: z.number().int().min(60).optional(),
        routing_fee_bps: z.number().int().min(0).max(10000).optional(),
        min_trust_score: z.number().min(0).max(1).optional(),
        seed_list: z.array(z.string()).optional(),
      })
      .passthrough()
      .optional(),
    peers: z.array(z.object({ url: z.string(), trust_score: z.number().min(0).max(1).optional() }).passthrough()).optional(),
  })
  .passthrough();
export type WellKnown = z.infer<typeof WellKnownSchema>;

export const ToolSchema = z
  .object({
    name: z.string().min(1),
    description: z.string(),
    input_schema: z.record(z.string(), z.unknown()),
    output_schema: z.record(z.string(), z.unknown()).optional(),
    price_per_call_usd: z.number().nonnegative(),
    p50_latency_ms: z.number().nonnegative().optional(),
    success_rate_30d: z.number().min(0).max(1).optional(),
    product_id: z.string().min(1),
    capability_id: z.string().min(1),
  })
  .passthrough();
export type Tool = z.infer<typeof ToolSchema>;

export const SignatureSchema = z.object({ algorithm: z.literal('ed25519'), public_key: z.string().optional(), value: z.string(), version: z.number().optional() }).passthrough();

export const ManifestSchema = z
  .object({
    protocol_version: z.string().optional(),
    generated_at: z.string(),
    capabilities_count: z.number().int().nonnegative(),
    tools: z.array(ToolSchema),
    by_hub: z.record(z.string(), z.object({ capabilities_count: z.number().optional(), trust_score: z.number().min(0).max(1).optional() }).passthrough()).optional(),
    signature: SignatureSchema,
  })
  .passthrough();
export type Manifest = z.infer<typeof ManifestSchema>;

export const McpListSchema = z
  .object({ tools: z.array(z.object({ name: z.string(), description: z.string().optional(), inputSchema: z.record(z.string(), z.unknown()) }).passthrough()) })
  .passthrough();

/** The raw JSON of X-Payment-Required (v1 doc: not base64). */
export const PaymentRequiredSchema = z
  .object({
    amount: amount,
    token: z.string().min(1),
    chain: z.string().min(1),
    recipient: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    nonce: z.string().min(1),
    expires_at: z.string().optional(),
    receipt_url: z.string().optional(),
  })
  .passthrough();
export type PaymentRequired = z.infer<typeof PaymentRequiredSchema>;

export const ReceiptSchema = z
  .object({
    nonce: z.string().min(1),
    product_id: z.string(),
    capability_id: z.string(),
    price_usd: z.number().nonnegative(),
    timestamp: z.string().min(1),
    success: z.boolean(),
    latency_ms: z.number().nonnegative().optional(),
    signature: SignatureSchema,
  })
  .passthrough();
export type Receipt = z.infer<typeof ReceiptSchema>;

export const InvokeOkSchema = z
  .object({ success: z.literal(true), result: z.unknown(), receipt: ReceiptSchema, price_usd: z.number().nonnegative().optional(), latency_ms: z.number().optional() })
  .passthrough();

export const ChannelOpenSchema = z
  .object({ channel: z.object({ channel_id: z.string().min(1), balance_usd: z.number().nonnegative(), deposit_usd: z.number().optional(), expires_at: z.string().optional() }).passthrough() })
  .passthrough();
export const ChannelViewSchema = z.object({ balance_usd: z.number() }).passthrough();
export const SettlementSchema = z
  .object({
    settlement: z
      .object({ used_usd: z.number().nonnegative(), refund_usd: z.number().nonnegative(), refund_tx_hash: z.string().nullable().optional(), refund_owed_usd: z.number().optional() })
      .passthrough(),
  })
  .passthrough();

export const QuoteSchema = z.object({ price_usd: z.union([z.number(), z.string()]).optional(), amount: z.union([z.number(), z.string()]).optional() }).passthrough();

export const DiscoverSchema = z
  .object({
    matches: z.array(z.object({ product_id: z.string(), capability_id: z.string(), price_per_call_usd: z.number() }).passthrough()),
    plan: z.array(z.object({ product_id: z.string(), capability_id: z.string() }).passthrough()),
    estimated_total_usd: z.number().nonnegative(),
  })
  .passthrough();

export const BomStepSchema = z.object({ capability_id: z.string(), price_usd: z.number().nonnegative(), success: z.boolean() }).passthrough();
export const PipelineSchema = z
  .object({
    trace_id: z.string().min(1),
    bill_of_materials: z.object({ trace_id: z.string(), steps: z.array(BomStepSchema), total_usd: z.number().nonnegative(), signature: SignatureSchema }).passthrough(),
    final_result: z.unknown(),
  })
  .passthrough();

export const SearchSchema = z
  .object({
    matches: z.array(
      z
        .object({
          product_id: z.string(),
          capability_id: z.string(),
          source_hub: z.string(),
          price_per_call_usd: z.number().nonnegative(),
          routed_price_usd: z.number().nonnegative(),
          routing_fee_bps: z.number().int().min(0).max(10000),
          trust_score: z.number().min(0).max(1),
        })
        .passthrough(),
    ),
  })
  .passthrough();

/** Target `config.aimarket`. */
export const AimConfigSchema = z
  .object({
    failure: z
      .object({ product_id: z.string(), capability_id: z.string(), input: z.record(z.string(), z.unknown()) })
      .describe('a capability and an input that makes it fail with a typed failure (grants aimarket:failure-fixture)')
      .optional(),
    downPeer: z.string().url().describe('a source_hub the router (endpoint aimarket-router) has indexed that no longer answers').optional(),
  })
  .strict();
export type AimConfig = z.infer<typeof AimConfigSchema>;

/** The reference catalog's failure fixture: `flaky@v1` fails on any text containing "fail". */
export const FAILURE_FIXTURE = { product_id: 'prod-text', capability_id: 'flaky@v1', input: { text: 'please fail now' } };
