/** Every `asa` scenario, in report order. */
import { expiry, lifecycle, negotiate, reputation } from './agreements.ts';
import { duplicateDelivery } from './faults.ts';
import { challengeScenario, count, expired, forged, lsat, malformed, paidScenario, scope, unknownCaveat, wrongPreimage } from './l402.ts';
import { apiRefusals, invoiceRules, routing } from './lightning.ts';
import { addressable, deletion, expiration, filters, giftWraps, publishRead, relayMalformed } from './relay.ts';
import { providerRestart } from './restart.ts';
import { robustness } from './robustness.ts';

export const asaScenarios = [
  publishRead,
  filters,
  addressable,
  deletion,
  expiration,
  giftWraps,
  relayMalformed,
  challengeScenario,
  paidScenario,
  wrongPreimage,
  forged,
  expired,
  scope,
  count,
  unknownCaveat,
  lsat,
  malformed,
  routing,
  invoiceRules,
  apiRefusals,
  negotiate,
  lifecycle,
  expiry,
  reputation,
  robustness,
  duplicateDelivery,
  providerRestart,
];
