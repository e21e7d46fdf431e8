/** `amh baseline REPORT`: write a baseline accepting the report's current failures. */
import { baselineFromReport } from '../../report/baseline.ts';
import { readReport, reportPath } from '../../report/write.ts';
import { UsageError, guard, parse } from './_shared.ts';
import { writeFile } from 'node:fs/promises';

export const summary = 'write a baseline of accepted failures from a report (amh baseline REPORT > known.json)';

export const help = `Usage: amh baseline REPORT [-o FILE]

Writes a baseline (JSON) that accepts every failure of REPORT (a report.json or its directory):
each requirement that fails, warns, or is a MUST left indeterminate, with its protocol and the
report's reason. Edit the reasons (an issue link, why it is accepted), commit the file, and pass it
to amh run/certify/report with --baseline FILE: the run then passes when only those requirements
fail, and fails on a new failure or on a stale entry (a listed requirement that passes now).

Format (validated when loaded; unknown fields are refused):
  { "version": 1, "accepted": [ { "requirement": "USDC-3009-02", "protocol": "usdc", "reason": "..." } ] }
"protocol" is optional (omit it to match the requirement id in any protocol).

Options:
  -o, --out FILE   write to FILE instead of standard output
  -h, --help       this help

Exit code: 0 written · 2 REPORT cannot be read.
`;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, { out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } }, true);
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    const file = positionals[0];
    if (!file || positionals.length > 1) throw new UsageError('baseline needs exactly one REPORT path (see amh baseline --help)');
    const report = await readReport(file);
    const text = `${JSON.stringify(baselineFromReport(report, await reportPath(file)), null, 2)}\n`;
    if (values.out) {
      await writeFile(values.out, text);
      process.stderr.write(`wrote ${values.out} (${JSON.parse(text).accepted.length} accepted failures)\n`);
    } else process.stdout.write(text);
    return 0;
  });
}
