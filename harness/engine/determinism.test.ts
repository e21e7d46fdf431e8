/**
 * Determinism: the same seed gives the same verdicts and the same shrunk counterexamples (actions,
 * seed, path), run after run, on a target with several defects. (The CLI equivalent is
 * `amh run --runs 200 --seed 42` twice; here 12 runs per scenario, enough for
 * four shrunk counterexamples, keep the test short.)
 */
import assert from 'node:assert/strict';
import { test, onTestFinished } from 'vitest';
import { runAgainst, startBrokenTarget } from '../target/testing.ts';
import type { Report } from '../report/types.ts';

const fingerprint = (r: Report) =>
  r.protocols.flatMap((p) => [
    ...p.requirements.map((q) => `${q.id}=${q.status}`),
    ...p.scenarios.map((s) =>
      JSON.stringify({
        id: s.caseId,
        status: s.status,
        runs: s.runs,
        cx: s.counterexample && { req: s.counterexample.requirement, actions: s.counterexample.actions, seed: s.counterexample.seed, path: s.counterexample.path, value: s.counterexample.value },
      }),
    ),
  ]);

test('same seed twice → identical verdicts and counterexamples', async (_t) => {
  // Expired authorizations accepted + permit approves half + anyone sets the agent wallet + revoked feedback counted.
  const opts = { tokenBugs: 1n | (1n << 11n), identityBugs: 1n, reputationBugs: 1n << 2n };
  const a = await startBrokenTarget(opts);
  onTestFinished(() => a.stop());
  const first = await runAgainst(a.target, { protocols: ['usdc', 'erc8004'], runs: 12, seed: 42 });
  const second = await runAgainst(a.target, { protocols: ['usdc', 'erc8004'], runs: 12, seed: 42 });
  assert.deepEqual(fingerprint(second), fingerprint(first));
  const failing = first.protocols.flatMap((p) => p.scenarios.filter((s) => s.status === 'fail').map((s) => s.counterexample!.requirement));
  assert.ok(failing.length >= 4, `several counterexamples compared (${failing.join(', ')})`);
});
