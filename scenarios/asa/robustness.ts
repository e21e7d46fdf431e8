/**
 * ASA-ROB-01: seeded malformed input at every asa endpoint the target publishes
 * (reference-impl/asa/protocol/fuzz.ts, judged by harness/robustness for HTTP and by the relay rules
 * below for WebSocket frames): the relay gets frames that are not JSON, messages of the wrong shape,
 * events one field off (the provider's own 38402 and 38400 among them), oversized and binary frames;
 * the L402 resource gets missing, malformed, forged, attenuated and mismatched credentials; the
 * Lightning API gets bad keys, channels and amounts, and invoices that are cut, tampered, paid,
 * expired or of an unknown node. Each HTTP answer is below 500 and a refusal where state could
 * change, and carries no secret it was not sent; each relay frame leaves the connection open (a
 * transport-level defect may close it), no event is accepted, and an EVENT that is a well-formed
 * NIP-01 event with a bad id or signature gets `OK false`. After each batch nothing observable
 * changed: the relay serves the provider's capability and agreement as before and none of the
 * batch's events, the fixture's nodes keep their channels, balances and online flags, its invoices
 * their states, no node the batch named was registered, and the paid token sent along (broken) is
 * still served, once, to its holder.
 *
 * The agreement, nodes and invoices are set up once per target and reused by every run; each run
 * pays a fresh token. `AMH_ROBUSTNESS_REQUESTS` (`--long`: 10,000) sets how many items a
 * certification sends (relay frames and HTTP requests together).
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { type AnswerRule, countsText, fixturePerTarget, perRun, ROBUSTNESS_RUNS, robustnessBudget, sendMalformedBatch } from '../../harness/robustness/batch.ts';
import { expectUnchanged, type Observables } from '../../harness/robustness/observe.ts';
import { callWith, challengesOf, Requester } from '../../reference-impl/asa/agents/requester.ts';
import { LightningClient } from '../../reference-impl/asa/agents/lightning.ts';
import { lightningFuzzFixture, type LightningFuzzFixture, nodeIdOf } from '../../reference-impl/asa/agents/fuzz-fixture.ts';
import type { WireClient } from '../../reference-impl/asa/agents/wire.ts';
// The no-secret rule is the same as AISP's: a secret the request did not carry is a leak.
import { leakedSecret } from '../../reference-impl/aisp/protocol/fuzz.ts';
import { KIND, type NostrEvent, readAgreement } from '../../reference-impl/asa/protocol/events.ts';
import { type AsaFuzzRequest, fuzzContext, malformedFrame, malformedRequest, type RelayFrame, thirdPartyFrame, thirdPartyRequest } from '../../reference-impl/asa/protocol/fuzz.ts';
import { decodeInvoice } from '../../reference-impl/asa/protocol/invoice.ts';
import { type Challenge, formatCredential } from '../../reference-impl/asa/protocol/l402.ts';
import { capabilityOf, fresh, LIVE, now, provider, pub, relayUrl, short, wire } from './lab.ts';

const REQ = 'ASA-ROB-01';
/** Malformed items per certification at the default size (a few seconds against the reference). */
const NORMAL_REQUESTS = 200;
/** How long a relay has to answer an EVENT with OK, and a probe REQ with EOSE. */
const ANSWER_MS = 5000;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** What every run aims at: set up once per target. */
interface Fixture {
  providerPk: string;
  providerNode: string;
  capability: NostrEvent;
  agreement: NostrEvent | null;
  fuzzKey: Uint8Array;
  tag: string;
  ln: LightningFuzzFixture;
}

const fixtureOf = fixturePerTarget(buildFixture);

async function buildFixture(ctx: RunContext): Promise<Fixture> {
  const p = provider(ctx, REQ);
  const r = await Requester.connect(relayUrl(ctx), hex(fresh())).catch((e: Error) => {
    throw new Indeterminate(REQ, `setup: cannot connect to the relay: ${e.message}`);
  });
  let capability: NostrEvent;
  let agreement: NostrEvent | null = null;
  try {
    capability = await capabilityOf(ctx, r, REQ);
    // An agreement whose terms outlive any certification (the PR's timeout, ASA-PROF-03), so none of its versions is the batch's doing.
    ctx.act(`setup: requester ${short(r.pubkey)} negotiates an agreement for ${short(capability.id)}`);
    await r.dm(p.pubkey, { type: 'service_request', capability: capability.id, params: { text: 'robustness' }, timeout: 86_400 });
    const offer = await r.waitDm(p.pubkey, (m) => m.type === 'service_offer', 6000);
    if (offer) {
      await r.dm(p.pubkey, { type: 'accept', offer_event: offer.rumor.id });
      const deadline = Date.now() + 6000;
      while (!agreement && Date.now() < deadline) {
        const mine = await r.query([{ kinds: [KIND.agreement], authors: [p.pubkey], '#p': [r.pubkey] }]);
        agreement = mine.find((e) => readAgreement(e).status === 'active') ?? null;
        if (!agreement) await new Promise((res) => setTimeout(res, 150));
      }
    }
    // Without one, the frames aim at the capability only (the negotiation has requirements of its own).
    ctx.act(agreement ? `setup: agreement ${readAgreement(agreement).d} is active` : 'setup: no agreement became active within 6 s; the frames aim at the capability only');
  } finally {
    r.close();
  }
  const ln = new LightningClient(ctx.endpoint('asa-lightning').url);
  try {
    return { providerPk: p.pubkey, providerNode: p.node, capability, agreement, fuzzKey: fresh(), tag: `asa-rob-${hex(randomBytes(6))}`, ln: await lightningFuzzFixture(ln) };
  } catch (e) {
    throw new Indeterminate(REQ, `setup: the Lightning network at ${ln.url} did not register, fund or pay the fixture's nodes: ${(e as Error).message}`);
  }
}

/** A fresh challenge from the resource (its endpoint's method). */
async function challenge(ctx: RunContext): Promise<Challenge> {
  const e = ctx.endpoint('asa-l402');
  const res = await fetch(e.url, { method: e.method ?? 'GET' });
  await res.arrayBuffer().catch(() => undefined);
  const ch = challengesOf(res).find((c) => c.scheme === 'L402') ?? challengesOf(res)[0];
  if (res.status !== 402 || !ch) throw new Indeterminate(REQ, `the resource answered ${res.status} with no L402 challenge, so there is no token to aim at`);
  return ch;
}

/** The relay's answer to one query, as text: the ids (and statuses) served, or why none. */
async function served(w: WireClient, filters: object[], show: (e: NostrEvent) => string = (e) => e.id): Promise<string> {
  const q = await w.query(filters, ANSWER_MS);
  if (!q.eose) return `no EOSE${q.closed ? ` (CLOSED ${q.closed})` : ''}`;
  return JSON.stringify(q.events.map(show).sort());
}

/** Everything a third party can observe of the fixture: what the relay serves, the nodes' channels and flags, the invoices' states. */
async function observe(ctx: RunContext, f: Fixture, sentIds: readonly string[], unpaidHash: string): Promise<Observables> {
  const out: Observables = {};
  // A new connection each time: the next valid client must be served.
  const w = await wire(ctx);
  try {
    out['relay: the provider’s capability'] = await served(w, [{ ids: [f.capability.id] }]);
    out['relay: the provider’s 38400s'] = await served(w, [{ kinds: [KIND.capability], authors: [f.providerPk] }]);
    if (f.agreement) {
      const d = readAgreement(f.agreement).d ?? '';
      out[`relay: agreement ${d}`] = await served(w, [{ kinds: [KIND.agreement], authors: [f.providerPk], '#d': [d] }], (e) => `${e.id} ${readAgreement(e).status}`);
    }
    out['relay: events by the fuzz key'] = await served(w, [{ authors: [pub(f.fuzzKey)] }]);
    out['relay: events with the batch’s tag'] = await served(w, [{ '#t': [f.tag] }]);
    for (let i = 0; i < sentIds.length; i += 200) out[`relay: the batch’s event ids ${i}…`] = await served(w, [{ ids: sentIds.slice(i, i + 200) }]);
  } finally {
    w.close();
  }
  const ln = new LightningClient(ctx.endpoint('asa-lightning').url);
  const g = await ln.graph();
  const ours = [f.ln.payer, f.ln.payee];
  out['lightning: the fixture’s channels'] = JSON.stringify(
    g.channels
      .filter((c) => ours.includes(c.node1) || ours.includes(c.node2))
      .map((c) => `${c.id} ${c.node1.slice(0, 10)}=${c.balance1Msat} ${c.node2.slice(0, 10)}=${c.balance2Msat}`)
      .sort(),
  );
  const named = [f.ln.payer, f.ln.payee, f.ln.unknownNode, nodeIdOf(f.ln.freshNodeKey)];
  out['lightning: nodes named by the batch'] = JSON.stringify(
    g.nodes
      .filter((n) => named.includes(n.pubkey))
      .map((n) => `${n.pubkey.slice(0, 10)} online=${String((n as { online?: unknown }).online)}`)
      .sort(),
  );
  for (const [name, hash] of Object.entries(f.ln.hashes)) {
    const inv = await ln.lookup(f.ln.payee, hash).catch((e: Error) => ({ state: `lookup failed: ${e.message}`, amountMsat: '', payer: null }));
    out[`lightning: the ${name} invoice`] = `${inv.state} ${inv.amountMsat} payer=${inv.payer}`;
  }
  const u = await ln.lookup(f.providerNode, unpaidHash).catch((e: Error) => ({ state: `lookup failed: ${e.message}`, payer: null }));
  out['lightning: the run’s unpaid challenge invoice'] = `${u.state} payer=${u.payer}`;
  return out;
}

/**
 * Sends the frames one by one over one connection and judges each: a probe REQ after every frame must
 * get EOSE (or CLOSED) on the same connection, unless the frame has a transport-level defect (then a
 * new connection is opened); an event the frame carries is never accepted (`OK true`), except as a
 * duplicate of an event the relay already stores; a well-formed event with a bad id or signature gets
 * `OK false` within 5 s. Returns nothing; the first violation fails the requirement.
 */
async function sendFrames(ctx: RunContext, frames: readonly RelayFrame[], stored: ReadonlySet<string>, probeId: string, what: string): Promise<void> {
  let w = await wire(ctx);
  const answers = new Map<string, number>();
  const classes = new Map<string, number>();
  const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const carried = new Set<string>();
  const started = performance.now();
  const fail = (i: number, fr: RelayFrame, problem: string, expected: string) => {
    ctx.act(`sends malformed frame ${i + 1} of ${frames.length} (${what}): [${fr.cls}] ${fr.note} :: ${describeFrame(fr)}`);
    ctx.check(REQ, false, `malformed relay frame ${i + 1} of ${frames.length}: the connection stays open, no event is accepted, a well-formed event that does not verify gets OK false`, {
      expected,
      actual: problem,
    });
  };
  /** An OK true among `got` for an event a frame carried (and the relay did not already store). */
  const accepted = (got: unknown[][]) => got.find((f) => f[0] === 'OK' && f[2] === true && carried.has(String(f[1])) && !stored.has(String(f[1])));
  try {
    for (const [i, fr] of frames.entries()) {
      count(classes, fr.cls);
      if (fr.eventId) carried.add(fr.eventId);
      w.sendRaw(fr.data, fr.binary === true);
      let answer = 'nothing';
      if (fr.expect === 'ok-false') {
        const ok = await w.next((f) => f[0] === 'OK' && f[1] === fr.eventId, ANSWER_MS);
        if (ok) answer = ok[2] === true ? 'OK true' : 'OK false';
        else if (!(w.closed && fr.transport)) fail(i, fr, w.closed ? 'the relay closed the connection' : `no OK within ${ANSWER_MS / 1000} s`, '["OK", id, false, …] (NIP-01: an EVENT MUST get OK)');
        if (ok?.[2] === true && !stored.has(fr.eventId!)) fail(i, fr, `["OK", ${fr.eventId}, true, ${JSON.stringify(ok[3] ?? '')}]: the relay accepted it`, '["OK", id, false, …]');
      }
      const sub = `rob-probe-${i}`;
      w.send(['REQ', sub, { ids: [probeId] }]);
      const probe = await w.next((f) => (f[0] === 'EOSE' || f[0] === 'CLOSED') && f[1] === sub, ANSWER_MS);
      const got = w.drain();
      const bad = accepted(got);
      if (bad) fail(i, fr, `${JSON.stringify(bad).slice(0, 200)}: the relay accepted an event the batch sent`, 'no OK true for a malformed event');
      if (answer === 'nothing')
        answer = got.find((f) => f[0] === 'OK' && f[1] === fr.eventId)
          ? 'OK false'
          : got.some((f) => f[0] === 'NOTICE')
            ? 'NOTICE'
            : got.some((f) => f[0] === 'CLOSED' && f[1] !== sub)
              ? 'CLOSED'
              : 'nothing';
      if (w.closed) {
        if (!fr.transport) fail(i, fr, 'the relay closed the connection', 'the connection stays open (NIP-01 answers errors with NOTICE, OK false or CLOSED)');
        count(answers, 'connection closed');
        w = await wire(ctx);
        continue;
      }
      if (!probe) fail(i, fr, `the relay stopped answering: a REQ sent after it got neither EOSE nor CLOSED within ${ANSWER_MS / 1000} s`, 'EOSE for the next REQ');
      count(answers, answer);
      w.send(['CLOSE', sub]);
      if (fr.subId) w.send(['CLOSE', fr.subId]);
    }
    // Late answers (an OK true after the probe) are checked once more on a last probe.
    w.send(['REQ', 'rob-probe-last', { ids: [probeId] }]);
    await w.next((f) => (f[0] === 'EOSE' || f[0] === 'CLOSED') && f[1] === 'rob-probe-last', ANSWER_MS);
    const late = accepted(w.drain());
    if (late && frames.length) fail(frames.length - 1, frames.at(-1)!, `${JSON.stringify(late).slice(0, 200)}: the relay accepted an event the batch sent`, 'no OK true for a malformed event');
  } finally {
    w.close();
  }
  ctx.act(`sends ${frames.length} malformed frames (${what}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  ctx.check(
    REQ,
    true,
    `${frames.length} malformed relay frames (${what}): the connection stayed open (or closed only on a transport-level defect), no event accepted, every well-formed event that does not verify got OK false`,
    {
      actual: `answers ${countsText(answers)}; classes ${countsText(classes)}`,
    },
  );
}

function describeFrame(fr: RelayFrame): string {
  const t = typeof fr.data === 'string' ? fr.data : `<${fr.data.length} bytes${fr.binary ? ', binary' : ''}>`;
  return t.length > 300 ? `${t.slice(0, 300)}…(${t.length} chars)` : t;
}

export const robustness = defineScenario({
  kind: 'property',
  id: 'robustness',
  title:
    'Malformed frames at the relay and malformed requests at the L402 resource and the Lightning API: no 5xx, no dropped connection, refusals where state could change, no secret revealed, and nothing observable changes',
  requirements: [REQ],
  endpoints: ['asa-relay', 'asa-l402', 'asa-lightning'],
  ...LIVE,
  maxRuns: ROBUSTNESS_RUNS,
  arbitrary: () => fc.noShrink(fc.integer()),
  async run(ctx, seed) {
    const e = ctx.endpoint('asa-l402');
    const f = await fixtureOf(`${ctx.endpoint('asa-relay').url}|${e.url}|${ctx.endpoint('asa-lightning').url}`, ctx);
    const ln = new LightningClient(ctx.endpoint('asa-lightning').url);
    // This run's token: one challenge paid (kept unused, sent only broken), one left unpaid.
    const unpaid = await challenge(ctx);
    const paidCh = await challenge(ctx);
    ctx.act('the payer pays a fresh L402 challenge and keeps the token unused');
    const preimage = await ln.pay(f.ln.payer, paidCh.invoice).then(
      (x) => x.preimage,
      (err: Error) => {
        throw new Indeterminate(REQ, `the resource's invoice could not be paid on the target's network: ${err.message}`);
      },
    );
    const fz = fuzzContext({
      resourceUrl: e.url,
      paid: { macaroon: paidCh.macaroon, preimage },
      unpaid: { macaroon: unpaid.macaroon, invoice: unpaid.invoice },
      providerPk: f.providerPk,
      capability: f.capability,
      agreement: f.agreement,
      agreementD: f.agreement ? (readAgreement(f.agreement).d ?? null) : null,
      fuzzKey: f.fuzzKey,
      tag: f.tag,
      ln: f.ln,
      now: now(),
      label: seed,
    });
    if (!fz) throw new Indeterminate(REQ, 'the resource’s macaroon carries no L402 identifier, so no forgery can be aimed at it');
    const resource = new URL(e.url);
    const total = perRun(robustnessBudget(NORMAL_REQUESTS));
    // About half the items are relay frames, half HTTP requests (split over the resource and the network API).
    const frames = fc.sample(malformedFrame(fz).filter(thirdPartyFrame), { seed, numRuns: Math.ceil(total / 2) });
    const requests = fc.sample(malformedRequest(fz).filter(thirdPartyRequest), { seed: seed ^ 0x5eed, numRuns: Math.floor(total / 2) });
    const secrets = [preimage, f.ln.freshNodeKey, f.ln.payerKey, f.ln.payeeKey, hex(f.fuzzKey)];
    const noLeak: AnswerRule<AsaFuzzRequest> = {
      what: 'no answer carries a secret it was not sent',
      problem: (req, answer) => {
        const s = leakedSecret(req, `${JSON.stringify(answer.headers)}\n${answer.body}`, secrets);
        return s ? `the answer carries a secret the request did not (${s.slice(0, 6)}…)` : null;
      },
    };
    const sentIds = [...new Set(frames.flatMap((fr) => (fr.eventId && /^[0-9a-f]{64}$/.test(fr.eventId) && !fz.signed.some((x) => x.id === fr.eventId) ? [fr.eventId] : [])))];
    const unpaidHash = decodeInvoice(unpaid.invoice).paymentHash;
    const before = await observe(ctx, f, sentIds, unpaidHash);
    await sendFrames(ctx, frames, new Set(fz.signed.map((x) => x.id)), f.capability.id, `relay, seed ${seed}`);
    for (const [server, base] of [
      ['l402', resource.origin],
      ['lightning', ctx.endpoint('asa-lightning').url],
    ] as const) {
      const batch = requests.filter((r) => r.server === server);
      if (batch.length) await sendMalformedBatch(ctx, REQ, base, batch, `${server === 'l402' ? 'L402 resource' : 'Lightning API'}, seed ${seed}`, noLeak);
    }
    ctx.act('reads the relay, the network and the invoices again');
    expectUnchanged(ctx, REQ, before, await observe(ctx, f, sentIds, unpaidHash), 'after the batch');
    ctx.act('the holder uses the paid token the batch carried broken');
    const use = await callWith(fetch, e.url, formatCredential({ macaroons: [paidCh.macaroon], preimage }), e.method ?? 'GET');
    ctx.check(REQ, use.status >= 200 && use.status < 300, 'the paid token the batch carried (broken, attenuated, forged) still buys its request: no malformed request spent it', {
      expected: '2xx',
      actual: `${use.status} ${JSON.stringify(use.body).slice(0, 200)}`,
    });
  },
});
