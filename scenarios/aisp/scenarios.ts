/** Every `aisp` scenario: the contract alone, the backend, the inference server, a reorg, a backend crash, duplicate delivery, malformed requests. */
import { backendScenarios } from './backend.ts';
import { contractScenarios } from './contract.ts';
import { faultScenarios } from './faults.ts';
import { inferenceScenarios } from './inference.ts';
import { fundedReorg } from './reorg.ts';
import { restartScenarios } from './restart.ts';
import { robustness } from './robustness.ts';

export const aispScenarios = [...contractScenarios, ...backendScenarios, ...inferenceScenarios, fundedReorg, ...restartScenarios, ...faultScenarios, robustness];
