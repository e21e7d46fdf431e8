/**
 * The asa pack's reference service: the simulated Lightning network, the Nostr relay and the
 * provider agent (server/stack.ts). No chain: `chains: []` means the service runs whatever chains
 * are (or are not) started. Publishes `asa-relay` (ws://), `asa-provider` and `asa-lightning`, the
 * provider's identities in `config.asa`, and the `asa:reputation-view` capability. A what-if profile
 * sets the caveat limits of the provider's tokens (protocol/constants.ts). When a selected scenario
 * crashes servers, a second provider runs beside it as a child process (restartable.ts), the one the
 * crash scenario kills with SIGKILL: the capability `restart`, its control for `asa-l402`, and its
 * identities in `config.asa.restartable`.
 */
import { defineService } from '../../harness/services/service.ts';
import { ASA_CONSTANTS } from './protocol/constants.ts';
import { startRestartableProvider, tokenLimitArgs } from './restartable.ts';
import { startAsaStack } from './server/stack.ts';

export default defineService({
  name: 'asa',
  protocols: ['asa'],
  chains: [],
  async start({ host, log, profile, wants }) {
    // A what-if profile's caveat limits: the provider mints its tokens with them.
    const k = ASA_CONSTANTS.of(profile);
    const s = await startAsaStack({ host, provider: { tokenLifetime: k.tokenLifetimeSeconds, tokenMaxRequests: k.tokenMaxRequests } });
    // The crashable child only when a selected scenario crashes servers (it costs a process).
    const restartable =
      !wants || wants.has('restart')
        ? await startRestartableProvider(s.relay.url, s.lightning.url, { args: tokenLimitArgs(k), log: (l) => log(`asa (restartable provider): ${l}`) }).catch(async (e) => {
            await s.stop();
            throw e;
          })
        : undefined;
    return {
      endpoints: s.endpoints,
      config: restartable ? { asa: { ...s.config.asa, restartable: restartable.identity } } : s.config,
      capabilities: ['asa:reputation-view', ...(restartable ? (['restart'] as const) : [])],
      ...(restartable ? { restart: { 'asa-l402': restartable.control } } : {}),
      facts: {
        relay: s.relay.url,
        provider: { url: s.provider.url, resource: s.provider.resourceUrl, pubkey: s.provider.pubkey, node: s.provider.node, capability: s.provider.capabilityId },
        lightning: s.lightning.url,
        ...(restartable ? { restartable: restartable.control.url } : {}),
      },
      async stop() {
        await restartable?.stop();
        await s.stop();
      },
    };
  },
});
