/**
 * JUnit XML: one <testsuite> per protocol, one <testcase> per requirement (h2spec style).
 * failure = requirement violated (or a MUST left indeterminate), error = harness fault,
 * skipped = not-applicable / uncovered (with the reason). SHOULD/MAY warnings pass with a note.
 */
import type { Report, RequirementReport, ProtocolReport } from './types.ts';

/** Escape text for XML content/attributes and drop characters XML 1.0 forbids. */
export function xmlEscape(s: string): string {
  return (
    s
      // biome-ignore lint/suspicious/noControlCharactersInRegex: XML 1.0 forbids these characters; they are stripped on purpose.
      .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

function failureBody(p: ProtocolReport, r: RequirementReport): string {
  const lines = [`${r.level} ${r.id}: ${r.text}`, `source: ${r.source.document} — ${r.source.section}`];
  if (r.reason) lines.push(`reason: ${r.reason}`);
  for (const s of p.scenarios.filter((x) => x.requirements.includes(r.id) && x.counterexample)) {
    const cx = s.counterexample!;
    if (cx.requirement && cx.requirement !== r.id) continue;
    lines.push('', `scenario ${s.caseId} (seed ${cx.seed}, path "${cx.path}")`, cx.message, 'shrunk counterexample:');
    cx.actions.forEach((a, i) => lines.push(`  ${i + 1}. ${a}`));
    if (s.replay) lines.push(`replay: ${s.replay}`);
  }
  return lines.join('\n');
}

/** Render JUnit XML for a report. */
export function renderJunit(report: Report): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const all = report.protocols.flatMap((p) => p.requirements);
  const count = (pred: (r: RequirementReport) => boolean, rs = all) => rs.filter(pred).length;
  // Under a baseline, an accepted failure is reported as skipped (with the baseline's reason) and a
  // stale entry as a failure, so a CI's test view agrees with the exit code.
  const b = report.baseline;
  const accepted = new Map<RequirementReport, string>();
  const stale = new Map<RequirementReport, string>();
  for (const p of report.protocols)
    for (const r of p.requirements) {
      const a = b?.accepted.find((x) => x.protocol === p.id && x.requirement === r.id);
      if (a) accepted.set(r, a.reason ?? '');
      const s = b?.stale.find((x) => x.protocol === p.id && x.requirement === r.id);
      if (s) stale.set(r, s.reason ?? '');
    }
  const isFailure = (r: RequirementReport) => !accepted.has(r) && (stale.has(r) || r.status === 'fail' || (r.status === 'indeterminate' && r.level === 'MUST'));
  const isError = (r: RequirementReport) => r.status === 'error';
  const isSkipped = (r: RequirementReport) => accepted.has(r) || r.status === 'not-applicable' || r.status === 'uncovered' || (r.status === 'indeterminate' && r.level !== 'MUST');
  out.push(
    `<testsuites name="agentmarket-harness" tests="${all.length}" failures="${count(isFailure)}" errors="${count(isError) + report.errors.length}" skipped="${count(isSkipped)}" time="${(report.durationMs / 1000).toFixed(3)}">`,
  );
  for (const p of report.protocols) {
    const rs = p.requirements;
    const time = p.scenarios.reduce((a, s) => a + s.durationMs, 0) / 1000;
    out.push(
      `  <testsuite name="${xmlEscape(p.id)}" package="${xmlEscape(p.id)}" tests="${rs.length}" failures="${count(isFailure, rs)}" errors="${count(isError, rs)}" skipped="${count(isSkipped, rs)}" time="${time.toFixed(3)}">`,
    );
    out.push(
      `    <properties><property name="seed" value="${report.seed}"/><property name="runs" value="${report.runs}"/><property name="target" value="${xmlEscape(report.target.name)}"/></properties>`,
    );
    for (const r of rs) {
      const name = xmlEscape(`${r.id} [${r.level}] ${r.title}`);
      const rtime = p.scenarios.filter((s) => s.requirements.includes(r.id)).reduce((a, s) => a + s.durationMs, 0) / 1000;
      out.push(`    <testcase classname="${xmlEscape(p.id)}" name="${name}" time="${rtime.toFixed(3)}">`);
      if (stale.has(r)) {
        out.push(
          `      <failure type="stale-baseline-entry" message="${xmlEscape(`stale baseline entry (${b!.file}): the requirement passes now; remove the entry`)}">${xmlEscape(`baseline reason: ${stale.get(r)}`)}</failure>`,
        );
      } else if (accepted.has(r)) {
        out.push(`      <skipped message="${xmlEscape(`accepted failure (${r.status}) in baseline ${b!.file}: ${accepted.get(r)}`)}"/>`);
        out.push(`      <system-out>${xmlEscape(failureBody(p, r))}</system-out>`);
      } else if (isFailure(r)) {
        out.push(`      <failure type="${r.status === 'fail' ? 'requirement-violated' : 'indeterminate'}" message="${xmlEscape(r.reason ?? r.status)}">${xmlEscape(failureBody(p, r))}</failure>`);
      } else if (isError(r)) {
        out.push(`      <error type="harness-error" message="${xmlEscape(r.reason ?? 'harness error')}">${xmlEscape(failureBody(p, r))}</error>`);
      } else if (isSkipped(r)) {
        out.push(`      <skipped message="${xmlEscape(`${r.status}: ${r.reason ?? ''}`)}"/>`);
      } else if (r.status === 'warn') {
        out.push(`      <system-out>${xmlEscape(`WARNING (${r.level} not met): ${failureBody(p, r)}`)}</system-out>`);
      }
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  if (report.errors.length) {
    out.push(`  <testsuite name="harness" tests="${report.errors.length}" failures="0" errors="${report.errors.length}" skipped="0">`);
    report.errors.forEach((e, i) =>
      out.push(`    <testcase classname="harness" name="harness-error-${i + 1}"><error type="harness-error" message="${xmlEscape(e.split('\n')[0] ?? e)}">${xmlEscape(e)}</error></testcase>`),
    );
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
