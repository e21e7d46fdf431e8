/**
 * The two engines agree: on a small x402 economy with every seller strategy, the stack engine (real
 * anvil, the reference facilitator, paywalled sellers, real EIP-3009 payments) gives the same tasks
 * and the same event log as the model engine for the same seed, and the chain's balances equal the
 * ledger's to the unit. The chain side of the conservation check bites on a market that funds a
 * buyer one unit short. (Agentripe has no stack simulation yet: only its model engine runs.)
 */
import assert from 'node:assert/strict';
import { beforeAll, test } from 'vitest';
import { loadSimulations } from '../packs/discover.ts';
import { parseEconomy } from './economy.ts';
import { simulateModel } from './model-engine.ts';
import type { SimulationPack } from './pack.ts';
import { simulateStack } from './stack-engine.ts';

let packs: Map<string, SimulationPack>;
beforeAll(async () => {
  packs = await loadSimulations();
});

const raw = {
  name: 'cross-x402',
  seed: 11,
  durationHours: 1,
  protocols: { x402: 1 },
  demand: { arrivalsPerHour: 24 },
  populations: [
    { name: 'apps', role: 'buyer', count: 2, choice: 'random', balance: '$5', budget: '$0.10' },
    { name: 'picky', role: 'buyer', count: 1, choice: 'reputation', balance: '$5', budget: '$0.10' },
    { name: 'good', role: 'seller', strategy: 'honest', count: 1, price: '$0.02', serviceMinutes: 1 },
    { name: 'meh', role: 'seller', strategy: 'sloppy', quality: 0.5, count: 1, price: '$0.03', serviceMinutes: 2 },
    { name: 'broken', role: 'seller', strategy: 'failing', count: 1, price: '$0.01' },
    { name: 'gone', role: 'seller', strategy: 'absent', count: 1, price: '$0.01' },
    { name: 'junk', role: 'seller', strategy: 'malicious', count: 1, price: '$0.015' },
    { name: 'cut', role: 'seller', strategy: 'undercutting', count: 1, undercutBps: 2000, serviceMinutes: 3 },
  ],
};
const economy = parseEconomy(raw);

test("x402: the stack engine gives the model engine's tasks and events for the same seed, and the chain agrees with the ledger", async () => {
  const model = await simulateModel({ economy, seed: 11, packs });
  const stack = await simulateStack({ economy, seed: 11, packs });
  assert.deepEqual(model.violations, []);
  assert.deepEqual(stack.violations, []);
  assert.equal(stack.engine, 'stack');
  assert.ok(model.tasks.length >= 10, `${model.tasks.length} tasks`);
  // Every strategy was exercised on the stack.
  assert.deepEqual([...new Set(stack.tasks.map((t) => t.outcome))].sort(), ['no-answer', 'paid', 'server-error']);
  assert.ok(stack.tasks.some((t) => t.delivered === 'good') && stack.tasks.some((t) => t.delivered === 'bad'));
  assert.deepEqual(stack.tasks, model.tasks);
  assert.deepEqual(stack.ledger.events, model.ledger.events);
}, 300_000);

test('the stack engine compares the chain with the ledger: a buyer funded one unit short is a violation', async () => {
  const x402 = packs.get('x402')!;
  const short: SimulationPack = {
    ...x402,
    stack: {
      ...x402.stack!,
      async start(env) {
        const m = await x402.stack!.start(env);
        return { ...m, fund: (account, amount) => m.fund(account, account === 'buyer:apps#0' ? amount - 1n : amount) };
      },
    },
  };
  const small = parseEconomy({ ...raw, durationHours: 0.25 });
  const r = await simulateStack({ economy: small, seed: 11, packs: new Map([['x402', short]]) });
  const messages = r.violations.map((v) => v.message);
  assert.ok(
    messages.some((m) => /^account buyer:apps#0 \(0x[0-9a-fA-F]{40}\): the ledger holds (\d+) but the chain holds \d+$/.test(m)),
    messages.join('\n'),
  );
  const [, ledger, chain] = /the ledger holds (\d+) but the chain holds (\d+)/.exec(messages.find((m) => m.startsWith('account buyer:apps#0'))!)!;
  assert.equal(BigInt(ledger!) - BigInt(chain!), 1n);
}, 300_000);
