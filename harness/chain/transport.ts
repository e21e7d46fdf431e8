/**
 * viem clients for running chains, on the keep-alive transport of rpc.ts.
 */
import {
  createPublicClient,
  createTestClient,
  createTransport,
  createWalletClient,
  defineChain,
  HttpRequestError,
  http as httpTransport,
  publicActions,
  RpcRequestError,
  stringify,
  TimeoutError,
  type Account,
  type Chain,
  type EIP1193RequestFn,
  type EIP1193RequestOptions,
  type HttpTransport,
  type HttpTransportConfig,
  type Hex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { roleAccount, type RoleAccount } from './accounts.ts';
import { jsonRpcFetch, overRpcSocket } from './rpc.ts';
import type { ChainProfile } from './profiles.ts';

/**
 * viem http transport over the keep-alive agents ({@link jsonRpcFetch}). A call to an anvil this
 * process holds a socket to goes straight over that socket: viem's HTTP client builds headers, an
 * abort signal, a timer and a batch scheduler around every call, which cost as much CPU as the call
 * itself. What viem sees is what its http transport gives: the result, a RpcRequestError carrying
 * the node's error, a TimeoutError, the abort reason, or an HttpRequestError when the answer was
 * lost; its retries and error mapping (buildRequest) run around both alike.
 */
export function keepAliveTransport(url: string, config: HttpTransportConfig = {}): HttpTransport {
  const overHttp = httpTransport(url, { fetchFn: jsonRpcFetch, ...config });
  if (config.batch || config.raw) return overHttp;
  return ((params) => {
    const http = overHttp({ ...params, retryCount: 0 });
    const timeout = params.timeout ?? config.timeout ?? 10_000;
    let id = 0;
    return createTransport(
      {
        key: config.key ?? 'http',
        name: config.name ?? 'HTTP JSON-RPC',
        methods: config.methods,
        request: (async ({ method, params: args }: { method: string; params?: unknown }, options?: EIP1193RequestOptions) => {
          const body = { method, params: args };
          const answered = overRpcSocket(url, stringify({ jsonrpc: '2.0', id: id++, ...body }), { timeoutMs: timeout, signal: options?.signal });
          if (!answered) return http.request({ method, params: args } as never, options);
          let answer: { result?: unknown; error?: { code: number; message: string; data?: unknown } };
          try {
            answer = JSON.parse(await answered);
          } catch (err) {
            if (options?.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : err;
            if ((err as Error).name === 'TimeoutError') throw new TimeoutError({ body, url });
            throw new HttpRequestError({ body, url, cause: err as Error });
          }
          if (answer.error) throw new RpcRequestError({ body, error: answer.error, url });
          return answer.result;
        }) as EIP1193RequestFn,
        retryCount: config.retryCount ?? params.retryCount,
        retryDelay: config.retryDelay,
        timeout,
        type: 'http',
      },
      { fetchOptions: config.fetchOptions, url },
    );
  }) as HttpTransport;
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
