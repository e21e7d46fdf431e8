/**
 * Target: the typed description of a system under test. The reference implementation is one Target
 * (assembled in code from the chains and the packs' services); any other target comes from a JSON
 * file validated here.
 *
 * The core zod schema is here; each protocol pack adds the schema of its own `config.<protocol>`
 * section, its endpoint names and its namespaced capabilities (`agentripe:review-fixture`), checked
 * by {@link checkTargetAgainstProtocols} once the packs are loaded. `target.schema.json` is generated
 * from all of them (`npm run gen`) and a test keeps it in sync.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address')
  .describe('EVM address, 0x + 40 hex digits');
const evmPrivateKey = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 0x-prefixed 32-byte hex private key')
  .describe('secp256k1 private key, 0x + 64 hex digits');
const rawKey = (bytes: number, what: string) =>
  z
    .string()
    .regex(new RegExp(`^(0x)?[0-9a-fA-F]{${bytes * 2}}$`), `must be ${bytes} bytes of hex`)
    .transform((s) => s.replace(/^0x/, '').toLowerCase())
    .describe(`${what}, ${bytes * 2} hex digits (0x optional)`);
const httpUrl = z
  .string()
  .refine((s) => {
    try {
      const u = new URL(s);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an http:// or https:// URL')
  .describe('http(s) URL');
const serviceUrl = z
  .string()
  .refine((s) => {
    try {
      return ['http:', 'https:', 'ws:', 'wss:'].includes(new URL(s).protocol);
    } catch {
      return false;
    }
  }, 'must be an http(s):// or ws(s):// URL')
  .describe('http(s) or ws(s) URL');

/** Powers any target may grant the harness; scenarios that need an absent one are not-applicable. */
export const CORE_CAPABILITIES = {
  snapshot: 'evm_snapshot / evm_revert: per-run isolation of chain state',
  reorg: "anvil_reorg / anvil_rollback: the harness may replace the chain's newest blocks (a payment seen by the servers disappears, or is mined again in another block)",
  'clock-control': 'evm_increaseTime / evm_setNextBlockTimestamp / evm_mine, and the servers follow chain time',
  reset: 'servers can be reset to their initial state between runs',
  'fault-injection': 'servers expose hooks to inject faults (slow facilitator, dropped receipts, ...)',
  'set-code': 'anvil_setCode / anvil_setStorageAt / anvil_setBalance',
  impersonate: 'anvil_impersonateAccount',
  restart: 'servers can be killed and restarted by the harness',
  'rpc-faults':
    "the target's servers reach their chain RPC through the harness's fault proxy, so the harness can lose, hold or duplicate their RPC calls (a lost eth_sendRawTransaction answer, a receipt wait)",
} as const;
export type CoreCapability = keyof typeof CORE_CAPABILITIES;
/** A core capability, or a protocol's own as `<protocol>:<name>` (declared by the protocol pack). */
export type Capability = CoreCapability | `${string}:${string}`;
const NAMESPACED = /^[a-z0-9][a-z0-9-]*:[a-z0-9][a-z0-9-]*$/;
export const CapabilitySchema = z
  .union([z.enum(Object.keys(CORE_CAPABILITIES) as [CoreCapability, ...CoreCapability[]]), z.string().regex(NAMESPACED, "a protocol capability is named '<protocol>:<name>'")], {
    error: `must be one of ${Object.keys(CORE_CAPABILITIES).join(', ')}, or a protocol capability '<protocol>:<name>'`,
  })
  .describe('capability: core or <protocol>:<name>') as unknown as z.ZodType<Capability, string>;

export const TokenSchema = z
  .object({
    address,
    name: z.string().min(1).describe('EIP-712 domain name, e.g. "USD Coin" on Base, "USDC" on Base Sepolia'),
    version: z.string().min(1).describe('EIP-712 domain version, "2" for FiatToken v2'),
    decimals: z.number().int().min(0).max(36),
  })
  .strict();

/**
 * Where a target's servers reach a chain through the harness (capability `rpc-faults`): the harness
 * serves its RPC fault proxy at `listen` for as long as it runs, forwarding to the chain's `rpcUrl`,
 * and the servers are configured with `http://<listen>` as their RPC URL.
 */
export const ServerRpcSchema = z
  .object({
    listen: z
      .string()
      .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([1-9][0-9]{0,4})$/, 'must be host:port with a fixed port, e.g. "127.0.0.1:8546"')
      .refine((s) => listenAddress(s).port <= 65_535, 'port must be at most 65535')
      .describe("host:port the harness listens on; the target's servers use http://<listen> as their chain RPC URL"),
    waitSeconds: z
      .number()
      .int()
      .min(0)
      .max(600)
      .default(0)
      .describe("how long certify waits, once the proxy listens, for the target's endpoints to answer (for servers that read the chain as they start, started after the harness)"),
  })
  .strict()
  .describe("the harness's RPC fault proxy for this chain, which the target's servers use as their RPC (with the capability rpc-faults)");

/** A `host:port` of {@link ServerRpcSchema} as node's listen takes it (an IPv6 host without brackets). */
export function listenAddress(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(listen.slice(i + 1)) };
}

export const TargetChainSchema = z
  .object({
    id: z.string().min(1).describe('chain profile id: "base", "base-sepolia", or any label'),
    chainId: z.number().int().positive(),
    rpcUrl: httpUrl,
    serverRpc: ServerRpcSchema.optional(),
    usdc: TokenSchema.optional().describe('the USDC (FiatToken v2.2) the protocols use on this chain'),
    tokens: z.record(z.string(), TokenSchema).default({}).describe('other tokens by key (e.g. the stablecoins of a Tempo-shaped chain); usdc may be given here too'),
    contracts: z.record(z.string(), address).default({}).describe('named contract addresses: identityRegistry, reputationRegistry, multicall3, permit2, ...'),
  })
  .strict();

const evmAccount = z
  .object({
    role: z.string().min(1).describe('buyer1, buyer2, vendor1, vendor2, reviewer, provider, judge, attacker, admin, operator, ...'),
    kind: z.literal('evm'),
    address,
    privateKey: evmPrivateKey,
  })
  .strict();
const keyAccount = <K extends 'ed25519' | 'nostr' | 'lightning'>(kind: K, pub: number, what: string) =>
  z
    .object({
      role: z.string().min(1),
      kind: z.literal(kind),
      privateKey: rawKey(32, `${what} private key`),
      publicKey: rawKey(pub, `${what} public key`).optional(),
    })
    .strict();

export const RoleAccountSchema = z
  .preprocess(
    // `kind` may be left out for an EVM account (the common case, and every older target file).
    (v) => (v && typeof v === 'object' && !Array.isArray(v) && !('kind' in v) ? { ...v, kind: 'evm' } : v),
    z.discriminatedUnion('kind', [
      evmAccount,
      keyAccount('ed25519', 32, 'Ed25519'),
      keyAccount('nostr', 32, 'Nostr (BIP-340, x-only)'),
      keyAccount('lightning', 33, 'Lightning node (compressed secp256k1)'),
    ]),
  )
  .describe('a key the harness may sign with for a role: kind evm (default; funded on every chain), ed25519, nostr or lightning');

export const EndpointSchema = z
  .union([
    serviceUrl,
    z
      .object({
        url: serviceUrl,
        method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).optional().describe('HTTP method of a resource (default GET)'),
        body: z.unknown().optional().describe('JSON body sent with the request (object, array or string)'),
        headers: z.record(z.string(), z.string()).optional().describe('extra request headers'),
      })
      .strict(),
  ])
  .describe('a URL, or {url, method, body, headers} for a resource that is not a plain GET');

/**
 * How the harness crashes and restarts one of the target's servers (capability `restart`): a shell
 * command, because that is what an operator has at hand (`docker kill -s KILL app && docker start
 * app`, `systemctl kill -s KILL app` under `Restart=always`, `pm2 restart app`...). The command must
 * end the server without a graceful shutdown (SIGKILL: a graceful stop is no crash) and return once
 * the old process is gone; the harness then polls `ready` until the server answers again.
 */
export const RestartControlSchema = z
  .object({
    command: z.string().min(1).describe('shell command (run with sh -c) that kills the server with SIGKILL and has it started again on the same state; it returns once the old process is gone'),
    url: httpUrl.optional().describe("where the restartable server answers when that is not the endpoint's URL (a separate instance kept for crash tests); default: the endpoint's URL"),
    ready: httpUrl.optional().describe('polled after the command until it answers (any HTTP status); default: url, else the endpoint URL'),
    timeoutMs: z.number().int().positive().max(600_000).optional().describe('how long the command and the wait for the server together may take (default 60000)'),
  })
  .strict()
  .describe('a crash-and-restart control for one endpoint');

export const TargetSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().min(1).describe('human name of the system under test'),
    version: z.string().optional().describe('implementation version, copied into the report'),
    chains: z.array(TargetChainSchema).default([]).describe('EVM chains the target runs on (none for a protocol without a chain)'),
    endpoints: z.record(z.string(), EndpointSchema).default({}).describe('named endpoints, e.g. {"agentripe": "http://127.0.0.1:4020"}; names are declared by the protocols'),
    accounts: z.array(RoleAccountSchema).default([]).describe('keys the harness may sign with; EVM accounts are funded on every chain'),
    capabilities: z.array(CapabilitySchema).default([]),
    protocols: z.array(z.string()).optional().describe('protocol ids this target claims; others are reported not-applicable'),
    config: z.record(z.string(), z.unknown()).default({}).describe('per-protocol settings, e.g. {"agentripe": {...}} (schema: the protocol pack)'),
    restart: z
      .record(z.string(), RestartControlSchema)
      .optional()
      .describe('crash-and-restart controls by endpoint name (with the capability restart), e.g. {"agentripe": {"command": "docker kill -s KILL agr && docker start agr"}}'),
  })
  .strict()
  .superRefine((t, ctx) => {
    const controls = Object.keys(t.restart ?? {});
    if (t.capabilities.includes('restart') && controls.length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['restart'],
        message: "the capability 'restart' needs a restart control: restart.<endpoint>.command, a shell command that kills the server with SIGKILL and starts it again",
      });
    if (controls.length && !t.capabilities.includes('restart'))
      ctx.addIssue({ code: 'custom', path: ['capabilities'], message: "restart controls are given but the capability 'restart' is not granted" });
    for (const name of controls)
      if (!(name in t.endpoints)) ctx.addIssue({ code: 'custom', path: ['restart', name], message: `no endpoint named '${name}' (a restart control belongs to a declared endpoint)` });
    const ids = new Set<string>();
    t.chains.forEach((c, i) => {
      if (ids.has(c.id)) ctx.addIssue({ code: 'custom', path: ['chains', i, 'id'], message: `duplicate chain id '${c.id}'` });
      ids.add(c.id);
    });
    const roles = new Set<string>();
    t.accounts.forEach((a, i) => {
      const k = `${a.role}/${a.kind}`;
      if (roles.has(k)) ctx.addIssue({ code: 'custom', path: ['accounts', i, 'role'], message: `duplicate ${a.kind} account for role '${a.role}'` });
      roles.add(k);
    });
  });

/** A validated target description (addresses and keys as plain hex strings). */
export type RestartControl = z.infer<typeof RestartControlSchema>;
export type Target = z.infer<typeof TargetSchema>;
export type TargetChain = z.infer<typeof TargetChainSchema>;
export type RoleAccountSpec = z.infer<typeof RoleAccountSchema>;
export type EvmAccountSpec = Extract<RoleAccountSpec, { kind: 'evm' }>;
/** An endpoint as the scenarios see it: always an object. */
export interface EndpointSpec {
  url: string;
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Thrown when a target file is unreadable or invalid; the message names every bad field. */
export class TargetError extends Error {
  override name = 'TargetError';
}

function fieldPath(p: PropertyKey[]): string {
  let out = '';
  for (const k of p) out += typeof k === 'number' ? `[${k}]` : out ? `.${String(k)}` : String(k);
  return out || '(root)';
}

/** zod issues as "  - field.path: message" lines. */
export function issueLines(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[] = []): string[] {
  return issues.map((i) => `  - ${fieldPath([...prefix, ...i.path])}: ${i.message}`);
}

/** Validate an already-parsed target object; `source` is used in error messages. */
export function parseTarget(input: unknown, source = 'target'): Target {
  const r = TargetSchema.safeParse(input);
  if (r.success) return r.data;
  throw new TargetError(`invalid target ${source}:\n${issueLines(r.error.issues).join('\n')}`);
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
  const t = parseTarget(json, `file ${file}`);
  // A file's servers can grant rpc-faults only through a proxy the harness serves at an address
  // they are configured with (the reference target's services are handed theirs in code).
  const proxied = t.chains.some((c) => c.serverRpc);
  if (t.capabilities.includes('rpc-faults') && !proxied)
    throw new TargetError(
      `invalid target file ${file}:\n  - capabilities: 'rpc-faults' needs chains[].serverRpc.listen: the host:port the target's servers use as their chain RPC URL, where the harness serves its fault proxy`,
    );
  if (proxied && !t.capabilities.includes('rpc-faults'))
    throw new TargetError(`invalid target file ${file}:\n  - capabilities: chains[].serverRpc is given but the capability 'rpc-faults' is not granted`);
  return t;
}

/** What a protocol pack adds to the target format. */
export interface ProtocolTargetSection {
  id: string;
  /** Endpoint names the protocol's scenarios talk to, with what they are. */
  endpoints?: Record<string, string | { description: string }>;
  /** The protocol's own capabilities, `<protocol>:<name>` → meaning. */
  capabilities?: Record<string, string>;
  /** Schema of `config.<id>`. */
  config?: z.ZodType;
}

/** Closest candidate by edit distance, for "did you mean". */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (!best || d < best.d) best = { c, d };
  }
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.c : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/**
 * Check a target against the protocols the harness knows: endpoint names, namespaced capabilities
 * and `config` sections must be declared by a protocol, and each section must match its schema.
 * Returns the target with parsed sections; throws a TargetError naming every bad field otherwise.
 */
export function checkTargetAgainstProtocols(t: Target, protocols: readonly ProtocolTargetSection[], source = 'target'): Target {
  const lines: string[] = [];
  const knownIds = protocols.map((p) => p.id);
  const endpoints = new Set(protocols.flatMap((p) => Object.keys(p.endpoints ?? {})));
  const caps = new Set([...Object.keys(CORE_CAPABILITIES), ...protocols.flatMap((p) => Object.keys(p.capabilities ?? {}))]);
  const hint = (w: string, c: Iterable<string>) => {
    const m = didYouMean(w, [...c]);
    return m ? ` (did you mean '${m}'?)` : '';
  };
  for (const name of Object.keys(t.endpoints)) {
    if (!endpoints.has(name)) lines.push(`  - endpoints.${name}: no protocol uses an endpoint named '${name}'${hint(name, endpoints)}; known: ${[...endpoints].sort().join(', ')}`);
  }
  t.capabilities.forEach((c, i) => {
    if (!caps.has(c)) lines.push(`  - capabilities[${i}]: unknown capability '${c}'${hint(c, caps)}`);
  });
  for (const p of t.protocols ?? []) if (!knownIds.includes(p)) lines.push(`  - protocols: unknown protocol '${p}'${hint(p, knownIds)}; known: ${knownIds.join(', ')}`);
  const config: Record<string, unknown> = {};
  for (const [id, section] of Object.entries(t.config)) {
    const p = protocols.find((x) => x.id === id);
    if (!p) {
      lines.push(`  - config.${id}: unknown protocol '${id}'${hint(id, knownIds)}`);
      continue;
    }
    if (!p.config) {
      lines.push(`  - config.${id}: protocol '${id}' takes no settings`);
      continue;
    }
    const r = p.config.safeParse(section);
    if (r.success) config[id] = r.data;
    else lines.push(...issueLines(r.error.issues, ['config', id]));
  }
  if (lines.length) throw new TargetError(`invalid target ${source}:\n${lines.join('\n')}`);
  return { ...t, config };
}

/** JSON Schema (draft 2020-12) of the target file: the core schema plus each protocol's `config` section. */
export function targetJsonSchema(protocols: readonly ProtocolTargetSection[] = []): Record<string, unknown> {
  const s = z.toJSONSchema(TargetSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, any>;
  const sections: Record<string, unknown> = {};
  for (const p of [...protocols].sort((a, b) => a.id.localeCompare(b.id))) {
    if (p.config) sections[p.id] = z.toJSONSchema(p.config, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  }
  if (s.properties?.config) s.properties.config = { ...s.properties.config, properties: sections, additionalProperties: false };
  // `kind` may be omitted for an EVM account (the parser fills it in before the union is checked).
  for (const branch of s.properties?.accounts?.items?.oneOf ?? []) {
    if (branch.properties?.kind?.const === 'evm' && Array.isArray(branch.required)) branch.required = branch.required.filter((k: string) => k !== 'kind');
  }
  const endpoints = [...new Set(protocols.flatMap((p) => Object.keys(p.endpoints ?? {})))].sort();
  if (s.properties?.endpoints && endpoints.length) s.properties.endpoints.propertyNames = { enum: endpoints };
  return { $id: 'https://agentmarket-harness.local/schemas/target.schema.json', title: 'agentmarket-harness target', ...s };
}

/** Whether the target grants a capability. */
export function hasCapability(t: Target, c: Capability): boolean {
  return t.capabilities.includes(c);
}

/** The target's EVM accounts (funded role accounts the harness may sign with). */
export function evmAccounts(t: Target): EvmAccountSpec[] {
  return t.accounts.filter((a): a is EvmAccountSpec => a.kind === 'evm');
}

/** An endpoint as an object (a bare URL becomes `{url}`), or undefined. */
export function endpointOf(t: Target, name: string): EndpointSpec | undefined {
  const e = t.endpoints[name];
  if (e === undefined) return undefined;
  return typeof e === 'string' ? { url: e } : (e as EndpointSpec);
}

/** A token of a target chain by key (`usdc` may be the dedicated field or in `tokens`). */
export function chainToken(c: TargetChain, key: string): z.infer<typeof TokenSchema> | undefined {
  return key === 'usdc' ? (c.usdc ?? c.tokens.usdc) : c.tokens[key];
}
