// Loaded (NODE_OPTIONS=--import) into every Node process of a mutation dry run: at exit, writes the
// hit counters of Stryker's instrumented code (globalThis.__stryker__.mutantCoverage) to
// $AMH_MUTATION_COVERAGE_DIR/<pid>.json, so the test runner knows which mutants the certification
// executes at all. Plain JavaScript: it runs before any TypeScript loader is registered.
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.AMH_MUTATION_COVERAGE_DIR;
if (dir) {
  process.on('exit', () => {
    const coverage = globalThis.__stryker__?.mutantCoverage;
    if (coverage) writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify(coverage));
  });
}
