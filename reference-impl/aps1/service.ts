/**
 * The APS-1 pack's reference service on the `tempo` chain: the four reference agent servers (honest
 * `data-analyzer`, slow, mismatching, failing) and the marketplace (server/stack.ts). Publishes the
 * honest agent as endpoint `aps1-agent` and the marketplace as `aps1-marketplace`. Started by
 * `amh up` and by the reference Target whenever the aps1 protocol is selected.
 *
 * AMH_APS1_PROFILE=compat (until `amh run --profile` exists) puts the public contracts' quirks on
 * the chain first (server/apply-profile.ts), so `amh run --protocol aps1` shows which requirements
 * they break.
 */
import { defineService } from '../../harness/services/service.ts';
import { profileNamed } from './protocol/profile.ts';
import { applyProfile } from './server/apply-profile.ts';
import { startAps1Stack } from './server/stack.ts';

export default defineService({
  name: 'aps1',
  protocols: ['aps1'],
  chains: ['tempo'],
  async start({ chains, host, log }) {
    const chain = chains.find((c) => c.profile.id === 'tempo')!;
    const profile = profileNamed(process.env.AMH_APS1_PROFILE ?? 'reference');
    await applyProfile(chain, profile);
    if (profile.name !== 'reference') {
      log(
        `aps1: the chain runs the '${profile.name}' profile (${Object.entries(profile.compat)
          .filter(([, v]) => v)
          .map(([k]) => k)
          .join(', ')})`,
      );
    }
    const stack = await startAps1Stack(chain, { host });
    return {
      endpoints: { 'aps1-agent': stack.agent.url, 'aps1-marketplace': stack.marketplace.url },
      facts: {
        profile: profile.name,
        agents: Object.fromEntries(stack.agents.map((a) => [a.id, { url: a.server.url, strategy: a.strategy, wallet: a.server.wallet }])),
        marketplaceAddress: stack.marketplace.address,
      },
      stop: () => stack.stop(),
    };
  },
});
