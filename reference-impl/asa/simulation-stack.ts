/**
 * NIP-A5 on the real stack for `amh simulate --engine stack`: the asa reference service (the
 * simulated Lightning network with its two hubs, and the Nostr relay) and one reference provider
 * agent (server/provider.ts) per simulated seller, on the seller's own Nostr key and Lightning node,
 * listing the seller's price in sats. Every buyer is a scripted requester (agents/requester.ts) on
 * its own Nostr key, paying from its own Lightning node with the network's client.
 *
 * Money is the network's: a buyer is funded by a channel to hub A holding its balance on its side;
 * a seller's node starts with channels from both hubs holding nothing on its side (so its balance is
 * what it was paid), hub A's side of them carrying the hubs' policy of the economy's profile. A
 * node's balance is the sum of its channel sides; `fees:asa` is what the hubs gained since the
 * start (their routing fees). Nothing holds money for an agent (no escrow, nothing owed).
 *
 * Each task runs the lifecycle the model runs (simulation.ts) with the answers observed for real:
 * the capability (38400) read from the relay, the offer and the agreement DM'd over NIP-17 and the
 * 38402 `active` read back, the L402 challenge's invoice decoded (payee node, amount), the payment
 * and its effect on the network's channel balances (the buyer paid amount + fee, the seller got the
 * amount, the hubs the fee; the network's total unchanged), the paid answer judged by the buyer, the
 * 38402 status after `complete` / `dispute` (with the payment hash when completed), the attestation
 * read back from the relay.
 *
 * Strategies on the provider's side: absent runs the reference's `silent` provider (it never
 * answers a request); failing has its node offline (the network never settles its invoices, the
 * HTLC returns); bad work is the provider's paid answer with its result replaced, by a wrapper
 * around the reference provider's request handler that the seller switches on for a bad delivery
 * (the reference code stays the reference).
 *
 * Time: the reference provider and network read the wall clock, so simulated time is only the
 * plan's step times; an agreement cannot be made to expire in simulated time, and an economy whose
 * sellers outlast the agreement timeout is refused at start.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { secp256k1 } from '@noble/curves/secp256k1';
import type { SimTask, StackEnv, StackMarket, TaskPlan } from '../../harness/sim/pack.ts';
import { runPlanAsync } from '../../harness/sim/pack.ts';
import { type Graph, LightningClient, LnError, nodeBalances } from './agents/lightning.ts';
import { callWith, payAndCall, Requester } from './agents/requester.ts';
import { KIND, type NostrEvent, readAgreement, readAttestation, readCapability } from './protocol/events.ts';
import { decodeInvoice, priceToMsat } from './protocol/invoice.ts';
import { type Challenge, formatCredential } from './protocol/l402.ts';
import { type ProviderFaults, type RunningProvider, startProvider } from './server/provider.ts';
import { HUB_KEYS } from './server/stack.ts';
import { type Answer, type Ask, type AsaSimProfile, hubPolicy, lifecycle, listedSats, type Payment, routingFee } from './simulation.ts';

/** Hub A's side of each channel to a seller: enough never to be what limits a payment. */
const HUB_LIQUIDITY = 10n ** 15n;
/** Wall-clock wait for an offer: long past a loaded machine's DM round trip; an absent provider costs this much per task. */
const OFFER_WAIT_MS = 5_000;
/** Wall-clock wait for the provider's next DM or agreement version. */
const REPLY_WAIT_MS = 15_000;

interface Seller {
  provider: RunningProvider;
  node: string;
  sats: bigint;
  /** The seller's next paid answer is bad work (read by the wrapper around its request handler). */
  badNext: { on: boolean };
}

const hex = (key: string) => key.replace(/^0x/, '');
const pubkeyOf = (key: string) => Buffer.from(secp256k1.getPublicKey(Buffer.from(hex(key), 'hex'), true)).toString('hex');

/** Serve the reference provider's answers, with the paid result replaced while `bad.on`. */
function garbleWhenBad(p: RunningProvider, bad: { on: boolean }): void {
  const handlers = p.server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  p.server.removeAllListeners('request');
  p.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (bad.on && req.url?.startsWith('/v1/')) {
      const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
      res.end = ((chunk?: unknown) => {
        if (res.statusCode !== 200 || typeof chunk !== 'string') return end(chunk);
        const body = JSON.parse(chunk) as { result?: string };
        return end(JSON.stringify({ ...body, result: `garbage:${createHash('sha256').update(chunk).digest('hex').slice(0, 16)}` }));
      }) as typeof res.end;
    }
    for (const h of handlers) h(req, res);
  });
}

export async function startAsaMarket(env: StackEnv): Promise<StackMarket> {
  const profile = env.profile as unknown as AsaSimProfile;
  // The engine reads an agent's money once, from the first of its protocols: msat on the Lightning
  // network is not the other packs' base-sepolia USDC, so an agent here must trade on asa only.
  const shared = [...env.buyers, ...env.sellers].filter((a) => a.protocols.length > 1).map((a) => a.population);
  if (shared.length)
    throw new Error(
      `asa pays in msat over the simulated Lightning network, the other packs in USDC on a chain: on the stack engine populations trading on asa must trade on it only (protocols: [asa]); not so: ${[...new Set(shared)].join(', ')}`,
    );
  // Failing and absent sellers never deliver, so their service time never counts.
  const slow = env.sellers.filter((s) => s.strategy !== 'failing' && s.strategy !== 'absent' && s.serviceMs > profile.agreementTimeoutSeconds * 1000).map((s) => s.population);
  if (slow.length)
    throw new Error(
      `the reference asa provider expires agreements on the wall clock, not in simulated time: on the stack engine every seller that delivers must do so within the agreement timeout (agreementTimeoutSeconds ${profile.agreementTimeoutSeconds}); not so: ${[...new Set(slow)].join(', ')}`,
    );
  const url = (name: string) => {
    const e = env.target.endpoints[name];
    if (!e) throw new Error(`the asa service did not publish '${name}'`);
    return typeof e === 'string' ? e : e.url;
  };
  const relayUrl = url('asa-relay');
  const ln = new LightningClient(url('asa-lightning'));
  const [hubA, hubB] = HUB_KEYS.map(pubkeyOf) as [string, string];
  const nodeOf = (account: string) => pubkeyOf(env.key(account).privateKey);
  const nostrKeyOf = (account: string) => hex(env.key(`${account}/nostr`).privateKey);

  const sellers = new Map<string, Seller>();
  const requesters = new Map<string, Requester>();
  const stop = async () => {
    for (const r of requesters.values()) r.close();
    requesters.clear();
    for (const s of [...sellers.values()].reverse()) await s.provider.stop().catch(() => undefined);
    sellers.clear();
  };
  const graph = () => ln.graph();
  const hubTotal = (g: Graph) => {
    const b = nodeBalances(g);
    return (b.get(hubA) ?? 0n) + (b.get(hubB) ?? 0n);
  };
  let hubsAtStart = 0n;
  try {
    for (const b of env.buyers) await ln.addNode(hex(env.key(b.account).privateKey), { alias: b.account.slice(0, 64) });
    for (const s of env.sellers) {
      const node = (await ln.addNode(hex(env.key(s.account).privateKey), { alias: s.account.slice(0, 64) })).pubkey;
      // Channels from both hubs before the provider registers its node (so the network opens none
      // for it): hub A's side carries the payments, hub B's is empty.
      const policy = hubPolicy(profile);
      const wire = { baseMsat: policy.baseMsat.toString(), ppm: policy.ppm.toString(), cltvDelta: policy.cltvDelta };
      await ln.openChannel({ node1: hubA, node2: node, balance1Msat: HUB_LIQUIDITY, balance2Msat: 0n, policy1: wire });
      await ln.openChannel({ node1: hubB, node2: node, balance1Msat: 0n, balance2Msat: 0n, policy1: wire });
      if (s.strategy === 'failing') await ln.setOnline(node, false);
      const faults: ProviderFaults = s.strategy === 'absent' ? { silent: true } : {};
      const sats = listedSats(s.price);
      const provider = await startProvider({
        relayUrl,
        lightningUrl: ln.url,
        nostrKey: nostrKeyOf(s.account),
        nodeKey: hex(env.key(s.account).privateKey),
        host: env.host,
        priceSats: sats,
        floorSats: sats,
        tokenLifetime: profile.tokenLifetimeSeconds,
        tokenMaxRequests: profile.tokenMaxRequests,
        faults,
      });
      if (provider.node !== node) throw new Error(`asa simulation: ${s.account}'s provider runs node ${provider.node}, not ${node}`);
      const badNext = { on: false };
      garbleWhenBad(provider, badNext);
      sellers.set(s.account, { provider, node, sats, badNext });
    }
    hubsAtStart = hubTotal(await graph());
  } catch (e) {
    await stop();
    throw e;
  }

  /**
   * The created_at of the last offer each buyer got from each provider. The reference provider's
   * offer rumor (kind 14) has the same content for every request of one buyer at one price, so two
   * offers within one second share their id and the second accept is refused; a buyer asks again
   * only in a later second.
   */
  const lastOffer = new Map<string, number>();
  const requesterOf = async (account: string) => {
    let r = requesters.get(account);
    if (!r) {
      r = await Requester.connect(relayUrl, nostrKeyOf(account));
      requesters.set(account, r);
    }
    return r;
  };

  async function run(task: SimTask): Promise<TaskPlan> {
    const seller = sellers.get(task.seller)!;
    const buyer = await requesterOf(task.buyer);
    const buyerNode = nodeOf(task.buyer);
    const provider = seller.provider.pubkey;
    const fail = (what: string): never => {
      throw new Error(`asa simulation: ${task.id}: ${what}`);
    };
    const text = `simulated task ${task.id}`;
    let d = '';
    let agreement: NostrEvent | undefined;
    let challenge: Challenge | undefined;
    let paymentHash = '';
    let preimage = '';
    let resource = '';
    /** The agreement's latest version once `until` holds (null: not in time). */
    const latest = (until: (status: string | undefined) => boolean) => buyer.latest(KIND.agreement, provider, d, (e) => until(readAgreement(e).status), REPLY_WAIT_MS);

    const answer = async (ask: Ask): Promise<Answer> => {
      switch (ask.kind) {
        case 'negotiate': {
          const caps = await buyer.query([{ kinds: [KIND.capability], authors: [provider] }]);
          const cap = caps[0] ?? fail(`${task.seller} has no capability (38400) on the relay`);
          const price = readCapability(cap).prices[0] ?? fail('the capability lists no price');
          if (priceToMsat(price.amount, price.currency) !== ask.sats * 1000n) fail(`the capability lists ${price.amount} ${price.currency}, the seller's price is ${ask.sats} sats`);
          const pair = `${task.buyer} ${task.seller}`;
          const last = lastOffer.get(pair);
          if (last !== undefined && Date.now() < (last + 1) * 1000) await new Promise((r) => setTimeout(r, (last + 1) * 1000 - Date.now()));
          await buyer.dm(provider, { type: 'service_request', capability: cap.id, budget: Number(ask.sats), timeout: profile.agreementTimeoutSeconds });
          const offer = await buyer.waitDm(provider, (m) => m.type === 'service_offer' || m.type === 'reject', OFFER_WAIT_MS);
          if (!offer) return null;
          lastOffer.set(pair, offer.rumor.created_at);
          if (offer.msg?.type !== 'service_offer') return fail(`the provider rejected the request: ${JSON.stringify(offer.msg)}`);
          resource = offer.msg.l402_endpoint;
          await buyer.dm(provider, { type: 'accept', offer_event: offer.rumor.id });
          const agreed = await buyer.waitDm(provider, (m) => m.type === 'agreement', REPLY_WAIT_MS);
          if (agreed?.msg?.type !== 'agreement') return fail('no agreement DM after accept');
          d = agreed.msg.d;
          agreement = (await latest((s) => s === 'active')) ?? fail(`no active 38402 ${d} on the relay`);
          const terms = readAgreement(agreement);
          const perRequest = terms.terms.find((t) => t.type === 'per-request');
          if (agreement.id !== agreed.msg.asa || terms.requester !== buyer.pubkey || !perRequest) fail(`38402 ${d} is not the agreement DM'd to the buyer`);
          return priceToMsat(perRequest!.value, perRequest!.unit) / 1000n;
        }
        case 'pay': {
          const url = `${resource}?agreement=${encodeURIComponent(d)}&text=${encodeURIComponent(text)}`;
          const first = await payAndCall(fetch, url, ln, buyerNode, { pay: false });
          challenge = first.challenge ?? fail(`the resource answered ${first.first.status} without an L402 challenge`);
          const inv = decodeInvoice(challenge.invoice);
          const agreedMsat = seller.sats * 1000n;
          if (inv.payee !== seller.node || inv.amountMsat !== agreedMsat) fail(`the invoice pays ${inv.amountMsat} msat to ${inv.payee}, not ${agreedMsat} to the seller's node`);
          paymentHash = inv.paymentHash;
          const before = await graph();
          const fee = routingFee(profile, agreedMsat);
          let paid: Awaited<ReturnType<LightningClient['pay']>>;
          try {
            paid = await ln.pay(buyerNode, challenge.invoice);
          } catch (e) {
            if (!(e instanceof LnError)) throw e;
            const after = await graph();
            if (nodeBalances(after).get(buyerNode) !== nodeBalances(before).get(buyerNode) || hubTotal(after) !== hubTotal(before) || after.totalMsat !== before.totalMsat)
              fail(`a failed payment (${e.code}) moved money`);
            if (e.code === 'HTLC_EXPIRED') return { settled: false, why: 'unsettled' } satisfies Payment;
            // The buyer cannot cover amount + fee: the engine refuses this payment (its ledger agrees).
            if (e.code === 'NO_ROUTE' && (nodeBalances(before).get(buyerNode) ?? 0n) < agreedMsat + fee) throw new BuyerShort(agreedMsat, fee);
            return fail(`the payment failed: ${e.code} ${e.message}`);
          }
          preimage = paid.preimage;
          if (createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex') !== paymentHash) fail('the payment returned a preimage that is not the invoice’s');
          const after = await graph();
          const delta = (g0: Graph, g1: Graph, node: string) => (nodeBalances(g1).get(node) ?? 0n) - (nodeBalances(g0).get(node) ?? 0n);
          const got = { buyer: delta(before, after, buyerNode), seller: delta(before, after, seller.node), hubs: hubTotal(after) - hubTotal(before) };
          if (
            BigInt(paid.amountMsat) !== agreedMsat ||
            BigInt(paid.feeMsat) !== fee ||
            got.buyer !== -(agreedMsat + fee) ||
            got.seller !== agreedMsat ||
            got.hubs !== fee ||
            after.totalMsat !== before.totalMsat
          )
            fail(`the payment of ${agreedMsat} msat (fee ${fee}) moved ${JSON.stringify(got, (_k, v) => (typeof v === 'bigint' ? String(v) : v))} and reports ${paid.amountMsat} + ${paid.feeMsat}`);
          return { settled: true, amountMsat: agreedMsat, feeMsat: fee } satisfies Payment;
        }
        case 'call': {
          seller.badNext.on = ask.work === 'bad';
          try {
            const url = `${resource}?agreement=${encodeURIComponent(d)}&text=${encodeURIComponent(text)}`;
            const r = await callWith(fetch, url, formatCredential({ macaroons: [challenge!.macaroon], preimage }));
            if (r.status !== 200) fail(`the paid request answered ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
            // The buyer's own look: is it the translation of what it sent?
            return (r.body as { result?: unknown }).result === `translated:${text}` ? 'good' : 'bad';
          } finally {
            seller.badNext.on = false;
          }
        }
        case 'settle': {
          await buyer.dm(provider, ask.to === 'completed' ? { type: 'complete', asa: agreement!.id, result: 'success' } : { type: 'dispute', asa: agreement!.id, reason: 'not the work agreed' });
          agreement = (await latest((s) => s !== 'active')) ?? fail(`38402 ${d} did not leave 'active' after the buyer's ${ask.to === 'completed' ? 'complete' : 'dispute'}`);
          const a = readAgreement(agreement);
          if (a.status === 'completed' && a.paymentHash !== paymentHash) fail(`completed 38402 ${d} carries payment_hash ${a.paymentHash}, not ${paymentHash}`);
          return a.status as Answer;
        }
        case 'attest': {
          const att = await buyer.attest({ subject: provider, agreement: agreement!.id, rating: ask.rating, ...(ask.proof ? { proof: paymentHash } : {}) });
          const stored = (await buyer.query([{ ids: [att.id] }]))[0] ?? fail('the relay did not store the attestation');
          const a = readAttestation(stored);
          if (a.subject !== provider || a.agreement !== agreement!.id || a.proof !== (ask.proof ? paymentHash : undefined)) fail('the stored attestation is not the one published');
          return a.rating ?? fail('the stored attestation has no rating');
        }
      }
    };
    try {
      return await runPlanAsync(lifecycle(task), answer);
    } catch (e) {
      if (!(e instanceof BuyerShort)) throw e;
      // The model's plan up to the payment, which the engine refuses (nothing after it runs).
      return {
        steps: [
          { at: 0, action: 'agree' },
          {
            at: 0,
            action: 'pay',
            payment: true,
            transfers: [{ from: task.buyer, to: task.seller, amount: e.amountMsat }, ...(e.feeMsat > 0n ? [{ from: task.buyer, to: task.fees, amount: e.feeMsat }] : [])],
          },
        ],
        outcome: 'completed',
        delivered: 'none',
        attempts: 0,
        rejections: 0,
      };
    }
  }

  return {
    async fund(account, amount) {
      if (amount === 0n) return;
      await ln.openChannel({ node1: nodeOf(account), node2: hubA, balance1Msat: amount, balance2Msat: 0n });
    },
    run,
    async balances(accounts) {
      const g = await graph();
      const b = nodeBalances(g);
      const out = new Map<string, bigint>();
      for (const a of accounts) {
        if (a === 'fees:asa') out.set(a, hubTotal(g) - hubsAtStart);
        else if (!a.startsWith('escrow:') && !a.startsWith('fees:')) out.set(a, b.get(nodeOf(a)) ?? 0n);
      }
      return out;
    },
    stop,
  };
}

/** The buyer's node cannot carry the payment: the engine refuses it, as the model's ledger does. */
class BuyerShort extends Error {
  constructor(
    readonly amountMsat: bigint,
    readonly feeMsat: bigint,
  ) {
    super('the buyer cannot cover the payment');
  }
}
