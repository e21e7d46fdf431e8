/**
 * Fuzz of the asa reference deployment with the protocol library's malformed input
 * (protocol/fuzz.ts, shared with the robustness scenario ASA-ROB-01), every item sent, the
 * lenient-reading ones included: 2,400 WebSocket frames to the relay and 2,400 HTTP requests to the
 * provider's L402 resource and the Lightning API, against a stack with an agreement, a paid token,
 * funded nodes and invoices in every state in place.
 *
 * Relay, per frame: the connection stays open unless the frame has a WebSocket-level defect; no
 * event a frame carries is accepted; an EVENT carrying an event with a string id gets `OK false`
 * (the reference answers every such EVENT with OK). HTTP, per request: the robustness rule
 * (harness/robustness/batch.ts) plus the reference's own: every refusal a JSON `{error}`, no secret
 * the request did not carry. After: the relay stores exactly what it stored, the network's channels
 * and total are as before, and the paid token buys exactly one request.
 *
 * Env: FUZZ_SEED (default 42), FUZZ_RUNS (default 2400 of each).
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { robustnessProblem } from '../../../harness/robustness/batch.ts';
import { describeRequest, sendRaw } from '../../../harness/robustness/http.ts';
import { leakedSecret } from '../../aisp/protocol/fuzz.ts';
import { lightningFuzzFixture, type LightningFuzzFixture } from '../agents/fuzz-fixture.ts';
import { LightningClient } from '../agents/lightning.ts';
import { Requester, challengesOf } from '../agents/requester.ts';
import { WireClient } from '../agents/wire.ts';
import { KIND, type NostrEvent, readAgreement } from '../protocol/events.ts';
import { type AsaFuzzContext, fuzzContext, malformedFrame, malformedRequest } from '../protocol/fuzz.ts';
import { formatCredential } from '../protocol/l402.ts';
import { type AsaStack, startAsaStack } from './stack.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 42);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2400);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

let s: AsaStack;
let ln: LightningClient;
let lnf: LightningFuzzFixture;
let fz: AsaFuzzContext;

/** A challenge from the resource: its macaroon and invoice. */
async function challenge(): Promise<{ macaroon: string; invoice: string }> {
  const res = await fetch(s.provider.resourceUrl);
  await res.arrayBuffer();
  const ch = challengesOf(res).find((c) => c.scheme === 'L402')!;
  return { macaroon: ch.macaroon, invoice: ch.invoice };
}

beforeAll(async () => {
  s = await startAsaStack();
  ln = new LightningClient(s.lightning.url);
  lnf = await lightningFuzzFixture(ln);
  // An agreement of the provider's, so its 38402 can be sent one field off.
  const r = await Requester.connect(s.relay.url, hex(generateSecretKey()));
  let agreement: NostrEvent | undefined;
  let capability: NostrEvent;
  try {
    capability = (await r.query([{ ids: [s.provider.capabilityId] }]))[0]!;
    await r.dm(s.provider.pubkey, { type: 'service_request', capability: capability.id, timeout: 86_400 });
    const offer = await r.waitDm(s.provider.pubkey, (m) => m.type === 'service_offer', 6000);
    await r.dm(s.provider.pubkey, { type: 'accept', offer_event: offer!.rumor.id });
    for (let i = 0; i < 40 && !agreement; i++) {
      await new Promise((res) => setTimeout(res, 100));
      agreement = (await r.query([{ kinds: [KIND.agreement], authors: [s.provider.pubkey], '#p': [r.pubkey] }])).find((e) => readAgreement(e).status === 'active');
    }
  } finally {
    r.close();
  }
  const unpaid = await challenge();
  const paid = await challenge();
  const preimage = (await ln.pay(lnf.payer, paid.invoice)).preimage;
  fz = fuzzContext({
    resourceUrl: s.provider.resourceUrl,
    paid: { macaroon: paid.macaroon, preimage },
    unpaid,
    providerPk: s.provider.pubkey,
    capability,
    agreement: agreement ?? null,
    agreementD: agreement ? (readAgreement(agreement).d ?? null) : null,
    fuzzKey: generateSecretKey(),
    tag: `fuzz-${hex(randomBytes(4))}`,
    ln: lnf,
    now: Math.floor(Date.now() / 1000),
    label: 'fuzz',
  })!;
  expect(fz.signed.length, 'the fixture has an agreement to aim at').toBe(2);
}, 60_000);

afterAll(async () => {
  await s?.stop();
});

test(`${RUNS} malformed relay frames: the connection stays open, no event is accepted, every EVENT with an id gets OK false, the relay stores nothing new`, { timeout: 300_000 }, async () => {
  const before = s.relay.count();
  const frames = fc.sample(malformedFrame(fz), { numRuns: RUNS, seed: SEED });
  const stored = new Set(fz.signed.map((e) => e.id));
  let w = await WireClient.connect(s.relay.url);
  let closes = 0;
  try {
    for (const [i, fr] of frames.entries()) {
      const what = `frame ${i} [${fr.cls}] ${fr.note}`;
      w.sendRaw(fr.data, fr.binary === true);
      // Every EVENT or AUTH array whose event has a non-empty string id gets OK from the reference (binary frames are read as text).
      if (fr.eventId && fr.cls !== 'event-as-object' && fr.transport !== 'invalid-utf8') {
        const ok = await w.next((f) => f[0] === 'OK' && f[1] === fr.eventId, 3000);
        expect(ok, what).not.toBeNull();
        if (!stored.has(fr.eventId)) expect(ok![2], what).toBe(false);
      }
      w.send(['REQ', `p${i}`, { ids: [s.provider.capabilityId] }]);
      const eose = await w.next((f) => f[0] === 'EOSE' && f[1] === `p${i}`, 3000);
      const got = w.drain();
      expect(
        got.filter((f) => f[0] === 'OK' && f[2] === true && !stored.has(String(f[1]))),
        what,
      ).toEqual([]);
      if (w.closed) {
        expect(fr.transport, `${what}: the relay closed the connection`).toBeDefined();
        closes++;
        w = await WireClient.connect(s.relay.url);
        continue;
      }
      expect(eose, what).not.toBeNull();
      w.send(['CLOSE', `p${i}`]);
      if (fr.subId) w.send(['CLOSE', fr.subId]);
    }
  } finally {
    w.close();
  }
  expect(s.relay.count()).toBe(before);
  // The next valid client is served and can publish.
  const v = await WireClient.connect(s.relay.url);
  const e = finalizeEvent({ kind: 1, tags: [['t', 'fuzz']], content: 'after the fuzz', created_at: Math.floor(Date.now() / 1000) }, generateSecretKey()) as NostrEvent;
  expect((await v.publish(e))?.ok).toBe(true);
  v.close();
  expect(s.relay.count()).toBe(before + 1);
  expect(closes).toBeLessThan(frames.length / 10);
});

test(`${RUNS} malformed HTTP requests: no 5xx, JSON refusals, no secret in any answer, the network unchanged, the paid token still buys exactly one request`, { timeout: 300_000 }, async () => {
  const graph = await ln.graph();
  const reqs = fc.sample(malformedRequest(fz), { numRuns: RUNS, seed: SEED });
  const secrets = [fz.paid.preimage, lnf.freshNodeKey, lnf.payerKey, lnf.payeeKey];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const statuses = new Map<string, number>();
  try {
    for (const req of reqs) {
      const res = await sendRaw(req.server === 'l402' ? new URL(s.provider.resourceUrl).origin : s.lightning.url, req, agent);
      const key = 'closed' in res ? 'closed' : String(res.status);
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      const what = `${describeRequest(req)} -> ${'closed' in res ? res.closed : `${res.status} ${res.body.slice(0, 200)}`}`;
      expect(robustnessProblem(req, res), what).toBeNull();
      if ('closed' in res) continue;
      // Node answers transport-level defects itself (400, 417, 431) before the app, without a body.
      if (res.status >= 400 && !req.transport) expect(() => (JSON.parse(res.body) as { error: { code: string } }).error.code, `a JSON {error} refusal: ${what}`).not.toThrow();
      expect(leakedSecret(req, `${JSON.stringify(res.headers)}\n${res.body}`, secrets), what).toBeUndefined();
    }
  } finally {
    agent.destroy();
  }
  expect([...statuses.keys()].filter((k) => k !== 'closed' && Number(k) >= 500)).toEqual([]);
  const after = await ln.graph();
  expect(after.totalMsat).toBe(graph.totalMsat);
  expect(after.channels).toEqual(graph.channels);
  expect(after.nodes.map((n) => n.pubkey).sort()).toEqual(graph.nodes.map((n) => n.pubkey).sort());
  const use = () => fetch(s.provider.resourceUrl, { headers: { authorization: formatCredential({ macaroons: [fz.paid.macaroon], preimage: fz.paid.preimage }) } }).then((r) => r.status);
  expect(await use()).toBe(200);
  expect(await use()).toBe(401);
});
