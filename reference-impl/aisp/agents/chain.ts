/**
 * The marketplace and USDC calls an AISP agent sends itself (viem, one transaction at a time, the
 * receipt in the same round trip where the node supports `eth_sendRawTransactionSync`). Scenarios
 * send theirs through the harness's recorded session instead; this is for agents running on their
 * own (the bench, `amh up` users, tests).
 */
import { createPublicClient, createWalletClient, defineChain, encodeFunctionData, parseEventLogs, type Address, type Hex, type PublicClient, type TransactionReceipt } from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { keepAliveTransport } from '../../../harness/chain/index.ts';
import { marketplaceAbi, usdcAbi } from '../protocol/abi.ts';

export interface MarketChainOptions {
  rpcUrl: string;
  chainId: number;
  marketplace: Address;
  usdc: Address;
  privateKey: Hex;
}

export interface Sent {
  receipt: TransactionReceipt;
  events: { eventName: string; args: Record<string, unknown> }[];
}

export interface MarketChain {
  account: PrivateKeyAccount;
  pub: PublicClient;
  list(pricePerDay: bigint, termDays: bigint, diemMin: bigint, diemMax: bigint): Promise<{ listingId: bigint } & Sent>;
  approve(amount: bigint): Promise<Sent>;
  fund(listingId: bigint, termDays: bigint, diemAmount: bigint): Promise<{ rentalId: bigint; cost: bigint; expiresAt: bigint } & Sent>;
  settle(rentalId: bigint): Promise<Sent>;
  revokeAndRefund(rentalId: bigint): Promise<Sent>;
  closeListing(listingId: bigint): Promise<Sent>;
  quote(listingId: bigint, termDays: bigint, diemAmount: bigint): Promise<bigint>;
}

/** A marketplace client signing with one key. Throws on a reverted transaction. */
export function createMarketChain(o: MarketChainOptions): MarketChain {
  const chain = defineChain({ id: o.chainId, name: `chain-${o.chainId}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [o.rpcUrl] } } });
  const transport = keepAliveTransport(o.rpcUrl);
  const account = privateKeyToAccount(o.privateKey);
  const pub = createPublicClient({ chain, transport }) as PublicClient;
  const wallet = createWalletClient({ chain, transport, account });
  let queue: Promise<unknown> = Promise.resolve();
  // One sender, one transaction at a time: the nonce is tracked here and fees read once, so a send is
  // an estimate and a sync send (two round trips) rather than viem's full preparation.
  let nonce: number | undefined;
  let fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | undefined;
  const send = (address: Address, abi: readonly unknown[], functionName: string, args: unknown[]): Promise<Sent> => {
    const run = async () => {
      nonce ??= await pub.getTransactionCount({ address: account.address, blockTag: 'pending' });
      if (!fees) {
        const base = (await pub.getBlock()).baseFeePerGas ?? 1_000_000_000n;
        fees = { maxFeePerGas: base * 4n + 1_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n };
      }
      const data = encodeFunctionData({ abi, functionName, args } as never);
      const gas = await pub.estimateGas({ account, to: address, data }).catch(() => 3_000_000n);
      let receipt: TransactionReceipt;
      try {
        receipt = (await wallet.sendTransactionSync({ to: address, data, gas: (gas * 12n) / 10n, nonce, ...fees, throwOnReceiptRevert: false } as never)) as TransactionReceipt;
        nonce++;
      } catch (e) {
        nonce = undefined; // unknown whether it was taken: read it again next time
        throw e;
      }
      if (receipt.status !== 'success') throw new Error(`${functionName} reverted in ${receipt.transactionHash}`);
      const events = parseEventLogs({ abi: marketplaceAbi, logs: receipt.logs, strict: false }).map((e) => ({ eventName: e.eventName as string, args: e.args as Record<string, unknown> }));
      return { receipt, events };
    };
    const p = queue.then(run, run);
    queue = p.catch(() => undefined);
    return p;
  };
  const m = (fn: string, args: unknown[]) => send(o.marketplace, marketplaceAbi, fn, args);
  const arg = (s: Sent, event: string, key: string) => s.events.find((e) => e.eventName === event)?.args[key] as bigint;
  return {
    account,
    pub,
    async list(pricePerDay, termDays, diemMin, diemMax) {
      const s = await m('list', [pricePerDay, termDays, diemMin, diemMax]);
      return { ...s, listingId: arg(s, 'Listed', 'listingId') };
    },
    approve: (amount) => send(o.usdc, usdcAbi, 'approve', [o.marketplace, amount]),
    async fund(listingId, termDays, diemAmount) {
      const s = await m('fund', [listingId, termDays, diemAmount]);
      return { ...s, rentalId: arg(s, 'Funded', 'rentalId'), cost: arg(s, 'Funded', 'cost'), expiresAt: arg(s, 'Funded', 'expiresAt') };
    },
    settle: (rentalId) => m('settle', [rentalId]),
    revokeAndRefund: (rentalId) => m('revokeAndRefund', [rentalId]),
    closeListing: (listingId) => m('closeListing', [listingId]),
    quote: (listingId, termDays, diemAmount) => pub.readContract({ address: o.marketplace, abi: marketplaceAbi, functionName: 'quote', args: [listingId, termDays, diemAmount] }),
  };
}
