/**
 * The reference deployment starts the services of the selected protocols only, from the packs'
 * service.ts files, the same way for `amh run` and `amh up`; a service's endpoints, capabilities
 * and config reach the Target.
 */
import assert from 'node:assert/strict';
import { test } from 'vitest';
import { loadServices, servicesFor } from '../packs/discover.ts';
import { startReference } from './reference.ts';
import { defineService } from './service.ts';

test('each pack declares its services; a protocol selection picks exactly those it needs', async () => {
  const all = await loadServices();
  // Every pack may bring services; these two must be there, each for its own protocol.
  const byName = Object.fromEntries(all.map((s) => [s.name, s.protocols]));
  assert.deepEqual(byName.agentripe, ['agentripe']);
  assert.deepEqual(byName['x402-demo'], ['x402']);
  assert.equal(new Set(all.map((s) => s.name)).size, all.length, 'service names are unique');
  assert.deepEqual(servicesFor(all, ['usdc']), []);
  assert.deepEqual(servicesFor(all, ['usdc', 'erc8004']), []);
  assert.deepEqual(
    servicesFor(all, ['agentripe']).map((s) => s.name),
    ['agentripe'],
  );
  // No selection: every pack's services (other packs may add theirs).
  const names = servicesFor(all).map((s) => s.name);
  assert.deepEqual(
    names,
    all.map((s) => s.name),
  );
  for (const n of ['agentripe', 'x402-demo']) assert.ok(names.includes(n), n);
});

test('a chain-only selection starts no HTTP server; a service publishes endpoints, capabilities and config into the Target', async () => {
  const none = await startReference({ protocols: ['usdc'], chains: ['base'] });
  try {
    assert.deepEqual(none.services, []);
    assert.deepEqual(none.target.endpoints, {});
    assert.equal(none.target.chains.length, 1);
  } finally {
    await none.stop();
  }
  let stopped = 0;
  const fake = defineService({
    name: 'fake',
    protocols: ['fake'],
    chains: ['base'],
    async start({ chains }) {
      return { endpoints: { fake: `${chains[0]!.rpcUrl}/fake` }, capabilities: ['fake:thing'], config: { fake: { on: true } }, stop: async () => void stopped++ };
    },
  });
  const elsewhere = defineService({ name: 'elsewhere', protocols: ['fake'], chains: ['tempo'], start: async () => ({ stop: async () => {} }) });
  const ref = await startReference({ protocols: ['fake'], chains: ['base'], services: [fake, elsewhere] });
  try {
    assert.deepEqual(
      ref.services.map((s) => [s.name, s.status]),
      [['fake', 'started']],
    );
    assert.deepEqual(ref.skipped, [{ name: 'elsewhere', reason: 'runs on tempo, which is not started' }]);
    assert.match(String(ref.target.endpoints.fake), /\/fake$/);
    assert.ok(ref.target.capabilities.includes('fake:thing'));
    assert.deepEqual(ref.target.config, { fake: { on: true } });
  } finally {
    await ref.stop();
  }
  assert.equal(stopped, 1);
});
