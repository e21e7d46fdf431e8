/**
 * The reference target: the harness's own chains (both Base profiles, loaded from fixtures) with the
 * role accounts, described as an ordinary Target so scenarios treat it like any other.
 * Later issues add the reference servers' endpoints here.
 */
import { CHAIN_PROFILE_IDS, getProfile, roleAccounts, startChain, type RunningChain } from '../chain/index.ts';
import { parseTarget, type Target } from './schema.ts';

/** A started reference target; `stop()` ends every process it started. */
export interface ReferenceTarget {
  target: Target;
  chains: RunningChain[];
  stop(): Promise<void>;
}

/** Describe running chains as a Target (exported for tests that start their own chains). */
export function describeChains(chains: RunningChain[], name = 'agentmarket-harness reference implementation'): Target {
  return parseTarget(
    {
      name,
      version: '0.1.0',
      chains: chains.map((c) => {
        const p = getProfile(c.profile.id);
        const { usdc: _usdc, ...contracts } = p.contracts;
        return { id: p.id, chainId: c.chainId, rpcUrl: c.rpcUrl, usdc: { ...p.usdc }, contracts };
      }),
      endpoints: {},
      accounts: roleAccounts.map((a) => ({ role: a.role, address: a.address, privateKey: a.privateKey })),
      capabilities: ['snapshot', 'clock-control', 'set-code', 'impersonate'],
    },
    'reference target',
  );
}

/** Start every chain profile from its fixture and describe them as the reference Target. */
export async function startReferenceTarget(): Promise<ReferenceTarget> {
  const chains: RunningChain[] = [];
  const stop = async () => {
    await Promise.allSettled(chains.map((c) => c.stop()));
  };
  try {
    for (const id of CHAIN_PROFILE_IDS) chains.push(await startChain({ profile: id }));
  } catch (e) {
    await stop();
    throw e;
  }
  const servers = await startReferenceServers(chains).catch(async (e) => {
    await stop();
    throw e;
  });
  const stopAll = async () => {
    await servers.stop();
    await stop();
  };
  return { target: parseTarget({ ...describeChains(chains), endpoints: servers.endpoints }, 'reference target'), chains, stop: stopAll };
}

/**
 * Reference servers on the base-sepolia chain: the Agentripe stack (server + our x402 facilitator)
 * and a demo x402-paid resource, published as endpoints `agentripe`, `x402-facilitator` and
 * `x402-resource`. Imported lazily so the chain-only paths do not load the servers.
 */
async function startReferenceServers(chains: RunningChain[]): Promise<{ endpoints: Record<string, string>; stop(): Promise<void> }> {
  const chain = chains.find((c) => c.profile.id === 'base-sepolia');
  if (!chain) return { endpoints: {}, stop: async () => {} };
  const { startAgentripeStack } = await import('../../reference-impl/agentripe/stack.ts');
  const { startDemoResource } = await import('../../reference-impl/x402/demo.ts');
  const { roleAccount } = await import('../chain/index.ts');
  const stack = await startAgentripeStack(chain);
  try {
    const demo = await startDemoResource({
      facilitatorUrl: stack.facilitator.url,
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
