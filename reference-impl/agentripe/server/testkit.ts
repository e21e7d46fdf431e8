/**
 * Shared setup for this folder's tests: a base-sepolia anvil from harness/chain, the Agentripe
 * stack on it, and helpers that act on the chain directly (with the generated bindings, so they
 * are independent of the server's own ABIs).
 */
import type { Address, Hex } from 'viem';
import { createChainClients, roleAccount, startChain, type RunningChain } from '../../../harness/chain/index.ts';
import { fiatTokenV2_2Abi, identityRegistryAbi, reputationRegistryAbi } from '../../../harness/chain/bindings/index.ts';
import { escrowAbi as agentripeEscrowAbi } from '../protocol/abi.ts';
import { startAgentripeStack, type AgentripeStack } from './stack.ts';
import type { AgentripeServerConfig } from './server.ts';
import { toDataUri, type AgentUriData } from '../protocol/agenturi.ts';
import { createBuyer, type Buyer } from '../agents/buyer.ts';
import { createVendor, type Vendor, type VendorStrategy } from '../agents/vendor.ts';
import { parseEventLogs } from 'viem';

// Captured at import, before a test may install msw: the agents keep using the real fetch.
const realFetch = globalThis.fetch;

/** Everything a test needs. */
export interface Lab {
  chain: RunningChain;
  stack: AgentripeStack;
  clients: ReturnType<typeof createChainClients>;
  addr: { usdc: Address; identityRegistry: Address; reputationRegistry: Address; escrow: Address };
  usdcBalance(a: Address): Promise<bigint>;
  withdrawable(a: Address): Promise<bigint>;
  deposit(id: Hex): Promise<readonly [bigint, Address, bigint, number]>;
  /** Registers an agent owned by `role` with a one-service catalog; returns its id. */
  registerAgent(role: string, catalog?: { path: string; price: string }[]): Promise<bigint>;
  buyer(role?: string): Buyer;
  vendor(role: string, agentId: bigint, strategy: VendorStrategy, clock?: () => number): Vendor;
  /** Feedback values the operator gave `agentId` (from NewFeedback events). */
  feedback(agentId: bigint): Promise<{ value: bigint; tag2: string; feedbackHash: Hex }[]>;
  withdraw(role: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts chain + stack. Always call `stop()` (t.after). */
export async function startLab(overrides: Partial<AgentripeServerConfig> = {}): Promise<Lab> {
  const chain = await startChain({ profile: 'base-sepolia' });
  let stack: AgentripeStack;
  try {
    stack = await startAgentripeStack(chain, overrides);
  } catch (e) {
    await chain.stop();
    throw e;
  }
  const clients = createChainClients(chain);
  const addr = stack.config.addresses as Lab['addr'];
  const pub = clients.publicClient;

  const lab: Lab = {
    chain,
    stack,
    clients,
    addr,
    usdcBalance: (a) => pub.readContract({ address: addr.usdc, abi: fiatTokenV2_2Abi, functionName: 'balanceOf', args: [a] }),
    withdrawable: (a) => pub.readContract({ address: addr.escrow, abi: agentripeEscrowAbi, functionName: 'withdrawableBalance', args: [a] }),
    deposit: (id) => pub.readContract({ address: addr.escrow, abi: agentripeEscrowAbi, functionName: 'getDeposit', args: [id] }) as Promise<readonly [bigint, Address, bigint, number]>,
    async registerAgent(role, catalog = [{ path: 'translate', price: '$0.10' }]) {
      const data: AgentUriData = {
        name: `${role} agent`,
        description: 'test agent',
        x402Support: true,
        services: [{ name: 'x402', endpoint: stack.server.url, catalog: catalog.map((c) => ({ ...c, type: 'async', description: `${c.path} service` })) }],
      };
      const w = clients.walletClient(role);
      const hash = await w.writeContract({ address: addr.identityRegistry, abi: identityRegistryAbi, functionName: 'register', args: [toDataUri(data)] });
      const receipt = await pub.waitForTransactionReceipt({ hash });
      const ev = parseEventLogs({ abi: identityRegistryAbi, logs: receipt.logs, eventName: 'Registered' })[0];
      return (ev!.args as { agentId: bigint }).agentId;
    },
    buyer: (role = 'buyer1') =>
      createBuyer({ baseUrl: stack.server.url, privateKey: roleAccount(role).privateKey, rpcUrl: chain.rpcUrl, identityRegistry: addr.identityRegistry, fetchImpl: realFetch }),
    vendor: (role, agentId, strategy, clock) => createVendor({ baseUrl: stack.server.url, agentId, credentials: { privateKey: roleAccount(role).privateKey }, strategy, clock, fetchImpl: realFetch }),
    async feedback(agentId) {
      const logs = await pub.getContractEvents({
        address: addr.reputationRegistry,
        abi: reputationRegistryAbi,
        eventName: 'NewFeedback',
        args: { agentId, clientAddress: roleAccount('operator').address },
        fromBlock: 0n,
      });
      return logs.map((l) => {
        const a = l.args as { value: bigint; tag2: string; feedbackHash: Hex };
        return { value: a.value, tag2: a.tag2, feedbackHash: a.feedbackHash };
      });
    },
    async withdraw(role) {
      const w = clients.walletClient(role);
      const hash = await w.writeContract({ address: addr.escrow, abi: agentripeEscrowAbi, functionName: 'withdraw', args: [] });
      await pub.waitForTransactionReceipt({ hash });
    },
    async stop() {
      try {
        await stack.stop();
      } finally {
        await chain.stop();
      }
    },
  };
  return lab;
}
