/** Protocol `asa`: NIP-A5 agent service agreements over Nostr (seed 003), settled with L402 over a simulated Lightning network. No chain. */
import { defineProtocol } from '../../harness/engine/dsl.ts';
import { ASA_CONSTANTS } from '../../reference-impl/asa/protocol/constants.ts';
import { AsaConfig } from './lab.ts';
import { asaRegister } from './register.ts';
import { asaRequirements } from './requirements.ts';
import { asaScenarios } from './scenarios.ts';

export default defineProtocol({
  id: 'asa',
  revisions: [
    {
      id: 'pr-2273@4c01a526',
      title: 'NIP-A5 PR #2273 as of 2026-03-19 ("Address Copilot review feedback"), before payment verification and attestation namespacing',
      source: 'nostr-protocol/nips refs/pull/2273 commit 4c01a526',
      note: 'the harness holds the text of d78fb054 only; rules other than attestations are taken as unchanged by d78fb054, whose message names only payment verification, attestation namespacing and interoperability',
    },
    {
      id: 'pr-2273@d78fb054',
      title: 'NIP-A5 PR #2273 as of 2026-03-28 (payment verification, attestation namespacing, interoperability)',
      source: 'nostr-protocol/nips refs/pull/2273 commit d78fb054 (A5.md, 567 lines)',
      default: true,
    },
  ],
  order: 40,
  summary:
    'NIP-A5 agent service agreements (kinds 38400-38403) on a Nostr relay, NIP-17 negotiation, L402 settlement over a simulated Lightning network with real BOLT11 invoices and macaroons, attestations with payment proof; no chain',
  title: 'ASA: NIP-A5 agent service agreements over Nostr, settled with L402 over Lightning',
  requirements: asaRequirements,
  scenarios: asaScenarios,
  endpoints: {
    'asa-relay': { description: 'a Nostr relay (ws:// or wss://; probed with an HTTP GET, where NIP-11 answers)', probe: { path: '', method: 'GET' } },
    'asa-l402': { description: 'the ASA provider’s L402-protected resource (the l402 tag of its 38400); an unpaid request gets 402', probe: { path: '' } },
    'asa-lightning': { description: 'the Lightning network the provider’s node is on (the harness’s simulation API: GET /v1/graph, POST /v1/nodes, …)', probe: { path: '/health' } },
  },
  capabilities: { 'asa:reputation-view': 'the provider serves the PR’s proof-of-payment verification at config.asa.provider.reputation/<pubkey>' },
  config: AsaConfig,
  register: asaRegister,
  constants: ASA_CONSTANTS,
  docs: { readme: 'scenarios/asa/README.md', profile: 'scenarios/asa/profile.md' },
});
