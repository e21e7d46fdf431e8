/**
 * The asa reference deployment in one process: the simulated Lightning network (two hubs, the role
 * nodes, the provider's node), the relay and the provider agent. `service.ts` (amh up / amh run),
 * the kill table and the tests start it; serve.ts starts the same parts as separate processes.
 */
import { createHash } from 'node:crypto';
import { roleKey } from '../../../harness/chain/accounts.ts';
import { LightningNetwork, type NetworkFaults } from './lightning.ts';
import { type LightningServer, startLightningServer } from './lightning-http.ts';
import { type ProviderFaults, type ProviderOptions, type RunningProvider, startProvider } from './provider.ts';
import { type RelayFaults, type RunningRelay, startRelay } from './relay.ts';

export const HUB_KEYS = ['hub-a', 'hub-b'].map((h) => createHash('sha256').update(`agentmarket-harness:asa:${h}`).digest('hex'));
/** Roles whose Lightning nodes the reference network funds (channels to both hubs). */
export const LN_ROLES = ['buyer1', 'buyer2', 'attacker', 'reviewer'] as const;

export interface AsaFaults {
  relay?: RelayFaults;
  provider?: ProviderFaults;
  network?: NetworkFaults;
}

export interface AsaStack {
  relay: RunningRelay;
  lightning: LightningServer;
  network: LightningNetwork;
  provider: RunningProvider;
  endpoints: { 'asa-relay': string; 'asa-l402': string; 'asa-lightning': string };
  config: { asa: { provider: { pubkey: string; node: string; reputation: string } } };
  stop(): Promise<void>;
}

/** Start the network with its hubs and the role nodes (each with a channel to both hubs). */
export async function startNetwork(o: { host?: string; port?: number; faults?: NetworkFaults; roles?: readonly string[] } = {}): Promise<{ network: LightningNetwork; server: LightningServer }> {
  const network = new LightningNetwork(o.faults);
  const hubs = HUB_KEYS.map((k, i) => network.addNode(k, `hub-${'ab'[i]}`).pubkey);
  network.openChannel(hubs[0]!, hubs[1]!, 10_000_000_000n, 10_000_000_000n);
  for (const r of o.roles ?? LN_ROLES) {
    const n = network.addNode(roleKey(r, 'lightning').privateKey, r);
    for (const h of hubs) network.openChannel(n.pubkey, h, 5_000_000_000n, 5_000_000_000n);
  }
  const server = await startLightningServer(network, { host: o.host, port: o.port, hubs });
  return { network, server };
}

export async function startAsaStack(o: { host?: string; faults?: AsaFaults; provider?: Partial<ProviderOptions> } = {}): Promise<AsaStack> {
  const { network, server: lightning } = await startNetwork({ host: o.host, faults: o.faults?.network });
  let relay: RunningRelay | undefined;
  try {
    relay = await startRelay({ host: o.host, faults: o.faults?.relay });
    const provider = await startProvider({
      relayUrl: relay.url,
      lightningUrl: lightning.url,
      nostrKey: roleKey('provider', 'nostr').privateKey,
      nodeKey: roleKey('provider', 'lightning').privateKey,
      host: o.host,
      faults: o.faults?.provider,
      ...o.provider,
    });
    const r = relay;
    return {
      relay: r,
      lightning,
      network,
      provider,
      endpoints: { 'asa-relay': r.url, 'asa-l402': provider.resourceUrl, 'asa-lightning': lightning.url },
      config: { asa: { provider: { pubkey: provider.pubkey, node: provider.node, reputation: `${provider.url}/reputation` } } },
      stop: async () => {
        await provider.stop().catch(() => {});
        await r.stop().catch(() => {});
        await lightning.stop();
      },
    };
  } catch (e) {
    await relay?.stop().catch(() => {});
    await lightning.stop();
    throw e;
  }
}
