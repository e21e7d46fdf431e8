/**
 * Scenario DSL on fast-check. A scenario declares the requirements it checks, the capabilities,
 * roles and contracts it needs, its arbitraries, and either a property (`run(ctx, value)`) or
 * model-based commands (`fc.commands` + `asyncModelRun`, or `scheduledModelRun` when agents race).
 */
import type fc from 'fast-check';
import type { Capability, Target, TargetChain } from '../target/schema.ts';
import type { Requirement } from './catalog.ts';
import type { RunContext } from './context.ts';

/** What a scenario can see when it builds its arbitraries (before any run). */
export interface ScenarioEnv {
  target: Target;
  /** Target chains that declare every contract in the scenario's `needs`. */
  chains: TargetChain[];
}

interface ScenarioBase {
  /** Unique within its protocol; the case id in reports is `<protocol>/<id>`. */
  id: string;
  title: string;
  /** Requirement ids this scenario checks (each `ctx.check` must name one of them). */
  requirements: string[];
  /** Target capabilities needed; absent → not-applicable with the reason. `snapshot` is implied for chain writes. */
  capabilities?: Capability[];
  /** Role accounts needed (e.g. 'buyer1'); absent → not-applicable. */
  roles?: string[];
  /** Contracts that must be declared on a chain ('usdc', 'identityRegistry', ...); chains lacking them are skipped. */
  needs?: string[];
  /** Named target endpoints the scenario talks to (e.g. 'agentripe'); absent → not-applicable. */
  endpoints?: string[];
  /** Upper bound on property runs for an expensive scenario (the CLI's --runs still applies below it). */
  maxRuns?: number;
}

/** Property scenario: one generated value per run. */
export interface PropertyScenario<T = any> extends ScenarioBase {
  kind: 'property';
  arbitrary(env: ScenarioEnv): fc.Arbitrary<T>;
  run(ctx: RunContext, value: T): Promise<void>;
}

/** Model-based scenario: a sequence of agent commands checked against a pure model. */
export interface ModelScenario<M extends object = any, R = any> extends ScenarioBase {
  kind: 'model';
  commands(env: ScenarioEnv): fc.Arbitrary<fc.AsyncCommand<M, R>>[];
  /** Build the initial model and real system; `scheduler` is given for `race` scenarios so commands can schedule concurrent agent actions. */
  setup(ctx: RunContext, scheduler?: fc.Scheduler): Promise<{ model: M; real: R }>;
  maxCommands?: number;
  /** Called after the commands ran (also when none did): await outstanding work, check end-state invariants. */
  finish?(model: M, real: R): Promise<void>;
  /** Run with `fc.scheduledModelRun` so concurrent agent actions interleave under fast-check's control. */
  race?: boolean;
}

export type Scenario = PropertyScenario | ModelScenario;

/** A protocol = its requirement catalog + its scenarios (one folder in scenarios/). */
export interface ProtocolModule {
  id: string;
  title: string;
  requirements: readonly Requirement[];
  scenarios: Scenario[];
}

/** Identity helpers that give literal types and validate the declaration early. */
export function defineScenario<T>(s: PropertyScenario<T>): PropertyScenario<T>;
export function defineScenario<M extends object, R>(s: ModelScenario<M, R>): ModelScenario<M, R>;
export function defineScenario(s: Scenario): Scenario {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(s.id)) throw new Error(`scenario id '${s.id}' must be kebab-case`);
  if (s.requirements.length === 0) throw new Error(`scenario ${s.id} checks no requirement`);
  return s;
}

/** Validate a protocol: every scenario requirement exists in its catalog, scenario ids unique. */
export function defineProtocol(p: ProtocolModule): ProtocolModule {
  const ids = new Set(p.requirements.map((r) => r.id));
  const sids = new Set<string>();
  for (const s of p.scenarios) {
    if (sids.has(s.id)) throw new Error(`protocol ${p.id}: duplicate scenario id '${s.id}'`);
    sids.add(s.id);
    for (const r of s.requirements) if (!ids.has(r)) throw new Error(`protocol ${p.id}: scenario ${s.id} names unknown requirement ${r}`);
  }
  return p;
}
