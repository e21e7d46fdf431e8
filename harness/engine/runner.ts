/**
 * Runner: executes the selected scenarios of the registered protocols against a Target with
 * fast-check, one worker per chain set (scenarios are pulled from a shared queue), and assembles the
 * report. Each scenario's seed is derived from the run seed and its case id, so results do not
 * depend on which worker ran it.
 */
import fc from 'fast-check';
import { chainToken, endpointOf, evmAccounts, hasCapability, type Target } from '../target/schema.ts';
import type { Requirement } from './catalog.ts';
import { RunContext, type CheckCounts } from './context.ts';
import { outsideRevision, revisionOf, type ProtocolModule, type Scenario, type ScenarioEnv, type SpecRevision } from './dsl.ts';
import { HarnessFault, Indeterminate, RequirementViolation, TargetProblem } from './errors.ts';
import { preflight } from './preflight.ts';
import { checkRegister } from './register.ts';
import { REPO_ROOT } from '../chain/paths.ts';
import { type PoolRepairRecord, tallyRepairs } from '../chain/pool-repair.ts';
import type { Evidence } from './evidence.ts';
import { renderConstants } from '../profiles/constants.ts';
import { profileInfo, type Profile } from '../profiles/profile.ts';
import { trim } from './evidence.ts';
import type { ChainClients } from './session.ts';
import { shardItems } from '../util/shard.ts';
import {
  REPORT_SCHEMA_VERSION,
  type Counterexample,
  type ProtocolReport,
  type Report,
  type RequirementReport,
  type RequirementStatus,
  type ScenarioReport,
  type Status,
  type Summary,
  type TargetInfo,
} from '../report/types.ts';

/** Per property run limit; a run exceeding it fails as a harness error. */
export const RUN_TIMEOUT_MS = 120_000;

export const HARNESS = { name: 'agentmarket-harness', version: '0.1.0' };

/** Progress notifications for the CLI's display. */
export type ProgressEvent =
  | { type: 'scenario-start'; caseId: string; runs: number; index: number; total: number }
  | { type: 'run'; caseId: string; runsDone: number; failures: number }
  | { type: 'scenario-end'; caseId: string; status: Status; runs: number; durationMs: number };

export interface ReplaySpec {
  caseId: string;
  seed: number;
  path: string;
  replayPath?: string;
}

export interface RunOptions {
  runs: number;
  seed: number;
  /** Only these protocol ids. */
  protocols?: string[];
  /** Regex matched against case id, title and requirement ids. */
  grep?: string;
  /** Overall time budget; scenarios are interrupted (and later ones skipped) when it runs out. */
  timeBudgetMs?: number;
  /** Re-run exactly one shrunk counterexample. */
  replay?: ReplaySpec;
  /**
   * `false`: every failing property is reported as it first failed, without shrinking (as a
   * scenario's own `shrink: false`): for runs where only the verdicts matter (the kill harness).
   */
  shrink?: boolean;
  /** Text of the command for the replay hint, e.g. "amh replay reports/latest/report.json". */
  replayCommand?: string;
  command: string;
  onProgress?: (e: ProgressEvent) => void;
  /**
   * Run only shard `index` of `total` (1-based): the selected cases, in their fixed order, are dealt
   * round-robin. A case's seed depends only on the run seed and its id, so the verdicts of the
   * merged shards equal an unsharded run's (see harness/report/merge.ts).
   */
  shard?: { index: number; total: number };
  /**
   * Stop after the first scenario that does not pass (fail, warn, error, indeterminate): the
   * scenarios not started yet are reported indeterminate, "not run". For fail-fast CI and for
   * mutation testing, where one failed requirement decides.
   */
  bail?: boolean;
  /**
   * Spec revision per protocol id (`--spec`); a protocol not named is certified at its default
   * revision. Requirements of other revisions are left out, and so are scenarios that check none of
   * the selected revision's.
   */
  spec?: Record<string, string>;
  /**
   * The what-if profile (harness/profiles): the protocol constants the target is configured with.
   * Scenarios and models read them from `env.profile` / `ctx.profile`; requirement texts show them.
   */
  profile?: Profile;
}

export interface RunInput {
  target: Target;
  targetInfo: TargetInfo;
  /** One client set per worker; each must point at its own chains (same state). */
  workers: Map<string, ChainClients>[];
  /**
   * Per-worker targets (same order as `workers`) when each worker has its own servers as well as
   * chains (the reference target): scenarios that talk to HTTP endpoints must see the servers bound
   * to their worker's chains. Default: `target` for every worker.
   */
  targets?: Target[];
  /**
   * Per worker (same order as `workers`): takes that worker's target back to its state at the start
   * of the run. Called before each of the worker's scenarios but its first, so every scenario starts
   * where a run of it alone would (the reference target; a target file has none).
   */
  resets?: (() => Promise<void>)[];
  /**
   * Per worker (same order as `workers`): the pool repairs of the worker's chains so far, where the
   * harness started them (the reference target): a scenario's report says when anvil stranded a
   * transaction while it ran (harness/chain/pool-repair.ts).
   */
  poolRepairs?: (() => readonly PoolRepairRecord[])[];
  /**
   * Workers that run their cases somewhere else (a worker thread each, harness/cli/threads.ts),
   * each on its own target. When given, they are the workers, and `workers`, `targets` and
   * `resets` are not used.
   */
  caseWorkers?: CaseWorker[];
  protocols: ProtocolModule[];
}

/** One worker: runs the cases it takes from the queue on its own target, one at a time. */
export interface CaseWorker {
  /** First contact with the worker's target for these cases; the worker keeps the problems for its runs. */
  preflight(cases: readonly { p: ProtocolModule; s: Scenario }[]): Promise<Map<string, string>>;
  /**
   * Runs one case. `reset`: take the target back to its start first (every case of a worker but
   * its first); a failed reset rejects.
   */
  run(p: ProtocolModule, s: Scenario, deadline: number, reset: boolean): Promise<ScenarioOutcome>;
}

/** A worker in this thread: runs cases with `clients` against `target`, resetting with `reset`. */
export function inProcessWorker(
  target: Target,
  clients: Map<string, ChainClients>,
  reset: (() => Promise<void>) | undefined,
  opts: RunOptions,
  poolRepairs?: () => readonly PoolRepairRecord[],
): CaseWorker {
  let problems = new Map<string, string>();
  return {
    async preflight(cases) {
      problems = await preflight(target, cases, (s) => (s.needs?.length ? envFor(target, s).chains.map((c) => c.id) : []));
      return problems;
    },
    async run(p, s, deadline, doReset) {
      if (doReset)
        await reset?.().catch((e: Error) => {
          throw new Error(`could not take the target back to its starting state before this scenario: ${e.message}`);
        });
      // Records only grow: what this scenario saw is the difference of the tallies.
      const before = poolRepairs && tallyRepairs(poolRepairs());
      const outcome = await runScenario(p, s, target, clients, opts, deadline, outsideRevision(p, revisionOf(p, opts.spec?.[p.id])), problems);
      if (before) {
        const after = tallyRepairs(poolRepairs!());
        const stalls = after.stalls - before.stalls;
        if (stalls > 0) outcome.report.nodeRepairs = { stalls, resent: after.resent - before.resent, lost: after.lost - before.lost };
      }
      return outcome;
    },
  };
}

/** What one case produced (it crosses to the main thread by structured clone: plain data only). */
export interface ScenarioOutcome {
  report: ScenarioReport;
  /** Set when the scenario stopped on a target problem (the run exits 2). */
  targetProblem?: string;
  counts: CheckCounts;
  sample: Evidence[];
  failure?: Evidence[];
}

/** 32-bit FNV-1a mix of the run seed and a case id. */
export function scenarioSeed(seed: number, caseId: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (const ch of caseId) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h | 0;
}

/** Why a scenario cannot run on this target, or null. */
export function notApplicableReason(p: ProtocolModule, s: Scenario, target: Target, env: ScenarioEnv): string | null {
  if (target.protocols && !target.protocols.includes(p.id)) return `target does not claim protocol '${p.id}'`;
  const caps = (s.capabilities ?? []).filter((c) => !hasCapability(target, c));
  if ((s.isolation ?? 'snapshot') === 'snapshot' && s.needs?.length && !hasCapability(target, 'snapshot') && !caps.includes('snapshot')) caps.push('snapshot');
  if (caps.length) return `target lacks capability ${caps.map((c) => `'${c}'`).join(', ')}`;
  const roles = (s.roles ?? []).filter((r) => !evmAccounts(target).some((a) => a.role === r));
  if (roles.length) return `target declares no account for role ${roles.map((r) => `'${r}'`).join(', ')}`;
  const keys = (s.keys ?? []).filter((k) => !target.accounts.some((a) => a.role === k.role && a.kind === k.kind) && !s.signers?.includes(k.role));
  if (keys.length) return `target declares no ${keys.map((k) => `${k.kind} key for role '${k.role}'`).join(', ')}`;
  const eps = (s.endpoints ?? []).filter((e) => !endpointOf(target, e));
  if (eps.length) return `target declares no endpoint ${eps.map((e) => `'${e}'`).join(', ')}`;
  if (s.needs?.length && env.chains.length === 0) return `no target chain declares ${s.needs.map((n) => `'${n}'`).join(' + ')}`;
  return null;
}

function envFor(target: Target, s: Scenario, profile: Profile | null = null): ScenarioEnv {
  const needs = s.needs ?? [];
  const chains = target.chains.filter((c) => needs.every((n) => Boolean(chainToken(c, n) ?? c.contracts[n])));
  return { target, chains, profile };
}

export function matchesGrep(p: ProtocolModule, s: Scenario, grep?: string): boolean {
  if (!grep) return true;
  const re = new RegExp(grep, 'i');
  return re.test(`${p.id}/${s.id}`) || re.test(s.title) || s.requirements.some((r) => re.test(r));
}

function levelOf(p: ProtocolModule, id: string): Requirement['level'] {
  return p.requirements.find((r) => r.id === id)?.level ?? 'MUST';
}

/** Subjects (endpoints, chains) a scenario uses, as preflight names them. */
function subjectsOf(target: Target, s: Scenario): string[] {
  return [...(s.endpoints ?? []).map((e) => `endpoint:${e}`), ...(s.needs?.length ? envFor(target, s).chains.map((c) => `chain:${c.id}`) : [])];
}

async function runScenario(
  p: ProtocolModule,
  s: Scenario,
  target: Target,
  clients: Map<string, ChainClients>,
  opts: RunOptions,
  deadline: number,
  /** Requirements of the protocol outside the spec revision certified: their checks are not made. */
  outsideRev: ReadonlySet<string>,
  problems: Map<string, string> = new Map(),
): Promise<ScenarioOutcome> {
  const caseId = `${p.id}/${s.id}`;
  const started = performance.now();
  const env = envFor(target, s, opts.profile ?? null);
  const seed = opts.replay ? opts.replay.seed : scenarioSeed(opts.seed, caseId);
  const counts: CheckCounts = new Map();
  const base: ScenarioReport = {
    id: s.id,
    caseId,
    title: s.title,
    kind: s.kind,
    requirements: s.requirements,
    status: 'pass',
    runs: 0,
    runsPlanned: opts.replay ? 1 : plannedRuns(s, opts.runs),
    executions: 0,
    shrinks: 0,
    seed,
    durationMs: 0,
    interrupted: false,
  };
  const na = notApplicableReason(p, s, target, env);
  if (na) return { report: { ...base, status: 'not-applicable', reason: na }, counts, sample: [] };
  const blocked = subjectsOf(target, s)
    .map((x) => problems.get(x))
    .find(Boolean);
  if (blocked) return { report: { ...base, status: 'indeterminate', reason: `not run: target problem: ${blocked}` }, counts, sample: [] };
  const remaining = deadline - Date.now();
  if (remaining <= 0) return { report: { ...base, status: 'indeterminate', reason: 'not run: time budget exhausted' }, counts, sample: [] };

  const allowed = new Set(s.requirements);
  const outside = new Set(s.requirements.filter((id) => outsideRev.has(id)));
  const isolation = s.isolation ?? 'snapshot';
  let sample: Evidence[] | undefined;
  let lastFail: { evidence: Evidence[]; actions: string[]; error: unknown } | undefined;
  let runsDone = 0;
  let failures = 0;
  let fault: unknown;

  // fast-check may abandon a run when the time budget or the run timeout expires; remember it so it
  // finishes (and reverts) before the next scenario touches the chain.
  let inflight: Promise<unknown> = Promise.resolve();
  const exec = (drawSeed: number, body: (ctx: RunContext) => Promise<void>) => {
    const p = execRun(drawSeed, body);
    inflight = p.catch(() => undefined);
    return p;
  };
  const execRun = async (drawSeed: number, body: (ctx: RunContext) => Promise<void>) => {
    // After a harness fault, fail fast so fast-check's shrinking does not hammer a broken environment.
    if (fault) throw fault;
    const ctx = new RunContext(target, clients, counts, allowed, isolation, s.signers, outside, opts.profile ?? null, drawSeed, s.capabilities?.includes('reorg') ?? false);
    runsDone++;
    let err: unknown;
    try {
      await body(ctx);
    } catch (e) {
      err = e;
    }
    try {
      await ctx.close();
    } catch (e) {
      err ??= e;
      fault = e;
    }
    if (!(err instanceof RequirementViolation) && !(err instanceof Indeterminate) && !(err instanceof TargetProblem) && err !== undefined) {
      // fast-check's precondition failures are not errors.
      if (!fc.PreconditionFailure.isFailure(err)) fault ??= err;
    }
    sample ??= ctx.evidence.snapshot();
    if (err !== undefined && !fc.PreconditionFailure.isFailure(err)) {
      failures++;
      lastFail = { evidence: ctx.evidence.snapshot(), actions: [...ctx.actions], error: err };
    }
    opts.onProgress?.({ type: 'run', caseId, runsDone, failures });
    if (err !== undefined) throw err;
  };

  const replayPath = opts.replay?.replayPath;
  let prop: fc.IAsyncProperty<any>;
  // The seed of `ctx.draw` comes last in each property: the scenario's own values (and their replay
  // paths) are generated exactly as without it, and it does not shrink.
  const drawSeed = fc.noShrink(fc.integer());
  if (s.kind === 'property') {
    prop = fc.asyncProperty(s.arbitrary(env), drawSeed, (v, d) => exec(d, async (ctx) => s.run(ctx, v, s.setup ? await s.setup(ctx) : undefined)));
  } else {
    const cmds = fc.commands(s.commands(env), { maxCommands: s.maxCommands ?? 8, replayPath });
    // Keep model and real so `finish` can check end-state invariants after the last command.
    const withFinish = async (ctx: RunContext, run: (setup: () => Promise<{ model: object; real: unknown }>) => Promise<void>, sch?: fc.Scheduler) => {
      let state: { model: object; real: unknown } | undefined;
      const setup = async () => (state = await s.setup(ctx, sch));
      let err: unknown;
      try {
        await run(setup);
      } catch (e) {
        err = e;
      }
      if (state && s.finish) {
        try {
          await s.finish(state.model, state.real);
        } catch (e) {
          err ??= e;
        }
      }
      if (err !== undefined) throw err;
    };
    prop = s.race
      ? fc.asyncProperty(fc.scheduler(), cmds, drawSeed, (sch, c, d) => exec(d, (ctx) => withFinish(ctx, (setup) => fc.scheduledModelRun(sch, setup, c), sch)))
      : fc.asyncProperty(cmds, drawSeed, (c, d) => exec(d, (ctx) => withFinish(ctx, (setup) => fc.asyncModelRun(setup, c))));
  }
  const numRuns = Math.max(1, opts.replay ? 1 : plannedRuns(s, opts.runs));
  const details = await fc.check(prop, {
    seed,
    numRuns,
    interruptAfterTimeLimit: remaining,
    // One run that hangs (an endpoint that never answers) must not hang the whole certification.
    timeout: s.runTimeoutMs ?? RUN_TIMEOUT_MS,
    ...(s.shrink === false || opts.shrink === false ? { endOnFailure: true } : {}),
    ...(opts.replay ? { path: opts.replay.path, endOnFailure: true } : {}),
  });

  let settled = false;
  await Promise.race([inflight.then(() => (settled = true)), new Promise((r) => setTimeout(r, 30_000).unref())]);
  // Property runs fast-check completed (a failing run included, shrink attempts not) vs what was asked.
  const runs = details.failed ? details.numRuns : Math.min(details.numRuns, numRuns);
  const report: ScenarioReport = {
    ...base,
    runs,
    runsPlanned: numRuns,
    executions: runsDone,
    shrinks: details.numShrinks,
    interrupted: details.interrupted,
    durationMs: Math.round(performance.now() - started),
  };
  if (!settled) return { report: { ...report, status: 'error', reason: 'an interrupted run did not finish within 30 s; chain isolation can no longer be guaranteed' }, counts, sample: sample ?? [] };
  const totalChecks = [...counts.values()].reduce((a, c) => a + c.passed + c.failed, 0);
  if (!details.failed) {
    if (totalChecks === 0) {
      report.status = 'indeterminate';
      report.reason = details.interrupted ? 'time budget exhausted before any check ran' : `no check executed in ${runsDone} runs`;
    } else {
      report.status = 'pass';
      if (details.interrupted) report.reason = `time budget: ${runs} of ${numRuns} runs`;
      else if (details.numSkips > 0) report.reason = `${details.numSkips} generated inputs skipped by preconditions`;
      else if (!opts.replay && numRuns < opts.runs) report.reason = `${numRuns} of --runs ${opts.runs}: the scenario caps its runs at ${s.maxRuns} (maxRuns)`;
    }
    return { report, counts, sample: sample ?? [] };
  }
  if (!lastFail && details.errorInstance == null) {
    // fast-check "fails" without an error when the budget ran out before any run or every run was
    // skipped by a precondition: nothing was established either way.
    report.status = 'indeterminate';
    report.reason = details.interrupted ? 'time budget exhausted before any check ran' : `gave up: ${details.numSkips} runs skipped by preconditions (e.g. balances too small on this target)`;
    return { report, counts, sample: sample ?? [] };
  }
  const err = lastFail?.error ?? details.errorInstance;
  // The counterexample as the scenario generated it (without the trailing seed of its draws).
  const generated = details.counterexample?.slice(0, -1);
  const value = generated ? fc.stringify(generated.length === 1 ? generated[0] : generated) : '';
  const rp = /replayPath="([^"]*)"/.exec(value)?.[1];
  const cx: Counterexample = {
    message: err instanceof Error ? err.message : String(err),
    actions: lastFail?.actions ?? [],
    value: trim(value, 3000),
    seed: details.seed,
    path: details.counterexamplePath ?? '',
    ...(rp ? { replayPath: rp } : {}),
  };
  if (err instanceof RequirementViolation) {
    cx.requirement = err.requirement;
    report.status = levelOf(p, err.requirement) === 'MUST' ? 'fail' : 'warn';
  } else if (err instanceof Indeterminate) {
    if (err.requirement) cx.requirement = err.requirement;
    report.status = 'indeterminate';
  } else if (err instanceof TargetProblem) {
    report.status = 'indeterminate';
    cx.message = `target problem: ${err.message}`;
  } else {
    report.status = 'error';
    if (err instanceof HarnessFault || err instanceof Error) cx.message = `harness error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
  }
  report.reason = trim(
    err instanceof RequirementViolation && err.actual !== undefined ? `${cx.message.split('\n')[0]} — expected ${err.expected ?? '?'}, got ${err.actual}` : (cx.message.split('\n')[0] ?? ''),
    300,
  );
  report.counterexample = cx;
  const cmd = opts.replayCommand ?? 'amh replay reports/latest/report.json';
  report.replay = `${cmd} --case ${caseId}`;
  return { report, counts, sample: sample ?? [], failure: lastFail?.evidence, ...(err instanceof TargetProblem ? { targetProblem: err.message } : {}) };
}

/** Property runs a scenario gets: `--runs`, or fewer when the scenario caps them (`maxRuns`). */
export function plannedRuns(s: Scenario, runs: number): number {
  return s.maxRuns === undefined ? runs : Math.min(runs, s.maxRuns);
}

/** Which covering scenario a requirement's evidence comes from (and whether from its failing run). */
export interface EvidencePick {
  caseId: string;
  failing: boolean;
}

/** A requirement's verdict without its evidence: what {@link deriveRequirement} computes. */
export interface DerivedRequirement {
  status: RequirementStatus;
  reason?: string;
  checks: { passed: number; failed: number };
  scenarios: string[];
  pick?: EvidencePick;
}

/**
 * The verdict of one requirement from the reports of the selected scenarios covering it (in run
 * order) — a pure function of report data, so `amh report --merge` reaches the same verdict from
 * shards as the runner does in one run. `coveredAtAll`: some scenario of the pack covers it, selected
 * or not; `null` = none of the covering scenarios was selected (the requirement is left out).
 */
export function deriveRequirement(r: Pick<Requirement, 'id' | 'level'>, covering: readonly ScenarioReport[], coveredAtAll: boolean): DerivedRequirement | null {
  const checks = { passed: 0, failed: 0 };
  for (const o of covering) {
    const c = o.checks?.[r.id];
    if (c) {
      checks.passed += c.passed;
      checks.failed += c.failed;
    }
  }
  const scenarios = covering.map((o) => o.caseId);
  if (!coveredAtAll) return { status: 'uncovered', reason: 'no scenario checks this requirement yet', checks, scenarios };
  if (covering.length === 0) return null;
  const pick = (o: ScenarioReport, failing: boolean): EvidencePick => ({ caseId: o.caseId, failing });
  const violated = covering.find((o) => o.counterexample?.requirement === r.id && (o.status === 'fail' || o.status === 'warn'));
  if (violated) return { status: r.level === 'MUST' ? 'fail' : 'warn', ...(violated.reason ? { reason: violated.reason } : {}), checks, scenarios, pick: pick(violated, true) };
  const errored = covering.find((o) => o.status === 'error');
  if (errored) return { status: 'error', reason: `${errored.caseId}: ${errored.reason}`, checks, scenarios, pick: pick(errored, true) };
  // An outcome that could not be established (e.g. unconfirmed settlement) outweighs passes.
  const unsure = covering.find((o) => o.status === 'indeterminate' && o.counterexample && (!o.counterexample.requirement || o.counterexample.requirement === r.id));
  if (unsure) return { status: 'indeterminate', reason: `${unsure.caseId}: ${unsure.reason}`, checks, scenarios, pick: pick(unsure, true) };
  if (checks.passed > 0) {
    const o = covering.find((x) => (x.checks?.[r.id]?.passed ?? 0) > 0)!;
    const skipped = covering.filter((x) => x.status === 'indeterminate' || x.status === 'not-applicable');
    const reason = skipped.length ? `also covered by ${skipped.map((x) => `${x.caseId} (${x.status}: ${x.reason})`).join('; ')}` : undefined;
    return { status: 'pass', ...(reason ? { reason } : {}), checks, scenarios, pick: pick(o, false) };
  }
  const notRun = covering.find((o) => o.status === 'indeterminate');
  if (notRun) return { status: 'indeterminate', reason: `${notRun.caseId}: ${notRun.reason}`, checks, scenarios };
  if (covering.every((o) => o.status === 'not-applicable')) return { status: 'not-applicable', reason: [...new Set(covering.map((o) => o.reason))].join('; '), checks, scenarios };
  return { status: 'indeterminate', reason: 'no check of this requirement executed', checks, scenarios };
}

/**
 * Catalog fields of a requirement as the report carries them: `{constant}` placeholders in the title
 * and text show the run's values, and `constants` lists the values of the protocol constants it
 * depends on (so `amh diff` of two profiles names exactly the requirements a change touches).
 */
export function requirementBase(p: Pick<ProtocolModule, 'constants'>, r: Requirement, profile: Profile | null = null) {
  const base = { id: r.id, level: r.level, title: r.title, source: r.source, text: r.text, profileAssumption: r.profileAssumption };
  if (!p.constants) return base;
  const values = p.constants.placeholders(profile);
  const names = dependsOn(p, r);
  return {
    ...base,
    title: renderConstants(r.title, values),
    text: renderConstants(r.text, values),
    ...(names.length ? { constants: Object.fromEntries(names.map((n) => [n, values[n]!])) } : {}),
  };
}

/** The pack constants a requirement depends on: those its title or text quote, and those it lists. */
export function dependsOn(p: Pick<ProtocolModule, 'constants'>, r: Requirement): string[] {
  if (!p.constants) return [];
  const declared = Object.keys(p.constants.declarations);
  const values = p.constants.placeholders();
  const quoted = [...`${r.title} ${r.text}`.matchAll(/\{([a-z][A-Za-z0-9]*)\}/g)].map((m) => m[1]!).filter((n) => n in values);
  // A derived placeholder (reviewLimitNth) is named after the constant it is derived from.
  const base = quoted.map((n) => declared.find((d) => n.startsWith(d)) ?? n);
  return [...new Set([...base.filter((n) => declared.includes(n)), ...(r.constants ?? [])])].sort();
}

function requirementReport(p: ProtocolModule, r: Requirement, outcomes: ScenarioOutcome[], profile: Profile | null = null): RequirementReport | null {
  const covering = outcomes.filter((o) => o.report.requirements.includes(r.id));
  const d = deriveRequirement(
    r,
    covering.map((o) => o.report),
    p.scenarios.some((s) => s.requirements.includes(r.id)),
  );
  if (!d) return null;
  let evidence: Evidence[] = [];
  if (d.pick) {
    const o = covering.find((x) => x.report.caseId === d.pick!.caseId)!;
    evidence = [{ kind: 'note', message: `${d.pick.failing ? 'shrunk counterexample run' : 'sample run'} of ${o.report.caseId}` }, ...((d.pick.failing ? o.failure : o.sample) ?? [])];
  }
  return { ...requirementBase(p, r, profile), checks: d.checks, scenarios: d.scenarios, status: d.status, ...(d.reason ? { reason: d.reason } : {}), evidence };
}

/**
 * Exit code per DESIGN.md: 2 harness error or nothing executed; 1 a MUST failed, stayed
 * indeterminate, or has no scenario at all (uncovered: a certification cannot vouch for it); else 0.
 */
export function exitCodeFor(protocols: ProtocolReport[], summary: Summary, errors: string[], o: { shard?: boolean } = {}): 0 | 1 | 2 {
  if (errors.length || summary.error > 0 || (summary.checks === 0 && !o.shard)) return 2;
  for (const p of protocols)
    for (const r of p.requirements) if (r.level === 'MUST' && (r.status === 'fail' || r.status === 'indeterminate' || r.status === 'uncovered') && !(o.shard && isProvisional(r))) return 1;
  return 0;
}

/**
 * In a shard report: a requirement left indeterminate only because none of this shard's runs
 * checked it (no counterexample, no evidence). Another shard may check it, so the merge decides; a
 * shard's exit code does not count it. (A failure, an error or an unconfirmed outcome in a shard
 * stays one in the merged report, so those do count.)
 */
export function isProvisional(r: Pick<RequirementReport, 'status' | 'evidence'>): boolean {
  return r.status === 'indeterminate' && r.evidence.length === 0;
}

/** Count requirement statuses. */
export function summarize(protocols: ProtocolReport[]): Summary {
  const s: Summary = { pass: 0, fail: 0, warn: 0, notApplicable: 0, error: 0, indeterminate: 0, uncovered: 0, checks: 0 };
  for (const p of protocols)
    for (const r of p.requirements) {
      s.checks += r.checks.passed + r.checks.failed;
      if (r.status === 'not-applicable') s.notApplicable++;
      else s[r.status]++;
    }
  return s;
}

/** A revision as the report names it. */
export function revisionInfo(r: SpecRevision): { id: string; title: string; source: string } {
  return { id: r.id, title: r.title, source: r.source };
}

/** The report of a scenario that did not run (a base to fill in). */
function notRunReport(p: ProtocolModule, s: Scenario, opts: RunOptions): ScenarioReport {
  return {
    id: s.id,
    caseId: `${p.id}/${s.id}`,
    title: s.title,
    kind: s.kind,
    requirements: s.requirements,
    status: 'indeterminate',
    runs: 0,
    runsPlanned: plannedRuns(s, opts.runs),
    executions: 0,
    shrinks: 0,
    seed: scenarioSeed(opts.seed, `${p.id}/${s.id}`),
    durationMs: 0,
    interrupted: false,
  };
}

/**
 * Under mutation testing (StrykerJS-instrumented servers in this process, `npm run mutation`),
 * attribute the code each scenario executes to that scenario, so a mutant is tested only by the
 * scenarios that reach it. Stryker's instrumented code counts hits under `__stryker__.currentTestId`;
 * outside a mutation run there is no `__stryker__` and this does nothing.
 */
function coverageScope(caseId: string | undefined): void {
  const ns = (globalThis as { __stryker__?: { currentTestId?: string } }).__stryker__;
  if (ns) ns.currentTestId = caseId;
}

/** Items of several protocols in turns: the first of each protocol, then the second of each, and so on. */
export function interleaveByProtocol<T extends { p: { id: string } }>(items: readonly T[]): T[] {
  const lists = [...Map.groupBy(items, (x) => x.p.id).values()];
  const out: T[] = [];
  for (let k = 0; out.length < items.length; k++) for (const l of lists) if (k < l.length) out.push(l[k]!);
  return out;
}

/** Run everything selected and build the report (does not write files). */
export async function runAll(input: RunInput, opts: RunOptions): Promise<Report> {
  const startedAt = new Date();
  const t0 = performance.now();
  const deadline = opts.timeBudgetMs ? Date.now() + opts.timeBudgetMs : Number.POSITIVE_INFINITY;
  const selected = input.protocols.filter((p) => !opts.protocols?.length || opts.protocols.includes(p.id));
  const revisions = new Map(selected.map((p) => [p.id, revisionOf(p, opts.spec?.[p.id])]));
  const outside = new Map(selected.map((p) => [p.id, outsideRevision(p, revisions.get(p.id))]));
  const all: { p: ProtocolModule; s: Scenario }[] = [];
  for (const p of selected)
    for (const s of p.scenarios) {
      if (opts.replay ? opts.replay.caseId !== `${p.id}/${s.id}` : !matchesGrep(p, s, opts.grep)) continue;
      if (s.requirements.every((id) => outside.get(p.id)!.has(id))) continue;
      all.push({ p, s });
    }
  const shard = opts.replay ? undefined : opts.shard;
  if (shard && (!Number.isInteger(shard.index) || !Number.isInteger(shard.total) || shard.index < 1 || shard.index > shard.total))
    throw new Error(`invalid shard ${shard.index}/${shard.total}: the index must be between 1 and the total`);
  // Shards deal the selected cases round-robin, in their fixed order (protocol, then scenario).
  const jobs = shardItems(all, shard).map((x, i) => ({ ...x, i }));
  const results: ScenarioOutcome[] = new Array(jobs.length);
  const errors: string[] = [];
  if (shard && jobs.length === 0 && all.length > 0)
    errors.push(`shard ${shard.index}/${shard.total} has no case: the selection has only ${all.length} case${all.length === 1 ? '' : 's'}; use at most ${all.length} shards`);
  const workers = input.caseWorkers ?? input.workers.map((clients, w) => inProcessWorker(input.targets?.[w] ?? input.target, clients, input.resets?.[w], opts, input.poolRepairs?.[w]));
  // First contact: endpoints answering 404/405 or not at all, chains that are not the declared ones.
  const problems = await Promise.all(workers.map((w) => w.preflight(jobs)));
  for (const m of new Set(problems.flatMap((x) => [...x.values()]))) errors.push(`target problem: ${m}`);
  // Workers take the cases one protocol after another (the first case of each, then the second...),
  // not protocol by protocol: a protocol's cases tend to cost alike, and some mostly wait (NIP-40
  // expirations wait out real seconds) while others keep the CPU busy, so mixed they overlap instead
  // of two workers waiting side by side. Reports keep the fixed order.
  const queue = interleaveByProtocol(jobs);
  let next = 0;
  /** With --bail: the case that stopped the run. */
  let bailedOn: string | undefined;
  // Coverage per scenario is only meaningful when one scenario runs at a time.
  const scopeCoverage = workers.length === 1;
  // Workers pull from one queue; each owns its chains, so runs never share state.
  await Promise.all(
    workers.map(async (worker) => {
      let first = true;
      while (next < queue.length) {
        const job = queue[next++]!;
        const caseId = `${job.p.id}/${job.s.id}`;
        if (bailedOn) {
          results[job.i] = { report: { ...notRunReport(job.p, job.s, opts), reason: `not run: --bail (${bailedOn} did not pass)` }, counts: new Map(), sample: [] };
          results[job.i]!.report.checks = {};
          continue;
        }
        opts.onProgress?.({ type: 'scenario-start', caseId, runs: plannedRuns(job.s, opts.runs), index: job.i, total: jobs.length });
        if (scopeCoverage) coverageScope(caseId);
        try {
          const reset = !first;
          first = false;
          // Fair share of what is left of the budget, so early scenarios cannot starve later ones.
          const left = queue.length - next + 1;
          const share = Number.isFinite(deadline) ? Date.now() + ((deadline - Date.now()) * workers.length) / Math.max(1, left) : deadline;
          results[job.i] = await worker.run(job.p, job.s, Math.min(deadline, share), reset);
        } catch (e) {
          const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
          results[job.i] = { report: { ...notRunReport(job.p, job.s, opts), status: 'error', reason: trim(msg, 300), seed: 0 }, counts: new Map(), sample: [] };
        } finally {
          if (scopeCoverage) coverageScope(undefined);
        }
        const r = results[job.i]!.report;
        if (opts.bail && !bailedOn && r.status !== 'pass' && r.status !== 'not-applicable') bailedOn = caseId;
        // Checks per requirement, so a merge of shards can recount requirements from scenario reports.
        r.checks = Object.fromEntries([...results[job.i]!.counts].map(([id, c]) => [id, { passed: c.passed, failed: c.failed }]));
        opts.onProgress?.({ type: 'scenario-end', caseId, status: r.status, runs: r.runs, durationMs: r.durationMs });
      }
    }),
  );
  const protocols: ProtocolReport[] = selected.map((p) => {
    const outs = jobs
      .map((j, i) => ({ j, o: results[i]! }))
      .filter((x) => x.j.p === p)
      .map((x) => x.o);
    const reg = p.register
      ? checkRegister(
          p.register,
          p.requirements.map((r) => r.id),
          REPO_ROOT,
        )
      : undefined;
    const rev = revisions.get(p.id);
    return {
      id: p.id,
      title: p.title,
      ...(rev ? { revision: revisionInfo(rev) } : {}),
      ...(reg ? { register: { ...reg, problems: reg.problems.length } } : {}),
      // With --grep/--case, requirements outside the selection are left out rather than shown unknown.
      requirements: p.requirements
        .filter((r) => !outside.get(p.id)!.has(r.id))
        .map((r) => requirementReport(p, r, outs, opts.profile ?? null))
        .filter((r): r is RequirementReport => r !== null && !((opts.grep || opts.replay) && r.status === 'uncovered')),
      scenarios: outs.map((o) => o.report),
    };
  });
  if (all.length === 0) errors.push('no scenario selected (check --protocol / --grep / --case)');
  for (const m of new Set(results.map((o) => o?.targetProblem).filter((x): x is string => Boolean(x)))) errors.push(`target problem during the run: ${m}`);
  const summary = summarize(protocols);
  // A shard may check nothing on its own (all its cases not-applicable); the merge judges the whole.
  if (jobs.length > 0 && summary.checks === 0 && !shard) {
    const reasons = [...new Set(results.map((o) => o.report.reason).filter(Boolean))].slice(0, 5);
    errors.push(`no check executed: a run that checks nothing certifies nothing (${reasons.join('; ') || 'no scenario ran'})`);
  }
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    harness: HARNESS,
    command: opts.command,
    target: input.targetInfo,
    seed: opts.seed,
    runs: opts.runs,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - t0),
    exitCode: exitCodeFor(protocols, summary, errors, { shard: Boolean(shard) }),
    summary,
    errors,
    protocols,
    ...(opts.grep ? { grep: opts.grep } : {}),
    profile: opts.profile ? profileInfo(opts.profile) : null,
    ...(shard
      ? {
          shard: {
            index: shard.index,
            total: shard.total,
            cases: all.map((x) => `${x.p.id}/${x.s.id}`),
            protocols: selected.map((p) => ({ id: p.id, requirements: p.requirements.map((r) => r.id) })),
          },
        }
      : {}),
  };
}
