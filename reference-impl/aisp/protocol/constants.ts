/**
 * The AISP constants a what-if profile may change (harness/profiles): the protocol fee and the
 * refund rule of an early revoke. Defaults come from profile.json, which the marketplace's init
 * arguments in the chain fixture also read, so without a profile everything runs exactly as before.
 */
import { defineConstants } from '../../../harness/profiles/constants.ts';
import { REFUND_RULES } from './profile.ts';
import data from './profile.json' with { type: 'json' };

/** 100 → "1%", 50 → "0.5%" (basis points as a percentage, exact). */
function percent(bps: bigint): string {
  const frac = (bps % 100n).toString().padStart(2, '0').replace(/0$/, '');
  return `${bps / 100n}${bps % 100n ? `.${frac}` : ''}%`;
}

export const AISP_CONSTANTS = defineConstants(
  'aisp',
  {
    feeBps: {
      type: 'bps',
      default: data.feeBps,
      // DiemMarketplace.initialize refuses more than 10 000.
      min: 0,
      max: 10_000,
      meaning: 'protocol fee on settle and on the earned part of an early revoke, in basis points (AISP-PROF: 1%)',
      appliesTo: ['contract', 'model', 'requirements'],
      contract:
        'DiemMarketplace.initialize argument, no setter: on the reference chain the service writes its feeBps storage slot (anvil_setStorageAt) and checks the view; a third-party marketplace must be deployed with the fee',
    },
    refundRule: {
      type: 'enum',
      default: data.refundRule,
      values: REFUND_RULES,
      meaning: 'days an early revoke charges the renter (AISP-PROF-05): started-days = whole days elapsed + 1 (the day in progress is charged), completed-days = whole days elapsed (it is refunded)',
      appliesTo: ['contract', 'model', 'requirements'],
      contract:
        'DiemMarketplace.refundRule (STARTED_DAYS/COMPLETED_DAYS), not an init argument: on the reference chain the service writes its storage slot (anvil_setStorageAt) and checks the view; a third-party marketplace must be deployed with the rule',
    },
  },
  (v) => ({
    feeBpsPercent: percent(v.feeBps),
    feeBpsProviderPercent: percent(10_000n - v.feeBps),
    refundRuleUsedDays: v.refundRule === 'started-days' ? 'whole days elapsed + 1 (the day in progress is charged)' : 'whole days elapsed (the day in progress is refunded)',
  }),
);

export default AISP_CONSTANTS;

/** The effective AISP constants. */
export type AispConstants = typeof AISP_CONSTANTS.defaults;
