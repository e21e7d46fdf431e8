/**
 * Test support: put the deliberately broken contracts of contracts/src/testing/ on a blank chain
 * and describe them as a Target, the way an outside implementer would. Used by the kill tables of
 * the usdc and erc8004 packs (each requirement is shown catching the defect it exists for) and by
 * the benchmark. The contracts come from forge's build (contracts/out; vitest's global setup runs
 * an incremental `forge build`).
 */
import { createPublicClient, createWalletClient, defineChain, http, type Abi, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { readArtifact } from '../chain/artifacts.ts';
import { roleAccounts, startChain, type ChainProfileId, type RunningChain } from '../chain/index.ts';
import { parseTarget, type Capability, type Target } from './schema.ts';

/** ABI and creation bytecode of a contract of contracts/src/testing, from forge's build. */
export function testContract(file: string, contract: string): { abi: Abi; bytecode: Hex } {
  const a = readArtifact(file, contract);
  return { abi: a.abi, bytecode: a.bytecode };
}

/** USDC each holder role gets on a broken-token chain (base units). */
export const TEST_USDC_BALANCE = 1_000_000n * 10n ** 6n;

/** A blank chain with broken-variant contracts deployed and a Target describing it. */
export interface BrokenTarget {
  chain: RunningChain;
  target: Target;
  addresses: Record<string, Address>;
  stop(): Promise<void>;
}

export interface BrokenOptions {
  profile?: ChainProfileId;
  /** Bug bits for BrokenFiatToken (0 = a correct token). */
  tokenBugs?: bigint;
  /** Bug bits for BrokenIdentityRegistry / BrokenReputationRegistry; omit to skip ERC-8004. */
  identityBugs?: bigint;
  reputationBugs?: bigint;
  capabilities?: Capability[];
}

/**
 * Start a blank chain (funded role accounts, free port), deploy BrokenFiatToken (+ ERC-8004 broken
 * registries when asked), mint USDC to every role, and return a Target for it.
 */
export async function startBrokenTarget(o: BrokenOptions = {}): Promise<BrokenTarget> {
  const profile = o.profile ?? 'base-sepolia';
  const chain = await startChain({ profile, state: 'blank' });
  try {
    const vchain = defineChain({ id: chain.chainId, name: profile, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [chain.rpcUrl] } } });
    const admin = privateKeyToAccount(roleAccounts.find((a) => a.role === 'admin')!.privateKey);
    const wallet = createWalletClient({ chain: vchain, transport: http(chain.rpcUrl), account: admin });
    const pub = createPublicClient({ chain: vchain, transport: http(chain.rpcUrl) });
    const deploy = async (file: string, name: string, args: unknown[]) => {
      const { abi, bytecode } = testContract(file, name);
      const hash = await wallet.deployContract({ abi, bytecode, args } as never);
      const r = await pub.waitForTransactionReceipt({ hash });
      if (!r.contractAddress) throw new Error(`deploying ${name} failed`);
      return { address: r.contractAddress, abi };
    };
    const usdcName = chain.profile.usdc!.name;
    const token = await deploy('BrokenFiatToken.sol', 'BrokenFiatToken', [usdcName, '2', o.tokenBugs ?? 0n]);
    for (const a of roleAccounts) {
      const hash = await wallet.writeContract({ address: token.address, abi: token.abi, functionName: 'mint', args: [a.address, TEST_USDC_BALANCE] } as never);
      await pub.waitForTransactionReceipt({ hash });
    }
    const addresses: Record<string, Address> = { usdc: token.address };
    if (o.identityBugs !== undefined || o.reputationBugs !== undefined) {
      const id = await deploy('BrokenErc8004.sol', 'BrokenIdentityRegistry', [o.identityBugs ?? 0n]);
      const rep = await deploy('BrokenErc8004.sol', 'BrokenReputationRegistry', [id.address, o.reputationBugs ?? 0n]);
      addresses.identityRegistry = id.address;
      addresses.reputationRegistry = rep.address;
    }
    const { usdc: _u, ...contracts } = addresses;
    const target = parseTarget({
      name: `broken target (token bugs ${o.tokenBugs ?? 0n}, identity bugs ${o.identityBugs ?? '-'}, reputation bugs ${o.reputationBugs ?? '-'})`,
      chains: [{ id: profile, chainId: chain.chainId, rpcUrl: chain.rpcUrl, usdc: { address: token.address, name: usdcName, version: '2', decimals: 6 }, contracts }],
      accounts: roleAccounts.map((a) => ({ role: a.role, kind: 'evm', address: a.address, privateKey: a.privateKey })),
      capabilities: o.capabilities ?? ['snapshot', 'clock-control'],
    });
    return { chain, target, addresses, stop: () => chain.stop() };
  } catch (e) {
    await chain.stop();
    throw e;
  }
}

/** Run protocols in-process against a target (one worker) — the kill-rate tests' entry point. */
export async function runAgainst(target: Target, o: { protocols: string[]; grep?: string; runs?: number; seed?: number }) {
  const { runAll } = await import('../engine/runner.ts');
  const { createTargetClients } = await import('../engine/session.ts');
  const { loadProtocols } = await import('../packs/discover.ts');
  const { targetInfo } = await import('../cli/execute.ts');
  const protocols = await loadProtocols();
  return runAll(
    { target, targetInfo: targetInfo(target, 'file'), workers: [createTargetClients(target)], protocols: protocols.filter((p) => o.protocols.includes(p.id)) },
    { runs: o.runs ?? 10, seed: o.seed ?? 42, command: 'test', grep: o.grep },
  );
}
