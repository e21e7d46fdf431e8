/**
 * A harness process killed with SIGKILL runs no cleanup: its anvils must still end (the launcher's
 * watcher sees the parent gone), while a normal stop and a crash stay as they were (anvil is the
 * harness's direct child, same pid and exit status).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onTestFinished, test } from 'vitest';
import { startChain } from './anvil.ts';
import { rpcCall } from './rpc.ts';

const ANVIL_TS = path.join(import.meta.dirname, 'anvil.ts');

const answers = (rpcUrl: string) =>
  rpcCall(rpcUrl, 'eth_chainId').then(
    () => true,
    () => false,
  );

async function until(what: string, ok: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test.skipIf(process.platform === 'win32')('an anvil whose harness process is killed with SIGKILL ends by itself', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'amh-guard-'));
  const script = path.join(dir, 'holder.mts');
  writeFileSync(
    script,
    `import { startChain } from ${JSON.stringify(ANVIL_TS)};\nconst c = await startChain({ profile: 'base' });\nconsole.log(JSON.stringify({ pid: c.pid, rpcUrl: c.rpcUrl }));\nsetInterval(() => {}, 1000);\n`,
  );
  const holder = spawn(process.execPath, ['--import', 'tsx', script], { cwd: path.dirname(ANVIL_TS), stdio: ['ignore', 'pipe', 'inherit'] });
  let chain: { pid: number; rpcUrl: string } | undefined;
  onTestFinished(() => {
    holder.kill('SIGKILL');
    if (chain)
      try {
        process.kill(chain.pid, 'SIGKILL');
      } catch {
        // ended, as it should
      }
  });
  chain = await new Promise<{ pid: number; rpcUrl: string }>((resolve, reject) => {
    let out = '';
    holder.stdout.on('data', (d) => {
      out += String(d);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line));
    });
    holder.once('exit', (code) => reject(new Error(`the holder exited (${code}) before starting its chain`)));
  });
  assert.ok(await answers(chain.rpcUrl), 'the chain answers while its holder lives');
  assert.match(readFileSync(`/proc/${chain.pid}/cmdline`, 'utf8'), /anvil/, 'the pid the harness holds is anvil itself');
  holder.kill('SIGKILL');
  await until('anvil stops answering after its holder was killed', async () => !(await answers(chain!.rpcUrl)), 10_000);
});

test.skipIf(process.platform === 'win32')('a normal stop and a crash are seen as before: anvil is the direct child', { timeout: 60_000 }, async () => {
  const a = await startChain({ profile: 'base' });
  process.kill(a.pid!, 'SIGKILL');
  assert.deepEqual(await a.crashed, { code: null, signal: 'SIGKILL' });
  await a.stop();
  const b = await startChain({ profile: 'base' });
  await b.stop();
  assert.equal(await answers(b.rpcUrl), false);
});
