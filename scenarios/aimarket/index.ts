/** Protocol `aimarket`: AI Market Protocol (seed 001): signed manifests, MCP tools, 402 payments, channels, pipelines, federation, the channel escrow. */
import { defineProtocol } from '../../harness/engine/dsl.ts';
import { AIMARKET_CONSTANTS } from '../../reference-impl/aimarket/protocol/constants.ts';
import { AimConfigSchema } from '../../reference-impl/aimarket/protocol/wire.ts';
import { aimRegister } from './register.ts';
import { aimRequirements } from './requirements.ts';
import { aimScenarios } from './scenarios.ts';

export default defineProtocol({
  id: 'aimarket',
  revisions: [
    {
      id: 'v1',
      title: 'AI Market Protocol v1: well-known document, manifest, 402 + X-Payment, channels, pipelines, receipts v1',
      source: 'alexar76/aicom docs/ai-market-protocol-v1.md (specs/protocols.md §B.4)',
      note: 'v1 signed the manifest over three fields; the harness checks the current five-field canonical only, so no manifest-signature rule of v1 is certified',
    },
    {
      id: 'v2',
      title: 'AI Market Protocol 2.0.0-draft: five-field manifest canonical, receipts v2, federation, AIMarketEscrow',
      source: 'alexar76/aimarket-protocol spec.md v2.0.0-draft (2026-08-28) and test-vectors',
      default: true,
    },
  ],
  order: 30,
  summary:
    'AI Market Protocol ("Magic AI-Factory"): Ed25519-signed manifests (Python-json canonicals), MCP tools, 402 + tx-hash payments, integer-cent channels, DAG pipelines with a signed BOM, v2 federation, the AIMarketEscrow channel contract',
  title: 'AI Market Protocol: discovery, signed manifests and receipts, MCP, 402 payments, payment channels, pipelines, federation, AIMarketEscrow (Base)',
  requirements: aimRequirements,
  scenarios: aimScenarios,
  endpoints: {
    aimarket: { description: 'an AI Market factory or hub base URL (/.well-known/ai-market.json, /ai-market/*, /capabilities/{pid}/{cid}/invoke)', probe: { path: '/.well-known/ai-market.json' } },
    'aimarket-router': {
      description: 'a v2 hub that federates the `aimarket` hub (its seed list holds it): /ai-market/v2/search, /ai-market/v2/invoke, federation routes',
      probe: { path: '/.well-known/ai-market.json' },
    },
  },
  capabilities: { 'aimarket:failure-fixture': 'config.aimarket.failure names a capability and an input that fails with a typed failure (the refund scenarios use it)' },
  config: AimConfigSchema,
  register: aimRegister,
  constants: AIMARKET_CONSTANTS,
  docs: { readme: 'scenarios/aimarket/README.md', profile: 'scenarios/aimarket/profile.md' },
});
