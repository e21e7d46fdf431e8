/**
 * StrykerJS plugins for `npm run mutation` (loaded by Stryker from this path; the test-runner
 * worker loads it with Node's own type stripping, so this file uses erasable TypeScript only and
 * imports nothing of the harness).
 *
 * - Test runner `amh-command`: Stryker's command runner (a fresh `sh -c COMMAND` per mutant; exit
 *   0 = survived, any other exit = killed; the mutant is chosen by `__STRYKER_ACTIVE_MUTANT__`), with
 *   two additions. (1) Coverage: the dry run loads coverage-hook.mjs into every Node process of the
 *   command (NODE_OPTIONS), which writes the instrumented code's hit counters at exit, so mutants the
 *   certification never executes are reported `NoCoverage` without a run of their own. With one
 *   active mutant at a time and a fixed seed, a mutant whose code never ran in the dry run cannot
 *   change that run. (2) Evidence: each run writes its report to a fresh `$AMH_MUTATION_OUT`, and the
 *   kill reason names the failed requirements (`exit 1: X402-…`) or the harness error (`exit 2: …`).
 *   A run past Stryker's timeout has its whole process group killed (the command's anvil nodes too).
 * - Ignorers `amh-log-calls` and `amh-fault-switches` (see config.ts IGNORERS).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { commonTokens, declareClassPlugin, declareValuePlugin, PluginKind, tokens } from '@stryker-mutator/api/plugin';
import type { StrykerOptions } from '@stryker-mutator/api/core';
import { DryRunStatus, MutantRunStatus, TestStatus } from '@stryker-mutator/api/test-runner';
import type { DryRunResult, MutantRunOptions, MutantRunResult, TestRunner, TestRunnerCapabilities } from '@stryker-mutator/api/test-runner';

/** Where run directories go: a directory the mutation script removes at the end (a killed run cannot clean up after itself). */
const tmpBase = () => process.env.AMH_MUTATION_TMP ?? os.tmpdir();

/** One mutant as the instrumenter places it: 0-based lines and columns (Stryker's own `Location`). */
export interface MutantKey {
  /** Repository-relative path. */
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  mutator: string;
  replacement: string;
}

/** Whether a mutant of a Stryker run (absolute sandbox path, 0-based location) is this key. */
export function isMutant(
  k: MutantKey,
  m: { fileName: string; location: { start: { line: number; column: number }; end: { line: number; column: number } }; mutatorName: string; replacement?: string },
): boolean {
  return (
    m.fileName.split(path.sep).join('/').endsWith(`/${k.file}`) &&
    m.location.start.line === k.line &&
    m.location.start.column === k.column &&
    m.location.end.line === k.endLine &&
    m.location.end.column === k.endColumn &&
    m.mutatorName === k.mutator &&
    (m.replacement ?? '') === k.replacement
  );
}

/** Why a mutant outside a `--sample` was not run. */
export const SKIPPED = 'not selected for this run (npm run mutation -- --sample, --survivors, --timeouts)';

/** The test the runner reports when a run names no scenario (an older report, a failed dry run): the whole certification. */
export const TEST_ID = 'amh-run';
/**
 * The pseudo-test holding what runs outside every scenario: start-up (services, chains) and the
 * first-contact preflight. Every run does both, whatever scenarios it selects.
 */
export const OUTSIDE = '(outside scenarios)';
const HOOK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'coverage-hook.mjs');
const KEEP_OUTPUT = 16 * 1024;

interface Finished {
  code: number | null;
  signal: string | null;
  output: string;
  ms: number;
  /** Requirement ids that failed and harness errors, from the run's report.json. */
  failed: string[];
  errors: string[];
  /** SHOULD requirements that warned (a violated SHOULD: exit 0, but the certification saw it). */
  warned: string[];
  /** Every scenario of the run, as Stryker's tests: case id, status and time. */
  scenarios: { caseId: string; status: string; durationMs: number; reason?: string }[];
}

/** Why a run failed, in one line: `exit 1: X402-PAY-01, X402-PAY-02` or `exit 2: <first error>`. */
export function killReason(f: Pick<Finished, 'code' | 'signal' | 'output' | 'failed' | 'errors'> & { warned?: string[] }): string {
  if (f.code === null) return `signal ${f.signal ?? '?'}`;
  if (f.code === 0 && f.warned?.length) return `exit 0, SHOULD violated: ${f.warned.join(', ')}`;
  const lines = f.output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  // amh prints `amh: harness error: <message>` (then the stack) when it cannot run at all.
  const said = lines.find((l) => l.startsWith('amh: ')) ?? lines.find((l) => /error/i.test(l)) ?? lines.at(-1) ?? '';
  if (f.code === 1) return `exit 1: ${f.failed.length ? f.failed.join(', ') : said}`;
  if (f.code === 2) return `exit 2 (harness error): ${(f.errors[0] ?? said).split('\n')[0]!.slice(0, 300)}`;
  return `exit ${f.code}: ${said.slice(0, 300)}`;
}

function readVerdicts(dir: string): Pick<Finished, 'failed' | 'errors' | 'warned' | 'scenarios'> {
  try {
    const r = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as {
      errors?: { message?: string }[];
      protocols?: { requirements?: { id: string; status: string; level: string; reason?: string }[]; scenarios?: { caseId: string; status: string; durationMs: number; reason?: string }[] }[];
    };
    // With --bail, the requirements of scenarios that never started are indeterminate: not a finding.
    const reqs = (r.protocols ?? []).flatMap((p) => p.requirements ?? []).filter((q) => !(q.status === 'indeterminate' && q.reason?.includes('not run: --bail')));
    return {
      failed: reqs.filter((q) => q.status === 'fail' || (q.level === 'MUST' && q.status === 'indeterminate') || q.status === 'error').map((q) => `${q.id} ${q.status}`),
      errors: (r.errors ?? []).map((e) => e.message ?? String(e)),
      warned: reqs.filter((q) => q.status === 'warn').map((q) => `${q.id} warn`),
      scenarios: (r.protocols ?? []).flatMap((p) => p.scenarios ?? []).map((x) => ({ caseId: x.caseId, status: x.status, durationMs: x.durationMs, ...(x.reason ? { reason: x.reason } : {}) })),
    };
  } catch {
    return { failed: [], errors: [], warned: [], scenarios: [] };
  }
}

/** Stryker's coverage: counters of code run outside any scenario (`static`) and per scenario case id. */
export interface Coverage {
  static: Record<string, number>;
  perTest: Record<string, Record<string, number>>;
}

/** Hit counters of every coverage file in `dir` (one per Node process of the run), merged. */
export function readCoverage(dir: string): Coverage | undefined {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json') || f.endsWith('.hits'));
  } catch {
    return undefined;
  }
  if (files.length === 0) return undefined;
  const merged: Coverage = { static: {}, perTest: {} };
  const add = (into: Record<string, number>, counts: Record<string, number>) => {
    for (const [id, n] of Object.entries(counts)) into[id] = (into[id] ?? 0) + n;
  };
  for (const f of files) {
    const text = readFileSync(path.join(dir, f), 'utf8');
    if (f.endsWith('.hits')) {
      // First hits, one "<test id>\t<mutant id>" per line (coverage-hook.mjs), also of processes killed before their exit.
      for (const line of text.split('\n')) {
        const tab = line.indexOf('\t');
        if (tab < 0) continue;
        const test = line.slice(0, tab);
        if (test !== '') merged.perTest[test] ??= {};
        add(test === '' ? merged.static : merged.perTest[test]!, { [line.slice(tab + 1)]: 1 });
      }
      continue;
    }
    const c = JSON.parse(text) as Partial<Coverage> | null;
    add(merged.static, c?.static ?? {});
    for (const [test, counts] of Object.entries(c?.perTest ?? {})) {
      merged.perTest[test] ??= {};
      add(merged.perTest[test], counts);
    }
  }
  return merged;
}

/** `--grep` for exactly these case ids (amh matches it case-insensitively against `protocol/scenario`). */
export function grepFor(caseIds: readonly string[]): string {
  return `^(?:${caseIds.map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;
}

/**
 * The scenarios a mutant's run selects, from Stryker's filter (the tests whose coverage includes it),
 * or undefined for all of them. Code run outside scenarios (start-up, preflight) may change what
 * any scenario sees: all of them, also when some scenarios run it again (a crash scenario restarts
 * a server, and its start-up code registers the routes every other scenario uses). Stryker itself
 * runs such "hybrid" mutants with the covering tests only; here that let a route registered under
 * the wrong path survive, tried only by the restart scenarios.
 */
export function scenariosToRun(filter: readonly string[] | undefined, all: readonly string[]): string[] | undefined {
  if (filter?.includes(OUTSIDE)) return undefined;
  const named = filter?.filter((t) => t !== TEST_ID);
  if (!named?.length || named.length >= all.length) return undefined;
  return named;
}

/** A shell word: single-quoted. */
const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * Certifications run in process groups of their own (so a timeout can kill their anvils), which
 * signals to Stryker's group do not reach: when this worker is interrupted or loses its parent, it
 * kills them itself.
 */
const liveGroups = new Set<number>();
function killLiveGroups(): void {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  liveGroups.clear();
}
let cleanupHooked = false;
function hookCleanup(): void {
  if (cleanupHooked) return;
  cleanupHooked = true;
  process.once('exit', killLiveGroups);
  process.once('disconnect', () => process.exit(1));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killLiveGroups();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

export class AmhCommandTestRunner implements TestRunner {
  static inject = tokens(commonTokens.options);
  private readonly command: string;
  /** Stryker starts the worker that holds this runner in the sandbox directory. */
  private readonly cwd = process.cwd();
  private child: ChildProcess | undefined;

  /** With `npm run mutation -- --sample N` the drawn mutants, with `--survivors`/`--timeouts` the rechecked ones: every other one is skipped (reported as an error, left out of the score). */
  private readonly sample: MutantKey[] | undefined;

  constructor(options: StrykerOptions) {
    this.command = options.commandRunner.command;
    const file = process.env.AMH_MUTATION_SAMPLE;
    this.sample = file ? (JSON.parse(readFileSync(file, 'utf8')) as { keys: MutantKey[] }).keys : undefined;
    hookCleanup();
  }

  capabilities(): TestRunnerCapabilities {
    // Every run is a new process: static mutants (module-level code) are always active from the start.
    return { reloadEnvironment: true };
  }

  /** The scenarios of the dry run (Stryker's tests), to know when a filter selects them all. */
  private tests: string[] = [];

  async dryRun(): Promise<DryRunResult> {
    const coverageDir = mkdtempSync(path.join(tmpBase(), 'coverage-'));
    try {
      const hook = `--import ${JSON.stringify(pathToFileURL(HOOK).href)}`;
      const f = await this.run({ AMH_MUTATION_COVERAGE_DIR: coverageDir, NODE_OPTIONS: [process.env.NODE_OPTIONS, hook].filter(Boolean).join(' ') });
      // A SHOULD that warns on the unmutated server would kill every mutant (see mutantRun): refuse.
      if (f.code !== 0 || f.warned.length > 0 || f.scenarios.length === 0) {
        return { status: DryRunStatus.Complete, tests: [{ id: TEST_ID, name: this.command, status: TestStatus.Failed, failureMessage: `${killReason(f)}\n${f.output}`, timeSpentMs: f.ms }] };
      }
      // Each scenario is a test: a mutant is run with only the scenarios that executed its code
      // (runner.ts sets Stryker's current test to the running case id); code run outside every
      // scenario (start-up, preflight) is static coverage, and such a mutant runs all of them.
      this.tests = f.scenarios.map((x) => x.caseId);
      const coverage = readCoverage(coverageDir);
      const inScenarios = f.scenarios.reduce((n, x) => n + x.durationMs, 0);
      return {
        status: DryRunStatus.Complete,
        tests: [
          ...f.scenarios.map((x) => ({ id: x.caseId, name: x.caseId, status: TestStatus.Success as const, timeSpentMs: x.durationMs })),
          { id: OUTSIDE, name: 'start-up and preflight', status: TestStatus.Success as const, timeSpentMs: Math.max(0, f.ms - inScenarios) },
        ],
        // Stryker runs every test for a mutant with static coverage; here what ran outside the
        // scenarios is a test of its own (see mutantRun). No coverage file: every mutant is run.
        ...(coverage ? { mutantCoverage: { static: {}, perTest: { ...coverage.perTest, [OUTSIDE]: coverage.static } } } : {}),
      };
    } finally {
      rmSync(coverageDir, { recursive: true, force: true });
    }
  }

  async mutantRun(options: MutantRunOptions): Promise<MutantRunResult> {
    // A sampled mutant's range can hold others (a block's body): those are not part of the sample.
    if (this.sample && !this.sample.some((k) => isMutant(k, options.activeMutant))) return { status: MutantRunStatus.Error, errorMessage: SKIPPED };
    const args: string[] = [];
    const only = scenariosToRun(options.testFilter, this.tests);
    if (only) args.push('--grep', shellQuote(grepFor(only)));
    // One failed requirement decides; the scenarios after it would only cost time.
    if (!options.disableBail) args.push('--bail');
    const f = await this.run({ __STRYKER_ACTIVE_MUTANT__: options.activeMutant.id }, args);
    const ran = f.scenarios.filter((x) => !x.reason?.startsWith('not run: --bail'));
    // A violated SHOULD exits 0 but is a verdict the certification reached about this mutant: killed.
    if (f.code === 0 && f.warned.length === 0) return { status: MutantRunStatus.Survived, nrOfTests: ran.length, duration: f.ms };
    const by = ran.filter((x) => x.status !== 'pass' && x.status !== 'not-applicable').map((x) => x.caseId);
    return { status: MutantRunStatus.Killed, killedBy: by.length ? by : [TEST_ID], failureMessage: killReason(f), nrOfTests: ran.length, duration: f.ms };
  }

  async dispose(): Promise<void> {
    this.killGroup();
  }

  private killGroup(): void {
    const c = this.child;
    if (c?.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  private run(env: Record<string, string>, args: string[] = []): Promise<Finished> {
    const out = mkdtempSync(path.join(tmpBase(), 'run-'));
    const started = performance.now();
    return new Promise((resolve, reject) => {
      // Its own process group, so a timeout kills the shell, amh and the anvil nodes amh started.
      const child = spawn([this.command, ...args].join(' '), { cwd: this.cwd, shell: true, detached: true, env: { ...process.env, ...env, AMH_MUTATION_OUT: out }, stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      if (child.pid !== undefined) liveGroups.add(child.pid);
      let output = '';
      const keep = (d: Buffer) => {
        output = (output + d.toString()).slice(-KEEP_OUTPUT);
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      child.once('error', (e) => {
        rmSync(out, { recursive: true, force: true });
        reject(e);
      });
      child.once('close', (code, signal) => {
        this.child = undefined;
        if (child.pid !== undefined) liveGroups.delete(child.pid);
        const verdicts = readVerdicts(out);
        rmSync(out, { recursive: true, force: true });
        resolve({ code, signal, output, ms: Math.round(performance.now() - started), ...verdicts });
      });
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Ignorers. Babel's NodePath, as far as it is read here.

interface Node {
  type: string;
  [k: string]: unknown;
}
interface Path {
  node: Node;
  key: string | number | null;
  parentPath: Path | null;
  container?: unknown;
  scope?: Scope;
}
interface Scope {
  getBinding(name: string): { constantViolations: unknown[]; referencePaths: Path[] } | undefined;
}

const LOG_METHODS = new Set(['log']);

/**
 * `console.x(...)`, `log(...)`, `something.log(...)`, also as a statement (Stryker's CallExpression
 * mutator removes the statement) or as an arrow's body (`.catch((e) => log(...))`).
 */
export function isLogCall(node: Node): boolean {
  if (node.type === 'ExpressionStatement') return isLogCall(node.expression as Node);
  if (node.type === 'AwaitExpression') return isLogCall(node.argument as Node);
  if (node.type === 'ArrowFunctionExpression') return (node.body as Node).type !== 'BlockStatement' && isLogCall(node.body as Node);
  if (node.type !== 'CallExpression' && node.type !== 'OptionalCallExpression') return false;
  const callee = node.callee as Node;
  if (callee.type === 'Identifier') return LOG_METHODS.has(callee.name as string);
  if (callee.type === 'MemberExpression' || callee.type === 'OptionalMemberExpression') {
    const obj = callee.object as Node;
    const prop = callee.property as Node;
    if (obj.type === 'Identifier' && obj.name === 'console') return true;
    return !callee.computed && prop.type === 'Identifier' && LOG_METHODS.has(prop.name as string);
  }
  return false;
}

/** `faults.x`, `cfg.faults.x`, `cfg.faults?.x`: a read of a test-only fault switch. */
function isFaultRead(node: Node): boolean {
  if (node.type !== 'MemberExpression' && node.type !== 'OptionalMemberExpression') return false;
  const obj = node.object as Node;
  if (obj.type === 'Identifier') return obj.name === 'faults';
  if (obj.type === 'MemberExpression' || obj.type === 'OptionalMemberExpression') {
    const p = obj.property as Node;
    return !obj.computed && p.type === 'Identifier' && p.name === 'faults';
  }
  return false;
}

/**
 * Whether an expression depends on fault switches only: `'on'` when it is true exactly when some
 * switch is on (`faults.a`, `faults.a || faults.b`), `'off'` when it is true while they are all off
 * (`!faults.a`, `!faults.a && !faults.b`), undefined when it reads anything else.
 */
export function faultPolarity(node: Node): 'on' | 'off' | undefined {
  if (isFaultRead(node)) return 'on';
  if (node.type === 'UnaryExpression' && node.operator === '!') {
    const p = faultPolarity(node.argument as Node);
    return p === 'on' ? 'off' : p === 'off' ? 'on' : undefined;
  }
  if (node.type === 'TSNonNullExpression' || node.type === 'ParenthesizedExpression') return faultPolarity(node.expression as Node);
  if (node.type === 'LogicalExpression' && (node.operator === '||' || node.operator === '&&')) {
    const l = faultPolarity(node.left as Node);
    return l !== undefined && l === faultPolarity(node.right as Node) ? l : undefined;
  }
  return undefined;
}

/** A statement that always leaves the block: `return …`, `throw …`, or a block ending in one. */
function exits(node: Node | undefined): boolean {
  if (!node) return false;
  if (node.type === 'ReturnStatement' || node.type === 'ThrowStatement') return true;
  if (node.type === 'BlockStatement') return exits((node.body as Node[]).at(-1));
  return false;
}

const SWITCH = 'fault switch: a test-only defect toggle, off in every reference service';
const ONLY_WITH_FAULT = 'runs only when a test-only fault switch is on';

const unwrap = (n: Node): Node => (n.type === 'TSNonNullExpression' || n.type === 'ParenthesizedExpression' ? unwrap(n.expression as Node) : n);

/**
 * Whether `test` can be truthy (`truthy`) or falsy (`!truthy`) only while some fault switch is on,
 * as the code reads before Stryker rewrites it: a switch itself (`faults.a` truthy, `!faults.a`
 * falsy), or a conjunction with such a part (`faults.a && t.x === null` truthy), and their duals.
 */
function onlyWithFaultWhen(test: Node, truthy: boolean): boolean {
  const n = unwrap(test);
  if (faultPolarity(n) === (truthy ? 'on' : 'off')) return true;
  if (n.type === 'UnaryExpression' && n.operator === '!') return onlyWithFaultWhen(n.argument as Node, !truthy);
  if (n.type !== 'LogicalExpression' || (n.operator !== '&&' && n.operator !== '||')) return false;
  const [l, r] = [onlyWithFaultWhen(n.left as Node, truthy), onlyWithFaultWhen(n.right as Node, truthy)];
  // A truthy `&&` (a falsy `||`) needs both sides so: one fault-only side is enough. The other way round, both must be.
  return (n.operator === '&&') === truthy ? l || r : l && r;
}
export const trueOnlyWithFault = (test: Node): boolean => onlyWithFaultWhen(test, true);
export const falseOnlyWithFault = (test: Node): boolean => onlyWithFaultWhen(test, false);

/** The parts of `node` (a child of an if, `?:` or `&&`/`||`) that run only with a fault switch on. */
function guardedParts(node: Node): unknown[] {
  if (node.type === 'IfStatement' || node.type === 'ConditionalExpression') {
    const test = node.test as Node;
    return [...(trueOnlyWithFault(test) ? [node.consequent] : []), ...(falseOnlyWithFault(test) ? [node.alternate] : [])];
  }
  if (node.type === 'LogicalExpression') {
    const left = node.left as Node;
    if ((node.operator === '&&' && trueOnlyWithFault(left)) || (node.operator === '||' && falseOnlyWithFault(left))) return [node.right];
  }
  return [];
}

/** `if (!faults.x) return …;` (no else): the statements after it run only with a switch on. */
const exitsUnlessFault = (n: unknown): boolean => {
  const s = n as Node;
  return s?.type === 'IfStatement' && !s.alternate && falseOnlyWithFault(s.test as Node) && exits(s.consequent as Node);
};

/**
 * Whether the code at `p` runs only with a fault switch on, read from its ancestors (which Stryker
 * has entered but not yet rewritten): it lies in a guarded part, after an `if (!faults.x) return`,
 * or inside code already marked.
 */
function staticallyFaultOnly(p: Path, marked: WeakSet<object>): boolean {
  for (let child = p, parent = p.parentPath; parent; child = parent, parent = parent.parentPath) {
    if (marked.has(child.node) || guardedParts(parent.node).includes(child.node)) return true;
    if (typeof child.key === 'number' && Array.isArray(child.container) && (child.container as unknown[]).slice(0, child.key).some(exitsUnlessFault)) return true;
  }
  return false;
}

/**
 * A local function (`const f = (…) => …`, `function f() {}`) whose every use comes after it and runs
 * only with a fault switch on: its body runs only then too. Uses before the declaration (a hoisted
 * function) have been rewritten already and cannot be read: such a function is not ignored.
 */
function faultOnlyFunction(p: Path, marked: WeakSet<object>): Node | undefined {
  const n = p.node;
  let name: string | undefined;
  let fn: Node | undefined;
  let scope: Scope | undefined;
  if (n.type === 'VariableDeclarator' && (n.id as Node).type === 'Identifier' && n.init && ['ArrowFunctionExpression', 'FunctionExpression'].includes((n.init as Node).type)) {
    [name, fn, scope] = [(n.id as Node).name as string, n.init as Node, p.scope];
  } else if (n.type === 'FunctionDeclaration' && n.id) {
    // Its body: the declaration itself is being visited now, too late to be marked.
    [name, fn, scope] = [(n.id as Node).name as string, n.body as Node, p.parentPath?.scope];
  }
  const binding = name ? scope?.getBinding(name) : undefined;
  if (!fn || !binding || binding.constantViolations.length || !binding.referencePaths.length) return undefined;
  const after = (r: Path) => typeof r.node.start === 'number' && typeof n.end === 'number' && r.node.start >= n.end;
  return binding.referencePaths.every((r) => after(r) && staticallyFaultOnly(r, marked)) ? fn : undefined;
}

/**
 * The `amh-fault-switches` ignorer. Stryker asks it about every node on the way down and rewrites
 * a node's children into mutant switches on the way up, so what runs only with a switch on is
 * decided when the enclosing `if`, `?:`, `&&`/`||` or function declaration is entered, while it is
 * still the original code, and remembered until the traversal reaches it.
 */
export function faultSwitchIgnorer(): { shouldIgnore(p: unknown): string | undefined } {
  const onlyWithFault = new WeakSet<object>();
  const mark = (n: unknown) => {
    if (n && typeof n === 'object') onlyWithFault.add(n);
  };
  return {
    shouldIgnore(raw: unknown): string | undefined {
      const p = raw as Path;
      const node = p.node;
      if (onlyWithFault.has(node)) return ONLY_WITH_FAULT;
      if (faultPolarity(node) !== undefined) return SWITCH;
      for (const part of guardedParts(node)) mark(part);
      if (exitsUnlessFault(node) && typeof p.key === 'number' && Array.isArray(p.container)) {
        for (const next of (p.container as unknown[]).slice(p.key + 1)) mark(next);
      }
      mark(faultOnlyFunction(p, onlyWithFault));
      return undefined;
    },
  };
}

export const strykerPlugins = [
  declareClassPlugin(PluginKind.TestRunner, 'amh-command', AmhCommandTestRunner),
  declareValuePlugin(PluginKind.Ignore, 'amh-log-calls', {
    shouldIgnore: (p: unknown) => (isLogCall((p as Path).node) ? 'log call: text for humans, no behaviour a requirement can see' : undefined),
  }),
  declareValuePlugin(PluginKind.Ignore, 'amh-fault-switches', faultSwitchIgnorer()),
];
