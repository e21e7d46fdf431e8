/** Which chain profiles a reference run starts: only those a selected scenario or service needs. */
import assert from 'node:assert/strict';
import { test } from 'vitest';
import { loadProtocols, loadServices } from '../packs/discover.ts';
import { chainsNeeded } from './execute.ts';

test('chainsNeeded: the profiles where a selected scenario finds its tokens and contracts, plus the services’ chains; none for a chainless protocol', async () => {
  const protos = await loadProtocols();
  const services = await loadServices();
  const of = (id: string, o: { grep?: string } = {}) => chainsNeeded([protos.find((p) => p.id === id)!], o, services);
  assert.deepEqual(of('asa'), [], 'asa runs on a relay and a simulated Lightning network: no anvil');
  assert.deepEqual(of('aps1'), ['tempo']);
  assert.deepEqual(of('agentripe'), ['base-sepolia'], 'its service runs on base-sepolia');
  // usdc scenarios run on every chain that has USDC; the tempo profile has other stablecoins.
  assert.deepEqual(of('usdc'), ['base', 'base-sepolia']);
  // A grep that selects nothing of usdc needs no chain; a service is started whatever the grep.
  assert.deepEqual(of('usdc', { grep: '^nothing-matches$' }), []);
  assert.deepEqual(of('aisp', { grep: '^nothing-matches$' }), ['base']);
  assert.deepEqual(chainsNeeded(protos, {}, services), ['base', 'base-sepolia', 'tempo']);
});
