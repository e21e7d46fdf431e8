/**
 * Helpers shared by run / certify / replay / report (not a command: the dispatcher skips `_*.ts`).
 */
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, execute, type ExecuteOptions } from '../execute.ts';
import { isProvisional, type ProgressEvent } from '../../engine/runner.ts';
import { TargetError } from '../../target/schema.ts';
import { nodeRepairsText, protocolRates, runsText, verdictText } from '../../report/markdown.ts';
import type { Report } from '../../report/types.ts';
import { ReportFileError, writeReports } from '../../report/write.ts';
import { applyBaseline, BaselineError, baselineLines, loadBaseline } from '../../report/baseline.ts';
import { MergeError } from '../../report/merge.ts';
import { BundleError } from '../../report/bundle.ts';
import { ProfileError, profileLines, resolveProfile, type Profile } from '../../profiles/profile.ts';
import { loadConstants } from '../../packs/discover.ts';
import { LONG_REQUESTS } from '../../robustness/batch.ts';

export { UsageError };

/** Parse argv strictly; unknown options become a UsageError. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Help of --profile (run, certify, up). */
export const PROFILE_HELP = `  --profile FILE       what-if profile (YAML or JSON): protocol constants that differ from the
                       defaults, { name?, protocols: { <protocol>: { <constant>: value } } }; the
                       reference servers, contracts, models and requirement texts follow it (with
                       certify: what your target is configured with). \`amh list --constants\` lists
                       every constant with its range; examples in examples/profiles/.
                       AMH_APS1_PROFILE=compat is an alias for the aps1 compat preset.`;

/** The profile of a command (--profile FILE and the packs' preset variables), checked; undefined: defaults. */
export async function commandProfile(file: string | undefined): Promise<Profile | undefined> {
  const p = await resolveProfile(file, await loadConstants());
  if (p) process.stderr.write(`profile '${p.name}' (${p.hash.slice(0, 12)}): ${profileLines(p).join(', ') || 'every constant at its default'}\n`);
  return p;
}

/** Options common to run and certify. */
export const RUN_OPTIONS = {
  runs: { type: 'string' },
  seed: { type: 'string' },
  protocol: { type: 'string', multiple: true },
  grep: { type: 'string' },
  'time-budget': { type: 'string' },
  workers: { type: 'string' },
  out: { type: 'string' },
  junit: { type: 'string' },
  shard: { type: 'string' },
  baseline: { type: 'string' },
  bail: { type: 'boolean' },
  long: { type: 'boolean' },
  spec: { type: 'string', multiple: true },
  profile: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const RUN_OPTIONS_HELP = `  --runs N             property runs per scenario (default 25)
  --seed S             run seed (default: random; printed, stored in the report)
  --protocol P         only protocol P (repeatable)
  --grep RE            only scenarios whose case id, title or requirement ids match RE
  --time-budget SEC    stop starting new runs after SEC seconds (unfinished scenarios: indeterminate)
  --workers N          parallel workers, each a thread with its own chains and servers (reference target; default: cores, max 4)
  --out DIR            report directory (default reports/latest)
  --junit FILE         also copy junit.xml to FILE
  --shard I/N          run only shard I of N (1-based): the selected scenarios, in their fixed
                       order, are dealt round-robin to N shards; each scenario keeps its seed, so
                       \`amh report --merge\` of all N shard reports gives the verdicts of one
                       unsharded run with the same --seed (pass the same --seed to every shard)
  --baseline FILE      accepted failures (JSON, written by \`amh baseline\`): the run passes when only
                       those fail; a new failure or a stale entry (that requirement now passes) fails it
  --spec REV           certify spec revision REV (\`amh list\` shows each protocol's): PROTOCOL=REV for
                       one protocol, or REV for every selected protocol that declares it (repeatable);
                       default: each protocol's current revision. The report names the revision.
  --bail               stop after the first scenario that does not pass; the scenarios not started
                       are reported indeterminate ("not run: --bail"), so the run exits 1
  --long               long robustness mode: each protocol's robustness scenario sends 10,000
                       malformed requests instead of 200 (= AMH_ROBUSTNESS_REQUESTS=10000; that
                       variable sets any other number; give it to \`amh replay\` of such a run too)
${PROFILE_HELP}
  --quiet              no progress display
  -h, --help           this help

Exit codes: 0 every MUST requirement passed · 1 a MUST failed (or could not be established) · 2 harness or usage error, or no check executed.`;

function int(name: string, v: string | undefined, def: number, min = 0): number {
  if (v === undefined) return def;
  if (!/^-?\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return Number(v);
}

/** Parse `--shard I/N` (1 <= I <= N). */
export function parseShard(v: string): { index: number; total: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  if (!m) throw new UsageError(`--shard must be I/N, e.g. 1/4 (shard 1 of 4), got '${v}'`);
  const index = Number(m[1]);
  const total = Number(m[2]);
  if (total < 1) throw new UsageError(`--shard ${v}: the number of shards must be at least 1`);
  if (index < 1 || index > total) throw new UsageError(`--shard ${v}: there is no shard ${index} of ${total}; the index runs from 1 to ${total}`);
  return { index, total };
}

/** Turn parsed run/certify options into ExecuteOptions (without target and command). */
export function runOptions(v: Record<string, unknown>): Omit<ExecuteOptions, 'command'> & { out: string; junit?: string; quiet: boolean; baseline?: string; profileFile?: string } {
  const seed = v.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : int('seed', v.seed as string, 0, -(2 ** 31));
  if (seed >= 2 ** 31 || seed < -(2 ** 31)) throw new UsageError('--seed must fit in 32 bits');
  const budget = v['time-budget'] === undefined ? undefined : int('time-budget', v['time-budget'] as string, 0, 1) * 1000;
  if (v.grep !== undefined) {
    try {
      new RegExp(v.grep as string);
    } catch (e) {
      throw new UsageError(`--grep: ${(e as Error).message}`);
    }
  }
  // The robustness scenarios read their batch size from the environment (harness/robustness/batch.ts).
  if (v.long && !process.env.AMH_ROBUSTNESS_REQUESTS) process.env.AMH_ROBUSTNESS_REQUESTS = String(LONG_REQUESTS);
  return {
    runs: int('runs', v.runs as string | undefined, 25, 1),
    seed,
    protocols: v.protocol as string[] | undefined,
    grep: v.grep as string | undefined,
    timeBudgetMs: budget,
    workers: v.workers === undefined ? undefined : int('workers', v.workers as string, 1, 1),
    out: (v.out as string | undefined) ?? path.join('reports', 'latest'),
    junit: v.junit as string | undefined,
    quiet: Boolean(v.quiet),
    ...(v.bail ? { bail: true } : {}),
    ...(v.spec ? { spec: v.spec as string[] } : {}),
    ...(v.shard !== undefined ? { shard: parseShard(v.shard as string) } : {}),
    ...(v.baseline !== undefined ? { baseline: v.baseline as string } : {}),
    ...(v.profile !== undefined ? { profileFile: v.profile as string } : {}),
  };
}

/**
 * Progress display: on a TTY one status line rewritten in place (scenario, runs done, failures so
 * far); otherwise one plain line per finished scenario (CI logs).
 */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): { onProgress: (e: ProgressEvent) => void; done: () => void } {
  const tty = Boolean(stream.isTTY);
  let finished = 0;
  let failed = 0;
  let total = 0;
  let runsPlanned = 0;
  let last = 0;
  const line = (s: string) => {
    const width = stream.columns ?? 100;
    stream.write(`\r${s.slice(0, width - 1).padEnd(width - 1)}`);
  };
  return {
    onProgress(e) {
      if (e.type === 'scenario-start') {
        total = e.total;
        runsPlanned = e.runs;
        if (tty) line(`[${finished}/${total}] ${e.caseId} starting…  failures so far: ${failed}`);
      } else if (e.type === 'run') {
        const now = Date.now();
        if (tty && now - last > 80) {
          last = now;
          line(`[${finished}/${total}] ${e.caseId}  runs ${e.runsDone}/${runsPlanned}${e.failures ? ` (shrinking, ${e.failures} failing)` : ''}  failures so far: ${failed}`);
        }
      } else {
        finished++;
        if (e.status === 'fail' || e.status === 'error' || e.status === 'indeterminate') failed++;
        const msg = `[${finished}/${total}] ${e.caseId}: ${e.status} (${e.runs} runs, ${e.durationMs} ms)`;
        if (tty) line(msg);
        if (!tty || e.status !== 'pass') stream.write(`${tty ? '\r' : ''}${msg}${tty ? ' '.repeat(10) : ''}\n`);
      }
    },
    done() {
      if (tty) stream.write(`\r${' '.repeat((stream.columns ?? 100) - 1)}\r`);
    },
  };
}

/** Print the human summary of a report: verdict, counts, failures with counterexample and replay. */
export function printSummary(r: Report, files: string[], out: NodeJS.WriteStream = process.stdout): void {
  const s = r.summary;
  const lines: string[] = [];
  lines.push(`${verdictText(r)}`);
  lines.push(`target: ${r.target.name} · seed ${r.seed} · ${runsText(r)} · ${(r.durationMs / 1000).toFixed(1)} s`);
  if (r.profile)
    lines.push(
      `profile: ${r.profile.name} (${r.profile.hash.slice(0, 12)}): ${
        Object.entries(r.profile.constants)
          .flatMap(([p, c]) => Object.entries(c).map(([k, v]) => `${p}.${k} = ${v}`))
          .join(', ') || 'every constant at its default'
      }`,
    );
  lines.push(
    `speed: ${protocolRates(r)
      .map((x) => `${x.id} ${x.runs} runs, ${x.perSecond.toFixed(1)} runs/s`)
      .join(' · ')} (per worker)`,
  );
  const repairs = nodeRepairsText(r);
  if (repairs) lines.push(`node: ${repairs}`);
  for (const sc of r.protocols.flatMap((p) => p.scenarios)) {
    if (sc.status === 'pass' && sc.runs < sc.runsPlanned) lines.push(`fewer runs: ${sc.caseId} ran ${sc.runs} of ${sc.runsPlanned}${sc.reason ? ` (${sc.reason})` : ''}`);
  }
  lines.push(
    `requirements: ${s.pass} pass, ${s.fail} fail, ${s.warn} warn, ${s.notApplicable} n/a, ${s.error} error, ${s.indeterminate} indeterminate, ${s.uncovered} uncovered · ${s.checks} checks executed`,
  );
  const regs = r.protocols.filter((p) => p.register);
  if (regs.length)
    lines.push(
      `register: ${regs.map((p) => `${p.id} ${p.register!.lines.covered}/${p.register!.lines.total} source lines, ${p.register!.surface.total} surface items mapped${p.register!.problems ? ` (${p.register!.problems} problems)` : ''}`).join(' · ')}`,
    );
  if (r.shard) {
    const prov = r.protocols.flatMap((p) => p.requirements).filter(isProvisional).length;
    lines.push(
      `shard ${r.shard.index}/${r.shard.total}: ${r.protocols.reduce((a, p) => a + p.scenarios.length, 0)} of ${r.shard.cases.length} cases${prov ? `; ${prov} requirement${prov === 1 ? '' : 's'} not checked by this shard's runs (provisional: the merge decides; not counted in this exit code)` : ''} — merge every shard with amh report --merge`,
    );
  }
  if (r.merged) lines.push(`merged from ${r.merged.shards} shards`);
  if (r.baseline) lines.push(...baselineLines(r.baseline));
  for (const e of r.errors) lines.push(e.startsWith('target problem') ? e : `harness error: ${e}`);
  for (const p of r.protocols) {
    for (const q of p.requirements.filter(
      (x) => x.status === 'fail' || x.status === 'error' || x.status === 'warn' || ((x.status === 'indeterminate' || x.status === 'uncovered') && x.level === 'MUST'),
    )) {
      lines.push('', `${q.status.toUpperCase()} ${q.id} [${q.level}] ${q.title}`, `  rule: ${q.text}`);
      const cxs = p.scenarios.filter((x) => x.requirements.includes(q.id) && x.counterexample && x.status !== 'pass' && (!x.counterexample.requirement || x.counterexample.requirement === q.id));
      if (q.reason && cxs.length === 0) lines.push(`  ${q.reason}`);
      for (const sc of cxs) {
        const cx = sc.counterexample!;
        lines.push(`  ${sc.caseId}: ${cx.message.split('\n').join('\n  ')}`);
        lines.push(`  shrunk counterexample (${sc.caseId}, seed ${cx.seed}, path ${cx.path}):`);
        cx.actions.forEach((a, i) => lines.push(`    ${i + 1}. ${a}`));
        lines.push(`  replay: ${sc.replay}`);
      }
    }
  }
  if (files.length) lines.push('', `report: ${files.find((f) => f.endsWith('index.html')) ?? files[0]}  (${files.map((f) => path.basename(f)).join(', ')} in ${path.dirname(files[0]!)})`);
  out.write(`${lines.join('\n')}\n`);
}

/** Shared body of run/certify: execute, write reports, print, return the exit code. */
export async function runAndReport(o: ExecuteOptions & { out: string; junit?: string; quiet: boolean; baseline?: string; profileFile?: string }): Promise<number> {
  // A bad baseline or profile is refused before anything runs.
  const baseline = o.baseline ? await loadBaseline(o.baseline) : undefined;
  const profile = o.profile ?? (await commandProfile(o.profileFile));
  const progress = o.quiet ? undefined : progressPrinter();
  const rel = path.isAbsolute(o.out) ? path.join(o.out, 'report.json') : path.relative(process.cwd(), path.join(o.out, 'report.json'));
  let report: Report;
  try {
    report = await execute({ ...o, profile, onProgress: progress?.onProgress, replayCommand: `amh replay ${rel}` });
  } finally {
    progress?.done();
  }
  if (baseline) report = applyBaseline(report, baseline, o.baseline!);
  const files = await writeReports(report, o.out);
  if (o.junit) {
    await mkdir(path.dirname(path.resolve(o.junit)), { recursive: true });
    await copyFile(path.join(o.out, 'junit.xml'), o.junit);
  }
  printSummary(report, files);
  return report.exitCode;
}

/** Bad input to a command (unreadable or invalid file): exit 2 with the message, no stack. */
export class InputError extends Error {
  override name = 'InputError';
}

/** Map thrown errors to exit code 2 with a readable message. */
export async function guard(fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    if (
      e instanceof UsageError ||
      e instanceof TargetError ||
      e instanceof BaselineError ||
      e instanceof MergeError ||
      e instanceof InputError ||
      e instanceof ReportFileError ||
      e instanceof BundleError ||
      e instanceof ProfileError
    ) {
      process.stderr.write(`amh: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`amh: harness error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 2;
  }
}
