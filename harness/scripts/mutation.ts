/**
 * Mutation testing of a protocol pack's reference server with StrykerJS, certification as the test:
 *
 *   npm run mutation -- --protocol x402 [--mutate GLOB]... [--runs N] [--seed S] [--concurrency N]
 *                       [--out DIR] [--incremental] [--dry-run] [--rescore]
 *
 * Every mutant of the server's sources (config.ts `serverSources`: what the pack's service.ts
 * imports, minus protocol/ and agents/) is tested by `amh run --protocol ID` on Stryker's mutated
 * sandbox: killed when the certification fails (exit 1) or cannot run (exit 2), survived when it
 * passes. Writes reports/mutation/<id>/ (Stryker's mutation.json and mutation.html, the generated
 * stryker.config.json, survivors.json) and prints the counts, the score over non-equivalent mutants
 * (reference-impl/<id>/mutation-equivalents.json) and each survivor as
 * `file:line  mutator  original → replacement`. Not part of `npm test`: a run takes tens of minutes.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../chain/paths.ts';
import { Instrumenter } from '@stryker-mutator/instrumenter';
import type { Ignorer } from '@stryker-mutator/api/ignore';
import type { Logger } from '@stryker-mutator/api/logging';
import { strykerPlugins } from './mutation/stryker-plugins.ts';
import {
  IGNORERS,
  dryRunMinutes,
  equivalentMatches,
  isRow,
  recheckRows,
  rowKey,
  keyRanges,
  type MutantKey,
  sampleMutants,
  wilson,
  equivalentsPath,
  loadEquivalents,
  mutateRanges,
  remapSpans,
  mutantRows,
  serverSources,
  strykerOptions,
  summarize,
  survivorLine,
  testCommand,
  testSideFingerprint,
  type MutantRow,
  type MutationSummary,
} from './mutation/config.ts';

const HELP = `Usage: npm run mutation -- --protocol ID [options]

Mutates the pack's reference server (reference-impl/ID: what service.ts imports, minus protocol/ and
agents/) with StrykerJS and certifies each mutant with \`amh run --protocol ID\`.

Options:
  --protocol ID        the pack (required)
  --mutate GLOB        files to mutate instead of the server's sources (repeatable; file.ts:10-20 ranges work)
  --runs N             property runs per scenario in each certification (default 10)
  --seed S             certification seed, the same for every mutant (default 1)
  --concurrency N      certifications in parallel (default: cores - 1, at least 1)
  --out DIR            report directory (default reports/mutation/ID)
  --incremental        reuse the previous run's results for unchanged mutants (only when nothing on the
                       test side changed: harness/, scenarios/, protocol/, agents/, fixtures, runs, seed)
  --survivors          only the survivors (survived or not covered) of the last full run that the
                       equivalents register does not name
                       (reports/mutation/ID/mutation.json, else the last sample's drawn mutants; others
                       nested in their code are skipped), e.g. after adding a
                       check, or with more --runs; report in reports/mutation/ID/recheck/ unless --out
  --timeouts           only the timeouts of that run (a timeout counts as detected: check
                       that it is a hang, not a slow machine); combines with --survivors
  --sample N           a seeded random sample of N of the server's mutants (not ignored), when a full run
                       would take hours: the score is printed with its 95% interval for the whole
                       server; report in reports/mutation/ID/sample/ unless --out
  --sample-seed S      which sample (default: --seed)
  --dry-run            only the initial certification of the instrumented sandbox
  --dry-run-timeout M  minutes the initial certification may take (default 10 x the load per core,
                       at least 10, at most 60)
  --rescore            no Stryker run: re-read DIR/mutation.json and the equivalents register
  -h, --help           this help
`;

function fail(msg: string): never {
  process.stderr.write(`mutation: ${msg}\n`);
  process.exit(2);
}

function int(name: string, v: string | undefined, def: number, min: number): number {
  if (v === undefined) return def;
  if (!/^-?\d+$/.test(v) || Number(v) < min) fail(`--${name} must be an integer >= ${min}, got '${v}'`);
  return Number(v);
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** The printed summary. */
export function render(id: string, s: MutationSummary, extra: { durationMs?: number; runs: number; seed: number; concurrency?: number; sample?: { size: number; of: number; seed: number } }): string {
  const lines = [
    `mutation testing of the ${id} reference server (amh run --protocol ${id} --runs ${extra.runs} --seed ${extra.seed})`,
    `  mutants ${s.total} · killed ${s.killed} (${s.killedByHarnessError} of them by a harness error, exit 2) · timeout ${s.timeout} · survived ${s.survived} · no coverage ${s.noCoverage} · errors ${s.errors}`,
    `  ignored ${s.ignored} (log calls, fault switches) · equivalent ${s.equivalent}`,
    `  score ${pct(s.score)} = (killed + timeout) / (mutants − ignored − errors − equivalent)   [Stryker's own, without the register: ${pct(s.strykerScore)}]`,
  ];
  if (extra.sample && s.score !== null) {
    const scored = s.total - s.ignored - s.errors - s.equivalent;
    const [lo, hi] = wilson(s.killed + s.timeout, scored);
    lines.push(`  a sample of ${extra.sample.size} of ${extra.sample.of} mutants (sample seed ${extra.sample.seed}): the whole server's score is in [${pct(lo)}, ${pct(hi)}] with 95% confidence`);
  }
  if (extra.durationMs !== undefined) lines.push(`  duration ${duration(extra.durationMs)}${extra.concurrency ? ` (concurrency ${extra.concurrency})` : ''}`);
  const survived = s.survivors.filter((m) => m.status === 'Survived');
  const uncovered = s.survivors.filter((m) => m.status === 'NoCoverage');
  if (survived.length) lines.push('', `survived (${survived.length}): the certification ran this code and passed`, ...survived.map((m) => `  ${survivorLine(m)}`));
  if (uncovered.length) lines.push('', `no coverage (${uncovered.length}): the certification never ran this code`, ...uncovered.map((m) => `  ${survivorLine(m)}`));
  if (s.stale.length)
    lines.push('', `stale equivalents (${s.stale.length}): match no mutant; update or delete them`, ...s.stale.map((e) => `  ${e.file}:${e.line ?? '*'}  ${e.mutator}  → ${e.replacement}`));
  if (s.contradicted.length)
    lines.push('', `equivalents that are killed (${s.contradicted.length}): not equivalent after all`, ...s.contradicted.map((c) => `  ${survivorLine(c.mutant)}  [${c.mutant.statusReason ?? ''}]`));
  return lines.join('\n');
}

/** Every mutant Stryker makes of these files, minus those the ignorers leave out (0-based locations). */
async function enumerateMutants(root: string, files: readonly string[]): Promise<MutantKey[]> {
  const quiet = new Proxy({}, { get: (_t, k) => (String(k).startsWith('is') ? () => false : () => undefined) }) as Logger;
  const ignorers = strykerPlugins.filter((p) => p.kind === 'Ignore').map((p) => (p as unknown as { value: Ignorer }).value);
  const inputs = files.map((f) => ({ name: path.join(root, f), content: readFileSync(path.join(root, f), 'utf8'), mutate: true as const }));
  const r = await new Instrumenter(quiet).instrument(inputs, { ignorers, excludedMutations: [], plugins: null });
  return r.mutants
    .filter((m) => m.status !== 'Ignored')
    .map((m) => ({
      file: path.relative(root, m.fileName).split(path.sep).join('/'),
      line: m.location.start.line,
      column: m.location.start.column,
      endLine: m.location.end.line,
      endColumn: m.location.end.column,
      mutator: m.mutatorName,
      replacement: m.replacement ?? '',
    }));
}

async function main(): Promise<void> {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        protocol: { type: 'string' },
        mutate: { type: 'string', multiple: true },
        runs: { type: 'string' },
        seed: { type: 'string' },
        concurrency: { type: 'string' },
        out: { type: 'string' },
        incremental: { type: 'boolean' },
        survivors: { type: 'boolean' },
        timeouts: { type: 'boolean' },
        sample: { type: 'string' },
        'sample-seed': { type: 'string' },
        'dry-run': { type: 'boolean' },
        'dry-run-timeout': { type: 'string' },
        rescore: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    fail(`${(e as Error).message}\n\n${HELP}`);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const id = values.protocol as string | undefined;
  if (!id || !/^[a-z0-9][a-z0-9-]*$/.test(id)) fail(`--protocol ID is required (a pack folder name)\n\n${HELP}`);
  const root = REPO_ROOT;
  if (!existsSync(path.join(root, 'scenarios', id, 'index.ts'))) fail(`no protocol '${id}': scenarios/${id}/index.ts does not exist`);
  const full = path.resolve(root, 'reports', 'mutation', id);
  const recheck = Boolean(values.survivors || values.timeouts);
  const sampleSize = values.sample === undefined ? undefined : int('sample', values.sample as string, 0, 1);
  const out = path.resolve(root, (values.out as string | undefined) ?? (recheck ? path.join(full, 'recheck') : sampleSize ? path.join(full, 'sample') : full));
  // --rescore describes the run that wrote the report, not today's defaults.
  const previous: { runs?: number; seed?: number; concurrency?: number; durationMs?: number } =
    values.rescore && existsSync(path.join(out, 'survivors.json')) ? JSON.parse(readFileSync(path.join(out, 'survivors.json'), 'utf8')) : {};
  const runs = int('runs', values.runs as string | undefined, previous.runs ?? 10, 1);
  const seed = int('seed', values.seed as string | undefined, previous.seed ?? 1, -(2 ** 31));
  const concurrency = int('concurrency', values.concurrency as string | undefined, previous.concurrency ?? Math.max(1, availableParallelism() - 1), 1);
  let mutate: string[];
  try {
    mutate = (values.mutate as string[] | undefined) ?? serverSources(root, id);
  } catch (e) {
    fail((e as Error).message);
  }
  /** A recheck's mutants: Stryker makes every mutant in their spans (a block's body too); only these run and count. */
  let selected: MutantKey[] | undefined;
  let recheckSource = '';
  if (recheck) {
    if (values.mutate) fail('--survivors/--timeouts and --mutate exclude each other');
    // The whole server's last run, else the last sample's (a server too large to run whole).
    const report = [path.join(full, 'mutation.json'), path.join(full, 'sample', 'mutation.json')].find((f) => existsSync(f));
    if (!report) fail(`neither reports/mutation/${id}/mutation.json nor its sample/mutation.json exists: run the server (or a --sample) first`);
    recheckSource = path.relative(root, report);
    const wanted = new Set([...(values.survivors ? ['Survived', 'NoCoverage'] : []), ...(values.timeouts ? ['Timeout'] : [])]);
    const strykerReport = JSON.parse(readFileSync(report, 'utf8')) as { files: Record<string, { source: string }> };
    // A survivor the register already calls equivalent is not run again (a sample records those as
    // Survived): matched on the report's lines (registers pinned to a sample) or on today's (below).
    let known: ReturnType<typeof loadEquivalents> = [];
    try {
      known = loadEquivalents(path.join(root, equivalentsPath(id)));
    } catch (e) {
      fail((e as Error).message);
    }
    const isKnown = (m: MutantRow) => known.some((e) => equivalentMatches(e, m));
    const sampleFile = path.join(path.dirname(report), 'sample.json');
    const sampled = path.dirname(report) === path.join(full, 'sample') && existsSync(sampleFile) ? (JSON.parse(readFileSync(sampleFile, 'utf8')) as { keys: MutantKey[] }).keys : undefined;
    const candidates = recheckRows(mutantRows(strykerReport as never, root), wanted, sampled);
    const picked = candidates.filter((m) => !isKnown(m));
    if (candidates.length > picked.length) process.stdout.write(`mutation: ${candidates.length - picked.length} of them are registered equivalents: not rechecked\n`);
    if (picked.length === 0) fail(`${path.relative(root, report)} has no ${[...wanted].join(' or ')} mutant${candidates.length ? ' that is not a registered equivalent' : ''}`);
    // Mutants are positions in the code of that run: where a file changed since, each moves with its
    // lines, and one whose lines were edited is not rechecked (it would mutate other code).
    const sources = new Map(Object.entries(strykerReport.files).map(([f, x]) => [path.isAbsolute(f) ? path.relative(root, f) : f, x.source]));
    const placed: typeof picked = [];
    const lost: typeof picked = [];
    for (const file of new Set(picked.map((m) => m.file))) {
      const mine = picked.filter((m) => m.file === file);
      const now = existsSync(path.join(root, file)) ? readFileSync(path.join(root, file), 'utf8') : undefined;
      const then = sources.get(file);
      if (now === undefined || then === undefined) {
        lost.push(...mine);
        continue;
      }
      remapSpans(then, now, mine).forEach((m, i) => (m ? !isKnown(m) && placed.push(m) : lost.push(mine[i]!)));
    }
    for (const m of lost) process.stdout.write(`mutation: not rechecked, its code changed since ${path.relative(root, report)}: ${survivorLine(m)}\n`);
    if (placed.length === 0) fail(`every ${[...wanted].join(' or ')} mutant of ${path.relative(root, report)} is on code changed since: run the server (or a new --sample) first`);
    mutate = mutateRanges(placed);
    selected = placed.map(rowKey);
  }
  // A sample: every mutant of the chosen files as Stryker would make them, then a seeded draw.
  let sample: { keys: MutantKey[]; of: number; seed: number } | undefined;
  if (sampleSize !== undefined && !values.rescore) {
    if (recheck) fail('--sample and --survivors/--timeouts exclude each other');
    const sampleSeed = int('sample-seed', values['sample-seed'] as string | undefined, seed, -(2 ** 31));
    const all = await enumerateMutants(root, mutate);
    sample = { keys: sampleMutants(all, sampleSize, sampleSeed), of: all.length, seed: sampleSeed };
    mutate = keyRanges(sample.keys);
  }
  if (values.rescore && existsSync(path.join(out, 'sample.json'))) sample = JSON.parse(readFileSync(path.join(out, 'sample.json'), 'utf8'));
  if (values.rescore && recheck && existsSync(path.join(out, 'selected.json'))) selected = (JSON.parse(readFileSync(path.join(out, 'selected.json'), 'utf8')) as { keys: MutantKey[] }).keys;
  // The register is checked before a long run, not after.
  const registerFile = path.join(root, equivalentsPath(id));
  let register: ReturnType<typeof loadEquivalents>;
  try {
    register = loadEquivalents(registerFile);
  } catch (e) {
    fail((e as Error).message);
  }
  mkdirSync(out, { recursive: true });
  const reportFile = path.join(out, 'mutation.json');

  let durationMs: number | undefined;
  if (!values.rescore) {
    const fingerprintFile = path.join(out, 'test-side.sha256');
    const fingerprint = testSideFingerprint(root, id, runs, seed, mutate);
    const incrementalFile = path.join(out, 'stryker-incremental.json');
    if (values.incremental && existsSync(incrementalFile)) {
      const before = existsSync(fingerprintFile) ? readFileSync(fingerprintFile, 'utf8').trim() : '';
      if (before !== fingerprint) {
        process.stdout.write('mutation: the test side changed since the last run (harness, scenarios, protocol/agents, fixtures, runs or seed): running every mutant\n');
        rmSync(incrementalFile);
      }
    }
    const options = strykerOptions({
      protocol: id,
      mutate,
      runs,
      seed,
      concurrency,
      out: path.relative(root, out) || '.',
      pluginFile: path.join(path.dirname(fileURLToPath(import.meta.url)), 'mutation', 'stryker-plugins.ts'),
      incremental: Boolean(values.incremental),
      dryRunOnly: Boolean(values['dry-run']),
      tty: Boolean(process.stdout.isTTY),
      dryRunTimeoutMinutes: int('dry-run-timeout', values['dry-run-timeout'] as string | undefined, dryRunMinutes(loadavg()[0]! / availableParallelism()), 1),
    });
    writeFileSync(path.join(out, 'stryker.config.json'), `${JSON.stringify(options, null, 2)}\n`);
    process.stdout.write(
      [
        `mutation: ${id}: mutating ${recheck ? `the code of ${mutate.length} mutants of ${recheckSource}` : mutate.join(', ')}`,
        `mutation: test per mutant: ${testCommand(id, runs, seed)}`,
        `mutation: the initial certification may take ${options.dryRunTimeoutMinutes} min (--dry-run-timeout)`,
        `mutation: ignorers: ${Object.entries(IGNORERS)
          .map(([k, v]) => `${k} (${v})`)
          .join('; ')}`,
        '',
      ].join('\n'),
    );
    if (sample) {
      writeFileSync(path.join(out, 'sample.json'), `${JSON.stringify(sample, null, 2)}\n`);
      process.env.AMH_MUTATION_SAMPLE = path.join(out, 'sample.json');
      process.stdout.write(`mutation: a sample of ${sample.keys.length} of the ${sample.of} mutants (sample seed ${sample.seed}); mutants nested in a sampled one are skipped\n`);
    } else if (selected) {
      writeFileSync(path.join(out, 'selected.json'), `${JSON.stringify({ keys: selected }, null, 2)}\n`);
      process.env.AMH_MUTATION_SAMPLE = path.join(out, 'selected.json');
      process.stdout.write(`mutation: rechecking ${selected.length} mutants; others nested in their code are skipped\n`);
    }
    // The test command says `node`: make that this Node (22+, what amh needs), whoever started us.
    process.env.PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;
    process.chdir(root);
    const { Stryker } = await import('@stryker-mutator/core');
    const started = performance.now();
    const { $schema: _schema, ...strykerInput } = options;
    const tmp = mkdtempSync(path.join(tmpdir(), 'amh-mutation-'));
    process.env.AMH_MUTATION_TMP = tmp;
    try {
      await new Stryker(strykerInput as never).runMutationTest();
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    durationMs = performance.now() - started;
    writeFileSync(fingerprintFile, `${fingerprint}\n`);
    if (values['dry-run']) {
      process.stdout.write(`mutation: dry run passed in ${duration(durationMs)}\n`);
      return;
    }
  }
  if (!existsSync(reportFile)) fail(`${path.relative(root, reportFile)} does not exist: run without --rescore first`);
  const every = mutantRows(JSON.parse(readFileSync(reportFile, 'utf8')), root);
  const only = sample?.keys ?? selected;
  const rows = only ? every.filter((r) => only.some((k) => isRow(k, r))) : every;
  const summary = summarize(rows, register);
  // A run over part of the server (a sample, a recheck, --mutate) cannot tell a stale entry from one whose mutant it did not make.
  if (sample || recheck || values.mutate) summary.stale = [];
  durationMs ??= previous.durationMs;
  const { survivors, equivalents, stale, contradicted, harnessErrorKills, ...counts } = summary;
  writeFileSync(
    path.join(out, 'survivors.json'),
    `${JSON.stringify(
      {
        protocol: id,
        command: testCommand(id, runs, seed),
        runs,
        seed,
        concurrency,
        durationMs: durationMs === undefined ? undefined : Math.round(durationMs),
        mutated: mutate,
        ...(sample ? { sample: { size: sample.keys.length, of: sample.of, seed: sample.seed } } : {}),
        counts,
        survivors: survivors.map(({ statusReason: _r, ...m }) => m),
        equivalents,
        staleEquivalents: stale,
        contradictedEquivalents: contradicted,
        harnessErrorKills,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(
    `\n${render(id, summary, { durationMs, runs, seed, concurrency, ...(sample ? { sample: { size: sample.keys.length, of: sample.of, seed: sample.seed } } : {}) })}\n\nreports: ${out.startsWith(root + path.sep) ? path.relative(root, out) : out}/ (mutation.html, mutation.json, survivors.json)\n`,
  );
}

await main();
