/**
 * `amh run` as `npm start` runs it (reduced runs and protocols): the reference target is certified,
 * exit 0, the four report files are written and report.json validates against its schema.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('amh run certifies the reference usdc + erc8004 implementation: exit 0, four files, schema-valid JSON', async () => {
  const out = await mkdtemp(path.join(tmpdir(), 'amh-run-'));
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(ROOT, 'harness', 'cli', 'amh.mjs'), 'run', '--protocol', 'usdc', '--protocol', 'erc8004', '--runs', '3', '--seed', '5', '--out', out], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /PASS — every MUST requirement passed/);
  assert.match(r.stdout, new RegExp(`report: ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/index\\.html`));
  for (const f of ['report.json', 'junit.xml', 'index.html', 'summary.md']) assert.ok(existsSync(path.join(out, f)), f);
  const schema = JSON.parse(await readFile(path.join(ROOT, 'harness', 'report', 'report.schema.json'), 'utf8'));
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const json = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
  assert.equal(ajv.validate(schema, json), true, JSON.stringify(ajv.errors?.slice(0, 5)));
  assert.equal(json.target.kind, 'reference');
  // Chain protocols only: no reference server was started (they are started per selected protocol).
  assert.deepEqual(json.target.endpoints, {});
  assert.deepEqual(
    json.protocols.map((p: { id: string }) => p.id),
    ['usdc', 'erc8004'],
  );
  assert.ok(json.summary.pass >= 25 && json.summary.fail === 0 && json.summary.uncovered === 0, JSON.stringify(json.summary));
  // Non-TTY progress: one plain line per scenario on stderr.
  assert.match(r.stderr, /\[\d+\/\d+\] usdc\/3009-valid-transfer: pass \(3 runs, \d+ ms\)/);
});
