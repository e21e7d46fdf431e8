/**
 * `amh certify --protocol asa` against the reference parts started as their own processes
 * (reference-impl/asa/serve.ts: the Lightning simulation, the relay, the provider agent) and
 * described only by the target file the provider writes: the healthy deployment passes (exit 0);
 * a provider with a deliberately broken macaroon check makes certify exit 1 naming ASA-L402-04.
 * nostr-tools' SimplePool publishes to and reads from the separate relay process.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimplePool, useWebSocketImplementation } from 'nostr-tools/pool';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { afterAll, beforeAll, test } from 'vitest';
import WebSocket from 'ws';
import { capabilityTags, KIND } from './protocol/events.ts';

useWebSocketImplementation(WebSocket);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const AMH = path.join(ROOT, 'harness', 'cli', 'amh.mjs');
const SERVE = path.join(ROOT, 'reference-impl', 'asa', 'serve.ts');

interface Proc {
  proc: ChildProcess;
  line: Record<string, any>;
  stop(): Promise<void>;
}

const procs: Proc[] = [];
let dir: string;
let lightning: Proc;
let relay: Proc;

async function serve(args: string[]): Promise<Proc> {
  const proc = spawn(process.execPath, ['--import', 'tsx', SERVE, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += String(d)));
  const line = await new Promise<Record<string, any>>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve ${args.join(' ')} did not start:\n${err}`)), 60_000);
    proc.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(JSON.parse(out.split('\n')[0]!));
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve ${args.join(' ')} exited ${code}:\n${err}`));
    });
  });
  const p: Proc = {
    proc,
    line,
    stop: () =>
      new Promise<void>((r) => {
        if (proc.exitCode !== null) return r();
        proc.once('exit', () => r());
        proc.kill('SIGTERM');
      }),
  };
  procs.push(p);
  return p;
}

function certify(targetFile: string, out: string, extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [AMH, 'certify', '--protocol', 'asa', '--target', targetFile, '--out', out, '--seed', '7', ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += String(d)));
    p.stderr.on('data', (d) => (stderr += String(d)));
    p.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'asa-certify-'));
  [lightning, relay] = await Promise.all([serve(['--part', 'lightning']), serve(['--part', 'relay', '--db', path.join(dir, 'relay.sqlite')])]);
});
afterAll(async () => {
  await Promise.allSettled(procs.map((p) => p.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type ReportFile = { protocols: { id: string; requirements: { id: string; status: string; reason?: string }[] }[] };
const reportOf = (out: string) => (JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as ReportFile).protocols.find((p) => p.id === 'asa')!;

test('nostr-tools SimplePool publishes to and reads from the relay process', async () => {
  const pool = new SimplePool();
  try {
    const sk = generateSecretKey();
    const e = finalizeEvent(
      {
        kind: KIND.capability,
        tags: capabilityTags({ d: 'pool-test', s: ['pool-category'], prices: [{ amount: '21', currency: 'sats', frequency: 'per-request' }] }),
        content: 'via SimplePool',
        created_at: Math.floor(Date.now() / 1000),
      },
      sk,
    );
    await Promise.all(pool.publish([relay.line.url], e));
    const got = await pool.querySync([relay.line.url], { kinds: [KIND.capability], '#s': ['pool-category'], authors: [getPublicKey(sk)] });
    assert.deepEqual(
      got.map((x) => x.id),
      [e.id],
    );
  } finally {
    pool.destroy();
  }
});

test('the reference relay and provider in their own processes pass certify through the target file alone', { timeout: 600_000 }, async () => {
  const targetFile = path.join(dir, 'healthy.target.json');
  const p = await serve(['--part', 'provider', '--relay', relay.line.url, '--lightning', lightning.line.url, '--db', path.join(dir, 'provider.sqlite'), '--target-out', targetFile]);
  try {
    const out = path.join(dir, 'healthy');
    const r = await certify(targetFile, out, ['--runs', '3']);
    assert.equal(r.code, 0, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.deepEqual(
      reportOf(out)
        .requirements.filter((q) => q.status !== 'pass')
        .map((q) => `${q.id}: ${q.status} ${q.reason ?? ''}`),
      [],
    );
  } finally {
    await p.stop();
  }
});

test('a provider that does not verify macaroon signatures makes certify exit 1 naming ASA-L402-04', { timeout: 300_000 }, async () => {
  const targetFile = path.join(dir, 'broken.target.json');
  const p = await serve(['--part', 'provider', '--relay', relay.line.url, '--lightning', lightning.line.url, '--fault', 'skipSignature', '--challenge', 'token', '--target-out', targetFile]);
  try {
    const out = path.join(dir, 'broken');
    const r = await certify(targetFile, out, ['--runs', '3', '--grep', 'l402-forged-macaroon|l402-paid']);
    assert.equal(r.code, 1, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /FAIL ASA-L402-04\b/);
    assert.equal(reportOf(out).requirements.find((q) => q.id === 'ASA-L402-02')?.status, 'pass', 'the token= challenge generation is read and paid');
  } finally {
    await p.stop();
  }
});
