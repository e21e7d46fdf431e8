/**
 * The executable model of one AI Market payment channel as a hub keeps it (spec §4.3, the v1
 * factory doc; profile AIM-PROF-06): a deposit in whole cents, opened at a time with a lifetime; a
 * call debits its price rounded **up** to the cent, never past the deposit, and not once the channel
 * is closed or its lifetime is over (the hub's answer is then a 402 naming why, in that order); a
 * failed call's debit is refunded; closing refunds the deposit less what was used. Pure: every
 * function returns the next state. Times are seconds on the chain clock.
 */
import { centsCeil } from './money.ts';

/** The largest deposit one channel takes: $10,000 (v2 channel open: 0 < deposit_usd ≤ 10000), in cents. */
export const CHANNEL_MAX_DEPOSIT_CENTS = 1_000_000n;

export interface ChannelModel {
  depositCents: bigint;
  usedCents: bigint;
  /** The first second at which the channel no longer pays (open + lifetime). */
  expiresAt: number;
  open: boolean;
}

/** Why a call on a channel is answered 402 instead of being served. */
export type ChannelRefusal = 'closed' | 'expired' | 'depleted';

/** A channel opened at `at` with `depositCents` for `lifetimeSeconds`. Throws on a deposit the hub refuses. */
export function openChannelModel(depositCents: bigint, at: number, lifetimeSeconds: number): ChannelModel {
  if (depositCents <= 0n || depositCents > CHANNEL_MAX_DEPOSIT_CENTS) throw new RangeError(`a channel deposit is 1..${CHANNEL_MAX_DEPOSIT_CENTS} cents, not ${depositCents}`);
  return { depositCents, usedCents: 0n, expiresAt: at + lifetimeSeconds, open: true };
}

/** A call of price `priceMicros` at `at`: debited (whole cents, ceiling) or refused with the hub's reason. */
export function debitModel(ch: ChannelModel, priceMicros: bigint, at: number): { ok: true; next: ChannelModel; cents: bigint } | { ok: false; why: ChannelRefusal } {
  if (!ch.open) return { ok: false, why: 'closed' };
  if (ch.expiresAt <= at) return { ok: false, why: 'expired' };
  const cents = centsCeil(priceMicros);
  if (ch.usedCents + cents > ch.depositCents) return { ok: false, why: 'depleted' };
  return { ok: true, next: { ...ch, usedCents: ch.usedCents + cents }, cents };
}

/** A failed call gives its debit back. */
export function refundDebitModel(ch: ChannelModel, cents: bigint): ChannelModel {
  if (cents > ch.usedCents) throw new RangeError(`refund of ${cents} cents exceeds the ${ch.usedCents} used`);
  return { ...ch, usedCents: ch.usedCents - cents };
}

/** Close: the rest of the deposit goes back to the depositor. Throws when already closed. */
export function closeChannelModel(ch: ChannelModel): { next: ChannelModel; refundCents: bigint } {
  if (!ch.open) throw new RangeError('the channel is already closed');
  return { next: { ...ch, open: false }, refundCents: ch.depositCents - ch.usedCents };
}
