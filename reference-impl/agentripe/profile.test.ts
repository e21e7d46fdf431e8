/**
 * What-if profiles end to end on Agentripe: with a profile the reference server (rejection limit,
 * auth window), the escrow (reclaim delay, set by the admin at start), the model and the requirement
 * texts all follow it and the run still passes; a target configured with the defaults but certified
 * with that profile fails exactly requirements that depend on the changed constants; and `amh diff`
 * of two profiles names exactly the requirements that depend on the constant they change.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'vitest';
import { amh } from '../../harness/testing/cli.ts';
import { serveProcessLab } from '../../harness/testing/serve-process.ts';
import type { Report } from '../../harness/report/types.ts';
import { changedConstantsSection, dependingOn, dependingOnChangedConstants } from '../../harness/testing/profiles.ts';
import { REPORT_SCHEMA_VERSION } from '../../harness/report/types.ts';

const lab = serveProcessLab('agentripe', 'base-sepolia');
const GREP = 'rejection|reclaim|AUTH-02|AUTH-04';
const SEED = '7';

const report = (dir: string): Report => JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
const agr = (r: Report) => r.protocols.find((p) => p.id === 'agentripe')!;

/** A what-if profile: limit 2, reclaim after 1 day, a 2-minute auth window. */
function whatIf(): string {
  const f = path.join(lab.dir, 'what-if.yaml');
  writeFileSync(f, 'name: agentripe what-if\nprotocols:\n  agentripe:\n    reviewLimit: 2\n    reclaimDelaySeconds: 86400\n    authWindowSeconds: 120\n');
  return f;
}

test('amh run --profile: the reference server, the escrow and the model follow the profile; the run passes and the report shows the values', { timeout: 300_000 }, async () => {
  const out = path.join(lab.dir, 'run-what-if');
  const r = await amh(['run', '--protocol', 'agentripe', '--grep', GREP, '--runs', '2', '--seed', SEED, '--workers', '1', '--quiet', '--profile', whatIf(), '--out', out]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /profile: agentripe what-if \([0-9a-f]{12}\): agentripe\.reviewLimit = 2, agentripe\.reclaimDelaySeconds = 86400, agentripe\.authWindowSeconds = 120/);
  const rep = report(out);
  assert.equal(rep.schemaVersion, REPORT_SCHEMA_VERSION);
  assert.deepEqual(rep.profile?.constants, { agentripe: { reviewLimit: '2', reclaimDelaySeconds: '86400', authWindowSeconds: '120' } });
  const q = (id: string) => agr(rep).requirements.find((x) => x.id === id)!;
  for (const id of ['AGR-REV-02', 'AGR-REV-03', 'AGR-ESC-03', 'AGR-AUTH-02', 'AGR-AUTH-04']) assert.equal(q(id).status, 'pass', `${id}: ${q(id).status} ${q(id).reason ?? ''}`);
  // The checks ran under the profile's numbers, and the texts quote them.
  assert.equal(q('AGR-REV-03').title, 'The 2nd rejection refunds the buyer; there is no 3rd review');
  assert.deepEqual(q('AGR-REV-03').constants, { reviewLimit: '2' });
  assert.match(q('AGR-REV-02').text, /^rejected \(1st time\)/);
  assert.match(q('AGR-ESC-03').text, /the recording time \+ 1 days/);
  assert.match(q('AGR-AUTH-02').text, /more than 2 minutes from now/);
  const md = readFileSync(path.join(out, 'summary.md'), 'utf8');
  assert.match(md, /Profile \*\*agentripe what-if\*\*/);
});

test('a target configured with the defaults, certified with the profile: exactly requirements that depend on the changed constants fail; amh diff names them', { timeout: 300_000 }, async () => {
  const s = await lab.serve('defaults', []);
  try {
    const out = path.join(lab.dir, 'certify-what-if');
    const r = await lab.certify(s.targetFile, out, ['--grep', GREP, '--runs', '2', '--profile', whatIf()]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const failing = agr(report(out)).requirements.filter((q) => q.status !== 'pass');
    const ids = failing.map((q) => q.id);
    // The server refunds at the 5th rejection, not the 2nd; its escrow lets buyers reclaim after 7 days,
    // not 1; it accepts vendor and register-with-key signatures up to 5 minutes old, not 2 (both scenarios try 30 s past the window in every run).
    for (const id of ['AGR-REV-03', 'AGR-ESC-03', 'AGR-AUTH-02', 'AGR-AUTH-04']) assert.ok(ids.includes(id), ids.join());
    for (const q of failing)
      assert.ok(
        q.status === 'fail' && q.constants && Object.keys(q.constants).some((k) => ['reviewLimit', 'reclaimDelaySeconds', 'authWindowSeconds'].includes(k)),
        `${q.id} ${q.status} depends on a changed constant`,
      );
    // The same target certified with the defaults passes: the profile, not the server, made the difference.
    const base = path.join(lab.dir, 'certify-defaults');
    const b = await lab.certify(s.targetFile, base, ['--grep', GREP, '--runs', '2']);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    const d = await amh(['diff', path.join(base, 'report.json'), path.join(out, 'report.json')]);
    assert.equal(d.code, 1, 'a verdict changed');
    assert.match(d.stdout, /changed verdict:\n {2}agentripe\/AGR-/);
    assert.match(d.stdout, /agentripe\/AGR-REV-03 \[MUST\] The 5th rejection refunds the buyer; there is no 6th review: pass → fail/);
    assert.match(d.stdout, /constants: A default constants; B profile 'agentripe what-if'/);
  } finally {
    await s.stop();
  }
});

test('amh diff of the defaults and a rejection limit of 6 lists exactly the requirements that depend on it (issue 14 acceptance)', { timeout: 300_000 }, async () => {
  const a = path.join(lab.dir, 'run-defaults');
  const b = path.join(lab.dir, 'run-limit-6');
  const common = ['run', '--protocol', 'agentripe', '--grep', 'rejection', '--runs', '1', '--seed', SEED, '--workers', '1', '--quiet'];
  const ra = await amh([...common, '--out', a]);
  assert.equal(ra.code, 0, ra.stdout + ra.stderr);
  const rb = await amh([...common, '--profile', path.join('examples', 'profiles', 'agentripe-review-limit-6.yaml'), '--out', b]);
  assert.equal(rb.code, 0, rb.stdout + rb.stderr);
  const d = await amh(['diff', path.join(a, 'report.json'), path.join(b, 'report.json'), '--markdown']);
  assert.equal(d.code, 0, `no verdict changed\n${d.stdout}`);
  const listed = dependingOnChangedConstants(d.stdout, 'agentripe');
  // Every requirement whose text or declaration depends on reviewLimit, and nothing else.
  assert.deepEqual(listed, dependingOn(agr(report(b)).requirements, ['reviewLimit']));
  assert.deepEqual(listed, ['AGR-REV-02', 'AGR-REV-03']);
  assert.match(changedConstantsSection(d.stdout), /reviewLimit 5 → 6/);
});

test('a server configured with the profile (serve.ts --profile) passes certify with it and fails AGR-REV-02 without it', { timeout: 300_000 }, async () => {
  const s = await lab.serve('what-if', ['--profile', whatIf()]);
  try {
    const same = path.join(lab.dir, 'certify-configured-same');
    const a = await lab.certify(s.targetFile, same, ['--grep', GREP, '--runs', '2', '--profile', whatIf()]);
    assert.equal(a.code, 0, a.stdout + a.stderr);
    const plain = path.join(lab.dir, 'certify-configured-defaults');
    const b = await lab.certify(s.targetFile, plain, ['--grep', 'rejection', '--runs', '2']);
    assert.equal(b.code, 1, b.stdout + b.stderr);
    // Judged with the defaults, the 2nd rejection must leave the task open (1st to 4th): the server refunds instead.
    const q = agr(report(plain)).requirements.find((x) => x.id === 'AGR-REV-02')!;
    assert.equal(q.status, 'fail', `${q.status} ${q.reason ?? ''}`);
  } finally {
    await s.stop();
    // The reclaim delay was set on the shared chain: a server started without --profile puts the default back.
    await (await lab.serve('defaults-again', [])).stop();
  }
});
