/**
 * Regression (issue "verdict power", item 7): a `$0.00` catalog price used to be accepted, the
 * zero-value payment settled, a task id came back, `recordDeposit` reverted (ZeroAmount) and every
 * `complete` answered 502 "will be retried" forever. AGR-PROF-18: a price must be above $0, refused
 * before any money moves, at registration and on the paid route.
 */
import assert from 'node:assert/strict';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, test } from 'vitest';
import { roleAccount } from '../../../harness/chain/index.ts';
import { fiatTokenV2_2Abi } from '../../../harness/chain/bindings/index.ts';
import { asHeader, makeV2Payload } from '../../x402/protocol/payload.ts';
import { registerWithKeyMessage } from '../protocol/auth.ts';
import { startLab, type Lab } from './testkit.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await startLab();
});
afterAll(async () => {
  await lab?.stop();
});

const url = (p: string) => `${lab.stack.server.url}${p}`;
const post = (p: string, body: unknown) => fetch(url(p), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const card = (price: string) => ({ name: 'Free lunch', services: [{ name: 'x402', endpoint: '/', catalog: [{ path: 'lunch', price, type: 'async', description: 'Lunch' }] }] });
const nextId = async () => (await (await fetch(url('/agents/next-id'))).json()).nextAgentId;
const ZERO = ['$0', '$0.00', '$0.000000'];

test('a $0 catalog entry is refused at registration (REST and with a key), naming the field; nothing is minted', async () => {
  const n0 = await nextId();
  for (const price of ZERO) {
    const res = await post('/agents/register', { data: card(price) });
    assert.equal(res.status, 400, price);
    assert.match((await res.json()).error, /^Invalid request body: data\.services\.0\.catalog\.0\.price: .*above \$0.*AGR-PROF-18/);
  }
  const wallet = privateKeyToAccount(roleAccount('vendor1').privateKey);
  const ts = Math.floor(Date.now() / 1000);
  const withKey = await post('/agents/register-with-key', {
    walletAddress: wallet.address,
    walletSignature: await wallet.signMessage({ message: registerWithKeyMessage(wallet.address, ts) }),
    timestamp: ts,
    data: card('$0.00'),
  });
  assert.equal(withKey.status, 400);
  assert.match((await withKey.json()).error, /data\.services\.0\.catalog\.0\.price/);
  assert.equal(await nextId(), n0, 'nothing minted');
  // The smallest positive price is fine.
  assert.equal((await post('/agents/register', { data: card('$0.000001') })).status, 201);
});

test('PUT /vendor/agent-uri refuses a $0 entry before any transaction', async () => {
  const agentId = BigInt((await (await post('/agents/register', { data: card('$0.05') })).json()).agentId);
  const v = lab.vendor('admin', agentId, { kind: 'honest' }); // the registrar owns REST-registered agents
  const bad = await v.putAgentUri(card('$0.00'));
  assert.equal(bad.status, 400, JSON.stringify(bad.body));
  assert.match(bad.body.error, /services\.0\.catalog\.0\.price: .*AGR-PROF-18/);
  assert.equal((await v.getAgentUri()).body.data.services[0].catalog[0].price, '$0.05', 'the card on chain is unchanged');
});

test('an agent whose on-chain card has a $0 entry (registered on the IdentityRegistry directly) gets a 4xx on the paid route: no challenge, no settlement, no task', async () => {
  const agentId = await lab.registerAgent('vendor1', [
    { path: 'free', price: '$0.00' },
    { path: 'paid', price: '$0.10' },
  ]);
  const paid = url(`/${agentId}/free`);

  for (const method of ['GET', 'POST']) {
    const res = await fetch(paid, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{"task_detail":"x"}' : undefined });
    assert.equal(res.status, 409, method);
    assert.equal(res.headers.get('payment-required'), null, 'no 402 challenge');
    assert.match((await res.json()).error, /\$0.*AGR-PROF-18/);
  }

  // A buyer who pays 0 anyway (a well-formed zero-value authorization to the escrow) is refused too,
  // and the authorization is never redeemed.
  const chainNow = (await lab.clients.publicClient.getBlock()).timestamp;
  const buyer = roleAccount('buyer1');
  const payload = await makeV2Payload(
    buyer.privateKey,
    { scheme: 'exact', network: `eip155:${lab.chain.chainId}`, amount: '0', asset: lab.addr.usdc, payTo: lab.addr.escrow, maxTimeoutSeconds: 300, extra: { name: 'USDC', version: '2' } },
    { now: chainNow, chainId: lab.chain.chainId },
  );
  const nonce = (payload.payload as { authorization: { nonce: `0x${string}` } }).authorization.nonce;
  const [buyerBefore, escrowBefore] = await Promise.all([lab.usdcBalance(buyer.address), lab.usdcBalance(lab.addr.escrow)]);
  const res = await fetch(paid, { method: 'POST', headers: { 'content-type': 'application/json', 'payment-signature': asHeader(payload) }, body: '{"task_detail":"x"}' });
  assert.equal(res.status, 409);
  assert.equal(res.headers.get('payment-response'), null, 'nothing settled');
  const used = await lab.clients.publicClient.readContract({ address: lab.addr.usdc, abi: fiatTokenV2_2Abi, functionName: 'authorizationState', args: [buyer.address, nonce] });
  assert.equal(used, false, 'the zero authorization was never redeemed');
  assert.deepEqual([await lab.usdcBalance(buyer.address), await lab.usdcBalance(lab.addr.escrow)], [buyerBefore, escrowBefore]);
  const stats = await (await fetch(url(`/agents/${agentId}/stats`))).json();
  assert.equal(stats.totalTasks, 0, 'no task created');

  // The rest of the card still sells, and the card is still listed as it is on chain.
  assert.equal((await fetch(url(`/${agentId}/paid`))).status, 402);
  assert.equal((await (await fetch(url(`/agents/${agentId}`))).json()).services[0].catalog[0].price, '$0.00');
});
