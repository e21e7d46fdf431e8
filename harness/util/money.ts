/**
 * Dollar strings <-> USDC base units (6 decimals).
 *
 * Money inside the harness is always a bigint of base units; strings such as "$0.10" are parsed
 * once, at the edge, by {@link parseUsd}. Parsing is exact (no floating point) and strict: a value
 * that cannot be represented exactly in 6 decimals is rejected, never rounded.
 */

/** Decimals of USDC (and of every "$" amount in the harness). */
export const USD_DECIMALS = 6;

const UNIT = 10n ** BigInt(USD_DECIMALS);

// Optional "$", digits, optional fraction. No sign, no exponent, no thousands separators:
// anything a human could read two ways is refused.
const USD_PATTERN = /^\$?(\d+)(?:\.(\d*))?$/;

/** Error thrown by {@link parseUsd} for input that is not a non-negative amount with <= 6 decimals. */
export class MoneyParseError extends Error {
  constructor(input: unknown, reason: string) {
    super(`invalid USD amount ${JSON.stringify(input)}: ${reason}`);
    this.name = 'MoneyParseError';
  }
}

/**
 * Parses a dollar amount into USDC base units.
 *
 * Accepts "$0.10", "0.10", "$1", "1.", "$0.000001"; surrounding whitespace is ignored.
 * Rejects negatives, more than 6 decimals, exponents, separators, empty strings and non-strings.
 *
 * @example parseUsd("$0.10") === 100000n
 */
export function parseUsd(input: string): bigint {
  if (typeof input !== 'string') throw new MoneyParseError(input, 'not a string');
  const text = input.trim();
  if (text.startsWith('-') || text.startsWith('$-')) throw new MoneyParseError(input, 'negative amounts are not allowed');
  const m = USD_PATTERN.exec(text);
  if (!m) throw new MoneyParseError(input, 'expected digits with an optional "$" and at most 6 decimals');
  const whole = m[1]!;
  const frac = m[2] ?? '';
  if (frac.length > USD_DECIMALS) throw new MoneyParseError(input, `more than ${USD_DECIMALS} decimals`);
  return BigInt(whole) * UNIT + BigInt(frac.padEnd(USD_DECIMALS, '0') || '0');
}

/**
 * Formats base units as a dollar string with at least 2 and at most 6 decimals,
 * trailing zeros beyond the cents trimmed: 100000n -> "$0.10", 1n -> "$0.000001", -5n -> "-$0.000005".
 */
export function formatUsd(units: bigint): string {
  if (typeof units !== 'bigint') throw new TypeError('formatUsd expects a bigint of base units');
  const neg = units < 0n;
  const abs = neg ? -units : units;
  const whole = abs / UNIT;
  let frac = (abs % UNIT).toString().padStart(USD_DECIMALS, '0');
  while (frac.length > 2 && frac.endsWith('0')) frac = frac.slice(0, -1);
  return `${neg ? '-' : ''}$${whole}.${frac}`;
}

/** Base units of any token to an exact decimal string, no symbol, trailing zeros trimmed (`1500000`, 6 -> `1.5`). */
export function formatBaseUnits(value: bigint, decimals: number): string {
  const neg = value < 0n;
  const abs = neg ? -value : value;
  const scale = 10n ** BigInt(decimals);
  const frac = (abs % scale).toString().padStart(decimals, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${abs / scale}${frac ? `.${frac}` : ''}`;
}
