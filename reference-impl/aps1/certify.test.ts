/**
 * `amh certify --protocol aps1` against the APS-1 reference deployment started as its own process
 * (reference-impl/aps1/serve.ts) and described only by a target file: the healthy deployment passes
 * (exit 0); a deliberately broken one makes certify exit 1 naming the requirement; and the compat
 * profile (the public contracts' quirks, `serve.ts --profile compat`) fails exactly the
 * requirements profile.md says it breaks (the scenarios that pin each rule).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, test } from 'vitest';
import { startChain, type RunningChain } from '../../harness/chain/index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const AMH = path.join(ROOT, 'harness', 'cli', 'amh.mjs');
const SERVE = path.join(ROOT, 'reference-impl', 'aps1', 'serve.ts');

let chain: RunningChain;
let dir: string;

beforeAll(async () => {
  chain = await startChain({ profile: 'tempo' });
  dir = mkdtempSync(path.join(tmpdir(), 'aps1-certify-'));
});
afterAll(async () => {
  await chain?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function serve(name: string, args: string[]): Promise<{ proc: ChildProcess; targetFile: string; stop(): Promise<void> }> {
  const targetFile = path.join(dir, `${name}.target.json`);
  const proc = spawn(process.execPath, ['--import', 'tsx', SERVE, '--rpc', chain.rpcUrl, '--target-out', targetFile, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += String(d)));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve ${name} did not start:\n${err}`)), 60_000);
    proc.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve ${name} exited ${code}:\n${err}`));
    });
  });
  return {
    proc,
    targetFile,
    stop: () =>
      new Promise<void>((r) => {
        if (proc.exitCode !== null) return r();
        proc.once('exit', () => r());
        proc.kill('SIGTERM');
      }),
  };
}

function certify(targetFile: string, out: string, extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [AMH, 'certify', '--protocol', 'aps1', '--target', targetFile, '--out', out, '--seed', '7', ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += String(d)));
    p.stderr.on('data', (d) => (stderr += String(d)));
    p.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

type ReportFile = { protocols: { id: string; requirements: { id: string; status: string; reason?: string }[] }[] };
const reportOf = (out: string) => (JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as ReportFile).protocols.find((p) => p.id === 'aps1')!;

test('the reference APS-1 deployment in its own process passes certify through its target file alone', { timeout: 600_000 }, async () => {
  const s = await serve('healthy', []);
  try {
    const out = path.join(dir, 'healthy');
    const r = await certify(s.targetFile, out, ['--runs', '4']);
    assert.equal(r.code, 0, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.deepEqual(
      reportOf(out)
        .requirements.filter((q) => q.status !== 'pass')
        .map((q) => `${q.id}: ${q.status} ${q.reason ?? ''}`),
      [],
    );
  } finally {
    await s.stop();
  }
});

test('the compat profile (the public contracts’ quirks) fails exactly the rules they break', { timeout: 600_000 }, async () => {
  const s = await serve('compat', ['--profile', 'compat']);
  try {
    const out = path.join(dir, 'compat');
    const r = await certify(s.targetFile, out, ['--runs', '6', '--grep', 'dispute-outcomes|penalty-cap|timeout-rules|proof-forgery|job-attacks|proof-registry|stream-model|reputation|chain-profile']);
    assert.equal(r.code, 1, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const failed = reportOf(out)
      .requirements.filter((q) => q.status === 'fail')
      .map((q) => q.id)
      .sort();
    assert.deepEqual(failed, ['APS-DSP-01', 'APS-DSP-02', 'APS-JOB-05', 'APS-PRF-03']);
  } finally {
    await s.stop();
    // The quirks were put on the shared chain: put the reference profile back for the next test.
    const back = await serve('reference-again', ['--profile', 'reference']);
    await back.stop();
  }
});

for (const v of [
  { name: 'forged escrow accepted', args: ['--fault', 'skipEscrowCheck'], grep: 'execute-unpaid', requirement: 'APS-EXE-02', runs: 2 },
  { name: 'marketplace without caller auth', args: ['--fault', 'noCallerAuth'], grep: 'marketplace-auth', requirement: 'APS-MKT-03', runs: 2 },
]) {
  test(`broken variant "${v.name}" makes certify exit 1 naming ${v.requirement}`, { timeout: 300_000 }, async () => {
    const s = await serve(v.name.replace(/\W+/g, '-'), v.args);
    try {
      const out = path.join(dir, v.name.replace(/\W+/g, '-'));
      const r = await certify(s.targetFile, out, ['--runs', String(v.runs), '--grep', v.grep]);
      assert.equal(r.code, 1, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, new RegExp(`FAIL ${v.requirement}\\b`));
    } finally {
      await s.stop();
    }
  });
}
