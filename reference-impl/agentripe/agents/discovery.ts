/**
 * Agent discovery straight from the ERC-8004 IdentityRegistry, as the seed's buyer does with
 * `cast call ... tokenURI` (seed 002 "Agent Discovery"): enumerate ids, read owner, wallet and
 * tokenURI, and parse the AgentURIData (`data:application/json;base64,` URIs included).
 * Needs only an RPC URL and the registry address, so it works against any deployment.
 */
import { createPublicClient, type Address, type PublicClient } from 'viem';
import { keepAliveTransport } from '../../../harness/chain/transport.ts';
import { identityAbi } from '../protocol/abi.ts';
import { findCatalogEntry, loadAgentUriData, parseUsdPrice, type AgentUriData, type CatalogEntry } from '../protocol/agenturi.ts';

/** What a buyer learns about one agent. */
export interface DiscoveredAgent {
  agentId: bigint;
  owner: Address;
  agentWallet: Address;
  agentURI: string;
  /** Parsed AgentURIData, or null with `error` when the URI does not resolve to a valid one. */
  data: AgentUriData | null;
  error?: string;
}

/** Chain coordinates of a registry. */
export interface RegistryRef {
  rpcUrl: string;
  identityRegistry: Address;
  /** Optional pre-built client (shares a transport). */
  client?: PublicClient;
}

function client(ref: RegistryRef): PublicClient {
  return ref.client ?? (createPublicClient({ transport: keepAliveTransport(ref.rpcUrl) }) as PublicClient);
}

/**
 * Agent ids on the registry. Uses `Registered` events; if the node cannot serve logs, falls back to
 * probing `ownerOf` from id 0 until `maxGap` consecutive ids do not exist.
 */
export async function listAgentIds(ref: RegistryRef, maxGap = 3): Promise<bigint[]> {
  const pub = client(ref);
  try {
    const logs = await pub.getContractEvents({ address: ref.identityRegistry, abi: identityAbi, eventName: 'Registered', fromBlock: 0n, toBlock: 'latest' });
    return [...new Set(logs.map((l) => l.args.agentId!).filter((x) => x !== undefined))].sort((a, b) => (a < b ? -1 : 1));
  } catch {
    const ids: bigint[] = [];
    for (let id = 0n, gap = 0; gap < maxGap; id++) {
      try {
        await pub.readContract({ address: ref.identityRegistry, abi: identityAbi, functionName: 'ownerOf', args: [id] });
        ids.push(id);
        gap = 0;
      } catch {
        gap++;
      }
    }
    return ids;
  }
}

/** Reads one agent; null when it does not exist. */
export async function readAgent(ref: RegistryRef, agentId: bigint, fetchImpl: typeof fetch = fetch): Promise<DiscoveredAgent | null> {
  const pub = client(ref);
  let owner: Address;
  try {
    owner = await pub.readContract({ address: ref.identityRegistry, abi: identityAbi, functionName: 'ownerOf', args: [agentId] });
  } catch {
    return null;
  }
  const [agentWallet, agentURI] = await Promise.all([
    pub.readContract({ address: ref.identityRegistry, abi: identityAbi, functionName: 'getAgentWallet', args: [agentId] }),
    pub.readContract({ address: ref.identityRegistry, abi: identityAbi, functionName: 'tokenURI', args: [agentId] }).catch(() => ''),
  ]);
  const loaded = await loadAgentUriData(agentURI, fetchImpl);
  return { agentId, owner, agentWallet, agentURI, data: loaded.ok ? loaded.data : null, ...(loaded.ok ? {} : { error: loaded.reason }) };
}

/** Every agent on the registry. */
export async function discoverAgents(ref: RegistryRef, fetchImpl: typeof fetch = fetch): Promise<DiscoveredAgent[]> {
  const out: DiscoveredAgent[] = [];
  for (const id of await listAgentIds(ref)) {
    const a = await readAgent(ref, id, fetchImpl);
    if (a) out.push(a);
  }
  return out;
}

/** A purchasable offer: agent + catalog entry + price in base units. */
export interface Offer {
  agent: DiscoveredAgent;
  entry: CatalogEntry;
  price: bigint;
  /** Where to buy it: `${endpoint}/${agentId}/${path}` (endpoint from the AgentURIData). */
  url: string;
}

/** Offers for `servicePath` across agents, cheapest first. */
export function findOffers(agents: DiscoveredAgent[], servicePath: string): Offer[] {
  const offers: Offer[] = [];
  for (const agent of agents) {
    if (!agent.data) continue;
    const entry = findCatalogEntry(agent.data, servicePath);
    if (!entry) continue;
    const endpoint = agent.data.services.find((s) => s.name.toLowerCase() === 'x402')?.endpoint.replace(/\/+$/, '') ?? '';
    offers.push({ agent, entry, price: parseUsdPrice(entry.price), url: `${endpoint}/${agent.agentId}/${entry.path}` });
  }
  return offers.sort((a, b) => (a.price < b.price ? -1 : a.price > b.price ? 1 : 0));
}
