/** `amh certify --target FILE`: the same scenarios against a system described by a target file. */
import { RUN_OPTIONS, RUN_OPTIONS_HELP, UsageError, guard, parse, runAndReport, runOptions } from './_shared.ts';

export const summary = 'certify a system described by a target file (--target FILE [--protocol P])';

export const help = `Usage: amh certify --target FILE [--protocol P ...] [options]

Runs the scenarios of the selected protocols (default: all) against the target described in FILE
(JSON, schema: harness/target/target.schema.json). Scenarios needing a capability the target does
not declare are reported not-applicable, never passed.

Options:
  --target FILE        target description (required)
${RUN_OPTIONS_HELP}
`;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values } = parse(argv, { ...RUN_OPTIONS, target: { type: 'string' } });
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    if (!values.target) throw new UsageError('certify needs --target FILE (see amh certify --help)');
    return runAndReport({ command: 'certify', targetFile: values.target, ...runOptions(values) });
  });
}
