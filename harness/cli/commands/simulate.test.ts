/**
 * `amh simulate` as a user runs it: a shipped example writes metrics.json, events.csv and tasks.csv
 * and exits 0; the same seed rewrites the same files; bad input exits 2 naming the field; a
 * conservation violation exits 1 and leaves violations.json with the event trail.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test, vi } from 'vitest';
import { REPO_ROOT } from '../../chain/paths.ts';
import { loadSimulations } from '../../packs/discover.ts';
import { METRICS_SCHEMA_VERSION } from '../../sim/metrics.ts';
import { EVENT_COLUMNS, TASK_COLUMNS } from '../../sim/output.ts';
import { defineSimulation } from '../../sim/pack.ts';
import { runSimulation } from '../../sim/run.ts';
import type { SweepJson } from '../../sim/sweep.ts';
import { SMALL_MIXED } from '../../testing/sim-economies.ts';

const AMH = path.join(REPO_ROOT, 'harness', 'cli', 'amh.mjs');

/** `amh simulate` in this process (the CLI's own module), its output captured. */
async function simulateInProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => out.push(String(s)) > 0);
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => err.push(String(s)) > 0);
  try {
    const { run } = await import('./simulate.ts');
    return { code: await run(args), stdout: out.join(''), stderr: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

/** The real CLI in a child process. */
async function amh(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [AMH, ...args], { cwd: REPO_ROOT });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

test('amh simulate examples/economies/x402.yaml: exit 0, the three files, the same files for the same seed', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'amh-sim-'));
  const out = path.join(dir, 'a');
  const r = await amh(['simulate', 'examples/economies/x402.yaml', '--out', out, '--seed', '3']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^economy x402: engine model, seed 3, 24 simulated hours$/m);
  assert.match(r.stdout, /money: funded \$220\.00; conserved to the unit/);
  assert.match(r.stdout, /^wrote .*metrics\.json, .*events\.csv, .*tasks\.csv, .*report\.html$/m);
  assert.equal(r.stderr, '', 'no progress bar when stderr is not a terminal');
  const metrics = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8'));
  assert.equal(metrics.schemaVersion, METRICS_SCHEMA_VERSION);
  assert.equal(metrics.engine, 'model');
  assert.equal(metrics.seed, 3);
  assert.equal(metrics.conservation.ok, true);
  const held = metrics.conservation.held;
  assert.equal(BigInt(held.buyers) + BigInt(held.sellers) + BigInt(held.escrow.x402) + BigInt(held.fees.x402), BigInt(metrics.conservation.funded));
  const events = (await readFile(path.join(out, 'events.csv'), 'utf8')).trim().split('\n');
  assert.equal(events[0], EVENT_COLUMNS.join(','));
  const tasks = (await readFile(path.join(out, 'tasks.csv'), 'utf8')).trim().split('\n');
  assert.equal(tasks[0], TASK_COLUMNS.join(','));
  assert.equal(tasks.length - 1, metrics.tasks);
  assert.ok(!existsSync(path.join(out, 'violations.json')));

  const again = path.join(dir, 'b');
  assert.equal((await simulateInProcess([path.join(REPO_ROOT, 'examples/economies/x402.yaml'), '--out', again, '--seed', '3'])).code, 0);
  for (const f of ['events.csv', 'tasks.csv']) assert.equal(await readFile(path.join(again, f), 'utf8'), await readFile(path.join(out, f), 'utf8'), f);
  const m2 = JSON.parse(await readFile(path.join(again, 'metrics.json'), 'utf8'));
  // Only the wall-clock facts and the file path as typed differ.
  for (const m of [m2, metrics]) {
    delete m.run;
    delete m.economy.file;
  }
  assert.deepEqual(m2, metrics);
});

test('bad input exits 2 with the reason: an invalid file names the field; bad options; an unknown engine', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'amh-sim-'));
  const bad = path.join(dir, 'bad.yaml');
  await writeFile(
    bad,
    'name: bad\ndurationHours: 1\nprotocols: {x402: 1}\ndemand: {arrivalsPerHour: 1}\npopulations:\n  - {name: b, role: buyer, count: 1, balance: "$1", budget: "$1"}\n  - {name: s, role: seller, strategy: sloppy, count: 1, price: "$0.10"}\n',
  );
  const r = await simulateInProcess([bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`amh: invalid economy file ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\n {2}- populations\\[1\\]\\.quality: a sloppy seller needs a quality`));
  assert.equal((await simulateInProcess([])).code, 2);
  const engine = await simulateInProcess([path.join(REPO_ROOT, 'examples/economies/x402.yaml'), '--engine', 'chain']);
  assert.equal(engine.code, 2);
  assert.match(engine.stderr, /--engine must be one of model, stack, got 'chain'/);
  const modelConcurrency = await simulateInProcess([path.join(REPO_ROOT, 'examples/economies/x402.yaml'), '--concurrency', '4']);
  assert.equal(modelConcurrency.code, 2);
  assert.match(modelConcurrency.stderr, /--concurrency applies to --engine stack/);
  const oneAtATime = await simulateInProcess([path.join(REPO_ROOT, 'examples/economies/agentripe.yaml'), '--engine', 'stack', '--concurrency', '2', '--out', path.join(dir, 'c')]);
  assert.equal(oneAtATime.code, 2);
  assert.match(oneAtATime.stderr, /amh: protocol 'agentripe' carries out its stack tasks one at a time .*; --concurrency 1 runs it/);
  // An escrow fee is a what-if of the model only: refused before anything starts.
  const fee = path.join(dir, 'fee.yaml');
  const shipped = await readFile(path.join(REPO_ROOT, 'examples/economies/agentripe.yaml'), 'utf8');
  assert.ok(shipped.includes('\n    reviewLimit: 5 '));
  await writeFile(fee, shipped.replace('\n    reviewLimit: 5 ', '\n    escrowFeeBps: 100\n    reviewLimit: 5 '));
  const stack = await simulateInProcess([fee, '--engine', 'stack']);
  assert.equal(stack.code, 2);
  assert.match(stack.stderr, /amh: protocol 'agentripe' cannot run on the stack engine: the reference escrow takes no fee .*; --engine model runs it/);
  const profile = path.join(dir, 'profile.yaml');
  await writeFile(profile, (await readFile(path.join(REPO_ROOT, 'examples/economies/x402.yaml'), 'utf8')).replace('maxTimeoutSeconds: 300', 'maxTimeoutSeconds: -1'));
  const p = await simulateInProcess([profile, '--out', path.join(dir, 'p')]);
  assert.equal(p.code, 2);
  assert.match(p.stderr, /amh: profiles\.x402: maxTimeoutSeconds: Too small/);
});

test('a conservation violation: exit code 1, violations.json with the trail of the task', async () => {
  const packs = await loadSimulations();
  const base = packs.get('x402')!;
  // Pays the seller out of x402's escrow account, which never received anything: money from nowhere.
  const thief = defineSimulation({
    ...base,
    model(task) {
      const p = base.model(task);
      return { ...p, steps: p.steps.map((s) => (s.action === 'settle' ? { ...s, transfers: [{ from: task.escrow, to: task.seller, amount: task.amount }] } : s)) };
    },
  });
  const out = await mkdtemp(path.join(tmpdir(), 'amh-sim-'));
  const r = await runSimulation({ file: path.join(REPO_ROOT, 'examples/economies/x402.yaml'), engine: 'model', out, packs: new Map([['x402', thief]]) });
  assert.equal(r.exitCode, 1);
  assert.equal(r.metrics.conservation.ok, false);
  const v = JSON.parse(await readFile(path.join(out, 'violations.json'), 'utf8')) as { message: string; trail: { action: string; task: string }[] }[];
  assert.match(v[0]!.message, /^t\d+ settle: escrow:x402 holds 0, cannot pay \d+ to seller:/);
  // The trail is the task's events up to the refused transfer: the handler's answer.
  assert.equal(v[0]!.trail.length, 1);
  assert.match(v[0]!.trail[0]!.action, /^handler:200:(good|bad)$/);
  assert.equal(`${v[0]!.trail[0]!.task} `, v[0]!.message.slice(0, v[0]!.trail[0]!.task.length + 1));
});

test('profiles: the economy’s constants have the types and ranges of amh run --profile; --profile FILE overrides them, and the model follows', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'amh-sim-'));
  const example = path.join(REPO_ROOT, 'examples/economies/agentripe.yaml');
  const tooMany = path.join(dir, 'too-many.yaml');
  await writeFile(tooMany, (await readFile(example, 'utf8')).replace('reviewLimit: 5 ', 'reviewLimit: 50'));
  const bad = await simulateInProcess([tooMany, '--out', path.join(dir, 'bad')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /profiles\.agentripe\.reviewLimit: .*\(valid: 1\.\.20 rejections\)/);
  const base = await runSimulation({ file: example, engine: 'model', out: path.join(dir, 'base') });
  const two = await runSimulation({ file: example, engine: 'model', out: path.join(dir, 'two'), profile: path.join(REPO_ROOT, 'examples/profiles/agentripe-review-limit-2.yaml') });
  assert.equal(base.metrics.whatIf, null);
  assert.equal(two.metrics.whatIf?.name, 'agentripe rejection limit 2');
  assert.equal((two.metrics.profiles.agentripe as { reviewLimit: number }).reviewLimit, 2);
  const most = (r: typeof base) => Math.max(...r.result.tasks.map((t) => t.rejections));
  assert.ok(most(base) > 2, `the example economy has tasks rejected more than twice (${most(base)})`);
  assert.equal(most(two), 2, 'with the limit at 2, no task is rejected a third time');
  assert.equal(two.exitCode, 0);
  const unknown = await simulateInProcess([example, '--out', path.join(dir, 'u'), '--profile', path.join(dir, 'missing.yaml')]);
  assert.equal(unknown.code, 2);
});

test('a sweep file: --shard I/N and --merge through the CLI; options that do not apply exit 2', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'amh-sim-sweep-'));
  await writeFile(path.join(dir, 'base.json'), JSON.stringify({ ...SMALL_MIXED, durationHours: 2 }));
  const sweep = path.join(dir, 'sweep.yaml');
  await writeFile(sweep, 'name: cli-sweep\nbase: base.json\ngrid:\n  demand.arrivalsPerHour: [10, 30]\nseeds: [4]\n');
  const shards = [1, 2].map((i) => path.join(dir, `shard-${i}`));
  for (const [i, out] of shards.entries()) {
    const r = await simulateInProcess([sweep, '--shard', `${i + 1}/2`, '--workers', '1', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^sweep cli-sweep: engine model, 2 points × 1 seeds = 2 runs; shard ${i + 1}/2: 1 runs \\(merge every shard with amh simulate --merge\\)$`, 'm'));
    assert.equal(r.stderr, '');
  }
  const merged = path.join(dir, 'merged');
  const m = await simulateInProcess(['--merge', ...shards, '--out', merged]);
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stdout, /; merged from 2 shards\nheat map: welfare\.total over demand\.arrivalsPerHour\nmoney: conserved to the unit in all 2 runs\n/);
  const s = JSON.parse(await readFile(path.join(merged, 'sweep.json'), 'utf8')) as SweepJson;
  assert.deepEqual(
    s.points.map((p) => p.runs.map((r) => r.dir)),
    [['p1/seed-4'], ['p2/seed-4']],
  );
  assert.ok(existsSync(path.join(merged, 'p2', 'seed-4', 'report.html')));
  assert.ok(existsSync(path.join(merged, 'sweep.html')));

  const missing = await simulateInProcess(['--merge', shards[0]!, '--out', path.join(dir, 'x')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^amh: missing shard 2\/2: a merge needs every shard of the run$/m);
  const usage = async (args: string[], re: RegExp) => {
    const r = await simulateInProcess(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, re);
  };
  await usage([sweep, '--seed', '3'], /--seed does not apply to a sweep: its seeds are in the sweep file/);
  await usage([sweep, '--shard', '3/2'], /--shard 3\/2: there is no shard 3 of 2/);
  await usage([sweep, '--workers', '0'], /--workers must be an integer from 1 to 256, got '0'/);
  await usage([path.join(REPO_ROOT, 'examples/economies/x402.yaml'), '--shard', '1/2'], /--shard applies to a sweep file \(one with a grid\), not to one economy/);
  await usage(['--merge'], /simulate --merge needs the folder of every shard/);
  await usage(['--merge', ...shards, '--engine', 'stack'], /--engine does not apply to --merge/);
  await usage(['--merge', dir], /cannot read .*sweep\.json/);
});
