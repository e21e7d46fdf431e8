/**
 * ChainSession: the scenario's view of one target chain (viem clients, role accounts, contract
 * addresses) plus evidence-recording helpers. Scenarios only reach a chain through this, and only at
 * the addresses the Target declares.
 */
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  erc20Abi,
  parseEventLogs,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type ContractFunctionReturnType,
  type Hex,
  type PublicClient,
  type TestClient,
  type Transport,
  type WalletClient,
} from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { keepAliveTransport } from '../chain/index.ts';
import { chainToken, evmAccounts, type Target, type TargetChain } from '../target/schema.ts';
import { jsonSafe, type EvidenceRecorder } from './evidence.ts';
import { HarnessFault, TargetProblem } from './errors.ts';

/** Long-lived viem clients for one chain (shared by every run of every scenario on a worker). */
export interface ChainClients {
  spec: TargetChain;
  chain: Chain;
  public: PublicClient<Transport, Chain>;
  test: TestClient<'anvil', Transport, Chain>;
  wallets: Map<string, WalletClient<Transport, Chain, PrivateKeyAccount>>;
  accounts: Map<string, PrivateKeyAccount>;
}

/** Build clients for every chain of a target. */
export function createTargetClients(target: Target): Map<string, ChainClients> {
  const out = new Map<string, ChainClients>();
  for (const spec of target.chains) {
    const chain = defineChain({
      id: spec.chainId,
      name: spec.id,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [spec.rpcUrl] } },
    });
    const transport = keepAliveTransport(spec.rpcUrl, { retryCount: 1, timeout: 30_000 });
    const accounts = new Map<string, PrivateKeyAccount>();
    const wallets = new Map<string, WalletClient<Transport, Chain, PrivateKeyAccount>>();
    for (const a of evmAccounts(target)) {
      const acct = privateKeyToAccount(a.privateKey as Hex);
      accounts.set(a.role, acct);
      wallets.set(a.role, createWalletClient({ chain, transport, account: acct }));
    }
    out.set(spec.id, {
      spec,
      chain,
      public: createPublicClient({ chain, transport }) as PublicClient<Transport, Chain>,
      test: createTestClient({ chain, transport, mode: 'anvil' }),
      wallets,
      accounts,
    });
  }
  return out;
}

type Mutability = 'nonpayable' | 'payable';

/** Arguments of a contract write attempt (typed by the ABI, as viem's writeContract). */
export interface AttemptParams<abi extends Abi = Abi, fn extends ContractFunctionName<abi, Mutability> = ContractFunctionName<abi, Mutability>> {
  /** Human label, e.g. "buyer1 → transferWithAuthorization (expired)". */
  label: string;
  /** Role whose account sends the transaction. */
  role: string;
  address: Address;
  abi: abi;
  functionName: fn;
  args: ContractFunctionArgs<abi, Mutability, fn>;
  /** Extra ABIs used to decode emitted events (e.g. the token's Transfer). */
  eventAbi?: Abi;
}

export type AttemptResult = { ok: true; hash: Hex; blockNumber: bigint; events: { eventName: string; address: Address; args: Record<string, unknown> }[] } | { ok: false; reason: string; hash?: Hex };

/** Extract the most specific revert reason from a viem error. */
export function revertReason(e: unknown): string {
  if (e instanceof BaseError) {
    const rev = e.walk((x) => x instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
    if (rev) {
      if (rev.reason) return rev.reason;
      if (rev.data?.errorName) return `${rev.data.errorName}(${(rev.data.args ?? []).map(String).join(', ')})`;
      if (rev.signature) return `custom error ${rev.signature}`;
    }
    return e.shortMessage;
  }
  return e instanceof Error ? e.message : String(e);
}

/**
 * A transport failure talking to a chain: the target's RPC not answering is a target problem; a
 * nonce clash comes from the harness sending two transactions from one account at once (a fault).
 */
function rpcFailure(chain: string, e: unknown): Error {
  const msg = revertReason(e);
  return /nonce too (low|high)|already known|replacement transaction underpriced/i.test(msg)
    ? new HarnessFault(`nonce clash on ${chain}: ${msg}`)
    : new TargetProblem(`chain '${chain}' RPC failed: ${msg}`);
}

/** Connection-level failures are not refusals by the target. */
function isTransportError(e: unknown): boolean {
  if (!(e instanceof BaseError)) return false;
  if (e.walk((x) => (x as { name?: string }).name === 'HttpRequestError' || (x as { name?: string }).name === 'TimeoutError')) return true;
  // Nonce clashes come from the harness sending two txs from one account at once, not from the target.
  return /nonce too (low|high)|already known|replacement transaction underpriced/i.test(e.message);
}

/**
 * One run's handle on a chain: clients + evidence. Every write goes through `attempt`, which
 * really sends the transaction (fixed gas, so a revert is mined and decided by the chain, not by a
 * simulation) and records either the receipt with decoded events or the refusal with its reason.
 */
export class ChainSession {
  constructor(
    readonly clients: ChainClients,
    private readonly rec: EvidenceRecorder,
    /** Accounts for roles the target does not declare but the scenario may sign with (throwaway keys). */
    private readonly fallback: (role: string) => PrivateKeyAccount | undefined = () => undefined,
  ) {}

  get id(): string {
    return this.clients.spec.id;
  }
  get chainId(): number {
    return this.clients.spec.chainId;
  }
  get public(): PublicClient<Transport, Chain> {
    return this.clients.public;
  }
  get test(): TestClient<'anvil', Transport, Chain> {
    return this.clients.test;
  }
  get spec(): TargetChain {
    return this.clients.spec;
  }

  /** The target-declared address of a named contract or token; harness fault if missing (checked up front by `needs`). */
  contract(name: string): Address {
    const a = chainToken(this.spec, name)?.address ?? this.spec.contracts[name];
    if (!a) throw new HarnessFault(`target chain '${this.id}' declares no '${name}' contract`);
    return a as Address;
  }

  account(role: string): PrivateKeyAccount {
    const a = this.clients.accounts.get(role) ?? this.fallback(role);
    if (!a) throw new HarnessFault(`target declares no account for role '${role}'`);
    return a;
  }

  address(role: string): Address {
    return this.account(role).address;
  }

  /** Timestamp of the latest block (the chain's clock, which token time checks use). */
  async now(): Promise<bigint> {
    const b = await this.public.getBlock({ blockTag: 'latest' });
    return b.timestamp;
  }

  /** Timestamp the next block will carry (what a token's validity checks will see). */
  async pendingTime(): Promise<bigint> {
    return (await this.public.getBlock({ blockTag: 'pending' })).timestamp;
  }

  /** Read-only contract call, typed by the ABI (pass ABIs `as const` or from `parseAbi`). */
  async read<const abi extends Abi, fn extends ContractFunctionName<abi, 'pure' | 'view'>, const args extends ContractFunctionArgs<abi, 'pure' | 'view', fn>>(
    address: Address,
    abi: abi,
    functionName: fn,
    ...rest: args extends readonly [] ? [args?: args] : [args: args]
  ): Promise<ContractFunctionReturnType<abi, 'pure' | 'view', fn, args>> {
    return (await this.public.readContract({ address, abi, functionName, args: rest[0] } as never)) as ContractFunctionReturnType<abi, 'pure' | 'view', fn, args>;
  }

  /** ERC-20 balance of an address. */
  async balanceOf(token: Address, who: Address): Promise<bigint> {
    return this.public.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [who] });
  }

  /** Send a write and record what happened. See class docs. */
  async attempt<const abi extends Abi, fn extends ContractFunctionName<abi, Mutability>>(p: AttemptParams<abi, fn>): Promise<AttemptResult> {
    const wallet = this.clients.wallets.get(p.role);
    if (!wallet) throw new HarnessFault(`target declares no account for role '${p.role}'`);
    const base = { chain: this.id, from: wallet.account.address, to: p.address, function: p.functionName, args: jsonSafe(p.args), label: p.label };
    // The simulation only supplies a readable revert reason; the verdict comes from the mined receipt.
    let simulatedReason: string | undefined;
    try {
      await this.public.simulateContract({ account: wallet.account as Account, address: p.address, abi: p.abi as Abi, functionName: p.functionName as string, args: p.args as unknown[] });
    } catch (e) {
      if (isTransportError(e)) throw rpcFailure(this.id, e);
      simulatedReason = revertReason(e);
    }
    let receipt;
    try {
      receipt = await wallet.writeContractSync({
        address: p.address,
        abi: p.abi,
        functionName: p.functionName,
        args: p.args as unknown[],
        gas: 3_000_000n,
        throwOnReceiptRevert: false,
      } as never);
    } catch (e) {
      if (isTransportError(e)) throw rpcFailure(this.id, e);
      // Refused before being mined (e.g. node-side validation): still a refusal by the target chain.
      const reason = revertReason(e);
      this.rec.add({ kind: 'refused', ...base, reason });
      return { ok: false, reason };
    }
    const r = receipt as { status: 'success' | 'reverted'; transactionHash: Hex; blockNumber: bigint; logs: { address: Address; topics: Hex[]; data: Hex }[] };
    if (r.status !== 'success') {
      const reason = simulatedReason ?? 'reverted (no reason)';
      this.rec.add({ kind: 'refused', ...base, reason: `${reason} (mined reverted: ${r.transactionHash})` });
      return { ok: false, reason, hash: r.transactionHash };
    }
    const abi = [...(p.abi as Abi), ...(p.eventAbi ?? [])] as Abi;
    const decoded = parseEventLogs({ abi, logs: r.logs as never, strict: false }) as unknown as { eventName: string; address: Address; args: Record<string, unknown> }[];
    const events = decoded.map((l) => ({ eventName: l.eventName, address: l.address, args: l.args }));
    this.rec.add({
      kind: 'tx',
      ...base,
      hash: r.transactionHash,
      status: 'success',
      blockNumber: r.blockNumber.toString(),
      events: events.map((e) => ({ name: e.eventName, address: e.address, args: jsonSafe(e.args) })),
    });
    return { ok: true, hash: r.transactionHash, blockNumber: r.blockNumber, events };
  }

  /** Read ERC-20 balances of several roles (for before/after evidence). */
  async balances(token: Address, roles: string[]): Promise<Record<string, bigint>> {
    const out: Record<string, bigint> = {};
    for (const r of roles) out[r] = await this.balanceOf(token, this.address(r));
    return out;
  }

  /** Record a before/after balance table. */
  recordBalances(label: string, token: Address, before: Record<string, bigint>, after: Record<string, bigint>): void {
    const s = (m: Record<string, bigint>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.toString()]));
    this.rec.add({ kind: 'balances', label, chain: this.id, token, before: s(before), after: s(after) });
  }
}
