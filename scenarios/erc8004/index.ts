/** Protocol `erc8004`: ERC-8004 identity + reputation registries. */
import { defineProtocol } from '../../harness/engine/dsl.ts';
import { erc8004Requirements } from './requirements.ts';
import { erc8004Scenarios } from './scenarios.ts';

export default defineProtocol({
  id: 'erc8004',
  order: 20,
  summary: 'ERC-8004 IdentityRegistry (register, URI, metadata, EIP-712 agent wallet) and ReputationRegistry',
  docs: { readme: 'harness/README.md#first-protocols' },
  title: 'ERC-8004 Trustless Agents: identity and reputation registries',
  requirements: erc8004Requirements,
  scenarios: erc8004Scenarios,
});
