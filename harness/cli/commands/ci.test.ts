/**
 * `--shard i/N` and `amh report --merge` through the CLI, on a real chain: a token with two defects
 * (accepts expired authorizations; permit approves half the value) is certified once unsharded and
 * once as 3 shards with the same seed; the merged report has the same verdict per requirement, the
 * same check counts and the same shrunk counterexamples, and the same exit code. Bad shard input is
 * refused with a clear message (exit 2).
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
