/**
 * Keeps package-lock.json acceptable to `npm ci` on this project's registry.
 *
 * The @foundry-rs/{anvil,cast,forge} packages pull their binary from per-platform optional
 * dependencies. The registry reachable here serves only some of them (others answer 404), so
 * `npm install` leaves those out of the lock file, and `npm ci` then refuses the lock ("Missing: ...
 * from lock file"). npm never fetches an optional package whose `os`/`cpu` do not match the machine,
 * so a lock entry with the version, `os`, `cpu` and `optional: true` is all `npm ci` needs.
 *
 *   npx tsx harness/scripts/lock-platforms.ts          # add the missing entries (run after `npm install <pkg>`)
 *   npx tsx harness/scripts/lock-platforms.ts --check  # exit 1 and list them if any is missing
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const LOCK = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'package-lock.json');

/** npm's os/cpu names for the platform suffixes Foundry's packages use. */
const PLATFORMS: Record<string, { os: string; cpu: string }> = {
  'darwin-amd64': { os: 'darwin', cpu: 'x64' },
  'darwin-arm64': { os: 'darwin', cpu: 'arm64' },
  'linux-amd64': { os: 'linux', cpu: 'x64' },
  'linux-arm64': { os: 'linux', cpu: 'arm64' },
  'win32-amd64': { os: 'win32', cpu: 'x64' },
};

type LockEntry = { version?: string; optionalDependencies?: Record<string, string>; [k: string]: unknown };
type Lock = { packages: Record<string, LockEntry> };

/** Optional dependencies named by a locked package that have no entry of their own. */
export function missingOptionalEntries(lock: Lock): { key: string; version: string }[] {
  const missing: { key: string; version: string }[] = [];
  for (const entry of Object.values(lock.packages)) {
    for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
      const key = `node_modules/${name}`;
      if (!lock.packages[key]) missing.push({ key, version });
    }
  }
  return missing;
}

/** Adds platform-only entries for the missing Foundry binaries; returns the keys it could not place. */
export function addPlatformEntries(lock: Lock): { added: string[]; unknown: string[] } {
  const added: string[] = [];
  const unknown: string[] = [];
  for (const { key, version } of missingOptionalEntries(lock)) {
    const m = /^node_modules\/@foundry-rs\/[a-z]+-([a-z0-9]+-[a-z0-9]+)$/.exec(key);
    const platform = m ? PLATFORMS[m[1]!] : undefined;
    if (!platform) {
      unknown.push(key);
      continue;
    }
    lock.packages[key] = { version, cpu: [platform.cpu], license: 'MIT OR Apache-2.0', optional: true, os: [platform.os] };
    added.push(key);
  }
  // npm writes packages sorted with the root ("") first; keep that so diffs stay small.
  const sorted: Record<string, LockEntry> = {};
  for (const k of Object.keys(lock.packages).sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1))) sorted[k] = lock.packages[k]!;
  lock.packages = sorted;
  return { added, unknown };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const lock = JSON.parse(readFileSync(LOCK, 'utf8')) as Lock;
  if (process.argv.includes('--check')) {
    const missing = missingOptionalEntries(lock);
    for (const m of missing) console.error(`missing from package-lock.json: ${m.key}@${m.version}`);
    if (missing.length) console.error('run `npx tsx harness/scripts/lock-platforms.ts` to add them');
    process.exit(missing.length ? 1 : 0);
  }
  const { added, unknown } = addPlatformEntries(lock);
  writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(added.length ? `added ${added.length} platform entries: ${added.join(', ')}` : 'package-lock.json already complete');
  if (unknown.length) {
    console.error(`not a known Foundry platform package, left missing: ${unknown.join(', ')}`);
    process.exit(1);
  }
}
