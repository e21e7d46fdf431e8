/** `amh simulate FILE`: an agent economy on the protocols' models, with metrics and exact money conservation. */
import { formatUsd } from '../../util/money.ts';
import { EconomyError } from '../../sim/economy.ts';
import { ENGINES, type Engine, runSimulation, trailLines } from '../../sim/run.ts';
import { UsageError, guard, parse } from './_shared.ts';

export const summary = 'simulate an agent economy (populations, strategies, demand) and check that money is conserved';

export const help = `Usage: amh simulate FILE [--engine model|stack] [--out DIR] [--seed S] [--profile FILE] [--quiet]

Runs the economy described by FILE (YAML or JSON; see the "amh simulate" section of
harness/README.md and examples/economies/): buyers, sellers and reviewers with their strategies
trade over the economy's protocols for its simulated duration. Every money movement is an event;
at the end every base unit must be accounted for by the buyers, the sellers, the escrows and the
fee accounts, or the run fails and prints the events that lead to the violation.

Options:
  --engine E     model (default): the packs' executable models, no chain.
                 stack: the real reference stack (anvil, reference servers, real payments),
                 simulated time as chain time; x402 only so far (another protocol exits 2)
  --out DIR      output folder (default reports/sim/<economy name>): metrics.json, events.csv,
                 tasks.csv, and violations.json when conservation failed
  --seed S       run seed, 0 to 2147483647 (default: the file's seed, else 1); the same seed
                 gives the same events and metrics
  --profile F    a what-if profile (YAML/JSON, the format of amh run --profile, see
                 examples/profiles/): its protocol constants override the economy's \`profiles\`
                 (which are checked against the same declared types and ranges)
  --quiet        no progress line on a terminal
  -h, --help     this help

Exit codes: 0 the run finished and money was conserved · 1 conservation violated · 2 bad input
(economy file, options) or harness error.
`;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(
      argv,
      { engine: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' }, profile: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      true,
    );
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('simulate needs one economy file: amh simulate FILE (see amh simulate --help)');
    const engine = (values.engine ?? 'model') as Engine;
    if (!ENGINES.includes(engine)) throw new UsageError(`--engine must be one of ${ENGINES.join(', ')}, got '${values.engine}'`);
    let seed: number | undefined;
    if (values.seed !== undefined) {
      if (!/^\d+$/.test(values.seed) || Number(values.seed) > 2 ** 31 - 1) throw new UsageError(`--seed must be an integer from 0 to 2147483647, got '${values.seed}'`);
      seed = Number(values.seed);
    }
    const tty = Boolean(process.stderr.isTTY) && !values.quiet;
    const progress = tty
      ? (p: { simMs: number; endMs: number; arrivals: number }) => {
          const width = 30;
          const done = Math.min(width, Math.round((p.simMs / p.endMs) * width));
          process.stderr.write(`\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${(p.simMs / 3_600_000).toFixed(1)}/${(p.endMs / 3_600_000).toFixed(1)} h  ${p.arrivals} arrivals`);
        }
      : undefined;
    try {
      const r = await runSimulation({
        file: positionals[0]!,
        engine,
        ...(values.out ? { out: values.out } : {}),
        ...(seed !== undefined ? { seed } : {}),
        ...(values.profile ? { profile: values.profile } : {}),
        ...(progress ? { onProgress: progress } : {}),
      });
      if (tty) process.stderr.write('\n');
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
      if (tty) process.stderr.write('\n');
      if (e instanceof EconomyError) {
        process.stderr.write(`amh: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
  });
}
