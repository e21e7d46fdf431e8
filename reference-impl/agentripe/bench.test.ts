/**
 * Smoke test of the Agentripe lifecycle benchmark: a tiny run (JIT warm-up and revert included) exits 0, prints one JSON line whose
 * figures are consistent (the bare side and the floor both ran), counts the 4 transactions a paid, approved task costs (5 with the
 * withdraw), and leaves no anvil behind.
 */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

/**
 * Live processes carrying `tag` in their environment: everything the bench started (children
 * inherit the environment), whatever else runs on the machine.
 */
function processesTagged(tag: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(tag)) out.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ').slice(0, 80)}`);
    } catch {
      // gone, or not ours
    }
  }
  return out;
}

function runBench(args: string[], tag: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(tsx, ['reference-impl/agentripe/bench.ts', ...args], { cwd: root, timeout: 120_000, env: { ...process.env, AMH_BENCH_TAG: tag } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

for (const withdraw of [false, true]) {
  test(`agentripe bench --n 2${withdraw ? ' --withdraw' : ''}: exit 0, one JSON line, ${withdraw ? 5 : 4} tx per lifecycle`, async () => {
    const tag = `AMH_BENCH_TAG=${randomUUID()}`;
    const r = await runBench(['--n', '2', '--warmup', '1', '--jit-warmup', '3', '--rounds', '1', ...(withdraw ? ['--withdraw'] : [])], tag.slice('AMH_BENCH_TAG='.length));
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    const out = JSON.parse(lines.at(-1)!);
    assert.equal(out.bench, 'agentripe-lifecycle');
    assert.equal(out.n, 2);
    assert.equal(out.withdraw, withdraw);
    assert.equal(out.jitWarmup, 3); // its lifecycles were reverted: the counts below are the timed ones alone
    const expected: Record<string, number> = {
      'USDC.transferWithAuthorization': 1,
      'Escrow.recordDeposit': 1,
      'Escrow.releaseToVendor': 1,
      'Reputation.giveFeedback': 1,
      ...(withdraw ? { 'Escrow.withdraw': 1 } : {}),
    };
    assert.deepEqual(out.txBreakdownPerLifecycle, expected);
    assert.equal(out.txPerLifecycle, withdraw ? 5 : 4);
    assert.ok(out.lifecyclesPerSecond > 0 && out.bareLifecyclesPerSecond > 0);
    assert.ok(Math.abs(out.overheadFactor - out.bareLifecyclesPerSecond / out.lifecyclesPerSecond) < 0.01 * out.overheadFactor);
    // The floor (the transactions alone) ran too, and both ratios are the rates' quotients.
    assert.ok(out.floorLifecyclesPerSecond > 0);
    assert.ok(Math.abs(out.ratio - out.lifecyclesPerSecond / out.bareLifecyclesPerSecond) < 0.01 * out.ratio + 0.001);
    assert.ok(Math.abs(out.ratio * out.overheadFactor - 1) < 0.01, 'the ratio and the overhead factor say the same');
    assert.ok(Math.abs(out.floorRatio - out.lifecyclesPerSecond / out.floorLifecyclesPerSecond) < 0.01 * out.floorRatio + 0.001);
    assert.match(lines.join('\n'), /lifecycles\/s/);
    // An anvil's guard (harness/chain/anvil.ts guardedAnvil) notices its anvil is gone within a second.
    let left = processesTagged(tag);
    for (let i = 0; i < 30 && left.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = processesTagged(tag);
    }
    assert.deepEqual(left, [], 'nothing the bench started is still running 3 s after it exited');
  });
}
