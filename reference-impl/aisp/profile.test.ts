/**
 * What-if AISP constants end to end. A 2% fee: the marketplace (its fee slot on the reference chain),
 * the settle and revoke oracles, the model and the requirement texts follow and the run passes; a
 * deployment left at 1% certified with the 2% profile fails exactly the fee requirements. The
 * refund rule `completed-days`: the marketplace refunds the day in progress, the oracles and the
 * model follow; a marketplace still charging it fails the requirements that depend on the rule, and
 * `amh diff` names exactly those; a rule that does not exist is refused before anything starts.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'vitest';
import type { Report } from '../../harness/report/types.ts';
import { amh } from '../../harness/testing/cli.ts';
import { dependingOn, dependingOnChangedConstants } from '../../harness/testing/profiles.ts';
import { serveProcessLab } from '../../harness/testing/serve-process.ts';

const lab = serveProcessLab('aisp', 'base');
const PROFILE = path.join('examples', 'profiles', 'aisp-fee-2pct.yaml');
const REFUND = path.join('examples', 'profiles', 'aisp-refund-completed-days.yaml');
const CASES = 'settle-after-term|revoke-refund|marketplace-model';
const REFUND_CASES = 'revoke-refund|marketplace-model';

const aisp = (dir: string) => (JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as Report).protocols.find((p) => p.id === 'aisp')!;

test('amh run --profile with a 2% fee: the marketplace, the oracles and the texts follow; the run passes', { timeout: 300_000 }, async () => {
  const out = path.join(lab.dir, 'run-2pct');
  const r = await amh(['run', '--protocol', 'aisp', '--grep', CASES, '--runs', '3', '--seed', '3', '--workers', '1', '--quiet', '--profile', PROFILE, '--out', out]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const fee = aisp(out).requirements.find((q) => q.id === 'AISP-FEE-01')!;
  assert.equal(fee.status, 'pass');
  assert.equal(fee.title, 'Settlement pays the provider 98% and the fee recipient 2%, exact to the base unit');
  assert.deepEqual(fee.constants, { feeBps: '200' });
});

test('a marketplace at 1% certified with the 2% profile fails the fee requirements, and only those', { timeout: 300_000 }, async () => {
  const s = await lab.serve('defaults', []);
  try {
    const out = path.join(lab.dir, 'certify-2pct');
    const r = await lab.certify(s.targetFile, out, ['--grep', CASES, '--runs', '3', '--profile', PROFILE]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const bad = aisp(out).requirements.filter((q) => q.status !== 'pass');
    assert.ok(
      bad.some((q) => q.id === 'AISP-FEE-01' && q.status === 'fail'),
      bad.map((q) => `${q.id} ${q.status}`).join(),
    );
    for (const q of bad.filter((x) => x.status === 'fail')) assert.ok(q.constants?.feeBps, `${q.id} depends on feeBps`);
    for (const q of bad) assert.ok(q.status === 'fail' || q.status === 'indeterminate', `${q.id}: ${q.status}`);
  } finally {
    await s.stop();
  }
});

test('amh run --profile with the completed-days refund rule: the marketplace refunds the day in progress, the oracles and the model follow; the run passes', { timeout: 300_000 }, async () => {
  const out = path.join(lab.dir, 'run-completed-days');
  const r = await amh(['run', '--protocol', 'aisp', '--grep', REFUND_CASES, '--runs', '4', '--seed', '3', '--workers', '1', '--quiet', '--profile', REFUND, '--out', out]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const rev = aisp(out).requirements.find((q) => q.id === 'AISP-REV-01')!;
  assert.equal(rev.status, 'pass');
  assert.match(rev.text, /usedDays = whole days elapsed \(the day in progress is refunded\);/);
  assert.deepEqual(rev.constants, { feeBps: '100', refundRule: 'completed-days' });
});

test('a marketplace that charges the day in progress, certified with completed-days, fails the requirements that depend on the rule; amh diff names exactly those', { timeout: 300_000 }, async () => {
  const s = await lab.serve('defaults-refund', []);
  try {
    const withRule = path.join(lab.dir, 'certify-completed-days');
    const r = await lab.certify(s.targetFile, withRule, ['--grep', REFUND_CASES, '--runs', '6', '--profile', REFUND]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const reqs = aisp(withRule).requirements;
    assert.equal(reqs.find((q) => q.id === 'AISP-REV-01')!.status, 'fail');
    for (const q of reqs.filter((x) => x.status === 'fail')) assert.ok(q.constants?.refundRule, `${q.id} depends on refundRule`);
    const defaults = path.join(lab.dir, 'certify-started-days');
    const b = await lab.certify(s.targetFile, defaults, ['--grep', REFUND_CASES, '--runs', '6']);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    const d = await amh(['diff', path.join(defaults, 'report.json'), path.join(withRule, 'report.json'), '--markdown']);
    assert.equal(d.code, 1, 'verdicts changed');
    const depends = dependingOn(reqs, ['refundRule']);
    assert.deepEqual(depends, ['AISP-CONS-01', 'AISP-REV-01']);
    assert.deepEqual(dependingOnChangedConstants(d.stdout, 'aisp'), depends);
    assert.match(d.stdout, /refundRule started-days → completed-days/);
  } finally {
    await s.stop();
  }
});

test('a refund rule that does not exist is a usage error naming the file, the constant and the valid values', { timeout: 60_000 }, async () => {
  const bad = path.join(lab.dir, 'bad-rule.yaml');
  writeFileSync(bad, 'protocols:\n  aisp:\n    refundRule: per-second\n');
  const r = await amh(['run', '--protocol', 'aisp', '--quiet', '--profile', bad, '--out', path.join(lab.dir, 'never')]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /protocols\.aisp\.refundRule: "per-second" must be one of started-days, completed-days/);
});
