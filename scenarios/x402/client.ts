/**
 * The scenarios' side of x402: a payer agent (reference-impl/x402/agents/payer.ts) bound to a run
 * (its fetch records HTTP evidence, its clock is the chain's pending block time), and the resource
 * endpoint's request shape (method, body, headers) applied to every request the scenarios make.
 *
 * Servers keep state (a database, a facilitator's nonce cache) that an `evm_revert` would not roll
 * back, so x402 scenarios declare `live` isolation and use fresh nonces each run.
 */
import type { Hex } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import type { ChainSession } from '../../harness/engine/session.ts';
import type { EndpointSpec } from '../../harness/target/schema.ts';
import { createPayer, type Payer, type RequestShape } from '../../reference-impl/x402/agents/payer.ts';

export { parseChallenge, pickV1, pickV2, requestChallenge, sendWithPayment, settlementOf, type Challenge, type Settlement, type Tamper } from '../../reference-impl/x402/agents/payer.ts';

/** A payer for `role` (or for a raw `key`) on `s`, recording through the run; its clock is the chain's (or a fixed `now`). */
export function payerFor(ctx: RunContext, s: ChainSession, role: string | undefined, key?: Hex, now?: bigint): Payer {
  return createPayer({ privateKey: key ?? ctx.key(role!), chainId: s.chainId, now: now === undefined ? () => s.pendingTime() : async () => now, fetchImpl: ctx.fetch });
}

/** The request shape of an endpoint (its method, body and headers; a bare URL is a GET). */
export function shapeOf(e: EndpointSpec): RequestShape {
  return { method: e.method ?? 'GET', body: e.body, headers: e.headers };
}
