/** The fault registry, the README's fault table and the kill table stay in step. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'vitest';
import kills from './kills.ts';
import { AISP_FAULTS } from './server/faults.ts';

test("the README lists every fault with the registry's description", () => {
  const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
  const section = readme.split('## Test-only faults')[1]?.split('\n## ')[0] ?? '';
  const rows = [...section.matchAll(/^\| `(\w+)` \| (.+) \|$/gm)];
  assert.deepEqual(
    rows.map((m) => ({ name: m[1], description: m[2] })),
    AISP_FAULTS.list,
  );
});

test('every fault has a kill variant, so each is shown to be caught', () => {
  const used = new Set(kills.variants.flatMap((v) => AISP_FAULTS.enabled(AISP_FAULTS.parse([...(v.variant.faults ?? []), ...(v.variant.restartable ?? [])]))));
  assert.deepEqual(
    AISP_FAULTS.names.filter((n) => !used.has(n)),
    [],
  );
});
