/**
 * AISP under a real reorg (`anvil_reorg`, capability `reorg`): a renter funds, the backend sees the
 * Funded event, then the blocks from the Funded block up are replaced by a new branch of the same
 * height. Either the fund transaction is gone (then no key, ever, for that rental), or it is mined
 * again in a later block of the new branch (then it counts once, and its confirmations count from
 * the block that holds it now). Unlike `funded-revert` (evm_revert, a shorter chain), the chain
 * never gets shorter: a backend that only notices a lower height misses it.
 */
import fc from 'fast-check';
import { depthFrom, reorg } from '../../harness/chain/index.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import type { Capability } from '../../harness/target/schema.ts';
import { marketplaceAbi } from '../../reference-impl/aisp/protocol/abi.ts';
import { DIEM } from '../../reference-impl/aisp/protocol/profile.ts';
import { keyAnswer, listingAnswer } from '../../reference-impl/aisp/protocol/wire.ts';
import { ADMIN_KEYS, AISP_NEEDS, aisp, approve, counters, fp, getKey, getListing, hasKeyField, is4xx, listWithKey, mine, tryFund, type Aisp } from './lab.ts';

/** Whether the backend's listing view shows exactly the chain's diemRented (a Funded counted once, or not at all). */
async function rentedMatches(a: Aisp, listingId: bigint): Promise<{ ok: boolean; chain: bigint; backend: string }> {
  const l = await getListing(a, listingId);
  const r = await a.backend.listing(listingId);
  const p = listingAnswer.safeParse(r.body);
  const seen = r.status === 200 && p.success ? p.data.diemRented : undefined;
  return { ok: seen === l.diemRented, chain: l.diemRented, backend: seen === undefined ? `${r.status} ${a.show(r.body, 120)}` : String(seen) };
}

export const fundedReorg = defineScenario({
  kind: 'property',
  id: 'funded-reorg',
  title: 'A Funded event a reorg removed releases no key; the same fund mined again in another block counts once, confirmed from its new block',
  requirements: ['AISP-ORG-01'],
  needs: AISP_NEEDS,
  endpoints: ['aisp-backend', 'aisp-inference'],
  roles: ['provider', 'buyer1', 'buyer2'],
  capabilities: [ADMIN_KEYS, 'reorg'] as Capability[],
  isolation: 'live',
  arbitrary: () =>
    fc.record({
      renter: fc.constantFrom('buyer1', 'buyer2'),
      // Blocks mined on top of the Funded block before the reorg (the reorg replaces them all).
      extra: fc.integer({ min: 0, max: 2 }),
      // Both outcomes in every run, in a generated order (scenario rule 4).
      reincludeFirst: fc.boolean(),
      diem: fc.bigInt({ min: 1n, max: 3n }),
    }),
  async run(ctx, v) {
    const a = await aisp(ctx, { backend: true, inference: true });
    const k = a.confirmations;
    const terms = { pricePerDay: 1_000n, termDays: 2n, diemMin: DIEM, diemMax: 6n * DIEM };
    const { listingId, key } = await listWithKey(a, 'provider', terms);
    for (const reinclude of v.reincludeFirst ? [true, false] : [false, true]) {
      const diem = v.diem * DIEM;
      ctx.act(`${v.renter} rents ${diem} DIEM units of listing ${listingId} for 1 day`);
      await approve(a, v.renter, await a.s.read(a.market, marketplaceAbi, 'quote', [listingId, 1n, diem]));
      const f = await tryFund(a, v.renter, listingId, 1n, diem);
      if (!f.ok) throw new Indeterminate('AISP-ORG-01', `setup: the marketplace refused fund (${f.reason})`);
      const fundTx = f.hash;
      if (v.extra) await mine(a, v.extra);
      // The backend sees the rental before the reorg (a listing read syncs it); the key is not asked
      // for yet where it would already be released (confirmations 1), so the reorg comes before it acts.
      ctx.act('the backend is asked for the listing (it sees the Funded event)');
      await a.backend.listing(listingId);
      if (k > 1 + v.extra) {
        const early = await getKey(a, v.renter, f.rentalId);
        ctx.check('AISP-ORG-01', is4xx(early.status) && !hasKeyField(early.body), `before ${k} confirmations the key of rental ${f.rentalId} is refused`, {
          expected: '4xx',
          actual: `${early.status} ${a.show(early.body, 200)}`,
        });
      }
      const depth = await depthFrom(a.s.spec.rpcUrl, f.block);
      ctx.act(
        reinclude
          ? `a reorg replaces the last ${depth} blocks; the fund transaction is mined again in the newest block of the new branch`
          : `a reorg replaces the last ${depth} blocks with blocks without the fund transaction`,
      );
      const r = await reorg(a.s.spec.rpcUrl, depth, { reinclude: reinclude ? [{ hash: fundTx, block: depth - 1 }] : [] });
      if (reinclude) {
        const now = r.reincluded.find((x) => x.hash === fundTx);
        if (now?.status !== 'success') throw new Indeterminate('AISP-ORG-01', `the fund transaction could not be mined again in the new branch (${now ? 'reverted' : 'dropped'})`);
        const moved = now.block.number !== f.block;
        const rental = await a.s.read(a.market, marketplaceAbi, 'getRental', [f.rentalId]);
        if (rental.renter.toLowerCase() !== a.s.address(v.renter).toLowerCase()) throw new Indeterminate('AISP-ORG-01', `after the reorg rental ${f.rentalId} is not ${v.renter}'s on chain`);
        // Depth counts from the block that holds Funded now: refused until it is k deep.
        const deep = Number(r.height - now.block.number) + 1;
        if (deep < k) {
          const early = await getKey(a, v.renter, f.rentalId);
          ctx.check('AISP-ORG-01', is4xx(early.status) && !hasKeyField(early.body), `Funded is ${deep}/${k} blocks deep in its new block ${now.block.number}: refused`, {
            expected: '4xx',
            actual: `${early.status} ${a.show(early.body, 200)}`,
          });
          await mine(a, k - deep);
        }
        const got = await getKey(a, v.renter, f.rentalId, { tries: 10 });
        const parsed = keyAnswer.safeParse(got.body);
        ctx.check(
          'AISP-ORG-01',
          got.status === 200 && parsed.success && parsed.data.apiKey === key.apiKey,
          `the fund mined again ${moved ? `in block ${now.block.number} (was ${f.block})` : 'in a new block'} still rents: ${v.renter} gets the key once it is confirmed`,
          { expected: '200 with the stored key', actual: `${got.status}${parsed.success ? ` ${fp(parsed.data.apiKey)}` : ` ${a.show(got.body, 200)}`}` },
        );
      } else {
        const c = await counters(a);
        if (c.rentals >= f.rentalId) throw new Indeterminate('AISP-ORG-01', `after the reorg the chain still has rental ${f.rentalId}`);
        await mine(a, k);
        const gone = await getKey(a, v.renter, f.rentalId);
        ctx.check('AISP-ORG-01', is4xx(gone.status) && !hasKeyField(gone.body), `rental ${f.rentalId}'s Funded was reorged away: ${v.renter} is refused, even ${k} blocks later`, {
          expected: '4xx without a key',
          actual: `${gone.status} ${a.show(gone.body, 200)}`,
        });
      }
      const m = await rentedMatches(a, listingId);
      ctx.check('AISP-ORG-01', m.ok, `the backend counts the listing's rented DIEM as the chain does (${reinclude ? 'the re-mined Funded once' : 'the removed Funded not at all'})`, {
        expected: `diemRented ${m.chain}`,
        actual: `diemRented ${m.backend}`,
      });
    }
  },
});
