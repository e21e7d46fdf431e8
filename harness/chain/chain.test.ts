/**
 * The chains as other areas see them: started from the committed fixtures, Base-shaped, with the
 * canonical contracts, funded role accounts, snapshot/revert, and USDC's EIP-3009 behaving like
 * Circle's FiatToken (exact balance moves, replay/expiry/not-yet-valid refused).
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test, onTestFinished } from 'vitest';
import { keccak256, parseAbi, parseSignature, toHex, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { fiatTokenV2_2Abi } from './bindings/index.ts';
import {
  PortInUseError,
  ROLE_ETH_BALANCE,
  ROLE_USDC_BALANCE,
  createChainClients,
  getProfile,
  revert,
  roleAccount,
  roleAccounts,
  snapshot,
  startChain,
  type ChainProfileId,
  type RunningChain,
} from './index.ts';

const reputationAbi = parseAbi(['function getIdentityRegistry() view returns (address)']);

function checkProfile(id: ChainProfileId, expected: { chainId: number; usdcName: string }) {
  describe(`chain profile ${id} (from fixture)`, () => {
    let chain: RunningChain;
    beforeAll(async () => {
      chain = await startChain({ profile: id });
    });
    afterAll(async () => {
      await chain?.stop();
    });

    test('chain id and canonical USDC', async () => {
      const { publicClient } = createChainClients(chain);
      assert.equal(await publicClient.getChainId(), expected.chainId);
      assert.equal(chain.chainId, expected.chainId);
      const usdc = chain.profile.usdc!.address;
      const read = (functionName: 'name' | 'symbol' | 'decimals' | 'version') => publicClient.readContract({ address: usdc, abi: fiatTokenV2_2Abi, functionName });
      assert.equal(await read('name'), expected.usdcName);
      assert.equal(await read('symbol'), 'USDC');
      assert.equal(await read('decimals'), 6);
      assert.equal(await read('version'), '2');
    });

    test("chain time starts at the host's clock (not at the fixture's creation time)", async () => {
      const { publicClient } = createChainClients(chain);
      const { timestamp } = await publicClient.getBlock();
      const skew = Number(timestamp) - Math.floor(Date.now() / 1000);
      assert.ok(Math.abs(skew) <= 5, `latest block is ${skew} s off the host clock`);
    });

    test('code at every canonical address (ERC-8004, Multicall3, Permit2...)', async () => {
      const { publicClient } = createChainClients(chain);
      for (const [key, address] of Object.entries(chain.profile.contracts)) {
        const code = await publicClient.getCode({ address });
        assert.ok(code && code.length > 2, `no code for ${key} at ${address}`);
      }
      const identity = chain.profile.contracts.identityRegistry!;
      for (const key of ['reputationRegistry', 'legacyReputationRegistry']) {
        const address = chain.profile.contracts[key];
        if (!address) continue;
        const linked = await publicClient.readContract({ address, abi: reputationAbi, functionName: 'getIdentityRegistry' });
        assert.equal(linked.toLowerCase(), identity.toLowerCase(), `${key} linked to the identity registry`);
      }
    });

    test('role accounts funded with ETH and USDC; admin is masterMinter and a minter', async () => {
      const { publicClient } = createChainClients(chain);
      const usdc = chain.profile.usdc!.address;
      for (const acct of roleAccounts) {
        assert.equal(await publicClient.getBalance({ address: acct.address }), ROLE_ETH_BALANCE, `${acct.role} ETH`);
        const bal = await publicClient.readContract({ address: usdc, abi: fiatTokenV2_2Abi, functionName: 'balanceOf', args: [acct.address] });
        assert.equal(bal, ROLE_USDC_BALANCE, `${acct.role} USDC`);
      }
      const admin = roleAccount('admin').address;
      assert.equal(await publicClient.readContract({ address: usdc, abi: fiatTokenV2_2Abi, functionName: 'masterMinter' }), admin);
      assert.equal(await publicClient.readContract({ address: usdc, abi: fiatTokenV2_2Abi, functionName: 'isMinter', args: [admin] }), true);
    });
  });
}

checkProfile('base', { chainId: 8453, usdcName: 'USD Coin' });
checkProfile('base-sepolia', { chainId: 84532, usdcName: 'USDC' });

describe('snapshot/revert and EIP-3009 on base', () => {
  let chain: RunningChain;
  let clients: ReturnType<typeof createChainClients>;
  let usdc: Address;
  const buyer = roleAccount('buyer1');
  const vendor = roleAccount('vendor1');
  const relayer = roleAccount('operator');

  beforeAll(async () => {
    chain = await startChain({ profile: 'base' });
    clients = createChainClients(chain);
    usdc = chain.profile.usdc!.address;
  });
  afterAll(async () => {
    await chain?.stop();
  });

  const balanceOf = (address: Address) => clients.publicClient.readContract({ address: usdc, abi: fiatTokenV2_2Abi, functionName: 'balanceOf', args: [address] });
  const now = async () => (await clients.publicClient.getBlock()).timestamp;
  let nonceCounter = 0;
  const freshNonce = (): Hex => keccak256(toHex(`eip3009-test-${++nonceCounter}-${Date.now()}`));

  async function sign(auth: { value: bigint; validAfter: bigint; validBefore: bigint; nonce: Hex }, domainName = chain.profile.usdc!.name) {
    return privateKeyToAccount(buyer.privateKey).signTypedData({
      domain: { name: domainName, version: chain.profile.usdc!.version, chainId: chain.chainId, verifyingContract: usdc },
      types: {
        TransferWithAuthorization: [
          { name: 'from', type: 'address' },
          { name: 'to', type: 'address' },
          { name: 'value', type: 'uint256' },
          { name: 'validAfter', type: 'uint256' },
          { name: 'validBefore', type: 'uint256' },
          { name: 'nonce', type: 'bytes32' },
        ],
      },
      primaryType: 'TransferWithAuthorization',
      message: { from: buyer.address, to: vendor.address, ...auth },
    });
  }

  function submit(auth: { value: bigint; validAfter: bigint; validBefore: bigint; nonce: Hex }, signature: Hex) {
    return clients.walletClient(relayer).writeContractSync({
      address: usdc,
      abi: fiatTokenV2_2Abi,
      functionName: 'transferWithAuthorization',
      args: [buyer.address, vendor.address, auth.value, auth.validAfter, auth.validBefore, auth.nonce, signature],
    });
  }

  test('revert restores balances and height; a snapshot id cannot be reused', async () => {
    const id = await snapshot(chain.rpcUrl);
    const height = await clients.publicClient.getBlockNumber({ cacheTime: 0 });
    const before = await balanceOf(vendor.address);
    await clients.walletClient(buyer).writeContractSync({ address: usdc, abi: fiatTokenV2_2Abi, functionName: 'transfer', args: [vendor.address, 5n] });
    assert.equal(await balanceOf(vendor.address), before + 5n);
    await revert(chain.rpcUrl, id);
    assert.equal(await balanceOf(vendor.address), before);
    assert.equal(await clients.publicClient.getBlockNumber({ cacheTime: 0 }), height);
    await assert.rejects(revert(chain.rpcUrl, id), /unknown or already used snapshot/);
  });

  test('transferWithAuthorization moves exactly `value` from signer to payee; the relayer pays only gas', async () => {
    const id = await snapshot(chain.rpcUrl);
    try {
      const auth = { value: 1_234_567n, validAfter: 0n, validBefore: (await now()) + 3600n, nonce: freshNonce() };
      const signature = await sign(auth);
      const [b0, v0, r0] = await Promise.all([balanceOf(buyer.address), balanceOf(vendor.address), balanceOf(relayer.address)]);
      // (v, r, s) overload, as older clients use it.
      const { v, r, s } = parseSignature(signature);
      const receipt = await clients.walletClient(relayer).writeContractSync({
        address: usdc,
        abi: fiatTokenV2_2Abi,
        functionName: 'transferWithAuthorization',
        args: [buyer.address, vendor.address, auth.value, auth.validAfter, auth.validBefore, auth.nonce, Number(v), r, s],
      });
      assert.equal(receipt.status, 'success');
      assert.equal(await balanceOf(buyer.address), b0 - auth.value);
      assert.equal(await balanceOf(vendor.address), v0 + auth.value);
      assert.equal(await balanceOf(relayer.address), r0);
      const used = await clients.publicClient.readContract({ address: usdc, abi: fiatTokenV2_2Abi, functionName: 'authorizationState', args: [buyer.address, auth.nonce] });
      assert.equal(used, true);

      // Replay of the same authorization (bytes-signature overload this time) is refused.
      await assert.rejects(submit(auth, signature), /authorization is used or canceled/);
      assert.equal(await balanceOf(vendor.address), v0 + auth.value);
    } finally {
      await revert(chain.rpcUrl, id);
    }
  });

  test('expired authorization (validBefore passed after evm_increaseTime) is refused', async () => {
    const id = await snapshot(chain.rpcUrl);
    try {
      const auth = { value: 10n, validAfter: 0n, validBefore: (await now()) + 60n, nonce: freshNonce() };
      const signature = await sign(auth);
      await clients.testClient.increaseTime({ seconds: 3600 });
      await clients.testClient.mine({ blocks: 1 });
      const v0 = await balanceOf(vendor.address);
      await assert.rejects(submit(auth, signature), /authorization is expired/);
      assert.equal(await balanceOf(vendor.address), v0);
    } finally {
      await revert(chain.rpcUrl, id);
    }
  });

  test('not-yet-valid authorization is refused, and accepted once time has come', async () => {
    const id = await snapshot(chain.rpcUrl);
    try {
      const t = await now();
      const auth = { value: 10n, validAfter: t + 600n, validBefore: t + 7200n, nonce: freshNonce() };
      const signature = await sign(auth);
      await assert.rejects(submit(auth, signature), /authorization is not yet valid/);
      await clients.testClient.increaseTime({ seconds: 1200 });
      await clients.testClient.mine({ blocks: 1 });
      const receipt = await submit(auth, signature);
      assert.equal(receipt.status, 'success');
    } finally {
      await revert(chain.rpcUrl, id);
    }
  });

  test('a signature over the other chain\'s USDC domain name is refused ("USDC" on Base)', async () => {
    const auth = { value: 10n, validAfter: 0n, validBefore: (await now()) + 3600n, nonce: freshNonce() };
    const signature = await sign(auth, getProfile('base-sepolia').usdc!.name);
    await assert.rejects(submit(auth, signature), /invalid signature/);
  });

  test('a taken port gives an error naming the port and the --port flag', async () => {
    await assert.rejects(startChain({ profile: 'base', port: chain.port }), (err: unknown) => {
      assert.ok(err instanceof PortInUseError, `expected PortInUseError, got ${String(err)}`);
      assert.match(err.message, new RegExp(`port ${chain.port} `));
      assert.match(err.message, /--port/);
      return true;
    });
  });
});

test('revert refuses to report success when a transaction is left pending (un-awaited send)', async (_t) => {
  const chain = await startChain({ profile: 'base' });
  onTestFinished(() => chain.stop());
  const { testClient, walletClient } = createChainClients(chain);
  const id = await snapshot(chain.rpcUrl);
  // Stop auto-mining so the send stays in the pool, as an un-awaited send would at revert time.
  await testClient.setAutomine(false);
  await walletClient('buyer2').sendTransaction({ to: roleAccount('vendor2').address, value: 1n });
  await assert.rejects(revert(chain.rpcUrl, id), /1 pending \/ 0 queued transactions remain/);
});
