/** `amh replay REPORT --case ID`: re-run one shrunk counterexample and show its verdict. */
import path from 'node:path';
import { execute } from '../execute.ts';
import { readReport, writeReports } from '../../report/write.ts';
import { UsageError, guard, parse, printSummary } from './_shared.ts';

export const summary = "re-run a report's shrunk counterexample (REPORT --case PROTOCOL/SCENARIO)";

export const help = `Usage: amh replay REPORT --case PROTOCOL/SCENARIO [--out DIR]

Re-runs exactly the shrunk counterexample recorded in REPORT (a report.json) for the case, against
the same target (the reference target is started again from its fixtures; a file target is
re-loaded from the path recorded in the report), and prints the verdict next to the recorded one.

Options:
  --case ID     case id as shown in the report, e.g. usdc/3009-expired (required)
  --out DIR     also write the replay's report files to DIR
  -h, --help    this help

Exit codes: 0 the replay passed (the failure did not reproduce) · 1 a MUST failed · 2 harness or usage error.
`;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, { case: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, true);
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    const file = positionals[0];
    if (!file || positionals.length > 1) throw new UsageError('replay needs exactly one REPORT path (see amh replay --help)');
    if (!values.case) throw new UsageError('replay needs --case PROTOCOL/SCENARIO');
    const original = await readReport(file);
    const scenarios = original.protocols.flatMap((p) => p.scenarios);
    const sc = scenarios.find((s) => s.caseId === values.case);
    if (!sc) throw new UsageError(`case '${values.case}' is not in ${file}; cases: ${scenarios.map((s) => s.caseId).join(', ')}`);
    if (!sc.counterexample) throw new UsageError(`case '${sc.caseId}' has no counterexample in ${file} (status ${sc.status}); nothing to replay`);
    if (original.target.kind === 'file' && !original.target.source) throw new UsageError(`${file} does not record the target file path`);
    const cx = sc.counterexample;
    process.stderr.write(`replaying ${sc.caseId} (seed ${cx.seed}, path ${cx.path}) against ${original.target.name}…\n`);
    const report = await execute({
      command: 'replay',
      targetFile: original.target.kind === 'file' ? original.target.source : undefined,
      runs: 1,
      seed: original.seed,
      protocols: [sc.caseId.split('/')[0]!],
      replay: { caseId: sc.caseId, seed: cx.seed, path: cx.path, ...(cx.replayPath ? { replayPath: cx.replayPath } : {}) },
      replayCommand: `amh replay ${file}`,
    });
    const now = report.protocols.flatMap((p) => p.scenarios).find((s) => s.caseId === sc.caseId);
    const files = values.out ? await writeReports(report, values.out) : [];
    printSummary(report, files);
    const gone = report.errors.filter((e) => e.startsWith('target problem'));
    if (gone.length) {
      process.stdout.write(`\nrecorded: ${sc.status}${cx.requirement ? ` (${cx.requirement})` : ''} · replay impossible: the target does not answer as it did (${gone.join('; ')})\n`);
      return 2;
    }
    const same = now?.status === sc.status && now?.counterexample?.requirement === cx.requirement;
    process.stdout.write(
      `\nrecorded: ${sc.status}${cx.requirement ? ` (${cx.requirement})` : ''} · replayed: ${now?.status ?? 'missing'}${now?.counterexample?.requirement ? ` (${now.counterexample.requirement})` : ''} → ${same ? 'same verdict' : 'DIFFERENT verdict'}\n`,
    );
    if (!values.out) process.stdout.write(`(add --out ${path.join('reports', 'replay')} to write the replay's report files)\n`);
    return report.exitCode;
  });
}
