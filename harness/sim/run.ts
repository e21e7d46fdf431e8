/**
 * One `amh simulate` run: load the economy, discover the packs' simulations, run the engine, compute
 * the metrics and write the output folder.
 */
import path from 'node:path';
import { loadConstants, loadSimulations } from '../packs/discover.ts';
import { checkConstant, resolveProfile, type ConstantsRegistry, type Profile } from '../profiles/profile.ts';
import { type Economy, EconomyError, loadEconomyFile } from './economy.ts';
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
  engine: Engine;
  /** Default: reports/sim/<economy name>. */
  out?: string;
  /** Overrides the file's seed. */
  seed?: number;
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
  const registry = await loadConstants();
  const whatIf = await resolveProfile(o.profile, registry);
  const economy = withConstants(await loadEconomyFile(o.file), registry, whatIf, o.file);
  const packs = o.packs ?? (await loadSimulations());
  const seed = o.seed ?? economy.seed;
  const startedAt = new Date();
  const opts = { economy, seed, packs, ...(o.onProgress ? { onProgress: o.onProgress } : {}) };
  const result = o.engine === 'stack' ? await simulateStack(opts) : await simulateModel(opts);
  const metrics = computeMetrics(result, {
    startedAt: startedAt.toISOString(),
    wallMs: Date.now() - startedAt.getTime(),
    economyFile: o.file,
    ...(whatIf ? { whatIf: { name: whatIf.name, ...(whatIf.source ? { file: whatIf.source } : {}), hash: whatIf.hash } } : {}),
  });
  const dir = o.out ?? path.join('reports', 'sim', economy.name);
  const files = await writeSimOutput(dir, result, metrics);
  return { result, metrics, dir, files, exitCode: result.violations.length ? 1 : 0 };
}

/**
 * The economy's `profiles` checked against the packs' declared constants (the types and ranges of
 * `amh run --profile`: one profile format for certifying and simulating), then a what-if profile's
 * values over them. Keys a pack does not declare are simulation knobs its adapter checks itself.
 */
export function withConstants(economy: Economy, registry: ConstantsRegistry, whatIf: Profile | undefined, where: string): Economy {
  const profiles: Record<string, Record<string, unknown>> = {};
  for (const [id, values] of Object.entries(economy.profiles)) {
    const pack = registry.find((p) => p.protocol === id);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(values)) {
      const d = pack?.declarations[k];
      if (!d) {
        out[k] = v;
        continue;
      }
      const c = checkConstant(d, v);
      if (!c.ok) throw new EconomyError(`${where}: profiles.${id}.${k}: ${c.why}`);
      out[k] = c.value;
    }
    profiles[id] = out;
  }
  // A what-if profile may name protocols this economy does not trade: those are not used.
  for (const [id, o] of Object.entries(whatIf?.overrides ?? {})) if (id in economy.protocols) profiles[id] = { ...profiles[id], ...o };
  return { ...economy, profiles };
}

/** A violation's trail as readable lines (the last `max` events). */
export function trailLines(trail: readonly SimEvent[], max = 20): string[] {
  const shown = trail.slice(-max);
  const lines = shown.map((e) => `    #${e.seq} t=${e.t}ms ${e.task || '-'} ${e.action}${e.amount ? ` ${e.from} -> ${e.to} ${e.amount}` : ''}${e.note ? ` (${e.note})` : ''}`);
  if (trail.length > shown.length) lines.unshift(`    … ${trail.length - shown.length} earlier events in events.csv`);
  return lines;
}
