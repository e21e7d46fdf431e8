/**
 * The AI Market constants a what-if profile may change (harness/profiles): the routing hub's fee
 * and the payment channels' lifetime. Defaults are today's reference deployment, so without a
 * profile everything runs exactly as before.
 *
 * The two differ in kind (scenarios/aimarket/profile.md AIM-PROF-15): the channel lifetime is the
 * protocol's ("Channels auto-expire 24h"), so the scenarios always hold a hub to the profile's
 * value; the routing fee is each hub's own choice (it declares `federation.routing_fee_bps`), so
 * without a profile any declared fee passes, and a profile that sets one certifies the router as
 * configured with exactly that fee.
 */
import { defineConstants } from '../../../harness/profiles/constants.ts';

/** 86 400 → "24 h", 5 400 → "5400 s" (a lifetime in requirement texts). */
function duration(s: number): string {
  if (s % 86_400 === 0 && s > 86_400) return `${s / 86_400} days`;
  if (s % 3600 === 0) return `${s / 3600} h`;
  return `${s} s`;
}

export const AIMARKET_CONSTANTS = defineConstants(
  'aimarket',
  {
    routingFeeBps: {
      type: 'bps',
      default: 100,
      // The well-known schema's bound (routing_fee_bps 0..10000).
      min: 0,
      max: 10_000,
      meaning:
        "the routing hub's fee on federated matches, in basis points: routed_price_usd = price × (1 + fee/10 000) (spec §2.1; the reference router's 1%); without a profile any declared fee passes",
      appliesTo: ['server', 'requirements'],
      implementationDefined: true,
    },
    channelExpirySeconds: {
      type: 'seconds',
      default: 86_400,
      // The expiry scenario calls up to an hour before the mark; a year bounds the clock moves.
      min: 600,
      max: 31_536_000,
      unit: 's',
      meaning: 'lifetime of a payment channel from its open, on the chain clock (v1 doc: "Channels auto-expire 24h"; AIMarketEscrow "expireChannel after 24h")',
      appliesTo: ['server', 'contract', 'model', 'requirements'],
      contract:
        'AIMarketEscrow has no constructor and no admin: on the reference chain the service writes the lifetime slot (anvil_setStorageAt) and checks channelTtl(); a third-party escrow must be built with the lifetime',
    },
  },
  (v) => ({ channelExpirySecondsText: duration(v.channelExpirySeconds) }),
);

export default AIMARKET_CONSTANTS;

/** The effective AI Market constants. */
export type AimarketConstants = typeof AIMARKET_CONSTANTS.defaults;
