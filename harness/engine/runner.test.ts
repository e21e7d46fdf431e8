/**
 * Runner unit tests with in-memory scenarios (no chain): verdict mapping, shrinking and
 * counterexamples, not-applicable, uncovered, exit codes, determinism and replay by seed/path.
 */
import assert from 'node:assert/strict';
import { test } from 'vitest';
import fc from 'fast-check';
import { parseTarget, type Capability, type Target } from '../target/schema.ts';
import { LONG_RUN_STATES, roleAccount, rpcCall, signedTransfer, startChain } from '../chain/index.ts';
import type { Hex } from 'viem';
import { defineCatalog } from './catalog.ts';
import { defineProtocol, defineScenario, type ProtocolModule } from './dsl.ts';
import { Indeterminate } from './errors.ts';
import { interleaveByProtocol, runAll, scenarioSeed, type RunOptions } from './runner.ts';
import { nodeRepairsText, renderMarkdown } from '../report/markdown.ts';
import { renderHtml } from '../report/html.ts';
import { printSummary } from '../cli/commands/_shared.ts';
import { createTargetClients } from './session.ts';

const target: Target = parseTarget({
  name: 'in-memory',
  chains: [{ id: 'none', chainId: 1, rpcUrl: 'http://127.0.0.1:9' }],
  accounts: [],
  capabilities: [],
});

const catalog = defineCatalog([
  { id: 'T-MUST-01', level: 'MUST', title: 'sum is commutative', source: { document: 'test', section: '1' }, text: 'a + b = b + a', profileAssumption: false },
  { id: 'T-MUST-02', level: 'MUST', title: 'values stay below 50', source: { document: 'test', section: '2' }, text: 'every value < 50', profileAssumption: false },
  { id: 'T-SHOULD-01', level: 'SHOULD', title: 'values are even', source: { document: 'test', section: '3' }, text: 'values SHOULD be even', profileAssumption: false },
  { id: 'T-MUST-03', level: 'MUST', title: 'needs clocks', source: { document: 'test', section: '4' }, text: 'needs clock-control', profileAssumption: false },
  { id: 'T-MUST-04', level: 'MUST', title: 'nobody checks this', source: { document: 'test', section: '5' }, text: 'uncovered', profileAssumption: true },
]);

const commutative = defineScenario({
  kind: 'property',
  id: 'commutative',
  title: 'a+b',
  requirements: ['T-MUST-01'],
  arbitrary: () => fc.tuple(fc.integer(), fc.integer()),
  async run(ctx, [a, b]) {
    ctx.act(`add ${a} and ${b}`);
    ctx.check('T-MUST-01', a + b === b + a, 'commutes', { expected: a + b, actual: b + a });
  },
});
const below50 = defineScenario({
  kind: 'property',
  id: 'below-50',
  title: 'lists below 50',
  requirements: ['T-MUST-02'],
  arbitrary: () => fc.array(fc.nat({ max: 100 }), { minLength: 1 }),
  async run(ctx, xs) {
    for (const x of xs) {
      ctx.act(`agent submits ${x}`);
      ctx.check('T-MUST-02', x < 50, `value ${x} < 50`, { expected: '< 50', actual: x });
    }
  },
});
const even = defineScenario({
  kind: 'property',
  id: 'even',
  title: 'even',
  requirements: ['T-SHOULD-01'],
  arbitrary: () => fc.nat({ max: 10 }),
  async run(ctx, x) {
    ctx.check('T-SHOULD-01', x % 2 === 0, 'even', { actual: x });
  },
});
const clocked = defineScenario({
  kind: 'property',
  id: 'clocked',
  title: 'needs clock',
  requirements: ['T-MUST-03'],
  capabilities: ['clock-control'],
  arbitrary: () => fc.nat(),
  async run(ctx) {
    ctx.check('T-MUST-03', true, 'never runs');
  },
});

/** A scenario whose every run calls `onRun` and passes T-MUST-01. */
const passing = (id: string, onRun: () => void) =>
  defineScenario({
    kind: 'property',
    id,
    title: id,
    requirements: ['T-MUST-01'],
    arbitrary: () => fc.constant(0),
    async run(ctx) {
      onRun();
      ctx.check('T-MUST-01', true, 'ok');
    },
  });

const proto = (scenarios: ProtocolModule['scenarios']) => defineProtocol({ id: 'toy', title: 'toy', requirements: catalog, scenarios });
const run = (p: ProtocolModule, o: Partial<RunOptions> = {}) =>
  runAll(
    { target, targetInfo: { name: 'in-memory', kind: 'file', capabilities: [], chains: [] }, workers: [createTargetClients(target)], protocols: [p] },
    { runs: 50, seed: 42, command: 'test', ...o },
  );

test('verdicts: pass, MUST fail with shrunk counterexample, SHOULD warn, not-applicable, uncovered', async () => {
  const r = await run(proto([commutative, below50, even, clocked]));
  const req = Object.fromEntries(r.protocols[0]!.requirements.map((q) => [q.id, q]));
  assert.equal(req['T-MUST-01']!.status, 'pass');
  assert.ok(req['T-MUST-01']!.checks.passed >= 50);
  assert.equal(req['T-MUST-02']!.status, 'fail');
  assert.equal(req['T-SHOULD-01']!.status, 'warn');
  assert.equal(req['T-MUST-03']!.status, 'not-applicable');
  assert.match(req['T-MUST-03']!.reason!, /clock-control/);
  assert.equal(req['T-MUST-04']!.status, 'uncovered');
  const sc = r.protocols[0]!.scenarios.find((s) => s.id === 'below-50')!;
  // Shrinking reaches the smallest failing list: one value, exactly 50.
  assert.deepEqual(sc.counterexample!.actions, ['agent submits 50']);
  assert.equal(sc.counterexample!.requirement, 'T-MUST-02');
  assert.match(sc.replay!, /amh replay .* --case toy\/below-50/);
  assert.equal(r.exitCode, 1);
  assert.deepEqual({ pass: r.summary.pass, fail: r.summary.fail, warn: r.summary.warn, na: r.summary.notApplicable, unc: r.summary.uncovered }, { pass: 1, fail: 1, warn: 1, na: 1, unc: 1 });
});

test('exit codes: 0 when every MUST passes (SHOULD warnings allowed), 1 when a MUST has no scenario, 2 on harness error or zero checks', async () => {
  const covered = new Set([commutative, even].flatMap((s) => s.requirements));
  const only = (ids: Set<string>) => defineProtocol({ id: 'toy', title: 'toy', requirements: catalog.filter((r) => ids.has(r.id)), scenarios: [commutative, even] });
  assert.equal((await run(only(covered))).exitCode, 0);
  // The same passing scenarios, with a MUST in the catalog that no scenario checks: a certification cannot vouch for it.
  const uncovered = await run(only(new Set([...covered, 'T-MUST-04'])));
  assert.equal(uncovered.protocols[0]!.requirements.find((q) => q.id === 'T-MUST-04')!.status, 'uncovered');
  assert.equal(uncovered.exitCode, 1);
  const crash = defineScenario({
    kind: 'property',
    id: 'crash',
    title: 'crash',
    requirements: ['T-MUST-01'],
    arbitrary: () => fc.nat(),
    async run() {
      throw new Error('boom');
    },
  });
  const r = await run(proto([crash]));
  assert.equal(r.protocols[0]!.scenarios[0]!.status, 'error');
  assert.equal(r.exitCode, 2);
  const r0 = await run(proto([clocked]));
  assert.equal(r0.summary.checks, 0);
  assert.equal(r0.exitCode, 2, 'a run where no check executed is an error');
});

test('indeterminate outcome is reported as such and keeps exit 1 for a MUST', async () => {
  const unsure = defineScenario({
    kind: 'property',
    id: 'unsure',
    title: 'unsure',
    requirements: ['T-MUST-02'],
    arbitrary: () => fc.nat(),
    async run() {
      throw new Indeterminate('T-MUST-02', 'settlement not confirmed');
    },
  });
  const r = await run(proto([unsure, commutative]));
  assert.equal(r.protocols[0]!.requirements.find((q) => q.id === 'T-MUST-02')!.status, 'indeterminate');
  assert.equal(r.protocols[0]!.requirements.find((q) => q.id === 'T-MUST-01')!.status, 'pass');
  assert.equal(r.exitCode, 1);
});

test('same seed → identical verdicts and counterexamples; replay by seed/path reproduces the failure', async () => {
  const a = await run(proto([commutative, below50]), { seed: 7 });
  const b = await run(proto([commutative, below50]), { seed: 7 });
  const strip = (r: typeof a) => r.protocols.map((p) => p.scenarios.map((s) => ({ id: s.caseId, status: s.status, cx: s.counterexample })));
  assert.deepEqual(strip(a), strip(b));
  const cx = a.protocols[0]!.scenarios.find((s) => s.id === 'below-50')!.counterexample!;
  const replay = await run(proto([commutative, below50]), { replay: { caseId: 'toy/below-50', seed: cx.seed, path: cx.path } });
  const sc = replay.protocols[0]!.scenarios;
  assert.equal(sc.length, 1);
  assert.equal(sc[0]!.status, 'fail');
  assert.deepEqual(sc[0]!.counterexample!.actions, cx.actions);
  assert.equal(sc[0]!.runs, 1, 'replay runs only the counterexample');
});

test('--grep and --protocol select scenarios; scenario seeds do not depend on selection', async () => {
  const r = await run(proto([commutative, below50, even]), { grep: 'T-SHOULD' });
  assert.deepEqual(
    r.protocols[0]!.scenarios.map((s) => s.id),
    ['even'],
  );
  assert.deepEqual(
    r.protocols[0]!.requirements.map((q) => q.id),
    ['T-SHOULD-01'],
  );
  assert.equal(scenarioSeed(42, 'toy/even'), r.protocols[0]!.scenarios[0]!.seed);
  const none = await run(proto([commutative]), { protocols: ['other'] });
  assert.equal(none.exitCode, 2);
});

test('time budget: each scenario gets a fair share and is interrupted, never failed; an exhausted budget is indeterminate, never passed', async () => {
  const slow = (id: string) =>
    defineScenario({
      kind: 'property',
      id,
      title: id,
      requirements: ['T-MUST-01'],
      arbitrary: () => fc.nat(),
      async run(ctx) {
        await new Promise((r) => setTimeout(r, 20));
        ctx.check('T-MUST-01', true, 'ok');
      },
    });
  const r = await run(proto([slow('slow-a'), slow('slow-b')]), { timeBudgetMs: 300, runs: 1000 });
  for (const sc of r.protocols[0]!.scenarios) {
    assert.equal(sc.status, 'pass');
    assert.equal(sc.interrupted, true);
    assert.ok(sc.runs > 0 && sc.runs < 1000, `${sc.id}: ${sc.runs} runs`);
  }
  const none = await run(proto([slow('slow-a'), slow('slow-b')]), { timeBudgetMs: 1, runs: 1000 });
  for (const sc of none.protocols[0]!.scenarios) {
    assert.equal(sc.status, 'indeterminate', `${sc.id}: ${sc.reason}`);
    assert.match(sc.reason!, /time budget/);
  }
});

test('a check naming an undeclared requirement is a harness error', async () => {
  const bad = defineScenario({
    kind: 'property',
    id: 'bad',
    title: 'bad',
    requirements: ['T-MUST-01'],
    arbitrary: () => fc.nat(),
    async run(ctx) {
      ctx.check('T-MUST-02', true, 'wrong id');
    },
  });
  const r = await run(proto([bad]));
  assert.equal(r.protocols[0]!.scenarios[0]!.status, 'error');
});

test('defineProtocol rejects unknown requirement ids and duplicate scenarios', () => {
  assert.throws(() => defineProtocol({ id: 'x', title: 'x', requirements: catalog, scenarios: [{ ...commutative, requirements: ['NOPE-01'] }] }), /unknown requirement NOPE-01/);
  assert.throws(() => defineProtocol({ id: 'x', title: 'x', requirements: catalog, scenarios: [commutative, commutative] }), /duplicate scenario/);
  assert.throws(() => defineCatalog([catalog[0]!, catalog[0]!]), /duplicate requirement/);
});

test('model-based scenario: shrunk command sequence is reported and replays from seed/path/replayPath', async () => {
  interface M {
    total: number;
  }
  interface R {
    ctx: import('./context.ts').RunContext;
    total: number;
  }
  class Add implements fc.AsyncCommand<M, R> {
    constructor(readonly n: number) {}
    check = () => true;
    async run(m: M, r: R) {
      r.ctx.act(`agent deposits ${this.n}`);
      m.total += this.n;
      // The "real" system loses deposits once it holds more than 100.
      r.total += r.total > 100 ? 0 : this.n;
      r.ctx.check('T-MUST-01', r.total === m.total, 'real total equals the model', { expected: m.total, actual: r.total });
    }
    toString = () => `add(${this.n})`;
  }
  const model = defineScenario<M, R>({
    kind: 'model',
    id: 'deposits',
    title: 'deposits',
    requirements: ['T-MUST-01'],
    maxCommands: 20,
    commands: () => [fc.integer({ min: 1, max: 80 }).map((n) => new Add(n))],
    async setup(ctx) {
      return { model: { total: 0 }, real: { ctx, total: 0 } };
    },
  });
  const r = await run(proto([model]), { seed: 11, runs: 100 });
  const sc = r.protocols[0]!.scenarios[0]!;
  assert.equal(sc.status, 'fail');
  // Minimal: two deposits pushing the total past 100, then one that gets lost.
  assert.equal(sc.counterexample!.actions.length, 3, sc.counterexample!.actions.join(' | '));
  assert.ok(sc.counterexample!.replayPath, 'model runs carry a replayPath');
  const cx = sc.counterexample!;
  const again = await run(proto([model]), { replay: { caseId: 'toy/deposits', seed: cx.seed, path: cx.path, replayPath: cx.replayPath } });
  assert.deepEqual(again.protocols[0]!.scenarios[0]!.counterexample!.actions, cx.actions);
});

test('ctx.draw: set-up choices are reproducible from the seed and replay the counterexample exactly', async () => {
  interface M {
    total: number;
  }
  interface R {
    ctx: import('./context.ts').RunContext;
    total: number;
    limit: number;
  }
  class Add implements fc.AsyncCommand<M, R> {
    constructor(readonly n: number) {}
    check = () => true;
    async run(m: M, r: R) {
      r.ctx.act(`deposit ${this.n}`);
      m.total += this.n;
      // The "real" system loses deposits past a limit its set-up drew.
      r.total += r.total > r.limit ? 0 : this.n;
      r.ctx.check('T-MUST-01', r.total === m.total, 'real total equals the model', { expected: m.total, actual: r.total });
    }
    toString = () => `add(${this.n})`;
  }
  const drawn: number[] = [];
  const model = defineScenario<M, R>({
    kind: 'model',
    id: 'drawn-limit',
    title: 'drawn limit',
    requirements: ['T-MUST-01'],
    maxCommands: 20,
    commands: () => [fc.integer({ min: 1, max: 80 }).map((n) => new Add(n))],
    async setup(ctx) {
      const limit = ctx.draw(fc.integer({ min: 50, max: 500 }));
      drawn.push(limit);
      ctx.act(`limit ${limit}`);
      return { model: { total: 0 }, real: { ctx, total: 0, limit } };
    },
  });
  const first = await run(proto([model]), { seed: 5, runs: 50 });
  const runsOfFirst = drawn.splice(0);
  const second = await run(proto([model]), { seed: 5, runs: 50 });
  assert.deepEqual(drawn.splice(0), runsOfFirst, 'the same seed draws the same values');
  const cx = first.protocols[0]!.scenarios[0]!.counterexample!;
  // Runs draw their own values; the shrink attempts of the failing run keep its draws (not shrunk).
  assert.ok(new Set(runsOfFirst).size >= 2, `runs draw different values: ${runsOfFirst}`);
  assert.equal(cx.actions[0], `limit ${runsOfFirst.at(-1)}`);
  assert.deepEqual(second.protocols[0]!.scenarios[0]!.counterexample!.actions, cx.actions);
  assert.match(cx.actions[0]!, /^limit \d+$/);
  assert.doesNotMatch(cx.value, /^\[/, 'the counterexample shows the commands alone, not the draw seed');
  const again = await run(proto([model]), { replay: { caseId: 'toy/drawn-limit', seed: cx.seed, path: cx.path, replayPath: cx.replayPath } });
  assert.deepEqual(again.protocols[0]!.scenarios[0]!.counterexample!.actions, cx.actions, 'the replay draws the same limit');
});

test('bail: after the first scenario that does not pass, the rest are reported not run (indeterminate) and the run exits 1', async () => {
  const p = proto([commutative, below50, even]);
  const full = await run(p);
  const bailed = await run(p, { bail: true });
  const status = (r: typeof full) => Object.fromEntries(r.protocols[0]!.scenarios.map((s) => [s.id, s.status]));
  assert.deepEqual(status(full), { commutative: 'pass', 'below-50': 'fail', even: 'warn' });
  assert.deepEqual(status(bailed), { commutative: 'pass', 'below-50': 'fail', even: 'indeterminate' });
  const even2 = bailed.protocols[0]!.scenarios.find((s) => s.id === 'even')!;
  assert.equal(even2.runs, 0);
  assert.match(even2.reason!, /not run: --bail \(toy\/below-50 did not pass\)/);
  assert.equal(bailed.exitCode, 1);
  // Passing scenarios do not stop the run.
  assert.deepEqual(status(await run(proto([commutative, even, below50]), { bail: true })), { commutative: 'pass', even: 'warn', 'below-50': 'indeterminate' });
});

test('under mutation testing each scenario runs with its case id as Stryker’s current test (coverage per scenario)', async () => {
  const g = globalThis as { __stryker__?: { currentTestId?: string } };
  const seen: (string | undefined)[] = [];
  const probe = (id: string) => passing(id, () => seen.push(g.__stryker__?.currentTestId));
  g.__stryker__ = {};
  try {
    await run(proto([probe('one'), probe('two')]), { runs: 1 });
    assert.deepEqual(seen, ['toy/one', 'toy/two']);
    assert.equal(g.__stryker__.currentTestId, undefined, 'code running between scenarios counts as static');
  } finally {
    delete g.__stryker__;
  }
});

test('spec revisions: a run certifies one revision; other revisions’ requirements are left out and their checks not made; the report names the revision', async () => {
  const revCatalog = defineCatalog([
    { id: 'R-BOTH-01', level: 'MUST', title: 'in both', source: { document: 'test', section: '1' }, text: 'always', profileAssumption: false },
    { id: 'R-OLD-01', level: 'MUST', title: 'old rule', source: { document: 'test', section: '2' }, text: 'values < 50', profileAssumption: false, revisions: ['v1'] },
    { id: 'R-NEW-01', level: 'MUST', title: 'new rule', source: { document: 'test', section: '3' }, text: 'values even', profileAssumption: false, revisions: ['v2'] },
  ]);
  const mixed = defineScenario({
    kind: 'property',
    id: 'mixed',
    title: 'checks all three',
    requirements: ['R-BOTH-01', 'R-OLD-01', 'R-NEW-01'],
    arbitrary: () => fc.constant(51),
    async run(ctx, x) {
      ctx.check('R-BOTH-01', true, 'always');
      ctx.check('R-OLD-01', x < 50, 'below 50', { actual: x }); // fails: only a v1 certification makes this check
      ctx.check('R-NEW-01', x % 2 === 1, 'odd', { actual: x });
    },
  });
  const onlyNew = defineScenario({
    kind: 'property',
    id: 'only-new',
    title: 'v2 only',
    requirements: ['R-NEW-01'],
    arbitrary: () => fc.constant(1),
    async run(ctx) {
      ctx.check('R-NEW-01', true, 'ok');
    },
  });
  const p = defineProtocol({
    id: 'toy',
    title: 'toy',
    requirements: revCatalog,
    scenarios: [mixed, onlyNew],
    revisions: [
      { id: 'v1', title: 'first', source: 'doc v1' },
      { id: 'v2', title: 'second', source: 'doc v2', default: true },
    ],
  });
  const v2 = await run(p, { runs: 2 });
  assert.deepEqual(v2.protocols[0]!.revision, { id: 'v2', title: 'second', source: 'doc v2' });
  assert.deepEqual(
    v2.protocols[0]!.requirements.map((q) => [q.id, q.status]),
    [
      ['R-BOTH-01', 'pass'],
      ['R-NEW-01', 'pass'],
    ],
  );
  assert.equal(v2.exitCode, 0, 'the failing v1 check was not made');
  const v1 = await run(p, { runs: 2, spec: { toy: 'v1' } });
  assert.deepEqual(v1.protocols[0]!.revision?.id, 'v1');
  assert.deepEqual(
    v1.protocols[0]!.requirements.map((q) => [q.id, q.status]),
    [
      ['R-BOTH-01', 'pass'],
      ['R-OLD-01', 'fail'],
    ],
  );
  assert.deepEqual(
    v1.protocols[0]!.scenarios.map((s) => s.id),
    ['mixed'],
    'a scenario checking nothing of v1 is not run',
  );
  assert.equal(v1.exitCode, 1);
  await assert.rejects(run(p, { spec: { toy: 'v3' } }), /no spec revision 'v3' \(revisions: v1, v2\)/);
  assert.throws(() => defineProtocol({ id: 'toy', title: 'toy', requirements: revCatalog, scenarios: [mixed] }), /name spec revisions but the protocol declares none/);
  assert.throws(
    () =>
      defineProtocol({
        id: 'toy',
        title: 'toy',
        requirements: revCatalog,
        scenarios: [mixed],
        revisions: [
          { id: 'v1', title: 'a', source: 's' },
          { id: 'v2', title: 'b', source: 's' },
        ],
      }),
    /exactly one spec revision must be the default/,
  );
});

test('maxRuns caps a scenario below --runs (runsPlanned shows the cap); --runs below the cap wins; a bad cap is refused', async () => {
  let calls = 0;
  const capped = defineScenario({
    kind: 'property',
    id: 'capped',
    title: 'capped',
    requirements: ['T-MUST-01'],
    maxRuns: 3,
    arbitrary: () => fc.nat(),
    async run(ctx, x) {
      calls++;
      ctx.check('T-MUST-01', x + 1 === 1 + x, 'commutes');
    },
  });
  const r = await run(proto([capped]), { runs: 50 });
  const sc = r.protocols[0]!.scenarios[0]!;
  assert.deepEqual([sc.status, sc.runs, sc.runsPlanned, calls], ['pass', 3, 3, 3]);
  assert.match(sc.reason!, /3 of --runs 50: the scenario caps its runs at 3/, 'the report says why fewer ran');
  calls = 0;
  const fewer = await run(proto([capped]), { runs: 2 });
  assert.deepEqual([fewer.protocols[0]!.scenarios[0]!.runsPlanned, calls], [2, 2]);
  assert.throws(() => defineScenario({ ...capped, maxRuns: 0 }), /maxRuns must be a positive integer, got 0/);
});

test('shrink: false reports the first failing run as it failed: the property runs no more after it (a shrinking scenario runs it again)', async () => {
  let calls = 0;
  const failing = (shrink: boolean) =>
    defineScenario({
      kind: 'property',
      id: `big-fails-${shrink}`,
      title: 'big values fail',
      requirements: ['T-MUST-01'],
      shrink,
      arbitrary: () => fc.integer({ min: 1000, max: 1_000_000 }),
      async run(ctx, x) {
        calls++;
        ctx.check('T-MUST-01', x < 1000, `${x} < 1000`);
      },
    });
  const once = await run(proto([failing(false)]), { runs: 20, seed: 3 });
  const sc = once.protocols[0]!.scenarios[0]!;
  assert.deepEqual([sc.status, calls], ['fail', 1], 'one run, the failing one, not shrunk');
  calls = 0;
  await run(proto([failing(true)]), { runs: 20, seed: 3 });
  assert.ok(calls > 1, `with shrinking the property ran ${calls} times`);
});

test('a worker takes its target back to its starting state before each of its scenarios but the first; a failed reset is that scenario’s error', async () => {
  const events: string[] = [];
  const logged = (id: string) =>
    passing(id, () => {
      if (events.at(-1) !== `run ${id}`) events.push(`run ${id}`);
    });
  const p = proto([logged('a'), logged('b'), logged('c')]);
  let failNext = false;
  const reset = async () => {
    events.push('reset');
    if (failNext) throw new Error('evm_revert refused');
  };
  const input = { target, targetInfo: { name: 'in-memory', kind: 'file' as const, capabilities: [], chains: [] }, workers: [createTargetClients(target)], resets: [reset], protocols: [p] };
  const r = await runAll(input, { runs: 3, seed: 1, command: 'test' });
  assert.deepEqual(events, ['run a', 'reset', 'run b', 'reset', 'run c']);
  assert.deepEqual(
    r.protocols[0]!.scenarios.map((s) => s.status),
    ['pass', 'pass', 'pass'],
  );
  events.length = 0;
  failNext = true;
  const broken = await runAll(input, { runs: 3, seed: 1, command: 'test' });
  assert.deepEqual(events, ['run a', 'reset', 'reset']);
  const b = broken.protocols[0]!.scenarios.find((s) => s.id === 'b')!;
  assert.equal(b.status, 'error');
  assert.match(b.reason!, /could not take the target back to its starting state before this scenario: evm_revert refused/);
});

test('workers take the cases of several protocols in turns; one protocol keeps its order', () => {
  const item = (p: string, n: number) => ({ p: { id: p }, n });
  const items = [item('a', 1), item('a', 2), item('a', 3), item('b', 1), item('c', 1), item('c', 2)];
  assert.deepEqual(
    interleaveByProtocol(items).map((x) => `${x.p.id}${x.n}`),
    ['a1', 'b1', 'c1', 'a2', 'c2', 'a3'],
  );
  assert.deepEqual(interleaveByProtocol(items.slice(0, 3)), items.slice(0, 3));
  assert.deepEqual(interleaveByProtocol([]), []);
});

test('every run of a scenario that reorgs starts on an empty block of its own (anvil keeps that block’s state); other runs mine nothing', async () => {
  const chain = await startChain({ profile: 'base-sepolia', pruneHistory: LONG_RUN_STATES });
  try {
    const onChain = parseTarget({ name: 'anvil', chains: [{ id: 'base-sepolia', chainId: chain.chainId, rpcUrl: chain.rpcUrl }], accounts: [], capabilities: ['snapshot', 'reorg'] });
    const starts = new Map<string, { number: bigint; hash: string; miner: string }[]>();
    const probe = (id: string, capabilities: Capability[]) =>
      defineScenario({
        kind: 'property',
        id,
        title: id,
        requirements: ['T-MUST-01'],
        capabilities,
        arbitrary: () => fc.integer(),
        async run(ctx) {
          const b = await (await ctx.chain()).public.getBlock({ blockTag: 'latest' });
          starts.set(id, [...(starts.get(id) ?? []), { number: b.number, hash: b.hash, miner: b.miner }]);
          ctx.check('T-MUST-01', true, 'ok');
        },
      });
    const height = await rpcCall<Hex>(chain.rpcUrl, 'eth_blockNumber');
    const r = await runAll(
      {
        target: onChain,
        targetInfo: { name: 'anvil', kind: 'file', capabilities: [], chains: [] },
        workers: [createTargetClients(onChain)],
        protocols: [proto([probe('reorgs', ['reorg']), probe('plain', [])])],
      },
      { runs: 4, seed: 3, command: 'test' },
    );
    assert.deepEqual(
      r.protocols[0]!.scenarios.map((s) => s.status),
      ['pass', 'pass'],
    );
    const reorgs = starts.get('reorgs')!;
    assert.equal(reorgs.length, 4);
    assert.equal(new Set(reorgs.map((b) => b.hash)).size, 4, 'a block of its own each run');
    assert.ok(reorgs.every((b) => b.number === BigInt(height) + 1n));
    assert.equal(new Set(reorgs.map((b) => b.miner)).size, 4, 'each with a beneficiary of its own');
    const plain = starts.get('plain')!;
    assert.deepEqual(new Set(plain.map((b) => b.number)), new Set([BigInt(height)]), 'no block mined');
    assert.equal(await rpcCall<Hex>(chain.rpcUrl, 'eth_blockNumber'), height, 'every run reverted');
  } finally {
    await chain.stop();
  }
}, 60_000);

test('a queued transaction a run leaves (its nonce above its sender’s next one) is dropped with the run: a later run that fills the gap does not mine it', async () => {
  const chain = await startChain({ profile: 'base-sepolia' });
  try {
    const onChain = parseTarget({ name: 'anvil', chains: [{ id: 'base-sepolia', chainId: chain.chainId, rpcUrl: chain.rpcUrl }], accounts: [], capabilities: ['snapshot'] });
    const sender = roleAccount('buyer1');
    // The sync send returns once the transaction is mined (a plain send can be counted before automine mined it).
    const send = async (nonce: number, method = 'eth_sendRawTransaction') => rpcCall(chain.rpcUrl, method, [await signedTransfer(chain.chainId, 'buyer1', nonce)]);
    const leaves = defineScenario({
      kind: 'property',
      id: 'leaves-queued',
      title: 'leaves a queued transaction',
      requirements: ['T-MUST-01'],
      arbitrary: () => fc.constant(0),
      async run(ctx) {
        await ctx.chain();
        const next = Number(await rpcCall<Hex>(chain.rpcUrl, 'eth_getTransactionCount', [sender.address, 'latest']));
        await send(next + 1);
        ctx.check('T-MUST-01', true, 'ok');
      },
    });
    const r = await runAll(
      { target: onChain, targetInfo: { name: 'anvil', kind: 'file', capabilities: [], chains: [] }, workers: [createTargetClients(onChain)], protocols: [proto([leaves])] },
      { runs: 1, seed: 3, command: 'test' },
    );
    assert.equal(r.protocols[0]!.scenarios[0]!.status, 'pass');
    assert.deepEqual(await rpcCall(chain.rpcUrl, 'txpool_status'), { pending: '0x0', queued: '0x0' }, 'the run’s queued transaction is gone');
    // The gap filled afterwards: only the new transaction is mined.
    const count = async () => Number(await rpcCall<Hex>(chain.rpcUrl, 'eth_getTransactionCount', [sender.address, 'latest']));
    const before = await count();
    await send(before, 'eth_sendRawTransactionSync');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await count(), before + 1, 'one transaction mined, not the dropped one behind it');
  } finally {
    await chain.stop();
  }
}, 60_000);

test('a scenario during which anvil stranded a transaction says so in its report (nodeRepairs), the summary, summary.md and index.html; one that did not carries nothing', async () => {
  // The chain's own repair is on (as for every chain the harness starts).
  const chain = await startChain({ profile: 'base-sepolia' });
  try {
    const onChain = parseTarget({ name: 'anvil', chains: [{ id: 'base-sepolia', chainId: chain.chainId, rpcUrl: chain.rpcUrl }], accounts: [], capabilities: ['snapshot'] });
    const sender = roleAccount('buyer2');
    const count = async () => Number(await rpcCall<Hex>(chain.rpcUrl, 'eth_getTransactionCount', [sender.address, 'latest']));
    const strands = defineScenario({
      kind: 'property',
      id: 'strands',
      title: 'meets a stranded transaction',
      requirements: ['T-MUST-01'],
      arbitrary: () => fc.constant(0),
      async run(ctx) {
        await ctx.chain();
        // Stranded as anvil's race strands one (harness/chain/pool-repair.test.ts): queued at the sender's next nonce.
        const n = await count();
        await rpcCall(chain.rpcUrl, 'eth_sendRawTransaction', [await signedTransfer(chain.chainId, 'buyer2', n + 1)]);
        await rpcCall(chain.rpcUrl, 'anvil_setNonce', [sender.address, `0x${(n + 1).toString(16)}`]);
        const deadline = Date.now() + 10_000;
        while ((await count()) < n + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        ctx.check('T-MUST-01', (await count()) === n + 2, 'the repair sent it back and it was mined');
      },
    });
    const quiet = passing('quiet', () => {});
    const r = await runAll(
      {
        target: onChain,
        targetInfo: { name: 'anvil', kind: 'file', capabilities: [], chains: [] },
        workers: [createTargetClients(onChain)],
        poolRepairs: [() => chain.poolRepair!.records],
        protocols: [proto([strands, quiet])],
      },
      { runs: 1, seed: 3, command: 'test' },
    );
    const [a, b] = r.protocols[0]!.scenarios;
    assert.equal(a!.status, 'pass', a!.reason ?? '');
    assert.deepEqual(a!.nodeRepairs, { stalls: 1, resent: 1, lost: 0 });
    assert.equal(b!.nodeRepairs, undefined);
    const text = "anvil stranded a sender's transaction in its pool once (toy/strands); the harness sent 1 transaction back (harness/chain/pool-repair.ts)";
    assert.equal(nodeRepairsText(r), text);
    assert.ok(renderMarkdown(r).includes(`Node: ${text}.`));
    assert.ok(renderHtml(r).includes(`<div>Node: ${text.replace(/'/g, '&#39;')}</div>`));
    const lines: string[] = [];
    printSummary(r, [], { write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream);
    assert.match(lines.join(''), new RegExp(`^node: ${text.replace(/[().]/g, '\\$&')}$`, 'm'));
    // Without the records (a target file's chains are not the harness's): nothing said.
    assert.equal(nodeRepairsText({ ...r, protocols: [{ ...r.protocols[0]!, scenarios: [b!] }] }), undefined);
  } finally {
    await chain.stop();
  }
}, 60_000);

test('a run whose snapshot the node no longer has ends in a harness error that says the revert was refused, not in a height mismatch', async () => {
  const chain = await startChain({ profile: 'base-sepolia' });
  try {
    const onChain = parseTarget({ name: 'anvil', chains: [{ id: 'base-sepolia', chainId: chain.chainId, rpcUrl: chain.rpcUrl }], accounts: [], capabilities: ['snapshot'] });
    // A snapshot older than the run's: reverting to it deletes every later one, the run's included.
    const older = await rpcCall<Hex>(chain.rpcUrl, 'evm_snapshot');
    const loses = defineScenario({
      kind: 'property',
      id: 'loses-snapshot',
      title: 'its snapshot is taken away',
      requirements: ['T-MUST-01'],
      arbitrary: () => fc.constant(0),
      async run(ctx) {
        await ctx.chain();
        await rpcCall(chain.rpcUrl, 'anvil_mine', ['0x2']);
        assert.equal(await rpcCall(chain.rpcUrl, 'evm_revert', [older]), true);
        await rpcCall(chain.rpcUrl, 'anvil_mine', ['0x3']);
        ctx.check('T-MUST-01', true, 'ok');
      },
    });
    const r = await runAll(
      { target: onChain, targetInfo: { name: 'anvil', kind: 'file', capabilities: [], chains: [] }, workers: [createTargetClients(onChain)], protocols: [proto([loses])] },
      { runs: 1, seed: 3, command: 'test' },
    );
    const sc = r.protocols[0]!.scenarios[0]!;
    assert.equal(sc.status, 'error');
    assert.match(sc.reason ?? '', /the node refused to revert to the run's snapshot 0x[0-9a-f]+ \(evm_revert answered false\)/);
  } finally {
    await chain.stop();
  }
}, 60_000);
