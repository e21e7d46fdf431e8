/**
 * Requirement catalog for `erc8004`: the identity and reputation registries of ERC-8004
 * "Trustless Agents" (current v2 interface, erc-8004-contracts ERC8004SPEC.md and contracts).
 */
import { defineCatalog } from '../../harness/engine/catalog.ts';

const SPEC = { document: 'ERC-8004 Trustless Agents (erc-8004/erc-8004-contracts ERC8004SPEC.md)', url: 'https://eips.ethereum.org/EIPS/eip-8004' };
const ID_IMPL = { document: 'erc-8004-contracts IdentityRegistryUpgradeable.sol (see shared/specs/x402-erc8004.md §2.2)' };
const REP_IMPL = { document: 'erc-8004-contracts ReputationRegistryUpgradeable.sol (see shared/specs/x402-erc8004.md §2.3)' };

export const erc8004Requirements = defineCatalog([
  {
    id: 'ERC8004-ID-01',
    level: 'MUST',
    title: 'register mints a new agent owned by the caller',
    source: { ...SPEC, section: 'Identity Registry: registration' },
    text: 'register(agentURI) mints a new agentId to msg.sender, emits Registered(agentId, agentURI, owner), makes tokenURI(agentId) the agentURI, and sets agentWallet to the caller.',
    profileAssumption: false,
  },
  {
    id: 'ERC8004-ID-02',
    level: 'MUST',
    title: 'Only the owner or an approved operator updates an agent',
    source: { ...ID_IMPL, section: 'setAgentURI / setMetadata: "Not authorized"' },
    text: 'setAgentURI and setMetadata succeed only for the owner, an operator approved for all, or the approved address of the agentId; anyone else MUST be refused.',
    profileAssumption: false,
  },
  {
    id: 'ERC8004-ID-03',
    revisions: ['v2'],
    level: 'MUST',
    title: "Only the owner or an approved operator sets an agent's wallet",
    source: { ...SPEC, section: `agentWallet: "set through setAgentWallet"; ${ID_IMPL.document}` },
    text: 'setAgentWallet MUST be refused when called by anyone other than the owner, an approved operator or the approved address — even with a valid signature from the new wallet.',
    profileAssumption: false,
  },
  {
    id: 'ERC8004-ID-04',
    revisions: ['v2'],
    level: 'MUST',
    title: 'A new agent wallet must prove control with an EIP-712 signature',
    source: { ...SPEC, section: 'agentWallet: EIP-712 AgentWalletSet(agentId,newWallet,owner,deadline) signed by newWallet (ECDSA or ERC-1271)' },
    text: "setAgentWallet only succeeds with a signature by newWallet over AgentWalletSet(agentId, newWallet, owner, deadline) in the registry's domain; any other signer MUST be refused.",
    profileAssumption: false,
  },
  {
    id: 'ERC8004-ID-05',
    revisions: ['v2'],
    level: 'MUST',
    title: 'An expired wallet signature is refused',
    source: { ...ID_IMPL, section: 'setAgentWallet: require(block.timestamp <= deadline, "expired")' },
    text: 'setAgentWallet MUST be refused once block.timestamp is past the signed deadline.',
    profileAssumption: false,
  },
  {
    id: 'ERC8004-ID-06',
    revisions: ['v2'],
    level: 'MUST',
    title: 'A wallet signature deadline may be at most 5 minutes ahead',
    source: { ...ID_IMPL, section: 'setAgentWallet: require(deadline <= block.timestamp + 5 minutes, "deadline too far")' },
    text: 'setAgentWallet MUST be refused when the deadline is more than 5 minutes after the current block time (signatures are short-lived).',
    profileAssumption: false,
  },
  {
    id: 'ERC8004-ID-07',
    revisions: ['v2'],
    level: 'MUST',
    title: 'Transferring an agent clears its wallet',
    source: { ...SPEC, section: 'agentWallet: "cleared on transfer"' },
    text: 'When the agent NFT is transferred, agentWallet is reset: getAgentWallet returns the zero address until the new owner sets one.',
    profileAssumption: false,
  },
  {
    id: 'ERC8004-ID-08',
    revisions: ['v2'],
    level: 'MUST',
    title: 'The agentWallet metadata key is reserved',
    source: { ...SPEC, section: 'On-chain metadata: "agentWallet" is reserved' },
    text: 'setMetadata with the key "agentWallet" MUST be refused (the wallet only changes through setAgentWallet); other keys are stored and readable with getMetadata.',
    profileAssumption: false,
  },
  {
    id: 'ERC8004-REP-01',
    revisions: ['v2'],
    level: 'MUST',
    title: 'Feedback is stored per client with 1-based indexes',
    source: { ...SPEC, section: 'Reputation Registry: giveFeedback / readFeedback' },
    text: 'giveFeedback by a client stores value, valueDecimals, tag1 and tag2 at feedbackIndex = previous lastIndex + 1 (starting at 1), emits NewFeedback with that index, and readFeedback returns exactly what was given.',
    profileAssumption: false,
  },
  {
    id: 'ERC8004-REP-02',
    revisions: ['v2'],
    level: 'MUST',
    title: 'Self-feedback is refused',
    source: { ...SPEC, section: 'giveFeedback: "the feedback submitter MUST NOT be the agent owner or an approved operator"' },
    text: "giveFeedback MUST be refused when the caller is the agent's owner, an operator approved for all, or its approved address.",
    profileAssumption: false,
  },
  {
    id: 'ERC8004-REP-03',
    revisions: ['v2'],
    level: 'MUST',
    title: 'valueDecimals above 18 is refused',
    source: { ...REP_IMPL, section: 'giveFeedback: require(valueDecimals <= 18, "too many decimals")' },
    text: 'giveFeedback MUST be refused when valueDecimals is greater than 18.',
    profileAssumption: false,
  },
  {
    id: 'ERC8004-REP-04',
    revisions: ['v2'],
    level: 'MUST',
    title: 'Revoked feedback is marked and excluded from summaries',
    source: { ...SPEC, section: 'revokeFeedback / getSummary' },
    text: 'revokeFeedback by the original client marks the entry revoked (readFeedback isRevoked = true) and getSummary no longer counts it; revoking it again, or revoking an index the caller never gave, MUST be refused.',
    profileAssumption: false,
  },
]);
