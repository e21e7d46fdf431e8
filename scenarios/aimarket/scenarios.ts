/** Every `aimarket` scenario, in report order. */
import { channelExpiry, channelModel, channelOpen } from './channels.ts';
import { discovery, intent, mcpSdk, pricing } from './discovery.ts';
import { escrow } from './escrow.ts';
import { duplicateDelivery } from './faults.ts';
import { announcements, federatedSearch, routedInvoke } from './federation.ts';
import { malformed } from './malformed.ts';
import { payPerCall } from './payments.ts';
import { pipelines } from './pipelines.ts';
import { channelReorg } from './reorg.ts';
import { hubRestart } from './restart.ts';
import { robustness } from './robustness.ts';

export const aimScenarios = [
  discovery,
  mcpSdk,
  payPerCall,
  pricing,
  intent,
  channelOpen,
  channelModel,
  channelExpiry,
  channelReorg,
  hubRestart,
  duplicateDelivery,
  pipelines,
  federatedSearch,
  routedInvoke,
  announcements,
  malformed,
  robustness,
  escrow,
];
