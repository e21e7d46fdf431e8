/**
 * ERC-8004 identity and reputation registries as the scenarios see them: the public ABI of the
 * current (v2) interface, EIP-712 AgentWalletSet signing, seeded realistic agent registration files
 * (@faker-js/faker behind a fast-check seed), and small helpers.
 */
import { faker } from '@faker-js/faker';
import fc from 'fast-check';
import { parseAbi, type Abi, type Address, type Hex } from 'viem';
import { Indeterminate } from '../../harness/engine/errors.ts';
import type { ChainSession } from '../../harness/engine/session.ts';
import type { RunContext } from '../../harness/engine/context.ts';
import type { ScenarioEnv } from '../../harness/engine/dsl.ts';

export const identityAbi = parseAbi([
  'function register() returns (uint256 agentId)',
  'function register(string agentURI) returns (uint256 agentId)',
  'function ownerOf(uint256 tokenId) view returns (address)',
  'function tokenURI(uint256 tokenId) view returns (string)',
  'function setAgentURI(uint256 agentId, string newURI)',
  'function getMetadata(uint256 agentId, string metadataKey) view returns (bytes)',
  'function setMetadata(uint256 agentId, string metadataKey, bytes metadataValue)',
  'function getAgentWallet(uint256 agentId) view returns (address)',
  'function setAgentWallet(uint256 agentId, address newWallet, uint256 deadline, bytes signature)',
  'function isAuthorizedOrOwner(address spender, uint256 agentId) view returns (bool)',
  'function approve(address to, uint256 tokenId)',
  'function setApprovalForAll(address operator, bool approved)',
  'function transferFrom(address from, address to, uint256 tokenId)',
  'event Registered(uint256 indexed agentId, string agentURI, address indexed owner)',
  'event URIUpdated(uint256 indexed agentId, string newURI, address indexed updatedBy)',
  'event MetadataSet(uint256 indexed agentId, string indexed indexedMetadataKey, string metadataKey, bytes metadataValue)',
  'event Transfer(address indexed from, address indexed to, uint256 indexed tokenId)',
]);

export const reputationAbi = parseAbi([
  'function getIdentityRegistry() view returns (address)',
  'function giveFeedback(uint256 agentId, int128 value, uint8 valueDecimals, string tag1, string tag2, string endpoint, string feedbackURI, bytes32 feedbackHash)',
  'function revokeFeedback(uint256 agentId, uint64 feedbackIndex)',
  'function getLastIndex(uint256 agentId, address clientAddress) view returns (uint64)',
  'function readFeedback(uint256 agentId, address clientAddress, uint64 feedbackIndex) view returns (int128 value, uint8 valueDecimals, string tag1, string tag2, bool isRevoked)',
  'function getSummary(uint256 agentId, address[] clientAddresses, string tag1, string tag2) view returns (uint64 count, int128 summaryValue, uint8 summaryValueDecimals)',
  'event NewFeedback(uint256 indexed agentId, address indexed clientAddress, uint64 feedbackIndex, int128 value, uint8 valueDecimals, string indexed indexedTag1, string tag1, string tag2, string endpoint, string feedbackURI, bytes32 feedbackHash)',
  'event FeedbackRevoked(uint256 indexed agentId, address indexed clientAddress, uint64 indexed feedbackIndex)',
]);

/** Agent owners (vendors/providers register agents). */
export const OWNERS = ['vendor1', 'vendor2', 'provider'] as const;
/** Clients that leave feedback. */
export const CLIENTS = ['buyer1', 'buyer2', 'reviewer'] as const;
/** Accounts that may become an agent's wallet. */
export const WALLETS = ['judge', 'buyer1', 'vendor2'] as const;

export const chainArb = (env: ScenarioEnv) => fc.constantFrom(...env.chains.map((c) => c.id));

/** A realistic agent registration file (ERC-8004 "registration-v1"), generated from a seed. */
export interface AgentCard {
  name: string;
  uri: string;
}

/** Seeded faker content: the same seed gives the same agent, so counterexamples replay exactly. */
export const agentCardArb: fc.Arbitrary<AgentCard> = fc.integer({ min: 0, max: 2 ** 31 - 1 }).map((seed) => {
  faker.seed(seed);
  const name = `${faker.company.name()} ${faker.helpers.arrayElement(['Agent', 'Bot', 'Assistant', 'Oracle'])}`;
  const file = {
    type: 'https://eips.ethereum.org/EIPS/eip-8004#registration-v1',
    name,
    description: faker.company.catchPhrase(),
    image: `https://${faker.internet.domainName()}/avatar.png`,
    services: [
      { name: 'web', endpoint: faker.internet.url() },
      { name: 'MCP', endpoint: `https://${faker.internet.domainName()}/mcp`, version: '2025-06-18' },
    ],
    x402Support: faker.datatype.boolean(),
    active: true,
  };
  const uri = faker.datatype.boolean()
    ? `data:application/json;base64,${Buffer.from(JSON.stringify(file)).toString('base64')}`
    : `https://${faker.internet.domainName()}/.well-known/agent-registration.json`;
  return { name, uri };
});

/** Realistic feedback content (tags from the spec's examples), seeded. */
export const feedbackArb = fc
  .record({
    value: fc.bigInt({ min: -1_000_000n, max: 1_000_000n }),
    decimals: fc.integer({ min: 0, max: 18 }),
    tag1: fc.constantFrom('starred', 'uptime', 'responseTime', 'successRate', 'reachable'),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  })
  .map((f) => {
    faker.seed(f.seed);
    return {
      value: f.value,
      decimals: f.decimals,
      tag1: f.tag1,
      tag2: faker.word.noun(),
      endpoint: faker.internet.url(),
      uri: `ipfs://bafy${faker.string.alphanumeric({ length: 20, casing: 'lower' })}`,
    };
  });
export type FeedbackContent = typeof feedbackArb extends fc.Arbitrary<infer T> ? T : never;

/** EIP-712 domain of the identity registry (ERC-8004 spec: "ERC8004IdentityRegistry" / "1"). */
export function identityDomain(s: ChainSession) {
  return { name: 'ERC8004IdentityRegistry', version: '1', chainId: s.chainId, verifyingContract: s.contract('identityRegistry') };
}

/** newWallet's signature over AgentWalletSet(agentId, newWallet, owner, deadline). */
export async function signWallet(s: ChainSession, signerRole: string, m: { agentId: bigint; newWallet: Address; owner: Address; deadline: bigint }): Promise<Hex> {
  return s.account(signerRole).signTypedData({
    domain: identityDomain(s),
    types: {
      AgentWalletSet: [
        { name: 'agentId', type: 'uint256' },
        { name: 'newWallet', type: 'address' },
        { name: 'owner', type: 'address' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'AgentWalletSet',
    message: m,
  });
}

/** Register an agent as `owner`; a failure here is a precondition problem, not this scenario's verdict. */
export async function registerAgent(ctx: RunContext, s: ChainSession, owner: string, card: AgentCard): Promise<bigint> {
  ctx.act(`[${s.id}] ${owner} registers agent "${card.name}" (${card.uri.slice(0, 48)}…)`);
  const r = await s.attempt({ label: `${owner} registers an agent`, role: owner, address: s.contract('identityRegistry'), abi: identityAbi, functionName: 'register', args: [card.uri] });
  const ev = r.ok ? r.events.find((e) => e.eventName === 'Registered') : undefined;
  if (!r.ok || !ev) throw new Indeterminate('ERC8004-ID-01', `setup: register(agentURI) by ${owner} did not produce a Registered event (${r.ok ? 'no event' : r.reason})`);
  return ev.args.agentId as bigint;
}

/** Call a registry function as a role (identity by default). */
export function call(s: ChainSession, role: string, functionName: string, args: readonly unknown[], label: string, registry: 'identityRegistry' | 'reputationRegistry' = 'identityRegistry') {
  // Dispatch by name across two ABIs: typed as a plain Abi on purpose (callers name the function).
  const abi: Abi = registry === 'identityRegistry' ? identityAbi : reputationAbi;
  return s.attempt({ label, role, address: s.contract(registry), abi, functionName, args });
}

export const outcome = (r: { ok: boolean; reason?: string; hash?: string }) => (r.ok ? `accepted${r.hash ? ` in ${r.hash}` : ''}` : `refused: ${r.reason}`);
