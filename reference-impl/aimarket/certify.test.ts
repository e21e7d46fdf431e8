/**
 * `amh certify --protocol aimarket` against the AI Market reference deployment started as its own
 * process (reference-impl/aimarket/serve.ts) and described only by a target file: the healthy
 * deployment passes every requirement (exit 0); broken ones make certify exit 1 naming the requirement.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, test } from 'vitest';
import { type RunningChain, startChain } from '../../harness/chain/index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const AMH = path.join(ROOT, 'harness', 'cli', 'amh.mjs');
const SERVE = path.join(ROOT, 'reference-impl', 'aimarket', 'serve.ts');

let chain: RunningChain;
let dir: string;

beforeAll(async () => {
  chain = await startChain({ profile: 'base' });
  dir = mkdtempSync(path.join(tmpdir(), 'aimarket-certify-'));
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
    const timer = setTimeout(() => reject(new Error(`serve ${name} did not start:\n${err}`)), 90_000);
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
    const p = spawn(process.execPath, [AMH, 'certify', '--protocol', 'aimarket', '--target', targetFile, '--out', out, '--seed', '7', ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += String(d)));
    p.stderr.on('data', (d) => (stderr += String(d)));
    p.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

type ReportFile = { protocols: { id: string; requirements: { id: string; status: string; reason?: string }[] }[] };
const reportOf = (out: string) => (JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as ReportFile).protocols.find((p) => p.id === 'aimarket')!;

test('the reference AI Market deployment in its own process passes certify through its target file alone', { timeout: 600_000 }, async () => {
  const s = await serve('healthy', []);
  try {
    const out = path.join(dir, 'healthy');
    const r = await certify(s.targetFile, out, ['--runs', '3']);
    assert.equal(r.code, 0, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const rep = reportOf(out);
    assert.equal(rep.requirements.length, 31);
    assert.deepEqual(
      rep.requirements.filter((q) => q.status !== 'pass').map((q) => `${q.id}: ${q.status} ${q.reason ?? ''}`),
      [],
    );
  } finally {
    await s.stop();
  }
});

for (const v of [
  { name: 'wrong token accepted', args: ['--fault', 'acceptWrongToken'], grep: 'pay-per-call', requirement: 'AIM-PAY-02', runs: 1 },
  { name: 'channel debits rounded down', args: ['--fault', 'floorCents'], grep: 'channel-model', requirement: 'AIM-CHN-02', runs: 8 },
  { name: 'router ignores the routing fee', args: ['--router-fault', 'routingFeeIgnored'], grep: 'federated-search', requirement: 'AIM-FED-01', runs: 2 },
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
