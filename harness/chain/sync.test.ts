/**
 * Generated files in sync with the contracts: the committed chain-state fixtures hold exactly the
 * current runtime code at every canonical address, and harness/chain/bindings matches contracts/out.
 * Builds the contracts first (fast when forge's cache is warm).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { BINDINGS_DIR, diffBindings, renderBindings } from '../scripts/gen-bindings.ts';
import { buildFixture } from '../scripts/gen-fixtures.ts';
import { fixturePath } from './anvil.ts';
import { REPO_ROOT } from './artifacts.ts';
import { fixtureDrift, readFixture } from './fixture-check.ts';
import { chainProfileIds, getProfile, placementsFor } from './profiles.ts';

const HINT = 'run `npm run gen` to regenerate the fixtures and bindings from the current contracts';

beforeAll(() => {
  execFileSync('npx', ['forge', 'build', '--offline'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
});

for (const profile of chainProfileIds()) {
  test(`fixture ${profile}: code at each canonical address equals keccak(deployedBytecode)`, () => {
    const drift = fixtureDrift(profile);
    assert.deepEqual(drift, [], `${drift.join('\n')}\n-> ${HINT}`);
  });
}

for (const profile of chainProfileIds()) {
  test(`fixture ${profile}: byte-identical to a fresh build (catches changed init args, funding, table rows)`, async () => {
    const built = await buildFixture(profile);
    const committed = readFileSync(fixturePath(profile), 'utf8');
    assert.ok(built.text === committed, `fixtures/chain-state/${profile}.json differs from a fresh build -> ${HINT}`);
  });
}

test('the fixture check catches a changed contract and a missing one', () => {
  const state = structuredClone(readFixture('base'));
  const usdc = getProfile('base').contracts.usdc!.toLowerCase();
  state.accounts[usdc]!.code = `${state.accounts[usdc]!.code}00`;
  delete state.accounts[getProfile('base').contracts.permit2!.toLowerCase()];
  const drift = fixtureDrift('base', state);
  assert.equal(drift.length, 2, drift.join('\n'));
  assert.match(drift.join('\n'), /usdc at 0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913 has code hash/);
  assert.match(drift.join('\n'), /no code for permit2/);
  assert.ok(placementsFor('base').length >= 5);
});

test('bindings in harness/chain/bindings match contracts/out', () => {
  const problems = diffBindings(renderBindings());
  assert.deepEqual(problems, [], `bindings out of date: ${problems.join(', ')}\n-> ${HINT}`);
});

test('the bindings check catches an edited, a missing and a stale file', () => {
  const expected = renderBindings();
  const dir = mkdtempSync(path.join(tmpdir(), 'amh-bindings-'));
  const names = [...expected.keys()];
  for (const [name, text] of expected) writeFileSync(path.join(dir, name), text);
  writeFileSync(path.join(dir, names[0]!), expected.get(names[0]!)!.replace('"function"', '"event"'));
  writeFileSync(path.join(dir, 'Gone.ts'), 'export {};\n');
  const shorter = new Map(expected);
  shorter.set('NewContract.ts', 'x');
  const problems = diffBindings(shorter, dir);
  assert.deepEqual(problems.sort(), [`missing NewContract.ts`, `outdated ${names[0]}`, 'stale Gone.ts'].sort());
  assert.ok(BINDINGS_DIR.endsWith(path.join('harness', 'chain', 'bindings')));
});
