/**
 * A service that hangs in start or stop cannot hang `amh run` or `amh up`: each has a time limit and
 * fails with a message naming the service.
 */
import assert from 'node:assert/strict';
import { test } from 'vitest';
import { defineService, ServiceInstance, type ServiceContext } from './service.ts';

const ctx: ServiceContext = { chains: [], host: '127.0.0.1', log: () => {} };
const never = new Promise<never>(() => {});

test('a start that never finishes fails after the limit, naming the service; the instance can start again', async () => {
  const hanging = new ServiceInstance(defineService({ name: 'hangs-on-start', protocols: ['p'], chains: [], start: () => never }), { startMs: 200, stopMs: 200 });
  await assert.rejects(hanging.start(ctx), /service hangs-on-start failed to start: did not start within 0.2 s/);
  assert.equal(hanging.status, 'idle');
});

test('a stop that never finishes fails after the limit and leaves the instance stopped', async () => {
  const inst = new ServiceInstance(defineService({ name: 'hangs-on-stop', protocols: ['p'], chains: [], start: async () => ({ stop: () => never }) }), { startMs: 200, stopMs: 200 });
  await inst.start(ctx);
  await assert.rejects(inst.stop(), /service hangs-on-stop did not stop within 0.2 s/);
  assert.equal(inst.status, 'stopped');
});

test('a service that starts and stops in time is unaffected by the limits', async () => {
  let stopped = 0;
  const inst = new ServiceInstance(defineService({ name: 'quick', protocols: ['p'], chains: [], start: async () => ({ endpoints: { e: 'http://x' }, stop: async () => void stopped++ }) }), {
    startMs: 200,
    stopMs: 200,
  });
  assert.deepEqual((await inst.start(ctx)).endpoints, { e: 'http://x' });
  await inst.stop();
  assert.equal(stopped, 1);
});
