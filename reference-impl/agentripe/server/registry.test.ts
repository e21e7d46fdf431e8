/**
 * Agent routes on a real anvil: /agents, /agents/next-id, /agents/register (with an EIP-712
 * AgentWalletSet signature), /agents/{id}/wallet, /agents/{id}/stats, PUT|GET /vendor/agent-uri.
 */
import { test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { privateKeyToAccount } from 'viem/accounts';
import type { Address } from 'viem';
import { roleAccount } from '../../../harness/chain/index.ts';
import { identityRegistryAbi } from '../../../harness/chain/bindings/index.ts';
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
const catalog = (name: string) => ({ name, x402Support: true, services: [{ name: 'x402', endpoint: '/', catalog: [{ path: 'echo', price: '$0.05', type: 'async', description: 'Echo' }] }] });

async function walletSig(role: string, agentId: bigint, owner: Address, deadline: bigint) {
  const acct = privateKeyToAccount(roleAccount(role).privateKey);
  return acct.signTypedData({
    domain: { name: 'ERC8004IdentityRegistry', version: '1', chainId: lab.chain.chainId, verifyingContract: lab.addr.identityRegistry },
    types: {
      AgentWalletSet: [
        { name: 'agentId', type: 'uint256' },
        { name: 'newWallet', type: 'address' },
        { name: 'owner', type: 'address' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'AgentWalletSet',
    message: { agentId, newWallet: acct.address, owner, deadline },
  });
}

async function chainTime(): Promise<bigint> {
  return (await lab.clients.publicClient.getBlock()).timestamp;
}

test('register with a wallet signature: agentWallet set, wallet approved, catalog endpoint replaced', async () => {
  const next = await (await fetch(url('/agents/next-id'))).json();
  assert.equal(next.owner, lab.stack.server.registrar);
  const agentId = BigInt(next.nextAgentId);
  const deadline = (await chainTime()) + 120n;
  const vendor2 = roleAccount('vendor2').address;
  const res = await post('/agents/register', {
    data: catalog('Registered via REST'),
    wallet: { address: vendor2, deadline: Number(deadline), signature: await walletSig('vendor2', agentId, next.owner, deadline) },
  });
  assert.equal(res.status, 201);
  const body = await res.json();
  assert.deepEqual([BigInt(body.agentId), body.walletSet], [agentId, true]);
  const pub = lab.clients.publicClient;
  assert.equal(await pub.readContract({ address: lab.addr.identityRegistry, abi: identityRegistryAbi, functionName: 'getAgentWallet', args: [agentId] }), vendor2);
  const data = await (await fetch(url(`/agents/${agentId}`))).json();
  assert.equal(data.services[0].endpoint, lab.stack.server.url);

  // The wallet can now use EVM vendor auth and update the catalog through the server.
  const v = lab.vendor('vendor2', agentId, { kind: 'honest' });
  assert.equal((await v.listTasks()).status, 200);
  const put = await v.putAgentUri({ ...catalog('Renamed'), description: 'v2' });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.match(put.body.agentURI, /^data:application\/json;base64,/);
  const got = await v.getAgentUri();
  assert.deepEqual([got.body.data.name, got.body.data.description], ['Renamed', 'v2']);
  const bad = await v.putAgentUri({ name: '', services: [] });
  assert.equal(bad.status, 400);

  // A paid task for it releases to vendor2's agentWallet.
  const p = await lab.buyer().buy(agentId, 'echo', { task_detail: 'hi' });
  assert.equal(p.status, 200);
  const w0 = await lab.withdrawable(vendor2);
  await v.runUntilIdle();
  assert.equal(await lab.withdrawable(vendor2), w0 + 50_000n);

  const stats = await (await fetch(url(`/agents/${agentId}/stats`))).json();
  assert.deepEqual([stats.totalTasks, stats.completedTasks, stats.releasedAmount, stats.reputation.count], [1, 1, '50000', 1]);
});

test('register without wallet; a bad wallet signature is reported, not fatal', async () => {
  const next = await (await fetch(url('/agents/next-id'))).json();
  const deadline = (await chainTime()) + 120n;
  // signed for the wrong agent id
  const sig = await walletSig('vendor1', BigInt(next.nextAgentId) + 7n, next.owner, deadline);
  const res = await post('/agents/register', { data: catalog('No wallet'), wallet: { address: roleAccount('vendor1').address, deadline: Number(deadline), signature: sig } });
  assert.equal(res.status, 201);
  const body = await res.json();
  assert.equal(body.walletSet, false);
  assert.equal(typeof body.walletError, 'string');

  // Set it afterwards through /agents/{id}/wallet with a correct signature.
  const agentId = BigInt(body.agentId);
  const good = await walletSig('vendor1', agentId, next.owner, deadline);
  const w = await post(`/agents/${agentId}/wallet`, { walletAddress: roleAccount('vendor1').address, deadline: Number(deadline), signature: good });
  assert.equal(w.status, 200);
  assert.equal((await w.json()).walletAddress, roleAccount('vendor1').address);
  const wrong = await post(`/agents/${agentId}/wallet`, { walletAddress: roleAccount('vendor1').address, deadline: Number(deadline), signature: sig });
  assert.equal(wrong.status, 400);
});

test('/agents lists registry agents with parsed catalogs; unknown ids 404', async () => {
  const own = await lab.registerAgent('vendor1');
  const list = await (await fetch(url('/agents'))).json();
  const mine = list.agents.find((a: any) => BigInt(a.agentId) === own);
  assert.equal(mine.owner, roleAccount('vendor1').address);
  assert.equal(mine.data.name, 'vendor1 agent');
  const next = await (await fetch(url('/agents/next-id'))).json();
  assert.equal(BigInt(next.nextAgentId), own + 1n);
  assert.equal((await fetch(url(`/agents/${own + 100n}/stats`))).status, 404);
  // the server cannot edit an agent it does not own
  const v = lab.vendor('vendor1', own, { kind: 'honest' });
  assert.equal((await v.putAgentUri(catalog('x'))).status, 403);
});

test('an oversized catalog is refused before any transaction', async () => {
  const n0 = (await (await fetch(url('/agents/next-id'))).json()).nextAgentId;
  const res = await post('/agents/register', { data: { ...catalog('Big'), description: 'x'.repeat(20_000) } });
  assert.equal(res.status, 400);
  assert.match((await res.json()).error, /limit is 16384/);
  assert.equal((await (await fetch(url('/agents/next-id'))).json()).nextAgentId, n0, 'nothing minted');
});
