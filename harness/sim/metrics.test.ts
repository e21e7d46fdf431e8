/** The statistics behind metrics.json, and the metrics of a small market, on values worked out by hand. */
import assert from 'node:assert/strict';
import { test } from 'vitest';
import { loadSimulations } from '../packs/discover.ts';
import { parseEconomy } from './economy.ts';
import { computeMetrics, gini, percentile, spearman } from './metrics.ts';
import { simulateModel } from './model-engine.ts';

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

test('metrics of a market worked out by hand: earnings, costs, profit, surplus, fees, Gini, undercut price', async () => {
  const economy = parseEconomy({
    name: 'by-hand',
    durationHours: 5,
    protocols: { agentripe: 1 },
    profiles: { agentripe: { escrowFeeBps: 100 } },
    demand: { arrivalsPerHour: 6 },
    populations: [
      { name: 'b', role: 'buyer', count: 1, balance: '$1000', budget: '$0.50' },
      { name: 'pro', role: 'seller', strategy: 'honest', count: 1, price: '$0.30', costPerAttempt: '$0.05' },
      // 10% under the pro: $0.27, and cheapest buyers always take it.
      { name: 'cut', role: 'seller', strategy: 'undercutting', count: 1, costPerAttempt: '$0.07' },
    ],
  });
  const r = await simulateModel({ economy, seed: 3, packs: await loadSimulations() });
  const m = computeMetrics(r, { startedAt: '2026-12-01T00:00:00.000Z', wallMs: 1 });
  const n = BigInt(m.tasks);
  assert.ok(n > 10n);
  assert.deepEqual(m.byOutcome, { completed: Number(n) });
  const [pro, cut] = m.roles.sellers;
  assert.deepEqual(cut?.prices, { min: '270000', max: '270000' });
  assert.equal(pro?.tasks, 0);
  // 1% fee rounded down: 270000 × 100 / 10000 = 2700 exactly; the vendor gets 267300.
  assert.equal(cut?.earnings, String(267_300n * n));
  assert.equal(cut?.costs, String(70_000n * n));
  assert.equal(cut?.profit, String(197_300n * n));
  assert.equal(m.perProtocol.agentripe?.fees, String(2_700n * n));
  assert.equal(m.roles.buyers[0]?.surplus, String(230_000n * n));
  assert.equal(m.welfare.total, String((230_000n + 197_300n) * n));
  // Two sellers, one earns everything: Gini (n-1)/n = 0.5.
  assert.equal(m.gini.sellerEarnings, 0.5);
  assert.equal(m.timeToSettleMs.p50, 600_000);
  assert.equal(m.rates.paid, 1);
  const held = m.conservation.held;
  assert.equal(BigInt(held.buyers) + BigInt(held.sellers) + BigInt(held.fees.agentripe ?? 0) + BigInt(held.escrow.agentripe ?? 0), 1_000_000_000n);
});
