/** Protocol `aps1`: APS-1 agent payments (seed 004): manifest, negotiation, NexusV2 / StreamV1 / direct escrow, execution, proofs, settlement, reputation. */
import { defineProtocol } from '../../harness/engine/dsl.ts';
import { APS1_CONSTANTS } from '../../reference-impl/aps1/protocol/constants.ts';
import { aps1Register } from './register.ts';
import { aps1Requirements } from './requirements.ts';
import { aps1Scenarios } from './scenarios.ts';

export default defineProtocol({
  id: 'aps1',
  revisions: [
    {
      id: 'seed-004',
      title: 'APS-1 as the seed and the public PayPol sources describe it (seed 004_fad0599b83ca4664)',
      source: 'shared/seeds/004_fad0599b83ca4664.txt; specs/protocols.md §D',
      default: true,
    },
  ],
  order: 50,
  summary: 'APS-1 (PayPol) on a Tempo-shaped chain: manifest, negotiation, NexusV2 job escrow with judge and disputes, StreamV1 milestones, proofs, reputation, an agent server and a marketplace',
  title: 'APS-1: agent payments with NexusV2 escrow, StreamV1 milestones, AIProofRegistry proofs and reputation (Tempo L1 Moderato)',
  requirements: aps1Requirements,
  scenarios: aps1Scenarios,
  endpoints: {
    'aps1-agent': { description: 'an APS-1 agent server base URL (GET /manifest, POST /negotiate, POST /execute, GET /status/:jobId, GET /health)', probe: { path: '/health' } },
    'aps1-marketplace': { description: 'an APS-1 marketplace base URL (GET /agents, GET /agents/:id, POST /agents/:id/execute)', probe: { path: '/agents' } },
  },
  register: aps1Register,
  docs: { readme: 'scenarios/aps1/README.md', profile: 'scenarios/aps1/profile.md' },
  constants: APS1_CONSTANTS,
});
