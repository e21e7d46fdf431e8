/**
 * AISP scenarios against the backend (and, for issuing and using keys, the inference server). The
 * chain is only set-up here (providers list, renters fund, time passes): a marketplace refusal makes
 * the run indeterminate, and only backend requirements are judged. Runs are `live` (the backend keeps
 * state a revert would not undo consistently); the revert scenario makes its own snapshot.
 */
import fc from 'fast-check';
import type { RunContext } from '../../harness/engine/context.ts';
import type { Capability } from '../../harness/target/schema.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { KEY_ATTACKS, keyAttack } from '../../reference-impl/aisp/agents/adversary.ts';
import { ask } from '../../reference-impl/aisp/agents/venice.ts';
import { marketplaceAbi } from '../../reference-impl/aisp/protocol/abi.ts';
import { DIEM } from '../../reference-impl/aisp/protocol/profile.ts';
import { balanceAnswer, keyAnswer, listingsAnswer, rateLimitsAnswer, requestAnswer } from '../../reference-impl/aisp/protocol/wire.ts';
import {
  ADMIN_KEYS,
  adminKey,
  aisp,
  AISP_NEEDS,
  counters,
  expectListing,
  fp,
  fund,
  getKey,
  getKeySigned,
  hasKeyField,
  is2xx,
  is4xx,
  issueKey,
  leaks,
  list,
  listingView,
  listWithKey,
  mine,
  model,
  spendable,
  storeKey,
  warp,
  type Terms,
} from './lab.ts';

const BASE = {
  needs: AISP_NEEDS,
  endpoints: ['aisp-backend', 'aisp-inference'],
  roles: ['provider', 'vendor1', 'buyer1', 'buyer2'],
  signers: ['attacker'],
  capabilities: [ADMIN_KEYS] as Capability[],
  isolation: 'live' as const,
};

/** Small, cheap terms (runs are not reverted: role balances must last). */
const termsArb: fc.Arbitrary<Terms> = fc
  .record({ price: fc.bigInt({ min: 1n, max: 50_000n }), term: fc.bigInt({ min: 1n, max: 5n }), min: fc.bigInt({ min: 1n, max: 5n }), span: fc.bigInt({ min: 0n, max: 15n }) })
  .map((t) => ({ pricePerDay: t.price, termDays: t.term, diemMin: t.min * DIEM, diemMax: (t.min + t.span) * DIEM }));

const open = (ctx: RunContext) => aisp(ctx, { backend: true, inference: true });

// ---------------------------------------------------------------------------------------------

export const listingRoutes = defineScenario({
  kind: 'property',
  id: 'listing-routes',
  title: 'GET /api/listings(/:id) follow the chain through funds by two renters, a revoke and a close; unknown ids 404',
  requirements: ['AISP-API-01'],
  ...BASE,
  arbitrary: () => fc.record({ terms: termsArb, d1: fc.double({ min: 0, max: 1, noNaN: true }), d2: fc.double({ min: 0, max: 1, noNaN: true }), provider: fc.constantFrom('provider', 'vendor1') }),
  async run(ctx, v) {
    const a = await open(ctx);
    const { listingId } = await listWithKey(a, v.provider, v.terms);
    const one = await expectListing(a, listingId, 'after list and store-key');
    ctx.check('AISP-API-01', one.rentable === true && one.hasKey === true, 'a listed, keyed, empty listing is rentable', {
      expected: 'rentable, hasKey',
      actual: `rentable ${one.rentable}, hasKey ${one.hasKey}`,
    });
    const all = await a.backend.listings();
    const listed = listingsAnswer.safeParse(all.body);
    ctx.check('AISP-API-01', all.status === 200 && listed.success && listed.data.some((l) => l.listingId === listingId), 'GET /api/listings lists it', {
      expected: `listing ${listingId} listed`,
      actual: `${all.status} ${listed.success ? `${listed.data.length} listings` : a.show(all.body, 200)}`,
    });
    const span = v.terms.diemMax - v.terms.diemMin;
    const d1 = v.terms.diemMin + (span * BigInt(Math.floor(v.d1 * 1000))) / 1000n;
    const r1 = await fund(a, 'buyer1', listingId, 1n, d1);
    const afterOne = await expectListing(a, listingId, `after buyer1 rents ${d1}`);
    const left = v.terms.diemMax - d1;
    let r2: bigint | undefined;
    if (left >= v.terms.diemMin) {
      const d2 = v.terms.diemMin + ((left - v.terms.diemMin) * BigInt(Math.floor(v.d2 * 1000))) / 1000n;
      r2 = (await fund(a, 'buyer2', listingId, 1n, d2)).rentalId;
      await expectListing(a, listingId, `after buyer2 rents ${d2}`);
    } else {
      ctx.check('AISP-API-01', afterOne.rentable === false, 'a listing without room for diemMin is not rentable', { expected: false, actual: afterOne.rentable });
    }
    ctx.act(`${v.provider} revokes buyer1's rental`);
    const rv = await a.s.attempt({ label: `${v.provider} revokes`, role: v.provider, address: a.market, abi: marketplaceAbi, functionName: 'revokeAndRefund', args: [r1.rentalId] });
    if (!rv.ok) throw new Indeterminate('AISP-API-01', `setup: revoke refused (${rv.reason})`);
    await expectListing(a, listingId, 'after the revoke');
    ctx.act(`${v.provider} closes the listing`);
    const cl = await a.s.attempt({ label: `${v.provider} closes`, role: v.provider, address: a.market, abi: marketplaceAbi, functionName: 'closeListing', args: [listingId] });
    if (!cl.ok) throw new Indeterminate('AISP-API-01', `setup: close refused (${cl.reason})`);
    const closed = await expectListing(a, listingId, 'after close');
    const all2 = listingsAnswer.safeParse((await a.backend.listings()).body);
    ctx.check('AISP-API-01', closed.rentable === false && all2.success && !all2.data.some((l) => l.listingId === listingId), 'a closed listing is not rentable and no longer listed', {
      expected: 'absent from /api/listings',
      actual: all2.success ? `rentable ${closed.rentable}, listed ${all2.data.some((l) => l.listingId === listingId)}` : 'unparseable /api/listings',
    });
    const unknown = (await counters(a)).listings + 10_000n;
    const nf = await a.backend.listing(unknown);
    ctx.expectRefused('AISP-API-01', { status: nf.status, body: a.show(nf.body) }, 'an unknown listing id is refused (404)');
    ctx.expectEqual('AISP-API-01', nf.status, 404, 'an unknown listing answers 404');
    void r2;
  },
});

// ---------------------------------------------------------------------------------------------

const STORE_ATTACKS = ['foreign-signer', 'other-listing-signature', 'stale-timestamp', 'future-timestamp', 'admin-key', 'unknown-key'] as const;

export const storeKeyAuth = defineScenario({
  kind: 'property',
  id: 'store-key-auth',
  title: 'POST /api/keys: only the provider’s fresh signature stores a key; foreign, stale, future, replayed signatures, ADMIN and unknown keys are refused',
  requirements: ['AISP-KEY-01', 'AISP-SIG-01', 'AISP-SIG-02', 'AISP-ADMIN-01'],
  ...BASE,
  // `inside`: an earlier second the provider has not signed for yet (its refused attempts above used now, now+1, …).
  arbitrary: () => fc.record({ terms: termsArb, attacks: fc.shuffledSubarray([...STORE_ATTACKS], { minLength: STORE_ATTACKS.length }), inside: fc.integer({ min: -250, max: -20 }) }),
  async run(ctx, v) {
    const a = await open(ctx);
    const listingId = await list(a, 'provider', v.terms);
    const other = await list(a, 'vendor1', v.terms);
    const own = await issueKey(a, 'provider', { limitDiem: v.terms.diemMax });
    const foreign = await issueKey(a, 'vendor1');
    const now = await a.now();
    for (const kind of v.attacks) {
      let r;
      ctx.act(`store-key for listing ${listingId}: ${kind}`);
      if (kind === 'foreign-signer') r = await storeKey(a, 'vendor1', listingId, foreign.apiKey);
      else if (kind === 'other-listing-signature') {
        const signed = await a.backend.signStoreKey(a.account('provider'), other);
        r = await a.backend.storeKey({ listingId, apiKey: foreign.apiKey, ...signed });
      } else if (kind === 'stale-timestamp') r = await storeKey(a, 'provider', listingId, own.apiKey, now - a.window - 60);
      else if (kind === 'future-timestamp') r = await storeKey(a, 'provider', listingId, own.apiKey, now + a.window + 60);
      else if (kind === 'admin-key') r = await storeKey(a, 'provider', listingId, adminKey(a, 'provider'));
      else r = await storeKey(a, 'provider', listingId, `vn-scoped-${'0'.repeat(40)}${Date.now()}`);
      const req = kind.endsWith('timestamp') ? 'AISP-SIG-01' : kind.endsWith('-key') ? 'AISP-ADMIN-01' : 'AISP-KEY-01';
      ctx.expectRefused(req, { status: r.status, body: a.show(r.body) }, `store-key with ${kind} is refused`);
      const view = await listingView(a, listingId);
      ctx.check(req, view.view?.hasKey === false, `after the refused ${kind} the listing still has no key`, {
        expected: 'hasKey false',
        actual: view.view ? `hasKey ${view.view.hasKey}` : `${view.status}`,
      });
    }
    ctx.act(`provider stores its key with a timestamp ${v.inside}s off the clock (inside the window)`);
    const signed = await a.backend.signStoreKey(a.account('provider'), listingId, (await a.now()) + v.inside);
    const ok = await a.backend.storeKey({ listingId, apiKey: own.apiKey, ...signed });
    ctx.check('AISP-SIG-01', is2xx(ok.status), 'the provider’s signature inside the window is accepted', { expected: '2xx', actual: `${ok.status} ${a.show(ok.body, 200)}` });
    ctx.check('AISP-KEY-01', is2xx(ok.status), 'the provider stores its own key', { expected: '2xx', actual: `${ok.status}` });
    ctx.act("attacker replays the provider's store-key signature with vendor1's key");
    const replay = await a.backend.storeKey({ listingId, apiKey: foreign.apiKey, ...signed });
    ctx.expectRefused('AISP-SIG-02', { status: replay.status, body: a.show(replay.body) }, 'a replayed store-key signature is refused');
    // The proof: a funder gets the provider's key, not one of the refused ones.
    const r = await fund(a, 'buyer1', listingId, 1n, v.terms.diemMin);
    const got = await getKey(a, 'buyer1', r.rentalId, { tries: 10 });
    const k = keyAnswer.safeParse(got.body);
    const which = k.success ? (k.data.apiKey === own.apiKey ? 'the provider’s key' : k.data.apiKey === foreign.apiKey ? 'vendor1’s key' : fp(k.data.apiKey)) : `${got.status}`;
    ctx.check('AISP-KEY-01', k.success && k.data.apiKey === own.apiKey, 'the funder gets the provider’s key: no refused request replaced it', { expected: 'the provider’s key', actual: which });
  },
});

// ---------------------------------------------------------------------------------------------

export const getKeyFunderOnly = defineScenario({
  kind: 'property',
  id: 'get-key-funder-only',
  title: 'POST /api/key/:rentalId: every other principal and every forged, stale, future or replayed signature is refused; the funder gets the stored key and expiresAt',
  requirements: ['AISP-KEY-02', 'AISP-KEY-03', 'AISP-SIG-01', 'AISP-SIG-02', 'AISP-LEAK-01'],
  ...BASE,
  arbitrary: () =>
    fc.record({
      terms: termsArb,
      renter: fc.constantFrom('buyer1', 'buyer2'),
      attacks: fc.shuffledSubarray([...KEY_ATTACKS.filter((k) => k !== 'replay')], { minLength: KEY_ATTACKS.length - 1 }),
      inside: fc.integer({ min: -200, max: 200 }),
    }),
  async run(ctx, v) {
    const a = await open(ctx);
    const { listingId, key } = await listWithKey(a, 'provider', v.terms);
    const other = v.renter === 'buyer1' ? 'buyer2' : 'buyer1';
    const mine = await fund(a, v.renter, listingId, v.terms.termDays, v.terms.diemMin);
    // Another principal with a rental of its own (scenario rule 3/6); capacity permitting.
    const theirs = v.terms.diemMax - v.terms.diemMin >= v.terms.diemMin ? await fund(a, other, listingId, 1n, v.terms.diemMin) : undefined;
    const now = await a.now();
    const victim = a.account(v.renter);
    const attackers = [a.account('attacker'), a.account(other), a.account('provider')];
    for (const kind of v.attacks) {
      for (const attacker of kind === 'foreign-signer' ? attackers : [attackers[0]!]) {
        ctx.act(`${kind === 'foreign-signer' ? attacker.address.slice(0, 8) : 'attacker'} asks for rental ${mine.rentalId}'s key: ${kind}`);
        const r = await keyAttack(kind, { backend: a.backend, rentalId: mine.rentalId, attacker, victim, otherRentalId: theirs?.rentalId ?? mine.rentalId + 1000n, now, window: a.window });
        const req = kind.endsWith('timestamp') ? 'AISP-SIG-01' : 'AISP-KEY-03';
        ctx.check(req, is4xx(r.status) && !hasKeyField(r.body) && !r.text.includes(key.apiKey), `${kind} is refused with 4xx and no key`, {
          expected: '4xx, no key',
          actual: `${r.status} ${a.show(r.body, 200)}`,
        });
      }
    }
    ctx.act(`${v.renter} asks for its key (timestamp ${v.inside}s off the clock)`);
    const signed = await a.backend.signGetKey(victim, mine.rentalId, (await a.now()) + v.inside);
    let got = await a.backend.getKey(mine.rentalId, signed);
    for (let i = 0; i < 10 && got.status === 409; i++) {
      await new Promise((r) => setTimeout(r, 200));
      got = await getKey(a, v.renter, mine.rentalId);
    }
    const k = keyAnswer.safeParse(got.body);
    if (k.success) a.secrets.add(k.data.apiKey);
    ctx.check('AISP-KEY-02', got.status === 200 && k.success, 'the funder gets 200 {apiKey, expiresAt}', { expected: '200 {apiKey, expiresAt}', actual: `${got.status} ${a.show(got.body, 200)}` });
    ctx.check('AISP-SIG-01', got.status === 200, 'a timestamp inside the window is accepted', { expected: 200, actual: got.status });
    const rt = await a.s.read(a.market, marketplaceAbi, 'getRental', [mine.rentalId]);
    ctx.expectEqual('AISP-KEY-02', k.success ? fp(k.data.apiKey) : undefined, fp(key.apiKey), 'apiKey is the key the provider stored');
    ctx.expectEqual('AISP-KEY-02', k.success ? BigInt(k.data.expiresAt) : undefined, rt.expiresAt, 'expiresAt is the rental’s on-chain expiresAt');
    const m = await model(a);
    const use = await a.venice.chat(key.apiKey, ask(m, 'hello from the renter'));
    ctx.check('AISP-KEY-02', use.status === 200, 'the released key works on the inference server', { expected: 200, actual: `${use.status} ${a.show(use.body, 200)}` });
    ctx.act(`attacker replays ${v.renter}'s used get-key signature`);
    if (got.status === 200) {
      const replay = await a.backend.getKey(mine.rentalId, signed);
      ctx.check('AISP-SIG-02', is4xx(replay.status) && !hasKeyField(replay.body), 'a replayed get-key signature is refused without the key', {
        expected: '4xx',
        actual: `${replay.status} ${a.show(replay.body, 200)}`,
      });
    }
    if (theirs) {
      const their = await getKey(a, other, theirs.rentalId, { tries: 10 });
      ctx.check('AISP-KEY-02', their.status === 200, `${other}, the funder of its own rental, gets its key too`, { expected: 200, actual: `${their.status}` });
    }
    const funderAnswers = (s: { method: string; url: string; status: number }) => s.status === 200 && /\/api\/key\/\d+$/.test(new URL(s.url).pathname);
    const leaked = leaks(a, [key.apiKey, adminKey(a, 'provider')], (s) => funderAnswers(s) || /\/api_keys$/.test(new URL(s.url).pathname));
    ctx.check('AISP-LEAK-01', leaked.length === 0, 'no answer but the funders’ get-key carries the key', {
      expected: 'none',
      actual: leaked.map((s) => `${s.method} ${new URL(s.url).pathname} ${s.status}`).join(', ') || 'none',
    });
  },
});

// ---------------------------------------------------------------------------------------------

export const replayLater = defineScenario({
  kind: 'property',
  id: 'replay-later',
  title: 'A used store-key or get-key signature replayed minutes later, its timestamp still inside the window, is refused and changes nothing',
  requirements: ['AISP-SIG-02'],
  ...BASE,
  capabilities: [ADMIN_KEYS, 'clock-control'] as Capability[],
  arbitrary: () => fc.record({ terms: termsArb, renter: fc.constantFrom('buyer1', 'buyer2'), wait: fc.double({ min: 0.5, max: 1, noNaN: true }) }),
  async run(ctx, v) {
    const a = await open(ctx);
    const listingId = await list(a, 'provider', v.terms);
    const own = await issueKey(a, 'provider', { limitDiem: v.terms.diemMax });
    const foreign = await issueKey(a, 'vendor1');
    ctx.act(`provider stores its key for listing ${listingId}`);
    const storeSigned = await a.backend.signStoreKey(a.account('provider'), listingId);
    const stored = await a.backend.storeKey({ listingId, apiKey: own.apiKey, ...storeSigned });
    if (!is2xx(stored.status)) throw new Indeterminate('AISP-SIG-02', `setup: the backend refused the provider's own key (${stored.status})`);
    const f = await fund(a, v.renter, listingId, 1n, v.terms.diemMin);
    await mine(a, a.confirmations - 1);
    // The signature replayed below is the one that was answered 200 (used whatever a server's reading of "used").
    const { answer: got, signed: keySigned } = await getKeySigned(a, v.renter, f.rentalId, { tries: 11 });
    if (got.status !== 200) throw new Indeterminate('AISP-SIG-02', `setup: the funder did not get its key (${got.status})`);
    // Long after the use (a server that forgets used signatures early accepts them again), yet both
    // timestamps stay inside the window, so only the single-use rule can refuse them.
    const wait = Math.floor((a.window - 60) * v.wait);
    ctx.act(`${wait}s pass on the lab clock`);
    await warp(a, wait);
    const age = (await a.now()) - Math.min(storeSigned.timestamp, keySigned.timestamp);
    if (age > a.window - 10) throw new Indeterminate('AISP-SIG-02', `the clock moved ${age}s, too close to the ${a.window}s window for a replay to test single use`);
    ctx.act(`an eavesdropper replays the provider's store-key signature (${age}s old) with vendor1's key`);
    const r1 = await a.backend.storeKey({ listingId, apiKey: foreign.apiKey, ...storeSigned });
    ctx.expectRefused('AISP-SIG-02', { status: r1.status, body: a.show(r1.body) }, `a store-key signature replayed ${age}s after its use is refused`);
    ctx.act(`an eavesdropper replays ${v.renter}'s get-key signature`);
    const r2 = await a.backend.getKey(f.rentalId, keySigned);
    ctx.check('AISP-SIG-02', is4xx(r2.status) && !hasKeyField(r2.body), `a get-key signature replayed ${age}s after its use is refused without the key`, {
      expected: '4xx, no key',
      actual: `${r2.status} ${a.show(r2.body, 200)}`,
    });
    // Nothing changed: the funder, signing afresh, still gets the provider's key.
    const again = await getKey(a, v.renter, f.rentalId, { tries: 10 });
    const k = keyAnswer.safeParse(again.body);
    const which = k.success ? (k.data.apiKey === own.apiKey ? 'the provider’s key' : k.data.apiKey === foreign.apiKey ? 'vendor1’s key' : fp(k.data.apiKey)) : `${again.status}`;
    ctx.check('AISP-SIG-02', k.success && k.data.apiKey === own.apiKey, 'after the refused replays the funder still gets the provider’s key', { expected: 'the provider’s key', actual: which });
  },
});

// ---------------------------------------------------------------------------------------------

/** Rental ids that are not decimal integers. */
const MALFORMED_RENTAL_IDS = ['not-a-rental', 'x1', '-1'];

export const keyBeforeFunding = defineScenario({
  kind: 'property',
  id: 'key-before-funding',
  title: 'No key for a rental that is not funded (yet), not confirmed, or not a decimal id; the funder gets it once the Funded block is confirmed',
  requirements: ['AISP-KEY-04'],
  ...BASE,
  arbitrary: () => fc.record({ terms: termsArb, renter: fc.constantFrom('buyer1', 'buyer2'), far: fc.bigInt({ min: 2n, max: 10n ** 30n }) }),
  async run(ctx, v) {
    const a = await open(ctx);
    const { listingId, key } = await listWithKey(a, 'provider', v.terms);
    const next = (await counters(a)).rentals + 1n;
    // Ids no parser reads as a rental (a leading digit could be read as one by a lenient parser): any 4xx, never a 5xx.
    for (const id of MALFORMED_RENTAL_IDS) {
      ctx.act(`attacker asks for the key of rental '${id}', which is not a decimal integer`);
      const r = await a.backend.getKey(id, await a.backend.signGetKey(a.account('attacker'), id));
      ctx.check('AISP-KEY-04', is4xx(r.status) && !hasKeyField(r.body), `rental id '${id}' names no rental: refused with 4xx, no key`, {
        expected: '4xx',
        actual: `${r.status} ${a.show(r.body, 200)}`,
      });
    }
    for (const id of [next, next + v.far]) {
      ctx.act(`${v.renter} asks for the key of rental ${id}, which nobody funded`);
      const r = await getKey(a, v.renter, id);
      ctx.check('AISP-KEY-04', is4xx(r.status) && !hasKeyField(r.body), `rental ${id} is not funded: refused without a key`, { expected: '4xx', actual: `${r.status} ${a.show(r.body, 200)}` });
    }
    const f = await fund(a, v.renter, listingId, 1n, v.terms.diemMin);
    if (f.rentalId !== next) throw new Indeterminate('AISP-KEY-04', `someone else funded in between (got rental ${f.rentalId}, expected ${next})`);
    if (a.confirmations > 1) {
      const early = await getKey(a, v.renter, f.rentalId);
      ctx.check('AISP-KEY-04', is4xx(early.status) && !hasKeyField(early.body), `before ${a.confirmations} confirmations the key is refused`, { expected: '4xx', actual: `${early.status}` });
      ctx.act(`${a.confirmations - 1} more blocks are mined`);
      await mine(a, a.confirmations - 1);
    }
    const r = await getKey(a, v.renter, f.rentalId, { tries: 10 });
    const k = keyAnswer.safeParse(r.body);
    ctx.check('AISP-KEY-04', r.status === 200 && k.success && k.data.apiKey === key.apiKey, 'once Funded is confirmed the funder gets the key', {
      expected: '200 with the stored key',
      actual: `${r.status}${k.success ? ` ${fp(k.data.apiKey)}` : ''}`,
    });
  },
});

export const fundedRevert = defineScenario({
  kind: 'property',
  id: 'funded-revert',
  title: 'A Funded event removed by a revert never releases a key: the former funder is refused, the new funder of that rentalId is served',
  requirements: ['AISP-KEY-04'],
  ...BASE,
  capabilities: [ADMIN_KEYS, 'snapshot'] as Capability[],
  arbitrary: () => fc.record({ terms: termsArb, first: fc.constantFrom('buyer1', 'buyer2'), extra: fc.integer({ min: 0, max: 3 }) }),
  async run(ctx, v) {
    const a = await open(ctx);
    const { listingId, key } = await listWithKey(a, 'provider', v.terms);
    const second = v.first === 'buyer1' ? 'buyer2' : 'buyer1';
    ctx.act('the chain takes a snapshot (a reorg will come back to here)');
    const snap = await a.s.test.snapshot();
    const f = await fund(a, v.first, listingId, 1n, v.terms.diemMin);
    if (a.confirmations > 1) {
      const early = await getKey(a, v.first, f.rentalId);
      ctx.check('AISP-KEY-04', is4xx(early.status) && !hasKeyField(early.body), 'the unconfirmed Funded releases nothing', { expected: '4xx', actual: `${early.status}` });
    }
    if (v.extra) await mine(a, v.extra);
    // Make sure the backend has seen the Funded event before it goes away (a read route syncs).
    await a.backend.listing(listingId);
    ctx.act(`a reorg removes ${v.first}'s Funded event (evm_revert); the chain grows past that height again`);
    await a.s.test.revert({ id: snap });
    await mine(a, 3 + v.extra + a.confirmations);
    const gone = await getKey(a, v.first, f.rentalId);
    ctx.check('AISP-KEY-04', is4xx(gone.status) && !hasKeyField(gone.body), `after the revert ${v.first}'s rental ${f.rentalId} does not exist: refused`, {
      expected: '4xx',
      actual: `${gone.status} ${a.show(gone.body, 200)}`,
    });
    const g = await fund(a, second, listingId, 1n, v.terms.diemMin);
    if (g.rentalId !== f.rentalId) throw new Indeterminate('AISP-KEY-04', `the revert did not reuse rental id ${f.rentalId} (got ${g.rentalId})`);
    await mine(a, a.confirmations - 1);
    const theirs = await getKey(a, second, g.rentalId, { tries: 10 });
    const k = keyAnswer.safeParse(theirs.body);
    ctx.check('AISP-KEY-04', theirs.status === 200 && k.success && k.data.apiKey === key.apiKey, `${second}, the funder after the revert, gets the key of rental ${g.rentalId}`, {
      expected: 200,
      actual: `${theirs.status}`,
    });
    const stale = await getKey(a, v.first, f.rentalId);
    ctx.check('AISP-KEY-04', is4xx(stale.status) && !hasKeyField(stale.body), `${v.first}, whose Funded was reverted, is refused rental ${f.rentalId}`, {
      expected: '4xx',
      actual: `${stale.status} ${a.show(stale.body, 200)}`,
    });
  },
});

// ---------------------------------------------------------------------------------------------

const ENDS = ['expiry', 'settle', 'revoke'] as const;

export const keyAfterEnd = defineScenario({
  kind: 'property',
  id: 'key-after-end',
  title: 'No key at or after expiresAt, after settle or after revoke (each in every run)',
  requirements: ['AISP-KEY-05'],
  ...BASE,
  capabilities: [ADMIN_KEYS, 'clock-control'] as Capability[],
  arbitrary: () => fc.record({ terms: termsArb, ends: fc.shuffledSubarray([...ENDS], { minLength: ENDS.length }), renter: fc.constantFrom('buyer1', 'buyer2') }),
  async run(ctx, v) {
    const a = await open(ctx);
    const terms = { ...v.terms, diemMax: v.terms.diemMin * 3n };
    const { listingId } = await listWithKey(a, 'provider', terms);
    for (const end of v.ends) {
      const f = await fund(a, v.renter, listingId, 1n, terms.diemMin);
      const before = await getKey(a, v.renter, f.rentalId, { tries: 10 });
      ctx.check('AISP-KEY-05', before.status === 200, 'while the rental runs the funder gets its key', { expected: 200, actual: `${before.status}` });
      if (end === 'expiry') {
        ctx.act(`the clock reaches rental ${f.rentalId}'s expiresAt`);
        await a.s.test.setNextBlockTimestamp({ timestamp: f.expiresAt });
        await mine(a, 1);
      } else if (end === 'settle') {
        ctx.act(`the term ends and rental ${f.rentalId} is settled`);
        await warp(a, f.expiresAt - (await a.s.now()) + 1n);
        const s = await a.s.attempt({ label: 'provider settles', role: 'provider', address: a.market, abi: marketplaceAbi, functionName: 'settle', args: [f.rentalId] });
        if (!s.ok) throw new Indeterminate('AISP-KEY-05', `setup: settle refused (${s.reason})`);
      } else {
        ctx.act(`the provider revokes rental ${f.rentalId}`);
        const s = await a.s.attempt({ label: 'provider revokes', role: 'provider', address: a.market, abi: marketplaceAbi, functionName: 'revokeAndRefund', args: [f.rentalId] });
        if (!s.ok) throw new Indeterminate('AISP-KEY-05', `setup: revoke refused (${s.reason})`);
      }
      const after = await getKey(a, v.renter, f.rentalId);
      ctx.check('AISP-KEY-05', is4xx(after.status) && !hasKeyField(after.body), `after ${end} the key is refused`, { expected: '4xx, no key', actual: `${after.status} ${a.show(after.body, 200)}` });
      if (end === 'expiry') {
        await warp(a, 1);
        await a.s.attempt({ label: 'provider settles', role: 'provider', address: a.market, abi: marketplaceAbi, functionName: 'settle', args: [f.rentalId] });
      }
    }
  },
});

// ---------------------------------------------------------------------------------------------

export const balanceRoute = defineScenario({
  kind: 'property',
  id: 'balance',
  title: 'POST /api/balance {apiKey} reports what the key can still spend (as rate_limits does), before and after use, and its expiry where it gives one; an unknown key is refused',
  requirements: ['AISP-BAL-01'],
  ...BASE,
  arbitrary: () => fc.record({ terms: termsArb, uses: fc.integer({ min: 1, max: 3 }), ttl: fc.integer({ min: 3_600, max: 30 * 86_400 }) }),
  async run(ctx, v) {
    const a = await open(ctx);
    const { listingId, key } = await listWithKey(a, 'provider', v.terms);
    const f = await fund(a, 'buyer1', listingId, 1n, v.terms.diemMin);
    const g = await getKey(a, 'buyer1', f.rentalId, { tries: 10 });
    if (g.status !== 200) throw new Indeterminate('AISP-BAL-01', `setup: the funder did not get the key (${g.status})`);
    const m = await model(a);
    const compare = async (what: string) => {
      const b = await a.backend.balance(key.apiKey);
      const p = balanceAnswer.safeParse(b.body);
      const rl = await spendable(a, key.apiKey);
      ctx.check('AISP-BAL-01', b.status === 200 && p.success && rl.units !== undefined && p.data.diemUnits === rl.units, `${what}: /api/balance equals rate_limits balances.DIEM`, {
        expected: `${rl.units} DIEM units`,
        actual: `${b.status} ${p.success ? `${p.data.diemUnits} DIEM units` : a.show(b.body, 200)}`,
      });
      ctx.check('AISP-BAL-01', !b.text.includes(key.apiKey), `${what}: the answer does not echo the key`, { expected: 'no key', actual: b.text.includes(key.apiKey) ? 'the key' : 'no key' });
      return p.success ? p.data.diemUnits : undefined;
    };
    ctx.act('buyer1 checks its key’s balance');
    const b0 = await compare('before use');
    for (let i = 0; i < v.uses; i++) {
      ctx.act(`buyer1 uses the key (${i + 1})`);
      await a.venice.chat(key.apiKey, ask(m, `balance check ${i}`));
    }
    const b1 = await compare(`after ${v.uses} uses`);
    ctx.check('AISP-BAL-01', b0 !== undefined && b1 !== undefined && b1 < b0, 'the balance went down with use', { expected: `< ${b0}`, actual: b1 });
    // The optional fields, where the answer gives them, say what rate_limits says (a key with an expiry, one without).
    const expiring = await issueKey(a, 'provider', { expiresAt: (await a.now()) + v.ttl });
    for (const [what, k] of [
      ['the rented key (no expiry)', key.apiKey],
      [`a key expiring in ${v.ttl}s`, expiring.apiKey],
    ] as const) {
      ctx.act(`someone checks the balance of ${what}`);
      // rate_limits read before and after: an epoch may begin between the reads.
      const rl0 = rateLimitsAnswer.safeParse((await a.venice.rateLimits(k)).body);
      const b = balanceAnswer.safeParse((await a.backend.balance(k)).body);
      const rl1 = rateLimitsAnswer.safeParse((await a.venice.rateLimits(k)).body);
      if (!b.success || !rl0.success || !rl1.success) throw new Indeterminate('AISP-BAL-01', `setup: ${what}: the balance or rate_limits answer does not parse`);
      const instant = (x: string | null | undefined) => (typeof x === 'string' ? Date.parse(x) : x);
      for (const field of ['keyExpiration', 'nextEpochBegins'] as const) {
        const said = instant(b.data[field]);
        const truth = [rl0.data.data[field], rl1.data.data[field]];
        ctx.check('AISP-BAL-01', said === undefined || truth.some((t) => instant(t) === said), `${what}: /api/balance ${field}, where given, is rate_limits' ${field}`, {
          expected: `absent or ${[...new Set(truth)].join(' / ')}`,
          actual: String(b.data[field]),
        });
      }
    }
    ctx.act('someone checks an unknown key');
    const u = await a.backend.balance(`vn-scoped-${'f'.repeat(40)}${Date.now()}`);
    ctx.expectRefused('AISP-BAL-01', { status: u.status, body: a.show(u.body) }, 'an unknown key is refused');
  },
});

// ---------------------------------------------------------------------------------------------

const BAD_REQUESTS: [string, unknown][] = [
  ['missing diemAmount', { termDays: 3, maxPricePerDay: '1000' }],
  ['zero termDays', { diemAmount: '1000000', termDays: 0, maxPricePerDay: '1000' }],
  ['non-numeric maxPricePerDay', { diemAmount: '1000000', termDays: 3, maxPricePerDay: 'cheap' }],
  ['negative diemAmount', { diemAmount: '-5', termDays: 3, maxPricePerDay: '1000' }],
  ['not an object', [1, 2, 3]],
];

export const rentalRequests = defineScenario({
  kind: 'property',
  id: 'rental-requests',
  title: 'POST /api/requests accepts a well-formed rental request with an id and refuses each malformed one',
  requirements: ['AISP-REQ-01'],
  ...BASE,
  capabilities: [] as Capability[],
  roles: ['buyer1'],
  endpoints: ['aisp-backend'],
  arbitrary: () =>
    fc.record({
      diem: fc.bigInt({ min: 1n, max: 10n ** 12n }),
      termDays: fc.integer({ min: 1, max: 365 }),
      max: fc.bigInt({ min: 1n, max: 10n ** 9n }),
      order: fc.shuffledSubarray(
        BAD_REQUESTS.map((_, i) => i),
        { minLength: BAD_REQUESTS.length },
      ),
    }),
  async run(ctx, v) {
    const a = await aisp(ctx, { backend: true });
    ctx.act(`buyer1 posts a request for ${v.diem} DIEM units, ${v.termDays} days, at most ${v.max}/day`);
    const ok = await a.backend.request({ diemAmount: v.diem.toString(), termDays: v.termDays, maxPricePerDay: v.max.toString(), renter: a.s.address('buyer1') });
    const p = requestAnswer.safeParse(ok.body);
    ctx.check('AISP-REQ-01', is2xx(ok.status) && p.success, 'a well-formed request is accepted with an id', { expected: '2xx {requestId}', actual: `${ok.status} ${a.show(ok.body, 200)}` });
    for (const i of v.order) {
      const [what, body] = BAD_REQUESTS[i]!;
      ctx.act(`buyer1 posts a request with ${what}`);
      const r = await a.backend.request(body);
      ctx.expectRefused('AISP-REQ-01', { status: r.status, body: a.show(r.body) }, `a request with ${what} is refused`);
    }
  },
});

// ---------------------------------------------------------------------------------------------

export const keysNeverLeaked = defineScenario({
  kind: 'property',
  id: 'keys-never-leaked',
  title: 'After a rental, every route and every error the harness can provoke carries neither the stored key nor the ADMIN key',
  requirements: ['AISP-LEAK-01'],
  ...BASE,
  arbitrary: () => fc.record({ terms: termsArb, renter: fc.constantFrom('buyer1', 'buyer2') }),
  async run(ctx, v) {
    const a = await open(ctx);
    const { listingId, key } = await listWithKey(a, 'provider', v.terms);
    const f = await fund(a, v.renter, listingId, 1n, v.terms.diemMin);
    const g = await getKey(a, v.renter, f.rentalId, { tries: 10 });
    if (g.status !== 200) throw new Indeterminate('AISP-LEAK-01', `setup: the funder did not get its key (${g.status})`);
    const now = await a.now();
    ctx.act('everyone else pokes every route: listings, a listing, refused store-key and get-key requests, balance, requests, unknown routes');
    await a.backend.listings();
    await a.backend.listing(listingId);
    await a.backend.listing('not-a-number');
    await a.backend.getKey(f.rentalId, await a.backend.signGetKey(a.account('attacker'), f.rentalId));
    await a.backend.getKey(f.rentalId, { signature: `0x${'22'.repeat(65)}`, timestamp: now });
    await a.backend.raw(`/api/key/${f.rentalId}`, { body: { signature: key.apiKey, timestamp: now } });
    await a.backend.raw('/api/keys', { body: { listingId: 'x', apiKey: key.apiKey, signature: '0x', timestamp: now } });
    await storeKey(a, 'provider', listingId, key.apiKey, now - a.window - 100);
    await storeKey(a, 'attacker', listingId, key.apiKey);
    await a.backend.balance(key.apiKey);
    await a.backend.balance(adminKey(a, 'provider'));
    await a.backend.raw('/api/balance', { body: { apiKey: 5, note: key.apiKey } });
    await a.backend.request({ diemAmount: '1', termDays: 1, maxPricePerDay: '1' });
    await a.backend.raw(`/api/nothing-here/${encodeURIComponent(key.apiKey)}`);
    const funder = (s: { method: string; url: string; status: number }) => s.status === 200 && new URL(s.url).pathname === `/api/key/${f.rentalId}` && s.method === 'POST';
    const leaked = leaks(
      a,
      [key.apiKey, adminKey(a, 'provider')],
      (s) => (funder(s) && a.seen.indexOf(s as never) >= 0 && g.status === 200 && s.text === g.text) || /\/api_keys$/.test(new URL(s.url).pathname),
    );
    ctx.check('AISP-LEAK-01', leaked.length === 0, 'no answer but the funder’s get-key carries a key', {
      expected: 'none',
      actual: leaked.map((s) => `${s.method} ${new URL(s.url).pathname} ${s.status}`).join(', ') || 'none',
    });
  },
});

export const backendScenarios = [listingRoutes, storeKeyAuth, getKeyFunderOnly, replayLater, keyBeforeFunding, fundedRevert, keyAfterEnd, balanceRoute, rentalRequests, keysNeverLeaked];
