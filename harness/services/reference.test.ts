/**
 * The reference deployment starts the services of the selected protocols only, from the packs'
 * service.ts files, the same way for `amh run` and `amh up`; a service's endpoints, capabilities
 * and config reach the Target.
 */
import assert from 'node:assert/strict';
import { test } from 'vitest';
import type { Hex } from 'viem';
import { roleAccount, signedTransfer } from '../chain/accounts.ts';
import { rpcCall } from '../chain/rpc.ts';
import { loadProtocols, loadServices, servicesFor } from '../packs/discover.ts';
import { startReference } from './reference.ts';
import { defineService } from './service.ts';

test('each pack declares its services; a protocol selection picks exactly those it needs', async () => {
  const all = await loadServices();
  // The first packs' services are there (packs added later bring theirs); each serves only protocols that exist.
  const byName = new Map(all.map((s) => [s.name, s.protocols]));
  assert.deepEqual(byName.get('agentripe'), ['agentripe']);
  assert.deepEqual(byName.get('x402-demo'), ['x402']);
  const known = new Set((await loadProtocols()).map((p) => p.id));
  for (const s of all) for (const p of s.protocols) assert.ok(known.has(p), `service ${s.name} serves ${p}, which no pack defines`);
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
  // A selection imports only the selected packs' service files.
  assert.deepEqual(
    (await loadServices(undefined, ['x402', 'usdc'])).map((s) => s.name),
    ['x402-demo'],
  );
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

test('reset takes back only chains whose every service can forget, to their state once up, and resets those services', async () => {
  const resets: string[] = [];
  // base: one service that can forget; tempo: one that cannot, so tempo is never taken back.
  const forgetful = defineService({
    name: 'forgetful',
    protocols: ['fake'],
    chains: ['base'],
    start: async () => ({ reset: async () => void resets.push('forgetful'), stop: async () => {} }),
  });
  const stubborn = defineService({ name: 'stubborn', protocols: ['fake'], chains: ['tempo'], start: async () => ({ stop: async () => {} }) });
  const ref = await startReference({ protocols: ['fake'], chains: ['base', 'tempo'], services: [forgetful, stubborn], resettable: true });
  try {
    assert.deepEqual(ref.resetChains, ['base']);
    const height = (c: (typeof ref.chains)[number]) => rpcCall<Hex>(c.rpcUrl, 'eth_blockNumber').then(BigInt);
    const [base, tempo] = ref.chains as [(typeof ref.chains)[number], (typeof ref.chains)[number]];
    const start = { base: await height(base), tempo: await height(tempo) };
    for (let round = 1; round <= 2; round++) {
      for (const c of [base, tempo]) await rpcCall(c.rpcUrl, 'anvil_mine', ['0x3']);
      await ref.reset();
      assert.equal(await height(base), start.base, `round ${round}: base is back where it was once up (one empty block on its snapshot)`);
      assert.equal(await height(tempo), start.tempo + 3n * BigInt(round), `round ${round}: tempo is left as it is`);
    }
    assert.deepEqual(resets, ['forgetful', 'forgetful']);
  } finally {
    await ref.stop();
  }
  // Without `resettable` nothing is snapshotted and reset does nothing.
  const plain = await startReference({ protocols: ['fake'], chains: ['base'], services: [forgetful] });
  try {
    assert.deepEqual(plain.resetChains, []);
    await plain.reset();
    assert.deepEqual(resets, ['forgetful', 'forgetful']);
  } finally {
    await plain.stop();
  }
});

test('a repair of a transaction anvil stranded is logged (amh up prints it: a certify run against its chains cannot see it)', async () => {
  const lines: string[] = [];
  const ref = await startReference({ chainsOnly: true, chains: ['base'], log: (l) => lines.push(l) });
  try {
    const chain = ref.chains[0]!;
    const who = roleAccount('buyer1').address;
    const count = async () => Number(BigInt(await rpcCall<Hex>(chain.rpcUrl, 'eth_getTransactionCount', [who, 'latest'])));
    // Stranded as anvil's race strands one (harness/chain/pool-repair.test.ts).
    const n = await count();
    await rpcCall(chain.rpcUrl, 'eth_sendRawTransaction', [await signedTransfer(chain.chainId, 'buyer1', n + 1)]);
    await rpcCall(chain.rpcUrl, 'anvil_setNonce', [who, `0x${(n + 1).toString(16)}`]);
    for (let i = 0; i < 200 && (await count()) < n + 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await count(), n + 2, 'the repair sent it back');
    assert.deepEqual(
      lines.filter((l) => l.includes('stranded')),
      [`chain base: anvil stranded a sender's transaction in its pool once (sender ${who.toLowerCase()}, nonces ${n + 1}); the harness sent 1 transaction back (harness/chain/pool-repair.ts)`],
    );
  } finally {
    await ref.stop();
  }
});
