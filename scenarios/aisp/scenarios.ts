/** Every `aisp` scenario: the contract alone, the backend, the inference server. */
import { backendScenarios } from './backend.ts';
import { contractScenarios } from './contract.ts';
import { inferenceScenarios } from './inference.ts';
import { fundedReorg } from './reorg.ts';

export const aispScenarios = [...contractScenarios, ...backendScenarios, ...inferenceScenarios, fundedReorg];
