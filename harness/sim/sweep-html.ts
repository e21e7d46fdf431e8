/**
 * sweep.html: one self-contained page for a sweep (inline CSS and SVG, no script, nothing loaded):
 * the conservation verdict over every run, what ran, the heat map of the chosen metric over two
 * swept parameters (one panel per value of the other parameters), and a table of the points with
 * their means and links to each run's report.html.
 */
import { esc } from '../report/html.ts';
import { formatUsd } from '../util/money.ts';
import { type HeatCell, heatmapSpec, renderSvg } from './plots.ts';
import { duration, PAGE_CSS, pct } from './report-html.ts';
import { KEY_METRICS, type KeyMetric, paramText, type SweepJson } from './sweep.ts';

/** A key metric's value as the page shows it. */
export function metricText(k: KeyMetric, v: number | string | null): string {
  if (v === null) return 'n/a';
  switch (KEY_METRICS[k]) {
    case 'money':
      return formatUsd(BigInt(v));
    case 'ratio':
      return pct(v as number);
    case 'ms':
      return duration(v as number);
    case 'count':
      return String(Math.round((v as number) * 10) / 10);
    default:
      return (v as number).toFixed(3);
  }
}

/** The number a heat map cell is coloured by (money in dollars). */
const plotted = (k: KeyMetric, v: number | string | null) => (v === null ? null : KEY_METRICS[k] === 'money' ? Number(v) / 1e6 : (v as number));

export function heatCells(s: SweepJson): HeatCell[] {
  const { x, y, metric } = s.heatmap;
  const values = s.points.map((p) => plotted(metric, p.mean[metric])).filter((v): v is number => v !== null);
  const mid = values.length ? (Math.min(...values) + Math.max(...values)) / 2 : 0;
  return s.points
    .filter((p) => p.runs.length > 0)
    .map((p) => {
      const value = plotted(metric, p.mean[metric]);
      const rest = Object.fromEntries(Object.entries(p.params).filter(([k]) => k !== x && k !== y));
      return {
        x: String(p.params[x]),
        y: y === null ? 'all' : String(p.params[y]),
        rest: paramText(rest),
        value,
        label: `${metricText(metric, p.mean[metric])}${p.conserved ? '' : ' ✘'}`,
        light: value !== null && value >= mid,
      };
    });
}

/** Column titles of the points table (the full dotted names are in the heat map and sweep.json). */
const SHORT: Partial<Record<KeyMetric, string>> = {
  'rates.paid': 'paid',
  'rates.refund': 'refunded',
  'rates.paidForBadWork': 'paid for bad work',
  'timeToSettleMs.p50': 'p50 settle',
  'welfare.total': 'welfare',
  'reputation.rankCorrelationWithTrueQuality': 'reputation ~ quality',
  'gini.sellerEarnings': 'Gini earnings',
};

export async function renderSweepHtml(s: SweepJson): Promise<string> {
  const { x, y, metric } = s.heatmap;
  const order = (p: string | null) => (p === null ? ['all'] : (s.parameters.find((q) => q.path === p)?.values.map(String) ?? []));
  // The y axis grows upward, as on a chart: the last value on top.
  const cells = heatCells(s);
  const heat = cells.length
    ? await renderSvg(
        heatmapSpec(cells, { title: `${metric}: mean over ${s.seeds.length} seed${s.seeds.length === 1 ? '' : 's'}`, x, y: y ?? '', metric, xOrder: order(x), yOrder: order(y).reverse() }),
      )
    : '<p>No run in this folder.</p>';
  const runs = s.points.flatMap((p) => p.runs);
  const bad = s.points.flatMap((p) => p.runs.filter((r) => !r.conserved).map((r) => r.dir));
  const verdict = s.conserved ? `Money conserved to the unit in all ${runs.length} runs` : `CONSERVATION VIOLATED in ${bad.length} of ${runs.length} runs: ${bad.join(', ')}`;
  const shown: KeyMetric[] = ['tasks', 'rates.paid', 'rates.refund', 'rates.paidForBadWork', 'timeToSettleMs.p50', 'welfare.total', 'reputation.rankCorrelationWithTrueQuality', 'gini.sellerEarnings'];
  if (!shown.includes(metric)) shown.push(metric);
  const params = s.parameters.map((p) => p.path);
  const head = ['point', ...params, 'conserved', ...shown.map((k) => SHORT[k] ?? k), 'runs'];
  const rows = s.points.map(
    (p) =>
      `<tr><td>${esc(p.id)}</td>${params.map((k) => `<td>${esc(p.params[k])}</td>`).join('')}<td>${p.runs.length ? (p.conserved ? '✔' : '✘') : ''}</td>${shown
        .map((k) => `<td class="num">${p.runs.length ? esc(metricText(k, p.mean[k])) : ''}</td>`)
        .join('')}<td class="runs">${p.runs.map((r) => `<a href="${esc(r.dir)}/report.html">seed ${esc(r.seed)}</a>`).join(' ')}</td></tr>`,
  );
  const facts: [string, string][] = [
    ['sweep file', `<code>${esc(s.sweepFile)}</code>`],
    ['base economy', `<code>${esc(s.base)}</code>`],
    ['engine', esc(s.engine)],
    ['what-if profile', s.whatIf ? `${esc(s.whatIf.name)} <code>${esc(s.whatIf.hash.slice(0, 12))}</code>` : 'none'],
    ['grid', s.parameters.map((p) => `<code>${esc(p.path)}</code>: ${esc(p.values.join(', '))}`).join('<br>')],
    ['seeds', esc(s.seeds.join(', '))],
    ['runs', `${runs.length}${s.shard ? ` of ${s.shard.cases.length}: shard ${s.shard.index}/${s.shard.total} (merge every shard with amh simulate --merge)` : ''}`],
    ['started', esc(s.run.startedAt)],
    [
      'wall time',
      `${(s.run.wallMs / 1000).toFixed(1)} s${s.run.workers ? ` on ${s.run.workers} worker${s.run.workers === 1 ? '' : 's'}` : ''}${s.run.mergedShards ? ` (${s.run.mergedShards} shards merged)` : ''}`,
    ],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>amh simulate sweep: ${esc(s.name)}</title><style>${PAGE_CSS} td.runs { white-space: nowrap; }</style></head>
<body>
<h1>Sweep: ${esc(s.name)}</h1>
${s.description ? `<p class="muted">${esc(s.description)}</p>` : ''}
<div id="conservation" class="verdict ${s.conserved ? 'ok' : 'bad'}">${esc(verdict)}</div>
<h2>Sweep</h2>
<table id="sweep"><tbody>${facts.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join('')}</tbody></table>
<h2>Heat map</h2>
<figure id="plot-heatmap">${heat}<figcaption>${esc(metric)} per grid point (mean over its seeds) over ${esc(x)}${y ? ` and ${esc(y)}` : ''}; ✘ marks a point where a run did not conserve money.</figcaption></figure>
<h2>Points</h2>
<table id="points"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>
<p class="muted">Written by agentmarket-harness <code>amh simulate</code>; sweep.json holds every figure exactly, each run's folder its metrics, events and report.</p>
</body></html>
`;
}
