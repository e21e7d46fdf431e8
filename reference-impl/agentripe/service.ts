/**
 * The Agentripe pack's reference service: an Agentripe server with its own x402 facilitator on the
 * base-sepolia chain, its AI reviewer pointed at the harness's fixture reviewer (agents/reviewer.ts),
 * exactly as a third-party server would be set up for certification. Hence the capability
 * `agentripe:review-fixture`. Started by `amh up` and by the reference Target whenever the agentripe
 * protocol is selected. Beside it runs a second server as a child process (restartable.ts), the
 * one the crash scenarios kill with SIGKILL: the capability `restart`, with its control.
 */
import { tokenOf } from '../../harness/chain/index.ts';
import { throughRpcFaults } from '../../harness/faults/rpc.ts';
import { defineService } from '../../harness/services/service.ts';
import { startFixtureReviewer } from './agents/reviewer.ts';
import { AGENTRIPE_CONSTANTS } from './protocol/constants.ts';
import { applyAgentripeConstants } from './server/apply-profile.ts';
import { startAgentripeStack } from './server/stack.ts';
import { startRestartableAgentripe } from './restartable.ts';

export default defineService({
  name: 'agentripe',
  protocols: ['agentripe'],
  chains: ['base-sepolia'],
  async start({ chains, host, log, profile, wants }) {
    const chain = chains.find((c) => c.profile.id === 'base-sepolia')!;
    tokenOf(chain.profile, 'usdc');
    // A what-if profile's constants: the escrow's reclaim delay on chain, the rest in the server's config.
    const k = AGENTRIPE_CONSTANTS.of(profile);
    if (await applyAgentripeConstants(chain, k)) log(`agentripe: the escrow's reclaim delay is set to ${k.reclaimDelaySeconds} s (profile)`);
    const reviewer = await startFixtureReviewer({ host });
    try {
      // The facilitator reaches the chain through the harness's RPC fault proxy (capability rpc-faults).
      const stack = await throughRpcFaults(chain.rpcUrl, (facilitatorRpcUrl) =>
        startAgentripeStack(chain, {
          host,
          review: { type: 'llm', endpoint: reviewer.url, model: 'review-fixture' },
          reviewLimit: k.reviewLimit,
          authWindowSeconds: k.authWindowSeconds,
          facilitatorRpcUrl,
        }),
      );
      // The crashable child (a second server process) only when a selected scenario crashes servers.
      const restartable =
        !wants || wants.has('restart')
          ? await startRestartableAgentripe(chain, {
              args: ['--review-limit', String(k.reviewLimit), '--auth-window', String(k.authWindowSeconds), '--reclaim-delay', String(k.reclaimDelaySeconds)],
              log: (l) => log(`agentripe (restartable): ${l}`),
            }).catch(async (e) => {
              await stack.stop();
              throw e;
            })
          : undefined;
      return {
        endpoints: { agentripe: stack.server.url },
        capabilities: ['agentripe:review-fixture', 'rpc-faults', ...(restartable ? (['restart'] as const) : [])],
        ...(restartable ? { restart: { agentripe: restartable.control } } : {}),
        facts: {
          constants: { reviewLimit: k.reviewLimit, reclaimDelaySeconds: k.reclaimDelaySeconds, authWindowSeconds: k.authWindowSeconds },
          facilitator: stack.facilitator.url,
          reviewer: reviewer.url,
          operator: stack.server.operator,
          registrar: stack.server.registrar,
          ...(restartable ? { restartable: restartable.url } : {}),
        },
        // The chain went back to where it was at start: the server forgets its tasks and keys. The
        // crashable child keeps its own (few: only crash scenarios use it) and orphans them with its
        // revert guard on its next request, as after any revert.
        // Stryker disable next-line all: speed only (see the server's reset).
        reset: () => stack.server.reset(),
        async stop() {
          await restartable?.stop();
          await stack.stop();
          await reviewer.stop();
        },
      };
    } catch (e) {
      await reviewer.stop();
      throw e;
    }
  },
});
