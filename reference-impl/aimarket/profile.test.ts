/**
 * What-if AI Market constants end to end: with a 2.5% routing fee and a 1-hour channel lifetime the
 * routing hub, the hubs' channel ledgers, the escrow (its lifetime slot on the reference chain), the
 * scenarios and the requirement texts follow and the run passes; a deployment left at the defaults,
 * certified with that profile, fails only requirements that depend on those constants, and `amh diff`
 * names exactly them; a lifetime below the valid range is refused before anything starts.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'vitest';
import type { Report } from '../../harness/report/types.ts';
import { amh } from '../../harness/testing/cli.ts';
import { dependingOn, dependingOnChangedConstants } from '../../harness/testing/profiles.ts';
import { serveProcessLab } from '../../harness/testing/serve-process.ts';

const lab = serveProcessLab('aimarket', 'base');
const PROFILE = path.join('examples', 'profiles', 'aimarket-fee-and-expiry.yaml');
const CASES = 'federated-search|channel-expiry|escrow';
const CONSTANTS = ['routingFeeBps', 'channelExpirySeconds'];

const aim = (dir: string) => (JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as Report).protocols.find((p) => p.id === 'aimarket')!;

test('amh run --profile with a 2.5% routing fee and 1-hour channels: the hubs, the escrow, the scenarios and the texts follow; the run passes', { timeout: 300_000 }, async () => {
  const out = path.join(lab.dir, 'run-what-if');
  const r = await amh(['run', '--protocol', 'aimarket', '--grep', CASES, '--runs', '3', '--seed', '3', '--workers', '1', '--quiet', '--profile', PROFILE, '--out', out]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const q = (id: string) => aim(out).requirements.find((x) => x.id === id)!;
  for (const id of ['AIM-FED-01', 'AIM-CHN-06', 'AIM-ESC-01']) assert.equal(q(id).status, 'pass', `${id}: ${q(id).status} ${q(id).reason ?? ''}`);
  assert.equal(q('AIM-CHN-06').title, 'Channels expire after 1 h on the lab clock');
  assert.deepEqual(q('AIM-FED-01').constants, { routingFeeBps: '250' });
  assert.deepEqual(q('AIM-ESC-01').constants, { channelExpirySeconds: '3600' });
});

test('a deployment at the defaults certified with the profile fails only requirements that depend on the fee or the lifetime; amh diff names exactly those', { timeout: 300_000 }, async () => {
  const s = await lab.serve('defaults', []);
  try {
    const withProfile = path.join(lab.dir, 'certify-what-if');
    const r = await lab.certify(s.targetFile, withProfile, ['--grep', CASES, '--runs', '3', '--profile', PROFILE]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const reqs = aim(withProfile).requirements;
    // The router declares 100 bps; channels (ledger and escrow) last 24 h.
    for (const id of ['AIM-FED-01', 'AIM-CHN-06', 'AIM-ESC-01']) assert.equal(reqs.find((q) => q.id === id)!.status, 'fail', id);
    for (const q of reqs.filter((x) => x.status === 'fail')) assert.ok(dependingOn([q], CONSTANTS).length > 0, `${q.id} depends on the fee or the lifetime`);
    const defaults = path.join(lab.dir, 'certify-defaults');
    const b = await lab.certify(s.targetFile, defaults, ['--grep', CASES, '--runs', '3']);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    const d = await amh(['diff', path.join(defaults, 'report.json'), path.join(withProfile, 'report.json'), '--markdown']);
    assert.equal(d.code, 1, 'verdicts changed');
    const depends = dependingOn(reqs, CONSTANTS);
    assert.deepEqual(depends, ['AIM-CHN-06', 'AIM-ESC-01', 'AIM-FED-01']);
    assert.deepEqual(dependingOnChangedConstants(d.stdout, 'aimarket'), depends);
    assert.match(d.stdout, /channelExpirySeconds 86400 → 3600/);
    assert.match(d.stdout, /routingFeeBps 100 → 250/);
  } finally {
    await s.stop();
  }
});

test('a channel lifetime below the valid range is a usage error naming the file, the constant and the range', { timeout: 60_000 }, async () => {
  const bad = path.join(lab.dir, 'bad-expiry.yaml');
  writeFileSync(bad, 'protocols:\n  aimarket:\n    channelExpirySeconds: 60\n    routingFeeBps: 10001\n');
  const r = await amh(['run', '--protocol', 'aimarket', '--quiet', '--profile', bad, '--out', path.join(lab.dir, 'never')]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /protocols\.aimarket\.channelExpirySeconds: 60 is out of range \(valid: 600\.\.31536000 s\)/);
  assert.match(r.stderr, /protocols\.aimarket\.routingFeeBps: 10001 is out of range \(valid: 0\.\.10000\)/);
});
