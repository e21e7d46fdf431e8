/**
 * End to end through the CLI as a user runs it: a deliberately broken token (accepts expired
 * EIP-3009 authorizations) is deployed on a chain and described by a target file; `amh certify`
 * exits 1 naming USDC-3009-02 with the shrunk counterexample and a replay command; `amh replay`
 * reproduces the same verdict; `amh report` re-renders; bad input exits 2 with a clear message.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { startBrokenTarget, type BrokenTarget } from '../../target/testing.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const AMH = path.join(ROOT, 'harness', 'cli', 'amh.mjs');

function amh(args: string[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [AMH, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

let bt: BrokenTarget;
let dir: string;
let targetFile: string;

beforeAll(async () => {
  bt = await startBrokenTarget({ tokenBugs: 1n }); // ACCEPT_EXPIRED
  dir = await mkdtemp(path.join(tmpdir(), 'amh-certify-'));
  targetFile = path.join(dir, 'target.json');
  await writeFile(targetFile, JSON.stringify({ $schema: '../harness/target/target.schema.json', ...bt.target }, null, 2));
});
afterAll(async () => {
  await bt?.stop();
});

test('amh certify against a token that accepts expired authorizations exits 1 and names USDC-3009-02; amh replay reproduces it', async () => {
  const out = path.join(dir, 'out');
  const r = await amh(['certify', '--target', targetFile, '--protocol', 'usdc', '--grep', '3009-expired|3009-valid', '--runs', '10', '--seed', '7', '--out', out]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /FAIL — a MUST requirement was not met/);
  assert.match(r.stdout, /FAIL USDC-3009-02 \[MUST\] An expired authorization is refused/);
  assert.match(r.stdout, /shrunk counterexample \(usdc\/3009-expired, seed -?\d+, path [\d:]+\):\n\s+1\. \[base-sepolia\] \w+ signs an authorization/);
  assert.match(r.stdout, /submits it after it expired/);
  const replayCmd = /replay: (amh replay \S+ --case usdc\/3009-expired)/.exec(r.stdout)?.[1];
  assert.ok(replayCmd, 'prints the replay command');
  for (const f of ['report.json', 'junit.xml', 'index.html', 'summary.md']) assert.ok(existsSync(path.join(out, f)), f);
  const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
  assert.equal(report.target.kind, 'file');
  assert.equal(report.target.source, targetFile);
  const recorded = report.protocols[0].scenarios.find((s: { caseId: string }) => s.caseId === 'usdc/3009-expired');

  const rp = await amh(['replay', path.join(out, 'report.json'), '--case', 'usdc/3009-expired']);
  assert.equal(rp.code, 1, rp.stdout + rp.stderr);
  assert.match(rp.stdout, /recorded: fail \(USDC-3009-02\) · replayed: fail \(USDC-3009-02\) → same verdict/);
  // The same shrunk actions are shown again.
  for (const a of recorded.counterexample.actions) assert.ok(rp.stdout.includes(a), `replay shows "${a}"`);

  const re = await amh(['report', path.join(out, 'report.json'), '--out', path.join(dir, 'rerendered')]);
  assert.equal(re.code, 1);
  assert.ok(existsSync(path.join(dir, 'rerendered', 'index.html')));
  assert.equal(await readFile(path.join(dir, 'rerendered', 'summary.md'), 'utf8'), await readFile(path.join(out, 'summary.md'), 'utf8'));
});

test('a target that lacks clock-control gets not-applicable for the boundary scenario, never a pass', async () => {
  const noClock = path.join(dir, 'no-clock.json');
  await writeFile(noClock, JSON.stringify({ ...bt.target, capabilities: ['snapshot'] }));
  const out = path.join(dir, 'out-noclock');
  const r = await amh(['certify', '--target', noClock, '--protocol', 'usdc', '--grep', 'time-boundaries|3009-not-yet', '--runs', '3', '--seed', '1', '--out', out, '--quiet']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
  const sc = report.protocols[0].scenarios.find((s: { id: string }) => s.id === '3009-time-boundaries');
  assert.equal(sc.status, 'not-applicable');
  assert.match(sc.reason, /lacks capability 'clock-control'/);
});

test('bad input: invalid target file names the field (exit 2); unknown protocol and missing --target are usage errors', async () => {
  const bad = path.join(dir, 'bad.json');
  await writeFile(bad, JSON.stringify({ ...bt.target, chains: [{ ...bt.target.chains[0], rpcUrl: 'localhost:8545' }] }));
  const r = await amh(['certify', '--target', bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /invalid target file .*bad\.json:\n\s+- chains\[0\]\.rpcUrl: must be an http:\/\/ or https:\/\/ URL/);
  const u = await amh(['certify', '--target', targetFile, '--protocol', 'nope']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /unknown protocol 'nope'/);
  const m = await amh(['certify']);
  assert.equal(m.code, 2);
  assert.match(m.stderr, /certify needs --target FILE/);
  const s = await amh(['run', '--runs', 'many']);
  assert.equal(s.code, 2);
  assert.match(s.stderr, /--runs must be an integer/);
});

test('an endpoint answering 404 on first contact is a target problem naming method and URL (exit 2), never a requirement failure', async () => {
  const server = createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('no such route');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/wrong/path`;
    const file = path.join(dir, 'wrong-url.json');
    await writeFile(file, JSON.stringify({ ...bt.target, endpoints: { 'x402-resource': { url, method: 'POST', body: { q: 1 } } } }));
    const out = path.join(dir, 'out-404');
    const r = await amh(['certify', '--target', file, '--protocol', 'x402', '--runs', '2', '--seed', '1', '--out', out, '--quiet']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`target problem: endpoint 'x402-resource': POST ${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} answered 404; is the URL or the method wrong\\?`));
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
    const statuses = report.protocols[0].requirements.map((q: { status: string }) => q.status) as string[];
    assert.ok(statuses.includes('indeterminate'));
    assert.deepEqual(
      statuses.filter((x) => x !== 'indeterminate' && x !== 'not-applicable'),
      [],
      'no requirement is failed (or passed) over a wrong URL',
    );
  } finally {
    server.close();
  }
});

test('amh replay says so when the target no longer answers', async () => {
  const gone = await startBrokenTarget({ tokenBugs: 1n });
  const file = path.join(dir, 'gone.json');
  await writeFile(file, JSON.stringify(gone.target));
  const out = path.join(dir, 'out-gone');
  const r = await amh(['certify', '--target', file, '--protocol', 'usdc', '--grep', '3009-expired', '--runs', '5', '--seed', '7', '--out', out, '--quiet']);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  await gone.stop();
  const rp = await amh(['replay', path.join(out, 'report.json'), '--case', 'usdc/3009-expired']);
  assert.equal(rp.code, 2, rp.stdout + rp.stderr);
  assert.match(
    rp.stdout,
    /recorded: fail \(USDC-3009-02\) · replay impossible: the target does not answer as it did \(target problem: chain 'base-sepolia': POST http:\/\/127\.0\.0\.1:\d+ \(eth_chainId\) failed: connect ECONNREFUSED/,
  );
});

test('--help on run, certify, replay and report', async () => {
  for (const cmd of ['run', 'certify', 'replay', 'report']) {
    const r = await amh([cmd, '--help']);
    assert.equal(r.code, 0, cmd);
    assert.match(r.stdout, new RegExp(`^Usage: amh ${cmd}`), cmd);
  }
});
