/**
 * viem clients for running chains, on the keep-alive transport of rpc.ts.
 */
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  http as httpTransport,
  publicActions,
  type Account,
  type Chain,
  type HttpTransport,
  type HttpTransportConfig,
  type Hex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { roleAccount, type RoleAccount } from './accounts.ts';
import { jsonRpcFetch } from './rpc.ts';
import type { ChainProfile } from './profiles.ts';

/** viem http transport over the keep-alive agents ({@link jsonRpcFetch}). */
export function keepAliveTransport(url: string, config: HttpTransportConfig = {}): HttpTransport {
  return httpTransport(url, { fetchFn: jsonRpcFetch, ...config });
}

/** The subset of RunningChain that clients need. */
export interface ChainEndpoint {
  profile: ChainProfile;
  rpcUrl: string;
  chainId: number;
}

/** A viem Chain for a running local chain (RPC URL = the local node; Multicall3 at its canonical address). */
export function toViemChain(chain: ChainEndpoint): Chain {
  return defineChain({
    id: chain.chainId,
    name: `${chain.profile.name} (local)`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [chain.rpcUrl] } },
    // No blockCreated on purpose: a local chain starts at block 0 and viem would refuse older blocks.
    contracts: { multicall3: { address: chain.profile.contracts.multicall3! } },
    testnet: true,
  });
}

/**
 * viem clients for a running chain, all on the keep-alive transport:
 * `publicClient` (reads), `testClient` (anvil cheat RPCs, with public actions), and
 * `walletClient(who)` for a role name, a RoleAccount, a private key or a viem Account.
 */
export function createChainClients(chain: ChainEndpoint) {
  const viemChain = toViemChain(chain);
  const transport = keepAliveTransport(chain.rpcUrl);
  // Auto-mining makes receipts exist at once; viem's 4 s default polling would only add latency.
  const pollingInterval = 50;
  const publicClient = createPublicClient({ chain: viemChain, transport, pollingInterval });
  const testClient = createTestClient({ chain: viemChain, transport, mode: 'anvil', pollingInterval }).extend(publicActions);
  function walletClient(who: string | RoleAccount | Hex | Account) {
    const account: Account =
      typeof who === 'string'
        ? who.startsWith('0x')
          ? privateKeyToAccount(who as Hex)
          : privateKeyToAccount(roleAccount(who).privateKey)
        : 'privateKey' in who && 'role' in who
          ? privateKeyToAccount(who.privateKey)
          : (who as Account);
    return createWalletClient({ chain: viemChain, transport, account, pollingInterval }).extend(publicActions);
  }
  return { chain: viemChain, transport, publicClient, testClient, walletClient };
}

/** Return type of {@link createChainClients}. */
export type ChainClients = ReturnType<typeof createChainClients>;

export { JsonRpcError, keepAliveFetch, onlyReads, postJson, postJsonRpc, rpcCall } from './rpc.ts';
