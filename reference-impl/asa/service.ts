/**
 * The asa pack's reference service: the simulated Lightning network, the Nostr relay and the
 * provider agent (server/stack.ts). No chain: `chains: []` means the service runs whatever chains
 * are (or are not) started. Publishes `asa-relay` (ws://), `asa-provider` and `asa-lightning`, the
 * provider's identities in `config.asa`, and the `asa:reputation-view` capability. A what-if profile
 * sets the caveat limits of the provider's tokens (protocol/constants.ts).
 */
import { defineService } from '../../harness/services/service.ts';
import { ASA_CONSTANTS } from './protocol/constants.ts';
import { startAsaStack } from './server/stack.ts';

export default defineService({
  name: 'asa',
  protocols: ['asa'],
  chains: [],
  async start({ host, profile }) {
    // A what-if profile's caveat limits: the provider mints its tokens with them.
    const k = ASA_CONSTANTS.of(profile);
    const s = await startAsaStack({ host, provider: { tokenLifetime: k.tokenLifetimeSeconds, tokenMaxRequests: k.tokenMaxRequests } });
    return {
      endpoints: s.endpoints,
      config: s.config,
      capabilities: ['asa:reputation-view'],
      facts: {
        relay: s.relay.url,
        provider: { url: s.provider.url, resource: s.provider.resourceUrl, pubkey: s.provider.pubkey, node: s.provider.node, capability: s.provider.capabilityId },
        lightning: s.lightning.url,
      },
      stop: () => s.stop(),
    };
  },
});
