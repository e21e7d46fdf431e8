/**
 * Kill-rate: every `usdc` requirement is shown catching the defect it exists for. Each row deploys
 * BrokenFiatToken with one bug bit on a fresh blank chain, describes it as a Target and runs the
 * scenarios covering that requirement. The control row (no bug) must pass everything.
 */
import assert from 'node:assert/strict';
import { test, onTestFinished } from 'vitest';
import { runAgainst, startBrokenTarget } from '../../harness/target/testing.ts';
import { usdcRequirements } from './requirements.ts';
import { USDC_KILLS } from './broken.ts';

test('control: a correct token passes every usdc requirement', async (_t) => {
  const bt = await startBrokenTarget({ tokenBugs: 0n });
  onTestFinished(() => bt.stop());
  const r = await runAgainst(bt.target, { protocols: ['usdc'], runs: 8 });
  const bad = r.protocols[0]!.requirements.filter((q) => q.status !== 'pass');
  assert.deepEqual(
    bad.map((q) => `${q.id}: ${q.status} ${q.reason ?? ''}`),
    [],
  );
  assert.equal(r.exitCode, 0);
});

test('every usdc requirement has a kill row', () => {
  const killed = new Set(USDC_KILLS.map((k) => k.requirement));
  assert.deepEqual(
    usdcRequirements.map((q) => q.id).filter((id) => !killed.has(id)),
    [],
  );
});

for (const k of USDC_KILLS) {
  test(`${k.requirement} catches: ${k.defect}`, async (_t) => {
    const bt = await startBrokenTarget({ tokenBugs: k.bug });
    onTestFinished(() => bt.stop());
    const r = await runAgainst(bt.target, { protocols: ['usdc'], grep: k.requirement, runs: 15 });
    const q = r.protocols[0]!.requirements.find((x) => x.id === k.requirement)!;
    assert.equal(q.status, 'fail', `${k.requirement} should fail against "${k.defect}", got ${q.status} (${q.reason ?? ''})`);
    const sc = r.protocols[0]!.scenarios.find((s) => s.counterexample?.requirement === k.requirement)!;
    assert.ok(sc.counterexample!.actions.length > 0, 'counterexample lists agent actions');
    assert.equal(r.exitCode, 1);
  });
}
