/**
 * A transaction sender for one key that sends one transaction at a time and resolves with its mined
 * receipt, so concurrent callers never race on nonces and each learns whether its own transaction
 * succeeded. Used by reference servers (operator keys) and by agents running on their own.
 *
 * A send costs two round trips on a node with `eth_sendRawTransactionSync` (anvil, and the chains the
 * harness shapes): one JSON-RPC batch, then the signed transaction, whose answer is the receipt. The
 * batch holds the call run once by `eth_createAccessList` on the pending block (the time the
 * transaction will be mined at: it fails as the transaction would, and gives its gas), the pending
 * nonce, the latest block's base fee and the priority fee. `eth_estimateGas` runs the call again and
 * again to narrow the gas down (on anvil, twice the time of the whole batch for a reputation
 * feedback); it is used only where the node lacks `eth_createAccessList`. viem's `writeContractSync`
 * needs four or five round trips (each read its own request). The nonce is read from the
 * chain in every batch, never cached: the harness reverts chains between property runs, and a
 * cached nonce would then wait for a gap that never fills. Elsewhere the receipt is polled, and so
 * it is when a sync send fails while the node holds the transaction (its wait timed out under load).
 */
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  encodeFunctionData,
  formatTransactionReceipt,
  keccak256,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type RpcTransactionReceipt,
  type TransactionReceipt,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { JsonRpcError, rpcBatch, rpcCall, type RpcOutcome } from './rpc.ts';
import { keepAliveTransport } from './transport.ts';

/** A contract call as viem's `writeContract` takes it. */
export interface ContractCall {
  address: Address;
  abi: readonly unknown[];
  functionName: string;
  args: readonly unknown[];
  value?: bigint;
}

/** Hooks of one send. */
export interface SendOptions {
  /**
   * Called with the transaction's hash once it is signed, before it is broadcast: a server records
   * it first, so after a crash it can ask the chain whether that transaction was mined.
   */
  onSigned?(hash: Hex): void;
}

const DEFAULT_TIP = 1_000_000_000n;
/** How long a transaction the node holds may take to be mined before the send fails (loaded machines: minutes). */
const RECEIPT_TIMEOUT_MS = 120_000;
const hex = (n: bigint | number) => `0x${n.toString(16)}`;

export class SerialSender {
  readonly account: Account;
  /** For reads and for decoding a revert's reason. */
  readonly pub: PublicClient;
  private queue: Promise<unknown> = Promise.resolve();
  /** Whether the node answers `eth_sendRawTransactionSync` (anvil does; many public RPCs do not). */
  private syncSends = true;
  /** Whether the node answers `eth_createAccessList` (else the gas is estimated). */
  private accessLists = true;

  constructor(
    privateKey: Hex,
    readonly chain: Chain,
    readonly rpcUrl: string,
    pub?: PublicClient,
  ) {
    this.account = privateKeyToAccount(privateKey);
    this.pub = pub ?? (createPublicClient({ chain, transport: keepAliveTransport(rpcUrl), pollingInterval: 50 }) as PublicClient);
  }

  get address(): Address {
    return this.account.address;
  }

  /**
   * Sends a contract call; resolves with the mined receipt, rejects on revert. A call that would
   * revert fails at the gas estimate, before anything is broadcast, with viem's decoded error.
   */
  send(call: ContractCall, o: SendOptions = {}): Promise<TransactionReceipt> {
    const run = () => this.sendNow(call, o);
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async sendNow(call: ContractCall, o: SendOptions): Promise<TransactionReceipt> {
    const data = encodeFunctionData({ abi: call.abi, functionName: call.functionName, args: call.args } as never);
    const tx = { from: this.address, to: call.address, data, ...(call.value ? { value: hex(call.value) } : {}) };
    const reads = (simulation: { method: string; params: unknown[] }) =>
      rpcBatch(this.rpcUrl, [
        simulation,
        { method: 'eth_getTransactionCount', params: [this.address, 'pending'] },
        { method: 'eth_getBlockByNumber', params: ['latest', false] },
        { method: 'eth_maxPriorityFeePerGas', params: [] },
        { method: 'eth_gasPrice', params: [] },
      ]);
    let [simulated, count, block, tip, gasPrice] = await reads(this.accessLists ? { method: 'eth_createAccessList', params: [tx, 'pending'] } : { method: 'eth_estimateGas', params: [tx] });
    if (this.accessLists && !simulated!.ok && unsupported(simulated!.error)) {
      this.accessLists = false;
      [simulated, count, block, tip, gasPrice] = await reads({ method: 'eth_estimateGas', params: [tx] });
    }
    const gas = gasOf(simulated!);
    if (!gas.ok) throw await this.revertReason(call, gas.error);
    if (!count!.ok) throw count!.error;
    if (!block!.ok) throw block!.error;
    const baseFee = (block!.value as { baseFeePerGas?: Hex } | null)?.baseFeePerGas;
    const fees =
      baseFee !== undefined
        ? (() => {
            const priority = tip!.ok ? BigInt(tip!.value as Hex) : DEFAULT_TIP;
            return { type: 'eip1559' as const, maxPriorityFeePerGas: priority, maxFeePerGas: BigInt(baseFee) * 2n + priority };
          })()
        : (() => {
            if (!gasPrice!.ok) throw gasPrice!.error;
            return { type: 'legacy' as const, gasPrice: BigInt(gasPrice!.value as Hex) };
          })();
    const raw = await this.account.signTransaction!({
      chainId: this.chain.id,
      to: call.address,
      data,
      value: call.value ?? 0n,
      // A margin over the figure: other senders' transactions may change state before ours is mined,
      // and the gas an access list reports is after refunds (at most a fifth of what ran).
      gas: (gas.value * 3n) / 2n + 25_000n,
      nonce: Number(BigInt(count!.value as Hex)),
      ...fees,
    } as never);
    o.onSigned?.(keccak256(raw));
    const receipt = await this.broadcast(raw);
    if (receipt.status !== 'success') throw new Error(`${call.functionName}: transaction ${receipt.transactionHash} reverted`);
    return receipt;
  }

  /** Sends a signed transaction and returns its receipt: in the same round trip where the node can. */
  private async broadcast(raw: Hex): Promise<TransactionReceipt> {
    if (this.syncSends) {
      try {
        return formatTransactionReceipt(await rpcCall<RpcTransactionReceipt>(this.rpcUrl, 'eth_sendRawTransactionSync', [raw]));
      } catch (e) {
        if (e instanceof JsonRpcError && unsupported(e)) this.syncSends = false;
        else {
          // A node that took the transaction but did not mine it within its own wait answers an error
          // (anvil: "Transaction confirmation timeout"; EIP-7966: code 4) or the answer is lost: the
          // transaction may still be mined, so whether the node holds it decides, never the error alone.
          const hash = keccak256(raw);
          const held = await rpcCall<unknown>(this.rpcUrl, 'eth_getTransactionByHash', [hash]).catch(() => null);
          if (!held) throw e;
          return this.awaitReceipt(hash);
        }
      }
    }
    return this.awaitReceipt(await rpcCall<Hex>(this.rpcUrl, 'eth_sendRawTransaction', [raw]));
  }

  private awaitReceipt(hash: Hex): Promise<TransactionReceipt> {
    return this.pub.waitForTransactionReceipt({ hash, pollingInterval: 20, timeout: RECEIPT_TIMEOUT_MS });
  }

  /** The decoded reason of a call whose gas estimate failed (viem decodes custom errors by the ABI). */
  private async revertReason(call: ContractCall, estimateError: Error): Promise<Error> {
    try {
      await this.pub.simulateContract({ ...(call as object), account: this.account } as never);
    } catch (e) {
      if (e instanceof BaseError && e.walk((x) => x instanceof ContractFunctionRevertedError)) return e;
      return e as Error;
    }
    // The simulation passed where the estimate failed (state moved in between): report the estimate's error.
    return estimateError;
  }
}

/**
 * The gas figure in a simulation's answer (`eth_estimateGas`'s quantity, `eth_createAccessList`'s
 * `gasUsed`), or a message saying why there is none: geth reports a revert inside the access-list
 * result instead of as an error.
 */
export function simulatedGas(answer: unknown): bigint | string {
  if (typeof answer === 'string') return BigInt(answer);
  const v = answer as { gasUsed?: Hex; error?: string } | null;
  if (v?.error) return `execution reverted: ${v.error}`;
  return v?.gasUsed ? BigInt(v.gasUsed) : 'the simulation gave no gas figure';
}

/** {@link simulatedGas} of a batch outcome. */
function gasOf(r: RpcOutcome): { ok: true; value: bigint } | { ok: false; error: Error } {
  if (!r.ok) return r;
  const gas = simulatedGas(r.value);
  return typeof gas === 'bigint' ? { ok: true, value: gas } : { ok: false, error: new Error(gas) };
}

function unsupported(e: JsonRpcError): boolean {
  return e.code === -32601 || e.code === -32004 || /method not found|not supported|does not exist|unsupported/i.test(e.message);
}
