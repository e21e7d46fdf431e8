/**
 * Price negotiation (seed 004 "Phase 2: Negotiation (Optional)"): the client proposes, the agent
 * counters or accepts, the client accepts (or rejects). Messages are APS1Negotiation (schemas.ts).
 *
 * What the protocol fixes, for any agent (requirements APS-NEG-*): a reply is a valid message for
 * the same jobId in USD; an agent never accepts nor counters below its floor (`minPrice`, else
 * `basePrice`: "floor from minPrice"); its `accept` repeats the price it accepts; an agreed price is
 * what its executions then charge (APS-PROF-05).
 *
 * {@link respond} is the reference agent's policy, as a pure function (the model the scenarios use
 * for the reference's own replies is only the rules above): a price at or above the floor is
 * accepted as is; below it, the agent counters at the floor; the client's `accept` of a price at or
 * above the floor is confirmed, below it rejected; a client `reject` closes the negotiation; after an
 * agreement only the same `accept` is confirmed again (a retry).
 */
import { usdToUnits } from './price.ts';

/** The pricing block of a manifest. */
export interface Pricing {
  basePrice: number;
  currency: 'USD';
  negotiable: boolean;
  minPrice?: number;
  maxPrice?: number;
}

/** The lowest price the agent takes: `minPrice` when negotiable and declared, else `basePrice`. */
export function floorPrice(p: Pricing): number {
  return p.negotiable && p.minPrice !== undefined ? p.minPrice : p.basePrice;
}

/** One job's negotiation as the agent remembers it. */
export interface NegotiationState {
  /** The agreed price (USD), once either side accepted. */
  agreed?: number;
  /** The client rejected: nothing more is agreed on this job. */
  closed?: boolean;
}

export type NegotiationType = 'propose' | 'counter' | 'accept' | 'reject';

/** The reply's content (the server adds jobId, currency and timestamp). */
export interface NegotiationReply {
  type: NegotiationType;
  price: number;
  message?: string;
}

/**
 * The reference policy. Prices are compared in base units (exact); a price that has no exact
 * base-unit value must be refused before this is called.
 */
export function respond(p: Pricing, state: NegotiationState, msg: { type: NegotiationType; price: number }, decimals = 6): { reply: NegotiationReply; next: NegotiationState } {
  const floor = floorPrice(p);
  const at = (x: number) => usdToUnits(x, decimals) ?? -1n;
  const aboveFloor = at(msg.price) >= at(floor);
  if (state.closed) return { reply: { type: 'reject', price: msg.price, message: 'negotiation closed by the client' }, next: state };
  if (state.agreed !== undefined) {
    if (msg.type === 'accept' && at(msg.price) === at(state.agreed)) return { reply: { type: 'accept', price: state.agreed }, next: state };
    return { reply: { type: 'reject', price: state.agreed, message: `already agreed at ${state.agreed} USD` }, next: state };
  }
  switch (msg.type) {
    case 'propose':
    case 'counter':
      if (aboveFloor) return { reply: { type: 'accept', price: msg.price }, next: { agreed: msg.price } };
      return { reply: { type: 'counter', price: floor, message: `Minimum $${floor}` }, next: state };
    case 'accept':
      if (aboveFloor) return { reply: { type: 'accept', price: msg.price }, next: { agreed: msg.price } };
      return { reply: { type: 'reject', price: msg.price, message: `below the minimum of $${floor}` }, next: state };
    case 'reject':
      return { reply: { type: 'reject', price: msg.price, message: 'negotiation closed' }, next: { closed: true } };
  }
}
