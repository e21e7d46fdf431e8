/**
 * RunContext: what a scenario gets for one property run. It isolates the run (lazy `evm_snapshot`
 * on first use of a chain, `evm_revert` + height check at the end), records evidence and the
 * readable action log, and turns checks into requirement verdicts.
 */
import type { Hex } from 'viem';
import type { Target } from '../target/schema.ts';
import { EvidenceRecorder, recordingFetch } from './evidence.ts';
import { HarnessFault, RequirementViolation } from './errors.ts';
import { ChainSession, type ChainClients } from './session.ts';

/** Per-requirement check counters shared by all runs of a scenario. */
export type CheckCounts = Map<string, { passed: number; failed: number }>;

export class RunContext {
  readonly evidence = new EvidenceRecorder();
  /** Readable list of agent actions taken in this run (the counterexample when it fails). */
  readonly actions: string[] = [];
  /** `fetch` that records HTTP exchanges into this run's evidence. */
  readonly fetch: typeof fetch;
  private readonly sessions = new Map<string, ChainSession>();
  private readonly snapshots = new Map<string, { id: Hex; height: bigint }>();

  constructor(
    readonly target: Target,
    private readonly clients: Map<string, ChainClients>,
    private readonly counts: CheckCounts,
    private readonly allowed: ReadonlySet<string>,
    private readonly isolate: boolean,
  ) {
    this.fetch = recordingFetch(this.evidence);
  }

  /** Log an agent action (shows up, in order, in a counterexample). */
  act(line: string): void {
    this.actions.push(line);
  }

  /**
   * Assert a requirement. Records the check as evidence; throws `RequirementViolation` when `ok` is
   * false so fast-check shrinks toward the smallest sequence of actions that violates it.
   */
  check(requirement: string, ok: boolean, message: string, detail: { expected?: unknown; actual?: unknown } = {}): void {
    if (!this.allowed.has(requirement)) throw new HarnessFault(`check names ${requirement}, which this scenario does not declare`);
    const c = this.counts.get(requirement) ?? { passed: 0, failed: 0 };
    this.counts.set(requirement, c);
    const expected = detail.expected === undefined ? undefined : String(detail.expected);
    const actual = detail.actual === undefined ? undefined : String(detail.actual);
    this.evidence.add({ kind: 'check', requirement, ok, message, expected, actual });
    if (ok) {
      c.passed++;
      return;
    }
    c.failed++;
    throw new RequirementViolation(requirement, message, expected, actual);
  }

  /** The session for a chain (default: the first chain). The first call in a run takes a snapshot. */
  async chain(id?: string): Promise<ChainSession> {
    const key = id ?? this.target.chains[0]!.id;
    let s = this.sessions.get(key);
    if (s) return s;
    const clients = this.clients.get(key);
    if (!clients) throw new HarnessFault(`target has no chain '${key}'`);
    if (this.isolate) {
      const height = await clients.public.getBlockNumber({ cacheTime: 0 });
      const snap = (await clients.test.snapshot()) as Hex;
      this.snapshots.set(key, { id: snap, height });
    }
    s = new ChainSession(clients, this.evidence);
    this.sessions.set(key, s);
    return s;
  }

  /**
   * End of run: revert every chain touched to its snapshot and verify the height came back
   * (receipts were awaited by `attempt`, so nothing is still pending).
   */
  async close(): Promise<void> {
    for (const [key, snap] of this.snapshots) {
      const c = this.clients.get(key)!;
      // anvil can report a just-mined tx as pending for a moment after eth_sendRawTransactionSync
      // returned its receipt, so poll briefly before calling leftover transactions a fault.
      let status: { pending: Hex } | undefined;
      for (let i = 0; i < 50; i++) {
        // Nodes without the txpool namespace (not anvil) skip this check; the height check still runs.
        status = (await c.test.request({ method: 'txpool_status' as never }).catch(() => undefined)) as { pending: Hex } | undefined;
        if (!status || BigInt(status.pending) === 0n) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      if (status && BigInt(status.pending) !== 0n) {
        const content = await c.test.request({ method: 'txpool_inspect' as never }).catch(() => undefined);
        throw new HarnessFault(`chain ${key}: ${BigInt(status.pending)} pending txs at end of run: ${JSON.stringify(content)}`);
      }
      await c.test.revert({ id: snap.id });
      const h = await c.public.getBlockNumber({ cacheTime: 0 });
      if (h !== snap.height) throw new HarnessFault(`chain ${key}: height ${h} after revert, expected ${snap.height}`);
    }
    this.snapshots.clear();
    this.sessions.clear();
  }
}
