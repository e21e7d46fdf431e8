/**
 * `amh diff A B`: two report.json side by side. Which requirements changed verdict (with B's reason
 * and counterexample, and A's), which were added or removed, which kept their verdict but changed
 * counterexample, which depend on a protocol constant the two runs' what-if profiles set differently,
 * and how the metrics moved (run counts, checks, summary counts, duration). Rendered
 * as text (terminal), Markdown (a PR comment) or one self-contained HTML page.
 */
import { profileConstantsText } from './profile-text.ts';
import type { Counterexample, ProfileInfo, Report, RequirementStatus } from './types.ts';

export interface Side {
  status: RequirementStatus;
  reason?: string;
  /** The counterexample of the scenario that violated it (or left it indeterminate), if any. */
  counterexample?: Counterexample & { caseId: string; replay?: string };
  /** Values of the protocol constants it depends on (report 1.3+). */
  constants?: Record<string, string>;
}

/** A requirement that depends on a protocol constant the two runs set differently. */
export interface ConstantChange {
  protocol: string;
  id: string;
  level: string;
  title: string;
  /** Each constant that differs: name, A's value, B's value. */
  constants: { name: string; a: string; b: string }[];
  /** Verdicts in A and B. */
  a: RequirementStatus;
  b: RequirementStatus;
}

export interface RequirementDiff {
  protocol: string;
  id: string;
  level: string;
  title: string;
  a?: Side;
  b?: Side;
}

export interface Metric {
  name: string;
  a: number | string;
  b: number | string;
}

export interface ReportDiff {
  a: { label: string; seed: number; target: string; harness: string; exitCode: number; startedAt: string };
  b: { label: string; seed: number; target: string; harness: string; exitCode: number; startedAt: string };
  /** In both reports with a different status. */
  changed: RequirementDiff[];
  /** Only in B. */
  added: RequirementDiff[];
  /** Only in A. */
  removed: RequirementDiff[];
  /** Same status, different counterexample (actions or requirement). */
  counterexampleChanged: RequirementDiff[];
  unchanged: number;
  metrics: Metric[];
  /** The what-if profiles of A and B (null: the defaults). */
  profiles: { a: ProfileInfo | null; b: ProfileInfo | null };
  /** Requirements (in both) that depend on a protocol constant A and B set differently: what a profile change touches. */
  constantsChanged: ConstantChange[];
}

function side(r: Report, protocol: string, id: string): Side | undefined {
  const p = r.protocols.find((x) => x.id === protocol);
  const q = p?.requirements.find((x) => x.id === id);
  if (!p || !q) return undefined;
  const sc = p.scenarios.find((s) => s.counterexample && s.status !== 'pass' && s.requirements.includes(id) && (!s.counterexample.requirement || s.counterexample.requirement === id));
  return {
    status: q.status,
    ...(q.reason ? { reason: q.reason } : {}),
    ...(sc && q.status !== 'pass' ? { counterexample: { ...sc.counterexample!, caseId: sc.caseId, ...(sc.replay ? { replay: sc.replay } : {}) } } : {}),
    ...(q.constants ? { constants: q.constants } : {}),
  };
}

function metrics(a: Report, b: Report): Metric[] {
  const out: Metric[] = [];
  const runs = (r: Report, p?: string) => r.protocols.filter((x) => !p || x.id === p).reduce((n, x) => n + x.scenarios.reduce((m, s) => m + s.runs, 0), 0);
  const checks = (r: Report, p?: string) => r.protocols.filter((x) => !p || x.id === p).reduce((n, x) => n + x.requirements.reduce((m, q) => m + q.checks.passed + q.checks.failed, 0), 0);
  out.push({ name: 'exit code', a: a.exitCode, b: b.exitCode });
  out.push({ name: '--runs', a: a.runs, b: b.runs });
  out.push({ name: 'property runs done', a: runs(a), b: runs(b) });
  out.push({ name: 'checks executed', a: a.summary.checks, b: b.summary.checks });
  for (const k of ['pass', 'fail', 'warn', 'notApplicable', 'error', 'indeterminate', 'uncovered'] as const)
    out.push({ name: `requirements ${k === 'notApplicable' ? 'n/a' : k}`, a: a.summary[k], b: b.summary[k] });
  out.push({ name: 'duration (s)', a: Number((a.durationMs / 1000).toFixed(1)), b: Number((b.durationMs / 1000).toFixed(1)) });
  const ids = [...new Set([...a.protocols.map((p) => p.id), ...b.protocols.map((p) => p.id)])];
  for (const p of ids) {
    out.push({ name: `${p}: runs done`, a: runs(a, p), b: runs(b, p) });
    out.push({ name: `${p}: checks`, a: checks(a, p), b: checks(b, p) });
  }
  return out;
}

const cxKey = (s?: Side) => (s?.counterexample ? JSON.stringify([s.counterexample.requirement, s.counterexample.actions]) : '');

/** Compare two reports. */
export function diffReports(a: Report, b: Report, labels: { a: string; b: string } = { a: 'A', b: 'B' }): ReportDiff {
  const keys: { protocol: string; id: string; level: string; title: string }[] = [];
  const seen = new Set<string>();
  for (const r of [a, b])
    for (const p of r.protocols)
      for (const q of p.requirements) {
        const k = `${p.id}\u0000${q.id}`;
        if (seen.has(k)) continue;
        seen.add(k);
        keys.push({ protocol: p.id, id: q.id, level: q.level, title: q.title });
      }
  const d: ReportDiff = {
    a: { label: labels.a, seed: a.seed, target: a.target.name, harness: a.harness.version, exitCode: a.exitCode, startedAt: a.startedAt },
    b: { label: labels.b, seed: b.seed, target: b.target.name, harness: b.harness.version, exitCode: b.exitCode, startedAt: b.startedAt },
    changed: [],
    added: [],
    removed: [],
    counterexampleChanged: [],
    unchanged: 0,
    metrics: metrics(a, b),
    profiles: { a: a.profile ?? null, b: b.profile ?? null },
    constantsChanged: [],
  };
  for (const k of keys) {
    const sa = side(a, k.protocol, k.id);
    const sb = side(b, k.protocol, k.id);
    const row: RequirementDiff = { ...k, ...(sa ? { a: sa } : {}), ...(sb ? { b: sb } : {}) };
    if (!sa) d.added.push(row);
    else if (!sb) d.removed.push(row);
    else if (sa.status !== sb.status) d.changed.push(row);
    else if (cxKey(sa) !== cxKey(sb)) d.counterexampleChanged.push(row);
    else d.unchanged++;
    if (sa?.constants && sb?.constants) {
      const names = [...new Set([...Object.keys(sa.constants), ...Object.keys(sb.constants)])].sort();
      const differ = names.filter((n) => sa.constants![n] !== sb.constants![n]).map((n) => ({ name: n, a: sa.constants![n] ?? '—', b: sb.constants![n] ?? '—' }));
      if (differ.length) d.constantsChanged.push({ ...k, constants: differ, a: sa.status, b: sb.status });
    }
  }
  return d;
}

const profileText = (p: ProfileInfo | null) => (p ? `profile '${p.name}' (${profileConstantsText(p, 'defaults')})` : 'default constants');
const changeText = (c: ConstantChange) => c.constants.map((x) => `${x.name} ${x.a} → ${x.b}`).join(', ');

/** Exit code of `amh diff`: 0 when no requirement present in both reports changed verdict, else 1. */
export const diffExitCode = (d: ReportDiff): 0 | 1 => (d.changed.length ? 1 : 0);

const arrow = (r: RequirementDiff) => `${r.a?.status ?? '—'} → ${r.b?.status ?? '—'}`;
const moved = (m: Metric) => m.a !== m.b;
const first = (s?: string) => (s ?? '').split('\n')[0] ?? '';

function headline(d: ReportDiff): string {
  const k = d.constantsChanged.length;
  return `${verdictHeadline(d)}${k ? `; ${k} requirement${k === 1 ? '' : 's'} depend${k === 1 ? 's' : ''} on a changed constant` : ''}`;
}

function verdictHeadline(d: ReportDiff): string {
  return d.changed.length
    ? `${d.changed.length} requirement${d.changed.length === 1 ? '' : 's'} changed verdict`
    : `no requirement changed verdict${d.added.length || d.removed.length ? ` (${d.added.length} added, ${d.removed.length} removed)` : ''}`;
}

/** Plain text for a terminal. */
export function renderDiffText(d: ReportDiff): string {
  const out = [
    `amh diff: ${headline(d)}`,
    `A: ${d.a.label} (target ${d.a.target}, seed ${d.a.seed}, exit ${d.a.exitCode})`,
    `B: ${d.b.label} (target ${d.b.target}, seed ${d.b.seed}, exit ${d.b.exitCode})`,
  ];
  if (d.profiles.a || d.profiles.b) out.push(`constants: A ${profileText(d.profiles.a)}; B ${profileText(d.profiles.b)}`);
  const block = (title: string, rows: RequirementDiff[]) => {
    if (!rows.length) return;
    out.push('', `${title}:`);
    for (const r of rows) {
      out.push(`  ${r.protocol}/${r.id} [${r.level}] ${r.title}: ${arrow(r)}`);
      for (const [n, s] of [
        ['A', r.a],
        ['B', r.b],
      ] as const) {
        if (!s || s.status === 'pass') continue;
        if (s.reason) out.push(`    ${n}: ${first(s.reason)}`);
        if (s.counterexample) {
          out.push(`    ${n} counterexample (${s.counterexample.caseId}):`);
          s.counterexample.actions.forEach((x, i) => out.push(`      ${i + 1}. ${x}`));
        }
      }
    }
  };
  block('changed verdict', d.changed);
  block('added (only in B)', d.added);
  block('removed (only in A)', d.removed);
  block('same verdict, different counterexample', d.counterexampleChanged);
  if (d.constantsChanged.length) {
    out.push('', 'depend on a constant A and B set differently:');
    for (const c of d.constantsChanged) out.push(`  ${c.protocol}/${c.id} [${c.level}] ${c.title}: ${changeText(c)} (verdict ${c.a} → ${c.b})`);
  }
  const ms = d.metrics.filter(moved);
  out.push('', `metrics${ms.length ? '' : ': none moved'}`);
  for (const m of ms) out.push(`  ${m.name}: ${m.a} → ${m.b}`);
  out.push('', `${d.unchanged} requirement${d.unchanged === 1 ? '' : 's'} unchanged`);
  return `${out.join('\n')}\n`;
}

const md = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Markdown for a PR comment. */
export function renderDiffMarkdown(d: ReportDiff): string {
  const out = [
    `## amh diff: ${d.changed.length ? '❌' : '✅'} ${headline(d)}`,
    '',
    '| | report | target | seed | exit |',
    '|---|---|---|---:|---:|',
    `| A | \`${md(d.a.label)}\` | ${md(d.a.target)} | ${d.a.seed} | ${d.a.exitCode} |`,
    `| B | \`${md(d.b.label)}\` | ${md(d.b.target)} | ${d.b.seed} | ${d.b.exitCode} |`,
    '',
  ];
  if (d.profiles.a || d.profiles.b) out.push(`Constants: A ${md(profileText(d.profiles.a))}; B ${md(profileText(d.profiles.b))}`, '');
  const table = (title: string, rows: RequirementDiff[]) => {
    if (!rows.length) return;
    out.push(`### ${title}`, '', '| requirement | level | A | B | why (B, else A) |', '|---|---|---|---|---|');
    for (const r of rows)
      out.push(
        `| \`${r.protocol}/${r.id}\` ${md(r.title)} | ${r.level} | ${r.a?.status ?? '—'} | ${r.b?.status ?? '—'} | ${md(first((r.b?.status !== 'pass' ? r.b?.reason : undefined) ?? r.a?.reason))} |`,
      );
    out.push('');
    for (const r of rows)
      for (const [n, s] of [
        ['A', r.a],
        ['B', r.b],
      ] as const) {
        if (!s?.counterexample || s.status === 'pass') continue;
        out.push(`<details><summary>${n}: <code>${r.id}</code> counterexample (${s.counterexample.caseId})</summary>`, '', '```text', s.counterexample.message, '');
        s.counterexample.actions.forEach((x, i) => out.push(`  ${i + 1}. ${x}`));
        out.push('```', ...(s.counterexample.replay ? ['', `Replay: \`${s.counterexample.replay}\``] : []), '', '</details>', '');
      }
  };
  table('Changed verdict', d.changed);
  table('Added (only in B)', d.added);
  table('Removed (only in A)', d.removed);
  table('Same verdict, different counterexample', d.counterexampleChanged);
  if (d.constantsChanged.length)
    out.push(
      '### Depend on a constant A and B set differently',
      '',
      '| requirement | level | constant (A → B) | A | B |',
      '|---|---|---|---|---|',
      ...d.constantsChanged.map((c) => `| \`${c.protocol}/${c.id}\` ${md(c.title)} | ${c.level} | ${md(changeText(c))} | ${c.a} | ${c.b} |`),
      '',
    );
  const ms = d.metrics.filter(moved);
  out.push('### Metrics', '');
  if (ms.length) out.push('| metric | A | B |', '|---|---:|---:|', ...ms.map((m) => `| ${md(m.name)} | ${m.a} | ${m.b} |`));
  else out.push('No metric moved.');
  out.push('', `${d.unchanged} requirement${d.unchanged === 1 ? '' : 's'} unchanged.`);
  return `${out.join('\n')}\n`;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** One self-contained HTML page (no external resources). */
export function renderDiffHtml(d: ReportDiff): string {
  const cls = (s?: RequirementStatus) => (s ? `s-${s}` : 's-none');
  const cx = (n: string, s?: Side) =>
    s?.counterexample && s.status !== 'pass'
      ? `<details><summary>${n}: counterexample (${esc(s.counterexample.caseId)})</summary><pre>${esc(s.counterexample.message)}\n\n${s.counterexample.actions.map((x, i) => `${i + 1}. ${esc(x)}`).join('\n')}${s.counterexample.replay ? `\n\nreplay: ${esc(s.counterexample.replay)}` : ''}</pre></details>`
      : '';
  const section = (title: string, rows: RequirementDiff[]) =>
    rows.length
      ? `<h2>${esc(title)} (${rows.length})</h2><table><tr><th>requirement</th><th>level</th><th>A</th><th>B</th><th>why</th></tr>${rows
          .map(
            (r) =>
              `<tr><td><code>${esc(r.protocol)}/${esc(r.id)}</code><br>${esc(r.title)}</td><td>${r.level}</td><td class="${cls(r.a?.status)}">${r.a?.status ?? '—'}</td><td class="${cls(r.b?.status)}">${r.b?.status ?? '—'}</td><td>${esc(first(r.b?.reason ?? r.a?.reason))}${cx('A', r.a)}${cx('B', r.b)}</td></tr>`,
          )
          .join('')}</table>`
      : '';
  const ms = d.metrics.filter(moved);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>amh diff: ${esc(headline(d))}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}
.s-pass{background:#dfd}.s-fail{background:#fdd}.s-warn{background:#ffd}.s-error{background:#fcc}.s-indeterminate{background:#eee}.s-not-applicable,.s-uncovered,.s-none{background:#f6f6f6;color:#666}
pre{white-space:pre-wrap;background:#f7f7f7;padding:6px}
</style></head><body>
<h1>${d.changed.length ? '❌' : '✅'} ${esc(headline(d))}</h1>
<table><tr><th></th><th>report</th><th>target</th><th>seed</th><th>exit</th><th>started</th></tr>
<tr><td>A</td><td><code>${esc(d.a.label)}</code></td><td>${esc(d.a.target)}</td><td>${d.a.seed}</td><td>${d.a.exitCode}</td><td>${esc(d.a.startedAt)}</td></tr>
<tr><td>B</td><td><code>${esc(d.b.label)}</code></td><td>${esc(d.b.target)}</td><td>${d.b.seed}</td><td>${d.b.exitCode}</td><td>${esc(d.b.startedAt)}</td></tr></table>
${d.profiles.a || d.profiles.b ? `<p>Constants: A ${esc(profileText(d.profiles.a))}; B ${esc(profileText(d.profiles.b))}</p>` : ''}
${section('Changed verdict', d.changed)}${section('Added (only in B)', d.added)}${section('Removed (only in A)', d.removed)}${section('Same verdict, different counterexample', d.counterexampleChanged)}
${
  d.constantsChanged.length
    ? `<h2>Depend on a constant A and B set differently (${d.constantsChanged.length})</h2><table><tr><th>requirement</th><th>level</th><th>constant (A → B)</th><th>A</th><th>B</th></tr>${d.constantsChanged
        .map(
          (c) =>
            `<tr><td><code>${esc(c.protocol)}/${esc(c.id)}</code><br>${esc(c.title)}</td><td>${c.level}</td><td>${esc(changeText(c))}</td><td class="${cls(c.a)}">${c.a}</td><td class="${cls(c.b)}">${c.b}</td></tr>`,
        )
        .join('')}</table>`
    : ''
}
<h2>Metrics</h2>${ms.length ? `<table><tr><th>metric</th><th>A</th><th>B</th></tr>${ms.map((m) => `<tr><td>${esc(m.name)}</td><td>${m.a}</td><td>${m.b}</td></tr>`).join('')}</table>` : '<p>No metric moved.</p>'}
<p>${d.unchanged} requirement${d.unchanged === 1 ? '' : 's'} unchanged.</p>
</body></html>
`;
}
