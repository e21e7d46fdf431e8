/** `amh report REPORT`: re-render HTML / JUnit / Markdown from a report.json. */
import path from 'node:path';
import { readReport, writeReports } from '../../report/write.ts';
import { UsageError, guard, parse } from './_shared.ts';

export const summary = 're-render index.html, junit.xml and summary.md from a report.json';

export const help = `Usage: amh report REPORT [--out DIR] [--html] [--junit] [--markdown]

Reads REPORT (a report.json written by run/certify/replay) and writes index.html, junit.xml and
summary.md next to it (or into --out DIR). With --html/--junit/--markdown only those formats.

Exit code: the report's own exit code (0/1/2), or 2 if REPORT cannot be read.
`;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(
      argv,
      { out: { type: 'string' }, html: { type: 'boolean' }, junit: { type: 'boolean' }, markdown: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      true,
    );
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    const file = positionals[0];
    if (!file || positionals.length > 1) throw new UsageError('report needs exactly one REPORT path (see amh report --help)');
    const report = await readReport(file);
    const some = values.html || values.junit || values.markdown;
    const out = values.out ?? path.dirname(file);
    const files = await writeReports(report, out, some ? { html: values.html, junit: values.junit, markdown: values.markdown } : { html: true, junit: true, markdown: true });
    process.stdout.write(`${files.map((f) => `wrote ${f}`).join('\n')}\n`);
    return report.exitCode;
  });
}
