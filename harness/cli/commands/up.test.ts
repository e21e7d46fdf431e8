/**
 * `amh up` as a user runs it: a child process printing one JSON line, chains reachable at the printed
 * RPC URLs, a clean stop on SIGTERM with no anvil left behind, and clear exit-2 errors.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { test, onTestFinished } from 'vitest';
import { fileURLToPath } from 'node:url';
import { createPublicClient, http, parseAbi } from 'viem';
import type { UpDescription } from './up.ts';
import { chainProfileIds, getProfile } from '../../chain/profiles.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const AMH = path.join(REPO_ROOT, 'harness', 'cli', 'amh.mjs');

function amh(args: string[]): ChildProcess {
  const env = { ...process.env };
  delete env.BASE_RPC_URL; // a developer's fork URL must not turn this into a network test
  delete env.BASE_SEPOLIA_RPC_URL;
  return spawn(process.execPath, [AMH, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

// Generous: every pack's servers start before the first line, on a 2-core machine shared with other jobs.
function firstLine(child: ChildProcess, timeoutMs = 180_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no stdout line within ${timeoutMs} ms; stderr: ${err}`)), timeoutMs);
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, nl));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`amh up exited (${code}) before printing; stderr: ${err}`));
    });
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.on('data', (d) => (stdout += d));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr, stdout })));
}

/** Pids among `pids` that still exist (ps exits 1 and prints nothing when none do). */
function alive(pids: number[]): string {
  return spawnSync('ps', ['-o', 'pid=,comm=', '-p', pids.join(',')], { encoding: 'utf8' }).stdout.trim();
}

test('amh up --json: one JSON line, chains answer at the printed RPC URLs, SIGTERM stops every anvil', async (_t) => {
  const child = amh(['up', '--json']);
  let pids: number[] = [];
  onTestFinished(() => {
    // Whatever happened above, leave no process behind (SIGKILL skips amh's own cleanup).
    if (child.exitCode === null) child.kill('SIGKILL');
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  const line = await firstLine(child);
  const done = exited(child);
  const d = JSON.parse(line) as UpDescription;
  pids = d.chains.map((c) => c.pid!);

  // Every chain profile (packs may bring more, e.g. aps1's tempo), in profile-id order.
  assert.deepEqual(
    d.chains.map((c) => [c.profile, c.chainId, c.network]),
    chainProfileIds().map((id) => [id, getProfile(id).chainId, `eip155:${getProfile(id).chainId}`]),
  );
  assert.deepEqual(
    d.chains.filter((c) => c.profile === 'base' || c.profile === 'base-sepolia').map((c) => c.chainId),
    [8453, 84532],
  );
  const nameAbi = parseAbi(['function name() view returns (string)']);
  for (const c of d.chains) {
    const client = createPublicClient({ transport: http(c.rpcUrl) });
    assert.equal(await client.getChainId(), c.chainId);
    // Not every chain carries USDC (a Tempo-shaped chain has its own stablecoins): check each token it lists.
    for (const t of Object.values(c.tokens)) assert.equal(await client.readContract({ address: t.address as `0x${string}`, abi: nameAbi, functionName: 'name' }), t.name);
    if (c.profile === 'base' || c.profile === 'base-sepolia') assert.equal(c.tokens.usdc!.name, c.profile === 'base' ? 'USD Coin' : 'USDC');
  }
  assert.equal(d.accounts.length, 10);
  for (const a of d.accounts) {
    assert.match(a.privateKey, /^0x[0-9a-f]{64}$/);
    assert.deepEqual(a.balances.base, { eth: (10n ** 22n).toString(), usdc: (10n ** 12n).toString() });
    for (const c of d.chains) for (const k of Object.keys(c.tokens)) assert.equal(a.balances[c.profile]![k], (10n ** 12n).toString(), `${a.role} holds 1,000,000 ${k} on ${c.profile}`);
  }
  assert.equal(d.chains.find((c) => c.profile === 'base-sepolia')!.contracts.agentripeEscrow, '0x329392750Af5061E667433ef91d664b3b0C042f6');
  // The same services `amh run` starts for every protocol: each pack's reference servers, endpoints answering.
  const names = d.services.map((s) => s.name);
  for (const n of ['agentripe', 'x402-demo']) assert.ok(names.includes(n), `service ${n} started`);
  const endpoints = Object.assign({}, ...d.services.map((s) => s.endpoints)) as Record<string, string>;
  for (const e of ['agentripe', 'x402-facilitator', 'x402-resource', 'x402-resource-failing']) assert.ok(e in endpoints, `endpoint ${e} published`);
  assert.equal((await fetch(`${endpoints.agentripe}/health`)).status, 200);
  assert.equal((await fetch(endpoints['x402-resource']!)).status, 402);
  assert.deepEqual(d.services.find((s) => s.name === 'agentripe')!.capabilities, ['agentripe:review-fixture', 'rpc-faults', 'restart']);
  assert.equal(d.keys.length, 30);

  assert.ok(
    pids.every((p) => Number.isInteger(p)),
    'anvil pids printed',
  );
  assert.notEqual(alive(pids), '', 'anvil processes are running while up');

  child.kill('SIGTERM');
  // A stop that leaves anvil running would keep amh alive (its pipes): fail instead of hanging.
  const { code, stderr } = await Promise.race([done, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('amh up did not exit within 15 s of SIGTERM')), 15_000).unref())]);
  assert.equal(code, 0, `exit code after SIGTERM; stderr: ${stderr}`);
  assert.match(stderr, new RegExp(`SIGTERM received, stopping ${d.services.length} server\\(s\\) and ${d.chains.length} chain\\(s\\)`));
  assert.equal(alive(pids), '', 'no anvil left behind');
});

test('amh up: a port in use is named with the flag to change it, exit 2', async (_t) => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  onTestFinished(() => {
    blocker.close();
  });
  const port = (blocker.address() as net.AddressInfo).port;
  const child = amh(['up', '--json', '--chain', 'base', '--port', String(port)]);
  const { code, stderr, stdout } = await exited(child);
  assert.equal(code, 2);
  assert.equal(stdout, '', 'nothing on stdout when not ready');
  assert.match(stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
  assert.match(stderr, /--port <n>/);
});

test('amh up: usage errors exit 2 with the reason', async () => {
  const r1 = await exited(amh(['up', '--chain', 'mars']));
  assert.equal(r1.code, 2);
  assert.match(r1.stderr, /unknown --chain 'mars'; known: base, base-sepolia/);
  const r2 = await exited(amh(['up', '--fork-url', 'http://127.0.0.1:1', '--chain', 'base', '--chain', 'base-sepolia']));
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /--fork-url forks one chain/);
  const r3 = await exited(amh(['up', '--profile', 'base']));
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /--profile now selects protocol constants .* use --chain base/);
});

test('renderText lists each server with its endpoints and capabilities', async () => {
  const { renderText } = await import('./up.ts');
  const text = renderText({
    chains: [],
    accounts: [],
    keys: [],
    mnemonic: 'm',
    readyMs: 1,
    skipped: [{ name: 'tempo-thing', reason: 'runs on tempo, which is not started' }],
    services: [{ name: 'agentripe', endpoints: { api: 'http://127.0.0.1:4000' }, capabilities: ['agentripe:review-fixture'], reviewer: 'http://127.0.0.1:4001/v1' }],
  });
  assert.match(text, /agentripe {2}\[agentripe:review-fixture\]\n\s+api\s+http:\/\/127\.0\.0\.1:4000\n\s+reviewer\s+http:\/\/127\.0\.0\.1:4001\/v1/);
  assert.match(text, /tempo-thing not started: runs on tempo/);
});

test('amh up: a chain dying under it stops the rest and exits 2', async (_t) => {
  const child = amh(['up', '--json', '--chains-only']);
  let pids: number[] = [];
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  const d = JSON.parse(await firstLine(child)) as UpDescription;
  pids = d.chains.map((c) => c.pid!);
  const done = exited(child);
  process.kill(pids[0]!, 'SIGKILL');
  const { code, stderr } = await Promise.race([done, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('amh up kept running after its chain died')), 15_000).unref())]);
  assert.equal(code, 2);
  assert.match(stderr, /anvil for 'base' exited unexpectedly \(code null, signal SIGKILL\); stopping everything/);
  assert.equal(alive([pids[1]!]), '', 'the surviving anvil was stopped');
});

test('amh up --port n: the second chain uses n+1 (shown by taking n+1), and the first is stopped on failure', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  onTestFinished(() => {
    blocker.close();
  });
  const taken = (blocker.address() as net.AddressInfo).port;
  const first = taken - 1;
  const probe = net.createServer();
  const free = await new Promise<boolean>((r) => {
    probe.once('error', () => r(false));
    probe.listen(first, '127.0.0.1', () => probe.close(() => r(true)));
  });
  if (!free) {
    blocker.close();
    return t.skip(`port ${first} happens to be busy`);
  }
  const { code, stderr } = await exited(amh(['up', '--json', '--chains-only', '--port', String(first)]));
  assert.equal(code, 2);
  assert.match(stderr, new RegExp(`port ${taken} on 127\\.0\\.0\\.1 is already in use \\(anvil for chain profile 'base-sepolia'\\)`));
  // Nothing listens on the first port any more: the base chain that did start was stopped.
  const again = net.createServer();
  await new Promise<void>((resolve, reject) => {
    again.once('error', reject);
    again.listen(first, '127.0.0.1', () => again.close(() => resolve()));
  });
});
