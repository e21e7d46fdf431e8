/**
 * The provider agent end to end: discovery, NIP-17 negotiation (privacy, price rules), the 38402
 * agreement and its lifecycle (model-based, with forged transitions by third keys), expiry, and the
 * reputation view over attestations with payment proof. Requesters use fresh Nostr keys and fresh
 * Lightning nodes each run (a relay keeps every earlier run's messages).
 */
import fc from 'fast-check';
import * as nip59 from 'nostr-tools/nip59';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario, type ModelScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { LightningClient } from '../../reference-impl/asa/agents/lightning.ts';
import { type Inbound, payAndCall, Requester } from '../../reference-impl/asa/agents/requester.ts';
import { type AgreementStatus, KIND, type NostrEvent, readAgreement, readCapability, validateAgreement, validateCapability } from '../../reference-impl/asa/protocol/events.ts';
import { priceToMsat } from '../../reference-impl/asa/protocol/invoice.ts';
import { sha256hex } from '../../reference-impl/asa/protocol/macaroons.ts';
import type { DmMessage } from '../../reference-impl/asa/protocol/negotiation.ts';
import { capabilityOf, flushSoft, fresh, LIVE, now, provider, pub, relayUrl, short, sign, soft } from './lab.ts';

const AGENT = { endpoints: ['asa-relay', 'asa-l402', 'asa-lightning'], ...LIVE };
/** What making a deal checks on the way (every scenario that makes one declares them). */
const DEAL_REQS = ['ASA-EVT-01', 'ASA-EVT-02', 'ASA-EVT-03', 'ASA-NEG-01', 'ASA-NEG-02', 'ASA-NEG-03', 'ASA-PRV-01'];
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function freshRequester(ctx: RunContext, label: string): Promise<Requester> {
  const sk = fresh();
  try {
    const r = await Requester.connect(relayUrl(ctx), hex(sk));
    ctx.act(`${label} ${short(r.pubkey)} connects to the relay`);
    return r;
  } catch (e) {
    throw new Indeterminate(undefined, `cannot connect to the relay: ${(e as Error).message}`);
  }
}

interface Terms {
  price: bigint;
  floor: bigint;
  negotiable: boolean;
}

function termsOf(cap: NostrEvent): Terms {
  const c = readCapability(cap);
  const p = c.prices.find((x) => ['sats', 'sat'].includes(x.currency.toLowerCase())) ?? c.prices[0];
  const price = p ? priceToMsat(p.amount, p.currency) / 1000n : 0n;
  const floor = c.negotiable.kind === 'floor' ? BigInt(c.negotiable.amount.split('.')[0]!) : c.negotiable.kind === 'false' ? price : 0n;
  return { price, floor, negotiable: c.negotiable.kind !== 'false' };
}

/** Check the provider's capability and return it with its terms. */
async function discover(ctx: RunContext, r: Requester): Promise<{ cap: NostrEvent; t: Terms }> {
  const cap = await capabilityOf(ctx, r, 'ASA-EVT-01');
  const v = validateCapability(cap);
  ctx.check('ASA-EVT-01', v.errors.length === 0, 'the provider’s 38400 carries every required tag in the PR’s forms', { expected: 'no errors', actual: v.errors.join('; ') || 'ok' });
  soft(ctx, 'ASA-EVT-03', v.dialects.length === 0, 'the 38400 uses no SDK dialect', { expected: 'the PR’s forms', actual: v.dialects.join('; ') || 'ok' });
  return { cap, t: termsOf(cap) };
}

/** Wait for the provider's reply; when none came, tell a reply published in clear (privacy) from silence. */
async function replyTo(ctx: RunContext, r: Requester, providerPk: string, since: number, pick: (m: DmMessage) => boolean, what: string): Promise<Inbound> {
  const got = await r.waitDm(providerPk, (m) => pick(m), 6000);
  if (got) {
    ctx.check('ASA-PRV-01', got.wrap.kind === 1059 && got.wrap.pubkey !== providerPk, 'the reply is a kind 1059 gift wrap signed by a one-time key, not the provider’s', {
      expected: `1059 by a key ≠ ${short(providerPk)}`,
      actual: `${got.wrap.kind} by ${short(got.wrap.pubkey)}`,
    });
    ctx.expectEqual(
      'ASA-PRV-01',
      got.wrap.tags.map((t) => t[0]),
      ['p'],
      'the wrap is tagged only with its recipient',
    );
    let leaked = true;
    try {
      nip59.unwrapEvent(got.wrap as never, fresh());
    } catch {
      leaked = false;
    }
    ctx.check('ASA-PRV-01', !leaked && !JSON.stringify(got.wrap).includes(got.rumor.content.slice(1, 40)), 'a third key cannot unwrap it and the plaintext is nowhere in the wrap', {
      expected: 'opaque',
      actual: leaked ? 'a third key unwrapped it' : 'ok',
    });
    ctx.expectEqual('ASA-NEG-01', got.rumor.pubkey, providerPk, `the ${what} rumor is by the provider (seal and rumor pubkeys agree)`);
    return got;
  }
  const clear = (await r.query([{ authors: [providerPk], '#p': [r.pubkey], since: since - 5 }])).filter((e) => e.kind !== 1059);
  ctx.check('ASA-PRV-01', clear.length === 0, 'no negotiation message is published in clear', { expected: 'none', actual: clear.map((e) => `kind ${e.kind}: ${e.content.slice(0, 60)}`).join(' | ') });
  ctx.check('ASA-NEG-01', false, `the provider answers with a ${what} over NIP-17 within 6 s`, { expected: what, actual: 'nothing' });
  throw new Error('unreachable');
}

async function agreementOf(ctx: RunContext, r: Requester, providerPk: string, d: string | undefined, want: (s: string | undefined) => boolean, timeoutMs = 6000): Promise<NostrEvent | null> {
  const deadline = Date.now() + timeoutMs;
  let last: NostrEvent | null = null;
  for (;;) {
    const evs = await r.query([{ kinds: [KIND.agreement], authors: [providerPk], '#p': [r.pubkey] }]);
    const mine = evs.filter((e) => d === undefined || readAgreement(e).d === d || (!readAgreement(e).d && d === ''));
    last = mine.sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : 1))[0] ?? null;
    if (last) {
      const v = validateAgreement(last);
      ctx.check('ASA-EVT-02', v.errors.length === 0, `the 38402 (${readAgreement(last).status}) carries the required tags`, { expected: 'no errors', actual: v.errors.join('; ') || 'ok' });
      soft(ctx, 'ASA-EVT-03', v.dialects.length === 0, 'the 38402 uses no SDK dialect', { expected: 'the PR’s forms', actual: v.dialects.join('; ') || 'ok' });
    }
    if ((last && want(readAgreement(last).status)) || Date.now() >= deadline) return last;
    await new Promise((res) => setTimeout(res, 120));
  }
}

interface Deal {
  r: Requester;
  providerPk: string;
  cap: NostrEvent;
  offer: Extract<DmMessage, { type: 'service_offer' }>;
  agreement: NostrEvent;
  d: string;
}

/** service_request → offer → accept → 38402 active. */
async function makeDeal(ctx: RunContext, r: Requester, budget: bigint | undefined, timeout?: number): Promise<Deal> {
  const p = provider(ctx, 'ASA-NEG-03');
  const { cap, t } = await discover(ctx, r);
  const since = now();
  ctx.act(`${short(r.pubkey)} sends service_request for ${short(cap.id)} with budget ${budget ?? '(none)'}`);
  await r.dm(p.pubkey, { type: 'service_request', capability: cap.id, params: { text: 'hello' }, ...(budget === undefined ? {} : { budget: Number(budget) }), ...(timeout ? { timeout } : {}) });
  const reply = await replyTo(ctx, r, p.pubkey, since, (m) => m.type === 'service_offer' || m.type === 'reject', 'service_offer or reject');
  if (reply.msg!.type !== 'service_offer') throw new Indeterminate('ASA-NEG-03', `the provider rejected budget ${budget}: ${JSON.stringify(reply.msg)}`);
  const offer = reply.msg as Extract<DmMessage, { type: 'service_offer' }>;
  ctx.check('ASA-NEG-02', BigInt(offer.price) >= t.floor && BigInt(offer.price) <= t.price, 'the offer lies between the floor and the listed price', {
    expected: `${t.floor}..${t.price} sats`,
    actual: offer.price,
  });
  ctx.act(`${short(r.pubkey)} accepts offer ${short(reply.rumor.id)} at ${offer.price} sats`);
  await r.dm(p.pubkey, { type: 'accept', offer_event: reply.rumor.id });
  const ag = await agreementOf(ctx, r, p.pubkey, undefined, (s) => s === 'active');
  ctx.check('ASA-NEG-03', ag !== null && readAgreement(ag).status === 'active', 'after accept the provider publishes a 38402 with status active', {
    expected: 'active',
    actual: ag ? readAgreement(ag).status : 'no 38402 within 6 s',
  });
  const a = readAgreement(ag!);
  ctx.expectEqual('ASA-NEG-03', [a.provider, a.requester], [p.pubkey, r.pubkey], 'p provider is the provider and p requester is the requester');
  ctx.expectEqual('ASA-NEG-03', a.capability, cap.id, 'e capability names the 38400');
  ctx.expectEqual('ASA-NEG-03', ag!.tags.find((x) => x[0] === 'l402')?.[1], readCapability(cap).l402, 'l402 is the capability’s endpoint');
  ctx.expectEqual('ASA-NEG-03', a.terms.find((x) => x.type === 'per-request')?.value, String(offer.price), 'per-request terms at the offered price');
  return { r, providerPk: p.pubkey, cap, offer, agreement: ag!, d: a.d ?? '' };
}

export const negotiate = defineScenario({
  kind: 'property',
  id: 'negotiate',
  title: 'Discover the capability, negotiate over NIP-17 with budgets below the floor, between floor and price, at and above the price; accept; the 38402 active carries the deal',
  requirements: DEAL_REQS,
  ...AGENT,
  arbitrary: () => fc.record({ where: fc.constantFrom('below', 'between', 'at', 'above', 'none'), x: fc.nat(1000) }),
  async run(ctx, v) {
    const r = await freshRequester(ctx, 'a requester');
    try {
      const { t } = await discover(ctx, r);
      const span = t.price - t.floor;
      const budget =
        v.where === 'none'
          ? undefined
          : v.where === 'below'
            ? t.floor > 0n
              ? BigInt(v.x) % t.floor
              : null
            : v.where === 'between'
              ? t.floor + (span > 0n ? BigInt(v.x) % span : 0n)
              : v.where === 'at'
                ? t.price
                : t.price + BigInt(v.x);
      if (budget === null) {
        ctx.act('the capability has no floor: a budget below it does not exist');
        return;
      }
      if (v.where === 'below') {
        const p = provider(ctx, 'ASA-NEG-02');
        const { cap } = await discover(ctx, r);
        const since = now();
        ctx.act(`${short(r.pubkey)} asks with budget ${budget} below the floor ${t.floor}`);
        await r.dm(p.pubkey, { type: 'service_request', capability: cap.id, budget: Number(budget) });
        const reply = await replyTo(ctx, r, p.pubkey, since, (m) => m.type === 'service_offer' || m.type === 'reject', 'service_offer or reject');
        if (reply.msg!.type === 'service_offer') {
          const price = BigInt((reply.msg as { price: number }).price);
          ctx.check('ASA-NEG-02', price >= t.floor && price <= t.price, 'a counter-offer to a budget below the floor is still at least the floor', {
            expected: `${t.floor}..${t.price}`,
            actual: price,
          });
        } else ctx.check('ASA-NEG-02', true, 'a budget below the floor is rejected');
        flushSoft(ctx);
        return;
      }
      const deal = await makeDeal(ctx, r, budget);
      if (budget !== undefined && budget >= t.price)
        ctx.check('ASA-NEG-02', BigInt(deal.offer.price) <= budget, 'a budget at or above the price is offered no more than it', { expected: `<= ${budget}`, actual: deal.offer.price });
      flushSoft(ctx);
    } finally {
      r.close();
    }
  },
});

// ---- model-based lifecycle ------------------------------------------------------------------------

interface Model {
  deals: { status: AgreementStatus; paid: string | null }[];
}
interface World {
  ctx: RunContext;
  providerPk: string;
  deals: Deal[];
  ln: LightningClient;
  node: string;
  attacker: Uint8Array;
  requesters: Requester[];
  providerNode: string;
}
type Cmd = fc.AsyncCommand<Model, World>;

async function expectStatus(w: World, m: Model, i: number, req: string, settle: boolean): Promise<void> {
  const deal = w.deals[i]!;
  const want = m.deals[i]!.status;
  if (settle) await new Promise((r) => setTimeout(r, 250));
  const ag = await agreementOf(w.ctx, deal.r, w.providerPk, deal.d, (s) => s === want, settle ? 0 : 6000);
  const a = ag ? readAgreement(ag) : null;
  w.ctx.expectEqual(req, a?.status, want, `agreement ${deal.d}: the relay serves status ${want}`);
  if (want === 'completed' && m.deals[i]!.paid) {
    soft(w.ctx, 'ASA-AGR-03', a?.paymentHash === m.deals[i]!.paid, 'completed carries the payment_hash of the agreement’s settled payment', {
      expected: m.deals[i]!.paid,
      actual: a?.paymentHash ?? '(none)',
    });
    const inv = a?.paymentHash ? await w.ln.lookup(w.providerNode, a.paymentHash).catch(() => null) : null;
    soft(w.ctx, 'ASA-AGR-03', inv?.state === 'SETTLED', 'the payment_hash names a SETTLED invoice of the provider’s node', { expected: 'SETTLED', actual: inv?.state ?? '(no such invoice)' });
  }
}

class OpenCmd implements Cmd {
  constructor(readonly budgetAt: boolean) {}
  check = (m: Readonly<Model>) => m.deals.length < 4;
  async run(m: Model, w: World): Promise<void> {
    const r = await freshRequester(w.ctx, 'a requester');
    w.requesters.push(r);
    const deal = await makeDeal(w.ctx, r, undefined);
    w.deals.push(deal);
    m.deals.push({ status: 'active', paid: null });
    await expectStatus(w, m, m.deals.length - 1, 'ASA-AGR-01', false);
  }
  toString = () => 'open';
}

class PayCmd implements Cmd {
  constructor(readonly i: number) {}
  check = (m: Readonly<Model>) => m.deals.length > 0;
  async run(m: Model, w: World): Promise<void> {
    const i = this.i % m.deals.length;
    const deal = w.deals[i]!;
    const url = `${deal.offer.l402_endpoint}${deal.offer.l402_endpoint.includes('?') ? '&' : '?'}agreement=${encodeURIComponent(deal.d)}`;
    w.ctx.act(`requester of ${deal.d} pays one request at ${url}`);
    const c = await payAndCall(w.ctx.fetch, url, w.ln, w.node);
    if (m.deals[i]!.status !== 'active') return;
    if (c.second && c.second.status < 300 && c.challenge) m.deals[i]!.paid = sha256hex(c.payment!.preimage);
  }
  toString = () => `pay(${this.i})`;
}

class MoveCmd implements Cmd {
  constructor(
    readonly kind: 'complete' | 'dispute',
    readonly i: number,
  ) {}
  check = (m: Readonly<Model>) => m.deals.length > 0;
  async run(m: Model, w: World): Promise<void> {
    const i = this.i % m.deals.length;
    const deal = w.deals[i]!;
    const before = m.deals[i]!.status;
    w.ctx.act(`requester of ${deal.d} sends ${this.kind} (status ${before})`);
    await deal.r.dm(w.providerPk, { type: this.kind, asa: deal.agreement.id, ...(this.kind === 'dispute' ? { reason: 'timed out' } : { result: 'success' }) });
    const to: AgreementStatus = this.kind === 'complete' ? 'completed' : 'disputed';
    const moves = before === 'active';
    if (moves) m.deals[i]!.status = to;
    await expectStatus(w, m, i, 'ASA-AGR-01', !moves);
  }
  toString = () => `${this.kind}(${this.i})`;
}

class ForgeCmd implements Cmd {
  constructor(
    readonly how: 'dm' | 'event',
    readonly i: number,
  ) {}
  check = (m: Readonly<Model>) => m.deals.length > 0;
  async run(m: Model, w: World): Promise<void> {
    const i = this.i % m.deals.length;
    const deal = w.deals[i]!;
    if (this.how === 'dm') {
      w.ctx.act(`a third key ${short(pub(w.attacker))} sends complete for ${deal.d}`);
      const rumor = nip59.createRumor(
        { kind: 14, tags: [['p', w.providerPk]], content: JSON.stringify({ type: 'complete', asa: deal.agreement.id, result: 'success' }), created_at: now() },
        w.attacker,
      );
      const wrap = nip59.createWrap(nip59.createSeal(rumor, w.attacker, w.providerPk), w.providerPk) as NostrEvent;
      await deal.r.publishEvent(wrap).catch(() => {});
    } else {
      w.ctx.act(`a third key ${short(pub(w.attacker))} publishes a 38402 with d ${deal.d} and status completed`);
      const tags = deal.agreement.tags.map((t) => (t[0] === 'status' ? ['status', 'completed'] : t));
      const forged = sign(w.attacker, { kind: KIND.agreement, tags, content: 'forged', created_at: now() + 1 });
      await deal.r.publishEvent(forged).catch(() => {});
    }
    await expectStatus(w, m, i, 'ASA-AGR-02', true);
  }
  toString = () => `forge-${this.how}(${this.i})`;
}

export const lifecycle: ModelScenario<Model, World> = defineScenario({
  kind: 'model',
  id: 'agreement-lifecycle',
  title:
    'Model-based agreements: open, pay, complete, dispute, repeat moves after a terminal status, and third keys forging a completion (DM or a 38402 with the same d); the relay always serves the status the lifecycle model expects',
  requirements: ['ASA-AGR-01', 'ASA-AGR-02', 'ASA-AGR-03', ...DEAL_REQS],
  ...AGENT,
  maxCommands: 7,
  commands: () => [
    fc.boolean().map((b) => new OpenCmd(b)),
    fc.nat(5).map((i) => new PayCmd(i)),
    fc.tuple(fc.constantFrom<'complete' | 'dispute'>('complete', 'dispute'), fc.nat(5)).map(([k, i]) => new MoveCmd(k, i)),
    fc.tuple(fc.constantFrom<'dm' | 'event'>('dm', 'event'), fc.nat(5)).map(([h, i]) => new ForgeCmd(h, i)),
  ],
  async setup(ctx) {
    const p = provider(ctx, 'ASA-AGR-01');
    const ln = new LightningClient(ctx.endpoint('asa-lightning').url, ctx.fetch);
    const node = (
      await ln.addNode(hex(fresh()), { alias: 'requester', hubs: true }).catch((e: Error) => {
        throw new Indeterminate('ASA-AGR-03', `the network does not register a requester node: ${e.message}`);
      })
    ).pubkey;
    const w: World = { ctx, providerPk: p.pubkey, deals: [], ln, node, attacker: fresh(), requesters: [], providerNode: p.node };
    const m: Model = { deals: [] };
    // Every run starts from one open, paid agreement, so the moves always have something to act on.
    await new OpenCmd(false).run(m, w);
    await new PayCmd(0).run(m, w);
    await new MoveCmd('complete', 0).run(m, w);
    // Every run tries each attack once: a move after a terminal status, and both forgeries.
    await new MoveCmd('dispute', 0).run(m, w);
    await new OpenCmd(false).run(m, w);
    await new ForgeCmd('dm', 1).run(m, w);
    await new ForgeCmd('event', 1).run(m, w);
    return { model: m, real: w };
  },
  async finish(_m, w) {
    for (const r of w.requesters) r.close();
    flushSoft(w.ctx);
  },
});

export const expiry = defineScenario({
  kind: 'property',
  id: 'agreement-expiry',
  title: 'An agreement with a 2-second timeout that nobody completes becomes expired',
  requirements: ['ASA-AGR-04', ...DEAL_REQS],
  ...AGENT,
  arbitrary: () => fc.constant(2),
  async run(ctx, timeout) {
    const r = await freshRequester(ctx, 'a requester');
    try {
      const deal = await makeDeal(ctx, r, undefined, timeout).catch((e: unknown) => {
        throw e instanceof Indeterminate ? e : new Indeterminate('ASA-AGR-04', `no agreement to let expire: ${(e as Error).message}`);
      });
      ctx.act(`nobody completes ${deal.d}; wait past its ${timeout}s timeout`);
      const ag = await agreementOf(ctx, r, deal.providerPk, deal.d, (s) => s === 'expired', 4000);
      flushSoft(ctx);
      ctx.expectEqual('ASA-AGR-04', ag ? readAgreement(ag).status : null, 'expired', 'the agreement is expired after its timeout');
    } finally {
      r.close();
    }
  },
});

// ---- reputation ---------------------------------------------------------------------------------------

export const reputation = defineScenario({
  kind: 'property',
  id: 'reputation-proofs',
  title:
    'The reputation view counts the requester’s proof-bearing attestation of a completed, paid agreement, and ignores fake proofs, another agreement’s proof, self-dealing agreements, non-parties and a second attestation',
  requirements: ['ASA-ATT-01', 'ASA-ATT-02', ...DEAL_REQS],
  ...AGENT,
  capabilities: ['asa:reputation-view'],
  arbitrary: () =>
    fc.record({ rating: fc.integer({ min: 1, max: 5 }), order: fc.shuffledSubarray(['never-settled', 'other-agreement', 'self-dealing', 'non-party', 'second'], { minLength: 5, maxLength: 5 }) }),
  async run(ctx, v) {
    const p = provider(ctx, 'ASA-ATT-01');
    if (!p.reputation) throw new Indeterminate('ASA-ATT-01', 'config.asa.provider.reputation is not declared');
    const ln = new LightningClient(ctx.endpoint('asa-lightning').url, ctx.fetch);
    const node = (await ln.addNode(hex(fresh()), { hubs: true })).pubkey;
    const deals: Deal[] = [];
    const hashes: string[] = [];
    const rs: Requester[] = [];
    try {
      for (const who of ['alice', 'bob']) {
        const r = await freshRequester(ctx, who);
        rs.push(r);
        const d = await makeDeal(ctx, r, undefined).catch((e: unknown) => {
          throw e instanceof Indeterminate ? e : new Indeterminate('ASA-ATT-01', `no completed agreement to attest: ${(e as Error).message.split('\n')[0]}`);
        });
        const url = `${d.offer.l402_endpoint}?agreement=${encodeURIComponent(d.d)}`;
        const c = await payAndCall(ctx.fetch, url, ln, node);
        if (!c.payment || (c.second?.status ?? 500) >= 300) throw new Indeterminate('ASA-ATT-01', 'the agreement could not be paid');
        await r.dm(p.pubkey, { type: 'complete', asa: d.agreement.id, result: 'success' });
        const done = await agreementOf(ctx, r, p.pubkey, d.d, (s) => s === 'completed');
        const h = done ? readAgreement(done).paymentHash : undefined;
        if (!done || !h) throw new Indeterminate('ASA-ATT-01', 'the completed agreement carries no payment_hash to prove');
        deals.push({ ...d, agreement: done });
        hashes.push(h);
      }
      const [alice, bob] = rs as [Requester, Requester];
      ctx.act(`alice attests ${deals[0]!.d} with rating ${v.rating} and its payment as proof`);
      const honest = await alice.attest({ subject: p.pubkey, agreement: deals[0]!.agreement.id, rating: v.rating, proof: hashes[0]! }, now() - 5);
      const attacker = fresh();
      const bad: NostrEvent[] = [];
      for (const kind of v.order) {
        ctx.act(`adversary: ${kind}`);
        if (kind === 'never-settled') bad.push(await bob.attest({ subject: p.pubkey, agreement: deals[1]!.agreement.id, rating: 5, proof: sha256hex(hex(fresh())) }, now() - 4));
        if (kind === 'other-agreement') {
          const x = await freshRequester(ctx, 'carol');
          rs.push(x);
          bad.push(await x.attest({ subject: p.pubkey, agreement: deals[1]!.agreement.id, rating: 5, proof: hashes[1]! }));
        }
        if (kind === 'self-dealing') {
          const fake = sign(attacker, {
            kind: KIND.agreement,
            tags: [
              ['d', 'self'],
              ['p', p.pubkey, '', 'provider'],
              ['p', pub(attacker), '', 'requester'],
              ['terms', 'flat', '1', 'sats'],
              ['status', 'completed'],
              ['payment_hash', hashes[0]!],
            ],
            content: '',
            created_at: now(),
          });
          await alice.publishEvent(fake);
          const x = await Requester.connect(relayUrl(ctx), hex(attacker));
          rs.push(x);
          bad.push(await x.attest({ subject: p.pubkey, agreement: fake.id, rating: 5, proof: hashes[0]! }));
        }
        if (kind === 'non-party') {
          const x = await freshRequester(ctx, 'dave');
          rs.push(x);
          bad.push(await x.attest({ subject: p.pubkey, agreement: deals[0]!.agreement.id, rating: 1, proof: hashes[0]! }));
        }
        if (kind === 'second') bad.push(await alice.attest({ subject: p.pubkey, agreement: deals[0]!.agreement.id, rating: 1, proof: hashes[0]! }));
      }
      ctx.act(`ask the reputation view ${p.reputation}/${short(p.pubkey)}`);
      const res = await ctx.fetch(`${p.reputation.replace(/\/+$/, '')}/${p.pubkey}`);
      const view = (await res.json().catch(() => null)) as { counted?: { id: string }[] } | null;
      const counted = new Set((view?.counted ?? []).map((c) => c.id));
      ctx.check('ASA-ATT-01', res.status === 200 && counted.has(honest.id), 'the requester’s proof-bearing attestation of a paid, completed agreement counts', {
        expected: honest.id,
        actual: `${res.status} ${[...counted].join(', ') || '(none)'}`,
      });
      const wrong = bad.filter((b) => counted.has(b.id));
      ctx.expectEqual(
        'ASA-ATT-02',
        wrong.map((b) => b.id),
        [],
        'no fake proof, foreign proof, self-dealing, non-party or second attestation counts',
      );
      flushSoft(ctx);
    } finally {
      for (const r of rs) r.close();
    }
  },
});
