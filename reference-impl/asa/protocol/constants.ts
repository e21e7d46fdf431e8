/**
 * The NIP-A5 constants a what-if profile may change (harness/profiles): the limits the caveats of a
 * paid L402 token carry (scenarios/asa/profile.md ASA-PROF-07): how many requests it buys and how
 * long it stays valid. Defaults are today's reference provider, so without a profile everything runs
 * exactly as before.
 *
 * The PR asks that macaroons carry expiry and request-count caveats and that providers check them,
 * but leaves the limits to each provider: without a profile any limits pass (the scenarios test the
 * caveats by holder attenuation); a profile that sets a limit certifies the provider as minting
 * tokens with exactly that limit, and tests it (ASA-PROF-12).
 */
import { defineConstants } from '../../../harness/profiles/constants.ts';

export const ASA_CONSTANTS = defineConstants('asa', {
  tokenMaxRequests: {
    type: 'integer',
    default: 1,
    // A request-count scenario spends a token this many times.
    min: 1,
    max: 100,
    unit: 'requests',
    meaning: 'requests one paid L402 token buys: its `<service>_max_requests` caveat (ASA-PROF-07: 1)',
    appliesTo: ['server', 'requirements'],
    implementationDefined: true,
  },
  tokenLifetimeSeconds: {
    type: 'seconds',
    default: 3600,
    // From a minute (a request must fit) to 30 days.
    min: 60,
    max: 2_592_000,
    unit: 's',
    meaning: 'how long a paid L402 token stays valid: its `<service>_valid_until` caveat = mint time + this (ASA-PROF-07: 1 h)',
    appliesTo: ['server', 'requirements'],
    implementationDefined: true,
  },
});

export default ASA_CONSTANTS;

/** The effective NIP-A5 constants. */
export type AsaConstants = typeof ASA_CONSTANTS.defaults;
