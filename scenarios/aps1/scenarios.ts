/** Every `aps1` scenario, in report order. */
import { duplicateExecute, duplicateHire } from './faults.ts';
import { escrowReuse, executePaid, executeUnpaid, malformed, manifest, messageReadings, negotiate, negotiatedPrice } from './agent.ts';
import { chainProfile, disputeOutcomes, feeBoundaries, jobAttacks, jobModel, jobRaces, penaltyCap, proofForgery, timeoutRules } from './jobs.ts';
import { marketAuth, marketHire, marketListing, marketRevert } from './market.ts';
import { proofRegistry, reputation } from './registries.ts';
import { escrowReorg } from './reorg.ts';
import { restartScenarios } from './restart.ts';
import { robustnessAgent, robustnessMarketplace } from './robustness.ts';
import { streamModel } from './streams.ts';

export const aps1Scenarios = [
  chainProfile,
  manifest,
  messageReadings,
  malformed,
  robustnessAgent,
  negotiate,
  negotiatedPrice,
  executePaid,
  executeUnpaid,
  escrowReuse,
  duplicateExecute,
  escrowReorg,
  ...restartScenarios,
  jobModel,
  jobRaces,
  jobAttacks,
  disputeOutcomes,
  penaltyCap,
  timeoutRules,
  feeBoundaries,
  streamModel,
  proofRegistry,
  proofForgery,
  reputation,
  marketListing,
  marketHire,
  marketAuth,
  marketRevert,
  duplicateHire,
  robustnessMarketplace,
];
