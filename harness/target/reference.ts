/**
 * The reference target: the harness's own chains (both Base profiles, loaded from fixtures) with the
 * role accounts, described as an ordinary Target so scenarios treat it like any other.
 * The reference servers' endpoints come from reference-impl/agentripe/up-service.ts.
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

/** Reference servers (reference-impl/agentripe/up-service.ts), imported lazily so chain-only paths do not load them. */
async function startReferenceServers(chains: RunningChain[]): Promise<{ endpoints: Record<string, string>; stop(): Promise<void> }> {
  const { startReferenceServers: start } = await import('../../reference-impl/agentripe/service.ts');
  return start(chains);
}
