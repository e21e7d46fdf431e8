/**
 * Smoke test of the refusal-cost benchmark (bench-refusals.ts): it runs, measures every heavy
 * request of the fuzz and its quadratic control, and every heavy request got the answer it must.
 * Its exit code and figures are timings: printed by `npm run bench`, never asserted here.
 */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { heavyRequests } from './protocol/fuzz.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

test('bench-refusals --tries 1: one JSON line with every heavy request answered right and the quadratic control measured', async () => {
  const r = await new Promise<{ stdout: string; stderr: string }>((resolve) =>
    execFile(tsx, ['reference-impl/agentripe/bench-refusals.ts', '--tries', '1'], { cwd: root, timeout: 300_000 }, (_err, stdout, stderr) => resolve({ stdout, stderr })),
  );
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(out.bench, 'agentripe-refusals', r.stderr);
  const notes = heavyRequests({ agent: 1n, service: 's', validAuth: {} }, 0).map((q) => q.note);
  assert.deepEqual(
    out.refusals.map((x: { note: string }) => x.note),
    notes,
  );
  assert.deepEqual(
    out.refusals.filter((x: { problem: string | null }) => x.problem !== null),
    [],
  );
  for (const x of out.refusals) assert.ok(x.cpuMs > 0 && Number.isFinite(x.ratio), JSON.stringify(x));
  assert.ok(out.bareParseMs > 0 && out.control.cpuMs > 0);
});
