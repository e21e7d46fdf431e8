/**
 * The AISP backend follows the marketplace's events ("Backend sees Funded event → Key released").
 *
 * `sync()` (single-flight; run before every request that depends on the chain, and every
 * `pollIntervalMs` in the background) first checks that the last block it synced is still on chain.
 * If a revert or reorg replaced it, it finds the newest block with stored events whose hash the chain
 * still has, deletes every event above it and rebuilds the listing and rental views from the events
 * that remain; then it reads the new logs up to the latest block. The cursor and the events live in
 * SQLite, so a restart resumes where it stopped (and still notices a revert that happened meanwhile).
 */
import { createPublicClient, parseEventLogs, type Address, type PublicClient } from 'viem';
import { keepAliveTransport } from '../../../harness/chain/index.ts';
import { marketplaceAbi } from '../protocol/abi.ts';
import type { AispStore, StoredEvent } from './store.ts';

export interface IndexerOptions {
  rpcUrl: string;
  marketplace: Address;
  /** First block to read (default 0). */
  fromBlock?: number;
  /** Blocks per eth_getLogs call. */
  chunk?: number;
  log?: (msg: string) => void;
  /** Test-only fault: a rollback keeps the rentals of the events it removed. */
  keepRevertedRentals?: boolean;
  /** Test-only fault: the synced blocks are never checked against the chain (no revert or reorg is noticed). */
  ignoreReorgs?: boolean;
  /** Test-only fault: the first sync after a start jumps the stored cursor to the head (what was mined while down is skipped). */
  noCatchUpOnStart?: boolean;
}

const EVENT_NAMES = new Set(['Listed', 'ListingClosed', 'Funded', 'Settled', 'Revoked']);

export class Indexer {
  readonly pub: PublicClient;
  private running: Promise<number> | undefined;
  /** The latest block seen by the last sync. */
  latest = 0;
  /** Whether this process has synced once (the fault noCatchUpOnStart acts before that). */
  private started = false;

  constructor(
    private readonly store: AispStore,
    private readonly o: IndexerOptions,
  ) {
    this.pub = createPublicClient({ transport: keepAliveTransport(o.rpcUrl) }) as PublicClient;
  }

  /** Resolves once a sync in flight (if any) has finished. */
  idle(): Promise<void> {
    const last = this.next ?? this.running;
    return last
      ? last.then(
          () => undefined,
          () => undefined,
        )
      : Promise.resolve();
  }

  /**
   * Brings the views up to the chain's latest block as of the call; returns that block. A caller
   * arriving while a run is in flight does not join it (that run may have read the latest block
   * before the caller's own transaction was mined: a funded rental answered "no funded rental"),
   * it waits for the next run, which every such caller shares.
   */
  sync(): Promise<number> {
    if (!this.running) return this.start();
    this.next ??= this.running.then(
      () => this.afterRun(),
      () => this.afterRun(),
    );
    return this.next;
  }

  private next: Promise<number> | undefined;

  /** The run after the one in flight (or one a caller started since: it began after every waiting call). */
  private afterRun(): Promise<number> {
    this.next = undefined;
    return this.running ?? this.start();
  }

  private start(): Promise<number> {
    this.running = this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async hashOf(block: number): Promise<string | undefined> {
    try {
      const b = await this.pub.getBlock({ blockNumber: BigInt(block) });
      return b.hash ?? undefined;
    } catch (e) {
      if ((e as Error).name === 'BlockNotFoundError') return undefined;
      throw e;
    }
  }

  private async run(): Promise<number> {
    const latest = Number(await this.pub.getBlockNumber({ cacheTime: 0 }));
    const from = this.o.fromBlock ?? 0;
    let cursor = this.store.cursor() ?? { block: from - 1, hash: null };
    const first = !this.started;
    this.started = true;
    if (first && this.o.noCatchUpOnStart && this.store.cursor()) {
      const head = await this.hashOf(latest);
      if (head) this.store.setCursor(latest, head);
      this.latest = latest;
      return latest;
    }
    if (this.o.ignoreReorgs) {
      // fault: trust the cursor
    } else if (cursor.hash !== null) {
      const onChain = cursor.block <= latest ? await this.hashOf(cursor.block) : undefined;
      if (onChain !== cursor.hash) cursor = await this.rollBack(cursor.block);
    } else {
      // A sync stopped between chunks: check the newest stored event instead.
      const newest = this.store.eventBlocks(cursor.block)[0];
      if (newest && (await this.hashOf(newest.block)) !== newest.hash) cursor = await this.rollBack(cursor.block);
    }
    if (latest > cursor.block) {
      // The hash is read before the logs: if a revert lands while they are read, the cursor names a
      // block of the old chain and the next sync rolls back whatever came from it.
      const latestHash = await this.hashOf(latest);
      if (latestHash === undefined) return this.latest; // the chain just got shorter: the next sync starts over
      const chunk = this.o.chunk ?? 5_000;
      for (let start = cursor.block + 1; start <= latest; start += chunk) {
        const end = Math.min(latest, start + chunk - 1);
        const logs = await this.pub.getLogs({ address: this.o.marketplace, fromBlock: BigInt(start), toBlock: BigInt(end) });
        const events = parseEventLogs({ abi: marketplaceAbi, logs, strict: false });
        this.store.tx(() => {
          for (const ev of events) {
            if (!ev.eventName || !EVENT_NAMES.has(ev.eventName) || ev.blockNumber === null || ev.logIndex === null) continue;
            const stored: StoredEvent = {
              block: Number(ev.blockNumber),
              logIndex: ev.logIndex,
              blockHash: ev.blockHash!,
              tx: ev.transactionHash!,
              name: ev.eventName as StoredEvent['name'],
              args: Object.fromEntries(Object.entries(ev.args as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v.toLowerCase() : String(v)])),
            };
            if (this.store.insertEvent(stored)) apply(this.store, stored);
          }
          this.store.setCursor(end, end === latest ? latestHash : null);
        });
      }
    } else if (cursor.hash === null && cursor.block >= 0) {
      const h = await this.hashOf(cursor.block);
      if (h) this.store.setCursor(cursor.block, h);
    }
    this.latest = latest;
    return latest;
  }

  /** The chain no longer has block `gone` as we saw it: keep what is still on chain, rebuild the rest. */
  private async rollBack(gone: number): Promise<{ block: number; hash: string | null }> {
    const from = this.o.fromBlock ?? 0;
    let keep = from - 1;
    for (const b of this.store.eventBlocks(gone)) {
      if ((await this.hashOf(b.block)) === b.hash) {
        keep = b.block;
        break;
      }
    }
    const hash = keep >= 0 ? ((await this.hashOf(keep)) ?? null) : null;
    const dropped = this.store.tx(() => {
      const n = this.store.dropEventsAbove(keep);
      rebuild(this.store, this.o.keepRevertedRentals);
      this.store.setCursor(keep, hash);
      return n;
    });
    this.o.log?.(`chain revert detected below block ${gone}: ${dropped} events dropped, views rebuilt from block ${keep}`);
    return { block: keep, hash };
  }
}

/** Rebuilds the listing and rental views from the stored events. */
export function rebuild(store: AispStore, keepRentals = false): void {
  if (keepRentals) store.db.exec('DELETE FROM listings;');
  else store.clearViews();
  for (const e of store.allEvents()) apply(store, e);
}

/** Applies one event to the views. */
export function apply(store: AispStore, e: StoredEvent): void {
  const a = e.args;
  switch (e.name) {
    case 'Listed':
      store.upsertListing({
        id: a.listingId!,
        provider: a.provider!,
        price: a.pricePerDay!,
        term_days: Number(a.termDays),
        diem_min: a.diemMin!,
        diem_max: a.diemMax!,
        diem_rented: '0',
        active: 1,
        block: e.block,
        block_hash: e.blockHash,
      });
      return;
    case 'ListingClosed':
      store.setListingActive(a.listingId!, false);
      return;
    case 'Funded': {
      store.insertRental({
        id: a.rentalId!,
        listing_id: a.listingId!,
        renter: a.renter!,
        diem: a.diemAmount!,
        term_days: Number(a.termDays),
        cost: a.cost!,
        expires_at: Number(a.expiresAt),
        status: 'active',
        block: e.block,
        block_hash: e.blockHash,
        tx: e.tx,
      });
      const l = store.listing(a.listingId!);
      if (l) store.setListingRented(l.id, (BigInt(l.diem_rented) + BigInt(a.diemAmount!)).toString());
      return;
    }
    case 'Settled':
    case 'Revoked': {
      const r = store.rental(a.rentalId!);
      if (!r) return;
      store.setRentalStatus(r.id, e.name === 'Settled' ? 'settled' : 'refunded');
      const l = store.listing(r.listing_id);
      if (l) store.setListingRented(l.id, (BigInt(l.diem_rented) - BigInt(r.diem)).toString());
      return;
    }
  }
}
