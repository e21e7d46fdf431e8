/** `amh simulate FILE`: an agent economy (or a sweep of economies) on the protocols' models, with metrics, plots and exact money conservation. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { formatUsd } from '../../util/money.ts';
import { EconomyError, readDataFile } from '../../sim/economy.ts';
import { ENGINES, type Engine, runSimulation, trailLines } from '../../sim/run.ts';
import { isSweepData, mergeSweeps, runSweep, SweepMergeError, type SweepResult } from '../../sim/sweep.ts';
import { UsageError, guard, parse, parseShard } from './_shared.ts';

export const summary = 'simulate an agent economy (populations, strategies, demand) or a sweep of them; check that money is conserved';

export const help = `Usage: amh simulate FILE [--engine model|stack] [--concurrency N] [--out DIR] [--seed S] [--profile FILE] [--quiet]
       amh simulate SWEEP [--engine model|stack] [--out DIR] [--profile FILE] [--workers N] [--shard I/N] [--quiet]
       amh simulate --merge DIR... [--out DIR]

Runs the economy described by FILE (YAML or JSON; see the "amh simulate" section of
harness/README.md and examples/economies/): buyers, sellers and reviewers with their strategies
trade over the economy's protocols for its simulated duration. Every money movement is an event;
at the end every base unit must be accounted for by the buyers, the sellers, the escrows and the
fee accounts, or the run fails and prints the events that lead to the violation.

A SWEEP file (one with a \`grid\`: a base economy, parameters as dotted paths with their values,
seeds; examples/economies/sweep.yaml) runs every grid point with every seed on local worker
processes and writes one folder per point, sweep.json and sweep.html (a heat map).

Options:
  --engine E     model (default): the packs' executable models, no chain.
                 stack: the real reference stack (anvil, reference servers, real payments),
                 simulated time as chain time; for the packs with a stack simulation
                 (agentripe, aimarket, aisp, aps1, asa, x402; another protocol exits 2)
  --concurrency N  stack: up to N tasks on the stack at once (default 1: one at a time, in
                 arrival order). Each task's plan is then the model's, decided at its arrival,
                 and a task the stack carries out otherwise is a conservation violation; only
                 for protocols whose tasks move no chain time (x402; another exits 2)
  --out DIR      output folder (default reports/sim/<economy or sweep name>): metrics.json,
                 events.csv, tasks.csv, report.html (plots), and violations.json when
                 conservation failed; for a sweep <point>/economy.json, <point>/seed-<S>/ (one
                 run's files), sweep.json, sweep.html
  --seed S       run seed, 0 to 2147483647 (default: the file's seed, else 1); the same seed
                 gives the same events and metrics (a sweep lists its seeds in the file)
  --profile F    a what-if profile (YAML/JSON, the format of amh run --profile, see
                 examples/profiles/): its protocol constants override the economy's \`profiles\`
                 (which are checked against the same declared types and ranges)
  --workers N    sweep: runs at a time, each in its own worker process (default: the core count)
  --shard I/N    sweep: only shard I of N (1-based): the runs (point by point, seed by seed) are
                 dealt round-robin to N shards, as amh run --shard deals scenarios
  --merge        the arguments are the folders of every shard of one sweep: writes into --out
                 (default reports/sim/<sweep name>) what the unsharded sweep writes
  --quiet        no progress bar on a terminal
  -h, --help     this help

Exit codes: 0 the run (every run of the sweep) finished and money was conserved · 1 conservation
violated · 2 bad input (economy or sweep file, options, shards that do not merge) or harness error.
`;

function int(name: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${v}'`);
  return Number(v);
}

/** A progress bar on stderr when it is a terminal (and not --quiet); nothing otherwise. */
function bar(show: boolean, format: string): cliProgress.SingleBar | undefined {
  return show ? new cliProgress.SingleBar({ format, stream: process.stderr, hideCursor: true, clearOnComplete: true, fps: 5 }, cliProgress.Presets.shades_classic) : undefined;
}

function printSweep(r: SweepResult): void {
  const s = r.sweep;
  const runs = s.points.flatMap((p) => p.runs);
  const all = s.points.length * s.seeds.length;
  const bad = runs.filter((x) => !x.conserved).map((x) => x.dir);
  const lines = [
    `sweep ${s.name}: engine ${s.engine}, ${s.points.length} points × ${s.seeds.length} seeds = ${all} runs${s.shard ? `; shard ${s.shard.index}/${s.shard.total}: ${runs.length} runs (merge every shard with amh simulate --merge)` : ''}${s.run.mergedShards ? `; merged from ${s.run.mergedShards} shards` : ''}`,
    `heat map: ${s.heatmap.metric} over ${s.heatmap.x}${s.heatmap.y ? ` × ${s.heatmap.y}` : ''}`,
    `money: ${bad.length ? `CONSERVATION VIOLATED in ${bad.length} runs: ${bad.join(', ')}` : `conserved to the unit in all ${runs.length} runs`}`,
    `wrote ${r.files.join(', ')} and ${runs.length} run folders in ${r.dir}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(
      argv,
      {
        engine: { type: 'string' },
        concurrency: { type: 'string' },
        out: { type: 'string' },
        seed: { type: 'string' },
        profile: { type: 'string' },
        workers: { type: 'string' },
        shard: { type: 'string' },
        merge: { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      true,
    );
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    const tty = Boolean(process.stderr.isTTY) && !values.quiet;
    try {
      if (values.merge) {
        if (positionals.length === 0) throw new UsageError('simulate --merge needs the folder of every shard of the sweep (see amh simulate --help)');
        for (const [k, v] of Object.entries({ engine: values.engine, concurrency: values.concurrency, seed: values.seed, profile: values.profile, workers: values.workers, shard: values.shard }))
          if (v !== undefined) throw new UsageError(`--${k} does not apply to --merge: the shards were run with their options`);
        const r = await mergeSweeps(positionals, values.out ?? path.join('reports', 'sim', await sweepName(positionals[0]!)));
        printSweep(r);
        return r.exitCode;
      }
      if (positionals.length !== 1) throw new UsageError('simulate needs one economy or sweep file: amh simulate FILE (see amh simulate --help)');
      const file = positionals[0]!;
      const engine = (values.engine ?? 'model') as Engine;
      if (!ENGINES.includes(engine)) throw new UsageError(`--engine must be one of ${ENGINES.join(', ')}, got '${values.engine}'`);
      const data = await readDataFile(file, 'economy or sweep');
      if (isSweepData(data)) {
        if (values.seed !== undefined) throw new UsageError('--seed does not apply to a sweep: its seeds are in the sweep file (seeds: N or a list)');
        if (values.concurrency !== undefined) throw new UsageError('--concurrency applies to one economy, not to a sweep (a sweep runs its points on --workers processes)');
        const progress = bar(tty, 'sweep [{bar}] {value}/{total} runs | {eta_formatted} left | {last}');
        let r: SweepResult;
        try {
          r = await runSweep({
            file,
            data,
            engine,
            ...(values.out ? { out: values.out } : {}),
            ...(values.profile ? { profile: values.profile } : {}),
            ...(values.workers !== undefined ? { workers: int('workers', values.workers, 1, 256) } : {}),
            ...(values.shard !== undefined ? { shard: parseShard(values.shard) } : {}),
            onStart: (runs) => progress?.start(runs, 0, { last: '' }),
            onRun: (p) => progress?.update(p.done, { last: p.dir }),
          });
        } finally {
          progress?.stop();
        }
        printSweep(r);
        return r.exitCode;
      }
      for (const k of ['workers', 'shard'] as const) if (values[k] !== undefined) throw new UsageError(`--${k} applies to a sweep file (one with a grid), not to one economy`);
      const concurrency = values.concurrency === undefined ? undefined : int('concurrency', values.concurrency, 1, 256);
      if (concurrency !== undefined && engine !== 'stack') throw new UsageError('--concurrency applies to --engine stack (the model engine runs every task at once in memory)');
      const seed = values.seed === undefined ? undefined : int('seed', values.seed, 0, 2 ** 31 - 1);
      const progress = bar(tty, '[{bar}] {hours}/{endHours} simulated h | {arrivals} arrivals');
      progress?.start(1, 0, { hours: '0.0', endHours: '?', arrivals: 0 });
      let r: Awaited<ReturnType<typeof runSimulation>>;
      try {
        r = await runSimulation({
          file,
          data,
          engine,
          ...(values.out ? { out: values.out } : {}),
          ...(seed !== undefined ? { seed } : {}),
          ...(concurrency !== undefined ? { concurrency } : {}),
          ...(values.profile ? { profile: values.profile } : {}),
          ...(progress
            ? {
                onProgress: (p: { simMs: number; endMs: number; arrivals: number }) => {
                  progress.setTotal(p.endMs);
                  progress.update(Math.min(p.simMs, p.endMs), { hours: (p.simMs / 3_600_000).toFixed(1), endHours: (p.endMs / 3_600_000).toFixed(1), arrivals: p.arrivals });
                },
              }
            : {}),
        });
      } finally {
        progress?.stop();
      }
      const m = r.metrics;
      const outcomes = Object.entries(m.byOutcome)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
      const lines = [
        `economy ${m.economy.name}: engine ${m.engine}, seed ${m.seed}, ${m.economy.durationHours} simulated hours`,
        `tasks ${m.tasks} (${outcomes || 'none'}); unserved ${Object.values(m.arrivals.unserved).reduce((a, b) => a + b, 0)}`,
        `welfare: buyer surplus ${formatUsd(BigInt(m.welfare.buyerSurplus))}, seller profit ${formatUsd(BigInt(m.welfare.sellerProfit))}; reputation vs true quality (Spearman) ${m.reputation.rankCorrelationWithTrueQuality?.toFixed(3) ?? 'n/a'}`,
        `money: funded ${formatUsd(BigInt(m.conservation.funded))}; ${m.conservation.ok ? 'conserved to the unit' : `CONSERVATION VIOLATED (${m.conservation.violations.length})`}`,
        `wrote ${r.files.join(', ')}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      for (const v of r.result.violations.slice(0, 10)) process.stderr.write(`amh: conservation violated: ${v.message}\n${trailLines(v.trail).join('\n')}\n`);
      if (r.result.violations.length > 10) process.stderr.write(`amh: … ${r.result.violations.length - 10} more violations in violations.json\n`);
      return r.exitCode;
    } catch (e) {
      if (e instanceof EconomyError || e instanceof SweepMergeError) {
        process.stderr.write(`amh: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
  });
}

/** The sweep name in a shard folder's sweep.json (for the default --out of a merge). */
async function sweepName(dir: string): Promise<string> {
  try {
    return (JSON.parse(await readFile(path.join(dir, 'sweep.json'), 'utf8')) as { name: string }).name;
  } catch {
    return 'merged';
  }
}
