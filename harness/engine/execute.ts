/**
 * Orchestration shared by `amh run`, `amh certify` and `amh replay`: obtain the Target (start the
 * reference one, or load a target file), create one client set per worker, run, stop what was
 * started. Writing files and printing are the CLI's job.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { protocols as registry } from '../../scenarios/index.ts';
import { loadTargetFile, type Target } from '../target/schema.ts';
import { startReferenceTarget, type ReferenceTarget } from '../target/reference.ts';
import type { Report, TargetInfo } from '../report/types.ts';
import type { ProtocolModule } from './dsl.ts';
import { runAll, type ProgressEvent, type ReplaySpec } from './runner.ts';
import { createTargetClients } from './session.ts';

export interface ExecuteOptions {
  command: string;
  /** Target file; absent = start the reference target. */
  targetFile?: string;
  runs: number;
  seed: number;
  protocols?: string[];
  grep?: string;
  timeBudgetMs?: number;
  /** Parallel workers (reference target only: each gets its own chains). Default: 1 per core, max 4. */
  workers?: number;
  replay?: ReplaySpec;
  replayCommand?: string;
  onProgress?: (e: ProgressEvent) => void;
  /** Override the protocol registry (tests). */
  registry?: ProtocolModule[];
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
  };
}

/** Default worker count: one per core beyond the first, capped (each worker runs its own anvils). */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/** Run the selected protocols against the target and return the report. */
export async function execute(o: ExecuteOptions): Promise<Report> {
  const protos = o.registry ?? registry;
  const unknown = (o.protocols ?? []).filter((p) => !protos.some((x) => x.id === p));
  if (unknown.length) throw new UsageError(`unknown protocol ${unknown.map((u) => `'${u}'`).join(', ')}; known: ${protos.map((p) => p.id).join(', ')}`);
  if (o.targetFile) {
    const file = path.resolve(o.targetFile);
    const target = await loadTargetFile(file);
    return runAll({ target, targetInfo: targetInfo(target, 'file', file), workers: [createTargetClients(target)], protocols: protos }, { ...o, command: o.command });
  }
  const n = o.replay ? 1 : (o.workers ?? defaultWorkers());
  const refs: ReferenceTarget[] = [];
  // Ctrl-C / SIGTERM must not orphan the anvil processes and servers this run started.
  const onSignal = (sig: NodeJS.Signals) => {
    void Promise.allSettled(refs.map((r) => r.stop())).then(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // Workers start in parallel; each owns a full set of chains, so runs never share state.
    const started = await Promise.allSettled(Array.from({ length: n }, () => startReferenceTarget()));
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
