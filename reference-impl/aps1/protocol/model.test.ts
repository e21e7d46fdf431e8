/**
 * The executable model on its own: random action sequences by every party keep the books exact
 * (what the escrow holds = open budgets + bonds + fees, nothing created or lost), end every job at
 * most once, and differ from the compat profile exactly where the profile says (the penalty, the
 * cap, timeouts after delivery). Also the other pure pieces: price conversion, the negotiation
 * policy and the reputation score.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { test } from 'vitest';
import { isTimedOut, netFlows, newNexus, newStreams, nexusParams, nexusStep, streamStep, type NexusAction, type StreamAction, type Transfer } from './model.ts';
import { respond } from './negotiation.ts';
import { unitsToUsd, usdToUnits } from './price.ts';
import { APS1_PROFILE, COMPAT_PROFILE } from './profile.ts';
import { reputationScore, reputationTier } from './reputation.ts';

const A = ['0xa1', '0xa2', '0xb1', '0xb2', '0xj1', '0x0wner', '0xbad'];
const T = '0xt0';

const nexusAction = fc.oneof(
  fc.record({
    kind: fc.constant('create' as const),
    by: fc.constantFrom('0xa1', '0xa2'),
    worker: fc.constantFrom('0xb1', '0xb2'),
    judge: fc.constantFrom('0xj1', '0xb2'),
    token: fc.constant(T),
    amount: fc.bigInt({ min: 1n, max: 10n ** 12n }),
    duration: fc.bigInt({ min: 1n, max: 1000n }),
  }),
  fc.record({ kind: fc.constantFrom('start' as const, 'complete' as const, 'dispute' as const, 'settle' as const, 'refund' as const, 'timeout' as const), by: fc.constantFrom(...A), job: fc.nat(5) }),
  fc.record({ kind: fc.constant('rate' as const), by: fc.constantFrom(...A), job: fc.nat(5), rating: fc.integer({ min: 0, max: 6 }) }),
) as fc.Arbitrary<NexusAction>;

for (const profile of [APS1_PROFILE, COMPAT_PROFILE]) {
  test(`${profile.name}: NexusV2 model conserves money and ends each job once`, () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(nexusAction, fc.bigInt({ min: 0n, max: 600n })), { maxLength: 40 }), (steps) => {
        let m = newNexus(nexusParams(profile, '0x0wner'));
        let now = 1000n;
        const flows: Transfer[] = [];
        const ended = new Map<number, number>();
        for (const [a, dt] of steps) {
          now += dt;
          const r = nexusStep(m, a, now);
          if (!r.ok) continue;
          for (const j of r.next.jobs) if (j.ended && !m.jobs[j.id]?.ended) ended.set(j.id, (ended.get(j.id) ?? 0) + 1);
          m = r.next;
          flows.push(...r.transfers);
        }
        const held = netFlows(flows).get(`${T}:escrow`) ?? 0n;
        const open = m.jobs.filter((j) => j.status !== 'Settled' && j.status !== 'Refunded').reduce((x, j) => x + j.budget + j.bond, 0n);
        assert.equal(held, open + (m.fees[T] ?? 0n), 'held = open budgets + bonds + fees');
        assert.equal(held, (m.escrowed[T] ?? 0n) + (m.fees[T] ?? 0n));
        for (const j of m.jobs) assert.equal(ended.get(j.id) ?? 0, j.status === 'Settled' || j.status === 'Refunded' ? 1 : 0);
      }),
    );
  });
}

test('reference vs compat: the losing side pays; the cap binds at 10 tokens; a delivered job does not time out', () => {
  const run = (p: typeof APS1_PROFILE, acts: NexusAction[], now = 10n) => {
    let m = newNexus(nexusParams(p, '0x0wner'));
    const flows: Transfer[] = [];
    for (const a of acts) {
      const r = nexusStep(m, a, now++);
      if (r.ok) {
        m = r.next;
        flows.push(...r.transfers);
      }
    }
    return { m, f: netFlows(flows) };
  };
  const dispute = (end: 'settle' | 'refund'): NexusAction[] => [
    { kind: 'create', by: '0xa1', worker: '0xb1', judge: '0xj1', token: T, amount: 1_000_000_000n, duration: 100n },
    { kind: 'dispute', by: '0xa1', job: 0 },
    { kind: end, by: '0xj1', job: 0 },
  ];
  assert.equal(run(APS1_PROFILE, dispute('settle')).f.get(`${T}:0xb1`), 920_000_000n, 'worker paid budget − 8%');
  assert.equal(run(APS1_PROFILE, dispute('settle')).f.get(`${T}:0xa1`), -1_010_000_000n, 'the employer loses its 10-token bond');
  assert.equal(run(COMPAT_PROFILE, dispute('settle')).f.get(`${T}:0xb1`), 890_000_000n, 'compat: the winner pays 3% uncapped');
  assert.equal(run(APS1_PROFILE, dispute('refund')).f.get(`${T}:0xa1`) ?? 0n, 0n, 'the winning employer is made whole');
  assert.equal(run(COMPAT_PROFILE, dispute('refund')).f.get(`${T}:0xa1`), -30_000_000n);
  const late: NexusAction[] = [
    { kind: 'create', by: '0xa1', worker: '0xb1', judge: '0xj1', token: T, amount: 5n, duration: 2n },
    { kind: 'complete', by: '0xb1', job: 0 },
  ];
  const ref = run(APS1_PROFILE, late);
  assert.equal(isTimedOut(ref.m, 0, 100n), false);
  assert.equal(isTimedOut(run(COMPAT_PROFILE, late).m, 0, 100n), true);
});

test('StreamV1 model: 1..10 milestones, payouts minus 8%, remainder refunded, conservation', () => {
  const action = fc.oneof(
    fc.record({
      kind: fc.constant('create' as const),
      by: fc.constantFrom('0xa1', '0xa2'),
      agent: fc.constantFrom('0xb1', '0xb2'),
      token: fc.constant(T),
      amounts: fc.array(fc.bigInt({ min: 0n, max: 10n ** 9n }), { maxLength: 11 }),
      duration: fc.bigInt({ min: 1n, max: 500n }),
    }),
    fc.record({ kind: fc.constant('submit' as const), by: fc.constantFrom(...A), stream: fc.nat(4), index: fc.nat(10), proofHash: fc.constant('0x01') }),
    fc.record({ kind: fc.constantFrom('approve' as const, 'reject' as const), by: fc.constantFrom(...A), stream: fc.nat(4), index: fc.nat(10) }),
    fc.record({ kind: fc.constantFrom('cancel' as const, 'timeout' as const), by: fc.constantFrom(...A), stream: fc.nat(4) }),
  ) as fc.Arbitrary<StreamAction>;
  fc.assert(
    fc.property(fc.array(fc.tuple(action, fc.bigInt({ min: 0n, max: 300n })), { maxLength: 50 }), (steps) => {
      let m = newStreams(APS1_PROFILE, '0x0wner');
      let now = 1n;
      const flows: Transfer[] = [];
      for (const [a, dt] of steps) {
        now += dt;
        const r = streamStep(m, a, now);
        if (a.kind === 'create' && (a.amounts.length === 0 || a.amounts.length > 10 || a.amounts.some((x) => x === 0n))) assert.equal(r.ok, false);
        if (!r.ok) continue;
        m = r.next;
        flows.push(...r.transfers);
      }
      const held = netFlows(flows).get(`${T}:escrow`) ?? 0n;
      const open = m.streams.filter((s) => s.status === 'Active').reduce((x, s) => x + s.totalBudget - s.releasedAmount, 0n);
      assert.equal(held, open + (m.fees[T] ?? 0n));
      for (const s of m.streams) assert.equal(s.status === 'Completed', s.approvedCount === s.milestones.length);
    }),
  );
});

test('prices convert exactly, or not at all', () => {
  assert.equal(usdToUnits(5), 5_000_000n);
  assert.equal(usdToUnits(4.6), 4_600_000n);
  assert.equal(usdToUnits(0.000001), 1n);
  assert.equal(usdToUnits(1e-7), null);
  assert.equal(usdToUnits(1e21), 10n ** 27n);
  assert.equal(usdToUnits(Number.POSITIVE_INFINITY), null);
  assert.equal(usdToUnits(-1), null);
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 14n }), (u) => assert.equal(usdToUnits(unitsToUsd(u)), u)));
});

test('the reference negotiation policy never goes below the floor', () => {
  const pricing = { basePrice: 5, currency: 'USD' as const, negotiable: true, minPrice: 2 };
  assert.deepEqual(respond(pricing, {}, { type: 'propose', price: 3 }).reply, { type: 'accept', price: 3 });
  assert.deepEqual(respond(pricing, {}, { type: 'propose', price: 1 }).reply, { type: 'counter', price: 2, message: 'Minimum $2' });
  assert.equal(respond(pricing, {}, { type: 'accept', price: 1.99 }).reply.type, 'reject');
  assert.equal(respond(pricing, { agreed: 3 }, { type: 'propose', price: 9 }).reply.type, 'reject');
  assert.equal(respond(pricing, { closed: true }, { type: 'accept', price: 9 }).reply.type, 'reject');
});

test('reputation score: caps, zero denominators, tier boundaries', () => {
  const z = {
    nexusRatingSum: 0n,
    nexusRatingCount: 0n,
    offChainRatingSum: 0n,
    offChainRatingCount: 0n,
    jobsCompleted: 0n,
    jobsFailed: 0n,
    proofCommitments: 0n,
    proofVerified: 0n,
    proofMatched: 0n,
    proofSlashed: 0n,
  };
  assert.equal(reputationScore(z), 0n);
  assert.equal(reputationScore({ ...z, nexusRatingSum: 50n, nexusRatingCount: 1n }), 3000n);
  assert.equal(reputationTier(3000n), 0);
  assert.equal(reputationTier(3001n), 1);
  assert.equal(reputationTier(9500n), 3);
  assert.equal(reputationTier(9501n), 4);
  assert.equal(reputationScore({ ...z, proofVerified: 1n, proofMatched: 1n, proofSlashed: 20n }), 0n);
});
