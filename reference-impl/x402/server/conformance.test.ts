/**
 * Interop and differential checks against code nobody here wrote:
 * - the official facilitator HTTP client (`HTTPFacilitatorClient`) talks to our facilitator;
 * - the official EVM server scheme prices "$0.10" as our paywall does;
 * - our `/verify` gives the same verdict and reason as the official `x402Facilitator` +
 *   `ExactEvmScheme` (@x402/evm 2.27.0) on the same chain, for every case where the two clocks agree.
 */
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { createWalletClient, getAddress, http, parseAbi, publicActions, type Address, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { HTTPFacilitatorClient, x402ResourceServer } from '@x402/core/server';
import { x402Client } from '@x402/core/client';
import { registerExactEvmScheme as registerClientScheme } from '@x402/evm/exact/client';
import { x402Facilitator } from '@x402/core/facilitator';
import { toFacilitatorEvmSigner } from '@x402/evm';
import { registerExactEvmScheme } from '@x402/evm/exact/facilitator';
import { ExactEvmScheme as ExactEvmServerScheme } from '@x402/evm/exact/server';
import { roleAccount, startChain, toViemChain, type RunningChain } from '../../../harness/chain/index.ts';
import { startFacilitator, type RunningFacilitator } from './facilitator.ts';
import { buildRequirements } from './paywall.ts';
import { Reason, type RequirementsV1, type RequirementsV2 } from '../protocol/wire.ts';
import { makeV1Payload, makeV2Payload } from '../protocol/payload.ts';
import { chainTools, placeOwnerWallet } from './testkit.ts';

const operator = roleAccount('operator');
const buyer = roleAccount('buyer1');
const vendor = roleAccount('vendor1');
const attacker = roleAccount('attacker');

let chain: RunningChain;
let tools: ReturnType<typeof chainTools>;
let ours: RunningFacilitator;
let official: x402Facilitator;
let USDC: Address;

beforeAll(async () => {
  chain = await startChain({ profile: 'base-sepolia' });
  tools = chainTools(chain.rpcUrl);
  USDC = chain.profile.usdc!.address;
  ours = await startFacilitator({ rpcUrl: chain.rpcUrl, privateKey: operator.privateKey });
  const wallet = createWalletClient({ account: privateKeyToAccount(operator.privateKey), chain: toViemChain(chain), transport: http(chain.rpcUrl) }).extend(publicActions);
  official = new x402Facilitator();
  registerExactEvmScheme(official, { signer: toFacilitatorEvmSigner({ ...(wallet as any), address: wallet.account.address }), networks: 'eip155:84532' });
});

afterAll(async () => {
  await ours?.stop();
  await chain?.stop();
});

function reqV2(over: Partial<RequirementsV2> = {}): RequirementsV2 {
  return { scheme: 'exact', network: 'eip155:84532', amount: '100000', asset: USDC, payTo: vendor.address, maxTimeoutSeconds: 300, extra: { name: 'USDC', version: '2' }, ...over };
}
function reqV1(over: Partial<RequirementsV1> = {}): RequirementsV1 {
  return {
    scheme: 'exact',
    network: 'base-sepolia',
    maxAmountRequired: '100000',
    asset: USDC,
    payTo: vendor.address,
    resource: 'http://127.0.0.1/paid',
    description: 'test',
    mimeType: 'application/json',
    maxTimeoutSeconds: 60,
    extra: { name: 'USDC', version: '2' },
    ...over,
  };
}

describe('official HTTPFacilitatorClient against our facilitator', () => {
  test('getSupported, verify and settle round-trip', async () => {
    const client = new HTTPFacilitatorClient({ url: ours.url });
    const supported = await client.getSupported();
    assert.ok(supported.kinds.some((k) => k.x402Version === 2 && k.scheme === 'exact' && k.network === 'eip155:84532'));
    assert.ok(supported.kinds.some((k) => k.x402Version === 1 && (k.network as string) === 'base-sepolia'));
    const req = reqV2();
    const payload = await makeV2Payload(buyer.privateKey, req, { now: await tools.now(), chainId: chain.chainId });
    const v = await client.verify(payload as never, req as never);
    assert.deepEqual([v.isValid, v.payer], [true, buyer.address]);
    const b0 = await tools.balanceOf(USDC, vendor.address);
    const s = await client.settle(payload as never, req as never);
    assert.equal(s.success, true);
    assert.match(s.transaction, /^0x[0-9a-f]{64}$/);
    assert.equal(await tools.balanceOf(USDC, vendor.address), b0 + 100_000n);
  });
});

test('official x402ResourceServer on our facilitator: initialize, same requirements as ours, official client pays', async () => {
  const server = new x402ResourceServer(new HTTPFacilitatorClient({ url: ours.url })).register('eip155:84532', new ExactEvmServerScheme());
  await server.initialize(); // fetches /supported; fails route validation if our kinds were wrong
  assert.ok(server.getSupportedKind(2, 'eip155:84532', 'exact'));
  const theirs = await server.buildPaymentRequirements({ scheme: 'exact', payTo: vendor.address, price: '$0.10', network: 'eip155:84532' });
  const mine = buildRequirements([{ price: '$0.10', payTo: vendor.address, network: 'eip155:84532' }]);
  assert.deepEqual(mine, theirs, 'our paywall offers exactly what the official server offers');
  const client = new x402Client();
  registerClientScheme(client, { signer: privateKeyToAccount(buyer.privateKey) });
  const payload = await client.createPaymentPayload({ x402Version: 2, resource: { url: 'http://127.0.0.1/x', description: '', mimeType: '' }, accepts: theirs } as never);
  const match = server.findMatchingRequirements(theirs, payload);
  assert.ok(match);
  assert.equal((await server.verifyPayment(payload, match)).isValid, true);
  const b0 = await tools.balanceOf(USDC, vendor.address);
  assert.equal((await server.settlePayment(payload, match)).success, true);
  assert.equal(await tools.balanceOf(USDC, vendor.address), b0 + 100_000n);
});

test('official EVM server scheme prices "$0.10" like our paywall', async () => {
  const theirs = await new ExactEvmServerScheme().parsePrice('$0.10', 'eip155:84532');
  const [mine] = buildRequirements([{ price: '$0.10', payTo: vendor.address, network: 'eip155:84532' }]);
  assert.equal(mine!.amount, theirs.amount);
  assert.equal(mine!.asset.toLowerCase(), theirs.asset.toLowerCase());
  assert.equal(mine!.extra?.name, theirs.extra?.name);
  assert.equal(mine!.extra?.version, theirs.extra?.version);
});

interface Case {
  name: string;
  build(): Promise<{ payload: Record<string, unknown>; req: RequirementsV2 | RequirementsV1 }>;
  /** Our expected verdict (reason, or 'valid'); the official one must be identical unless `official` says otherwise. */
  expect: string;
  official?: string;
}

const now = () => tools.now();
const v2case = async (
  auth: Parameters<typeof makeV2Payload>[2]['auth'] = {},
  extra: Omit<Parameters<typeof makeV2Payload>[2], 'now' | 'chainId' | 'auth'> = {},
  req = reqV2(),
  key: Hex = buyer.privateKey,
) => ({
  payload: await makeV2Payload(key, req, { now: await now(), chainId: chain.chainId, auth, ...extra }),
  req,
});

const cases: Case[] = [
  { name: 'valid v2 payment', expect: 'valid', build: () => v2case() },
  { name: 'v2 underpayment', expect: Reason.valueMismatchV2, build: () => v2case({ value: 99_999n }) },
  { name: 'v2 overpayment', expect: Reason.valueMismatchV2, build: () => v2case({ value: 100_001n }) },
  { name: 'wrong payTo', expect: Reason.recipientMismatch, build: () => v2case({ to: attacker.address }) },
  { name: 'wrong network in accepted', expect: Reason.networkMismatch, build: () => v2case({}, { accepted: { network: 'eip155:8453' } }) },
  { name: 'wrong scheme in accepted', expect: Reason.scheme, build: () => v2case({}, { accepted: { scheme: 'upto' } }) },
  { name: 'signed by another key', expect: Reason.signature, build: () => v2case({ from: buyer.address }, {}, reqV2(), attacker.privateKey) },
  { name: 'signed for another token', expect: Reason.signature, build: () => v2case({}, { domain: { verifyingContract: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913' } }) },
  { name: 'signed for another chain id', expect: Reason.signature, build: () => v2case({}, { domain: { chainId: 8453 } }) },
  { name: 'validAfter in the future', expect: Reason.validAfter, build: async () => v2case({ validAfter: (await now()) + 600n, validBefore: (await now()) + 1200n }) },
  { name: 'validBefore already passed', expect: Reason.validBefore, build: async () => v2case({ validAfter: (await now()) - 600n, validBefore: (await now()) - 1n }) },
  { name: 'payer without USDC', expect: Reason.insufficientBalance, build: () => v2case({}, {}, reqV2(), generatePrivateKey()) },
  {
    name: 'EIP-712 name wrong in extra (the Base vs Base Sepolia mix-up)',
    expect: 'invalid_exact_evm_token_name_mismatch',
    build: () => v2case({}, {}, reqV2({ extra: { name: 'USD Coin', version: '2' } })),
  },
  {
    name: 'nonce already used',
    expect: Reason.nonceUsed,
    build: async () => {
      const c = await v2case();
      const s = await fetch(`${ours.url}/settle`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ x402Version: 2, paymentPayload: c.payload, paymentRequirements: c.req }),
      });
      assert.equal(((await s.json()) as { success: boolean }).success, true);
      return c;
    },
  },
  {
    name: 'valid v1 payment',
    expect: 'valid',
    build: async () => {
      const req = reqV1();
      return { payload: await makeV1Payload(buyer.privateKey, req, { now: await now(), chainId: chain.chainId }), req };
    },
  },
  {
    name: 'v1 underpayment',
    expect: Reason.valueV1,
    build: async () => {
      const req = reqV1();
      return { payload: await makeV1Payload(buyer.privateKey, req, { now: await now(), chainId: chain.chainId, auth: { value: 1n } }), req };
    },
  },
  {
    // Documented divergence: legacy x402 1.x accepts value >= maxAmountRequired; @x402/evm 2.27's v1 wants equality.
    name: 'v1 overpayment',
    expect: 'valid',
    official: Reason.valueV1,
    build: async () => {
      const req = reqV1();
      return { payload: await makeV1Payload(buyer.privateKey, req, { now: await now(), chainId: chain.chainId, auth: { value: 100_001n } }), req };
    },
  },
];

const verdict = (r: { isValid: boolean; invalidReason?: string }) => (r.isValid ? 'valid' : r.invalidReason);

describe('same verdict and reason as the official facilitator', () => {
  for (const c of cases) {
    test(c.name, async () => {
      const { payload, req } = await c.build();
      const res = await fetch(`${ours.url}/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ x402Version: payload.x402Version, paymentPayload: payload, paymentRequirements: req }),
      });
      const mine = verdict((await res.json()) as { isValid: boolean; invalidReason?: string });
      const theirs = verdict(await official.verify(payload as never, req as never));
      assert.equal(mine, c.expect, 'our verdict');
      assert.equal(theirs, c.official ?? c.expect, 'official verdict');
    });
  }
});

describe('ERC-1271 smart-wallet payer (65-byte signature by the owner)', () => {
  test('ours and the official facilitator accept it, a forged one is refused by both, ours settles it', async () => {
    const wallet = getAddress('0x0000000000000000000000000000000000001271');
    await placeOwnerWallet(tools, wallet, buyer.address);
    const funder = createWalletClient({ account: privateKeyToAccount(buyer.privateKey), chain: toViemChain(chain), transport: http(chain.rpcUrl) });
    const hash = await funder.writeContract({ address: USDC, abi: parseAbi(['function transfer(address,uint256) returns (bool)']), functionName: 'transfer', args: [wallet, 1_000_000n] });
    await tools.client.waitForTransactionReceipt({ hash });
    const req = reqV2();
    const verifyBoth = async (payload: Record<string, unknown>) => {
      const res = await fetch(`${ours.url}/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ x402Version: 2, paymentPayload: payload, paymentRequirements: req }),
      });
      return [verdict((await res.json()) as { isValid: boolean; invalidReason?: string }), verdict(await official.verify(payload as never, req as never))];
    };
    const forged = await makeV2Payload(attacker.privateKey, req, { now: await now(), chainId: chain.chainId, auth: { from: wallet } });
    assert.deepEqual(await verifyBoth(forged), [Reason.signature, Reason.signature]);
    const good = await makeV2Payload(buyer.privateKey, req, { now: await now(), chainId: chain.chainId, auth: { from: wallet } });
    assert.deepEqual(await verifyBoth(good), ['valid', 'valid']);
    const v0 = await tools.balanceOf(USDC, vendor.address);
    const s = await fetch(`${ours.url}/settle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ x402Version: 2, paymentPayload: good, paymentRequirements: req }),
    });
    const settled = (await s.json()) as { success: boolean; payer: string };
    assert.deepEqual([settled.success, settled.payer], [true, wallet]);
    assert.equal(await tools.balanceOf(USDC, wallet), 900_000n);
    assert.equal(await tools.balanceOf(USDC, vendor.address), v0 + 100_000n);
  });
});
