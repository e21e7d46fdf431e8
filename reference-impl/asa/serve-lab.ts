/**
 * For the asa pack's tests: the reference parts as their own processes (reference-impl/asa/serve.ts
 * `--part lightning|relay|provider`), and `amh certify --protocol asa` run as a child process against
 * the target file a provider writes, as a third party would. The Lightning simulation and the relay
 * start once per test file (beforeAll); every process and the scratch directory go in afterAll.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import type { Report } from '../../harness/report/types.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const AMH = path.join(ROOT, 'harness', 'cli', 'amh.mjs');
const SERVE = path.join(ROOT, 'reference-impl', 'asa', 'serve.ts');

export interface AsaProc {
  proc: ChildProcess;
  /** The first line the part printed (its URLs). */
  line: Record<string, any>;
  stop(): Promise<void>;
}

export interface AsaServeLab {
  /** The scratch directory. */
  readonly dir: string;
  readonly lightning: AsaProc;
  readonly relay: AsaProc;
  /** `serve.ts ...args`, resolved once it printed its first line. */
  serve(args: string[]): Promise<AsaProc>;
  /** A provider on the lab's relay and Lightning network that writes `<dir>/<name>.target.json`. */
  provider(name: string, args?: string[]): Promise<AsaProc & { targetFile: string }>;
  /** `amh certify --protocol asa --target FILE --out OUT --seed 7 ...extra` as a child process. */
  certify(targetFile: string, out: string, extra: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** The asa part of the report in `out`. */
  reportOf(out: string): Report['protocols'][number];
}

/** Registers the beforeAll/afterAll hooks of the calling test file. */
export function asaServeLab(): AsaServeLab {
  const procs: AsaProc[] = [];
  let dir = '';
  let lightning: AsaProc | undefined;
  let relay: AsaProc | undefined;

  async function serve(args: string[]): Promise<AsaProc> {
    const proc = spawn(process.execPath, ['--import', 'tsx', SERVE, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (d) => (err += String(d)));
    const line = await new Promise<Record<string, any>>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`serve ${args.join(' ')} did not start:\n${err}`)), 60_000);
      proc.stdout!.on('data', (d) => {
        out += String(d);
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(JSON.parse(out.split('\n')[0]!));
        }
      });
      proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`serve ${args.join(' ')} exited ${code}:\n${err}`));
      });
    });
    const p: AsaProc = {
      proc,
      line,
      stop: () =>
        new Promise<void>((r) => {
          if (proc.exitCode !== null) return r();
          proc.once('exit', () => r());
          proc.kill('SIGTERM');
        }),
    };
    procs.push(p);
    return p;
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'asa-certify-'));
    [lightning, relay] = await Promise.all([serve(['--part', 'lightning']), serve(['--part', 'relay', '--db', path.join(dir, 'relay.sqlite')])]);
  });
  afterAll(async () => {
    await Promise.allSettled(procs.map((p) => p.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  return {
    get dir() {
      return dir;
    },
    get lightning() {
      return lightning!;
    },
    get relay() {
      return relay!;
    },
    serve,
    async provider(name, args = []) {
      const targetFile = path.join(dir, `${name}.target.json`);
      const p = await serve(['--part', 'provider', '--relay', relay!.line.url, '--lightning', lightning!.line.url, '--target-out', targetFile, ...args]);
      return { ...p, targetFile };
    },
    certify(targetFile, out, extra) {
      return new Promise((resolve) => {
        const p = spawn(process.execPath, [AMH, 'certify', '--protocol', 'asa', '--target', targetFile, '--out', out, '--seed', '7', ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (d) => (stdout += String(d)));
        p.stderr.on('data', (d) => (stderr += String(d)));
        p.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      });
    },
    reportOf: (out) => (JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as Report).protocols.find((p) => p.id === 'asa')!,
  };
}
