/**
 * The two engines agree: on a small x402 economy with every seller strategy, the stack engine (real
 * anvil, the reference facilitator, paywalled sellers, real EIP-3009 payments) gives the same tasks
 * and the same event log as the model engine for the same seed, and the chain's balances equal the
 * ledger's to the unit. The same for a small Agentripe economy (the reference server, escrow,
 * facilitator and fixture reviewer; registered agents; a rejection, refunds after the review limit,
 * a failing vendor, reclaims after the delay, a colluding reviewer). The same for a small AISP
 * economy (the marketplace, backend and inference server; rentals settled, revoked, refused as not
 * rentable, dead keys paid for) under a what-if fee and refund rule, and for a small APS-1 economy
 * (an agent server per seller, NexusV2 jobs judged on their proofs: settlements with the platform
 * fee, a shortcut refunded, one settled by a colluding judge, a failure, a timeout). The chain side of the
 * conservation check bites on a market that funds a buyer one unit short.
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

/** One seller of every strategy, shared by the economies below. */
const SELLERS = [
  { name: 'good', role: 'seller', strategy: 'honest', count: 1, price: '$0.02', serviceMinutes: 1 },
  { name: 'meh', role: 'seller', strategy: 'sloppy', quality: 0.5, count: 1, price: '$0.03', serviceMinutes: 2 },
  { name: 'broken', role: 'seller', strategy: 'failing', count: 1, price: '$0.01' },
  { name: 'gone', role: 'seller', strategy: 'absent', count: 1, price: '$0.01' },
  { name: 'junk', role: 'seller', strategy: 'malicious', count: 1, price: '$0.015' },
  { name: 'cut', role: 'seller', strategy: 'undercutting', count: 1, undercutBps: 2000, serviceMinutes: 3 },
];

const raw = {
  name: 'cross-x402',
  seed: 11,
  durationHours: 1,
  protocols: { x402: 1 },
  demand: { arrivalsPerHour: 24 },
  populations: [
    { name: 'apps', role: 'buyer', count: 2, choice: 'random', balance: '$5', budget: '$0.10' },
    { name: 'picky', role: 'buyer', count: 1, choice: 'reputation', balance: '$5', budget: '$0.10' },
    ...SELLERS,
  ],
};
const economy = parseEconomy(raw);

/** `pack` whose stack reads `account` one unit high: the final check must report exactly that unit. */
function readsOneHigh(pack: SimulationPack, account: string): SimulationPack {
  return {
    ...pack,
    stack: {
      ...pack.stack!,
      async start(env) {
        const m = await pack.stack!.start(env);
        return {
          ...m,
          async balances(accounts) {
            const out = await m.balances(accounts);
            if (out.has(account)) out.set(account, out.get(account)! + 1n);
            return out;
          },
        };
      },
    },
  };
}

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

test('x402 with 4 tasks at once on the stack: the model plans, the stack carries out the same tasks and events (the chain agrees); a task the stack carries out otherwise is a violation naming it', async () => {
  // Arrivals 6 s apart: a payment stays valid 300 s, so four at a time are on the stack.
  const dense = parseEconomy({ ...raw, name: 'cross-x402-dense', durationHours: 0.05, demand: { arrivalsPerHour: 600 } });
  const model = await simulateModel({ economy: dense, seed: 11, packs });
  // The stack reports its first paid task as unanswered: the chain still agrees with the ledger,
  // so only the comparison of each stack run with the model's plan can see it.
  const x402 = packs.get('x402')!;
  let lied: string | undefined;
  const lying: SimulationPack = {
    ...x402,
    stack: {
      ...x402.stack!,
      async start(env) {
        const m = await x402.stack!.start(env);
        return {
          ...m,
          async run(task) {
            const p = await m.run(task);
            if (lied || p.outcome !== 'paid') return p;
            lied = task.id;
            return { ...p, outcome: 'no-answer' };
          },
        };
      },
    },
  };
  const stack = await simulateStack({ economy: dense, seed: 11, packs: new Map([...packs, ['x402', lying]]), concurrency: 4 });
  assert.deepEqual(stack.tasks, model.tasks);
  assert.deepEqual(stack.ledger.events, model.ledger.events);
  assert.ok(lied);
  assert.ok(model.tasks.length >= 20, `${model.tasks.length} tasks`);
  assert.deepEqual(
    stack.violations.map((v) => v.message.slice(0, v.message.indexOf(':'))),
    [`task ${lied} (x402) ran otherwise on the stack than the model planned`],
  );
  await assert.rejects(simulateStack({ economy: agentripe, seed: 6, packs, concurrency: 2 }), /one at a time/);
}, 300_000);

const agentripeRaw = {
  name: 'cross-agentripe',
  seed: 6,
  durationHours: 1,
  protocols: { agentripe: 1 },
  // Two rejections refund; a reclaim moves the chain one hour, the escrow's shortest delay.
  profiles: { agentripe: { reviewLimit: 2, reclaimDelaySeconds: 3600 } },
  demand: { arrivalsPerHour: 16 },
  populations: [
    { name: 'apps', role: 'buyer', count: 2, choice: 'random', balance: '$2', budget: '$0.10' },
    { name: 'picky', role: 'buyer', count: 1, choice: 'reputation', balance: '$2', budget: '$0.10' },
    ...SELLERS,
    { name: 'fair', role: 'reviewer', strategy: 'honest', count: 1 },
    { name: 'bribed', role: 'reviewer', strategy: 'colluding', count: 1, colludesWith: ['junk', 'meh'] },
  ],
};
const agentripe = parseEconomy(agentripeRaw);

test("agentripe: the stack engine gives the model engine's tasks and events for the same seed, and the chain (escrow included) agrees with the ledger", async () => {
  const model = await simulateModel({ economy: agentripe, seed: 6, packs });
  const stack = await simulateStack({ economy: agentripe, seed: 6, packs });
  assert.deepEqual(model.violations, []);
  assert.deepEqual(stack.violations, []);
  assert.equal(stack.engine, 'stack');
  assert.ok(model.tasks.length >= 10 && model.tasks.length <= 20, `${model.tasks.length} tasks`);
  // Every path was taken on the stack: a release after a rejection, a refund at the review limit,
  // a failure, a reclaim, and bad work paid through the colluding reviewer.
  const t = stack.tasks;
  assert.deepEqual([...new Set(t.map((x) => x.outcome))].sort(), ['completed', 'failed', 'reclaimed', 'refunded']);
  assert.ok(t.some((x) => x.outcome === 'completed' && x.rejections > 0));
  assert.ok(t.some((x) => x.outcome === 'refunded' && x.rejections === 2));
  assert.ok(t.some((x) => x.outcome === 'completed' && x.delivered === 'bad'));
  assert.deepEqual(stack.tasks, model.tasks);
  assert.deepEqual(stack.ledger.events, model.ledger.events);
  assert.deepEqual(stack.ledger.balances, model.ledger.balances);
}, 300_000);

test('agentripe and x402 side by side: sellers on both protocols hold one USDC balance plus what the escrow owes them, and both engines agree', async () => {
  const mixed = parseEconomy({ ...agentripeRaw, name: 'cross-mixed', durationHours: 0.5, protocols: { agentripe: 1, x402: 1 } });
  const model = await simulateModel({ economy: mixed, seed: 2, packs });
  const stack = await simulateStack({ economy: mixed, seed: 2, packs });
  assert.deepEqual(stack.violations, []);
  const paidOn = (p: string) => new Set(stack.tasks.filter((x) => x.protocol === p && (x.outcome === 'paid' || x.outcome === 'completed')).map((x) => x.seller));
  // A seller paid on both protocols: its money is split between its USDC and the escrow's books.
  assert.ok(
    [...paidOn('x402')].some((x) => paidOn('agentripe').has(x)),
    'no seller was paid on both protocols',
  );
  assert.deepEqual(stack.tasks, model.tasks);
  assert.deepEqual(stack.ledger.events, model.ledger.events);
}, 300_000);

test('agentripe: an escrow fee is refused up front on the stack (the reference escrow has none)', async () => {
  const withFee = parseEconomy({ ...agentripeRaw, profiles: { agentripe: { escrowFeeBps: 100 } } });
  await assert.rejects(
    simulateStack({ economy: withFee, seed: 6, packs }),
    /protocol 'agentripe' cannot run on the stack engine: the reference escrow takes no fee \(AGR-PROF-10\): escrowFeeBps 100 is a what-if of the model only; --engine model runs it/,
  );
});

const aps1Raw = {
  name: 'cross-aps1',
  seed: 4,
  durationHours: 1,
  protocols: { aps1: 1 },
  // A 15-minute deadline: every seller delivers within it but the absent one, whose job times out.
  profiles: { aps1: { jobDeadlineSeconds: 900 } },
  demand: { arrivalsPerHour: 14 },
  populations: [
    { name: 'apps', role: 'buyer', count: 2, choice: 'random', balance: '$2', budget: '$0.10' },
    { name: 'picky', role: 'buyer', count: 1, choice: 'reputation', balance: '$2', budget: '$0.10' },
    ...SELLERS,
    { name: 'fair', role: 'reviewer', strategy: 'honest', count: 1 },
    { name: 'bribed', role: 'reviewer', strategy: 'colluding', count: 1, colludesWith: ['junk', 'meh'] },
  ],
};
const aps1 = parseEconomy(aps1Raw);

test("aps1: the stack engine gives the model engine's tasks and events for the same seed, and the chain (NexusV2's escrow and fees included) agrees with the ledger", async () => {
  const model = await simulateModel({ economy: aps1, seed: 4, packs });
  const stack = await simulateStack({ economy: aps1, seed: 4, packs });
  assert.deepEqual(model.violations, []);
  assert.deepEqual(stack.violations, []);
  assert.equal(stack.engine, 'stack');
  assert.ok(model.tasks.length >= 10 && model.tasks.length <= 20, `${model.tasks.length} tasks`);
  // Every path was taken on the stack: settled good work (with the fee), a shortcut refunded by the
  // honest judge, one settled by the colluding judge, a failure refunded, a timeout.
  const t = stack.tasks;
  assert.deepEqual([...new Set(t.map((x) => x.outcome))].sort(), ['failed', 'refunded', 'settled', 'timed-out']);
  assert.ok(t.some((x) => x.outcome === 'settled' && x.delivered === 'good'));
  assert.ok(t.some((x) => x.outcome === 'settled' && x.delivered === 'bad'));
  assert.ok(stack.ledger.balance('fees:aps1') > 0n);
  assert.deepEqual(stack.tasks, model.tasks);
  assert.deepEqual(stack.ledger.events, model.ledger.events);
  assert.deepEqual(stack.ledger.balances, model.ledger.balances);
}, 300_000);

test("the stack engine compares aps1's fee account with the ledger: NexusV2's fees read one unit high are a violation", async () => {
  const pack = packs.get('aps1')!;
  const high = readsOneHigh(pack, 'fees:aps1');
  const small = parseEconomy({ ...aps1Raw, durationHours: 0.25 });
  const r = await simulateStack({ economy: small, seed: 4, packs: new Map([['aps1', high]]) });
  const m = r.violations.map((v) => v.message).find((x) => x.startsWith('account fees:aps1:'));
  assert.ok(m, r.violations.map((v) => v.message).join('\n') || 'no violation');
  const [, ledger, chain] = /the ledger holds (\d+) but the chain holds (\d+)/.exec(m)!;
  assert.equal(BigInt(chain!) - BigInt(ledger!), 1n);
}, 300_000);

test('aps1 on the stack: an agent that also trades on a USDC protocol is refused (its money would be two tokens on two chains)', async () => {
  const mixed = parseEconomy({ ...aps1Raw, protocols: { aps1: 1, x402: 1 } });
  await assert.rejects(
    simulateStack({ economy: mixed, seed: 4, packs }),
    /aps1 pays in AlphaUSD on the tempo chain, the other packs in base-sepolia USDC: on the stack engine populations trading on aps1 must trade on it only \(protocols: \[aps1\]\); not so: apps, picky, good, meh, broken, gone, junk, cut/,
  );
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

test("the stack engine compares a protocol's escrow with the ledger: an escrow read one unit high is a violation", async () => {
  const agr = packs.get('agentripe')!;
  const high: SimulationPack = {
    ...agr,
    stack: {
      ...agr.stack!,
      async start(env) {
        const m = await agr.stack!.start(env);
        return {
          ...m,
          async balances(accounts) {
            const out = await m.balances(accounts);
            if (out.has('escrow:agentripe')) out.set('escrow:agentripe', out.get('escrow:agentripe')! + 1n);
            return out;
          },
        };
      },
    },
  };
  const small = parseEconomy({ ...agentripeRaw, durationHours: 0.25 });
  const r = await simulateStack({ economy: small, seed: 6, packs: new Map([['agentripe', high]]) });
  const m = r.violations.map((v) => v.message).find((x) => x.startsWith('account escrow:agentripe:'));
  assert.ok(m, r.violations.map((v) => v.message).join('\n') || 'no violation');
  const [, ledger, chain] = /the ledger holds (\d+) but the chain holds (\d+)/.exec(m)!;
  assert.equal(BigInt(chain!) - BigInt(ledger!), 1n);
}, 300_000);

const aispRaw = {
  name: 'cross-aisp',
  seed: 18,
  durationHours: 1,
  protocols: { aisp: 1 },
  // A what-if fee and refund rule, so the stack must really write them into the marketplace.
  profiles: { aisp: { termDays: 4, feeBps: 250, refundRule: 'completed-days' } },
  demand: { arrivalsPerHour: 14 },
  populations: [
    { name: 'apps', role: 'buyer', count: 2, choice: 'random', balance: '$2', budget: '$0.10' },
    { name: 'picky', role: 'buyer', count: 1, choice: 'reputation', balance: '$2', budget: '$0.10' },
    // Odd prices: the fee (rounded down) and the earned part of a revoke (rounded up) leave remainders.
    ...SELLERS.map((s) => ({ ...s, price: s.name === 'broken' ? '$0.010003' : s.name === 'good' ? '$0.020003' : s.price })),
    // A failing provider whose revoke comes after the term: refused, the rental is settled.
    { name: 'late', role: 'seller', strategy: 'failing', count: 1, price: '$0.01', serviceMinutes: 6000 },
  ].map((p) => (p.name === 'broken' ? { ...p, serviceMinutes: 1500 } : p)),
};

test("aisp: the stack engine gives the model engine's tasks and events for the same seed, and the chain (marketplace and fee recipient included) agrees with the ledger", async () => {
  const economy = parseEconomy(aispRaw);
  const model = await simulateModel({ economy, seed: 18, packs });
  const stack = await simulateStack({ economy, seed: 18, packs });
  assert.deepEqual(model.violations, []);
  assert.deepEqual(stack.violations, []);
  assert.equal(stack.engine, 'stack');
  const t = stack.tasks;
  assert.ok(t.length >= 10 && t.length <= 20, `${t.length} tasks`);
  // Every path was taken on the stack: settled with a serving key and with a dead one (sloppy and
  // malicious), an early revoke with a partial refund, a revoke too late, a listing without a key.
  assert.deepEqual([...new Set(t.map((x) => x.outcome))].sort(), ['revoked', 'settled', 'unavailable']);
  const by = (pop: string) => t.filter((x) => x.sellerPopulation === pop);
  for (const pop of ['good', 'cut', 'late']) assert.ok(by(pop).length > 0 && by(pop).every((x) => x.outcome === 'settled' && x.delivered === 'good'), pop);
  assert.ok(by('meh').some((x) => x.delivered === 'good') && by('meh').some((x) => x.delivered === 'bad'));
  assert.ok(by('junk').length > 0 && by('junk').every((x) => x.outcome === 'settled' && x.delivered === 'bad'));
  assert.ok(by('broken').length > 0 && by('broken').every((x) => x.outcome === 'revoked'));
  assert.ok(by('gone').length > 0 && by('gone').every((x) => x.outcome === 'unavailable'));
  // 10,003 for 4 days revoked after 25 h (completed-days: 1 day used): earned ceil(10003/4) = 2501,
  // fee floor(2501 × 2.5%) = 62, refund 7502.
  const revoke = stack.ledger.events.filter((e) => e.action === 'revoke' && e.task === by('broken')[0]!.id).map((e) => [e.to, e.amount]);
  assert.deepEqual(revoke, [
    [by('broken')[0]!.buyer, 7502n],
    ['seller:broken#0', 2439n],
    ['fees:aisp', 62n],
  ]);
  assert.deepEqual(stack.tasks, model.tasks);
  assert.deepEqual(stack.ledger.events, model.ledger.events);
  assert.deepEqual(stack.ledger.balances, model.ledger.balances);
}, 300_000);

const aimarketRaw = {
  name: 'cross-aimarket',
  seed: 19,
  durationHours: 1,
  protocols: { aimarket: 1 },
  // A 10-minute channel lifetime: the third call of the 6-minute seller starts at 12 minutes, too late.
  profiles: { aimarket: { channelExpirySeconds: 600, channelCalls: 3 } },
  demand: { arrivalsPerHour: 13 },
  populations: [
    { name: 'apps', role: 'buyer', count: 2, choice: 'random', balance: '$2', budget: '$0.10' },
    { name: 'picky', role: 'buyer', count: 1, choice: 'reputation', balance: '$2', budget: '$0.10' },
    // Five cents: a deposit of three 2-cent calls is more than it holds, one of three 1-cent calls is not.
    { name: 'broke', role: 'buyer', count: 1, choice: 'random', balance: '$0.05', budget: '$0.10' },
    // $0.015 is billed 2 cents a call on a channel (whole cents, ceiling); the undercutter's $0.008, 1 cent.
    ...SELLERS.map((s) => (s.name === 'junk' ? { ...s, serviceMinutes: 1 } : s)),
    { name: 'late', role: 'seller', strategy: 'sloppy', quality: 0.3, count: 1, price: '$0.012', serviceMinutes: 6 },
  ],
};

test("aimarket: the stack engine gives the model engine's tasks and events for the same seed, and the chain (deposits, refunds, the hubs' channel books) agrees with the ledger", async () => {
  const economy = parseEconomy(aimarketRaw);
  const model = await simulateModel({ economy, seed: 19, packs });
  const stack = await simulateStack({ economy, seed: 19, packs });
  assert.deepEqual(model.violations, []);
  assert.deepEqual(stack.violations, []);
  assert.equal(stack.engine, 'stack');
  const t = stack.tasks;
  assert.ok(t.length >= 10 && t.length <= 15, `${t.length} tasks`);
  // Every path was taken on the stack: good work at once and after a rejection, a channel drained by
  // bad work (402 depleted), one cut off by its lifetime (402 expired), a refunded failure, a silent hub,
  // and a deposit the broke buyer cannot cover (no transfer on chain, the payment refused in the ledger).
  assert.deepEqual([...new Set(t.map((x) => x.outcome))].sort(), ['exhausted', 'expired', 'failed', 'refused', 'served', 'unreachable']);
  const broke = t.filter((x) => x.buyer === 'buyer:broke#0');
  assert.ok(broke.some((x) => x.outcome === 'refused') && broke.some((x) => x.outcomeClass === 'paid' || x.outcomeClass === 'refunded'));
  const by = (pop: string) => t.filter((x) => x.sellerPopulation === pop && x.outcome !== 'refused');
  for (const pop of ['good', 'cut']) assert.ok(by(pop).length > 0 && by(pop).every((x) => x.outcome === 'served' && x.rejections === 0), pop);
  assert.ok(by('meh').some((x) => x.outcome === 'served' && x.rejections > 0));
  assert.ok(by('junk').length > 0 && by('junk').every((x) => x.outcome === 'exhausted' && x.delivered === 'bad' && x.rejections === 3));
  assert.ok(by('late').some((x) => x.outcome === 'expired'));
  assert.ok(by('broken').length > 0 && by('broken').every((x) => x.outcome === 'failed'));
  assert.ok(by('gone').length > 0 && by('gone').every((x) => x.outcome === 'unreachable'));
  // A drained channel: 3 calls × 2 cents to the seller, nothing back.
  const junk = by('junk')[0]!;
  assert.deepEqual(
    stack.ledger.events.filter((e) => e.task === junk.id && e.amount > 0n).map((e) => [e.action, e.to, e.amount]),
    [['open', 'escrow:aimarket', 60_000n], ...Array(3).fill(['call:bad', 'seller:junk#0', 20_000n])],
  );
  assert.equal(stack.ledger.balance('escrow:aimarket'), 0n);
  assert.deepEqual(stack.tasks, model.tasks);
  assert.deepEqual(stack.ledger.events, model.ledger.events);
  assert.deepEqual(stack.ledger.balances, model.ledger.balances);
}, 300_000);

test('aimarket beside agentripe and x402 on one USDC: sellers paid on the channels and elsewhere, and both engines agree', async () => {
  const mixed = parseEconomy({ ...agentripeRaw, name: 'cross-mixed-aimarket', durationHours: 0.5, demand: { arrivalsPerHour: 24 }, protocols: { agentripe: 1, x402: 1, aimarket: 1 } });
  const model = await simulateModel({ economy: mixed, seed: 6, packs });
  const stack = await simulateStack({ economy: mixed, seed: 6, packs });
  assert.deepEqual(stack.violations, []);
  const paidOn = (p: string) => new Set(stack.tasks.filter((x) => x.protocol === p && x.outcomeClass === 'paid').map((x) => x.seller));
  assert.ok(
    [...paidOn('aimarket')].some((x) => paidOn('x402').has(x) || paidOn('agentripe').has(x)),
    'no seller was paid on aimarket and another protocol',
  );
  assert.deepEqual(stack.tasks, model.tasks);
  assert.deepEqual(stack.ledger.events, model.ledger.events);
  assert.deepEqual(stack.ledger.balances, model.ledger.balances);
}, 300_000);

/**
 * NIP-A5 (asa): the reference relay and Lightning network with one reference provider per seller;
 * agreements over NIP-17, L402 payments routed through a hub (the fee rounded down), disputes of bad
 * work, a node that never settles (nothing charged), a provider that never answers. No chain: the
 * network's channel balances are the money the engine compares with the ledger.
 */
const asaRaw = {
  name: 'cross-asa',
  seed: 29,
  durationHours: 1,
  protocols: { asa: 1 },
  // An odd routing fee, so the hubs' fee is rounded down on the real network as in the model.
  profiles: { asa: { routingFeeBaseMsat: 500, routingFeePpm: 1234, offerWaitSeconds: 30 } },
  demand: { arrivalsPerHour: 14 },
  populations: [
    { name: 'apps', role: 'buyer', count: 2, choice: 'random', balance: '$2', budget: '$0.10' },
    { name: 'picky', role: 'buyer', count: 1, choice: 'reputation', balance: '$2', budget: '$0.10' },
    ...SELLERS,
  ],
};

test("asa: the stack engine gives the model engine's tasks and events for the same seed, and the Lightning network (sellers, buyers, hubs' fees) agrees with the ledger to the msat", async () => {
  const economy = parseEconomy(asaRaw);
  const model = await simulateModel({ economy, seed: 29, packs });
  const stack = await simulateStack({ economy, seed: 29, packs });
  assert.deepEqual(model.violations, []);
  assert.deepEqual(stack.violations, []);
  assert.equal(stack.engine, 'stack');
  const t = stack.tasks;
  assert.ok(t.length >= 10 && t.length <= 15, `${t.length} tasks`);
  // Every path was taken on the relay, the providers and the network: good work completed, bad
  // work paid and disputed (sloppy and malicious), a node that never settles, a provider that never answers.
  assert.deepEqual([...new Set(t.map((x) => x.outcome))].sort(), ['completed', 'disputed', 'unanswered', 'unsettled']);
  const by = (pop: string) => t.filter((x) => x.sellerPopulation === pop);
  for (const pop of ['good', 'cut']) assert.ok(by(pop).length > 0 && by(pop).every((x) => x.outcome === 'completed' && x.delivered === 'good'), pop);
  assert.ok(by('meh').some((x) => x.outcome === 'completed') && by('meh').some((x) => x.outcome === 'disputed' && x.delivered === 'bad'));
  assert.ok(by('junk').length > 0 && by('junk').every((x) => x.outcome === 'disputed'));
  assert.ok(by('broken').length > 0 && by('broken').every((x) => x.outcome === 'unsettled'));
  assert.ok(by('gone').length > 0 && by('gone').every((x) => x.outcome === 'unanswered'));
  // 30 sats through a hub: 500 + 30,000 × 1,234 / 10^6 = 537.02 → 537 msat.
  const meh = stack.ledger.events.filter((e) => e.action === 'pay' && e.task === by('meh')[0]!.id).map((e) => [e.to, e.amount]);
  assert.deepEqual(meh, [
    ['seller:meh#0', 30_000n],
    ['fees:asa', 537n],
  ]);
  assert.deepEqual(stack.tasks, model.tasks);
  assert.deepEqual(stack.ledger.events, model.ledger.events);
  assert.deepEqual(stack.ledger.balances, model.ledger.balances);
}, 300_000);

test("asa on the stack: the network's side bites (the hubs' fees read one msat high), a buyer short of the fee is refused as in the model, and what the reference cannot run is refused before any task", async () => {
  const pack = packs.get('asa')!;
  const high = readsOneHigh(pack, 'fees:asa');
  const small = parseEconomy({ ...asaRaw, durationHours: 0.25, populations: asaRaw.populations.filter((p) => p.name !== 'gone') });
  const r = await simulateStack({ economy: small, seed: 29, packs: new Map([['asa', high]]) });
  assert.ok(r.tasks.some((x) => x.outcomeClass === 'paid'));
  const m = r.violations.map((v) => v.message).find((x) => x.startsWith('account fees:asa:'));
  assert.ok(m, r.violations.map((v) => v.message).join('\n') || 'no violation');
  const [, ledger, chain] = /the ledger holds (\d+) but the chain holds (\d+)/.exec(m)!;
  assert.equal(BigInt(chain!) - BigInt(ledger!), 1n);
  // A buyer left with the price but not the routing fee: its node cannot carry the payment, and the
  // engine refuses it as the model's ledger does.
  const poor = parseEconomy({
    ...asaRaw,
    seed: 6,
    durationHours: 0.25,
    populations: [
      { name: 'poor', role: 'buyer', count: 1, balance: '$0.0408', budget: '$0.10' },
      { name: 'good', role: 'seller', strategy: 'honest', count: 1, price: '$0.02', serviceMinutes: 1 },
    ],
  });
  const poorModel = await simulateModel({ economy: poor, seed: 6, packs });
  const poorStack = await simulateStack({ economy: poor, seed: 6, packs });
  assert.deepEqual(poorStack.violations, []);
  assert.deepEqual(
    poorStack.tasks.map((x) => x.outcome),
    ['completed', 'refused', 'refused'],
  );
  assert.deepEqual(poorStack.tasks, poorModel.tasks);
  assert.deepEqual(poorStack.ledger.events, poorModel.ledger.events);
  // The reference provider expires agreements on the wall clock: a seller slower than the timeout cannot run.
  const late = parseEconomy({ ...asaRaw, profiles: { asa: { agreementTimeoutSeconds: 90 } } });
  await assert.rejects(simulateStack({ economy: late, seed: 29, packs }), /every seller that delivers must do so within the agreement timeout \(agreementTimeoutSeconds 90\); not so: meh, junk, cut/);
}, 300_000);
