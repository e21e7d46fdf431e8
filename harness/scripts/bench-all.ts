/**
 * `npm run bench`: the engine's own benchmark (harness/scripts/bench.ts: property runs through the
 * harness vs the same RPC calls bare), then every protocol pack's `reference-impl/<id>/bench.ts`
 * (each prints its figures as a ratio against the bare work it needs), then `amh simulate`'s
 * (harness/scripts/bench-sim.ts: both engines' tasks/s, the stack's against bare settlements). Runs them one after another
 * (they measure speed) and exits non-zero if any fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../chain/paths.ts';

const tsx = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const packs = path.join(REPO_ROOT, 'reference-impl');
const scripts = [
  path.join(REPO_ROOT, 'harness', 'scripts', 'bench.ts'),
  ...readdirSync(packs, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(packs, d.name, 'bench.ts')))
    .map((d) => path.join(packs, d.name, 'bench.ts'))
    .sort(),
  path.join(REPO_ROOT, 'harness', 'scripts', 'bench-sim.ts'),
];
let failed = 0;
for (const s of scripts) {
  process.stdout.write(`\n== ${path.relative(REPO_ROOT, s)}\n`);
  const r = spawnSync(tsx, [s], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
