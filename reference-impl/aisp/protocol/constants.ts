/**
 * The AISP constants a what-if profile may change (harness/profiles). Defaults come from
 * profile.json, which the marketplace's init arguments in the chain fixture also read, so without a
 * profile everything runs exactly as before. Only the protocol fee is declared so far: the refund
 * rule of an early revoke (pro rata by whole days used, fees.ts) is not a parameter yet.
 */
import { defineConstants } from '../../../harness/profiles/constants.ts';
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
  },
  (v) => ({ feeBpsPercent: percent(v.feeBps), feeBpsProviderPercent: percent(10_000n - v.feeBps) }),
);

export default AISP_CONSTANTS;
