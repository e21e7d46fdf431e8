/**
 * report.html of `amh simulate`: a small mixed economy's report is self-contained, and headless
 * Chromium shows every plot with its marks and the conservation verdict (screenshot kept in the
 * test's temp folder); a run that breaks conservation says so on the page. The plots' data
 * (balances over time, outcome windows, time-to-settle classes) on hand-made events and tasks.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, test } from 'vitest';
import { REPO_ROOT } from '../chain/paths.ts';
import { loadSimulations } from '../packs/discover.ts';
import type { SimEvent } from './ledger.ts';
import type { TaskRecord } from './model-engine.ts';
import { defineSimulation } from './pack.ts';
import { balanceSeries, outcomeSeries, SETTLE_LABELS, settleHistogram } from './plots.ts';
import { runSimulation } from './run.ts';
import { SMALL_MIXED } from '../testing/sim-economies.ts';
import { hasChromium, withPage } from '../testing/chromium.ts';

let dir: string;
let economyFile: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'amh-sim-report-'));
  economyFile = path.join(dir, 'small-mixed.json');
  await writeFile(economyFile, JSON.stringify(SMALL_MIXED));
});

test("report.html: a pack's bigint constants (AISP's feeBps, basis points) are printed, not a crash", async () => {
  const out = path.join(dir, 'aisp');
  const r = await runSimulation({ file: path.join(REPO_ROOT, 'examples', 'economies', 'aisp.yaml'), engine: 'model', out });
  assert.equal(r.exitCode, 0);
  const html = await readFile(path.join(out, 'report.html'), 'utf8');
  assert.match(html, /<th>constants: aisp<\/th><td><code>\{[^<]*&quot;feeBps&quot;:&quot;100&quot;/);
});

test('report.html: written with every run, self-contained, the verdict, the run facts and four plots', async () => {
  const out = path.join(dir, 'run');
  const r = await runSimulation({ file: economyFile, engine: 'model', out });
  assert.equal(r.exitCode, 0);
  assert.ok(r.files.includes(path.join(out, 'report.html')));
  const html = await readFile(path.join(out, 'report.html'), 'utf8');
  assert.doesNotMatch(html, /<script|<link[^>]+href=|<img[^>]+src=|url\(http|@import/i, 'no script, nothing loaded');
  assert.match(html, /<div id="conservation" class="verdict ok">Money conserved to the unit: funded \$240\.00 = buyers \$/);
  assert.match(html, /<th>engine<\/th><td>model<\/td>/);
  assert.match(html, /<th>seed<\/th><td>5<\/td>/);
  assert.match(html, /<th>what-if profile<\/th><td>none/);
  assert.match(html, /<th>constants: agentripe<\/th><td><code>\{[^<]*&quot;escrowFeeBps&quot;:100/);
  for (const id of ['balances', 'outcomes', 'settle', 'earnings']) assert.match(html, new RegExp(`<figure id="plot-${id}"><svg `), id);
});

test.skipIf(!hasChromium('report.html'))('headless Chromium: every plot has its marks, the verdict shows, nothing is loaded (screenshot)', async () => {
  const out = path.join(dir, 'chromium');
  const r = await runSimulation({ file: economyFile, engine: 'model', out });
  await withPage(path.join(out, 'report.html'), { width: 1280, height: 1000 }, async (page, network) => {
    assert.match((await page.locator('#conservation').textContent()) ?? '', /^Money conserved to the unit: funded \$240\.00 = /);
    // Vega's SVG: one group per mark with its items; an empty plot would have none.
    const marks = async (id: string, kind: string) => page.locator(`#plot-${id} svg g.mark-${kind}.role-mark > path`).count();
    // Buyers, sellers, escrow:agentripe and fees:agentripe (the 1% escrow fee); x402 pays the seller directly.
    assert.equal(await marks('balances', 'area'), 4, 'one area per holder');
    const legend = (await page.locator('#plot-balances svg').textContent()) ?? '';
    for (const h of ['buyers', 'sellers', 'escrow:agentripe', 'fees:agentripe']) assert.ok(legend.includes(h), h);
    const classes = new Set(r.result.tasks.map((t) => t.outcomeClass));
    assert.ok((await marks('outcomes', 'rect')) >= classes.size, 'a bar per window and outcome');
    assert.ok((await marks('settle', 'rect')) >= 2, 'time-to-settle classes for both protocols');
    assert.equal(await marks('earnings', 'rect'), 3 * r.metrics.roles.sellers.length, 'earnings, costs and profit per seller population');
    const box = await page.locator('#plot-balances svg').boundingBox();
    assert.ok(box && box.width > 500 && box.height > 200, `the balances plot is drawn at full size (${JSON.stringify(box)})`);
    assert.match((await page.locator('#figures').textContent()) ?? '', new RegExp(`tasks${r.metrics.tasks} \\(`));
    const shot = await page.screenshot({ path: path.join(out, 'report.png'), fullPage: true });
    assert.deepEqual([...shot.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
    assert.ok(shot.length > 50_000, `the screenshot has content (${shot.length} bytes)`);
    assert.deepEqual(network(), [], 'the page loads nothing from the network');
  });
});

test('a run that does not conserve money says so on the page', async () => {
  const packs = await loadSimulations();
  const base = packs.get('x402')!;
  // Pays the seller out of x402's escrow account, which never received anything.
  const thief = defineSimulation({
    ...base,
    model(task) {
      const p = base.model(task);
      return { ...p, steps: p.steps.map((s) => (s.action === 'settle' ? { ...s, transfers: [{ from: task.escrow, to: task.seller, amount: task.amount }] } : s)) };
    },
  });
  const file = path.join(dir, 'x402-only.json');
  await writeFile(file, JSON.stringify({ ...SMALL_MIXED, protocols: { x402: 1 }, profiles: {}, populations: SMALL_MIXED.populations.filter((p) => p.role !== 'reviewer' && p.name !== 'ghosts') }));
  const out = path.join(dir, 'thief');
  const r = await runSimulation({ file, engine: 'model', out, packs: new Map([['x402', thief]]) });
  assert.equal(r.exitCode, 1);
  const html = await readFile(path.join(out, 'report.html'), 'utf8');
  assert.match(html, new RegExp(`<div id="conservation" class="verdict bad">CONSERVATION VIOLATED: ${r.result.violations.length} violation`));
  assert.match(html, /<ul id="violations"><li><code>t\d+ settle: escrow:x402 holds 0, cannot pay/);
});

const ev = (seq: number, t: number, action: string, from: string, to: string, amount: bigint): SimEvent => ({ seq, t, protocol: 'p', task: 't0', action, from, to, amount, note: '' });

test('balanceSeries: what each holder has at each sample, the total constant', () => {
  const events = [
    ev(0, 0, 'fund', '', 'buyer:b#0', 100n),
    ev(1, 1_000, 'pay', 'buyer:b#0', 'escrow:p', 40n),
    ev(2, 1_000, 'start', '', '', 0n),
    ev(3, 3_000, 'release', 'escrow:p', 'seller:s#0', 39n),
    ev(4, 3_000, 'fee', 'escrow:p', 'fees:p', 1n),
  ];
  const points = balanceSeries(events, 4_000, 4);
  const at = (ms: number) => Object.fromEntries(points.filter((p) => p.hours === ms / 3_600_000).map((p) => [p.holder, p.usd * 1e6]));
  assert.deepEqual(at(0), { buyers: 100, 'escrow:p': 0, sellers: 0, 'fees:p': 0 });
  assert.deepEqual(at(1_000), { buyers: 60, 'escrow:p': 40, sellers: 0, 'fees:p': 0 });
  assert.deepEqual(at(2_000), { buyers: 60, 'escrow:p': 40, sellers: 0, 'fees:p': 0 });
  assert.deepEqual(at(3_000), { buyers: 60, 'escrow:p': 0, sellers: 39, 'fees:p': 1 });
  for (const t of [0, 1_000, 2_000, 3_000, 4_000])
    assert.equal(
      Object.values(at(t)).reduce((a, b) => a + b, 0),
      100,
    );
});

const task = (t0: number, outcomeClass: TaskRecord['outcomeClass'], settleMs: number | undefined, protocol = 'p'): TaskRecord => ({
  id: `t${t0}`,
  protocol,
  t0,
  amount: 1n,
  budget: 1n,
  buyer: 'b',
  seller: 's',
  sellerPopulation: 'pop',
  outcome: outcomeClass,
  outcomeClass,
  delivered: 'good',
  attempts: 1,
  rejections: 0,
  finished: settleMs !== undefined,
  ...(settleMs !== undefined ? { settleMs } : {}),
});

test('outcomeSeries and settleHistogram: windows of whole hours; settle classes; refused and open tasks left out', () => {
  const H = 3_600_000;
  const tasks = [task(0, 'paid', 500), task(0.5 * H, 'refunded', 20 * 60_000), task(1.2 * H, 'paid', 5_000, 'q'), task(2.9 * H, 'refused', 0), task(3.1 * H, 'open', undefined)];
  assert.deepEqual(outcomeSeries(tasks, 4, 4), {
    width: 1,
    points: [
      { hour: 0, outcome: 'paid', tasks: 1 },
      { hour: 0, outcome: 'refunded', tasks: 1 },
      { hour: 1, outcome: 'paid', tasks: 1 },
      { hour: 2, outcome: 'refused', tasks: 1 },
      { hour: 3, outcome: 'open', tasks: 1 },
    ],
  });
  assert.equal(outcomeSeries(tasks, 100, 48).width, 3, '100 hours in at most 48 windows: 3 h each');
  assert.deepEqual(
    settleHistogram(tasks).sort((a, b) => SETTLE_LABELS.indexOf(a.range) - SETTLE_LABELS.indexOf(b.range)),
    [
      { range: '< 1 s', protocol: 'p', tasks: 1 },
      { range: '1-10 s', protocol: 'q', tasks: 1 },
      { range: '15 min-1 h', protocol: 'p', tasks: 1 },
    ],
  );
});
