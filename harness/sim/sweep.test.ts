/**
 * Sweeps: a 2 × 2 grid × 2 seeds on the model engine, run whole on two worker processes and as two
 * shards merged, gives the same sweep.json (all but `run`, the wall-clock facts) and the same run
 * folders; the shards hold the runs the certification shards' rule deals them; a merge refuses a
 * missing, repeated or foreign shard; a bad sweep file is refused naming the field or the point;
 * sweep.html's heat map has a cell per point (in headless Chromium where it is installed).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from '../chain/paths.ts';
import { loadSimulations } from '../packs/discover.ts';
import { EconomyError } from './economy.ts';
import { SMALL_MIXED } from '../testing/sim-economies.ts';
import { loadSweep, mergeSweeps, runSweep, setPath, type SweepJson, SweepMergeError } from './sweep.ts';
import { hasChromium, withPage } from '../testing/chromium.ts';

const SWEEP = {
  name: 'small-sweep',
  base: 'small-mixed.json',
  grid: { 'profiles.agentripe.reviewLimit': [1, 5], 'populations.sloppy.quality': [0.2, 0.9] },
  seeds: 2,
  heatmap: { metric: 'rates.paidForBadWork' },
};

let dir: string;
let sweepFile: string;
let whole: Awaited<ReturnType<typeof runSweep>>;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'amh-sweep-'));
  await writeFile(path.join(dir, 'small-mixed.json'), JSON.stringify({ ...SMALL_MIXED, durationHours: 3 }));
  sweepFile = path.join(dir, 'sweep.json5.json');
  await writeFile(sweepFile, JSON.stringify(SWEEP));
  whole = await runSweep({ file: sweepFile, engine: 'model', out: path.join(dir, 'whole'), workers: 2 });
}, 120_000);

/** sweep.json without `run` (wall-clock facts, workers, shards merged): what must not depend on how it ran. */
async function stable(d: string): Promise<Omit<SweepJson, 'run'>> {
  const { run: _run, ...rest } = JSON.parse(await readFile(path.join(d, 'sweep.json'), 'utf8')) as SweepJson;
  return rest;
}

test('the whole sweep: 4 points × 2 seeds, a folder per point with its economy and one per run, key metrics and means', async () => {
  const s = whole.sweep;
  assert.equal(whole.exitCode, 0);
  assert.equal(s.conserved, true);
  assert.deepEqual(
    s.points.map((p) => [p.id, p.params]),
    [
      ['p1', { 'profiles.agentripe.reviewLimit': 1, 'populations.sloppy.quality': 0.2 }],
      ['p2', { 'profiles.agentripe.reviewLimit': 1, 'populations.sloppy.quality': 0.9 }],
      ['p3', { 'profiles.agentripe.reviewLimit': 5, 'populations.sloppy.quality': 0.2 }],
      ['p4', { 'profiles.agentripe.reviewLimit': 5, 'populations.sloppy.quality': 0.9 }],
    ],
  );
  assert.equal(s.run.workers, 2);
  for (const p of s.points) {
    assert.deepEqual(
      p.runs.map((r) => r.dir),
      [`${p.id}/seed-1`, `${p.id}/seed-2`],
    );
    // The point's economy is the base with its values, and each run's metrics.json is that economy's.
    const economy = JSON.parse(await readFile(path.join(dir, 'whole', p.economy), 'utf8'));
    assert.equal(economy.profiles.agentripe.reviewLimit, p.params['profiles.agentripe.reviewLimit']);
    assert.equal(economy.populations.find((x: { name: string }) => x.name === 'sloppy').quality, p.params['populations.sloppy.quality']);
    for (const r of p.runs) {
      const m = JSON.parse(await readFile(path.join(dir, 'whole', r.dir, 'metrics.json'), 'utf8'));
      assert.equal(m.seed, r.seed);
      assert.equal(m.economy.file, '../economy.json');
      assert.equal(m.profiles.agentripe.reviewLimit, p.params['profiles.agentripe.reviewLimit']);
      assert.equal(r.metrics.tasks, m.tasks);
      assert.equal(r.metrics['welfare.total'], m.welfare.total);
      assert.ok(existsSync(path.join(dir, 'whole', r.dir, 'report.html')));
    }
    const [a, b] = p.runs;
    assert.equal(p.mean['rates.paid'], ((a!.metrics['rates.paid'] as number) + (b!.metrics['rates.paid'] as number)) / 2);
    assert.equal(p.mean['welfare.total'], String((BigInt(a!.metrics['welfare.total']!) + BigInt(b!.metrics['welfare.total']!)) / 2n));
  }
  // The model follows the grid: no task is rejected more often than the point's limit allows.
  const most = (id: string) => Math.max(...whole.sweep.points.find((p) => p.id === id)!.runs.map((r) => r.metrics['rates.rejection'] as number));
  assert.ok(most('p1') < most('p3'), 'a rejection limit of 5 rejects more than a limit of 1 (sloppy sellers at quality 0.2)');
});

test('two shards merged give the unsharded sweep: the same sweep.json (but run) and the same run folders', async () => {
  const one = await runSweep({ file: sweepFile, engine: 'model', out: path.join(dir, 'shard-1'), workers: 1, shard: { index: 1, total: 2 } });
  const two = await runSweep({ file: sweepFile, engine: 'model', out: path.join(dir, 'shard-2'), workers: 1, shard: { index: 2, total: 2 } });
  // The runs, point by point and seed by seed, are dealt round-robin as certification cases are.
  assert.deepEqual(
    one.sweep.points.flatMap((p) => p.runs.map((r) => r.dir)),
    ['p1/seed-1', 'p2/seed-1', 'p3/seed-1', 'p4/seed-1'],
  );
  assert.deepEqual(
    two.sweep.points.flatMap((p) => p.runs.map((r) => r.dir)),
    ['p1/seed-2', 'p2/seed-2', 'p3/seed-2', 'p4/seed-2'],
  );
  assert.deepEqual(one.sweep.shard, { index: 1, total: 2, cases: whole.sweep.points.flatMap((p) => p.runs.map((r) => r.dir)) });
  const merged = await mergeSweeps([path.join(dir, 'shard-2'), path.join(dir, 'shard-1')], path.join(dir, 'merged'));
  assert.equal(merged.exitCode, 0);
  assert.equal(merged.sweep.run.mergedShards, 2);
  assert.deepEqual(await stable(path.join(dir, 'merged')), await stable(path.join(dir, 'whole')));
  for (const r of whole.sweep.points.flatMap((p) => p.runs)) {
    for (const f of ['tasks.csv', 'events.csv']) assert.equal(await readFile(path.join(dir, 'merged', r.dir, f), 'utf8'), await readFile(path.join(dir, 'whole', r.dir, f), 'utf8'), `${r.dir}/${f}`);
    const metrics = async (d: string) => {
      const { run: _run, ...m } = JSON.parse(await readFile(path.join(dir, d, r.dir, 'metrics.json'), 'utf8'));
      return m;
    };
    assert.deepEqual(await metrics('merged'), await metrics('whole'), `${r.dir}/metrics.json`);
  }
  assert.equal(await readFile(path.join(dir, 'merged', 'p3', 'economy.json'), 'utf8'), await readFile(path.join(dir, 'whole', 'p3', 'economy.json'), 'utf8'));

  // Refusals: a missing shard, one given twice, one of another sweep, a folder that is not a shard.
  await assert.rejects(mergeSweeps([path.join(dir, 'shard-1')], path.join(dir, 'x')), (e: Error) => e instanceof SweepMergeError && /missing shard 2\/2/.test(e.message));
  await assert.rejects(mergeSweeps([path.join(dir, 'shard-1'), path.join(dir, 'shard-1'), path.join(dir, 'shard-2')], path.join(dir, 'x')), /shard 1\/2 is given more than once/);
  await assert.rejects(mergeSweeps([path.join(dir, 'whole')], path.join(dir, 'x')), /whole: not the output of a shard/);
  const foreign = path.join(dir, 'foreign');
  await cp(path.join(dir, 'shard-2'), foreign, { recursive: true });
  const f = JSON.parse(await readFile(path.join(foreign, 'sweep.json'), 'utf8')) as SweepJson;
  await writeFile(path.join(foreign, 'sweep.json'), JSON.stringify({ ...f, hash: '0'.repeat(64) }));
  await assert.rejects(mergeSweeps([path.join(dir, 'shard-1'), foreign], path.join(dir, 'x')), /foreign is not a shard of the same sweep as .*shard-1/);
  await writeFile(path.join(foreign, 'sweep.json'), JSON.stringify({ ...f, points: f.points.map((p, k) => (k === 0 ? { ...p, runs: [] } : p)) }));
  await assert.rejects(mergeSweeps([path.join(dir, 'shard-1'), foreign], path.join(dir, 'x')), /does not hold the runs of its shard/);
}, 120_000);

test('a bad sweep file is refused before anything runs, naming the field or the point', async () => {
  const bad = async (def: object) => {
    const file = path.join(dir, `bad-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, JSON.stringify(def));
    return loadSweep(file, { engine: 'model' }).then(
      () => assert.fail('accepted'),
      (e: Error) => {
        assert.ok(e instanceof EconomyError, String(e));
        return e.message;
      },
    );
  };
  assert.match(await bad({ ...SWEEP, grid: {} }), /grid: name at least one parameter/);
  assert.match(await bad({ ...SWEEP, grid: { 'demand.arrivalsPerHour': [] } }), /grid\.demand\.arrivalsPerHour: give at least one value/);
  assert.match(await bad({ ...SWEEP, seeds: [1, 1] }), /seeds: seeds must be distinct/);
  assert.match(await bad({ ...SWEEP, grid: { seed: [1, 2] } }), /grid\.seed: the seeds of a sweep are its `seeds`/);
  assert.match(await bad({ ...SWEEP, heatmap: { metric: 'nope' } }), /heatmap\.metric: must be one of tasks, rates\.paid/);
  assert.match(await bad({ ...SWEEP, heatmap: { x: 'durationHours' } }), /heatmap\.x: 'durationHours' is not a grid parameter/);
  assert.match(await bad({ ...SWEEP, base: 'missing.yaml' }), /cannot read economy file .*missing\.yaml/);
  assert.match(await bad({ ...SWEEP, grid: { 'populations.nobody.count': [1] } }), /grid\.populations\.nobody\.count: populations has no element 'nobody'/);
  assert.match(await bad({ ...SWEEP, grid: { 'populations.sloppy.quality': [0.5, 2] } }), /sweep point p2 \(populations\.sloppy\.quality=2\):\n {2}- populations\[2\]\.quality: Too big/);
  assert.match(
    await bad({ ...SWEEP, grid: { 'profiles.agentripe.reviewLimit': [3, 50] } }),
    /sweep point p2 \(profiles\.agentripe\.reviewLimit=50\): profiles\.agentripe\.reviewLimit: .*valid: 1\.\.20/,
  );
  assert.match(await bad({ ...SWEEP, extra: 1 }), /^invalid sweep file .*:\n {2}- \(root\): Unrecognized key: "extra"$/);
  // The stack engine needs a stack simulation for every protocol: refused up front, not in a worker.
  const x402 = (await loadSimulations()).get('x402')!;
  const x402Only = { ...SMALL_MIXED, protocols: { x402: 1 }, profiles: {}, populations: SMALL_MIXED.populations.filter((p) => p.role !== 'reviewer' && p.name !== 'ghosts') };
  await assert.rejects(
    loadSweep(path.join(dir, 'stack.json'), {
      engine: 'stack',
      packs: new Map([['x402', { ...x402, stack: undefined }]]),
      data: { ...SWEEP, base: x402Only, grid: { 'demand.arrivalsPerHour': [10] } },
    }),
    /sweep point p1 \(demand\.arrivalsPerHour=10\): protocol 'x402' has no stack simulation yet/,
  );
  // An inline base economy works as a file does.
  const plan = await loadSweep(path.join(dir, 'inline.json'), { engine: 'model', data: { ...SWEEP, base: SMALL_MIXED, grid: { 'demand.arrivalsPerHour': [10, 20, 30] } } });
  assert.equal(plan.base, 'inline');
  assert.deepEqual(
    plan.cases.map((c) => c.dir),
    ['p1/seed-1', 'p1/seed-2', 'p2/seed-1', 'p2/seed-2', 'p3/seed-1', 'p3/seed-2'],
  );
  assert.deepEqual(plan.heatmap, { x: 'demand.arrivalsPerHour', y: null, metric: 'rates.paidForBadWork' });
  const yOnly = await loadSweep(path.join(dir, 'inline.json'), { engine: 'model', data: { ...SWEEP, base: SMALL_MIXED, grid: { durationHours: [1, 2] }, heatmap: { y: 'durationHours' } } });
  assert.deepEqual(yOnly.heatmap, { x: 'durationHours', y: null, metric: 'welfare.total' });
});

test('setPath: object keys (missing objects created), list elements by name or index; a readable error otherwise', () => {
  const e = { profiles: {}, populations: [{ name: 'a', count: 1 }, { name: 'b' }], demand: { arrivalsPerHour: 1 } };
  setPath(e, 'profiles.x402.maxTimeoutSeconds', 60);
  setPath(e, 'populations.b.count', 7);
  setPath(e, 'populations.0.count', 3);
  setPath(e, 'demand.arrivalsPerHour', 9);
  assert.deepEqual(e, {
    profiles: { x402: { maxTimeoutSeconds: 60 } },
    populations: [
      { name: 'a', count: 3 },
      { name: 'b', count: 7 },
    ],
    demand: { arrivalsPerHour: 9 },
  });
  assert.throws(() => setPath(e, 'populations.5.count', 1), /populations has no element '5' \(give a name or an index below 2\)/);
  assert.throws(() => setPath(e, 'demand.arrivalsPerHour.x', 1), /demand\.arrivalsPerHour is not an object or a list, so it has no 'x'/);
});

test('the shipped example sweep loads: 9 points × 3 seeds over the mixed economy', async () => {
  const plan = await loadSweep(path.join(REPO_ROOT, 'examples', 'economies', 'sweep.yaml'), { engine: 'model' });
  assert.equal(plan.points.length, 9);
  assert.equal(plan.cases.length, 27);
  assert.equal(plan.base, 'mixed.yaml');
});

test.skipIf(!hasChromium('sweep.html'))('sweep.html in headless Chromium: a heat map cell per point, the verdict, links to every run, nothing loaded', async () => {
  await withPage(path.join(dir, 'whole', 'sweep.html'), { width: 1280, height: 900 }, async (page, network) => {
    assert.equal((await page.locator('#conservation').textContent())?.trim(), 'Money conserved to the unit in all 8 runs');
    assert.equal(await page.locator('#plot-heatmap svg g.mark-rect.role-mark > path').count(), 4, 'one cell per point');
    const labels = await page.locator('#plot-heatmap svg g.mark-text.role-mark > text').allTextContents();
    assert.deepEqual(labels.sort(), whole.sweep.points.map((p) => `${((p.mean['rates.paidForBadWork'] as number) * 100).toFixed(1)}%`).sort());
    assert.equal(await page.locator('#points a[href$="/report.html"]').count(), 8);
    const shot = await page.screenshot({ path: path.join(dir, 'sweep.png') });
    assert.ok(shot.length > 20_000, `the screenshot has content (${shot.length} bytes)`);
    assert.deepEqual(network(), [], 'the page loads nothing from the network');
  });
});

test('the example CI matrix (.github/workflows/amh-sim-sweep.yml): three shards of the example sweep, uploaded, then merged', async () => {
  type Step = { run?: string; uses?: string; with?: Record<string, string> };
  const wf = parseYaml(await readFile(path.join(REPO_ROOT, '.github', 'workflows', 'amh-sim-sweep.yml'), 'utf8')) as {
    jobs: Record<string, { needs?: string; if?: string; strategy?: { 'fail-fast': boolean; matrix: { shard: number[] } }; steps: Step[] }>;
  };
  const { shard, merge } = wf.jobs;
  assert.deepEqual(shard!.strategy!.matrix.shard, [1, 2, 3]);
  assert.equal(shard!.strategy!['fail-fast'], false);
  const run = shard!.steps.find((s) => s.run?.includes('simulate'))!.run!;
  assert.equal(run, `npm run amh -- simulate examples/economies/sweep.yaml --shard \${{ matrix.shard }}/3 --out reports/sim/shard-\${{ matrix.shard }}`);
  assert.equal(shard!.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!.with!.path, `reports/sim/shard-\${{ matrix.shard }}`);
  assert.equal(merge!.needs, 'shard');
  assert.equal(merge!.if, 'always()');
  assert.equal(merge!.steps.find((s) => s.uses?.startsWith('actions/download-artifact'))!.with!.pattern, 'amh-sweep-shard-*');
  assert.match(merge!.steps.find((s) => s.run?.includes('--merge'))!.run!, /^npm run amh -- simulate --merge shards\/amh-sweep-shard-\* --out reports\/sim\/merged/);
});
