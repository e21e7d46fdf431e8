/**
 * Lightning routing-fee math (BOLT 7 channel_update: fee_base_msat + amount × fee_proportional_millionths
 * / 1,000,000, rounded down), in msat bigints: one pure function each, used by the simulated
 * network, by the scenarios' oracle and by the tests.
 */

export interface ChannelPolicy {
  baseMsat: bigint;
  ppm: bigint;
  cltvDelta: number;
}

/** The fee a node charges to forward `amountMsat` over a channel with `policy`. */
export const hopFee = (policy: ChannelPolicy, amountMsat: bigint): bigint => policy.baseMsat + (amountMsat * policy.ppm) / 1_000_000n;

export interface HopAmount {
  /** Amount carried over this hop (what the next node receives). */
  amountMsat: bigint;
  /** Fee the hop's sending node keeps (0 for the payer's own first hop). */
  feeMsat: bigint;
  /** CLTV expiry delta accumulated up to the payee. */
  cltv: number;
}

/**
 * Amounts along a route of n hops, given the policies of the forwarding nodes: `policies[i]` is the
 * outgoing policy of the node that forwards over hop i+1 (so n-1 policies for n hops). The payer
 * sends amounts[0].amountMsat; the payee receives `amountMsat`.
 */
export function routeAmounts(amountMsat: bigint, forwarders: readonly ChannelPolicy[], minFinalCltv: number): { hops: HopAmount[]; totalFeeMsat: bigint; totalCltv: number } {
  const hops: HopAmount[] = [];
  let amt = amountMsat;
  let cltv = minFinalCltv;
  hops.unshift({ amountMsat: amt, feeMsat: 0n, cltv });
  for (let i = forwarders.length - 1; i >= 0; i--) {
    const fee = hopFee(forwarders[i]!, amt);
    amt += fee;
    cltv += forwarders[i]!.cltvDelta;
    hops.unshift({ amountMsat: amt, feeMsat: fee, cltv });
  }
  return { hops, totalFeeMsat: amt - amountMsat, totalCltv: cltv };
}
