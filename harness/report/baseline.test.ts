/**
 * Baselines (pure logic, on constructed reports): exact match passes, a stale entry fails, a new
 * failure fails, a harness error stays an error, shards defer staleness to the merge; `amh baseline`
 * round-trips; bad files are refused naming the field.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'vitest';
import { applyBaseline, BaselineError, baselineFromReport, baselineLines, loadBaseline, parseBaseline, type Baseline } from './baseline.ts';
import { renderJunit } from './junit.ts';
import { renderMarkdown, verdictText } from './markdown.ts';
import type { Report, RequirementReport, RequirementStatus } from './types.ts';

const q = (id: string, status: RequirementStatus, level: 'MUST' | 'SHOULD' = 'MUST', reason?: string): RequirementReport => ({
  id,
  level,
  title: `title of ${id}`,
  source: { document: 'd', section: 's' },
  text: 'text',
  profileAssumption: false,
  status,
  ...(reason ? { reason } : {}),
  checks: { passed: status === 'pass' ? 3 : 1, failed: status === 'fail' ? 1 : 0 },
  scenarios: [],
  evidence: [],
});

const report = (reqs: RequirementReport[], exitCode: 0 | 1 | 2 = reqs.some((r) => r.level === 'MUST' && (r.status === 'fail' || r.status === 'indeterminate')) ? 1 : 0): Report => ({
  schemaVersion: '1.3.0',
  harness: { name: 'agentmarket-harness', version: '0.1.0' },
  command: 'certify',
  target: { name: 't', kind: 'file', capabilities: [], chains: [] },
  seed: 5,
  runs: 3,
  startedAt: new Date(0).toISOString(),
  durationMs: 1,
  exitCode,
  summary: { pass: 0, fail: 0, warn: 0, notApplicable: 0, error: 0, indeterminate: 0, uncovered: 0, checks: 1 },
  errors: [],
  protocols: [{ id: 'usdc', title: 'USDC', requirements: reqs, scenarios: [] }],
});

const base = (entries: { requirement: string; protocol?: string; reason: string }[]): Baseline => parseBaseline({ version: 1, accepted: entries });

test('exact match: only accepted failures → exit 0, and the verdict says so', () => {
  const r = report([q('USDC-3009-01', 'pass'), q('USDC-3009-02', 'fail', 'MUST', 'expired accepted'), q('USDC-2612-01', 'warn', 'SHOULD')]);
  assert.equal(r.exitCode, 1);
  const j = applyBaseline(
    r,
    base([
      { requirement: 'USDC-3009-02', protocol: 'usdc', reason: 'issue #12' },
      { requirement: 'USDC-2612-01', reason: 'known' },
    ]),
    'known.json',
  );
  assert.equal(j.exitCode, 0);
  assert.deepEqual(
    j.baseline!.accepted.map((x) => `${x.requirement}:${x.status}:${x.reason}`),
    ['USDC-3009-02:fail:issue #12', 'USDC-2612-01:warn:known'],
  );
  assert.deepEqual([j.baseline!.new, j.baseline!.stale], [[], []]);
  assert.equal(j.baseline!.exitCodeWithout, 1);
  assert.match(verdictText(j), /^PASS \(baseline\) — every failure is an accepted one \(2 accepted in known\.json\)/);
  assert.match(renderMarkdown(j), /## Baseline\n\nbaseline known\.json: 2 accepted, 0 new failures, 0 stale entries/);
});

test('stale: an accepted requirement that passes now fails the run and is named', () => {
  const r = report([q('USDC-3009-01', 'pass'), q('USDC-3009-02', 'pass')]);
  const j = applyBaseline(r, base([{ requirement: 'USDC-3009-02', reason: 'issue #12' }]), 'known.json');
  assert.equal(j.exitCode, 1);
  assert.deepEqual(
    j.baseline!.stale.map((x) => x.requirement),
    ['USDC-3009-02'],
  );
  assert.match(verdictText(j), /^FAIL — 1 stale baseline entry in known\.json \(the requirement passes now\)/);
  assert.ok(baselineLines(j.baseline!).some((l) => /STALE entry usdc\/USDC-3009-02 \(pass\): issue #12 — it passes now; remove it from the baseline/.test(l)));
});

test('new: a failure the baseline does not list fails the run; a new SHOULD warning is reported but does not', () => {
  const r = report([q('USDC-3009-02', 'fail'), q('USDC-3009-05', 'indeterminate', 'MUST', 'settlement unconfirmed'), q('USDC-2612-01', 'warn', 'SHOULD')]);
  const j = applyBaseline(r, base([{ requirement: 'USDC-3009-02', reason: 'known' }]), 'k.json');
  assert.equal(j.exitCode, 1);
  assert.deepEqual(
    j.baseline!.new.map((x) => `${x.requirement}:${x.status}`),
    ['USDC-3009-05:indeterminate'],
  );
  assert.deepEqual(
    j.baseline!.newWarnings.map((x) => x.requirement),
    ['USDC-2612-01'],
  );
  assert.match(verdictText(j), /^FAIL — 1 new failure against baseline k\.json/);
  // Only the warning new: passes.
  const w = applyBaseline(report([q('USDC-3009-02', 'fail'), q('USDC-2612-01', 'warn', 'SHOULD')]), base([{ requirement: 'USDC-3009-02', reason: 'known' }]), 'k.json');
  assert.equal(w.exitCode, 0);
});

test('unchecked entries (not selected, n/a, other protocol) neither pass nor fail; a harness error stays exit 2; protocol scopes an entry', () => {
  const r = report([q('USDC-3009-02', 'fail'), q('USDC-3009-03', 'not-applicable')]);
  const j = applyBaseline(
    r,
    base([
      { requirement: 'USDC-3009-02', protocol: 'x402', reason: 'wrong protocol' },
      { requirement: 'USDC-3009-03', reason: 'n/a here' },
      { requirement: 'AGR-ESC-01', reason: 'not selected' },
    ]),
    'k.json',
  );
  assert.equal(j.exitCode, 1, 'the x402-scoped entry does not accept a usdc failure');
  assert.deepEqual(
    j.baseline!.new.map((x) => x.requirement),
    ['USDC-3009-02'],
  );
  assert.deepEqual(
    j.baseline!.unchecked.map((x) => `${x.protocol}/${x.requirement}:${x.status}`),
    ['usdc/USDC-3009-03:not-applicable', 'x402/USDC-3009-02:absent', '*/AGR-ESC-01:absent'],
  );
  const err = applyBaseline(report([q('USDC-3009-02', 'fail')], 2), base([{ requirement: 'USDC-3009-02', reason: 'k' }]), 'k.json');
  assert.equal(err.exitCode, 2);
});

test('in a shard, a passing accepted requirement is not stale (another shard may fail it); the merge decides', () => {
  const r = { ...report([q('USDC-3009-02', 'pass')]), shard: { index: 1, total: 2, cases: [], protocols: [] } };
  const j = applyBaseline(r, base([{ requirement: 'USDC-3009-02', reason: 'k' }]), 'k.json');
  assert.equal(j.exitCode, 0);
  assert.deepEqual(
    j.baseline!.unchecked.map((x) => x.requirement),
    ['USDC-3009-02'],
  );
});

test('amh baseline output accepts exactly the report: applying it gives exit 0, nothing new or stale', () => {
  const r = report([q('USDC-3009-01', 'pass'), q('USDC-3009-02', 'fail', 'MUST', 'expired accepted\nmore'), q('USDC-2612-01', 'warn', 'SHOULD'), q('USDC-3009-03', 'not-applicable')]);
  const b = baselineFromReport(r, 'reports/latest/report.json');
  assert.deepEqual(
    b.accepted.map((e) => `${e.protocol}/${e.requirement}: ${e.reason}`),
    ['usdc/USDC-3009-02: fail: expired accepted', 'usdc/USDC-2612-01: warn: title of USDC-2612-01'],
  );
  const again = parseBaseline(JSON.parse(JSON.stringify(b)));
  const j = applyBaseline(r, again, 'k.json');
  assert.equal(j.exitCode, 0);
  assert.equal(j.baseline!.accepted.length, 2);
});

test('bad baseline files are refused naming the field: missing file, not JSON, wrong version, missing reason, unknown key, bad id, duplicate', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'amh-baseline-'));
  const write = async (name: string, text: string) => {
    const f = path.join(dir, name);
    await writeFile(f, text);
    return f;
  };
  await assert.rejects(loadBaseline(path.join(dir, 'missing.json')), (e: Error) => e instanceof BaselineError && /cannot read baseline .*missing\.json: no such file/.test(e.message));
  await assert.rejects(loadBaseline(await write('a.json', '{ nope')), /invalid baseline .*a\.json: not JSON/);
  await assert.rejects(loadBaseline(await write('b.json', JSON.stringify({ version: 2, accepted: [] }))), /invalid baseline .*b\.json:\n\s+- version: /);
  await assert.rejects(loadBaseline(await write('c.json', JSON.stringify({ version: 1, accepted: [{ requirement: 'USDC-3009-02' }] }))), /accepted\[0\]\.reason: /);
  await assert.rejects(loadBaseline(await write('d.json', JSON.stringify({ version: 1, accepted: [{ requirement: 'USDC-3009-02', reason: 'x', status: 'fail' }] }))), /accepted\[0\]: .*status/);
  await assert.rejects(
    loadBaseline(await write('e.json', JSON.stringify({ version: 1, accepted: [{ requirement: 'usdc-3009', reason: 'x' }] }))),
    /accepted\[0\]\.requirement: must be a requirement id such as USDC-3009-02/,
  );
  await assert.rejects(
    loadBaseline(
      await write(
        'f.json',
        JSON.stringify({
          version: 1,
          accepted: [
            { requirement: 'A-1', reason: 'x' },
            { requirement: 'A-1', reason: 'y' },
          ],
        }),
      ),
    ),
    /accepted\[1\]: A-1 is listed twice \(also accepted\[0\]\)/,
  );
  await assert.rejects(
    loadBaseline(await write('g.json', JSON.stringify({ version: 1, accepted: [{ requirement: 'A-1', reason: '  ' }] }))),
    /accepted\[0\]\.reason: must say why this failure is accepted/,
  );
  const ok = await loadBaseline(await write('ok.json', JSON.stringify({ version: 1, accepted: [{ requirement: 'A-1', reason: 'fine' }] })));
  assert.equal(ok.accepted.length, 1);
});

test('junit.xml under a baseline: accepted failures are skipped with the reason, a stale entry is a failure', () => {
  const r = report([q('USDC-3009-01', 'pass'), q('USDC-3009-02', 'fail', 'MUST', 'expired accepted'), q('USDC-3009-05', 'fail')]);
  const j = applyBaseline(
    r,
    base([
      { requirement: 'USDC-3009-02', reason: 'issue #12' },
      { requirement: 'USDC-3009-01', reason: 'fixed?' },
    ]),
    'known.json',
  );
  const xml = renderJunit(j);
  assert.match(xml, /<testsuites [^>]*failures="2"[^>]*skipped="1"/);
  assert.match(xml, /USDC-3009-02[^\n]*\n\s+<skipped message="accepted failure \(fail\) in baseline known\.json: issue #12"\/>/);
  assert.match(
    xml,
    /USDC-3009-01[^\n]*\n\s+<failure type="stale-baseline-entry" message="stale baseline entry \(known\.json\): the requirement passes now; remove the entry">baseline reason: fixed\?<\/failure>/,
  );
  assert.match(xml, /USDC-3009-05[^\n]*\n\s+<failure type="requirement-violated"/);
  // Without a baseline: unchanged.
  assert.match(renderJunit(r), /<testsuites [^>]*failures="2"[^>]*skipped="0"/);
});
