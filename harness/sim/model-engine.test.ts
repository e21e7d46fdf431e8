/**
 * The model engine on the real agentripe, x402, aisp, aps1, aimarket and asa simulation adapters: deterministic by seed, each
 * strategy ends the way its protocol says, fees exact, money conserved on the shipped examples; and
 * the conservation check bites on adapters that leak, overpay or lose money.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { beforeAll, test } from 'vitest';
import { REPO_ROOT } from '../chain/paths.ts';
import { loadSimulations } from '../packs/discover.ts';
import { loadEconomyFile, parseEconomy, type SellerStrategy } from './economy.ts';
import { checkConservation } from './ledger.ts';
import { simulateModel, type SimResult } from './model-engine.ts';
import { defineSimulation, type SimulationPack, type TaskPlan } from './pack.ts';
import { Rng } from './rng.ts';

let packs: Map<string, SimulationPack>;
beforeAll(async () => {
  packs = await loadSimulations();
});

/** A one-protocol economy with one buyer population and the given sellers and reviewers. */
function economy(protocol: string, populations: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  return parseEconomy({
    name: 'test',
    seed: 7,
    durationHours: 10,
    protocols: { [protocol]: 1 },
    demand: { arrivalsPerHour: 30 },
    populations: [{ name: 'buyers', role: 'buyer', count: 3, balance: '$100', budget: '$1' }, ...populations],
    ...extra,
  });
}

const run = (e: ReturnType<typeof economy>, seed = e.seed, p: ReadonlyMap<string, SimulationPack> = packs) => simulateModel({ economy: e, seed, packs: p });
const outcomes = (r: SimResult) => [...new Set(r.tasks.filter((t) => t.finished).map((t) => t.outcome))].sort();
const earned = (r: SimResult, seller: string) => r.ledger.events.filter((e) => e.to === seller).reduce((a, e) => a + e.amount, 0n);

test('the shipped examples conserve money exactly; every unit is held by a buyer, a seller, an escrow or a fee account', async () => {
  for (const f of ['agentripe.yaml', 'x402.yaml', 'aisp.yaml', 'aps1.yaml', 'aimarket.yaml', 'mixed.yaml']) {
    const e = await loadEconomyFile(path.join(REPO_ROOT, 'examples', 'economies', f));
    const r = await run(e);
    assert.deepEqual(r.violations, [], f);
    assert.ok(r.tasks.length > 100, `${f}: ${r.tasks.length} tasks`);
    let held = 0n;
    for (const [account, b] of r.ledger.balances) {
      assert.match(account, /^(buyer|seller):|^(escrow|fees):/);
      held += b;
    }
    assert.equal(held, r.ledger.funded, f);
  }
});

test('the same seed gives the same events and tasks; another seed does not', async () => {
  const e = await loadEconomyFile(path.join(REPO_ROOT, 'examples', 'economies', 'mixed.yaml'));
  const a = await run(e, 5);
  const b = await run(e, 5);
  const c = await run(e, 6);
  assert.deepEqual(b.ledger.events, a.ledger.events);
  assert.deepEqual(b.tasks, a.tasks);
  assert.notDeepEqual(
    c.tasks.map((t) => t.outcome + t.seller),
    a.tasks.map((t) => t.outcome + t.seller),
  );
});

test('agentripe: honest vendors are paid in full, failing ones refund, absent ones are reclaimed after the profile delay', async () => {
  const r = await run(
    economy(
      'agentripe',
      [
        { name: 'good', role: 'seller', strategy: 'honest', count: 1, price: '$0.30' },
        { name: 'flaky', role: 'seller', strategy: 'failing', count: 1, price: '$0.30' },
        { name: 'ghost', role: 'seller', strategy: 'absent', count: 1, price: '$0.30' },
      ],
      { profiles: { agentripe: { reclaimDelaySeconds: 3600 } } },
    ),
  );
  assert.deepEqual(r.violations, []);
  const by = (pop: string) => r.tasks.filter((t) => t.sellerPopulation === pop && t.finished);
  assert.ok(by('good').length > 0 && by('flaky').length > 0 && by('ghost').length > 0);
  for (const t of by('good')) assert.deepEqual([t.outcome, t.delivered, t.attempts, t.rejections, t.settleMs], ['completed', 'good', 1, 0, 600_000]);
  assert.equal(earned(r, 'seller:good#0'), 300_000n * BigInt(by('good').length));
  for (const t of by('flaky')) assert.equal(t.outcome, 'failed');
  assert.equal(earned(r, 'seller:flaky#0'), 0n);
  for (const t of by('ghost')) assert.deepEqual([t.outcome, t.outcomeClass, t.settleMs], ['reclaimed', 'timeout', 3_600_000]);
  // Arrivals stop after 10 hours; the ghost's last tasks are reclaimed after that, and nothing stays in escrow.
  assert.ok(r.tasks.every((t) => t.finished));
  assert.ok(r.tasks.some((t) => t.sellerPopulation === 'ghost' && t.t0 + (t.settleMs as number) > r.endMs));
  assert.equal(r.lastMs > r.endMs, true);
  assert.equal(r.ledger.balance('escrow:agentripe'), 0n);
});

test('agentripe: a malicious vendor is refunded after the review limit by an honest reviewer, and paid by a colluding one', async () => {
  const honest = await run(
    economy(
      'agentripe',
      [
        { name: 'scam', role: 'seller', strategy: 'malicious', count: 1, price: '$0.20', serviceMinutes: 1 },
        { name: 'fair', role: 'reviewer', strategy: 'honest', count: 1 },
      ],
      {
        profiles: { agentripe: { reviewLimit: 3 } },
      },
    ),
  );
  const done = honest.tasks.filter((t) => t.finished);
  assert.ok(done.length > 10);
  for (const t of done) assert.deepEqual([t.outcome, t.rejections, t.attempts, t.settleMs], ['refunded', 3, 3, 180_000]);
  assert.equal(earned(honest, 'seller:scam#0'), 0n);
  const bribed = await run(
    economy('agentripe', [
      { name: 'scam', role: 'seller', strategy: 'malicious', count: 1, price: '$0.20' },
      { name: 'crook', role: 'reviewer', strategy: 'colluding', count: 1, colludesWith: ['scam'] },
    ]),
  );
  for (const t of bribed.tasks.filter((t) => t.finished)) assert.deepEqual([t.outcome, t.delivered], ['completed', 'bad']);
  // The buyers' feedback still tells: the scammer's reputation is 0.
  assert.equal(bribed.reputation.get('seller:scam#0')?.sum, 0);
});

test('agentripe: the escrow fee of a what-if profile goes to the fee account, rounded down, to the unit', async () => {
  const r = await run(economy('agentripe', [{ name: 'good', role: 'seller', strategy: 'honest', count: 1, price: '$0.000399' }]), 7);
  assert.equal(r.ledger.balance('fees:agentripe'), 0n);
  const f = await run(economy('agentripe', [{ name: 'good', role: 'seller', strategy: 'honest', count: 1, price: '$0.000399' }], { profiles: { agentripe: { escrowFeeBps: 250 } } }), 7);
  const n = BigInt(f.tasks.filter((t) => t.outcome === 'completed').length);
  assert.ok(n > 0n);
  // 399 × 250 / 10000 = 9.975 → 9 to the fees, 390 to the vendor.
  assert.equal(f.ledger.balance('fees:agentripe'), 9n * n);
  assert.equal(earned(f, 'seller:good#0'), 390n * n);
  assert.deepEqual(f.violations, []);
});

test('aisp: a settled rental pays the provider its price less the 1% fee rounded down (1 unit: no fee; 199: 1; 200: 2), to the unit', async () => {
  for (const [price, fee] of [
    ['$0.000001', 0n],
    ['$0.000199', 1n],
    ['$0.0002', 2n],
  ] as const) {
    const r = await run(economy('aisp', [{ name: 'good', role: 'seller', strategy: 'honest', count: 1, price }], { durationHours: 2 }));
    assert.deepEqual(r.violations, [], price);
    const n = BigInt(r.tasks.length);
    assert.ok(n > 0n);
    for (const t of r.tasks) assert.deepEqual([t.outcome, t.outcomeClass, t.delivered, t.settleMs], ['settled', 'paid', 'good', 86_400_000], price);
    const cost = BigInt(Math.round(Number(price.slice(1)) * 1e6));
    assert.equal(r.ledger.balance('fees:aisp'), fee * n, price);
    assert.equal(earned(r, 'seller:good#0'), (cost - fee) * n, price);
    assert.equal(r.ledger.balance('escrow:aisp'), 0n);
  }
});

test('aisp: an early revoke refunds by the refund rule, the earned part rounded up and its fee rounded down; a late one settles', async () => {
  const revokes = async (aisp: Record<string, unknown>, serviceMinutes = 10) => {
    const r = await run(economy('aisp', [{ name: 'flaky', role: 'seller', strategy: 'failing', count: 1, price: '$0.000003', serviceMinutes }], { durationHours: 2, profiles: { aisp } }));
    assert.deepEqual(r.violations, []);
    assert.ok(r.tasks.length > 0);
    assert.equal(r.ledger.balance('escrow:aisp'), 0n);
    const first = r.tasks[0]!.id;
    return { r, moves: r.ledger.events.filter((e) => e.task === first && e.amount > 0n).map((e) => `${e.action} ${e.to.split(':')[0]} ${e.amount}`) };
  };
  // 3 units for 4 days, revoked within the first day: started-days charges 1 day, ceil(3/4) = 1.
  const started = await revokes({ termDays: 4 });
  assert.deepEqual(started.moves, ['rent escrow 3', 'revoke buyer 2', 'revoke seller 1']);
  for (const t of started.r.tasks) assert.deepEqual([t.outcome, t.outcomeClass, t.delivered, t.settleMs], ['revoked', 'refunded', 'none', 600_000]);
  // completed-days charges nothing for the day in progress: all back to the renter.
  assert.deepEqual((await revokes({ termDays: 4, refundRule: 'completed-days' })).moves, ['rent escrow 3', 'revoke buyer 3']);
  // A 1-day rental under started-days: the day in progress is the whole term, nothing comes back.
  assert.deepEqual((await revokes({ termDays: 1 })).moves, ['rent escrow 3', 'revoke seller 3']);
  // The revoke would come after the term (2 days > 1): refused, the rental runs out and is settled.
  const late = await revokes({ termDays: 1 }, 2 * 1440);
  assert.deepEqual(late.moves, ['rent escrow 3', 'settle seller 3']);
  for (const t of late.r.tasks) assert.deepEqual([t.outcome, t.delivered], ['settled', 'good']);
});

test('aisp: an absent provider is never paid (its listing has no key), a malicious one is paid for a dead key, a sloppy one as its quality', async () => {
  const r = await run(
    economy(
      'aisp',
      [
        { name: 'ghost', role: 'seller', strategy: 'absent', count: 1, price: '$0.10' },
        { name: 'scam', role: 'seller', strategy: 'malicious', count: 1, price: '$0.10' },
        { name: 'meh', role: 'seller', strategy: 'sloppy', quality: 0.5, count: 1, price: '$0.10' },
      ],
      { demand: { arrivalsPerHour: 60 } },
    ),
  );
  assert.deepEqual(r.violations, []);
  const by = (pop: string) => r.tasks.filter((t) => t.sellerPopulation === pop);
  for (const t of by('ghost')) assert.deepEqual([t.outcome, t.outcomeClass, t.delivered, t.settleMs], ['unavailable', 'not-charged', 'none', 0]);
  assert.equal(earned(r, 'seller:ghost#0'), 0n);
  for (const t of by('scam')) assert.deepEqual([t.outcome, t.delivered], ['settled', 'bad']);
  assert.equal(earned(r, 'seller:scam#0'), 99_000n * BigInt(by('scam').length));
  assert.equal(r.reputation.get('seller:scam#0')?.sum, 0);
  const good = by('meh').filter((t) => t.delivered === 'good').length;
  assert.ok(good > 0 && good < by('meh').length, `${good} of ${by('meh').length}`);
});

test('aisp: a term the rental cost cannot follow exactly, or longer than the profile allows, is refused with the reason', async () => {
  const honest = [{ name: 'good', role: 'seller', strategy: 'honest', count: 1, price: '$0.30' }];
  await assert.rejects(() => run(economy('aisp', honest, { profiles: { aisp: { termDays: 3 } } })), /profiles\.aisp: termDays: must divide 1000000/);
  await assert.rejects(() => run(economy('aisp', honest, { profiles: { aisp: { termDays: 400 } } })), /profiles\.aisp: termDays: .*365/);
  await assert.rejects(() => run(economy('aisp', honest, { profiles: { aisp: { refundRule: 'never' } } })), /profiles\.aisp\.refundRule/);
});

/** One APS-1 task's plan under the model, for a seller of `strategy` at `amount` base units. */
function aps1Plan(amount: bigint, strategy: SellerStrategy, o: { profile?: Record<string, unknown>; colludes?: boolean; serviceMs?: number } = {}): TaskPlan {
  const pack = packs.get('aps1')!;
  const profile = pack.profile({ ...pack.constants!.defaults, ...o.profile });
  return pack.model({
    id: 't0',
    protocol: 'aps1',
    t0: 0,
    amount,
    buyer: 'buyer:b#0',
    seller: 'seller:s#0',
    sellerPopulation: 's',
    strategy,
    quality: strategy === 'malicious' ? 0 : 1,
    serviceMs: o.serviceMs ?? 600_000,
    ...(o.colludes !== undefined ? { reviewer: { account: 'reviewer:r#0', colludes: o.colludes } } : {}),
    profile,
    escrow: 'escrow:aps1',
    fees: 'fees:aps1',
    rng: new Rng(1, 'task:0:protocol'),
  });
}

/** Net money per account of a plan (what went in minus what came out). */
function flows(plan: TaskPlan): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const s of plan.steps)
    for (const x of s.transfers ?? []) {
      out[x.from] = (out[x.from] ?? 0n) - x.amount;
      out[x.to] = (out[x.to] ?? 0n) + x.amount;
    }
  return out;
}

test('aps1: the platform fee of a settled job rounds down and the worker keeps the dust, from one base unit up; the escrow is emptied', () => {
  // [price, fee bps, fee, worker]: 1 unit pays no fee; 125 × 8% is exactly 10; 126 × 8% = 10.08 → 10;
  // 9,999 × 30% = 2,999.7 → 2,999 (never rounded up); 3 × 30% = 0.9 → 0; the seed's $5 settlement
  // message: 4,600,000 to the agent, 400,000 to the platform.
  const cases: [bigint, number, bigint, bigint][] = [
    [1n, 800, 0n, 1n],
    [125n, 800, 10n, 115n],
    [126n, 800, 10n, 116n],
    [9_999n, 3000, 2_999n, 7_000n],
    [3n, 3000, 0n, 3n],
    [5_000_000n, 800, 400_000n, 4_600_000n],
  ];
  for (const [price, bps, fee, worker] of cases) {
    const plan = aps1Plan(price, 'honest', { profile: { platformFeeBps: bps } });
    assert.deepEqual([plan.outcome, plan.delivered, plan.attempts, plan.rejections], ['settled', 'good', 1, 0]);
    const f = flows(plan);
    assert.deepEqual([f['buyer:b#0'], f['seller:s#0'] ?? 0n, f['fees:aps1'] ?? 0n, f['escrow:aps1']], [-price, worker, fee, 0n], `${price} at ${bps} bps`);
    // A zero fee is no transfer at all.
    assert.equal(
      plan.steps.some((s) => s.transfers?.some((x) => x.to === 'fees:aps1')),
      fee > 0n,
    );
    assert.equal(plan.steps.at(-1)?.feedback, 100);
  }
});

test('aps1: every ending returns the whole budget (refund, failure, timeout), and a colluding judge settles a shortcut but not a failure', () => {
  const price = 1_234_567n;
  const timedOut = aps1Plan(price, 'absent', { profile: { jobDeadlineSeconds: 900 } });
  assert.deepEqual([timedOut.outcome, timedOut.steps.at(-1)?.at, flows(timedOut)['buyer:b#0'], flows(timedOut)['escrow:aps1']], ['timed-out', 901_000, 0n, 0n]);
  // A seller slower than the deadline cannot complete the job: the same timeout.
  const late = aps1Plan(price, 'honest', { profile: { jobDeadlineSeconds: 900 }, serviceMs: 901_000 });
  assert.deepEqual([late.outcome, late.delivered, late.steps.at(-1)?.at], ['timed-out', 'none', 901_000]);
  const onTime = aps1Plan(price, 'honest', { profile: { jobDeadlineSeconds: 900 }, serviceMs: 900_000 });
  assert.equal(onTime.outcome, 'settled');
  const failed = aps1Plan(price, 'failing', { colludes: true });
  assert.deepEqual([failed.outcome, failed.delivered, failed.rejections, flows(failed)['buyer:b#0'], flows(failed)['seller:s#0']], ['failed', 'none', 0, 0n, undefined]);
  const refunded = aps1Plan(price, 'malicious', { colludes: false });
  assert.deepEqual([refunded.outcome, refunded.delivered, refunded.rejections, flows(refunded)['buyer:b#0']], ['refunded', 'none', 1, 0n]);
  // No rating: APS-1 rates only settled jobs.
  assert.ok(refunded.steps.every((s) => s.feedback === undefined));
  const bribed = aps1Plan(price, 'malicious', { colludes: true });
  assert.deepEqual([bribed.outcome, bribed.delivered, bribed.steps.at(-1)?.feedback], ['settled', 'bad', 0]);
  assert.deepEqual(flows(bribed), { 'buyer:b#0': -price, 'escrow:aps1': 0n, 'seller:s#0': price - 98_765n, 'fees:aps1': 98_765n });
});

test('aps1: an economy of every strategy conserves money; fees accrue only on settled jobs; ratings come only from settled jobs', async () => {
  // One price for all: cheapest buyers pick among the ties at random.
  const r = await run(
    economy(
      'aps1',
      [
        { name: 'good', role: 'seller', strategy: 'honest', count: 1, price: '$0.000126' },
        { name: 'meh', role: 'seller', strategy: 'sloppy', quality: 0.5, count: 1, price: '$0.000126', serviceMinutes: 5 },
        { name: 'flaky', role: 'seller', strategy: 'failing', count: 1, price: '$0.000126' },
        { name: 'ghost', role: 'seller', strategy: 'absent', count: 1, price: '$0.000126' },
        { name: 'scam', role: 'seller', strategy: 'malicious', count: 1, price: '$0.000126' },
      ],
      { profiles: { aps1: { jobDeadlineSeconds: 1800 } } },
    ),
  );
  assert.deepEqual(r.violations, []);
  const by = (pop: string) => r.tasks.filter((t) => t.sellerPopulation === pop && t.finished);
  for (const pop of ['good', 'meh', 'flaky', 'ghost', 'scam']) assert.ok(by(pop).length > 0, pop);
  for (const t of by('good')) assert.deepEqual([t.outcome, t.settleMs], ['settled', 600_000]);
  for (const t of by('flaky')) assert.deepEqual([t.outcome, t.outcomeClass], ['failed', 'refunded']);
  for (const t of by('ghost')) assert.deepEqual([t.outcome, t.outcomeClass, t.settleMs], ['timed-out', 'timeout', 1_801_000]);
  for (const t of by('scam')) assert.deepEqual([t.outcome, t.delivered], ['refunded', 'none']);
  assert.deepEqual([...new Set(by('meh').map((t) => t.outcome))].sort(), ['refunded', 'settled']);
  const settled = r.tasks.filter((t) => t.outcome === 'settled').length;
  assert.equal(r.ledger.balance('fees:aps1'), 10n * BigInt(settled));
  assert.equal(r.ledger.balance('escrow:aps1'), 0n);
  for (const s of ['seller:flaky#0', 'seller:ghost#0', 'seller:scam#0']) assert.equal(r.reputation.get(s), undefined, s);
  assert.equal(r.reputation.get('seller:meh#0')?.sum, 100 * (r.reputation.get('seller:meh#0')?.n ?? -1));
  let held = 0n;
  for (const b of r.ledger.balances.values()) held += b;
  assert.equal(held, r.ledger.funded);
});

test('x402: failing and absent servers are not paid, malicious ones are, and a settlement the buyer cannot cover is refused', async () => {
  const r = await run(
    economy('x402', [
      { name: 'broken', role: 'seller', strategy: 'failing', count: 1, price: '$0.10' },
      { name: 'off', role: 'seller', strategy: 'absent', count: 1, price: '$0.10' },
      { name: 'junk', role: 'seller', strategy: 'malicious', count: 1, price: '$0.10' },
    ]),
  );
  assert.deepEqual(outcomes(r), ['no-answer', 'paid', 'server-error']);
  assert.equal(earned(r, 'seller:broken#0'), 0n);
  assert.equal(earned(r, 'seller:off#0'), 0n);
  for (const t of r.tasks.filter((t) => t.outcome === 'paid')) assert.deepEqual([t.sellerPopulation, t.delivered], ['junk', 'bad']);
  for (const t of r.tasks.filter((t) => t.outcome === 'no-answer')) assert.equal(t.settleMs, 300_000);

  // One buyer with $0.25 asks for $0.10 answers that take 2 hours: it can afford every request it
  // starts, but only two settlements.
  const poor = parseEconomy({
    name: 'poor',
    durationHours: 10,
    protocols: { x402: 1 },
    demand: { arrivalsPerHour: 5 },
    populations: [
      { name: 'b', role: 'buyer', count: 1, balance: '$0.25', budget: '$1' },
      { name: 's', role: 'seller', strategy: 'honest', count: 1, price: '$0.10', serviceMinutes: 120 },
    ],
  });
  const p = await run(poor);
  assert.deepEqual(p.violations, []);
  assert.equal(p.tasks.filter((t) => t.outcome === 'paid').length, 2);
  assert.ok(p.tasks.some((t) => t.outcome === 'refused'));
  assert.equal(p.ledger.balance('buyer:b#0'), 50_000n);
  assert.ok(p.ledger.events.some((e) => e.action === 'settle:refused'));
});

test('buyer choice: cheapest always takes the lowest price; random spreads', async () => {
  const sellers = [
    { name: 'cheap', role: 'seller', strategy: 'honest', count: 1, price: '$0.10' },
    { name: 'dear', role: 'seller', strategy: 'honest', count: 1, price: '$0.50' },
  ];
  const c = await run(economy('x402', sellers));
  assert.deepEqual([...new Set(c.tasks.map((t) => t.sellerPopulation))], ['cheap']);
  const r = await run(
    parseEconomy({
      name: 'r',
      durationHours: 10,
      protocols: { x402: 1 },
      demand: { arrivalsPerHour: 30 },
      populations: [{ name: 'b', role: 'buyer', count: 3, balance: '$100', budget: '$1', choice: 'random' }, ...sellers],
    }),
  );
  assert.deepEqual([...new Set(r.tasks.map((t) => t.sellerPopulation))].sort(), ['cheap', 'dear']);
  // Budget below every price: nothing is bought, the demand is counted unserved.
  const none = await run(
    parseEconomy({
      name: 'n',
      durationHours: 2,
      protocols: { x402: 1 },
      demand: { arrivalsPerHour: 10 },
      populations: [{ name: 'b', role: 'buyer', count: 1, balance: '$1', budget: '$0.01' }, ...sellers],
    }),
  );
  assert.equal(none.tasks.length, 0);
  assert.ok((none.unserved.x402 ?? 0) > 0);
});

test('the conservation check bites: an adapter that leaks escrow dust, overpays, or a ledger that drifts', async () => {
  const base = packs.get('agentripe')!;
  // Releases one unit less than the deposit and sends it nowhere.
  const leaky = defineSimulation({
    ...base,
    model(task) {
      const p = base.model(task);
      return { ...p, steps: p.steps.map((s) => (s.action === 'release' ? { ...s, transfers: s.transfers!.map((x) => ({ ...x, amount: x.amount - 1n })) } : s)) };
    },
  });
  const e = economy('agentripe', [{ name: 'good', role: 'seller', strategy: 'honest', count: 1, price: '$0.30' }], { durationHours: 2 });
  const r = await run(e, 7, new Map([['agentripe', leaky]]));
  assert.ok(r.violations.some((v) => /^task t\d+ finished with 1 still in escrow:agentripe$/.test(v.message)));
  const v = r.violations.find((x) => x.message.startsWith('task '))!;
  assert.deepEqual(
    v.trail.map((x) => x.action),
    ['pay', 'submit:good', 'review:approve', 'release', 'feedback'],
  );
  // Pays the vendor twice: the escrow would go negative, so the ledger refuses and the run fails.
  const greedy = defineSimulation({
    ...base,
    model(task) {
      const p = base.model(task);
      return { ...p, steps: p.steps.map((s) => (s.action === 'release' ? { ...s, transfers: [...s.transfers!, ...s.transfers!] } : s)) };
    },
  });
  const g = await run(e, 7, new Map([['agentripe', greedy]]));
  assert.ok(
    g.violations.some((x) => /escrow:agentripe holds \d+, cannot pay 300000 to seller:good#0/.test(x.message)),
    g.violations.map((x) => x.message).join('\n'),
  );
  // The ledger's balances no longer match its own events.
  const ok = await run(e);
  ok.ledger.balances.set('seller:good#0', ok.ledger.balance('seller:good#0') + 1n);
  const drift = checkConservation(ok.ledger, []).map((x) => x.message);
  assert.ok(drift.some((m) => /^account seller:good#0: the ledger holds \d+ but its events add up to \d+$/.test(m)));
  assert.ok(drift.some((m) => /created or destroyed/.test(m)));
});

test('clear errors: a profile value the model cannot use, a protocol without a simulation, an undercutter with nobody to undercut', async () => {
  await assert.rejects(
    () => run(economy('agentripe', [{ name: 'good', role: 'seller', strategy: 'honest', count: 1, price: '$0.30' }], { profiles: { agentripe: { reviewLimit: 0 } } })),
    /profiles\.agentripe\.reviewLimit: is out of range \(valid: 1\.\.20 rejections\)/,
  );
  await assert.rejects(
    () => run(economy('usdc', [{ name: 'good', role: 'seller', strategy: 'honest', count: 1, price: '$0.30' }])),
    /protocol 'usdc' has no simulation \(reference-impl\/usdc\/simulation\.ts\); simulated protocols: agentripe, aimarket, aisp, aps1, asa, x402/,
  );
  await assert.rejects(
    () => run(economy('aps1', [{ name: 'good', role: 'seller', strategy: 'honest', count: 1, price: '$0.30' }], { profiles: { aps1: { jobDeadlineSeconds: 59 } } })),
    /profiles\.aps1: jobDeadlineSeconds: a job deadline is 60\.\.2592000 seconds \(APS1EscrowParams\.deadlineSeconds\)/,
  );
  await assert.rejects(
    () => run(economy('aps1', [{ name: 'good', role: 'seller', strategy: 'honest', count: 1, price: '$0.30' }], { profiles: { aps1: { platformFeeBps: 3001 } } })),
    /profiles\.aps1\.platformFeeBps: is out of range \(valid: 0\.\.3000/,
  );
  await assert.rejects(
    () => run(economy('x402', [{ name: 'cut', role: 'seller', strategy: 'undercutting', count: 2 }])),
    /undercutting seller population 'cut' has no other seller on its protocols \(x402\) to undercut/,
  );
});

/** One AI Market task's plan under the model, for a seller of `strategy` at `amount` base units. */
function aimarketPlan(amount: bigint, strategy: SellerStrategy, o: { profile?: Record<string, unknown>; quality?: number; serviceMs?: number; seed?: number } = {}): TaskPlan {
  const pack = packs.get('aimarket')!;
  return pack.model({
    id: 't0',
    protocol: 'aimarket',
    t0: 0,
    amount,
    buyer: 'buyer:b#0',
    seller: 'seller:s#0',
    sellerPopulation: 's',
    strategy,
    quality: o.quality ?? (strategy === 'malicious' ? 0 : 1),
    serviceMs: o.serviceMs ?? 60_000,
    profile: pack.profile({ ...pack.constants!.defaults, ...o.profile }),
    escrow: 'escrow:aimarket',
    fees: 'fees:aimarket',
    rng: new Rng(o.seed ?? 1, 'task:0:protocol'),
  });
}

test('aimarket: a channel call is billed in whole cents rounded up, from one base unit; the deposit covers the calls and its rest comes back', () => {
  // [price, billed]: 1 unit and 10,000 (a cent) bill one cent; 10,001 bills two (never rounded down); $0.015 bills 2 cents.
  const cases: [bigint, bigint][] = [
    [1n, 10_000n],
    [9_999n, 10_000n],
    [10_000n, 10_000n],
    [10_001n, 20_000n],
    [15_000n, 20_000n],
    [1_234_567n, 1_240_000n],
  ];
  for (const [price, billed] of cases) {
    const plan = aimarketPlan(price, 'honest');
    assert.deepEqual([plan.outcome, plan.delivered, plan.attempts, plan.rejections], ['served', 'good', 1, 0]);
    // The deposit is three calls' worth; the unused two come back on close.
    assert.deepEqual(
      plan.steps.flatMap((s) => (s.transfers ?? []).map((x) => [s.action, x.from, x.to, x.amount])),
      [
        ['open', 'buyer:b#0', 'escrow:aimarket', 3n * billed],
        ['call:good', 'escrow:aimarket', 'seller:s#0', billed],
        ['close', 'escrow:aimarket', 'buyer:b#0', 2n * billed],
      ],
      `${price}`,
    );
    assert.deepEqual(flows(plan), { 'buyer:b#0': -billed, 'escrow:aimarket': 0n, 'seller:s#0': billed });
    assert.equal(plan.steps.at(-1)?.feedback, 100);
  }
  // No protocol fee on a direct call.
  assert.ok(aimarketPlan(1n, 'honest').steps.every((s) => (s.transfers ?? []).every((x) => x.to !== 'fees:aimarket')));
});

test('aimarket: bad work drains the channel (402 depleted), a failure is refunded whole, a silent hub costs nothing, a channel past its lifetime refunds the rest', () => {
  const drained = aimarketPlan(15_000n, 'malicious', { profile: { channelCalls: 4 } });
  assert.deepEqual([drained.outcome, drained.delivered, drained.attempts, drained.rejections, drained.steps.at(-2)?.action], ['exhausted', 'bad', 4, 4, 'call:402:depleted']);
  assert.deepEqual(flows(drained), { 'buyer:b#0': -80_000n, 'escrow:aimarket': 0n, 'seller:s#0': 80_000n });
  assert.equal(drained.steps.at(-1)?.feedback, 0);
  const failed = aimarketPlan(15_000n, 'failing');
  assert.deepEqual([failed.outcome, failed.delivered, failed.attempts], ['failed', 'none', 1]);
  assert.deepEqual(flows(failed), { 'buyer:b#0': 0n, 'escrow:aimarket': 0n });
  const silent = aimarketPlan(15_000n, 'absent', { profile: { answerTimeoutSeconds: 45 } });
  assert.deepEqual([silent.outcome, silent.steps.map((s) => [s.at, s.action, s.feedback])], ['unreachable', [[45_000, 'discover:no-answer', 0]]]);
  assert.deepEqual(flows(silent), {});
  // A 600 s lifetime: calls start at 0, 300 and 600 s; the third is refused (expiry at open + 600 inclusive).
  const expired = aimarketPlan(10_000n, 'malicious', { profile: { channelExpirySeconds: 600 }, serviceMs: 300_000 });
  assert.deepEqual([expired.outcome, expired.delivered, expired.rejections, expired.steps.at(-2)?.action, expired.steps.at(-2)?.at], ['expired', 'bad', 2, 'call:402:expired', 600_000]);
  assert.deepEqual(flows(expired), { 'buyer:b#0': -20_000n, 'escrow:aimarket': 0n, 'seller:s#0': 20_000n });
  // One millisecond less per call: the third starts at 599 s and is served; the fourth (899 s) finds the
  // channel both spent and expired, and the hub names expiry first.
  const justInTime = aimarketPlan(10_000n, 'malicious', { profile: { channelExpirySeconds: 600 }, serviceMs: 299_999 });
  assert.deepEqual([justInTime.outcome, justInTime.rejections, justInTime.steps.at(-2)?.action], ['expired', 3, 'call:402:expired']);
  assert.deepEqual(flows(justInTime), { 'buyer:b#0': -30_000n, 'escrow:aimarket': 0n, 'seller:s#0': 30_000n });
});

test('aimarket: a sloppy seller is retried on the same channel until good work; one call dearer than the $10,000 channel cap opens no channel', () => {
  const plans = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => aimarketPlan(20_000n, 'sloppy', { quality: 0.5, seed }));
  for (const p of plans) {
    assert.ok(p.outcome === 'served' || p.outcome === 'exhausted', p.outcome);
    const paid = 20_000n * BigInt(p.attempts);
    assert.deepEqual(flows(p), { 'buyer:b#0': -paid, 'escrow:aimarket': 0n, 'seller:s#0': paid });
    assert.equal(p.rejections, p.outcome === 'served' ? p.attempts - 1 : 3);
  }
  assert.ok(plans.some((p) => p.outcome === 'served' && p.rejections > 0));
  // $4,000 a call: the cap holds two calls, not three.
  const dear = aimarketPlan(4_000_000_000n, 'honest');
  assert.equal(dear.steps[0]?.transfers?.[0]?.amount, 8_000_000_000n);
  const tooDear = aimarketPlan(10_000_000_001n, 'honest');
  assert.deepEqual([tooDear.outcome, tooDear.steps.map((s) => s.action), flows(tooDear)], ['over-capacity', ['channel:over-capacity'], {}]);
});

test('aimarket: an economy of every strategy conserves money with every channel closed; profile values out of range are refused', async () => {
  const r = await run(
    economy(
      'aimarket',
      [
        // One price for all (cheapest buyers pick among the ties at random): one base unit, billed a whole cent.
        { name: 'good', role: 'seller', strategy: 'honest', count: 1, price: '$0.000001' },
        { name: 'meh', role: 'seller', strategy: 'sloppy', quality: 0.5, count: 1, price: '$0.000001', serviceMinutes: 5 },
        { name: 'flaky', role: 'seller', strategy: 'failing', count: 1, price: '$0.000001' },
        { name: 'ghost', role: 'seller', strategy: 'absent', count: 1, price: '$0.000001' },
        { name: 'spam', role: 'seller', strategy: 'malicious', count: 1, price: '$0.000001', serviceMinutes: 1 },
        { name: 'scam', role: 'seller', strategy: 'malicious', count: 1, price: '$0.000001', serviceMinutes: 8 },
      ],
      { profiles: { aimarket: { channelExpirySeconds: 900 } } },
    ),
  );
  assert.deepEqual(r.violations, []);
  assert.deepEqual(outcomes(r), ['exhausted', 'expired', 'failed', 'served', 'unreachable']);
  assert.equal(r.ledger.balance('escrow:aimarket'), 0n);
  assert.equal(r.ledger.balance('fees:aimarket'), 0n);
  // A one-unit price earns a whole cent per call.
  for (const s of ['good', 'meh', 'spam', 'scam'])
    assert.equal(earned(r, `seller:${s}#0`), 10_000n * BigInt(r.tasks.filter((t) => t.sellerPopulation === s && t.outcome !== 'refused').reduce((a, t) => a + t.attempts, 0)), s);
  for (const t of r.tasks.filter((x) => x.sellerPopulation === 'good')) assert.deepEqual([t.outcome, t.settleMs], ['served', 600_000]);
  for (const t of r.tasks.filter((x) => x.sellerPopulation === 'spam')) assert.deepEqual([t.outcome, t.outcomeClass, t.rejections], ['exhausted', 'paid', 3]);
  for (const t of r.tasks.filter((x) => x.sellerPopulation === 'scam')) assert.deepEqual([t.outcome, t.outcomeClass, t.rejections], ['expired', 'timeout', 2]);
  const honest = [{ name: 'good', role: 'seller', strategy: 'honest', count: 1, price: '$0.30' }];
  await assert.rejects(() => run(economy('aimarket', honest, { profiles: { aimarket: { channelCalls: 0 } } })), /profiles\.aimarket: channelCalls: a channel covers at least one call/);
  await assert.rejects(() => run(economy('aimarket', honest, { profiles: { aimarket: { channelExpirySeconds: 599 } } })), /profiles\.aimarket\.channelExpirySeconds: is out of range/);
});

/** One asa task's plan under the model, for a seller of `strategy` at `amount` msat. */
function asaPlan(amount: bigint, strategy: SellerStrategy, o: { profile?: Record<string, unknown>; serviceMs?: number; quality?: number; seed?: number } = {}): TaskPlan {
  const pack = packs.get('asa')!;
  const profile = pack.profile({ ...pack.constants!.defaults, ...o.profile });
  return pack.model({
    id: 't0',
    protocol: 'asa',
    t0: 0,
    amount,
    buyer: 'buyer:b#0',
    seller: 'seller:s#0',
    sellerPopulation: 's',
    strategy,
    quality: o.quality ?? (strategy === 'malicious' ? 0 : 1),
    serviceMs: o.serviceMs ?? 60_000,
    profile,
    escrow: 'escrow:asa',
    fees: 'fees:asa',
    rng: new Rng(o.seed ?? 1, 'task:0:protocol'),
  });
}

test('asa: the price is paid in whole sats (rounded down, at least 1) and the hub routing fee is base + amount × ppm / 10^6 rounded down, from 1 msat up', () => {
  // [price msat, base, ppm, paid to the seller, fee]: a price under a sat lists 1 sat; 1,999 msat
  // lists 1 sat (never rounded up); a zero policy takes no fee (no transfer); base 1 is the 1-msat
  // fee; 1,000 msat at 999 ppm is 0.999 → 0, at 1,000 ppm exactly 1; 20,000 at 1,234 ppm is 24.68 → 24
  // (+ base 500); 123,456,789 msat lists 123,456 sats, 123,456,000 × 2,500 ppm = 308,640 exactly.
  const cases: [bigint, number, number, bigint, bigint][] = [
    [1n, 0, 0, 1_000n, 0n],
    [999n, 1, 0, 1_000n, 1n],
    [1_999n, 0, 999, 1_000n, 0n],
    [1_000n, 0, 1000, 1_000n, 1n],
    [20_000n, 500, 1234, 20_000n, 524n],
    [123_456_789n, 1000, 2500, 123_456_000n, 309_640n],
  ];
  for (const [price, base, ppm, paid, fee] of cases) {
    const plan = asaPlan(price, 'honest', { profile: { routingFeeBaseMsat: base, routingFeePpm: ppm } });
    assert.deepEqual([plan.outcome, plan.delivered, plan.attempts, plan.rejections], ['completed', 'good', 1, 0]);
    const pay = plan.steps.find((s) => s.payment)!;
    assert.deepEqual([pay.action, pay.at], ['pay', 0]);
    // Conservation by construction: the buyer pays exactly what the seller and the hubs receive.
    assert.deepEqual(flows(plan), { 'buyer:b#0': -(paid + fee), 'seller:s#0': paid, ...(fee > 0n ? { 'fees:asa': fee } : {}) }, `${price} msat at ${base} + ${ppm} ppm`);
    assert.equal(plan.steps.at(-1)?.feedback, 100);
  }
});

test('asa: bad work stays paid and is disputed, a node that never settles charges nothing, an absent provider times out, a late one finds its agreement expired', () => {
  const price = 50_000n;
  const fee = 1_050n;
  const paid = { 'buyer:b#0': -(price + fee), 'seller:s#0': price, 'fees:asa': fee };
  const junk = asaPlan(price, 'malicious');
  assert.deepEqual([junk.outcome, junk.delivered, junk.rejections, junk.steps.at(-1)?.feedback], ['disputed', 'bad', 1, 0]);
  assert.deepEqual(flows(junk), paid);
  assert.deepEqual(
    junk.steps.map((s) => [s.at, s.action]),
    [
      [0, 'agree'],
      [0, 'pay'],
      [60_000, 'deliver:bad'],
      [60_000, 'dispute'],
      [60_000, 'attest:1'],
    ],
  );
  const failed = asaPlan(price, 'failing');
  assert.deepEqual([failed.outcome, failed.delivered, failed.steps.at(-1)?.feedback, flows(failed)], ['unsettled', 'none', 0, {}]);
  assert.ok(failed.steps.every((s) => !s.payment));
  const absent = asaPlan(price, 'absent', { profile: { offerWaitSeconds: 90 } });
  assert.deepEqual([absent.outcome, absent.delivered, absent.steps.at(-1)?.at, flows(absent)], ['unanswered', 'none', 90_000, {}]);
  // No agreement, so no attestation: no feedback at all.
  assert.ok(absent.steps.every((s) => s.feedback === undefined));
  // The agreement expires at its timeout; the result comes later, paid, and the buyer rates the work.
  const late = asaPlan(price, 'honest', { profile: { agreementTimeoutSeconds: 600 }, serviceMs: 600_001 });
  assert.deepEqual([late.outcome, late.delivered, late.steps.map((s) => s.action)], ['expired', 'good', ['agree', 'pay', 'expire', 'deliver:good', 'complete:expired', 'attest:5']]);
  assert.deepEqual(flows(late), paid);
  const onTime = asaPlan(price, 'honest', { profile: { agreementTimeoutSeconds: 600 }, serviceMs: 600_000 });
  assert.equal(onTime.outcome, 'completed');
  // A sloppy provider: its draws decide, per task.
  const draws = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => asaPlan(price, 'sloppy', { quality: 0.5, seed }).outcome);
  assert.ok(draws.includes('completed') && draws.includes('disputed'), draws.join());
});

test('asa: an economy of every strategy conserves money to the msat (one price for all, 999 msat of it rounded away); fees go to the hubs, nothing to escrow; ratings follow the work', async () => {
  const r = await run(
    economy(
      'asa',
      [
        { name: 'good', role: 'seller', strategy: 'honest', count: 1, price: '$0.020999' },
        { name: 'meh', role: 'seller', strategy: 'sloppy', quality: 0.5, count: 1, price: '$0.020999', serviceMinutes: 5 },
        { name: 'flaky', role: 'seller', strategy: 'failing', count: 1, price: '$0.020999' },
        { name: 'ghost', role: 'seller', strategy: 'absent', count: 1, price: '$0.020999' },
        { name: 'scam', role: 'seller', strategy: 'malicious', count: 1, price: '$0.020999' },
        { name: 'slow', role: 'seller', strategy: 'honest', count: 1, price: '$0.020999', serviceMinutes: 90 },
      ],
      { profiles: { asa: { routingFeePpm: 1234, agreementTimeoutSeconds: 3600 } } },
    ),
  );
  assert.deepEqual(r.violations, []);
  assert.deepEqual(outcomes(r), ['completed', 'disputed', 'expired', 'unanswered', 'unsettled']);
  const paid = r.tasks.filter((t) => t.finished && t.outcomeClass === 'paid');
  // 20 sats each (the odd msat rounded away); the fee 1,000 + 20,000 × 1,234 / 10^6 = 1,024.68 → 1,024.
  assert.equal(r.ledger.balance('fees:asa'), 1_024n * BigInt(paid.length));
  assert.equal(earned(r, 'seller:good#0') % 20_000n, 0n);
  assert.equal(r.ledger.balance('escrow:asa'), 0n);
  for (const pop of ['flaky', 'ghost']) assert.equal(earned(r, `seller:${pop}#0`), 0n, pop);
  assert.equal(r.reputation.get('seller:scam#0')?.sum, 0);
  assert.equal(r.reputation.get('seller:ghost#0'), undefined);
  const good = r.reputation.get('seller:good#0')!;
  assert.equal(good.sum, 100 * good.n);
});

test('asa: the shipped example conserves money to the msat; a misspelt knob or a timeout the provider cannot take is refused', async () => {
  const e = await loadEconomyFile(path.join(REPO_ROOT, 'examples', 'economies', 'asa.yaml'));
  const r = await run(e);
  assert.deepEqual(r.violations, []);
  assert.ok(r.tasks.length > 100, `${r.tasks.length} tasks`);
  assert.deepEqual(outcomes(r), ['completed', 'disputed', 'unanswered', 'unsettled']);
  const honest = [{ name: 'good', role: 'seller', strategy: 'honest', count: 1, price: '$0.30' }];
  await assert.rejects(() => run(economy('asa', honest, { profiles: { asa: { routingFeePPM: 5 } } })), /profiles\.asa: routingFeePPM: not an asa constant or simulation knob/);
  await assert.rejects(
    () => run(economy('asa', honest, { profiles: { asa: { agreementTimeoutSeconds: 86_401 } } })),
    /profiles\.asa: agreementTimeoutSeconds: the reference provider caps an agreement's timeout at 86400 s/,
  );
  await assert.rejects(() => run(economy('asa', honest, { profiles: { asa: { tokenMaxRequests: 0 } } })), /profiles\.asa\.tokenMaxRequests: is out of range/);
});
