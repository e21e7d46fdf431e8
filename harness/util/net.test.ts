/**
 * freeFixedPort / reserveFixedPort: a free port that a port-0 bind (any other process's server)
 * cannot be handed, and that no other process or thread reserves while its holder lives.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { test } from 'vitest';
import { freeFixedPort, freePort, reserveFixedPort } from './net.ts';

test('freeFixedPort is below the ephemeral range, free, and bindable; freePort is inside the range', async () => {
  const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number) as [number, number];
  const ephemeral = await freePort();
  assert.ok(ephemeral >= low && ephemeral <= high, `port 0 binds in ${low}-${high} (got ${ephemeral})`);
  for (let i = 0; i < 20; i++) {
    const port = await freeFixedPort();
    assert.ok(port > 1024 && port < low, `${port} is below ${low}`);
    const srv = net.createServer();
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

test('a reserved port is not handed out again while its holder lives (this process or another), and is after the holder died', async () => {
  const mine = await reserveFixedPort();
  const only = { pick: () => mine.port };
  // Held by this process (another worker thread would see the same pid): skipped.
  await assert.rejects(reserveFixedPort('127.0.0.1', only), /no free port/);
  mine.release();
  const again = await reserveFixedPort('127.0.0.1', only);
  assert.equal(again.port, mine.port);
  again.release();

  // Held by another live process: skipped; once that process is gone, taken over.
  const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const file = path.join(tmpdir(), 'amh-fixed-ports', String(mine.port));
  writeFileSync(file, String(holder.pid));
  try {
    await assert.rejects(reserveFixedPort('127.0.0.1', only), /no free port/);
  } finally {
    const gone = new Promise((r) => holder.once('exit', r));
    holder.kill('SIGKILL');
    await gone;
  }
  const taken = await reserveFixedPort('127.0.0.1', only);
  assert.equal(taken.port, mine.port);
  assert.equal(readFileSync(file, 'utf8').trim(), String(process.pid));
  taken.release();
  assert.throws(() => readFileSync(file), /ENOENT/);
});
