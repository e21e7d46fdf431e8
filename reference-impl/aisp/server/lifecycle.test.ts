/**
 * The AISP reference stack end to end on a real anvil: a provider lists and stores a scoped key, a
 * renter funds and gets it, uses it on the inference server (debiting the provider's DIEM), the term
 * ends and the rental settles 99/1; a revoke refunds the unused days, rotates the key and ends key
 * release; only the funder, only while active.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { privateKeyToAccount } from 'viem/accounts';
import { roleAccount } from '../../../harness/chain/index.ts';
import { settleSplit, revokeSplit } from '../protocol/fees.ts';
import { LAB_MODEL } from '../protocol/inference.ts';
import { AISP_PROFILE, DIEM } from '../protocol/profile.ts';
import { listingAnswer } from '../protocol/wire.ts';
import { startLab, type Lab } from './testkit.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await startLab();
});
afterAll(async () => {
  await lab?.stop();
});

const terms = { pricePerDay: 800_000n, termDays: 30n, diemMin: 10n * DIEM, diemMax: 40n * DIEM };

test('list → store key → fund → get key → use → settle, exact to the unit', { timeout: 60_000 }, async () => {
  const provider = lab.provider();
  const { listingId, key } = await provider.createListing(terms);
  const l = await lab.backend.listing(listingId);
  const view = listingAnswer.parse(l.body);
  assert.equal(view.rentable, true);
  assert.equal(view.diemAvailable, 40n * DIEM);
  assert.ok(!l.text.includes(key.apiKey), 'the listing never shows the key');

  const renter = lab.renter('buyer1');
  const before = await lab.balance(roleAccount('buyer1').address);
  const rented = await renter.rent(listingId, 3n, 10n * DIEM);
  assert.equal(rented.apiKey, key.apiKey, 'the funder gets the stored key');
  const onChain = await lab.rental(rented.rentalId);
  assert.equal(BigInt(rented.expiresAt), onChain.expiresAt);
  assert.equal(before - (await lab.balance(roleAccount('buyer1').address)), rented.cost);
  assert.equal(rented.cost, 800_000n * 10n * 3n);

  const rl0 = await lab.venice.rateLimits(lab.stack.adminKeys.provider!);
  const used = await renter.use(rented.apiKey, LAB_MODEL, 'hello there');
  assert.equal(used.status, 200, JSON.stringify(used.body));
  const rl1 = await lab.venice.rateLimits(lab.stack.adminKeys.provider!);
  assert.ok(rl1.body.data.balances.DIEM < rl0.body.data.balances.DIEM, "using the rented key debits the provider's DIEM");

  // Not the funder.
  const thief = privateKeyToAccount(roleAccount('attacker').privateKey);
  const stolen = await lab.backend.getKey(rented.rentalId, await lab.backend.signGetKey(thief, rented.rentalId));
  assert.equal(stolen.status, 403);
  assert.ok(!stolen.text.includes(key.apiKey));

  await assert.rejects(provider.settle(rented.rentalId), /reverted/, 'settle before expiry is refused');
  await lab.warp(3 * 86_400);
  const after = await lab.backend.getKey(rented.rentalId, await lab.backend.signGetKey(privateKeyToAccount(roleAccount('buyer1').privateKey), rented.rentalId));
  assert.equal(after.status, 410, 'no key after expiry');
  const p0 = await lab.balance(roleAccount('provider').address);
  const f0 = await lab.balance(AISP_PROFILE.feeRecipient);
  await provider.settle(rented.rentalId);
  const split = settleSplit(rented.cost);
  assert.equal((await lab.balance(roleAccount('provider').address)) - p0, split.provider);
  assert.equal((await lab.balance(AISP_PROFILE.feeRecipient)) - f0, split.fee);
});

test('revoke: the renter gets the unused days back, the key rotates, the old key stops working', { timeout: 60_000 }, async () => {
  const provider = lab.provider();
  const { listingId } = await provider.createListing(terms);
  const renter = lab.renter('buyer2');
  const rented = await renter.rent(listingId, 10n, 20n * DIEM);
  await lab.warp(2 * 86_400 + 5);
  const b0 = await lab.balance(roleAccount('buyer2').address);
  const fresh = await provider.revokeAndRefund(rented.rentalId, listingId);
  assert.ok(fresh);
  const split = revokeSplit(rented.cost, 10n, 3n);
  assert.equal((await lab.balance(roleAccount('buyer2').address)) - b0, split.refund);
  const again = await lab.backend.getKey(rented.rentalId, await lab.backend.signGetKey(privateKeyToAccount(roleAccount('buyer2').privateKey), rented.rentalId));
  assert.equal(again.status, 410);
  const old = await renter.use(rented.apiKey, LAB_MODEL, 'still here?');
  assert.equal(old.status, 401, 'the rotated-out key is refused by the inference server');
  const v = listingAnswer.parse((await lab.backend.listing(listingId)).body);
  assert.equal(v.diemRented, 0n);
});
