// Loaded (NODE_OPTIONS=--import) into every Node process of a mutation dry run: records which of
// Stryker's instrumented mutants the process executes, so the test runner knows which mutants the
// certification reaches at all. Plain JavaScript: it runs before any TypeScript loader is registered.
//
// - At exit: the hit counters (globalThis.__stryker__.mutantCoverage) go to
//   $AMH_MUTATION_COVERAGE_DIR/<pid>.json.
// - At once, on each mutant's first hit: a line "<test id>\t<mutant id>" (test id empty outside a
//   test) is appended to <pid>.hits. A server the crash scenarios kill with SIGKILL never reaches
//   'exit'; without these lines the code only such a process ran (its resync after a restart) read
//   as never executed, and its mutants were reported "no coverage" without being tried.
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.AMH_MUTATION_COVERAGE_DIR;
if (dir) {
  const hitsFile = path.join(dir, `${process.pid}.hits`);
  /** A counter object that appends each key's first set to the hits file. */
  const tracked = (test, counts) =>
    new Proxy(counts, {
      set(target, key, value) {
        if (typeof key === 'string' && !(key in target)) appendFileSync(hitsFile, `${test}\t${key}\n`);
        target[key] = value;
        return true;
      },
    });
  // Stryker's cover() reads `cov.perTest[id] || {}` and writes into what it got: hand it a tracked
  // object on that read, so the hits never land in an untracked `{}`.
  const perTestCounts = {};
  const perTest = new Proxy(perTestCounts, {
    get(target, key) {
      if (typeof key === 'string' && !(key in target)) target[key] = tracked(key, {});
      return target[key];
    },
  });
  const staticCounts = {};
  globalThis.__stryker__ ??= {};
  globalThis.__stryker__.mutantCoverage ??= { static: tracked('', staticCounts), perTest };
  process.on('exit', () => {
    const coverage = globalThis.__stryker__?.mutantCoverage;
    if (!coverage) return;
    // Plain copies: the proxies would answer JSON.stringify's own lookups (toJSON) with new entries.
    const plain = coverage.perTest === perTest ? { static: { ...staticCounts }, perTest: Object.fromEntries(Object.entries(perTestCounts).map(([t, c]) => [t, { ...c }])) } : coverage;
    writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify(plain));
  });
}
