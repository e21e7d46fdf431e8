/** Protocol `agentripe`: x402-paid tasks, escrowed USDC, AI review with at most 5 rejections (seed 002). */
import { defineProtocol } from '../../harness/engine/dsl.ts';
import { agentripeRequirements } from './requirements.ts';
import { agentripeScenarios } from './scenarios.ts';

export default defineProtocol({
  id: 'agentripe',
  title: 'Agentripe: x402-paid tasks, USDC escrow, AI review (5 rejections then refund), ERC-8004 identity',
  requirements: agentripeRequirements,
  scenarios: agentripeScenarios,
});
