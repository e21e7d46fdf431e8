/**
 * The provider agent (the seed's `DiemProvider`: createListing, settle, revokeAndRefund): lists
 * capacity on chain, issues a scoped INFERENCE key on its Venice account (capped at the listing's
 * diemMax per epoch: "Providers list capped API keys"), stores it on the backend with the signed
 * store-key message, settles expired rentals, and on a revoke rotates the key so the revoked renter's
 * copy stops working (AISP-PROF-20).
 */
import type { LocalAccount } from 'viem';
import { unitsToDiem } from '../protocol/wire.ts';
import type { BackendClient } from './backend.ts';
import type { MarketChain } from './chain.ts';
import type { Answer } from './http.ts';
import type { VeniceClient } from './venice.ts';

export interface ListingTerms {
  pricePerDay: bigint;
  termDays: bigint;
  diemMin: bigint;
  diemMax: bigint;
}

/** A key the provider issued: the secret stays with the provider agent. */
export interface IssuedKey {
  id: string;
  apiKey: string;
}

export interface Provider {
  address: string;
  /** Creates a scoped INFERENCE key (epoch limit `limitDiem` base units; default none). */
  issueKey(description: string, limitDiem?: bigint, expiresAt?: Date): Promise<IssuedKey>;
  storeKey(listingId: bigint, apiKey: string): Promise<Answer>;
  /** list() on chain, then issue and store the listing's key. */
  createListing(t: ListingTerms): Promise<{ listingId: bigint; key: IssuedKey }>;
  settle(rentalId: bigint): Promise<void>;
  /** revokeAndRefund on chain, then a fresh key for the listing and the old one deleted. */
  revokeAndRefund(rentalId: bigint, listingId: bigint): Promise<IssuedKey | undefined>;
  rotateKey(listingId: bigint): Promise<IssuedKey>;
}

export function createProvider(o: { chain?: MarketChain; backend: BackendClient; venice: VeniceClient; account: LocalAccount; adminKey: string }): Provider {
  const keys = new Map<bigint, IssuedKey>();
  const limits = new Map<bigint, bigint>();
  const chain = () => {
    if (!o.chain) throw new Error('this provider agent has no chain client');
    return o.chain;
  };
  const p: Provider = {
    address: o.account.address,
    async issueKey(description, limitDiem, expiresAt) {
      const r = await o.venice.createKey(o.adminKey, {
        apiKeyType: 'INFERENCE',
        description,
        ...(limitDiem === undefined ? {} : { consumptionLimit: { diem: unitsToDiem(limitDiem) } }),
        ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
      });
      if (r.status !== 200 || !r.body?.data?.apiKey) throw new Error(`the inference server refused to issue a key (${r.status})`);
      return { id: r.body.data.id as string, apiKey: r.body.data.apiKey as string };
    },
    async storeKey(listingId, apiKey) {
      const signed = await o.backend.signStoreKey(o.account, listingId);
      return o.backend.storeKey({ listingId, apiKey, ...signed });
    },
    async createListing(t) {
      const { listingId } = await chain().list(t.pricePerDay, t.termDays, t.diemMin, t.diemMax);
      const key = await p.issueKey(`aisp listing ${listingId}`, t.diemMax);
      const r = await p.storeKey(listingId, key.apiKey);
      if (r.status !== 201 && r.status !== 200) throw new Error(`the backend refused the key for listing ${listingId} (${r.status})`);
      keys.set(listingId, key);
      limits.set(listingId, t.diemMax);
      return { listingId, key };
    },
    async settle(rentalId) {
      await chain().settle(rentalId);
    },
    async revokeAndRefund(rentalId, listingId) {
      await chain().revokeAndRefund(rentalId);
      return keys.has(listingId) ? p.rotateKey(listingId) : undefined;
    },
    async rotateKey(listingId) {
      const old = keys.get(listingId);
      const key = await p.issueKey(`aisp listing ${listingId} (rotated)`, limits.get(listingId));
      const r = await p.storeKey(listingId, key.apiKey);
      if (r.status !== 201 && r.status !== 200) throw new Error(`the backend refused the rotated key (${r.status})`);
      keys.set(listingId, key);
      if (old) await o.venice.deleteKey(o.adminKey, old.id);
      return key;
    },
  };
  return p;
}
