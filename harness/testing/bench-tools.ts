/**
 * Pieces the packs' benchmarks share (reference-impl/<id>/bench.ts): a stop list for what a bench
 * started (also on SIGINT), a JSON-RPC proxy that counts calls by method, and an HTTP proxy that
 * adds up answer times per path (both the harness's forwarding proxy, harness/faults/proxy.ts,
 * with observers and no fault), and the bare sides' pieces: recorded transactions replayed, an
 * x402 payment's reads, a stopwatch for timed stretches.
 */
import { readFileSync } from 'node:fs';
import { createPublicClient, type Address, type Hex, type TransactionSerializable } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { keepAliveTransport, rpcBatch, rpcCall } from '../chain/index.ts';
import { startFaultProxy } from '../faults/proxy.ts';
import { rpcMethods } from '../faults/rpc.ts';

/** What a bench started, stopped last-first by {@link stopAll} (also on SIGINT, exit 130). */
export const running: { stop(): Promise<void> }[] = [];
export async function stopAll(): Promise<void> {
  // Last started, first stopped (the server before its chain).
  for (const r of running.splice(0).reverse()) await r.stop().catch((e: Error) => console.error(`stop failed: ${e.message}`));
}
process.on('SIGINT', () => {
  void stopAll().finally(() => process.exit(130));
});

/** Answer times added up per key: how many, and their total in ms. */
type Times = Map<string, { n: number; ms: number }>;
function addTime(times: Times, key: string, ms: number): void {
  const e = times.get(key) ?? { n: 0, ms: 0 };
  e.n++;
  e.ms += ms;
  times.set(key, e);
}

/**
 * A JSON-RPC proxy in front of `target` that counts calls by method while `state.counting` is on,
 * and adds up the node's answer time per request shape (`times`: a method, or `batch(a+b)`).
 */
export async function startRpcCounter(target: string) {
  const counts = new Map<string, number>();
  const times: Times = new Map();
  const state = { counting: false };
  // Each request's methods, read once when it arrives, for its answer time.
  const shapes = new WeakMap<object, string[]>();
  const proxy = await startFaultProxy(target, {
    onRequest(req) {
      if (!state.counting) return;
      const read = rpcMethods(req.body);
      const methods = read.length ? read : ['(unparsable)'];
      for (const m of methods) counts.set(m, (counts.get(m) ?? 0) + 1);
      shapes.set(req, methods);
    },
    onAnswered(req, t0) {
      const methods = shapes.get(req);
      if (!state.counting || !methods) return;
      addTime(times, methods.length === 1 ? methods[0]! : `batch(${methods.join('+')})`, performance.now() - t0);
    },
  });
  return { ...proxy, counts, times, state };
}

/** An HTTP proxy in front of `target` that adds up, per path, the time its answers took while `state.timing` is on. */
export async function startTimer(target: string) {
  const totals: Times = new Map();
  const state = { timing: false };
  const proxy = await startFaultProxy(target, {
    onAnswered(req, t0) {
      if (state.timing) addTime(totals, req.path.split('?')[0]!, performance.now() - t0);
    },
  });
  return { ...proxy, totals, state };
}

/** A transaction a stack mined, enough to send it again on a fresh chain. */
export interface ReplayTx {
  from: Address;
  to: Address;
  input: Hex;
  gas: bigint;
  value?: bigint;
  name: string;
}

/**
 * The bare side of a bench: recorded transactions signed locally with their senders' keys (nonces
 * counted here from the chain's, fees fixed once) and sent with `eth_sendRawTransactionSync`, one
 * round trip each. `send` answers the transaction hash, and throws when one does not succeed, with
 * the simulated revert reason.
 */
export async function bareReplayer(chain: { rpcUrl: string; chainId: number }, keys: Map<string, Hex>, txs: readonly ReplayTx[]) {
  const pub = createPublicClient({ transport: keepAliveTransport(chain.rpcUrl) });
  const accounts = new Map<string, ReturnType<typeof privateKeyToAccount>>();
  const nonces = new Map<string, number>();
  /** The sender's account and its next nonce, read from the chain the first time it sends. */
  const ensure = async (from: Address) => {
    const k = from.toLowerCase();
    if (accounts.has(k)) return;
    const pk = keys.get(k);
    if (!pk) throw new Error(`no key for sender ${from}`);
    accounts.set(k, privateKeyToAccount(pk));
    nonces.set(k, await pub.getTransactionCount({ address: from }));
  };
  // Senders known in advance are set up before the clock starts.
  for (const tx of txs) await ensure(tx.from);
  const block = await pub.getBlock();
  const maxFeePerGas = (block.baseFeePerGas ?? 1_000_000_000n) * 4n + 1_000_000_000n;
  return async function send(tx: ReplayTx): Promise<Hex> {
    await ensure(tx.from);
    const k = tx.from.toLowerCase();
    const nonce = nonces.get(k)!;
    nonces.set(k, nonce + 1);
    const unsigned: TransactionSerializable = {
      chainId: chain.chainId,
      type: 'eip1559',
      to: tx.to,
      data: tx.input,
      gas: tx.gas,
      value: tx.value ?? 0n,
      nonce,
      maxFeePerGas,
      maxPriorityFeePerGas: 1_000_000_000n,
    };
    const raw = await accounts.get(k)!.signTransaction(unsigned);
    const receipt = await rpcCall<{ status: Hex; transactionHash: Hex } | null>(chain.rpcUrl, 'eth_sendRawTransactionSync', [raw]);
    if (receipt?.status === '0x1') return receipt.transactionHash;
    const why = await pub.call({ account: tx.from, to: tx.to, data: tx.input }).then(
      () => 'no revert in simulation',
      (e: Error) => e.message.split('\n').slice(0, 3).join(' '),
    );
    throw new Error(`bare replay of ${tx.name} ${receipt ? `(${receipt.transactionHash}) reverted: ${why}` : 'returned no receipt'}`);
  };
}

/** A transaction as the bench sides read it: who sends what to which contract. */
export interface SentCall {
  from: Address;
  to: Address;
  data: Hex;
}

const pendingBlock = { method: 'eth_getBlockByNumber', params: ['pending', false] };
const simulation = (tx: SentCall) => ({ method: 'eth_call', params: [tx, 'latest'] });

/**
 * The reads a server makes right before it sends a transaction of its own, as few as a sender that
 * keeps no state between requests can make (one batch): the pending block (the clock and the base
 * fee), a simulation of the call (a call that would revert is refused before it costs gas), and the
 * sender's pending nonce. Every transaction a protocol's server sends needs them: the x402
 * facilitator's settlement ({@link x402PaymentReads}) and each of the Agentripe operator's.
 */
export async function preSendReads(rpcUrl: string, tx: SentCall): Promise<void> {
  for (const r of await rpcBatch(rpcUrl, [pendingBlock, simulation(tx), { method: 'eth_getTransactionCount', params: [tx.from, 'pending'] }])) if (!r.ok) throw r.error;
}

/**
 * The reads an x402 payment needs before its settlement is sent, as the reference facilitator makes
 * them and as little as the protocol allows: /verify's (the pending block for the clock and an
 * `eth_call` simulation of the transfer, one batch) and /settle's re-verify before it sends
 * ({@link preSendReads}: the same two and the sender's pending nonce, one batch). `settlement` is
 * the transfer the facilitator will send.
 */
export async function x402PaymentReads(rpcUrl: string, settlement: SentCall): Promise<void> {
  for (const r of await rpcBatch(rpcUrl, [pendingBlock, simulation(settlement)])) if (!r.ok) throw r.error;
  await preSendReads(rpcUrl, settlement);
}

/**
 * Time and CPU added up over a bench side's timed stretches: `time(fn)` runs `fn` inside one;
 * `total` holds the seconds and the CPU (this process, and the anvil `anvilPid` where /proc tells).
 */
export function stopwatch(anvilPid: number | undefined) {
  const total: { seconds: number; cpu: CpuUse } = { seconds: 0, cpu: { selfMs: 0, anvilMs: 0 } };
  return {
    total,
    async time<T>(fn: () => Promise<T>): Promise<T> {
      const meter = cpuMeter(anvilPid);
      const t0 = performance.now();
      const out = await fn();
      total.seconds += (performance.now() - t0) / 1000;
      const used = meter.stop();
      total.cpu.selfMs += used.selfMs;
      total.cpu.anvilMs = total.cpu.anvilMs === undefined || used.anvilMs === undefined ? undefined : total.cpu.anvilMs + used.anvilMs;
      return out;
    },
  };
}

/** CPU used over a timed stretch, in ms: this process's, and anvil's (undefined where /proc is not there). */
export interface CpuUse {
  selfMs: number;
  anvilMs: number | undefined;
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux); undefined elsewhere. */
function procCpuMs(pid: number): number | undefined {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
/** /proc counts in USER_HZ ticks, 100 per second on Linux whatever the kernel's own tick. */
const CLOCK_TICKS = 100;

/**
 * Where a timed stretch's CPU went: this process (server, facilitator and agents run in it) and the
 * anvil with pid `anvilPid`. `stop()` answers ms used since the start (anvil's undefined off Linux).
 */
export function cpuMeter(anvilPid: number | undefined) {
  const self0 = process.cpuUsage();
  const anvil0 = anvilPid === undefined ? undefined : procCpuMs(anvilPid);
  return {
    stop(): CpuUse {
      const self = process.cpuUsage(self0);
      const anvil1 = anvilPid === undefined ? undefined : procCpuMs(anvilPid);
      return { selfMs: (self.user + self.system) / 1000, anvilMs: anvil0 === undefined || anvil1 === undefined ? undefined : anvil1 - anvil0 };
    },
  };
}
