// Loaded (NODE_OPTIONS=--import) into every Node process of a mutation dry run: records which of
// Stryker's instrumented mutants the process executes, so the test runner knows which mutants the
// certification reaches at all. Plain JavaScript: it runs before any TypeScript loader is registered.
//
// - At exit: the hit counters (globalThis.__stryker__.mutantCoverage) go to
//   $AMH_MUTATION_COVERAGE_DIR/<pid>.json.
// - At once, on each mutant's first hit under a test: a line "<test id>\t<mutant id>" (test id empty
//   outside a test) is appended to <pid>.hits. A server the crash scenarios kill with SIGKILL never
//   reaches 'exit'; without these lines the code only such a process ran (its resync after a
//   restart) read as never executed, and its mutants were reported "no coverage" without being tried.
// - The scenario running now is shared through $AMH_MUTATION_COVERAGE_DIR/current-test: the harness's
//   process writes it when the runner sets Stryker's current test (a setter on `currentTestId`), and
//   every other process (a server the harness started as a child: the restartable servers) reads it
//   every few milliseconds. A child's hits are its own static ones; without the shared id they read
//   as start-up code, and a mutant only a child ran was tried with the wrong scenarios (a run with
//   one worker: one scenario at a time).
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.AMH_MUTATION_COVERAGE_DIR;
if (dir) {
  const hitsFile = path.join(dir, `${process.pid}.hits`);
  const currentFile = path.join(dir, 'current-test');
  /** The scenario running in the harness now ('' between scenarios and at start-up). */
  let current = '';
  const refresh = () => {
    try {
      current = readFileSync(currentFile, 'utf8');
    } catch {
      current = '';
    }
  };
  refresh();
  setInterval(refresh, 5).unref();
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
  // Static hits: code run while this process has no current test. In the harness's process that is
  // start-up and the time between scenarios (`current` is '' then); in a child it is everything, and
  // the hit belongs to the scenario the harness is running.
  const staticCounts = {};
  const staticTracked = tracked('', staticCounts);
  const staticCov = new Proxy(staticCounts, {
    get(target, key) {
      return target[key];
    },
    set(_target, key, value) {
      if (typeof key !== 'string' || current === '') return Reflect.set(staticTracked, key, value);
      const counts = perTest[current];
      counts[key] = (counts[key] ?? 0) + 1;
      return true;
    },
  });
  globalThis.__stryker__ ??= {};
  let currentTestId;
  Object.defineProperty(globalThis.__stryker__, 'currentTestId', {
    configurable: true,
    enumerable: true,
    get: () => currentTestId,
    set(id) {
      currentTestId = id;
      current = id ?? '';
      writeFileSync(currentFile, current);
    },
  });
  globalThis.__stryker__.mutantCoverage ??= { static: staticCov, perTest };
  process.on('exit', () => {
    const coverage = globalThis.__stryker__?.mutantCoverage;
    if (!coverage) return;
    // Plain copies: the proxies would answer JSON.stringify's own lookups (toJSON) with new entries.
    const plain = coverage.perTest === perTest ? { static: { ...staticCounts }, perTest: Object.fromEntries(Object.entries(perTestCounts).map(([t, c]) => [t, { ...c }])) } : coverage;
    writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify(plain));
  });
}
