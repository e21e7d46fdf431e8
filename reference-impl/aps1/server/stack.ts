/**
 * The APS-1 reference deployment on a running `tempo` chain: four agent servers, one per worker
 * strategy (the honest `data-analyzer` of the seed's example, a slow one, one whose proofs do not
 * match, one that fails), and a marketplace listing the honest, mismatching and failing agents.
 * Each server signs with a key of its own (harness serviceAccount), given gas when it starts.
 * Used by service.ts (amh up / amh run), serve.ts (a separate process), the kill table, the fuzz
 * test and the bench.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Address, Hex } from 'viem';
import { rpcCall, serviceAccount, type RunningChain } from '../../../harness/chain/index.ts';
import type { WorkerStrategy } from '../agents/workers.ts';
import { APS1_TOKEN_KEYS, APS1_TOKENS } from '../protocol/abi.ts';
import type { Aps1Addresses } from './chain.ts';
import { startAgentServer, type AgentIdentity, type AgentServer, type TokenConfig } from './agent-server.ts';
import type { Aps1Faults } from './faults.ts';
import { startMarketplace, type Marketplace } from './marketplace.ts';

/** The deployment's contract addresses on a chain that carries APS-1. */
export function aps1Addresses(chain: RunningChain): Aps1Addresses {
  const c = chain.profile.contracts;
  if (!c.paypolNexusV2 || !c.paypolStreamV1 || !c.aiProofRegistry || !c.paypolReputation) throw new Error(`chain profile ${chain.profile.id} has no APS-1 contracts (use tempo)`);
  return { nexus: c.paypolNexusV2, stream: c.paypolStreamV1, proof: c.aiProofRegistry, reputation: c.paypolReputation };
}

/** The four stablecoins as the agents list them. */
export function aps1Tokens(chain: RunningChain): TokenConfig[] {
  return APS1_TOKEN_KEYS.map((k) => ({ symbol: APS1_TOKENS[k].symbol, address: (chain.profile.contracts[k] ?? APS1_TOKENS[k].address) as Address, decimals: APS1_TOKENS[k].decimals }));
}

/** The reference agents: identity and strategy. */
export const REFERENCE_AGENTS: { strategy: WorkerStrategy; agent: AgentIdentity }[] = [
  {
    strategy: 'honest',
    agent: {
      id: 'data-analyzer',
      name: 'Data Analyzer',
      description: 'Analyzes on-chain data and generates reports',
      category: 'analytics',
      version: '1.0.0',
      pricing: { basePrice: 5, currency: 'USD', negotiable: true, minPrice: 2 },
      capabilities: ['analyze-transactions', 'generate-report', 'trend-detection'],
      proofEnabled: true,
    },
  },
  {
    strategy: 'slow',
    agent: {
      id: 'slow-analyzer',
      name: 'Slow Analyzer',
      description: 'Answers pending and finishes later (past short deadlines)',
      category: 'analytics',
      version: '1.0.0',
      pricing: { basePrice: 1, currency: 'USD', negotiable: false },
      capabilities: ['analyze-transactions'],
      proofEnabled: true,
    },
  },
  {
    strategy: 'mismatching',
    agent: {
      id: 'shortcut-analyzer',
      name: 'Shortcut Analyzer',
      description: 'Runs a cheaper task than it committed to (its proofs do not match)',
      category: 'analytics',
      version: '1.0.0',
      pricing: { basePrice: 3, currency: 'USD', negotiable: false },
      capabilities: ['analyze-transactions'],
      proofEnabled: true,
    },
  },
  {
    strategy: 'failing',
    agent: {
      id: 'failing-analyzer',
      name: 'Failing Analyzer',
      description: 'Always fails',
      category: 'verification',
      version: '1.0.0',
      pricing: { basePrice: 2, currency: 'USD', negotiable: false },
      capabilities: ['verify'],
      proofEnabled: true,
    },
  },
];

/** Gas for each server key: 1,000 ETH. */
const GAS = 1000n * 10n ** 18n;

export interface Aps1Stack {
  agents: { strategy: WorkerStrategy; id: string; server: AgentServer }[];
  /** The honest agent (endpoint `aps1-agent`). */
  agent: AgentServer;
  marketplace: Marketplace;
  stop(): Promise<void>;
}

export interface StackOptions {
  host?: string;
  faults?: Aps1Faults;
  /** Keep state in files under this directory (default: a temporary directory, removed on stop). */
  dir?: string;
  slowDelayMs?: number;
  log?: (line: string) => void;
}

/** A server key (harness serviceAccount `name`), given gas on `chain`. */
async function fundedKey(chain: RunningChain, name: string): Promise<Hex> {
  const a = serviceAccount(name);
  await rpcCall(chain.rpcUrl, 'anvil_setBalance', [a.address, `0x${GAS.toString(16)}`]);
  return a.privateKey;
}

/** Where one server of the deployment runs: its key's name, its SQLite file and its port. */
interface Placement {
  key: string;
  dbPath: string;
  port?: number;
  /** The chain's RPC as this server reaches it (default the chain's own). */
  rpcUrl?: string;
}

function startAgent(chain: RunningChain, a: (typeof REFERENCE_AGENTS)[number], at: Placement, o: StackOptions): Promise<AgentServer> {
  return fundedKey(chain, at.key).then((privateKey) =>
    startAgentServer({
      rpcUrl: at.rpcUrl ?? chain.rpcUrl,
      chainId: chain.chainId,
      addresses: aps1Addresses(chain),
      tokens: aps1Tokens(chain),
      privateKey,
      agent: a.agent,
      strategy: a.strategy,
      slowDelayMs: o.slowDelayMs,
      dbPath: at.dbPath,
      host: o.host,
      port: at.port,
      faults: o.faults,
      log: o.log,
    }),
  );
}

async function startMarket(chain: RunningChain, agentUrls: string[], at: Placement, o: StackOptions): Promise<Marketplace> {
  return startMarketplace({
    rpcUrl: at.rpcUrl ?? chain.rpcUrl,
    chainId: chain.chainId,
    addresses: aps1Addresses(chain),
    tokens: aps1Tokens(chain).map((t) => t.address),
    privateKey: await fundedKey(chain, at.key),
    agents: agentUrls,
    dbPath: at.dbPath,
    host: o.host,
    port: at.port,
    faults: o.faults,
    log: o.log,
  });
}

/**
 * The honest agent and a marketplace listing only it, with keys of their own, on fixed ports and
 * SQLite files under `dir`: what the crash scenarios kill (reference-impl/aps1/restartable.ts).
 * The marketplace starts first, so once the agent answers both do.
 */
export async function startHonestPair(
  chain: RunningChain,
  o: StackOptions & { dir: string; agentPort: number; marketPort: number; rpcUrl?: string },
): Promise<{ agent: AgentServer; marketplace: Marketplace; stop(): Promise<void> }> {
  const honest = REFERENCE_AGENTS.find((a) => a.strategy === 'honest')!;
  const agentUrl = `http://${o.host ?? '127.0.0.1'}:${o.agentPort}`;
  const marketplace = await startMarket(chain, [agentUrl], { key: 'aps1-marketplace-restartable', dbPath: path.join(o.dir, 'marketplace.sqlite'), port: o.marketPort, rpcUrl: o.rpcUrl }, o);
  try {
    const agent = await startAgent(chain, honest, { key: 'aps1-agent-restartable', dbPath: path.join(o.dir, 'agent.sqlite'), port: o.agentPort, rpcUrl: o.rpcUrl }, o);
    return {
      agent,
      marketplace,
      async stop() {
        await agent.stop().catch(() => undefined);
        await marketplace.stop().catch(() => undefined);
      },
    };
  } catch (e) {
    await marketplace.stop().catch(() => undefined);
    throw e;
  }
}

/** Starts the four agents and the marketplace on `chain`. */
export async function startAps1Stack(chain: RunningChain, o: StackOptions = {}): Promise<Aps1Stack> {
  const dir = o.dir ?? mkdtempSync(path.join(tmpdir(), 'aps1-'));
  const started: { stop(): Promise<void> }[] = [];
  try {
    const agents: Aps1Stack['agents'] = [];
    for (const a of REFERENCE_AGENTS) {
      const server = await startAgent(chain, a, { key: `aps1-agent-${a.agent.id}`, dbPath: path.join(dir, `${a.agent.id}.sqlite`) }, o);
      started.push(server);
      agents.push({ strategy: a.strategy, id: a.agent.id, server });
    }
    const marketplace = await startMarket(
      chain,
      agents.filter((a) => a.strategy !== 'slow').map((a) => a.server.url),
      { key: 'aps1-marketplace', dbPath: path.join(dir, 'marketplace.sqlite') },
      o,
    );
    started.push(marketplace);
    const agent = agents.find((a) => a.strategy === 'honest')!.server;
    return {
      agents,
      agent,
      marketplace,
      async stop() {
        for (const s of started.reverse()) await s.stop().catch(() => undefined);
        if (!o.dir) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    if (!o.dir) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
