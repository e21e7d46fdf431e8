/**
 * Anvil writes the block states it moves out of memory to disk and never deletes them: each anvil
 * gets its own directory (`--cache-path`), removed when the harness stops it; directories of
 * processes that are gone (killed with their process group) are swept at the next start.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'vitest';
import { ANVIL_STATE_ROOT, LONG_RUN_STATES, revert, snapshot, startChain } from './anvil.ts';
import { rpcCall } from './rpc.ts';

const mine = () => (existsSync(ANVIL_STATE_ROOT) ? readdirSync(ANVIL_STATE_ROOT).filter((n) => n.startsWith(`${process.pid}-`)) : []);

test("an anvil's state directory lives while it runs and goes when it stops; a dead process's directory is swept at the next start", async () => {
  // A process that has exited: its pid names a stale directory, as a killed run leaves one.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const stale = path.join(ANVIL_STATE_ROOT, `${dead}-left`);
  mkdirSync(stale, { recursive: true });
  writeFileSync(path.join(stale, '0xabc.json'), '{}');
  const before = mine();
  const chain = await startChain({ profile: 'base' });
  try {
    const now = mine().filter((n) => !before.includes(n));
    assert.equal(now.length, 1, 'one directory for this anvil');
    const args = readFileSync(`/proc/${chain.pid}/cmdline`, 'utf8').split('\0');
    assert.ok(args.includes('--cache-path') && args.includes(path.join(ANVIL_STATE_ROOT, now[0]!)), 'anvil writes its states there');
    assert.ok(!existsSync(stale), 'the dead process’s directory is gone');
  } finally {
    await chain.stop();
  }
  assert.deepEqual(mine(), before, 'stopping the chain removed its directory');
});

test('a long-run chain (pruneHistory) keeps its past states in memory only: anvil is told so', async () => {
  const chain = await startChain({ profile: 'base', pruneHistory: LONG_RUN_STATES });
  try {
    const args = readFileSync(`/proc/${chain.pid}/cmdline`, 'utf8').split('\0');
    assert.equal(args[args.indexOf('--prune-history') + 1], String(LONG_RUN_STATES));
    // Snapshots still revert on such a chain (the load and simulation engines use none, the harness's set-up may).
    const id = await snapshot(chain.rpcUrl);
    const height = await rpcCall<string>(chain.rpcUrl, 'eth_blockNumber');
    await rpcCall(chain.rpcUrl, 'anvil_mine', ['0x12c']);
    await revert(chain.rpcUrl, id);
    assert.equal(await rpcCall<string>(chain.rpcUrl, 'eth_blockNumber'), height, '300 blocks later, more than it keeps, the snapshot still reverts');
  } finally {
    await chain.stop();
  }
});
