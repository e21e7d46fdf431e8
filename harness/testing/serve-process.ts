/**
 * For a pack's certify.test.ts: its reference server started as its own process (the pack's
 * serve.ts, which prints a line once listening and writes a target file), and `amh certify` run as
 * a child process against that target file alone, as a third party would. One chain and one
 * scratch directory per test file, made in beforeAll and removed in afterAll.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { REPO_ROOT } from '../chain/paths.ts';
import { startChain, type RunningChain } from '../chain/index.ts';

const AMH = path.join(REPO_ROOT, 'harness', 'cli', 'amh.mjs');

export interface ServedProcess {
  proc: ChildProcess;
  /** The target file serve.ts wrote. */
  targetFile: string;
  /** SIGTERM; resolves when it exited. */
  stop(): Promise<void>;
}

export interface CertifyResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type ReportFile = {
  exitCode: number;
  protocols: { id: string; requirements: { id: string; status: string; level?: string; reason?: string }[] }[];
};

export interface ServeProcessLab {
  /** The chain every server of this file runs on. */
  readonly chain: RunningChain;
  /** The scratch directory (target files, report directories). */
  readonly dir: string;
  /** Starts `reference-impl/<protocol>/serve.ts --rpc <chain> --target-out <dir>/<name>.target.json ...args`. */
  serve(name: string, args: string[]): Promise<ServedProcess>;
  /** `amh certify --protocol <protocol> --target FILE --out OUT --seed 7 ...extra` as a child process. */
  certify(targetFile: string, out: string, extra: string[]): Promise<CertifyResult>;
  /** The protocol's part of the report certify wrote to `out`. */
  reportOf(out: string): ReportFile['protocols'][number];
}

/** Registers the chain and scratch directory hooks of the calling test file. */
export function serveProcessLab(protocol: string, chainProfile: string): ServeProcessLab {
  const serveScript = path.join(REPO_ROOT, 'reference-impl', protocol, 'serve.ts');
  let chain: RunningChain | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    chain = await startChain({ profile: chainProfile });
    dir = mkdtempSync(path.join(tmpdir(), `${protocol}-certify-`));
  });
  afterAll(async () => {
    await chain?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const ready = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${what} is made in beforeAll: use it inside a test`);
    return v;
  };
  return {
    get chain() {
      return ready(chain, 'the chain');
    },
    get dir() {
      return ready(dir, 'the scratch directory');
    },
    async serve(name, args) {
      const targetFile = path.join(ready(dir, 'the scratch directory'), `${name}.target.json`);
      const proc = spawn(process.execPath, ['--import', 'tsx', serveScript, '--rpc', ready(chain, 'the chain').rpcUrl, '--target-out', targetFile, ...args], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      proc.stderr!.on('data', (d) => (err += String(d)));
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`serve ${name} did not start:\n${err}`)), 90_000);
        proc.stdout!.on('data', (d) => {
          out += String(d);
          if (out.includes('\n')) {
            clearTimeout(timer);
            resolve();
          }
        });
        proc.on('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`serve ${name} exited ${code}:\n${err}`));
        });
      });
      return {
        proc,
        targetFile,
        stop: () =>
          new Promise<void>((r) => {
            if (proc.exitCode !== null) return r();
            proc.once('exit', () => r());
            proc.kill('SIGTERM');
          }),
      };
    },
    certify(targetFile, out, extra) {
      return new Promise((resolve) => {
        const p = spawn(process.execPath, [AMH, 'certify', '--protocol', protocol, '--target', targetFile, '--out', out, '--seed', '7', ...extra], {
          cwd: REPO_ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (d) => (stdout += String(d)));
        p.stderr.on('data', (d) => (stderr += String(d)));
        p.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      });
    },
    reportOf(out) {
      const r = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as ReportFile;
      const p = r.protocols.find((x) => x.id === protocol);
      if (!p) throw new Error(`${out}/report.json has no ${protocol} section`);
      return p;
    },
  };
}
