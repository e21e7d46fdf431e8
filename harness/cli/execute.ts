/**
 * Orchestration shared by `amh run`, `amh certify` and `amh replay`: load the protocol packs, obtain
 * the Target (start the reference deployment for the selected protocols, or load a target file and
 * start the harness-side fixtures it asks for), create one client set per worker, run, stop what
 * was started. Writing files and printing are the CLI's job.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { ProtocolModule } from '../engine/dsl.ts';
import { runAll, type ProgressEvent, type ReplaySpec } from '../engine/runner.ts';
import { createTargetClients } from '../engine/session.ts';
import { loadProtocols } from '../packs/discover.ts';
import type { Report, TargetInfo } from '../report/types.ts';
import type { Profile } from '../profiles/profile.ts';
import { startReference, type Reference } from '../services/reference.ts';
import { checkTargetAgainstProtocols, endpointOf, loadTargetFile, TargetError, type Capability, type Target } from '../target/schema.ts';

export interface ExecuteOptions {
  command: string;
  /** Target file; absent = start the reference target. */
  targetFile?: string;
  runs: number;
  seed: number;
  protocols?: string[];
  grep?: string;
  timeBudgetMs?: number;
  /** Parallel workers (reference target only: each gets its own chains and servers). Default: 1 per core, max 4. */
  workers?: number;
  replay?: ReplaySpec;
  replayCommand?: string;
  /** Only shard `index` of `total` of the selected cases (see RunOptions.shard). */
  shard?: { index: number; total: number };
  onProgress?: (e: ProgressEvent) => void;
  /** Log lines (fixtures and services starting). */
  log?: (line: string) => void;
  /** Override the protocol registry (tests). */
  registry?: ProtocolModule[];
  /**
   * What-if profile (harness/profiles): the reference services start with these constants; with a
   * target file it says what the target is configured with. Scenarios and requirements follow it.
   */
  profile?: Profile;
}

/** Describe a target for the report (no keys). */
export function targetInfo(t: Target, kind: 'reference' | 'file', source?: string): TargetInfo {
  return {
    name: t.name,
    ...(t.version ? { version: t.version } : {}),
    kind,
    ...(source ? { source } : {}),
    capabilities: [...t.capabilities],
    chains: t.chains.map((c) => ({ id: c.id, chainId: c.chainId, rpcUrl: c.rpcUrl })),
    endpoints: Object.fromEntries(Object.keys(t.endpoints).map((k) => [k, endpointOf(t, k)!.url])),
  };
}

/** Default worker count: one per core, capped (each worker runs its own anvils and servers). */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/** Start the harness-side fixtures a target file asks for in its config sections; they grant capabilities. */
async function startFixtures(target: Target, selected: readonly ProtocolModule[], log: (l: string) => void) {
  const running: { stop(): Promise<void> }[] = [];
  const granted: Capability[] = [];
  try {
    for (const p of selected) {
      for (const f of p.fixtures ?? []) {
        const r = await f.start(target.config[p.id], log);
        if (!r) continue;
        running.push(r);
        granted.push(...r.capabilities);
        log(`${p.id}: ${f.name}: ${r.describe}`);
      }
    }
  } catch (e) {
    await Promise.allSettled(running.map((r) => r.stop()));
    throw new TargetError(`cannot start a harness fixture the target asks for: ${(e as Error).message}`);
  }
  return { granted, stop: () => Promise.allSettled(running.map((r) => r.stop())).then(() => undefined) };
}

/** Run the selected protocols against the target and return the report. */
export async function execute(o: ExecuteOptions): Promise<Report> {
  const protos = o.registry ?? (await loadProtocols());
  const log = o.log ?? (() => {});
  const unknown = (o.protocols ?? []).filter((p) => !protos.some((x) => x.id === p));
  if (unknown.length) throw new UsageError(`unknown protocol ${unknown.map((u) => `'${u}'`).join(', ')}; known: ${protos.map((p) => p.id).join(', ')}`);
  const selected = o.protocols?.length ? protos.filter((p) => o.protocols!.includes(p.id)) : protos;
  if (o.targetFile) {
    const file = path.resolve(o.targetFile);
    const loaded = checkTargetAgainstProtocols(await loadTargetFile(file), protos, `file ${file}`);
    const fixtures = await startFixtures(loaded, selected, log);
    try {
      const target = fixtures.granted.length ? { ...loaded, capabilities: [...new Set([...loaded.capabilities, ...fixtures.granted])] } : loaded;
      return await runAll({ target, targetInfo: targetInfo(target, 'file', file), workers: [createTargetClients(target)], protocols: protos }, { ...o, command: o.command });
    } finally {
      await fixtures.stop();
    }
  }
  const n = o.replay ? 1 : (o.workers ?? defaultWorkers());
  const refs: Reference[] = [];
  // Ctrl-C / SIGTERM must not orphan the anvil processes and servers this run started.
  const onSignal = (sig: NodeJS.Signals) => {
    void Promise.allSettled(refs.map((r) => r.stop())).then(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // Workers start in parallel; each owns its chains and servers, so runs never share state.
    const started = await Promise.allSettled(Array.from({ length: n }, () => startReference({ protocols: selected.map((p) => p.id), log, profile: o.profile })));
    for (const s of started) if (s.status === 'fulfilled') refs.push(s.value);
    const failed = started.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failed) throw failed.reason;
    const target = refs[0]!.target;
    return await runAll(
      { target, targetInfo: targetInfo(target, 'reference'), workers: refs.map((r) => createTargetClients(r.target)), targets: refs.map((r) => r.target), protocols: protos },
      { ...o, command: o.command },
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.allSettled(refs.map((r) => r.stop()));
  }
}

/** A mistake in the command line (exit code 2, message without a stack). */
export class UsageError extends Error {
  override name = 'UsageError';
}
