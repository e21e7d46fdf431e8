/**
 * `amh certify --protocol aimarket` against the AI Market reference deployment started as its own
 * process (reference-impl/aimarket/serve.ts) and described only by a target file: the healthy
 * deployment passes every requirement (exit 0) but the crash requirement, which is not-applicable
 * without `--restartable` (the kill table's control passes it on the restartable hub, and a run of
 * four crashes is too dear to repeat here); broken ones make certify exit 1 naming the requirement.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'vitest';
import { loadProtocols } from '../../harness/packs/discover.ts';
import { serveProcessLab } from '../../harness/testing/serve-process.ts';

const lab = serveProcessLab('aimarket', 'base');
const serve = lab.serve;
const certify = lab.certify;

const reportOf = lab.reportOf;

test('the reference AI Market deployment in its own process passes certify through its target file alone', { timeout: 600_000 }, async () => {
  const s = await serve('healthy', []);
  try {
    const out = path.join(lab.dir, 'healthy');
    const r = await certify(s.targetFile, out, ['--runs', '3']);
    assert.equal(r.code, 0, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const rep = reportOf(out);
    assert.equal(rep.requirements.length, (await loadProtocols(undefined, ['aimarket']))[0]!.requirements.length, 'every requirement of the catalog has a verdict');
    const rst = rep.requirements.find((q) => q.id === 'AIM-RST-01');
    assert.match(`${rst?.status} ${rst?.reason}`, /^not-applicable .*'restart'/, 'without --restartable the crash requirement is not-applicable');
    assert.deepEqual(
      rep.requirements.filter((q) => q.status !== 'pass' && q.id !== 'AIM-RST-01').map((q) => `${q.id}: ${q.status} ${q.reason ?? ''}`),
      [],
    );
  } finally {
    await s.stop();
  }
});

for (const v of [
  { name: 'wrong token accepted', args: ['--fault', 'acceptWrongToken'], grep: 'pay-per-call', requirement: 'AIM-PAY-02', runs: 1 },
  { name: 'channel debits rounded down', args: ['--fault', 'floorCents'], grep: 'channel-model', requirement: 'AIM-CHN-02', runs: 8 },
  { name: 'router ignores the routing fee', args: ['--router-fault', 'routingFeeIgnored'], grep: 'federated-search', requirement: 'AIM-FED-01', runs: 2 },
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
