import assert from 'node:assert/strict';
import { test } from 'vitest';
import { bytesToHex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { ROLE_MNEMONIC, ROLE_NAMES, roleAccount, roleAccounts } from './accounts.ts';

test('written-out role keys are exactly the derivation of ROLE_MNEMONIC (m/44/60/0/0/i)', () => {
  assert.equal(roleAccounts.length, ROLE_NAMES.length);
  ROLE_NAMES.forEach((role, i) => {
    const derived = mnemonicToAccount(ROLE_MNEMONIC, { addressIndex: i });
    const listed = roleAccounts[i]!;
    assert.equal(listed.role, role);
    assert.equal(listed.address, derived.address, `address of ${role}`);
    assert.equal(listed.privateKey, bytesToHex(derived.getHdKey().privateKey!), `key of ${role}`);
  });
});

test('roleAccount finds known roles and names the known ones when asked for an unknown one', () => {
  assert.equal(roleAccount('buyer1').address, roleAccounts[2]!.address);
  assert.throws(() => roleAccount('nobody'), /unknown role 'nobody'; known roles: admin, operator/);
});

test('role addresses are distinct', () => {
  assert.equal(new Set(roleAccounts.map((a) => a.address)).size, roleAccounts.length);
});
