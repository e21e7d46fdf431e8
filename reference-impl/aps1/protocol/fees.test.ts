/**
 * The fee function (fees.ts) against the seed's own figures and its properties: 8% of 5 AlphaUSD is
 * 400,000 (agentPayout 4,600,000), rounding is down with the dust to the payee, the penalty caps at
 * 10 tokens in the token's units (compat: 18-decimal units), and no ending creates or loses money.
 * Also: the forge vectors file is generated from this function and up to date.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { test } from 'vitest';
import { arbitrationPenalty, disputeBond, penaltyCap, platformFee, settleJob, settleMilestone, settlementAmounts, share } from './fees.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const REF = { penaltyBps: 300n, cap18: 10n * 10n ** 18n, decimals: 6, capIn18Decimals: false };

test('the seed’s settlement example: 5 AlphaUSD → agentPayout 4600000, platformFee 400000', () => {
  assert.deepEqual(settlementAmounts(5_000_000n, 800n), { agentPayout: 4_600_000n, platformFee: 400_000n });
});

test('rounding is down at the step: 12 → 0, 13 → 1; penalty 33 → 0, 34 → 1', () => {
  assert.equal(platformFee(12n, 800n), 0n);
  assert.equal(platformFee(13n, 800n), 1n);
  assert.equal(arbitrationPenalty(33n, REF), 0n);
  assert.equal(arbitrationPenalty(34n, REF), 1n);
  assert.deepEqual(settleMilestone(125n, 800n), { toAgent: 115n, toFees: 10n });
});

test('the cap is 10 tokens in the token’s own units; compat compares 10e18 as is', () => {
  assert.equal(penaltyCap(10n * 10n ** 18n, 6, false), 10_000_000n);
  assert.equal(penaltyCap(10n * 10n ** 18n, 6, true), 10n * 10n ** 18n);
  assert.equal(penaltyCap(10n * 10n ** 18n, 24, false), 10n * 10n ** 24n);
  assert.equal(arbitrationPenalty(1_000_000_000n, REF), 10_000_000n, '3% of 1,000 AlphaUSD is capped at 10');
  assert.equal(arbitrationPenalty(1_000_000_000n, { ...REF, capIn18Decimals: true }), 30_000_000n);
  assert.equal(arbitrationPenalty(333_333_333n, REF), 9_999_999n);
  assert.equal(arbitrationPenalty(333_333_334n, REF), 10_000_000n);
});

test('every ending conserves budget + bond; the fee never exceeds 8%; the reference never charges a winner', () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 1n, max: 2n ** 200n }),
      fc.constantFrom<'settle' | 'refund' | 'timeout'>('settle', 'refund', 'timeout'),
      fc.boolean(),
      fc.boolean(),
      (budget, end, disputed, compat) => {
        const fee = platformFee(budget, 800n);
        const rates = { ...REF, capIn18Decimals: compat };
        const bond = disputed ? disputeBond(budget, rates, compat) : 0n;
        if (end === 'timeout' && disputed && !compat) return;
        const s = settleJob({ end, budget, fee, disputed, bond, penaltyFromWinner: compat, penaltyNow: arbitrationPenalty(budget, rates) });
        assert.equal(s.toWorker + s.toEmployer + s.toFees, budget + bond);
        assert.ok(fee * 10_000n <= budget * 800n && (fee + 1n) * 10_000n > budget * 800n);
        if (!compat && end === 'settle') assert.equal(s.toWorker, budget - fee);
        if (!compat && end !== 'settle') assert.equal(s.toEmployer, budget + bond);
      },
    ),
  );
});

test('share is floor(amount × rate / 10 000)', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 2n ** 128n }), fc.bigInt({ min: 0n, max: 10_000n }), (a, r) => {
      const x = share(a, r);
      assert.ok(x * 10_000n <= a * r && (x + 1n) * 10_000n > a * r);
    }),
  );
});

test('the forge vectors (contracts/test/aps1/Aps1FeeVectors.sol) are generated from this function and up to date', () => {
  const out = execFileSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['reference-impl/aps1/gen-vectors.ts', '--check'], { cwd: ROOT, encoding: 'utf8' });
  assert.match(out, /up to date/);
});
