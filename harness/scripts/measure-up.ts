/**
 * How long `amh up --json` takes from spawn to its JSON line (both chains loaded from fixtures and
 * answering), measured end to end as a user sees it: Node start, tsx, imports, two anvils, balances.
 * Acceptance target: < 2 s. Each run is stopped with SIGTERM and must exit 0.
 *
 * Usage: tsx harness/scripts/measure-up.ts [--runs N] [-- extra amh up args]
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const AMH = path.join(REPO_ROOT, 'harness', 'cli', 'amh.mjs');

function once(extra: string[]): Promise<{ readyMs: number; inProcessMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [AMH, 'up', '--json', ...extra], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let readyMs = -1;
    let inProcessMs = -1;
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      if (readyMs < 0 && out.includes('\n')) {
        readyMs = performance.now() - t0;
        inProcessMs = (JSON.parse(out.slice(0, out.indexOf('\n'))) as { readyMs: number }).readyMs;
        child.kill('SIGTERM');
      }
    });
    child.on('exit', (code) => {
      if (readyMs < 0) reject(new Error(`amh up exited ${code} before ready: ${err}`));
      else if (code !== 0) reject(new Error(`amh up exited ${code} after SIGTERM: ${err}`));
      else resolve({ readyMs, inProcessMs });
    });
  });
}

const { values, positionals } = parseArgs({ options: { runs: { type: 'string', default: '5' } }, allowPositionals: true });
const runs = Number(values.runs);
const results: { readyMs: number; inProcessMs: number }[] = [];
for (let i = 0; i < runs; i++) results.push(await once(positionals));
const sorted = results.map((r) => r.readyMs).sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)]!;
const fmt = (n: number) => `${Math.round(n)} ms`;
process.stdout.write(
  `amh up --json ready (spawn -> JSON line), ${runs} runs: median ${fmt(median)}, min ${fmt(sorted[0]!)}, max ${fmt(sorted.at(-1)!)}\n` +
    `  of which inside run() (chains started + described): median ${fmt(results.map((r) => r.inProcessMs).sort((a, b) => a - b)[Math.floor(runs / 2)]!)}\n` +
    `  target < 2000 ms: ${median < 2000 ? 'met' : 'NOT met'}\n`,
);
