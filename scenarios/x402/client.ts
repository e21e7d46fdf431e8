/**
 * Client side of x402 as the scenarios speak it: read a 402 challenge, sign an exact/EVM (EIP-3009)
 * payment with chain-relative validity windows, send it, decode the settlement header. Shared by the
 * `x402` and `agentripe` scenarios. Only wire helpers are used (reference-impl/x402/wire.ts and
 * testing.ts: schemas, header codec, EIP-3009 signing), never a server's internals.
 *
 * Servers keep state (a database, a facilitator's nonce cache) that an `evm_revert` would not roll
 * back, so these scenarios do NOT snapshot the chain: they use {@link liveChain}, a session with
 * the same evidence recording but no snapshot, and create fresh agents, tasks and nonces each run.
 */
import type { Address, Hex } from 'viem';
import { getAddress } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import { HarnessFault } from '../../harness/engine/errors.ts';
import { ChainSession, createTargetClients, type ChainClients } from '../../harness/engine/session.ts';
import type { Target, TargetChain } from '../../harness/target/schema.ts';
import { encodeHeader, type RequirementsV1, type RequirementsV2 } from '../../reference-impl/x402/protocol/wire.ts';
import { makeV1Payload, makeV2Payload, type AuthorizationOverrides } from '../../reference-impl/x402/protocol/payload.ts';
import { parseChallenge, readBody, type Challenge, type Tamper } from '../../reference-impl/x402/agents/payer.ts';

export { parseChallenge, pickV1, pickV2, settlementOf, type Challenge, type Tamper } from '../../reference-impl/x402/agents/payer.ts';
export { v1NetworkName as v1Network } from '../../reference-impl/x402/protocol/wire.ts';

const clientCache = new WeakMap<Target, Map<string, ChainClients>>();

/** The target chain with this chainId (or the first one). */
export function targetChain(target: Target, chainId?: number): TargetChain | undefined {
  return chainId === undefined ? target.chains[0] : target.chains.find((c) => c.chainId === chainId);
}

/**
 * A chain session on the target's own chain WITHOUT a snapshot (see the module comment). Evidence
 * still goes to the run's recorder.
 */
export function liveChain(ctx: RunContext, chainId?: number): ChainSession {
  let clients = clientCache.get(ctx.target);
  if (!clients) {
    clients = createTargetClients(ctx.target);
    clientCache.set(ctx.target, clients);
  }
  const spec = targetChain(ctx.target, chainId);
  if (!spec) throw new HarnessFault(`target declares no chain with chainId ${chainId}`);
  return new ChainSession(clients.get(spec.id)!, ctx.evidence);
}

/** Minimal ERC-20 + EIP-3009 read ABI. */
export const erc20Abi = [
  { type: 'function', name: 'balanceOf', stateMutability: 'view', inputs: [{ name: 'a', type: 'address' }], outputs: [{ type: 'uint256' }] },
  {
    type: 'function',
    name: 'authorizationState',
    stateMutability: 'view',
    inputs: [
      { name: 'a', type: 'address' },
      { name: 'n', type: 'bytes32' },
    ],
    outputs: [{ type: 'bool' }],
  },
] as const;

/** USDC balance of an address. */
export async function balanceOf(s: ChainSession, token: Address, who: Address): Promise<bigint> {
  return s.read<bigint>(token, erc20Abi as never, 'balanceOf', [who]);
}

/** Timestamp the next block will carry (what the token's time checks will see). */
export async function pendingTime(s: ChainSession): Promise<bigint> {
  return (await s.public.getBlock({ blockTag: 'pending' })).timestamp;
}

/** The private key of a target role (the target file carries it). */
export function roleKey(target: Target, role: string): Hex {
  const a = target.accounts.find((x) => x.role === role);
  if (!a) throw new HarnessFault(`target declares no account for role '${role}'`);
  return a.privateKey as Hex;
}

/** Build a v2 `PAYMENT-SIGNATURE` header value for `req`, windows relative to chain time. */
export async function v2Header(ctx: RunContext, s: ChainSession, role: string, req: RequirementsV2, t: Tamper = {}): Promise<{ header: string; payload: Record<string, unknown> }> {
  const now = await pendingTime(s);
  const payload = await makeV2Payload(roleKey(ctx.target, role), req, { now, chainId: s.chainId, ...t });
  return { header: encodeHeader(payload), payload };
}

/** Build a v1 `X-PAYMENT` header value for `req`. */
export async function v1Header(
  ctx: RunContext,
  s: ChainSession,
  role: string,
  req: RequirementsV1,
  t: { auth?: AuthorizationOverrides; network?: string } = {},
): Promise<{ header: string; payload: Record<string, unknown> }> {
  const now = await pendingTime(s);
  const payload = await makeV1Payload(roleKey(ctx.target, role), req, { now, chainId: s.chainId, ...t });
  return { header: encodeHeader(payload), payload };
}

/** Send a request with a payment header (v2 `PAYMENT-SIGNATURE` or v1 `X-PAYMENT`). */
export async function sendPaid(
  ctx: RunContext,
  url: string,
  header: string,
  opts: { version?: 1 | 2; method?: string; body?: unknown; headerName?: string } = {},
): Promise<{ res: Response; body: unknown }> {
  const headers: Record<string, string> = { [opts.headerName ?? (opts.version === 1 ? 'X-PAYMENT' : 'PAYMENT-SIGNATURE')]: header };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await ctx.fetch(url, { method: opts.method ?? 'GET', headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const body = await readBody(res.clone());
  return { res, body };
}

/** Request without payment and parse the challenge. */
export async function challenge(ctx: RunContext, url: string, opts: { method?: string; body?: unknown } = {}): Promise<Challenge> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await ctx.fetch(url, { method: opts.method ?? 'GET', headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  return parseChallenge(res);
}

/** Checksummed address or the input when it is not an address. */
export function addr(a: string): Address {
  try {
    return getAddress(a);
  } catch {
    return a as Address;
  }
}
