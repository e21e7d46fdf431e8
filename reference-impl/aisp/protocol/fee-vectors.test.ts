/** The forge tests' vectors (contracts/test/aisp/FeeVectors.sol) are what the TypeScript fee math computes today. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'vitest';
import { VECTORS_FILE, vectorsSource } from './fee-vectors.ts';
import { protocolFee, rentalCost, revokeSplit, settleSplit, UINT256_MAX } from './fees.ts';
import { DIEM } from './profile.ts';

test('contracts/test/aisp/FeeVectors.sol is up to date (else: npx tsx reference-impl/aisp/protocol/fee-vectors.ts --write)', () => {
  assert.equal(readFileSync(VECTORS_FILE, 'utf8'), vectorsSource());
});

test('fee math: the seed example, 1 unit, rounding directions, and the uint256 maximum', () => {
  assert.equal(rentalCost(800_000n, 1_000n * DIEM, 30n), 24_000_000_000n, '$0.80 x 1000 DIEM x 30 days = $24,000');
  assert.equal(rentalCost(1n, 1n, 1n), 1n, 'cost rounds up: never free');
  assert.equal(protocolFee(1n), 0n, 'fee rounds down: 1 unit pays no fee');
  assert.equal(protocolFee(100n), 1n);
  assert.equal(protocolFee(UINT256_MAX), UINT256_MAX / 100n, 'exact at max, no overflow');
  assert.deepEqual(settleSplit(24_000_000_000n), { provider: 23_760_000_000n, fee: 240_000_000n }, '99% / 1%');
  const r = revokeSplit(100n, 3n, 1n);
  assert.deepEqual([r.earned, r.refund], [34n, 66n], 'the provider share of started days rounds up');
  assert.equal(revokeSplit(UINT256_MAX, 365n, 364n).earned + revokeSplit(UINT256_MAX, 365n, 364n).refund, UINT256_MAX);
});
