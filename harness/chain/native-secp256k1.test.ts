/** libsecp256k1 under noble: the same signatures, public keys and recovered keys as noble's own code. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1';
import { keccak256, recoverAddress, serializeTransaction, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { test } from 'vitest';
import { installNativeSecp256k1, nobleSecp256k1 } from './native-secp256k1.ts';

const hex = (n: number) => randomBytes(n).toString('hex');
const key = () => {
  for (;;) {
    const k = hex(32);
    if (secp256k1.utils.isValidPrivateKey(k)) return k;
  }
};

test('the prebuilt binding loads on linux-x64 (CI and this machine), and noble’s methods are replaced', () => {
  const native = installNativeSecp256k1();
  if (process.platform === 'linux' && process.arch === 'x64') assert.equal(native, true);
  if (!native) return;
  assert.notEqual(secp256k1.sign, nobleSecp256k1.sign);
  assert.equal(installNativeSecp256k1(), true, 'a second install changes nothing');
});

test('signatures, public keys and recovered keys are byte for byte noble’s, over random keys and hashes', () => {
  if (!installNativeSecp256k1()) return;
  for (let i = 0; i < 300; i++) {
    const k = key();
    const h = hex(32);
    const mine = secp256k1.sign(h, k, { lowS: true, extraEntropy: false });
    const theirs = nobleSecp256k1.sign!(h, k, { lowS: true, extraEntropy: false });
    assert.deepEqual([mine.r, mine.s, mine.recovery], [theirs.r, theirs.s, theirs.recovery], `key ${k} hash ${h}`);
    assert.deepEqual(secp256k1.getPublicKey(k, false), nobleSecp256k1.getPublicKey!(k, false));
    assert.deepEqual(secp256k1.getPublicKey(k), nobleSecp256k1.getPublicKey!(k));
    assert.equal((mine.recoverPublicKey(h) as { toHex(c: boolean): string }).toHex(false), (nobleSecp256k1.recoverPublicKey!(theirs, h) as { toHex(c: boolean): string }).toHex(false));
    // A random (r, s, recovery): both recover the same key, or both refuse.
    const r = BigInt(`0x${hex(32)}`) % secp256k1.CURVE.n;
    const s = BigInt(`0x${hex(32)}`) % secp256k1.CURVE.n;
    let sig: ReturnType<typeof secp256k1.Signature.prototype.addRecoveryBit>;
    try {
      sig = new secp256k1.Signature(r, s).addRecoveryBit(i % 2);
    } catch {
      continue;
    }
    const outcome = (f: () => unknown) => {
      try {
        return (f() as { toHex(c: boolean): string }).toHex(false);
      } catch {
        return 'refused';
      }
    };
    assert.equal(
      outcome(() => sig.recoverPublicKey(h)),
      outcome(() => nobleSecp256k1.recoverPublicKey!(sig, h)),
    );
  }
});

test('a viem account signs a transaction with noble’s exact bytes, and viem recovers its address', async () => {
  if (!installNativeSecp256k1()) return;
  const pk = `0x${key()}` as Hex;
  const account = privateKeyToAccount(pk);
  const tx = { chainId: 84532, nonce: 7, to: account.address, value: 1n, gas: 21_000n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1n, type: 'eip1559' as const };
  const signed = await account.signTransaction(tx);
  const hash = keccak256(serializeTransaction(tx));
  const theirs = nobleSecp256k1.sign!(hash.slice(2), pk.slice(2), { lowS: true, extraEntropy: false });
  const r = `0x${theirs.r.toString(16).padStart(64, '0')}` as Hex;
  const s = `0x${theirs.s.toString(16).padStart(64, '0')}` as Hex;
  assert.equal(signed, serializeTransaction(tx, { r, s, yParity: theirs.recovery }));
  assert.equal(await recoverAddress({ hash, signature: { r, s, yParity: theirs.recovery } }), account.address);
});
