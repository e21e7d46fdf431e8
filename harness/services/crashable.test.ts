/**
 * The crash scenarios' supervisor: a child that ends before it is up is started again a few times
 * (a start can fail for a moment's reason), then given up on, never looped on.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'vitest';
import { waitUntilAnswers } from '../engine/restart.ts';
import { freeFixedPort } from '../util/net.ts';
import { startCrashable } from './crashable.ts';

const FLAKY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', 'flaky-server.ts');

/** The flaky child under supervision, failing its first `fails` starts: its URL, log lines and start count. */
async function superviseFlaky(name: string, fails: number) {
  const port = await freeFixedPort();
  const lines: string[] = [];
  let dir = '';
  const crashable = startCrashable({
    name,
    script: FLAKY,
    args: (d) => {
      dir = d;
      return [d, String(port), String(fails)];
    },
    readyUrl: `http://127.0.0.1:${port}/`,
    log: (l) => lines.push(l),
  });
  return { url: `http://127.0.0.1:${port}/`, lines, starts: () => readFileSync(path.join(dir, 'starts'), 'utf8'), stop: () => crashable.stop() };
}

test('a child that ends before it is up on its first two starts is started again and comes up; stderr gets its first error line only', async () => {
  const said: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (String(chunk).includes('flaky:')) said.push(String(chunk));
    return write(chunk, ...rest);
  }) as typeof process.stderr.write;
  const f = await superviseFlaky('flaky', 2);
  try {
    await waitUntilAnswers(f.url, Date.now() + 60_000, `the flaky child (log: ${f.lines.join(' | ')})`);
    assert.equal(f.starts(), '3');
    assert.equal(f.lines.filter((l) => /before it was up \(start \d of 3\); starting it again/.test(l)).length, 2);
    assert.equal(said.length, 2, said.join(''));
    for (const [i, s] of said.entries())
      assert.match(s, new RegExp(`^amh: flaky: exited \\(1\\) before it was up \\(start ${i + 1} of 3\\); starting it again:\\n  start ${i + 1}: failing on purpose\\n$`));
  } finally {
    process.stderr.write = write;
    await f.stop();
  }
});

test('a child that always ends before it is up is given up on after 3 starts', async () => {
  const f = await superviseFlaky('broken', 99);
  try {
    const until = Date.now() + 60_000;
    while (!f.lines.some((l) => l.includes('not started again')) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.ok(
      f.lines.some((l) => l.includes('(start 3 of 3); not started again') && l.includes('failing on purpose')),
      f.lines.join(' | '),
    );
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(f.starts(), '3', 'no fourth start');
  } finally {
    await f.stop();
  }
});
