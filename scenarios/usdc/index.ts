/** Protocol `usdc`: EIP-3009 + EIP-2612 behaviour of the target's USDC. */
import { defineProtocol } from '../../harness/engine/dsl.ts';
import { usdcRequirements } from './requirements.ts';
import { usdcScenarios } from './scenarios.ts';

export default defineProtocol({
  id: 'usdc',
  revisions: [{ id: 'fiattoken-v2.2', title: 'FiatToken v2.2 with EIP-3009 and EIP-2612', source: 'circlefin/stablecoin-evm contracts/v2 (specs/x402-erc8004.md §3)', default: true }],
  order: 10,
  summary: 'USDC (FiatToken v2.2): EIP-3009 transfer/receive/cancel, EIP-2612 permit, EIP-712 domain',
  docs: { readme: 'harness/README.md#first-protocols' },
  title: 'USDC (FiatToken v2.2): EIP-3009 transfer with authorization, EIP-2612 permit',
  requirements: usdcRequirements,
  scenarios: usdcScenarios,
});
