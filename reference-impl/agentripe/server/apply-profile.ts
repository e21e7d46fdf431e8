/**
 * Puts a what-if profile's Agentripe constants on a running chain: the escrow's reclaim delay is an
 * init argument (the fixture holds the default), so the admin calls `setReclaimDelay` when the
 * profile's differs. The server's own constants (rejection limit, auth window) are configuration
 * (server/config.ts) and need nothing on chain.
 */
import { createPublicClient, createWalletClient, http, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { roleAccount, type RunningChain } from '../../../harness/chain/index.ts';
import { escrowAbi } from '../protocol/abi.ts';
import type { AgentripeConstants } from '../protocol/constants.ts';
import { localChain } from './chain.ts';
import { agentripeAddresses } from './stack.ts';

/** Sets the escrow's reclaim delay to the profile's (as the admin) when it differs; returns whether it changed. */
export async function applyAgentripeConstants(chain: RunningChain, k: AgentripeConstants, adminKey: Hex = roleAccount('admin').privateKey): Promise<boolean> {
  const { escrow } = agentripeAddresses(chain);
  const viemChain = localChain(chain.chainId, chain.rpcUrl);
  const pub = createPublicClient({ chain: viemChain, transport: http(chain.rpcUrl) });
  const now = await pub.readContract({ address: escrow, abi: escrowAbi, functionName: 'reclaimDelay' });
  if (now === BigInt(k.reclaimDelaySeconds)) return false;
  const wallet = createWalletClient({ account: privateKeyToAccount(adminKey), chain: viemChain, transport: http(chain.rpcUrl) });
  const r = await wallet.writeContractSync({ address: escrow, abi: escrowAbi, functionName: 'setReclaimDelay', args: [BigInt(k.reclaimDelaySeconds)] });
  if (r.status !== 'success') throw new Error(`setReclaimDelay(${k.reclaimDelaySeconds}) on ${escrow} reverted`);
  return true;
}
