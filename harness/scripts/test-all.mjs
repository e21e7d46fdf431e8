#!/usr/bin/env node
// `npm test`: typecheck, lint, forge tests (unit + invariant), then the TypeScript tests (vitest),
// and one last plain line any CI can read: `N passed, N failed`. Extra arguments go to vitest
// (e.g. `npm test -- harness/engine`); AMH_SKIP_FORGE=1 skips forge.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const bin = (name) => path.join('node_modules', '.bin', name);
const counts = { passed: 0, failed: 0, skipped: 0 };
const steps = [];

function step(name, cmd, args, opts = {}) {
  const t0 = Date.now();
  process.stdout.write(`\n== ${name}: ${[cmd, ...args].join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: opts.capture ? ['inherit', 'pipe', 'inherit'] : 'inherit', env: { ...process.env, ...opts.env }, encoding: 'utf8' });
  if (opts.capture) process.stdout.write(r.stdout ?? '');
  const ok = r.status === 0;
  steps.push(`${name} ${ok ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { ok, stdout: r.stdout ?? '' };
}

const typecheck = step('typecheck', bin('tsc'), ['--noEmit']);
counts[typecheck.ok ? 'passed' : 'failed']++;
const lint = step('lint', bin('biome'), ['check']);
counts[lint.ok ? 'passed' : 'failed']++;

if (process.env.AMH_SKIP_FORGE !== '1') {
  const forge = step('forge', bin('forge'), ['test', '--offline'], { capture: true });
  // forge ends with "Ran N test suites in …: P tests passed, F failed, S skipped (T total tests)".
  const m = /(\d+) tests passed, (\d+) failed, (\d+) skipped/.exec(forge.stdout);
  if (m) {
    counts.passed += Number(m[1]);
    counts.failed += Number(m[2]);
    counts.skipped += Number(m[3]);
  }
  if (!forge.ok && (!m || Number(m[2]) === 0)) counts.failed++;
}

const dir = mkdtempSync(path.join(tmpdir(), 'amh-test-'));
const file = path.join(dir, 'counts.json');
const vitest = step('vitest', bin('vitest'), ['run', ...process.argv.slice(2)], { env: { AMH_TEST_COUNTS: file } });
try {
  const v = JSON.parse(readFileSync(file, 'utf8'));
  counts.passed += v.passed;
  counts.failed += v.failed;
  counts.skipped += v.skipped;
} catch {
  counts.failed++; // vitest died before reporting
}
if (!vitest.ok && counts.failed === 0) counts.failed++;
rmSync(dir, { recursive: true, force: true });

process.stdout.write(`\n${steps.join('\n')}\n${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ''}\n`);
process.exit(counts.failed > 0 ? 1 : 0);
