/** Protocol `asa`: NIP-A5 agent service agreements over Nostr (seed 003), settled with L402 over a simulated Lightning network. No chain. */
import { defineProtocol } from '../../harness/engine/dsl.ts';
import { AsaConfig } from './lab.ts';
import { asaRegister } from './register.ts';
import { asaRequirements } from './requirements.ts';
import { asaScenarios } from './scenarios.ts';

export default defineProtocol({
  id: 'asa',
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
  docs: { readme: 'scenarios/asa/README.md', profile: 'scenarios/asa/profile.md' },
});
