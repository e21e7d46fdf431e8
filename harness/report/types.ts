/**
 * The report contract (report.json). Versioned: bump REPORT_SCHEMA_VERSION's major on a breaking
 * change and keep harness/report/report.schema.json in step (a test validates real output).
 */
import type { Evidence } from '../engine/evidence.ts';
import type { Requirement } from '../engine/catalog.ts';
import type { RegisterCoverage } from '../engine/register.ts';
import type { NodeRepairs } from '../chain/pool-repair.ts';

export const REPORT_SCHEMA_VERSION = '1.4.0';

/** Outcome of a check, a scenario or a requirement. */
export type Status = 'pass' | 'fail' | 'warn' | 'not-applicable' | 'error' | 'indeterminate';
/** Requirements may additionally be `uncovered` (no scenario checks them). */
export type RequirementStatus = Status | 'uncovered';

export interface Counterexample {
  /** Requirement the shrunk case violates (absent for a harness error). */
  requirement?: string;
  /** The error message (expected vs actual for a violation). */
  message: string;
  /** Readable agent actions of the shrunk failing run, in order. */
  actions: string[];
  /** fast-check's rendering of the generated value (trimmed). */
  value: string;
  /** fast-check replay handle. */
  seed: number;
  path: string;
  replayPath?: string;
}

export interface ScenarioReport {
  id: string;
  /** `<protocol>/<scenario>`, the id `amh replay --case` takes. */
  caseId: string;
  title: string;
  kind: 'property' | 'model';
  requirements: string[];
  status: Status;
  reason?: string;
  /** Property runs completed (the failing one included, shrink attempts not). */
  runs: number;
  /** Runs asked for (`--runs`); `reason` says why fewer ran (first failure, time budget, preconditions). */
  runsPlanned: number;
  /** Every execution of the scenario body, shrink attempts included. */
  executions: number;
  shrinks: number;
  seed: number;
  durationMs: number;
  interrupted: boolean;
  counterexample?: Counterexample;
  replay?: string;
  /** Checks executed per requirement id (passed/failed) across this scenario's runs (since 1.2). */
  checks?: Record<string, { passed: number; failed: number }>;
  /**
   * Reference runs (since 1.4): anvil stranded a sender's transaction in its pool while this
   * scenario ran, and the harness sent it back (harness/chain/pool-repair.ts). Absent when nothing
   * was stranded; `lost`: transactions the node would not take back.
   */
  nodeRepairs?: NodeRepairs;
}

/** A catalog requirement with its verdict and evidence. */
export interface RequirementReport extends Omit<Requirement, 'constants'> {
  /** Protocol constants this requirement depends on, with the run's values as text (since 1.3). */
  constants?: Record<string, string>;
  status: RequirementStatus;
  reason?: string;
  checks: { passed: number; failed: number };
  scenarios: string[];
  evidence: Evidence[];
}

export interface ProtocolReport {
  id: string;
  title: string;
  /** The spec revision certified (absent: the protocol declares none). Since 1.3.0. */
  revision?: { id: string; title: string; source: string };
  /** How much of the protocol's documents and surface the catalog covers (absent: no register yet). */
  register?: Omit<RegisterCoverage, 'problems'> & { problems: number };
  requirements: RequirementReport[];
  scenarios: ScenarioReport[];
}

export interface Summary {
  pass: number;
  fail: number;
  warn: number;
  notApplicable: number;
  error: number;
  indeterminate: number;
  uncovered: number;
  /** Number of checks executed across all runs. */
  checks: number;
}

export interface TargetInfo {
  name: string;
  version?: string;
  kind: 'reference' | 'file';
  /** Path of the target file (certify), to re-load it for replay. */
  source?: string;
  capabilities: string[];
  chains: { id: string; chainId: number; rpcUrl: string }[];
  /** Endpoint URLs by name (what the scenarios talked to). */
  endpoints?: Record<string, string>;
}

export interface Report {
  schemaVersion: string;
  harness: { name: string; version: string };
  command: string;
  target: TargetInfo;
  seed: number;
  runs: number;
  startedAt: string;
  durationMs: number;
  /** 0 every MUST passed, 1 a MUST failed (or is indeterminate), 2 harness error / nothing executed. */
  exitCode: 0 | 1 | 2;
  summary: Summary;
  /** Scenario-independent harness problems (e.g. a chain that did not start). */
  errors: string[];
  protocols: ProtocolReport[];
  /** `--grep` of the run, when one was given (since 1.2; replaying a bundle selects the same cases). */
  grep?: string;
  /** Set on the report of one shard (`--shard i/N`, since 1.2): what `amh report --merge` needs. */
  shard?: ShardInfo;
  /** Set on a report merged from shards (`amh report --merge`). */
  merged?: { shards: number };
  /** Set when the run was judged against a baseline of accepted failures (`--baseline`). */
  baseline?: BaselineResult;
  /** The what-if profile of the run (`--profile`, since 1.3); null or absent: every constant at its default. */
  profile?: ProfileInfo | null;
}

/** A what-if profile as a report records it. */
export interface ProfileInfo {
  name: string;
  /** The profile file as given. */
  source?: string;
  /** SHA-256 of the canonical JSON of `constants` with `pinnedDefaults` (harness/profiles/profile.ts). */
  hash: string;
  /** Protocol id → constant → value (as text), only those that differ from the pack's default. */
  constants: Record<string, Record<string, string>>;
  /** Implementation-defined constants the profile names at their default (checked, values unchanged). */
  pinnedDefaults?: Record<string, Record<string, string>>;
}

/** One shard's place in the whole run. */
export interface ShardInfo {
  /** 1-based. */
  index: number;
  total: number;
  /** Every case id of the unsharded selection, in run order (shard i runs those at positions k with k mod total = i-1). */
  cases: string[];
  /** Selected protocols with every requirement id of their catalogs, in catalog order. */
  protocols: { id: string; requirements: string[] }[];
}

/** How a run compares with its baseline (harness/report/baseline.ts). */
export interface BaselineResult {
  /** Path of the baseline file as given. */
  file: string;
  /** Exit code before the baseline was applied. */
  exitCodeWithout: 0 | 1 | 2;
  /** Failing requirements the baseline accepts. */
  accepted: BaselineItem[];
  /** Baseline entries whose requirement now passes: the entry must go (fails the run). */
  stale: BaselineItem[];
  /** Failures (MUST fail or indeterminate) the baseline does not list (fail the run). */
  new: BaselineItem[];
  /** SHOULD/MAY warnings the baseline does not list (reported, do not fail the run). */
  newWarnings: BaselineItem[];
  /** Entries that could not be judged here: requirement not selected, not-applicable, uncovered, or (in a shard) passing only in this shard. */
  unchecked: BaselineItem[];
}

export interface BaselineItem {
  protocol: string;
  requirement: string;
  status: RequirementStatus | 'absent';
  /** The baseline's reason (accepted, stale, unchecked) or the requirement's (new). */
  reason?: string;
}
