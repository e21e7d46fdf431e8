/**
 * SerialSender against a real anvil: concurrent sends are mined in call order with consecutive
 * nonces and exact effects; a call that would revert is refused with its decoded reason and sends
 * nothing; after an evm_revert (what the harness does between property runs) the next send still
 * goes through (the nonce is read from the chain, not cached); a sync send whose wait times out
 * while the node holds the transaction resolves with the receipt once it is mined; `onSigned` gets
 * the hash before the broadcast; a node without `eth_createAccessList` gets `eth_estimateGas` instead.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { erc20Abi, getAddress, keccak256, type Address, type Hex } from 'viem';
import { afterAll, beforeAll, test } from 'vitest';
import { createChainClients, revert, roleAccount, rpcBatch, rpcCall, SerialSender, snapshot, startChain, toViemChain, type RunningChain } from './index.ts';

let chain: RunningChain;
let usdc: Address;
let sender: SerialSender;
const bob = getAddress('0x00000000000000000000000000000000000b0b00');

beforeAll(async () => {
  chain = await startChain({ profile: 'base' });
  usdc = chain.profile.contracts.usdc!;
  sender = new SerialSender(roleAccount('buyer2').privateKey, toViemChain(chain), chain.rpcUrl);
});
afterAll(() => chain?.stop());

const balanceOf = (who: Address) => createChainClients(chain).publicClient.readContract({ address: usdc, abi: erc20Abi, functionName: 'balanceOf', args: [who] });
const nonceOf = (who: Address) => createChainClients(chain).publicClient.getTransactionCount({ address: who, blockTag: 'pending' });

test('concurrent sends: mined one after another, consecutive nonces, exact effects', async () => {
  const before = await balanceOf(bob);
  const n0 = await nonceOf(sender.address);
  const receipts = await Promise.all([1n, 2n, 3n, 4n, 5n].map((v) => sender.send({ address: usdc, abi: erc20Abi, functionName: 'transfer', args: [bob, v] })));
  assert.ok(receipts.every((r) => r.status === 'success'));
  const { publicClient } = createChainClients(chain);
  const nonces = await Promise.all(receipts.map(async (r) => (await publicClient.getTransaction({ hash: r.transactionHash })).nonce));
  assert.deepEqual(nonces, [n0, n0 + 1, n0 + 2, n0 + 3, n0 + 4]);
  assert.equal((await balanceOf(bob)) - before, 15n);
});

test('a call that would revert is refused with its reason and sends nothing; the next send works', async () => {
  const n0 = await nonceOf(sender.address);
  const tooMuch = (await balanceOf(sender.address)) + 1n;
  await assert.rejects(sender.send({ address: usdc, abi: erc20Abi, functionName: 'transfer', args: [bob, tooMuch] }), /exceeds balance|revert/i);
  assert.equal(await nonceOf(sender.address), n0, 'nothing was broadcast');
  const r = await sender.send({ address: usdc, abi: erc20Abi, functionName: 'transfer', args: [bob, 1n] });
  assert.equal(r.status, 'success');
});

test('onSigned gets the transaction hash once signed, before the send resolves (a server records it before the broadcast)', async () => {
  const seen: string[] = [];
  const p = sender.send({ address: usdc, abi: erc20Abi, functionName: 'transfer', args: [bob, 1n] }, { onSigned: (hash) => seen.push(`signed ${hash}`) });
  const r = await p.then((x) => {
    seen.push('mined');
    return x;
  });
  assert.deepEqual(seen, [`signed ${r.transactionHash}`, 'mined']);
});

test('after an evm_revert that undid its transactions, the next send is mined (no stale nonce)', async () => {
  const id = await snapshot(chain.rpcUrl);
  const before = await balanceOf(bob);
  for (let i = 0; i < 3; i++) await sender.send({ address: usdc, abi: erc20Abi, functionName: 'transfer', args: [bob, 7n] });
  await revert(chain.rpcUrl, id);
  assert.equal(await balanceOf(bob), before);
  await sender.send({ address: usdc, abi: erc20Abi, functionName: 'transfer', args: [bob, 7n] });
  assert.equal((await balanceOf(bob)) - before, 7n);
});

test('rpcBatch: one round trip, each call with its own outcome', async () => {
  const [ok, bad] = await rpcBatch(chain.rpcUrl, [
    { method: 'eth_chainId', params: [] },
    { method: 'no_such_method', params: [] },
  ]);
  assert.deepEqual(ok, { ok: true, value: '0x2105' });
  assert.equal(bad!.ok, false);
});

/**
 * A node whose eth_sendRawTransactionSync times out: in front of anvil, it answers the sync send with
 * `error` after passing the transaction on with eth_sendRawTransaction (`take`: the node holds it) or
 * without passing it on; every other call goes to anvil.
 */
async function timingOutNode(error: { code: number; message: string }, take: boolean): Promise<{ url: string; sent: Hex[]; close(): void }> {
  const sent: Hex[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const msg = JSON.parse(body) as { id: number; method: string; params: unknown[] };
      if (!Array.isArray(msg) && msg.method === 'eth_sendRawTransactionSync') {
        const raw = msg.params[0] as Hex;
        sent.push(raw);
        if (take) await rpcCall(chain.rpcUrl, 'eth_sendRawTransaction', [raw]);
        return void res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error }));
      }
      const up = await fetch(chain.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      res.setHeader('content-type', 'application/json');
      res.end(await up.text());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

for (const error of [
  { code: -32603, message: 'Transaction confirmation timeout' },
  { code: 4, message: "The transaction was added to the mempool but wasn't processed within the designated timeout" },
]) {
  test(`a sync send answered "${error.message}" while the node holds the transaction resolves with its receipt`, async () => {
    const node = await timingOutNode(error, true);
    try {
      const s = new SerialSender(roleAccount('buyer1').privateKey, toViemChain(chain), node.url);
      const before = await balanceOf(bob);
      const r = await s.send({ address: usdc, abi: erc20Abi, functionName: 'transfer', args: [bob, 3n] });
      assert.equal(r.status, 'success');
      assert.equal(r.transactionHash, keccak256(node.sent[0]!), 'the receipt of the transaction it sent');
      assert.equal((await balanceOf(bob)) - before, 3n, 'sent once');
    } finally {
      node.close();
    }
  });
}

test('a sync send that fails while the node does not hold the transaction fails', async () => {
  const node = await timingOutNode({ code: -32603, message: 'Transaction confirmation timeout' }, false);
  try {
    const s = new SerialSender(roleAccount('buyer1').privateKey, toViemChain(chain), node.url);
    const before = await balanceOf(bob);
    await assert.rejects(s.send({ address: usdc, abi: erc20Abi, functionName: 'transfer', args: [bob, 3n] }), /confirmation timeout/);
    assert.equal(await balanceOf(bob), before);
  } finally {
    node.close();
  }
});

test('a node without eth_createAccessList: the sender estimates the gas instead, sends, and still refuses a reverting call with its reason', async () => {
  const methods: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const msg = JSON.parse(body) as { id: number; method: string } | { id: number; method: string }[];
      for (const m of Array.isArray(msg) ? msg : [msg]) methods.push(m.method);
      const up = JSON.parse(await (await fetch(chain.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).text()) as { id: number }[] | { id: number };
      const refused = new Set((Array.isArray(msg) ? msg : [msg]).filter((m) => m.method === 'eth_createAccessList').map((m) => m.id));
      const fix = (a: { id: number }) => (refused.has(a.id) ? { jsonrpc: '2.0', id: a.id, error: { code: -32601, message: 'the method eth_createAccessList does not exist/is not available' } } : a);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(Array.isArray(up) ? up.map(fix) : fix(up)));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const s = new SerialSender(roleAccount('buyer1').privateKey, toViemChain(chain), `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const before = await balanceOf(bob);
    for (const v of [2n, 3n]) assert.equal((await s.send({ address: usdc, abi: erc20Abi, functionName: 'transfer', args: [bob, v] })).status, 'success');
    assert.equal((await balanceOf(bob)) - before, 5n);
    assert.equal(methods.filter((m) => m === 'eth_createAccessList').length, 1, 'asked once, then not again');
    assert.equal(methods.filter((m) => m === 'eth_estimateGas').length, 2);
    await assert.rejects(s.send({ address: usdc, abi: erc20Abi, functionName: 'transfer', args: [bob, 10n ** 30n] }), /exceeds balance|revert/i);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
