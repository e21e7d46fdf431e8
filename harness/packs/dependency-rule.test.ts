/**
 * The dependency rule (DESIGN.md "Protocol packs"), enforced on every tracked source file, and shown
 * to bite: a forbidden import added to a copy of a real file is reported.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'vitest';
import { classify, forbidden, importsOf, violations } from './dependency-rule.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SOURCES = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.mjs'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f && !f.startsWith('node_modules/'));

test('no source file breaks the dependency rule', () => {
  assert.deepEqual(
    violations(ROOT, SOURCES).map((v) => `${v.from} -> ${v.to}: ${v.rule}`),
    [],
  );
});

test('the rule bites: a scenario importing a server, a protocol library importing an agent, the engine importing scenarios', () => {
  const scenario = 'scenarios/agentripe/scenarios.ts';
  const withServer = `${readFileSync(path.join(ROOT, scenario), 'utf8')}\nimport { startAgentripeServer } from '../../reference-impl/agentripe/server/server.ts';\n`;
  const v = violations(ROOT, [scenario], () => withServer).filter((x) => x.to.includes('/server/'));
  assert.equal(v.length, 1);
  assert.equal(v[0]!.to, 'reference-impl/agentripe/server/server.ts');
  assert.match(v[0]!.rule, /scenarios never import a server/);

  assert.match(forbidden('reference-impl/x402/protocol/wire.ts', 'reference-impl/x402/agents/payer.ts') ?? '', /imports no server and no agent/);
  assert.match(forbidden('reference-impl/agentripe/agents/vendor.ts', 'reference-impl/agentripe/server/db.ts') ?? '', /import no server/);
  assert.match(forbidden('harness/engine/runner.ts', 'scenarios/usdc/index.ts') ?? '', /engine imports neither/);
  assert.match(forbidden('harness/chain/anvil.ts', 'harness/engine/session.ts') ?? '', /imports nothing above it/);
  assert.match(forbidden('reference-impl/agentripe/server/server.ts', 'scenarios/agentripe/lab.ts') ?? '', /servers never import scenarios/);
  assert.match(forbidden('scenarios/agentripe/lab.ts', 'scenarios/x402/client.ts') ?? '', /another pack's scenarios/);
  // Allowed edges stay allowed.
  assert.equal(forbidden('scenarios/agentripe/lab.ts', 'reference-impl/x402/agents/payer.ts'), null);
  assert.equal(forbidden('scenarios/agentripe/lab.ts', 'reference-impl/agentripe/protocol/abi.ts'), null);
  assert.equal(forbidden('reference-impl/agentripe/server/server.ts', 'reference-impl/x402/server/paywall.ts'), null);
  assert.equal(forbidden('harness/chain/chain.test.ts', 'harness/scripts/gen-fixtures.ts'), null);
});

test('reference-impl/_shared is server code: scenarios, agents and protocol libraries never import it; it imports no pack', () => {
  assert.deepEqual(classify('reference-impl/_shared/http.ts'), { layer: 'server', pack: '_shared' });
  assert.match(forbidden('scenarios/agentripe/lab.ts', 'reference-impl/_shared/http.ts') ?? '', /scenarios never import a server/);
  assert.match(forbidden('reference-impl/agentripe/agents/vendor.ts', 'reference-impl/_shared/faults.ts') ?? '', /import no server/);
  assert.match(forbidden('reference-impl/x402/protocol/wire.ts', 'reference-impl/_shared/http.ts') ?? '', /imports no server/);
  assert.match(forbidden('reference-impl/_shared/http.ts', 'reference-impl/x402/protocol/wire.ts') ?? '', /protocol-neutral/);
  assert.equal(forbidden('reference-impl/agentripe/server/server.ts', 'reference-impl/_shared/http.ts'), null);
  assert.equal(forbidden('reference-impl/x402/server/facilitator.ts', 'reference-impl/_shared/http.ts'), null);
  assert.equal(forbidden('reference-impl/_shared/http.test.ts', 'reference-impl/_shared/http.ts'), null);
});

test('import parsing: static, re-export, side-effect and literal dynamic imports; comments ignored', () => {
  const src = [
    "import a from './a.ts';",
    "import { b, type C } from '../b.ts';",
    "export { d } from './d.ts';",
    "import './side.ts';",
    "const e = await import('./e.ts');",
    "// import x from './commented.ts';",
    '/* import y from "./block.ts"; */',
    "import z from 'zod';",
  ].join('\n');
  assert.deepEqual(importsOf(src), ['./a.ts', '../b.ts', './d.ts', './side.ts', './e.ts']);
  assert.deepEqual(classify('reference-impl/x402/agents/payer.ts'), { layer: 'agents', pack: 'x402' });
  assert.deepEqual(classify('reference-impl/agentripe/service.ts'), { layer: 'server', pack: 'agentripe' });
});
