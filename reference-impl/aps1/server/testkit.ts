/**
 * Test kit for the APS-1 servers: a tempo chain from the fixture, the reference stack, actors for the
 * role accounts, and small helpers (balances, a job's view).
 */
import type { Address, Hex } from 'viem';
import { createPublicClient, http } from 'viem';
import { roleAccount, startChain, type RunningChain } from '../../../harness/chain/index.ts';
import { viemActor, type ChainActor } from '../agents/chain-actor.ts';
import type { Aps1Contracts } from '../agents/employer.ts';
import { nexusAbi, tokenAbi } from '../protocol/abi.ts';
import { localChain } from './chain.ts';
import type { Aps1Faults } from './faults.ts';
import { aps1Addresses, startAps1Stack, type Aps1Stack } from './stack.ts';

export interface Lab {
  chain: RunningChain;
  stack: Aps1Stack;
  contracts: Aps1Contracts;
  alpha: Address;
  actor(role: string): ChainActor;
  key(role: string): Hex;
  balance(token: Address, who: Address): Promise<bigint>;
  job(id: bigint): Promise<{ employer: Address; worker: Address; budget: bigint; platformFee: bigint; status: number; deadline: bigint }>;
  stop(): Promise<void>;
}

export async function startLab(o: { faults?: Aps1Faults; chain?: RunningChain; slowDelayMs?: number } = {}): Promise<Lab> {
  const chain = o.chain ?? (await startChain({ profile: 'tempo' }));
  const stack = await startAps1Stack(chain, { faults: o.faults, slowDelayMs: o.slowDelayMs });
  const contracts = aps1Addresses(chain);
  const pub = createPublicClient({ chain: localChain(chain.chainId, chain.rpcUrl), transport: http(chain.rpcUrl) });
  const actors = new Map<string, ChainActor>();
  return {
    chain,
    stack,
    contracts,
    alpha: chain.profile.contracts.alphaUSD!,
    actor(role) {
      const known = actors.get(role);
      if (known) return known;
      const a = viemActor(roleAccount(role).privateKey, chain.rpcUrl, chain.chainId);
      actors.set(role, a);
      return a;
    },
    key: (role) => roleAccount(role).privateKey,
    balance: (token, who) => pub.readContract({ address: token, abi: tokenAbi, functionName: 'balanceOf', args: [who] }),
    job: async (id) => (await pub.readContract({ address: contracts.nexus, abi: nexusAbi, functionName: 'getJob', args: [id] })) as never,
    async stop() {
      await stack.stop();
      if (!o.chain) await chain.stop();
    },
  };
}
