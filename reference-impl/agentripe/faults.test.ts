/** The fault registry, the README's fault table and the kill table stay in step. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'vitest';
import kills from './kills.ts';
import { AGENTRIPE_FAULTS } from './server/faults.ts';

test("the README lists every fault with the registry's description", () => {
  const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
  const section = readme.split('## Test-only faults')[1]?.split('\n## ')[0] ?? '';
  const rows = [...section.matchAll(/^\| `(\w+)` \| (.+) \|$/gm)];
  assert.deepEqual(
    rows.map((m) => ({ name: m[1], description: m[2] })),
    AGENTRIPE_FAULTS.list,
  );
});

test('every fault has a kill variant, so each is shown to be caught', () => {
  // A variant's faults are on the in-process server (config.faults) or on the restartable child the crash scenarios kill.
  const used = new Set(kills.variants.flatMap((v) => [...AGENTRIPE_FAULTS.enabled(v.variant.config?.faults), ...(v.variant.restartable ?? [])]));
  assert.deepEqual(
    AGENTRIPE_FAULTS.names.filter((n) => !used.has(n)),
    [],
  );
});
