/**
 * NIP-A5 under load (`amh load --protocol asa`): every agent is a requester (agents/requester.ts)
 * with a Nostr key and a Lightning node of its own, registered on the target's network with its
 * default channels to the hubs (`POST /v1/nodes {hubs: true}`, as certify registers its roles). In
 * set-up the provider's capability (38400, the one whose `l402` is the target's `asa-l402`) is read
 * from the relay once. One iteration is one whole agreement:
 *
 *   service_request (budget: the listed price) → service_offer at or under it → accept → the
 *   `agreement` DM → the 38402 `active` on the relay at the offered price → GET the offer's L402
 *   endpoint with `?agreement=<d>` → 402 with an L402 challenge whose invoice pays the provider's
 *   node exactly the agreed price → the agent's node pays it → GET with the credential → 200 →
 *   `complete` DM → the 38402 `completed` (its `payment_hash`, when present, the agent's payment).
 *
 * Relay round trips (DMs, waiting for a 38402 version on one live subscription) are inside the
 * iteration times; the measured requests are the HTTP ones (the L402 resource and the Lightning API).
 * Every wait on the relay (a publish's OK, the provider's next DM, an agreement version) lasts as long
 * as an HTTP request may (`--timeout`). A lost answer to the payment is resolved the way a careful
 * client does: the agent looks its own payment up on its node (`GET /v1/nodes/:node/payments/:hash`:
 * the preimage and the fee), and pays the same invoice again only when its node made no such payment
 * (the invoice's single settlement keeps that from paying twice); a lost answer to the paid request
 * is sent again with the same credential. A payment the agent gave up on is looked up the same way
 * at the end, so one that settled after all is counted (as paid, and as an answer lost).
 *
 * Conservation, in msat on the target's network: its total is unchanged; the agents' nodes lost
 * exactly what they paid (amounts + routing fees, and per agent); the provider's node gained exactly
 * the amounts, the rest of the network (the hubs) exactly the fees; every payment was served; and at
 * the end every paid agreement's 38402 on the relay is `completed` and names no other payment.
 */
import type { NostrEvent } from 'nostr-tools/pure';
import { errorClass } from '../../harness/load/measure.ts';
import { defineLoad, equalCheck, expectStatus, LoadFailure, ledgerSum, sendPaidCall, unlessOutOfFunds, type IterationContext, type LedgerEntry, type LoadEnv } from '../../harness/load/pack.ts';
import { endpointOf, TargetError } from '../../harness/target/schema.ts';
import { type Graph, LightningClient, LnError, nodeBalances, type PaymentResult } from './agents/lightning.ts';
import { callWith, challengesOf, Requester } from './agents/requester.ts';
import { KIND, readAgreement, readCapability } from './protocol/events.ts';
import { decodeInvoice, priceToMsat } from './protocol/invoice.ts';
import { formatCredential } from './protocol/l402.ts';
import { sha256hex } from './protocol/macaroons.ts';

/** Agreements whose final 38402 is read in one REQ at the end. */
const FINAL_READ_CHUNK = 100;

const hex = (key: string) => key.replace(/^0x/, '');
const withQuery = (url: string, q: string) => `${url}${url.includes('?') ? '&' : '?'}${q}`;
const sum = (xs: Iterable<bigint>) => {
  let s = 0n;
  for (const x of xs) s += x;
  return s;
};

async function setup(env: LoadEnv) {
  const relayUrl = endpointOf(env.target, 'asa-relay')!.url;
  const wait = env.requestTimeoutMs;
  const resource = endpointOf(env.target, 'asa-l402')!.url;
  const lnUrl = endpointOf(env.target, 'asa-lightning')!.url;
  // The target's config sections were checked against the protocol's schema when the target was read.
  const provider = ((env.target.config.asa ?? {}) as { provider?: { pubkey: string; node: string } }).provider;
  if (!provider) throw new TargetError('asa load needs config.asa.provider (the provider agent’s Nostr pubkey and Lightning node id): conservation reads the node’s balance, and invoices must pay it');

  const scout = await Requester.connect(relayUrl, hex(env.key(0, 'scout').privateKey)).catch((e) => {
    throw new TargetError(`cannot connect to the relay ${relayUrl}: ${(e as Error).message}`);
  });
  let cap: NostrEvent | undefined;
  try {
    const caps = await scout.query([{ kinds: [KIND.capability], authors: [provider.pubkey] }]);
    cap = caps.find((c) => readCapability(c).l402 === resource) ?? caps[0];
  } finally {
    scout.close();
  }
  if (!cap) throw new TargetError(`the relay ${relayUrl} serves no 38400 by the provider ${provider.pubkey}`);
  const listed = readCapability(cap).prices.find((p) => ['sat', 'sats', 'msat', 'msats', 'btc'].includes(p.currency.toLowerCase()));
  if (!listed) throw new TargetError(`the provider's 38400 ${cap.id} lists no price in sats`);
  const budgetSats = priceToMsat(listed.amount, listed.currency) / 1000n;

  const ln = new LightningClient(lnUrl, env.fetch);
  const nodes: string[] = [];
  for (let i = 0; i < env.agents; i++) {
    try {
      nodes.push((await ln.addNode(hex(env.key(i, 'lightning').privateKey), { alias: `load-${i}`, hubs: true })).pubkey);
    } catch (e) {
      throw new TargetError(`the Lightning network at ${lnUrl} does not register load agent ${i}'s node: ${(e as Error).message}`);
    }
  }
  const requesters: Requester[] = [];
  const stop = async () => {
    for (const r of requesters.splice(0)) r.close();
  };
  try {
    for (let i = 0; i < env.agents; i++) requesters.push(await Requester.connect(relayUrl, hex(env.key(i, 'nostr').privateKey), { publishTimeoutMs: wait }));
  } catch (e) {
    await stop();
    throw new TargetError(`cannot connect ${env.agents} requesters to the relay ${relayUrl}: ${(e as Error).message}`);
  }

  const ours = new Set(nodes);
  const balancesOf = (g: Graph) => {
    const b = nodeBalances(g);
    const agents = sum(nodes.map((n) => b.get(n) ?? 0n));
    const prov = b.get(provider.node) ?? 0n;
    return {
      total: BigInt(g.totalMsat),
      agents,
      provider: prov,
      others: sum([...b].filter(([n]) => !ours.has(n) && n !== provider.node).map(([, v]) => v)),
      perAgent: nodes.map((n) => b.get(n) ?? 0n),
    };
  };
  const start = await ln.graph();
  const before = balancesOf(start);
  if (!nodeBalances(start).has(provider.node)) throw new TargetError(`config.asa.provider.node ${provider.node} has no channel on the network at ${lnUrl}: it cannot be paid`);
  /** The created_at of each agent's last offer: one offer per agent per second (see iterate). */
  const lastOffer = new Map<number, number>();
  /** The agreement (d) each payment paid for. */
  const agreementOf = new Map<string, string>();
  /** Payments an agent started and never saw the outcome of (by hash): looked up at the end. */
  const unresolved = new Map<string, { agent: number; node: string }>();

  return {
    describe: `${env.agents} requesters, each with a Nostr key and a Lightning node with channels to the network's hubs; capability ${cap.id.slice(0, 12)}… listed at ${budgetSats} sats by provider ${provider.pubkey.slice(0, 12)}… (node ${provider.node.slice(0, 12)}…); one agreement per iteration, paid over L402 and completed`,
    async iterate(agent: number, ctx: IterationContext) {
      const r = requesters[agent]!;
      const node = nodes[agent]!;
      const lnc = new LightningClient(lnUrl, ctx.fetch);
      // A provider may build its offer rumor from the request alone (the reference does: the same
      // content for one buyer at one price), so two offers within one second would share an id and
      // the second accept would name the first: an agent asks again only in a later second.
      const last = lastOffer.get(agent);
      if (last !== undefined && Date.now() < (last + 1) * 1000) await new Promise((res) => setTimeout(res, (last + 1) * 1000 - Date.now()));
      await r.dm(provider.pubkey, { type: 'service_request', capability: cap.id, params: { text: `load ${agent}` }, budget: Number(budgetSats) });
      const offer = await r.waitDm(provider.pubkey, (m) => m.type === 'service_offer' || m.type === 'reject', wait);
      if (!offer) throw new LoadFailure('no-offer', `no service_offer or reject within ${wait / 1000} s`);
      lastOffer.set(agent, offer.rumor.created_at);
      if (offer.msg?.type !== 'service_offer') throw new LoadFailure('rejected', `the provider rejected a request at its listed price: ${JSON.stringify(offer.msg).slice(0, 200)}`);
      const priceSats = BigInt(offer.msg.price);
      if (priceSats > budgetSats) throw new LoadFailure('offer-over-budget', `the offer asks ${priceSats} sats, the budget was ${budgetSats}`);
      await r.dm(provider.pubkey, { type: 'accept', offer_event: offer.rumor.id });
      const agreed = await r.waitDm(provider.pubkey, (m) => m.type === 'agreement', wait);
      // Without the DM (ASA-PROF-04) the requester finds its agreement by its own p tag.
      const d = agreed?.msg?.type === 'agreement' ? agreed.msg.d : undefined;
      const filter = { kinds: [KIND.agreement], authors: [provider.pubkey], '#p': [r.pubkey], ...(d !== undefined ? { '#d': [d] } : { since: offer.rumor.created_at - 5 }) };
      const active = await r.waitEvent([filter], (e) => readAgreement(e).status === 'active', wait);
      if (!active) throw new LoadFailure('no-agreement', `no 38402 active${d !== undefined ? ` '${d}'` : ''} for the requester within ${wait / 1000} s of the accept`);
      const a = readAgreement(active);
      const perRequest = a.terms.find((t) => t.type === 'per-request');
      if (a.requester !== r.pubkey || !perRequest || priceToMsat(perRequest.value, perRequest.unit) !== priceSats * 1000n)
        throw new LoadFailure('agreement-mismatch', `38402 ${a.d}: requester ${a.requester}, per-request ${perRequest?.value} ${perRequest?.unit}; the offer was ${priceSats} sats to ${r.pubkey}`);
      const agreementD = a.d ?? '';
      const url = withQuery(offer.msg.l402_endpoint, `agreement=${encodeURIComponent(agreementD)}&text=${encodeURIComponent(`load ${agent}`)}`);

      const first = await ctx.fetch(url);
      await first.text();
      expectStatus(first.status, 402, 'unpaid request', '');
      const ch = challengesOf(first).find((c) => c.scheme === 'L402') ?? challengesOf(first)[0];
      if (!ch) throw new LoadFailure('no-challenge', 'a 402 without an L402 challenge');
      let inv: ReturnType<typeof decodeInvoice>;
      try {
        inv = decodeInvoice(ch.invoice);
      } catch (e) {
        throw new LoadFailure('bad-invoice', `the challenge's invoice does not decode: ${(e as Error).message}`);
      }
      // Money is protected before it moves: an invoice for more than agreed, or to another node, is not paid.
      if (inv.amountMsat !== priceSats * 1000n || inv.payee !== provider.node)
        throw new LoadFailure('invoice-mismatch', `the invoice asks ${inv.amountMsat} msat for ${inv.payee}; agreed: ${priceSats * 1000n} msat for the provider's node ${provider.node}`);

      const agreedMsat = priceSats * 1000n;
      agreementOf.set(inv.paymentHash, agreementD);
      unresolved.set(inv.paymentHash, { agent, node });
      // A payment the agent's node could not make moved nothing: a node whose channels ran dry stops the agent.
      const funds = {
        step: 'invoice payment',
        needed: agreedMsat,
        balance: async () => nodeBalances(await ln.graph()).get(node) ?? 0n,
        moved: async () => (await madeBy(ln, node, inv.paymentHash)) !== null,
      };
      const payment = await unlessOutOfFunds(funds, async () => {
        const p = await payOnce(lnc, node, ch.invoice, inv.paymentHash);
        if (p === null) throw new LoadFailure('payment-failed', 'the node made no payment and paying again failed');
        return p;
      });
      unresolved.delete(inv.paymentHash);
      ctx.ledger('paid', BigInt(payment.amountMsat), inv.paymentHash);
      ctx.ledger('fee', BigInt(payment.feeMsat), inv.paymentHash);
      if (sha256hex(payment.preimage) !== inv.paymentHash) throw new LoadFailure('bad-preimage', 'the network returned a preimage that is not the invoice’s');

      const credential = formatCredential({ macaroons: [ch.macaroon], preimage: payment.preimage });
      // Sent again with the same credential on a lost answer or a 5xx; a refused retry after a lost
      // answer may follow a request that was served: indeterminate.
      const paid = await sendPaidCall(ctx, { amount: agreedMsat, ref: inv.paymentHash, what: 'paid request', sameWhat: 'credential' }, () => callWith(ctx.fetch, url, credential));
      expectStatus(paid.status, 200, 'paid request', paid.body);
      ctx.ledger('served', agreedMsat, inv.paymentHash);

      await r.dm(provider.pubkey, { type: 'complete', asa: active.id, result: 'success' });
      const done = await r.waitEvent([{ kinds: [KIND.agreement], authors: [provider.pubkey], '#d': [agreementD] }], (e) => readAgreement(e).status !== 'active', wait);
      if (!done) throw new LoadFailure('not-completed', `38402 '${agreementD}' still active ${wait / 1000} s after complete`);
      const fin = readAgreement(done);
      if (fin.status !== 'completed') throw new LoadFailure('not-completed', `38402 '${agreementD}' went to '${fin.status}' after complete`);
      if (fin.paymentHash !== undefined && fin.paymentHash !== inv.paymentHash)
        throw new LoadFailure('wrong-payment-hash', `completed 38402 '${agreementD}' names payment ${fin.paymentHash}, the agent paid ${inv.paymentHash}`);
      ctx.ledger('completed', agreedMsat, inv.paymentHash);
    },
    async conservation(seen: readonly LedgerEntry[]) {
      // A payment whose agent gave up may have settled after all: its own node says so.
      const late: LedgerEntry[] = [];
      for (const [hash, u] of unresolved) {
        const p = await ln.payment(u.node, hash).catch(() => null);
        if (p)
          late.push(
            { agent: u.agent, kind: 'paid', amount: BigInt(p.amountMsat), ref: hash },
            { agent: u.agent, kind: 'fee', amount: BigInt(p.feeMsat), ref: hash },
            { agent: u.agent, kind: 'answer-lost', amount: BigInt(p.amountMsat), ref: hash },
          );
      }
      const ledger = [...seen, ...late];
      const after = balancesOf(await ln.graph());
      const paidRefs = ledger.filter((e) => e.kind === 'paid').map((e) => e.ref);
      const served = new Set(ledger.filter((e) => e.kind === 'served').map((e) => e.ref));
      const lost = new Set(ledger.filter((e) => e.kind === 'answer-lost').map((e) => e.ref));
      const amounts = ledgerSum(ledger, 'paid');
      const fees = ledgerSum(ledger, 'fee');
      const mismatched = nodes.filter((_, i) => before.perAgent[i]! - after.perAgent[i]! !== ledgerSum(ledger, 'paid', i) + ledgerSum(ledger, 'fee', i)).length;
      // The final state of every paid agreement, read back from the relay.
      const finals = new Map<string, NostrEvent>();
      const ds = [...new Set(paidRefs.map((h) => agreementOf.get(h)!))];
      const reader = await Requester.connect(relayUrl, hex(env.key(0, 'scout').privateKey));
      try {
        for (let i = 0; i < ds.length; i += FINAL_READ_CHUNK)
          for (const e of await reader.query([{ kinds: [KIND.agreement], authors: [provider.pubkey], '#d': ds.slice(i, i + FINAL_READ_CHUNK) }], 10_000)) {
            const d = readAgreement(e).d ?? '';
            const had = finals.get(d);
            if (!had || e.created_at > had.created_at) finals.set(d, e);
          }
      } finally {
        reader.close();
      }
      const unfinished = paidRefs.filter((h) => served.has(h) && readAgreement(finals.get(agreementOf.get(h)!) ?? { tags: [] }).status !== 'completed').length;
      const otherPayment = paidRefs.filter((h) => {
        const f = finals.get(agreementOf.get(h)!);
        const ph = f ? readAgreement(f).paymentHash : undefined;
        return ph !== undefined && ph !== h;
      }).length;
      return {
        holdings: [
          { name: `agents' nodes (${env.agents}), msat`, before: before.agents, after: after.agents },
          { name: `provider's node ${provider.node.slice(0, 16)}…, msat`, before: before.provider, after: after.provider },
          { name: 'the rest of the network (hubs), msat', before: before.others, after: after.others },
        ],
        checks: [
          equalCheck("the network's total msat is what it was", before.total, after.total, 'money created or destroyed by the network'),
          equalCheck("agents' spend = amounts + routing fees of the payments seen", amounts + fees, before.agents - after.agents),
          equalCheck('agents whose spend differs from their own ledger', 0, mismatched),
          equalCheck("provider's gain = amounts of the payments seen", amounts, after.provider - before.provider),
          equalCheck("the rest of the network's gain = the routing fees the payments reported", fees, after.others - before.others),
          equalCheck('payments distinct (no invoice paid twice)', paidRefs.length, new Set(paidRefs).size),
          equalCheck('payments refused unserved (no answer was lost)', 0, paidRefs.filter((h) => !served.has(h) && !lost.has(h)).length, 'the provider kept the money without serving the request'),
          equalCheck(
            'payments whose answer was lost (no answer, or a refused retry after one)',
            0,
            paidRefs.filter((h) => !served.has(h) && lost.has(h)).length,
            'indeterminate: the lost request may have been served, and the requester cannot tell',
          ),
          equalCheck("paid and served agreements whose 38402 on the relay is not 'completed' at the end", 0, unfinished, 'the requester completed them; the provider did not record it'),
          equalCheck('paid agreements whose 38402 names another payment', 0, otherPayment, 'the agreement attributes its settlement to a payment the requester did not make'),
        ],
      };
    },
    stop,
  };
}

/** The payment `node` made for `paymentHash`, or null when it made none. */
async function madeBy(ln: LightningClient, node: string, paymentHash: string): Promise<PaymentResult | null> {
  try {
    return await ln.payment(node, paymentHash);
  } catch (e) {
    if (e instanceof LnError && e.status === 404) return null;
    throw e;
  }
}

/**
 * Pay an invoice once and return the payment, or null when the node made none. A lost answer
 * (connection, timeout) is resolved on the agent's own node: the payment it made, else the same
 * invoice paid again (a settled invoice is never paid twice: a second try that finds it paid by the
 * first is answered from the node once more).
 */
async function payOnce(ln: LightningClient, node: string, invoice: string, paymentHash: string): Promise<PaymentResult | null> {
  const made = () => madeBy(ln, node, paymentHash);
  for (let attempt = 0; ; attempt++) {
    try {
      return await ln.pay(node, invoice);
    } catch (e) {
      if (e instanceof LnError && attempt > 0 && e.code === 'ALREADY_PAID') return made();
      if (e instanceof LnError) throw new LoadFailure('payment-failed', `${e.code}: ${e.message}`);
      if (!['connection', 'timeout'].includes(errorClass(e).cls) || attempt >= 2) throw e;
    }
    const p = await made();
    if (p) return p;
  }
}

export default defineLoad({
  protocol: 'asa',
  iteration:
    "one agreement: service_request at the listed price → service_offer → accept → 38402 active → GET the L402 endpoint ?agreement=<d> → 402 → the agent's node pays the invoice (exactly the agreed price, to the provider's node) → GET with the credential → 200 → complete → 38402 completed",
  endpoints: ['asa-relay', 'asa-l402', 'asa-lightning'],
  unit: 'msat',
  setup,
});
