/**
 * Facilitator over real HTTP against a real Anvil (base-sepolia fixture, USDC at 0x036C...CF7e).
 * Every negative check is run twice: against the correct facilitator (must pass) and against one
 * with the matching defect switched on (must fail), so no check here can pass vacuously.
 */
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generatePrivateKey } from 'viem/accounts';
import { encodeAbiParameters, pad, parseAbi, parseEventLogs, toEventSelector, toHex, type Address, type Hex } from 'viem';
import { roleAccount, startChain, type RunningChain } from '../../../harness/chain/index.ts';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNonceManager, jsonRpc } from 'viem/nonce';
import { isTransfer, nonceTracker, startFacilitator, type FacilitatorFaults, type RunningFacilitator } from './facilitator.ts';
import { Reason, type RequirementsV1, type RequirementsV2 } from '../protocol/wire.ts';
import { makeV1Payload, makeV2Payload } from '../protocol/payload.ts';
import { callsRpc, startFaultProxy } from '../../../harness/faults/index.ts';
import { chainTools } from './testkit.ts';

const operator = roleAccount('operator');
const buyer = roleAccount('buyer1');
const vendor = roleAccount('vendor1');
const attacker = roleAccount('attacker');

let chain: RunningChain;
let fac: RunningFacilitator;
let tools: ReturnType<typeof chainTools>;
let USDC: Address;
const faulty = new Map<keyof FacilitatorFaults, RunningFacilitator>();

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

async function post(url: string, path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) }).catch((e) => {
    throw new Error(`${path}: ${e.message} ${e.cause}`);
  });
  return { status: res.status, json: await res.json() };
}

async function faultyFacilitator(fault: keyof FacilitatorFaults): Promise<RunningFacilitator> {
  let f = faulty.get(fault);
  if (!f) {
    f = await startFacilitator({ rpcUrl: chain.rpcUrl, privateKey: operator.privateKey, faults: { [fault]: true } });
    faulty.set(fault, f);
  }
  return f;
}

beforeAll(async () => {
  chain = await startChain({ profile: 'base-sepolia' });
  tools = chainTools(chain.rpcUrl);
  USDC = chain.profile.usdc!.address;
  fac = await startFacilitator({ rpcUrl: chain.rpcUrl, privateKey: operator.privateKey });
});

afterAll(async () => {
  for (const f of faulty.values()) await f.stop();
  await fac?.stop();
  await chain?.stop();
});

/** A request that the facilitator must reject with exactly `reason`; `fault` is the defect that must let it through. */
interface NegativeCase {
  name: string;
  reason: string;
  fault: keyof FacilitatorFaults;
  build(): Promise<{ x402Version: 1 | 2; paymentPayload: unknown; paymentRequirements: unknown }>;
}

async function v2(
  auth: Parameters<typeof makeV2Payload>[2]['auth'] = {},
  extra: Omit<Parameters<typeof makeV2Payload>[2], 'now' | 'chainId' | 'auth'> = {},
  req = reqV2(),
  key: Hex = buyer.privateKey,
) {
  const now = await tools.now();
  const paymentPayload = await makeV2Payload(key, req, { now, chainId: chain.chainId, auth, ...extra });
  return { x402Version: 2 as const, paymentPayload, paymentRequirements: req };
}

const negatives: NegativeCase[] = [
  { name: 'v2 underpayment (value < amount)', reason: Reason.valueMismatchV2, fault: 'skipAmountCheck', build: () => v2({ value: 99_999n }) },
  {
    name: 'v1 underpayment (value < maxAmountRequired)',
    reason: Reason.valueV1,
    fault: 'skipAmountCheck',
    build: async () => {
      const req = reqV1();
      return { x402Version: 1, paymentPayload: await makeV1Payload(buyer.privateKey, req, { now: await tools.now(), chainId: chain.chainId, auth: { value: 50_000n } }), paymentRequirements: req };
    },
  },
  { name: 'wrong payTo (authorization.to is not payTo)', reason: Reason.recipientMismatch, fault: 'skipRecipientCheck', build: () => v2({ to: attacker.address }) },
  {
    name: 'wrong asset (signed for another token contract)',
    reason: Reason.signature,
    fault: 'skipSignatureCheck',
    build: () => v2({}, { domain: { verifyingContract: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913' } }),
  },
  {
    name: 'asset not served (requirements name a token we do not accept)',
    reason: Reason.invalidPaymentRequirements,
    fault: 'skipAssetCheck',
    build: () => v2({}, {}, reqV2({ asset: '0x000000000000000000000000000000000000dEaD' })),
  },
  { name: 'wrong network (accepted.network differs)', reason: Reason.networkMismatch, fault: 'skipNetworkCheck', build: () => v2({}, { accepted: { network: 'eip155:8453' } }) },
  { name: 'wrong scheme (accepted.scheme is not exact)', reason: Reason.scheme, fault: 'skipSchemeCheck', build: () => v2({}, { accepted: { scheme: 'upto' } }) },
  { name: 'signature by someone else than authorization.from', reason: Reason.signature, fault: 'skipSignatureCheck', build: () => v2({ from: buyer.address }, {}, reqV2(), attacker.privateKey) },
  {
    // Regression (found by the x402/agentripe robustness scenarios): viem's parseSignature threw on
    // the bad v byte while building the simulation, and /verify answered 500.
    name: 'a 65-byte signature whose v byte is no valid v (0x05)',
    reason: Reason.signature,
    fault: 'skipSignatureCheck',
    build: async () => {
      const b = await v2();
      const p = b.paymentPayload as { payload: { signature: string } };
      p.payload.signature = `${p.payload.signature.slice(0, 130)}05`;
      return b;
    },
  },
  { name: 'insufficient balance (fresh payer)', reason: Reason.insufficientBalance, fault: 'skipBalanceCheck', build: () => v2({}, {}, reqV2(), generatePrivateKey()) },
  {
    name: 'replayed authorization (nonce already used on chain)',
    reason: Reason.nonceUsed,
    fault: 'skipNonceCheck',
    build: async () => {
      const body = await v2();
      const s = await post(fac.url, '/settle', body);
      assert.equal(s.json.success, true, `setup settle failed: ${JSON.stringify(s.json)}`);
      return body;
    },
  },
];

async function expectRejected(url: string, c: NegativeCase): Promise<void> {
  const body = await c.build();
  const { status, json } = await post(url, '/verify', body);
  assert.equal(status, 200);
  assert.equal(json.isValid, false, `${c.name}: expected isValid=false, got ${JSON.stringify(json)}`);
  assert.equal(json.invalidReason, c.reason, `${c.name}: ${JSON.stringify(json)}`);
}

describe('verify rejects with the exact reason, and each check catches its defect', () => {
  for (const c of negatives) {
    test(c.name, async () => {
      await expectRejected(fac.url, c);
      const broken = await faultyFacilitator(c.fault);
      await assert.rejects(expectRejected(broken.url, c), assert.AssertionError, `a facilitator with ${c.fault} should not produce ${c.reason}`);
    });
  }
});

describe('property: the signature binds every signed field', () => {
  // After signing, change one authorization field to any other value: verify must refuse.
  const field = fc.constantFrom('from', 'to', 'value', 'validAfter', 'validBefore', 'nonce');
  const mutate = (p: any, f: string, seed: bigint) => {
    const a = p.payload.authorization;
    if (f === 'from' || f === 'to')
      a[f] = [buyer.address, vendor.address, attacker.address, operator.address].find((x) => x.toLowerCase() !== a[f].toLowerCase() && (f !== 'to' || x !== vendor.address))!;
    else if (f === 'nonce') a.nonce = `0x${(BigInt(a.nonce) ^ (seed | 1n)).toString(16).padStart(64, '0')}`;
    else if (f === 'value') a.value = (BigInt(a.value) + (seed % 2n === 0n ? 1n : -1n) * ((seed % 1000n) + 1n)).toString();
    else a[f] = (BigInt(a[f]) + (seed % 2n === 0n ? 1n : -1n) * ((seed % 100n) + 1n)).toString();
  };
  const property = (url: () => string) =>
    fc.asyncProperty(field, fc.bigInt({ min: 1n, max: 2n ** 64n }), async (f, seed) => {
      const body = await v2();
      mutate(body.paymentPayload, f, seed);
      const { json } = await post(url(), '/verify', body);
      return json.isValid === false;
    });
  test('any single-field change after signing is refused (40 runs)', async () => {
    await fc.assert(
      property(() => fac.url),
      { numRuns: 40, seed: 402 },
    );
  });
  test('the property catches a facilitator that does not check signatures (and does not simulate)', async () => {
    const broken = await startFacilitator({ rpcUrl: chain.rpcUrl, privateKey: operator.privateKey, simulate: false, faults: { skipSignatureCheck: true } });
    try {
      await assert.rejects(
        fc.assert(
          property(() => broken.url),
          { numRuns: 40, seed: 402 },
        ),
        /Property failed/,
      );
    } finally {
      await broken.stop();
    }
  });
});

describe('verify accepts', () => {
  test('v2 exact amount', async () => {
    const { json } = await post(fac.url, '/verify', await v2());
    assert.deepEqual(json, { isValid: true, payer: buyer.address });
  });
  test('v1 exact amount and v1 overpayment (legacy reading: value >= maxAmountRequired)', async () => {
    for (const value of [100_000n, 150_000n]) {
      const req = reqV1();
      const payload = await makeV1Payload(buyer.privateKey, req, { now: await tools.now(), chainId: chain.chainId, auth: { value } });
      const { json } = await post(fac.url, '/verify', { x402Version: 1, paymentPayload: payload, paymentRequirements: req });
      assert.equal(json.isValid, true, `value ${value}: ${JSON.stringify(json)}`);
    }
  });
  test('v2 overpayment is refused (v2 is exact)', async () => {
    const { json } = await post(fac.url, '/verify', await v2({ value: 100_001n }));
    assert.equal(json.invalidReason, Reason.valueMismatchV2);
  });
  test('a network we do not settle on is invalid_network', async () => {
    const body = await v2({}, {}, reqV2({ network: 'eip155:8453' }));
    (body.paymentPayload as any).accepted.network = 'eip155:8453';
    const { json } = await post(fac.url, '/verify', body);
    assert.equal(json.invalidReason, Reason.invalidNetwork);
  });
  test('a wrong extra.name is named as a token name mismatch', async () => {
    const { json } = await post(fac.url, '/verify', await v2({}, {}, reqV2({ extra: { name: 'USD Coin', version: '2' } })));
    assert.equal(json.invalidReason, 'invalid_exact_evm_token_name_mismatch');
  });
});

describe('HTTP surface', () => {
  test('GET /supported lists v2 and v1 kinds and the signer', async () => {
    const res = await fetch(`${fac.url}/supported`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      kinds: [
        { x402Version: 2, scheme: 'exact', network: 'eip155:84532' },
        { x402Version: 1, scheme: 'exact', network: 'base-sepolia' },
      ],
      extensions: [],
      signers: { 'eip155:*': [operator.address] },
    });
  });
  test('malformed bodies get 400 with a reason, never 500', async () => {
    const cases: [unknown, string, RegExp][] = [
      ['not json', Reason.invalidPayload, /JSON/],
      [{ paymentPayload: { x402Version: 3 } }, Reason.invalidX402Version, /1 or 2/],
      [{ paymentPayload: { x402Version: 2, payload: {} }, paymentRequirements: reqV2() }, Reason.invalidPayload, /accepted/],
      [{ paymentPayload: { x402Version: 2, accepted: reqV2(), payload: {} }, paymentRequirements: { ...reqV2(), amount: '-1' } }, Reason.invalidPayload, /amount/],
    ];
    for (const [body, reason, msg] of cases) {
      for (const path of ['/verify', '/settle']) {
        const { status, json } = await post(fac.url, path, body);
        assert.equal(status, 400, `${path} ${JSON.stringify(body)}`);
        assert.equal(json.invalidReason ?? json.errorReason, reason);
        assert.match(json.error.message, msg);
      }
    }
    const bad = await v2();
    (bad.paymentPayload as any).payload.authorization.nonce = '0x1234';
    const { status, json } = await post(fac.url, '/verify', bad);
    assert.equal(status, 200);
    assert.equal(json.invalidReason, Reason.invalidPayload);
    assert.match(json.invalidMessage, /nonce/);
  });
  test('a 1 MB body is refused with 413', async () => {
    const res = await fetch(`${fac.url}/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(1 << 20) }) });
    assert.equal(res.status, 413);
  });
});

describe('property: any body gets 200 or 400 with a verdict, never 500', () => {
  // Payload-shaped objects with wrong or odd values reach deep into verify; fully random JSON tests the envelope.
  const hexish = fc.oneof(fc.constant('0x'), fc.string(), fc.stringMatching(/^0x[0-9a-fA-F]{0,140}$/));
  const numish = fc.oneof(fc.string(), fc.stringMatching(/^\d{1,80}$/), fc.integer(), fc.constant('0'));
  const addr = fc.oneof(hexish, fc.constantFrom(buyer.address, vendor.address, buyer.address.toLowerCase(), buyer.address.toUpperCase().replace('0X', '0x')));
  const authorization = fc.record({ from: addr, to: addr, value: numish, validAfter: numish, validBefore: numish, nonce: hexish }, { requiredKeys: [] });
  const requirements = fc.record(
    {
      scheme: fc.constantFrom('exact', 'upto', ''),
      network: fc.constantFrom('eip155:84532', 'base-sepolia', 'eip155:0', 'x'),
      amount: numish,
      maxAmountRequired: numish,
      asset: addr,
      payTo: addr,
      maxTimeoutSeconds: fc.oneof(fc.integer(), fc.double()),
      extra: fc.anything(),
      resource: fc.string(),
      description: fc.string(),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    fc.record(
      {
        x402Version: fc.constantFrom(1, 2, 3),
        paymentPayload: fc.record(
          {
            x402Version: fc.constantFrom(1, 2, '2', null),
            scheme: fc.string(),
            network: fc.string(),
            accepted: requirements,
            payload: fc.record({ signature: hexish, authorization }, { requiredKeys: [] }),
          },
          { requiredKeys: [] },
        ),
        paymentRequirements: requirements,
      },
      { requiredKeys: [] },
    ),
    fc.json().map((j) => JSON.parse(j)),
  );
  test('200 runs on /verify and /settle', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('/verify', '/settle'), async (b, path) => {
        const { status, json } = await post(fac.url, path, b);
        assert.ok(status === 200 || status === 400, `status ${status}: ${JSON.stringify(json)}`);
        assert.equal(typeof (path === '/verify' ? json.isValid : json.success), 'boolean');
        assert.equal(path === '/verify' ? json.isValid : json.success, false);
      }),
      { numRuns: 200, seed: 4020 },
    );
  });
});

describe('settle', () => {
  test('moves exactly the authorized value, from the facilitator account, and reports the tx', async () => {
    const body = await v2();
    const [b0, v0, n0] = await Promise.all([tools.balanceOf(USDC, buyer.address), tools.balanceOf(USDC, vendor.address), tools.txCount(operator.address)]);
    const { status, json } = await post(fac.url, '/settle', body);
    assert.equal(status, 200);
    assert.equal(json.success, true, JSON.stringify(json));
    assert.equal(json.network, 'eip155:84532');
    assert.equal(json.payer, buyer.address);
    const receipt = await tools.client.getTransactionReceipt({ hash: json.transaction });
    assert.equal(receipt.status, 'success');
    assert.equal(receipt.from.toLowerCase(), operator.address.toLowerCase());
    assert.equal(await tools.balanceOf(USDC, buyer.address), b0 - 100_000n);
    assert.equal(await tools.balanceOf(USDC, vendor.address), v0 + 100_000n);
    assert.equal(await tools.txCount(operator.address), n0 + 1);
  });
  test('v1 settle answers with the v1 network name', async () => {
    const req = reqV1();
    const payload = await makeV1Payload(buyer.privateKey, req, { now: await tools.now(), chainId: chain.chainId });
    const { json } = await post(fac.url, '/settle', { x402Version: 1, paymentPayload: payload, paymentRequirements: req });
    assert.equal(json.success, true, JSON.stringify(json));
    assert.equal(json.network, 'base-sepolia');
  });
  test('an invalid payment is not broadcast', async () => {
    const n0 = await tools.txCount(operator.address);
    const { json } = await post(fac.url, '/settle', await v2({ to: attacker.address }));
    assert.deepEqual([json.success, json.errorReason, json.transaction], [false, Reason.recipientMismatch, '']);
    assert.equal(await tools.txCount(operator.address), n0);
  });
  test('ten concurrent settles of different authorizations all land (facilitator nonces do not collide)', async () => {
    const bodies = await Promise.all(Array.from({ length: 10 }, () => v2()));
    const v0 = await tools.balanceOf(USDC, vendor.address);
    const results = await Promise.all(bodies.map((b) => post(fac.url, '/settle', b)));
    assert.deepEqual(
      results.map((r) => r.json.success),
      Array(10).fill(true),
      JSON.stringify(results.find((r) => !r.json.success)?.json),
    );
    assert.equal(new Set(results.map((r) => r.json.transaction)).size, 10);
    assert.equal(await tools.balanceOf(USDC, vendor.address), v0 + 1_000_000n);
  });
  test('two concurrent settles of one authorization: one pays, one is nonce_already_used', async () => {
    const body = await v2();
    const b0 = await tools.balanceOf(USDC, buyer.address);
    const results = await Promise.all([post(fac.url, '/settle', body), post(fac.url, '/settle', body)]);
    const outcomes = results.map((r) => (r.json.success ? 'ok' : r.json.errorReason)).sort();
    assert.deepEqual(outcomes, [Reason.nonceUsed, 'ok'].sort());
    assert.equal(await tools.balanceOf(USDC, buyer.address), b0 - 100_000n);
  });
});

describe('settle: nonces and sends', () => {
  test('snapshot, buy, revert, buy: the second settlement lands (the nonce comes from the chain, not a stale cache)', async () => {
    const snap = await tools.rpc<string>('evm_snapshot');
    const first = await post(fac.url, '/settle', await v2());
    assert.equal(first.json.success, true, JSON.stringify(first.json));
    const n1 = await tools.txCount(operator.address);
    assert.equal(await tools.rpc('evm_revert', [snap]), true);
    assert.equal(await tools.txCount(operator.address), n1 - 1, 'the revert undid the settlement');
    const second = await post(fac.url, '/settle', await v2());
    assert.equal(second.json.success, true, JSON.stringify(second.json));
    // The nonce the revert freed: a stale one (n1) would sit behind a gap that never fills.
    assert.equal((await tools.client.getTransaction({ hash: second.json.transaction })).nonce, n1 - 1);
  });

  test("viem's nonce manager, for contrast, hands out the stale nonce after the revert; the tracker does not", async () => {
    const manager = createNonceManager({ source: jsonRpc() });
    const address = attacker.address;
    const client = tools.client as never;
    const chainId = chain.chainId;
    const start = await tools.txCount(address);
    // Two sends counted, then an evm_revert undoes them: the chain is back at `start`.
    await manager.consume({ address, chainId, client });
    await manager.consume({ address, chainId, client });
    assert.equal(await manager.consume({ address, chainId, client }), start + 2, 'viem counts on from its cache');
    const tracker = nonceTracker();
    for (const _ of [1, 2]) {
      const at = tracker.mark();
      tracker.take(start, at);
      tracker.done(true);
    }
    assert.equal(tracker.take(start, tracker.mark()), start, 'a fresh read with nothing in flight is taken as it is');
  });

  test('a read that predates a finished send, or sends in flight, never reuse a nonce', () => {
    const t = nonceTracker();
    const stale = t.mark();
    assert.equal(t.take(7, t.mark()), 7);
    t.done(true);
    assert.equal(t.take(7, stale), 8, 'the read was taken before send 7 landed');
    const inflight = t.mark();
    assert.equal(t.take(8, inflight), 9, 'send 8 is still in flight');
    t.done(false);
    t.done(true);
    assert.equal(t.take(5, t.mark()), 5, 'after an unknown outcome the chain decides');
  });

  test('a node without eth_sendRawTransactionSync: settle falls back to eth_sendRawTransaction and the receipt; forgetNode makes it ask again', async () => {
    const calls: string[] = [];
    const proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const j = JSON.parse(body) as { id?: number; method?: string } | { id?: number; method?: string }[];
        for (const m of Array.isArray(j) ? j : [j]) calls.push(String(m.method));
        if (!Array.isArray(j) && j.method === 'eth_sendRawTransactionSync') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ jsonrpc: '2.0', id: j.id, error: { code: -32601, message: 'the method eth_sendRawTransactionSync does not exist/is not available' } }));
          return;
        }
        const up = await fetch(chain.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        res.writeHead(up.status, { 'content-type': 'application/json' });
        res.end(await up.text());
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const judge = roleAccount('judge');
    const legacy = await startFacilitator({ rpcUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, privateKey: judge.privateKey });
    try {
      for (let i = 0; i < 2; i++) {
        const b0 = await tools.balanceOf(USDC, buyer.address);
        const { json } = await post(legacy.url, '/settle', await v2());
        assert.equal(json.success, true, JSON.stringify(json));
        assert.equal((await tools.client.getTransactionReceipt({ hash: json.transaction })).status, 'success');
        assert.equal(await tools.balanceOf(USDC, buyer.address), b0 - 100_000n);
      }
      assert.equal(calls.filter((m) => m === 'eth_sendRawTransactionSync').length, 1, 'asked once, then remembered');
      assert.equal(calls.filter((m) => m === 'eth_sendRawTransaction').length, 2);
      // The reference service's reset: the facilitator forgets what it learned and asks again, as a fresh one would.
      legacy.facilitator.forgetNode();
      const { json } = await post(legacy.url, '/settle', await v2());
      assert.equal(json.success, true, JSON.stringify(json));
      assert.equal(calls.filter((m) => m === 'eth_sendRawTransactionSync').length, 2, 'asked again after forgetNode');
      assert.equal(calls.filter((m) => m === 'eth_sendRawTransaction').length, 3);
    } finally {
      await legacy.stop();
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});

describe('settle maps token reverts to reasons when a verify check is missing (defence in depth)', () => {
  const cases: [keyof FacilitatorFaults, string, () => Promise<{ x402Version: 1 | 2; paymentPayload: unknown; paymentRequirements: unknown }>][] = [
    [
      'skipNonceCheck',
      Reason.nonceUsed,
      async () => {
        const body = await v2();
        assert.equal((await post(fac.url, '/settle', body)).json.success, true);
        return body;
      },
    ],
    ['skipBalanceCheck', Reason.insufficientBalance, () => v2({}, {}, reqV2(), generatePrivateKey())],
    ['skipSignatureCheck', Reason.signature, () => v2({ from: buyer.address }, {}, reqV2(), attacker.privateKey)],
  ];
  for (const [fault, reason, build] of cases) {
    test(`${fault}: the revert reads as ${reason} and nothing moves`, async () => {
      const body = await build();
      const b0 = await tools.balanceOf(USDC, buyer.address);
      const { json } = await post((await faultyFacilitator(fault)).url, '/settle', body);
      assert.deepEqual([json.success, json.errorReason, json.transaction], [false, reason, ''], JSON.stringify(json));
      assert.equal(await tools.balanceOf(USDC, buyer.address), b0);
    });
  }
});

describe('slow confirmation', () => {
  test('receipt later than the timeout: settlement_pending with the hash; a retry reconciles to the same tx', async () => {
    const judge = roleAccount('judge');
    const slow = await startFacilitator({ rpcUrl: chain.rpcUrl, privateKey: judge.privateKey, receiptTimeoutMs: 300 });
    try {
      const body = await v2();
      const b0 = await tools.balanceOf(USDC, buyer.address);
      await tools.rpc('evm_setAutomine', [false]);
      let first;
      try {
        first = (await post(slow.url, '/settle', body)).json;
        assert.equal(first.success, false);
        assert.equal(first.errorReason, Reason.settlementPending);
        assert.match(first.transaction, /^0x[0-9a-f]{64}$/);
        assert.equal(await tools.balanceOf(USDC, buyer.address), b0);
      } finally {
        await tools.rpc('evm_setAutomine', [true]);
      }
      await tools.rpc('evm_mine');
      const second = (await post(slow.url, '/settle', body)).json;
      assert.deepEqual([second.success, second.transaction], [true, first.transaction]);
      assert.equal(await tools.balanceOf(USDC, buyer.address), b0 - 100_000n);
      // The correct facilitator, which never saw it broadcast, now finds the nonce used.
      assert.equal((await post(fac.url, '/settle', body)).json.errorReason, Reason.nonceUsed);
    } finally {
      await slow.stop();
    }
  });
});

describe('lost answers from the node', () => {
  test('the answer to the send is lost (connection closed, then reset): the landed settlement is reported with its hash, paid once; the faulty one reports it failed', async () => {
    const rpc = await startFaultProxy(chain.rpcUrl);
    const own = await startFacilitator({ rpcUrl: rpc.url, privateKey: roleAccount('judge').privateKey });
    const broken = await startFacilitator({ rpcUrl: rpc.url, privateKey: roleAccount('provider').privateKey, faults: { lostSendIsFailure: true } });
    try {
      for (const [f, how] of [
        [own, 'close'],
        [own, 'reset'],
        [broken, 'reset'],
      ] as const) {
        const body = await v2();
        const b0 = await tools.balanceOf(USDC, buyer.address);
        const fault = rpc.arm({ name: 'send answer lost', when: callsRpc('eth_sendRawTransactionSync', 'eth_sendRawTransaction'), action: { kind: 'drop-response', how } });
        const s = (await post(f.url, '/settle', body)).json;
        assert.equal(fault.fired, true);
        assert.equal(await tools.balanceOf(USDC, buyer.address), b0 - 100_000n, 'the transaction landed once');
        if (f === broken) {
          assert.deepEqual([s.success, s.transaction], [false, ''], JSON.stringify(s));
          continue;
        }
        assert.equal(s.success, true, JSON.stringify(s));
        const receipt = await tools.client.getTransactionReceipt({ hash: s.transaction });
        assert.equal(receipt.status, 'success');
      }
    } finally {
      await own.stop();
      await broken.stop();
      await rpc.stop();
    }
  });
});

// These move chain time forward, so they run last.
describe('clock: validAfter/validBefore are judged by chain time, not host time', () => {
  test('authorization expired by chain time before settle: verify and settle say valid_before, nothing moves', async () => {
    const body = await v2({}, {}, reqV2({ maxTimeoutSeconds: 60 }));
    assert.equal((await post(fac.url, '/verify', body)).json.isValid, true);
    await tools.advance(120);
    const check = async (url: string) => {
      const v = await post(url, '/verify', body);
      assert.equal(v.json.invalidReason, Reason.validBefore, JSON.stringify(v.json));
    };
    await check(fac.url);
    const b0 = await tools.balanceOf(USDC, buyer.address);
    const s = await post(fac.url, '/settle', body);
    assert.deepEqual([s.json.success, s.json.errorReason], [false, Reason.validBefore]);
    assert.equal(await tools.balanceOf(USDC, buyer.address), b0);
    // A host-clock facilitator still thinks the authorization is live.
    await assert.rejects(check((await faultyFacilitator('hostClock')).url), assert.AssertionError);
  });
  test('authorization valid by chain time but "in the future" by host time is accepted', async () => {
    // The chain now runs ahead of the host (previous test); validAfter lies between the two clocks.
    const chainNow = await tools.now();
    const hostNow = BigInt(Math.floor(Date.now() / 1000));
    assert.ok(chainNow - hostNow > 60n, 'precondition: chain clock ahead of host clock');
    const check = async (url: string) => {
      const body = await v2({ validAfter: chainNow - 30n, validBefore: chainNow + 600n });
      const v = await post(url, '/verify', body);
      assert.equal(v.json.isValid, true, JSON.stringify(v.json));
    };
    await check(fac.url);
    await assert.rejects(check((await faultyFacilitator('hostClock')).url), assert.AssertionError);
  });
});

describe("the settlement's Transfer log", () => {
  test('isTransfer agrees with decoding the log through the ERC-20 ABI, for logs of every shape (300 runs)', () => {
    const abi = parseAbi(['event Transfer(address indexed from, address indexed to, uint256 value)']);
    const address = fc.constantFrom(buyer.address, vendor.address, attacker.address);
    const word = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b));
    const log = fc.record({
      topic: fc.oneof(fc.constant(toEventSelector('Transfer(address,address,uint256)')), fc.constant(toEventSelector('Approval(address,address,uint256)')), word),
      from: fc.oneof(
        address.map((a) => pad(a)),
        word,
      ),
      to: fc.oneof(
        address.map((a) => pad(a)),
        word,
      ),
      extraTopics: fc.array(word, { maxLength: 1 }),
      dropTopics: fc.integer({ min: 0, max: 2 }),
      value: fc.oneof(fc.constantFrom(0n, 1n, 100000n, 2n ** 256n - 1n), fc.bigInt({ min: 0n, max: 2n ** 256n - 1n })),
      extraData: fc.constantFrom('', '00'.repeat(32)),
    });
    fc.assert(
      fc.property(log, address, address, fc.constantFrom(0n, 1n, 100000n, 2n ** 256n - 1n), (l, from, to, value) => {
        const topics = [l.topic, l.from, l.to, ...l.extraTopics].slice(0, 3 + l.extraTopics.length - l.dropTopics) as Hex[];
        const data = `${encodeAbiParameters([{ type: 'uint256' }], [l.value])}${l.extraData}` as Hex;
        const entry = { address: USDC, topics, data, blockHash: null, blockNumber: null, logIndex: null, transactionHash: null, transactionIndex: null, removed: false };
        const decoded = parseEventLogs({ abi, eventName: 'Transfer', logs: [entry as never] });
        const expected = decoded.some((d) => d.args.from.toLowerCase() === from.toLowerCase() && d.args.to.toLowerCase() === to.toLowerCase() && d.args.value === value);
        // viem decodes leniently what the ERC-20 event never is: a 64-byte data field (the extra word
        // ignored) and a fourth topic (ERC-721's Transfer has its third field indexed). The token
        // emits three topics and one word: anything else is no transfer of it.
        const erc20Shaped = l.extraData === '' && topics.length === 3;
        assert.equal(isTransfer({ topics, data }, from, to, value), erc20Shaped && expected);
      }),
      { numRuns: 300 },
    );
    // The exact transfer, and each field off by one.
    const t = (f: Address, to: Address, v: bigint) => ({
      topics: [toEventSelector('Transfer(address,address,uint256)'), pad(f), pad(to)] as Hex[],
      data: encodeAbiParameters([{ type: 'uint256' }], [v]),
    });
    assert.equal(isTransfer(t(buyer.address, vendor.address, 100000n), buyer.address, vendor.address, 100000n), true);
    assert.equal(isTransfer(t(buyer.address, vendor.address, 100001n), buyer.address, vendor.address, 100000n), false);
    assert.equal(isTransfer(t(attacker.address, vendor.address, 100000n), buyer.address, vendor.address, 100000n), false);
    assert.equal(isTransfer(t(buyer.address, attacker.address, 100000n), buyer.address, vendor.address, 100000n), false);
  });
});
