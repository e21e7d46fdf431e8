#!/usr/bin/env node
// `npm test`: typecheck and lint with the forge build beside them, then the TypeScript tests (vitest) with the forge
// tests (unit + invariant) beside them,
// and one last plain line any CI can read: `N passed, N failed`. Extra arguments go to vitest
// (e.g. `npm test -- harness/engine`); AMH_SKIP_FORGE=1 skips forge.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const bin = (name) => path.join('node_modules', '.bin', name);
const counts = { passed: 0, failed: 0, skipped: 0 };
/** Failed vitest tests (file > name: first error line), printed just above the last line. */
const failures = [];
const steps = [];

function step(name, cmd, args, opts = {}) {
  const t0 = Date.now();
  process.stdout.write(`\n== ${name}: ${[cmd, ...args].join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...opts.env } });
  const ok = r.status === 0;
  steps.push(`${name} ${ok ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { ok };
}

// Forge in two parts, each beside work on the other core: the build (solcjs compiles on one core for
// about a minute) beside typecheck and lint, then its tests (unit + invariant) beside vitest, which
// needs the built artifacts (vitest's own global-setup build is skipped when this one succeeded).
// Output goes to a file (this process is blocked in spawnSync meanwhile) and is printed in its block.
function background(name, args, env = {}) {
  const t0 = Date.now();
  const logFile = path.join(mkdtempSync(path.join(tmpdir(), 'amh-forge-')), 'forge.log');
  const fd = openSync(logFile, 'w');
  const child = spawn(bin('forge'), args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
  closeSync(fd);
  const done = (status) => {
    const out = readFileSync(logFile, 'utf8');
    rmSync(path.dirname(logFile), { recursive: true, force: true });
    return { name, args, env, status, out, t0 };
  };
  // 'close' may follow 'error' (a forge that did not start): the first one ends it.
  return new Promise((resolve) => {
    child.once('error', (e) => {
      child.removeAllListeners('close');
      resolve({ ...done(null), out: e.message });
    });
    child.once('close', (status, signal) => {
      child.removeAllListeners('error');
      resolve(done(status ?? signal));
    });
  });
}

/** Prints a background forge run's block and counts it; forge test's own counts are added. */
function report(run, beside) {
  const env = Object.entries(run.env)
    .map(([k, v]) => `${k}=${v} `)
    .join('');
  process.stdout.write(`\n== ${run.name}: ${env}${[bin('forge'), ...run.args].join(' ')} (ran beside ${beside})\n${run.out}`);
  const ok = run.status === 0;
  steps.push(`${run.name} ${ok ? 'ok' : `FAILED (exit ${run.status})`} in ${((Date.now() - run.t0) / 1000).toFixed(1)} s`);
  // forge test ends with "Ran N test suites in …: P tests passed, F failed, S skipped (T total tests)".
  const m = /(\d+) tests passed, (\d+) failed, (\d+) skipped/.exec(run.out);
  if (m) {
    counts.passed += Number(m[1]);
    counts.failed += Number(m[2]);
    counts.skipped += Number(m[3]);
  }
  if (!ok && (!m || Number(m[2]) === 0)) counts.failed++;
  return ok;
}

const withForge = process.env.AMH_SKIP_FORGE !== '1';
const forgeBuild = withForge ? background('forge build', ['build', '--offline']) : undefined;

const typecheck = step('typecheck', bin('tsc'), ['--noEmit']);
counts[typecheck.ok ? 'passed' : 'failed']++;
const lint = step('lint', bin('biome'), ['check']);
counts[lint.ok ? 'passed' : 'failed']++;

const built = forgeBuild ? report(await forgeBuild, 'typecheck and lint') : false;
// The invariant suites at 64 runs (foundry.toml's `quick` profile); `npm run test:forge` runs 256.
const forgeTest = built ? background('forge test', ['test', '--offline'], { FOUNDRY_PROFILE: 'quick' }) : undefined;

const dir = mkdtempSync(path.join(tmpdir(), 'amh-test-'));
const file = path.join(dir, 'counts.json');
const vitest = step('vitest', bin('vitest'), ['run', ...process.argv.slice(2)], { env: { AMH_TEST_COUNTS: file, ...(built ? { AMH_FORGE_BUILT: '1' } : {}) } });
try {
  const v = JSON.parse(readFileSync(file, 'utf8'));
  counts.passed += v.passed;
  counts.failed += v.failed;
  counts.skipped += v.skipped;
  failures.push(...(v.failures ?? []));
} catch {
  counts.failed++; // vitest died before reporting
}
if (!vitest.ok && counts.failed === 0) counts.failed++;
rmSync(dir, { recursive: true, force: true });
if (forgeTest) report(await forgeTest, 'vitest');

const failureLines = failures.map((f) => `FAILED ${f}\n`).join('');
process.stdout.write(`\n${steps.join('\n')}\n${failureLines}${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ''}\n`);
process.exit(counts.failed > 0 ? 1 : 0);
