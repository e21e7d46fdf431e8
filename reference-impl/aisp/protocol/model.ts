/**
 * Executable model of the AISP marketplace (seed 000 + scenarios/aisp/profile.md): listings,
 * rentals, capacity, the money each party is owed, and when the backend must hand a rental's key
 * out. Pure: no I/O; constants from profile.ts, money from fees.ts. The scenarios use it as the
 * oracle: every action is applied to the model and to the target, and every observable must agree.
 */
import { listError, rentalCost, revokeSplit, settleSplit, usedDays } from './fees.ts';
import { AISP_PROFILE, type RefundRule } from './profile.ts';

export type RentalStatus = 'active' | 'settled' | 'refunded';

export interface ListingModel {
  id: bigint;
  provider: string;
  pricePerDay: bigint;
  termDays: bigint;
  diemMin: bigint;
  diemMax: bigint;
  diemRented: bigint;
  active: boolean;
}

export interface RentalModel {
  id: bigint;
  listingId: bigint;
  renter: string;
  diemAmount: bigint;
  termDays: bigint;
  cost: bigint;
  fundedAt: bigint;
  expiresAt: bigint;
  status: RentalStatus;
}

export interface MarketModel {
  /** Chain time (seconds). */
  now: bigint;
  listings: Map<bigint, ListingModel>;
  rentals: Map<bigint, RentalModel>;
  /** Net USDC change per party (lower-cased address) since the model started; the contract is `market`. */
  delta: Map<string, bigint>;
  /** Ids the next list / fund get (the target's counters may start anywhere). */
  nextListing: bigint;
  nextRental: bigint;
  feeBps: bigint;
  /** How a revoke counts the days used (AISP-PROF-05). */
  refundRule: RefundRule;
  feeRecipient: string;
}

/** A fresh model at chain time `now`, whose next ids are the target's current counters + 1. */
export function newMarket(o: { now: bigint; nextListing?: bigint; nextRental?: bigint; feeBps?: bigint; refundRule?: RefundRule; feeRecipient?: string }): MarketModel {
  return {
    now: o.now,
    listings: new Map(),
    rentals: new Map(),
    delta: new Map(),
    nextListing: o.nextListing ?? 1n,
    nextRental: o.nextRental ?? 1n,
    feeBps: o.feeBps ?? AISP_PROFILE.feeBps,
    refundRule: o.refundRule ?? AISP_PROFILE.refundRule,
    feeRecipient: (o.feeRecipient ?? AISP_PROFILE.feeRecipient).toLowerCase(),
  };
}

/** The model's name of the contract in `delta`. */
export const MARKET = 'market';

function move(m: MarketModel, from: string, to: string, amount: bigint): void {
  if (amount === 0n) return;
  const f = from.toLowerCase();
  const t = to.toLowerCase();
  m.delta.set(f, (m.delta.get(f) ?? 0n) - amount);
  m.delta.set(t, (m.delta.get(t) ?? 0n) + amount);
}

/** Outcome of an action: accepted (with what it produced) or refused with the contract's error name. */
export type Outcome<T = object> = ({ ok: true } & T) | { ok: false; error: string };

/** `list` by `provider` (AISP-PROF-06 revert conditions). Mutates `m` when accepted. */
export function list(m: MarketModel, provider: string, t: { pricePerDay: bigint; termDays: bigint; diemMin: bigint; diemMax: bigint }): Outcome<{ listingId: bigint }> {
  const err = listError(t.pricePerDay, t.termDays, t.diemMin, t.diemMax);
  if (err) return { ok: false, error: err };
  const id = m.nextListing++;
  m.listings.set(id, { id, provider: provider.toLowerCase(), ...t, diemRented: 0n, active: true });
  return { ok: true, listingId: id };
}

/** Why `fund` would be refused (checked in the contract's order), or null. */
export function fundError(m: MarketModel, renter: string, listingId: bigint, termDays: bigint, diemAmount: bigint): string | null {
  const l = m.listings.get(listingId);
  if (!l) return 'UnknownListing';
  if (!l.active) return 'ListingClosedError';
  if (l.provider === renter.toLowerCase()) return 'SelfRental';
  if (termDays === 0n || termDays > l.termDays) return 'InvalidTerm';
  if (diemAmount < l.diemMin || diemAmount > l.diemMax) return 'DiemOutOfRange';
  if (diemAmount > l.diemMax - l.diemRented) return 'CapacityExceeded';
  return null;
}

/** `fund` (the renter approved enough): the cost moves into escrow. Mutates `m` when accepted. */
export function fund(m: MarketModel, renter: string, listingId: bigint, termDays: bigint, diemAmount: bigint): Outcome<{ rentalId: bigint; cost: bigint }> {
  const err = fundError(m, renter, listingId, termDays, diemAmount);
  if (err) return { ok: false, error: err };
  const l = m.listings.get(listingId)!;
  const cost = rentalCost(l.pricePerDay, diemAmount, termDays);
  const id = m.nextRental++;
  m.rentals.set(id, {
    id,
    listingId,
    renter: renter.toLowerCase(),
    diemAmount,
    termDays,
    cost,
    fundedAt: m.now,
    expiresAt: m.now + termDays * AISP_PROFILE.secondsPerDay,
    status: 'active',
  });
  l.diemRented += diemAmount;
  move(m, renter, MARKET, cost);
  return { ok: true, rentalId: id, cost };
}

/** `settle` by anyone once the term is over (AISP-PROF-07). Mutates `m` when accepted. */
export function settle(m: MarketModel, rentalId: bigint): Outcome<{ provider: bigint; fee: bigint }> {
  const r = m.rentals.get(rentalId);
  if (!r) return { ok: false, error: 'UnknownRental' };
  if (r.status !== 'active') return { ok: false, error: 'RentalNotActive' };
  if (m.now < r.expiresAt) return { ok: false, error: 'NotExpired' };
  const l = m.listings.get(r.listingId)!;
  const s = settleSplit(r.cost, m.feeBps);
  r.status = 'settled';
  l.diemRented -= r.diemAmount;
  move(m, MARKET, l.provider, s.provider);
  move(m, MARKET, m.feeRecipient, s.fee);
  return { ok: true, ...s };
}

/** `revokeAndRefund` by `caller` (only the provider, only before expiry; AISP-PROF-05). Mutates `m` when accepted. */
export function revoke(m: MarketModel, caller: string, rentalId: bigint): Outcome<{ refund: bigint; provider: bigint; fee: bigint; usedDays: bigint }> {
  const r = m.rentals.get(rentalId);
  if (!r) return { ok: false, error: 'UnknownRental' };
  if (r.status !== 'active') return { ok: false, error: 'RentalNotActive' };
  const l = m.listings.get(r.listingId)!;
  if (l.provider !== caller.toLowerCase()) return { ok: false, error: 'NotProvider' };
  if (m.now >= r.expiresAt) return { ok: false, error: 'AlreadyExpired' };
  const used = usedDays(r.fundedAt, m.now, m.refundRule);
  const s = revokeSplit(r.cost, r.termDays, used, m.feeBps);
  r.status = 'refunded';
  l.diemRented -= r.diemAmount;
  move(m, MARKET, r.renter, s.refund);
  move(m, MARKET, l.provider, s.provider);
  move(m, MARKET, m.feeRecipient, s.fee);
  return { ok: true, refund: s.refund, provider: s.provider, fee: s.fee, usedDays: used };
}

/** `closeListing` (provider only, once). Mutates `m` when accepted. */
export function close(m: MarketModel, caller: string, listingId: bigint): Outcome {
  const l = m.listings.get(listingId);
  if (!l) return { ok: false, error: 'UnknownListing' };
  if (l.provider !== caller.toLowerCase()) return { ok: false, error: 'Unauthorized' };
  if (!l.active) return { ok: false, error: 'ListingClosedError' };
  l.active = false;
  return { ok: true };
}

/** The USDC the contract holds for rentals: the costs of active rentals (AISP-PROF-09 conservation). */
export function escrowed(m: MarketModel): bigint {
  let s = 0n;
  for (const r of m.rentals.values()) if (r.status === 'active') s += r.cost;
  return s;
}

/** Whether a listing is rentable now: open, a key stored, and room for at least `diemMin` (AISP-PROF-15). */
export function rentable(l: ListingModel, hasKey: boolean): boolean {
  return l.active && hasKey && l.diemMax - l.diemRented >= l.diemMin;
}

/**
 * Whether the backend must hand rental `rentalId`'s key to `caller` now (AISP-PROF-13/14): only to
 * the renter, only for an active rental whose `Funded` is confirmed, before its expiry, and only once
 * the provider stored a key. Returns 'release' or the reason for the refusal.
 */
export function keyDecision(
  m: MarketModel,
  rentalId: bigint,
  caller: string,
  o: { confirmed: boolean; hasKey: boolean },
): 'release' | 'unknown' | 'not-renter' | 'unconfirmed' | 'expired' | 'ended' | 'no-key' {
  const r = m.rentals.get(rentalId);
  if (!r) return 'unknown';
  if (r.renter !== caller.toLowerCase()) return 'not-renter';
  if (r.status !== 'active') return 'ended';
  if (m.now >= r.expiresAt) return 'expired';
  if (!o.confirmed) return 'unconfirmed';
  if (!o.hasKey) return 'no-key';
  return 'release';
}

/**
 * The end states a race of funds may reach: the model applied in every order (the chain serialises
 * them; which arrives first is the network's choice). Returns, per order, the set of rental winners.
 */
export function fundRaceOutcomes(m: MarketModel, bids: { renter: string; listingId: bigint; termDays: bigint; diemAmount: bigint }[]): { order: number[]; winners: number[] }[] {
  const out: { order: number[]; winners: number[] }[] = [];
  for (const order of permutations(bids.map((_, i) => i))) {
    const copy = cloneMarket(m);
    const winners: number[] = [];
    for (const i of order) {
      const b = bids[i]!;
      if (fund(copy, b.renter, b.listingId, b.termDays, b.diemAmount).ok) winners.push(i);
    }
    out.push({ order, winners: winners.sort((a, b) => a - b) });
  }
  return out;
}

/** A deep copy (models are small). */
export function cloneMarket(m: MarketModel): MarketModel {
  return {
    ...m,
    listings: new Map([...m.listings].map(([k, v]) => [k, { ...v }])),
    rentals: new Map([...m.rentals].map(([k, v]) => [k, { ...v }])),
    delta: new Map(m.delta),
  };
}

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}
