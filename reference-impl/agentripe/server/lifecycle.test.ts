/**
 * Full Agentripe lifecycle on a real anvil (base-sepolia fixture): discovery on the
 * IdentityRegistry, x402 payment with the official @x402/fetch client, escrow deposit, vendor work,
 * review, release/refund, reputation feedback, withdrawal — with exact balances.
 */
import { test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import type { Hex } from 'viem';
import { roleAccount } from '../../../harness/chain/index.ts';
import { startLab, type Lab } from './testkit.ts';

const PRICE = 100_000n; // "$0.10"
let lab: Lab;
let agentId: bigint;
const buyer1 = roleAccount('buyer1').address;
const vendor1 = roleAccount('vendor1').address;

beforeAll(async () => {
  lab = await startLab();
  agentId = await lab.registerAgent('vendor1');
});
afterAll(async () => {
  await lab?.stop();
});

test('health and discovery from the IdentityRegistry (data: URI catalog)', async () => {
  const h = await fetch(`${lab.stack.server.url}/health`);
  assert.deepEqual(await h.json(), { status: 'ok', version: '2.0.0' });
  const offers = await lab.buyer().offers('translate');
  const mine = offers.find((o) => o.agent.agentId === agentId);
  assert.ok(mine, 'the buyer finds the agent through the registry');
  assert.equal(mine.price, PRICE);
  assert.equal(mine.agent.owner, vendor1);
  assert.equal(mine.url, `${lab.stack.server.url}/${agentId}/translate`);
  const viaApi = await (await fetch(`${lab.stack.server.url}/agents/${agentId}`)).json();
  assert.equal(viaApi.name, 'vendor1 agent');
});

test('unpaid request gets a 402 challenge for the catalog price, payable to the escrow', async () => {
  const q = await lab.buyer().quote(agentId, 'translate');
  assert.equal(q.status, 402);
  const pr = JSON.parse(Buffer.from(q.headers.get('payment-required')!, 'base64').toString());
  assert.equal(pr.x402Version, 2);
  assert.equal(pr.accepts[0].amount, PRICE.toString());
  assert.equal(pr.accepts[0].payTo.toLowerCase(), lab.addr.escrow.toLowerCase());
  assert.equal(pr.accepts[0].network, 'eip155:84532');
  const missing = await fetch(`${lab.stack.server.url}/${agentId}/nope`, { method: 'POST' });
  assert.equal(missing.status, 404);
  const noAgent = await fetch(`${lab.stack.server.url}/999999/translate`, { method: 'POST' });
  assert.equal(noAgent.status, 404);
  const bad = await fetch(`${lab.stack.server.url}/${agentId}/translate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"task_detail": 5}' });
  assert.equal(bad.status, 400, 'bad body is refused before any payment');
  assert.match((await bad.json()).error, /task_detail/);
});

test('paid → deposit → honest vendor → review approves → release, feedback, withdraw (exact balances)', async () => {
  const buyer = lab.buyer();
  const b0 = await lab.usdcBalance(buyer1);
  const e0 = await lab.usdcBalance(lab.addr.escrow);
  const v0 = await lab.usdcBalance(vendor1);

  const p = await buyer.buy(agentId, 'translate', {
    task_detail: 'Translate to Japanese',
    task_metadata: { source_lang: 'en' },
    reviewer_request: 'Must mention "Japanese"',
    style: 'formal',
  });
  assert.equal(p.status, 200, JSON.stringify(p.body));
  const taskId = p.taskId as Hex;
  assert.match(taskId, /^0x[0-9a-f]{64}$/);
  assert.equal((p.body as any).message, 'Task created. Poll /tasks/:taskId/result for results.');
  assert.equal(p.paymentResponse?.transaction.toLowerCase(), taskId, 'taskId = payment tx hash');

  assert.equal(await lab.usdcBalance(buyer1), b0 - PRICE);
  assert.equal(await lab.usdcBalance(lab.addr.escrow), e0 + PRICE);
  const d = await lab.deposit(taskId);
  assert.deepEqual([d[0], d[1], d[2], d[3]], [agentId, buyer1, PRICE, 1], 'DepositRecorded with depositId = taskId');

  assert.equal((await buyer.task(taskId)).body.status, 'pending');
  const r0 = await buyer.result(taskId);
  assert.equal(r0.status, 202);
  assert.equal(r0.body.status, 'pending');

  const vendor = lab.vendor('vendor1', agentId, { kind: 'honest' });
  const listed = await vendor.listTasks();
  const t = listed.body.tasks.find((x: any) => x.id === taskId);
  assert.equal(t.taskDetail, 'Translate to Japanese');
  assert.equal(t.taskMetadata, '{"source_lang":"en"}');
  assert.equal(t.requestPayload, '{"style":"formal"}');
  assert.equal(t.reviewerRequest, 'Must mention "Japanese"');
  assert.equal(t.buyerAddress, buyer1);

  const actions = await vendor.runUntilIdle();
  const complete = actions.find((a) => a.action === 'complete')!;
  assert.equal(complete.status, 200, JSON.stringify(complete.body));
  assert.equal(complete.body.task.status, 'completed');
  assert.equal(complete.body.task.reviewRejectCount, 0);
  assert.equal(complete.body.review.approved, true);
  assert.equal(complete.body.escrowAction, 'released');

  const r1 = await buyer.result(taskId);
  assert.equal(r1.status, 200);
  assert.equal(r1.body.status, 'completed');
  assert.match(r1.body.result, /Japanese/);
  assert.equal((await lab.deposit(taskId))[3], 2, 'RELEASED');
  assert.equal(await lab.withdrawable(vendor1), PRICE);
  assert.equal(await lab.usdcBalance(lab.addr.escrow), e0 + PRICE, 'release credits, does not transfer');

  const fb = (await lab.feedback(agentId)).filter((f) => f.feedbackHash === taskId);
  assert.deepEqual(
    fb.map((f) => [f.value, f.tag2]),
    [[100n, 'completed']],
  );

  await lab.withdraw('vendor1');
  assert.equal(await lab.usdcBalance(vendor1), v0 + PRICE);
  assert.equal(await lab.usdcBalance(lab.addr.escrow), e0);
  assert.equal(await lab.withdrawable(vendor1), 0n);

  const detail = await buyer.detail(taskId);
  assert.equal(detail.body.payment.escrowStatus, 'released');
  assert.equal(detail.body.agent.name, 'vendor1 agent');
  const again = await vendor.complete(taskId, 'again');
  assert.equal(again.status, 400);
  assert.equal(again.body.error, 'Cannot complete: task is not in processing or rejected status');
});

test('no reviewer_request: approved without review', async () => {
  const p = await lab.buyer().buy(agentId, 'translate', { task_detail: 'anything' });
  const v = lab.vendor('vendor1', agentId, { kind: 'honest' });
  await v.start(p.taskId!);
  const c = await v.complete(p.taskId!, 'REJECT-ME would be rejected by a reviewer');
  assert.equal(c.body.review.approved, true);
  assert.equal(c.body.escrowAction, 'released');
});

test('rejections 1..4 then approval; 5 rejections refund the buyer', async () => {
  const buyer = lab.buyer('buyer2');
  const buyer2 = roleAccount('buyer2').address;
  const w0 = await lab.withdrawable(buyer2);

  // Four rejections, then an acceptable result: released, count stays at 4.
  const p4 = await buyer.buy(agentId, 'translate', { task_detail: 'x', reviewer_request: 'mention "ok"' });
  const sloppy = lab.vendor('vendor1', agentId, { kind: 'sloppy', rejections: 4 });
  await sloppy.start(p4.taskId!);
  for (let i = 1; i <= 4; i++) {
    const c = await sloppy.complete(p4.taskId!, `draft ${i} REJECT-ME`);
    assert.equal(c.status, 200);
    assert.deepEqual([c.body.task.status, c.body.task.reviewRejectCount, c.body.escrowAction, c.body.review.approved], ['rejected', i, 'none', false]);
    const r = await buyer.result(p4.taskId!);
    assert.equal(r.status, 202);
  }
  const ok = await sloppy.complete(p4.taskId!, 'this one is ok');
  assert.deepEqual([ok.body.task.status, ok.body.task.reviewRejectCount, ok.body.escrowAction], ['completed', 4, 'released']);

  // Five rejections: the fifth refunds.
  const p5 = await buyer.buy(agentId, 'translate', { task_detail: 'y', reviewer_request: 'mention "ok"' });
  const sloppy5 = lab.vendor('vendor1', agentId, { kind: 'sloppy', rejections: 5 });
  const acts = await sloppy5.runUntilIdle();
  const completes = acts.filter((a) => a.action === 'complete' && a.taskId === p5.taskId);
  assert.equal(completes.length, 5);
  assert.deepEqual(
    completes.map((c) => c.body.escrowAction),
    ['none', 'none', 'none', 'none', 'refunded'],
  );
  const last = completes[4]!.body;
  assert.equal(last.task.status, 'failed');
  assert.equal(last.task.reviewRejectCount, 5);
  assert.match(last.task.errorMessage, /Rejected by review 5 times/);
  assert.equal((await lab.deposit(p5.taskId!))[3], 3, 'REFUNDED');
  assert.equal(await lab.withdrawable(buyer2), w0 + PRICE);
  const r = await buyer.result(p5.taskId!);
  assert.deepEqual([r.status, r.body.status], [200, 'failed']);
  const fb = (await lab.feedback(agentId)).filter((f) => f.feedbackHash === p5.taskId);
  assert.deepEqual(
    fb.map((f) => [f.value, f.tag2]),
    [[-100n, 'refunded']],
  );
  const after5 = await sloppy5.complete(p5.taskId!, 'too late');
  assert.equal(after5.status, 400);
});

test('fail → refund to the buyer, task failed with the vendor message', async () => {
  const buyer = lab.buyer();
  const w0 = await lab.withdrawable(buyer1);
  const p = await buyer.buy(agentId, 'translate', { task_detail: 'z' });
  const failing = lab.vendor('vendor1', agentId, { kind: 'failing', errorMessage: 'Unsupported language pair' });
  const acts = await failing.runUntilIdle();
  const f = acts.find((a) => a.action === 'fail' && a.taskId === p.taskId)!;
  assert.equal(f.status, 200);
  assert.deepEqual(f.body.task.status, 'failed');
  assert.equal(f.body.task.errorMessage, 'Unsupported language pair');
  assert.equal((await lab.deposit(p.taskId!))[3], 3);
  assert.equal(await lab.withdrawable(buyer1), w0 + PRICE);
  const r = await buyer.result(p.taskId!);
  assert.deepEqual(r.body, { status: 'failed', errorMessage: 'Unsupported language pair' });
  // buyer pulls the refund
  const b0 = await lab.usdcBalance(buyer1);
  await lab.withdraw('buyer1');
  assert.equal(await lab.usdcBalance(buyer1), b0 + w0 + PRICE);
});

test('absent vendor: task stays pending, money stays deposited', async () => {
  const p = await lab.buyer().buy(agentId, 'translate', {});
  const absent = lab.vendor('vendor1', agentId, { kind: 'absent' });
  assert.deepEqual(await absent.runUntilIdle(), []);
  assert.equal((await lab.buyer().result(p.taskId!)).status, 202);
  assert.equal((await lab.deposit(p.taskId!))[3], 1);
});

test("GET purchase: fields from the query string, and a raw GET body as the seed's `x402 pay -X GET -d` sends", async () => {
  const p = await lab.buyer().buy(agentId, 'translate', { task_detail: 'via GET', task_metadata: { k: 'v' }, reviewer_request: 'r', extra: 'x' }, { method: 'GET' });
  assert.equal(p.status, 200, JSON.stringify(p.body));
  const v = lab.vendor('vendor1', agentId, { kind: 'absent' });
  const t = (await v.listTasks()).body.tasks.find((x: any) => x.id === p.taskId);
  assert.deepEqual([t.taskDetail, t.taskMetadata, t.reviewerRequest, t.requestPayload], ['via GET', '{"k":"v"}', 'r', '{"extra":"x"}']);
  // A GET with a body (node:http allows it): an invalid body is refused before payment.
  const { request } = await import('node:http');
  const u = new URL(`${lab.stack.server.url}/${agentId}/translate`);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'GET', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end('{"task_detail": ["not a string"]}');
  });
  assert.equal(status, 400);
});

test('concurrent completes of one task: judged and released once', async () => {
  const p = await lab.buyer().buy(agentId, 'translate', { task_detail: 'race' });
  const v = lab.vendor('vendor1', agentId, { kind: 'honest' });
  await v.start(p.taskId!);
  const w0 = await lab.withdrawable(vendor1);
  const b0 = await lab.withdrawable(buyer1);
  const rs = await Promise.all([v.complete(p.taskId!, 'a'), v.complete(p.taskId!, 'b'), v.fail(p.taskId!, 'c')]);
  // Whichever arrives first wins; the others see a finished task.
  assert.deepEqual(rs.map((r) => r.status).sort(), [200, 400, 400]);
  const failWon = rs[2]!.status === 200;
  assert.equal((await lab.deposit(p.taskId!))[3], failWon ? 3 : 2);
  assert.equal(await lab.withdrawable(vendor1), w0 + (failWon ? 0n : PRICE));
  assert.equal(await lab.withdrawable(buyer1), b0 + (failWon ? PRICE : 0n));
});

test('one payment, one task: replaying the PAYMENT-SIGNATURE (sequentially or concurrently) creates nothing', async () => {
  let captured: string | undefined;
  const recording: typeof fetch = async (input, init) => {
    const req = new Request(input as RequestInfo, init);
    captured = req.headers.get('payment-signature') ?? captured;
    return fetch(req);
  };
  const { createBuyer } = await import('../agents/buyer.ts');
  const b = createBuyer({ baseUrl: lab.stack.server.url, privateKey: roleAccount('buyer1').privateKey, rpcUrl: lab.chain.rpcUrl, identityRegistry: lab.addr.identityRegistry, fetchImpl: recording });
  const bal0 = await lab.usdcBalance(buyer1);
  const p = await b.buy(agentId, 'translate', { task_detail: 'once' });
  assert.equal(p.status, 200);
  assert.ok(captured);
  const replay = () => fetch(`${lab.stack.server.url}/${agentId}/translate`, { method: 'POST', headers: { 'content-type': 'application/json', 'PAYMENT-SIGNATURE': captured! }, body: '{}' });
  const rs = [await replay(), ...(await Promise.all([replay(), replay()]))];
  for (const r of rs) assert.equal(r.status, 402);
  assert.equal(await lab.usdcBalance(buyer1), bal0 - PRICE, 'charged exactly once');
  const tasks = (await lab.vendor('vendor1', agentId, { kind: 'absent' }).listTasks()).body.tasks.filter((t: any) => t.taskDetail === 'once');
  assert.equal(tasks.length, 1);
});

test('a v1 client (X-PAYMENT, body challenge) can buy too; the task records the v1 network', async () => {
  const { x402Client, wrapFetchWithPayment } = await import('@x402/fetch');
  const { ExactEvmSchemeV1 } = await import('@x402/evm/exact/v1/client');
  const { privateKeyToAccount } = await import('viem/accounts');
  const client = new x402Client();
  client.registerV1('base-sepolia', new ExactEvmSchemeV1(privateKeyToAccount(roleAccount('buyer2').privateKey)));
  client.setSpendControls(false);
  // Hide the v2 header so the client reads the v1 body challenge, as a legacy client would.
  const v1Only: typeof fetch = async (input, init) => {
    const res = await fetch(input as RequestInfo, init);
    if (res.status !== 402) return res;
    const h = new Headers(res.headers);
    h.delete('payment-required');
    return new Response(await res.text(), { status: res.status, headers: h });
  };
  let sentHeader = '';
  const spy: typeof fetch = async (input, init) => {
    const req = new Request(input as RequestInfo, init);
    sentHeader = req.headers.get('x-payment') ? 'X-PAYMENT' : req.headers.get('payment-signature') ? 'PAYMENT-SIGNATURE' : sentHeader;
    return v1Only(req);
  };
  const pay = wrapFetchWithPayment(spy, client);
  const res = await pay(`${lab.stack.server.url}/${agentId}/translate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task_detail: 'v1' }) });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(sentHeader, 'X-PAYMENT');
  assert.ok(res.headers.get('x-payment-response'));
  const d = await (await fetch(`${lab.stack.server.url}/tasks/${body.taskId}/detail`)).json();
  assert.deepEqual([d.payment.network, d.payment.amount, d.payment.escrowStatus], ['base-sepolia', PRICE.toString(), 'deposited']);
  assert.equal((await lab.deposit(body.taskId))[2], PRICE);
});
