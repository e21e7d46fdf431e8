/** Protocol `erc8004`: ERC-8004 identity + reputation registries. */
import { defineProtocol } from '../../harness/engine/dsl.ts';
import { erc8004Requirements } from './requirements.ts';
import { erc8004Scenarios } from './scenarios.ts';

export default defineProtocol({
  id: 'erc8004',
  order: 20,
  title: 'ERC-8004 Trustless Agents: identity and reputation registries',
  requirements: erc8004Requirements,
  scenarios: erc8004Scenarios,
});
