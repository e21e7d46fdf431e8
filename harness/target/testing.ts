/**
 * Test support: put the deliberately broken contracts of contracts/src/testing/ on a blank chain
 * and describe them as a Target, the way an outside implementer would. Used by the kill-rate tests
 * (each requirement is shown catching the defect it exists for) and by the benchmark.
 *
 * Contracts are compiled with solcjs (the `solc` npm package) on demand, so tests do not depend on a
 * prior `forge build` of the whole tree; the result is cached per process.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';
import { createPublicClient, createWalletClient, defineChain, http, type Abi, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { roleAccounts, startChain, type ChainProfileId, type RunningChain } from '../chain/index.ts';
import { parseTarget, type Capability, type Target } from './schema.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TESTING_DIR = path.join(REPO_ROOT, 'contracts', 'src', 'testing');
const compiled = new Map<string, { abi: Abi; bytecode: Hex }>();

/** Compile one file of contracts/src/testing and return a contract's ABI and creation bytecode. */
export function compileTestContract(file: string, contract: string): { abi: Abi; bytecode: Hex } {
  const key = `${file}:${contract}`;
  const hit = compiled.get(key);
  if (hit) return hit;
  const input = {
    language: 'Solidity',
    sources: { [file]: { content: readFileSync(path.join(TESTING_DIR, file), 'utf8') } },
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  // Imports (OpenZeppelin) are resolved from node_modules, as forge's remapping does.
  const findImports = (p: string) => {
    const candidates = [path.join(REPO_ROOT, 'node_modules', p), path.join(TESTING_DIR, p)];
    for (const c of candidates) {
      try {
        return { contents: readFileSync(c, 'utf8') };
      } catch {
        // try the next location
      }
    }
    return { error: `import not found: ${p}` };
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
  };
  const errs = (out.errors ?? []).filter((e) => e.severity === 'error');
  if (errs.length) throw new Error(`solc failed on ${file}:\n${errs.map((e) => e.formattedMessage).join('\n')}`);
  for (const [name, c] of Object.entries(out.contracts[file] ?? {})) compiled.set(`${file}:${name}`, { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` });
  const r = compiled.get(key);
  if (!r) throw new Error(`contract ${contract} not found in ${file}`);
  return r;
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
      const { abi, bytecode } = compileTestContract(file, name);
      const hash = await wallet.deployContract({ abi, bytecode, args } as never);
      const r = await pub.waitForTransactionReceipt({ hash });
      if (!r.contractAddress) throw new Error(`deploying ${name} failed`);
      return { address: r.contractAddress, abi };
    };
    const usdcName = chain.profile.usdc.name;
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
      accounts: roleAccounts.map((a) => ({ role: a.role, address: a.address, privateKey: a.privateKey })),
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
  const { protocols } = await import('../../scenarios/index.ts');
  const { targetInfo } = await import('../engine/execute.ts');
  return runAll(
    { target, targetInfo: targetInfo(target, 'file'), workers: [createTargetClients(target)], protocols: protocols.filter((p) => o.protocols.includes(p.id)) },
    { runs: o.runs ?? 10, seed: o.seed ?? 42, command: 'test', grep: o.grep },
  );
}
