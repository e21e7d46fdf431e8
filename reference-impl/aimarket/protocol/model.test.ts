/**
 * The executable channel model (model.ts) against the hub's rules: the deposit bounds, whole-cent
 * debits rounded up and never past the deposit, the order of the 402 reasons (closed, expired,
 * depleted), a failed call's refund, and close refunding the rest once.
 */
import assert from 'node:assert/strict';
import { test } from 'vitest';
import { CHANNEL_MAX_DEPOSIT_CENTS, closeChannelModel, debitModel, openChannelModel, refundDebitModel } from './model.ts';

test('a deposit is 1 cent to $10,000; the lifetime runs from the open', () => {
  assert.throws(() => openChannelModel(0n, 0, 600), /1\.\.1000000 cents, not 0/);
  assert.throws(() => openChannelModel(CHANNEL_MAX_DEPOSIT_CENTS + 1n, 0, 600), /not 1000001/);
  assert.deepEqual(openChannelModel(CHANNEL_MAX_DEPOSIT_CENTS, 100, 600), { depositCents: 1_000_000n, usedCents: 0n, expiresAt: 700, open: true });
});

test('debits are whole cents rounded up, never past the deposit; expiry is named before depletion, closed before both', () => {
  let ch = openChannelModel(3n, 0, 600);
  const a = debitModel(ch, 10_001n, 0);
  assert.ok(a.ok);
  assert.equal(a.cents, 2n);
  ch = a.next;
  // One cent left: a 1-unit call fits, a 2-cent one does not.
  assert.deepEqual(debitModel(ch, 10_001n, 599), { ok: false, why: 'depleted' });
  const b = debitModel(ch, 1n, 599);
  assert.ok(b.ok && b.cents === 1n && b.next.usedCents === 3n);
  assert.deepEqual(debitModel(b.next, 1n, 600), { ok: false, why: 'expired' });
  const closed = closeChannelModel(ch);
  assert.equal(closed.refundCents, 1n);
  assert.deepEqual(debitModel(closed.next, 1n, 600), { ok: false, why: 'closed' });
  assert.throws(() => closeChannelModel(closed.next), /already closed/);
});

test('a failed call gives its debit back, and no more', () => {
  const ch = openChannelModel(5n, 0, 600);
  const d = debitModel(ch, 20_000n, 10);
  assert.ok(d.ok);
  assert.deepEqual(refundDebitModel(d.next, d.cents), ch);
  assert.throws(() => refundDebitModel(d.next, 3n), /exceeds the 2 used/);
  assert.equal(closeChannelModel(refundDebitModel(d.next, d.cents)).refundCents, 5n);
});
