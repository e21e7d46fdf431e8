/**
 * Vendor authentication on a real anvil: EVM signatures (bad signature, stale and future
 * timestamps, non-owner signer), API keys from register-with-key, and cross-agent access.
 */
import { test, beforeAll, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { privateKeyToAccount } from 'viem/accounts';
import { roleAccount } from '../../../harness/chain/index.ts';
import { startLab, type Lab } from './testkit.ts';
import { createVendor } from '../agents/vendor.ts';
import { registerWithKeyMessage, vendorAuthMessage, AuthError } from '../protocol/auth.ts';

let lab: Lab;
let agent1: bigint;
let agent2: bigint;
let task1: string;
const now = Date.now;

beforeAll(async () => {
  lab = await startLab();
  agent1 = await lab.registerAgent('vendor1');
  agent2 = await lab.registerAgent('vendor2');
  task1 = (await lab.buyer().buy(agent1, 'translate', { task_detail: 'a' })).taskId!;
});
afterAll(async () => {
  await lab?.stop();
});

const url = (p: string) => `${lab.stack.server.url}${p}`;

async function evmHeaders(role: string, agentId: bigint, opts: { tsOffsetS?: number; signer?: string; address?: string } = {}) {
  const acct = privateKeyToAccount(roleAccount(opts.signer ?? role).privateKey);
  const address = opts.address ?? roleAccount(role).address;
  const ts = String(Math.floor(now() / 1000) + (opts.tsOffsetS ?? 0));
  return { 'x-vendor-address': address, 'x-agent-id': agentId.toString(), 'x-timestamp': ts, 'x-signature': await acct.signMessage({ message: vendorAuthMessage(address, ts) }) };
}

test('valid EVM signature lists own tasks; ±290 s is accepted', async () => {
  // 290, not 299: the request itself takes time, and the window is measured when it arrives.
  for (const off of [0, -290, 290]) {
    const r = await fetch(url('/vendor/tasks'), { headers: await evmHeaders('vendor1', agent1, { tsOffsetS: off }) });
    assert.equal(r.status, 200, `offset ${off}`);
    const ids = (await r.json()).tasks.map((t: any) => t.id);
    assert.deepEqual(ids, [task1]);
  }
});

test('stale (> 5 min) and future (> 5 min) timestamps are refused', async () => {
  for (const off of [-301, -3600, 301]) {
    const r = await fetch(url('/vendor/tasks'), { headers: await evmHeaders('vendor1', agent1, { tsOffsetS: off }) });
    assert.equal(r.status, 401, `offset ${off}`);
    assert.equal((await r.json()).error, AuthError.timestamp);
  }
});

test('signature by another key claiming the vendor address is refused', async () => {
  const r = await fetch(url('/vendor/tasks'), { headers: await evmHeaders('vendor1', agent1, { signer: 'attacker' }) });
  assert.equal(r.status, 401);
  assert.equal((await r.json()).error, AuthError.signature);
  const garbage = { ...(await evmHeaders('vendor1', agent1)), 'x-signature': '0xdeadbeef' };
  assert.equal((await fetch(url('/vendor/tasks'), { headers: garbage })).status, 401);
});

test('a Solana address longer than any (44 characters) is refused as malformed before it is decoded', async () => {
  // Regression (found by the fuzz): base58 decoding is quadratic and ran before any length check,
  // ~0.8 s of CPU for one unauthenticated 60 KB header. Decoded, this address fails the signature
  // check instead, so the error says which check refused it.
  const ts = String(Math.floor(now() / 1000));
  for (const address of ['z'.repeat(45), 'z'.repeat(60_000)]) {
    const r = await fetch(url('/vendor/tasks'), { headers: { 'x-solana-address': address, 'x-agent-id': agent1.toString(), 'x-timestamp': ts, 'x-signature': 'ab'.repeat(64) } });
    assert.equal(r.status, 401, `${address.length} characters`);
    assert.equal((await r.json()).error, AuthError.badHeaders, `${address.length} characters`);
  }
});

test('a valid signature by a non-owner of the agent is refused', async () => {
  const r = await fetch(url('/vendor/tasks'), { headers: await evmHeaders('attacker', agent1) });
  assert.equal(r.status, 401);
  assert.equal((await r.json()).error, AuthError.notOwner);
  const missing = await fetch(url('/vendor/tasks'));
  assert.equal(missing.status, 401);
  const badHeader = await fetch(url('/vendor/tasks'), { headers: { ...(await evmHeaders('vendor1', agent1)), 'x-agent-id': 'abc' } });
  assert.equal(badHeader.status, 401);
});

test("a vendor cannot touch another agent's task (malicious strategy)", async () => {
  const mal = lab.vendor('vendor2', agent2, { kind: 'malicious', targets: () => [task1] });
  const acts = await mal.step();
  assert.equal(acts.length, 3);
  for (const a of acts) {
    assert.equal(a.status, 403, `${a.action}`);
    assert.equal(a.body.error, 'Not authorized for this agent');
  }
  const st = await (await fetch(url(`/tasks/${task1}`))).json();
  assert.equal(st.status, 'pending', 'nothing changed');
  assert.equal((await lab.deposit(task1 as `0x${string}`))[3], 1);
});

test('register-with-key: API key works, wrong key is refused, wallet owns the agent', async () => {
  const wallet = privateKeyToAccount(roleAccount('vendor2').privateKey);
  const ts = Math.floor(now() / 1000);
  const data = { name: 'Keyed agent', services: [{ name: 'x402', endpoint: '/', catalog: [{ path: 'summarize', price: '$0.25', type: 'async', description: 'Summaries' }] }] };
  const bad = await fetch(url('/agents/register-with-key'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ walletAddress: wallet.address, walletSignature: await wallet.signMessage({ message: registerWithKeyMessage(wallet.address, ts - 400) }), timestamp: ts - 400, data }),
  });
  assert.equal(bad.status, 401);
  const res = await fetch(url('/agents/register-with-key'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ walletAddress: wallet.address, walletSignature: await wallet.signMessage({ message: registerWithKeyMessage(wallet.address, ts) }), timestamp: ts, data }),
  });
  assert.equal(res.status, 201);
  const body = await res.json();
  assert.match(body.apiKey, /^ak_[0-9a-f]{48}$/);
  assert.match(body.transactionHash, /^0x[0-9a-f]{64}$/);
  const agentId = BigInt(body.agentId);
  const info = await (await fetch(url(`/agents/${agentId}`))).json();
  assert.equal(info.services[0].endpoint, lab.stack.server.url, 'endpoint replaced with the server URL');

  // buy from it and process with the API key
  const p = await lab.buyer().buy(agentId, 'summarize', { task_detail: 'doc' });
  assert.equal(p.status, 200);
  const keyed = createVendor({ baseUrl: lab.stack.server.url, agentId, credentials: { apiKey: body.apiKey }, strategy: { kind: 'honest' } });
  const acts = await keyed.runUntilIdle();
  assert.equal(acts.find((a) => a.action === 'complete')?.body.escrowAction, 'released');
  // payout goes to the wallet (agent owner, no agentWallet set)
  assert.equal(await lab.withdrawable(wallet.address), 250_000n);

  const wrong = await fetch(url('/vendor/tasks'), { headers: { authorization: 'Bearer ak_wrong' } });
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).error, 'Invalid or expired API key');
  // a key for this agent cannot act on agent1's task
  const cross = await keyed.start(task1);
  assert.equal(cross.status, 403);
  // the agent's owner can also use EVM auth
  assert.equal((await fetch(url('/vendor/tasks'), { headers: await evmHeaders('vendor2', agentId) })).status, 200);
});

test('malformed ids and bodies get 4xx, never 500', async () => {
  const h = await evmHeaders('vendor1', agent1);
  const cases: [string, RequestInit, number][] = [
    ['/tasks/0x1234', {}, 404],
    [`/tasks/0x${'a'.repeat(64)}`, {}, 404],
    [`/tasks/0x${'a'.repeat(64)}/result`, {}, 404],
    ['/agents/abc', {}, 404],
    ['/agents/99999', {}, 404],
    [`/vendor/tasks/${task1}/complete`, { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: '{not json' }, 400],
    [`/vendor/tasks/${task1}/complete`, { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: '{}' }, 400],
    [`/vendor/tasks/${task1}/fail`, { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: '{"errorMessage": 42}' }, 400],
    ['/agents/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"data":{"name":"x","services":[]}}' }, 400],
    ['/agents/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' }, 400],
  ];
  for (const [p, init, status] of cases) {
    const r = await fetch(url(p), init);
    assert.equal(r.status, status, `${init.method ?? 'GET'} ${p}`);
    const b = await r.json();
    assert.equal(typeof b.error, 'string');
  }
  assert.deepEqual(await (await fetch(url(`/tasks/0x${'a'.repeat(64)}`))).json(), { error: 'Task not found' });
  // complete before start: wrong state
  const c = await fetch(url(`/vendor/tasks/${task1}/complete`), { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: '{"result":"x"}' });
  assert.equal(c.status, 400);
  assert.equal((await c.json()).error, 'Cannot complete: task is not in processing or rejected status');
});

test('Solana auth: ed25519 over "{address}:{timestamp}", address must be the agent\'s solanaWallet', async () => {
  const { base58Decode, solanaAuthHeaders, solanaKeyPair } = await import('../protocol/auth.ts');
  const { toDataUri } = await import('../protocol/agenturi.ts');
  const { identityRegistryAbi } = await import('../../../harness/chain/bindings/index.ts');
  const { parseEventLogs } = await import('viem');
  const sol = solanaKeyPair();
  const other = solanaKeyPair();
  assert.deepEqual(Buffer.from(base58Decode(sol.address)!), (await import('node:crypto')).createPublicKey(sol.privateKey).export({ format: 'der', type: 'spki' }).subarray(-32));
  // vendor2 registers an agent whose catalog names the Solana wallet
  const data = {
    name: 'sol agent',
    solanaWallet: sol.address,
    services: [{ name: 'x402', endpoint: lab.stack.server.url, catalog: [{ path: 'translate', price: '$0.10', type: 'async', description: 't' }] }],
  };
  const w = lab.clients.walletClient('vendor2');
  const hash = await w.writeContract({ address: lab.addr.identityRegistry, abi: identityRegistryAbi, functionName: 'register', args: [toDataUri(data)] });
  const rc = await lab.clients.publicClient.waitForTransactionReceipt({ hash });
  const agentId = (parseEventLogs({ abi: identityRegistryAbi, logs: rc.logs, eventName: 'Registered' })[0]!.args as { agentId: bigint }).agentId;
  const headers = (who: ReturnType<typeof solanaKeyPair>, signer = who, off = 0) => solanaAuthHeaders(signer, agentId, Math.floor(Date.now() / 1000) + off, who.address);
  assert.equal((await fetch(url('/vendor/tasks'), { headers: headers(sol) })).status, 200);
  const wrongKey = await fetch(url('/vendor/tasks'), { headers: headers(sol, other) });
  assert.deepEqual([wrongKey.status, (await wrongKey.json()).error], [401, AuthError.signature]);
  const notWallet = await fetch(url('/vendor/tasks'), { headers: headers(other) });
  assert.deepEqual([notWallet.status, (await notWallet.json()).error], [401, AuthError.solanaWallet]);
  const stale = await fetch(url('/vendor/tasks'), { headers: headers(sol, sol, -400) });
  assert.deepEqual([stale.status, (await stale.json()).error], [401, AuthError.timestamp]);
  // a valid Solana vendor of this agent still cannot touch agent1's task
  const cross = await fetch(url(`/vendor/tasks/${task1}/start`), { method: 'POST', headers: headers(sol) });
  assert.equal(cross.status, 403);
});
