/**
 * Target: the typed description of a system under test. The reference implementation is one Target
 * (built in code by `startReferenceTarget`); any other target comes from a JSON file validated here.
 *
 * The zod schema is the single source of truth; `target.schema.json` is generated from it
 * (`npx tsx harness/target/export-schema.ts`) and a test keeps the two in sync.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address')
  .describe('EVM address, 0x + 40 hex digits');
const privateKey = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 0x-prefixed 32-byte hex private key')
  .describe('secp256k1 private key, 0x + 64 hex digits');
const httpUrl = z
  .string()
  .regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL')
  .describe('http(s) URL');

/** Powers a target may grant the harness; scenarios that need an absent one are not-applicable. */
export const CAPABILITIES = [
  'snapshot', // evm_snapshot / evm_revert: per-run isolation
  'clock-control', // evm_increaseTime / evm_setNextBlockTimestamp / evm_mine (and the servers follow chain time)
  'reset', // servers can be reset to their initial state between runs
  'fault-injection', // servers expose hooks to inject faults (slow facilitator, dropped receipts, ...)
  'set-code', // anvil_setCode / anvil_setStorageAt / anvil_setBalance
  'impersonate', // anvil_impersonateAccount
] as const;
export const CapabilitySchema = z.enum(CAPABILITIES);
export type Capability = z.infer<typeof CapabilitySchema>;

export const TokenSchema = z
  .object({
    address,
    name: z.string().min(1).describe('EIP-712 domain name, e.g. "USD Coin" on Base, "USDC" on Base Sepolia'),
    version: z.string().min(1).describe('EIP-712 domain version, "2" for FiatToken v2'),
    decimals: z.number().int().min(0).max(36),
  })
  .strict();

export const TargetChainSchema = z
  .object({
    id: z.string().min(1).describe('chain profile id: "base", "base-sepolia", or any label'),
    chainId: z.number().int().positive(),
    rpcUrl: httpUrl,
    usdc: TokenSchema.optional().describe('the USDC (FiatToken v2.2) the protocols use on this chain'),
    contracts: z.record(z.string(), address).default({}).describe('named contract addresses: identityRegistry, reputationRegistry, multicall3, permit2, ...'),
  })
  .strict();

export const RoleAccountSchema = z
  .object({
    role: z.string().min(1).describe('buyer1, buyer2, vendor1, vendor2, reviewer, provider, judge, attacker, admin, operator, ...'),
    address,
    privateKey,
  })
  .strict();

export const TargetSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().min(1).describe('human name of the system under test'),
    version: z.string().optional().describe('implementation version, copied into the report'),
    chains: z.array(TargetChainSchema).min(1),
    endpoints: z.record(z.string(), httpUrl).default({}).describe('named HTTP endpoints, e.g. {"agentripe": "http://127.0.0.1:4020"}'),
    accounts: z.array(RoleAccountSchema).default([]).describe('accounts the harness may sign with, funded on every chain'),
    capabilities: z.array(CapabilitySchema).default([]),
    protocols: z.array(z.string()).optional().describe('protocol ids this target claims; others are reported not-applicable'),
  })
  .strict()
  .superRefine((t, ctx) => {
    const ids = new Set<string>();
    t.chains.forEach((c, i) => {
      if (ids.has(c.id)) ctx.addIssue({ code: 'custom', path: ['chains', i, 'id'], message: `duplicate chain id '${c.id}'` });
      ids.add(c.id);
    });
    const roles = new Set<string>();
    t.accounts.forEach((a, i) => {
      if (roles.has(a.role)) ctx.addIssue({ code: 'custom', path: ['accounts', i, 'role'], message: `duplicate role '${a.role}'` });
      roles.add(a.role);
    });
  });

/** A validated target description (addresses and keys as plain hex strings). */
export type Target = z.infer<typeof TargetSchema>;
export type TargetChain = z.infer<typeof TargetChainSchema>;
export type RoleAccountSpec = z.infer<typeof RoleAccountSchema>;

/** Thrown when a target file is unreadable or invalid; the message names every bad field. */
export class TargetError extends Error {
  override name = 'TargetError';
}

function fieldPath(p: PropertyKey[]): string {
  let out = '';
  for (const k of p) out += typeof k === 'number' ? `[${k}]` : out ? `.${String(k)}` : String(k);
  return out || '(root)';
}

/** Validate an already-parsed target object; `source` is used in error messages. */
export function parseTarget(input: unknown, source = 'target'): Target {
  const r = TargetSchema.safeParse(input);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `  - ${fieldPath(i.path)}: ${i.message}`);
  throw new TargetError(`invalid target ${source}:\n${lines.join('\n')}`);
}

/** Read and validate a target JSON file. */
export async function loadTargetFile(file: string): Promise<Target> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new TargetError(`cannot read target file ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TargetError(`target file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  return parseTarget(json, `file ${file}`);
}

/** JSON Schema (draft 2020-12) of the target file, generated from the zod schema. */
export function targetJsonSchema(): Record<string, unknown> {
  const s = z.toJSONSchema(TargetSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { $id: 'https://agentmarket-harness.local/schemas/target.schema.json', title: 'agentmarket-harness target', ...s };
}

/** Whether the target grants a capability. */
export function hasCapability(t: Target, c: Capability): boolean {
  return t.capabilities.includes(c);
}
