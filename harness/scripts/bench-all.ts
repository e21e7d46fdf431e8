/**
 * `npm run bench`: the engine's own benchmark (harness/scripts/bench.ts: property runs through the
 * harness vs the same RPC calls bare), then every protocol pack's `reference-impl/<id>/bench.ts` and
 * `bench-<what>.ts` (each prints its figures as a ratio against the bare work it needs), then `amh simulate`'s
 * (harness/scripts/bench-sim.ts: both engines' tasks/s, the stack's against bare settlements). Runs them one after another
 * (they measure speed) and exits non-zero if any fails.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../chain/paths.ts';

const tsx = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const packs = path.join(REPO_ROOT, 'reference-impl');
const scripts = [
  path.join(REPO_ROOT, 'harness', 'scripts', 'bench.ts'),
  // Each pack's bench.ts, then its other benches (bench-<what>.ts), pack by pack.
  ...readdirSync(packs, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((d) =>
      readdirSync(path.join(packs, d.name))
        .filter((f) => /^bench(-[a-z0-9-]+)?\.ts$/.test(f))
        .sort((a, b) => (a === 'bench.ts' ? -1 : b === 'bench.ts' ? 1 : a.localeCompare(b)))
        .map((f) => path.join(packs, d.name, f)),
    ),
  path.join(REPO_ROOT, 'harness', 'scripts', 'bench-sim.ts'),
];
let failed = 0;
for (const s of scripts) {
  process.stdout.write(`\n== ${path.relative(REPO_ROOT, s)}\n`);
  const r = spawnSync(tsx, [s], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
