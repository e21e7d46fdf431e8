/** Test wiring: a base anvil from the fixture, the reference stack, and role payers (viem wallets, sync sends). */
import { createWalletClient, erc20Abi, type Address, type Hex, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { roleAccount, startChain, type RunningChain } from '../../../harness/chain/index.ts';
import { toViemChain } from '../../../harness/chain/transport.ts';
import type { Payer } from '../agents/buyer.ts';
import type { AimFaults } from './faults.ts';
import { type AimStack, startAimStack } from './stack.ts';

export interface AimLab {
  chain: RunningChain;
  stack: AimStack;
  usdc: Address;
  payer(role: string): Payer;
  stop(): Promise<void>;
}

export function walletPayer(chain: RunningChain, privateKey: Hex): Payer {
  const account = privateKeyToAccount(privateKey);
  const wallet = createWalletClient({ account, chain: toViemChain(chain), transport: http(chain.rpcUrl) });
  return {
    address: account.address,
    async transfer(token, to, amount) {
      try {
        const r = await wallet.writeContractSync({ address: token as Address, abi: erc20Abi, functionName: 'transfer', args: [to as Address, amount], throwOnReceiptRevert: false });
        return r.status === 'success' ? { ok: true, hash: r.transactionHash } : { ok: false, reason: 'reverted' };
      } catch (e) {
        return { ok: false, reason: (e as Error).message.split('\n')[0]! };
      }
    },
  };
}

export async function startAimLab(o: { faults?: AimFaults; federation?: boolean } = {}): Promise<AimLab> {
  const chain = await startChain({ profile: 'base' });
  const stack = await startAimStack(chain, { faults: o.faults, federation: o.federation });
  return {
    chain,
    stack,
    usdc: chain.profile.usdc!.address,
    payer: (role) => walletPayer(chain, roleAccount(role).privateKey),
    async stop() {
      await stack.stop();
      await chain.stop();
    },
  };
}
