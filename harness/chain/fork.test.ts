/**
 * Fork mode: on top of an upstream chain, only missing canonical contracts are added and the role
 * accounts are funded; everything already upstream stays as it was. The "upstream" is a local anvil
 * loaded from the base fixture and then altered so it looks like a real chain we do not control:
 * Permit2 removed, USDC's masterMinter handed to a stranger (so funding must impersonate it), a
 * stranger holding ETH and USDC, a role account under-funded.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test, onTestFinished } from 'vitest';
import { getAddress, keccak256, parseAbi, type Address, type Hex } from 'viem';
import { readArtifact } from './artifacts.ts';
import { fiatTokenV2_2Abi } from './bindings/index.ts';
import { ROLE_ETH_BALANCE, ROLE_USDC_BALANCE, createChainClients, dumpState, roleAccount, roleAccounts, rpcCall, startChain, type RunningChain } from './index.ts';

const STRANGER: Address = '0x00000000000000000000000000000000deadbeef';
const NEW_MASTER_MINTER: Address = '0x000000000000000000000000000000000000c1c1';
const adminAbi = parseAbi(['function updateMasterMinter(address newMasterMinter)', 'function removeMinter(address minter) returns (bool)']);

let upstream: RunningChain;
let fork: RunningChain;
let upstreamState: Record<string, { code?: string; storage?: Record<string, string> }>;

beforeAll(async () => {
  upstream = await startChain({ profile: 'base' });
  const up = createChainClients(upstream);
  const usdc = upstream.profile.usdc!.address;
  const admin = up.walletClient('admin');
  await up.testClient.setCode({ address: upstream.profile.contracts.permit2!, bytecode: '0x' });
  await up.testClient.setBalance({ address: STRANGER, value: 123n });
  await up.walletClient('buyer1').writeContractSync({ address: usdc, abi: fiatTokenV2_2Abi, functionName: 'transfer', args: [STRANGER, 777n] });
  await admin.writeContractSync({ address: usdc, abi: adminAbi, functionName: 'removeMinter', args: [roleAccount('admin').address] });
  await admin.writeContractSync({ address: usdc, abi: adminAbi, functionName: 'updateMasterMinter', args: [NEW_MASTER_MINTER] });
  upstreamState = (await dumpState(upstream.rpcUrl)).accounts as typeof upstreamState;
  const block = await up.publicClient.getBlockNumber({ cacheTime: 0 });
  fork = await startChain({ profile: 'base', forkUrl: upstream.rpcUrl, forkBlockNumber: block });
});

afterAll(async () => {
  await fork?.stop();
  await upstream?.stop();
});

test('only the missing contract (Permit2) is placed; the others are reported present', () => {
  const actions = Object.fromEntries(fork.fork!.placements.map((p) => [p.key, p.action]));
  // Other packs may place contracts on base too (e.g. aisp's marketplace): all present in the upstream state.
  const expected = Object.fromEntries(Object.keys(actions).map((k) => [k, k === 'permit2' ? 'placed' : 'present']));
  assert.deepEqual(actions, expected);
  for (const k of ['usdc', 'identityRegistry', 'reputationRegistry', 'multicall3', 'permit2']) assert.ok(k in actions, k);
});

test('Permit2 now has the artifact code on the fork', async () => {
  const code = await rpcCall<Hex>(fork.rpcUrl, 'eth_getCode', [fork.profile.contracts.permit2, 'latest']);
  assert.equal(keccak256(code), keccak256(readArtifact('Permit2.sol', 'Permit2').deployedBytecode));
});

test('present contracts keep their upstream code and every upstream storage slot (except USDC funding slots)', async () => {
  for (const key of ['identityRegistry', 'reputationRegistry', 'multicall3', 'usdc']) {
    const address = fork.profile.contracts[key]!;
    const upstreamAccount = upstreamState[address.toLowerCase()]!;
    const code = await rpcCall<Hex>(fork.rpcUrl, 'eth_getCode', [address, 'latest']);
    assert.equal(code, upstreamAccount.code, `${key} code`);
    if (key === 'usdc') continue; // minting for the role accounts changes balances/minter slots by design
    const slots = Object.entries(upstreamAccount.storage ?? {});
    if (key !== 'multicall3') assert.ok(slots.length > 0, `${key} has initialised storage upstream`);
    for (const [slot, value] of slots) {
      const forked = await rpcCall<Hex>(fork.rpcUrl, 'eth_getStorageAt', [address, slot, 'latest']);
      assert.equal(BigInt(forked), BigInt(value), `${key} slot ${slot}`);
    }
  }
});

test("upstream state is visible: the stranger's ETH and USDC, USDC's masterMinter unchanged", async () => {
  const { publicClient } = createChainClients(fork);
  const usdc = fork.profile.usdc!.address;
  assert.equal(await publicClient.getBalance({ address: STRANGER }), 123n);
  assert.equal(await publicClient.readContract({ address: usdc, abi: fiatTokenV2_2Abi, functionName: 'balanceOf', args: [STRANGER] }), 777n);
  assert.equal(await publicClient.readContract({ address: usdc, abi: fiatTokenV2_2Abi, functionName: 'masterMinter' }), getAddress(NEW_MASTER_MINTER));
});

test('role accounts are funded (USDC through the impersonated masterMinter making admin a minter)', async () => {
  const { publicClient } = createChainClients(fork);
  const usdc = fork.profile.usdc!.address;
  for (const acct of roleAccounts) {
    assert.equal(await publicClient.getBalance({ address: acct.address }), ROLE_ETH_BALANCE, `${acct.role} ETH`);
    const bal = await publicClient.readContract({ address: usdc, abi: fiatTokenV2_2Abi, functionName: 'balanceOf', args: [acct.address] });
    assert.equal(bal, ROLE_USDC_BALANCE, `${acct.role} USDC`);
  }
  const admin = roleAccount('admin').address;
  assert.equal(await publicClient.readContract({ address: usdc, abi: fiatTokenV2_2Abi, functionName: 'isMinter', args: [admin] }), true);
  // The upstream itself is untouched by the fork.
  const up = createChainClients(upstream);
  assert.equal(await up.publicClient.readContract({ address: usdc, abi: fiatTokenV2_2Abi, functionName: 'isMinter', args: [admin] }), false);
  assert.equal(await up.publicClient.getCode({ address: fork.profile.contracts.permit2! }), undefined);
});

test('a fork URL serving another chain id is refused', async () => {
  await assert.rejects(startChain({ profile: 'base-sepolia', forkUrl: upstream.rpcUrl }), /serves chain id 8453, but profile 'base-sepolia' is chain 84532/);
});

test('BASE_RPC_URL alone turns a normal start into a fork start', async (_t) => {
  const prev = process.env.BASE_RPC_URL;
  process.env.BASE_RPC_URL = upstream.rpcUrl;
  let chain: RunningChain;
  try {
    chain = await startChain({ profile: 'base' });
  } finally {
    if (prev === undefined) delete process.env.BASE_RPC_URL;
    else process.env.BASE_RPC_URL = prev;
  }
  onTestFinished(() => chain.stop());
  assert.equal(chain.fork?.url, upstream.rpcUrl);
  assert.equal(await createChainClients(chain).publicClient.getBalance({ address: STRANGER }), 123n);
});

test('fork URLs are printed without path, query or credentials (API keys live there)', async () => {
  const { redactUrl } = await import('./index.ts');
  assert.equal(redactUrl('https://base-mainnet.g.alchemy.com/v2/SECRETKEY'), 'https://base-mainnet.g.alchemy.com/…');
  assert.equal(redactUrl('https://user:pw@rpc.example/'), 'https://rpc.example/…');
  assert.equal(redactUrl('https://rpc.example/?apikey=SECRET'), 'https://rpc.example/…');
  assert.equal(redactUrl('http://127.0.0.1:8545'), 'http://127.0.0.1:8545');
  await assert.rejects(startChain({ profile: 'base', forkUrl: 'http://127.0.0.1:1/v2/SECRETKEY' }), (err: unknown) => {
    assert.match(String(err), /cannot reach fork URL http:\/\/127\.0\.0\.1:1\/…/);
    assert.doesNotMatch(String(err), /SECRETKEY/);
    return true;
  });
});
