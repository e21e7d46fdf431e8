/**
 * A client never signs the same get-key/store-key message twice (the backend accepts each signature
 * once), and its timestamps stay inside the backend's ±300 s window however often the clock repeats
 * a second: the harness reverts the chain clock to the same second run after run (npm start signed
 * hundreds of get-key messages at one chain second, and a counter bumped past the last timestamp
 * drifted out of the window: AISP-BAL-01 and AISP-LEAK-01 ended indeterminate with a 401).
 */
import assert from 'node:assert/strict';
import { privateKeyToAccount } from 'viem/accounts';
import { test } from 'vitest';
import { createBackendClient } from './backend.ts';

const signer = privateKeyToAccount(`0x${'42'.repeat(32)}`);

test('500 get-key signatures at one clock second: all distinct, all within the window', async () => {
  const now = 1_800_000_000;
  const client = createBackendClient('http://backend.test', { clock: async () => now });
  const seen = new Set<number>();
  for (let i = 0; i < 500; i++) {
    const { timestamp } = await client.signGetKey(signer, 7n);
    assert.ok(Math.abs(timestamp - now) <= 300, `timestamp ${timestamp} is ${timestamp - now} s from the clock`);
    assert.ok(!seen.has(timestamp), `timestamp ${timestamp} signed twice`);
    seen.add(timestamp);
  }
  // The first is the clock itself; another rental starts from the clock again.
  assert.ok(seen.has(now));
  assert.equal((await client.signGetKey(signer, 8n)).timestamp, now);
  // Another client in this process (the same backend restarted on another port): still never a repeat.
  assert.ok(!seen.has((await createBackendClient('http://restarted.backend', { clock: async () => now }).signGetKey(signer, 7n)).timestamp));
});
