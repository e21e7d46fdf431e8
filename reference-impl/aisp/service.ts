/**
 * The AISP pack's reference service: the backend and the lab's Venice-compatible inference server
 * on the `base` chain (where the DiemMarketplace sits at its canonical address), both following chain
 * time. It publishes the two endpoints, the providers' ADMIN keys on the inference server
 * (`config.aisp.adminKeys`: lab keys, never real ones) and hence the `aisp:admin-keys` capability.
 * Started by `amh up` and by the reference Target whenever the aisp protocol is selected. When a
 * selected scenario crashes servers, a second backend runs beside it as a child process
 * (restartable.ts), the one the crash scenario kills with SIGKILL: the capability `restart`, with its
 * control for `aisp-backend`.
 */
import { defineService } from '../../harness/services/service.ts';
import { AISP_CONSTANTS } from './protocol/constants.ts';
import { AISP_PROFILE } from './protocol/profile.ts';
import { applyAispConstants } from './server/apply-profile.ts';
import { startAispStack } from './server/stack.ts';
import { startRestartableAispBackend } from './restartable.ts';

export default defineService({
  name: 'aisp',
  protocols: ['aisp'],
  chains: ['base'],
  async start({ chains, host, log, profile, wants }) {
    const chain = chains.find((c) => c.profile.id === 'base')!;
    // A what-if profile's fee and refund rule (the marketplace has no setters: see server/apply-profile.ts).
    const changed = await applyAispConstants(chain, AISP_CONSTANTS.of(profile));
    if (changed.length) log(`aisp: the marketplace's ${changed.join(', ')} (profile)`);
    const stack = await startAispStack(chain, { host, log: (m) => log(`aisp: ${m}`) });
    // The crashable child only when a selected scenario crashes servers (it costs a process).
    const restartable =
      !wants || wants.has('restart')
        ? await startRestartableAispBackend(chain, stack.venice.url, { log: (l) => log(`aisp (restartable backend): ${l}`) }).catch(async (e) => {
            await stack.stop();
            throw e;
          })
        : undefined;
    return {
      endpoints: { 'aisp-backend': stack.backend.url, 'aisp-inference': stack.venice.url },
      capabilities: ['aisp:admin-keys', ...(restartable ? (['restart'] as const) : [])],
      ...(restartable ? { restart: { 'aisp-backend': restartable.control } } : {}),
      config: { aisp: { adminKeys: stack.adminKeys, confirmations: AISP_PROFILE.confirmations, signatureWindowSeconds: AISP_PROFILE.signatureWindowSeconds } },
      facts: {
        backend: stack.backend.url,
        inference: stack.venice.url,
        marketplace: chain.profile.contracts.diemMarketplace,
        adminKeys: stack.adminKeys,
        ...(restartable ? { restartable: restartable.url } : {}),
      },
      async stop() {
        await restartable?.stop();
        await stack.stop();
      },
    };
  },
});
