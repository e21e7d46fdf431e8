/**
 * Scenario DSL on fast-check. A scenario declares the requirements it checks, the capabilities,
 * roles, contracts and endpoints it needs, how its runs are isolated, its arbitraries, and either a
 * property (`run(ctx, value)`) or model-based commands (`fc.commands` + `asyncModelRun`, or
 * `scheduledModelRun` when agents race). A protocol module gathers a pack's requirements, scenarios
 * and what it adds to the target format; `defineProtocol` checks the declarations when the pack
 * loads, so a typo fails there instead of turning into a silent not-applicable.
 */
import type fc from 'fast-check';
import type { z } from 'zod';
import { ROLE_NAMES } from '../chain/accounts.ts';
import { CORE_CAPABILITIES, type Capability, type ProtocolTargetSection, type Target, type TargetChain } from '../target/schema.ts';
import type { Requirement } from './catalog.ts';
import type { RunContext } from './context.ts';
import type { Register } from './register.ts';
import type { PackConstants } from '../profiles/constants.ts';
import type { Profile } from '../profiles/profile.ts';

/** What a scenario can see when it builds its arbitraries (before any run). */
export interface ScenarioEnv {
  target: Target;
  /** Target chains that declare every contract in the scenario's `needs`. */
  chains: TargetChain[];
  /**
   * The what-if profile of the run (`--profile`), or null for the defaults: read a pack's values
   * with `<PACK>_CONSTANTS.of(env.profile)` (absent in hand-made environments: the defaults).
   */
  profile?: Profile | null;
}

/**
 * How the runs of a scenario are kept apart:
 * - `snapshot` (default): each run's chain writes are undone (evm_snapshot / evm_revert);
 * - `live`: nothing is undone, because the target's servers keep state (a database, a nonce cache)
 *   that a chain revert would not roll back; runs use fresh agents, tasks and nonces instead;
 * - `reset`: the target's servers are reset between runs (needs the `reset` capability).
 */
export type Isolation = 'snapshot' | 'live' | 'reset';

interface ScenarioBase {
  /** Unique within its protocol; the case id in reports is `<protocol>/<id>`. */
  id: string;
  title: string;
  /** Requirement ids this scenario checks (each `ctx.check` must name one of them). */
  requirements: string[];
  /** Target capabilities needed; absent → not-applicable with the reason. */
  capabilities?: Capability[];
  /** Funded role accounts needed (e.g. 'buyer1'); absent → not-applicable. */
  roles?: string[];
  /**
   * Roles that only sign or receive (an attacker's forged signature, a wrong payTo) and hold no
   * funds: when the target declares no such account, the harness uses a throwaway key.
   */
  signers?: string[];
  /** Non-EVM keys needed (a Nostr identity, an Ed25519 signing key, a Lightning node); absent → not-applicable. */
  keys?: { role: string; kind: 'ed25519' | 'nostr' | 'lightning' }[];
  /** Contracts that must be declared on a chain ('usdc', 'identityRegistry', ...); chains lacking them are skipped. */
  needs?: string[];
  /** Named target endpoints the scenario talks to (declared by its protocol); absent → not-applicable. */
  endpoints?: string[];
  /** Run isolation (default `snapshot`). */
  isolation?: Isolation;
  /**
   * At most this many property runs, whatever `--runs` asks: for a costly scenario that tries every
   * case in every run (rule 4), where more runs only vary the generated order and values. The
   * report's `runsPlanned` shows the cap.
   */
  maxRuns?: number;
  /**
   * How long one property run may take before it is a harness error (default RUN_TIMEOUT_MS, 120 s):
   * longer for a scenario whose runs are slow by nature (crash scenarios restart a server many times).
   */
  runTimeoutMs?: number;
  /**
   * `false`: a failing run is reported as it failed, without fast-check's shrinking (which runs the
   * property again many times): for a scenario whose runs are slow by nature and whose inputs are
   * few and small (crash scenarios), where a shrunk counterexample says little more.
   */
  shrink?: boolean;
}

/** Property scenario: one generated value per run; `setup` (optional) builds a per-run fixture first. */
export interface PropertyScenario<T = any, F = any> extends ScenarioBase {
  kind: 'property';
  arbitrary(env: ScenarioEnv): fc.Arbitrary<T>;
  setup?(ctx: RunContext): Promise<F>;
  run(ctx: RunContext, value: T, fixture: F): Promise<void>;
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

/**
 * A harness-side helper a target can point its servers at (a deterministic reviewer, a relay...):
 * started for a run when the target's `config.<protocol>` asks for it, it grants capabilities.
 */
export interface ProtocolFixture {
  name: string;
  description: string;
  /** Start it if `section` (the parsed config section) asks for it; null when it does not. */
  start(section: unknown, log: (line: string) => void): Promise<{ capabilities: Capability[]; describe: string; stop(): Promise<void> } | null>;
}

/**
 * An endpoint a protocol's scenarios talk to. `probe` is the first-contact request that tells a
 * reachable entry point from a wrong URL: a path below the endpoint URL (GET), or '' for the
 * endpoint's own request (its declared method and body). A 404/405 or no answer there is a target
 * problem, not a requirement failure.
 */
export interface EndpointDeclaration {
  description: string;
  probe?: { path: string; method?: string };
}

/** A protocol = its requirement catalog, its scenarios and what it adds to targets (one folder in scenarios/). */
/**
 * A published revision of a protocol's specification (x402 v1 / v2, an ERC's draft of a date, a
 * pull request's commit). Requirements name the revisions they belong to; `--spec` selects one, and
 * the report names the revision it certified.
 */
export interface SpecRevision {
  /** Short id used on the command line, e.g. `v2`, `2026-01`, `pr-2273@7f3c1e2`. */
  id: string;
  title: string;
  /** Where this revision is published: a URL, a commit, a document and its date. */
  source: string;
  /** The revision certified when `--spec` does not name one (exactly one per protocol). */
  default?: boolean;
  /** Why the harness certifies few or none of this revision's rules, when so (shown by `amh list` and in errors). */
  note?: string;
}

export interface ProtocolModule extends ProtocolTargetSection {
  id: string;
  title: string;
  /** One line for the README's protocol table and `amh list` (default: the title). */
  summary?: string;
  /** Sort key in reports and listings (lower first; default 100, then by id). */
  order?: number;
  requirements: readonly Requirement[];
  scenarios: Scenario[];
  /** Endpoint names the scenarios use → what the endpoint is (documented in `amh list`) and its probe. */
  endpoints?: Record<string, string | EndpointDeclaration>;
  /** Protocol capabilities `<id>:<name>` → what the target promises by declaring it. */
  capabilities?: Record<string, string>;
  /** Schema of the target's `config.<id>` section. */
  config?: z.ZodType;
  fixtures?: ProtocolFixture[];
  /** Traceability from the protocol's documents and public surface to the catalog (register.ts). */
  register?: Register;
  /** Documentation links for `amh list --markdown` (repository-relative). */
  docs?: { readme?: string; profile?: string };
  /** The spec revisions its requirements belong to, oldest first, one of them the default. */
  revisions?: readonly SpecRevision[];
  /**
   * The pack's protocol constants (reference-impl/<id>/protocol/constants.ts): `{name}` placeholders
   * in requirement titles and texts show the run's values, and the report lists per requirement the
   * constants it depends on.
   */
  constants?: PackConstants;
}

/** The revision a run certifies: `id` if given (it must be declared), else the protocol's default. */
export function revisionOf(p: ProtocolModule, id?: string): SpecRevision | undefined {
  if (id === undefined) return p.revisions?.find((r) => r.default);
  const r = p.revisions?.find((x) => x.id === id);
  if (!r) throw new Error(`protocol ${p.id} has no spec revision '${id}' (revisions: ${p.revisions?.map((x) => x.id).join(', ') || 'none declared'})`);
  return r;
}

/** Whether a requirement belongs to revision `rev` (a requirement naming no revision belongs to all). */
export function inRevision(r: Pick<Requirement, 'revisions'>, rev: string | undefined): boolean {
  return rev === undefined || !r.revisions || r.revisions.includes(rev);
}

/** The ids of the requirements of `p` that revision `rev` does not have: a run at `rev` leaves them out. */
export function outsideRevision(p: ProtocolModule, rev: SpecRevision | undefined): ReadonlySet<string> {
  return new Set(p.requirements.filter((r) => !inRevision(r, rev?.id)).map((r) => r.id));
}

/** Identity helpers that give literal types and validate the declaration early. */
export function defineScenario<T, F = undefined>(s: PropertyScenario<T, F>): PropertyScenario<T, F>;
export function defineScenario<M extends object, R>(s: ModelScenario<M, R>): ModelScenario<M, R>;
export function defineScenario(s: Scenario): Scenario {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(s.id)) throw new Error(`scenario id '${s.id}' must be kebab-case`);
  if (s.requirements.length === 0) throw new Error(`scenario ${s.id} checks no requirement`);
  if (s.maxRuns !== undefined && !(Number.isInteger(s.maxRuns) && s.maxRuns >= 1)) throw new Error(`scenario ${s.id}: maxRuns must be a positive integer, got ${s.maxRuns}`);
  return s;
}

/**
 * Validate a protocol when it loads: unique scenario ids; every scenario's requirements exist in the
 * catalog; its roles are known role names; its endpoints and protocol capabilities are declared by
 * the protocol; core capabilities are known; `reset` isolation comes with the `reset` capability.
 */
export function defineProtocol(p: ProtocolModule): ProtocolModule {
  const ids = new Set(p.requirements.map((r) => r.id));
  if (p.revisions) {
    const revs = p.revisions.map((r) => r.id);
    for (const r of p.revisions) if (!/^[a-z0-9][a-z0-9.@-]*$/i.test(r.id)) throw new Error(`protocol ${p.id}: spec revision id '${r.id}' must be letters, digits, '.', '@' or '-'`);
    if (new Set(revs).size !== revs.length) throw new Error(`protocol ${p.id}: duplicate spec revision id`);
    if (p.revisions.filter((r) => r.default).length !== 1) throw new Error(`protocol ${p.id}: exactly one spec revision must be the default`);
    for (const q of p.requirements)
      for (const r of q.revisions ?? []) if (!revs.includes(r)) throw new Error(`protocol ${p.id}: requirement ${q.id} names unknown spec revision '${r}' (declared: ${revs.join(', ')})`);
  } else if (p.requirements.some((q) => q.revisions)) throw new Error(`protocol ${p.id}: requirements name spec revisions but the protocol declares none`);
  if (p.constants && p.constants.protocol !== p.id) throw new Error(`protocol ${p.id}: its constants are declared for '${p.constants.protocol}'`);
  for (const r of p.requirements)
    for (const c of r.constants ?? []) if (!p.constants?.declarations[c]) throw new Error(`protocol ${p.id}: requirement ${r.id} depends on constant '${c}', which the pack does not declare`);
  const sids = new Set<string>();
  const err = (s: Scenario, what: string) => new Error(`protocol ${p.id}: scenario ${s.id} ${what}`);
  for (const c of Object.keys(p.capabilities ?? {})) if (!c.startsWith(`${p.id}:`)) throw new Error(`protocol ${p.id}: capability '${c}' must be named '${p.id}:<name>'`);
  for (const s of p.scenarios) {
    if (sids.has(s.id)) throw new Error(`protocol ${p.id}: duplicate scenario id '${s.id}'`);
    sids.add(s.id);
    for (const r of s.requirements) if (!ids.has(r)) throw err(s, `names unknown requirement ${r}`);
    for (const r of [...(s.roles ?? []), ...(s.signers ?? []), ...(s.keys ?? []).map((k) => k.role)])
      if (!(ROLE_NAMES as readonly string[]).includes(r)) throw err(s, `needs unknown role '${r}' (roles: ${ROLE_NAMES.join(', ')})`);
    for (const e of s.endpoints ?? [])
      if (!p.endpoints?.[e]) throw err(s, `talks to endpoint '${e}', which protocol ${p.id} does not declare (declared: ${Object.keys(p.endpoints ?? {}).join(', ') || 'none'})`);
    for (const c of s.capabilities ?? []) {
      if (c.includes(':') ? !p.capabilities?.[c] : !(c in CORE_CAPABILITIES)) throw err(s, `needs unknown capability '${c}'`);
    }
    if (s.isolation === 'reset' && !s.capabilities?.includes('reset')) throw err(s, "uses 'reset' isolation without needing the 'reset' capability");
  }
  return p;
}
