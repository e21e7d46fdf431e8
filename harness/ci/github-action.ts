/**
 * The body of the GitHub Action (action.yml at the repository root): turns the action's inputs
 * (environment variables INPUT_*) into one `amh` command, runs it, and reports the way GitHub
 * expects: outputs (verdict, exit-code, report, junit, summary, seed) appended to $GITHUB_OUTPUT,
 * summary.md appended to $GITHUB_STEP_SUMMARY. Exits with amh's exit code, so the step fails when
 * the certification does (later steps that upload the reports run with `if: always()`).
 *
 * Inputs: protocol (space- or comma-separated ids; empty = all), target (a target file: amh certify;
 * empty: amh run on the reference implementation), runs, seed (empty: derived from GITHUB_RUN_ID so
 * every shard of one workflow run shares it), shard (I/N), baseline (file), profile (a what-if profile
 * file: `--profile`; not with merge, whose shard reports record theirs), grep, out (report directory), merge (shard report directories or
 * globs: runs `amh report --merge` instead of a certification).
 */
import { spawn } from 'node:child_process';
import { appendFile, readFile } from 'node:fs/promises';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const AMH = path.join(ROOT, 'harness', 'cli', 'amh.mjs');

/** Expand a simple glob (`*` inside the last path segment) relative to the workspace. */
function expand(pattern: string, cwd: string): string[] {
  const abs = path.resolve(cwd, pattern);
  if (!pattern.includes('*')) return [abs];
  const dir = path.dirname(abs);
  const re = new RegExp(
    `^${path
      .basename(abs)
      .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')}$`,
  );
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => re.test(f))
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).isDirectory() || f.endsWith('.json'))
    .sort();
}

/** The amh arguments for the inputs (throws a message for a bad input). */
export function amhArgs(cwd: string, env: NodeJS.ProcessEnv = process.env): { args: string[]; out: string; seed?: string } {
  const get = (n: string) => (env[`INPUT_${n.toUpperCase().replace(/-/g, '_')}`] ?? '').trim();
  const out = path.resolve(cwd, get('out') || 'reports/amh');
  const merge = get('merge');
  if (merge) {
    if (get('profile')) throw new Error(`input profile: does not apply to merge (each shard report records the profile it ran with); pass it to the shard jobs`);
    const shards = merge
      .split(/[\s,]+/)
      .filter(Boolean)
      .flatMap((p) => expand(p, cwd));
    if (shards.length === 0) throw new Error(`input merge: no shard report matches '${merge}'`);
    return { args: ['report', '--merge', ...shards, '--out', out, ...(get('baseline') ? ['--baseline', path.resolve(cwd, get('baseline'))] : [])], out };
  }
  const target = get('target');
  const args = target ? ['certify', '--target', path.resolve(cwd, target)] : ['run'];
  for (const p of get('protocol')
    .split(/[\s,]+/)
    .filter(Boolean))
    args.push('--protocol', p);
  if (get('runs')) args.push('--runs', get('runs'));
  // Every shard of one workflow run must use the same seed: default to one derived from the run id.
  const seed = get('seed') || (env.GITHUB_RUN_ID ? String(Number(BigInt(env.GITHUB_RUN_ID) % 2147483647n)) : '');
  if (seed) args.push('--seed', seed);
  if (get('shard')) args.push('--shard', get('shard'));
  if (get('baseline')) args.push('--baseline', path.resolve(cwd, get('baseline')));
  if (get('profile')) args.push('--profile', path.resolve(cwd, get('profile')));
  if (get('grep')) args.push('--grep', get('grep'));
  args.push('--out', out);
  return { args, out, ...(seed ? { seed } : {}) };
}

async function main(): Promise<number> {
  const cwd = process.env.GITHUB_WORKSPACE || process.cwd();
  const outputs: Record<string, string> = {};
  const flush = async () => {
    if (process.env.GITHUB_OUTPUT)
      await appendFile(
        process.env.GITHUB_OUTPUT,
        Object.entries(outputs)
          .map(([k, v]) => `${k}=${v}\n`)
          .join(''),
      );
  };
  let plan: ReturnType<typeof amhArgs>;
  try {
    plan = amhArgs(cwd);
  } catch (e) {
    process.stderr.write(`::error title=amh::${(e as Error).message}\n`);
    Object.assign(outputs, { verdict: 'error', 'exit-code': '2' });
    await flush();
    return 2;
  }
  process.stdout.write(`amh ${plan.args.join(' ')}\n`);
  const code = await new Promise<number>((resolve) => {
    const p = spawn(process.execPath, [AMH, ...plan.args], { cwd, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: '0' } });
    p.on('error', () => resolve(2));
    p.on('close', (c) => resolve(c ?? 2));
  });
  const report = path.join(plan.out, 'report.json');
  const summary = path.join(plan.out, 'summary.md');
  Object.assign(outputs, {
    verdict: code === 0 ? 'pass' : code === 1 ? 'fail' : 'error',
    'exit-code': String(code),
    ...(existsSync(report) ? { report, junit: path.join(plan.out, 'junit.xml'), summary, 'report-dir': plan.out } : {}),
    ...(plan.seed ? { seed: plan.seed } : {}),
  });
  await flush();
  if (process.env.GITHUB_STEP_SUMMARY && existsSync(summary)) await appendFile(process.env.GITHUB_STEP_SUMMARY, `${await readFile(summary, 'utf8')}\n`);
  if (code !== 0) process.stderr.write(`::error title=amh::${code === 1 ? 'a requirement failed (see the step summary)' : 'harness or usage error'} (exit ${code})\n`);
  return code;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (c) => {
      process.exitCode = c;
    },
    (e) => {
      process.stderr.write(`::error title=amh::${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
