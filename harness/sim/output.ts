/**
 * Files of a simulation run in its output folder (default reports/sim/<name>/):
 * - metrics.json: the metrics (metrics.ts), versioned;
 * - events.csv: every event, money movements included (amount in base units), one row each;
 * - tasks.csv: one row per task with its outcome (what the cross-engine check compares);
 * - report.html: the self-contained report with plots (report-html.ts);
 * - violations.json: only when conservation failed: each violation with its event trail.
 * CSV is RFC 4180: comma-separated, a header row, fields quoted when they hold a comma, quote or
 * line break.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import type { SimEvent } from './ledger.ts';
import type { Metrics } from './metrics.ts';
import type { SimResult, TaskRecord } from './model-engine.ts';
import { renderSimReport } from './report-html.ts';

/** One CSV field. */
export function csvField(v: string | number | bigint | boolean | undefined | null): string {
  const s = v === undefined || v === null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const EVENT_COLUMNS = ['seq', 'time_ms', 'protocol', 'task', 'action', 'from', 'to', 'amount', 'note'] as const;
export const TASK_COLUMNS = [
  'task',
  'protocol',
  't0_ms',
  'buyer',
  'seller',
  'seller_population',
  'amount',
  'budget',
  'outcome',
  'outcome_class',
  'delivered',
  'attempts',
  'rejections',
  'settle_ms',
] as const;

export function eventRow(e: SimEvent): string {
  return [e.seq, e.t, e.protocol, e.task, e.action, e.from, e.to, e.amount, e.note].map(csvField).join(',');
}

export function taskRow(t: TaskRecord): string {
  return [t.id, t.protocol, t.t0, t.buyer, t.seller, t.sellerPopulation, t.amount, t.budget, t.outcome, t.outcomeClass, t.delivered, t.attempts, t.rejections, t.settleMs].map(csvField).join(',');
}

async function writeLines(file: string, header: readonly string[], rows: Iterable<string>): Promise<void> {
  const out = createWriteStream(file);
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  await write(`${header.join(',')}\n`);
  let chunk = '';
  for (const r of rows) {
    chunk += `${r}\n`;
    if (chunk.length > 1 << 16) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  out.end();
  await once(out, 'finish');
}

export const json = (v: unknown) => `${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x), 2)}\n`;

/** Write the run's files into `dir` (created; a previous violations.json is removed). */
export async function writeSimOutput(dir: string, r: SimResult, metrics: Metrics): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = [path.join(dir, 'metrics.json'), path.join(dir, 'events.csv'), path.join(dir, 'tasks.csv'), path.join(dir, 'report.html')];
  await writeFile(files[0]!, json(metrics));
  await writeFile(files[3]!, await renderSimReport(r, metrics));
  await writeLines(
    files[1]!,
    EVENT_COLUMNS,
    (function* () {
      for (const e of r.ledger.events) yield eventRow(e);
    })(),
  );
  await writeLines(
    files[2]!,
    TASK_COLUMNS,
    (function* () {
      for (const t of r.tasks) yield taskRow(t);
    })(),
  );
  const violations = path.join(dir, 'violations.json');
  if (r.violations.length) {
    await writeFile(violations, json(r.violations));
    files.push(violations);
  } else await rm(violations, { force: true });
  return files;
}
