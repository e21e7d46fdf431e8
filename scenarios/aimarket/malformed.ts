/**
 * Malformed requests on every POST route and the query routes: each is answered 4xx with a JSON
 * body, and nothing changes (the run's channel balance, the stats count).
 */
import fc from 'fast-check';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { junkJson } from '../../reference-impl/aimarket/protocol/fuzz.ts';
import { balanceCents, discovered, HUB, hubOf, openChannel, randomCents, textTools } from './lab.ts';

/**
 * Bodies no route accepts: the robustness generators' bodies that are not a JSON object (printable
 * ASCII up to 200 characters, so each also fits a header and a query string), and wrong shapes.
 */
const junk = fc.oneof(
  fc.constantFrom('{"input": 5}', '{"input": []}', '{"input": {"text": 7}}', '{"deposit_usd": "-1", "tx_hash": "0x12"}', '{"channel_id": 5}', '{"nodes": "x"}', '{"query": 7}'),
  junkJson.filter((b): b is string => typeof b === 'string' && b.length <= 200 && /^[\x20-\x7e]+$/.test(b)),
);

export const malformed = defineScenario({
  kind: 'property',
  id: 'malformed-requests',
  title: 'Malformed requests on every route are refused with a 4xx JSON error and change nothing',
  requirements: ['AIM-MAL-01', 'AIM-CHN-01'],
  ...HUB,
  roles: ['buyer2'],
  arbitrary: () =>
    fc.array(fc.tuple(fc.constantFrom('invoke', 'invoke-payment', 'open', 'close', 'pricing', 'discover', 'pipeline', 'search', 'announce', 'v2-invoke'), junk), { minLength: 6, maxLength: 12 }),
  async run(ctx, reqs) {
    const hub = hubOf(ctx);
    const d = await discovered(ctx, hub, 'AIM-MAL-01');
    const t = textTools(d.manifest.tools)[0];
    if (!t) throw new Indeterminate('AIM-MAL-01', 'no tool callable with {text}');
    const ch = await openChannel(ctx, hub, t, 'buyer2', randomCents(ctx, 5, 50), 'AIM-CHN-01');
    const bal0 = await balanceCents(hub, ch.id);
    const count = async () => ((await hub.stats()).body as { invocations?: number } | undefined)?.invocations;
    const stats0 = await count();
    const inv = `/capabilities/${encodeURIComponent(t.product_id)}/${encodeURIComponent(t.capability_id)}/invoke`;
    for (const [route, body] of reqs) {
      const target: Record<string, [string, string, Record<string, string>?]> = {
        invoke: ['POST', inv, { 'x-payment-channel': ch.id }],
        'invoke-payment': ['POST', inv, { 'x-payment': body }],
        open: ['POST', '/ai-market/channel/open'],
        close: ['POST', '/ai-market/channel/close'],
        pricing: ['POST', `/ai-market/pricing/${encodeURIComponent(t.product_id)}/${encodeURIComponent(t.capability_id)}`],
        discover: ['POST', '/ai-market/discover'],
        pipeline: ['POST', '/ai-market/pipelines'],
        search: ['GET', `/ai-market/v2/search?limit=${encodeURIComponent(body)}`],
        announce: ['POST', '/ai-market/v2/federation/announce'],
        'v2-invoke': ['POST', '/ai-market/v2/invoke', { 'x-payment-channel': ch.id }],
      };
      const [method, path, headers] = target[route]!;
      const sendBody = route === 'invoke-payment' ? JSON.stringify({ input: { text: 'x' } }) : route === 'search' ? undefined : body;
      ctx.act(`${method} ${path} with ${JSON.stringify(sendBody ?? body).slice(0, 60)}`);
      const a = await hub.call(method, path, sendBody, headers ?? {});
      if (route === 'search' && /^\d+$/.test(body) && Number(body) >= 1 && Number(body) <= 100) continue;
      if (route === 'invoke-payment') {
        ctx.check('AIM-MAL-01', a.status >= 400 && a.status < 500, 'a malformed X-Payment is refused with a 4xx', { expected: '4xx', actual: `${a.status} ${a.text.slice(0, 120)}` });
        continue;
      }
      if (route === 'announce' && a.status === 404) continue;
      // A quote may be given for any {input: {...}} (pricing by size needs no schema check): only other bodies are malformed there.
      if (route === 'pricing' && /^\s*\{\s*"input"\s*:\s*\{/.test(body)) continue;
      ctx.check('AIM-MAL-01', a.status >= 400 && a.status < 500 && a.body !== undefined, `a malformed ${route} request is a 4xx with a JSON body`, {
        expected: '4xx JSON',
        actual: `${a.status} ${a.text.slice(0, 120)}`,
      });
    }
    const bal1 = await balanceCents(hub, ch.id);
    ctx.expectEqual('AIM-MAL-01', bal1, bal0, 'the channel balance did not change');
    ctx.expectEqual('AIM-MAL-01', await count(), stats0, 'the stats count did not change');
    await hub.closeChannel(ch.id);
  },
});
