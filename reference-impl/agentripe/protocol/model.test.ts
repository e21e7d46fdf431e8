/** The Agentripe oracle model (model.ts): transitions, the 5-rejection rule, money conservation. */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AGENTRIPE_PROFILE, allowed, newTask, payout, raceOutcomes, step, terminal, type TaskModel, type VendorAction } from './model.ts';

const apply = (t: TaskModel, a: VendorAction) => {
  const r = step(t, a);
  assert.equal(r.refused, false, `${a.kind} from ${t.status} should be allowed`);
  return (r as { next: TaskModel }).next;
};

test('happy path: pending → processing → completed, the full amount to the vendor', () => {
  let t = newTask(100_000n);
  t = apply(t, { kind: 'start' });
  assert.equal(t.status, 'processing');
  const r = step(t, { kind: 'complete', approved: true });
  assert.ok(!r.refused && r.escrowAction === 'released');
  assert.deepEqual([r.next.status, r.next.escrow, r.next.vendorCredit, r.next.buyerCredit], ['completed', 'released', 100_000n, 0n]);
});

test('rejections 1..4 keep the deposit; the 5th refunds; nothing is allowed afterwards', () => {
  let t = apply(newTask(7n), { kind: 'start' });
  for (let i = 1; i < AGENTRIPE_PROFILE.reviewLimit; i++) {
    const r = step(t, { kind: 'complete', approved: false });
    assert.ok(!r.refused && r.escrowAction === 'none');
    t = r.next;
    assert.deepEqual([t.status, t.escrow, t.rejections], ['rejected', 'deposited', i]);
  }
  const r = step(t, { kind: 'complete', approved: false });
  assert.ok(!r.refused && r.escrowAction === 'refunded');
  assert.deepEqual([r.next.status, r.next.escrow, r.next.buyerCredit, r.next.rejections], ['failed', 'refunded', 7n, 5]);
  for (const a of [{ kind: 'start' }, { kind: 'complete', approved: true }, { kind: 'fail' }] as VendorAction[]) assert.equal(step(r.next, a).refused, true);
});

test('a different limit changes the rule (what-if profiles)', () => {
  const t = apply(newTask(1n), { kind: 'start' });
  const r = step(t, { kind: 'complete', approved: false }, 1);
  assert.ok(!r.refused && r.next.status === 'failed');
});

test('refusals: complete from pending, start from processing', () => {
  assert.equal(step(newTask(1n), { kind: 'complete', approved: true }).refused, true);
  assert.equal(step(apply(newTask(1n), { kind: 'start' }), { kind: 'start' }).refused, true);
  assert.equal(allowed(newTask(1n), 'fail'), true);
});

test('no fee: payout is the amount', () => {
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: 2n ** 255n }), (a) => payout(a) === a));
});

test('property: any action sequence conserves money and resolves at most once', () => {
  const action = fc.oneof(
    fc.constant<VendorAction>({ kind: 'start' }),
    fc.constant<VendorAction>({ kind: 'fail' }),
    fc.boolean().map((approved): VendorAction => ({ kind: 'complete', approved })),
  );
  fc.assert(
    fc.property(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.array(action, { maxLength: 20 }), (amount, actions) => {
      let t = newTask(amount);
      let resolutions = 0;
      for (const a of actions) {
        const r = step(t, a);
        if (r.refused) continue;
        if (r.escrowAction !== 'none') resolutions++;
        t = r.next;
      }
      assert.ok(resolutions <= 1);
      assert.ok(t.vendorCredit + t.buyerCredit === (t.escrow === 'deposited' ? 0n : amount));
      assert.equal(terminal(t), t.escrow !== 'deposited');
    }),
  );
});

test('race outcomes are the two sequential orders', () => {
  const t = apply(newTask(5n), { kind: 'start' });
  const outs = raceOutcomes(t, { kind: 'complete', approved: true }, { kind: 'fail' });
  assert.deepEqual(
    outs.map((o) => o.escrow),
    ['released', 'refunded'],
  );
});
