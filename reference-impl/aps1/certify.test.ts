/**
 * `amh certify --protocol aps1` against the APS-1 reference deployment started as its own process
 * (reference-impl/aps1/serve.ts) and described only by a target file: the healthy deployment passes
 * (exit 0; without `--restartable` the file has no restart control, so APS-RST-01 is
 * not-applicable); a deliberately broken one makes certify exit 1 naming the requirement; and the compat
 * profile (the public contracts' quirks, `serve.ts --profile compat`) fails exactly the
 * requirements profile.md says it breaks (the scenarios that pin each rule).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'vitest';
import { serveProcessLab } from '../../harness/testing/serve-process.ts';

const lab = serveProcessLab('aps1', 'tempo');
const serve = lab.serve;
const certify = lab.certify;

const reportOf = lab.reportOf;

test('the reference APS-1 deployment in its own process passes certify through its target file alone', { timeout: 600_000 }, async () => {
  const s = await serve('healthy', []);
  try {
    const out = path.join(lab.dir, 'healthy');
    const r = await certify(s.targetFile, out, ['--runs', '4']);
    assert.equal(r.code, 0, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    // Without `--restartable` the file names no restart control: the crash requirement is not-applicable, never passed.
    const reqs = reportOf(out).requirements;
    const rst = reqs.find((q) => q.id === 'APS-RST-01');
    assert.match(`${rst?.status} ${rst?.reason}`, /^not-applicable .*'restart'/);
    assert.deepEqual(
      reqs.filter((q) => q.status !== 'pass' && q.id !== 'APS-RST-01').map((q) => `${q.id}: ${q.status} ${q.reason ?? ''}`),
      [],
    );
  } finally {
    await s.stop();
  }
});

test('the compat profile (the public contracts’ quirks) fails exactly the rules they break', { timeout: 600_000 }, async () => {
  const s = await serve('compat', ['--profile', 'compat']);
  try {
    const out = path.join(lab.dir, 'compat');
    const r = await certify(s.targetFile, out, ['--runs', '6', '--grep', 'dispute-outcomes|penalty-cap|timeout-rules|proof-forgery|job-attacks|proof-registry|stream-model|reputation|chain-profile']);
    assert.equal(r.code, 1, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const failed = reportOf(out)
      .requirements.filter((q) => q.status === 'fail')
      .map((q) => q.id)
      .sort();
    assert.deepEqual(failed, ['APS-DSP-01', 'APS-DSP-02', 'APS-JOB-05', 'APS-PRF-03']);
  } finally {
    await s.stop();
    // The quirks were put on the shared chain: put the reference profile back for the next test.
    const back = await serve('reference-again', ['--profile', 'reference']);
    await back.stop();
  }
});

for (const v of [
  { name: 'forged escrow accepted', args: ['--fault', 'skipEscrowCheck'], grep: 'execute-unpaid', requirement: 'APS-EXE-02', runs: 2 },
  { name: 'marketplace without caller auth', args: ['--fault', 'noCallerAuth'], grep: 'marketplace-auth', requirement: 'APS-MKT-03', runs: 2 },
]) {
  test(`broken variant "${v.name}" makes certify exit 1 naming ${v.requirement}`, { timeout: 300_000 }, async () => {
    const s = await serve(v.name.replace(/\W+/g, '-'), v.args);
    try {
      const out = path.join(lab.dir, v.name.replace(/\W+/g, '-'));
      const r = await certify(s.targetFile, out, ['--runs', String(v.runs), '--grep', v.grep]);
      assert.equal(r.code, 1, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, new RegExp(`FAIL ${v.requirement}\\b`));
    } finally {
      await s.stop();
    }
  });
}
