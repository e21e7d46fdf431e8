/** `amh replay REPORT --case ID`: re-run one shrunk counterexample; `amh replay BUNDLE`: re-run a certification. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execute } from '../execute.ts';
import { loadConstants } from '../../packs/discover.ts';
import { profileFromInfo } from '../../profiles/profile.ts';
import { BundleError, canonicalHash, isBundle, parseBundle, redactSecrets, verifyBundle, type Bundle } from '../../report/bundle.ts';
import { diffReports, renderDiffText } from '../../report/diff.ts';
import type { Report } from '../../report/types.ts';
import { asReport, reportPath, ReportFileError, writeReports } from '../../report/write.ts';
import { UsageError, guard, parse, printSummary } from './_shared.ts';

export const summary = "re-run a report's shrunk counterexample (REPORT --case ID), or a verdict bundle's whole certification";

export const help = `Usage: amh replay REPORT --case PROTOCOL/SCENARIO [--out DIR]
       amh replay BUNDLE [--target FILE] [--case PROTOCOL/SCENARIO] [--public-key HEX] [--out DIR]

REPORT: re-runs exactly the shrunk counterexample recorded in REPORT (a report.json or its
directory) for the case, against the same target (the reference target is started again from its
fixtures; a file target is re-loaded from the path recorded in the report, or --target), and prints
the verdict next to the recorded one.

BUNDLE (a verdict bundle from amh bundle): verifies it first (a bundle that does not verify is not
replayed), then re-runs the whole certification it records (same protocols, seed, --runs, --grep)
and compares every requirement's verdict with the bundled report. The bundle's target file has its
secrets redacted, so a file target needs --target FILE: the real file, which must equal the bundled
one once redacted. With --case, replays that counterexample only.

Options:
  --case ID          case id as shown in the report, e.g. usdc/3009-expired (required for REPORT)
  --target FILE      the target file (bundle of a certify run; or to override a report's path)
  --public-key HEX   require this bundle signer
  --out DIR          also write the replay's report files to DIR
  -h, --help         this help

Exit codes, REPORT --case: 0 the replay passed (the failure did not reproduce) · 1 a MUST failed ·
2 harness or usage error. BUNDLE: 0 every verdict reproduced · 1 a verdict differs, or the bundle
does not verify · 2 harness or usage error (or the target does not answer).
`;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(
      argv,
      { case: { type: 'string' }, out: { type: 'string' }, target: { type: 'string' }, 'public-key': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      true,
    );
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    const file = positionals[0];
    if (!file || positionals.length > 1) throw new UsageError('replay needs exactly one REPORT or BUNDLE path (see amh replay --help)');
    const p = await reportPath(file);
    let data: unknown;
    try {
      data = JSON.parse(await readFile(p, 'utf8'));
    } catch (e) {
      throw new ReportFileError(`cannot read ${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    if (isBundle(data)) {
      const bundle = parseBundle(data, p);
      const v = verifyBundle(bundle, values['public-key']);
      if (!v.ok) {
        process.stdout.write(`not replayed: bundle ${p} does not verify\n${v.problems.map((x) => `  - ${x}`).join('\n')}\n`);
        return 1;
      }
      const targetFile = await bundleTarget(bundle, values.target);
      if (values.case) return replayCase(bundle.payload.report, p, values.case, targetFile, values.out, `amh replay ${p}${values.target ? ` --target ${values.target}` : ''}`);
      return replayBundle(bundle, p, targetFile, values.out);
    }
    const original = asReport(data, p);
    if (!values.case) throw new UsageError('replay of a report needs --case PROTOCOL/SCENARIO (a verdict bundle is replayed whole)');
    if (original.target.kind === 'file' && !original.target.source && !values.target) throw new UsageError(`${file} does not record the target file path; give it with --target FILE`);
    return replayCase(original, file, values.case, original.target.kind === 'file' ? (values.target ?? original.target.source) : undefined, values.out, `amh replay ${file}`);
  });
}

/** The target file to replay a bundle against: none for the reference; for a file, --target checked against the bundled (redacted) one. */
async function bundleTarget(b: Bundle, given?: string): Promise<string | undefined> {
  const t = b.payload.target;
  if (t.kind === 'reference') {
    if (given) throw new UsageError('this bundle certifies the reference implementation; --target does not apply');
    return undefined;
  }
  if (!given) throw new UsageError(`this bundle certifies a target file (${t.file}) whose secrets are redacted in the bundle; give the real file with --target FILE`);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(given, 'utf8'));
  } catch (e) {
    throw new BundleError(`cannot read target file ${given}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (canonicalHash(redactSecrets(json).redacted) !== canonicalHash(t.redacted))
    throw new BundleError(`${given} is not the target this bundle certified: once its secrets are redacted it differs from the bundled ${t.file}`);
  return given;
}

/** The `--spec` values that certify the revisions a report certified. */
export function specOf(r: Report): string[] {
  return r.protocols.filter((p) => p.revision).map((p) => `${p.id}=${p.revision!.id}`);
}

/** Re-run a bundle's whole certification and compare every verdict. */
async function replayBundle(b: Bundle, file: string, targetFile: string | undefined, out?: string): Promise<number> {
  const p = b.payload;
  process.stderr.write(
    `re-running the certification in ${file}: ${p.protocols.join(', ')} · seed ${p.seed} · --runs ${p.runs}${p.grep ? ` · --grep ${p.grep}` : ''} against ${p.report.target.name}…\n`,
  );
  const report = await execute({
    command: 'replay',
    targetFile,
    runs: p.runs,
    seed: p.seed,
    protocols: p.protocols,
    ...(p.grep ? { grep: p.grep } : {}),
    spec: specOf(p.report),
    ...(p.profile ? { profile: profileFromInfo(p.profile, await loadConstants(), file) } : {}),
    replayCommand: `amh replay ${file}`,
  });
  const files = out ? await writeReports(report, out) : [];
  printSummary(report, files);
  const gone = report.errors.filter((e) => e.startsWith('target problem'));
  if (gone.length) {
    process.stdout.write(`\nreplay impossible: the target does not answer as it did (${gone.join('; ')})\n`);
    return 2;
  }
  const d = diffReports(p.report, report, { a: `${file} (certified ${p.report.startedAt})`, b: 'this replay' });
  if (d.changed.length || d.added.length || d.removed.length) {
    process.stdout.write(`\nDIFFERENT verdicts from the bundle:\n${renderDiffText(d)}`);
    return 1;
  }
  process.stdout.write(`\nsame verdicts: every requirement of the bundle reproduced (${d.unchanged} requirements; bundled exit ${p.report.exitCode}, replay exit ${report.exitCode})\n`);
  return 0;
}

/** Re-run one shrunk counterexample of a report. */
async function replayCase(original: Report, file: string, caseId: string, targetFile: string | undefined, out: string | undefined, replayCommand: string): Promise<number> {
  const scenarios = original.protocols.flatMap((p) => p.scenarios);
  const sc = scenarios.find((s) => s.caseId === caseId);
  if (!sc) throw new UsageError(`case '${caseId}' is not in ${file}; cases: ${scenarios.map((s) => s.caseId).join(', ')}`);
  if (!sc.counterexample) throw new UsageError(`case '${sc.caseId}' has no counterexample in ${file} (status ${sc.status}); nothing to replay`);
  const cx = sc.counterexample;
  process.stderr.write(`replaying ${sc.caseId} (seed ${cx.seed}, path ${cx.path}) against ${original.target.name}…\n`);
  const report = await execute({
    command: 'replay',
    targetFile,
    runs: 1,
    seed: original.seed,
    protocols: [sc.caseId.split('/')[0]!],
    spec: specOf(original).filter((x) => x.startsWith(`${sc.caseId.split('/')[0]}=`)),
    replay: { caseId: sc.caseId, seed: cx.seed, path: cx.path, ...(cx.replayPath ? { replayPath: cx.replayPath } : {}) },
    // The same constants as the recorded run (its what-if profile), or the defaults.
    ...(original.profile ? { profile: profileFromInfo(original.profile, await loadConstants(), file) } : {}),
    replayCommand,
  });
  const now = report.protocols.flatMap((p) => p.scenarios).find((s) => s.caseId === sc.caseId);
  const files = out ? await writeReports(report, out) : [];
  printSummary(report, files);
  const gone = report.errors.filter((e) => e.startsWith('target problem'));
  if (gone.length) {
    process.stdout.write(`\nrecorded: ${sc.status}${cx.requirement ? ` (${cx.requirement})` : ''} · replay impossible: the target does not answer as it did (${gone.join('; ')})\n`);
    return 2;
  }
  const same = now?.status === sc.status && now?.counterexample?.requirement === cx.requirement;
  process.stdout.write(
    `\nrecorded: ${sc.status}${cx.requirement ? ` (${cx.requirement})` : ''} · replayed: ${now?.status ?? 'missing'}${now?.counterexample?.requirement ? ` (${now.counterexample.requirement})` : ''} → ${same ? 'same verdict' : 'DIFFERENT verdict'}\n`,
  );
  if (!out) process.stdout.write(`(add --out ${path.join('reports', 'replay')} to write the replay's report files)\n`);
  return report.exitCode;
}
