/** Which chain profiles a reference run starts: only those a selected scenario or service needs. */
import assert from 'node:assert/strict';
import { test } from 'vitest';
import { loadProtocols, loadServices } from '../packs/discover.ts';
import { chainsNeeded, pickedScenarios, resolveSpec } from './execute.ts';

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

test('pickedScenarios: what --grep or a replay selects, so the reference starts only the parts those scenarios need (the crashable Agentripe server for restart)', async () => {
  const protos = await loadProtocols(undefined, ['agentripe']);
  const caps = (o: { grep?: string }) => new Set(pickedScenarios(protos, o).flatMap((s) => s.capabilities ?? []));
  assert.ok(caps({}).has('restart'), 'a whole agentripe run crashes servers');
  assert.ok(!caps({ grep: 'pay-exact' }).has('restart'));
  assert.ok(caps({ grep: 'restart-every-step' }).has('restart'));
  assert.deepEqual(
    pickedScenarios(protos, { replay: { caseId: 'agentripe/restart-every-step', seed: 1, path: '' } }).map((s) => s.id),
    ['restart-every-step'],
  );
});

test('--spec: PROTOCOL=REV or a bare REV for every selected protocol that declares it; clear errors otherwise', async () => {
  const protos = await loadProtocols(undefined, ['x402', 'erc8004', 'usdc']);
  const [usdc, erc8004, x402] = ['usdc', 'erc8004', 'x402'].map((id) => protos.find((p) => p.id === id)!);
  assert.equal(resolveSpec(undefined, protos), undefined);
  assert.deepEqual(resolveSpec(['x402=v1'], protos), { x402: 'v1' });
  assert.deepEqual(resolveSpec(['v2'], [usdc!, erc8004!, x402!]), { erc8004: 'v2', x402: 'v2' });
  assert.throws(() => resolveSpec(['x402=v9'], protos), /x402 has no spec revision 'v9' \(.*x402: v1, v2 \(default\)/);
  assert.throws(() => resolveSpec(['v9'], protos), /no selected protocol has a spec revision 'v9'/);
  assert.throws(() => resolveSpec(['aisp=skill-1.0.2'], protos), /protocol 'aisp' is not selected/);
  assert.throws(() => resolveSpec(['x402=v1', 'x402=v2'], protos), /two revisions of x402/);
  assert.deepEqual(resolveSpec(['erc8004=v1'], protos), { erc8004: 'v1' }, 'v1 shares the registration rules');
  const empty = {
    ...erc8004!,
    requirements: erc8004!.requirements.map((q) => ({ ...q, revisions: ['v2'] })),
    revisions: [...erc8004!.revisions!, { id: 'v0', title: 'none', source: 'nowhere', note: 'nothing of it is checked' }],
  };
  assert.throws(() => resolveSpec(['erc8004=v0'], [empty]), /no requirement the harness checks belongs to erc8004 v0 \(nothing of it is checked\)/);
});
