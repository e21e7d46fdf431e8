/** Kill tests of `aisp`: the reference stack passes; each broken variant fails its requirement (see kills.ts). */
import assert from 'node:assert/strict';
import { test } from 'vitest';
import { certifyInProcess, killSuite } from '../../harness/testing/kill.ts';
import kills from './kills.ts';

killSuite(kills);

// The control runs at the default depth (1), where "refused until k deep" never has a window: the
// reference must also pass the depth and reorg scenarios at a larger depth, where the kills run.
test('the reference backend at confirmations 3 passes the confirmation and reorg requirements', async () => {
  const t = await kills.start({ confirmations: 3 });
  try {
    const r = await certifyInProcess(t.target, { protocol: 'aisp', grep: 'key-before-funding|funded-revert|funded-reorg', runs: 3, seed: kills.seed ?? 7 });
    const judged = r.protocols[0]!.requirements.filter((q) => ['AISP-KEY-04', 'AISP-ORG-01'].includes(q.id));
    assert.deepEqual(
      judged.map((q) => `${q.id}: ${q.status} ${q.reason ?? ''}`.trim()),
      ['AISP-KEY-04: pass', 'AISP-ORG-01: pass'],
    );
  } finally {
    await t.stop();
  }
});
