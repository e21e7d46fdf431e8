/**
 * The AI Market pack's reference service on the `base` chain (server/stack.ts): the provider
 * factory/hub as endpoint `aimarket`, the routing hub as `aimarket-router`, and the router's stopped
 * peer in `config.aimarket.downPeer`. Grants `aimarket:failure-fixture` (the catalog's `flaky@v1`
 * fails on "fail": `config.aimarket.failure`). Started by `amh up` and by the reference Target whenever
 * the aimarket protocol is selected.
 */
import { defineService } from '../../harness/services/service.ts';
import { FAILURE_FIXTURE } from './protocol/wire.ts';
import { startAimStack } from './server/stack.ts';

export default defineService({
  name: 'aimarket',
  protocols: ['aimarket'],
  chains: ['base'],
  async start({ chains, host, log }) {
    const chain = chains.find((c) => c.profile.id === 'base')!;
    const stack = await startAimStack(chain, { host, log: (m) => log(`aimarket: ${m}`) });
    return {
      endpoints: { aimarket: stack.provider.url, 'aimarket-router': stack.router!.url },
      capabilities: ['aimarket:failure-fixture'],
      config: { aimarket: { failure: FAILURE_FIXTURE, downPeer: stack.downPeer } },
      facts: { provider: stack.provider.url, router: stack.router!.url, signer: stack.provider.publicKey, recipient: stack.provider.recipient, downPeer: stack.downPeer },
      stop: () => stack.stop(),
    };
  },
});
