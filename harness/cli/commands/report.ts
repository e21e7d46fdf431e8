/** `amh report REPORT`: re-render HTML / JUnit / Markdown from a report.json; `--merge` joins shard reports. */
import path from 'node:path';
import { applyBaseline, loadBaseline } from '../../report/baseline.ts';
import { mergeShards } from '../../report/merge.ts';
import { readReport, reportPath, writeReports } from '../../report/write.ts';
import { UsageError, guard, parse, printSummary } from './_shared.ts';

export const summary = 're-render index.html, junit.xml and summary.md from a report.json; --merge joins shard reports';

export const help = `Usage: amh report REPORT [--out DIR] [--html] [--junit] [--markdown] [--baseline FILE]
       amh report --merge SHARD... [--out DIR] [--baseline FILE]

Reads REPORT (a report.json written by run/certify/replay, or a directory holding one) and writes
index.html, junit.xml and summary.md next to it (or into --out DIR). With --html/--junit/--markdown
only those formats.

--merge joins the reports of every shard of one run (amh run/certify --shard I/N, the same --seed,
--runs, --protocol and --grep) into the report the unsharded run would have written: the same
verdict per requirement, the same counterexamples. Each SHARD is a report.json or its directory.
Refused with a clear message when a shard is missing, given twice, or from another run. Writes all
four files (report.json included) to --out (default reports/merged) and prints the summary.

Options:
  --merge          treat the arguments as shard reports and merge them
  --out DIR        where to write (default: next to REPORT; reports/merged with --merge)
  --baseline FILE  judge the (merged) report against a baseline of accepted failures (amh baseline);
                   without --merge it needs --out DIR (all four files, report.json included)
  --html, --junit, --markdown   only these formats (without --merge)
  -h, --help       this help

Exit code: the (merged) report's own exit code (0 every MUST passed · 1 a MUST failed · 2 harness
error), or 2 if a report cannot be read or the shards cannot be merged.
`;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(
      argv,
      {
        out: { type: 'string' },
        html: { type: 'boolean' },
        junit: { type: 'boolean' },
        markdown: { type: 'boolean' },
        merge: { type: 'boolean' },
        baseline: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      true,
    );
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    const baseline = values.baseline ? await loadBaseline(values.baseline) : undefined;
    if (values.merge) {
      if (positionals.length === 0) throw new UsageError('report --merge needs the report (or directory) of every shard (see amh report --help)');
      if (values.html || values.junit || values.markdown) throw new UsageError('--merge writes every format; drop --html/--junit/--markdown');
      const inputs = await Promise.all(positionals.map(async (p) => ({ file: await reportPath(p), report: await readReport(p) })));
      const out = values.out ?? path.join('reports', 'merged');
      const rel = path.isAbsolute(out) ? path.join(out, 'report.json') : path.relative(process.cwd(), path.join(out, 'report.json'));
      let merged = mergeShards(inputs, { replayCommand: `amh replay ${rel}` });
      const judged = inputs.filter((x) => x.report.baseline).map((x) => x.report.baseline!.file);
      if (baseline) merged = applyBaseline(merged, baseline, values.baseline!);
      else if (judged.length)
        process.stderr.write(
          `note: the shards were judged against baseline ${[...new Set(judged)].join(', ')}; pass --baseline to the merge to judge the whole run (stale entries are only decided there)\n`,
        );
      const files = await writeReports(merged, out);
      printSummary(merged, files);
      return merged.exitCode;
    }
    const file = positionals[0];
    if (!file || positionals.length > 1) throw new UsageError('report needs exactly one REPORT path (see amh report --help); several shard reports need --merge');
    if (baseline && !values.out) throw new UsageError('report --baseline needs --out DIR: the judged report is written there and the original is left as it is');
    let report = await readReport(file);
    if (baseline) report = applyBaseline(report, baseline, values.baseline!);
    const some = values.html || values.junit || values.markdown;
    const out = values.out ?? path.dirname(await reportPath(file));
    const files = await writeReports(
      report,
      out,
      some ? { html: values.html, junit: values.junit, markdown: values.markdown, json: Boolean(baseline) } : { html: true, junit: true, markdown: true, json: Boolean(baseline) },
    );
    process.stdout.write(`${files.map((f) => `wrote ${f}`).join('\n')}\n`);
    if (report.baseline) process.stdout.write(`${verdictLine(report)}\n`);
    return report.exitCode;
  });
}

function verdictLine(r: Awaited<ReturnType<typeof readReport>>): string {
  const out: string[] = [];
  printSummary(r, [], { write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream);
  return out.join('').trimEnd();
}
