/**
 * X402-ROB-01: seeded malformed requests at the target's published x402 endpoints (the resource as
 * declared, and the facilitator when declared; harness/robustness and
 * reference-impl/x402/protocol/fuzz.ts): payment headers that are not base64, not JSON, the wrong
 * shape or properly signed near-misses, valid payments attached to requests that must be refused
 * (another method on the resource, an unpublished path below or beside it), bodies that are not
 * JSON, mangled paths, transport-level defects. Each answer is below 500 and a refusal where it
 * could have served a paid resource; after the batch no USDC moved for any of the harness's
 * accounts or the payee, no valid payment's nonce was used (no AuthorizationUsed), and /supported
 * answers as before.
 *
 * `AMH_ROBUSTNESS_REQUESTS` (`--long`: 10,000) sets how many requests a certification sends.
 */
import fc from 'fast-check';
import type { Address, Hex } from 'viem';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { ROBUSTNESS_RUNS, perRun, robustnessBudget, sendMalformedBatch } from '../../harness/robustness/batch.ts';
import { asTopic, expectNoLogsSince, expectUnchanged, readRoutes, type Observables } from '../../harness/robustness/observe.ts';
import { eip3009TokenAbi } from '../../reference-impl/x402/protocol/eip3009.ts';
import { authorizationOf, malformedFacilitatorRequest, malformedResourceRequest, signPaymentNearMisses, type ResourceFuzzContext } from '../../reference-impl/x402/protocol/fuzz.ts';
import { BASE, BUYERS, offer, type Offer } from './lab.ts';

/** Malformed requests per certification at the default size (a few seconds against the reference). */
const NORMAL_REQUESTS = 200;
/** Share of the batch sent to the facilitator, when the target declares one. */
const FACILITATOR_SHARE = 0.25;

/** Balances of the buyers, the attacker and the payee, the valid payments' nonces, and the buyers' account nonces. */
async function observe(o: Offer, holders: Record<string, Address>, valid: { from: Address; nonce: Hex }[], facilitator: string | undefined): Promise<Observables> {
  const out: Observables = {};
  for (const [label, a] of Object.entries(holders)) {
    out[`usdc ${label}`] = String(await o.s.balanceOf(o.token, a));
    out[`nonce ${label}`] = String(await o.s.public.getTransactionCount({ address: a, blockTag: 'latest' }));
  }
  for (const p of valid) out[`authorizationState ${p.from} ${p.nonce}`] = String(await o.s.read(o.token, eip3009TokenAbi, 'authorizationState', [p.from, p.nonce]));
  if (facilitator) Object.assign(out, await readRoutes(facilitator, { '/supported': undefined }));
  return out;
}

export const robustness = defineScenario({
  kind: 'property',
  id: 'robustness',
  title: 'Malformed requests at the resource (and facilitator): no 5xx, refusals where a payment could be taken, no valid payment settled, nothing moved',
  requirements: ['X402-ROB-01'],
  ...BASE,
  maxRuns: ROBUSTNESS_RUNS,
  arbitrary: () => fc.noShrink(fc.integer()),
  async run(ctx, seed) {
    const o = await offer(ctx);
    const signed = await signPaymentNearMisses({
      buyerKey: ctx.key('buyer1'),
      attackerKey: ctx.key('attacker'),
      someoneElse: o.s.address('attacker'),
      offered: o.req,
      chainId: o.s.chainId,
      chainNow: await o.s.pendingTime(),
    });
    const u = new URL(o.url);
    const fz: ResourceFuzzContext = {
      offered: o.req,
      someAddress: '0x000000000000000000000000000000000000dEaD',
      ...signed,
      resource: {
        path: `${u.pathname}${u.search}`,
        method: (o.shape.method ?? 'GET').toUpperCase(),
        body: o.shape.body === undefined ? undefined : JSON.stringify(o.shape.body),
        headers: o.shape.headers ?? {},
      },
    };
    const total = perRun(robustnessBudget(NORMAL_REQUESTS));
    const fac = ctx.target.endpoints['x402-facilitator'] ? new URL(ctx.endpoint('x402-facilitator').url) : undefined;
    const toFacilitator = fac ? Math.round(total * FACILITATOR_SHARE) : 0;
    const resourceRequests = fc.sample(malformedResourceRequest(fz), { seed, numRuns: total - toFacilitator });
    const facilitatorRequests = fac ? fc.sample(malformedFacilitatorRequest(fz, fac.pathname.replace(/\/+$/, '')), { seed: seed ^ 0x5eed, numRuns: toFacilitator }) : [];

    const holders: Record<string, Address> = { ...Object.fromEntries(BUYERS.map((b) => [b, o.s.address(b)])), attacker: o.s.address('attacker'), payTo: o.req.payTo as Address };
    const valid = signed.validPayments.map(authorizationOf).filter((x): x is { from: Address; nonce: Hex } => x !== undefined);
    const facilitatorBase = fac ? ctx.endpoint('x402-facilitator').url : undefined;
    const before = await observe(o, holders, valid, facilitatorBase);
    const block = await o.s.public.getBlockNumber({ cacheTime: 0 });
    await sendMalformedBatch(ctx, 'X402-ROB-01', u.origin, resourceRequests, `resource ${u.pathname}, seed ${seed}`);
    if (fac) await sendMalformedBatch(ctx, 'X402-ROB-01', fac.origin, facilitatorRequests, `facilitator, seed ${seed}`);
    ctx.act('reads the balances, nonces and authorization states again');
    expectUnchanged(ctx, 'X402-ROB-01', before, await observe(o, holders, valid, facilitatorBase), 'after the batch');
    await expectNoLogsSince(ctx, 'X402-ROB-01', o.s, [{ address: o.token, naming: Object.values(holders).map(asTopic) }], block, 'after the batch');
  },
});
