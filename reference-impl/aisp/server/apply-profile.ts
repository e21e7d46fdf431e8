/**
 * Puts a what-if profile's AISP fee on a running reference chain. DiemMarketplace takes its fee only
 * at initialisation (no setter), so the service writes the storage slot of `feeBps` with
 * `anvil_setStorageAt` and reads it back through the view (a layout change fails loudly).
 */
import { createPublicClient, http } from 'viem';
import { rpcCall } from '../../../harness/chain/rpc.ts';
import type { RunningChain } from '../../../harness/chain/index.ts';
import { marketplaceAbi } from '../protocol/abi.ts';

/** DiemMarketplace's slot of `feeBps`: slot 0 holds `_initialized` and `usdc`, 1 `admin`, 2 `feeRecipient`. */
const FEE_SLOT = '0x3';

/** Sets the marketplace's fee when it differs; returns whether it changed. */
export async function applyAispFee(chain: RunningChain, feeBps: bigint): Promise<boolean> {
  const market = chain.profile.contracts.diemMarketplace;
  if (!market) throw new Error(`chain profile ${chain.profile.id} has no diemMarketplace`);
  const pub = createPublicClient({ transport: http(chain.rpcUrl) });
  if ((await pub.readContract({ address: market, abi: marketplaceAbi, functionName: 'feeBps' })) === feeBps) return false;
  await rpcCall(chain.rpcUrl, 'anvil_setStorageAt', [market, FEE_SLOT, `0x${feeBps.toString(16).padStart(64, '0')}`]);
  const now = await pub.readContract({ address: market, abi: marketplaceAbi, functionName: 'feeBps' });
  if (now !== feeBps) throw new Error(`DiemMarketplace's feeBps is not in storage slot ${FEE_SLOT} (reads ${now} after writing ${feeBps}): the layout changed`);
  return true;
}
