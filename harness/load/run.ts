/**
 * `amh load`: many concurrent agents against one protocol's target, for a bounded time, on loopback.
 *
 * 1. The target: the reference deployment of the protocol, started exactly as `amh run` starts it
 *    (the chains `chainsNeeded` names, the pack's services, `startReference`), or a target file.
 *    A target file whose endpoints or chain RPCs are not on loopback is refused unless
 *    `allowRemote` (load is not something to point at somebody else's server by accident).
 * 2. The pack's `setup`: N agents with deterministic keys, funded and set up (reference-impl/<id>/load.ts).
 * 3. N agent loops, agent i starting after i/N of the ramp, each repeating the pack's iteration until
 *    ramp + duration has passed; an iteration in flight then finishes (a payment is never left half-done).
 *    Every request is timed (measure.ts), every failed iteration is counted by class.
 * 4. Once no chain has mined a block for 3 s (work the agents gave up on may still land), the pack's
 *    conservation check against the ledger of what the agents saw succeed, then load.json.
 *
 * Verdict: exit 1 when any request got a 5xx, when conservation fails (money lost, created or paid
 * twice), or when no iteration succeeded; 0 otherwise (other errors are reported, not fatal).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LONG_RUN_STATES } from '../chain/anvil.ts';
import { type NodeRepairs, type PoolRepairRecord, tallyRepairs } from '../chain/pool-repair.ts';
import { keepAliveFetch, rpcCall } from '../chain/rpc.ts';
import { throwawayAccount } from '../chain/accounts.ts';
import { chainsNeeded, startTargetFixtures, UsageError } from '../cli/execute.ts';
import { loadLoads, loadProtocols, loadServices } from '../packs/discover.ts';
import { startReference, type Reference } from '../services/reference.ts';
import { checkTargetAgainstProtocols, endpointOf, loadTargetFile, TargetError, type Target } from '../target/schema.ts';
import { type LatencySummary, LoadRecorder } from './measure.ts';
import { AgentOutOfFunds, type Conservation, type LedgerEntry, type LoadPack, type LoadRun, type LoadUnit } from './pack.ts';

export const LOAD_SCHEMA_VERSION = '1.4.0';
/** At most this many agents: each is a loop with its own key, funds and sockets on a 2-core machine. */
export const MAX_AGENTS = 1000;
/** At most this long (ramp included): a load run is a bounded measurement, not a soak without end. */
export const MAX_DURATION_MS = 60 * 60 * 1000;
/** A request without an answer after this long is counted as a timeout. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** An agent whose request got no answer waits this long before its next iteration (no hot loop on a dead port). */
const BACKOFF_MS = 200;

/** Options of {@link runLoad}. */
export interface LoadOptions {
  protocol: string;
  agents: number;
  durationMs: number;
  rampMs?: number;
  /** A target file; absent: the protocol's reference deployment. */
  targetFile?: string;
  /** Drive a target file whose endpoints or chains are not on loopback. */
  allowRemote?: boolean;
  seed: number;
  out: string;
  command?: string;
  requestTimeoutMs?: number;
  /** About once a second while the agents run. */
  onProgress?: (p: LoadProgress) => void;
  log?: (line: string) => void;
  /** Use these packs instead of discovering them (tests). */
  packs?: Map<string, LoadPack>;
}

/** A progress snapshot. */
export interface LoadProgress {
  elapsedMs: number;
  totalMs: number;
  running: number;
  completed: number;
  failed: number;
  requests: number;
  serverErrors: number;
  /** Iterations per second over the last snapshot interval. */
  rate: number;
  p99Ms: number;
}

/** load.json (amounts and holdings: decimal strings of base units). */
export interface LoadReport {
  schemaVersion: string;
  harness: { name: string; version: string };
  command: string;
  protocol: string;
  iteration: string;
  setup: string;
  /** `capabilities`: the target's, with those the fixtures it asks for grant. */
  target: { kind: 'reference' | 'file'; name: string; source?: string; endpoints: Record<string, string>; capabilities: string[] };
  seed: number;
  agents: number;
  durationMs: number;
  rampMs: number;
  requestTimeoutMs: number;
  startedAt: string;
  /** Set-up time (target start, funding, agents' set-up) before the first agent started. */
  setupMs: number;
  /** From the first agent's start to the last iteration's end. */
  elapsedMs: number;
  throughput: {
    iterationsPerSecond: number;
    requestsPerSecond: number;
    /** Over the window after the ramp (the steady state). */
    steady: { windowMs: number; iterationsPerSecond: number; requestsPerSecond: number };
  };
  iterations: { completed: number; failed: number };
  requests: { total: number; noAnswer: number; byStatus: Record<string, number> };
  latencyMs: { request: LatencySummary; iteration: LatencySummary };
  errors: { total: number; serverErrors: number; byClass: Record<string, number>; samples: Record<string, string[]> };
  /** `unit`: what the amounts (and the holdings) count: `usd-6` stablecoin base units, `msat` Lightning millisatoshis. */
  ledger: { unit: LoadUnit; entries: number; byKind: Record<string, { count: number; amount: string }> };
  conservation: {
    ok: boolean;
    holdings: { name: string; before: string; after: string; delta: string }[];
    checks: { name: string; ok: boolean; expected: string; actual: string; note?: string }[];
  };
  verdict: { ok: boolean; exitCode: 0 | 1; reasons: string[] };
  /**
   * Reference runs only (the chains this run started): `stalls`, how often anvil stranded a
   * sender's transaction in its pool (harness/chain/pool-repair.ts); `resent`, the transactions
   * the harness sent back (the stranded ones and those queued behind them); `lost`, those the node
   * refused to take back. Added in 1.3.
   */
  nodeRepairs?: NodeRepairs;
  /**
   * Agents that stopped before the end because the money set-up gave them ran out (after a failed
   * spend, the agent's balance was below one iteration's cost): the run's sizing or a poor funder,
   * not a failure of the target, so none of these is counted as a failed iteration. `atMs` after the
   * first agent's start, `completed` its iterations before; `held` and `needed` decimal strings of
   * base units. Added in 1.4.
   */
  agentsOutOfFunds: { agent: number; atMs: number; completed: number; held: string; needed: string; step: string }[];
}

/** `30s`, `10m`, `1h`, `500ms`, `1m30s` → milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const s = text.trim();
  if (!/^(\d+(ms|s|m|h))+$/.test(s)) throw new UsageError(`${what} must be a duration like 30s, 10m, 1h or 1m30s, got '${text}'`);
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of s.matchAll(/(\d+)(ms|s|m|h)/g)) total += Number(m[1]) * unit[m[2]!]!;
  return total;
}

/** Whether a URL points at this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopback(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Refuse the option values `amh load` must not run with. */
export function checkLoadOptions(o: Pick<LoadOptions, 'agents' | 'durationMs' | 'rampMs'>): void {
  if (!Number.isInteger(o.agents) || o.agents < 1) throw new UsageError(`--agents must be a positive integer, got ${o.agents}`);
  if (o.agents > MAX_AGENTS) throw new UsageError(`--agents ${o.agents} is above the maximum of ${MAX_AGENTS} (each agent is a loop with its own key, funds and sockets)`);
  if (o.durationMs < 1000) throw new UsageError('--duration must be at least 1s');
  if (o.durationMs + (o.rampMs ?? 0) > MAX_DURATION_MS) throw new UsageError(`--duration plus --ramp must not exceed ${MAX_DURATION_MS / 60_000}m (a load run is bounded)`);
}

/** The target endpoints and chain RPCs that are not on loopback. */
export function remoteAddresses(t: Target, endpoints: readonly string[]): string[] {
  const urls = [...endpoints.map((e) => endpointOf(t, e)?.url).filter((u): u is string => Boolean(u)), ...t.chains.map((c) => c.rpcUrl)];
  return urls.filter((u) => !isLoopback(u));
}

function timestamp(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
}

/** The default output folder: reports/load/<protocol>-<timestamp>. */
export function defaultOut(protocol: string, at = new Date()): string {
  return path.join('reports', 'load', `${protocol}-${timestamp(at)}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until no target chain has mined a block for 3 s (at most 2 min), so conservation reads a settled state. */
async function quiesce(target: Target, log: (l: string) => void): Promise<void> {
  if (!target.chains.length) return;
  const heights = () => Promise.all(target.chains.map((c) => rpcCall<string>(c.rpcUrl, 'eth_blockNumber').catch(() => 'unreachable')));
  const deadline = performance.now() + 120_000;
  let last = (await heights()).join();
  let quietSince = performance.now();
  while (performance.now() - quietSince < 3000) {
    if (performance.now() > deadline) {
      log('the chains still mine blocks 2 min after the last iteration: checking conservation anyway');
      return;
    }
    await sleep(500);
    const now = (await heights()).join();
    if (now !== last) {
      last = now;
      quietSince = performance.now();
    }
  }
}

/** Run the load and write load.json; returns the report (its verdict carries the exit code). */
export async function runLoad(o: LoadOptions): Promise<{ report: LoadReport; file: string }> {
  checkLoadOptions(o);
  const log = o.log ?? (() => {});
  const packs = o.packs ?? (await loadLoads());
  const pack = packs.get(o.protocol);
  if (!pack) throw new UsageError(`protocol '${o.protocol}' has no load definition (reference-impl/${o.protocol}/load.ts); protocols with one: ${[...packs.keys()].join(', ') || 'none'}`);
  const rampMs = o.rampMs ?? 0;
  const requestTimeoutMs = o.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const t0 = performance.now();
  const startedAt = new Date();

  let reference: Reference | undefined;
  let fixtures: { stop(): Promise<void> } | undefined;
  let target: Target;
  if (o.targetFile) {
    const file = path.resolve(o.targetFile);
    const protocols = await loadProtocols();
    target = checkTargetAgainstProtocols(await loadTargetFile(file), protocols, `file ${file}`);
    const missing = pack.endpoints.filter((e) => !endpointOf(target, e));
    if (missing.length) throw new TargetError(`target file ${file} declares no endpoint ${missing.map((m) => `'${m}'`).join(', ')}, which ${o.protocol} load drives`);
    const remote = remoteAddresses(target, pack.endpoints);
    if (remote.length && !o.allowRemote)
      throw new UsageError(`amh load drives loopback targets only; ${remote.join(', ')} ${remote.length === 1 ? 'is' : 'are'} not on this machine (pass --allow-remote if it is yours to load)`);
    // The fixtures the file asks for (e.g. Agentripe's review fixture), as certify starts them.
    const started = await startTargetFixtures(
      target,
      protocols.filter((p) => p.id === o.protocol),
      log,
    );
    fixtures = started;
    target = started.target;
  } else {
    const selected = await loadProtocols(undefined, [o.protocol]);
    const services = await loadServices(undefined, [o.protocol]);
    log(`starting the ${o.protocol} reference deployment`);
    // A load run mines thousands of blocks and never reorgs: no per-block state written to disk.
    reference = await startReference({ protocols: [o.protocol], chains: chainsNeeded(selected, {}, services), services, log, pruneHistory: LONG_RUN_STATES, wants: new Set() });
    target = reference.target;
  }

  // Ctrl-C: stop starting iterations, finish those in flight, check the money and write the report.
  let stopAt = Number.POSITIVE_INFINITY;
  const onSignal = () => {
    stopAt = performance.now();
    log('interrupted: finishing the iterations in flight, then checking conservation');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let run: LoadRun | undefined;
  try {
    const env = {
      target,
      agents: o.agents,
      seed: o.seed,
      seconds: Math.ceil((o.durationMs + rampMs) / 1000),
      requestTimeoutMs,
      key: (i: number, role: string) => {
        const a = throwawayAccount(`load:${o.protocol}:${o.seed}:${role}:${i}`);
        return { address: a.address, privateKey: a.privateKey };
      },
      fetch: keepAliveFetch as typeof fetch,
      log,
    };
    log(`setting up ${o.agents} agents`);
    run = await pack.setup(env);
    log(run.describe);
    const rec = new LoadRecorder(requestTimeoutMs);
    const ledger: LedgerEntry[] = [];
    const setupMs = performance.now() - t0;
    const begin = performance.now();
    const plannedEnd = begin + rampMs + o.durationMs;
    stopAt = Math.min(stopAt, plannedEnd);
    rec.steadyFrom = begin + rampMs;
    let running = 0;
    const loop = async (agent: number) => {
      await sleep((agent * rampMs) / o.agents);
      running++;
      try {
        while (performance.now() < stopAt) {
          const it0 = performance.now();
          try {
            await run!.iterate(agent, { fetch: rec.fetch, ledger: (kind, amount, ref) => ledger.push({ agent, kind, amount, ref }) });
            rec.iterationDone(it0, agent);
          } catch (e) {
            if (e instanceof AgentOutOfFunds) {
              // The agent's money ran out: it stops; the target is not blamed.
              rec.agentOutOfFunds(agent, performance.now() - begin, e);
              // The first one only: with many agents the summary's funds: line counts the rest.
              if (rec.outOfFunds.length === 1) log(`agent ${agent} ran out of funds and stops (${e.message}); others that do will stop too, counted in the summary`);
              break;
            }
            const cls = rec.iterationFailed(e);
            if (cls === 'connection' || cls === 'timeout') await sleep(BACKOFF_MS);
          }
        }
      } finally {
        running--;
      }
    };
    let last = { at: begin, completed: 0 };
    const ticker = o.onProgress
      ? setInterval(() => {
          const now = performance.now();
          const rate = ((rec.completed - last.completed) * 1000) / Math.max(1, now - last.at);
          last = { at: now, completed: rec.completed };
          o.onProgress!({
            elapsedMs: now - begin,
            totalMs: plannedEnd - begin,
            running,
            completed: rec.completed,
            failed: rec.failed,
            requests: rec.requestCount,
            serverErrors: rec.serverErrors,
            rate,
            p99Ms: rec.requestLatency().p99,
          });
        }, 1000)
      : undefined;
    try {
      await Promise.all(Array.from({ length: o.agents }, (_, i) => loop(i)));
    } finally {
      if (ticker) clearInterval(ticker);
    }
    const end = performance.now();
    const elapsedMs = end - begin;
    // Agents that gave up leave work behind on the target (a settlement, a deposit record): let the chains settle first.
    await quiesce(target, log);
    log('checking conservation');
    const conservation = await run.conservation(ledger);
    const report = buildReport({
      o,
      pack,
      run,
      target,
      reference: Boolean(reference),
      repairs: reference?.chains.flatMap((c) => c.poolRepair?.records ?? []),
      rec,
      ledger,
      conservation,
      startedAt,
      setupMs,
      elapsedMs,
      steadyMs: Math.max(0, end - (begin + rampMs)),
      rampMs,
      requestTimeoutMs,
    });
    await mkdir(o.out, { recursive: true });
    const file = path.join(o.out, 'load.json');
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    return { report, file };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await run?.stop?.().catch((e) => log(`stopping the load run failed: ${String(e)}`));
    await reference?.stop();
    await fixtures?.stop();
  }
}

const round = (x: number, d = 2) => Number(x.toFixed(d));

function buildReport(a: {
  o: LoadOptions;
  pack: LoadPack;
  run: LoadRun;
  target: Target;
  reference: boolean;
  /** The pool repairs of the chains this run started (reference runs). */
  repairs?: readonly PoolRepairRecord[];
  rec: LoadRecorder;
  ledger: LedgerEntry[];
  conservation: Conservation;
  startedAt: Date;
  setupMs: number;
  elapsedMs: number;
  steadyMs: number;
  rampMs: number;
  requestTimeoutMs: number;
}): LoadReport {
  const { rec, conservation } = a;
  const byKind: Record<string, { count: number; amount: string }> = {};
  const sums = new Map<string, { count: number; amount: bigint }>();
  for (const e of a.ledger) {
    const s = sums.get(e.kind) ?? { count: 0, amount: 0n };
    s.count++;
    s.amount += e.amount;
    sums.set(e.kind, s);
  }
  for (const [k, s] of sums) byKind[k] = { count: s.count, amount: s.amount.toString() };
  const conservationOk = conservation.checks.length > 0 && conservation.checks.every((c) => c.ok);
  const reasons: string[] = [];
  if (rec.serverErrors > 0) reasons.push(`${rec.serverErrors} answer${rec.serverErrors === 1 ? '' : 's'} with a 5xx status`);
  for (const c of conservation.checks.filter((x) => !x.ok)) reasons.push(`conservation: ${c.name}: expected ${c.expected}, got ${c.actual}${c.note ? ` (${c.note})` : ''}`);
  if (conservation.checks.length === 0) reasons.push('conservation: the pack made no check');
  if (rec.completed === 0) reasons.push(`no iteration succeeded${rec.outOfFunds.length ? ` (${rec.outOfFunds.length} agent${rec.outOfFunds.length === 1 ? '' : 's'} ran out of funds)` : ''}`);
  const ok = reasons.length === 0;
  const endpoints = Object.fromEntries(a.pack.endpoints.map((e) => [e, endpointOf(a.target, e)?.url ?? '']));
  const steadySeconds = a.steadyMs / 1000;
  return {
    schemaVersion: LOAD_SCHEMA_VERSION,
    harness: { name: 'agentmarket-harness', version: '0.1.0' },
    command: a.o.command ?? 'amh load',
    protocol: a.pack.protocol,
    iteration: a.pack.iteration,
    setup: a.run.describe,
    target: { kind: a.reference ? 'reference' : 'file', name: a.target.name, ...(a.o.targetFile ? { source: path.resolve(a.o.targetFile) } : {}), endpoints, capabilities: [...a.target.capabilities] },
    seed: a.o.seed,
    agents: a.o.agents,
    durationMs: a.o.durationMs,
    rampMs: a.rampMs,
    requestTimeoutMs: a.requestTimeoutMs,
    startedAt: a.startedAt.toISOString(),
    setupMs: Math.round(a.setupMs),
    elapsedMs: Math.round(a.elapsedMs),
    throughput: {
      iterationsPerSecond: round((rec.completed * 1000) / Math.max(1, a.elapsedMs)),
      requestsPerSecond: round((rec.requestCount * 1000) / Math.max(1, a.elapsedMs)),
      steady: {
        windowMs: Math.round(a.steadyMs),
        iterationsPerSecond: steadySeconds > 0 ? round(rec.completedSteady / steadySeconds) : 0,
        requestsPerSecond: steadySeconds > 0 ? round(rec.requestsSteady / steadySeconds) : 0,
      },
    },
    iterations: { completed: rec.completed, failed: rec.failed },
    requests: { total: rec.requestCount, noAnswer: rec.requestFailures, byStatus: Object.fromEntries([...rec.statuses].sort((x, y) => x[0] - y[0]).map(([s, n]) => [String(s), n])) },
    latencyMs: { request: rec.requestLatency(), iteration: rec.iterationLatency() },
    errors: {
      total: rec.failed,
      serverErrors: rec.serverErrors,
      byClass: Object.fromEntries([...rec.errors].sort((x, y) => y[1] - x[1])),
      samples: Object.fromEntries(rec.samples),
    },
    ledger: { unit: a.pack.unit ?? 'usd-6', entries: a.ledger.length, byKind },
    conservation: {
      ok: conservationOk,
      holdings: conservation.holdings.map((h) => ({ name: h.name, before: h.before.toString(), after: h.after.toString(), delta: (h.after - h.before).toString() })),
      checks: conservation.checks,
    },
    verdict: { ok, exitCode: ok ? 0 : 1, reasons },
    agentsOutOfFunds: rec.outOfFunds.map((x) => ({ ...x, held: x.held.toString(), needed: x.needed.toString() })),
    ...(a.repairs ? { nodeRepairs: tallyRepairs(a.repairs) } : {}),
  };
}
