/**
 * The CI tools through the CLI, on a real chain: a token with two defects (accepts expired
 * authorizations; permit approves half the value) described by a target file.
 * - `--shard i/N` + `amh report --merge`: certified once unsharded and once as 3 shards with the same
 *   seed; the merged report has the same verdict per requirement, the same check counts and the same
 *   shrunk counterexamples, and the same exit code. Bad shard input is refused (exit 2).
 * - `--baseline` / `amh baseline`: a real run with a stale entry fails and names it; the exact
 *   baseline passes; a bad baseline is refused before anything runs.
 * - `amh diff`: exit 0 for equal verdicts, 1 for a changed one.
 * - `amh keygen` / `bundle` / `verify` / `badge` / `replay BUNDLE`: a signed bundle verifies; one
 *   changed byte of the verdict makes verify exit 1; the replay reproduces every verdict.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { mergeShards } from '../../report/merge.ts';
import type { Report } from '../../report/types.ts';
import { parseShard } from './_shared.ts';
import { startBrokenTarget, type BrokenTarget } from '../../target/testing.ts';
import { amh } from '../../testing/cli.ts';

let bt: BrokenTarget;
let dir: string;
let targetFile: string;

beforeAll(async () => {
  bt = await startBrokenTarget({ tokenBugs: 1n | (1n << 11n) });
  dir = await mkdtemp(path.join(tmpdir(), 'amh-shard-'));
  targetFile = path.join(dir, 'target.json');
  await writeFile(targetFile, JSON.stringify(bt.target, null, 2));
});
afterAll(async () => {
  await bt?.stop();
});

const read = async (d: string): Promise<Report> => JSON.parse(await readFile(path.join(d, 'report.json'), 'utf8'));

/** Verdicts that must not depend on sharding. */
const verdicts = (r: Report) => ({
  exitCode: r.exitCode,
  summary: r.summary,
  requirements: r.protocols.flatMap((p) => p.requirements.map((q) => ({ id: q.id, status: q.status, checks: q.checks, scenarios: q.scenarios }))),
  scenarios: r.protocols.flatMap((p) =>
    p.scenarios.map((s) => ({
      id: s.caseId,
      status: s.status,
      runs: s.runs,
      checks: s.checks,
      cx: s.counterexample && { req: s.counterexample.requirement, actions: s.counterexample.actions, seed: s.counterexample.seed, path: s.counterexample.path, value: s.counterexample.value },
    })),
  ),
});

test('3 shards merged = the unsharded certify with the same seed (two real failures, counterexamples included)', async () => {
  const common = ['certify', '--target', targetFile, '--protocol', 'usdc', '--runs', '3', '--seed', '11', '--quiet'];
  const whole = await amh([...common, '--out', path.join(dir, 'whole')]);
  assert.equal(whole.code, 1, whole.stdout + whole.stderr);
  const codes: number[] = [];
  for (const i of [1, 2, 3]) {
    const r = await amh([...common, '--shard', `${i}/3`, '--out', path.join(dir, `shard-${i}`)]);
    assert.notEqual(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`shard ${i}/3: \\d+ of \\d+ cases`));
    codes.push(r.code);
  }
  assert.ok(codes.includes(1), 'a shard holding a failing case exits 1');
  const m = await amh(['report', '--merge', path.join(dir, 'shard-3'), path.join(dir, 'shard-1', 'report.json'), path.join(dir, 'shard-2'), '--out', path.join(dir, 'merged')]);
  assert.equal(m.code, 1, m.stdout + m.stderr);
  assert.match(m.stdout, /merged from 3 shards/);
  const a = await read(path.join(dir, 'whole'));
  const b = await read(path.join(dir, 'merged'));
  const failing = a.protocols[0]!.requirements.filter((q) => q.status === 'fail').map((q) => q.id);
  assert.deepEqual(failing.sort(), ['USDC-2612-01', 'USDC-3009-02'], 'the comparison covers two real failures');
  assert.deepEqual(verdicts(b), verdicts(a));
  // Replay hints point at the merged report.
  assert.match(b.protocols[0]!.scenarios.find((s) => s.counterexample)!.replay!, /amh replay .*merged\/report\.json --case usdc\//);
  // The merged summary.md is the unsharded one's, but for timings and the merge note.
  const md = await readFile(path.join(dir, 'merged', 'summary.md'), 'utf8');
  assert.match(md, /Merged from 3 shards/);
});

test('bad shard input: 3/2, 0/2, x, a missing or duplicate shard, a non-shard report → exit 2 with the reason', async () => {
  for (const [arg, re] of [
    ['0/2', /there is no shard 0 of 2/],
    ['1/0', /the number of shards must be at least 1/],
    ['half', /--shard must be I\/N, e.g. 1\/4/],
  ] as const)
    assert.throws(() => parseShard(arg), re);
  const r = await amh(['certify', '--target', targetFile, '--protocol', 'usdc', '--shard', '3/2']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /amh: --shard 3\/2: there is no shard 3 of 2; the index runs from 1 to 2/);
  const missing = await amh(['report', '--merge', path.join(dir, 'shard-1'), path.join(dir, 'shard-3'), path.join(dir, 'shard-3')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /amh: shard 3\/3 is given more than once/);
  const whole = await amh(['report', '--merge', path.join(dir, 'shard-1'), path.join(dir, 'whole'), path.join(dir, 'nope')]);
  assert.equal(whole.code, 2);
  assert.match(whole.stderr, /cannot read report .*nope: no such file or directory/);
  // The messages for a missing shard and a non-shard report (same code path as the CLI's).
  const inputs = await Promise.all(['shard-1', 'shard-3', 'whole'].map(async (d) => ({ file: `${d}/report.json`, report: await read(path.join(dir, d)) })));
  assert.throws(() => mergeShards(inputs.slice(0, 2)), /missing shard 2\/3: a merge needs every shard of the run/);
  assert.throws(() => mergeShards(inputs), /whole\/report\.json is not a shard report \(written by amh run\/certify --shard i\/N\)/);
});

test('baseline: amh baseline writes the accepted failures; a real run with a stale entry fails naming it; the exact baseline passes', async () => {
  const known = path.join(dir, 'known.json');
  const b = await amh(['baseline', path.join(dir, 'whole'), '-o', known]);
  assert.equal(b.code, 0, b.stderr);
  const json = JSON.parse(await readFile(known, 'utf8'));
  // Two defects, and USDC-2612-03 which 3 runs of the token model do not reach (a MUST left indeterminate).
  assert.deepEqual(json.accepted.map((e: { requirement: string }) => e.requirement).sort(), ['USDC-2612-01', 'USDC-2612-03', 'USDC-3009-02']);
  // Re-judging the recorded report: exact match → exit 0.
  const exact = await amh(['report', path.join(dir, 'whole'), '--baseline', known, '--out', path.join(dir, 'judged')]);
  assert.equal(exact.code, 0, exact.stdout + exact.stderr);
  assert.match(exact.stdout, /PASS \(baseline\) — every failure is an accepted one \(3 accepted in /);
  // A real run against a baseline with a stale entry (USDC-3009-01 passes) and without USDC-2612-01 (new).
  const stale = path.join(dir, 'stale.json');
  await writeFile(
    stale,
    JSON.stringify({
      version: 1,
      accepted: [
        { requirement: 'USDC-3009-02', protocol: 'usdc', reason: 'issue #1' },
        { requirement: 'USDC-3009-01', reason: 'was broken once' },
      ],
    }),
  );
  const r = await amh(['certify', '--target', targetFile, '--protocol', 'usdc', '--runs', '3', '--seed', '11', '--quiet', '--baseline', stale, '--out', path.join(dir, 'stale-run')]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /FAIL — 2 new failures and 1 stale baseline entry against baseline /);
  assert.match(r.stdout, /NEW failure usdc\/USDC-2612-01 \(fail\)/);
  assert.match(r.stdout, /STALE entry usdc\/USDC-3009-01 \(pass\): was broken once — it passes now; remove it from the baseline/);
  assert.match(r.stdout, /accepted usdc\/USDC-3009-02 \(fail\): issue #1/);
  const rep: Report = await read(path.join(dir, 'stale-run'));
  assert.equal(rep.baseline!.exitCodeWithout, 1);
  assert.match(await readFile(path.join(dir, 'stale-run', 'summary.md'), 'utf8'), /## Baseline/);
  // A bad baseline is refused before anything runs.
  await writeFile(path.join(dir, 'bad.json'), JSON.stringify({ version: 1, accepted: [{ requirement: 'USDC-3009-02' }] }));
  const bad = await amh(['certify', '--target', targetFile, '--protocol', 'usdc', '--baseline', path.join(dir, 'bad.json')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /amh: invalid baseline .*bad\.json:\n\s+- accepted\[0\]\.reason: /);
});

test('amh diff: equal verdicts exit 0; a changed verdict exits 1 and is shown in Markdown and HTML', async () => {
  const same = await amh(['diff', path.join(dir, 'whole'), path.join(dir, 'merged')]);
  assert.equal(same.code, 0, same.stdout + same.stderr);
  assert.match(same.stdout, /^amh diff: no requirement changed verdict/);
  const fixed: Report = await read(path.join(dir, 'whole'));
  const q = fixed.protocols[0]!.requirements.find((x) => x.id === 'USDC-3009-02')!;
  q.status = 'pass';
  delete q.reason;
  await writeFile(path.join(dir, 'fixed.json'), JSON.stringify(fixed));
  const md = await amh(['diff', path.join(dir, 'whole'), path.join(dir, 'fixed.json'), '--markdown']);
  assert.equal(md.code, 1);
  assert.match(md.stdout, /\| `usdc\/USDC-3009-02` .* \| MUST \| fail \| pass \|/);
  assert.match(md.stdout, /A: <code>USDC-3009-02<\/code> counterexample \(usdc\/3009-expired\)/);
  // --html and usage errors: harness/report/diff.test.ts (pure), the exit code here.
});

test('verdict bundle: keygen, bundle (secrets redacted), verify, one changed byte → invalid, badge, replay BUNDLE reproduces every verdict', async () => {
  const key = path.join(dir, 'signing.key');
  const k = await amh(['keygen', '-o', key]);
  assert.equal(k.code, 0, k.stderr);
  const pub = /public key: ([0-9a-f]{64})/.exec(k.stdout)![1]!;
  const bundle = path.join(dir, 'bundle.json');
  const b = await amh(['bundle', path.join(dir, 'whole'), '--key', key, '-o', bundle]);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  assert.match(b.stderr, /10 secrets redacted/);
  const text = await readFile(bundle, 'utf8');
  for (const a of bt.target.accounts) assert.ok(!text.includes(a.privateKey.replace(/^0x/, '')), 'no private key in the bundle');
  const v = await amh(['verify', bundle, '--public-key', pub]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /^VALID bundle .*signed by [0-9a-f]{64} \(the expected key\)\nverdict: FAIL — a MUST requirement was not met \(exit 1\)/);
  // One byte of the verdict: "exitCode": 1 → 0 in the bundled report.
  const at = text.indexOf('"exitCode": 1', text.indexOf('"report"'));
  assert.ok(at > 0);
  const tampered = path.join(dir, 'tampered.json');
  await writeFile(tampered, `${text.slice(0, at)}"exitCode": 0${text.slice(at + 13)}`);
  const t = await amh(['verify', tampered]);
  assert.equal(t.code, 1, t.stdout);
  assert.match(t.stdout, /^INVALID bundle .*\n\s+- hash mismatch: /);
  // Another signer, a report instead of a bundle: harness/report/bundle.test.ts.
  const badge = await amh(['badge', bundle, '-o', path.join(dir, 'badge.svg')]);
  assert.equal(badge.code, 0, badge.stderr);
  assert.match(await readFile(path.join(dir, 'badge.svg'), 'utf8'), /amh usdc: fail 3\/13 · \d{4}-\d\d-\d\d/);
  // Replay: the bundle's target file is redacted, so the real one is needed, and must match.
  const noTarget = await amh(['replay', bundle]);
  assert.equal(noTarget.code, 2);
  assert.match(noTarget.stderr, /give the real file with --target FILE/);
  await writeFile(path.join(dir, 'renamed.json'), JSON.stringify({ ...bt.target, name: 'another system' }));
  const wrong = await amh(['replay', bundle, '--target', path.join(dir, 'renamed.json')]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /renamed\.json is not the target this bundle certified/);
  assert.equal((await amh(['replay', tampered, '--target', targetFile])).code, 1, 'a tampered bundle is not replayed');
  const rp = await amh(['replay', bundle, '--target', targetFile]);
  assert.equal(rp.code, 0, rp.stdout + rp.stderr);
  assert.match(rp.stdout, /same verdicts: every requirement of the bundle reproduced \(13 requirements; bundled exit 1, replay exit 1\)/);
});
