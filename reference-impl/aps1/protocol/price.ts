/**
 * APS-1 prices are JSON numbers in USD (`pricing.basePrice`, a negotiation's `price`); escrows hold
 * token base units (6 decimals for the Tempo stablecoins, 1 token = 1 USD: profile APS-PROF-04).
 * The conversion happens once, at the edge, exactly: the number's shortest decimal form (what
 * `JSON.stringify` writes) is read digit by digit, never multiplied as a float.
 */

/**
 * A USD price as token base units, or null when it cannot be paid exactly: negative, not finite
 * (a JSON `1e999` parses to Infinity and the validator lets it through), or with more fractional
 * digits than the token has (0.0000001 at 6 decimals).
 */
export function usdToUnits(price: number, decimals = 6): bigint | null {
  if (typeof price !== 'number' || !Number.isFinite(price) || price < 0) return null;
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(price));
  if (!m) return null;
  const digits = `${m[1]}${m[2] ?? ''}`;
  const exp = Number(m[3] ?? 0) - (m[2]?.length ?? 0) + decimals;
  if (exp >= 0) return BigInt(digits) * 10n ** BigInt(exp);
  const cut = digits.length + exp;
  const frac = cut > 0 ? digits.slice(cut) : digits.padStart(-exp, '0');
  if (/[^0]/.test(frac)) return null;
  return cut > 0 ? BigInt(digits.slice(0, cut)) : 0n;
}

/** Token base units as a USD JSON number (exact for up to 15 significant digits). */
export function unitsToUsd(units: bigint, decimals = 6): number {
  const neg = units < 0n;
  const abs = neg ? -units : units;
  const s = abs.toString().padStart(decimals + 1, '0');
  const text = decimals ? `${s.slice(0, -decimals)}.${s.slice(-decimals)}` : s;
  return Number(`${neg ? '-' : ''}${text}`);
}
