/**
 * AISP-ROB-01: seeded malformed requests at the target's published AISP endpoints, the backend and
 * the inference server (harness/robustness and reference-impl/aisp/protocol/fuzz.ts): bodies that
 * are not JSON, wrong shapes and types, negative, fractional, zero and huge amounts, ids that name
 * nothing, foreign, stale and misplaced signatures, bad or missing keys, wrong methods, unpublished
 * paths, transport-level defects. Each answer is below 500, a refusal where it could change state,
 * and carries no key it was not sent; after each batch nothing observable changed: the listing and
 * the rental on chain and in the backend's views, the marketplace's counters and escrow, the roles'
 * USDC and nonces, the key the funder gets, the keys each provider account lists (none issued, none
 * revoked), what the keys can still spend, and no marketplace or USDC event names them. Only the
 * requests every reading of the seed and the profile refuses are sent (protocol/fuzz.ts
 * `thirdPartyRequest`; the reference's own fuzz test sends the rest).
 *
 * The listing, rental and keys aimed at are set up once per target and reused by every run;
 * `AMH_ROBUSTNESS_REQUESTS` (`--long`: 10,000) sets how many requests a certification sends.
 */
import fc from 'fast-check';
import type { Address } from 'viem';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { ROBUSTNESS_RUNS, perRun, robustnessBudget, sendMalformedBatch, type AnswerRule, fixturePerTarget } from '../../harness/robustness/batch.ts';
import { asTopic, expectNoLogsSince, expectUnchanged, type Observables } from '../../harness/robustness/observe.ts';
import type { Capability } from '../../harness/target/schema.ts';
import { leakedSecret, malformedRequest, signNearMisses, thirdPartyRequest, type AispFuzzContext, type AispFuzzRequest } from '../../reference-impl/aisp/protocol/fuzz.ts';
import { marketplaceAbi } from '../../reference-impl/aisp/protocol/abi.ts';
import { DIEM } from '../../reference-impl/aisp/protocol/profile.ts';
import { keyAnswer, listingsAnswer, listKeysAnswer, rateLimitsAnswer } from '../../reference-impl/aisp/protocol/wire.ts';
import { ADMIN_KEYS, adminKey, AISP_NEEDS, aisp, fp, fund, getKey, issueKey, listWithKey, mine, model, type Aisp } from './lab.ts';

const REQ = 'AISP-ROB-01';
/** Malformed requests per certification at the default size (a few seconds against the reference). */
const NORMAL_REQUESTS = 200;
/** Roles whose USDC and nonces are watched. */
const WATCHED = ['provider', 'vendor1', 'buyer1', 'buyer2', 'attacker'] as const;
/** Observables that a new epoch (00:00 UTC of the lab clock) may change by itself: compared only within one epoch. */
const EPOCH = 'epoch:';

/** What every run aims at: set up once per target. */
type Fixture = Omit<AispFuzzContext, 'now' | 'validStore' | 'validGet' | 'sigs'>;

/** Fixtures by target (endpoints + chain): runs of one certification share one; kill variants each get theirs. */
const fixtureOf = fixturePerTarget(buildFixture);

async function buildFixture(a: Aisp): Promise<Fixture> {
  // Cheap terms: 1 DIEM for 30 days at 1,000 units per DIEM per day costs 0.03 USDC.
  const terms = { pricePerDay: 1_000n, termDays: 30n, diemMin: DIEM, diemMax: 10n * DIEM };
  const { listingId, key } = await listWithKey(a, 'provider', terms);
  const rented = await fund(a, 'buyer1', listingId, terms.termDays, DIEM);
  await mine(a, a.confirmations - 1);
  a.ctx.act('buyer1 gets the rental’s key');
  const got = await getKey(a, 'buyer1', rented.rentalId, { tries: 25 });
  if (got.status !== 200) throw new Indeterminate(REQ, `setup: the funder did not get its key (${got.status} ${a.show(got.body, 200)})`);
  const issued = await issueKey(a, 'provider', { limitDiem: 10n * DIEM });
  return {
    listingId,
    rentalId: rented.rentalId,
    // Far past any listing or rental count a chain will reach.
    unknownListingId: 10n ** 30n + 7n,
    storedKey: key.apiKey,
    issuedKey: issued.apiKey,
    adminKeys: [adminKey(a, 'provider'), adminKey(a, 'vendor1')],
    model: await model(a),
  };
}

/** A key list as a third party can compare it: who, what kind, which tail, until when (no usage counters). */
function keyList(a: Aisp, r: { status: number; body: unknown }): string {
  const p = listKeysAnswer.safeParse(r.body);
  if (r.status !== 200 || !p.success) return `${r.status} ${a.show(r.body, 200)}`;
  return JSON.stringify(
    p.data.data.map((k) => ({ id: k.id, type: k.apiKeyType, last6: k.last6Chars, expiresAt: (k as { expiresAt?: unknown }).expiresAt ?? null })).sort((x, y) => x.id.localeCompare(y.id)),
  );
}

/** Everything a third party can observe of the fixture: the chain, the backend's views, the inference server's key lists and balances. */
async function observe(a: Aisp, f: Fixture): Promise<Observables> {
  const out: Observables = {};
  const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  for (const role of WATCHED) {
    const who = a.s.address(role);
    out[`usdc ${role}`] = String(await a.s.balanceOf(a.usdc, who));
    out[`nonce ${role}`] = String(await a.s.public.getTransactionCount({ address: who, blockTag: 'latest' }));
  }
  out['usdc marketplace'] = String(await a.s.balanceOf(a.usdc, a.market));
  out.listingCount = String(await a.s.read(a.market, marketplaceAbi, 'listingCount'));
  out.rentalCount = String(await a.s.read(a.market, marketplaceAbi, 'rentalCount'));
  out.totalEscrowed = String(await a.s.read(a.market, marketplaceAbi, 'totalEscrowed'));
  out[`getListing ${f.listingId}`] = show(await a.s.read(a.market, marketplaceAbi, 'getListing', [f.listingId]));
  out[`getRental ${f.rentalId}`] = show(await a.s.read(a.market, marketplaceAbi, 'getRental', [f.rentalId]));
  // The backend's views.
  const one = await a.backend.listing(f.listingId);
  out[`GET /api/listings/${f.listingId}`] = `${one.status} ${a.show(one.body, 2000)}`;
  const all = await a.backend.listings();
  const listed = listingsAnswer.safeParse(all.body);
  out['GET /api/listings'] = listed.success
    ? `${all.status} ${JSON.stringify(listed.data.map((l) => l.listingId.toString()).sort())} ${a.show(listed.data.find((l) => l.listingId === f.listingId) ?? null, 2000)}`
    : `${all.status} ${a.show(all.body, 2000)}`;
  // The key the funder gets (a fresh signature each time), by fingerprint.
  const got = await getKey(a, 'buyer1', f.rentalId, { tries: 10 });
  const k = keyAnswer.safeParse(got.body);
  out['buyer1 get-key'] = got.status === 200 && k.success ? `200 ${fp(k.data.apiKey)} expiresAt ${k.data.expiresAt}` : `${got.status} ${a.show(got.body, 200)}`;
  // The inference server: every key of both accounts (none issued, none revoked), what the keys can spend.
  for (const [i, role] of (['provider', 'vendor1'] as const).entries()) {
    out[`GET /api_keys (${role})`] = keyList(a, await a.venice.listKeys(f.adminKeys[i]!));
  }
  let epoch = '';
  for (const [name, key] of [
    ['stored key', f.storedKey],
    ['issued key', f.issuedKey],
    ['provider ADMIN key', f.adminKeys[0]],
    ['vendor1 ADMIN key', f.adminKeys[1]],
  ] as const) {
    const r = await a.venice.rateLimits(key);
    const p = rateLimitsAnswer.safeParse(r.body);
    if (!p.success) {
      out[`rate_limits ${name}`] = `${r.status} ${a.show(r.body, 200)}`;
      continue;
    }
    out[`rate_limits ${name}`] = `${r.status} keyExpiration ${p.data.data.keyExpiration}`;
    out[`${EPOCH}rate_limits ${name} DIEM`] = String(p.data.data.balances.DIEM);
    epoch ||= p.data.data.nextEpochBegins;
  }
  const bal = await a.backend.balance(f.issuedKey);
  out[`${EPOCH}POST /api/balance (issued key)`] = `${bal.status} ${a.show(bal.body, 300)}`;
  out.epoch = epoch;
  return out;
}

/** Drops the epoch-bound observables when an epoch began during the batch (a limit reset is not the batch's doing). */
function sameEpoch(a: Aisp, before: Observables, after: Observables): [Observables, Observables] {
  if (before.epoch === after.epoch) return [before, after];
  a.ctx.act(`an epoch began during the batch (next epoch ${before.epoch} → ${after.epoch}): the DIEM balances are not compared`);
  const keep = (o: Observables) => Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith(EPOCH) && k !== 'epoch'));
  return [keep(before), keep(after)];
}

export const robustness = defineScenario({
  kind: 'property',
  id: 'robustness',
  title: 'Malformed requests at the backend and the inference server: no 5xx, refusals where state could change, no key revealed, and nothing observable changes',
  requirements: [REQ],
  needs: AISP_NEEDS,
  endpoints: ['aisp-backend', 'aisp-inference'],
  roles: ['provider', 'vendor1', 'buyer1', 'buyer2'],
  signers: ['attacker'],
  capabilities: [ADMIN_KEYS] as Capability[],
  isolation: 'live',
  maxRuns: ROBUSTNESS_RUNS,
  arbitrary: () => fc.noShrink(fc.integer()),
  async run(ctx, seed) {
    const a = await aisp(ctx, { backend: true, inference: true });
    const id = `${ctx.endpoint('aisp-backend').url}|${ctx.endpoint('aisp-inference').url}|${a.s.spec.rpcUrl}`;
    const f = await fixtureOf(id, a);
    const secrets = [f.storedKey, f.issuedKey, ...f.adminKeys];
    // This run's evidence scrubs the fixture's keys too.
    for (const k of secrets) a.secrets.add(k);
    const now = await a.now();
    const provider = a.account('provider');
    const renter = a.account('buyer1');
    const fz: AispFuzzContext = {
      ...f,
      now,
      // Fresh, unused: each rides only on a request that must be refused.
      validStore: await a.backend.signStoreKey(provider, f.listingId),
      validGet: await a.backend.signGetKey(renter, f.rentalId),
      sigs: await signNearMisses({ provider, renter, attacker: a.account('attacker'), listingId: f.listingId, rentalId: f.rentalId, unknownListingId: f.unknownListingId, now }),
    };
    const requests = fc.sample(malformedRequest(fz).filter(thirdPartyRequest), { seed, numRuns: perRun(robustnessBudget(NORMAL_REQUESTS)) });
    const noLeak: AnswerRule<AispFuzzRequest> = {
      what: 'no answer carries a key it was not sent',
      problem: (req, answer) => {
        const k = leakedSecret(req, `${JSON.stringify(answer.headers)}\n${answer.body}`, secrets);
        return k ? `the answer carries a key the request did not (${fp(k)})` : null;
      },
    };
    try {
      const before = await observe(a, f);
      const block = await a.s.public.getBlockNumber({ cacheTime: 0 });
      for (const [server, endpoint] of [
        ['backend', 'aisp-backend'],
        ['inference', 'aisp-inference'],
      ] as const) {
        const batch = requests.filter((r) => r.server === server);
        if (batch.length) await sendMalformedBatch(ctx, REQ, ctx.endpoint(endpoint).url, batch, `${server}, seed ${seed}`, noLeak);
      }
      ctx.act('reads the chain, the listing views, the funder’s key, the key lists and the balances again');
      const [b, after] = sameEpoch(a, before, await observe(a, f));
      expectUnchanged(ctx, REQ, b, after, 'after the batch');
      const roles: Address[] = [...WATCHED.map((r) => a.s.address(r)), a.market];
      await expectNoLogsSince(
        ctx,
        REQ,
        a.s,
        [
          { address: a.usdc, naming: roles.map(asTopic) },
          { address: a.market, naming: [asTopic(f.listingId), asTopic(f.rentalId), ...roles.map(asTopic)] },
        ],
        block,
        'after the batch',
      );
    } finally {
      // The fresh signatures could still act for a few minutes (a store-key signature does not cover the key it
      // stores) and a failing request's text reaches the report: the provider and the funder use them now, as
      // themselves, so they are spent whatever the batch did (not logged as an action: a counterexample ends at its failure).
      await a.backend.storeKey({ listingId: f.listingId, apiKey: f.storedKey, ...fz.validStore }).catch(() => undefined);
      await a.backend.getKey(f.rentalId, fz.validGet).catch(() => undefined);
    }
  },
});
