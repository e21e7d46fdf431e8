/** `amh run`: start the reference target (every chain profile from its fixture, the selected protocols' servers) and certify. */
import { RUN_OPTIONS, RUN_OPTIONS_HELP, guard, parse, runAndReport, runOptions } from './_shared.ts';

export const summary = 'certify the reference implementation of every protocol on the embedded chains';

export const help = `Usage: amh run [options]

Starts the reference target (an Anvil chain per chain profile, loaded from its fixture, role accounts
funded, and the reference servers of the selected protocols) and runs every registered protocol's
scenarios against it (or those of --protocol). Writes report.json, junit.xml,
index.html and summary.md to reports/latest/ (or --out).

Options:
${RUN_OPTIONS_HELP}
`;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values } = parse(argv, RUN_OPTIONS);
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    return runAndReport({ command: 'run', ...runOptions(values) });
  });
}
