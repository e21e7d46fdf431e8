import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { addPlatformEntries, missingOptionalEntries } from './lock-platforms.ts';

const lockText = readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8');

test('package-lock.json lists every optional dependency, so `npm ci` accepts it', () => {
  assert.deepEqual(missingOptionalEntries(JSON.parse(lockText)), [], 'run `npx tsx harness/scripts/lock-platforms.ts`');
});

test('a lock that lost a platform entry is caught and repaired with the right os/cpu', () => {
  const lock = JSON.parse(lockText);
  delete lock.packages['node_modules/@foundry-rs/anvil-linux-arm64'];
  assert.deepEqual(missingOptionalEntries(lock), [{ key: 'node_modules/@foundry-rs/anvil-linux-arm64', version: '1.7.1' }]);
  const { added, unknown } = addPlatformEntries(lock);
  assert.deepEqual(added, ['node_modules/@foundry-rs/anvil-linux-arm64']);
  assert.deepEqual(unknown, []);
  assert.deepEqual(lock.packages['node_modules/@foundry-rs/anvil-linux-arm64'].os, ['linux']);
  assert.deepEqual(lock.packages['node_modules/@foundry-rs/anvil-linux-arm64'].cpu, ['arm64']);
  assert.deepEqual(missingOptionalEntries(lock), []);
});
