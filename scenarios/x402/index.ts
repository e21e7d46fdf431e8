/** Protocol `x402`: an x402 resource server (and facilitator) taking exact/EVM payments in USDC. */
import { defineProtocol } from '../../harness/engine/dsl.ts';
import { x402Requirements } from './requirements.ts';
import { x402Scenarios } from './scenarios.ts';

export default defineProtocol({
  id: 'x402',
  title: 'x402 v2/v1: 402 challenge, exact scheme on EVM (EIP-3009 USDC), facilitator verify/settle',
  requirements: x402Requirements,
  scenarios: x402Scenarios,
});
