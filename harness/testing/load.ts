/**
 * For a pack's load.test.ts: `amh load` run as a user runs it (the CLI's own module, in this
 * process, its output captured), the load.json it wrote, and one chain plus a scratch directory per
 * test file (made in beforeAll, the chain stopped in afterAll).
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, vi } from 'vitest';
import { startChain, type RunningChain } from '../chain/index.ts';
import type { LoadReport } from '../load/run.ts';

/** `amh load ARGS` in this process: exit code, and what it printed. */
export async function runLoadCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => out.push(String(s)) > 0);
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => err.push(String(s)) > 0);
  try {
    const { run } = await import('../cli/commands/load.ts');
    return { code: await run(args), stdout: out.join(''), stderr: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

/** The load.json `amh load --out DIR` wrote. */
export async function readLoadReport(dir: string): Promise<LoadReport> {
  return JSON.parse(await readFile(path.join(dir, 'load.json'), 'utf8')) as LoadReport;
}

export interface LoadLab {
  /** The chain of the file's broken variants (the reference runs start their own). */
  readonly chain: RunningChain;
  /** The scratch directory (reports). */
  readonly dir: string;
}

/** Registers the calling test file's chain (`profile`) and scratch directory hooks. */
export function loadLab(profile: string, prefix: string): LoadLab {
  let chain: RunningChain | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), prefix));
    chain = await startChain({ profile });
  });
  afterAll(async () => {
    await chain?.stop();
  });
  return {
    get chain() {
      if (!chain) throw new Error('loadLab: the chain is started in beforeAll');
      return chain;
    },
    get dir() {
      if (!dir) throw new Error('loadLab: the directory is made in beforeAll');
      return dir;
    },
  };
}
