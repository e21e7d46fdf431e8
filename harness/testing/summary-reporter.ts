/**
 * A vitest reporter that ends the run with one plain line any CI can read,
 * `vitest: N passed, N failed, N skipped`, and writes the same counts to $AMH_TEST_COUNTS (a JSON
 * file) for the `npm test` driver, which adds forge's counts and prints the grand total. The file also
 * names each failure with its first error line: the driver prints them last, where a CI log that
 * keeps only the tail of the output (forge's block comes after vitest's) still shows them.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const failures: string[] = [];
    const firstLine = (e: unknown) =>
      String((e as { message?: unknown })?.message ?? e)
        .split('\n')[0]
        .slice(0, 300);
    for (const m of modules) {
      const file = path.relative(process.cwd(), m.moduleId);
      // A file that failed to load has no tests but must still count as a failure.
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) {
        failed++;
        failures.push(`${file}: ${firstLine(m.errors()[0] ?? 'the file failed to load')}`);
      }
      for (const t of m.children.allTests()) {
        const r = t.result();
        if (r.state === 'passed') passed++;
        else if (r.state === 'failed') {
          failed++;
          failures.push(`${file} > ${t.fullName}: ${firstLine(r.errors?.[0] ?? 'failed')}`);
        } else skipped++;
      }
    }
    failed += unhandledErrors.length;
    for (const e of unhandledErrors) failures.push(`unhandled error: ${firstLine(e)}`);
    process.stdout.write(`vitest: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    const file = process.env.AMH_TEST_COUNTS;
    if (file) writeFileSync(file, JSON.stringify({ passed, failed, skipped, failures }));
  }
}
