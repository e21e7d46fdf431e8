/**
 * Puts a what-if profile's channel lifetime on the reference chain's AIMarketEscrow. The escrow has
 * no constructor and no admin (it is placed with anvil_setCode), so the service writes its lifetime
 * slot with `anvil_setStorageAt` and reads it back through `channelTtl()` (a layout change fails
 * loudly). `channelTtl()` is the lab contract's own view, not the spec's interface: a scenario
 * never calls it, it checks a channel's `expiresAt` instead.
 */
import { createPublicClient, http, parseAbi } from 'viem';
import { rpcCall } from '../../../harness/chain/rpc.ts';
import type { RunningChain } from '../../../harness/chain/index.ts';
import { CHANNEL_TTL_S } from './hub.ts';

/** AIMarketEscrow's slot of the lifetime: 0 holds `_channels`, 1 `usedReceipts`, 2 `_channelTtl` (0 = 24 h). */
const TTL_SLOT = '0x2';
const ttlAbi = parseAbi(['function channelTtl() view returns (uint256)']);

/** Sets the escrow's channel lifetime when it differs; returns whether it changed. */
export async function applyAimarketChannelTtl(chain: RunningChain, seconds: number): Promise<boolean> {
  const escrow = chain.profile.contracts.aimarketEscrow;
  if (!escrow) throw new Error(`chain profile ${chain.profile.id} has no aimarketEscrow`);
  const pub = createPublicClient({ transport: http(chain.rpcUrl) });
  const read = () => pub.readContract({ address: escrow, abi: ttlAbi, functionName: 'channelTtl' });
  const want = BigInt(seconds);
  if ((await read()) === want) return false;
  // The default is stored as 0, so a fixture and a chain put back to the default read the same.
  const stored = seconds === CHANNEL_TTL_S ? 0n : want;
  await rpcCall(chain.rpcUrl, 'anvil_setStorageAt', [escrow, TTL_SLOT, `0x${stored.toString(16).padStart(64, '0')}`]);
  const now = await read();
  if (now !== want) throw new Error(`AIMarketEscrow's channel lifetime is not in storage slot ${TTL_SLOT} (reads ${now} after writing ${want}): the layout changed`);
  return true;
}
