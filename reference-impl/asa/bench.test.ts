/** Smoke test of the asa benchmark: a tiny run exits 0 and prints one consistent JSON line. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('asa bench --n 20 --paid 4: exit 0, one JSON line with three ratios', async () => {
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(path.join(root, 'node_modules', '.bin', 'tsx'), ['reference-impl/asa/bench.ts', '--n', '20', '--paid', '4'], { cwd: root, timeout: 180_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(out.bench, 'asa');
  for (const [a, b, ratio] of [
    ['relayPublishPerSecond', 'echoPublishPerSecond', 'publishRatio'],
    ['relayQueryPerSecond', 'echoQueryPerSecond', 'queryRatio'],
    ['paidRequestsPerSecond', 'barePaymentsPerSecond', 'paidRatio'],
  ] as const) {
    assert.ok(out[a] > 0 && out[b] > 0, `${a} and ${b} are positive`);
    assert.ok(Math.abs(out[ratio] - out[a] / out[b]) < 0.05 * Math.max(1, out[ratio]), `${ratio} is ${a}/${b}`);
  }
});
