/**
 * report.html of a simulation run: one self-contained page (inline CSS, inline SVG plots, no
 * script, nothing loaded): the conservation verdict, what ran (engine, seed, economy file, profile
 * and constants), the key figures, per-protocol and per-population tables, and the plots (money
 * held over time, outcomes over time, time to settle, seller earnings by strategy).
 */
import { esc } from '../report/html.ts';
import { formatUsd } from '../util/money.ts';
import type { Metrics } from './metrics.ts';
import type { SimResult } from './model-engine.ts';
import { balanceSeries, balancesSpec, earningsRows, earningsSpec, outcomeSeries, outcomesSpec, renderSvg, settleHistogram, settleSpec } from './plots.ts';

/** Shared by report.html and sweep.html. */
export const PAGE_CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px auto; max-width: 1100px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.verdict { padding: 10px 14px; border-radius: 6px; font-weight: 600; margin: 14px 0; }
.verdict.ok { background: #e6f4ea; border: 1px solid #34a853; } .verdict.bad { background: #fce8e6; border: 1px solid #d93025; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f6f6; font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 18px 0; } figure svg { max-width: 100%; height: auto; } figcaption { color: #555; font-size: 13px; }
code { font-size: 12px; background: #f3f3f3; padding: 1px 3px; border-radius: 3px; } .muted { color: #666; }
`;

/** A simulated duration, readable. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return 'n/a';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export const pct = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(1)}%`);
const fixed = (x: number | null | undefined, d = 3) => (x === null || x === undefined ? 'n/a' : x.toFixed(d));
const money = (s: string) => formatUsd(BigInt(s));

/** Rows of a two-column table; values are HTML already. */
function facts(id: string, rows: [string, string][]): string {
  return `<table id="${id}"><tbody>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join('')}</tbody></table>`;
}

function grid(id: string, head: string[], rows: string[][], numeric: readonly number[] = []): string {
  const cell = (v: string, i: number) => `<td${numeric.includes(i) ? ' class="num"' : ''}>${v}</td>`;
  return `<table id="${id}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table>`;
}

/** The conservation verdict as one line of text (the page, sweep.json's readers and the CLI say the same). */
export function conservationText(c: Metrics['conservation']): string {
  if (!c.ok) return `CONSERVATION VIOLATED: ${c.violations.length} violation${c.violations.length === 1 ? '' : 's'}`;
  const held = [
    `buyers ${money(c.held.buyers)}`,
    `sellers ${money(c.held.sellers)}`,
    ...Object.entries(c.held.escrow).map(([id, v]) => `escrow:${id} ${money(v)}`),
    ...Object.entries(c.held.fees).map(([id, v]) => `fees:${id} ${money(v)}`),
  ];
  return `Money conserved to the unit: funded ${money(c.funded)} = ${held.join(' + ')}`;
}

export async function renderSimReport(r: SimResult, m: Metrics): Promise<string> {
  const e = r.economy;
  const plots: [string, string, string][] = [
    [
      'balances',
      await renderSvg(balancesSpec(balanceSeries(r.ledger.events, r.lastMs))),
      'What buyers, sellers, escrow and fee accounts hold; the stack’s height is the money funded, constant when money is conserved.',
    ],
    ['outcomes', await renderSvg(outcomesSpec(outcomeSeries(r.tasks, e.durationHours))), 'Share of the tasks arriving in each window by how they ended (outcome class).'],
    ['settle', await renderSvg(settleSpec(settleHistogram(r.tasks))), 'Settled tasks (refused payments excluded) by time from payment to their last step.'],
    ['earnings', await renderSvg(earningsSpec(earningsRows(m.roles.sellers))), 'Per seller population: money received, cost of the delivery attempts, profit.'],
  ];
  const whatIf = m.whatIf ? `${esc(m.whatIf.name)} <code>${esc(m.whatIf.hash.slice(0, 12))}</code>${m.whatIf.file ? ` (${esc(m.whatIf.file)})` : ''}` : 'none (the economy’s own profiles)';
  const run = facts('run', [
    ['engine', esc(m.engine)],
    ['seed', esc(m.seed)],
    ['economy file', m.economy.file ? `<code>${esc(m.economy.file)}</code>` : 'n/a'],
    [
      'protocols (share of demand)',
      esc(
        Object.entries(e.protocols)
          .map(([id, w]) => `${id} ${w}`)
          .join(', '),
      ),
    ],
    ['simulated time', `${esc(e.durationHours)} h of arrivals, last event at ${esc(duration(r.lastMs))}`],
    ['demand', `${esc(e.demand.arrivalsPerHour)} arrivals per simulated hour`],
    ['what-if profile', whatIf],
    ...Object.entries(m.profiles).map(([id, c]): [string, string] => [`constants: ${id}`, `<code>${esc(JSON.stringify(c, (_k, x) => (typeof x === 'bigint' ? String(x) : x)))}</code>`]),
    ['started', esc(m.run.startedAt)],
    ['wall time', `${esc((m.run.wallMs / 1000).toFixed(1))} s${m.run.tasksPerSecond ? ` (${esc(Math.round(m.run.tasksPerSecond))} tasks/s)` : ''}`],
  ]);
  const unserved = Object.values(m.arrivals.unserved).reduce((a, b) => a + b, 0);
  const figures = facts('figures', [
    ['tasks', `${m.tasks} (${unserved} arrivals unserved)`],
    [
      'by outcome class',
      esc(
        Object.entries(m.byClass)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ') || 'none',
      ),
    ],
    ['paid · refunded · timed out · not charged · refused', [m.rates.paid, m.rates.refund, m.rates.timeout, m.rates.notCharged, m.rates.refused].map(pct).join(' · ')],
    ['rejections per delivery attempt', pct(m.rates.rejection)],
    ['paid for bad work', pct(m.rates.paidForBadWork)],
    ['time to settle p50 / p95 / p99', [m.timeToSettleMs.p50, m.timeToSettleMs.p95, m.timeToSettleMs.p99].map(duration).join(' / ')],
    ['throughput', `${m.throughput.settledPerSimHour.toFixed(1)} settled per simulated hour`],
    ['buyer surplus · seller profit · total welfare', [m.welfare.buyerSurplus, m.welfare.sellerProfit, m.welfare.total].map(money).join(' · ')],
    ['reputation vs true quality (Spearman)', fixed(m.reputation.rankCorrelationWithTrueQuality)],
    ['Gini of seller earnings', fixed(m.gini.sellerEarnings)],
  ]);
  const protocols = grid(
    'protocols',
    ['protocol', 'tasks', 'paid', 'refunded', 'timed out', 'paid for bad work', 'p50 settle', 'fees'],
    Object.entries(m.perProtocol).map(([id, p]) => [
      esc(id),
      String(p.tasks),
      pct(p.rates.paid),
      pct(p.rates.refund),
      pct(p.rates.timeout),
      pct(p.rates.paidForBadWork),
      duration(p.timeToSettleMs.p50),
      money(p.fees),
    ]),
    [1, 2, 3, 4, 5, 6, 7],
  );
  const sellers = grid(
    'sellers',
    ['population', 'strategy', 'agents', 'true quality', 'tasks', 'earnings', 'costs', 'profit', 'mean reputation'],
    m.roles.sellers.map((s) => [
      esc(s.population),
      esc(s.strategy),
      String(s.agents),
      fixed(s.trueQuality, 2),
      String(s.tasks),
      money(s.earnings),
      money(s.costs),
      money(s.profit),
      fixed(s.meanReputation, 1),
    ]),
    [2, 3, 4, 5, 6, 7, 8],
  );
  const buyers = grid(
    'buyers',
    ['population', 'choice', 'agents', 'tasks', 'funded', 'spent', 'surplus'],
    m.roles.buyers.map((b) => [esc(b.population), esc(b.choice), String(b.agents), String(b.tasks), money(b.funded), money(b.spent), money(b.surplus)]),
    [2, 3, 4, 5, 6],
  );
  const c = m.conservation;
  const violations = c.violations.length
    ? `<ul id="violations">${c.violations
        .slice(0, 20)
        .map((v) => `<li><code>${esc(v)}</code></li>`)
        .join('')}</ul>${c.violations.length > 20 ? `<p>… ${c.violations.length - 20} more in violations.json</p>` : ''}`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>amh simulate: ${esc(e.name)}</title><style>${PAGE_CSS}</style></head>
<body>
<h1>Simulation: ${esc(e.name)}</h1>
${e.description ? `<p class="muted">${esc(e.description)}</p>` : ''}
<div id="conservation" class="verdict ${c.ok ? 'ok' : 'bad'}">${esc(conservationText(c))}</div>
${violations}
<h2>Run</h2>
${run}
<h2>Key figures</h2>
${figures}
<h2>Plots</h2>
${plots.map(([id, svg, caption]) => `<figure id="plot-${id}">${svg}<figcaption>${esc(caption)}</figcaption></figure>`).join('\n')}
<h2>Per protocol</h2>
${protocols}
<h2>Sellers</h2>
${sellers}
<h2>Buyers</h2>
${buyers}
<p class="muted">Written by agentmarket-harness <code>amh simulate</code>; metrics.json, events.csv and tasks.csv beside this file hold every figure exactly.</p>
</body></html>
`;
}
