/**
 * A transaction signer that sends one transaction at a time and waits for its receipt, so concurrent
 * requests never race on nonces and every caller learns whether its own transaction succeeded.
 */
import { createWalletClient, http, type Account, type Address, type Chain, type Hex, type PublicClient, type TransactionReceipt, type Transport, type WalletClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

/** A contract call as viem's `writeContract` takes it. */
export interface ContractCall {
  address: Address;
  abi: readonly unknown[];
  functionName: string;
  args: readonly unknown[];
}

export class SerialSigner {
  readonly account: Account;
  readonly wallet: WalletClient;
  private queue: Promise<unknown> = Promise.resolve();
  /** Whether the node answers `eth_sendRawTransactionSync` (anvil does; many public RPCs do not). */
  private syncSends = true;

  constructor(
    privateKey: Hex,
    chain: Chain,
    /** The node: a URL, or a transport (e.g. keep-alive) shared with the caller's reads. */
    rpc: string | Transport,
    private readonly pub: PublicClient,
  ) {
    this.account = privateKeyToAccount(privateKey);
    this.wallet = createWalletClient({ account: this.account, chain, transport: typeof rpc === 'string' ? http(rpc) : rpc, pollingInterval: 50 });
  }

  get address(): Address {
    return this.account.address;
  }

  /**
   * Sends a contract call; resolves with the mined receipt, rejects on revert. Gas estimation
   * fails on a revert before anything is broadcast, with the decoded error. The receipt comes back
   * in the same round trip where the node supports `eth_sendRawTransactionSync`.
   */
  send(call: ContractCall): Promise<TransactionReceipt> {
    const run = async () => {
      const params = { ...(call as any), account: this.account, chain: this.wallet.chain };
      let receipt: TransactionReceipt | undefined;
      if (this.syncSends) {
        try {
          // No `timeout`: viem would pass it as a second RPC param, which anvil refuses.
          receipt = await this.wallet.writeContractSync({ ...params, throwOnReceiptRevert: false });
        } catch (e) {
          if (!/eth_sendRawTransactionSync|method not found|does not exist|not supported|Invalid parameters|-32601|-32602/i.test(String((e as Error).message))) throw e;
          this.syncSends = false;
        }
      }
      if (!receipt) {
        const hash = await this.wallet.writeContract(params);
        receipt = await this.pub.waitForTransactionReceipt({ hash, pollingInterval: 20, timeout: 60_000 });
      }
      if (receipt.status !== 'success') throw new Error(`transaction ${receipt.transactionHash} reverted`);
      return receipt;
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }
}
