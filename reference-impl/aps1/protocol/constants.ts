/**
 * The APS-1 constants a what-if profile may change (harness/profiles), declared once with their
 * ranges: the platform fee, the arbitration penalty and its cap (seed 004 "Protocol Constants",
 * specs/protocols.md §D), and the four compat switches that reproduce the public contracts' quirks.
 * Defaults come from profile.json, which the contracts' init arguments in the chain fixture also
 * read, so without a profile everything runs exactly as before.
 *
 * The compat switches apply to the contracts only: the scenarios keep checking the intent, so a
 * profile that turns one on shows which requirements the public behaviour breaks (profile.md).
 * `AMH_APS1_PROFILE=compat` (the variable from before profiles existed) selects the `compat` preset.
 */
import { defineConstants } from '../../../harness/profiles/constants.ts';
import { APS1_PROFILE, type Aps1Profile } from './profile.ts';
import data from './profile.json' with { type: 'json' };

const compatSwitch = (meaning: string, contract: string) => ({ type: 'boolean', default: false, meaning, appliesTo: ['contract'], contract }) as const;

export const APS1_CONSTANTS = defineConstants(
  'aps1',
  {
    platformFeeBps: {
      type: 'bps',
      default: data.platformFeeBps,
      // The contracts' own bound (MAX_PLATFORM_FEE_BPS = 3000).
      min: 0,
      max: data.maxPlatformFeeBps,
      meaning: 'platform fee on a settled job and on each approved milestone, in basis points (seed: APS1_PLATFORM_FEE_BPS = 800)',
      appliesTo: ['contract', 'model', 'requirements'],
      contract:
        'NexusV2: initialize argument, then setPlatformFee by the owner (admin) at start; StreamV1 has no setter: on the reference chain the service writes its platformFeeBps storage slot (anvil_setStorageAt) and checks the view',
    },
    arbitrationPenaltyBps: {
      type: 'bps',
      default: data.arbitrationPenaltyBps,
      // NexusV2's bound (MAX_PENALTY_BPS = 1000).
      min: 0,
      max: data.maxArbitrationPenaltyBps,
      meaning: 'arbitration penalty on a disputed job, in basis points of its budget (§D: 3%)',
      appliesTo: ['contract', 'model', 'requirements'],
      contract: 'NexusV2: initialize argument, then setArbitrationPenalty by the owner at start',
    },
    maxArbitrationPenaltyTokens: {
      type: 'integer',
      default: data.maxArbitrationPenaltyTokens,
      min: 0,
      max: 1_000_000,
      unit: 'tokens',
      meaning: 'cap of the arbitration penalty in whole tokens (§D: 10, stored as tokens × 1e18)',
      appliesTo: ['contract', 'model', 'requirements'],
      contract: 'NexusV2: initialize argument, then setMaxArbitrationPenalty(tokens × 1e18) by the owner at start',
    },
    penaltyFromWinner: compatSwitch('compat: the penalty is cut from the winner (the public NexusV2)', 'NexusV2.setCompat by the owner at start'),
    penaltyCapIn18Decimals: compatSwitch('compat: the cap (tokens × 1e18) is compared with 6-decimal base units, so it never binds', 'NexusV2.setCompat by the owner at start'),
    timeoutAfterDelivery: compatSwitch('compat: claimTimeout from any unfinished status; completeJob without a deadline', 'NexusV2.setCompat by the owner at start'),
    verifyByAnyone: compatSwitch('compat: anyone may verify a proof commitment (the public AIProofRegistry)', 'AIProofRegistry.setCompat by the owner at start'),
  },
  (v) => {
    // Penalty thresholds on 6-decimal tokens (AlphaUSD): the first budget whose penalty is not 0, and
    // the first whose penalty reaches the cap.
    const bps = v.arbitrationPenaltyBps;
    const cap = BigInt(v.maxArbitrationPenaltyTokens) * 10n ** 6n;
    const ceil = (a: bigint, b: bigint) => (a + b - 1n) / b;
    return {
      platformFeeBpsPercent: percent(v.platformFeeBps),
      arbitrationPenaltyBpsPercent: percent(bps),
      arbitrationPenaltyBpsZeroBelow: bps === 0n ? '0 whatever the budget' : `0 below ${ceil(10_000n, bps)} base units`,
      maxArbitrationPenaltyTokensFrom:
        bps === 0n ? 'the cap never binds' : `exactly ${v.maxArbitrationPenaltyTokens} AlphaUSD (${cap.toLocaleString('en-US')}) from ${units6(ceil(cap * 10_000n, bps))} AlphaUSD up`,
    };
  },
  {
    presets: {
      reference: {},
      compat: { penaltyFromWinner: true, penaltyCapIn18Decimals: true, timeoutAfterDelivery: true, verifyByAnyone: true },
    },
    presetEnv: 'AMH_APS1_PROFILE',
  },
);

export default APS1_CONSTANTS;

/** The effective APS-1 constants. */
export type Aps1Constants = typeof APS1_CONSTANTS.defaults;

/** 333333334 → "333.333334" (6-decimal base units as a decimal, trailing zeros dropped). */
function units6(n: bigint): string {
  const frac = (n % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return `${n / 1_000_000n}${frac ? `.${frac}` : ''}`;
}

/** 800 → "8%", 250 → "2.5%" (basis points as a percentage, exact). */
function percent(bps: bigint): string {
  const whole = bps / 100n;
  const frac = bps % 100n;
  return `${whole}${frac ? `.${frac.toString().padStart(2, '0').replace(/0$/, '')}` : ''}%`;
}

/**
 * The run's APS-1 profile (the model's and the contracts' parameters) for a what-if profile:
 * `withCompat` true → its compat switches too (what the chain runs); false → the reference
 * switches (what the scenarios check: the intent).
 */
export function aps1ProfileOf(x: { profile?: Parameters<typeof APS1_CONSTANTS.of>[0] } | null | undefined, withCompat: boolean): Aps1Profile {
  const k = APS1_CONSTANTS.of(x?.profile);
  if (k === APS1_CONSTANTS.defaults) return APS1_PROFILE;
  return {
    ...APS1_PROFILE,
    name: 'what-if',
    platformFeeBps: k.platformFeeBps,
    arbitrationPenaltyBps: k.arbitrationPenaltyBps,
    maxArbitrationPenaltyTokens: BigInt(k.maxArbitrationPenaltyTokens),
    compat: withCompat
      ? { penaltyFromWinner: k.penaltyFromWinner, penaltyCapIn18Decimals: k.penaltyCapIn18Decimals, timeoutAfterDelivery: k.timeoutAfterDelivery, verifyByAnyone: k.verifyByAnyone }
      : { ...APS1_PROFILE.compat },
  };
}
