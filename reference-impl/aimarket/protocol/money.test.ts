/** Money: exact parsing, the cents ceiling at its boundaries, routed prices and the trust formula. */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { centsCeil, formatUsd, parseUsdMicros, routedPriceAcceptable, routedPriceExact, usdNumber } from './money.ts';
import { trustScore } from './trust.ts';

describe('parseUsdMicros', () => {
  it.each([
    ['0.40', 400_000n],
    [0.4, 400_000n],
    ['3', 3_000_000n],
    [3.0, 3_000_000n],
    ['0.000001', 1n],
    ['0.0000001', 1n],
    ['0.0000010', 1n],
    ['0.0000011', 2n],
    [1e-7, 1n],
    ['1e2', 100_000_000n],
    ['2.5E-3', 2_500n],
  ])('%s → %s micros', (v, want) => {
    expect(parseUsdMicros(v)).toBe(want);
  });
  it('refuses negatives, garbage, non-finite', () => {
    for (const bad of ['-1', '', 'abc', '1,5', ' ', Number.NaN, Infinity, -0.5, null, {}, '0x10']) expect(() => parseUsdMicros(bad)).toThrow();
  });
  test.prop([fc.bigInt({ min: 0n, max: 10n ** 15n })])('format then parse is the identity', (m) => {
    expect(parseUsdMicros(formatUsd(m))).toBe(m);
    expect(parseUsdMicros(usdNumber(m))).toBe(m);
  });
});

describe('cents ceiling (channel ledger)', () => {
  it.each([
    [0n, 0n],
    [1n, 1n],
    [4_000n, 1n],
    [9_999n, 1n],
    [10_000n, 1n],
    [10_001n, 2n],
    [15_000n, 2n],
    [400_000n, 40n],
    [400_001n, 41n],
  ])('%s micros → %s cents', (m, c) => {
    expect(centsCeil(m)).toBe(c);
  });
  test.prop([fc.bigInt({ min: 0n, max: 10n ** 12n })])('never undercharges, never overcharges by a cent or more', (m) => {
    const c = centsCeil(m);
    expect(c * 10_000n >= m).toBe(true);
    expect(c * 10_000n - m < 10_000n).toBe(true);
  });
});

describe('routed price', () => {
  it('spec §3.2 example: 0.40 at 100 bps → 0.404', () => {
    expect(routedPriceExact(400_000n, 100n)).toEqual({ num: 4_040_000_000n, den: 10_000n });
    expect(routedPriceAcceptable(0.404, 400_000n, 100n)).toBe(true);
    expect(routedPriceAcceptable(0.4 * (1 + 100 / 10000), 400_000n, 100n)).toBe(true);
    expect(routedPriceAcceptable(0.4, 400_000n, 100n)).toBe(false);
    expect(routedPriceAcceptable(0.408, 400_000n, 100n)).toBe(false);
  });
});

describe('trust score (spec §5.1)', () => {
  it('weights and clamps', () => {
    expect(trustScore({ hubAgeDays: 365, bondUsd: 10_000, successful: 10, total: 10, volumeUsd30d: 100_000 })).toBeCloseTo(1, 12);
    expect(trustScore({ hubAgeDays: 0, bondUsd: 0, successful: 0, total: 0, volumeUsd30d: 0 })).toBe(0);
    expect(trustScore({ hubAgeDays: 182.5, bondUsd: 100, successful: 9, total: 10, volumeUsd30d: 1000 })).toBeCloseTo(0.2 * 0.5 + 0.3 * 0.5 + 0.35 * 0.9 + 0.15 * 0.6, 12);
  });
});
