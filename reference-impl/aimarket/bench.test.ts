/** Smoke test of the AI Market benchmark: a tiny run exits 0 and prints one consistent JSON line with both ratios. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('aimarket bench --n 3: exit 0, one JSON line, per-call and channel ratios', { timeout: 180_000 }, async () => {
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(path.join(root, 'node_modules', '.bin', 'tsx'), ['reference-impl/aimarket/bench.ts', '--n', '3', '--rounds', '1'], { cwd: root, timeout: 170_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(out.bench, 'aimarket-paid-invocations');
  for (const k of ['perCall', 'channel']) {
    const x = out[k];
    assert.ok(x.invocationsPerSecond > 0 && x.barePerSecond > 0 && Math.abs(x.ratio - x.invocationsPerSecond / x.barePerSecond) < 0.01, JSON.stringify(x));
  }
});
