/**
 * Mutation testing of a protocol pack's reference server (`npm run mutation -- --protocol ID`), the
 * pure half: which files are "the server", the Stryker options, the equivalent-mutant register and
 * the score. harness/scripts/mutation.ts runs Stryker with these; mutation.test.ts checks them
 * without running Stryker.
 *
 * The test of every mutant is a certification of that pack's reference implementation,
 * `amh run --protocol ID` on the mutated sandbox: exit 0 = the mutant survived, anything else
 * (1 = a MUST requirement failed, 2 = harness error such as a server that no longer starts) = killed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { diffLines } from 'diff';
import { z } from 'zod';
import { classify, importsOf } from '../../packs/dependency-rule.ts';
import type { MutantKey } from './stryker-plugins.ts';

export type { MutantKey };

/** Stryker's mutator names (StrykerJS 10). */
export const MUTATORS = [
  'ArithmeticOperator',
  'ArrayDeclaration',
  'ArrowFunction',
  'AssignmentOperator',
  'BlockStatement',
  'BooleanLiteral',
  'CallExpression',
  'ConditionalExpression',
  'EqualityOperator',
  'LogicalOperator',
  'MethodExpression',
  'ObjectLiteral',
  'OptionalChaining',
  'Regex',
  'StringLiteral',
  'UnaryOperator',
  'UpdateOperator',
] as const;

/** The ignorer plugins (stryker-plugins.ts) every run uses, with what they leave out. */
export const IGNORERS = {
  'amh-log-calls': 'calls to console.* and to a function or method named log: text for humans, no behaviour a requirement can see',
  'amh-fault-switches': 'test-only fault switches (`faults.*`, off in every reference service) and the code that runs only when one is on',
} as const;

/** Where a pack's equivalent-mutant register lives. */
export function equivalentsPath(id: string): string {
  return path.join('reference-impl', id, 'mutation-equivalents.json');
}

const rel = (f: string) => f.split(path.sep).join('/');

/**
 * The reference server of a pack: every file that `reference-impl/<id>/service.ts` (the service
 * `amh run` starts) imports, directly or not, inside `reference-impl/<id>/`, except the protocol
 * library (`protocol/`) and the scripted agents (`agents/`). Those two are shared with the
 * scenarios (the checking side): a mutant there changes the test as well as the server. Nor the
 * pack's `faults.ts` (the descriptions of its test-only fault switches). Tests, kill
 * variants, benchmarks, test kits and the stand-alone `serve.ts` are never imported by the service,
 * so they are out by construction. Other packs' servers that this one uses (Agentripe runs the x402
 * facilitator) are measured in their own pack's run.
 *
 * @returns repository-relative paths, sorted
 * @throws when the pack has no `service.ts` (a contracts-only pack has no server to mutate)
 */
export function serverSources(root: string, id: string): string[] {
  const pack = `reference-impl/${id}`;
  const entry = `${pack}/service.ts`;
  if (!existsSync(path.join(root, entry))) {
    throw new Error(`${entry} does not exist: pack '${id}' has no reference service to mutate (pass --mutate GLOB to choose files)`);
  }
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of importsOf(readFileSync(path.join(root, file), 'utf8'))) {
      const to = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      if (!to.startsWith(`${pack}/`) || !to.endsWith('.ts') || to.endsWith('.test.ts')) continue;
      const layer = classify(to).layer;
      if (layer === 'protocol' || layer === 'agents') continue;
      // A pack's fault-switch declarations (`defineFaults({ name: 'what it breaks' })`): descriptions of test-only defects.
      if (path.posix.basename(to) === 'faults.ts') continue;
      if (existsSync(path.join(root, to))) queue.push(to);
    }
  }
  return [...seen].sort();
}

/** Options of {@link strykerOptions}. */
export interface MutationOptions {
  protocol: string;
  /** Files or globs to mutate (Stryker syntax, `file.ts:10-20` ranges allowed). */
  mutate: string[];
  runs: number;
  seed: number;
  concurrency: number;
  /** Report directory, repository-relative or absolute. */
  out: string;
  /** Absolute path of stryker-plugins.ts. */
  pluginFile: string;
  incremental?: boolean;
  dryRunOnly?: boolean;
  /** Progress display for a terminal (`progress`) or a log (`progress-append-only`). */
  tty?: boolean;
  /** Limit of the initial certification (default 10 min; see {@link dryRunMinutes}). */
  dryRunTimeoutMinutes?: number;
}

/**
 * The dry run's limit: 10 minutes on a quiet machine, more in proportion to the load per core (a
 * full certification at load 15-28 on 2 cores hit a fixed 10-minute limit), at most 60.
 */
export function dryRunMinutes(loadPerCore: number): number {
  return Math.min(60, Math.ceil(10 * Math.max(1, loadPerCore)));
}

/** The test command run once per mutant (inside the sandbox; `$AMH_MUTATION_OUT` is set per run by the test runner). */
export function testCommand(protocol: string, runs: number, seed: number): string {
  return `node harness/cli/amh.mjs run --protocol ${protocol} --runs ${runs} --seed ${seed} --quiet --workers 1 --out "$AMH_MUTATION_OUT"`;
}

/**
 * Stryker options for one pack. Notes on the choices:
 * - `testRunner: 'amh-command'` (stryker-plugins.ts) is Stryker's command runner (exit 0 = survived,
 *   any other exit = killed, a fresh process per mutant) plus coverage: the dry run records which
 *   mutants the certification executes at all, so the others are reported `NoCoverage` instead of
 *   costing a full run each to survive.
 * - `timeoutFactor`/`timeoutMS`: a run takes 5-25 s on a shared 2-core machine (load 4-12); a mutant
 *   is a timeout past 2 x the dry run + 45 s (a hang: a server that never listens, a stop() that never
 *   resolves), and its process group is killed (anvil included). A timeout counts as detected, so the
 *   margin is wide: at load 12-14 single runs took up to about 25 s. (All 21 x402 timeouts measured
 *   with + 20 s came back as timeouts with + 45 s and --runs 50: real hangs.)
 * - `tsconfigFile` names no file: Stryker would rewrite tsconfig.json's `extends`/`references` with
 *   the `typescript` package's JS API, which TypeScript 7 no longer has, and ours has neither.
 * - `ignorePatterns`: the sandbox copy leaves out build output and reports (amh run needs the
 *   sources, fixtures/ and contracts/src placements, not forge artifacts).
 */
export function strykerOptions(o: MutationOptions): Record<string, unknown> {
  return {
    $schema: '../../../node_modules/@stryker-mutator/core/schema/stryker-schema.json',
    testRunner: 'amh-command',
    plugins: [o.pluginFile],
    commandRunner: { command: testCommand(o.protocol, o.runs, o.seed) },
    coverageAnalysis: 'perTest',
    checkers: [],
    mutate: o.mutate,
    ignorers: Object.keys(IGNORERS),
    ignorePatterns: ['/reports', '/contracts/out', '/contracts/cache', '/.amh', '*.log', '/.stryker-tmp'],
    tsconfigFile: 'tsconfig.stryker-does-not-rewrite.json',
    disableTypeChecks: true,
    concurrency: o.concurrency,
    timeoutMS: 45_000,
    timeoutFactor: 2,
    dryRunTimeoutMinutes: o.dryRunTimeoutMinutes ?? 10,
    maxTestRunnerReuse: 0,
    reporters: ['json', 'html', o.tty ? 'progress' : 'progress-append-only'],
    jsonReporter: { fileName: path.join(o.out, 'mutation.json') },
    htmlReporter: { fileName: path.join(o.out, 'mutation.html') },
    incremental: Boolean(o.incremental),
    incrementalFile: path.join(o.out, 'stryker-incremental.json'),
    dryRunOnly: Boolean(o.dryRunOnly),
    tempDirName: '.stryker-tmp',
    cleanTempDir: true,
    logLevel: 'info',
    fileLogLevel: 'off',
    warnings: { slow: false },
  };
}

/**
 * What a certification depends on besides the mutated files: if any of it changed, a previous
 * run's results are not reusable (Stryker's incremental mode only diffs the mutated files, and a
 * command runner has no test files to diff). Hash of file names and contents.
 */
export function testSideFingerprint(root: string, protocol: string, runs: number, seed: number, mutated: string[]): string {
  const h = createHash('sha256').update(JSON.stringify({ protocol, runs, seed }));
  const skip = new Set(mutated.map((f) => path.resolve(root, f)));
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir).sort()) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (!skip.has(p) && /\.(ts|mjs|json)$/.test(name) && !name.endsWith('.test.ts')) h.update(rel(path.relative(root, p))).update(readFileSync(p));
    }
  };
  for (const d of ['harness', 'scenarios', 'reference-impl', 'fixtures', path.join('contracts', 'src')]) walk(path.join(root, d));
  h.update(readFileSync(path.join(root, 'package-lock.json')));
  return h.digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Equivalent mutants

/** A register field written as /regular expression/flags is a pattern, anything else literal code. */
const PATTERN = /^\/(.*)\/([a-z]*)$/s;
/** Code compared with whitespace runs as one space. */
const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/** A text pattern: exact (whitespace collapsed) or, written `/…/flags`, a regular expression. */
const Pattern = z
  .string()
  .min(1)
  .refine(
    (s) => {
      const m = PATTERN.exec(s);
      if (!m) return true;
      try {
        new RegExp(m[1]!, m[2]);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'is not a valid /regular expression/' },
  );

export const EquivalentSchema = z.strictObject({
  /** Repository-relative path of the mutated file. */
  file: z.string().regex(/^reference-impl\/[^/]+\/.+\.ts$/, 'must be a repository-relative path under reference-impl/<id>/'),
  /** 1-based line where the mutant starts; omit to match any line (pin it with `original`). */
  line: z.number().int().positive().optional(),
  mutator: z.enum(MUTATORS),
  /** The mutant's replacement text (Stryker's `replacement`). */
  replacement: Pattern,
  /** The original code the mutant replaces (optional, narrows the match). */
  original: Pattern.optional(),
  /** Why no certification can tell this mutant from the original (or why it must not). */
  reason: z.string().trim().min(15, 'must say why the mutant is equivalent (at least 15 characters)'),
});
export type Equivalent = z.infer<typeof EquivalentSchema>;

export const EquivalentsFileSchema = z.strictObject({
  $comment: z.string().optional(),
  equivalents: z.array(EquivalentSchema),
});

/** Reads and validates a pack's register; a missing file is an empty register. Throws naming each bad field. */
export function loadEquivalents(file: string): Equivalent[] {
  if (!existsSync(file)) return [];
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not JSON (${(e as Error).message})`);
  }
  return parseEquivalents(json, file);
}

/**
 * The entries pinned to a line whose `original` code does not start on that line of the file now
 * (whitespace compared loosely; a /pattern/ original is not checked). Such an entry matches no
 * mutant: the code moved without `mutation-repin`, and its mutants would count as survivors.
 */
export function misplacedEquivalents(entries: readonly Equivalent[], read: (file: string) => string): Equivalent[] {
  const files = new Map<string, string[]>();
  return entries.filter((e) => {
    if (e.line === undefined || e.original === undefined || PATTERN.test(e.original)) return false;
    let lines = files.get(e.file);
    if (!lines) {
      lines = read(e.file).split('\n');
      files.set(e.file, lines);
    }
    const first = squash(lines[e.line - 1] ?? '');
    const span = squash(lines.slice(e.line - 1, e.line + 200).join('\n'));
    const at = span.indexOf(squash(e.original));
    // The first occurrence decides: any later one starts past this line.
    return at < 0 || at >= first.length;
  });
}

/** Validates a register's JSON; throws one line per bad field. */
export function parseEquivalents(json: unknown, label = 'mutation-equivalents.json'): Equivalent[] {
  const r = EquivalentsFileSchema.safeParse(json);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${label} is invalid:\n${lines.join('\n')}`);
  }
  return r.data.equivalents;
}

function matches(pattern: string, text: string): boolean {
  const m = PATTERN.exec(pattern);
  if (m) return new RegExp(m[1]!, m[2]).test(text);
  return squash(pattern) === squash(text);
}

/** One mutant, as the summary sees it. */
export interface MutantRow {
  id: string;
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  mutator: string;
  original: string;
  replacement: string;
  status: string;
  statusReason?: string;
}

/** Whether a register entry describes this mutant. */
export function equivalentMatches(e: Equivalent, m: MutantRow): boolean {
  return (
    e.file === m.file &&
    (e.line === undefined || e.line === m.line) &&
    e.mutator === m.mutator &&
    matches(e.replacement, m.replacement) &&
    (e.original === undefined || matches(e.original, m.original))
  );
}

// ---------------------------------------------------------------------------------------------
// Reading Stryker's JSON report and scoring

/** The parts of Stryker's mutation-testing-report JSON that are read here. */
interface StrykerReport {
  files: Record<
    string,
    {
      source: string;
      mutants: {
        id: string;
        mutatorName: string;
        replacement?: string;
        status: string;
        statusReason?: string;
        location: { start: { line: number; column: number }; end: { line: number; column: number } };
      }[];
    }
  >;
}

function originalText(source: string, loc: { start: { line: number; column: number }; end: { line: number; column: number } }): string {
  const lines = source.split('\n');
  const from = lines.slice(0, loc.start.line - 1).reduce((n, l) => n + l.length + 1, 0) + loc.start.column - 1;
  const to = lines.slice(0, loc.end.line - 1).reduce((n, l) => n + l.length + 1, 0) + loc.end.column - 1;
  return source.slice(from, to);
}

/** Every mutant of a Stryker JSON report, with its original text, paths relative to `root`. */
export function mutantRows(report: StrykerReport, root: string): MutantRow[] {
  const rows: MutantRow[] = [];
  for (const [file, f] of Object.entries(report.files)) {
    const relFile = rel(path.isAbsolute(file) ? path.relative(root, file) : file);
    for (const m of f.mutants) {
      rows.push({
        id: m.id,
        file: relFile,
        line: m.location.start.line,
        column: m.location.start.column,
        endLine: m.location.end.line,
        endColumn: m.location.end.column,
        mutator: m.mutatorName,
        original: originalText(f.source, m.location),
        replacement: m.replacement ?? '',
        status: m.status,
        ...(m.statusReason ? { statusReason: m.statusReason } : {}),
      });
    }
  }
  return rows.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.mutator.localeCompare(b.mutator));
}

/** The score over non-equivalent mutants, and the lists behind it. */
export interface MutationSummary {
  total: number;
  killed: number;
  /** Killed by exit 2 (a harness error: typically a server that no longer starts), part of `killed`. */
  killedByHarnessError: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  errors: number;
  ignored: number;
  equivalent: number;
  /** killed + timeout over (total − ignored − errors − equivalent); null when nothing is left to score. */
  score: number | null;
  /** Stryker's own score (no equivalents register): killed + timeout over total − ignored − errors. */
  strykerScore: number | null;
  survivors: MutantRow[];
  equivalents: (MutantRow & { reason: string })[];
  /** Register entries that match no mutant (stale: the code moved or changed). */
  stale: Equivalent[];
  /** Register entries that match a mutant the certification kills: not equivalent after all. */
  contradicted: { entry: Equivalent; mutant: MutantRow }[];
  harnessErrorKills: MutantRow[];
}

/** Applies the register to the mutants and computes the score. */
export function summarize(rows: MutantRow[], register: Equivalent[]): MutationSummary {
  const count = (s: string) => rows.filter((r) => r.status === s).length;
  const used = new Set<Equivalent>();
  const contradicted: MutationSummary['contradicted'] = [];
  const survivors: MutantRow[] = [];
  const equivalents: MutationSummary['equivalents'] = [];
  for (const r of rows) {
    const entry = register.find((e) => equivalentMatches(e, r));
    if (entry) used.add(entry);
    const undetected = r.status === 'Survived' || r.status === 'NoCoverage';
    if (entry && undetected) equivalents.push({ ...r, reason: entry.reason });
    else if (entry && (r.status === 'Killed' || r.status === 'Timeout')) contradicted.push({ entry, mutant: r });
    if (!entry && undetected) survivors.push(r);
  }
  const killed = count('Killed');
  const timeout = count('Timeout');
  const ignored = count('Ignored');
  const errors = count('RuntimeError') + count('CompileError');
  const total = rows.length;
  const valid = total - ignored - errors;
  const harnessErrorKills = rows.filter((r) => r.status === 'Killed' && /^exit 2\b/.test(r.statusReason ?? ''));
  return {
    total,
    killed,
    killedByHarnessError: harnessErrorKills.length,
    timeout,
    survived: count('Survived') - equivalents.filter((e) => e.status === 'Survived').length,
    noCoverage: count('NoCoverage') - equivalents.filter((e) => e.status === 'NoCoverage').length,
    errors,
    ignored,
    equivalent: equivalents.length,
    score: valid - equivalents.length > 0 ? (killed + timeout) / (valid - equivalents.length) : null,
    strykerScore: valid > 0 ? (killed + timeout) / valid : null,
    survivors,
    equivalents,
    stale: register.filter((e) => !used.has(e)),
    contradicted,
    harnessErrorKills,
  };
}

/**
 * Stryker `mutate` patterns that select exactly the code of these mutants (`file:line:col-line:col`;
 * Stryker reads those columns 0-based, the report's are 1-based). Mutants nested inside a selected
 * one are selected too.
 */
export function mutateRanges(mutants: Pick<MutantRow, 'file' | 'line' | 'column' | 'endLine' | 'endColumn'>[]): string[] {
  return [...new Set(mutants.map((m) => `${m.file}:${m.line}:${m.column - 1}-${m.endLine}:${m.endColumn - 1}`))];
}

type Span = Pick<MutantRow, 'line' | 'column' | 'endLine' | 'endColumn'>;

/**
 * Where mutants of `before` (a file's code when they were made) are in `after` (the file now): a
 * mutant whose lines all stand unchanged in `after` moves with them (lines shift, columns stay);
 * one on an edited or deleted line has no place (undefined), since it would mutate other code.
 */
export function remapSpans<T extends Span>(before: string, after: string, mutants: readonly T[]): (T | undefined)[] {
  // Line n of `before` (1-based) → its line in `after`, for the lines the edit left as they were.
  const moved = new Map<number, number>();
  let a = 1;
  let b = 1;
  for (const part of diffLines(before, after)) {
    const n = part.count ?? 0;
    if (part.added) b += n;
    else if (part.removed) a += n;
    else for (let i = 0; i < n; i++) moved.set(a++, b++);
  }
  return mutants.map((m) => {
    const start = moved.get(m.line);
    if (start === undefined) return undefined;
    for (let l = m.line; l <= m.endLine; l++) if (moved.get(l) !== start + (l - m.line)) return undefined;
    return { ...m, line: start, endLine: start + (m.endLine - m.line) };
  });
}

/** `file:line  mutator  original → replacement`, one line, long code shortened. */
export function survivorLine(m: MutantRow, width = 90): string {
  const cut = (s: string) => {
    const t = squash(s);
    return t.length > width ? `${t.slice(0, width - 1)}…` : t;
  };
  return `${m.file}:${m.line}  ${m.mutator}  ${cut(m.original)} → ${cut(m.replacement)}`;
}

// ---------------------------------------------------------------------------------------------
// Samples: a seeded random subset of a server's mutants, when a full run would take hours

/** `n` of `all`, drawn without replacement by a seeded shuffle (the same seed draws the same sample), in source order. */
export function sampleMutants(all: readonly MutantKey[], n: number, seed: number): MutantKey[] {
  // mulberry32: small, seeded, good enough to draw a uniform sample.
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pool = [...all];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, Math.min(n, pool.length)).sort((x, y) => x.file.localeCompare(y.file) || x.line - y.line || x.column - y.column || x.mutator.localeCompare(y.mutator));
}

/** Whether a report row (1-based line and column) is this key. */
export function isRow(k: MutantKey, r: Pick<MutantRow, 'file' | 'line' | 'column' | 'endLine' | 'endColumn' | 'mutator' | 'replacement'>): boolean {
  return (
    r.file === k.file &&
    r.line - 1 === k.line &&
    r.column - 1 === k.column &&
    r.endLine - 1 === k.endLine &&
    r.endColumn - 1 === k.endColumn &&
    r.mutator === k.mutator &&
    r.replacement === k.replacement
  );
}

/**
 * The mutants of a report to run again: those with a wanted status and, for a sample's report, only
 * its drawn ones (the report also lists mutants nested in them, which never ran: Stryker marks the
 * uncovered ones NoCoverage without asking the runner).
 */
export function recheckRows(rows: readonly MutantRow[], wanted: ReadonlySet<string>, drawn?: readonly MutantKey[]): MutantRow[] {
  return rows.filter((m) => wanted.has(m.status) && (!drawn || drawn.some((k) => isRow(k, m))));
}

/** The key of a report row (1-based line and column): {@link isRow}'s inverse. */
export function rowKey(r: Pick<MutantRow, 'file' | 'line' | 'column' | 'endLine' | 'endColumn' | 'mutator' | 'replacement'>): MutantKey {
  return { file: r.file, line: r.line - 1, column: r.column - 1, endLine: r.endLine - 1, endColumn: r.endColumn - 1, mutator: r.mutator, replacement: r.replacement };
}

/** Stryker `mutate` ranges for these mutants: {@link mutateRanges} of their 1-based report coordinates. */
export function keyRanges(keys: readonly MutantKey[]): string[] {
  return mutateRanges(keys.map((k) => ({ file: k.file, line: k.line + 1, column: k.column + 1, endLine: k.endLine + 1, endColumn: k.endColumn + 1 })));
}

/** 95% Wilson score interval of a proportion k/n (a sample's score says this much about the whole server). */
export function wilson(k: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.959964;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = p + (z * z) / (2 * n);
  const w = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [Math.max(0, (c - w) / d), Math.min(1, (c + w) / d)];
}

// ---------------------------------------------------------------------------------------------
// Re-pinning a register after its files changed

/** What {@link repinEquivalents} did to one entry that was pinned to a line. */
export type RepinOutcome = { entry: Equivalent; from: number; to: number } | { entry: Equivalent; from: number; lost: string };

/**
 * The register's entries moved with their lines from `before` to `after` (file → text; a file
 * absent from either map did not change). An entry whose line stands unchanged moves with it; one
 * whose line was edited is placed by its `original` text when exactly one line of the new file
 * holds it (near the old place first), else it stays where it was and is reported lost, for a
 * person to place or drop. Only entries `pinnedToBefore` accepts move (the script: those the
 * register at the base revision holds on the same line); the others are already pinned to `after`.
 */
export function repinEquivalents(
  entries: readonly Equivalent[],
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
  pinnedToBefore: (e: Equivalent) => boolean = () => true,
): { entries: Equivalent[]; moved: RepinOutcome[] } {
  const moved: RepinOutcome[] = [];
  const out = entries.map((e) => {
    const b = before.get(e.file);
    const a = after.get(e.file);
    if (e.line === undefined || b === undefined || a === undefined || a === b || !pinnedToBefore(e)) return e;
    const [span] = remapSpans(b, a, [{ line: e.line, column: 1, endLine: e.line, endColumn: 1 }]);
    if (span) {
      if (span.line !== e.line) moved.push({ entry: e, from: e.line, to: span.line });
      return { ...e, line: span.line };
    }
    const original = e.original && !PATTERN.test(e.original) ? squash(e.original).split(' ').slice(0, 8).join(' ') : undefined;
    const holders = original ? a.split('\n').flatMap((text, i) => (squash(text).includes(original) ? [i + 1] : [])) : [];
    if (holders.length === 1) {
      moved.push({ entry: e, from: e.line, to: holders[0]! });
      return { ...e, line: holders[0]! };
    }
    moved.push({
      entry: e,
      from: e.line,
      lost: holders.length ? `its original is on ${holders.length} lines (${holders.slice(0, 5).join(', ')})` : 'its line was edited and its original is not found',
    });
    return e;
  });
  return { entries: out, moved };
}
