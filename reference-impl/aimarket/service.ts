/**
 * The AI Market pack's reference service on the `base` chain (server/stack.ts): the provider
 * factory/hub as endpoint `aimarket`, the routing hub as `aimarket-router`, and the router's stopped
 * peer in `config.aimarket.downPeer`. Grants `aimarket:failure-fixture` (the catalog's `flaky@v1`
 * fails on "fail": `config.aimarket.failure`). Started by `amh up` and by the reference Target whenever
 * the aimarket protocol is selected. A what-if profile sets the router's fee, the hubs' channel
 * lifetime and the escrow's (protocol/constants.ts). When a selected scenario crashes servers, a
 * second provider hub runs beside them as a child process (restartable.ts), the one the crash
 * scenario kills with SIGKILL: the capability `restart`, with its control for `aimarket`.
 */
import { defineService } from '../../harness/services/service.ts';
import { AIMARKET_CONSTANTS } from './protocol/constants.ts';
import { FAILURE_FIXTURE } from './protocol/wire.ts';
import { applyAimarketChannelTtl } from './server/apply-profile.ts';
import { startAimStack } from './server/stack.ts';
import { startRestartableAimHub } from './restartable.ts';

export default defineService({
  name: 'aimarket',
  protocols: ['aimarket'],
  chains: ['base'],
  async start({ chains, host, log, profile, wants }) {
    const chain = chains.find((c) => c.profile.id === 'base')!;
    // A what-if profile's routing fee and channel lifetime: the hubs take both, the escrow its lifetime.
    const constants = AIMARKET_CONSTANTS.of(profile);
    if (await applyAimarketChannelTtl(chain, constants.channelExpirySeconds)) log(`aimarket: the escrow's channel lifetime is set to ${constants.channelExpirySeconds} s (profile)`);
    const stack = await startAimStack(chain, { host, constants, log: (m) => log(`aimarket: ${m}`) });
    // The crashable child only when a selected scenario crashes servers (it costs a process).
    const restartable =
      !wants || wants.has('restart')
        ? await startRestartableAimHub(chain, { args: ['--channel-ttl', String(constants.channelExpirySeconds)], log: (l) => log(`aimarket (restartable hub): ${l}`) }).catch(async (e) => {
            await stack.stop();
            throw e;
          })
        : undefined;
    return {
      endpoints: { aimarket: stack.provider.url, 'aimarket-router': stack.router!.url },
      capabilities: ['aimarket:failure-fixture', ...(restartable ? (['restart'] as const) : [])],
      ...(restartable ? { restart: { aimarket: restartable.control } } : {}),
      config: { aimarket: { failure: FAILURE_FIXTURE, downPeer: stack.downPeer } },
      facts: {
        provider: stack.provider.url,
        router: stack.router!.url,
        signer: stack.provider.publicKey,
        recipient: stack.provider.recipient,
        downPeer: stack.downPeer,
        ...(restartable ? { restartable: restartable.url } : {}),
      },
      async stop() {
        await restartable?.stop();
        await stack.stop();
      },
    };
  },
});
