/**
 * The signed messages of the AISP backend (seed: "All backend requests requiring auth use EIP-191
 * signing") and how a server checks them. The message texts are the seed's; the timestamp unit
 * (Unix seconds), the ±window and single use are the profile's (AISP-PROF-12).
 */
import { isAddress, recoverMessageAddress, type Address, type Hex } from 'viem';

/** getKey: `diem-marketplace:get-key:{rentalId}:{timestamp}` (seed). */
export function getKeyMessage(rentalId: bigint | number | string, timestamp: number | string): string {
  return `diem-marketplace:get-key:${rentalId}:${timestamp}`;
}

/** storeKey: `diem-marketplace:store-key:{listingId}:{timestamp}` (seed). */
export function storeKeyMessage(listingId: bigint | number | string, timestamp: number | string): string {
  return `diem-marketplace:store-key:${listingId}:${timestamp}`;
}

/** Whether `timestamp` (Unix seconds) is within ±`windowS` of `nowS`. */
export function withinWindow(timestamp: number, nowS: number, windowS: number): boolean {
  return Math.abs(nowS - timestamp) <= windowS;
}

/** The signer of an EIP-191 `signature` over `message`, or undefined for a malformed signature. */
export async function signerOf(message: string, signature: string): Promise<Address | undefined> {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return undefined;
  try {
    return await recoverMessageAddress({ message, signature: signature as Hex });
  } catch {
    return undefined;
  }
}

/** Same address, case-insensitively (false for anything that is not an address). */
export function sameAddress(a: string | undefined | null, b: string | undefined | null): boolean {
  return Boolean(a && b && isAddress(a, { strict: false }) && isAddress(b, { strict: false }) && a.toLowerCase() === b.toLowerCase());
}
