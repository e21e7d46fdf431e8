/**
 * How a scripted APS-1 agent sends transactions: a `ChainActor` sends one contract call and reports
 * the mined outcome (success with decoded events, or the refusal with its reason). Scenarios wrap
 * the harness's ChainSession in one (so every transaction is evidence); standalone uses (bench,
 * fuzz, tests) use {@link viemActor}.
 */
import { parseEventLogs, type Abi, type Address, type Hex, type TransactionReceipt } from 'viem';
import { SerialSender } from '../../../harness/chain/serial-sender.ts';
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

/**
 * A ChainActor signing locally with `privateKey`, sending through `rpcUrl` one transaction at a time
 * (the harness's SerialSender: a refusal is the estimate's decoded revert, and the gas limit has a
 * margin, since other senders may change the state the estimate saw before this one is mined).
 */
export function viemActor(privateKey: Hex, rpcUrl: string, chainId: number): ChainActor {
  const chain = { id: chainId, name: `chain-${chainId}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } } as const;
  const sender = new SerialSender(privateKey, chain, rpcUrl);
  return {
    address: sender.address,
    async send(_label, c) {
      let receipt: TransactionReceipt;
      try {
        receipt = await sender.send({ address: c.address, abi: c.abi, functionName: c.functionName, args: c.args });
      } catch (e) {
        return { ok: false, reason: (e as { shortMessage?: string }).shortMessage ?? (e as Error).message };
      }
      const events = parseEventLogs({ abi: [...(c.abi as Abi), ...APS1_EVENTS_ABI], logs: receipt.logs, strict: false }) as unknown as {
        eventName: string;
        address: Address;
        args: Record<string, any>;
      }[];
      return { ok: true, hash: receipt.transactionHash, blockNumber: receipt.blockNumber, events: events.map((e) => ({ eventName: e.eventName, address: e.address, args: e.args })) };
    },
  };
}

/** The first event named `name` in a send result. */
export function eventOf(r: SendResult, name: string): Record<string, any> | undefined {
  return r.ok ? r.events.find((e) => e.eventName === name)?.args : undefined;
}
