/**
 * Pipelines on one channel: a random DAG of text capabilities listed in a shuffled order runs in
 * topological order (results equal the bare composition), the channel pays exactly the nodes that ran,
 * the bill of materials is signed and totals the balance drop; a failing node stops its dependants;
 * cycles, unknown nodes and over-budget plans are refused before any debit.
 */
import fc from 'fast-check';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { centsCeil, parseUsdMicros } from '../../reference-impl/aimarket/protocol/money.ts';
import { parsePyJson, type PyValue } from '../../reference-impl/aimarket/protocol/pyjson.ts';
import { verifyBom } from '../../reference-impl/aimarket/protocol/sign.ts';
import { PipelineSchema, type Tool } from '../../reference-impl/aimarket/protocol/wire.ts';
import { balanceCents, centsOf, configOf, discovered, HUB, hubOf, openChannel, randomCents, textTools } from './lab.ts';

interface Node {
  id: string;
  product_id: string;
  capability_id: string;
  input?: { text: string };
  input_from?: string;
  depends_on: string[];
}

/** What the lab's text capabilities do to `{text}` when the target is the reference (names from the catalog); unknown tools are not composed. */
const BARE: Record<string, (s: string) => string> = {
  'upper@v1': (s) => s.toUpperCase(),
  'reverse@v1': (s) => [...s].reverse().join(''),
};

export const pipelines = defineScenario({
  kind: 'property',
  id: 'pipelines',
  title:
    'Pipelines: topological order on one channel, dependants of a failed node skipped, signed BOM totalling the balance drop; cycles, unknown nodes and over-budget plans refused before any debit',
  requirements: ['AIM-PIP-01', 'AIM-PIP-02', 'AIM-PIP-03', 'AIM-PIP-04', 'AIM-PIP-05', 'AIM-CHN-01'],
  ...HUB,
  roles: ['buyer1', 'buyer2'],
  arbitrary: () =>
    fc.record({
      chain: fc.array(fc.nat(), { minLength: 2, maxLength: 4 }),
      extra: fc.nat(),
      order: fc.nat(),
      text: fc.stringMatching(/^[a-z]{1,10}$/),
      failAt: fc.option(fc.nat(), { nil: undefined }),
      payer: fc.constantFrom('buyer1', 'buyer2'),
      refusals: fc.shuffledSubarray(['cycle', 'unknown-node', 'unknown-capability', 'over-budget'] as const, { minLength: 4 }),
    }),
  async run(ctx, v) {
    const hub = hubOf(ctx);
    const d = await discovered(ctx, hub, 'AIM-PIP-01');
    const tools = textTools(d.manifest.tools).filter((t) => BARE[t.capability_id] !== undefined);
    if (!tools.length) throw new Indeterminate('AIM-PIP-01', 'the catalog has no text-to-text tool the scenario can compose (upper@v1, reverse@v1)');
    const failure = configOf(ctx).failure;
    const cents = randomCents(ctx, 60, 99);
    const ch = await openChannel(ctx, hub, tools[0]!, v.payer, cents, 'AIM-CHN-01');
    let balance = await balanceCents(hub, ch.id);
    if (balance === undefined) balance = cents;

    // Refusals first: each must leave the balance as it is.
    const pick = (i: number): Tool => tools[i % tools.length]!;
    const n0 = { id: 'a', product_id: pick(0).product_id, capability_id: pick(0).capability_id, input: { text: v.text } };
    const dear = [...textTools(d.manifest.tools)].sort((a, b) => b.price_per_call_usd - a.price_per_call_usd)[0]!;
    const bad: Record<string, Node[]> = {
      cycle: [
        { ...n0, input: undefined, input_from: 'b', depends_on: ['b'] },
        { id: 'b', product_id: pick(1).product_id, capability_id: pick(1).capability_id, input_from: 'a', depends_on: ['a'] },
      ],
      'unknown-node': [{ ...n0, depends_on: ['ghost'] }],
      'unknown-capability': [
        { ...n0, depends_on: [] },
        { id: 'b', product_id: 'no-such-product', capability_id: 'nothing@v9', input_from: 'a', depends_on: ['a'] },
      ],
      'over-budget': Array.from({ length: Math.min(33, Number(balance / centsCeil(parseUsdMicros(dear.price_per_call_usd))) + 1) }, (_, i) => ({
        id: `n${i}`,
        product_id: dear.product_id,
        capability_id: dear.capability_id,
        input: { text: v.text },
        depends_on: [],
      })),
    };
    for (const kind of v.refusals) {
      if (kind === 'over-budget' && bad[kind]!.length > 32) continue;
      ctx.act(`the buyer submits a pipeline with ${kind}`);
      const r = await hub.pipeline(ch.id, bad[kind]!);
      ctx.expectRefused('AIM-PIP-02', { status: r.status, body: r.body }, `a pipeline with ${kind} is refused`);
      const b = await balanceCents(hub, ch.id);
      if (b !== undefined) ctx.expectEqual('AIM-PIP-02', b, balance, `the ${kind} refusal debited nothing`);
    }

    // A chain a → b → c … (listed in a rotated order) plus an independent node; optionally a failing node in the chain.
    const chainTools = v.chain.map(pick);
    const failIdx = failure && v.failAt !== undefined ? v.failAt % chainTools.length : undefined;
    const nodes: Node[] = chainTools.map((t, i) => {
      const fail = i === failIdx;
      const base = fail ? { product_id: failure!.product_id, capability_id: failure!.capability_id } : { product_id: t.product_id, capability_id: t.capability_id };
      if (i === 0) return { id: 'n0', ...base, input: fail ? (failure!.input as { text: string }) : { text: v.text }, depends_on: [] };
      return fail ? { id: `n${i}`, ...base, input: failure!.input as { text: string }, depends_on: [`n${i - 1}`] } : { id: `n${i}`, ...base, input_from: `n${i - 1}`, depends_on: [`n${i - 1}`] };
    });
    const indep = pick(v.extra);
    nodes.push({ id: 'solo', product_id: indep.product_id, capability_id: indep.capability_id, input: { text: v.text }, depends_on: [] });
    const rot = v.order % nodes.length;
    const listed = [...nodes.slice(rot), ...nodes.slice(0, rot)].reverse();
    // The model: which nodes run, what they cost, the final text of the chain.
    let text = v.text;
    let ran = 0n;
    let chainOk = true;
    const expectedStatus = new Map<string, boolean>();
    chainTools.forEach((t, i) => {
      if (!chainOk || i === failIdx) {
        chainOk = false;
        expectedStatus.set(`n${i}`, false);
        return;
      }
      text = BARE[t.capability_id]!(i === 0 ? v.text : text);
      ran += centsCeil(parseUsdMicros(t.price_per_call_usd));
      expectedStatus.set(`n${i}`, true);
    });
    ran += centsCeil(parseUsdMicros(indep.price_per_call_usd));
    expectedStatus.set('solo', true);
    ctx.act(`the buyer runs a ${nodes.length}-node pipeline listed as ${listed.map((n) => n.id).join(', ')}${failIdx !== undefined ? ` (n${failIdx} fails)` : ''}`);
    const r = await hub.pipeline(ch.id, listed);
    ctx.expectStatus('AIM-PIP-01', { status: r.status, body: r.body }, 200, 'the pipeline runs');
    const p = PipelineSchema.safeParse(r.body);
    ctx.check('AIM-PIP-04', p.success, 'the answer carries trace_id and a bill_of_materials {trace_id, steps, total_usd, signature}', { expected: 'documented shape', actual: r.text.slice(0, 200) });
    const bom = p.data!.bill_of_materials;
    ctx.expectEqual('AIM-PIP-04', bom.trace_id, p.data!.trace_id, 'the BOM names the pipeline’s trace_id');
    ctx.expectEqual('AIM-PIP-04', bom.steps.length, nodes.length, 'one BOM step per node');
    const after = await balanceCents(hub, ch.id);
    const drop = after === undefined ? undefined : balance - after;
    if (drop !== undefined) {
      ctx.expectEqual(failIdx === undefined ? 'AIM-PIP-01' : 'AIM-PIP-03', drop, ran, 'the channel paid exactly the nodes that ran (ceiling cents)');
      ctx.expectEqual('AIM-PIP-04', centsOf(bom.total_usd), drop, 'BOM total_usd = the balance drop');
    }
    ctx.expectEqual('AIM-PIP-04', centsOf(bom.total_usd), ran, 'BOM total_usd = the sum over the nodes that ran');
    const stepOk = new Map(bom.steps.map((s) => [String((s as { node_id?: unknown; id?: unknown }).node_id ?? (s as { id?: unknown }).id ?? ''), s.success]));
    if ([...stepOk.keys()].every((k) => k !== ''))
      ctx.expectEqual('AIM-PIP-03', Object.fromEntries([...stepOk].sort()), Object.fromEntries([...expectedStatus].sort()), 'dependants of a failed node did not run; the others did');
    if (failIdx === undefined) {
      const results = (r.body as { results?: Record<string, { text?: string }> }).results;
      const last = results?.[`n${chainTools.length - 1}`]?.text ?? (listed.length === 1 ? (p.data!.final_result as { text?: string })?.text : undefined);
      if (last !== undefined) ctx.expectEqual('AIM-PIP-01', last, text, 'the chain’s result equals the composition of its capabilities (topological order, input_from)');
    }
    const rawBom = (parsePyJson(r.text) as { bill_of_materials?: { [k: string]: PyValue } }).bill_of_materials ?? {};
    const bv = verifyBom(rawBom, d.wellKnown.signer_public_key);
    ctx.check('AIM-PIP-05', bv.ok, `the BOM verifies under the profile’s canonical (${bv.reason})`, { expected: 'bom-v1', actual: bv.generation });
    await hub.closeChannel(ch.id);
  },
});
