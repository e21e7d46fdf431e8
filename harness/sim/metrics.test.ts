/** The statistics behind metrics.json, on values worked out by hand. */
import assert from 'node:assert/strict';
import { test } from 'vitest';
import { gini, percentile, spearman } from './metrics.ts';

test('percentile: nearest rank', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 50), 50);
  assert.equal(percentile(xs, 95), 95);
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([1, 2, 3], 50), 2);
  assert.equal(percentile([], 50), undefined);
});

test('spearman: +1 for the same order, -1 for the reverse, ties share ranks, null when undefined', () => {
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  // Ranks x = (1.5, 1.5, 3), y = (1, 2, 3): r = 0.75 / sqrt(0.5 × 2) = 0.866…
  assert.ok(Math.abs((spearman([0, 0, 1], [1, 2, 3]) as number) - Math.sqrt(3) / 2) < 1e-12);
  assert.equal(spearman([1], [1]), null);
  assert.equal(spearman([1, 1, 1], [1, 2, 3]), null);
});

test('gini: 0 when equal, (n-1)/n when one holds everything, exact on base units', () => {
  assert.equal(gini([5n, 5n, 5n, 5n]), 0);
  assert.equal(gini([0n, 0n, 0n, 8n]), 0.75);
  // (2·(1·1 + 2·3) − 3·4) / (2·4) = 2/8
  assert.equal(gini([3n, 1n]), 0.25);
  assert.equal(gini([0n, 0n]), null);
  assert.throws(() => gini([-1n, 2n]), /negative/);
});
