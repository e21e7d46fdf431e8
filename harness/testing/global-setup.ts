/**
 * vitest global setup: tests that place contracts (kill variants, fork mode, fixture sync) read forge
 * artifacts from contracts/out. `npm test` builds them first (forge test); a single test file run on
 * a fresh clone builds them here instead of failing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export default function setup(): void {
  if (existsSync(path.join(ROOT, 'contracts', 'out'))) return;
  execFileSync(path.join(ROOT, 'node_modules', '.bin', 'forge'), ['build', '--offline'], { cwd: ROOT, stdio: 'inherit' });
}
