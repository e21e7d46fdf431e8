/**
 * secp256k1 signing, public keys and recovery through libsecp256k1 (the `secp256k1` package's
 * prebuilt binding) instead of @noble/curves' JavaScript, for every viem account and signature
 * recovery in this thread.
 *
 * Why: every signature a run makes (transactions, EIP-3009 and EIP-712 authorizations, vendor
 * auth) and every recovery a server does went through noble: about 8% of a run's CPU, measured
 * with a CPU profile of `amh run` on the first four protocols (10.6 s of noble, 6.4 s of it
 * signing). libsecp256k1 does the same work in a few percent of the time.
 *
 * How: viem (and ox) call the one secp256k1 object of @noble/curves 1.9: `secp256k1.sign`,
 * `getPublicKey` and `Signature#recoverPublicKey`. {@link installNativeSecp256k1} replaces those
 * three on that object, for the calls whose result libsecp256k1 gives identically: deterministic
 * RFC 6979 signing without extra entropy, normalised to low S (what viem asks for), so signatures
 * and transaction hashes are byte for byte those noble makes (tested in native-secp256k1.test.ts);
 * anything else goes to noble's own method. Where the binding cannot load (no prebuild for the
 * platform and no compiler at install), nothing is replaced and noble does all of it.
 */
import { createRequire } from 'node:module';
import { secp256k1 } from '@noble/curves/secp256k1';

/** The part of the `secp256k1` package's API used here. */
interface Binding {
  ecdsaSign(msg32: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number };
  ecdsaRecover(signature: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
  publicKeyCreate(privateKey: Uint8Array, compressed: boolean): Uint8Array;
}

type Bytes = Uint8Array | string;
const MARK = Symbol.for('agentmarket-harness.native-secp256k1');

/** The binding, or null when it does not load here (the package's JavaScript fallback is not used: noble is faster). */
function loadBinding(): Binding | null {
  try {
    return createRequire(import.meta.url)('secp256k1/bindings') as Binding;
  } catch {
    return null;
  }
}

const bytes = (x: Bytes): Uint8Array => (typeof x === 'string' ? Buffer.from(x.length % 2 ? `0${x}` : x, 'hex') : x);
const toBigInt = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString('hex')}`);

/** noble's own methods, kept when they are replaced (tests compare against them). */
export const nobleSecp256k1: {
  sign?: typeof secp256k1.sign;
  getPublicKey?: typeof secp256k1.getPublicKey;
  recoverPublicKey?: (signature: { r: bigint; s: bigint; recovery?: number }, msgHash: Bytes) => unknown;
} = {};

/**
 * Puts libsecp256k1 under noble's secp256k1 object (once per thread). Returns whether the native
 * binding is in use.
 */
export function installNativeSecp256k1(): boolean {
  const curve = secp256k1 as typeof secp256k1 & { [MARK]?: boolean };
  if (curve[MARK] !== undefined) return curve[MARK];
  const native = loadBinding();
  curve[MARK] = native !== null;
  if (!native) return false;

  const nobleSign = curve.sign.bind(curve);
  nobleSecp256k1.sign = nobleSign;
  curve.sign = ((msgHash: Bytes, privKey: Bytes, opts?: { lowS?: boolean; extraEntropy?: unknown; prehash?: boolean }) => {
    const plain = (opts?.lowS ?? true) && !opts?.extraEntropy && !opts?.prehash && typeof privKey !== 'bigint';
    const msg = plain ? bytes(msgHash) : undefined;
    const key = plain ? bytes(privKey) : undefined;
    if (msg?.length !== 32 || key?.length !== 32) return nobleSign(msgHash, privKey, opts as never);
    const { signature, recid } = native.ecdsaSign(msg!, key!);
    return new curve.Signature(toBigInt(signature.subarray(0, 32)), toBigInt(signature.subarray(32))).addRecoveryBit(recid);
  }) as typeof curve.sign;

  const nobleGetPublicKey = curve.getPublicKey.bind(curve);
  nobleSecp256k1.getPublicKey = nobleGetPublicKey;
  curve.getPublicKey = ((privKey: Bytes | bigint, isCompressed = true) => {
    if (typeof privKey === 'bigint') return nobleGetPublicKey(privKey, isCompressed);
    const key = bytes(privKey);
    return key.length === 32 ? native.publicKeyCreate(key, isCompressed) : nobleGetPublicKey(privKey, isCompressed);
  }) as typeof curve.getPublicKey;

  const proto = curve.Signature.prototype as { recoverPublicKey(this: { r: bigint; s: bigint; recovery?: number }, msgHash: Bytes): unknown };
  const nobleRecover = proto.recoverPublicKey;
  nobleSecp256k1.recoverPublicKey = (signature, msgHash) => nobleRecover.call(signature, msgHash);
  proto.recoverPublicKey = function (this: { r: bigint; s: bigint; recovery?: number }, msgHash: Bytes) {
    const msg = bytes(msgHash);
    if (msg.length !== 32 || (this.recovery !== 0 && this.recovery !== 1)) return nobleRecover.call(this, msgHash);
    const sig = Buffer.from(this.r.toString(16).padStart(64, '0') + this.s.toString(16).padStart(64, '0'), 'hex');
    let pub: Uint8Array;
    try {
      pub = native.ecdsaRecover(sig, this.recovery, msg, false);
    } catch {
      // libsecp256k1 refuses what noble may answer differently (r or s out of range): noble decides.
      return nobleRecover.call(this, msgHash);
    }
    return curve.ProjectivePoint.fromHex(pub);
  };
  return true;
}
