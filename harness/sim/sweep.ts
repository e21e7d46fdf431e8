/**
 * Sweeps (`amh simulate sweep.yaml`): a base economy, a grid of parameters (dotted paths into the
 * economy, each with a list of values) and seeds. Every grid point × seed is one run of
 * `runSimulation`, carried out by a pool of local worker processes; `--shard i/N` keeps the runs
 * of one shard (the certification shards' rule, harness/util/shard.ts), and `mergeSweeps` joins
 * the shards' folders into what one machine would have written.
 *
 * Output folder (default reports/sim/<sweep name>/):
 *   <point>/economy.json     the point's economy (the base with the point's values): runs alone
 *   <point>/seed-<S>/        one run's files (metrics.json, events.csv, tasks.csv, report.html)
 *   sweep.json               the grid, each run's key metrics and conservation verdict, the means
 *                            per point (versioned, {@link SWEEP_SCHEMA_VERSION})
 *   sweep.html               the heat map of the chosen metric over two swept parameters, the table
 * Everything in sweep.json but `run` (wall-clock facts) is a function of the sweep file, the base
 * economy, the engine and the what-if profile.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import canonicalize from 'canonicalize';
import workerpool from 'workerpool';
import { z } from 'zod';
import { loadConstants, loadSimulations } from '../packs/discover.ts';
import { type Profile, resolveProfile } from '../profiles/profile.ts';
import { issueLines } from '../target/schema.ts';
import { type Shard, shardItems, shardSetProblem } from '../util/shard.ts';
import { EconomyError, parseEconomy, readDataFile } from './economy.ts';
import type { Metrics } from './metrics.ts';
import { resolveProfiles } from './model-engine.ts';
import { checkStackable } from './stack-engine.ts';
import { json } from './output.ts';
import type { SimulationPack } from './pack.ts';
import type { Engine, SimulationRunOptions } from './run.ts';
import { withWhatIf } from './run.ts';
import { renderSweepHtml } from './sweep-html.ts';

/** Bump the minor version for added fields, the major one for a changed or removed field. */
export const SWEEP_SCHEMA_VERSION = '1.0.0';

/** The metrics of each run that sweep.json keeps (dotted paths into metrics.json) and how to read them. */
export const KEY_METRICS = {
  tasks: 'count',
  'rates.paid': 'ratio',
  'rates.refund': 'ratio',
  'rates.timeout': 'ratio',
  'rates.notCharged': 'ratio',
  'rates.refused': 'ratio',
  'rates.rejection': 'ratio',
  'rates.paidForBadWork': 'ratio',
  'timeToSettleMs.p50': 'ms',
  'timeToSettleMs.p95': 'ms',
  'throughput.settledPerSimHour': 'number',
  'welfare.buyerSurplus': 'money',
  'welfare.sellerProfit': 'money',
  'welfare.total': 'money',
  'reputation.rankCorrelationWithTrueQuality': 'number',
  'gini.sellerEarnings': 'number',
} as const;
export type KeyMetric = keyof typeof KEY_METRICS;
const METRIC_NAMES = Object.keys(KEY_METRICS) as [KeyMetric, ...KeyMetric[]];

/** A dotted path: keys of objects, or a population's name (or an index) in a list. */
const dotted = z.string().regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'must be a dotted path such as profiles.agentripe.reviewLimit or populations.pros.count');
const gridValue = z.union([z.number(), z.string(), z.boolean()], { error: 'a grid value is a number, a string or a boolean' });

export const SweepSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1-64 characters of a-z, 0-9, "-" and "_", starting with a letter or digit'),
    description: z.string().optional(),
    base: z
      .union([z.string().min(1), z.record(z.string(), z.unknown())], { error: 'must be an economy file (path relative to the sweep file) or an inline economy' })
      .describe('the economy every point starts from'),
    grid: z
      .record(
        dotted,
        z
          .array(gridValue)
          .min(1, 'give at least one value')
          .refine((vs) => new Set(vs.map((v) => JSON.stringify(v))).size === vs.length, 'values must be distinct'),
      )
      .refine((g) => Object.keys(g).length > 0, 'name at least one parameter with its values, e.g. {profiles.agentripe.reviewLimit: [2, 5]}'),
    seeds: z
      .union([
        z.number().int().min(1).max(10_000),
        z
          .array(
            z
              .number()
              .int()
              .min(0)
              .max(2 ** 31 - 1),
          )
          .min(1)
          .refine((s) => new Set(s).size === s.length, 'seeds must be distinct'),
      ])
      .default(1)
      .describe('a count N (seeds 1..N) or a list of seeds'),
    heatmap: z
      .object({
        x: dotted.optional(),
        y: dotted.optional(),
        metric: z.enum(METRIC_NAMES, { error: `must be one of ${METRIC_NAMES.join(', ')}` }).default('welfare.total'),
      })
      .strict()
      .default({ metric: 'welfare.total' }),
  })
  .strict()
  .superRefine((s, ctx) => {
    const points = Object.values(s.grid).reduce((a, vs) => a * vs.length, 1);
    const seeds = typeof s.seeds === 'number' ? s.seeds : s.seeds.length;
    if (points * seeds > 100_000) ctx.addIssue({ code: 'custom', path: ['grid'], message: `${points} points × ${seeds} seeds is more than 100,000 runs` });
    if ('seed' in s.grid) ctx.addIssue({ code: 'custom', path: ['grid', 'seed'], message: 'the seeds of a sweep are its `seeds` (each run sets the seed)' });
    for (const axis of ['x', 'y'] as const) {
      const p = s.heatmap[axis];
      if (p !== undefined && !(p in s.grid)) ctx.addIssue({ code: 'custom', path: ['heatmap', axis], message: `'${p}' is not a grid parameter (${Object.keys(s.grid).join(', ')})` });
    }
    if (s.heatmap.x !== undefined && s.heatmap.x === s.heatmap.y) ctx.addIssue({ code: 'custom', path: ['heatmap', 'y'], message: 'x and y must be different parameters' });
  });
export type SweepDefinition = z.output<typeof SweepSchema>;

/** A file is a sweep when it has a grid (an economy never has one). */
export function isSweepData(data: unknown): boolean {
  return typeof data === 'object' && data !== null && !Array.isArray(data) && 'grid' in data;
}

type GridValue = z.output<typeof gridValue>;

/**
 * Set `value` at a dotted path of plain data: object keys (missing objects on the way are created),
 * list elements by their `name` (populations) or index. Throws a readable Error when a step does
 * not exist or is not a container.
 */
export function setPath(data: unknown, dottedPath: string, value: unknown): void {
  const steps = dottedPath.split('.');
  let cur = data;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const last = i === steps.length - 1;
    const where = steps.slice(0, i).join('.') || 'the economy';
    if (Array.isArray(cur)) {
      const k = /^\d+$/.test(step) ? Number(step) : cur.findIndex((x) => typeof x === 'object' && x !== null && (x as { name?: unknown }).name === step);
      if (k < 0 || k >= cur.length) throw new Error(`${where} has no element '${step}' (give a name or an index below ${cur.length})`);
      if (last) cur[k] = value;
      else cur = cur[k];
    } else if (typeof cur === 'object' && cur !== null) {
      const o = cur as Record<string, unknown>;
      if (last) o[step] = value;
      else {
        if (o[step] === undefined) o[step] = {};
        cur = o[step];
      }
    } else throw new Error(`${where} is not an object or a list, so it has no '${step}'`);
  }
}

export interface SweepPoint {
  /** p1, p2, … (zero-padded to the count): its folder. */
  id: string;
  params: Record<string, GridValue>;
  /** The base economy with the point's values (plain data, as written to economy.json). */
  economy: unknown;
}

export interface SweepPlan {
  file: string;
  def: SweepDefinition;
  /** The base economy file as given (relative to the sweep file), or 'inline'. */
  base: string;
  engine: Engine;
  whatIf: Profile | undefined;
  /** What the whole output depends on (sha256 of the canonical JSON of definition, base, engine, profile). */
  hash: string;
  parameters: { path: string; values: GridValue[] }[];
  seeds: number[];
  heatmap: { x: string; y: string | null; metric: KeyMetric };
  points: SweepPoint[];
  /** Every run, in the fixed order that shards are dealt from: point by point, seed by seed. */
  cases: { point: SweepPoint; seed: number; dir: string }[];
}

/** Every combination of the grid's values, the first parameter varying slowest. */
function combinations(parameters: SweepPlan['parameters']): Record<string, GridValue>[] {
  return parameters.reduce<Record<string, GridValue>[]>((acc, p) => acc.flatMap((c) => p.values.map((v) => ({ ...c, [p.path]: v }))), [{}]);
}

export const paramText = (params: Record<string, unknown>) =>
  Object.entries(params)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

/**
 * Read a sweep file and check it whole before anything runs: the file against the schema, the base
 * economy, and every point's economy (schema and protocol constants), each error naming the point.
 */
export async function loadSweep(file: string, o: { engine: Engine; profile?: string; packs?: ReadonlyMap<string, SimulationPack>; data?: unknown }): Promise<SweepPlan> {
  const raw = o.data ?? (await readDataFile(file, 'sweep'));
  const r = SweepSchema.safeParse(raw);
  if (!r.success) throw new EconomyError(`invalid sweep file ${file}:\n${issueLines(r.error.issues).join('\n')}`);
  const def = r.data;
  const baseFile = typeof def.base === 'string' ? path.resolve(path.dirname(file), def.base) : undefined;
  const baseData = baseFile ? await readDataFile(baseFile, 'economy') : def.base;
  parseEconomy(baseData, baseFile ? `file ${baseFile} (the sweep's base)` : `base of sweep file ${file}`);
  const whatIf = await resolveProfile(o.profile, await loadConstants());
  const packs = o.packs ?? (await loadSimulations());
  const parameters = Object.entries(def.grid).map(([p, values]) => ({ path: p, values }));
  if (whatIf)
    for (const p of parameters) {
      const m = /^profiles\.([^.]+)\.([^.]+)$/.exec(p.path);
      if (m && whatIf.overrides[m[1]!]?.[m[2]!] !== undefined)
        throw new EconomyError(`sweep file ${file}: grid parameter ${p.path} is also set by the --profile file, which would override every value`);
    }
  const combos = combinations(parameters);
  const width = String(combos.length).length;
  const points = combos.map((params, k): SweepPoint => {
    const id = `p${String(k + 1).padStart(width, '0')}`;
    const economy = structuredClone(baseData);
    for (const [p, v] of Object.entries(params)) {
      try {
        setPath(economy, p, v);
      } catch (e) {
        throw new EconomyError(`sweep file ${file}: grid.${p}: ${(e as Error).message}`);
      }
    }
    const where = `sweep point ${id} (${paramText(params)})`;
    const parsed = parseEconomy(economy, where);
    try {
      const profiles = resolveProfiles(withWhatIf(parsed, whatIf), packs);
      if (o.engine === 'stack') checkStackable(parsed, packs, profiles);
    } catch (e) {
      throw new EconomyError(`${where}: ${(e as Error).message}`);
    }
    return { id, params, economy };
  });
  const seeds = typeof def.seeds === 'number' ? Array.from({ length: def.seeds }, (_x, k) => k + 1) : def.seeds;
  const keys = parameters.map((p) => p.path);
  // With one parameter it is the x axis (whichever axis the file named) and there is no y.
  const x = def.heatmap.x ?? keys.find((k) => k !== def.heatmap.y) ?? keys[0]!;
  const y = def.heatmap.y !== undefined && def.heatmap.y !== x ? def.heatmap.y : (keys.find((k) => k !== x) ?? null);
  const hash = createHash('sha256')
    .update(canonicalize({ sweep: { ...def, base: baseData }, engine: o.engine, profile: whatIf?.hash ?? null }) ?? '')
    .digest('hex');
  return {
    file,
    def,
    base: typeof def.base === 'string' ? def.base : 'inline',
    engine: o.engine,
    whatIf,
    hash,
    parameters,
    seeds,
    heatmap: { x, y, metric: def.heatmap.metric },
    points,
    cases: points.flatMap((point) => seeds.map((seed) => ({ point, seed, dir: `${point.id}/seed-${seed}` }))),
  };
}

/** One run's entry in sweep.json. */
export interface SweepRun {
  seed: number;
  /** The run's folder, relative to the sweep's. */
  dir: string;
  conserved: boolean;
  violations: number;
  metrics: Record<KeyMetric, number | string | null>;
}

/** sweep.json. */
export interface SweepJson {
  schemaVersion: string;
  name: string;
  description?: string;
  sweepFile: string;
  base: string;
  hash: string;
  engine: Engine;
  whatIf: { name: string; hash: string } | null;
  parameters: { path: string; values: GridValue[] }[];
  seeds: number[];
  heatmap: { x: string; y: string | null; metric: KeyMetric };
  unit: string;
  /** Every run in this folder conserved money (false when one did not; true for a sweep with no run yet). */
  conserved: boolean;
  points: {
    id: string;
    params: Record<string, GridValue>;
    economy: string;
    runs: SweepRun[];
    /** Per key metric, the mean over the point's runs that have a value (money: base units, rounded toward zero). */
    mean: Record<KeyMetric, number | string | null>;
    conserved: boolean;
  }[];
  /** Only in a shard's sweep.json: which shard, and every run of the whole sweep in dealing order. */
  shard?: { index: number; total: number; cases: string[] };
  /** How it ran (wall-clock facts, worker count, or the number of shards merged): not a function of the sweep. */
  run: { startedAt: string; wallMs: number; workers?: number; mergedShards?: number };
}

function pick(m: Metrics, dottedPath: string): number | string | null {
  let cur: unknown = m;
  for (const k of dottedPath.split('.')) cur = (cur as Record<string, unknown> | null)?.[k];
  return typeof cur === 'number' || typeof cur === 'string' ? cur : null;
}

export function keyMetrics(m: Metrics): Record<KeyMetric, number | string | null> {
  return Object.fromEntries(METRIC_NAMES.map((k) => [k, pick(m, k)])) as Record<KeyMetric, number | string | null>;
}

function mean(runs: readonly SweepRun[], k: KeyMetric): number | string | null {
  const vs = runs.map((r) => r.metrics[k]).filter((v) => v !== null);
  if (vs.length === 0) return null;
  if (KEY_METRICS[k] === 'money') return String(vs.reduce<bigint>((a, v) => a + BigInt(v), 0n) / BigInt(vs.length));
  return (vs as number[]).reduce((a, v) => a + v, 0) / vs.length;
}

/** The head of sweep.json: everything that describes the sweep, none of its results. */
export type SweepHead = Omit<SweepJson, 'conserved' | 'points' | 'shard' | 'run'> & { points: { id: string; params: Record<string, GridValue> }[] };

export function sweepHead(plan: SweepPlan): SweepHead {
  return {
    schemaVersion: SWEEP_SCHEMA_VERSION,
    name: plan.def.name,
    ...(plan.def.description ? { description: plan.def.description } : {}),
    sweepFile: plan.file,
    base: plan.base,
    hash: plan.hash,
    engine: plan.engine,
    whatIf: plan.whatIf ? { name: plan.whatIf.name, hash: plan.whatIf.hash } : null,
    parameters: plan.parameters,
    seeds: plan.seeds,
    heatmap: plan.heatmap,
    unit: 'money: USDC base units (6 decimals), as decimal strings',
    points: plan.points.map((p) => ({ id: p.id, params: p.params })),
  };
}

/** sweep.json from its head and the runs done (in any order): points in grid order, runs by seed order. */
export function buildSweepJson(head: SweepHead, runs: readonly SweepRun[], extra: Pick<SweepJson, 'run'> & Partial<Pick<SweepJson, 'shard'>>): SweepJson {
  const byDir = new Map(runs.map((r) => [r.dir, r]));
  const points = head.points.map((p) => {
    const own = head.seeds.flatMap((s) => byDir.get(`${p.id}/seed-${s}`) ?? []);
    return {
      id: p.id,
      params: p.params,
      economy: `${p.id}/economy.json`,
      runs: own,
      mean: Object.fromEntries(METRIC_NAMES.map((k) => [k, mean(own, k)])) as Record<KeyMetric, number | string | null>,
      conserved: own.every((r) => r.conserved),
    };
  });
  return {
    ...head,
    conserved: points.every((p) => p.conserved),
    points,
    ...(extra.shard ? { shard: extra.shard } : {}),
    run: extra.run,
  };
}

/** What a worker is asked to do: one run, written to `out`. */
export interface SweepJob extends Pick<SimulationRunOptions, 'file' | 'engine' | 'out' | 'seed' | 'profile' | 'recordFileAs'> {}

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sweep-worker.ts');

/**
 * Node options of a worker process: run TypeScript through tsx, as the amh launcher does, and drop
 * node:sqlite's experimental warning (a stack run starts the reference servers), as it does.
 */
function workerExecArgv(): string[] {
  const tsx = path.join(path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'loader.mjs');
  return ['--import', pathToFileURL(tsx).href, '--disable-warning=ExperimentalWarning'];
}

export interface SweepOptions {
  file: string;
  engine: Engine;
  out?: string;
  profile?: string;
  /** Worker processes (default: the core count). */
  workers?: number;
  shard?: Shard;
  /** Once the sweep is checked: how many runs this process will carry out. */
  onStart?: (runs: number) => void;
  /** After each finished run: how many are done of how many. */
  onRun?: (p: { done: number; total: number; dir: string }) => void;
  /** The file's data when already read. */
  data?: unknown;
}

export interface SweepResult {
  sweep: SweepJson;
  dir: string;
  files: string[];
  /** 0 every run conserved money, 1 one did not. */
  exitCode: 0 | 1;
}

async function writeSweep(dir: string, sweep: SweepJson): Promise<string[]> {
  const files = [path.join(dir, 'sweep.json'), path.join(dir, 'sweep.html')];
  await writeFile(files[0]!, json(sweep));
  await writeFile(files[1]!, await renderSweepHtml(sweep));
  return files;
}

/** Run a sweep (or one shard of it) on local worker processes and write its folder. */
export async function runSweep(o: SweepOptions): Promise<SweepResult> {
  const plan = await loadSweep(o.file, { engine: o.engine, ...(o.profile ? { profile: o.profile } : {}), ...(o.data !== undefined ? { data: o.data } : {}) });
  const dir = o.out ?? path.join('reports', 'sim', plan.def.name);
  const cases = shardItems(plan.cases, o.shard);
  const startedAt = new Date();
  o.onStart?.(cases.length);
  for (const p of new Set(cases.map((c) => c.point))) {
    await mkdir(path.join(dir, p.id), { recursive: true });
    await writeFile(path.join(dir, p.id, 'economy.json'), json(p.economy));
  }
  const workers = Math.max(1, Math.min(o.workers ?? availableParallelism(), cases.length));
  const pool = workerpool.pool(WORKER, { workerType: 'process', maxWorkers: workers, forkOpts: { execArgv: workerExecArgv() } });
  const runs: SweepRun[] = [];
  try {
    let done = 0;
    await Promise.all(
      cases.map(async (c) => {
        const out = path.join(dir, c.dir);
        const job: SweepJob = { file: path.join(dir, c.point.id, 'economy.json'), engine: o.engine, out, seed: c.seed, recordFileAs: '../economy.json', ...(o.profile ? { profile: o.profile } : {}) };
        const run = (await pool.exec('run', [job])) as Omit<SweepRun, 'seed' | 'dir'>;
        runs.push({ seed: c.seed, dir: c.dir, ...run });
        o.onRun?.({ done: ++done, total: cases.length, dir: c.dir });
      }),
    );
  } finally {
    // Not forced: a run already started finishes (a stack run stops its chains and servers); the
    // runs still queued are cancelled.
    await pool.terminate();
  }
  const sweep = buildSweepJson(sweepHead(plan), runs, {
    run: { startedAt: startedAt.toISOString(), wallMs: Date.now() - startedAt.getTime(), workers },
    ...(o.shard ? { shard: { ...o.shard, cases: plan.cases.map((c) => c.dir) } } : {}),
  });
  return { sweep, dir, files: await writeSweep(dir, sweep), exitCode: sweep.conserved ? 0 : 1 };
}

/** Shard folders that cannot be merged (missing, duplicate, or from another sweep). */
export class SweepMergeError extends Error {
  override name = 'SweepMergeError';
}

/**
 * Join the folders of every shard of one sweep into `out`: their run folders and point economies
 * copied, sweep.json rebuilt from all runs (the same as the unsharded sweep's but for `run`), and
 * sweep.html. Refused when a shard is missing, given twice, from another sweep, or not complete.
 */
export async function mergeSweeps(dirs: readonly string[], out: string): Promise<SweepResult> {
  if (dirs.length === 0) throw new SweepMergeError('nothing to merge: give the folder of every shard');
  const inputs = await Promise.all(
    dirs.map(async (d) => {
      const file = path.join(d, 'sweep.json');
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (e) {
        throw new SweepMergeError(`cannot read ${file}: ${(e as Error).message} (give the folders written by amh simulate SWEEP --shard i/N)`);
      }
      return { dir: d, sweep: JSON.parse(text) as SweepJson };
    }),
  );
  const notShard = inputs.filter((x) => !x.sweep.shard);
  if (notShard.length) throw new SweepMergeError(`${notShard.map((x) => x.dir).join(', ')}: not the output of a shard (amh simulate SWEEP --shard i/N)`);
  const first = inputs[0]!;
  for (const x of inputs.slice(1)) {
    if (x.sweep.hash !== first.sweep.hash)
      throw new SweepMergeError(`${x.dir} is not a shard of the same sweep as ${first.dir} (the sweep file, its base economy, the engine or the --profile differ)`);
    if (x.sweep.shard!.total !== first.sweep.shard!.total) throw new SweepMergeError(`${x.dir} is one of ${x.sweep.shard!.total} shards, ${first.dir} one of ${first.sweep.shard!.total}`);
  }
  const problem = shardSetProblem(
    inputs.map((x) => ({ file: x.dir, shard: x.sweep.shard!, items: x.sweep.shard!.cases, got: x.sweep.points.flatMap((p) => p.runs.map((r) => r.dir)) })),
    'runs',
    'an interrupted run, or an edited sweep.json?',
  );
  if (problem) throw new SweepMergeError(problem);
  await mkdir(out, { recursive: true });
  for (const x of inputs)
    for (const p of x.sweep.points) {
      if (p.runs.length === 0) continue;
      await cp(path.join(x.dir, p.economy), path.join(out, p.economy));
      for (const r of p.runs) await cp(path.join(x.dir, r.dir), path.join(out, r.dir), { recursive: true });
    }
  const { conserved: _c, points, shard: _s, run: _r, ...rest } = first.sweep;
  const head: SweepHead = { ...rest, points: points.map((p) => ({ id: p.id, params: p.params })) };
  const starts = inputs.map((x) => Date.parse(x.sweep.run.startedAt));
  const ends = inputs.map((x) => Date.parse(x.sweep.run.startedAt) + x.sweep.run.wallMs);
  const sweep = buildSweepJson(
    head,
    inputs.flatMap((x) => x.sweep.points.flatMap((p) => p.runs)),
    { run: { startedAt: new Date(Math.min(...starts)).toISOString(), wallMs: Math.max(...ends) - Math.min(...starts), mergedShards: first.sweep.shard!.total } },
  );
  return { sweep, dir: out, files: await writeSweep(out, sweep), exitCode: sweep.conserved ? 0 : 1 };
}
