/**
 * Puts a what-if profile's AISP constants on a running reference chain. DiemMarketplace takes its fee
 * only at initialisation and its refund rule from a slot no function sets (neither has a setter), so
 * the service writes each one's storage slot with `anvil_setStorageAt` and reads it back through its
 * view (a layout change fails loudly).
 */
import { createPublicClient, http } from 'viem';
import { rpcCall } from '../../../harness/chain/rpc.ts';
import type { RunningChain } from '../../../harness/chain/index.ts';
import { marketplaceAbi } from '../protocol/abi.ts';
import type { AispConstants } from '../protocol/constants.ts';
import { REFUND_RULES } from '../protocol/profile.ts';

/**
 * DiemMarketplace's storage slots: 0 holds `_initialized` and `usdc`, 1 `admin`, 2 `feeRecipient`,
 * 3 `feeBps`, ... 8 `_rentals`, 9 `refundRule` (forge inspect DiemMarketplace storage-layout).
 */
const SLOTS = { feeBps: '0x3', refundRule: '0x9' } as const;

const word = (n: bigint) => `0x${n.toString(16).padStart(64, '0')}`;

/** Sets the marketplace's fee and refund rule where they differ from the profile's; returns the ones it changed. */
export async function applyAispConstants(chain: RunningChain, k: AispConstants): Promise<string[]> {
  const market = chain.profile.contracts.diemMarketplace;
  if (!market) throw new Error(`chain profile ${chain.profile.id} has no diemMarketplace`);
  const pub = createPublicClient({ transport: http(chain.rpcUrl) });
  // The contract's values as bigints: the fee in bps, the rule as its enum index.
  const want = { feeBps: k.feeBps, refundRule: BigInt(REFUND_RULES.indexOf(k.refundRule)) };
  const read = async (name: keyof typeof want) => BigInt(await pub.readContract({ address: market, abi: marketplaceAbi, functionName: name }));
  const changed: string[] = [];
  for (const name of Object.keys(want) as (keyof typeof want)[]) {
    if ((await read(name)) === want[name]) continue;
    await rpcCall(chain.rpcUrl, 'anvil_setStorageAt', [market, SLOTS[name], word(want[name])]);
    const now = await read(name);
    if (now !== want[name]) throw new Error(`DiemMarketplace's ${name} is not in storage slot ${SLOTS[name]} (reads ${now} after writing ${want[name]}): the layout changed`);
    changed.push(`${name} ${name === 'refundRule' ? k.refundRule : want[name]}`);
  }
  return changed;
}
