/**
 * Puts an APS-1 profile on a running chain without regenerating the fixture: the owner (the lab's
 * admin role) calls `setCompat` on NexusV2 and AIProofRegistry (the public contracts' quirks) and,
 * for a what-if profile (amh run --profile), `setPlatformFee`, `setArbitrationPenalty` and
 * `setMaxArbitrationPenalty` on NexusV2. StreamV1 takes its fee only at initialisation: on the
 * reference chain its storage slot is written with `anvil_setStorageAt` and read back through the
 * view. Scenarios keep checking the intent for the compat switches, so the report shows which
 * requirements the quirks break (scenarios/aps1/README.md); fees and penalty they follow.
 */
import { createPublicClient, createWalletClient, http, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { RunningChain } from '../../../harness/chain/index.ts';
import { roleAccount } from '../../../harness/chain/index.ts';
import { rpcCall } from '../../../harness/chain/rpc.ts';
import { nexusAbi, proofAbi, streamAbi } from '../protocol/abi.ts';
import type { Aps1Profile } from '../protocol/profile.ts';
import { localChain } from './chain.ts';
import { aps1Addresses } from './stack.ts';

/** Sets the profile's compat switches on the chain's NexusV2 and AIProofRegistry (as the admin), when they differ. */
export async function applyProfile(chain: RunningChain, p: Aps1Profile, ownerKey: Hex = roleAccount('admin').privateKey): Promise<void> {
  const a = aps1Addresses(chain);
  const wallet = createWalletClient({ account: privateKeyToAccount(ownerKey), chain: localChain(chain.chainId, chain.rpcUrl), transport: http(chain.rpcUrl) });
  const c = p.compat;
  const pub = createPublicClient({ chain: localChain(chain.chainId, chain.rpcUrl), transport: http(chain.rpcUrl) });
  const now = await Promise.all([
    pub.readContract({ address: a.nexus, abi: nexusAbi, functionName: 'penaltyFromWinner' }),
    pub.readContract({ address: a.nexus, abi: nexusAbi, functionName: 'penaltyCapIn18Decimals' }),
    pub.readContract({ address: a.nexus, abi: nexusAbi, functionName: 'timeoutAfterDelivery' }),
    pub.readContract({ address: a.proof, abi: proofAbi, functionName: 'verifyByAnyone' }),
  ]);
  if (now.join() === [c.penaltyFromWinner, c.penaltyCapIn18Decimals, c.timeoutAfterDelivery, c.verifyByAnyone].join()) return;
  for (const call of [
    { address: a.nexus, abi: nexusAbi, functionName: 'setCompat', args: [c.penaltyFromWinner, c.penaltyCapIn18Decimals, c.timeoutAfterDelivery] },
    { address: a.proof, abi: proofAbi, functionName: 'setCompat', args: [c.verifyByAnyone] },
  ] as const) {
    const r = await wallet.writeContractSync(call as never);
    if ((r as { status: string }).status !== 'success') throw new Error(`${call.functionName} on ${call.address} reverted`);
  }
}

/** StreamV1's storage slot of `platformFeeBps` (slot 0 holds `_initialized` and `owner`; see PayPolStreamV1.sol). */
const STREAM_FEE_SLOT = '0x1';

/**
 * Sets the profile's fee, penalty and cap on NexusV2 and the fee on StreamV1 (as the owner), where
 * they differ from what the chain holds; then its compat switches. Returns the names changed.
 */
export async function applyProfileConstants(chain: RunningChain, p: Aps1Profile, ownerKey: Hex = roleAccount('admin').privateKey): Promise<string[]> {
  const a = aps1Addresses(chain);
  const viemChain = localChain(chain.chainId, chain.rpcUrl);
  const pub = createPublicClient({ chain: viemChain, transport: http(chain.rpcUrl) });
  const wallet = createWalletClient({ account: privateKeyToAccount(ownerKey), chain: viemChain, transport: http(chain.rpcUrl) });
  const changed: string[] = [];
  const cap18 = p.maxArbitrationPenaltyTokens * 10n ** 18n;
  const nexus = [
    { name: 'platformFeeBps', view: 'platformFeeBps', setter: 'setPlatformFee', want: p.platformFeeBps },
    { name: 'arbitrationPenaltyBps', view: 'arbitrationPenaltyBps', setter: 'setArbitrationPenalty', want: p.arbitrationPenaltyBps },
    { name: 'maxArbitrationPenaltyTokens', view: 'maxArbitrationPenalty', setter: 'setMaxArbitrationPenalty', want: cap18 },
  ] as const;
  for (const x of nexus) {
    const now = await pub.readContract({ address: a.nexus, abi: nexusAbi, functionName: x.view });
    if (now === x.want) continue;
    const r = await wallet.writeContractSync({ address: a.nexus, abi: nexusAbi, functionName: x.setter, args: [x.want] });
    if (r.status !== 'success') throw new Error(`NexusV2.${x.setter}(${x.want}) reverted`);
    changed.push(`NexusV2.${x.name}`);
  }
  const streamFee = await pub.readContract({ address: a.stream, abi: streamAbi, functionName: 'platformFeeBps' });
  if (streamFee !== p.platformFeeBps) {
    await rpcCall(chain.rpcUrl, 'anvil_setStorageAt', [a.stream, STREAM_FEE_SLOT, `0x${p.platformFeeBps.toString(16).padStart(64, '0')}`]);
    const now = await pub.readContract({ address: a.stream, abi: streamAbi, functionName: 'platformFeeBps' });
    if (now !== p.platformFeeBps) throw new Error(`StreamV1's platformFeeBps is not in storage slot ${STREAM_FEE_SLOT} (reads ${now} after writing ${p.platformFeeBps}): the layout changed`);
    changed.push('StreamV1.platformFeeBps');
  }
  await applyProfile(chain, p, ownerKey);
  return changed;
}
