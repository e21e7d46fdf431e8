/**
 * Rows anchored to blocks the chain no longer has (an `evm_revert`, as the harness does between
 * property runs, or a reorg) describe payments and registrations that never happened: they are
 * orphaned. One block read per check detects a revert: the newest live anchor must still be on chain.
 */

/** A block a row depends on (its payment or registration), identified by number and hash. */
export interface Anchor {
  block: bigint;
  hash: string;
}

/** The rows a server anchors to blocks. */
export interface AnchoredStore {
  /** Distinct anchors of live rows, newest first. */
  liveAnchors(): Anchor[];
  /** Orphans every live row anchored at one of `anchors`; returns how many rows changed. */
  orphan(anchors: Anchor[]): number;
  /**
   * Optional, with {@link reanchor} and the guard's `locate`: the transactions whose live rows are
   * anchored at `anchor` (a task whose id is its payment's hash). A reorg may mine such a
   * transaction again in another block: its rows then move there instead of being orphaned.
   */
  anchoredTxs?(anchor: Anchor): string[];
  /** Moves the live rows of transaction `tx` to `anchor`; returns how many rows changed. */
  reanchor?(tx: string, anchor: Anchor): number;
}

export class RevertGuard {
  private newest: Anchor | undefined;
  private sweeping: Promise<void> | undefined;
  private probing: Promise<void> | undefined;

  /**
   * @param blockHash hash of block `n` on the chain now, undefined when the chain is not that high;
   *   it must throw (not answer undefined) when the node cannot be asked, so doubt orphans nothing.
   * @param locate the block holding transaction `tx` on the chain now, undefined when it is not
   *   mined; like `blockHash` it must throw when the node cannot be asked. Without it (or without the
   *   store's `anchoredTxs`/`reanchor`) every row of a replaced block is orphaned.
   */
  constructor(
    private readonly blockHash: (n: bigint) => Promise<string | undefined>,
    private readonly store: AnchoredStore,
    private readonly log: (msg: string) => void = () => {},
    private readonly locate?: (tx: string) => Promise<Anchor | undefined>,
  ) {
    this.newest = store.liveAnchors()[0];
  }

  /**
   * Orphans what a revert took away, if the newest anchor is gone; one sweep at a time, however many
   * callers notice. Concurrent callers share one probe (a caller joining it late sees the chain as
   * of moments before it arrived: the same staleness as a revert just after a probe of its own).
   */
  check(): Promise<void> {
    this.probing ??= this.probe().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  private async probe(): Promise<void> {
    const newest = this.newest;
    if (!newest) return;
    if ((await this.blockHash(newest.block)) === newest.hash) return;
    this.sweeping ??= this.sweep().finally(() => {
      this.sweeping = undefined;
    });
    await this.sweeping;
  }

  /** Reads the newest live anchor from the store again, after rows were removed by other means (a server's reset). */
  reload(): void {
    // Stryker disable next-line all: speed only: a stale newest anchor makes the next check sweep.
    this.newest = this.store.liveAnchors()[0];
  }

  /** Records the anchor of a row just written (it becomes the one checked if it is the newest). */
  note(anchor: Anchor | undefined): void {
    if (anchor && (!this.newest || anchor.block >= this.newest.block)) this.newest = anchor;
  }

  private async sweep(): Promise<void> {
    // A revert or reorg replaces a suffix of the chain: walk anchors newest first and stop at the
    // first one still on chain (every older one is too).
    const gone: Anchor[] = [];
    for (const a of this.store.liveAnchors()) {
      if ((await this.blockHash(a.block)) === a.hash) break;
      gone.push(a);
    }
    let moved = 0;
    const { anchoredTxs, reanchor } = this.store;
    if (this.locate && anchoredTxs && reanchor) {
      for (const a of gone) {
        for (const tx of anchoredTxs.call(this.store, a)) {
          const now = await this.locate(tx);
          // `a` is off the chain, so a block that holds tx now is another one.
          if (now) moved += reanchor.call(this.store, tx, now);
        }
      }
    }
    const n = this.store.orphan(gone);
    if (n || moved) this.log(`chain revert detected: ${n} rows orphaned, ${moved} moved to the block that mined their transaction again`);
    this.newest = this.store.liveAnchors()[0];
  }
}
