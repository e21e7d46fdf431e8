/**
 * `amh certify --protocol aisp` against the reference backend and inference server started as their
 * own process (reference-impl/aisp/serve.ts) and described only by the target file it writes: the
 * healthy reference (with `--restartable`: a restart control in the file) passes every requirement (exit 0); a variant with a deliberate defect makes
 * certify exit 1 naming the requirement; a target file without ADMIN keys leaves the key-issuing
 * scenarios not-applicable (never passed). One anvil serves every variant, one after the other.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'vitest';
import { serveProcessLab } from '../../harness/testing/serve-process.ts';

const lab = serveProcessLab('aisp', 'base');
const serve = lab.serve;
const certify = lab.certify;

const aispOf = lab.reportOf;

test('the reference backend + inference server in their own process pass certify through the target file alone (the crash requirement through its restart command); no key reaches the report', {
  timeout: 600_000,
}, async () => {
  const s = await serve('healthy', ['--restartable']);
  try {
    const file = JSON.parse(readFileSync(s.targetFile, 'utf8')) as { capabilities: string[]; restart?: Record<string, { command: string; url?: string }> };
    assert.ok(file.capabilities.includes('restart'));
    assert.match(file.restart?.['aisp-backend']?.command ?? '', /kill -KILL/, 'the restart control is a SIGKILL, not a graceful stop');
    const out = path.join(lab.dir, 'healthy');
    const r = await certify(s.targetFile, out, ['--runs', '3']);
    assert.equal(r.code, 0, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const bad = aispOf(out).requirements.filter((q) => q.status !== 'pass');
    assert.deepEqual(
      bad.map((q) => `${q.id}: ${q.status} ${q.reason ?? ''}`),
      [],
      'every aisp requirement passes',
    );
    // Keys are secrets even in a report: no ADMIN key and no issued key (vn-scoped-…) in any file.
    const target = JSON.parse(readFileSync(s.targetFile, 'utf8')) as { config: { aisp: { adminKeys: Record<string, string> } } };
    for (const f of ['report.json', 'index.html', 'summary.md', 'junit.xml']) {
      const text = readFileSync(path.join(out, f), 'utf8');
      for (const k of Object.values(target.config.aisp.adminKeys)) assert.ok(!text.includes(k), `${f} contains an ADMIN key`);
      assert.doesNotMatch(text, /vn-scoped-[0-9a-f]{48}/, `${f} contains an issued key`);
    }
  } finally {
    await s.stop();
  }
});

test('without ADMIN keys in the target file, the key-issuing scenarios are not-applicable, the rest passes', { timeout: 300_000 }, async () => {
  const s = await serve('no-admin', []);
  try {
    const t = JSON.parse(readFileSync(s.targetFile, 'utf8')) as { config: { aisp: Record<string, unknown> } };
    delete t.config.aisp.adminKeys;
    const file = path.join(lab.dir, 'no-admin.edited.json');
    writeFileSync(file, JSON.stringify(t));
    const out = path.join(lab.dir, 'no-admin');
    const r = await certify(file, out, ['--runs', '2', '--grep', 'list-terms|rental-requests|inference-chat']);
    assert.equal(r.code, 0, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const q = aispOf(out).requirements;
    assert.equal(q.find((x) => x.id === 'AISP-INF-01')?.status, 'not-applicable');
    assert.match(q.find((x) => x.id === 'AISP-INF-01')?.reason ?? '', /aisp:admin-keys/);
    assert.equal(q.find((x) => x.id === 'AISP-LIST-01')?.status, 'pass');
    assert.equal(q.find((x) => x.id === 'AISP-REQ-01')?.status, 'pass');
  } finally {
    await s.stop();
  }
});

const VARIANTS: { name: string; args: string[]; grep: string; requirement: string; runs: number }[] = [
  { name: 'key to any signer', args: ['--fault', 'keyToAnySigner'], grep: 'get-key-funder-only', requirement: 'AISP-KEY-03', runs: 2 },
  { name: 'no signature window', args: ['--fault', 'noSignatureWindow'], grep: 'store-key-auth', requirement: 'AISP-SIG-01', runs: 2 },
  { name: 'no spend limit', args: ['--fault', 'noSpendLimit'], grep: 'spend-limit', requirement: 'AISP-INF-02', runs: 3 },
  { name: 'keys lost on restart', args: ['--restartable', '--fault', 'keySecretPerStart'], grep: 'backend-restart', requirement: 'AISP-RST-01', runs: 1 },
];

for (const v of VARIANTS) {
  test(`broken variant "${v.name}" makes certify exit 1 naming ${v.requirement}`, { timeout: 300_000 }, async () => {
    const s = await serve(v.name.replace(/\W+/g, '-'), v.args);
    try {
      const out = path.join(lab.dir, v.name.replace(/\W+/g, '-'));
      const r = await certify(s.targetFile, out, ['--runs', String(v.runs), '--grep', v.grep]);
      assert.equal(r.code, 1, `certify exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, new RegExp(`FAIL ${v.requirement}\\b`), `the summary names ${v.requirement}:\n${r.stdout}`);
      assert.equal(aispOf(out).requirements.find((x) => x.id === v.requirement)?.status, 'fail');
    } finally {
      await s.stop();
    }
  });
}
