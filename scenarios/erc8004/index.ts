/** Protocol `erc8004`: ERC-8004 identity + reputation registries. */
import { defineProtocol } from '../../harness/engine/dsl.ts';
import { erc8004Requirements } from './requirements.ts';
import { erc8004Scenarios } from './scenarios.ts';

export default defineProtocol({
  id: 'erc8004',
  revisions: [
    {
      id: 'v1',
      title: 'ERC-8004 Oct-Dec 2025: giveFeedback with feedbackAuth, 0-100 scores, registration "endpoints"',
      source: 'ethereum/ERCs ERCS/erc-8004.md @0b839720 (status Review); erc-8004-contracts before b7a30fe (2026-01-08)',
      note: 'the registries at the canonical addresses are the current ones (getVersion 2.0.0); v1 shares only the registration and update rules, its feedbackAuth feedback and endpoint-entry wallet are not checked',
    },
    {
      id: 'v2',
      title: 'ERC-8004 2.0.0: int128 value + valueDecimals feedback, no feedbackAuth, setAgentWallet',
      source: 'erc-8004/erc-8004-contracts ERC8004SPEC.md and *Upgradeable.sol (2026-01 and later)',
      default: true,
    },
  ],
  order: 20,
  summary: 'ERC-8004 IdentityRegistry (register, URI, metadata, EIP-712 agent wallet) and ReputationRegistry',
  docs: { readme: 'harness/README.md#first-protocols' },
  title: 'ERC-8004 Trustless Agents: identity and reputation registries',
  requirements: erc8004Requirements,
  scenarios: erc8004Scenarios,
});
