/**
 * The protocol library against code nobody here wrote (the same-source trap: our servers and our
 * scenarios share this library, so a misreading in it would agree with itself). `@x402/core`'s
 * header codecs must read what ours writes, and ours must read what they write; payloads signed by
 * our builder must verify as the official types' EIP-712 message.
 */
import assert from 'node:assert/strict';
import {
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  decodePaymentSignatureHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
  encodePaymentSignatureHeader,
} from '@x402/core/http';
import { authorizationTypes } from '@x402/evm';
import fc from 'fast-check';
import { getAddress, hashTypedData, maxUint256, recoverTypedDataAddress, toHex, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { test } from 'vitest';
import { authorizationDigest, makeV2Payload } from './payload.ts';
import { PaymentPayloadV2Schema, RequirementsV2Schema, decodeHeader, encodeHeader, type RequirementsV2 } from './wire.ts';

const KEY: Hex = `0x${'42'.repeat(32)}`;
const req: RequirementsV2 = {
  scheme: 'exact',
  network: 'eip155:84532',
  amount: '10000',
  asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
  payTo: '0x8cD61D9fdB7C01D556FAf34d991b00E33C997cF7',
  maxTimeoutSeconds: 300,
  extra: { name: 'USDC', version: '2' },
};

test('PAYMENT-SIGNATURE: @x402/core decodes our header, we decode theirs', async () => {
  const payload = await makeV2Payload(KEY, req, { now: 1_800_000_000n, chainId: 84532 });
  const theirs = decodePaymentSignatureHeader(encodeHeader(payload)) as unknown as Record<string, unknown>;
  assert.deepEqual(theirs, payload);
  const back = PaymentPayloadV2Schema.parse(decodeHeader(encodePaymentSignatureHeader(payload as never)));
  assert.deepEqual(back, PaymentPayloadV2Schema.parse(payload));
});

test('PAYMENT-REQUIRED and PAYMENT-RESPONSE: both codecs agree both ways', () => {
  const required = { x402Version: 2, error: 'payment required', resource: { url: 'http://x/premium', description: 'd', mimeType: 'application/json' }, accepts: [req] };
  assert.deepEqual(decodePaymentRequiredHeader(encodeHeader(required)), required);
  const ours = decodeHeader(encodePaymentRequiredHeader(required as never)) as { accepts: unknown[] };
  assert.deepEqual(RequirementsV2Schema.parse(ours.accepts[0]), req);
  const response = { success: true, transaction: `0x${'ab'.repeat(32)}`, network: 'eip155:84532', payer: privateKeyToAccount(KEY).address };
  assert.deepEqual(decodePaymentResponseHeader(encodeHeader(response)), response);
  assert.deepEqual(decodeHeader(encodePaymentResponseHeader(response as never)), response);
});

test('our EIP-3009 authorization verifies under the official EIP-712 types and the token domain', async () => {
  const payload = await makeV2Payload(KEY, req, { now: 1_800_000_000n, chainId: 84532 });
  const p = payload.payload as { signature: Hex; authorization: Record<string, string> };
  const a = p.authorization;
  const signer = await recoverTypedDataAddress({
    domain: { name: 'USDC', version: '2', chainId: 84532, verifyingContract: getAddress(req.asset) },
    types: authorizationTypes,
    primaryType: 'TransferWithAuthorization',
    message: { from: a.from as Hex, to: a.to as Hex, value: BigInt(a.value!), validAfter: BigInt(a.validAfter!), validBefore: BigInt(a.validBefore!), nonce: a.nonce as Hex },
    signature: p.signature,
  });
  assert.equal(signer, privateKeyToAccount(KEY).address);
  assert.equal(getAddress(a.to!), getAddress(req.payTo));
  assert.equal(a.value, req.amount);
});

test("authorizationDigest is viem's hashTypedData under the official types, for any domain and message EIP-712 can encode", () => {
  const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => getAddress(toHex(b)));
  const word = fc.oneof(fc.constantFrom(0n, 1n, maxUint256 - 1n, maxUint256), fc.bigInt({ min: 0n, max: maxUint256 }));
  fc.assert(
    fc.property(
      fc.record({ name: fc.string(), version: fc.string(), chainId: fc.integer({ min: 1, max: 2 ** 40 }), verifyingContract: address }),
      fc.record({ from: address, to: address, value: word, validAfter: word, validBefore: word, nonce: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b)) }),
      (domain, message) => {
        const expected = hashTypedData({ domain, types: authorizationTypes, primaryType: 'TransferWithAuthorization', message });
        assert.equal(authorizationDigest(domain, message), expected);
        // The same token and chain again: the kept separator gives the same digest.
        assert.equal(authorizationDigest({ ...domain }, message), expected);
      },
    ),
    { numRuns: 300 },
  );
  // What EIP-712 cannot encode is left to viem to refuse.
  const domain = { name: 'USDC', version: '2', chainId: 84532, verifyingContract: getAddress(req.asset) };
  const ok = { from: getAddress(req.payTo), to: getAddress(req.payTo), value: 1n, validAfter: 0n, validBefore: 1n, nonce: `0x${'11'.repeat(32)}` as Hex };
  assert.equal(authorizationDigest(domain, { ...ok, value: maxUint256 + 1n }), undefined);
  assert.equal(authorizationDigest(domain, { ...ok, validAfter: -1n }), undefined);
  assert.equal(authorizationDigest(domain, { ...ok, nonce: '0x11' }), undefined);
  assert.equal(authorizationDigest(domain, { ...ok, to: req.payTo.toLowerCase().replace('cd', 'CD') as Hex }), undefined);
});
