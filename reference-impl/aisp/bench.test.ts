/** Smoke test of the AISP rental benchmark: a tiny run exits 0 and prints one consistent JSON line (4 transactions per rental). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

test('bench: 2 rentals through the stack and bare; the ratio is stack rate / bare rate', { timeout: 180_000 }, async () => {
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(tsx, ['reference-impl/aisp/bench.ts', '--n', '2', '--warmup', '1'], { cwd: root, timeout: 170_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { bench: string; n: number; txPerRental: number; rentalsPerSecond: number; bareRentalsPerSecond: number; ratio: number };
  assert.equal(last.bench, 'aisp-rental');
  assert.equal(last.n, 2);
  assert.equal(last.txPerRental, 4, 'list, approve, fund, settle');
  assert.ok(last.rentalsPerSecond > 0 && last.bareRentalsPerSecond > 0);
  assert.ok(Math.abs(last.ratio - last.rentalsPerSecond / last.bareRentalsPerSecond) < 0.01);
  assert.match(r.stdout, /ratio \(stack \/ bare\)/);
});
