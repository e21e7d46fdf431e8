/**
 * Vendor authentication messages and signature checks (seed 002 "Vendor Auth"). A server checks, in order:
 * 1. `Authorization: Bearer ak_…` — SHA-256 of the key looked up among active keys;
 * 2. EVM — `X-Vendor-Address`, `X-Agent-Id`, `X-Timestamp` (Unix s), `X-Signature` = EIP-191
 *    personal_sign of `"{address}:{timestamp}"`; the timestamp must be within ±5 min of the server
 *    clock; then `IdentityRegistry.isAuthorizedOrOwner(address, agentId)`.
 * 3. Solana — `X-Solana-Address` (base58 ed25519 public key), `X-Agent-Id`, `X-Timestamp`,
 *    `X-Signature` = hex ed25519 signature of `"{solanaAddress}:{timestamp}"`, ±5 min; the address
 *    must equal the agent's AgentURIData `solanaWallet`.
 */
import { createPublicKey, generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { isAddress, verifyMessage, type Address, type Hex } from 'viem';

/** Error strings (the first is the seed's). */
export const AuthError = {
  invalidKey: 'Invalid or expired API key',
  missing: 'Authentication required: Authorization Bearer API key, or X-Vendor-Address (or X-Solana-Address)/X-Agent-Id/X-Timestamp/X-Signature',
  badHeaders: 'Invalid vendor auth headers',
  timestamp: 'Timestamp outside the allowed window (±5 minutes)',
  signature: 'Invalid signature',
  notOwner: 'Signer is not the owner or an approved operator of this agent',
  solanaWallet: "Solana address is not the agent's solanaWallet",
} as const;

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Decodes base58 (Bitcoin alphabet, as Solana uses); undefined on a bad character. */
export function base58Decode(s: string): Uint8Array | undefined {
  let n = 0n;
  for (const ch of s) {
    const v = B58.indexOf(ch);
    if (v < 0) return undefined;
    n = n * 58n + BigInt(v);
  }
  const bytes: number[] = [];
  while (n > 0n) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  for (const ch of s) {
    if (ch !== '1') break;
    bytes.unshift(0);
  }
  return Uint8Array.from(bytes);
}

/** Encodes bytes as base58 (Bitcoin alphabet). */
export function base58Encode(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  while (n > 0n) {
    out = B58[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

// DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 raw key bytes follow it.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Verifies a hex ed25519 signature of `message` by the base58 Solana address; false on bad input. */
export function verifySolanaSignature(address: string, message: string, signatureHex: string): boolean {
  // A 32-byte key is 32..44 base58 characters; checking first keeps decoding (quadratic) cheap.
  if (address.length < 32 || address.length > 44) return false;
  const raw = base58Decode(address);
  if (raw?.length !== 32 || !/^(0x)?[0-9a-fA-F]{128}$/.test(signatureHex)) return false;
  try {
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    return cryptoVerify(null, Buffer.from(message, 'utf8'), key, Buffer.from(signatureHex.replace(/^0x/, ''), 'hex'));
  } catch {
    return false;
  }
}

/** A fresh Solana (ed25519) key: its base58 address and its private key. */
export function solanaKeyPair(): { address: string; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { address: base58Encode((publicKey.export({ format: 'der', type: 'spki' }) as Buffer).subarray(ED25519_SPKI_PREFIX.length)), privateKey };
}

/** Solana vendor-auth headers signed by `signer` for `agentId`, claiming `address` (default: the signer's). */
export function solanaAuthHeaders(signer: { address: string; privateKey: KeyObject }, agentId: bigint | string, timestamp: number | string, address = signer.address): Record<string, string> {
  const signature = cryptoSign(null, Buffer.from(vendorAuthMessage(address, timestamp), 'utf8'), signer.privateKey).toString('hex');
  return { 'x-solana-address': address, 'x-agent-id': agentId.toString(), 'x-timestamp': String(timestamp), 'x-signature': signature };
}

/** The signed message of vendor auth (EVM and Solana). */
export function vendorAuthMessage(address: string, timestamp: number | string): string {
  return `${address}:${timestamp}`;
}

/** The signed message of `POST /agents/register-with-key`. */
export function registerWithKeyMessage(address: string, timestamp: number | string): string {
  return `Register agent on Agentripe: ${address}:${timestamp}`;
}

/** Whether `timestamp` (Unix s) is within `windowS` of `nowMs`. */
export function withinWindow(timestamp: number, nowMs: number, windowS: number): boolean {
  return Math.abs(nowMs / 1000 - timestamp) <= windowS;
}

/** Parses a decimal Unix-seconds header (digits only, at most 12 of them). */
export function parseTimestamp(v: string | undefined | null): number | undefined {
  if (!v || !/^\d{1,12}$/.test(v)) return undefined;
  return Number(v);
}

/** Verifies an EIP-191 signature of `message` by `address`; false on any malformed input. */
export async function verifyPersonalSign(address: string, message: string, signature: string): Promise<boolean> {
  if (!isAddress(address, { strict: false }) || !/^0x[0-9a-fA-F]+$/.test(signature)) return false;
  try {
    return await verifyMessage({ address: address as Address, message, signature: signature as Hex });
  } catch {
    return false;
  }
}
