/**
 * The marketplace and USDC calls an AISP agent sends itself (harness/chain's SerialSender: one
 * transaction at a time, the receipt in the same round trip where the node supports
 * `eth_sendRawTransactionSync`). Scenarios send theirs through the harness's recorded session
 * instead; this is for agents running on their own (the bench, `amh up` users, tests).
 */
import { defineChain, parseEventLogs, type Address, type Hex, type PublicClient, type TransactionReceipt } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { SerialSender } from '../../../harness/chain/index.ts';
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
  const sender = new SerialSender(o.privateKey, chain, o.rpcUrl);
  const account = sender.account as PrivateKeyAccount;
  const pub = sender.pub;
  const send = async (address: Address, abi: readonly unknown[], functionName: string, args: unknown[]): Promise<Sent> => {
    const receipt = await sender.send({ address, abi, functionName, args });
    const events = parseEventLogs({ abi: marketplaceAbi, logs: receipt.logs, strict: false }).map((e) => ({ eventName: e.eventName as string, args: e.args as Record<string, unknown> }));
    return { receipt, events };
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
