/** `amh diff A B`: two reports side by side (verdict changes, counterexamples, metrics). */
import { writeFile } from 'node:fs/promises';
import { diffExitCode, diffReports, renderDiffHtml, renderDiffMarkdown, renderDiffText } from '../../report/diff.ts';
import { readReport, reportPath } from '../../report/write.ts';
import { UsageError, guard, parse } from './_shared.ts';

export const summary = 'compare two report.json: requirements that changed verdict (and why), added/removed, metrics';

export const help = `Usage: amh diff A B [--markdown | --html] [-o FILE]

Compares two reports (report.json files or their directories), A the old one and B the new one:
  - requirements whose verdict changed (pass → fail, ...), with the reason and the shrunk
    counterexample on each side;
  - requirements only in B (added) or only in A (removed);
  - requirements with the same verdict but a different counterexample;
  - metrics that moved: exit code, runs, property runs done, checks, requirement counts, duration,
    per protocol runs and checks.
Typical uses: the report of main against the report of a pull request; the same seed run with two
different targets or harness versions.

Options:
  --markdown      Markdown (for a pull-request comment or $GITHUB_STEP_SUMMARY)
  --html          one self-contained HTML page
  -o, --out FILE  write to FILE instead of standard output
  -h, --help      this help

Exit codes: 0 no requirement present in both reports changed verdict (added or removed
requirements and changed counterexamples are shown but do not count) · 1 at least one changed
verdict · 2 a report cannot be read or usage error.
`;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, { markdown: { type: 'boolean' }, html: { type: 'boolean' }, out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } }, true);
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    if (positionals.length !== 2) throw new UsageError('diff needs two reports: amh diff A B (see amh diff --help)');
    if (values.markdown && values.html) throw new UsageError('choose one of --markdown and --html');
    const [fa, fb] = positionals as [string, string];
    const [a, b] = await Promise.all([readReport(fa), readReport(fb)]);
    const d = diffReports(a, b, { a: await reportPath(fa), b: await reportPath(fb) });
    const text = values.markdown ? renderDiffMarkdown(d) : values.html ? renderDiffHtml(d) : renderDiffText(d);
    if (values.out) {
      await writeFile(values.out, text);
      process.stderr.write(`wrote ${values.out}: ${d.changed.length} changed verdict${d.changed.length === 1 ? '' : 's'}\n`);
    } else process.stdout.write(text);
    return diffExitCode(d);
  });
}
