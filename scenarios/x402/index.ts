/** Protocol `x402`: an x402 resource server (and facilitator) taking exact/EVM payments in USDC. */
import { defineProtocol } from '../../harness/engine/dsl.ts';
import { x402Requirements } from './requirements.ts';
import { x402Register } from './register.ts';
import { x402Scenarios } from './scenarios.ts';

export default defineProtocol({
  id: 'x402',
  revisions: [
    {
      id: 'v1',
      title: 'x402 v1: X-PAYMENT header, 402 challenge in the JSON body, maxAmountRequired, network names',
      source: 'coinbase/x402 specs v1 (specs/x402-erc8004.md §1.2)',
      note: 'a v1 certification leaves out the rules only v2 has (exact amount, `accepted`, PAYMENT-REQUIRED, v2 kinds in /supported); the v1 transport rules stay in v2 certifications too, since a v2 server may accept X-PAYMENT; the scenarios pay in v2 wherever a resource offers it',
    },
    {
      id: 'v2',
      title: 'x402 v2: PAYMENT-REQUIRED / PAYMENT-SIGNATURE / PAYMENT-RESPONSE headers, exact amount, accepted',
      source: 'x402-foundation/x402 specs v2, @x402/* 2.27 (specs/x402-erc8004.md §1)',
      default: true,
    },
  ],
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
