/**
 * Every protocol pack, certified against four sentinel servers that implement nothing (a closed
 * port, 200 {} to everything, 403 to everything, an empty 200): no requirement may pass, and each
 * ends fail, indeterminate or not-applicable with a reason. A check made vacuous (one that passes
 * whatever the server answers) makes this test fail. Protocols are discovered, so a new pack is
 * covered without an edit here.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import type { ProtocolModule } from '../engine/dsl.ts';
import { loadProtocols } from '../packs/discover.ts';
import { startReference, type Reference } from '../services/reference.ts';
import { parseTarget } from '../target/schema.ts';
import { certifyInProcess } from './kill.ts';
import { SENTINEL_BEHAVIOUR, SENTINEL_KINDS, startSentinel } from './sentinels.ts';

const protocols = await loadProtocols();
let ref: Reference;

beforeAll(async () => {
  ref = await startReference({ chainsOnly: true });
});
afterAll(async () => {
  await ref?.stop();
});

/**
 * The reference target's chains and accounts with the protocol's endpoints at `url` (phase
 * `endpoints`: the scenarios that talk to an endpoint, chains real), or with every chain RPC at `url`
 * (phase `chains`: the scenarios that only use chains).
 */
function sentinelTarget(p: ProtocolModule, url: string, phase: 'endpoints' | 'chains') {
  return parseTarget({
    ...ref.target,
    name: `sentinel for ${p.id} (${phase})`,
    chains: phase === 'chains' ? ref.target.chains.map((c) => ({ ...c, rpcUrl: url })) : ref.target.chains,
    endpoints: Object.fromEntries(Object.keys(p.endpoints ?? {}).map((e) => [e, url])),
    capabilities: [...ref.target.capabilities, ...(Object.keys(p.capabilities ?? {}) as never[])],
    config: {},
  });
}

describe.each(protocols.map((p) => [p.id, p] as const))('%s against sentinels', (_id, p) => {
  test.each(SENTINEL_KINDS.map((k) => [k]))(`${p.id}: a server that %s passes nothing`, async (kind) => {
    const sentinel = await startSentinel(kind);
    try {
      let ran = 0;
      for (const phase of ['endpoints', 'chains'] as const) {
        const scenarios = p.scenarios.filter((s) => (phase === 'endpoints' ? s.endpoints?.length : !s.endpoints?.length));
        if (!scenarios.length) continue;
        ran++;
        const r = await certifyInProcess(sentinelTarget(p, sentinel.url, phase), { protocol: p.id, runs: 2, seed: 3, module: { ...p, scenarios } });
        // Requirements only other-phase scenarios check are uncovered here; they are judged in that phase.
        const reqs = r.protocols[0]!.requirements.filter((q) => q.status !== 'uncovered');
        const passed = reqs.filter((q) => q.status === 'pass').map((q) => `${q.id} passed against a sentinel (${SENTINEL_BEHAVIOUR[kind]}, ${phase})`);
        assert.deepEqual(passed, [], 'a check that passes against a server that implements nothing is vacuous');
        // warn is how a SHOULD fails.
        const ends = (level: string) => ['fail', 'indeterminate', 'not-applicable', ...(level === 'MUST' ? [] : ['warn'])];
        const bad = reqs.filter((q) => !ends(q.level).includes(q.status) || !q.reason).map((q) => `${q.id}: ${q.status} ${q.reason ?? '(no reason)'} (${phase})`);
        assert.deepEqual(bad, [], 'every requirement ends fail (warn for a SHOULD), indeterminate or not-applicable, with a reason');
        assert.notEqual(r.exitCode, 0);
      }
      assert.ok(ran > 0);
    } finally {
      await sentinel.stop();
    }
  });
});
