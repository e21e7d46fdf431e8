/**
 * Baselines: a file of accepted failures (`--baseline known.json`, written by `amh baseline REPORT`).
 * A run judged against one passes when every failure it has is listed; it fails when a failure is
 * new, or when an entry is stale (its requirement passes now: the entry must be removed, so a
 * baseline can only shrink as an implementation improves). The idea follows the MCP conformance
 * suite's expected failures that fail when stale.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { isProvisional } from '../engine/runner.ts';
import type { BaselineItem, BaselineResult, Report, RequirementReport } from './types.ts';

export const BASELINE_VERSION = 1;

export const BaselineEntrySchema = z
  .object({
    requirement: z
      .string()
      .regex(/^[A-Z0-9]+(-[A-Z0-9]+)+$/, 'must be a requirement id such as USDC-3009-02')
      .describe('requirement id'),
    protocol: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a protocol id such as usdc')
      .optional()
      .describe('protocol id; omit to match the requirement in any protocol'),
    reason: z.string().trim().min(1, 'must say why this failure is accepted').describe('why the failure is accepted (an issue link, a known gap)'),
  })
  .strict();

export const BaselineSchema = z
  .object({
    $schema: z.string().optional(),
    version: z.literal(BASELINE_VERSION).describe('baseline format version'),
    description: z.string().optional(),
    /** Where it was written from (informational). */
    source: z.object({ report: z.string().optional(), seed: z.number().int().optional(), target: z.string().optional(), createdAt: z.string().optional() }).strict().optional(),
    accepted: z.array(BaselineEntrySchema).describe('failures the run accepts'),
  })
  .strict();

export type Baseline = z.infer<typeof BaselineSchema>;
export type BaselineEntry = z.infer<typeof BaselineEntrySchema>;

/** A baseline file that cannot be used (unreadable, not JSON, or not matching the schema). */
export class BaselineError extends Error {
  override name = 'BaselineError';
}

/** Validate parsed JSON as a baseline; errors name each bad field. */
export function parseBaseline(data: unknown, where = 'baseline'): Baseline {
  const r = BaselineSchema.safeParse(data);
  if (!r.success) {
    const lines = r.error.issues.map(
      (i) =>
        `  - ${
          i.path.length
            ? i.path
                .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
                .join('')
                .replace(/^\./, '')
            : '(top level)'
        }: ${i.message}`,
    );
    throw new BaselineError(`invalid baseline ${where}:\n${lines.join('\n')}`);
  }
  const seen = new Map<string, number>();
  r.data.accepted.forEach((e, i) => {
    const key = `${e.protocol ?? '*'}:${e.requirement}`;
    if (seen.has(key)) throw new BaselineError(`invalid baseline ${where}:\n  - accepted[${i}]: ${e.requirement} is listed twice (also accepted[${seen.get(key)}])`);
    seen.set(key, i);
  });
  return r.data;
}

/** Read and validate a baseline file. */
export async function loadBaseline(file: string): Promise<Baseline> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new BaselineError(`cannot read baseline ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new BaselineError(`invalid baseline ${file}: not JSON (${(e as Error).message})`);
  }
  return parseBaseline(data, file);
}

/** A requirement that makes a run fail without a baseline (what exitCodeFor counts). */
export const isFailing = (q: Pick<RequirementReport, 'level' | 'status'>) => q.level === 'MUST' && (q.status === 'fail' || q.status === 'indeterminate');

/** Statuses a baseline entry accepts: a MUST failure, or a SHOULD/MAY warning. */
const acceptable = (q: RequirementReport) => isFailing(q) || q.status === 'warn' || q.status === 'fail';

/**
 * Judge a report against a baseline and return the report with `baseline` set and `exitCode`
 * adjusted: 2 stays 2 (harness error); otherwise 1 when there is a new failure or a stale entry, else
 * 0. In a shard report an entry whose requirement passes is not judged stale (another shard may
 * fail it): it is listed as unchecked, and the merge judges it.
 */
export function applyBaseline(report: Report, baseline: Baseline, file: string): Report {
  const exitCodeWithout = report.baseline ? report.baseline.exitCodeWithout : report.exitCode;
  const res: BaselineResult = { file, exitCodeWithout, accepted: [], stale: [], new: [], newWarnings: [], unchecked: [] };
  const matches = (e: BaselineEntry, protocol: string, q: RequirementReport) => e.requirement === q.id && (!e.protocol || e.protocol === protocol);
  const used = new Set<BaselineEntry>();
  for (const p of report.protocols)
    for (const q of p.requirements) {
      const entry = baseline.accepted.find((e) => matches(e, p.id, q));
      if (entry) used.add(entry);
      const item: BaselineItem = { protocol: p.id, requirement: q.id, status: q.status };
      if (entry) {
        const withReason = { ...item, reason: entry.reason };
        if (acceptable(q) && !(report.shard && isProvisional(q))) res.accepted.push(withReason);
        else if (q.status === 'pass' && !report.shard) res.stale.push(withReason);
        else res.unchecked.push(withReason);
      } else if (isFailing(q) && !(report.shard && isProvisional(q))) res.new.push({ ...item, ...(q.reason ? { reason: q.reason } : {}) });
      else if (q.status === 'warn') res.newWarnings.push({ ...item, ...(q.reason ? { reason: q.reason } : {}) });
    }
  for (const e of baseline.accepted) if (!used.has(e)) res.unchecked.push({ protocol: e.protocol ?? '*', requirement: e.requirement, status: 'absent', reason: e.reason });
  const exitCode = exitCodeWithout === 2 ? 2 : res.new.length || res.stale.length ? 1 : 0;
  return { ...report, exitCode, baseline: res };
}

/** Write a baseline accepting every failure and warning of a report (reasons from the report). */
export function baselineFromReport(report: Report, reportPath?: string): Baseline {
  const accepted: BaselineEntry[] = [];
  for (const p of report.protocols)
    for (const q of p.requirements) if (acceptable(q)) accepted.push({ requirement: q.id, protocol: p.id, reason: `${q.status}: ${(q.reason ?? q.title).split('\n')[0]}`.slice(0, 300) });
  return {
    version: BASELINE_VERSION,
    description: 'accepted failures: a run passes when only these fail; remove an entry once its requirement passes (a stale entry fails the run)',
    source: { ...(reportPath ? { report: reportPath } : {}), seed: report.seed, target: report.target.name, createdAt: report.startedAt },
    accepted,
  };
}

/** Human lines describing a baseline result (CLI summary, summary.md). */
export function baselineLines(b: BaselineResult): string[] {
  const fmt = (x: BaselineItem) => `${x.protocol}/${x.requirement} (${x.status})${x.reason ? `: ${x.reason.split('\n')[0]}` : ''}`;
  const out = [
    `baseline ${b.file}: ${b.accepted.length} accepted, ${b.new.length} new failure${b.new.length === 1 ? '' : 's'}, ${b.stale.length} stale entr${b.stale.length === 1 ? 'y' : 'ies'}, ${b.unchecked.length} unchecked (exit code without the baseline: ${b.exitCodeWithout})`,
  ];
  for (const x of b.new) out.push(`  NEW failure ${fmt(x)}`);
  for (const x of b.stale) out.push(`  STALE entry ${fmt(x)} — it passes now; remove it from the baseline`);
  for (const x of b.newWarnings) out.push(`  new warning ${fmt(x)} (does not fail the run)`);
  for (const x of b.accepted) out.push(`  accepted ${fmt(x)}`);
  for (const x of b.unchecked) out.push(`  unchecked ${fmt(x)}`);
  return out;
}
