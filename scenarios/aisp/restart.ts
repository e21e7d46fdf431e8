/**
 * The AISP backend across crashes (issue 15, capability `restart`): the backend is killed with
 * SIGKILL and restarted by the target's restart control. What only the backend knows must survive:
 * the providers' stored keys (and the secret that decrypts them), the rentals it indexed, the
 * signatures already used, its listing views; and what the chain said while it was down must be
 * read once it is back (a renter who funded during the downtime gets the key).
 *
 * Two restarts per run: one between requests, one with a rental funded while the backend does not
 * answer (the harness watches the restartable URL and sends the fund once it refuses connections).
 */
import fc from 'fast-check';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import type { Capability } from '../../harness/target/schema.ts';
import type { Answer } from '../../reference-impl/aisp/agents/http.ts';
import { marketplaceAbi } from '../../reference-impl/aisp/protocol/abi.ts';
import { DIEM } from '../../reference-impl/aisp/protocol/profile.ts';
import { keyAnswer, listingAnswer, listingsAnswer } from '../../reference-impl/aisp/protocol/wire.ts';
import { ADMIN_KEYS, AISP_NEEDS, aisp, approve, fp, fund, getKeySigned, getListing, hasKeyField, is2xx, is4xx, issueKey, list, mine, tryFund, type Aisp } from './lab.ts';

const REQ = 'AISP-RST-01';
const BACKEND = 'aisp-backend';
/** How long a restarted backend may take to serve a rental funded while it was down (AISP-PROF-22). */
const CATCH_UP_MS = 10_000;

/** Whether anything answers HTTP at `url` (any status: the server is up). Not recorded: a probe, not an exchange. */
async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer().catch(() => undefined);
    return true;
  } catch {
    return false;
  }
}

/** Polls `url` until it stops answering (true) or `over()` says the restart has finished (false). */
async function seenDown(url: string, over: () => boolean): Promise<boolean> {
  while (!over()) {
    if (!(await answers(url))) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

/** What the backend says of one listing: its view, and its entry in the rentable list (documented fields only). */
async function views(a: Aisp, listingId: bigint): Promise<{ listing: unknown; inList: unknown }> {
  const one = await a.backend.listing(listingId);
  const p = listingAnswer.safeParse(one.body);
  const all = await a.backend.listings();
  const q = listingsAnswer.safeParse(all.body);
  return {
    listing: one.status === 200 && p.success ? p.data : `${one.status} ${a.show(one.body, 200)}`,
    inList: all.status === 200 && q.success ? (q.data.find((l) => l.listingId === listingId) ?? 'absent') : `${all.status} ${a.show(all.body, 200)}`,
  };
}

/** The key answer in words a report may show (a fingerprint, never the key). */
function keyShown(a: Aisp, r: Answer, stored: string): string {
  const k = keyAnswer.safeParse(r.body);
  if (!k.success) return `${r.status} ${a.show(r.body, 200)}`;
  return `${r.status} ${k.data.apiKey === stored ? `the stored key (${fp(stored)})` : `another key (${fp(k.data.apiKey)})`}`;
}

/** `role` asks for the key, retrying a 404 or 409 for a while: a restarted backend may still be catching up. */
async function keyOnceCaughtUp(a: Aisp, role: string, rentalId: bigint): Promise<Answer> {
  const until = Date.now() + CATCH_UP_MS;
  for (;;) {
    const r = await a.backend.getKey(rentalId, await a.backend.signGetKey(a.account(role), rentalId));
    const k = (r.body as { apiKey?: unknown } | null)?.apiKey;
    if (typeof k === 'string' && k.length >= 8) a.secrets.add(k);
    if ((r.status !== 404 && r.status !== 409) || Date.now() >= until) return r;
    await new Promise((res) => setTimeout(res, 200));
  }
}

export const backendRestart = defineScenario({
  kind: 'property',
  id: 'backend-restart',
  title:
    'The backend is killed (SIGKILL) and restarted: the funder still gets the stored key, a non-funder and used signatures are still refused, listings are unchanged, and a rental funded while it was down is served',
  requirements: [REQ],
  needs: AISP_NEEDS,
  endpoints: [BACKEND, 'aisp-inference'],
  roles: ['provider', 'buyer1', 'buyer2'],
  capabilities: [ADMIN_KEYS, 'restart'] as Capability[],
  isolation: 'live',
  // Two restarts per run (seconds each: the server starts again from scratch).
  maxRuns: 2,
  runTimeoutMs: 600_000,
  // A failing run is reported as it failed: shrinking would restart the backend again many times.
  shrink: false,
  arbitrary: () =>
    fc.record({
      renter: fc.constantFrom('buyer1', 'buyer2'),
      price: fc.bigInt({ min: 1n, max: 50_000n }),
      diem: fc.bigInt({ min: 1n, max: 3n }),
    }),
  async run(ctx, v) {
    const url = (await ctx.restartable(BACKEND)).url.replace(/\/+$/, '');
    const a = await aisp(ctx, { backendUrl: url, inference: true });
    const other = v.renter === 'buyer1' ? 'buyer2' : 'buyer1';
    const terms = { pricePerDay: v.price, termDays: 2n, diemMin: DIEM, diemMax: 8n * DIEM };

    // ---- before the first crash: a stored key, a funded rental, a key served, two signatures used ----
    const listingId = await list(a, 'provider', terms);
    const key = await issueKey(a, 'provider', { limitDiem: terms.diemMax });
    ctx.act(`provider stores its key for listing ${listingId}`);
    const storeSigned = await a.backend.signStoreKey(a.account('provider'), listingId);
    const stored = await a.backend.storeKey({ listingId, apiKey: key.apiKey, ...storeSigned });
    if (!is2xx(stored.status)) throw new Indeterminate(REQ, `setup: the backend refused the provider's own key (${stored.status} ${a.show(stored.body, 200)})`);
    const f = await fund(a, v.renter, listingId, 1n, v.diem * DIEM);
    await mine(a, a.confirmations - 1);
    // The get-key signature replayed after the restart is the one answered 200 (used on any reading of "used").
    ctx.act(`${v.renter} asks for the key of rental ${f.rentalId}`);
    const { answer: got, signed: keySigned } = await getKeySigned(a, v.renter, f.rentalId, { tries: 11 });
    if (got.status !== 200 || keyAnswer.safeParse(got.body).data?.apiKey !== key.apiKey)
      throw new Indeterminate(REQ, `setup: before any restart the funder did not get the stored key (${keyShown(a, got, key.apiKey)})`);
    const before = await views(a, listingId);

    await ctx.restart(BACKEND, 'after the key was stored and the rental funded and served');

    const again = await keyOnceCaughtUp(a, v.renter, f.rentalId);
    ctx.check(REQ, again.status === 200 && keyAnswer.safeParse(again.body).data?.apiKey === key.apiKey, `after the restart ${v.renter}, the funder, still gets exactly the stored key`, {
      expected: `200 the stored key (${fp(key.apiKey)})`,
      actual: keyShown(a, again, key.apiKey),
    });
    ctx.act(`${other}, who did not fund rental ${f.rentalId}, asks for its key`);
    const stranger = await a.backend.getKey(f.rentalId, await a.backend.signGetKey(a.account(other), f.rentalId));
    ctx.check(REQ, is4xx(stranger.status) && !hasKeyField(stranger.body), `after the restart ${other}, not the funder, is still refused`, {
      expected: '4xx without a key',
      actual: `${stranger.status} ${a.show(stranger.body, 200)}`,
    });
    // Both timestamps must still be inside the window, so that only the single-use rule can refuse them.
    const age = (await a.now()) - Math.min(storeSigned.timestamp, keySigned.timestamp);
    if (age > a.window - 10) throw new Indeterminate(REQ, `the restart took the clock ${age}s past the signatures, too close to the ${a.window}s window to test single use`);
    ctx.act(`an eavesdropper replays ${v.renter}'s get-key signature used before the restart (${age}s old)`);
    const replayGet = await a.backend.getKey(f.rentalId, keySigned);
    ctx.check(REQ, is4xx(replayGet.status) && !hasKeyField(replayGet.body), 'after the restart a get-key signature used before it is still refused', {
      expected: '4xx without a key',
      actual: `${replayGet.status} ${a.show(replayGet.body, 200)}`,
    });
    ctx.act("an eavesdropper replays the provider's store-key signature used before the restart");
    const replayStore = await a.backend.storeKey({ listingId, apiKey: key.apiKey, ...storeSigned });
    ctx.check(REQ, is4xx(replayStore.status), 'after the restart a store-key signature used before it is still refused', {
      expected: '4xx',
      actual: `${replayStore.status} ${a.show(replayStore.body, 200)}`,
    });
    ctx.expectEqual(REQ, await views(a, listingId), before, `after the restart listing ${listingId} reads as before (GET /api/listings/${listingId} and its entry in GET /api/listings)`);

    // ---- the second crash: a rental funded while the backend is down ----
    const diem2 = DIEM;
    await approve(a, other, await a.s.read(a.market, marketplaceAbi, 'quote', [listingId, 1n, diem2]));
    let over = false;
    const restarting = ctx.restart(BACKEND, `and ${other} funds listing ${listingId} while it is down`);
    const settled = restarting.then(
      () => {
        over = true;
      },
      () => {
        over = true;
      },
    );
    const down = await seenDown(url, () => over);
    let f2: Awaited<ReturnType<typeof tryFund>> | undefined;
    let upAgain = false;
    if (down) {
      ctx.act(`the backend does not answer: ${other} rents ${diem2} DIEM units of listing ${listingId} for 1 day`);
      f2 = await tryFund(a, other, listingId, 1n, diem2);
      upAgain = await answers(url);
    }
    await settled;
    await restarting;
    if (!down) throw new Indeterminate(REQ, 'the backend was never seen down during its restart: no rental could be funded while it was down');
    if (!f2?.ok) throw new Indeterminate(REQ, `setup: the marketplace refused fund (${f2 && !f2.ok ? f2.reason : 'not sent'})`);
    if (upAgain) throw new Indeterminate(REQ, `the backend answered again before the fund of rental ${f2.rentalId} was mined: it was not funded while the backend was down`);
    ctx.evidence.note(`rental ${f2.rentalId} was funded in block ${f2.block} while ${url} refused connections`);
    await mine(a, a.confirmations - 1);
    const late = await keyOnceCaughtUp(a, other, f2.rentalId);
    ctx.check(
      REQ,
      late.status === 200 && keyAnswer.safeParse(late.body).data?.apiKey === key.apiKey,
      `${other}, who funded rental ${f2.rentalId} while the backend was down, gets the stored key once it is confirmed`,
      { expected: `200 the stored key (${fp(key.apiKey)})`, actual: keyShown(a, late, key.apiKey) },
    );
    const onChain = await getListing(a, listingId);
    const view = listingAnswer.safeParse((await a.backend.listing(listingId)).body);
    ctx.expectEqual(REQ, view.success ? view.data.diemRented : 'no listing view', onChain.diemRented, `the backend counts the rental funded while it was down in listing ${listingId}'s diemRented`);
  },
});

export const restartScenarios = [backendRestart];
