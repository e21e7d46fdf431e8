/**
 * vitest global setup: tests that place contracts (broken kill variants, fork mode, fixture sync)
 * read forge artifacts from contracts/out. forge builds incrementally (about 2 s when nothing
 * changed), so this runs before every vitest run: a single test file on a fresh clone, or after a
 * contract edit, never reads stale bytecode.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export default function setup(): void {
  // `npm test` (harness/scripts/test-all.mjs) has just built them, and runs forge test meanwhile.
  if (process.env.AMH_FORGE_BUILT === '1') return;
  execFileSync(path.join(ROOT, 'node_modules', '.bin', 'forge'), ['build', '--offline'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}
