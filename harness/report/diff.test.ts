/**
 * `amh diff` logic on real runner reports (in-memory scenarios, real fast-check runs): a defect fixed
 * between A and B shows exactly that requirement changing verdict, with A's counterexample; an added
 * and a removed requirement are listed but do not change the exit code; identical runs diff clean;
 * Markdown and HTML carry the same facts, HTML is self-contained and escaped.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { test } from 'vitest';
import { defineCatalog } from '../engine/catalog.ts';
import { defineProtocol, defineScenario } from '../engine/dsl.ts';
import { runAll } from '../engine/runner.ts';
import { createTargetClients } from '../engine/session.ts';
import { parseTarget } from '../target/schema.ts';
import { diffExitCode, diffReports, renderDiffHtml, renderDiffMarkdown, renderDiffText } from './diff.ts';

const target = parseTarget({ name: 'in-memory', chains: [{ id: 'none', chainId: 1, rpcUrl: 'http://127.0.0.1:9' }], accounts: [], capabilities: [] });
const req = (id: string, title: string) => ({ id, level: 'MUST' as const, title, source: { document: 'test', section: id }, text: title, profileAssumption: false });

/** A toy protocol whose "limit" is a constant, like a what-if profile would change it. */
function toy(limit: number, extra = false) {
  const reqs = [req('T-LIM-01', 'values stay below the limit'), req('T-SUM-01', 'sum commutes'), ...(extra ? [req('T-NEW-01', 'a new rule <b>')] : [req('T-OLD-01', 'an old rule')])];
  return defineProtocol({
    id: 'toy',
    title: 'toy',
    requirements: defineCatalog(reqs),
    scenarios: [
      defineScenario({
        kind: 'property',
        id: 'limit',
        title: 'limit',
        requirements: ['T-LIM-01'],
        arbitrary: () => fc.array(fc.nat({ max: 100 }), { minLength: 1 }),
        async run(ctx, xs) {
          for (const x of xs) {
            ctx.act(`agent submits ${x}`);
            ctx.check('T-LIM-01', x < limit, `value ${x} < ${limit}`, { expected: `< ${limit}`, actual: x });
          }
        },
      }),
      defineScenario({
        kind: 'property',
        id: 'sum',
        title: 'sum',
        requirements: ['T-SUM-01', extra ? 'T-NEW-01' : 'T-OLD-01'],
        arbitrary: () => fc.tuple(fc.nat(), fc.nat()),
        async run(ctx, [a, b]) {
          ctx.check('T-SUM-01', a + b === b + a, 'commutes');
          ctx.check(extra ? 'T-NEW-01' : 'T-OLD-01', true, 'ok');
        },
      }),
    ],
  });
}

const run = (limit: number, extra = false) =>
  runAll(
    { target, targetInfo: { name: 'in-memory', kind: 'file', capabilities: [], chains: [] }, workers: [createTargetClients(target)], protocols: [toy(limit, extra)] },
    { runs: 30, seed: 3, command: 'test' },
  );

test('a changed constant: exactly the requirement that depends on it changes verdict, with the counterexample; exit 1', async () => {
  const a = await run(50);
  const b = await run(101, true);
  const d = diffReports(a, b, { a: 'a/report.json', b: 'b/report.json' });
  assert.deepEqual(
    d.changed.map((r) => `${r.id}: ${r.a?.status} → ${r.b?.status}`),
    ['T-LIM-01: fail → pass'],
  );
  assert.deepEqual(d.changed[0]!.a!.counterexample!.actions, ['agent submits 50']);
  assert.deepEqual(
    d.added.map((r) => r.id),
    ['T-NEW-01'],
  );
  assert.deepEqual(
    d.removed.map((r) => r.id),
    ['T-OLD-01'],
  );
  assert.equal(d.unchanged, 1);
  assert.equal(diffExitCode(d), 1);
  assert.ok(d.metrics.some((m) => m.name === 'exit code' && m.a === 1 && m.b === 0));
  const text = renderDiffText(d);
  assert.match(text, /^amh diff: 1 requirement changed verdict/);
  assert.match(
    text,
    /toy\/T-LIM-01 \[MUST\] values stay below the limit: fail → pass\n\s+A: T-LIM-01: value 50 < 50 — expected < 50, got 50\n\s+A counterexample \(toy\/limit\):\n\s+1\. agent submits 50/,
  );
  const md = renderDiffMarkdown(d);
  assert.match(md, /## amh diff: ❌ 1 requirement changed verdict/);
  assert.match(md, /\| `toy\/T-LIM-01` values stay below the limit \| MUST \| fail \| pass \| T-LIM-01: value 50 < 50/);
  assert.match(md, /### Added \(only in B\)\n\n.*\n.*\n\| `toy\/T-NEW-01` a new rule <b> \| MUST \| — \| pass/);
  const html = renderDiffHtml(d);
  assert.ok(!/(src|href)=/.test(html), 'no external resources');
  assert.match(html, /a new rule &lt;b&gt;/);
  assert.match(html, /<td class="s-fail">fail<\/td><td class="s-pass">pass<\/td>/);
});

test('identical runs (same seed): no change, exit 0; the reverse diff changes pass → fail', async () => {
  const a = await run(50);
  const b = await run(50);
  const d = diffReports(a, b);
  assert.deepEqual([d.changed, d.added, d.removed, d.counterexampleChanged], [[], [], [], []]);
  assert.equal(diffExitCode(d), 0);
  assert.match(renderDiffMarkdown(d), /## amh diff: ✅ no requirement changed verdict/);
  const back = diffReports(await run(101), a);
  assert.deepEqual(
    back.changed.map((r) => `${r.id}: ${r.a?.status} → ${r.b?.status}`),
    ['T-LIM-01: pass → fail'],
  );
  // A different limit that still fails: same verdict, different counterexample.
  const c = diffReports(a, await run(30));
  assert.equal(diffExitCode(c), 0);
  assert.deepEqual(
    c.counterexampleChanged.map((r) => [r.id, r.b?.counterexample?.actions]),
    [['T-LIM-01', ['agent submits 30']]],
  );
});
