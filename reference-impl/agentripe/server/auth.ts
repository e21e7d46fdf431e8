/**
 * Vendor authentication as the reference server applies it (seed 002 "Vendor Auth"); the messages
 * and signature checks are the protocol library's (protocol/auth.ts).
 */
import { createHash } from 'node:crypto';
import { isAddress, type Address } from 'viem';
import { AuthError, parseTimestamp, vendorAuthMessage, verifyPersonalSign, verifySolanaSignature, withinWindow } from '../protocol/auth.ts';
// Type-only: keeps this module free of node:sqlite at load.
import type { AgentripeDb } from './db.ts';

/** SHA-256 hex of an API key: only the hash is stored. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * EIP-191 verification with a small cache: recovering a signature is the costliest step of a vendor
 * request, and a vendor signs "{address}:{timestamp}" once per second, so consecutive requests
 * carry the same signature. Verification is a pure function of its inputs, so caching it is exact.
 */
const verified = new Map<string, boolean>();
async function verifyCached(address: string, message: string, signature: string): Promise<boolean> {
  const key = `${address}\n${message}\n${signature}`;
  const hit = verified.get(key);
  if (hit !== undefined) return hit;
  const ok = await verifyPersonalSign(address, message, signature);
  if (verified.size >= 4096) verified.delete(verified.keys().next().value!);
  verified.set(key, ok);
  return ok;
}

/** Who a vendor request acts for. */
export type VendorAuth = { ok: true; agentId: string; via: 'api-key' | 'evm' | 'solana'; address?: Address } | { ok: false; status: 401; error: string };

/** Dependencies of {@link authenticateVendor}. */
export interface AuthDeps {
  db: AgentripeDb;
  now: () => number;
  windowSeconds: number;
  isAuthorizedOrOwner: (address: Address, agentId: bigint) => Promise<boolean>;
  /** The agent's AgentURIData `solanaWallet`, for Solana auth (absent → Solana auth refused). */
  solanaWalletOf?: (agentId: bigint) => Promise<string | undefined>;
  /** Test-only fault authHeaderCheckAnd: the header check refuses only when every header is bad. */
  headerCheckAnd?: boolean;
}

/** Authenticates a vendor request from its headers. */
export async function authenticateVendor(header: (name: string) => string | undefined, deps: AuthDeps): Promise<VendorAuth> {
  const authz = header('authorization');
  if (authz) {
    const m = /^Bearer\s+(\S+)$/i.exec(authz.trim());
    const key = m?.[1];
    const agentId = key?.startsWith('ak_') ? deps.db.agentForKey(hashApiKey(key)) : undefined;
    if (!agentId) return { ok: false, status: 401, error: AuthError.invalidKey };
    return { ok: true, agentId, via: 'api-key' };
  }
  const address = header('x-vendor-address');
  const agentIdHeader = header('x-agent-id');
  const ts = header('x-timestamp');
  const signature = header('x-signature');
  const solana = header('x-solana-address');
  if (!address && solana) {
    if (solana.length > 44) return { ok: false, status: 401, error: AuthError.badHeaders };
    if (!agentIdHeader || !ts || !signature) return { ok: false, status: 401, error: AuthError.missing };
    const timestamp = parseTimestamp(ts);
    if (!/^\d{1,30}$/.test(agentIdHeader) || timestamp === undefined) return { ok: false, status: 401, error: AuthError.badHeaders };
    if (!withinWindow(timestamp, deps.now(), deps.windowSeconds)) return { ok: false, status: 401, error: AuthError.timestamp };
    if (!verifySolanaSignature(solana, vendorAuthMessage(solana, ts), signature)) return { ok: false, status: 401, error: AuthError.signature };
    const agentId = BigInt(agentIdHeader);
    const wallet = await deps.solanaWalletOf?.(agentId);
    if (!wallet || wallet !== solana) return { ok: false, status: 401, error: AuthError.solanaWallet };
    return { ok: true, agentId: agentId.toString(), via: 'solana' };
  }
  if (!address || !agentIdHeader || !ts || !signature) return { ok: false, status: 401, error: AuthError.missing };
  const timestamp = parseTimestamp(ts);
  const badAddress = !isAddress(address, { strict: false });
  const badAgentId = !/^\d{1,30}$/.test(agentIdHeader);
  if (timestamp === undefined || (deps.headerCheckAnd ? badAddress && badAgentId : badAddress || badAgentId)) {
    return { ok: false, status: 401, error: AuthError.badHeaders };
  }
  if (!withinWindow(timestamp, deps.now(), deps.windowSeconds)) return { ok: false, status: 401, error: AuthError.timestamp };
  // The message is built from the header exactly as sent (checksummed or not), as the seed's curl example does.
  if (!(await verifyCached(address, vendorAuthMessage(address, ts), signature))) return { ok: false, status: 401, error: AuthError.signature };
  const agentId = BigInt(agentIdHeader);
  if (!(await deps.isAuthorizedOrOwner(address as Address, agentId))) return { ok: false, status: 401, error: AuthError.notOwner };
  return { ok: true, agentId: agentId.toString(), via: 'evm', address: address as Address };
}
