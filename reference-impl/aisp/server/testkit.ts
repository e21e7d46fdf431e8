/**
 * Shared setup for this folder's tests: a `base` anvil from harness/chain, the AISP stack on it, and
 * agents for every role, all following chain time.
 */
import type { Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { rpcCall, roleAccount, startChain, tokenOf, type RunningChain } from '../../../harness/chain/index.ts';
import { createBackendClient, type BackendClient } from '../agents/backend.ts';
import { createMarketChain, type MarketChain } from '../agents/chain.ts';
import { createProvider, type Provider } from '../agents/provider.ts';
import { createRenter, type Renter } from '../agents/renter.ts';
import { createVeniceClient, type VeniceClient } from '../agents/venice.ts';
import { marketplaceAbi, usdcAbi } from '../protocol/abi.ts';
import { chainClock } from './clock.ts';
import { startAispStack, type AispStack, type AispStackOptions } from './stack.ts';

export interface Lab {
  chain: RunningChain;
  stack: AispStack;
  marketplace: Address;
  usdc: Address;
  now(): Promise<number>;
  backend: BackendClient;
  venice: VeniceClient;
  market(role: string): MarketChain;
  provider(role?: 'provider' | 'vendor1'): Provider;
  renter(role: string): Renter;
  balance(a: Address): Promise<bigint>;
  rental(id: bigint): Promise<{ listingId: bigint; renter: Address; termDays: number; fundedAt: bigint; expiresAt: bigint; status: number; diemAmount: bigint; cost: bigint }>;
  /** Moves chain time forward (and mines a block). */
  warp(seconds: number): Promise<void>;
  mine(blocks?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startLab(o: AispStackOptions & { chain?: RunningChain } = {}): Promise<Lab> {
  const chain = o.chain ?? (await startChain({ profile: 'base' }));
  let stack: AispStack;
  try {
    stack = await startAispStack(chain, o);
  } catch (e) {
    if (!o.chain) await chain.stop();
    throw e;
  }
  const marketplace = chain.profile.contracts.diemMarketplace!;
  const usdc = tokenOf(chain.profile, 'usdc').address;
  const clock = chainClock(chain.rpcUrl);
  const venice = createVeniceClient(stack.venice.url);
  const markets = new Map<string, MarketChain>();
  const market = (role: string) => {
    let m = markets.get(role);
    if (!m) {
      m = createMarketChain({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, marketplace, usdc, privateKey: roleAccount(role).privateKey });
      markets.set(role, m);
    }
    return m;
  };
  const lab: Lab = {
    chain,
    stack,
    marketplace,
    usdc,
    now: clock,
    get backend() {
      return createBackendClient(stack.backend.url, { clock });
    },
    venice,
    market,
    provider: (role = 'provider') =>
      createProvider({
        chain: market(role),
        backend: createBackendClient(stack.backend.url, { clock }),
        venice,
        account: privateKeyToAccount(roleAccount(role).privateKey),
        adminKey: stack.adminKeys[role]!,
      }),
    renter: (role) =>
      createRenter({ chain: market(role), backend: createBackendClient(stack.backend.url, { clock }), venice, account: privateKeyToAccount(roleAccount(role).privateKey), retryDelayMs: 50 }),
    balance: (a) => market('buyer1').pub.readContract({ address: usdc, abi: usdcAbi, functionName: 'balanceOf', args: [a] }),
    rental: async (id) => (await market('buyer1').pub.readContract({ address: marketplace, abi: marketplaceAbi, functionName: 'getRental', args: [id] })) as never,
    async warp(seconds) {
      await rpcCall(chain.rpcUrl, 'evm_increaseTime', [seconds]);
      await rpcCall(chain.rpcUrl, 'evm_mine', []);
    },
    async mine(blocks = 1) {
      for (let i = 0; i < blocks; i++) await rpcCall(chain.rpcUrl, 'evm_mine', []);
    },
    async stop() {
      await stack.stop();
      if (!o.chain) await chain.stop();
    },
  };
  return lab;
}
