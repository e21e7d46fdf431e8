/**
 * Chain profiles as data: which chain a local Anvil pretends to be, and which contracts sit at which
 * canonical address on it. Adding a protocol's contract = one row in {@link contractPlacements}.
 *
 * Addresses are the real ones on Base / Base Sepolia (see /work/shared/specs/x402-erc8004.md), so
 * code written for the real chain works unchanged against the local one.
 */
import type { Address } from 'viem';

/** Profiles the harness knows. */
export type ChainProfileId = 'base' | 'base-sepolia';

/** Every known profile id, in a stable order (the order `amh up` starts them in). */
export const CHAIN_PROFILE_IDS: readonly ChainProfileId[] = ['base', 'base-sepolia'];

/** A Base-shaped chain: identity, USDC's EIP-712 domain, canonical contract addresses, node settings. */
export interface ChainProfile {
  id: ChainProfileId;
  chainId: number;
  name: string;
  usdc: { address: Address; name: string; version: string; decimals: 6 };
  /**
   * Canonical addresses by key: usdc, identityRegistry, reputationRegistry, multicall3, permit2
   * (+ legacyReputationRegistry, agentripeEscrow on base-sepolia).
   */
  contracts: Record<string, Address>;
  /** Node settings that make Anvil look like the real chain. */
  node: {
    /** Block gas limit. Base runs far above Ethereum's 30M; exact value moves over time. */
    gasLimit: bigint;
    /** Starting base fee in wei. Base's base fee sits around 0.001-0.01 gwei. */
    baseFeePerGas: bigint;
  };
}

/** Addresses shared by every EVM chain (deterministic deployments). */
const MULTICALL3: Address = '0xcA11bde05977b3631167028862bE2a173976CA11';
const PERMIT2: Address = '0x000000000022D473030F116dDEE9F6B43aC78BA3';

const BASE_NODE = { gasLimit: 150_000_000n, baseFeePerGas: 1_000_000n } as const;

const profiles: Record<ChainProfileId, ChainProfile> = {
  base: {
    id: 'base',
    chainId: 8453,
    name: 'Base',
    usdc: { address: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913', name: 'USD Coin', version: '2', decimals: 6 },
    contracts: {
      usdc: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913',
      identityRegistry: '0x8004A169FB4a3325136EB29fA0ceB6D2e539a432',
      reputationRegistry: '0x8004BAa17C55a88189AE136b182e5fdA19dE9b63',
      multicall3: MULTICALL3,
      permit2: PERMIT2,
    },
    node: BASE_NODE,
  },
  'base-sepolia': {
    id: 'base-sepolia',
    chainId: 84532,
    name: 'Base Sepolia',
    usdc: { address: '0x036CbD53842c5426634e7929541eC2318f3dCF7e', name: 'USDC', version: '2', decimals: 6 },
    contracts: {
      usdc: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
      identityRegistry: '0x8004A818BFB912233c491871b3d84c89A494BD9e',
      reputationRegistry: '0x8004B663056A597Dffe9eCcC1965A193B7388713',
      // Pre-2026 deployment's reputation address, still referenced by older clients (Agentripe's seed).
      legacyReputationRegistry: '0x8004bd8daB57f14Ed299135749a5CB5c42d341BF',
      agentripeEscrow: '0x329392750Af5061E667433ef91d664b3b0C042f6',
      multicall3: MULTICALL3,
      permit2: PERMIT2,
    },
    node: BASE_NODE,
  },
};

/**
 * The profile for an id.
 * @throws on an unknown id (the message lists the known ones).
 */
export function getProfile(id: ChainProfileId): ChainProfile {
  const p = (profiles as Record<string, ChainProfile | undefined>)[id];
  if (!p) throw new Error(`unknown chain profile '${String(id)}'; known profiles: ${CHAIN_PROFILE_IDS.join(', ')}`);
  return p;
}

/** Type guard for user input (CLI flags, env). */
export function isChainProfileId(id: string): id is ChainProfileId {
  return (CHAIN_PROFILE_IDS as readonly string[]).includes(id);
}

/** What an init call may depend on. */
export interface PlacementContext {
  profile: ChainProfile;
  /** The admin role account: USDC owner/masterMinter, sender of every init call. */
  admin: Address;
  /** The operator role account (protocol servers' on-chain key). */
  operator: Address;
}

/**
 * One contract placed at a canonical address: runtime bytecode from the forge artifact is written
 * with `anvil_setCode`, then `init` (if any) is sent once by the admin.
 */
export interface ContractPlacement {
  /** Key in `profile.contracts` (gives the address). */
  key: string;
  /** Forge artifact: contracts/out/<file>/<contract>.json (file is the source's base name). */
  artifact: { file: string; contract: string };
  /** The initialiser call; absent for contracts without state (Multicall3, Permit2). */
  init?: (ctx: PlacementContext) => { functionName: string; args: readonly unknown[] };
}

const usdcPlacement: ContractPlacement = {
  key: 'usdc',
  artifact: { file: 'FiatTokenV2_2.sol', contract: 'FiatTokenV2_2' },
  init: ({ profile, admin }) => ({
    functionName: 'initialize',
    // (name, symbol, currency, decimals, eip712Version, masterMinter, owner)
    args: [profile.usdc.name, 'USDC', 'USD', profile.usdc.decimals, profile.usdc.version, admin, admin],
  }),
};
const identityPlacement: ContractPlacement = {
  key: 'identityRegistry',
  artifact: { file: 'IdentityRegistry.sol', contract: 'IdentityRegistry' },
  init: () => ({ functionName: 'initialize', args: [] }),
};
function reputationPlacement(key: string): ContractPlacement {
  return {
    key,
    artifact: { file: 'ReputationRegistry.sol', contract: 'ReputationRegistry' },
    init: ({ profile }) => ({ functionName: 'initialize', args: [profile.contracts.identityRegistry] }),
  };
}
const multicall3Placement: ContractPlacement = {
  key: 'multicall3',
  artifact: { file: 'Multicall3.sol', contract: 'Multicall3' },
};
const permit2Placement: ContractPlacement = {
  key: 'permit2',
  artifact: { file: 'Permit2.sol', contract: 'Permit2' },
};

/** Agentripe's escrow (seed 002): USDC + identity registry, admin, operator, 7-day buyer reclaim delay. */
const agentripeEscrowPlacement: ContractPlacement = {
  key: 'agentripeEscrow',
  artifact: { file: 'AgentripeEscrow.sol', contract: 'AgentripeEscrow' },
  init: ({ profile, admin, operator }) => ({
    functionName: 'initialize',
    args: [profile.contracts.usdc, profile.contracts.identityRegistry, admin, operator, 7n * 24n * 3600n],
  }),
};

/**
 * Contracts placed on each profile, in placement order (an init may rely on an earlier row, e.g.
 * reputation on identity). gen-fixtures.ts and fork mode both read this table.
 */
export const contractPlacements: Record<ChainProfileId, readonly ContractPlacement[]> = {
  base: [usdcPlacement, identityPlacement, reputationPlacement('reputationRegistry'), multicall3Placement, permit2Placement],
  'base-sepolia': [
    usdcPlacement,
    identityPlacement,
    reputationPlacement('reputationRegistry'),
    reputationPlacement('legacyReputationRegistry'),
    multicall3Placement,
    permit2Placement,
    agentripeEscrowPlacement,
  ],
};
