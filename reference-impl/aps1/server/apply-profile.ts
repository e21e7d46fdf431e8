/**
 * Puts an APS-1 profile's compat switches on a running chain: the owner (the lab's admin role)
 * calls `setCompat` on NexusV2 and AIProofRegistry. This is how the public contracts' quirks are
 * selected at run time (serve.ts --profile compat, AMH_APS1_PROFILE=compat for amh run / amh up),
 * without regenerating the fixture; scenarios keep checking the reference profile's intent, so the
 * report shows which requirements the quirks break (scenarios/aps1/README.md).
 */
import { createPublicClient, createWalletClient, http, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { RunningChain } from '../../../harness/chain/index.ts';
import { roleAccount } from '../../../harness/chain/index.ts';
import { nexusAbi, proofAbi } from '../protocol/abi.ts';
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
