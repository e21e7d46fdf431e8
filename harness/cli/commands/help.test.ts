/** Every command has `--help`: a usage text starting "Usage: amh <command>", exit 0, and a one-line summary for `amh --help`. */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, vi } from 'vitest';

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
