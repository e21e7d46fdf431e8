/**
 * Shards (`--shard i/N`) and `amh report --merge`, in process with in-memory scenarios (real
 * fast-check runs, failures, shrinking, no chain): for N = 1..5 the merged shard reports equal the
 * unsharded run with the same seed — every requirement's status, reason, check counts and evidence,
 * every scenario's counterexample — including a requirement checked by scenarios that land in
 * different shards with different outcomes. Missing, duplicate and foreign shards are refused.
 * (The CLI test with a real chain is harness/cli/commands/ci.test.ts.)
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { test } from 'vitest';
import { defineCatalog } from '../engine/catalog.ts';
import { defineProtocol, defineScenario, type ProtocolModule } from '../engine/dsl.ts';
import { Indeterminate } from '../engine/errors.ts';
import { exitCodeFor, runAll, summarize, type RunOptions } from '../engine/runner.ts';
import { createTargetClients } from '../engine/session.ts';
import { parseTarget, type Target } from '../target/schema.ts';
import { MergeError, mergeShards } from './merge.ts';
import type { Report } from './types.ts';

const target: Target = parseTarget({ name: 'in-memory', chains: [{ id: 'none', chainId: 1, rpcUrl: 'http://127.0.0.1:9' }], accounts: [], capabilities: [] });

const req = (id: string, level: 'MUST' | 'SHOULD', title: string) => ({ id, level, title, source: { document: 'test', section: id }, text: title, profileAssumption: false });
const catalog = defineCatalog([
  req('T-MUST-01', 'MUST', 'sum commutes'),
  req('T-MUST-02', 'MUST', 'values below 50'),
  req('T-SHOULD-01', 'SHOULD', 'values even'),
  req('T-MUST-03', 'MUST', 'needs clocks'),
  req('T-MUST-04', 'MUST', 'nobody checks this'),
  req('T-MUST-05', 'MUST', 'settles'),
  req('T-MUST-06', 'MUST', 'rarely checked'),
]);
const scenarios = [
  defineScenario({
    kind: 'property',
    id: 'commutative',
    title: 'a+b',
    requirements: ['T-MUST-01'],
    arbitrary: () => fc.tuple(fc.integer(), fc.integer()),
    async run(ctx, [a, b]) {
      ctx.act(`add ${a} and ${b}`);
      ctx.check('T-MUST-01', a + b === b + a, 'commutes', { expected: a + b, actual: b + a });
    },
  }),
  defineScenario({
    kind: 'property',
    id: 'below-50',
    title: 'lists below 50',
    requirements: ['T-MUST-02', 'T-MUST-01'],
    arbitrary: () => fc.array(fc.nat({ max: 100 }), { minLength: 1 }),
    async run(ctx, xs) {
      ctx.check('T-MUST-01', true, 'trivially');
      for (const x of xs) {
        ctx.act(`agent submits ${x}`);
        ctx.check('T-MUST-02', x < 50, `value ${x} < 50`, { expected: '< 50', actual: x });
      }
    },
  }),
  defineScenario({
    kind: 'property',
    id: 'even',
    title: 'even',
    requirements: ['T-SHOULD-01'],
    arbitrary: () => fc.nat({ max: 10 }),
    async run(ctx, x) {
      ctx.act(`agent picks ${x}`);
      ctx.check('T-SHOULD-01', x % 2 === 0, 'even', { actual: x });
    },
  }),
  defineScenario({
    kind: 'property',
    id: 'clocked',
    title: 'needs clock',
    requirements: ['T-MUST-03'],
    capabilities: ['clock-control'],
    arbitrary: () => fc.nat(),
    async run(ctx) {
      ctx.check('T-MUST-03', true, 'never runs');
    },
  }),
  defineScenario({
    kind: 'property',
    id: 'unsure',
    title: 'settlement unconfirmed for large amounts',
    requirements: ['T-MUST-05'],
    arbitrary: () => fc.nat({ max: 1000 }),
    async run(ctx, x) {
      ctx.act(`pay ${x}`);
      if (x > 900) throw new Indeterminate('T-MUST-05', `settlement of ${x} not confirmed`);
      ctx.check('T-MUST-05', true, 'settled');
    },
  }),
  // Same requirement as below-50, passing here: its verdict depends on a scenario in another shard.
  defineScenario({
    kind: 'property',
    id: 'small-values',
    title: 'small values',
    requirements: ['T-MUST-02'],
    arbitrary: () => fc.nat({ max: 10 }),
    async run(ctx, x) {
      ctx.act(`agent submits ${x}`);
      ctx.check('T-MUST-02', x < 50, `value ${x} < 50`);
    },
  }),
  // Checks T-MUST-06 only for some inputs: in a shard of its own it may check nothing (provisional).
  defineScenario({
    kind: 'property',
    id: 'rare',
    title: 'rare',
    requirements: ['T-MUST-06', 'T-MUST-01'],
    arbitrary: () => fc.nat({ max: 100 }),
    async run(ctx, x) {
      ctx.check('T-MUST-01', true, 'ok');
      if (x > 1000) ctx.check('T-MUST-06', true, 'never');
    },
  }),
  defineScenario({
    kind: 'property',
    id: 'rare-checked',
    title: 'rare, checked',
    requirements: ['T-MUST-06'],
    arbitrary: () => fc.nat(),
    async run(ctx) {
      ctx.check('T-MUST-06', true, 'checked');
    },
  }),
];
const toy: ProtocolModule = defineProtocol({ id: 'toy', title: 'toy', requirements: catalog, scenarios });
const other: ProtocolModule = defineProtocol({
  id: 'other',
  title: 'other',
  requirements: defineCatalog([req('O-MUST-01', 'MUST', 'other sum')]),
  scenarios: [{ ...scenarios[0]!, requirements: ['O-MUST-01'], run: async (ctx) => ctx.check('O-MUST-01', true, 'ok') }],
});

const run = (o: Partial<RunOptions> = {}) =>
  runAll(
    { target, targetInfo: { name: 'in-memory', kind: 'file', capabilities: [], chains: [] }, workers: [createTargetClients(target)], protocols: [toy, other] },
    { runs: 40, seed: 1234, command: 'test', replayCommand: 'amh replay merged/report.json', ...o },
  );

/** What must not depend on sharding: everything but timings. */
function verdicts(r: Report) {
  return {
    exitCode: r.exitCode,
    summary: r.summary,
    errors: r.errors,
    protocols: r.protocols.map((p) => ({
      ...p,
      scenarios: p.scenarios.map(({ durationMs: _d, ...s }) => s),
      requirements: p.requirements.map((q) => ({ ...q, evidence: q.evidence.map((e) => ('durationMs' in e ? { ...e, durationMs: 0 } : e)) })),
    })),
  };
}

test('merged shards equal the unsharded run (N = 1..5): statuses, reasons, checks, evidence, counterexamples', async () => {
  const whole = await run();
  const v = verdicts(whole);
  // The fixture exercises every verdict kind, or the comparison proves little.
  const status = Object.fromEntries(whole.protocols.flatMap((p) => p.requirements.map((q) => [q.id, q.status])));
  assert.deepEqual(status, {
    'T-MUST-01': 'pass',
    'T-MUST-02': 'fail',
    'T-SHOULD-01': 'warn',
    'T-MUST-03': 'not-applicable',
    'T-MUST-04': 'uncovered',
    'T-MUST-05': 'indeterminate',
    'T-MUST-06': 'pass',
    'O-MUST-01': 'pass',
  });
  assert.equal(whole.exitCode, 1);
  for (let n = 1; n <= 5; n++) {
    const shards = [];
    for (let i = 1; i <= n; i++) shards.push(await run({ shard: { index: i, total: n } }));
    // Every case runs in exactly one shard.
    assert.deepEqual(shards.flatMap((s) => s.protocols.flatMap((p) => p.scenarios.map((x) => x.caseId))).sort(), whole.protocols.flatMap((p) => p.scenarios.map((x) => x.caseId)).sort());
    const merged = mergeShards(
      shards.reverse().map((report, k) => ({ file: `shard-${n - k}.json`, report })),
      { replayCommand: 'amh replay merged/report.json' },
    );
    assert.deepEqual(verdicts(merged), v, `--shard i/${n} merged`);
    assert.deepEqual(merged.merged, { shards: n });
  }
});

test('a shard report is partial: a requirement failing in another shard may pass in this one; unchecked requirements do not fail a shard', async () => {
  // 8 toy cases + 1 other, dealt round-robin over 3 shards: [commutative, clocked, rare], [below-50, unsure, rare-checked], [even, small-values, other/commutative].
  const shards = [1, 2, 3].map((i) => run({ shard: { index: i, total: 3 } }));
  const rs = await Promise.all(shards);
  const where = (caseId: string) => rs.findIndex((r) => r.protocols.some((p) => p.scenarios.some((s) => s.caseId === caseId)));
  assert.equal(where('toy/commutative'), 0);
  assert.equal(where('toy/below-50'), 1);
  assert.equal(where('toy/even'), 2);
  assert.equal(where('toy/clocked'), 0);
  assert.equal(where('toy/small-values'), 2);
  const q = (r: Report, id: string) => r.protocols.flatMap((p) => p.requirements).find((x) => x.id === id);
  // T-MUST-02: fails in shard 2 (below-50), passes in shard 3 (small-values): merged fail.
  assert.equal(q(rs[1]!, 'T-MUST-02')?.status, 'fail');
  assert.equal(q(rs[2]!, 'T-MUST-02')?.status, 'pass');
  assert.equal(rs[1]!.exitCode, 1);
  // T-MUST-06 in shard 1: rare never checks it → provisional, not counted; rare-checked in shard 2 passes it.
  assert.equal(where('toy/rare'), 0);
  assert.equal(q(rs[0]!, 'T-MUST-06')?.status, 'indeterminate');
  // T-MUST-04 has no scenario at all: uncovered in every shard alike, so every shard exits 1 for it.
  assert.equal(rs[0]!.exitCode, 1);
  const without04 = rs[0]!.protocols.map((p) => ({ ...p, requirements: p.requirements.filter((r) => r.id !== 'T-MUST-04') }));
  assert.equal(exitCodeFor(without04, summarize(without04), [], { shard: true }), 0, 'a requirement this shard could not check does not fail the shard');
  assert.ok(rs[0]!.shard && rs[0]!.shard.cases.length === 9 && rs[0]!.shard.total === 3);
  const merged = mergeShards(rs.map((report, k) => ({ file: `s${k + 1}`, report })));
  assert.equal(q(merged, 'T-MUST-06')?.status, 'pass');
  assert.equal(q(merged, 'T-MUST-02')?.status, 'fail');
});

test('merge refuses missing, duplicate, foreign and non-shard reports with a clear error; an empty shard is an error', async () => {
  const [a, b, c] = await Promise.all([1, 2, 3].map((i) => run({ shard: { index: i, total: 3 }, grep: 'toy/' })));
  const inp = (report: Report, file: string) => ({ report, file });
  assert.throws(
    () => mergeShards([inp(a!, 'a'), inp(c!, 'c')]),
    (e: Error) => e instanceof MergeError && /missing shard 2\/3/.test(e.message),
  );
  assert.throws(() => mergeShards([inp(a!, 'a'), inp(b!, 'b'), inp(b!, 'b2'), inp(c!, 'c')]), /shard 2\/3 is given more than once \(b, b2\)/);
  const otherSeed = await run({ shard: { index: 2, total: 3 }, grep: 'toy/', seed: 99 });
  assert.throws(() => mergeShards([inp(a!, 'a'), inp(otherSeed, 'x'), inp(c!, 'c')]), /x is not a shard of the same run as a: seed 99 vs 1234/);
  const otherN = await run({ shard: { index: 2, total: 4 }, grep: 'toy/' });
  assert.throws(() => mergeShards([inp(a!, 'a'), inp(otherN, 'y'), inp(c!, 'c')]), /y is not a shard of the same run as a: it is one of 4 shards/);
  const whole = await run({ grep: 'toy/' });
  assert.throws(() => mergeShards([inp(whole, 'whole.json')]), /whole\.json is not a shard report/);
  const edited = structuredClone(b!);
  edited.protocols[0]!.scenarios.pop();
  assert.throws(() => mergeShards([inp(a!, 'a'), inp(edited, 'b'), inp(c!, 'c')]), /does not hold the cases of its shard/);
  // 9 cases, 10 shards: shard 10 has nothing to run.
  const empty = await run({ shard: { index: 10, total: 10 } });
  assert.equal(empty.exitCode, 2);
  assert.match(empty.errors.join('\n'), /shard 10\/10 has no case: the selection has only 9 cases; use at most 9 shards/);
  await assert.rejects(run({ shard: { index: 3, total: 2 } }), /invalid shard 3\/2/);
});
