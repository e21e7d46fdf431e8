/**
 * AI Market money, exact (DESIGN rule 1). Prices travel as JSON numbers or decimal strings of USD
 * (`0.4`, `"0.40"`); they are parsed once, here, into **micro-USD** bigints (= base units of a
 * 6-decimal stablecoin: USDC/USDT). Channel ledgers are kept in integer **cents** with the ceiling
 * rule for sub-cent prices (hub `channels.py`; spec §4.3 "Channel ledgers bill in whole cents
 * (ceiling)"). Federation's routed price is `price × (1 + bps/10000)` (spec §4.2), computed exactly.
 */

/** Micro-USD per cent. */
export const MICROS_PER_CENT = 10_000n;
export const MICROS_PER_USD = 1_000_000n;

/**
 * Parse a USD amount (JSON number or decimal string, optional exponent) to micro-USD. Digits past the
 * sixth decimal round **up** (a price is never undercharged by parsing); negative, non-finite or
 * malformed input throws.
 */
export function parseUsdMicros(v: unknown): bigint {
  let s: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RangeError('not a finite amount');
    s = String(v);
  } else if (typeof v === 'string') s = v.trim();
  else if (typeof v === 'bigint') s = v.toString();
  else if (v && typeof v === 'object' && 'value' in v && typeof (v as { value: unknown }).value === 'number') s = String((v as { value: number }).value);
  else throw new TypeError('an amount is a number or a decimal string');
  const m = /^(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m) throw new RangeError(`not a non-negative decimal amount: ${JSON.stringify(s).slice(0, 40)}`);
  const digits = m[1]! + (m[2] ?? '');
  const scale = (m[2] ?? '').length - Number(m[3] ?? 0);
  if (Math.abs(scale) > 400) throw new RangeError('amount out of range');
  // value = digits × 10^-scale; want ceil(value × 10^6)
  const shift = 6 - scale;
  if (shift >= 0) return BigInt(digits) * 10n ** BigInt(shift);
  const div = 10n ** BigInt(-shift);
  return (BigInt(digits) + div - 1n) / div;
}

/** Micro-USD as a decimal string with two to six decimals (`400000n` → `"0.40"`, `4000n` → `"0.004"`). */
export function formatUsd(micros: bigint): string {
  const neg = micros < 0n;
  const a = neg ? -micros : micros;
  const whole = a / MICROS_PER_USD;
  let frac = (a % MICROS_PER_USD).toString().padStart(6, '0').replace(/0+$/, '');
  if (frac.length < 2) frac = frac.padEnd(2, '0');
  return `${neg ? '-' : ''}${whole}.${frac}`;
}

/** Micro-USD as a JSON number (shortest decimal; exact for every amount below 2^53 micros). */
export const usdNumber = (micros: bigint): number => Number(formatUsd(micros));

/** The channel debit of a price: whole cents, ceiling (`0.004` → 1, `0.01` → 1, `0.0101` → 2). */
export const centsCeil = (micros: bigint): bigint => (micros + MICROS_PER_CENT - 1n) / MICROS_PER_CENT;

/** Cents → micro-USD. */
export const centsToMicros = (cents: bigint): bigint => cents * MICROS_PER_CENT;

/** Exact routed price in micro-USD as a rational `[num, den]`: `price × (10000 + bps) / 10000`. */
export function routedPriceExact(priceMicros: bigint, bps: bigint): { num: bigint; den: bigint } {
  return { num: priceMicros * (10_000n + bps), den: 10_000n };
}

/**
 * Whether a reported routed price (USD number) is a careful reading of `price × (1 + bps/10000)`:
 * the exact value, or it rounded to the micro-dollar either way (floats, `round(x, 6)`, ceil, floor).
 */
export function routedPriceAcceptable(reportedUsd: number, priceMicros: bigint, bps: bigint): boolean {
  if (!Number.isFinite(reportedUsd) || reportedUsd < 0) return false;
  const { num, den } = routedPriceExact(priceMicros, bps);
  const exact = Number(num) / Number(den) / 1e6;
  return Math.abs(reportedUsd - exact) <= 1e-6 + 1e-12 * Math.max(1, exact);
}
