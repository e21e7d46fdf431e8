/**
 * AISP scenarios on the DiemMarketplace alone (chain only; each run reverted): listing terms, the
 * exact cost of a rental and every refused fund, settlement after the term with the 99/1 split,
 * early revoke with the pro-rata refund, at-most-once payouts, a model-based run of random actions
 * against the pure model (conservation checked after every step), and renters racing for the last
 * capacity under a scheduler.
 */
import fc from 'fast-check';
import type { Address } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario, type ModelScenario } from '../../harness/engine/dsl.ts';
import { marketplaceAbi } from '../../reference-impl/aisp/protocol/abi.ts';
import { rentalCost, revokeSplit, settleSplit, usedDays } from '../../reference-impl/aisp/protocol/fees.ts';
import * as M from '../../reference-impl/aisp/protocol/model.ts';
import { AISP_CONSTANTS } from '../../reference-impl/aisp/protocol/constants.ts';
import { AISP_PROFILE, DIEM } from '../../reference-impl/aisp/protocol/profile.ts';
import { aisp, AISP_NEEDS, approve, balances, counters, getListing, getRental, tryFund, tryList, warp, type Aisp, type Terms } from './lab.ts';

const CHAIN = { needs: AISP_NEEDS, roles: ['provider', 'vendor1', 'buyer1', 'buyer2', 'attacker'], isolation: 'snapshot' as const };
const DAY = Number(AISP_PROFILE.secondsPerDay);

/** Listing terms a run may use (the seed's example, 1-unit edges, large prices). */
const termsArb: fc.Arbitrary<Terms> = fc.oneof(
  fc.constant({ pricePerDay: 800_000n, termDays: 30n, diemMin: 1_000n * DIEM, diemMax: 4_000n * DIEM }),
  fc.constant({ pricePerDay: 1n, termDays: 1n, diemMin: 1n, diemMax: 1n }),
  fc
    .record({
      pricePerDay: fc.bigInt({ min: 1n, max: 2_000_000n }),
      termDays: fc.bigInt({ min: 1n, max: 30n }),
      diemMin: fc.bigInt({ min: 1n, max: 50n * DIEM }),
      span: fc.bigInt({ min: 0n, max: 200n * DIEM }),
    })
    .map((t) => ({ pricePerDay: t.pricePerDay, termDays: t.termDays, diemMin: t.diemMin, diemMax: t.diemMin + t.span })),
);

/** A rental within the listing's terms: termDays and diemAmount picked by fractions of the ranges. */
const pickArb = fc.record({ t: fc.double({ min: 0, max: 1, noNaN: true }), d: fc.double({ min: 0, max: 1, noNaN: true }) });
function pick(t: Terms, p: { t: number; d: number }): { termDays: bigint; diem: bigint } {
  const termDays = 1n + BigInt(Math.floor(p.t * Number(t.termDays - 1n)));
  const span = t.diemMax - t.diemMin;
  const diem = t.diemMin + (span * BigInt(Math.floor(p.d * 1_000_000))) / 1_000_000n;
  return { termDays, diem };
}

async function timestampOf(a: Aisp, hash: `0x${string}` | undefined): Promise<bigint> {
  if (!hash) return a.s.pendingTime();
  const r = await a.s.public.getTransactionReceipt({ hash });
  return (await a.s.public.getBlock({ blockNumber: r.blockNumber })).timestamp;
}

async function feeRecipient(a: Aisp): Promise<Address> {
  return a.s.read(a.market, marketplaceAbi, 'feeRecipient');
}

// ---------------------------------------------------------------------------------------------

/** Terms nobody may list (AISP-PROF-06): one of each kind in every run. */
const BAD_TERMS = ['zero-price', 'zero-term', 'term-over-max', 'zero-diem-min', 'min-above-max'] as const;
function badTerms(kind: (typeof BAD_TERMS)[number], t: Terms): Terms {
  switch (kind) {
    case 'zero-price':
      return { ...t, pricePerDay: 0n };
    case 'zero-term':
      return { ...t, termDays: 0n };
    case 'term-over-max':
      return { ...t, termDays: AISP_PROFILE.maxTermDays + 1n };
    case 'zero-diem-min':
      return { ...t, diemMin: 0n };
    case 'min-above-max':
      return { ...t, diemMin: t.diemMax + 1n };
  }
}

export const listTerms = defineScenario({
  kind: 'property',
  id: 'list-terms',
  title: 'list records exactly the offered terms; every kind of invalid terms is refused and lists nothing',
  requirements: ['AISP-LIST-01'],
  ...CHAIN,
  arbitrary: () => fc.record({ terms: termsArb, provider: fc.constantFrom('provider', 'vendor1'), bads: fc.shuffledSubarray([...BAD_TERMS], { minLength: BAD_TERMS.length }) }),
  async run(ctx, v) {
    const a = await aisp(ctx);
    for (const kind of v.bads) {
      const before = await counters(a);
      const t = badTerms(kind, v.terms);
      ctx.act(`${v.provider} lists with ${kind} terms (${t.pricePerDay}/${t.termDays}d/${t.diemMin}..${t.diemMax})`);
      const r = await tryList(a, v.provider, t);
      const after = await counters(a);
      ctx.check('AISP-LIST-01', !r.ok && after.listings === before.listings, `a listing with ${kind} terms is refused and creates nothing`, {
        expected: `refused, listingCount ${before.listings}`,
        actual: `${r.ok ? `accepted as listing ${r.listingId}` : `refused (${r.reason})`}, listingCount ${after.listings}`,
      });
    }
    const before = await counters(a);
    ctx.act(`${v.provider} lists ${v.terms.diemMin}..${v.terms.diemMax} DIEM units at ${v.terms.pricePerDay}/DIEM/day, up to ${v.terms.termDays} days`);
    const r = await tryList(a, v.provider, v.terms);
    ctx.check('AISP-LIST-01', r.ok, 'valid terms are listed', { expected: 'Listed', actual: r.ok ? `listing ${r.listingId}` : r.reason });
    if (!r.ok) return;
    ctx.expectEqual('AISP-LIST-01', r.listingId, before.listings + 1n, 'the new listingId is the next id');
    const l = await getListing(a, r.listingId);
    const want = { provider: a.s.address(v.provider).toLowerCase(), ...v.terms, diemRented: 0n, active: true };
    const got = { provider: l.provider.toLowerCase(), pricePerDay: l.pricePerDay, termDays: BigInt(l.termDays), diemMin: l.diemMin, diemMax: l.diemMax, diemRented: l.diemRented, active: l.active };
    ctx.expectEqual('AISP-LIST-01', got, want, 'getListing holds exactly the terms, the provider, nothing rented, open');
  },
});

// ---------------------------------------------------------------------------------------------

/** Every way a fund must be refused (AISP-PROF-06), one of each in every run. */
const BAD_FUNDS = ['unknown-listing', 'zero-term', 'term-over-listing', 'diem-below-min', 'diem-above-max', 'self-rental', 'no-allowance', 'closed-listing'] as const;

export const fundExactCost = defineScenario({
  kind: 'property',
  id: 'fund-exact-cost',
  title: 'fund pulls exactly the cost and records the rental; every refused fund moves no money',
  requirements: ['AISP-FUND-01', 'AISP-FUND-02'],
  ...CHAIN,
  arbitrary: () =>
    fc.record({
      terms: termsArb,
      pick: pickArb,
      renter: fc.constantFrom('buyer1', 'buyer2'),
      provider: fc.constantFrom('provider', 'vendor1'),
      bads: fc.shuffledSubarray([...BAD_FUNDS], { minLength: BAD_FUNDS.length }),
    }),
  async run(ctx, v) {
    const a = await aisp(ctx);
    const l = await tryList(a, v.provider, v.terms);
    if (!l.ok) return ctx.check('AISP-FUND-01', false, 'setup: valid terms can be listed', { expected: 'listed', actual: l.reason });
    const { termDays, diem } = pick(v.terms, v.pick);
    const who = { renter: a.s.address(v.renter), provider: a.s.address(v.provider), market: a.market };
    for (const kind of v.bads) {
      let id = l.listingId;
      let role: string = v.renter;
      let [t, d] = [termDays, diem];
      if (kind === 'unknown-listing') id = (await counters(a)).listings + 1000n;
      if (kind === 'zero-term') t = 0n;
      if (kind === 'term-over-listing') t = v.terms.termDays + 1n;
      if (kind === 'diem-below-min') d = v.terms.diemMin - 1n;
      if (kind === 'diem-above-max') d = v.terms.diemMax + 1n;
      if (kind === 'self-rental') role = v.provider;
      if (kind === 'closed-listing') {
        const other = await tryList(a, v.provider, v.terms);
        if (!other.ok) continue;
        await a.s.attempt({
          label: `${v.provider} closes listing ${other.listingId}`,
          role: v.provider,
          address: a.market,
          abi: marketplaceAbi,
          functionName: 'closeListing',
          args: [other.listingId],
        });
        id = other.listingId;
      }
      await approve(a, role, kind === 'no-allowance' ? 0n : rentalCost(v.terms.pricePerDay, d > 0n ? d : 1n, t > 0n ? t : 1n) + 10n ** 12n);
      const before = await ctx.balancesOf(a.s, a.usdc, who);
      const rentals = (await counters(a)).rentals;
      ctx.act(`${role} tries to fund listing ${id} with ${kind} (${d} DIEM units, ${t} days)`);
      const r = await tryFund(a, role, id, t, d);
      ctx.check('AISP-FUND-02', !r.ok, `a fund with ${kind} is refused`, { expected: 'refused', actual: r.ok ? `accepted as rental ${r.rentalId}` : r.reason });
      await ctx.expectNoMoneyMoved('AISP-FUND-02', before, `${kind}: no USDC moved`);
      ctx.expectEqual('AISP-FUND-02', (await counters(a)).rentals, rentals, `${kind}: no rental recorded`);
    }
    const cost = rentalCost(v.terms.pricePerDay, diem, termDays);
    await approve(a, v.renter, cost);
    const b0 = await balances(a, who);
    ctx.act(`${v.renter} approves ${cost} and funds ${diem} DIEM units for ${termDays} days`);
    const r = await tryFund(a, v.renter, l.listingId, termDays, diem);
    ctx.check('AISP-FUND-01', r.ok, 'a fund within the terms, with the allowance, is accepted', { expected: 'Funded', actual: r.ok ? `rental ${r.rentalId}` : r.reason });
    if (!r.ok) return;
    const b1 = await balances(a, who);
    a.s.recordBalances('fund', a.usdc, b0, b1);
    ctx.expectEqual(
      'AISP-FUND-01',
      [b0.renter! - b1.renter!, b1.market! - b0.market!, r.cost],
      [cost, cost, cost],
      `renter debit, escrow credit and Funded.cost are exactly ceil(price × diem × days / 10^6) = ${cost}`,
    );
    const ts = (await a.s.public.getBlock({ blockNumber: r.block })).timestamp;
    const rt = await getRental(a, r.rentalId);
    ctx.expectEqual(
      'AISP-FUND-01',
      {
        listingId: rt.listingId,
        renter: rt.renter.toLowerCase(),
        diem: rt.diemAmount,
        termDays: BigInt(rt.termDays),
        cost: rt.cost,
        fundedAt: rt.fundedAt,
        expiresAt: rt.expiresAt,
        status: rt.status,
        event: r.expiresAt,
      },
      {
        listingId: l.listingId,
        renter: who.renter.toLowerCase(),
        diem,
        termDays,
        cost,
        fundedAt: ts,
        expiresAt: ts + termDays * AISP_PROFILE.secondsPerDay,
        status: AISP_PROFILE.statuses.ACTIVE,
        event: ts + termDays * AISP_PROFILE.secondsPerDay,
      },
      'getRental and Funded.expiresAt: the rental as funded, expiring termDays after the block',
    );
  },
});

// ---------------------------------------------------------------------------------------------

export const settleAfterTerm = defineScenario({
  kind: 'property',
  id: 'settle-after-term',
  title: 'settle is refused before expiry, pays 99/1 exactly at expiry (by anyone), and only once',
  requirements: ['AISP-TERM-01', 'AISP-FEE-01', 'AISP-ONCE-01'],
  ...CHAIN,
  capabilities: ['clock-control'],
  arbitrary: () =>
    fc.record({
      terms: termsArb,
      pick: pickArb,
      early: fc.integer({ min: 1, max: 29 * DAY }),
      renter: fc.constantFrom('buyer1', 'buyer2'),
      settler: fc.constantFrom('attacker', 'provider', 'buyer1'),
    }),
  async run(ctx, v) {
    const a = await aisp(ctx);
    // Room for two rentals: a neighbour keeps the listing and the escrow busy, so a second payout of
    // the same rental could not hide behind an underflow.
    const terms = { ...v.terms, diemMax: v.terms.diemMax * 2n };
    const l = await tryList(a, 'provider', terms);
    if (!l.ok) return;
    const { termDays, diem } = pick(v.terms, v.pick);
    const neighbour = v.renter === 'buyer1' ? 'buyer2' : 'buyer1';
    await approve(a, neighbour, rentalCost(v.terms.pricePerDay, diem, terms.termDays));
    await tryFund(a, neighbour, l.listingId, terms.termDays, diem);
    await approve(a, v.renter, rentalCost(v.terms.pricePerDay, diem, termDays));
    ctx.act(`${v.renter} rents ${diem} DIEM units for ${termDays} days (${neighbour} rents as much for ${terms.termDays} days)`);
    const f = await tryFund(a, v.renter, l.listingId, termDays, diem);
    if (!f.ok) return ctx.check('AISP-TERM-01', false, 'setup: a valid fund is accepted', { expected: 'Funded', actual: f.reason });
    const fee = await feeRecipient(a);
    const who = { provider: a.s.address('provider'), feeRecipient: fee, market: a.market, renter: a.s.address(v.renter) };
    const early = Math.min(v.early, Number(f.expiresAt - (await a.s.now())) - 2);
    if (early > 0) await warp(a, early);
    for (const role of ['provider', 'attacker']) {
      const before = await ctx.balancesOf(a.s, a.usdc, who);
      ctx.act(`${role} settles before the term is over`);
      const r = await a.s.attempt({ label: `${role} settles early`, role, address: a.market, abi: marketplaceAbi, functionName: 'settle', args: [f.rentalId] });
      ctx.check('AISP-TERM-01', !r.ok, 'settle before expiresAt is refused', { expected: 'refused', actual: r.ok ? 'settled' : r.reason });
      await ctx.expectNoMoneyMoved('AISP-TERM-01', before, 'an early settle moves nothing');
    }
    ctx.act(`the chain clock reaches expiresAt exactly; ${v.settler} settles`);
    await a.s.test.setNextBlockTimestamp({ timestamp: f.expiresAt });
    const b0 = await balances(a, who);
    const r = await a.s.attempt({ label: `${v.settler} settles at expiry`, role: v.settler, address: a.market, abi: marketplaceAbi, functionName: 'settle', args: [f.rentalId] });
    ctx.check('AISP-TERM-01', r.ok, 'settle at expiresAt is accepted, whoever sends it', { expected: 'Settled', actual: r.ok ? 'Settled' : r.reason });
    const b1 = await balances(a, who);
    a.s.recordBalances('settle', a.usdc, b0, b1);
    const split = settleSplit(f.cost, AISP_CONSTANTS.of(ctx.profile).feeBps);
    ctx.expectEqual(
      'AISP-FEE-01',
      { provider: b1.provider! - b0.provider!, fee: b1.feeRecipient! - b0.feeRecipient!, escrow: b0.market! - b1.market! },
      { provider: split.provider, fee: split.fee, escrow: f.cost },
      `cost ${f.cost}: provider gets cost − floor(1%), fee recipient floor(1%), escrow pays out exactly the cost`,
    );
    for (const [role, fn] of [
      ['attacker', 'settle'],
      ['provider', 'revokeAndRefund'],
      ['provider', 'settle'],
    ] as const) {
      const before = await ctx.balancesOf(a.s, a.usdc, who);
      ctx.act(`${role} calls ${fn} on the settled rental`);
      const again = await a.s.attempt({ label: `${role} ${fn} again`, role, address: a.market, abi: marketplaceAbi, functionName: fn, args: [f.rentalId] });
      ctx.check('AISP-ONCE-01', !again.ok, `${fn} after settle is refused`, { expected: 'refused', actual: again.ok ? 'accepted' : again.reason });
      await ctx.expectNoMoneyMoved('AISP-ONCE-01', before, `${fn} after settle moves nothing`);
    }
  },
});

// ---------------------------------------------------------------------------------------------

export const revokeRefund = defineScenario({
  kind: 'property',
  id: 'revoke-refund',
  title: 'revokeAndRefund: only the provider, only before expiry; unused whole days back to the renter, exactly; once',
  requirements: ['AISP-REV-01', 'AISP-ONCE-01'],
  ...CHAIN,
  capabilities: ['clock-control'],
  arbitrary: () => fc.record({ terms: termsArb, pick: pickArb, elapsed: fc.double({ min: 0, max: 0.9999, noNaN: true }), renter: fc.constantFrom('buyer1', 'buyer2') }),
  async run(ctx, v) {
    const a = await aisp(ctx);
    const terms = { ...v.terms, diemMax: v.terms.diemMax * 3n };
    const l = await tryList(a, 'provider', terms);
    if (!l.ok) return;
    const { termDays, diem } = pick(v.terms, v.pick);
    // A neighbour rental keeps the listing and the escrow busy (a second payout could not hide behind an underflow).
    const neighbour = v.renter === 'buyer1' ? 'buyer2' : 'buyer1';
    await approve(a, neighbour, rentalCost(v.terms.pricePerDay, diem, terms.termDays));
    await tryFund(a, neighbour, l.listingId, terms.termDays, diem);
    await approve(a, v.renter, rentalCost(v.terms.pricePerDay, diem, termDays) * 2n);
    ctx.act(`${v.renter} rents ${diem} DIEM units for ${termDays} days`);
    const f = await tryFund(a, v.renter, l.listingId, termDays, diem);
    if (!f.ok) return ctx.check('AISP-REV-01', false, 'setup: a valid fund is accepted', { expected: 'Funded', actual: f.reason });
    const rt = await getRental(a, f.rentalId);
    const fee = await feeRecipient(a);
    const who = { provider: a.s.address('provider'), feeRecipient: fee, market: a.market, renter: a.s.address(v.renter) };
    // Rule 6: every other principal tries the provider's power.
    for (const role of [v.renter, 'attacker', 'vendor1']) {
      const before = await ctx.balancesOf(a.s, a.usdc, who);
      ctx.act(`${role} tries to revoke rental ${f.rentalId}`);
      const r = await a.s.attempt({ label: `${role} revokes`, role, address: a.market, abi: marketplaceAbi, functionName: 'revokeAndRefund', args: [f.rentalId] });
      ctx.check('AISP-REV-01', !r.ok, `only the provider may revoke (${role} refused)`, { expected: 'refused', actual: r.ok ? 'revoked' : r.reason });
      await ctx.expectNoMoneyMoved('AISP-REV-01', before, 'a refused revoke moves nothing');
    }
    const elapsed = Math.floor(v.elapsed * Number(termDays) * DAY);
    const at = rt.fundedAt + BigInt(elapsed);
    if (at > (await a.s.now())) await a.s.test.setNextBlockTimestamp({ timestamp: at });
    const b0 = await balances(a, who);
    ctx.act(`the provider revokes ${elapsed}s after funding`);
    const r = await a.s.attempt({ label: 'provider revokes', role: 'provider', address: a.market, abi: marketplaceAbi, functionName: 'revokeAndRefund', args: [f.rentalId] });
    ctx.check('AISP-REV-01', r.ok, 'the provider may revoke before expiry', { expected: 'Revoked', actual: r.ok ? 'Revoked' : r.reason });
    if (!r.ok) return;
    const ts = (await a.s.public.getBlock({ blockNumber: r.blockNumber })).timestamp;
    const k = AISP_CONSTANTS.of(ctx.profile);
    const used = usedDays(rt.fundedAt, ts, k.refundRule);
    const split = revokeSplit(f.cost, termDays, used, k.feeBps);
    const b1 = await balances(a, who);
    a.s.recordBalances('revoke', a.usdc, b0, b1);
    ctx.expectEqual(
      'AISP-REV-01',
      { renter: b1.renter! - b0.renter!, provider: b1.provider! - b0.provider!, fee: b1.feeRecipient! - b0.feeRecipient!, escrow: b0.market! - b1.market! },
      { renter: split.refund, provider: split.provider, fee: split.fee, escrow: f.cost },
      `${used} of ${termDays} days used (${k.refundRule}): refund cost − ceil(cost × used / term), provider the rest minus the ${k.feeBps} bps fee`,
    );
    for (const [role, fn] of [
      ['provider', 'revokeAndRefund'],
      ['attacker', 'settle'],
    ] as const) {
      if (fn === 'settle') await warp(a, f.expiresAt - ts + 1n);
      const before = await ctx.balancesOf(a.s, a.usdc, who);
      ctx.act(`${role} calls ${fn} on the revoked rental`);
      const again = await a.s.attempt({ label: `${role} ${fn} again`, role, address: a.market, abi: marketplaceAbi, functionName: fn, args: [f.rentalId] });
      ctx.check('AISP-ONCE-01', !again.ok, `${fn} after revoke is refused`, { expected: 'refused', actual: again.ok ? 'accepted' : again.reason });
      await ctx.expectNoMoneyMoved('AISP-ONCE-01', before, `${fn} after revoke moves nothing`);
    }
    // After expiry a revoke is refused: the rental settles instead.
    ctx.act(`${v.renter} rents again; the term ends; the provider tries to revoke`);
    const g = await tryFund(a, v.renter, l.listingId, termDays, diem);
    if (!g.ok) return;
    await warp(a, termDays * AISP_PROFILE.secondsPerDay);
    const before = await ctx.balancesOf(a.s, a.usdc, who);
    const late = await a.s.attempt({ label: 'provider revokes after expiry', role: 'provider', address: a.market, abi: marketplaceAbi, functionName: 'revokeAndRefund', args: [g.rentalId] });
    ctx.check('AISP-REV-01', !late.ok, 'a revoke at or after expiresAt is refused', { expected: 'refused', actual: late.ok ? 'revoked' : late.reason });
    await ctx.expectNoMoneyMoved('AISP-REV-01', before, 'a late revoke moves nothing');
  },
});

// ---- model-based ----------------------------------------------------------------------------------

interface MState {
  m: M.MarketModel;
}
interface MReal {
  a: Aisp;
  ctx: RunContext;
  /** Addresses whose balances the model tracks, by lower-cased address → label. */
  parties: Record<string, Address>;
  base: Record<string, bigint>;
}
const M_PROVIDERS = ['provider', 'vendor1'] as const;
const M_RENTERS = ['buyer1', 'buyer2', 'attacker'] as const;

/** Compares every listing, every rental, every party's balance and the escrow with the model. */
async function compareAll(r: MReal, m: M.MarketModel, req: string): Promise<void> {
  const { a, ctx } = r;
  for (const l of m.listings.values()) {
    const got = await getListing(a, l.id);
    ctx.expectEqual(
      req === 'AISP-CONS-01' ? 'AISP-CAP-01' : req,
      { diemRented: got.diemRented, active: got.active, diemMax: got.diemMax },
      { diemRented: l.diemRented, active: l.active, diemMax: l.diemMax },
      `listing ${l.id}: rented DIEM and state as the model says`,
    );
    ctx.check('AISP-CAP-01', got.diemRented <= got.diemMax, `listing ${l.id}: rented DIEM within capacity`, { expected: `<= ${got.diemMax}`, actual: got.diemRented });
  }
  for (const x of m.rentals.values()) {
    const got = await getRental(a, x.id);
    ctx.expectEqual(
      req,
      { status: got.status, cost: got.cost, expiresAt: got.expiresAt },
      { status: AISP_PROFILE.statuses[x.status.toUpperCase() as 'ACTIVE'], cost: x.cost, expiresAt: x.expiresAt },
      `rental ${x.id} as the model says`,
    );
  }
  const now = await balances(a, r.parties);
  const want: Record<string, bigint> = {};
  const got: Record<string, bigint> = {};
  for (const [k, addr] of Object.entries(r.parties)) {
    want[k] = r.base[k]! + (m.delta.get(k === 'market' ? M.MARKET : addr.toLowerCase()) ?? 0n);
    got[k] = now[k]!;
  }
  ctx.expectEqual('AISP-CONS-01', got, want, 'every party’s USDC moved exactly as the model says');
  const held = await a.s.read(a.market, marketplaceAbi, 'totalEscrowed');
  ctx.expectEqual('AISP-CONS-01', held, M.escrowed(m), 'totalEscrowed == the costs of active rentals');
}

/** Applies a contract call to chain and model, judging the outcome; the model uses the call's block time. */
async function step(
  s: MState,
  r: MReal,
  label: string,
  role: string,
  fn: 'list' | 'fund' | 'settle' | 'revokeAndRefund' | 'closeListing',
  args: bigint[],
  modelApply: (m: M.MarketModel) => M.Outcome,
  reqs: { ok: string; refused: string },
): Promise<void> {
  r.ctx.act(label);
  const res = await r.a.s.attempt({ label, role, address: r.a.market, abi: marketplaceAbi, functionName: fn, args: args as never });
  s.m.now = await timestampOf(r.a, res.ok ? res.hash : res.hash);
  const copy = M.cloneMarket(s.m);
  const out = modelApply(copy);
  const req = out.ok ? reqs.ok : out.error === 'CapacityExceeded' ? 'AISP-CAP-01' : reqs.refused;
  r.ctx.check(req, res.ok === out.ok, `${fn}: the chain ${res.ok ? 'accepted' : 'refused'} it; the model ${out.ok ? 'accepts' : `refuses (${out.error})`}`, {
    expected: out.ok ? 'accepted' : `refused (${out.error})`,
    actual: res.ok ? 'accepted' : `refused (${res.reason})`,
  });
  if (out.ok) s.m = copy;
  await compareAll(r, s.m, out.ok ? reqs.ok : 'AISP-CONS-01');
}

class ListCmd implements fc.AsyncCommand<MState, MReal> {
  constructor(
    readonly who: number,
    readonly t: Terms,
  ) {}
  check = () => true;
  async run(s: MState, r: MReal) {
    const role = M_PROVIDERS[this.who]!;
    await step(
      s,
      r,
      `${role} lists ${this.t.diemMin}..${this.t.diemMax} DIEM units at ${this.t.pricePerDay}/day for ${this.t.termDays} days`,
      role,
      'list',
      [this.t.pricePerDay, this.t.termDays, this.t.diemMin, this.t.diemMax],
      (m) => M.list(m, r.a.s.address(role), this.t),
      { ok: 'AISP-LIST-01', refused: 'AISP-LIST-01' },
    );
  }
  toString = () => `list(${M_PROVIDERS[this.who]}, ${this.t.pricePerDay}/${this.t.termDays}d/${this.t.diemMin}..${this.t.diemMax})`;
}

class FundCmd implements fc.AsyncCommand<MState, MReal> {
  constructor(
    readonly who: number,
    readonly listing: number,
    readonly p: { t: number; d: number },
    readonly off: number,
  ) {}
  check = (s: Readonly<MState>) => s.m.listings.size > 0;
  async run(s: MState, r: MReal) {
    const role = M_RENTERS[this.who]!;
    const ids = [...s.m.listings.keys()];
    const id = ids[this.listing % ids.length]!;
    const l = s.m.listings.get(id)!;
    const { termDays, diem } = pick(l, this.p);
    // off: 0 valid, 1 one DIEM unit too many, 2 one day too long (refusals from the same listing).
    const d = this.off === 1 ? l.diemMax + 1n : diem;
    const t = this.off === 2 ? l.termDays + 1n : termDays;
    await approve(r.a, role, rentalCost(l.pricePerDay, d, t));
    await step(s, r, `${role} funds listing ${id}: ${d} DIEM units for ${t} days`, role, 'fund', [id, t, d], (m) => M.fund(m, r.a.s.address(role), id, t, d), {
      ok: 'AISP-FUND-01',
      refused: 'AISP-FUND-02',
    });
  }
  toString = () => `fund(${M_RENTERS[this.who]}, listing#${this.listing}, ${this.off === 0 ? 'within terms' : this.off === 1 ? 'diem over max' : 'term over max'})`;
}

class EndCmd implements fc.AsyncCommand<MState, MReal> {
  constructor(
    readonly kind: 'settle' | 'revoke',
    readonly rental: number,
    readonly caller: number,
    /** settle: first let time run to the rental's expiry (so settlements happen in short runs). */
    readonly atExpiry = false,
  ) {}
  check = (s: Readonly<MState>) => s.m.rentals.size > 0;
  async run(s: MState, r: MReal) {
    const ids = [...s.m.rentals.keys()];
    const id = ids[this.rental % ids.length]!;
    const x = s.m.rentals.get(id)!;
    if (this.kind === 'settle' && this.atExpiry && x.status === 'active' && s.m.now < x.expiresAt) {
      r.ctx.act(`time passes to rental ${id}'s expiry`);
      await r.a.s.test.setNextBlockTimestamp({ timestamp: x.expiresAt });
      await r.a.s.test.mine({ blocks: 1 });
      s.m.now = await r.a.s.now();
    }
    const provider = s.m.listings.get(x.listingId)!.provider;
    const role = this.caller === 0 ? (M_PROVIDERS.find((p) => r.a.s.address(p).toLowerCase() === provider) ?? 'provider') : M_RENTERS[this.caller % M_RENTERS.length]!;
    if (this.kind === 'settle')
      await step(s, r, `${role} settles rental ${id}`, role, 'settle', [id], (m) => M.settle(m, id), { ok: 'AISP-FEE-01', refused: x.status === 'active' ? 'AISP-TERM-01' : 'AISP-ONCE-01' });
    else
      await step(s, r, `${role} revokes rental ${id}`, role, 'revokeAndRefund', [id], (m) => M.revoke(m, r.a.s.address(role), id), {
        ok: 'AISP-REV-01',
        refused: x.status === 'active' ? 'AISP-REV-01' : 'AISP-ONCE-01',
      });
  }
  toString = () => `${this.kind}(rental#${this.rental}, ${this.caller === 0 ? 'by its provider' : `by ${M_RENTERS[this.caller % M_RENTERS.length]}`}${this.atExpiry ? ', at expiry' : ''})`;
}

class CloseCmd implements fc.AsyncCommand<MState, MReal> {
  constructor(
    readonly listing: number,
    readonly byProvider: boolean,
  ) {}
  check = (s: Readonly<MState>) => s.m.listings.size > 0;
  async run(s: MState, r: MReal) {
    const ids = [...s.m.listings.keys()];
    const id = ids[this.listing % ids.length]!;
    const provider = s.m.listings.get(id)!.provider;
    const role = this.byProvider ? (M_PROVIDERS.find((p) => r.a.s.address(p).toLowerCase() === provider) ?? 'provider') : 'attacker';
    await step(s, r, `${role} closes listing ${id}`, role, 'closeListing', [id], (m) => M.close(m, r.a.s.address(role), id), { ok: 'AISP-FUND-02', refused: 'AISP-FUND-02' });
  }
  toString = () => `close(listing#${this.listing}, ${this.byProvider ? 'by its provider' : 'by a stranger'})`;
}

class WarpCmd implements fc.AsyncCommand<MState, MReal> {
  constructor(readonly seconds: number) {}
  check = () => true;
  async run(s: MState, r: MReal) {
    r.ctx.act(`${this.seconds}s pass`);
    await warp(r.a, this.seconds);
    s.m.now = await r.a.s.now();
  }
  toString = () => `warp(${this.seconds}s)`;
}

export const marketplaceModel: ModelScenario<MState, MReal> = defineScenario({
  kind: 'model',
  id: 'marketplace-model',
  title: 'Model-based: random lists, funds, settles, revokes, closes and time by 2 providers and 3 renters agree with the model; conservation after every step',
  requirements: ['AISP-LIST-01', 'AISP-FUND-01', 'AISP-FUND-02', 'AISP-CAP-01', 'AISP-TERM-01', 'AISP-FEE-01', 'AISP-REV-01', 'AISP-ONCE-01', 'AISP-CONS-01'],
  ...CHAIN,
  capabilities: ['clock-control'],
  maxCommands: 14,
  commands: () => [
    fc.tuple(fc.integer({ min: 0, max: 1 }), termsArb).map(([w, t]) => new ListCmd(w, t)),
    fc.tuple(fc.integer({ min: 0, max: 2 }), fc.nat(), pickArb, fc.constantFrom(0, 0, 0, 1, 2)).map(([w, l, p, o]) => new FundCmd(w, l, p, o)),
    fc.tuple(fc.integer({ min: 0, max: 2 }), fc.nat(), pickArb, fc.constant(0)).map(([w, l, p, o]) => new FundCmd(w, l, p, o)),
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 })).map(([x, c]) => new EndCmd('settle', x, c)),
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 })).map(([x, c]) => new EndCmd('settle', x, c, true)),
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 2 })).map(([x, c]) => new EndCmd('revoke', x, c === 2 ? 1 : 0)),
    fc.tuple(fc.nat(), fc.boolean()).map(([l, p]) => new CloseCmd(l, p)),
    fc.integer({ min: 3600, max: 4 * DAY }).map((x) => new WarpCmd(x)),
  ],
  async setup(ctx) {
    const a = await aisp(ctx);
    const c = await counters(a);
    const fee = await feeRecipient(a);
    const m = M.newMarket({ now: await a.s.now(), nextListing: c.listings + 1n, nextRental: c.rentals + 1n, ...AISP_CONSTANTS.of(ctx.profile), feeRecipient: fee });
    const parties: Record<string, Address> = { market: a.market, feeRecipient: fee };
    for (const role of [...M_PROVIDERS, ...M_RENTERS]) parties[a.s.address(role).toLowerCase()] = a.s.address(role);
    const base = await balances(a, parties);
    // Two listings (one per provider, one of them at 1-unit prices) and one rental to start from.
    const state: MState = { m };
    const real: MReal = { a, ctx, parties, base };
    await new ListCmd(0, { pricePerDay: 50_000n, termDays: 10n, diemMin: DIEM, diemMax: 100n * DIEM }).run(state, real);
    await new ListCmd(1, { pricePerDay: 1n, termDays: 3n, diemMin: 1n, diemMax: 5n * DIEM }).run(state, real);
    await new FundCmd(0, 0, { t: 0.5, d: 0.3 }, 0).run(state, real);
    return { model: state, real };
  },
});

// ---- race ---------------------------------------------------------------------------------------

export const capacityRace = defineScenario({
  kind: 'property',
  id: 'capacity-race',
  title: 'Three renters race for the last capacity of a listing: winners as some one-by-one order admits, losers refused with their USDC untouched',
  requirements: ['AISP-CAP-01'],
  ...CHAIN,
  arbitrary: () =>
    fc.record({
      sch: fc.scheduler(),
      capacity: fc.bigInt({ min: 3n, max: 20n }),
      bids: fc.tuple(fc.bigInt({ min: 1n, max: 20n }), fc.bigInt({ min: 1n, max: 20n }), fc.bigInt({ min: 1n, max: 20n })),
      taken: fc.bigInt({ min: 0n, max: 10n }),
    }),
  async run(ctx, v) {
    const a = await aisp(ctx);
    const cap = v.capacity * DIEM;
    const t: Terms = { pricePerDay: 10_000n, termDays: 3n, diemMin: DIEM, diemMax: cap };
    const l = await tryList(a, 'provider', t);
    if (!l.ok) return;
    const renters = ['buyer1', 'buyer2', 'attacker'] as const;
    const m = M.newMarket({ now: await a.s.now(), nextListing: l.listingId, nextRental: (await counters(a)).rentals + 1n, ...AISP_CONSTANTS.of(ctx.profile) });
    M.list(m, a.s.address('provider'), t);
    // Part of the capacity is already rented (by vendor1), so the race is for what is left.
    const taken = v.taken * DIEM < cap ? v.taken * DIEM : 0n;
    if (taken > 0n) {
      await approve(a, 'vendor1', rentalCost(t.pricePerDay, taken, 1n));
      const pre = await tryFund(a, 'vendor1', l.listingId, 1n, taken);
      if (pre.ok) M.fund(m, a.s.address('vendor1'), l.listingId, 1n, taken);
    }
    const bids = renters.map((role, i) => ({ role, renter: a.s.address(role), listingId: l.listingId, termDays: 1n, diemAmount: (v.bids[i]! * DIEM) as bigint }));
    for (const b of bids) await approve(a, b.role, rentalCost(t.pricePerDay, b.diemAmount, 1n));
    const who = Object.fromEntries(bids.map((b) => [b.role, b.renter]));
    const b0 = await balances(a, who);
    ctx.act(`${bids.map((b) => `${b.role} (${b.diemAmount / DIEM} DIEM)`).join(', ')} fund at the same time; ${(cap - taken) / DIEM} of ${v.capacity} DIEM are left`);
    const go = (b: (typeof bids)[number]) => v.sch.schedule(Promise.resolve(b.role), `${b.role} sends fund`).then(() => tryFund(a, b.role, b.listingId, b.termDays, b.diemAmount));
    const results = await v.sch.waitFor(Promise.all(bids.map(go)));
    ctx.act(
      `  order released: ${v.sch
        .report()
        .map((x) => x.label)
        .join(' → ')}`,
    );
    const winners = results.flatMap((r, i) => (r.ok ? [i] : []));
    const outcomes = M.fundRaceOutcomes(m, bids);
    const reachable = outcomes.some((o) => o.winners.join() === winners.join());
    ctx.check('AISP-CAP-01', reachable, 'the winners are those some one-by-one order would admit', {
      expected: [...new Set(outcomes.map((o) => `{${o.winners.map((i) => renters[i]).join(', ')}}`))].join(' or '),
      actual: `{${winners.map((i) => renters[i]).join(', ')}}`,
    });
    const b1 = await balances(a, who);
    a.s.recordBalances('race', a.usdc, b0, b1);
    bids.forEach((b, i) => {
      const r = results[i]!;
      const paid = b0[b.role]! - b1[b.role]!;
      const expected = r.ok ? rentalCost(t.pricePerDay, b.diemAmount, 1n) : 0n;
      ctx.expectEqual('AISP-CAP-01', paid, expected, `${b.role} ${r.ok ? 'won and paid exactly its cost' : 'lost and paid nothing'}`);
    });
    const got = await getListing(a, l.listingId);
    const sum = taken + winners.reduce((s, i) => s + bids[i]!.diemAmount, 0n);
    ctx.check('AISP-CAP-01', got.diemRented === sum && got.diemRented <= cap, 'rented DIEM = pre-rented + winners, within capacity', { expected: `${sum} <= ${cap}`, actual: got.diemRented });
  },
});

export const contractScenarios = [listTerms, fundExactCost, settleAfterTerm, revokeRefund, marketplaceModel, capacityRace];
