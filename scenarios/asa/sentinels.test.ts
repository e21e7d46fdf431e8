/**
 * WebSocket sentinels for the relay requirements (harness/testing/sentinels.test.ts points every
 * endpoint at plain HTTP servers, where the upgrade itself fails): a WebSocket that accepts and says
 * nothing, one that echoes every frame back, and one that answers every frame with NOTICE. The
 * relay scenarios pass nothing against them; every relay requirement ends fail, warn (a SHOULD) or
 * indeterminate, with a reason.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'vitest';
import { WebSocketServer } from 'ws';
import { roleKeys } from '../../harness/chain/accounts.ts';
import { loadProtocols } from '../../harness/packs/discover.ts';
import { parseTarget } from '../../harness/target/schema.ts';
import { certifyInProcess } from '../../harness/testing/kill.ts';

// Every wait against such a server runs into its timeout, so one kind, one run and no shrinking keep
// this file under a minute: the echo server, which answers every frame (with the wrong thing).
const KINDS = {
  echo: (send: (s: string) => void, frame: string) => send(frame),
} as const;

for (const [kind, reply] of Object.entries(KINDS)) {
  test(`asa relay scenarios against a WebSocket that is ${kind}: nothing passes`, { timeout: 300_000 }, async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    wss.on('connection', (ws) => ws.on('message', (d) => reply((s: string) => ws.send(s), d.toString())));
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    try {
      const p = (await loadProtocols()).find((x) => x.id === 'asa')!;
      const scenarios = p.scenarios.filter((s) => s.id.startsWith('relay-'));
      const target = parseTarget({
        name: `websocket sentinel (${kind})`,
        endpoints: { 'asa-relay': url },
        accounts: roleKeys()
          .filter((k) => k.kind !== 'ed25519')
          .map((k) => ({ role: k.role, kind: k.kind, privateKey: k.privateKey })),
      });
      // Verdicts only: unshrunk (each shrink step would wait out the sentinel's timeouts again).
      const r = await certifyInProcess(target, { protocol: 'asa', runs: 1, seed: 3, module: { ...p, scenarios }, shrink: false });
      const reqs = r.protocols[0]!.requirements.filter((q) => q.status !== 'uncovered');
      assert.ok(reqs.length >= 11, 'every relay requirement was judged');
      assert.deepEqual(
        reqs.filter((q) => q.status === 'pass').map((q) => q.id),
        [],
      );
      const bad = reqs.filter((q) => !['fail', 'indeterminate', ...(q.level === 'MUST' ? [] : ['warn'])].includes(q.status) || !q.reason);
      assert.deepEqual(
        bad.map((q) => `${q.id}: ${q.status} ${q.reason ?? ''}`),
        [],
      );
      assert.notEqual(r.exitCode, 0);
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    }
  });
}
