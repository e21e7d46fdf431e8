/** Protocol `x402`: an x402 resource server (and facilitator) taking exact/EVM payments in USDC. */
import { defineProtocol } from '../../harness/engine/dsl.ts';
import { x402Requirements } from './requirements.ts';
import { x402Register } from './register.ts';
import { x402Scenarios } from './scenarios.ts';

export default defineProtocol({
  id: 'x402',
  order: 30,
  summary: 'any x402 `exact`/EVM resource server (v2 `PAYMENT-*` headers, v1 `X-PAYMENT`; GET or POST resources) and its facilitator',
  endpoints: {
    'x402-resource': { description: 'the paid resource: a URL (GET), or {url, method, body, headers} for a POST resource with a JSON body', probe: { path: '' } },
    'x402-facilitator': { description: 'the facilitator the resource settles through (/verify, /settle, /supported); optional', probe: { path: '/supported' } },
    'x402-resource-failing': {
      description:
        'optional: a request to a paid route whose handler refuses it (>= 400) after the payment verified, e.g. {url, method: "POST", body: <a body the handler rejects>}; it must not be charged',
      probe: { path: '' },
    },
  },
  docs: { readme: 'scenarios/x402/README.md' },
  title: 'x402 v2/v1: 402 challenge, exact scheme on EVM (EIP-3009 USDC), facilitator verify/settle',
  requirements: x402Requirements,
  scenarios: x402Scenarios,
  register: x402Register,
});
