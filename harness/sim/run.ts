/**
 * One `amh simulate` run: load the economy, discover the packs' simulations, run the engine, compute
 * the metrics and write the output folder.
 */
import path from 'node:path';
import { loadConstants, loadSimulations } from '../packs/discover.ts';
import { resolveProfile, type Profile } from '../profiles/profile.ts';
import { type Economy, loadEconomyFile, parseEconomy } from './economy.ts';
import type { SimEvent } from './ledger.ts';
import { computeMetrics, type Metrics } from './metrics.ts';
import { type ProgressInfo, type SimResult, simulateModel } from './model-engine.ts';
import { writeSimOutput } from './output.ts';
import { simulateStack } from './stack-engine.ts';
import type { SimulationPack } from './pack.ts';

export const ENGINES = ['model', 'stack'] as const;
export type Engine = (typeof ENGINES)[number];

export interface SimulationRunOptions {
  file: string;
  /** The file's content when the caller has read it already (the CLI reads it to tell an economy from a sweep). */
  data?: unknown;
  engine: Engine;
  /** Default: reports/sim/<economy name>. */
  out?: string;
  /** Overrides the file's seed. */
  seed?: number;
  /** Stack engine: tasks carried out at once (default 1; see simulateStack). */
  concurrency?: number;
  /** The economy file as metrics.json names it (default: `file` as given); a sweep's run names its point's economy.json. */
  recordFileAs?: string;
  /** A what-if profile file (the format of `amh run --profile`): its constants override the economy's `profiles`. */
  profile?: string;
  onProgress?: (p: ProgressInfo) => void;
  /** The packs' simulations (default: discovered under reference-impl/). */
  packs?: ReadonlyMap<string, SimulationPack>;
}

export interface SimulationRun {
  result: SimResult;
  metrics: Metrics;
  dir: string;
  files: string[];
  /** 0 conserved, 1 conservation violated. */
  exitCode: 0 | 1;
}

export async function runSimulation(o: SimulationRunOptions): Promise<SimulationRun> {
  const whatIf = await resolveProfile(o.profile, await loadConstants());
  const economy = withWhatIf(o.data === undefined ? await loadEconomyFile(o.file) : parseEconomy(o.data, `file ${o.file}`), whatIf);
  const packs = o.packs ?? (await loadSimulations());
  const seed = o.seed ?? economy.seed;
  const startedAt = new Date();
  const opts = { economy, seed, packs, ...(o.onProgress ? { onProgress: o.onProgress } : {}) };
  const result = o.engine === 'stack' ? await simulateStack({ ...opts, ...(o.concurrency ? { concurrency: o.concurrency } : {}) }) : await simulateModel(opts);
  const metrics = computeMetrics(result, {
    startedAt: startedAt.toISOString(),
    wallMs: Date.now() - startedAt.getTime(),
    economyFile: o.recordFileAs ?? o.file,
    ...(whatIf ? { whatIf: { name: whatIf.name, ...(whatIf.source ? { file: whatIf.source } : {}), hash: whatIf.hash } } : {}),
  });
  const dir = o.out ?? path.join('reports', 'sim', economy.name);
  const files = await writeSimOutput(dir, result, metrics);
  return { result, metrics, dir, files, exitCode: result.violations.length ? 1 : 0 };
}

/**
 * The economy with a what-if profile's constants (checked when the file was read) over its own
 * `profiles`; a profile may name protocols this economy does not trade, those are not used.
 */
export function withWhatIf(economy: Economy, whatIf: Profile | undefined): Economy {
  if (!whatIf) return economy;
  const profiles = { ...economy.profiles };
  for (const [id, o] of Object.entries(whatIf.overrides)) if (id in economy.protocols) profiles[id] = { ...profiles[id], ...o };
  return { ...economy, profiles };
}

/** A violation's trail as readable lines (the last `max` events). */
export function trailLines(trail: readonly SimEvent[], max = 20): string[] {
  const shown = trail.slice(-max);
  const lines = shown.map((e) => `    #${e.seq} t=${e.t}ms ${e.task || '-'} ${e.action}${e.amount ? ` ${e.from} -> ${e.to} ${e.amount}` : ''}${e.note ? ` (${e.note})` : ''}`);
  if (trail.length > shown.length) lines.unshift(`    … ${trail.length - shown.length} earlier events in events.csv`);
  return lines;
}
