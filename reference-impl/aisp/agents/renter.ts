/**
 * The renter agent (the seed's `DiemAgent`: getListings, rent, getKey): reads the listings, approves
 * USDC, funds a rental on chain, asks the backend for the key with the signed get-key message (again
 * while the backend says the rental is not confirmed yet), and uses the key on the Venice API until
 * `expiresAt`.
 */
import type { LocalAccount } from 'viem';
import { keyAnswer, listingsAnswer, type ListingView } from '../protocol/wire.ts';
import type { BackendClient } from './backend.ts';
import type { MarketChain } from './chain.ts';
import type { Answer } from './http.ts';
import { ask, type VeniceClient } from './venice.ts';

export interface Rented {
  rentalId: bigint;
  cost: bigint;
  apiKey: string;
  expiresAt: number;
}

export interface Renter {
  address: string;
  getListings(): Promise<ListingView[]>;
  /** Asks for a rental's key; retries while the backend answers 409 (not confirmed / no key yet), up to `tries`. */
  getKey(rentalId: bigint, tries?: number): Promise<Answer>;
  /** approve + fund + getKey (the seed's `rent`). */
  rent(listingId: bigint, termDays: bigint, diemAmount: bigint): Promise<Rented>;
  /** One chat completion with the rented key. */
  use(apiKey: string, model: string, prompt: string): Promise<Answer>;
}

export function createRenter(o: { chain?: MarketChain; backend: BackendClient; venice: VeniceClient; account: LocalAccount; retryDelayMs?: number }): Renter {
  const r: Renter = {
    address: o.account.address,
    async getListings() {
      const a = await o.backend.listings();
      const p = listingsAnswer.safeParse(a.body);
      if (a.status !== 200 || !p.success) throw new Error(`GET /api/listings answered ${a.status}`);
      return p.data;
    },
    async getKey(rentalId, tries = 20) {
      let last: Answer | undefined;
      for (let i = 0; i < tries; i++) {
        last = await o.backend.getKey(rentalId, await o.backend.signGetKey(o.account, rentalId));
        if (last.status !== 409) return last;
        await new Promise((res) => setTimeout(res, o.retryDelayMs ?? 250));
      }
      return last!;
    },
    async rent(listingId, termDays, diemAmount) {
      if (!o.chain) throw new Error('this renter agent has no chain client');
      const cost = await o.chain.quote(listingId, termDays, diemAmount);
      await o.chain.approve(cost);
      const f = await o.chain.fund(listingId, termDays, diemAmount);
      const k = await r.getKey(f.rentalId);
      const p = keyAnswer.safeParse(k.body);
      if (k.status !== 200 || !p.success) throw new Error(`the backend did not release the key of rental ${f.rentalId} (${k.status})`);
      return { rentalId: f.rentalId, cost: f.cost, apiKey: p.data.apiKey, expiresAt: p.data.expiresAt };
    },
    use: (apiKey, model, prompt) => o.venice.chat(apiKey, ask(model, prompt)),
  };
  return r;
}
