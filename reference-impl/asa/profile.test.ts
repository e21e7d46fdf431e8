/**
 * What-if NIP-A5 caveat limits end to end: with tokens of 3 requests valid for 10 minutes the
 * provider mints them so and serves each token exactly 3 times, the scenarios check both limits and
 * the run passes; a provider at the defaults (1 request, 1 hour) certified with that profile fails
 * only the requirements that depend on the limits, and `amh diff` names exactly those; a limit out
 * of range is refused before anything starts.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'vitest';
import type { Report } from '../../harness/report/types.ts';
import { loadConstants } from '../../harness/packs/discover.ts';
import { parseProfile } from '../../harness/profiles/profile.ts';
import { amh } from '../../harness/testing/cli.ts';
import { certifyInProcess } from '../../harness/testing/kill.ts';
import { dependingOn, dependingOnChangedConstants } from '../../harness/testing/profiles.ts';
import { stackTarget } from './kills.ts';
import { asaServeLab } from './serve-lab.ts';
import { startAsaStack } from './server/stack.ts';

const lab = asaServeLab();
const PROFILE = path.join('examples', 'profiles', 'asa-token-limits.yaml');
const CASES = 'l402-expired-macaroon|l402-request-count|l402-paid';
const CONSTANTS = ['tokenMaxRequests', 'tokenLifetimeSeconds'];

const asa = (dir: string) => (JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as Report).protocols.find((p) => p.id === 'asa')!;

test('amh run --profile with 3-request, 10-minute tokens: the provider mints them, the scenarios check both limits; the run passes', { timeout: 300_000 }, async () => {
  const out = path.join(lab.dir, 'run-limits');
  const r = await amh(['run', '--protocol', 'asa', '--grep', CASES, '--runs', '4', '--seed', '3', '--workers', '1', '--quiet', '--profile', PROFILE, '--out', out]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const q = (id: string) => asa(out).requirements.find((x) => x.id === id)!;
  for (const id of ['ASA-L402-05', 'ASA-L402-07']) assert.equal(q(id).status, 'pass', `${id}: ${q(id).status} ${q(id).reason ?? ''}`);
  assert.deepEqual(q('ASA-L402-07').constants, { tokenMaxRequests: '3' });
  assert.deepEqual(q('ASA-L402-05').constants, { tokenLifetimeSeconds: '600' });
});

test('a provider at the defaults certified with the profile fails only the requirements that depend on the limits; amh diff names exactly those', { timeout: 300_000 }, async () => {
  const p = await lab.provider('defaults');
  try {
    const withProfile = path.join(lab.dir, 'certify-limits');
    const r = await lab.certify(p.targetFile, withProfile, ['--grep', CASES, '--runs', '4', '--profile', PROFILE]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const reqs = lab.reportOf(withProfile).requirements;
    for (const id of ['ASA-L402-05', 'ASA-L402-07']) assert.equal(reqs.find((q) => q.id === id)!.status, 'fail', id);
    for (const q of reqs.filter((x) => x.status === 'fail')) assert.ok(dependingOn([q], CONSTANTS).length > 0, `${q.id} depends on a caveat limit`);
    const defaults = path.join(lab.dir, 'certify-defaults');
    const b = await lab.certify(p.targetFile, defaults, ['--grep', CASES, '--runs', '4']);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    const d = await amh(['diff', path.join(defaults, 'report.json'), path.join(withProfile, 'report.json'), '--markdown']);
    assert.equal(d.code, 1, 'verdicts changed');
    const depends = dependingOn(reqs, CONSTANTS);
    assert.deepEqual(depends, ['ASA-L402-05', 'ASA-L402-07']);
    assert.deepEqual(dependingOnChangedConstants(d.stdout, 'asa'), depends);
    assert.match(d.stdout, /tokenMaxRequests 1 → 3/);
  } finally {
    await p.stop();
  }
});

test('a profile naming the default limits pins them: a provider minting 3-request tokens fails ASA-L402-07 under it and passes without it', { timeout: 300_000 }, async () => {
  const s = await startAsaStack({ provider: { tokenMaxRequests: 3 } });
  try {
    const target = stackTarget(s, 'asa reference minting 3-request tokens');
    const pin = parseProfile({ protocols: { asa: { tokenMaxRequests: 1 } } }, await loadConstants(), 'pin-defaults.yaml', 'pin the default count');
    assert.deepEqual(pin.overrides, {}, 'the default changes no value');
    const status = async (profile?: typeof pin) => {
      const r = await certifyInProcess(target, { protocol: 'asa', grep: 'l402-request-count', runs: 4, seed: 3, ...(profile ? { profile } : {}) });
      return r.protocols[0]!.requirements.find((q) => q.id === 'ASA-L402-07')!.status;
    };
    assert.equal(await status(pin), 'fail', 'held to the pinned default of 1 request');
    assert.equal(await status(), 'pass', 'without a profile any count passes');
  } finally {
    await s.stop();
  }
});

test('a token limit out of range is a usage error naming the file, the constant and the range', { timeout: 60_000 }, async () => {
  const bad = path.join(lab.dir, 'bad-limits.yaml');
  writeFileSync(bad, 'protocols:\n  asa:\n    tokenMaxRequests: 0\n    tokenLifetimeSeconds: 10\n');
  const r = await amh(['run', '--protocol', 'asa', '--quiet', '--profile', bad, '--out', path.join(lab.dir, 'never')]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /protocols\.asa\.tokenMaxRequests: 0 is out of range \(valid: 1\.\.100 requests\)/);
  assert.match(r.stderr, /protocols\.asa\.tokenLifetimeSeconds: 10 is out of range \(valid: 60\.\.2592000 s\)/);
});
