/**
 * Federation through a routing hub (endpoint `aimarket-router`) that indexes the hub under test
 * (endpoint `aimarket`): routed prices in search, the routed invoke (402 forwarded, paid result and
 * the provider's receipt passed through), 502 for a provider that is down (`config.aimarket.downPeer`),
 * and announcements (tampered refused; a known peer unchanged; a new one never published).
 */
import fc from 'fast-check';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { signedAnnouncement } from '../../reference-impl/aimarket/agents/adversary.ts';
import { checkReceipt, requirementOf } from '../../reference-impl/aimarket/agents/buyer.ts';
import { AIMARKET_CONSTANTS } from '../../reference-impl/aimarket/protocol/constants.ts';
import { centsCeil, formatUsd, parseUsdMicros, routedPriceAcceptable } from '../../reference-impl/aimarket/protocol/money.ts';
import { signerFromSeed } from '../../reference-impl/aimarket/protocol/sign.ts';
import { SearchSchema, WellKnownSchema } from '../../reference-impl/aimarket/protocol/wire.ts';
import { balanceCents, chainFor, configOf, discovered, hubOf, openChannel, payerOf, randomCents, sameOrigin, textTools } from './lab.ts';

const FED = { endpoints: ['aimarket', 'aimarket-router'], isolation: 'live' as const };
const origin = (u: string) => new URL(u).origin;

export const federatedSearch = defineScenario({
  kind: 'property',
  id: 'federated-search',
  title: 'Federated search: routed_price_usd = price × (1 + routing_fee_bps/10000) with the router’s declared fee, provider prices, trust in [0,1], min_trust filters',
  requirements: ['AIM-FED-01'],
  ...FED,
  arbitrary: () =>
    fc.record({
      words: fc.subarray(['translate', 'text', 'upper', 'reverse', 'count', 'languages', 'echo'], { minLength: 1 }),
      minTrust: fc.double({ min: 0, max: 1, noNaN: true }),
      budget: fc.nat(),
    }),
  async run(ctx, v) {
    const provider = hubOf(ctx);
    const router = hubOf(ctx, 'aimarket-router');
    const d = await discovered(ctx, provider, 'AIM-FED-01');
    const rwk = await ctx.json('AIM-FED-01', `${router.url}/.well-known/ai-market.json`, WellKnownSchema);
    const fee = rwk.federation?.routing_fee_bps;
    if (fee === undefined) throw new Indeterminate('AIM-FED-01', 'the router declares no federation.routing_fee_bps');
    // The fee is the router's choice; a profile that sets one says the router is configured with it.
    const pinned = AIMARKET_CONSTANTS.pinned(ctx.profile).routingFeeBps;
    if (pinned !== undefined) ctx.expectEqual('AIM-FED-01', BigInt(fee), pinned, 'the router declares the routing fee the profile sets');
    ctx.act(`the buyer searches the router for "${v.words.join(' ')}"`);
    const s = await ctx.json('AIM-FED-01', `${router.url}/ai-market/v2/search?intent=${encodeURIComponent(v.words.join(' '))}&limit=100`, SearchSchema);
    const price = new Map(d.manifest.tools.map((t) => [`${t.product_id}/${t.capability_id}`, t.price_per_call_usd]));
    const providerOrigin = origin(provider.url);
    for (const m of s.matches) {
      ctx.check('AIM-FED-01', routedPriceAcceptable(m.routed_price_usd, parseUsdMicros(m.price_per_call_usd), BigInt(m.routing_fee_bps)), `routed price of ${m.capability_id} follows the formula`, {
        expected: `${m.price_per_call_usd} × (1 + ${m.routing_fee_bps}/10000)`,
        actual: m.routed_price_usd,
      });
      let src = m.source_hub;
      try {
        src = origin(m.source_hub);
      } catch {}
      if (src === providerOrigin) {
        ctx.expectEqual('AIM-FED-01', m.routing_fee_bps, fee, `a match from the provider carries the router’s declared fee (${m.capability_id})`);
        ctx.expectEqual('AIM-FED-01', m.price_per_call_usd, price.get(`${m.product_id}/${m.capability_id}`), `a match from the provider carries its manifest price (${m.capability_id})`);
      }
    }
    const f = await ctx.json('AIM-FED-01', `${router.url}/ai-market/v2/search?intent=${encodeURIComponent(v.words.join(' '))}&limit=100&min_trust=${v.minTrust}`, SearchSchema);
    for (const m of f.matches) ctx.check('AIM-FED-01', m.trust_score >= v.minTrust, `min_trust=${v.minTrust} filters`, { expected: `>= ${v.minTrust}`, actual: m.trust_score });

    // The other filters of the search route, each in every run (profile AIM-PROF-16); no intent: every indexed capability is a candidate.
    const searched = (q: string) => ctx.json('AIM-FED-01', `${router.url}/ai-market/v2/search?limit=100${q}`, SearchSchema);
    ctx.act('the buyer searches the router with min_trust=1 (the upper bound)');
    for (const m of (await searched('&min_trust=1')).matches) ctx.check('AIM-FED-01', m.trust_score >= 1, 'min_trust=1 filters', { expected: '>= 1', actual: m.trust_score });
    const latency = new Map(d.manifest.tools.filter((t) => typeof t.p50_latency_ms === 'number').map((t) => [`${t.product_id}/${t.capability_id}`, t.p50_latency_ms as number]));
    if (latency.size > 0) {
      const fastest = Math.min(...latency.values());
      ctx.act(`the buyer searches the router with max_latency_ms=${fastest}`);
      for (const m of (await searched(`&max_latency_ms=${fastest}`)).matches) {
        const own = typeof m.p50_latency_ms === 'number' ? m.p50_latency_ms : sameOrigin(m.source_hub, provider.url) ? latency.get(`${m.product_id}/${m.capability_id}`) : undefined;
        if (own !== undefined) ctx.check('AIM-FED-01', own <= fastest, `max_latency_ms=${fastest} filters ${m.capability_id}`, { expected: `p50 <= ${fastest}`, actual: own });
      }
    }
    const prices = [...new Set(d.manifest.tools.map((t) => parseUsdMicros(t.price_per_call_usd)))].sort((a, b) => (a < b ? -1 : 1));
    if (prices.length > 1) {
      // A budget below the dearest price: whichever price a hub compares (listed or routed), nothing dearer than it may match.
      const budget = prices[v.budget % (prices.length - 1)]!;
      ctx.act(`the buyer searches the router with budget=${formatUsd(budget)}`);
      for (const m of (await searched(`&budget=${formatUsd(budget)}`)).matches)
        ctx.check('AIM-FED-01', parseUsdMicros(m.price_per_call_usd) <= budget, `budget=${formatUsd(budget)} filters ${m.capability_id}`, {
          expected: `<= ${formatUsd(budget)}`,
          actual: m.price_per_call_usd,
        });
    }
    if (d.wellKnown.protocol_versions.includes('v2')) {
      // hub=local on the provider: its own capabilities, and some when it has any.
      const own = (m: { source_hub: string }) => m.source_hub === 'local' || sameOrigin(m.source_hub, provider.url);
      const all = await ctx.json('AIM-FED-01', `${provider.url}/ai-market/v2/search?limit=100`, SearchSchema);
      ctx.act('the buyer searches the provider with hub=local');
      const local = await ctx.json('AIM-FED-01', `${provider.url}/ai-market/v2/search?limit=100&hub=local`, SearchSchema);
      if (all.matches.some(own))
        ctx.check('AIM-FED-01', local.matches.length > 0 && local.matches.every(own), 'hub=local answers the hub’s own capabilities', {
          expected: 'its own matches',
          actual: local.matches.map((m) => m.source_hub).join(', ') || '(none)',
        });
    }
    const peer = (rwk.peers ?? []).find((p) => sameOrigin(p.url, provider.url));
    if (peer && rwk.protocol_versions.includes('v2')) {
      ctx.act(`the buyer reads the router's reputation of ${peer.url}`);
      const rep = await router.call('GET', `/ai-market/v2/reputation/${encodeURIComponent(peer.url)}`);
      const trust = (rep.body as { trust_score?: unknown } | undefined)?.trust_score;
      ctx.check(
        'AIM-FED-01',
        rep.status === 200 && typeof trust === 'number' && trust >= 0 && trust <= 1,
        'GET /ai-market/v2/reputation/{hub_url} of a published peer answers its trust_score in [0, 1]',
        {
          expected: '200 {trust_score}',
          actual: `${rep.status} ${rep.text.slice(0, 160)}`,
        },
      );
    }
  },
});

export const routedInvoke = defineScenario({
  kind: 'property',
  id: 'routed-invoke',
  title: 'Routed invoke: the provider’s 402 forwarded, the paid result and the provider-signed receipt passed through, routing headers carry the fee; 502 when the provider is down',
  requirements: ['AIM-FED-02', 'AIM-FED-03'],
  ...FED,
  roles: ['buyer1', 'buyer2'],
  arbitrary: () => fc.record({ tool: fc.nat(), text: fc.stringMatching(/^[a-z ]{1,20}$/), payer: fc.constantFrom('buyer1', 'buyer2') }),
  async run(ctx, v) {
    const provider = hubOf(ctx);
    const router = hubOf(ctx, 'aimarket-router');
    const d = await discovered(ctx, provider, 'AIM-FED-02');
    const tools = textTools(d.manifest.tools);
    if (!tools.length) throw new Indeterminate('AIM-FED-02', 'no tool callable with {text}');
    const t = tools[v.tool % tools.length]!;
    const rwk = (await router.wellKnown()).body as { federation?: { routing_fee_bps?: number } } | undefined;
    const fee = rwk?.federation?.routing_fee_bps;
    const body = { product_id: t.product_id, capability_id: t.capability_id, source_hub: origin(provider.url), input: { text: v.text } };
    ctx.act(`the buyer invokes ${t.name} through the router without paying`);
    const u = await router.routedInvoke(body);
    ctx.expectStatus('AIM-FED-02', { status: u.status, body: u.body }, 402, 'an unpaid routed invoke answers 402');
    const rq = requirementOf(u);
    ctx.check('AIM-FED-02', rq.ok, `the router forwards X-Payment-Required (${rq.ok ? 'ok' : rq.reason})`, {
      expected: 'raw JSON requirement',
      actual: u.headers.get('x-payment-required') ?? '(absent)',
    });
    if (!rq.ok) return;
    const chain = await chainFor(ctx, rq.req, 'AIM-FED-02');
    const tx = await payerOf(ctx, chain.session, v.payer).transfer(chain.token, rq.req.recipient, rq.amount);
    if (!tx.ok) throw new Indeterminate('AIM-FED-02', `setup: transfer failed (${tx.reason})`);
    ctx.act(`the buyer retries through the router with X-Payment ${tx.hash.slice(0, 12)}…`);
    const paid = await router.routedInvoke(body, { txHash: tx.hash });
    ctx.expectStatus('AIM-FED-02', { status: paid.status, body: paid.body }, 200, 'the paid routed invoke answers 200');
    const rv = checkReceipt(paid.text, d.wellKnown.signer_public_key);
    ctx.check('AIM-FED-02', rv.ok, `the passed-through receipt verifies under the provider’s key (${rv.generation}: ${rv.reason})`, { expected: 'verified', actual: rv.generation });
    for (const h of [u, paid]) {
      const got = h.headers.get('x-aimarket-routing-fee');
      if (got !== null && fee !== undefined) ctx.expectEqual('AIM-FED-02', Number(got), fee, 'X-AIMarket-Routing-Fee carries the declared fee');
    }
    if (d.wellKnown.protocol_versions.includes('v2')) {
      const { source_hub: _, ...local } = body;
      ctx.act(`the buyer invokes ${t.name} on the provider's POST /ai-market/v2/invoke without source_hub, unpaid`);
      const l = await provider.routedInvoke(local);
      ctx.expectStatus('AIM-FED-02', { status: l.status, body: l.body }, 402, 'a v2 invoke without source_hub invokes the hub’s own capability: unpaid, 402');
      const lq = requirementOf(l);
      ctx.check('AIM-FED-02', lq.ok, `it names the payment in X-Payment-Required (${lq.ok ? 'ok' : lq.reason})`, {
        expected: 'raw JSON requirement',
        actual: l.headers.get('x-payment-required') ?? '(absent)',
      });
    }
    // Paid by a channel at the provider: served with one debit, or (a router that passes no channel) 402 and none (profile AIM-PROF-13).
    const debit = centsCeil(parseUsdMicros(t.price_per_call_usd));
    const ch = await openChannel(ctx, provider, t, v.payer, 2n * debit + randomCents(ctx, 1, 20), 'AIM-FED-02');
    const before = await balanceCents(provider, ch.id);
    ctx.act(`the buyer invokes ${t.name} through the router with X-Payment-Channel ${ch.id} (a channel at the provider)`);
    const c = await router.routedInvoke(body, { channel: ch.id });
    const after = await balanceCents(provider, ch.id);
    if (c.status === 200) {
      if (before !== undefined && after !== undefined) ctx.expectEqual('AIM-FED-02', before - after, debit, 'the routed channel call is debited once (cents)');
    } else
      ctx.check('AIM-FED-02', c.status === 402 && before === after, 'a routed channel call not served answers 402 and debits nothing', {
        expected: `200, or 402 with the balance ${before}`,
        actual: `${c.status}, balance ${after}: ${c.text.slice(0, 120)}`,
      });
    await provider.closeChannel(ch.id);
    const down = configOf(ctx).downPeer;
    if (down) {
      ctx.act(`the buyer invokes through the router a capability of ${down}, which is down`);
      const r = await router.routedInvoke({ ...body, product_id: 'prod-text', capability_id: 'count@v1', source_hub: origin(down) });
      ctx.expectStatus('AIM-FED-03', { status: r.status, body: r.body }, 502, 'an unreachable provider answers 502');
    }
  },
});

export const announcements = defineScenario({
  kind: 'property',
  id: 'announcements',
  title: 'Announcements: a tampered one refused; one for a known peer changes nothing (its tools stay indexed after a crawl); a new hub is never published as a peer',
  requirements: ['AIM-FED-04'],
  ...FED,
  signers: ['attacker'],
  arbitrary: () => fc.record({ port: fc.integer({ min: 20000, max: 60000 }), name: fc.string({ minLength: 1, maxLength: 30 }), n: fc.nat(1000) }),
  async run(ctx, v) {
    const provider = hubOf(ctx);
    const router = hubOf(ctx, 'aimarket-router');
    const attacker = signerFromSeed(ctx.key('attacker').slice(2));
    const sign = (doc: { hub_url: string; well_known_url: string; capabilities_count: number; hub_name?: string }) => signedAnnouncement(attacker, doc);
    const search = async () => {
      const s = await router.search({ intent: '', limit: 100 });
      return ((s.body as { matches?: { source_hub: string; capability_id: string }[] } | undefined)?.matches ?? []).filter((m) => {
        try {
          return origin(m.source_hub) === origin(provider.url);
        } catch {
          return false;
        }
      }).length;
    };
    const peersBefore = await router.peers();
    const indexedBefore = await search();
    if (indexedBefore === 0) throw new Indeterminate('AIM-FED-04', 'the router indexes none of the provider’s tools (AIM-FED-01 reports it): no known peer to protect');
    const fresh = `http://hub-${v.n}.example.com:${v.port}`;
    const doc = { hub_url: fresh, well_known_url: `${fresh}/.well-known/ai-market.json`, capabilities_count: 3, hub_name: v.name };
    const tampered = { ...sign(doc), hub_url: `http://evil-${v.n}.example.com` };
    ctx.act('an attacker announces a hub with a tampered hub_url');
    const t = await router.announce(tampered);
    ctx.expectRefused('AIM-FED-04', { status: t.status, body: t.body }, 'a tampered announcement is refused');
    ctx.act('the attacker announces the provider (a known peer) under its own key and a new name');
    const known = sign({ hub_url: origin(provider.url), well_known_url: `${origin(provider.url)}/.well-known/ai-market.json`, capabilities_count: 0, hub_name: `evil ${v.name}` });
    const k = await router.announce(known);
    ctx.check('AIM-FED-04', k.status < 500, 'the announcement of a known peer is answered (not a 5xx)', { expected: '2xx/4xx', actual: k.status });
    const peersAfter = await router.peers();
    if (peersBefore.status === 200 && peersAfter.status === 200) {
      const pick = (a: typeof peersBefore) => ((a.body as { peers?: { url: string }[] }).peers ?? []).find((p) => origin(p.url) === origin(provider.url));
      const strip = (p: Record<string, unknown> | undefined) => (p ? { ...p, last_crawl: undefined, trust_score: undefined } : p);
      ctx.expectEqual('AIM-FED-04', strip(pick(peersAfter) as never), strip(pick(peersBefore) as never), 'the known peer’s stored record did not change');
    }
    ctx.act('the router crawls (POST /ai-market/v2/federation/crawl)');
    await router.call('POST', '/ai-market/v2/federation/crawl', {});
    ctx.expectEqual('AIM-FED-04', await search(), indexedBefore, 'the provider’s tools are still indexed under its pinned key after a crawl');
    ctx.act('the attacker announces a new hub');
    await router.announce(sign(doc));
    const wk = (await router.wellKnown()).body as { peers?: { url: string }[] } | undefined;
    ctx.check('AIM-FED-04', !(wk?.peers ?? []).some((p) => p.url.includes(`hub-${v.n}.example.com`)), 'an announced hub is not published in the router’s peers', {
      expected: 'absent',
      actual: JSON.stringify(wk?.peers),
    });
    const m2 = await router.manifestV2();
    const byHub = Object.keys((m2.body as { by_hub?: Record<string, unknown> } | undefined)?.by_hub ?? {});
    if (m2.status === 200)
      ctx.check('AIM-FED-04', !byHub.some((u) => u.includes(`hub-${v.n}.example.com`)), 'an announced hub is not listed in the by_hub of the router’s v2 manifest', {
        expected: 'absent',
        actual: byHub.join(', '),
      });
  },
});
