/**
 * The plots of a simulation's report.html and a sweep's sweep.html: Vega-Lite specs compiled to
 * Vega and rendered to SVG in Node (renderer 'none', no browser, no canvas), so the page embeds
 * them inline and loads nothing. The data are aggregated here first (a run may have a million
 * events; a plot needs a few hundred points).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { SimEvent } from './ledger.ts';
import type { TaskRecord } from './model-engine.ts';

const HOUR_MS = 3_600_000;
/** Plotted dollars: a float is fine for a picture; the tables and metrics.json stay exact. */
const usd = (units: bigint) => Number(units) / 1e6;

const CONFIG = {
  font: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
} as const;

/** Render a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile({ config: CONFIG, ...spec } as TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The balance group of an account: buyers and sellers together, each escrow and fee account on its own. */
function group(account: string): string {
  if (account.startsWith('buyer:')) return 'buyers';
  if (account.startsWith('seller:')) return 'sellers';
  return account;
}

export interface BalancePoint {
  hours: number;
  holder: string;
  usd: number;
}

/**
 * What buyers, sellers, each escrow and each fee account hold over simulated time, sampled at
 * `samples` + 1 evenly spaced instants from 0 to `untilMs` (the events are in time order). The
 * holdings add up to the funded total at every instant when money is conserved.
 */
export function balanceSeries(events: readonly SimEvent[], untilMs: number, samples = 120): BalancePoint[] {
  const held = new Map<string, bigint>();
  const holders = new Set<string>();
  for (const e of events) if (e.amount > 0n) for (const a of [e.from, e.to]) if (a) holders.add(group(a));
  for (const h of holders) held.set(h, 0n);
  const out: BalancePoint[] = [];
  const end = Math.max(untilMs, 1);
  let k = 0;
  for (let i = 0; i <= samples; i++) {
    const at = (end * i) / samples;
    while (k < events.length && events[k]!.t <= at) {
      const e = events[k++]!;
      if (e.amount === 0n) continue;
      if (e.from) held.set(group(e.from), held.get(group(e.from))! - e.amount);
      held.set(group(e.to), held.get(group(e.to))! + e.amount);
    }
    for (const h of holders) out.push({ hours: at / HOUR_MS, holder: h, usd: usd(held.get(h)!) });
  }
  return out;
}

export interface OutcomePoint {
  /** Start of the arrival window, simulated hours. */
  hour: number;
  outcome: string;
  tasks: number;
}

/** Tasks per arrival window and how they ended (about `windows` windows of whole hours). */
export function outcomeSeries(tasks: readonly TaskRecord[], durationHours: number, windows = 48): { width: number; points: OutcomePoint[] } {
  const width = Math.max(1, Math.ceil(durationHours / windows));
  const counts = new Map<string, number>();
  for (const t of tasks) {
    const key = `${Math.floor(t.t0 / (width * HOUR_MS)) * width}\u0000${t.outcomeClass}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const points = [...counts].map(([key, n]) => {
    const [hour, outcome] = key.split('\u0000') as [string, string];
    return { hour: Number(hour), outcome, tasks: n };
  });
  points.sort((a, b) => a.hour - b.hour || a.outcome.localeCompare(b.outcome));
  return { width, points };
}

/** Upper edges (ms) and labels of the time-to-settle classes: a ladder, since times span seconds to days. */
const SETTLE_CLASSES: readonly [number, string][] = [
  [1_000, '< 1 s'],
  [10_000, '1-10 s'],
  [60_000, '10 s-1 min'],
  [300_000, '1-5 min'],
  [900_000, '5-15 min'],
  [HOUR_MS, '15 min-1 h'],
  [3 * HOUR_MS, '1-3 h'],
  [12 * HOUR_MS, '3-12 h'],
  [24 * HOUR_MS, '12-24 h'],
  [7 * 24 * HOUR_MS, '1-7 days'],
  [Number.POSITIVE_INFINITY, '> 7 days'],
];
export const SETTLE_LABELS = SETTLE_CLASSES.map(([, l]) => l);

export interface SettlePoint {
  range: string;
  protocol: string;
  tasks: number;
}

/** How many settled tasks (finished, not refused) took how long from payment to their last step, per protocol. */
export function settleHistogram(tasks: readonly TaskRecord[]): SettlePoint[] {
  const counts = new Map<string, number>();
  for (const t of tasks) {
    if (!t.finished || t.outcomeClass === 'refused' || t.settleMs === undefined) continue;
    const range = SETTLE_CLASSES.find(([edge]) => t.settleMs! < edge)![1];
    const key = `${range}\u0000${t.protocol}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, n]) => {
    const [range, protocol] = key.split('\u0000') as [string, string];
    return { range, protocol, tasks: n };
  });
}

export const balancesSpec = (points: BalancePoint[]): TopLevelSpec => ({
  title: 'Money held over simulated time',
  width: 640,
  height: 260,
  data: { values: points },
  mark: { type: 'area', interpolate: 'step-after' },
  encoding: {
    x: { field: 'hours', type: 'quantitative', title: 'simulated hours' },
    y: { field: 'usd', type: 'quantitative', stack: 'zero', title: 'USDC held' },
    color: { field: 'holder', type: 'nominal', title: 'held by' },
  },
});

export const outcomesSpec = (s: { width: number; points: OutcomePoint[] }): TopLevelSpec => ({
  title: `How tasks ended, by arrival time (${s.width} h windows)`,
  width: 640,
  height: 220,
  data: { values: s.points },
  mark: { type: 'bar' },
  encoding: {
    x: { field: 'hour', type: 'quantitative', title: 'arrival, simulated hours', bin: { step: s.width }, axis: { format: 'd' } },
    y: { field: 'tasks', type: 'quantitative', aggregate: 'sum', stack: 'normalize', title: 'share of the window’s tasks', axis: { format: '%' } },
    color: { field: 'outcome', type: 'nominal', title: 'outcome' },
  },
});

export const settleSpec = (points: SettlePoint[]): TopLevelSpec => ({
  title: 'Time to settle (payment to the task’s last step)',
  width: 640,
  height: 220,
  data: { values: points },
  mark: { type: 'bar' },
  encoding: {
    x: { field: 'range', type: 'ordinal', sort: [...SETTLE_LABELS], title: 'time to settle', axis: { labelAngle: 0 } },
    y: { field: 'tasks', type: 'quantitative', title: 'tasks' },
    color: { field: 'protocol', type: 'nominal', title: 'protocol' },
  },
});

export interface EarningsRow {
  population: string;
  measure: 'earnings' | 'costs' | 'profit';
  usd: number;
}

export function earningsRows(sellers: readonly { population: string; strategy: string; earnings: string; costs: string; profit: string }[]): EarningsRow[] {
  return sellers.flatMap((s) => (['earnings', 'costs', 'profit'] as const).map((measure) => ({ population: `${s.population} (${s.strategy})`, measure, usd: usd(BigInt(s[measure])) })));
}

export const earningsSpec = (rows: EarningsRow[]): TopLevelSpec => ({
  title: 'Seller earnings, costs and profit by population (strategy)',
  width: 640,
  height: 240,
  data: { values: rows },
  mark: { type: 'bar' },
  encoding: {
    x: { field: 'population', type: 'nominal', title: null, axis: { labelAngle: -20 } },
    xOffset: { field: 'measure', type: 'nominal', sort: ['earnings', 'costs', 'profit'] },
    y: { field: 'usd', type: 'quantitative', title: 'USDC' },
    color: { field: 'measure', type: 'nominal', sort: ['earnings', 'costs', 'profit'], title: null },
  },
});

export interface HeatCell {
  x: string;
  y: string;
  /** Facet: the values of the swept parameters beyond the two axes ('' when there are none). */
  rest: string;
  value: number | null;
  label: string;
  /** The cell's colour is light (upper half of the scale): its label is written in black. */
  light: boolean;
}

/** A heat map of one metric over two swept parameters (one panel per value of the other parameters). */
export function heatmapSpec(cells: HeatCell[], o: { title: string; x: string; y: string; metric: string; xOrder: string[]; yOrder: string[] }): TopLevelSpec {
  const layer = {
    width: Math.max(240, 90 * o.xOrder.length),
    height: Math.max(100, 50 * o.yOrder.length),
    encoding: {
      x: { field: 'x', type: 'ordinal', sort: o.xOrder, title: o.x, axis: { labelAngle: 0 } },
      y: { field: 'y', type: 'ordinal', sort: o.yOrder, title: o.y },
    },
    layer: [
      { mark: { type: 'rect' }, encoding: { color: { field: 'value', type: 'quantitative', title: null, scale: { scheme: 'viridis' } } } },
      { mark: { type: 'text', fontSize: 12 }, encoding: { text: { field: 'label', type: 'nominal' }, color: { condition: { test: 'datum.light', value: 'black' }, value: 'white' } } },
    ],
  };
  const faceted = cells.some((c) => c.rest !== '');
  return (
    faceted ? { title: o.title, data: { values: cells }, facet: { field: 'rest', type: 'nominal', title: null }, columns: 2, spec: layer } : { title: o.title, data: { values: cells }, ...layer }
  ) as TopLevelSpec;
}
