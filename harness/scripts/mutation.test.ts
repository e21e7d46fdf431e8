/**
 * `npm run mutation` without running Stryker: which files are "the server" of the x402 and
 * Agentripe packs, the generated options, the equivalents register (format, matching, stale and
 * contradicted entries, score), the kill reasons and the two ignorers (through Stryker's own
 * instrumenter, as a run uses them).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { Instrumenter } from '@stryker-mutator/instrumenter';
import type { Ignorer } from '@stryker-mutator/api/ignore';
import type { Logger } from '@stryker-mutator/api/logging';
import { describe, test } from 'vitest';
import {
  type MutantRow,
  equivalentMatches,
  isRow,
  keyRanges,
  recheckRows,
  rowKey,
  sampleMutants,
  wilson,
  equivalentsPath,
  loadEquivalents,
  misplacedEquivalents,
  parseEquivalents,
  remapSpans,
  repinEquivalents,
  dryRunMinutes,
  serverSources,
  strykerOptions,
  summarize,
  survivorLine,
} from './mutation/config.ts';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { OUTSIDE, grepFor, isMutant, killReason, readCoverage, scenariosToRun, strykerPlugins } from './mutation/stryker-plugins.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('the server of a pack', () => {
  test('x402: the facilitator, the paywall, the demo resource, the service definition and its restartable child', () => {
    assert.deepEqual(serverSources(ROOT, 'x402'), [
      'reference-impl/x402/restartable.ts',
      'reference-impl/x402/server/demo.ts',
      'reference-impl/x402/server/facilitator.ts',
      'reference-impl/x402/server/paywall.ts',
      'reference-impl/x402/service.ts',
    ]);
  });

  test('agentripe: the server files service.ts reaches; no agents, protocol library, tests, test kits, kills or serve entry', () => {
    const files = serverSources(ROOT, 'agentripe');
    for (const f of ['reference-impl/agentripe/service.ts', 'reference-impl/agentripe/server/server.ts', 'reference-impl/agentripe/server/stack.ts', 'reference-impl/agentripe/server/db.ts']) {
      assert.ok(files.includes(f), `${f} is part of the server`);
    }
    for (const f of files) {
      assert.match(f, /^reference-impl\/agentripe\/.+\.ts$/, 'only the pack itself (the x402 facilitator it uses is measured with x402)');
      assert.doesNotMatch(f, /\/(agents|protocol)\//);
      assert.doesNotMatch(f, /\.test\.ts$|testkit|\/kills\.ts$|\/serve\.ts$|bench|\/faults\.ts$/);
      assert.ok(existsSync(path.join(ROOT, f)));
    }
  });

  test('a pack without a reference service has nothing to mutate', () => {
    assert.throws(() => serverSources(ROOT, 'usdc'), /reference-impl\/usdc\/service\.ts does not exist.*--mutate/);
  });

  test('the Stryker options: certification as the test, coverage, ignorers, reports under --out', () => {
    const o = strykerOptions({ protocol: 'x402', mutate: ['a.ts'], runs: 7, seed: 3, concurrency: 2, out: 'reports/mutation/x402', pluginFile: '/p.ts' });
    assert.equal(o.testRunner, 'amh-command');
    assert.deepEqual(o.plugins, ['/p.ts']);
    assert.deepEqual(o.mutate, ['a.ts']);
    assert.equal((o.commandRunner as { command: string }).command, 'node harness/cli/amh.mjs run --protocol x402 --runs 7 --seed 3 --quiet --workers 1 --out "$AMH_MUTATION_OUT"');
    assert.equal(o.coverageAnalysis, 'perTest');
    assert.deepEqual(o.ignorers, ['amh-log-calls', 'amh-fault-switches']);
    assert.deepEqual(o.jsonReporter, { fileName: path.join('reports/mutation/x402', 'mutation.json') });
    assert.deepEqual(o.htmlReporter, { fileName: path.join('reports/mutation/x402', 'mutation.html') });
  });
});

const row = (over: Partial<MutantRow>): MutantRow => ({
  id: '1',
  file: 'reference-impl/x402/server/demo.ts',
  line: 83,
  column: 16,
  endLine: 83,
  endColumn: 37,
  mutator: 'LogicalOperator',
  original: "o.host ?? '127.0.0.1'",
  replacement: "o.host && '127.0.0.1'",
  status: 'Survived',
  ...over,
});

describe('--survivors on changed code: remapSpans', () => {
  const before = `${['a', 'b', 'c', 'd', 'e'].join('\n')}\n`;
  const span = (line: number, endLine = line) => ({ line, column: 3, endLine, endColumn: 9 });

  test('a mutant moves with its unchanged lines; columns stay', () => {
    const after = `${['x', 'y', 'a', 'b', 'c', 'd', 'e'].join('\n')}\n`;
    assert.deepEqual(remapSpans(before, after, [span(1), span(2, 4), span(5)]), [span(3), span(4, 6), span(7)]);
    const fewer = `${['a', 'd', 'e'].join('\n')}\n`;
    assert.deepEqual(remapSpans(before, fewer, [span(1), span(4, 5)]), [span(1), span(2, 3)]);
  });

  test('a mutant on an edited or deleted line, or spanning a change, has no place', () => {
    const edited = `${['a', 'B', 'c', 'd', 'e'].join('\n')}\n`;
    assert.deepEqual(remapSpans(before, edited, [span(2), span(1, 3), span(3), span(1)]), [undefined, undefined, span(3), span(1)]);
    const inserted = `${['a', 'b', 'new', 'c', 'd', 'e'].join('\n')}\n`;
    assert.deepEqual(remapSpans(before, inserted, [span(2, 3), span(3, 4)]), [undefined, span(4, 5)], 'a line added inside a span changes what it covers');
    assert.deepEqual(remapSpans(before, before, [span(2, 4)]), [span(2, 4)]);
  });
});

test('the dry run may take 10 minutes on a quiet machine, more in proportion to the load per core, at most 60', () => {
  assert.deepEqual([0, 0.5, 1, 2.05, 7.5].map(dryRunMinutes), [10, 10, 10, 21, 60]);
  const o = strykerOptions({ protocol: 'x402', mutate: ['a.ts'], runs: 1, seed: 1, concurrency: 1, out: 'o', pluginFile: '/p.ts', dryRunTimeoutMinutes: 25 });
  assert.equal(o.dryRunTimeoutMinutes, 25);
});

describe('re-pinning a register after its files changed: repinEquivalents', () => {
  const file = 'reference-impl/x402/server/demo.ts';
  const entry = (line: number, original?: string) => ({ file, line, mutator: 'StringLiteral' as const, replacement: '""', ...(original ? { original } : {}), reason: 'config: a reason long enough' });
  const before = new Map([[file, 'a\nconst price = "$0.01";\nc\n']]);

  test('an entry moves with its unchanged line; an edited line is found by its original, else reported lost', () => {
    const shifted = new Map([[file, 'x\ny\na\nconst price = "$0.01";\nc\n']]);
    assert.deepEqual(
      repinEquivalents([entry(2), entry(1)], before, shifted).entries.map((e) => e.line),
      [4, 3],
    );
    const edited = new Map([[file, 'x\na\nconst price =  "$0.01"; // now commented\nc\n']]);
    const r = repinEquivalents([entry(2, 'const price = "$0.01"'), entry(2)], before, edited);
    assert.deepEqual(
      r.entries.map((e) => e.line),
      [3, 2],
    );
    assert.ok('lost' in r.moved[1]!, 'without an original, an edited line cannot be placed');
    assert.deepEqual(repinEquivalents([entry(2)], before, before).moved, [], 'an unchanged file moves nothing');
  });

  test('only entries pinned to the base move: one added since, or moved by an earlier run, stays', () => {
    const shifted = new Map([[file, 'x\ny\na\nconst price = "$0.01";\nc\n']]);
    const once = repinEquivalents([entry(2), entry(4)], before, shifted, (e) => e.line === 2);
    assert.deepEqual(
      once.entries.map((e) => e.line),
      [4, 4],
    );
    assert.deepEqual(once.moved.length, 1);
  });
});

describe('the equivalents register', () => {
  const entry = {
    file: 'reference-impl/x402/server/demo.ts',
    line: 83,
    mutator: 'LogicalOperator',
    replacement: "o.host && '127.0.0.1'",
    reason: 'service.ts always passes host, and it is 127.0.0.1 in every run',
  };

  test('a valid file parses; every pack register in the repository is valid', () => {
    assert.equal(parseEquivalents({ $comment: 'x', equivalents: [entry, { ...entry, line: undefined, replacement: '/^o\\.host &&/' }] }).length, 2);
    const packs = readdirSync(path.join(ROOT, 'reference-impl')).filter((id) => existsSync(path.join(ROOT, equivalentsPath(id))));
    for (const id of ['x402', 'agentripe', 'aisp']) assert.ok(packs.includes(id), `${id} has a register`);
    for (const id of packs) loadEquivalents(path.join(ROOT, equivalentsPath(id)));
  });

  test("every pinned entry's original code starts on its line (a moved entry matches nothing); one off by a line is found", () => {
    const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');
    const packs = readdirSync(path.join(ROOT, 'reference-impl')).filter((id) => existsSync(path.join(ROOT, equivalentsPath(id))));
    for (const id of packs) {
      const entries = loadEquivalents(path.join(ROOT, equivalentsPath(id)));
      assert.deepEqual(
        misplacedEquivalents(entries, read).map((e) => `${e.file}:${e.line} ${e.mutator} ${e.original!.slice(0, 60)}`),
        [],
        `${id}: entries off their line (npx tsx harness/scripts/mutation-repin.ts --base <the last commit they matched>)`,
      );
    }
    const file = 'reference-impl/x402/server/demo.ts';
    const lines = read(file).split('\n');
    const n = lines.findIndex((l) => l.trim().length > 20) + 1;
    const [pinned] = parseEquivalents({ equivalents: [{ ...entry, file, line: n, original: lines[n - 1]!.trim() }] });
    assert.deepEqual(misplacedEquivalents([pinned!], read), []);
    assert.equal(misplacedEquivalents([{ ...pinned!, line: n + 1 }], read).length, 1);
  });

  test('an invalid entry is refused, naming each bad field', () => {
    const bad = {
      equivalents: [
        { ...entry, reason: 'same' },
        { ...entry, mutator: 'NoSuchMutator' },
        { ...entry, replacement: '/(unclosed/' },
        { ...entry, file: '/abs/demo.ts' },
        { ...entry, line: 0 },
        { ...entry, colour: 'red' },
        { file: entry.file, mutator: entry.mutator, replacement: 'x' },
      ],
    };
    let message = '';
    try {
      parseEquivalents(bad, 'mutation-equivalents.json');
    } catch (e) {
      message = (e as Error).message;
    }
    assert.match(message, /mutation-equivalents\.json is invalid/);
    for (const field of ['equivalents.0.reason', 'equivalents.1.mutator', 'equivalents.2.replacement', 'equivalents.3.file', 'equivalents.4.line', 'equivalents.5', 'equivalents.6.reason']) {
      assert.ok(message.includes(`- ${field}:`), `${field} named in:\n${message}`);
    }
    assert.throws(() => parseEquivalents({ equivalent: [] }), /\(root\)|equivalents/);
  });

  test('matching: file, line (or any line), mutator, replacement exact modulo whitespace or /regex/, optional original', () => {
    const e = parseEquivalents({ equivalents: [entry] })[0]!;
    assert.ok(equivalentMatches(e, row({})));
    assert.ok(equivalentMatches(e, row({ replacement: "o.host  &&\n '127.0.0.1'" })));
    assert.ok(!equivalentMatches(e, row({ line: 84 })));
    assert.ok(!equivalentMatches(e, row({ mutator: 'StringLiteral' })));
    assert.ok(!equivalentMatches(e, row({ file: 'reference-impl/x402/server/paywall.ts' })));
    const anyLine = parseEquivalents({ equivalents: [{ ...entry, line: undefined, replacement: '/&& .127/', original: "o.host ?? '127.0.0.1'" }] })[0]!;
    assert.ok(equivalentMatches(anyLine, row({ line: 999 })));
    assert.ok(!equivalentMatches(anyLine, row({ original: 'o.port ?? 0' })));
  });

  test('score over non-equivalent mutants; stale and contradicted entries reported; harness-error kills counted', () => {
    const rows = [
      row({ id: '1' }), // equivalent (register)
      row({ id: '2', line: 10, status: 'Survived' }),
      row({ id: '3', line: 11, status: 'NoCoverage' }),
      row({ id: '4', line: 12, status: 'Killed', statusReason: 'exit 1: X402-PAY-01 fail' }),
      row({ id: '5', line: 13, status: 'Killed', statusReason: 'exit 2 (harness error): amh: harness error: boom' }),
      row({ id: '6', line: 14, status: 'Timeout' }),
      row({ id: '7', line: 15, status: 'Ignored' }),
      row({ id: '8', line: 16, status: 'Killed', statusReason: 'exit 1: X402-CH-01 fail' }),
    ];
    const register = parseEquivalents({
      equivalents: [entry, { ...entry, line: 500, reason: 'code that moved away since this was written' }, { ...entry, line: 16, reason: 'believed equivalent, but the run kills it' }],
    });
    const s = summarize(rows, register);
    assert.deepEqual(
      { total: s.total, killed: s.killed, harness: s.killedByHarnessError, timeout: s.timeout, survived: s.survived, noCoverage: s.noCoverage, ignored: s.ignored, equivalent: s.equivalent },
      { total: 8, killed: 3, harness: 1, timeout: 1, survived: 1, noCoverage: 1, ignored: 1, equivalent: 1 },
    );
    // (3 killed + 1 timeout) / (8 − 1 ignored − 1 equivalent)
    assert.equal(s.score, 4 / 6);
    assert.equal(s.strykerScore, 4 / 7);
    assert.deepEqual(
      s.survivors.map((m) => m.id),
      ['2', '3'],
    );
    assert.deepEqual(
      s.stale.map((e) => e.line),
      [500],
    );
    assert.deepEqual(
      s.contradicted.map((c) => c.mutant.id),
      ['8'],
    );
    assert.equal(survivorLine(row({})), "reference-impl/x402/server/demo.ts:83  LogicalOperator  o.host ?? '127.0.0.1' → o.host && '127.0.0.1'");
  });
});

test('kill reasons: failed requirements for exit 1, the harness error for exit 2, the signal for a kill', () => {
  const base = { signal: null, output: 'noise\namh: harness error: Error: listen EADDRINUSE\n    at x (y.ts:1:1)\n', failed: [], errors: [] };
  assert.equal(killReason({ ...base, code: 1, failed: ['X402-PAY-01 fail', 'X402-CH-01 indeterminate'] }), 'exit 1: X402-PAY-01 fail, X402-CH-01 indeterminate');
  assert.equal(killReason({ ...base, code: 2 }), 'exit 2 (harness error): amh: harness error: Error: listen EADDRINUSE');
  assert.equal(killReason({ ...base, code: 2, errors: ['no check executed\nmore'] }), 'exit 2 (harness error): no check executed');
  assert.equal(killReason({ ...base, code: null, signal: 'SIGKILL' }), 'signal SIGKILL');
  assert.equal(killReason({ ...base, code: 0, warned: ['X402-SET-01 warn'] }), 'exit 0, SHOULD violated: X402-SET-01 warn');
});

describe('ignorers, through Stryker’s instrumenter', () => {
  const logger = new Proxy({}, { get: (_t, k) => (String(k).startsWith('is') ? () => false : () => undefined) }) as Logger;
  const ignorers = Object.fromEntries(strykerPlugins.filter((p) => p.kind === 'Ignore').map((p) => [p.name, (p as unknown as { value: Ignorer }).value]));

  async function mutants(code: string) {
    const r = await new Instrumenter(logger).instrument([{ name: 'x.ts', content: code, mutate: true }], {
      ignorers: [ignorers['amh-log-calls']!, ignorers['amh-fault-switches']!],
      excludedMutations: [],
      plugins: null,
    });
    const lines = code.split('\n');
    return r.mutants.map((m) => ({
      line: lines[m.location.start.line]!.trim(),
      mutator: m.mutatorName,
      replacement: m.replacement,
      ignored: m.status === 'Ignored' ? m.statusReason : undefined,
    }));
  }

  test('log calls are ignored; the rest of the statement is not', async () => {
    const code = [
      'export function f(log: (s: string) => void, n: number, p: Promise<void>) {',
      '  log("n is " + n);',
      "  console.error('x');",
      '  p.catch((e) => log("failed: " + e));',
      "  return n > 1 ? 'big' : 'small';",
      '}',
    ].join('\n');
    const ms = await mutants(code);
    const logs = ms.filter((m) => /^(log\(|console\.)/.test(m.line));
    assert.deepEqual([...new Set(logs.map((m) => m.mutator))].sort(), ['CallExpression', 'StringLiteral']);
    assert.ok(logs.every((m) => m.ignored?.startsWith('log call')));
    // Dropping the .catch is behaviour (an unhandled rejection); its log-only handler is not.
    const caught = ms.filter((m) => m.line.startsWith('p.catch'));
    assert.deepEqual(
      caught.map((m) => [m.mutator, Boolean(m.ignored)]),
      [
        ['CallExpression', false],
        ['ArrowFunction', true],
        ['StringLiteral', true],
      ],
    );
    assert.ok(ms.filter((m) => m.line.startsWith('return')).every((m) => m.ignored === undefined));
  });

  test('fault switches and fault-only code are ignored; the checks they guard are still mutated', async () => {
    const code = [
      'export function verify(faults: { skipCheck?: boolean; lie?: boolean }, ok: boolean, n: bigint) {',
      '  if (!faults.skipCheck && !ok) return "invalid";',
      '  if (faults.lie) return "lie";',
      '  const extra = faults.lie ? 1n : 0n;',
      '  if (!ok) {',
      '    if (!faults.skipCheck) {',
      '      return "no";',
      '    }',
      '    n = n + 1n;',
      '  }',
      '  return n - extra;',
      '}',
    ].join('\n');
    const ms = await mutants(code);
    const on = (prefix: string) => ms.filter((m) => m.line.startsWith(prefix));
    // The check itself: removing it (test → false, block → {}) is still a mutant.
    const check = on('if (!faults.skipCheck && !ok)');
    assert.ok(check.some((m) => m.mutator === 'ConditionalExpression' && m.replacement === 'false' && !m.ignored));
    // The switch alone (`!faults.skipCheck` → true/false, `!` dropped) is not behaviour.
    assert.ok(check.some((m) => m.ignored?.startsWith('fault switch')));
    // Code reached only with a switch on.
    assert.ok(on('if (faults.lie) return "lie"').every((m) => m.ignored));
    assert.ok(on('const extra').every((m) => m.ignored));
    // …including statements after `if (!faults.x) { return … }`, whose block is itself still mutated.
    assert.ok(on('n = n + 1n').length > 0 && on('n = n + 1n').every((m) => m.ignored?.startsWith('runs only when')));
    assert.ok(ms.some((m) => m.line === 'if (!faults.skipCheck) {' && m.mutator === 'BlockStatement' && !m.ignored));
    assert.ok(on('return n - extra').every((m) => !m.ignored));
  });

  test('a branch whose test needs a switch on, and a local function used only there, are ignored', async () => {
    const code = [
      'export function route(faults: { race?: boolean; skip?: boolean }, seen: string, now: string, r: string | null) {',
      "  const open = (s: string) => s === 'pending' || s === 'processing';",
      "  const shut = (s: string) => s === 'done';",
      "  if (faults.race && open(seen) && !open(now)) throw new Error('race');",
      '  if (faults.skip && r === null) {',
      "    return 'skipped';",
      '  }',
      '  const kept = !faults.skip || r !== null;',
      "  return shut(now) ? 'shut' : 'live';",
      '  function late(s: string) {',
      "    return s + '!';",
      '  }',
      '}',
      'export function after(faults: { late?: boolean }, s: string) {',
      '  function lateOnly(x: string) {',
      "    return x + '?';",
      '  }',
      '  return faults.late ? lateOnly(s) : s;',
      '}',
    ].join('\n');
    const ms = await mutants(code);
    const on = (prefix: string) => ms.filter((m) => m.line.startsWith(prefix));
    // `open` is called only after `faults.race &&`: its body runs only with the switch on.
    assert.ok(on('const open').length > 0 && on('const open').every((m) => m.ignored?.startsWith('runs only when')));
    // `shut` is called unconditionally: mutated.
    assert.ok(on('const shut').length > 0 && on('const shut').every((m) => !m.ignored));
    // The parts of a test after a switch (`open(seen)`, `r === null`) and the block it guards.
    const race = on('if (faults.race');
    assert.ok(
      race.some((m) => m.mutator === 'ConditionalExpression' && m.replacement === 'false' && !m.ignored),
      'the whole test is still mutated',
    );
    assert.ok(race.filter((m) => m.mutator === 'BooleanLiteral' || m.mutator === 'EqualityOperator').every((m) => m.ignored));
    assert.ok(on("return 'skipped'").every((m) => m.ignored?.startsWith('runs only when')));
    assert.ok(on('if (faults.skip && r === null)').some((m) => m.mutator === 'EqualityOperator' && m.ignored?.startsWith('runs only when')));
    // `!faults.skip || r !== null`: the right side is evaluated only with the switch on.
    assert.ok(on('const kept').some((m) => m.mutator === 'EqualityOperator' && m.ignored?.startsWith('runs only when')));
    assert.ok(on('return shut(now)').every((m) => !m.ignored));
    // A function declaration used only in a switch's branch; one never used is kept (nothing to judge it by).
    assert.ok(on("return x + '?'").length > 0 && on("return x + '?'").every((m) => m.ignored?.startsWith('runs only when')));
    assert.ok(on("return s + '!'").length > 0 && on("return s + '!'").every((m) => !m.ignored));
  });
});

test('a mutant runs only its scenarios: --grep selects exactly those case ids, whatever characters they hold', () => {
  const re = new RegExp(grepFor(['x402/pay-exact', 'x402/a.b+(c)']), 'i');
  assert.ok(re.test('x402/pay-exact') && re.test('x402/a.b+(c)'));
  for (const other of ['x402/pay-exact-2', 'x402/pay', 'agentripe/x402/pay-exact', 'x402/aXb+(c)', 'x402/a.bb(c)']) assert.ok(!re.test(other), other);
});

test('coverage of a dry run: static and per-scenario counters of every process, merged', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cov-'));
  try {
    assert.equal(readCoverage(dir), undefined, 'no file: no coverage, every mutant is run');
    writeFileSync(path.join(dir, '1.json'), JSON.stringify({ static: { 1: 2 }, perTest: { 'p/a': { 3: 1 } } }));
    writeFileSync(path.join(dir, '2.json'), JSON.stringify({ static: { 1: 1, 4: 1 }, perTest: { 'p/a': { 3: 2, 5: 1 }, 'p/b': { 6: 1 } } }));
    assert.deepEqual(readCoverage(dir), { static: { 1: 3, 4: 1 }, perTest: { 'p/a': { 3: 3, 5: 1 }, 'p/b': { 6: 1 } } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("coverage of a process killed with SIGKILL: each mutant's first hit is on disk at once (the crash scenarios' servers)", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cov-'));
  // What Stryker's instrumented code does on a hit (its cover(): `cov.perTest[id] || {}`, then a count per mutant id).
  const cover = `const ns = globalThis.__stryker__ || (globalThis.__stryker__ = {});
    const cov = ns.mutantCoverage || (ns.mutantCoverage = { static: {}, perTest: {} });
    const hit = (...ids) => { let c = cov.static; if (ns.currentTestId) c = cov.perTest[ns.currentTestId] = cov.perTest[ns.currentTestId] || {}; for (const id of ids) c[id] = (c[id] || 0) + 1; };`;
  const hook = pathToFileURL(path.join(import.meta.dirname, 'mutation', 'coverage-hook.mjs')).href;
  const run = (body: string) => spawnSync(process.execPath, ['--import', hook, '-e', `${cover}\n${body}`], { env: { ...process.env, AMH_MUTATION_COVERAGE_DIR: dir } });
  try {
    const killed = run("hit('7', '8'); hit('7'); ns.currentTestId = 'p/a'; hit('9'); process.kill(process.pid, 'SIGKILL');");
    assert.equal(killed.signal, 'SIGKILL');
    assert.deepEqual(readCoverage(dir), { static: { 7: 1, 8: 1 }, perTest: { 'p/a': { 9: 1 } } });
    // It died inside scenario p/a; the next process here stands for another dry run's harness (each
    // dry run has a directory of its own, where no scenario is running yet).
    rmSync(path.join(dir, 'current-test'));
    const exited = run("hit('7'); ns.currentTestId = 'p/b'; hit('10', '10');");
    assert.equal(exited.status, 0, String(exited.stderr));
    // The exit writes the counts too: both records merge (a mutant covered is all the runner asks).
    const c = readCoverage(dir)!;
    assert.deepEqual(Object.keys(c.static).sort(), ['7', '8']);
    assert.deepEqual(c.perTest, { 'p/a': { 9: 1 }, 'p/b': { 10: 3 } });
    // A child process (a restartable server) never sets a test of its own: its hits belong to the
    // scenario the harness's process is running, which it shares through the coverage directory.
    assert.equal(run("ns.currentTestId = 'p/c';").status, 0);
    const child = run("hit('11'); process.kill(process.pid, 'SIGKILL');");
    assert.equal(child.signal, 'SIGKILL');
    assert.deepEqual(readCoverage(dir)!.perTest['p/c'], { 11: 1 });
    assert.equal(run('ns.currentTestId = undefined;').status, 0);
    assert.equal(run("hit('12');").status, 0);
    assert.equal(readCoverage(dir)!.static[12], 2, "between scenarios a child's hit is start-up code (.hits and .json)");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('which scenarios a mutant runs: those that reached it; all when start-up or preflight did', () => {
  const all = ['p/a', 'p/b', 'p/c'];
  assert.deepEqual(scenariosToRun(['p/b'], all), ['p/b']);
  assert.deepEqual(scenariosToRun(['p/b', 'p/c'], all), ['p/b', 'p/c']);
  assert.equal(scenariosToRun([OUTSIDE, 'p/b'], all), undefined, 'start-up code a scenario runs again (a restart) still shapes every scenario');
  assert.equal(scenariosToRun([OUTSIDE], all), undefined);
  assert.equal(scenariosToRun(undefined, all), undefined);
  assert.equal(scenariosToRun([...all, OUTSIDE], all), undefined, 'every scenario: no --grep');
});

test('samples: seeded, without replacement, in source order; the interval brackets the sample’s score', () => {
  const all = Array.from({ length: 50 }, (_x, i) => ({ file: `f${i % 3}.ts`, line: i, column: 0, endLine: i, endColumn: 5, mutator: 'BooleanLiteral', replacement: 'true' }));
  const a = sampleMutants(all, 10, 7);
  assert.equal(a.length, 10);
  assert.equal(new Set(a.map((k) => `${k.file}:${k.line}`)).size, 10, 'no mutant twice');
  assert.deepEqual(sampleMutants(all, 10, 7), a, 'same seed, same sample');
  assert.notDeepEqual(sampleMutants(all, 10, 8), a);
  assert.equal(sampleMutants(all, 99, 1).length, 50);
  const [lo, hi] = wilson(90, 100);
  assert.ok(lo < 0.9 && 0.9 < hi && lo > 0.8 && hi < 0.95, `${lo} ${hi}`);
  assert.deepEqual(wilson(0, 0), [0, 1]);
  // A report row (1-based) and a run's mutant (absolute sandbox path, 0-based) are the same key.
  const k = a[0]!;
  assert.ok(isRow(k, { file: k.file, line: k.line + 1, column: 1, endLine: k.line + 1, endColumn: 6, mutator: 'BooleanLiteral', replacement: 'true' }));
  assert.ok(
    isMutant(k, { fileName: `/tmp/sandbox-1/${k.file}`, location: { start: { line: k.line, column: 0 }, end: { line: k.line, column: 5 } }, mutatorName: 'BooleanLiteral', replacement: 'true' }),
  );
  assert.ok(
    !isMutant(k, { fileName: `/tmp/sandbox-1/x${k.file}`, location: { start: { line: k.line, column: 0 }, end: { line: k.line, column: 5 } }, mutatorName: 'BooleanLiteral', replacement: 'true' }),
  );
  assert.deepEqual(keyRanges([k]), [`${k.file}:${k.line + 1}:0-${k.line + 1}:5`]);
});

test('a recheck of a sample takes only its drawn survivors, not the mutants nested in them that never ran', () => {
  const row = (line: number, status: string): MutantRow => ({
    id: String(line),
    file: 'f.ts',
    line,
    column: 1,
    endLine: line + 2,
    endColumn: 2,
    mutator: 'BlockStatement',
    original: '{}',
    replacement: '{}',
    status,
  });
  const rows = [row(1, 'Survived'), row(2, 'NoCoverage'), row(3, 'Killed'), row(4, 'NoCoverage')];
  const drawn = [rowKey(rows[0]!), rowKey(rows[1]!), rowKey(rows[2]!)];
  assert.ok(
    drawn.every((k, i) => isRow(k, rows[i]!)),
    'rowKey is isRow’s inverse',
  );
  const survivors = new Set(['Survived', 'NoCoverage']);
  assert.deepEqual(
    recheckRows(rows, survivors, drawn).map((r) => r.line),
    [1, 2],
    'row 4 was made inside a drawn mutant’s span, never run',
  );
  assert.deepEqual(
    recheckRows(rows, survivors).map((r) => r.line),
    [1, 2, 4],
    'a full run’s report: every survivor',
  );
  assert.deepEqual(
    recheckRows(rows, new Set(['Killed']), drawn).map((r) => r.line),
    [3],
  );
});
