/** Test support: run the `amh` CLI as a user does (a child process) and collect its output. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const AMH = path.join(ROOT, 'harness', 'cli', 'amh.mjs');

/** Run `amh ...args`; resolves with the exit code and both streams. */
export function amh(args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [AMH, ...args], { cwd: o.cwd ?? ROOT, env: { ...process.env, NO_COLOR: '1', ...o.env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
