/** freeFixedPort: a free port that a port-0 bind (any other process's server) cannot be handed. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { test } from 'vitest';
import { freeFixedPort, freePort } from './net.ts';

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
