/**
 * The APS-1 pack's reference service on the `tempo` chain: the four reference agent servers (honest
 * `data-analyzer`, slow, mismatching, failing) and the marketplace (server/stack.ts). Publishes the
 * honest agent as endpoint `aps1-agent` and the marketplace as `aps1-marketplace`. Started by
 * `amh up` and by the reference Target whenever the aps1 protocol is selected.
 *
 * A what-if profile (`amh run --profile`, ServiceContext.profile) puts its fee, penalty, cap and
 * compat switches on the chain first (server/apply-profile.ts); `AMH_APS1_PROFILE=compat` is an
 * alias for the compat preset (the CLI folds it into the profile; a caller that passes no profile
 * still gets it from the environment), so `amh run --protocol aps1` shows which requirements the
 * public contracts' quirks break.
 *
 * When a selected scenario crashes servers, a second honest agent and a marketplace listing it run
 * beside them as one child process (restartable.ts), the one the crash scenarios kill with SIGKILL:
 * the capability `restart`, with its controls for `aps1-agent` and `aps1-marketplace`; the child
 * reaches the chain through the RPC fault proxy (`rpc-faults`).
 */
import { defineService } from '../../harness/services/service.ts';
import { aps1ProfileOf } from './protocol/constants.ts';
import { profileNamed } from './protocol/profile.ts';
import { applyProfileConstants } from './server/apply-profile.ts';
import { startAps1Stack } from './server/stack.ts';
import { startRestartableAps1 } from './restartable.ts';

export default defineService({
  name: 'aps1',
  protocols: ['aps1'],
  chains: ['tempo'],
  async start(ctx) {
    const { chains, host, log } = ctx;
    const chain = chains.find((c) => c.profile.id === 'tempo')!;
    const profile = ctx.profile ? aps1ProfileOf(ctx, true) : profileNamed(process.env.AMH_APS1_PROFILE ?? 'reference');
    const changed = await applyProfileConstants(chain, profile);
    const quirks = Object.entries(profile.compat)
      .filter(([, v]) => v)
      .map(([k]) => k);
    if (changed.length || quirks.length) log(`aps1: the chain runs ${[...changed.map((c) => `${c} from the profile`), ...quirks.map((q) => `quirk ${q}`)].join(', ')}`);
    const stack = await startAps1Stack(chain, { host });
    // The crashable child only when a selected scenario crashes servers (it costs a process).
    const restartable =
      !ctx.wants || ctx.wants.has('restart')
        ? await startRestartableAps1(chain, { log: (l) => log(`aps1 (restartable pair): ${l}`) }).catch(async (e) => {
            await stack.stop();
            throw e;
          })
        : undefined;
    return {
      endpoints: { 'aps1-agent': stack.agent.url, 'aps1-marketplace': stack.marketplace.url },
      capabilities: restartable ? ['restart', 'rpc-faults'] : [],
      ...(restartable ? { restart: restartable.controls } : {}),
      facts: {
        profile: profile.name,
        constants: {
          platformFeeBps: String(profile.platformFeeBps),
          arbitrationPenaltyBps: String(profile.arbitrationPenaltyBps),
          maxArbitrationPenaltyTokens: String(profile.maxArbitrationPenaltyTokens),
          compat: profile.compat,
        },
        agents: Object.fromEntries(stack.agents.map((a) => [a.id, { url: a.server.url, strategy: a.strategy, wallet: a.server.wallet }])),
        marketplaceAddress: stack.marketplace.address,
        ...(restartable ? { restartable: { agent: restartable.agentUrl, marketplace: restartable.marketUrl } } : {}),
      },
      async stop() {
        await restartable?.stop();
        await stack.stop();
      },
    };
  },
});
