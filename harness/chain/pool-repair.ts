/**
 * Repairs anvil's stuck transactions: a transaction whose nonce is its sender's next one, held
 * queued (not ready) for good.
 *
 * Why: anvil 1.7.1 in automine mode loses a transaction to its queue when it arrives while the
 * sender's previous nonce is being mined (its pool waits for a marker the mined block already
 * took away). Nothing promotes it afterwards: mining more blocks, other senders' transactions,
 * `anvil_setNonce`, toggling automine and `anvil_dropTransaction` all leave it queued, and a
 * re-send answers "transaction already imported" (all measured; the same class of bug as
 * foundry-rs/foundry#10122). Every later transaction of that sender queues behind it, and a
 * server sending concurrently from one key (the x402 facilitator under `amh load`, or any
 * third-party server) stalls until its receipt waits time out. Base does not do that, so a verdict
 * taken on such a stall would blame the server for the lab's node.
 *
 * The repair takes the sender's pool transactions out (`anvil_removePoolTransactions`) and sends
 * the same signed bytes back in nonce order: the same hashes, so every receipt wait of the sender
 * completes as if nothing had happened. Only a stall is repaired: the lowest queued nonce equals
 * the sender's mined count, none of its transactions is ready, and it was so at two polls in a row.
 * A nonce gap (a nonce above the count, as after a revert) is a queue the sender made and is left
 * alone.
 */
import type { Hex } from 'viem';
import { rpcBatch, rpcCall } from './rpc.ts';

/** Pool transactions by sender and nonce, as `txpool_content` lists them. */
type PoolSide = Record<string, Record<string, PoolTx>>;
interface PoolTx {
  hash: Hex;
  nonce: Hex;
  [field: string]: unknown;
}

/** One repair: the sender, the nonces sent back, and those that could not be (lost). */
export interface PoolRepairRecord {
  sender: string;
  resent: number[];
  lost: { nonce: number; hash: Hex; reason: string }[];
  at: Date;
}

/** What the pool repair did over a stretch of work (a load run, a scenario). */
export interface NodeRepairs {
  /** How often a sender's transaction was stranded. */
  stalls: number;
  /** Transactions sent back (the stranded ones and those queued behind them). */
  resent: number;
  /** Transactions the node refused to take back. */
  lost: number;
}

/** The tally of some repair records. */
export function tallyRepairs(records: readonly PoolRepairRecord[]): NodeRepairs {
  return { stalls: records.length, resent: records.reduce((n, r) => n + r.resent.length, 0), lost: records.reduce((n, r) => n + r.lost.length, 0) };
}

/** A sentence for a report: how often anvil stranded transactions and what the harness did (`during`: where, e.g. the scenarios). */
export function describeRepairs(n: NodeRepairs, during?: string): string {
  return `anvil stranded a sender's transaction in its pool ${n.stalls === 1 ? 'once' : `${n.stalls} times`}${during ? ` (${during})` : ''}; the harness sent ${n.resent} transaction${n.resent === 1 ? '' : 's'} back${n.lost ? `, ${n.lost} could not be` : ''} (harness/chain/pool-repair.ts)`;
}

export interface PoolRepair {
  /** Repairs done so far. */
  readonly records: readonly PoolRepairRecord[];
  /** One poll now (tests); resolves with the repairs it made. */
  check(): Promise<PoolRepairRecord[]>;
  stop(): void;
}

/** How long a re-sent transaction may take to be mined before the next one is sent anyway. */
const RESEND_TIMEOUT_MS = 10_000;

/** How often the pool is polled: a stalled sender waits at most about twice this. */
export const POOL_REPAIR_INTERVAL_MS = 250;

/** The repairs running in this process, by the RPC URL of their chain. */
const repairsByUrl = new Map<string, { hold<T>(fn: () => Promise<T>): Promise<T> }>();

/**
 * Runs `fn` (a revert, and the pool clean-up after it) with the repair of the chain at `rpcUrl`
 * held, where this process runs one: a repair under way finishes first, none starts meanwhile, and
 * the stalls it suspected are forgotten. A repair racing a revert would send a reverted run's
 * stranded transactions back onto the reverted chain; and after a revert a run's leftover queued
 * transaction can sit at its sender's count exactly as a stranded one does, which is the run's to
 * drop, not the repair's to send.
 */
export function withRepairHeld<T>(rpcUrl: string, fn: () => Promise<T>): Promise<T> {
  const r = repairsByUrl.get(rpcUrl);
  return r ? r.hold(fn) : fn();
}

/**
 * Polls `rpcUrl`'s pool every `intervalMs` and repairs stalled senders (see the module comment).
 * Errors while polling (a stopped or paused node) are ignored; the next poll asks again.
 */
export function repairStuckTransactions(rpcUrl: string, o: { intervalMs?: number; onRepair?: (r: PoolRepairRecord) => void } = {}): PoolRepair {
  const intervalMs = o.intervalMs ?? POOL_REPAIR_INTERVAL_MS;
  const records: PoolRepairRecord[] = [];
  // sender:hash of the lowest queued transaction seen stalled at the last poll.
  let suspects = new Set<string>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<PoolRepairRecord[]> | undefined;

  async function poll(): Promise<PoolRepairRecord[]> {
    const status = await rpcCall<{ pending: Hex; queued: Hex }>(rpcUrl, 'txpool_status');
    if (BigInt(status.queued) === 0n) {
      suspects = new Set();
      return [];
    }
    const content = await rpcCall<{ pending: PoolSide; queued: PoolSide }>(rpcUrl, 'txpool_content');
    const candidates = Object.entries(content.queued)
      .filter(([sender]) => Object.keys(content.pending[sender] ?? {}).length === 0)
      .map(([sender, byNonce]) => ({ sender, lowest: lowestOf(byNonce) }));
    if (candidates.length === 0) {
      suspects = new Set();
      return [];
    }
    const counts = await rpcBatch(
      rpcUrl,
      candidates.map((c) => ({ method: 'eth_getTransactionCount', params: [c.sender, 'latest'] })),
    );
    const seen = new Set<string>();
    const done: PoolRepairRecord[] = [];
    for (const [i, c] of candidates.entries()) {
      const count = counts[i]!;
      if (!count.ok || BigInt(count.value as Hex) !== BigInt(c.lowest.nonce)) continue;
      const key = `${c.sender}:${c.lowest.hash}`;
      seen.add(key);
      if (suspects.has(key) && !stopped) done.push(await repair(c.sender));
    }
    suspects = seen;
    return done;
  }

  /** Takes the sender's pool transactions out and sends the same bytes back, lowest nonce first. */
  async function repair(sender: string): Promise<PoolRepairRecord> {
    // The raw bytes are read before the removal; a transaction the sender adds meanwhile is read
    // too (up to three rounds), so the window in which an arrival would be removed unread is the
    // one round trip between the last listing and the removal.
    const raws = new Map<Hex, { nonce: number; raw?: Hex; error?: string }>();
    for (let round = 0; round < 3; round++) {
      const listed = await rpcCall<{ pending: PoolSide; queued: PoolSide }>(rpcUrl, 'txpool_content');
      const fresh = [...Object.values(listed.pending[sender] ?? {}), ...Object.values(listed.queued[sender] ?? {})].filter((t) => !raws.has(t.hash));
      if (fresh.length === 0) break;
      const got = await rpcBatch(
        rpcUrl,
        fresh.map((t) => ({ method: 'eth_getRawTransactionByHash', params: [t.hash] })),
      );
      for (const [i, t] of fresh.entries()) {
        const r = got[i]!;
        raws.set(t.hash, {
          nonce: Number(BigInt(t.nonce)),
          ...(r.ok && typeof r.value === 'string' ? { raw: r.value as Hex } : { error: r.ok ? 'the node had no raw bytes for it' : r.error.message }),
        });
      }
    }
    await rpcCall(rpcUrl, 'anvil_removePoolTransactions', [sender]);
    const record: PoolRepairRecord = { sender, resent: [], lost: [], at: new Date() };
    const sorted = [...raws].sort(([, a], [, b]) => a.nonce - b.nonce);
    let next = sorted[0]?.[1].nonce ?? 0;
    for (const [hash, t] of sorted) {
      try {
        if (!t.raw) throw new Error(t.error);
        if (t.nonce === next) {
          // One at a time, each mined before the next is sent: sent back to back, the next one
          // could meet the same race again. A send after a gap only waits in the queue.
          const [answer] = await rpcBatch(rpcUrl, [{ method: 'eth_sendRawTransactionSync', params: [t.raw] }], RESEND_TIMEOUT_MS);
          if (!answer!.ok && !/timeout|timed out/i.test(answer!.error.message)) throw answer!.error;
          next++;
        } else {
          await rpcCall(rpcUrl, 'eth_sendRawTransaction', [t.raw]);
        }
        record.resent.push(t.nonce);
      } catch (err) {
        record.lost.push({ nonce: t.nonce, hash, reason: err instanceof Error ? err.message : String(err) });
      }
    }
    records.push(record);
    o.onRepair?.(record);
    return record;
  }

  let held = 0;
  const check = (): Promise<PoolRepairRecord[]> => {
    if (held > 0) return Promise.resolve([]);
    running ??= poll().finally(() => {
      running = undefined;
    });
    return running;
  };
  const control = {
    async hold<T>(fn: () => Promise<T>): Promise<T> {
      held++;
      try {
        await running?.catch(() => undefined);
        return await fn();
      } finally {
        suspects = new Set();
        held--;
      }
    },
  };
  repairsByUrl.set(rpcUrl, control);
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      check()
        .catch(() => [])
        .finally(schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return {
    records,
    check,
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (repairsByUrl.get(rpcUrl) === control) repairsByUrl.delete(rpcUrl);
    },
  };
}

function lowestOf(byNonce: Record<string, PoolTx>): PoolTx {
  return Object.values(byNonce).reduce((a, b) => (BigInt(b.nonce) < BigInt(a.nonce) ? b : a));
}
