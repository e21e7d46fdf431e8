/** `amh list`: the protocols found by discovery, and the README table generated from them. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'vitest';
import { README, readmeText } from '../../scripts/gen-docs.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test("the README's protocol table is what `amh list --markdown` prints (regenerate with npm run gen)", async () => {
  const now = readFileSync(README, 'utf8');
  assert.equal(now, await readmeText(now), 'README.md protocol table is out of date: run npm run gen');
});

test('amh list --json names every pack with its endpoints, capabilities and requirement counts', () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'harness', 'cli', 'amh.mjs'), 'list', '--json'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const list = JSON.parse(r.stdout) as { id: string; requirements: { total: number }; endpoints: Record<string, string>; capabilities: Record<string, string> }[];
  // Every pack folder with an index.ts, nothing else (no list to keep in step by hand).
  const folders = readdirSync(path.join(ROOT, 'scenarios'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(ROOT, 'scenarios', d.name, 'index.ts')))
    .map((d) => d.name);
  assert.deepEqual(list.map((p) => p.id).sort(), folders.sort());
  assert.ok(['usdc', 'erc8004', 'x402', 'agentripe'].every((id) => list.some((p) => p.id === id)));
  assert.ok(list.every((p) => p.requirements.total > 0));
  assert.deepEqual(Object.keys(list.find((p) => p.id === 'x402')!.endpoints), ['x402-resource', 'x402-facilitator', 'x402-resource-failing']);
  assert.deepEqual(Object.keys(list.find((p) => p.id === 'agentripe')!.capabilities), ['agentripe:review-fixture']);
});
