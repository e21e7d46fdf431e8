/**
 * Restarts and crashes lose nothing: state lives in SQLite, and on start the server reconciles
 * open tasks and unconfirmed chain actions with the escrow (DepositReleased/DepositRefunded events,
 * getDeposit) and with NewFeedback events.
 */
import { test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import type { Hex } from 'viem';
import { roleAccount } from '../../../harness/chain/index.ts';
import { fiatTokenV2_2Abi } from '../../../harness/chain/bindings/index.ts';
import { escrowAbi as agentripeEscrowAbi } from '../protocol/abi.ts';
import { startLab, type Lab } from './testkit.ts';
import { AgentripeDb } from './db.ts';

const PRICE = 100_000n;
let lab: Lab;
let agentId: bigint;

beforeAll(async () => {
  lab = await startLab();
  agentId = await lab.registerAgent('vendor1');
});
afterAll(async () => {
  await lab?.stop();
});

/** Stops the server, edits its DB like a crash would have left it, starts a new server on it. */
async function crashAndRestart(edit: (db: AgentripeDb) => void | Promise<void>) {
  await lab.stack.server.stop();
  const db = new AgentripeDb(lab.stack.dbPath);
  try {
    await edit(db);
  } finally {
    db.close();
  }
  // Restart on the same DB (the previous server is already stopped; stop() is idempotent).
  return lab.stack.restart();
}

async function status(id: string) {
  return (await (await fetch(`${lab.stack.server.url}/tasks/${id}`)).json()).status;
}

test('a clean restart keeps tasks, and work continues on the new server', async () => {
  const p = await lab.buyer().buy(agentId, 'translate', { task_detail: 'keep me', reviewer_request: 'say "kept"' });
  const v = lab.vendor('vendor1', agentId, { kind: 'honest' });
  assert.equal((await v.start(p.taskId!)).status, 200);
  await lab.stack.restart();
  assert.equal(await status(p.taskId!), 'processing');
  const v2 = lab.vendor('vendor1', agentId, { kind: 'honest' }); // new URL
  const c = await v2.complete(p.taskId!, 'it was kept');
  assert.equal(c.body.escrowAction, 'released');
  assert.equal((await lab.deposit(p.taskId!))[3], 2);
});

test('crash after the release intention was written: resync releases and completes', async () => {
  const p = await lab.buyer().buy(agentId, 'translate', { task_detail: 'b' });
  await lab.vendor('vendor1', agentId, { kind: 'honest' }).start(p.taskId!);
  await crashAndRestart((db) => db.updateTask(p.taskId!, { result: '"done"', pendingAction: 'release', pendingStatus: 'completed' }));
  assert.equal(await status(p.taskId!), 'completed');
  assert.equal((await lab.deposit(p.taskId!))[3], 2);
  const fb = (await lab.feedback(agentId)).filter((f) => f.feedbackHash === p.taskId);
  assert.equal(fb.length, 1, 'feedback given once by resync');
});

test('crash after the chain refund but before the DB update: resync follows the chain', async () => {
  const p = await lab.buyer().buy(agentId, 'translate', { task_detail: 'c' });
  await lab.vendor('vendor1', agentId, { kind: 'honest' }).start(p.taskId!);
  await crashAndRestart(async (db) => {
    db.updateTask(p.taskId!, { pendingAction: 'refund', pendingStatus: 'failed', pendingError: 'Vendor reported failure' });
    const w = lab.clients.walletClient('operator');
    const hash = await w.writeContract({ address: lab.addr.escrow, abi: agentripeEscrowAbi, functionName: 'refundToBuyer', args: [p.taskId!] });
    await lab.clients.publicClient.waitForTransactionReceipt({ hash });
  });
  const r = await (await fetch(`${lab.stack.server.url}/tasks/${p.taskId}/result`)).json();
  assert.deepEqual(r, { status: 'failed', errorMessage: 'Vendor reported failure' });
  assert.equal((await lab.deposit(p.taskId!))[3], 3, 'refunded exactly once (a second refund would have reverted)');
});

test('crash between settlement and recordDeposit: resync records the deposit', async () => {
  // The buyer's USDC reaches the escrow (as a facilitator settlement would) but nothing is recorded.
  const buyer1 = roleAccount('buyer1').address;
  const w = lab.clients.walletClient('buyer1');
  const hash = await w.writeContract({ address: lab.addr.usdc, abi: fiatTokenV2_2Abi, functionName: 'transfer', args: [lab.addr.escrow, PRICE] });
  await lab.clients.publicClient.waitForTransactionReceipt({ hash });
  const id = hash.toLowerCase() as Hex;
  await crashAndRestart((db) =>
    db.insertTask({
      id,
      agentId: agentId.toString(),
      productId: 'translate',
      buyerAddress: buyer1,
      amount: PRICE.toString(),
      network: 'eip155:84532',
      asset: lab.addr.usdc,
      payTo: lab.addr.escrow,
      method: 'POST',
      requestPayload: '{}',
      taskDetail: null,
      taskMetadata: null,
      reviewerRequest: null,
      createdAt: new Date().toISOString(),
    }),
  );
  const d = await lab.deposit(id);
  assert.deepEqual([d[0], d[1], d[2], d[3]], [agentId, buyer1, PRICE, 1]);
  const v = lab.vendor('vendor1', agentId, { kind: 'honest' });
  await v.start(id);
  assert.equal((await v.complete(id, 'ok')).body.escrowAction, 'released');
});

test('a pending-feedback flag for feedback already on chain is not given twice', async () => {
  const p = await lab.buyer().buy(agentId, 'translate', { task_detail: 'e' });
  assert.equal(p.status, 200);
  const v = lab.vendor('vendor1', agentId, { kind: 'honest' });
  await v.runUntilIdle();
  assert.equal(await status(p.taskId!), 'completed');
  await crashAndRestart((db) => db.updateTask(p.taskId!, { feedbackState: 'pending' }));
  const fb = (await lab.feedback(agentId)).filter((f) => f.feedbackHash === p.taskId);
  assert.equal(fb.length, 1);
});

test('escrow action failure: 502 and nothing lost; the retry finishes the decided release', async () => {
  const p = await lab.buyer().buy(agentId, 'translate', { task_detail: 'f' });
  const v = lab.vendor('vendor1', agentId, { kind: 'honest' });
  await v.start(p.taskId!);
  const admin = lab.clients.walletClient('admin');
  const setOp = async (who: string) => {
    const hash = await admin.writeContract({ address: lab.addr.escrow, abi: agentripeEscrowAbi, functionName: 'setOperator', args: [roleAccount(who).address] });
    await lab.clients.publicClient.waitForTransactionReceipt({ hash });
  };
  await setOp('attacker'); // the server's operator key is no longer the escrow operator
  try {
    const c = await v.complete(p.taskId!, 'first result');
    assert.equal(c.status, 502);
    assert.equal(c.body.error, 'Escrow action failed; it will be retried');
    assert.equal(await status(p.taskId!), 'processing');
    assert.equal((await lab.deposit(p.taskId!))[3], 1);
  } finally {
    await setOp('operator');
  }
  const retry = await v.complete(p.taskId!, 'second result');
  assert.equal(retry.status, 200);
  assert.deepEqual([retry.body.task.status, retry.body.escrowAction, retry.body.review.approved], ['completed', 'released', true]);
  const r = await (await fetch(`${lab.stack.server.url}/tasks/${p.taskId}/result`)).json();
  assert.equal(r.result, 'first result', 'the judged result is kept');
  assert.equal((await lab.deposit(p.taskId!))[3], 2);
});

test('after an evm_revert, tasks and API keys from the reverted blocks are gone (orphaned), older work is unaffected', async () => {
  // Its own lab: our x402 facilitator caches its sender nonce, so it cannot settle again after a
  // revert that undid its transactions (reported to the x402 area); the other tests keep theirs.
  const l = await startLab();
  try {
    const id = await l.registerAgent('vendor1');
    const before = await l.buyer().buy(id, 'translate', { task_detail: 'kept' });
    assert.equal(before.status, 200);
    const snap = await l.clients.testClient.snapshot();
    const ghost = await l.buyer().buy(id, 'translate', { task_detail: 'ghost' });
    assert.equal(ghost.status, 200);
    const { privateKeyToAccount } = await import('viem/accounts');
    const { registerWithKeyMessage } = await import('../protocol/auth.ts');
    const wallet = privateKeyToAccount(roleAccount('vendor2').privateKey);
    const ts = Math.floor(Date.now() / 1000);
    const reg = await fetch(`${l.stack.server.url}/agents/register-with-key`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        walletAddress: wallet.address,
        walletSignature: await wallet.signMessage({ message: registerWithKeyMessage(wallet.address, ts) }),
        timestamp: ts,
        data: { name: 'ghost agent', services: [{ name: 'x402', endpoint: '/', catalog: [{ path: 'g', price: '$0.01', type: 'async', description: 'g' }] }] },
      }),
    });
    const { apiKey } = await reg.json();
    assert.equal((await fetch(`${l.stack.server.url}/vendor/tasks`, { headers: { authorization: `Bearer ${apiKey}` } })).status, 200);

    await l.clients.testClient.revert({ id: snap });

    assert.equal((await fetch(`${l.stack.server.url}/tasks/${ghost.taskId}`)).status, 404);
    assert.equal((await fetch(`${l.stack.server.url}/vendor/tasks`, { headers: { authorization: `Bearer ${apiKey}` } })).status, 401);
    const v = l.vendor('vendor1', id, { kind: 'honest' });
    const listed = (await v.listTasks()).body.tasks.map((t: any) => t.id);
    assert.deepEqual(listed, [before.taskId], 'only the task whose payment survived the revert');
    await v.start(before.taskId!);
    assert.equal((await v.complete(before.taskId!, 'ok')).body.escrowAction, 'released');
  } finally {
    await l.stop();
  }
});

test('revert detection: a missing block reads as gone, an unreachable RPC never does', async () => {
  const { AgentripeChain, localChain } = await import('./chain.ts');
  const mk = (rpc: string) => new AgentripeChain(localChain(lab.chain.chainId, rpc), rpc, lab.addr, roleAccount('operator').privateKey, roleAccount('admin').privateKey);
  assert.equal(await mk(lab.chain.rpcUrl).blockHash(10n ** 9n), undefined);
  assert.match((await mk(lab.chain.rpcUrl).blockHash(0n))!, /^0x[0-9a-f]{64}$/);
  await assert.rejects(mk('http://127.0.0.1:1').blockHash(1n));
});

// Last: it moves chain time 7 days ahead, after which host-clock x402 authorizations would be expired.
test('buyer reclaim on chain (no intention in the DB): resync marks the task failed from DepositRefunded', async () => {
  const p = await lab.buyer().buy(agentId, 'translate', { task_detail: 'd' });
  await crashAndRestart(async () => {
    await lab.clients.testClient.increaseTime({ seconds: 7 * 24 * 3600 + 1 });
    await lab.clients.testClient.mine({ blocks: 1 });
    const w = lab.clients.walletClient('buyer1');
    const hash = await w.writeContract({ address: lab.addr.escrow, abi: agentripeEscrowAbi, functionName: 'reclaim', args: [p.taskId!] });
    await lab.clients.publicClient.waitForTransactionReceipt({ hash });
  });
  const r = await (await fetch(`${lab.stack.server.url}/tasks/${p.taskId}/result`)).json();
  assert.deepEqual(r, { status: 'failed', errorMessage: 'Deposit was refunded on chain' });
  const d = await (await fetch(`${lab.stack.server.url}/tasks/${p.taskId}/detail`)).json();
  assert.equal(d.payment.escrowStatus, 'refunded');
});
