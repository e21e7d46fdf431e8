/**
 * The launcher's stand-in for a child CLI (mirror-child.mjs, used by amh.mjs under an old Node): a
 * SIGTERM to the launcher's pid ends the child, and the launcher ends as the child did: killed by
 * the same signal when the child was, the child's own exit code otherwise. Before, a child killed by
 * the signal left the launcher exiting 0 (a stopped `amh run` read as a pass).
 */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

const mirror = new URL('./mirror-child.mjs', import.meta.url).href;

/** A launcher running `childCode` under mirrorChild; resolves once the child is up (it prints "up"). */
function launch(childCode: string) {
  const launcher = `import { spawn } from 'node:child_process';
    import { mirrorChild } from ${JSON.stringify(mirror)};
    mirrorChild(spawn(process.execPath, ['-e', ${JSON.stringify(childCode)}], { stdio: ['ignore', 'inherit', 'inherit'] }));`;
  const p = spawn(process.execPath, ['--input-type=module', '-e', launcher], { stdio: ['ignore', 'pipe', 'inherit'] });
  const up = new Promise<void>((resolve, reject) => {
    p.stdout.on('data', (d: Buffer) => d.toString().includes('up') && resolve());
    p.once('exit', () => reject(new Error('launcher ended before its child was up')));
  });
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => p.once('exit', (code, signal) => resolve({ code, signal })));
  return { p, up, ended };
}

test('a child killed by SIGTERM: the launcher dies of SIGTERM too, never exit 0', async () => {
  // No SIGTERM handler in the child: the signal's default action ends it.
  const l = launch("console.log('up'); setInterval(() => {}, 1000);");
  await l.up;
  l.p.kill('SIGTERM');
  assert.deepEqual(await l.ended, { code: null, signal: 'SIGTERM' });
});

test('a child that handles SIGTERM and exits 143: the launcher exits 143', async () => {
  const l = launch("process.on('SIGTERM', () => process.exit(143)); console.log('up'); setInterval(() => {}, 1000);");
  await l.up;
  l.p.kill('SIGTERM');
  assert.deepEqual(await l.ended, { code: 143, signal: null });
});

test("a child's own exit code passes through (0 and non-zero)", async () => {
  for (const code of [0, 3]) {
    const l = launch(`console.log('up'); setTimeout(() => process.exit(${code}), 50);`);
    assert.deepEqual(await l.ended, { code, signal: null });
  }
});
