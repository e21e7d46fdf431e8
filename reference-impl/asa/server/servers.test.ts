/**
 * The reference relay with nostr-tools clients (Relay, SimplePool, nip17/nip59/nip44), and the
 * Lightning simulation under generated payment sequences (conservation, fees, exhaustion).
 */
import { createHash, randomBytes } from 'node:crypto';
import { fc, test } from '@fast-check/vitest';
import * as nip17 from 'nostr-tools/nip17';
import * as nip44 from 'nostr-tools/nip44';
import { SimplePool, useWebSocketImplementation } from 'nostr-tools/pool';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { Relay } from 'nostr-tools/relay';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import WebSocket from 'ws';
import { agreementTags, KIND } from '../protocol/events.ts';
import { hopFee } from '../protocol/routing.ts';
import { LightningClient } from '../agents/lightning.ts';
import { LightningNetwork, PayError } from './lightning.ts';
import { startLightningServer } from './lightning-http.ts';
import { type RunningRelay, startRelay } from './relay.ts';

useWebSocketImplementation(WebSocket);

let relay: RunningRelay;
beforeAll(async () => {
  relay = await startRelay();
});
afterAll(async () => {
  await relay?.stop();
});

const now = () => Math.floor(Date.now() / 1000);

describe('relay with nostr-tools', () => {
  test('Relay publishes, SimplePool reads by #s / #p, and an addressable status update replaces the old one', async () => {
    const provider = generateSecretKey();
    const requester = getPublicKey(generateSecretKey());
    const r = await Relay.connect(relay.url);
    const base = { d: 'asa-x', provider: getPublicKey(provider), requester, terms: [{ type: 'per-request', value: '50', unit: 'sats' }] };
    const v1 = finalizeEvent({ kind: KIND.agreement, tags: agreementTags({ ...base, status: 'active' }), content: '', created_at: now() - 10 }, provider);
    const v2 = finalizeEvent({ kind: KIND.agreement, tags: agreementTags({ ...base, status: 'completed', paymentHash: 'a'.repeat(64) }), content: '', created_at: now() - 5 }, provider);
    await r.publish(v1);
    await r.publish(v2);
    await expect(r.publish(v1)).rejects.toThrow(/duplicate|newer/);
    r.close();
    const pool = new SimplePool();
    const got = await pool.querySync([relay.url], { kinds: [KIND.agreement], '#p': [requester] });
    expect(got.map((e) => e.id)).toEqual([v2.id]);
    pool.destroy();
  });

  test('a NIP-17 DM reaches only its recipient, and only after AUTH; a third key cannot decrypt it', async () => {
    const alice = generateSecretKey();
    const bob = generateSecretKey();
    const eve = generateSecretKey();
    const wrap = nip17.wrapEvent(alice, { publicKey: getPublicKey(bob) }, '{"type":"service_request"}');
    const pub = await Relay.connect(relay.url);
    await pub.publish(wrap);
    pub.close();
    const read = async (sk: Uint8Array) => {
      const c = await Relay.connect(relay.url);
      c.onauth = async (t) => finalizeEvent(t, sk);
      for (let i = 0; i < 50; i++) {
        try {
          await c.auth(async (t) => finalizeEvent(t, sk));
          break;
        } catch {
          await new Promise((x) => setTimeout(x, 20));
        }
      }
      const out: string[] = [];
      await new Promise<void>((res) => {
        const s = c.subscribe([{ kinds: [1059], '#p': [getPublicKey(bob)] }], {
          onevent: (e) => out.push(e.id),
          oneose: () => {
            s.close();
            res();
          },
          onclose: () => res(),
        });
      });
      c.close();
      return out;
    };
    expect(await read(eve)).toEqual([]);
    expect(await read(bob)).toEqual([wrap.id]);
    expect(nip17.unwrapEvent(wrap, bob).content).toBe('{"type":"service_request"}');
    expect(() => nip17.unwrapEvent(wrap, eve)).toThrow();
    expect(() => nip44.decrypt(wrap.content, nip44.getConversationKey(eve, wrap.pubkey))).toThrow();
  });

  test('the relay survives a restart on the same SQLite file', async () => {
    const file = `/tmp/asa-relay-${randomBytes(4).toString('hex')}.sqlite`;
    const a = await startRelay({ db: file });
    const r = await Relay.connect(a.url);
    const e = finalizeEvent({ kind: 1, tags: [], content: 'kept', created_at: now() }, generateSecretKey());
    await r.publish(e);
    r.close();
    await a.stop();
    const b = await startRelay({ db: file });
    const pool = new SimplePool();
    expect((await pool.querySync([b.url], { ids: [e.id] })).map((x) => x.content)).toEqual(['kept']);
    pool.destroy();
    await b.stop();
  });
});

describe('Lightning simulation', () => {
  const key = () => randomBytes(32).toString('hex');
  test.prop(
    [
      fc.array(fc.record({ a: fc.bigInt(0n, 500_000n), b: fc.bigInt(0n, 500_000n), base: fc.bigInt(0n, 3000n), ppm: fc.bigInt(0n, 50_000n) }), { minLength: 2, maxLength: 3 }),
      fc.array(fc.record({ amount: fc.bigInt(1n, 400_000n), reverse: fc.boolean() }), { minLength: 1, maxLength: 8 }),
    ],
    { numRuns: 40 },
  )('every payment conserves the total, pays each forwarder exactly its fee, and a failure moves nothing', (paths, pays) => {
    const net = new LightningNetwork();
    const A = net.addNode(key()).pubkey;
    const B = net.addNode(key()).pubkey;
    const hubs = paths.map((p) => {
      const h = net.addNode(key()).pubkey;
      const pol = { baseMsat: p.base, ppm: p.ppm, cltvDelta: 40 };
      net.openChannel(A, h, p.a, p.b, pol, pol);
      net.openChannel(h, B, p.b, p.a, pol, pol);
      return h;
    });
    const total = net.totalBalance();
    for (const p of pays) {
      const [payer, payee] = p.reverse ? [B, A] : [A, B];
      const inv = net.createInvoice(payee, { amountMsat: p.amount });
      const before = new Map([A, B, ...hubs].map((n) => [n, net.balanceOf(n)]));
      const earnedBefore = new Map([A, B, ...hubs].map((n) => [n, net.feesEarned.get(n) ?? 0n]));
      try {
        const r = net.pay(payer, inv.paymentRequest);
        expect(createHash('sha256').update(Buffer.from(r.preimage, 'hex')).digest('hex')).toBe(inv.paymentHash);
        expect(before.get(payer)! - net.balanceOf(payer)).toBe(p.amount + r.feeMsat);
        expect(net.balanceOf(payee) - before.get(payee)!).toBe(p.amount);
        const fwd = r.route[0]!.to;
        const pol = paths[hubs.indexOf(fwd)]!;
        expect(net.balanceOf(fwd) - before.get(fwd)!).toBe(hopFee({ baseMsat: pol.base, ppm: pol.ppm, cltvDelta: 40 }, p.amount));
        // The forwarder's fee counter (the graph's feesEarnedMsat) gains what its balance did; nobody else's moves.
        for (const n of [A, B, ...hubs]) expect((net.feesEarned.get(n) ?? 0n) - earnedBefore.get(n)!).toBe(n === fwd ? net.balanceOf(fwd) - before.get(fwd)! : 0n);
      } catch (e) {
        expect(e).toBeInstanceOf(PayError);
        expect((e as PayError).code).toBe('NO_ROUTE');
        for (const [n, b] of before) expect(net.balanceOf(n)).toBe(b);
      }
      expect(net.totalBalance()).toBe(total);
      for (const c of net.channels) expect(c.balance1 >= 0n && c.balance2 >= 0n).toBe(true);
    }
  });

  test('an offline payee lets the HTLCs expire and everything returns; a paid invoice is refused again', () => {
    const net = new LightningNetwork();
    const A = net.addNode(key()).pubkey;
    const B = net.addNode(key()).pubkey;
    net.openChannel(A, B, 100_000n, 0n);
    const inv = net.createInvoice(B, { amountMsat: 10_000n });
    net.node(B).online = false;
    const h = net.height;
    expect(() => net.pay(A, inv.paymentRequest)).toThrow(expect.objectContaining({ code: 'HTLC_EXPIRED' }));
    expect(net.height).toBeGreaterThan(h);
    expect(net.balanceOf(A)).toBe(100_000n);
    net.node(B).online = true;
    net.pay(A, inv.paymentRequest);
    expect(() => net.pay(A, inv.paymentRequest)).toThrow(expect.objectContaining({ code: 'ALREADY_PAID' }));
    expect(net.balanceOf(B)).toBe(10_000n);
  });
});

describe('Lightning API', () => {
  // Found by ASA-ROB-01: 32 bytes of hex that are no secp256k1 key crashed node registration (500).
  test('a privateKey of 32 hex bytes outside 1..n-1 is refused with 400 and registers nothing', async () => {
    const net = new LightningNetwork();
    const srv = await startLightningServer(net);
    try {
      for (const privateKey of ['0'.repeat(64), 'f'.repeat(64), `0x${'0'.repeat(64)}`]) {
        const res = await fetch(`${srv.url}/v1/nodes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ privateKey, hubs: true }) });
        expect(res.status, privateKey).toBe(400);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_key');
      }
      expect(net.nodes.size).toBe(0);
      const ok = await fetch(`${srv.url}/v1/nodes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ privateKey: `${'0'.repeat(63)}1` }) });
      expect(ok.status).toBe(200);
    } finally {
      await srv.stop();
    }
  });

  // What a payer whose pay answer was lost asks its own node (the load driver's recovery).
  test('GET /v1/nodes/:node/payments/:hash answers the settled payment that node made (preimage, amount, fee), and 404 to any other node', async () => {
    const net = new LightningNetwork();
    const srv = await startLightningServer(net);
    try {
      const ln = new LightningClient(srv.url);
      const [a, hub, b] = await Promise.all([1, 2, 3].map(async (k) => (await ln.addNode(k.toString(16).padStart(64, '0'))).pubkey));
      await ln.openChannel({ node1: a!, node2: hub!, balance1Msat: 1_000_000n, balance2Msat: 0n });
      await ln.openChannel({ node1: hub!, node2: b!, balance1Msat: 1_000_000n, balance2Msat: 0n });
      const inv = await ln.invoice(b!, { amountMsat: 10_000n });
      await expect(ln.payment(a!, inv.paymentHash)).rejects.toMatchObject({ status: 404, code: 'unknown_payment' });
      const paid = await ln.pay(a!, inv.paymentRequest);
      const again = await ln.payment(a!, inv.paymentHash);
      expect(again).toEqual(paid);
      expect(again.amountMsat).toBe('10000');
      expect(BigInt(again.feeMsat)).toBeGreaterThan(0n);
      await expect(ln.payment(b!, inv.paymentHash)).rejects.toMatchObject({ status: 404 });
      await expect(ln.payment(hub!, inv.paymentHash)).rejects.toMatchObject({ status: 404 });
    } finally {
      await srv.stop();
    }
  });
});
