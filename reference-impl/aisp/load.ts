/**
 * AISP under load (`amh load --protocol aisp`): every load agent is a pair, a renter and a provider,
 * each with a key of its own (the renter funded with USDC, both with gas money, by the target's
 * funder role). In set-up each provider lists capacity on the target's DiemMarketplace and stores a
 * scoped key issued on the `provider` account of the target's inference server (its ADMIN key comes
 * from `config.aisp.adminKeys`, which the reference service publishes with `aisp:admin-keys`). One iteration is one
 * rental that the escrow resolves without moving the clock: the renter quotes, approves and funds a
 * two-day rental (agents/chain.ts), asks the backend for the key with the signed get-key message
 * (agents/renter.ts, again while it answers 409 not confirmed), makes one chat completion with it on
 * the inference server; then the provider revokes early (`revokeAndRefund`: the day in progress is
 * used, the rest refunded, 1% fee on what the provider earned) and rotates the listing's key
 * (agents/provider.ts), and the renter's old key must stop working.
 *
 * Conservation: the USDC of the renters, providers, fee recipient and marketplace adds up to what it
 * held before; the renters spent what they funded less what was refunded, the providers and the fee
 * recipient gained what the Revoked events the agents saw paid them; the marketplace (its balance and
 * `totalEscrowed`) gained exactly the cost of the rentals seen funded and not resolved; the chain holds
 * one Funded per funding seen (same ids, amounts) and one Revoked per revoke seen; every key release
 * names a rental its renter funded on chain, with that rental's expiresAt, and no rental got two.
 */
import type { Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { addressSet, balancesOf, blockNumber, chainClients, eventLogs, fundAgents, fundGas } from '../../harness/load/chain.ts';
import { errorClass } from '../../harness/load/measure.ts';
import { defineLoad, equalCheck, expectStatus, LoadFailure, ledgerSum, unlessOutOfFunds, type IterationContext, type LedgerEntry, type LoadEnv } from '../../harness/load/pack.ts';
import { chainToken, endpointOf, TargetError } from '../../harness/target/schema.ts';
import { createBackendClient } from './agents/backend.ts';
import { createMarketChain, type MarketChain } from './agents/chain.ts';
import { createProvider, type Provider } from './agents/provider.ts';
import { createRenter, type Renter } from './agents/renter.ts';
import { createVeniceClient } from './agents/venice.ts';
import { marketplaceAbi } from './protocol/abi.ts';
import { revokeSplit } from './protocol/fees.ts';
import { LAB_MODEL } from './protocol/inference.ts';
import { DIEM } from './protocol/profile.ts';
import { keyAnswer } from './protocol/wire.ts';

/** $0.01 per DIEM per day; one DIEM for two days costs $0.02, and an early revoke refunds about half. */
const TERMS = { pricePerDay: 10_000n, termDays: 2n, diemMin: DIEM, diemMax: 1_000_000n * DIEM };
const RENT = { termDays: 2n, diem: DIEM };
/**
 * Rentals' worth of USDC each renter gets per planned second. An idle 2-core machine runs about 10
 * rentals a second per agent (2026-12-05: 295 in 6 s by 5 agents); at 5 the renters ran dry after
 * about 60 and every later fund reverted ("transfer amount exceeds balance"). A funder holding less
 * than this for every agent gives each an equal share (fundAgents).
 */
const RENTALS_PER_SECOND_FUNDED = 40n;
/** Gas money per agent key (anvil's base fee is about a gwei: this pays for tens of thousands of sends). */
const GAS_WEI = 10n ** 17n;
const INFERENCE_ACCOUNT = 'provider';

const eventOf = (name: string) => marketplaceAbi.find((x) => x.type === 'event' && x.name === name) as Extract<(typeof marketplaceAbi)[number], { type: 'event' }>;

/** A revert or a refused send of an agent's own transaction, as a load failure of its kind. */
async function onChain<T>(kind: string, step: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (e) {
    // A lost connection or a timeout to the node stays in its own class.
    if (['connection', 'timeout'].includes(errorClass(e).cls)) throw e;
    throw new LoadFailure(kind, `${step}: ${(e as { shortMessage?: string }).shortMessage ?? (e as Error).message}`.slice(0, 300));
  }
}

async function setup(env: LoadEnv) {
  const backendUrl = endpointOf(env.target, 'aisp-backend')!.url;
  const veniceUrl = endpointOf(env.target, 'aisp-inference')!.url;
  const spec = env.target.chains.find((c) => c.contracts.diemMarketplace && chainToken(c, 'usdc'));
  if (!spec) throw new TargetError('no target chain declares usdc and diemMarketplace');
  const adminKey = ((env.target.config.aisp ?? {}) as { adminKeys?: Record<string, string> }).adminKeys?.[INFERENCE_ACCOUNT];
  if (!adminKey) throw new TargetError(`the load providers issue scoped keys: the target must name config.aisp.adminKeys.${INFERENCE_ACCOUNT} (its inference server's ADMIN key)`);
  const c = chainClients(env.target, spec.chainId);
  const usdc = chainToken(spec, 'usdc')!.address as Address;
  const marketplace = spec.contracts.diemMarketplace as Address;
  const view = <T>(functionName: string, args: readonly unknown[] = []) => c.public.readContract({ address: marketplace, abi: marketplaceAbi, functionName, args } as never) as Promise<T>;
  const [feeRecipient, feeBps] = await Promise.all([view<Address>('feeRecipient'), view<bigint>('feeBps')]);

  const renterKeys = Array.from({ length: env.agents }, (_, i) => env.key(i, 'renter'));
  const providerKeys = Array.from({ length: env.agents }, (_, i) => env.key(i, 'provider'));
  const renterAddresses = renterKeys.map((k) => k.address);
  const providerAddresses = providerKeys.map((k) => k.address);
  await fundGas(c, [...renterAddresses, ...providerAddresses], GAS_WEI);
  const market = (privateKey: `0x${string}`): MarketChain => createMarketChain({ rpcUrl: spec.rpcUrl, chainId: spec.chainId, marketplace, usdc, privateKey });
  const renterChains = renterKeys.map((k) => market(k.privateKey));
  const providerChains = providerKeys.map((k) => market(k.privateKey));
  // Signed timestamps follow chain time: read once, then kept by the host clock.
  const chainNow = Number((await c.public.getBlock({ blockTag: 'latest' })).timestamp);
  const offset = chainNow - Math.floor(Date.now() / 1000);
  const clock = async () => Math.floor(Date.now() / 1000) + offset;
  // The agents' HTTP goes through `http`: set-up's unmeasured client, then the iterations' measured one.
  let http: typeof fetch = env.fetch;
  const viaHttp: typeof fetch = (input, init) => http(input, init);
  const backend = createBackendClient(backendUrl, { fetchImpl: viaHttp, clock });
  const venice = createVeniceClient(veniceUrl, viaHttp);
  const providers: Provider[] = [];
  const listingIds: bigint[] = [];
  for (let i = 0; i < env.agents; i++) {
    const p = createProvider({ chain: providerChains[i]!, backend, venice, account: privateKeyToAccount(providerKeys[i]!.privateKey), adminKey });
    const { listingId } = await p.createListing(TERMS).catch((e: Error) => {
      throw new TargetError(`load provider ${i} could not list on ${marketplace} and store its key: ${e.message}`);
    });
    providers.push(p);
    listingIds.push(listingId);
  }
  const cost = await providerChains[0]!.quote(listingIds[0]!, RENT.termDays, RENT.diem);
  const each = await fundAgents(c, usdc, renterAddresses, cost * RENTALS_PER_SECOND_FUNDED * BigInt(env.seconds), cost, env.log);
  const renters: Renter[] = renterKeys.map((k, i) => createRenter({ chain: renterChains[i]!, backend, venice, account: privateKeyToAccount(k.privateKey), retryDelayMs: 100 }));

  const snapshot = async () => {
    const renters = await balancesOf(c, usdc, renterAddresses);
    const providers = await balancesOf(c, usdc, providerAddresses);
    const [fees, market] = await balancesOf(c, usdc, [feeRecipient, marketplace]);
    const escrowed = await view<bigint>('totalEscrowed');
    const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);
    return { renters: sum(renters), perRenter: renters, providers: sum(providers), fees: fees!, market: market!, escrowed };
  };
  const fromBlock = (await blockNumber(c)) + 1n;
  const before = await snapshot();
  /** expiresAt per rental id as the key answers gave it (unix seconds). */
  const keyExpiry = new Map<string, number>();

  return {
    describe: `${env.agents} renters funded with ${each} USDC base units each and ${env.agents} providers (listings ${listingIds[0]}..${listingIds.at(-1)} at ${TERMS.pricePerDay} per DIEM per day, keys on the '${INFERENCE_ACCOUNT}' inference account); a rental of ${RENT.diem / DIEM} DIEM for ${RENT.termDays} days costs ${cost}; fee ${feeBps} bps to ${feeRecipient}`,
    async iterate(agent: number, ctx: IterationContext) {
      const rc = renterChains[agent]!;
      const pc = providerChains[agent]!;
      const listingId = listingIds[agent]!;
      http = ctx.fetch;
      const renter = renters[agent]!;
      const provider = providers[agent]!;
      // The renter: quote, approve, fund (the seed's rent, step by step so the ledger sees the funding).
      const price = await onChain('quote-failed', 'quote', () => rc.quote(listingId, RENT.termDays, RENT.diem));
      await onChain('approve-failed', 'approve', () => rc.approve(price));
      // A fund that reverted moved nothing: a renter whose USDC ran out stops.
      const funds = { step: 'fund', needed: price, balance: async () => (await balancesOf(c, usdc, [renterAddresses[agent]!]))[0]! };
      const funded = await unlessOutOfFunds(funds, () => onChain('fund-failed', 'fund', () => rc.fund(listingId, RENT.termDays, RENT.diem)));
      if (funded.rentalId === undefined) throw new LoadFailure('no-funded-event', `fund mined without a Funded event (${funded.receipt.transactionHash})`);
      const id = funded.rentalId.toString();
      ctx.ledger('funded', funded.cost, id);
      const k = await renter.getKey(funded.rentalId);
      expectStatus(k.status, 200, 'get key', k.body);
      const key = keyAnswer.safeParse(k.body);
      if (!key.success) throw new LoadFailure('bad-key-answer', `a 200 key answer without apiKey/expiresAt: ${k.text.slice(0, 200)}`);
      const named = k.body as { rentalId?: unknown; listingId?: unknown };
      if ((named.rentalId !== undefined && String(named.rentalId) !== id) || (named.listingId !== undefined && String(named.listingId) !== listingId.toString()))
        throw new LoadFailure('key-for-another-rental', `asked for rental ${id} of listing ${listingId}, the answer names rental ${named.rentalId} of listing ${named.listingId}`);
      keyExpiry.set(id, key.data.expiresAt);
      ctx.ledger('key', 0n, id);
      const used = await renter.use(key.data.apiKey, LAB_MODEL, `load rental ${id}: one question`);
      expectStatus(used.status, 200, 'chat completion with the rented key', used.body);
      // The provider ends the rental early and rotates the listing's key.
      const revoked = await onChain('revoke-failed', 'revokeAndRefund', () => pc.revokeAndRefund(funded.rentalId));
      const ev = revoked.events.find((e) => e.eventName === 'Revoked')?.args as { refund: bigint; providerAmount: bigint; fee: bigint; usedDays: bigint } | undefined;
      if (!ev) throw new LoadFailure('no-revoked-event', `revokeAndRefund mined without a Revoked event (${revoked.receipt.transactionHash})`);
      ctx.ledger('refunded', ev.refund, id);
      ctx.ledger('provider-paid', ev.providerAmount, id);
      ctx.ledger('fee', ev.fee, id);
      const want = revokeSplit(funded.cost, RENT.termDays, ev.usedDays, feeBps);
      if (want.refund !== ev.refund || want.provider !== ev.providerAmount || want.fee !== ev.fee)
        throw new LoadFailure(
          'wrong-split',
          `Revoked pays refund ${ev.refund}, provider ${ev.providerAmount}, fee ${ev.fee}; the profile's split of ${funded.cost} after ${ev.usedDays} day(s) is ${want.refund}/${want.provider}/${want.fee}`,
        );
      await provider.rotateKey(listingId).catch((e: Error) => {
        throw new LoadFailure('rotate-failed', e.message);
      });
      const old = await renter.use(key.data.apiKey, LAB_MODEL, `load rental ${id}: after the revoke`);
      if (old.status !== 401) throw new LoadFailure('revoked-key-works', `the revoked renter's key answered ${old.status} after the rotation (401 expected)`);
    },
    async conservation(ledger: readonly LedgerEntry[]) {
      const toBlock = await blockNumber(c);
      const after = await snapshot();
      const ours = addressSet(renterAddresses);
      const fundedLogs = (await eventLogs(c, marketplace, eventOf('Funded'), fromBlock, toBlock)).filter((l) => ours.has((l.args as { renter: string }).renter.toLowerCase()));
      const rentals = new Map(fundedLogs.map((l) => [(l.args as { rentalId: bigint }).rentalId.toString(), l.args as { renter: Address; listingId: bigint; cost: bigint; expiresAt: bigint }]));
      const revokedLogs = (await eventLogs(c, marketplace, eventOf('Revoked'), fromBlock, toBlock)).filter((l) => rentals.has((l.args as { rentalId: bigint }).rentalId.toString()));
      const settledLogs = (await eventLogs(c, marketplace, eventOf('Settled'), fromBlock, toBlock)).filter((l) => rentals.has((l.args as { rentalId: bigint }).rentalId.toString()));
      const refs = (kind: string) => ledger.filter((e) => e.kind === kind).map((e) => e.ref);
      const funded = refs('funded');
      const resolved = new Set(refs('refunded'));
      const unresolved = ledger.filter((e) => e.kind === 'funded' && !resolved.has(e.ref)).reduce((a, e) => a + e.amount, 0n);
      const sumOf = (ls: readonly { args: unknown }[], field: string) => ls.reduce((a, l) => a + (l.args as Record<string, bigint>)[field]!, 0n);
      const mismatched = renterAddresses.filter((_, i) => before.perRenter[i]! - after.perRenter[i]! !== ledgerSum(ledger, 'funded', i) - ledgerSum(ledger, 'refunded', i)).length;
      const releases = ledger.filter((e) => e.kind === 'key');
      const unmatched = releases.filter((e) => {
        const r = rentals.get(e.ref);
        return !r || r.renter.toLowerCase() !== renterAddresses[e.agent]!.toLowerCase() || r.listingId !== listingIds[e.agent];
      }).length;
      const wrongExpiry = releases.filter((e) => {
        const r = rentals.get(e.ref);
        return r !== undefined && BigInt(keyExpiry.get(e.ref) ?? -1) !== r.expiresAt;
      }).length;
      const total = (s: typeof before) => s.renters + s.providers + s.fees + s.market;
      return {
        holdings: [
          { name: `renters' USDC (${env.agents})`, before: before.renters, after: after.renters },
          { name: `providers' USDC (${env.agents})`, before: before.providers, after: after.providers },
          { name: `fee recipient's USDC ${feeRecipient}`, before: before.fees, after: after.fees },
          { name: `marketplace's USDC ${marketplace}`, before: before.market, after: after.market },
          { name: 'marketplace totalEscrowed', before: before.escrowed, after: after.escrowed },
        ],
        checks: [
          equalCheck("renters' + providers' + fee recipient's + marketplace's USDC hold what they held before", total(before), total(after), 'money created or lost'),
          equalCheck("renters' spend = rentals funded - refunds, as the renters saw them", ledgerSum(ledger, 'funded') - ledgerSum(ledger, 'refunded'), before.renters - after.renters),
          equalCheck('renters whose spend differs from their own ledger', 0, mismatched),
          equalCheck("providers' gain = what the Revoked events seen paid them", ledgerSum(ledger, 'provider-paid'), after.providers - before.providers),
          equalCheck("fee recipient's gain = fees seen", ledgerSum(ledger, 'fee'), after.fees - before.fees),
          equalCheck("marketplace's USDC gain = cost of the rentals seen funded and not resolved", unresolved, after.market - before.market, 'the escrow holds exactly the unsettled rentals'),
          equalCheck('totalEscrowed gain = cost of the rentals seen funded and not resolved', unresolved, after.escrowed - before.escrowed),
          equalCheck('Funded on chain by the renters = fundings seen', funded.length, fundedLogs.length, 'more on chain: a rental funded without the renter seeing it, or twice'),
          equalCheck('distinct rentals = fundings seen', funded.length, new Set(funded).size, 'one rental id reported for two fundings'),
          equalCheck('Funded on chain for a rental nobody saw funded', 0, [...rentals.keys()].filter((id) => !funded.includes(id)).length),
          equalCheck('amount funded on chain = amount seen funded', ledgerSum(ledger, 'funded'), sumOf(fundedLogs, 'cost')),
          equalCheck('Revoked on chain = revokes seen', resolved.size, revokedLogs.length),
          equalCheck('refunds on chain = refunds seen', ledgerSum(ledger, 'refunded'), sumOf(revokedLogs, 'refund')),
          equalCheck('Settled on chain for these rentals (none was settled)', 0, settledLogs.length),
          equalCheck('key releases without a rental its renter funded on that listing', 0, unmatched),
          equalCheck("key releases whose expiresAt differs from the rental's on chain", 0, wrongExpiry, 'the key outlives (or dies before) what was paid for'),
          equalCheck('rentals whose key was released twice', 0, releases.length - new Set(releases.map((e) => e.ref)).size),
        ],
      };
    },
  };
}

export default defineLoad({
  protocol: 'aisp',
  iteration:
    "one rental resolved by the escrow: the renter quotes, approves and funds a 2-day rental of its provider's listing, gets the key from the backend (EIP-191 get-key), makes one chat completion with it; the provider revokes early (refund, provider share, 1% fee) and rotates the key; the old key must answer 401",
  endpoints: ['aisp-backend', 'aisp-inference'],
  setup,
});
