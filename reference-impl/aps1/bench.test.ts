/** Smoke test of the APS-1 full-job benchmark: a tiny run exits 0 and prints one consistent JSON line (5 transactions per job). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('aps1 bench --n 2: exit 0, one JSON line, escrow + commit + verify + complete + settle per job', async () => {
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(path.join(root, 'node_modules', '.bin', 'tsx'), ['reference-impl/aps1/bench.ts', '--n', '2', '--warmup', '1'], { cwd: root, timeout: 180_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(out.bench, 'aps1-full-job');
  assert.deepEqual(out.txBreakdownPerJob, { 'NexusV2.createJob': 1, 'AIProofRegistry.commit': 1, 'AIProofRegistry.verify': 1, 'NexusV2.completeJob': 1, 'NexusV2.settleJob': 1 });
  assert.ok(out.jobsPerSecond > 0 && out.bareJobsPerSecond > 0 && Math.abs(out.ratio - out.jobsPerSecond / out.bareJobsPerSecond) < 0.01);
});
