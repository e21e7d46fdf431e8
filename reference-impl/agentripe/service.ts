/**
 * The reference servers that run beside the chains: the Agentripe stack (server + our x402
 * facilitator) and a demo x402-paid resource, all on the base-sepolia chain. One definition serves
 * both the default Target (`harness/target/reference.ts`) and `amh up` (which discovers this file).
 */
import type { RunningChain } from '../../harness/chain/index.ts';
import { roleAccount } from '../../harness/chain/index.ts';
import type { UpService } from '../../harness/cli/commands/up.ts';
import { startAgentripeStack } from './server/stack.ts';
import { startDemoResource } from '../x402/server/demo.ts';

/** Endpoint names published in the Target (`agentripe`, `x402-facilitator`, `x402-resource`). */
export interface ReferenceServers {
  endpoints: Record<string, string>;
  stop(): Promise<void>;
}

/** Starts the reference servers on the base-sepolia chain among `chains` (none if it is absent). */
export async function startReferenceServers(chains: RunningChain[]): Promise<ReferenceServers> {
  const chain = chains.find((c) => c.profile.id === 'base-sepolia');
  if (!chain) return { endpoints: {}, stop: async () => {} };
  const stack = await startAgentripeStack(chain);
  try {
    const demo = await startDemoResource({
      facilitatorUrl: stack.facilitator.url,
      // A role no scenario pays from, so x402 balance checks on payTo are not disturbed.
      payTo: roleAccount('judge').address,
      chainId: chain.chainId,
      asset: chain.profile.usdc.address,
      domain: { name: chain.profile.usdc.name, version: chain.profile.usdc.version },
      price: '$0.01',
    });
    return {
      endpoints: { agentripe: stack.server.url, 'x402-facilitator': stack.facilitator.url, 'x402-resource': demo.resourceUrl },
      async stop() {
        await Promise.allSettled([demo.stop(), stack.stop()]);
      },
    };
  } catch (e) {
    await stack.stop();
    throw e;
  }
}

/** `amh up` service: the same servers, printed with their endpoints. */
export const upService: UpService = {
  name: 'reference servers (agentripe, x402)',
  async start({ chains, log }) {
    const servers = await startReferenceServers(chains);
    if (Object.keys(servers.endpoints).length === 0) log('reference servers: skipped (they run on base-sepolia, which is not started)');
    return { describe: () => ({ endpoints: servers.endpoints }), stop: () => servers.stop() };
  },
};
