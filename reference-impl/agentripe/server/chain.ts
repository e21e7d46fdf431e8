/**
 * The Agentripe server's view of the chain: the escrow, the ERC-8004 Identity and Reputation
 * registries, USDC, through the protocol library's ABIs (written from the published interfaces, not
 * generated from our contracts, so the server codes against what an outside implementer would).
 */
import { BaseError, ContractFunctionRevertedError, createPublicClient, defineChain, parseEventLogs, type Address, type Chain, type Hex, type PublicClient, type Transport } from 'viem';
import { keepAliveTransport, rpcCall, SerialSender } from '../../../harness/chain/index.ts';
import { DEPOSIT_STATUS, escrowAbi, identityAbi, reputationAbi, type DepositStatusName } from '../protocol/abi.ts';

/** Contract addresses the server needs. */
export interface AgentripeAddresses {
  usdc: Address;
  identityRegistry: Address;
  reputationRegistry: Address;
  escrow: Address;
}

/** A viem chain object for a local or forked RPC. */
export function localChain(chainId: number, rpcUrl: string): Chain {
  return defineChain({
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

/** Public client with a short polling interval (anvil mines instantly). */
export function makePublicClient(chain: Chain, transport: Transport): PublicClient {
  return createPublicClient({ chain, transport, pollingInterval: 50 }) as PublicClient;
}

/** Whether a failed read is the contract reverting (as opposed to the node not answering). */
export function isRevert(e: unknown): boolean {
  return e instanceof BaseError && e.walk((x) => x instanceof ContractFunctionRevertedError) !== null;
}

/** Everything chain-side the Agentripe server does, as small typed calls. */
export class AgentripeChain {
  readonly pub: PublicClient;
  readonly operator: SerialSender;
  readonly registrar: SerialSender;

  constructor(
    readonly chain: Chain,
    readonly rpcUrl: string,
    readonly addresses: AgentripeAddresses,
    operatorKey: Hex,
    registrarKey: Hex,
  ) {
    // Keep-alive sockets: a lifecycle makes a dozen calls, and a new connection per call costs more than the call.
    const transport = keepAliveTransport(rpcUrl);
    this.pub = makePublicClient(chain, transport);
    this.operator = new SerialSender(operatorKey, chain, rpcUrl, this.pub);
    this.registrar = registrarKey.toLowerCase() === operatorKey.toLowerCase() ? this.operator : new SerialSender(registrarKey, chain, rpcUrl, this.pub);
  }

  // ---- identity ----------------------------------------------------------------------------

  /** Owner of an agent, or null when the id was never minted (ownerOf reverts). A node that does not answer throws. */
  async ownerOf(agentId: bigint): Promise<Address | null> {
    try {
      return await this.pub.readContract({ address: this.addresses.identityRegistry, abi: identityAbi, functionName: 'ownerOf', args: [agentId] });
    } catch (e) {
      if (isRevert(e)) return null;
      throw e;
    }
  }

  /**
   * The agent's URI, or null when the agent does not exist (ERC-721 tokenURI reverts for an unminted
   * id): one read where ownerOf + tokenURI took two. A node that does not answer throws.
   */
  async tokenUriOf(agentId: bigint): Promise<string | null> {
    try {
      return await this.tokenURI(agentId);
    } catch (e) {
      if (isRevert(e)) return null;
      throw e;
    }
  }

  async tokenURI(agentId: bigint): Promise<string> {
    return this.pub.readContract({ address: this.addresses.identityRegistry, abi: identityAbi, functionName: 'tokenURI', args: [agentId] });
  }

  async agentWallet(agentId: bigint): Promise<Address> {
    return this.pub.readContract({ address: this.addresses.identityRegistry, abi: identityAbi, functionName: 'getAgentWallet', args: [agentId] });
  }

  /** isAuthorizedOrOwner; false (not a throw) for an agent that does not exist (the call reverts). A node that does not answer throws. */
  async isAuthorizedOrOwner(spender: Address, agentId: bigint): Promise<boolean> {
    try {
      return await this.pub.readContract({ address: this.addresses.identityRegistry, abi: identityAbi, functionName: 'isAuthorizedOrOwner', args: [spender, agentId] });
    } catch (e) {
      if (isRevert(e)) return false;
      throw e;
    }
  }

  /** Multicall3 at its canonical address, if the chain has it (probed once). */
  private multicall: Promise<Address | undefined> | undefined;
  private multicallAddress(): Promise<Address | undefined> {
    const canonical = '0xcA11bde05977b3631167028862bE2a173976CA11' as Address;
    this.multicall ??= this.pub.getCode({ address: canonical }).then(
      (code) => (code && code !== '0x' ? canonical : undefined),
      () => undefined,
    );
    return this.multicall;
  }

  /**
   * Owner, URI and wallet of many agents (null owner: not minted), batched through Multicall3 where
   * the chain has it: a listing of N agents costs N/100 calls instead of 3N.
   */
  async agentsOnChain(ids: bigint[]): Promise<{ owner: Address | null; uri: string; wallet: Address | null }[]> {
    const mc = await this.multicallAddress();
    if (!mc) return Promise.all(ids.map(async (id) => ({ owner: await this.ownerOf(id), uri: await this.tokenURI(id).catch(() => ''), wallet: await this.agentWallet(id).catch(() => null) })));
    const out: { owner: Address | null; uri: string; wallet: Address | null }[] = [];
    for (let i = 0; i < ids.length; i += 100) {
      const chunk = ids.slice(i, i + 100);
      const r: { status: 'success' | 'failure'; result?: unknown }[] = await this.pub.multicall({
        multicallAddress: mc,
        allowFailure: true,
        contracts: chunk.flatMap((id) => [
          { address: this.addresses.identityRegistry, abi: identityAbi, functionName: 'ownerOf', args: [id] },
          { address: this.addresses.identityRegistry, abi: identityAbi, functionName: 'tokenURI', args: [id] },
          { address: this.addresses.identityRegistry, abi: identityAbi, functionName: 'getAgentWallet', args: [id] },
        ]) as never,
      });
      chunk.forEach((_, j) => {
        const [o, u, w] = [r[3 * j]!, r[3 * j + 1]!, r[3 * j + 2]!];
        out.push({
          owner: o.status === 'success' ? (o.result as Address) : null,
          uri: u.status === 'success' ? String(u.result) : '',
          wallet: w.status === 'success' ? (w.result as Address) : null,
        });
      });
    }
    return out;
  }

  /** Every agent id registered so far (from `Registered` events), ascending. */
  async registeredAgentIds(): Promise<bigint[]> {
    const logs = await this.pub.getContractEvents({ address: this.addresses.identityRegistry, abi: identityAbi, eventName: 'Registered', fromBlock: 0n, toBlock: 'latest' });
    const ids = new Set<bigint>();
    for (const l of logs) if (l.args.agentId !== undefined) ids.add(l.args.agentId);
    return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Registers an agent as the registrar; returns its id and the tx hash. */
  async registerAgent(agentURI: string): Promise<{ agentId: bigint; transactionHash: Hex }> {
    const receipt = await this.registrar.send({ address: this.addresses.identityRegistry, abi: identityAbi, functionName: 'register', args: [agentURI] });
    const ev = parseEventLogs({ abi: identityAbi, logs: receipt.logs, eventName: 'Registered' })[0];
    if (!ev) throw new Error('register transaction emitted no Registered event');
    return { agentId: ev.args.agentId, transactionHash: receipt.transactionHash };
  }

  async setAgentWallet(agentId: bigint, wallet: Address, deadline: bigint, signature: Hex): Promise<Hex> {
    const r = await this.registrar.send({ address: this.addresses.identityRegistry, abi: identityAbi, functionName: 'setAgentWallet', args: [agentId, wallet, deadline, signature] });
    return r.transactionHash;
  }

  async setAgentURI(agentId: bigint, uri: string): Promise<Hex> {
    const r = await this.registrar.send({ address: this.addresses.identityRegistry, abi: identityAbi, functionName: 'setAgentURI', args: [agentId, uri] });
    return r.transactionHash;
  }

  /** ERC-721 approve: makes `to` authorized for the agent (isAuthorizedOrOwner), e.g. for vendor auth. */
  async approveAgent(agentId: bigint, to: Address): Promise<Hex> {
    const r = await this.registrar.send({ address: this.addresses.identityRegistry, abi: identityAbi, functionName: 'approve', args: [to, agentId] });
    return r.transactionHash;
  }

  async transferAgent(agentId: bigint, to: Address): Promise<Hex> {
    const r = await this.registrar.send({ address: this.addresses.identityRegistry, abi: identityAbi, functionName: 'transferFrom', args: [this.registrar.address, to, agentId] });
    return r.transactionHash;
  }

  /** The block holding transaction `hash` (number + hash), or undefined if it is not mined. */
  anchorOf(hash: Hex): Promise<{ block: bigint; hash: string } | undefined> {
    return this.minedAt(hash).catch(() => undefined);
  }

  /** Like {@link anchorOf}, but only "not mined" answers undefined: a node that cannot be asked throws. */
  async minedAt(hash: Hex): Promise<{ block: bigint; hash: string } | undefined> {
    // A raw read, as blockHash's: only the block is wanted, and viem formats the whole receipt.
    const r = await rpcCall<{ blockNumber?: Hex | null; blockHash?: Hex | null } | null>(this.rpcUrl, 'eth_getTransactionReceipt', [hash]);
    if (!r?.blockNumber || !r.blockHash) return undefined;
    return { block: BigInt(r.blockNumber), hash: r.blockHash };
  }

  /**
   * Hash of block `n` on the chain now, or undefined when the chain is not that high. Other errors
   * (RPC down) are thrown: an unreachable node must never read as "the block is gone".
   */
  async blockHash(n: bigint): Promise<string | undefined> {
    // A raw read (the revert guard makes one per request): viem's block formatting cost more than the call.
    const block = await rpcCall<{ hash?: string } | null>(this.rpcUrl, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, false]);
    return block?.hash ?? undefined;
  }

  // ---- escrow ------------------------------------------------------------------------------

  async getDeposit(depositId: Hex): Promise<{ agentId: bigint; buyer: Address; amount: bigint; status: DepositStatusName }> {
    const [agentId, buyer, amount, status] = await this.pub.readContract({ address: this.addresses.escrow, abi: escrowAbi, functionName: 'getDeposit', args: [depositId] });
    return { agentId, buyer, amount, status: DEPOSIT_STATUS[status] ?? 'none' };
  }

  async recordDeposit(depositId: Hex, agentId: bigint, buyer: Address, amount: bigint): Promise<Hex> {
    const r = await this.operator.send({ address: this.addresses.escrow, abi: escrowAbi, functionName: 'recordDeposit', args: [depositId, agentId, buyer, amount] });
    return r.transactionHash;
  }

  async releaseToVendor(depositId: Hex): Promise<Hex> {
    const r = await this.operator.send({ address: this.addresses.escrow, abi: escrowAbi, functionName: 'releaseToVendor', args: [depositId] });
    return r.transactionHash;
  }

  async refundToBuyer(depositId: Hex): Promise<Hex> {
    const r = await this.operator.send({ address: this.addresses.escrow, abi: escrowAbi, functionName: 'refundToBuyer', args: [depositId] });
    return r.transactionHash;
  }

  /**
   * Resolution events for the given deposits (DepositReleased / DepositRefunded), keyed by
   * lowercase deposit id: what the chain says happened, whatever the DB believes. `fromBlock`: the
   * oldest payment block among them (a deposit cannot be resolved before it was paid), so the scan
   * does not grow with the chain's history.
   */
  async resolutions(depositIds: Hex[], fromBlock = 0n): Promise<Map<string, { kind: 'released' | 'refunded'; tx: Hex }>> {
    const out = new Map<string, { kind: 'released' | 'refunded'; tx: Hex }>();
    if (!depositIds.length) return out;
    // Topic OR-lists are kept short: nodes cap filter sizes.
    for (let i = 0; i < depositIds.length; i += 100) {
      const chunk = depositIds.slice(i, i + 100);
      for (const [eventName, kind] of [
        ['DepositReleased', 'released'],
        ['DepositRefunded', 'refunded'],
      ] as const) {
        const logs = await this.pub.getContractEvents({ address: this.addresses.escrow, abi: escrowAbi, eventName, args: { depositId: chunk }, fromBlock, toBlock: 'latest' });
        for (const l of logs) if (l.args.depositId) out.set(l.args.depositId.toLowerCase(), { kind, tx: l.transactionHash });
      }
    }
    return out;
  }

  // ---- reputation --------------------------------------------------------------------------

  /** Gives the operator's feedback for a task; `feedbackHash` = the task id (used by resync). */
  async giveFeedback(agentId: bigint, value: bigint, tag2: string, endpoint: string, taskId: Hex): Promise<Hex> {
    const r = await this.operator.send({
      address: this.addresses.reputationRegistry,
      abi: reputationAbi,
      functionName: 'giveFeedback',
      args: [agentId, value, 0, 'agentripe', tag2, endpoint, '', taskId],
    });
    return r.transactionHash;
  }

  /**
   * Whether the operator already gave feedback for `taskId` (NewFeedback with that hash), looking from
   * `fromBlock` (the task's payment block). `anyClient` (fault ownFeedbackByHashAlone only): a feedback
   * with that hash from anyone counts.
   */
  async feedbackGiven(agentId: bigint, taskId: Hex, fromBlock = 0n, anyClient = false): Promise<boolean> {
    const logs = await this.pub.getContractEvents({
      address: this.addresses.reputationRegistry,
      abi: reputationAbi,
      eventName: 'NewFeedback',
      args: anyClient ? { agentId } : { agentId, clientAddress: this.operator.address },
      fromBlock,
      toBlock: 'latest',
    });
    return logs.some((l) => l.args.feedbackHash?.toLowerCase() === taskId.toLowerCase());
  }

  /** The operator's feedback summary for an agent (count and average, valueDecimals 0). */
  async feedbackSummary(agentId: bigint): Promise<{ count: bigint; summaryValue: bigint; decimals: number } | null> {
    try {
      const [count, summaryValue, decimals] = await this.pub.readContract({
        address: this.addresses.reputationRegistry,
        abi: reputationAbi,
        functionName: 'getSummary',
        args: [agentId, [this.operator.address], '', ''],
      });
      return { count, summaryValue, decimals };
    } catch {
      return null;
    }
  }
}
