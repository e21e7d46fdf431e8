/**
 * The GitHub Action (action.yml), tested locally without network: the composite action's `run`
 * steps are executed with bash as the runner would, with ${{ inputs.* }}, ${{ github.action_path }}
 * and ${{ steps.amh.outputs.* }} substituted and GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_ENV
 * pointed at temp files; `uses:` steps (setup-node, upload-artifact) need the network and are only
 * checked for their inputs. A shard matrix (2 shards of usdc on the reference implementation) and
 * the merge job run through the action; outputs, step summary and report files are checked, and the
 * merged report is bundled and replayed (`amh replay BUNDLE` on the reference implementation). The
 * example workflows are checked to use the action's inputs and to keep a matrix + merge job.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'vitest';
import { parse } from 'yaml';
import { amh, ROOT } from '../testing/cli.ts';
import { amhArgs } from './github-action.ts';

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  shell?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
  'working-directory'?: string;
}
interface Action {
  inputs: Record<string, { default?: string; description: string }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Step[] };
}

const action = async (): Promise<Action> => parse(await readFile(path.join(ROOT, 'action.yml'), 'utf8')) as Action;

/** Substitute the expressions the action may use; anything else is a test failure (keeps the action testable). */
function expr(s: string, ctx: { inputs: Record<string, string>; outputs: Record<string, string> }): string {
  return s.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_m, e: string) => {
    const input = /^inputs\.([\w-]+)$/.exec(e);
    if (input) return ctx.inputs[input[1]!] ?? '';
    if (e === 'github.action_path') return ROOT;
    const output = /^steps\.amh\.outputs\.([\w-]+)$/.exec(e);
    if (output) return ctx.outputs[output[1]!] ?? '';
    throw new Error(`action.yml uses an expression this test cannot evaluate: ${e}`);
  });
}

/** Evaluate an `if:` the action uses: always() && inputs.x == 'v' && steps.amh.outputs.y != ''. */
function condition(s: string, ctx: { inputs: Record<string, string>; outputs: Record<string, string> }): boolean {
  return s.split('&&').every((part) => {
    const p = part.trim();
    if (p === 'always()') return true;
    const m = /^(.+?)\s*(==|!=)\s*'([^']*)'$/.exec(p);
    if (!m) throw new Error(`action.yml if: cannot evaluate '${p}'`);
    const v = expr(`\${{ ${m[1]} }}`, ctx);
    return m[2] === '==' ? v === m[3] : v !== m[3];
  });
}

/** Run the action's steps like a runner would (no network: `uses:` steps are recorded, not run). */
async function runAction(inputs: Record<string, string>, work: string) {
  const a = await action();
  const all: Record<string, string> = Object.fromEntries(Object.entries(a.inputs).map(([k, v]) => [k, v.default ?? '']));
  Object.assign(all, inputs);
  const files = { GITHUB_OUTPUT: path.join(work, 'output'), GITHUB_STEP_SUMMARY: path.join(work, 'summary'), GITHUB_ENV: path.join(work, 'env') };
  for (const f of Object.values(files)) await writeFile(f, '');
  const ctx = { inputs: all, outputs: {} as Record<string, string> };
  const used: { uses: string; with: Record<string, string> }[] = [];
  let failed: number | undefined;
  let log = '';
  for (const step of a.runs.steps) {
    if (step.if && !condition(step.if, ctx)) continue;
    if (!step.if?.includes('always()') && failed !== undefined) continue;
    if (step.uses) {
      used.push({ uses: step.uses, with: Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, expr(String(v), ctx)])) });
      continue;
    }
    assert.equal(step.shell, 'bash', `step ${step.name} declares shell: bash (required in composite actions)`);
    const env = { ...process.env, ...files, GITHUB_WORKSPACE: work, GITHUB_ACTION_PATH: ROOT, ...Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, expr(String(v), ctx)])) };
    const cwd = step['working-directory'] ? expr(step['working-directory'], ctx) : work;
    const r = await new Promise<{ code: number; out: string }>((resolve, reject) => {
      const p = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', expr(step.run!, ctx)], { cwd, env });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      p.on('error', reject);
      p.on('close', (code) => resolve({ code: code ?? -1, out }));
    });
    log += `--- ${step.name}\n${r.out}`;
    if (step.id === 'amh') {
      for (const line of (await readFile(files.GITHUB_OUTPUT, 'utf8')).split('\n')) {
        const i = line.indexOf('=');
        if (i > 0) ctx.outputs[line.slice(0, i)] = line.slice(i + 1);
      }
    }
    if (r.code !== 0) failed = r.code;
  }
  const outputs = Object.fromEntries(Object.entries(a.outputs).map(([k, v]) => [k, expr(v.value, ctx)]));
  return { failed, outputs, summary: await readFile(files.GITHUB_STEP_SUMMARY, 'utf8'), used, log };
}

test('action.yml declares the inputs and outputs CI needs; the example workflows use them (shard matrix + merge job, a server started by the workflow)', async () => {
  const a = await action();
  assert.equal(a.runs.using, 'composite');
  for (const i of ['protocol', 'target', 'runs', 'seed', 'shard', 'baseline', 'profile', 'merge']) assert.ok(a.inputs[i], `input ${i}`);
  for (const o of ['verdict', 'exit-code', 'report', 'junit', 'summary']) assert.ok(a.outputs[o], `output ${o}`);
  const wf = Object.fromEntries(readdirSync(path.join(ROOT, '.github', 'workflows')).map((f) => [f, f]));
  const shards = parse(await readFile(path.join(ROOT, '.github', 'workflows', wf['amh-shards.yml']!), 'utf8'));
  assert.deepEqual(shards.jobs.shard.strategy.matrix.shard, [1, 2, 3]);
  assert.equal(shards.jobs.shard.strategy['fail-fast'], false);
  const shardStep = shards.jobs.shard.steps.find((s: Step) => s.uses === './');
  assert.equal(shardStep.with.shard, `\${{ matrix.shard }}/3`);
  assert.deepEqual(shards.jobs.merge.needs, 'shard');
  assert.equal(shards.jobs.merge.if, 'always()');
  assert.match(shards.jobs.merge.steps.find((s: Step) => s.uses === './').with.merge, /shards\/amh-shard-\*/);
  const server = parse(await readFile(path.join(ROOT, '.github', 'workflows', 'amh-certify-server.yml'), 'utf8'));
  const steps: Step[] = server.jobs.certify.steps;
  const start = steps.findIndex((s) => /serve\.ts --target-out/.test(s.run ?? ''));
  const certify = steps.findIndex((s) => s.uses === './');
  assert.ok(start >= 0 && certify > start, 'the server starts before the action certifies it');
  assert.match(steps[certify]!.with!.target!, /target\.json/);
  for (const file of ['amh-shards.yml', 'amh-certify-server.yml']) {
    const w = parse(await readFile(path.join(ROOT, '.github', 'workflows', file), 'utf8'));
    for (const job of Object.values(w.jobs) as { steps: Step[] }[])
      for (const s of job.steps.filter((x) => x.uses === './')) for (const k of Object.keys(s.with ?? {})) assert.ok(a.inputs[k], `${file} passes unknown input '${k}'`);
  }
});

test('the action run as a shard matrix (2 × usdc, same seed) and a merge job: outputs, step summary, JUnit path; the merge passes', async () => {
  const work = await mkdtemp(path.join(tmpdir(), 'amh-action-'));
  const base = { protocol: 'usdc', runs: '3', seed: '5' };
  for (const i of [1, 2]) {
    const r = await runAction({ ...base, shard: `${i}/2`, out: `reports/shard-${i}`, 'artifact-name': `amh-shard-${i}` }, work);
    assert.equal(r.failed, undefined, r.log);
    assert.equal(r.outputs.verdict, 'pass', r.log);
    assert.equal(r.outputs['exit-code'], '0');
    assert.equal(r.outputs.report, path.join(work, `reports/shard-${i}`, 'report.json'));
    assert.ok(existsSync(r.outputs.junit!), 'junit.xml written');
    assert.equal(r.outputs.seed, '5');
    assert.match(r.summary, new RegExp(`Shard \\*\\*${i}/2\\*\\*`));
    assert.match(r.log, new RegExp(`amh run --protocol usdc --runs 3 --seed 5 --shard ${i}/2 --out`));
    // The upload step gets the report directory and the per-shard name.
    const up = r.used.find((u) => u.uses.startsWith('actions/upload-artifact'));
    assert.deepEqual(up?.with, { name: `amh-shard-${i}`, path: path.join(work, `reports/shard-${i}`) });
    assert.ok(r.used.some((u) => u.uses.startsWith('actions/setup-node') && u.with['node-version'] === '22'));
  }
  const m = await runAction({ merge: 'reports/shard-*', out: 'reports/merged', 'artifact-name': 'amh-merged' }, work);
  assert.equal(m.failed, undefined, m.log);
  assert.equal(m.outputs.verdict, 'pass');
  assert.match(m.summary, /^# Conformance: ✅ PASS — every MUST requirement passed/);
  assert.match(m.summary, /Merged from 2 shards/);
  const merged = JSON.parse(await readFile(m.outputs.report!, 'utf8'));
  assert.equal(merged.summary.pass, 13);
  assert.equal(merged.merged.shards, 2);
  // The merged certification of the reference implementation as a signed bundle a third party re-runs.
  const key = path.join(work, 'amh.key');
  assert.equal((await amh(['keygen', '-o', key])).code, 0);
  const bundle = path.join(work, 'bundle.json');
  const b = await amh(['bundle', path.join(work, 'reports/merged'), '--key', key, '-o', bundle]);
  assert.equal(b.code, 0, b.stderr);
  const rp = await amh(['replay', bundle]);
  assert.equal(rp.code, 0, rp.stdout + rp.stderr);
  assert.match(rp.stdout, /same verdicts: every requirement of the bundle reproduced \(13 requirements; bundled exit 0, replay exit 0\)/);
});

test('the action fails the step with verdict=error and a clear message for bad input (profile, shard 3/2, no shard reports)', async () => {
  const work = await mkdtemp(path.join(tmpdir(), 'amh-action-bad-'));
  // The profile input becomes --profile: a missing file is refused by amh before anything starts.
  const p = await runAction({ protocol: 'usdc', profile: 'what-if.yaml' }, work);
  assert.equal(p.failed, 2);
  assert.deepEqual([p.outputs.verdict, p.outputs['exit-code']], ['error', '2']);
  assert.match(p.log, /amh run --protocol usdc --runs 25 --profile \S*what-if\.yaml/);
  assert.match(p.log, /cannot read profile \S*what-if\.yaml: no such file/);
  const pm = await runAction({ merge: 'reports/shard-*', profile: 'what-if.yaml' }, work);
  assert.equal(pm.failed, 2);
  assert.match(pm.log, /input profile: does not apply to merge/);
  const s = await runAction({ protocol: 'usdc', shard: '3/2' }, work);
  assert.equal(s.failed, 2);
  assert.equal(s.outputs.verdict, 'error');
  assert.match(s.log, /--shard 3\/2: there is no shard 3 of 2/);
  const none = await runAction({ merge: 'nothing-*' }, work);
  assert.equal(none.failed, 2);
  assert.match(none.log, /input merge: no shard report matches 'nothing-\*'/);
  // The seed defaults to one derived from the workflow run id, identical for every shard.
  const a = amhArgs(work, { INPUT_SHARD: '1/2', GITHUB_RUN_ID: '9876543210' });
  const b = amhArgs(work, { INPUT_SHARD: '2/2', GITHUB_RUN_ID: '9876543210' });
  assert.equal(a.seed, b.seed);
  assert.ok(a.args.includes('--seed') && Number(a.seed) < 2 ** 31);
  assert.deepEqual(amhArgs(work, { INPUT_TARGET: 't.json', INPUT_PROTOCOL: 'x402, agentripe', INPUT_BASELINE: 'known.json', INPUT_PROFILE: 'examples/profiles/agentripe-review-limit-2.yaml' }).args, [
    'certify',
    '--target',
    path.join(work, 't.json'),
    '--protocol',
    'x402',
    '--protocol',
    'agentripe',
    '--baseline',
    path.join(work, 'known.json'),
    '--profile',
    path.join(work, 'examples/profiles/agentripe-review-limit-2.yaml'),
    '--out',
    path.join(work, 'reports/amh'),
  ]);
});
