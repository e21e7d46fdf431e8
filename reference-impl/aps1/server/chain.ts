/**
 * The APS-1 servers' view of the chain: NexusV2, StreamV1, AIProofRegistry, the reputation registry
 * and the stablecoins, through the protocol library's hand-written ABIs, with one SerialSender for
 * the server's key (the agent's wallet, or the marketplace's).
 */
import {
  BlockNotFoundError,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  createPublicClient,
  defineChain,
  http,
  parseEventLogs,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
} from 'viem';
import { SerialSender, type SendOptions } from '../../../harness/chain/index.ts';
import { nexusAbi, proofAbi, reputationAbi, streamAbi, tokenAbi } from '../protocol/abi.ts';

/** Contract addresses the servers use. */
export interface Aps1Addresses {
  nexus: Address;
  stream: Address;
  proof: Address;
  reputation: Address;
}

export interface Job {
  employer: Address;
  worker: Address;
  judge: Address;
  token: Address;
  budget: bigint;
  platformFee: bigint;
  deadline: bigint;
  status: number;
  rated: boolean;
}

export interface Stream {
  client: Address;
  agent: Address;
  token: Address;
  totalBudget: bigint;
  releasedAmount: bigint;
  deadline: bigint;
  milestoneCount: bigint;
  status: number;
}

export interface Commitment {
  agent: Address;
  planHash: Hex;
  resultHash: Hex;
  nexusJobId: bigint;
  verified: boolean;
  matched: boolean;
}

/** A mined transaction as a result lists it. */
export interface MinedTx {
  hash: Hex;
  blockNumber: bigint;
  gasUsed: bigint;
  blockHash: Hex;
}

export function localChain(chainId: number, rpcUrl: string): Chain {
  return defineChain({ id: chainId, name: `chain-${chainId}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } });
}

const mined = (r: TransactionReceipt): MinedTx => ({ hash: r.transactionHash, blockNumber: r.blockNumber, gasUsed: r.gasUsed, blockHash: r.blockHash });

export class Aps1Chain {
  readonly pub: PublicClient;
  readonly signer: SerialSender;

  constructor(
    readonly chain: Chain,
    rpcUrl: string,
    readonly addresses: Aps1Addresses,
    privateKey: Hex,
  ) {
    this.pub = createPublicClient({ chain, transport: http(rpcUrl, { batch: false }), pollingInterval: 50 }) as PublicClient;
    this.signer = new SerialSender(privateKey, chain, rpcUrl, this.pub);
  }

  get address(): Address {
    return this.signer.address;
  }

  async now(): Promise<bigint> {
    return (await this.pub.getBlock({ blockTag: 'latest' })).timestamp;
  }

  /** Hash of block `n`, undefined when the chain is not that high (RPC errors are thrown). */
  async blockHash(n: bigint): Promise<string | undefined> {
    try {
      return (await this.pub.getBlock({ blockNumber: n })).hash ?? undefined;
    } catch (e) {
      if (e instanceof BlockNotFoundError) return undefined;
      throw e;
    }
  }

  /** The receipt of `hash`, or null when there is no such (mined) transaction. */
  async receipt(hash: Hex): Promise<TransactionReceipt | null> {
    try {
      return await this.pub.getTransactionReceipt({ hash });
    } catch {
      return null;
    }
  }

  /**
   * The receipt of a transaction this server signed, once mined (waiting while the node holds it
   * unmined); null when the node does not know it: it never left, and the next send takes its nonce.
   */
  async landed(hash: Hex): Promise<TransactionReceipt | null> {
    // Only "not found" means not found: an RPC failure must not pass for a transaction that never left.
    try {
      return await this.pub.getTransactionReceipt({ hash });
    } catch (e) {
      if (!(e instanceof TransactionReceiptNotFoundError)) throw e;
    }
    try {
      await this.pub.getTransaction({ hash });
    } catch (e) {
      if (e instanceof TransactionNotFoundError) return null;
      throw e;
    }
    return this.pub.waitForTransactionReceipt({ hash, pollingInterval: 50, timeout: 120_000 });
  }

  // ---- NexusV2 ---------------------------------------------------------------------------------

  async getJob(id: bigint): Promise<Job> {
    return (await this.pub.readContract({ address: this.addresses.nexus, abi: nexusAbi, functionName: 'getJob', args: [id] })) as Job;
  }

  /** The JobCreated job ids a (successful) transaction emitted on NexusV2. */
  jobsCreatedIn(r: TransactionReceipt): bigint[] {
    if (r.status !== 'success') return [];
    const logs = r.logs.filter((l) => l.address.toLowerCase() === this.addresses.nexus.toLowerCase());
    return parseEventLogs({ abi: nexusAbi, logs, eventName: 'JobCreated' }).map((e) => e.args.jobId);
  }

  async startJob(id: bigint): Promise<MinedTx> {
    return mined(await this.signer.send({ address: this.addresses.nexus, abi: nexusAbi, functionName: 'startJob', args: [id] }));
  }

  async completeJob(id: bigint): Promise<MinedTx> {
    return mined(await this.signer.send({ address: this.addresses.nexus, abi: nexusAbi, functionName: 'completeJob', args: [id] }));
  }

  async createJob(worker: Address, judge: Address, token: Address, amount: bigint, duration: bigint, o?: SendOptions): Promise<{ tx: MinedTx; jobId: bigint }> {
    const r = await this.signer.send({ address: this.addresses.nexus, abi: nexusAbi, functionName: 'createJob', args: [worker, judge, token, amount, duration] }, o);
    return this.createdBy(r);
  }

  /** The job a mined createJob created. */
  createdBy(r: TransactionReceipt): { tx: MinedTx; jobId: bigint } {
    const id = this.jobsCreatedIn(r)[0];
    if (id === undefined) throw new Error('createJob emitted no JobCreated');
    return { tx: mined(r), jobId: id };
  }

  /** The transaction that ended a job (JobSettled or JobRefunded), if it ended. */
  async endingTx(id: bigint): Promise<Hex | undefined> {
    for (const eventName of ['JobSettled', 'JobRefunded'] as const) {
      const logs = await this.pub.getContractEvents({ address: this.addresses.nexus, abi: nexusAbi, eventName, args: { jobId: id }, fromBlock: 0n, toBlock: 'latest' });
      if (logs[0]) return logs[0].transactionHash;
    }
    return undefined;
  }

  async settleJob(id: bigint): Promise<MinedTx> {
    return mined(await this.signer.send({ address: this.addresses.nexus, abi: nexusAbi, functionName: 'settleJob', args: [id] }));
  }

  async refundJob(id: bigint): Promise<MinedTx> {
    return mined(await this.signer.send({ address: this.addresses.nexus, abi: nexusAbi, functionName: 'refundJob', args: [id] }));
  }

  // ---- StreamV1 --------------------------------------------------------------------------------

  async getStream(id: bigint): Promise<Stream> {
    return (await this.pub.readContract({ address: this.addresses.stream, abi: streamAbi, functionName: 'getStream', args: [id] })) as Stream;
  }

  async milestoneStatus(id: bigint, index: bigint): Promise<number> {
    const m = await this.pub.readContract({ address: this.addresses.stream, abi: streamAbi, functionName: 'getMilestone', args: [id, index] });
    return Number(m.status);
  }

  streamsCreatedIn(r: TransactionReceipt): bigint[] {
    if (r.status !== 'success') return [];
    const logs = r.logs.filter((l) => l.address.toLowerCase() === this.addresses.stream.toLowerCase());
    return parseEventLogs({ abi: streamAbi, logs, eventName: 'StreamCreated' }).map((e) => e.args.streamId);
  }

  async submitMilestone(id: bigint, index: bigint, proofHash: Hex): Promise<MinedTx> {
    return mined(await this.signer.send({ address: this.addresses.stream, abi: streamAbi, functionName: 'submitMilestone', args: [id, index, proofHash] }));
  }

  // ---- tokens ----------------------------------------------------------------------------------

  /** ERC-20 Transfer events of a successful transaction emitted by `token`. */
  transfersIn(r: TransactionReceipt, token: Address): { from: Address; to: Address; value: bigint }[] {
    if (r.status !== 'success') return [];
    const logs = r.logs.filter((l) => l.address.toLowerCase() === token.toLowerCase());
    return parseEventLogs({ abi: tokenAbi, logs, eventName: 'Transfer' }).map((e) => e.args);
  }

  async transferFrom(token: Address, from: Address, amount: bigint, o?: SendOptions): Promise<MinedTx> {
    return mined(await this.signer.send({ address: token, abi: tokenAbi, functionName: 'transferFrom', args: [from, this.address, amount] }, o));
  }

  async transfer(token: Address, to: Address, amount: bigint, o?: SendOptions): Promise<MinedTx> {
    return mined(await this.signer.send({ address: token, abi: tokenAbi, functionName: 'transfer', args: [to, amount] }, o));
  }

  async approve(token: Address, spender: Address, amount: bigint): Promise<MinedTx> {
    return mined(await this.signer.send({ address: token, abi: tokenAbi, functionName: 'approve', args: [spender, amount] }));
  }

  async allowance(token: Address, owner: Address, spender: Address): Promise<bigint> {
    return this.pub.readContract({ address: token, abi: tokenAbi, functionName: 'allowance', args: [owner, spender] });
  }

  async balanceOf(token: Address, who: Address): Promise<bigint> {
    return this.pub.readContract({ address: token, abi: tokenAbi, functionName: 'balanceOf', args: [who] });
  }

  // ---- AIProofRegistry -------------------------------------------------------------------------

  async commit(planHash: Hex, nexusJobId: bigint): Promise<{ tx: MinedTx; commitmentId: Hex }> {
    const r = await this.signer.send({ address: this.addresses.proof, abi: proofAbi, functionName: 'commit', args: [planHash, nexusJobId] });
    const ev = parseEventLogs({ abi: proofAbi, logs: r.logs, eventName: 'CommitmentMade' })[0];
    if (!ev) throw new Error('commit emitted no CommitmentMade');
    return { tx: mined(r), commitmentId: ev.args.commitmentId };
  }

  async verify(commitmentId: Hex, resultHash: Hex): Promise<{ tx: MinedTx; matched: boolean }> {
    const r = await this.signer.send({ address: this.addresses.proof, abi: proofAbi, functionName: 'verify', args: [commitmentId, resultHash] });
    const ev = parseEventLogs({ abi: proofAbi, logs: r.logs, eventName: 'CommitmentVerified' })[0];
    if (!ev) throw new Error('verify emitted no CommitmentVerified');
    return { tx: mined(r), matched: ev.args.matched };
  }

  async getCommitment(id: Hex): Promise<Commitment> {
    return (await this.pub.readContract({ address: this.addresses.proof, abi: proofAbi, functionName: 'getCommitment', args: [id] })) as Commitment;
  }

  /** The CommitmentVerified event of a verify transaction, if it has one. */
  async verification(hash: Hex): Promise<{ commitmentId: Hex; matched: boolean; resultHash: Hex } | null> {
    const r = await this.receipt(hash);
    if (r?.status !== 'success') return null;
    const logs = r.logs.filter((l) => l.address.toLowerCase() === this.addresses.proof.toLowerCase());
    const ev = parseEventLogs({ abi: proofAbi, logs, eventName: 'CommitmentVerified' })[0];
    return ev ? { commitmentId: ev.args.commitmentId, matched: ev.args.matched, resultHash: ev.args.resultHash } : null;
  }

  // ---- reputation ------------------------------------------------------------------------------

  /** The registry's score of `agent` and whether it has a snapshot at all. */
  async reputation(agent: Address): Promise<{ score: bigint; known: boolean }> {
    const r = await this.pub.readContract({ address: this.addresses.reputation, abi: reputationAbi, functionName: 'getReputation', args: [agent] });
    return { score: r.score, known: r.updatedAt > 0n };
  }
}
