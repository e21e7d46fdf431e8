/**
 * What-if profiles: the loader refuses what it cannot use with a message naming file, protocol,
 * constant, value and range (with a "did you mean"), keeps base units exact, hashes the effective
 * constants, and the packs' constants follow a profile (defaults without one).
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'vitest';
import { loadConstants } from '../packs/discover.ts';
import { defineConstants, ordinal, renderConstants } from './constants.ts';
import { loadProfile, parseProfile, ProfileError, profileFromInfo, profileInfo, profileLines, resolveProfile } from './profile.ts';

const demo = defineConstants(
  'demo',
  {
    limit: { type: 'integer', default: 5, min: 1, max: 20, unit: 'rejections', meaning: 'a limit', appliesTo: ['model'] },
    fee: { type: 'bps', default: 800, min: 0, max: 3000, meaning: 'a fee', appliesTo: ['model'] },
    bond: { type: 'amount', default: 10_000_000n, min: 0, max: 10n ** 30n, meaning: 'a bond in base units', appliesTo: ['model'] },
    quirk: { type: 'boolean', default: false, meaning: 'a switch', appliesTo: ['contract'], contract: 'setQuirk (admin)' },
    mode: { type: 'enum', default: 'strict', values: ['strict', 'lenient'], meaning: 'a mode', appliesTo: ['server'] },
  },
  (v) => ({ limitNth: ordinal(v.limit) }),
  { presets: { loose: { quirk: true, mode: 'lenient' } }, presetEnv: 'DEMO_PRESET' },
);
const registry = [demo];

async function file(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'amh-profile-'));
  const f = path.join(dir, name);
  await writeFile(f, text);
  return f;
}

test('a YAML profile overrides constants; values equal to the defaults are dropped; base units stay exact beyond 2^53', async () => {
  const f = await file('what-if.yaml', 'name: cheaper\nprotocols:\n  demo:\n    fee: 500\n    limit: 5\n    bond: 123456789012345678901234567\n');
  const p = await loadProfile(f, registry);
  assert.equal(p.name, 'cheaper');
  assert.deepEqual(p.overrides, { demo: { fee: 500n, bond: 123456789012345678901234567n } });
  const v = demo.of(p);
  assert.equal(v.fee, 500n);
  assert.equal(v.limit, 5);
  assert.equal(v.bond, 123456789012345678901234567n);
  assert.equal(demo.of(null), demo.defaults);
  assert.equal(demo.of(undefined).fee, 800n);
  assert.deepEqual(demo.pinned(p), { fee: 500n, bond: 123456789012345678901234567n }, 'pinned: only what the profile changes');
  assert.deepEqual(demo.pinned(null), {});
});

test('the hash depends on the effective constants only: another file saying the same in JSON hashes alike', async () => {
  const a = await loadProfile(await file('a.yaml', 'protocols: { demo: { fee: 500, limit: 5 } }'), registry);
  const b = await loadProfile(await file('b.json', '{"name": "other", "protocols": {"demo": {"fee": "500"}}}'), registry);
  const c = await loadProfile(await file('c.json', '{"protocols": {"demo": {"fee": 501}}}'), registry);
  assert.equal(a.hash, b.hash);
  assert.notEqual(a.hash, c.hash);
  assert.match(a.hash, /^[0-9a-f]{64}$/);
  assert.equal(a.name, 'a', 'without a name, the file name');
});

test('an implementation-defined constant named at its default is pinned: checked, hashed, recorded and rebuilt; another constant at its default is dropped', async () => {
  const hub = defineConstants('hub', {
    routeFee: { type: 'bps', default: 100, min: 0, max: 10_000, meaning: "each hub's own fee", appliesTo: ['requirements'], implementationDefined: true },
    ttl: { type: 'seconds', default: 60, min: 1, max: 600, meaning: 'a lifetime', appliesTo: ['server'] },
  });
  const reg = [hub];
  const none = parseProfile({ protocols: { hub: {} } }, reg, 'none.yaml', 'none');
  const atDefaults = parseProfile({ protocols: { hub: { routeFee: 100, ttl: 60 } } }, reg, 'pin.yaml', 'pin');
  assert.deepEqual(atDefaults.overrides, {}, 'no value differs from the defaults');
  assert.deepEqual(atDefaults.pinnedDefaults, { hub: { routeFee: 100n } }, 'only the implementation-defined one is kept');
  assert.deepEqual(hub.pinned(atDefaults), { routeFee: 100n }, 'scenarios hold the target to the default it names');
  assert.deepEqual(hub.pinned(none), {});
  assert.equal(hub.of(atDefaults), hub.defaults, 'values are unchanged');
  assert.notEqual(atDefaults.hash, none.hash, 'a pinned default changes what is checked, so the hash');
  assert.equal(none.pinnedDefaults, undefined);
  assert.deepEqual(profileLines(atDefaults), ['hub.routeFee = 100 (the default, pinned)']);
  const info = profileInfo(atDefaults);
  assert.deepEqual(info.pinnedDefaults, { hub: { routeFee: '100' } });
  const again = profileFromInfo(info, reg, 'report.json');
  assert.equal(again.hash, atDefaults.hash);
  assert.deepEqual(hub.pinned(again), { routeFee: 100n });
  const changed = parseProfile({ protocols: { hub: { routeFee: 250 } } }, reg, 'c.yaml', 'c');
  assert.deepEqual([changed.overrides, changed.pinnedDefaults], [{ hub: { routeFee: 250n } }, undefined]);
  assert.equal(changed.hash, profileInfo(changed).hash);
});

test('bad profiles: every problem named with file, protocol, constant, value and the valid range; unknown names get a did-you-mean', async () => {
  const f = await file('bad.yaml', 'nmae: x\nprotocols:\n  dmeo: { fee: 1 }\n  demo:\n    limt: 3\n    limit: 0\n    fee: 3001\n    quirk: "yes"\n    mode: loose\n    bond: 1.5\n');
  const e = await loadProfile(f, registry).then(
    () => assert.fail('accepted'),
    (x: unknown) => x,
  );
  assert.ok(e instanceof ProfileError);
  const m = (e as Error).message;
  assert.match(m, new RegExp(`invalid profile ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.match(m, /nmae: unknown key \(did you mean 'name'\?\)/);
  assert.match(m, /protocols\.dmeo: unknown protocol \(did you mean 'demo'\?\)/);
  assert.match(m, /protocols\.demo\.limt: unknown constant \(did you mean 'limit'\?\); demo constants: limit, fee, bond, quirk, mode/);
  assert.match(m, /protocols\.demo\.limit: 0 is out of range \(valid: 1\.\.20 rejections\)/);
  assert.match(m, /protocols\.demo\.fee: 3001 is out of range \(valid: 0\.\.3000\)/);
  assert.match(m, /protocols\.demo\.quirk: "yes" must be true or false/);
  assert.match(m, /protocols\.demo\.mode: "loose" must be one of strict, lenient/);
  assert.match(m, /protocols\.demo\.bond: 1\.5 must be an integer number of base units/);
  await assert.rejects(loadProfile(await file('x.yaml', 'protocols: [1, 2]'), registry), /protocols: required, a mapping/);
  await assert.rejects(loadProfile(await file('x.yaml', 'protocols: {demo: {fee: 1}'), registry), /is not valid YAML/);
  await assert.rejects(loadProfile(await file('x.json', '{'), registry), /is not valid JSON/);
  await assert.rejects(loadProfile('/nonexistent/what-if.yaml', registry), /cannot read profile \/nonexistent\/what-if\.yaml: no such file/);
});

test('declarations are checked when a pack loads: a range that excludes the default, a bps above 100%, a contract constant without its mechanism', () => {
  assert.throws(() => defineConstants('x', { a: { type: 'integer', default: 0, min: 1, max: 2, meaning: 'm', appliesTo: ['model'] } }), /default is outside \[min, max\]/);
  assert.throws(() => defineConstants('x', { a: { type: 'bps', default: 0, min: 0, max: 20_000, meaning: 'm', appliesTo: ['model'] } }), /basis points above 10 000/);
  assert.throws(() => defineConstants('x', { a: { type: 'seconds', default: 1, min: 0, max: 2, meaning: 'm', appliesTo: ['contract'] } }), /needs `contract`/);
  assert.throws(() => defineConstants('x', { a: { type: 'integer', default: 1, min: 0, max: 2, meaning: 'm', appliesTo: ['model'] } }, () => ({ other: '1' })), /derived placeholder 'other'/);
});

test('presets from an environment variable (an alias), under the file; an unknown preset is an error', async () => {
  const p = await resolveProfile(undefined, registry, { DEMO_PRESET: 'loose' });
  assert.deepEqual(p?.overrides, { demo: { quirk: true, mode: 'lenient' } });
  assert.equal(p?.name, 'DEMO_PRESET=loose');
  const f = await file('f.yaml', 'name: stricter\nprotocols: { demo: { mode: strict, limit: 3 } }');
  const q = await resolveProfile(f, registry, { DEMO_PRESET: 'loose' });
  assert.deepEqual(q?.overrides, { demo: { quirk: true, limit: 3 } }, "the file's mode wins, and equals the default");
  assert.equal(q?.name, 'stricter + DEMO_PRESET=loose');
  assert.equal(await resolveProfile(undefined, registry, {}), undefined);
  await assert.rejects(resolveProfile(undefined, registry, { DEMO_PRESET: 'lose' }), /DEMO_PRESET=lose: unknown demo preset \(did you mean 'loose'\?\); known: loose/);
});

test('a recorded profile (report, bundle) is rebuilt exactly, booleans included; a tampered one is refused', () => {
  const p = parseProfile({ name: 'n', protocols: { demo: { quirk: true, fee: 10 } } }, registry, 'x', 'x');
  const info = profileInfo(p);
  assert.deepEqual(info.constants, { demo: { quirk: 'true', fee: '10' } });
  assert.deepEqual(profileFromInfo(info, registry, 'report.json').overrides, p.overrides);
  assert.throws(() => profileFromInfo({ ...info, constants: { demo: { quirk: 'true', fee: '11' } } }, registry, 'report.json'), /does not match its hash/);
});

test('placeholders: constants and derived forms in requirement texts; unknown names stay', () => {
  const p = parseProfile({ protocols: { demo: { limit: 2 } } }, registry, 'x', 'x');
  assert.equal(renderConstants('the {limitNth} of {limit}; {address} stays', demo.placeholders(p)), 'the 2nd of 2; {address} stays');
  assert.equal(renderConstants('the {limitNth}', demo.placeholders()), 'the 5th');
  assert.deepEqual([1, 2, 3, 4, 11, 12, 13, 21, 22, 101].map(ordinal), ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '101st']);
});

test("the packs' declarations load, and the shipped example profiles are valid", async () => {
  const packs = await loadConstants();
  assert.ok(packs.some((p) => p.protocol === 'agentripe'));
  const dir = path.resolve(import.meta.dirname, '..', '..', 'examples', 'profiles');
  const { readdir } = await import('node:fs/promises');
  for (const f of (await readdir(dir)).filter((x) => /\.(ya?ml|json)$/.test(x))) {
    const p = await loadProfile(path.join(dir, f), packs);
    assert.ok(Object.keys(p.overrides).length > 0, `${f} changes something`);
  }
});
