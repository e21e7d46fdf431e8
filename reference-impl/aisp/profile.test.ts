/**
 * A what-if AISP fee end to end: with a 2% profile the marketplace (its fee slot on the reference
 * chain), the settle and revoke oracles, the model and the requirement texts follow and the run
 * passes; a deployment left at 1% certified with the 2% profile fails exactly the fee requirements.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'vitest';
import type { Report } from '../../harness/report/types.ts';
import { amh } from '../../harness/testing/cli.ts';
import { serveProcessLab } from '../../harness/testing/serve-process.ts';

const lab = serveProcessLab('aisp', 'base');
const PROFILE = path.join('examples', 'profiles', 'aisp-fee-2pct.yaml');
const CASES = 'settle-after-term|revoke-refund|marketplace-model';

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
