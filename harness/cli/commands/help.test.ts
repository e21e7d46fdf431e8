/**
 * Every command has `--help`: a usage text starting "Usage: amh <command>", exit 0, and a one-line
 * summary for `amh --help`. Also in process: `amh badge` draws nothing for a bundle that does not verify.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { test, vi } from 'vitest';
import { bundlePayload, signBundle } from '../../report/bundle.ts';
import type { Report } from '../../report/types.ts';

const dir = path.dirname(fileURLToPath(import.meta.url));
const commands = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('_'))
  .map((f) => f.slice(0, -3));

test('every command answers --help with its usage and exit 0', async () => {
  for (const c of ['baseline', 'diff', 'bundle', 'verify', 'badge', 'keygen', 'report', 'replay', 'run', 'certify']) assert.ok(commands.includes(c), c);
  for (const name of commands) {
    const mod = (await import(path.join(dir, `${name}.ts`))) as { summary: string; help: string; run(argv: string[]): Promise<number> };
    assert.ok(mod.summary.length > 10, `${name}: summary`);
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out.push(String(s));
      return true;
    });
    try {
      assert.equal(await mod.run(['--help']), 0, name);
    } finally {
      spy.mockRestore();
    }
    assert.match(out.join(''), new RegExp(`^Usage: amh ${name}\\b`), name);
  }
});

test('amh badge: exit 1 and no file for a bundle changed after signing; exit 0 and an SVG for the intact one', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'amh-badge-'));
  const report: Report = {
    schemaVersion: '1.3.0',
    harness: { name: 'agentmarket-harness', version: '0.1.0' },
    command: 'run',
    target: { name: 'reference', kind: 'reference', capabilities: [], chains: [] },
    seed: 1,
    runs: 3,
    startedAt: '2026-12-01T00:00:00.000Z',
    durationMs: 1,
    exitCode: 0,
    summary: { pass: 1, fail: 0, warn: 0, notApplicable: 0, error: 0, indeterminate: 0, uncovered: 0, checks: 3 },
    errors: [],
    protocols: [],
  };
  const b = signBundle(bundlePayload(report, undefined), new Uint8Array(32).fill(7));
  await writeFile(path.join(dir, 'ok.json'), JSON.stringify(b));
  await writeFile(path.join(dir, 'bad.json'), JSON.stringify(b).replace('"pass":1', '"pass":2'));
  const { run } = await import('./badge.ts');
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    assert.equal(await run([path.join(dir, 'bad.json'), '-o', path.join(dir, 'bad.svg')]), 1);
    assert.ok(!existsSync(path.join(dir, 'bad.svg')));
    assert.equal(await run([path.join(dir, 'ok.json'), '-o', path.join(dir, 'ok.svg')]), 0);
    assert.ok(existsSync(path.join(dir, 'ok.svg')));
  } finally {
    err.mockRestore();
  }
});
