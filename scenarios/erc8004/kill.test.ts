/**
 * Kill-rate: every `erc8004` requirement is shown catching the defect it exists for, on broken
 * registries deployed to a fresh blank chain and described as a Target. The control passes all.
 */
import assert from 'node:assert/strict';
import { test, onTestFinished } from 'vitest';
import { runAgainst, startBrokenTarget } from '../../harness/target/testing.ts';
import { erc8004Requirements } from './requirements.ts';
import { ERC8004_KILLS } from './broken.ts';

test('control: correct registries pass every erc8004 requirement', async (_t) => {
  const bt = await startBrokenTarget({ identityBugs: 0n, reputationBugs: 0n });
  onTestFinished(() => bt.stop());
  const r = await runAgainst(bt.target, { protocols: ['erc8004'], runs: 8 });
  const bad = r.protocols[0]!.requirements.filter((q) => q.status !== 'pass');
  assert.deepEqual(
    bad.map((q) => `${q.id}: ${q.status} ${q.reason ?? ''}`),
    [],
  );
  assert.equal(r.exitCode, 0);
});

test('every erc8004 requirement has a kill row', () => {
  const killed = new Set(ERC8004_KILLS.map((k) => k.requirement));
  assert.deepEqual(
    erc8004Requirements.map((q) => q.id).filter((id) => !killed.has(id)),
    [],
  );
});

for (const k of ERC8004_KILLS) {
  test(`${k.requirement} catches: ${k.defect}`, async (_t) => {
    const bt = await startBrokenTarget({ identityBugs: k.identityBugs, reputationBugs: k.reputationBugs });
    onTestFinished(() => bt.stop());
    const r = await runAgainst(bt.target, { protocols: ['erc8004'], grep: k.requirement, runs: 15 });
    const q = r.protocols[0]!.requirements.find((x) => x.id === k.requirement)!;
    assert.equal(q.status, 'fail', `${k.requirement} should fail against "${k.defect}", got ${q.status} (${q.reason ?? ''})`);
    assert.equal(r.exitCode, 1);
  });
}
