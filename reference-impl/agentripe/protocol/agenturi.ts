/**
 * AgentURIData: the service catalog an Agentripe agent publishes as its ERC-8004 `tokenURI`
 * (seed 002, "Data Structures"), plus the helpers every party needs around it: price parsing,
 * `data:` URI encoding/decoding and catalog lookup.
 */
import { z } from 'zod';
import { formatUsd, parseUsd } from '../../../harness/util/money.ts';

/** One paid service of an agent. Every field is required by the seed's validation rules. */
export const catalogEntrySchema = z.object({
  path: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*$/, 'path must be URL-safe segments'),
  price: z.string().regex(/^\$\d{1,12}(?:\.\d{1,6})?$/, 'price must look like "$X.XX"'),
  type: z.string().min(1),
  description: z.string().min(1),
});

export const serviceSchema = z.object({
  name: z.string().min(1),
  endpoint: z.string(),
  catalog: z.array(catalogEntrySchema),
});

/** AgentURIData (seed 002). Unknown extra keys are kept (ERC-8004 registration files carry more). */
export const agentUriDataSchema = z.looseObject({
  name: z.string().min(1),
  description: z.string().optional(),
  iconUrl: z.string().optional(),
  x402Support: z.boolean().optional(),
  solanaWallet: z.string().optional(),
  services: z.array(serviceSchema).min(1, 'services must not be empty'),
});

export type CatalogEntry = z.infer<typeof catalogEntrySchema>;
export type AgentUriData = z.infer<typeof agentUriDataSchema>;

/**
 * Parses a catalog price such as "$0.10" into USDC base units (100000n). The "$" is required here
 * (the seed's format); the arithmetic is the shared exact parser.
 */
export function parseUsdPrice(price: string): bigint {
  if (!/^\$\d{1,12}(?:\.\d{1,6})?$/.test(price)) throw new Error(`invalid price ${JSON.stringify(price)}: expected "$X.XX"`);
  return parseUsd(price);
}

/** Why a `$0` price is refused (AGR-PROF-18), for error messages. */
export const ZERO_PRICE_RULE = 'price must be above $0 (AGR-PROF-18: a zero payment cannot be escrowed)';

/** Whether a well-formed catalog price is `$0` (any number of zero decimals). Malformed prices are not. */
export function isZeroPrice(price: string): boolean {
  try {
    return parseUsdPrice(price) === 0n;
  } catch {
    return false;
  }
}

/**
 * AgentURIData a server accepts for writing (registration, `PUT /vendor/agent-uri`): as
 * {@link agentUriDataSchema}, and every catalog price above $0 (AGR-PROF-18). Cards read from chain
 * are parsed with the lenient schema: anyone can register one, and its other entries still sell.
 */
export const sellableAgentUriDataSchema = agentUriDataSchema.superRefine((data, ctx) => {
  data.services.forEach((service, i) => {
    service.catalog.forEach((entry, j) => {
      if (isZeroPrice(entry.price)) ctx.addIssue({ code: 'custom', path: ['services', i, 'catalog', j, 'price'], message: ZERO_PRICE_RULE });
    });
  });
});

/** Formats USDC base units as a "$" string (the shared formatter). */
export const formatUsdPrice = formatUsd;

/** Encodes AgentURIData as a `data:application/json;base64,` URI (what on-chain catalogs use). */
export function toDataUri(data: unknown): string {
  return `data:application/json;base64,${Buffer.from(JSON.stringify(data), 'utf8').toString('base64')}`;
}

/** Largest agent card read from a URI (anyone can point an agent at a URL that never ends). */
export const MAX_AGENT_CARD_BYTES = 64 * 1024;

/** Reads a response body as UTF-8, refusing (and cancelling the stream) past `cap` bytes. */
async function readCapped(res: Response, cap: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > cap) {
    await res.body?.cancel().catch(() => {});
    throw new Error(`agent card is ${declared} bytes; the limit is ${cap}`);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > cap) {
      await reader.cancel().catch(() => {});
      throw new Error(`agent card exceeds ${cap} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Resolves an agent URI to its JSON: `data:` URIs (base64 or percent-encoded) are decoded locally;
 * http(s) URIs are fetched (with a timeout); anything else is an error.
 */
export async function resolveAgentUri(uri: string, fetchImpl: typeof fetch = fetch, timeoutMs = 5000): Promise<unknown> {
  if (uri.length > MAX_AGENT_CARD_BYTES * 2) throw new Error(`agent URI is longer than ${MAX_AGENT_CARD_BYTES * 2} characters`);
  if (uri.startsWith('data:')) {
    const comma = uri.indexOf(',');
    if (comma < 0) throw new Error('malformed data: URI');
    const meta = uri.slice(5, comma);
    const payload = uri.slice(comma + 1);
    const text = meta.split(';').includes('base64') ? Buffer.from(payload, 'base64').toString('utf8') : decodeURIComponent(payload);
    return JSON.parse(text);
  }
  if (/^https?:\/\//i.test(uri)) {
    const res = await fetchImpl(uri, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`agent URI ${uri} answered ${res.status}`);
    return JSON.parse(await readCapped(res, MAX_AGENT_CARD_BYTES));
  }
  throw new Error(`unsupported agent URI scheme: ${uri.slice(0, 32)}`);
}

/** Resolves and validates an agent URI; returns null (with the reason) instead of throwing. */
export async function loadAgentUriData(uri: string, fetchImpl: typeof fetch = fetch, timeoutMs = 5000): Promise<{ ok: true; data: AgentUriData } | { ok: false; reason: string }> {
  if (!uri) return { ok: false, reason: 'agent has no URI' };
  try {
    const parsed = agentUriDataSchema.safeParse(await resolveAgentUri(uri, fetchImpl, timeoutMs));
    if (!parsed.success) return { ok: false, reason: `invalid AgentURIData: ${parsed.error.issues[0]?.message}` };
    return { ok: true, data: parsed.data };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

/** Finds the catalog entry for `servicePath` among the agent's x402 services. */
export function findCatalogEntry(data: AgentUriData, servicePath: string): CatalogEntry | undefined {
  for (const service of data.services) {
    if (service.name.toLowerCase() !== 'x402') continue;
    const entry = service.catalog.find((c) => c.path === servicePath);
    if (entry) return entry;
  }
  return undefined;
}
