/**
 * Chain work every load pack needs, on any Target: funding N agents with a token from a funded role
 * account, reading many balances at once, and reading an event over a long block range (a load run
 * mines one block per settlement on an auto-mining chain, tens of thousands in ten minutes).
 */
import { parseAbi, type Abi, type AbiEvent, type Address, type Hex, type Log } from 'viem';
import { createTargetClients, type ChainClients } from '../engine/session.ts';
import { TargetError, type Target } from '../target/schema.ts';

const erc20 = parseAbi(['function balanceOf(address) view returns (uint256)', 'function transfer(address to, uint256 value) returns (bool)']);
const eip3009 = parseAbi(['function authorizationState(address authorizer, bytes32 nonce) view returns (bool)']);

/** Clients for the target chain with this chain id (the target's role accounts as wallets). */
export function chainClients(target: Target, chainId: number): ChainClients {
  const spec = target.chains.find((c) => c.chainId === chainId);
  if (!spec) throw new TargetError(`the target declares no chain with id ${chainId}`);
  return createTargetClients({ ...target, chains: [spec] }).get(spec.id)!;
}

/** The role that funds the agents: `admin` when the target has it, else its first EVM account. */
export function funderRole(c: ChainClients): string {
  if (c.wallets.has('admin')) return 'admin';
  const first = [...c.wallets.keys()][0];
  if (!first) throw new TargetError('the target declares no EVM account to fund the load agents from');
  return first;
}

/** One view call per argument list, on one contract (Multicall3 when the chain declares it; 500 calls per batch). */
export async function viewMany(c: ChainClients, address: Address, abi: Abi, functionName: string, argsList: readonly (readonly unknown[])[]): Promise<unknown[]> {
  const multicall = c.spec.contracts.multicall3 as Address | undefined;
  const out: unknown[] = [];
  for (let i = 0; i < argsList.length; i += 500) {
    const calls = argsList.slice(i, i + 500).map((args) => ({ address, abi, functionName, args }));
    if (multicall) out.push(...((await c.public.multicall({ contracts: calls as never, allowFailure: false, multicallAddress: multicall })) as unknown[]));
    else out.push(...(await Promise.all(calls.map((x) => c.public.readContract(x as never)))));
  }
  return out;
}

/** Balances of `token` for many addresses. */
export async function balancesOf(c: ChainClients, token: Address, who: readonly Address[]): Promise<bigint[]> {
  return (await viewMany(
    c,
    token,
    erc20,
    'balanceOf',
    who.map((a) => [a]),
  )) as bigint[];
}

/**
 * Give each agent `perAgent` of `token` from the funder role (sequential synchronous sends: one
 * round trip each). When the funder holds less than agents × perAgent, each gets an equal share of
 * what it holds; less than `minimum` each is a target problem. Returns what each agent got.
 */
export async function fundAgents(c: ChainClients, token: Address, agents: readonly Address[], perAgent: bigint, minimum: bigint, log: (l: string) => void): Promise<bigint> {
  const role = funderRole(c);
  const wallet = c.wallets.get(role)!;
  const [held] = await balancesOf(c, token, [wallet.account.address]);
  let each = perAgent;
  if (held! < perAgent * BigInt(agents.length)) {
    each = held! / BigInt(agents.length);
    if (each < minimum) throw new TargetError(`the funder role '${role}' holds ${held} base units of ${token}: not enough for ${agents.length} agents (at least ${minimum} each)`);
    log(`the funder '${role}' holds less than ${perAgent} per agent: each agent gets ${each}`);
  }
  for (const a of agents) {
    const r = await wallet.writeContractSync({ address: token, abi: erc20, functionName: 'transfer', args: [a, each], throwOnReceiptRevert: false });
    if (r.status !== 'success') throw new TargetError(`funding agent ${a} from '${role}' reverted (${r.transactionHash})`);
  }
  return each;
}

/**
 * Give each address `wei` of the chain's native coin from the funder role (sequential synchronous
 * sends), for agents that send their own transactions (an AISP renter funds a rental, an APS-1
 * employer creates a job). A funder holding less than agents × `wei` (plus a margin for its own gas)
 * is a target problem.
 */
export async function fundGas(c: ChainClients, who: readonly Address[], wei: bigint): Promise<void> {
  const role = funderRole(c);
  const wallet = c.wallets.get(role)!;
  const held = await c.public.getBalance({ address: wallet.account.address });
  if (held < wei * BigInt(who.length) + 10n ** 18n) throw new TargetError(`the funder role '${role}' holds ${held} wei: not enough gas money for ${who.length} agents (${wei} each)`);
  for (const a of who) {
    const r = await wallet.sendTransactionSync({ to: a, value: wei, throwOnReceiptRevert: false } as never);
    if ((r as { status: string }).status !== 'success') throw new TargetError(`sending gas to agent ${a} from '${role}' reverted`);
  }
}

/** The latest block number. */
export function blockNumber(c: ChainClients): Promise<bigint> {
  return c.public.getBlockNumber({ cacheTime: 0 });
}

/** Logs of one event of one contract in [fromBlock, toBlock], read in chunks of blocks. */
export async function eventLogs<E extends AbiEvent>(
  c: ChainClients,
  address: Address,
  event: E,
  fromBlock: bigint,
  toBlock: bigint,
  args?: Record<string, unknown>,
): Promise<Log<bigint, number, false, E, true>[]> {
  const out: Log<bigint, number, false, E, true>[] = [];
  const CHUNK = 2000n;
  for (let from = fromBlock; from <= toBlock; from += CHUNK) {
    const to = from + CHUNK - 1n < toBlock ? from + CHUNK - 1n : toBlock;
    const logs = await c.public.getLogs({ address, event, fromBlock: from, toBlock: to, strict: true, ...(args ? { args } : {}) } as never);
    out.push(...(logs as Log<bigint, number, false, E, true>[]));
  }
  return out;
}

/** A lower-cased address set, for filtering logs. */
export function addressSet(xs: readonly Address[]): Set<string> {
  return new Set(xs.map((x) => x.toLowerCase()));
}

export type { ChainClients, Hex };

/**
 * What `unlessOutOfFunds` needs for a payment by an EIP-3009 authorization (x402 `exact`): the
 * payer's balance of `token`, and whether the authorization was used (then the money moved, and a
 * failure after it is the target's, whatever is left).
 */
export function authorizationFunds(c: ChainClients, token: Address, payer: Address, nonce: Hex, needed: bigint, step: string) {
  return {
    step,
    needed,
    balance: async () => (await balancesOf(c, token, [payer]))[0]!,
    moved: () => c.public.readContract({ address: token, abi: eip3009, functionName: 'authorizationState', args: [payer, nonce] }),
  };
}
