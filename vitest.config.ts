/**
 * vitest: every `*.test.ts` under harness/, scenarios/ and reference-impl/. Files run in parallel
 * child processes (forks: tests start anvils and servers, use node:sqlite and signals); tests within
 * a file run one after another. No timing assertions anywhere, so the generous timeouts only turn a
 * hang into a failure.
 */
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['harness/**/*.test.ts', 'scenarios/**/*.test.ts', 'reference-impl/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'contracts/**'],
    pool: 'forks',
    // One worker more than cores (up to 4): many files spend most of their time waiting (anvil, a
    // restarted server, a WebSocket that never answers), and a third worker fills those waits on 2 cores.
    maxWorkers: Math.max(1, Math.min(4, availableParallelism() + 1)),
    testTimeout: 600_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
    // Files are independent (each starts its own chains and servers on free ports).
    fileParallelism: true,
    globalSetup: ['harness/testing/global-setup.ts'],
    reporters: ['default', './harness/testing/summary-reporter.ts'],
  },
});
