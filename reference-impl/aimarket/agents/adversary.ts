/**
 * The adversary: tampers with what hubs sign (a tool's price, a peer's trust in by_hub, a receipt's
 * success, timestamp, latency or price, its signature version), forges announcements, and pays with a
 * counterfeit token that emits ERC-20 `Transfer` events from its own address. Scenarios use it to show
 * a target's signatures cover what they must and its payment checks look at the right token.
 */
import type { Hex } from 'viem';
import { announceCanonical } from '../protocol/canonical.ts';
import type { PyValue } from '../protocol/pyjson.ts';
import type { Signer } from '../protocol/sign.ts';

type Doc = { [k: string]: PyValue };

/** The manifest with tool `i`'s price replaced. */
export function tamperPrice(manifest: Doc, i: number, priceUsd: number): Doc {
  const tools = manifest.tools as Doc[];
  return { ...manifest, tools: tools.map((t, j) => (j === i ? { ...t, price_per_call_usd: priceUsd } : t)) };
}

/** The manifest with `hub` added to by_hub at trust 0.99 (an absent by_hub counts as {}). */
export function tamperByHub(manifest: Doc, hub: string): Doc {
  return { ...manifest, by_hub: { ...((manifest.by_hub as Doc | undefined) ?? {}), [hub]: { trust_score: 0.99 } } };
}

/** Every tampering of a receipt the negative vectors name (plus a rewritten price), each labelled. */
export function tamperedReceipts(receipt: Doc): [string, Doc][] {
  const out: [string, Doc][] = [
    ['success flipped', { ...receipt, success: !(receipt.success === true) }],
    ['timestamp rewritten', { ...receipt, timestamp: '2020-01-01T00:00:00Z' }],
    ['latency rewritten', { ...receipt, latency_ms: 999_999 }],
    ['price rewritten', { ...receipt, price_usd: 0.000001 }],
  ];
  const sig = receipt.signature as Doc | undefined;
  if (sig?.version === 2) out.push(['downgraded to v1', { ...receipt, signature: { algorithm: 'ed25519', value: sig.value as string } }]);
  return out;
}

/** An announcement signed by `signer` (its own key carried as signer_public_key). */
export function signedAnnouncement(signer: Signer, doc: { hub_url: string; well_known_url: string; capabilities_count: number; hub_name?: string }): Record<string, unknown> {
  return { ...doc, signer_public_key: signer.publicB64, signature: { algorithm: 'ed25519', value: signer.sign(announceCanonical(doc as never)) } };
}

/**
 * Creation code of a counterfeit token: any call emits `Transfer(caller, arg0, arg1)` from its own
 * address and returns true (hand-assembled: CALLDATALOAD 0x24 → MSTORE 0; LOG3 with the Transfer
 * topic, CALLER and CALLDATALOAD 0x04; RETURN 1). A hub that does not check which token moved is paid by it.
 */
export const COUNTERFEIT_TOKEN_CODE = ('0x603a80600b6000396000f3602435600052600435337fddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef60206000a360016000526020' + '6000f3') as Hex;
