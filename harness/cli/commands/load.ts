/** `amh load`: many concurrent agents against one protocol's target; throughput, latency, errors, conservation. */
import { describeRepairs } from '../../chain/pool-repair.ts';
import { formatUsd } from '../../util/money.ts';
import type { LatencySummary } from '../../load/measure.ts';
import { checkLoadOptions, defaultOut, type LoadProgress, type LoadReport, MAX_AGENTS, MAX_DURATION_MS, parseDuration, REQUEST_TIMEOUT_MS, runLoad } from '../../load/run.ts';
import { UsageError, guard, parse } from './_shared.ts';

export const summary = 'drive many concurrent agents against a target: throughput, p50/p95/p99 latency, errors by class, money conservation';

export const help = `Usage: amh load --protocol P --agents N --duration D [--ramp D] [--target FILE] [--allow-remote]
                [--timeout D] [--seed S] [--out DIR] [--quiet]

Runs N agents of protocol P concurrently for duration D against P's reference deployment (started
as amh run starts it: its chains and reference services), or against the target described by
FILE. Each agent has a key of its own and is funded by the target's funder role (admin, else the
first EVM account; asa: a Lightning node with the network's channels to its hubs); each repeats the pack's iteration (reference-impl/<P>/load.ts: x402 one paid
request, agentripe one task lifecycle through the escrow, aisp one rental funded, keyed, used and
revoked, aps1 one NexusV2 job executed and settled, aimarket one paid call with a verified receipt,
asa one NIP-A5 agreement negotiated over NIP-17, paid over L402 on the Lightning network, completed)
until the time is up; an iteration in flight then finishes. Every HTTP request is timed; at the end
every base unit is accounted for against the chain (asa: every msat against the Lightning network's
channel balances and the agreements on the relay) and against the agents' own ledger of what they
saw succeed.

Options:
  --protocol P     the protocol (a pack with a load definition: x402, agentripe, aisp, aps1, aimarket, asa)
  --agents N       concurrent agents, 1 to ${MAX_AGENTS}
  --duration D     how long the agents run after the ramp: 30s, 10m, 1h, 1m30s
                   (duration + ramp at most ${MAX_DURATION_MS / 60_000}m)
  --ramp D         start the agents evenly over D before the duration begins (default 0s);
                   the steady-state rates in load.json cover only the duration
  --target FILE    a target file (see harness/README.md, "Targets") instead of the reference
                   deployment; it must declare the protocol's endpoints and a funded EVM account
                   (asa: no chain; config.asa.provider names the provider's pubkey and node)
  --allow-remote   drive a target file whose endpoints or chain RPCs are not on loopback
                   (refused without it: a load run is not to be pointed elsewhere by accident)
  --timeout D      a request without an answer after D counts as a timeout, and its agent moves
                   on (default ${REQUEST_TIMEOUT_MS / 1000}s); a payment the target settles after the agent gave up
                   is money the agent lost, and fails conservation
  --seed S         seed of the agents' keys, 0 to 2147483647 (default 1)
  --out DIR        output folder (default reports/load/<protocol>-<UTC timestamp>): load.json
  --quiet          no progress line on a terminal
  -h, --help       this help

Errors are counted by class:
http <status> (an answer the iteration did not expect), connection, timeout, protocol:<kind> (the
target broke the protocol: a settlement reported failed, a 200 without a settlement, a task not
released) and harness.

Exit codes: 0 no 5xx answer, money conserved, at least one iteration succeeded · 1 a 5xx answer,
money lost, created or paid twice (a conservation check failed), or no iteration succeeded ·
2 usage error, bad target file, a target problem during set-up, or harness error.
`;

function progressLine(p: LoadProgress): string {
  const s = (ms: number) => `${Math.floor(ms / 1000)}s`;
  return `[${s(p.elapsedMs)}/${s(p.totalMs)}] agents ${p.running}  iterations ${p.completed} (${p.rate.toFixed(1)}/s)  failed ${p.failed}  requests ${p.requests}  5xx ${p.serverErrors}  p99 ${p.p99Ms.toFixed(0)} ms`;
}

const latency = (x: LatencySummary) => `p50 ${x.p50.toFixed(1)} ms, p95 ${x.p95.toFixed(1)} ms, p99 ${x.p99.toFixed(1)} ms, max ${x.max.toFixed(1)} ms`;

/** The human summary of a load report. */
export function summaryLines(r: LoadReport, file: string): string[] {
  const l = r.latencyMs;
  const t = r.throughput;
  const errors = Object.entries(r.errors.byClass)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const lines = [
    `load ${r.protocol}: ${r.agents} agents, ${r.durationMs / 1000} s${r.rampMs ? ` after a ${r.rampMs / 1000} s ramp` : ''}, seed ${r.seed}, target ${r.target.kind === 'reference' ? 'reference deployment' : r.target.source}`,
    `  ${r.setup}`,
    `throughput: ${t.iterationsPerSecond} iterations/s, ${t.requestsPerSecond} requests/s (steady: ${t.steady.iterationsPerSecond} iterations/s, ${t.steady.requestsPerSecond} requests/s)`,
    `iterations: ${r.iterations.completed} completed, ${r.iterations.failed} failed · requests ${r.requests.total} (${Object.entries(r.requests.byStatus)
      .map(([s, n]) => `${s}: ${n}`)
      .join(', ')}${r.requests.noAnswer ? `, no answer: ${r.requests.noAnswer}` : ''})`,
    `latency per request: ${latency(l.request)}`,
    `latency per iteration: ${latency(l.iteration)}`,
    `errors: ${errors || 'none'}${r.errors.serverErrors ? ` · 5xx answers: ${r.errors.serverErrors}` : ''}`,
    `money: ${
      Object.entries(r.ledger.byKind)
        .map(([k, v]) => `${k} ${v.count} (${r.ledger.unit === 'msat' ? `${BigInt(v.amount)} msat` : formatUsd(BigInt(v.amount))})`)
        .join(', ') || 'nothing moved'
    }; conservation ${r.conservation.ok ? 'holds to the unit' : 'VIOLATED'}`,
  ];
  if (r.nodeRepairs?.stalls) lines.push(`node: ${describeRepairs(r.nodeRepairs)}`);
  const broke = r.agentsOutOfFunds;
  if (broke.length) {
    const [from, to] = [Math.min(...broke.map((x) => x.atMs)), Math.max(...broke.map((x) => x.atMs))].map((ms) => (ms / 1000).toFixed(1));
    const first = broke[0]!;
    lines.push(
      `funds: ${broke.length} of ${r.agents} agent${r.agents === 1 ? '' : 's'} ran out of the money set-up gave ${r.agents === 1 ? 'it' : 'them'} and stopped (${from === to ? `at ${from} s` : `from ${from} s to ${to} s`}; agent ${first.agent} held ${first.held} after ${first.completed} iteration${first.completed === 1 ? '' : 's'}, one needs ${first.needed}): the run's sizing or the funder, not the target; the load after that was lighter than planned`,
    );
  }
  for (const [cls, samples] of Object.entries(r.errors.samples)) lines.push(`  ${cls}: ${samples[0]}`);
  for (const c of r.conservation.checks.filter((x) => !x.ok)) lines.push(`  conservation: ${c.name}: expected ${c.expected}, got ${c.actual}${c.note ? ` (${c.note})` : ''}`);
  lines.push(`verdict: ${r.verdict.ok ? 'pass' : `FAIL (${r.verdict.reasons.join('; ')})`}`, `wrote ${file}`);
  return lines;
}

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, {
      protocol: { type: 'string' },
      agents: { type: 'string' },
      duration: { type: 'string' },
      ramp: { type: 'string' },
      timeout: { type: 'string' },
      target: { type: 'string' },
      'allow-remote': { type: 'boolean' },
      seed: { type: 'string' },
      out: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    if (positionals.length) throw new UsageError(`amh load takes no positional arguments (got ${positionals.join(' ')}); see amh load --help`);
    if (!values.protocol) throw new UsageError('amh load needs --protocol P (see amh load --help)');
    if (values.agents === undefined) throw new UsageError('amh load needs --agents N');
    if (values.duration === undefined) throw new UsageError('amh load needs --duration D (e.g. 30s, 10m)');
    if (!/^\d+$/.test(values.agents)) throw new UsageError(`--agents must be a positive integer, got '${values.agents}'`);
    const agents = Number(values.agents);
    const durationMs = parseDuration(values.duration, '--duration');
    const rampMs = values.ramp === undefined ? 0 : parseDuration(values.ramp, '--ramp');
    const requestTimeoutMs = values.timeout === undefined ? REQUEST_TIMEOUT_MS : parseDuration(values.timeout, '--timeout');
    if (requestTimeoutMs < 100) throw new UsageError('--timeout must be at least 100ms');
    let seed = 1;
    if (values.seed !== undefined) {
      if (!/^\d+$/.test(values.seed) || Number(values.seed) > 2 ** 31 - 1) throw new UsageError(`--seed must be an integer from 0 to 2147483647, got '${values.seed}'`);
      seed = Number(values.seed);
    }
    checkLoadOptions({ agents, durationMs, rampMs });
    const tty = Boolean(process.stderr.isTTY) && !values.quiet;
    const width = () => (process.stderr.columns ?? 100) - 1;
    const { report, file } = await runLoad({
      protocol: values.protocol,
      agents,
      durationMs,
      rampMs,
      requestTimeoutMs,
      seed,
      out: values.out ?? defaultOut(values.protocol),
      command: `amh load ${argv.join(' ')}`,
      ...(values.target ? { targetFile: values.target } : {}),
      ...(values['allow-remote'] ? { allowRemote: true } : {}),
      ...(tty ? { onProgress: (p: LoadProgress) => process.stderr.write(`\r${progressLine(p).slice(0, width()).padEnd(width())}`) } : {}),
      log: (line) => {
        if (!values.quiet) process.stderr.write(`${tty ? `\r${' '.repeat(width())}\r` : ''}${line}\n`);
      },
    });
    if (tty) process.stderr.write(`\r${' '.repeat(width())}\r`);
    process.stdout.write(`${summaryLines(report, file).join('\n')}\n`);
    return report.verdict.exitCode;
  });
}
