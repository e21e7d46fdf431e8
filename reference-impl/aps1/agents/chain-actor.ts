/**
 * How a scripted APS-1 agent sends transactions: a `ChainActor` sends one contract call and reports
 * the mined outcome (success with decoded events, or the refusal with its reason). Scenarios wrap
 * the harness's ChainSession in one (so every transaction is evidence); standalone uses (bench,
 * fuzz, tests) use {@link viemActor}.
 */
import { createPublicClient, createWalletClient, http, parseEventLogs, type Abi, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { APS1_EVENTS } from '../protocol/abi.ts';

/** One contract call. */
export interface ContractCall {
  address: Address;
  abi: Abi | readonly unknown[];
  functionName: string;
  args: readonly unknown[];
}

export type SendResult = { ok: true; hash: Hex; blockNumber: bigint; events: { eventName: string; address: Address; args: Record<string, any> }[] } | { ok: false; reason: string; hash?: Hex };

export interface ChainActor {
  /** The sender's address. */
  address: Address;
  /** Sends `call`; resolves with the mined outcome (never throws for a revert). */
  send(label: string, call: ContractCall): Promise<SendResult>;
}

/** Every APS-1 event, for decoding receipts. */
export const APS1_EVENTS_ABI = APS1_EVENTS as Abi;

/** A ChainActor signing locally with `privateKey`, sending through `rpcUrl` (one transaction at a time). */
export function viemActor(privateKey: Hex, rpcUrl: string, chainId: number): ChainActor {
  const account = privateKeyToAccount(privateKey);
  const chain = { id: chainId, name: `chain-${chainId}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } } as const;
  const wallet = createWalletClient({ account, chain, transport: http(rpcUrl) });
  const pub = createPublicClient({ chain, transport: http(rpcUrl) });
  let queue: Promise<unknown> = Promise.resolve();
  return {
    address: account.address,
    send(_label, c) {
      const run = async (): Promise<SendResult> => {
        let reason: string | undefined;
        try {
          await pub.simulateContract({ account, address: c.address, abi: c.abi as Abi, functionName: c.functionName, args: c.args as unknown[] });
        } catch (e) {
          reason = (e as { shortMessage?: string }).shortMessage ?? (e as Error).message;
        }
        if (reason) return { ok: false, reason };
        const r = await wallet.writeContractSync({ address: c.address, abi: c.abi as Abi, functionName: c.functionName, args: c.args as unknown[], throwOnReceiptRevert: false } as never);
        const receipt = r as unknown as { status: string; transactionHash: Hex; blockNumber: bigint; logs: never[] };
        if (receipt.status !== 'success') return { ok: false, reason: 'reverted', hash: receipt.transactionHash };
        const events = parseEventLogs({ abi: [...(c.abi as Abi), ...APS1_EVENTS_ABI], logs: receipt.logs, strict: false }) as unknown as {
          eventName: string;
          address: Address;
          args: Record<string, any>;
        }[];
        return { ok: true, hash: receipt.transactionHash, blockNumber: receipt.blockNumber, events: events.map((e) => ({ eventName: e.eventName, address: e.address, args: e.args })) };
      };
      const p = queue.then(run, run);
      queue = p.catch(() => undefined);
      return p;
    },
  };
}

/** The first event named `name` in a send result. */
export function eventOf(r: SendResult, name: string): Record<string, any> | undefined {
  return r.ok ? r.events.find((e) => e.eventName === name)?.args : undefined;
}
