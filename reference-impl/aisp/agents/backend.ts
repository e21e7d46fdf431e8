/**
 * A client of an AISP backend (seed 000 "Backend API"): the routes, and the EIP-191 signed requests
 * (`diem-marketplace:get-key:{rentalId}:{timestamp}`, `diem-marketplace:store-key:{listingId}:{timestamp}`).
 * Answers are returned as they come (status + body), so honest agents and adversaries share it.
 */
import type { Hex, LocalAccount } from 'viem';
import { getKeyMessage, storeKeyMessage } from '../protocol/messages.ts';
import type { RentalRequest } from '../protocol/wire.ts';
import { exchange, wallClock, type Answer, type Clock } from './http.ts';

/** A signed get-key or store-key body, built apart from sending (to replay or tamper with it). */
export interface Signed {
  signature: Hex;
  timestamp: number;
}

export interface BackendClient {
  listings(): Promise<Answer>;
  listing(id: bigint | string): Promise<Answer>;
  /** Signs store-key for `listingId` at `timestamp` (default: the unused second nearest to the clock, see freshTimestamp). */
  signStoreKey(signer: LocalAccount, listingId: bigint | string, timestamp?: number): Promise<Signed>;
  storeKey(body: { listingId: bigint | string; apiKey: string } & Signed): Promise<Answer>;
  signGetKey(signer: LocalAccount, rentalId: bigint | string, timestamp?: number): Promise<Signed>;
  getKey(rentalId: bigint | string, body: Signed & { address?: string }): Promise<Answer>;
  balance(apiKey: string): Promise<Answer>;
  request(body: RentalRequest | unknown): Promise<Answer>;
  /** Any raw request (adversaries). */
  raw(path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<Answer>;
}

/**
 * The timestamps signed per (signer, message kind, id), process-wide: a backend accepts each
 * signature once (AISP-PROF-12), so a client never signs the same message twice, even when its clock
 * repeats a second (two requests in one second; a chain clock set back by a revert, run after run).
 * Not per backend URL: a backend restarted on another port still remembers what it accepted.
 * It takes the unused second nearest to the clock, earlier or later, inside the backend's window: a
 * counter bumped past the last one would drift out of the window after a few hundred repeats.
 */
const usedTimestamps = new Map<string, Set<number>>();
const WINDOW_S = 290; // inside the ±300 s window (AISP-PROF-12), with a margin for the clocks' drift
function freshTimestamp(key: string, now: number): number {
  const used = usedTimestamps.get(key) ?? new Set<number>();
  usedTimestamps.set(key, used);
  for (let d = 0; d <= WINDOW_S; d++) {
    for (const ts of d === 0 ? [now] : [now - d, now + d]) {
      if (!used.has(ts)) {
        used.add(ts);
        return ts;
      }
    }
  }
  throw new Error(`every second within ${WINDOW_S} s of ${now} was already signed for ${key}: the backend would refuse a repeated signature`);
}

export function createBackendClient(baseUrl: string, o: { fetchImpl?: typeof fetch; clock?: Clock } = {}): BackendClient {
  const base = baseUrl.replace(/\/+$/, '');
  const f = o.fetchImpl ?? fetch;
  const clock = o.clock ?? wallClock;
  return {
    listings: () => exchange(f, `${base}/api/listings`),
    listing: (id) => exchange(f, `${base}/api/listings/${id}`),
    async signStoreKey(signer, listingId, timestamp) {
      const ts = timestamp ?? freshTimestamp(`${signer.address}:store:${listingId}`, await clock());
      return { signature: await signer.signMessage({ message: storeKeyMessage(listingId, ts) }), timestamp: ts };
    },
    storeKey: (b) => exchange(f, `${base}/api/keys`, { body: { listingId: b.listingId.toString(), apiKey: b.apiKey, signature: b.signature, timestamp: b.timestamp } }),
    async signGetKey(signer, rentalId, timestamp) {
      const ts = timestamp ?? freshTimestamp(`${signer.address}:get:${rentalId}`, await clock());
      return { signature: await signer.signMessage({ message: getKeyMessage(rentalId, ts) }), timestamp: ts };
    },
    getKey: (rentalId, b) => exchange(f, `${base}/api/key/${rentalId}`, { body: b }),
    balance: (apiKey) => exchange(f, `${base}/api/balance`, { body: { apiKey } }),
    request: (body) => exchange(f, `${base}/api/requests`, { body }),
    raw: (path, init) => exchange(f, `${base}${path}`, init),
  };
}
