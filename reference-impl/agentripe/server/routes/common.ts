/** Lookups and answer formats the route groups share. */
import type { Address } from 'viem';
import { HttpError } from '../../../_shared/http.ts';
import { loadAgentUriData, toDataUri, type AgentUriData } from '../../protocol/agenturi.ts';
import { hex32 } from '../config.ts';
import type { AgentripeBase } from '../context.ts';
import type { TaskRow } from '../db.ts';

/**
 * An IdentityRegistry read the node did not answer: 502. Never "not found" or "not authorized": the
 * chain said neither (AGR-FLT-05).
 */
export function registryUnreadable(e: Error): never {
  throw new HttpError(502, 'Cannot read the agent from the IdentityRegistry', { detail: e.message.split('\n')[0] });
}

/** JSON-safe agent id: a number while it fits, else a decimal string. */
export function agentIdOut(id: string | bigint): number | string {
  const b = BigInt(id);
  return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString();
}

/** A stored JSON text back as a value (the text itself if it is not JSON). */
export function parseJsonOrNull(s: string | null): unknown {
  if (s === null) return null;
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/** An agent id from a path segment; anything else is an agent that does not exist (`unchecked`: the test-only fault agentIdNoDigitCheck). */
export function parseAgentId(s: string, unchecked = false): bigint {
  if (!unchecked && !/^\d{1,30}$/.test(s)) throw new HttpError(404, 'Agent not found');
  return BigInt(s);
}

export function taskOr404(ctx: AgentripeBase, id: string): TaskRow {
  if (!hex32.safeParse(id).success) throw new HttpError(404, 'Task not found');
  const t = ctx.db.getTask(id.toLowerCase());
  if (!t) throw new HttpError(404, 'Task not found');
  return t;
}

/** An agent as listed: owner, wallet, URI and its AgentURIData (null with the reason when unreadable); null if not minted. */
export async function agentInfo(ctx: AgentripeBase, agentId: bigint, uriTimeoutMs = 5000) {
  const { chain } = ctx;
  const owner = await chain.ownerOf(agentId);
  if (!owner) return null;
  const [uri, wallet] = await Promise.all([chain.tokenURI(agentId).catch(() => ''), chain.agentWallet(agentId).catch(() => null)]);
  return agentInfoFrom(agentId, { owner, uri, wallet }, uriTimeoutMs);
}

/** {@link agentInfo} from chain fields already read (the listing reads them in batches). */
export async function agentInfoFrom(agentId: bigint, c: { owner: Address | null; uri: string; wallet: Address | null }, uriTimeoutMs = 5000) {
  if (!c.owner) return null;
  const loaded = uriTimeoutMs > 0 ? await loadAgentUriData(c.uri, fetch, uriTimeoutMs) : { ok: false as const, reason: 'agent URI not resolved within the listing deadline' };
  return { agentId: agentIdOut(agentId), owner: c.owner, agentWallet: c.wallet, agentURI: c.uri, data: loaded.ok ? loaded.data : null, dataError: loaded.ok ? undefined : loaded.reason };
}

/** Replaces every service endpoint with this server's URL (seed: "auto-replaced with PUBLIC_URL"). */
export function withEndpoint(ctx: AgentripeBase, data: AgentUriData): AgentUriData {
  return { ...data, services: data.services.map((s) => ({ ...s, endpoint: ctx.publicUrl })) };
}

/** On-chain URIs cost gas per byte: catalogs above 16 KiB of JSON are refused before any transaction. */
const MAX_AGENT_DATA_BYTES = 16 * 1024;

/** AgentURIData as the `data:` URI this server writes on chain. */
export function agentDataUri(data: AgentUriData): string {
  const size = Buffer.byteLength(JSON.stringify(data), 'utf8');
  if (size > MAX_AGENT_DATA_BYTES) throw new HttpError(400, `Invalid request body: data is ${size} bytes of JSON; the limit is ${MAX_AGENT_DATA_BYTES}`);
  return toDataUri(data);
}
