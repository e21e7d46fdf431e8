/**
 * summary.md: a short Markdown page for a CI step summary ($GITHUB_STEP_SUMMARY) or a PR comment:
 * verdict, counts, failing requirements with their shrunk counterexample and replay command.
 */
import { describeRepairs, type NodeRepairs } from '../chain/pool-repair.ts';
import { baselineLines } from './baseline.ts';
import type { Report, RequirementStatus } from './types.ts';
import { profileConstantsText } from './profile-text.ts';

const ICON: Record<RequirementStatus, string> = {
  pass: '✅ pass',
  fail: '❌ fail',
  warn: '⚠️ warn',
  'not-applicable': '➖ n/a',
  error: '💥 error',
  indeterminate: '❔ indeterminate',
  uncovered: '🕳️ uncovered',
};

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Verdict line for a report. */
export function verdictText(r: Report): string {
  const b = r.baseline;
  if (b && r.exitCode !== 2 && b.exitCodeWithout !== 0) {
    if (r.exitCode === 0) return `PASS (baseline) — every failure is an accepted one (${b.accepted.length} accepted in ${b.file})`;
    const why = [
      b.new.length ? `${b.new.length} new failure${b.new.length === 1 ? '' : 's'}` : '',
      b.stale.length ? `${b.stale.length} stale baseline entr${b.stale.length === 1 ? 'y' : 'ies'}` : '',
    ].filter(Boolean);
    return `FAIL — ${why.join(' and ')} against baseline ${b.file}`;
  }
  if (b && r.exitCode === 1) return `FAIL — ${b.stale.length} stale baseline entr${b.stale.length === 1 ? 'y' : 'ies'} in ${b.file} (the requirement passes now)`;
  return r.exitCode === 0 ? 'PASS — every MUST requirement passed' : r.exitCode === 1 ? 'FAIL — a MUST requirement was not met' : 'ERROR — the harness could not complete the run';
}

/** Render summary.md. */
export function renderMarkdown(r: Report): string {
  const s = r.summary;
  const out: string[] = [
    `# Conformance: ${r.exitCode === 0 ? '✅' : r.exitCode === 1 ? '❌' : '💥'} ${verdictText(r)}`,
    '',
    `Target **${cell(r.target.name)}** (${r.target.kind}${r.target.source ? `: \`${r.target.source}\`` : ''}) · seed \`${r.seed}\` · ${runsText(r)} · ${(r.durationMs / 1000).toFixed(1)} s · exit ${r.exitCode}`,
    '',
    '| pass | fail | warn | n/a | error | indeterminate | uncovered | checks |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| ${s.pass} | ${s.fail} | ${s.warn} | ${s.notApplicable} | ${s.error} | ${s.indeterminate} | ${s.uncovered} | ${s.checks} |`,
    '',
  ];
  if (r.profile) out.push(`Profile **${cell(r.profile.name)}** (\`${r.profile.hash.slice(0, 12)}\`): ${profileConstantsText(r.profile, 'every constant at its default', (n) => `\`${n}\``)}`, '');
  if (r.shard)
    out.push(
      `Shard **${r.shard.index}/${r.shard.total}** (${r.protocols.reduce((a, p) => a + p.scenarios.length, 0)} of ${r.shard.cases.length} cases); \`amh report --merge\` builds the whole report.`,
      '',
    );
  if (r.merged) out.push(`Merged from ${r.merged.shards} shards.`, '');
  if (r.baseline) {
    const [head, ...rest] = baselineLines(r.baseline);
    out.push('## Baseline', '', head!, '', ...rest.map((l) => `- ${cell(l.trim())}`), '');
  }
  const repairs = nodeRepairsText(r);
  if (repairs) out.push(`Node: ${cell(repairs)}.`, '');
  if (r.errors.length) out.push('## Harness errors', '', ...r.errors.map((e) => `- ${cell(e.split('\n')[0] ?? e)}`), '');
  for (const p of r.protocols) {
    out.push(
      `## ${p.id} — ${cell(p.title)}`,
      '',
      ...(p.revision ? [`Spec revision: **${cell(p.revision.id)}** — ${cell(p.revision.title)} (${cell(p.revision.source)})`, ''] : []),
      '| requirement | level | status | title | note |',
      '|---|---|---|---|---|',
    );
    for (const q of p.requirements) out.push(`| \`${q.id}\` | ${q.level} | ${ICON[q.status]} | ${cell(q.title)} | ${cell(q.reason ?? '')} |`);
    out.push('');
    for (const sc of p.scenarios.filter((x) => x.counterexample && x.status !== 'pass')) {
      const cx = sc.counterexample!;
      out.push(
        `<details><summary><b>${sc.status}</b> ${sc.caseId}${cx.requirement ? ` violates <code>${cx.requirement}</code>` : ''}</summary>`,
        '',
        '```text',
        cx.message,
        '',
        'Shrunk counterexample (agent actions):',
      );
      cx.actions.forEach((a, i) => out.push(`  ${i + 1}. ${a}`));
      out.push('```', '', `Replay: \`${sc.replay}\``, '', '</details>', '');
    }
  }
  return `${out.join('\n')}\n`;
}

/** "1,234 of 1,300 planned runs (--runs 25)": what actually ran, never more than that. */
export function runsText(r: Report): string {
  const all = r.protocols.flatMap((p) => p.scenarios);
  const done = all.reduce((a, s) => a + s.runs, 0);
  const planned = all.filter((s) => s.status !== 'not-applicable').reduce((a, s) => a + s.runsPlanned, 0);
  return `${done} of ${planned} planned runs (--runs ${r.runs})`;
}

/**
 * One sentence when anvil stranded transactions during the run and the harness sent them back
 * (scenarios' `nodeRepairs`, reference runs only), naming the scenarios; undefined when it did not.
 * The lab stepped in there: the reader should know, even though a repair changes no verdict.
 */
export function nodeRepairsText(r: Report): string | undefined {
  const hit = r.protocols.flatMap((p) => p.scenarios).filter((sc) => sc.nodeRepairs);
  if (!hit.length) return undefined;
  const sum = (k: keyof NodeRepairs) => hit.reduce((a, sc) => a + sc.nodeRepairs![k], 0);
  return describeRepairs({ stalls: sum('stalls'), resent: sum('resent'), lost: sum('lost') }, hit.map((sc) => sc.caseId).join(', '));
}

/** Per protocol: runs done and runs per second of scenario time (one worker's throughput). */
export function protocolRates(r: Report): { id: string; runs: number; seconds: number; perSecond: number }[] {
  return r.protocols.map((p) => {
    const runs = p.scenarios.reduce((a, s) => a + s.runs, 0);
    const seconds = p.scenarios.reduce((a, s) => a + s.durationMs, 0) / 1000;
    return { id: p.id, runs, seconds, perSecond: seconds > 0 ? runs / seconds : 0 };
  });
}
