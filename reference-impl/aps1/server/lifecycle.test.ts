/**
 * The reference APS-1 servers end to end on a tempo anvil: manifest and health, negotiation, an
 * execution paid by each escrow method (NexusV2 with proof, StreamV1 milestone, direct transfer),
 * escrow reuse refused, status, the judge's settlement with the exact fee, and the marketplace
 * charging, settling and refunding by the agent's outcome.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import type { Address } from 'viem';
import { agentClient, marketplaceClient } from '../agents/clients.ts';
import { allowAll, envelope, escrowNexus, escrowStream, nexusCall, negotiation, payDirect, type Escrow } from '../agents/employer.ts';
import { APS1ManifestSchema, APS1ResultSchema, APS1SettlementSchema } from '../protocol/schemas.ts';
import { platformFee } from '../protocol/fees.ts';
import { startLab, type Lab } from './testkit.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await startLab();
  for (const role of ['buyer1', 'buyer2']) {
    await allowAll(lab.actor(role), lab.alpha, lab.contracts.nexus);
    await allowAll(lab.actor(role), lab.alpha, lab.contracts.stream);
    await allowAll(lab.actor(role), lab.alpha, lab.stack.marketplace.address);
  }
}, 120_000);
afterAll(async () => {
  await lab?.stop();
});

const isEscrow = (e: Escrow | { refused: string }): e is Escrow => !('refused' in e);

test('manifest, health and negotiation follow the schemas and the floor', async () => {
  const a = agentClient(lab.stack.agent.url);
  const m = await a.manifest();
  assert.equal(m.status, 200);
  const parsed = APS1ManifestSchema.safeParse(m.body);
  assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
  assert.equal(m.body.walletAddress, lab.stack.agent.wallet);
  assert.equal((await a.health()).body.status, 'ok');
  const low = await a.negotiate(negotiation('propose', 'neg-1', 1));
  assert.deepEqual([low.status, low.body.type, low.body.price], [200, 'counter', 2]);
  const ok = await a.negotiate(negotiation('accept', 'neg-1', 2));
  assert.deepEqual([ok.body.type, ok.body.price], ['accept', 2]);
  const bad = await a.negotiate({ type: 'propose', jobId: 'neg-2', price: 1, timestamp: '2025-01-15T10:30:00+02:00' });
  assert.equal(bad.status, 400);
});

test('nexus escrow: execute with proof, completed on chain, settled by the judge with the 8% fee', async () => {
  const a = agentClient(lab.stack.agent.url);
  const buyer = lab.actor('buyer1');
  const esc = await escrowNexus(buyer, lab.contracts, { worker: lab.stack.agent.wallet, judge: lab.actor('judge').address, token: lab.alpha, amount: 5_000_000n, duration: 3600n });
  assert.ok(isEscrow(esc), 'refused' in esc ? esc.refused : '');
  const env = envelope({ jobId: 'job-nexus-1', agentId: 'data-analyzer', prompt: 'Analyze top 100 transactions', callerWallet: buyer.address, escrow: esc });
  const r = await a.execute(env);
  assert.equal(r.status, 200, r.text);
  assert.ok(APS1ResultSchema.safeParse(r.body).success);
  assert.equal(r.body.status, 'success');
  assert.equal(r.body.proof.matched, true);
  assert.equal((await lab.job(BigInt(esc.onChainId))).status, 2);
  const again = await a.execute({ ...env, jobId: 'job-nexus-2' });
  assert.equal(again.status, 409, 'one escrow pays for one job');
  const same = await a.execute(env);
  assert.deepEqual(same.body, r.body, 'a retry gets the stored result');
  assert.deepEqual((await a.status('job-nexus-1')).body, r.body);
  const w0 = await lab.balance(lab.alpha, lab.stack.agent.wallet);
  const s = await lab.actor('judge').send('settle', nexusCall(lab.contracts, 'settleJob', BigInt(esc.onChainId)));
  assert.ok(s.ok);
  assert.equal((await lab.balance(lab.alpha, lab.stack.agent.wallet)) - w0, 5_000_000n - platformFee(5_000_000n, 800n));
});

test('no escrow → 402; a forged escrow (a job paying someone else) → 402, nothing run', async () => {
  const a = agentClient(lab.stack.agent.url);
  const buyer = lab.actor('buyer1');
  const none = await a.execute(envelope({ jobId: 'job-free', agentId: 'data-analyzer', prompt: 'x', callerWallet: buyer.address }));
  assert.equal(none.status, 402);
  const esc = await escrowNexus(buyer, lab.contracts, { worker: lab.actor('vendor1').address, judge: lab.actor('judge').address, token: lab.alpha, amount: 5_000_000n, duration: 3600n });
  assert.ok(isEscrow(esc));
  const r = await a.execute(envelope({ jobId: 'job-forged', agentId: 'data-analyzer', prompt: 'x', callerWallet: buyer.address, escrow: esc }));
  assert.equal(r.status, 402);
  assert.equal((await a.status('job-forged')).status, 404);
});

test('stream milestone and direct transfer pay for executions; a direct transfer is used once', async () => {
  const a = agentClient(lab.stack.agent.url);
  const buyer = lab.actor('buyer2');
  const st = await escrowStream(buyer, lab.contracts, { agent: lab.stack.agent.wallet, token: lab.alpha, amounts: [3_000_000n, 2_000_000n], duration: 3600n });
  assert.ok(isEscrow(st));
  const r1 = await a.execute(envelope({ jobId: 'job-stream-1', agentId: 'data-analyzer', prompt: 'milestone one', callerWallet: buyer.address, escrow: st }));
  assert.equal(r1.status, 200, r1.text);
  assert.ok(r1.body.onChain.transactions.some((t: { description?: string }) => /submitMilestone #0/.test(t.description ?? '')));
  const d = await payDirect(buyer, { token: lab.alpha, to: lab.stack.agent.wallet, amount: 5_000_000n });
  assert.ok(isEscrow(d));
  const r2 = await a.execute(envelope({ jobId: 'job-direct-1', agentId: 'data-analyzer', prompt: 'direct', callerWallet: buyer.address, escrow: d }));
  assert.equal(r2.status, 200, r2.text);
  const r3 = await a.execute(envelope({ jobId: 'job-direct-2', agentId: 'data-analyzer', prompt: 'direct again', callerWallet: buyer.address, escrow: d }));
  assert.equal(r3.status, 409);
});

test('marketplace: honest agent settled (payout = price - 8%), mismatching and failing refunded to the caller', async () => {
  const mk = marketplaceClient(lab.stack.marketplace.url);
  const list = await mk.list();
  assert.deepEqual(list.body.map((m: { id: string }) => m.id).sort(), ['data-analyzer', 'failing-analyzer', 'shortcut-analyzer']);
  const caller = lab.actor('buyer1');
  const key = lab.key('buyer1');
  const cases: [string, number, 'settle' | 'refund'][] = [
    ['data-analyzer', 5, 'settle'],
    ['shortcut-analyzer', 3, 'refund'],
    ['failing-analyzer', 2, 'refund'],
  ];
  for (const [id, price, type] of cases) {
    const before = await lab.balance(lab.alpha, caller.address as Address);
    const r = await mk.execute(id, { jobId: `mk-${id}`, prompt: `task for ${id}`, callerWallet: caller.address }, { signer: key });
    assert.equal(r.status, 200, r.text);
    assert.ok(APS1SettlementSchema.safeParse(r.body.settlement).success, JSON.stringify(r.body.settlement));
    assert.equal(r.body.settlement.type, type, id);
    const paid = before - (await lab.balance(lab.alpha, caller.address as Address));
    assert.equal(paid, type === 'settle' ? BigInt(price) * 1_000_000n : 0n, id);
    if (type === 'settle') assert.equal(r.body.settlement.agentPayout, String(BigInt(price) * 1_000_000n - platformFee(BigInt(price) * 1_000_000n, 800n)));
  }
  const unsigned = await mk.execute('data-analyzer', { jobId: 'mk-unsigned', prompt: 'x', callerWallet: caller.address });
  assert.equal(unsigned.status, 401);
  const thief = await mk.execute('data-analyzer', { jobId: 'mk-thief', prompt: 'x', callerWallet: caller.address }, { signer: lab.key('attacker') });
  assert.equal(thief.status, 401);
}, 60_000);
