/**
 * AISP under duplicate delivery (issue 15): the harness's fault proxy (harness/faults) sits between
 * the agents and the target's backend and inference server, and delivers a state-changing request
 * twice, both copies at once or the second after the first was answered. It needs no capability, so
 * `amh certify` runs it against any deployment; a case whose fault never fired is indeterminate.
 *
 * The backend's state-changing requests are signed and a signature is accepted once (AISP-PROF-12),
 * so the signature is the request's identity: the copy of a store-key or a get-key gets the first
 * delivery's outcome or a 4xx, never a 5xx; the listing then has exactly the key sent and counts the
 * rental once. A chat completion delivered twice is two calls: each one served is debited once, and
 * never past the key's limit (AISP-PROF-24).
 */
import fc from 'fast-check';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { describeHit, expectFired, withFaultProxy, type FaultProxy, type Trigger } from '../../harness/faults/index.ts';
import type { Capability } from '../../harness/target/schema.ts';
import { createBackendClient, type BackendClient } from '../../reference-impl/aisp/agents/backend.ts';
import { ask, createVeniceClient, type VeniceClient } from '../../reference-impl/aisp/agents/venice.ts';
import { AISP_PROFILE, DIEM } from '../../reference-impl/aisp/protocol/profile.ts';
import { chatAnswer, keyAnswer } from '../../reference-impl/aisp/protocol/wire.ts';
import {
  ADMIN_KEYS,
  adminKey,
  aisp,
  AISP_NEEDS,
  costOf,
  expectListing,
  fp,
  fund,
  getKey,
  hasKeyField,
  is2xx,
  is4xx,
  issueKey,
  list,
  mine,
  model,
  PROVIDERS,
  RENTERS,
  spendable,
  type Aisp,
} from './lab.ts';

const REQ = 'AISP-FLT-01';
const MODES = ['concurrent', 'sequential'] as const;
type Mode = (typeof MODES)[number];
const twice = (m: Mode) => (m === 'concurrent' ? 'twice at once' : 'twice, the copy after the first was answered');

/** The state-changing requests, by path (a target's base URL may carry a prefix). */
const STORE_KEY = /\/api\/keys(\?|$)/;
const GET_KEY = /\/api\/key\/\d+(\?|$)/;
const CHAT = /\/chat\/completions(\?|$)/;
/** A get-key answered 404/409 on every delivery (not indexed or not confirmed yet) is tried again with a fresh signature, this often. */
const GET_KEY_TRIES = 11;
const PROMPT = 'One line on renting idle inference capacity.';
const EPOCH = AISP_PROFILE.epochSeconds;

/** One delivery's answer as the server gave it (the client saw only the first). */
interface Delivery {
  who: string;
  status: number;
  body: unknown;
}

/** The agents' clients, talking through the fault proxies. */
interface Via {
  backend: BackendClient;
  venice: VeniceClient;
  proxies: { backend: FaultProxy; inference: FaultProxy };
}

/**
 * Sends one request (`send`) while a fault on `when` delivers it twice; both deliveries' answers.
 * Every delivery must be answered: a copy that loses its connection is a failure, not a refusal.
 */
async function deliveredTwice(a: Aisp, proxy: FaultProxy, mode: Mode, what: string, when: Trigger, send: () => Promise<unknown>): Promise<Delivery[]> {
  const fault = proxy.arm({ name: `${what} delivered ${twice(mode)}`, when, action: { kind: 'duplicate', mode } });
  try {
    await send();
  } finally {
    fault.disarm();
  }
  expectFired(fault, REQ, `${what} never reached the proxy`);
  const hit = fault.hits[0]!;
  // Answers may hold the released key: scrubbed whole before describeHit cuts them (a cut key would escape the scrubber).
  const scrubbed = { ...hit, upstream: hit.upstream.map((u) => ({ ...u, body: Buffer.from(a.show(u.body.toString('utf8'), Number.POSITIVE_INFINITY)) })) };
  const shown = describeHit(fault, scrubbed);
  a.ctx.evidence.note(shown);
  a.ctx.check(REQ, hit.errors.length === 0 && hit.upstream.length === 2, `both deliveries of ${what} are answered`, { expected: '2 answers', actual: shown });
  return hit.upstream.map((u, i) => {
    const text = u.body.toString('utf8');
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: judged as the text
    }
    return { who: `delivery ${i + 1} of 2`, status: u.status, body };
  });
}

/**
 * Every delivery is served (`served`: what the honest request gets) or refused with a 4xx carrying
 * no key, never a 5xx; at least one is served; the served ones agree (`outcome`).
 */
function judge(a: Aisp, what: string, ds: Delivery[], expected: string, served: (d: Delivery) => boolean, outcome: (d: Delivery) => string): void {
  for (const d of ds)
    a.ctx.check(REQ, served(d) || (is4xx(d.status) && !hasKeyField(d.body)), `${what}, ${d.who}: ${expected}, or a 4xx without a key (never a 5xx)`, {
      expected: `${expected} or a 4xx`,
      actual: `${d.status} ${a.show(d.body, 200)}`,
    });
  const ok = ds.filter(served);
  a.ctx.check(REQ, ok.length > 0, `one delivery of ${what} is served`, {
    expected: `at least one ${expected}`,
    actual: ds.map((d) => `${d.who}: ${d.status} ${a.show(d.body, 160)}`).join(' | '),
  });
  const outcomes = [...new Set(ok.map(outcome))];
  a.ctx.check(REQ, outcomes.length <= 1, `the served deliveries of ${what} have the same outcome`, { expected: 'one outcome', actual: outcomes.join(' | ') });
}

/** `renter` asks for the key through the proxy, delivered twice; tried again while every delivery says "not yet" (404/409). */
async function getKeyTwice(a: Aisp, via: Via, mode: Mode, renter: string, rentalId: bigint): Promise<Delivery[]> {
  for (let i = 1; ; i++) {
    const signed = await a.backend.signGetKey(a.account(renter), rentalId);
    a.ctx.act(`${renter} asks for the key of rental ${rentalId}; the network delivers the request ${twice(mode)}`);
    const ds = await deliveredTwice(a, via.proxies.backend, mode, `${renter}'s get-key for rental ${rentalId}`, { method: 'POST', path: GET_KEY }, () => via.backend.getKey(rentalId, signed));
    const notYet = ds.some((d) => d.status === 404 || d.status === 409) && ds.every((d) => is4xx(d.status));
    if (!notYet || i === GET_KEY_TRIES) return ds;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One mode, every request kind: a funded rental whose key is stored, released and used, each request delivered twice. */
async function oneMode(a: Aisp, via: Via, mode: Mode, v: { provider: string; renter: string; price: bigint }, m: string, cost: bigint): Promise<void> {
  const ctx = a.ctx;
  const listingId = await list(a, v.provider, { pricePerDay: v.price, termDays: 1n, diemMin: DIEM, diemMax: 2n * DIEM });
  // Room for one call and a half: of two deliveries of one call, exactly one fits.
  const limit = cost + cost / 2n;
  const key = await issueKey(a, v.provider, { limitDiem: limit });

  // ---- store-key for a funded rental that waits for it: exactly the key sent is stored ----
  const f = await fund(a, v.renter, listingId, 1n, DIEM);
  await mine(a, a.confirmations - 1);
  const storeSigned = await a.backend.signStoreKey(a.account(v.provider), listingId);
  ctx.act(`${v.provider} stores its key for listing ${listingId}; the network delivers the request ${twice(mode)}`);
  const stores = await deliveredTwice(a, via.proxies.backend, mode, `${v.provider}'s store-key for listing ${listingId}`, { method: 'POST', path: STORE_KEY }, () =>
    via.backend.storeKey({ listingId, apiKey: key.apiKey, ...storeSigned }),
  );
  judge(
    a,
    'the store-key',
    stores,
    'a 2xx',
    (d) => is2xx(d.status),
    () => 'stored',
  );
  const stored = await expectListing(a, listingId, `after the store-key delivered ${twice(mode)}`, REQ);
  ctx.check(REQ, stored?.hasKey === true, `listing ${listingId} has a key`, { expected: 'hasKey true', actual: stored ? `hasKey ${stored.hasKey}` : 'no listing view' });

  // ---- get-key: the stored key, the rental counted once ----
  const gets = await getKeyTwice(a, via, mode, v.renter, f.rentalId);
  const released = (d: Delivery) => {
    const k = keyAnswer.safeParse(d.body);
    return d.status === 200 && k.success && k.data.apiKey === key.apiKey;
  };
  judge(a, 'the get-key', gets, `200 with the stored key (${fp(key.apiKey)})`, released, (d) => `expiresAt ${keyAnswer.parse(d.body).expiresAt}`);
  await expectListing(a, listingId, `after the get-key delivered ${twice(mode)} (the rental counted once)`, REQ);
  ctx.act(`${v.renter} asks for the key again with a fresh signature`);
  const again = await getKey(a, v.renter, f.rentalId, { tries: GET_KEY_TRIES });
  ctx.check(REQ, released({ who: 'again', ...again }), `${v.renter} still gets exactly the stored key with a fresh signature`, {
    expected: `200 the stored key (${fp(key.apiKey)})`,
    actual: `${again.status} ${a.show(again.body, 200)}`,
  });

  // ---- a chat completion: each served call debited once, never past the key's limit ----
  const admin = adminKey(a, v.provider);
  const epoch0 = Math.floor((await a.now()) / EPOCH);
  const k0 = (await spendable(a, key.apiKey)).units;
  const acct0 = (await spendable(a, admin)).units;
  ctx.act(`${v.renter} calls ${m} with the rented key (room for one call of ${cost} DIEM units: ${limit}); the network delivers the call ${twice(mode)}`);
  const calls = await deliveredTwice(a, via.proxies.inference, mode, 'a chat completion with the rented key', { method: 'POST', path: CHAT }, () => via.venice.chat(key.apiKey, ask(m, PROMPT)));
  const servedCall = (d: Delivery) => d.status === 200 && chatAnswer.safeParse(d.body).success;
  // Each served delivery is a call of its own: their texts need not agree.
  judge(a, 'the chat completion', calls, '200 with a chat.completion', servedCall, () => 'served');
  const served = calls.filter(servedCall).length;
  const k1 = (await spendable(a, key.apiKey)).units;
  const acct1 = (await spendable(a, admin)).units;
  // Limits reset at 00:00 UTC of the lab clock: balances across it say nothing of this call.
  if (Math.floor((await a.now()) / EPOCH) !== epoch0) throw new Indeterminate(REQ, 'a new epoch began during the call: the balances cannot be compared');
  const spent = k0 !== undefined && k1 !== undefined ? k0 - k1 : undefined;
  ctx.check(REQ, served === 1, `with room for one call (limit ${limit}, a call costs ${cost}) exactly one delivery is served`, { expected: 1, actual: served });
  ctx.check(REQ, spent !== undefined && spent === cost * BigInt(served), `the key paid ${cost} per served delivery (${served})`, {
    expected: cost * BigInt(served),
    actual: spent === undefined ? 'no balance' : spent,
  });
  ctx.check(REQ, spent !== undefined && acct0 !== undefined && acct1 !== undefined && acct0 - acct1 === spent, `${v.provider}'s account paid exactly what the key spent`, {
    expected: spent,
    actual: acct0 !== undefined && acct1 !== undefined ? acct0 - acct1 : 'no balance',
  });
}

export const duplicateDelivery = defineScenario({
  kind: 'property',
  id: 'fault-duplicate-delivery',
  title:
    "Every state-changing request delivered twice (at once, or the copy after the first answer): store-key and get-key act once (the stored key, released to the funder; the rental counted once), a chat completion is debited per served delivery within the key's limit; copies get the same outcome or a 4xx",
  requirements: [REQ],
  needs: AISP_NEEDS,
  endpoints: ['aisp-backend', 'aisp-inference'],
  roles: [...PROVIDERS, ...RENTERS],
  capabilities: [ADMIN_KEYS] as Capability[],
  isolation: 'live',
  // Both modes and every request kind run in every run; more runs only vary the roles and the order.
  maxRuns: 2,
  arbitrary: () =>
    fc.record({
      provider: fc.constantFrom(...PROVIDERS),
      renter: fc.constantFrom(...RENTERS),
      price: fc.bigInt({ min: 1n, max: 50_000n }),
      modes: fc.shuffledSubarray([...MODES], { minLength: MODES.length }),
    }),
  async run(ctx, v) {
    const a = await aisp(ctx, { backend: true, inference: true });
    const m = await model(a);
    const cost = await costOf(a, m, PROMPT);
    const backendUrl = ctx.endpoint('aisp-backend').url;
    const inferenceUrl = ctx.endpoint('aisp-inference').url;
    await withFaultProxy(backendUrl, (pb) =>
      withFaultProxy(inferenceUrl, async (pi) => {
        const via: Via = {
          backend: createBackendClient(pb.through(backendUrl), { fetchImpl: a.fetch, clock: a.now }),
          venice: createVeniceClient(pi.through(inferenceUrl), a.fetch),
          proxies: { backend: pb, inference: pi },
        };
        for (const mode of v.modes) await oneMode(a, via, mode, v, m, cost);
      }),
    );
  },
});

export const faultScenarios = [duplicateDelivery];
