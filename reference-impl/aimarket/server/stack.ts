/**
 * The AI Market reference deployment on a running `base` chain: the provider factory/hub (endpoint
 * `aimarket`, the reference catalog, paid in USDC to the `provider` role's wallet), a routing hub
 * (endpoint `aimarket-router`, no catalog of its own, routing fee 100 bps unless a profile sets it) that has the provider and a
 * third hub in its seed list, and that third hub, crawled once and then stopped (the router's
 * `downPeer`: a source hub it indexed that no longer answers). SQLite files in a temp dir.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunningChain } from '../../../harness/chain/index.ts';
import { roleAccount } from '../../../harness/chain/index.ts';
import { REFERENCE_CATALOG } from '../protocol/catalog.ts';
import { AIMARKET_CONSTANTS, type AimarketConstants } from '../protocol/constants.ts';
import type { AimFaults } from './faults.ts';
import { type Hub, type HubToken, startHub } from './hub.ts';

/** The lab signing seed of a hub (deterministic; never the published test key, never a real one). */
export const labSeed = (name: string) => createHash('sha256').update(`agentmarket-harness aimarket lab signer: ${name}`).digest('hex');

export interface AimStackOptions {
  host?: string;
  faults?: AimFaults;
  /** Faults of the routing hub (default none). */
  routerFaults?: AimFaults;
  /** Start the routing hub and the stopped peer (default true). */
  federation?: boolean;
  /** The what-if constants (routing fee, channel lifetime); default: the reference values. */
  constants?: AimarketConstants;
  log?: (line: string) => void;
}

export interface AimStack {
  provider: Hub;
  router?: Hub;
  downPeer?: string;
  token: HubToken;
  stop(): Promise<void>;
}

export async function startAimStack(chain: RunningChain, o: AimStackOptions = {}): Promise<AimStack> {
  const usdc = chain.profile.usdc;
  if (!usdc) throw new Error(`chain profile ${chain.profile.id} has no USDC`);
  const token: HubToken = { symbol: usdc.symbol, address: usdc.address, decimals: usdc.decimals };
  const dir = mkdtempSync(path.join(tmpdir(), 'aimarket-'));
  const k = o.constants ?? AIMARKET_CONSTANTS.defaults;
  const common = { rpcUrl: chain.rpcUrl, chainId: chain.chainId, chainName: chain.profile.id, token, host: o.host, allowLoopbackPeers: true, channelTtlSeconds: k.channelExpirySeconds, log: o.log };
  const provider = await startHub({
    ...common,
    name: 'AI Market reference factory',
    signerSeedHex: labSeed('provider'),
    walletKey: roleAccount('provider').privateKey,
    catalog: REFERENCE_CATALOG,
    dbFile: path.join(dir, 'provider.sqlite'),
    faults: o.faults,
  });
  if (o.federation === false) {
    return {
      provider,
      token,
      async stop() {
        await provider.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const gone = await startHub({
    ...common,
    name: 'AI Market lab peer (stopped after the first crawl)',
    signerSeedHex: labSeed('down-peer'),
    walletKey: roleAccount('vendor1').privateKey,
    catalog: REFERENCE_CATALOG.filter((c) => c.capabilityId === 'count@v1'),
    dbFile: path.join(dir, 'down.sqlite'),
  });
  const router = await startHub({
    ...common,
    name: 'AI Market reference routing hub',
    signerSeedHex: labSeed('router'),
    walletKey: roleAccount('vendor2').privateKey,
    catalog: [],
    routingFeeBps: Number(k.routingFeeBps),
    seedList: [`${provider.url}/.well-known/ai-market.json`, `${gone.url}/.well-known/ai-market.json`],
    dbFile: path.join(dir, 'router.sqlite'),
    faults: o.routerFaults,
  });
  await router.crawl();
  const downPeer = gone.url;
  await gone.stop();
  return {
    provider,
    router,
    downPeer,
    token,
    async stop() {
      await router.stop();
      await provider.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
