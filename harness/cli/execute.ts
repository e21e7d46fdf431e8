/**
 * Orchestration shared by `amh run`, `amh certify` and `amh replay`: load the protocol packs, obtain
 * the Target (start the reference deployment for the selected protocols, or load a target file and
 * start the harness-side fixtures it asks for), create one client set per worker, run, stop what
 * was started. Writing files and printing are the CLI's job.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { inRevision, type ProtocolModule } from '../engine/dsl.ts';
import { matchesGrep, runAll, type ProgressEvent, type ReplaySpec } from '../engine/runner.ts';
import { createTargetClients } from '../engine/session.ts';
import { loadProtocols, loadServices, protocolIds } from '../packs/discover.ts';
import { chainProfileIds, getProfile } from '../chain/profiles.ts';
import { LONG_RUN_STATES } from '../chain/anvil.ts';
import type { Report, TargetInfo } from '../report/types.ts';
import type { Profile } from '../profiles/profile.ts';
import { startReference, type Reference } from '../services/reference.ts';
import { startThreadWorkers, type ThreadWorkers } from './threads.ts';
import { checkTargetAgainstProtocols, endpointOf, listenAddress, loadTargetFile, TargetError, type Capability, type Target } from '../target/schema.ts';
import { rpcFaultProxy } from '../faults/rpc.ts';

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
  /** Stop after the first scenario that does not pass (see RunOptions.bail). */
  bail?: boolean;
  /** `--spec` values: `PROTOCOL=REV`, or `REV` for every selected protocol that declares it. */
  spec?: string[];
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

/**
 * Start the harness-side fixtures a target file asks for in its config sections (certify and `amh
 * load` alike); they grant capabilities.
 */
export async function startTargetFixtures(target: Target, selected: readonly ProtocolModule[], log: (l: string) => void) {
  const running: { stop(): Promise<void> }[] = [];
  const granted: Capability[] = [];
  try {
    // The chain RPC the target's servers are configured with (chains[].serverRpc): the harness's
    // fault proxy, up before anything else, so servers that start after it find their chain.
    for (const c of target.chains) {
      if (!c.serverRpc) continue;
      const proxy = await rpcFaultProxy(c.rpcUrl, listenAddress(c.serverRpc.listen));
      running.push({ stop: proxy.release });
      log(`chain ${c.id}: the harness's RPC fault proxy listens at ${proxy.url} (the target's servers' RPC URL), forwarding to ${c.rpcUrl}`);
    }
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
  return {
    granted,
    /** The target with the capabilities the fixtures grant. */
    target: granted.length ? { ...target, capabilities: [...new Set([...target.capabilities, ...granted])] } : target,
    stop: () => Promise.allSettled(running.map((r) => r.stop())).then(() => undefined),
  };
}

/** Run the selected protocols against the target and return the report. */
export async function execute(o: ExecuteOptions): Promise<Report> {
  const known = o.registry ? o.registry.map((p) => p.id) : protocolIds();
  const unknown = (o.protocols ?? []).filter((p) => !known.includes(p));
  if (unknown.length) throw new UsageError(`unknown protocol ${unknown.map((u) => `'${u}'`).join(', ')}; known: ${known.join(', ')}`);
  // A reference run with --protocol imports only those packs; a target file is checked against every pack's endpoints.
  const protos = o.registry ?? (await loadProtocols(undefined, o.targetFile ? undefined : o.protocols?.length ? o.protocols : undefined));
  const log = o.log ?? (() => {});
  const selected = o.protocols?.length ? protos.filter((p) => o.protocols!.includes(p.id)) : protos;
  const spec = resolveSpec(o.spec, selected);
  if (o.targetFile) {
    const file = path.resolve(o.targetFile);
    const loaded = checkTargetAgainstProtocols(await loadTargetFile(file), protos, `file ${file}`);
    // What the harness serves for the target (a fixture's or the RPC proxy's address) is the
    // user's to know: on stderr when the caller keeps no log.
    const fixtures = await startTargetFixtures(loaded, selected, o.log ?? ((l) => process.stderr.write(`${l}\n`)));
    try {
      const target = fixtures.target;
      return await runAll({ target, targetInfo: targetInfo(target, 'file', file), workers: [createTargetClients(target)], protocols: protos }, { ...o, spec, command: o.command });
    } finally {
      await fixtures.stop();
    }
  }
  const n = o.replay ? 1 : (o.workers ?? defaultWorkers());
  if (n > 1 && !o.registry && !underStryker()) return executeInThreads(o, n, protos, selected, spec);
  const refs: Reference[] = [];
  return stopOnSignal(
    () => Promise.allSettled(refs.map((r) => r.stop())).then(() => undefined),
    async () => {
      // Workers start in parallel; each owns its chains and servers, so runs never share state.
      const started = await Promise.allSettled(Array.from({ length: n }, () => startRunReference(selected, o, log)));
      for (const s of started) if (s.status === 'fulfilled') refs.push(s.value);
      const failed = started.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined;
      if (failed) throw failed.reason;
      const target = refs[0]!.target;
      return runAll(
        {
          target,
          targetInfo: targetInfo(target, 'reference'),
          workers: refs.map((r) => createTargetClients(r.target)),
          targets: refs.map((r) => r.target),
          resets: refs.map((r) => r.reset),
          poolRepairs: refs.map((r) => () => r.chains.flatMap((c) => c.poolRepair?.records ?? [])),
          protocols: protos,
        },
        { ...o, spec },
      );
    },
  );
}

/**
 * One worker's reference for a run of the selected protocols: the chains and services they need
 * (see chainsNeeded), resettable between scenarios. A run reads chain state only as far back as
 * its own start and reorgs a few blocks: the chains keep LONG_RUN_STATES past states in memory and
 * write none to disk (anvil's default writes about 2 MB per block; measured: x402 + agentripe 83 s
 * instead of 95 s, the same 29,525 checks).
 */
export async function startRunReference(selected: readonly ProtocolModule[], o: Pick<ExecuteOptions, 'grep' | 'replay' | 'profile'>, log: (line: string) => void): Promise<Reference> {
  const ids = selected.map((p) => p.id);
  const services = await loadServices(undefined, ids);
  const chains = chainsNeeded(selected, o, services);
  const wants = new Set(pickedScenarios(selected, o).flatMap((s) => s.capabilities ?? []));
  return startReference({ protocols: ids, chains, services, log, profile: o.profile, wants, pruneHistory: LONG_RUN_STATES, resettable: true });
}

/**
 * A reference run with its workers in worker threads (threads.ts), each with its own reference.
 * Not for a registry given in code (a thread loads the packs from disk) nor under Stryker (its
 * coverage of the servers is recorded per thread, and only the main thread's is read).
 */
async function executeInThreads(o: ExecuteOptions, n: number, protos: ProtocolModule[], selected: ProtocolModule[], spec: Record<string, string> | undefined): Promise<Report> {
  // The threads' runners get what this one gets, without the callbacks (they stay here; no
  // registry reaches this path).
  const { onProgress, log = () => {}, ...rest } = o;
  const run = { ...rest, spec };
  let threads: ThreadWorkers | undefined;
  return stopOnSignal(
    () => threads?.stop() ?? Promise.resolve(),
    async () => {
      threads = await startThreadWorkers(n, { protocols: selected.map((p) => p.id), run }, { log, onProgress });
      const target = threads.target;
      return runAll({ target, targetInfo: targetInfo(target, 'reference'), workers: [], caseWorkers: threads.workers, protocols: protos }, { ...o, spec });
    },
  );
}

/**
 * Runs `body`; stops what it started with `stop` when it ends, and on Ctrl-C / SIGTERM before
 * exiting (130 / 143), so a signal never orphans the anvil processes and servers of a run.
 */
async function stopOnSignal<T>(stop: () => Promise<void>, body: () => Promise<T>): Promise<T> {
  let stopping: Promise<void> | undefined;
  const once = () => (stopping ??= stop().catch(() => undefined));
  const onSignal = (sig: NodeJS.Signals) => {
    void once().then(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await body();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await once();
  }
}

/** Whether this process runs under StrykerJS (its instrumented code keeps coverage in `__stryker__`). */
function underStryker(): boolean {
  return (globalThis as { __stryker__?: unknown }).__stryker__ !== undefined;
}

/**
 * The chain profiles a reference run needs: those on which some selected scenario finds every
 * token and contract it needs (a scenario runs on each such chain), and those the selected
 * protocols' services run on. Starting only these changes no verdict (no scenario sees another
 * chain) and saves an anvil per unneeded profile; a run that needs none (asa) starts none.
 */
export function chainsNeeded(
  selected: readonly ProtocolModule[],
  o: Pick<ExecuteOptions, 'grep' | 'replay'>,
  services: readonly { protocols: readonly string[]; chains: readonly string[] }[],
): string[] {
  const ids = new Set<string>();
  const picked = pickedScenarios(selected, o);
  for (const id of chainProfileIds()) {
    const p = getProfile(id);
    const has = (n: string) => p.tokens.some((t) => t.key === n) || n in p.contracts;
    for (const s of picked) if (s.needs?.length && s.needs.every(has)) ids.add(id);
  }
  for (const d of services) if (d.protocols.some((x) => selected.some((p) => p.id === x))) for (const c of d.chains) ids.add(c);
  return chainProfileIds().filter((id) => ids.has(id));
}

/** The scenarios a run selects (`--grep`, or the one case a replay names). */
export function pickedScenarios(selected: readonly ProtocolModule[], o: Pick<ExecuteOptions, 'grep' | 'replay'>): ProtocolModule['scenarios'][number][] {
  return selected.flatMap((proto) => proto.scenarios.filter((s) => (o.replay ? o.replay.caseId === `${proto.id}/${s.id}` : matchesGrep(proto, s, o.grep))));
}

/**
 * `--spec` values → revision per protocol. `P=REV` names one protocol; a bare `REV` applies to every
 * selected protocol that declares it. Unknown protocols or revisions, two revisions for one
 * protocol, and a revision none of whose rules the harness checks are usage errors.
 */
export function resolveSpec(values: readonly string[] | undefined, selected: readonly ProtocolModule[]): Record<string, string> | undefined {
  if (!values?.length) return undefined;
  const out: Record<string, string> = {};
  const listing = () =>
    selected
      .filter((p) => p.revisions?.length)
      .map((p) => `${p.id}: ${p.revisions!.map((r) => `${r.id}${r.default ? ' (default)' : ''}`).join(', ')}`)
      .join('; ') || 'none of the selected protocols declares spec revisions';
  const set = (p: ProtocolModule, rev: string) => {
    if (out[p.id] !== undefined && out[p.id] !== rev) throw new UsageError(`--spec names two revisions of ${p.id}: ${out[p.id]} and ${rev}`);
    const r = p.revisions?.find((x) => x.id === rev);
    if (!r) throw new UsageError(`--spec ${p.id}=${rev}: ${p.id} has no spec revision '${rev}' (${listing()})`);
    if (!p.requirements.some((q) => inRevision(q, rev))) throw new UsageError(`--spec ${p.id}=${rev}: no requirement the harness checks belongs to ${p.id} ${rev}${r.note ? ` (${r.note})` : ''}`);
    out[p.id] = rev;
  };
  for (const v of values) {
    const m = /^([a-z0-9][a-z0-9-]*)=(.+)$/.exec(v);
    if (m) {
      const p = selected.find((x) => x.id === m[1]);
      if (!p) throw new UsageError(`--spec ${v}: protocol '${m[1]}' is not selected (selected: ${selected.map((x) => x.id).join(', ')})`);
      set(p, m[2]!);
      continue;
    }
    const declaring = selected.filter((p) => p.revisions?.some((r) => r.id === v));
    if (declaring.length === 0) throw new UsageError(`--spec ${v}: no selected protocol has a spec revision '${v}' (${listing()})`);
    for (const p of declaring) set(p, v);
  }
  return out;
}

/** A mistake in the command line (exit code 2, message without a stack). */
export class UsageError extends Error {
  override name = 'UsageError';
}
