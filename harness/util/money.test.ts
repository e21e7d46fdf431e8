import { test } from 'vitest';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatBaseUnits, formatUsd, parseUsd, MoneyParseError } from './money.ts';

test('parseUsd: documented vectors', () => {
  assert.equal(parseUsd('$0.10'), 100000n);
  assert.equal(parseUsd('0.10'), 100000n);
  assert.equal(parseUsd('$1'), 1000000n);
  assert.equal(parseUsd('$0.000001'), 1n);
  assert.equal(parseUsd(' $12.5 '), 12500000n);
  assert.equal(parseUsd('$0'), 0n);
  assert.equal(parseUsd('3.'), 3000000n);
  assert.equal(parseUsd('$123456789012.123456'), 123456789012123456n);
});

test('parseUsd: rejects negatives, >6 decimals and garbage', () => {
  for (const bad of ['-1', '$-0.10', '-$0.10', '$0.0000001', '1.1234567', '', '$', 'abc', '1e3', '$1,000', '0x10', '1.2.3', '.5', '$ 1', 'NaN', 'Infinity']) {
    assert.throws(() => parseUsd(bad), MoneyParseError, `should reject ${JSON.stringify(bad)}`);
  }
  assert.throws(() => parseUsd(0.1 as unknown as string), MoneyParseError);
});

test('formatUsd: vectors', () => {
  assert.equal(formatUsd(100000n), '$0.10');
  assert.equal(formatUsd(1n), '$0.000001');
  assert.equal(formatUsd(0n), '$0.00');
  assert.equal(formatUsd(1234567n), '$1.234567');
  assert.equal(formatUsd(5000000n), '$5.00');
  assert.equal(formatUsd(-5n), '-$0.000005');
});

test('parseUsd(formatUsd(x)) === x for every non-negative amount', () => {
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 24n }), (x) => parseUsd(formatUsd(x)) === x));
});

test('formatBaseUnits renders base units exactly (no float)', () => {
  assert.equal(formatBaseUnits(1_000_000_000_000n, 6), '1000000');
  assert.equal(formatBaseUnits(1_500_001n, 6), '1.500001');
  assert.equal(formatBaseUnits(10n ** 22n, 18), '10000');
  assert.equal(formatBaseUnits(9_999_999_999_999_999_999_123n, 18), '9999.999999999999999123');
  assert.equal(formatBaseUnits(0n, 6), '0');
  assert.equal(formatBaseUnits(-5n, 6), '-0.000005');
});
