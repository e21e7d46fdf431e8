/**
 * What every x402 scenario shares: the resource's offer (asked for with the target's request shape),
 * payments signed by the payer agent (v2, and v1 where offered), the check that a refusal changed
 * nothing (balances and the authorization's nonce), and the on-chain check of a reported
 * settlement (scenario rules 5 and 8 in harness/README.md).
 */
import { erc20Abi, parseEventLogs, TransactionReceiptNotFoundError, type Address, type Hex } from 'viem';
import type { BalanceSnapshot, RunContext } from '../../harness/engine/context.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import type { ChainSession } from '../../harness/engine/session.ts';
import type { EndpointSpec } from '../../harness/target/schema.ts';
import type { RequestShape } from '../../reference-impl/x402/agents/payer.ts';
import { eip3009TokenAbi } from '../../reference-impl/x402/protocol/eip3009.ts';
import { caip2, v1NetworkName, type Authorization, type RequirementsV1, type RequirementsV2 } from '../../reference-impl/x402/protocol/wire.ts';
import { payerFor, pickV1, pickV2, requestChallenge, sendWithPayment, settlementOf, shapeOf, type Challenge, type Settlement, type Tamper } from './client.ts';

export const BUYERS = ['buyer1', 'buyer2'] as const;
// The attacker only signs or receives (a wrong payTo): a throwaway key when the target declares none.
export const BASE = { needs: ['usdc'], endpoints: ['x402-resource'], roles: [...BUYERS], signers: ['attacker'], isolation: 'live' as const };

/** The resource, its challenge, and the target chain + requirement it offers. */
export interface Offer {
  url: string;
  /** How the resource is requested (method, body, headers from the target's endpoint). */
  shape: RequestShape;
  c: Challenge;
  s: ChainSession;
  token: Address;
  /** The v2 view of the offer (derived from the v1 one for a v1-only server). */
  req: RequirementsV2;
  /** The v2 requirement, when offered in PAYMENT-REQUIRED. */
  v2?: RequirementsV2;
  /** The v1 requirement, when offered in the body. */
  v1?: RequirementsV1;
}

/**
 * Ask the resource (endpoint `name`, or an endpoint given whole: the restartable one) for its price
 * and find the target chain whose USDC it accepts.
 */
export async function offer(ctx: RunContext, name: string | EndpointSpec = 'x402-resource'): Promise<Offer> {
  const e = typeof name === 'string' ? ctx.endpoint(name) : name;
  const shape = shapeOf(e);
  const c = await requestChallenge(ctx.fetch, e.url, shape);
  for (const chain of ctx.target.chains) {
    if (!chain.usdc) continue;
    const token = chain.usdc.address as Address;
    const v2 = pickV2(c, chain.chainId, token);
    const v1 = pickV1(c, chain.chainId, token);
    if (v2 || v1) {
      // A v1-only server: derive the equivalent v2 view so the scenarios can reason in one shape.
      const req: RequirementsV2 = v2 ?? {
        scheme: 'exact',
        network: caip2(chain.chainId),
        amount: v1!.maxAmountRequired,
        asset: v1!.asset,
        payTo: v1!.payTo,
        maxTimeoutSeconds: v1!.maxTimeoutSeconds,
        extra: v1!.extra ?? undefined,
      };
      return { url: e.url, shape, c, s: await ctx.chain({ chainId: chain.chainId }), token, req, v2, v1 };
    }
  }
  throw new Indeterminate(undefined, `${e.method ?? 'GET'} ${e.url} offers no exact payment in a USDC the target declares (status ${c.status}${c.v2Error ? `, ${c.v2Error}` : ''})`);
}

/** The versions the resource offers, v2 first. */
export function versions(o: Offer): (1 | 2)[] {
  return [...(o.v2 ? [2 as const] : []), ...(o.v1 ? [1 as const] : [])];
}

/** The network as the settlement must name it in `version`. */
export function networkOf(o: Offer, version: 1 | 2): string {
  return version === 2 ? o.req.network : (o.v1?.network ?? v1NetworkName(o.s.chainId) ?? o.req.network);
}

/** A signed payment: the header value, the payload and the authorization it carries. */
export interface Signed {
  header: string;
  payload: Record<string, unknown>;
  auth: Authorization;
  version: 1 | 2;
}

/** How to break a payment: the v2 tamper, plus a v1 network name to claim. */
export type Breakage = Tamper & { v1Network?: string };

/**
 * Sign a payment of the offer by `role` (or a raw key), in `version`, optionally broken. Windows
 * are relative to chain time: `now` when given (one read for a series), else read from the chain.
 */
export async function sign(ctx: RunContext, o: Offer, who: string | { key: Hex }, version: 1 | 2, breakage: Breakage = {}, now?: bigint): Promise<Signed> {
  const p = typeof who === 'string' ? payerFor(ctx, o.s, who, undefined, now) : payerFor(ctx, o.s, undefined, who.key, now);
  const { v1Network, ...tamper } = breakage;
  const { header, payload } = version === 2 ? await p.v2Header(o.v2 ?? o.req, tamper) : await p.v1Header(o.v1 ?? v1Of(o), { auth: tamper.auth, network: v1Network, domain: tamper.domain });
  return { header, payload, auth: (payload.payload as { authorization: Authorization }).authorization, version };
}

/** The requirement a payment of `version` pays (a v1 one built from a v2-only offer: such a server may refuse it). */
export function requirementsFor(o: Offer, version: 1 | 2): RequirementsV2 | RequirementsV1 {
  return version === 2 ? (o.v2 ?? o.req) : (o.v1 ?? v1Of(o));
}

/** The v1 requirement built from a v2-only offer. */
function v1Of(o: Offer): RequirementsV1 {
  const n = v1NetworkName(o.s.chainId);
  if (!n) throw new Indeterminate(undefined, `no v1 network name for chain ${o.s.chainId}`);
  return {
    scheme: 'exact',
    network: n,
    maxAmountRequired: o.req.amount,
    asset: o.req.asset,
    payTo: o.req.payTo,
    resource: o.url,
    description: '',
    maxTimeoutSeconds: o.req.maxTimeoutSeconds,
    extra: o.req.extra,
  };
}

/** Send a payment header to the resource with the resource's request shape. */
export function send(ctx: RunContext, o: Offer, header: string, opts: { version?: 1 | 2; headerName?: string; headers?: Record<string, string> } = {}) {
  return sendWithPayment(ctx.fetch, o.url, header, { ...o.shape, ...opts, headers: { ...o.shape.headers, ...opts.headers } });
}

/**
 * Balances a refusal must leave alone: the payer(s) whose authorizations a run sends (the first is
 * `payer`), payTo and the attacker (a would-be wrong recipient). Refusals change nothing, so one
 * snapshot serves a whole series of them.
 */
export function holdings(ctx: RunContext, o: Offer, ...payers: Address[]): Promise<BalanceSnapshot> {
  const unique = [...new Set(payers.map((p) => p.toLowerCase()))];
  const labelled = Object.fromEntries(unique.map((p, i) => [i === 0 ? 'payer' : `payer${i + 1}`, p as Address]));
  return ctx.balancesOf(o.s, o.token, { ...labelled, payTo: o.req.payTo as Address, attacker: o.s.address('attacker') });
}

/** Whether the token reports (from, nonce) used. */
export function nonceUsed(o: Offer, auth: { from: string; nonce: string }): Promise<boolean> {
  return o.s.read(o.token, eip3009TokenAbi, 'authorizationState', [auth.from as Address, auth.nonce as Hex]);
}

/**
 * The holders' balances and an authorization's nonce state, in one `eth_call` where the target
 * declares Multicall3 on the chain, else read side by side.
 */
async function readState(o: Offer, holders: Record<string, Address>, auth?: { from: string; nonce: string }): Promise<{ balances: Record<string, bigint>; used?: boolean }> {
  const labels = Object.keys(holders);
  const multicall = o.s.spec.contracts.multicall3 as Address | undefined;
  const balanceCall = (a: Address) => ({ address: o.token, abi: eip3009TokenAbi, functionName: 'balanceOf', args: [a] }) as const;
  const stateCalls = auth ? [{ address: o.token, abi: eip3009TokenAbi, functionName: 'authorizationState', args: [auth.from as Address, auth.nonce as Hex] } as const] : [];
  const out = multicall
    ? await o.s.public.multicall({ multicallAddress: multicall, allowFailure: false, contracts: [...labels.map((l) => balanceCall(holders[l]!)), ...stateCalls] })
    : await Promise.all([...labels.map((l) => o.s.balanceOf(o.token, holders[l]!)), ...(auth ? [nonceUsed(o, auth)] : [])]);
  return { balances: Object.fromEntries(labels.map((l, i) => [l, out[i] as bigint])), used: auth ? (out[labels.length] as boolean) : undefined };
}

/**
 * `funder` (a role) sends `to` `amount` of the offer's token, topping up its gas first when low
 * (anvil_setBalance: the scenario's capability `set-code`); a transfer that fails makes the run
 * indeterminate for `req` (the set-up did not happen).
 */
export async function fund(ctx: RunContext, req: string, o: Offer, funder: string, to: Address, amount: bigint, what: string): Promise<void> {
  const from = o.s.address(funder);
  if ((await o.s.public.getBalance({ address: from })) < 10n ** 16n) await o.s.test.setBalance({ address: from, value: 10n ** 18n });
  ctx.act(`${funder} gives ${what} ${to} ${amount} base units`);
  const funded = await o.s.attempt({ role: funder, address: o.token, abi: erc20Abi, functionName: 'transfer', args: [to, amount], label: `fund ${what}` });
  if (!funded.ok) throw new Indeterminate(req, `could not fund ${what} ${to}: ${funded.reason}`);
}

/** No balance of `snap` moved since it was taken. */
export async function expectNothingMoved(ctx: RunContext, req: string, o: Offer, snap: BalanceSnapshot, what: string, auth?: { from: string; nonce: string }): Promise<boolean | undefined> {
  const now = await readState(o, snap.holders, auth);
  o.s.recordBalances(`${what}: no USDC moved`, o.token, snap.before, now.balances);
  const fmt = (m: Record<string, bigint>) =>
    Object.entries(m)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  ctx.check(
    req,
    Object.keys(snap.before).every((k) => now.balances[k] === snap.before[k]),
    `${what}: no USDC moved`,
    { expected: fmt(snap.before), actual: fmt(now.balances) },
  );
  return now.used;
}

/** After a refusal: no balance moved since `snap` and the authorization's nonce is still `used` (false for a fresh one). */
export async function expectUnchanged(ctx: RunContext, req: string, o: Offer, snap: BalanceSnapshot, auth: { from: string; nonce: string }, what: string, used = false): Promise<void> {
  const now = await expectNothingMoved(ctx, req, o, snap, what, auth);
  ctx.check(req, now === used, `${what}: authorizationState(payer, nonce) is still ${used}`, { expected: used, actual: now });
}

/** A refusal is a 4xx (rule 9) that claims no settlement (X402-PAY-02). */
export function expectRefusedPayment(ctx: RunContext, req: string, r: { res: Response; body: unknown }, what: string): void {
  ctx.expectRefused(req, { status: r.res.status, body: r.body }, what);
  const st = settlementOf(r.res);
  ctx.check('X402-PAY-02', st?.success !== true, `${what}: the refusal claims no settlement`, {
    expected: 'no settlement header, or success:false',
    actual: JSON.stringify(st),
  });
}

/** What a settlement must have moved. */
export interface Expected {
  payer: Address;
  amount: bigint;
  nonce: Hex;
  network: string;
  /** The payment's version: a v1 settlement must name the payer (the v1 spec requires it). */
  version: 1 | 2;
}

/**
 * Rule 8: a reported settlement is checked on the target chain. The transaction exists, succeeded,
 * and contains exactly this payment: the token's Transfer from the payer (to payTo, of the amount,
 * and nothing else from the payer) and AuthorizationUsed for this nonce, which the token now
 * reports used. The header names the offered network, and the payer if it names one.
 */
export async function expectSettledOnChain(ctx: RunContext, req: string, o: Offer, st: Settlement | undefined, x: Expected): Promise<Hex> {
  ctx.check(req, st?.success === true, 'the settlement header says success', { expected: 'success: true', actual: JSON.stringify(st) ?? 'no settlement header' });
  const hash = String(st!.transaction ?? '');
  ctx.check(req, /^0x[0-9a-fA-F]{64}$/.test(hash), 'the settlement header names a transaction hash', { expected: '0x + 64 hex', actual: JSON.stringify(st!.transaction) });
  ctx.check(req, st!.network === x.network, 'the settlement header names the offered network', { expected: x.network, actual: st!.network });
  if (st!.payer !== undefined || x.version === 1) ctx.check(req, String(st!.payer).toLowerCase() === x.payer.toLowerCase(), 'the settlement names the payer', { expected: x.payer, actual: st!.payer });
  let receipt: Awaited<ReturnType<ChainSession['public']['getTransactionReceipt']>> | undefined;
  try {
    receipt = await o.s.public.getTransactionReceipt({ hash: hash as Hex });
  } catch (e) {
    if (!(e instanceof TransactionReceiptNotFoundError)) throw e;
  }
  ctx.check(req, receipt !== undefined, `the reported transaction exists on chain ${o.s.id}`, { expected: `a mined transaction ${hash}`, actual: 'no such transaction on the target chain' });
  const r = receipt!;
  const events = parseEventLogs({ abi: eip3009TokenAbi, logs: r.logs.filter((l) => l.address.toLowerCase() === o.token.toLowerCase()) });
  ctx.evidence.add({
    kind: 'tx',
    label: 'reported settlement',
    chain: o.s.id,
    hash,
    from: r.from,
    to: r.to,
    function: 'transferWithAuthorization',
    args: null,
    status: r.status,
    blockNumber: r.blockNumber.toString(),
    events: events.map((e) => ({ name: e.eventName, address: e.address, args: Object.fromEntries(Object.entries(e.args).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v])) })),
  });
  ctx.check(req, r.status === 'success', 'the reported transaction succeeded', { expected: 'success', actual: r.status });
  const out = events.flatMap((e) => (e.eventName === 'Transfer' && e.args.from.toLowerCase() === x.payer.toLowerCase() ? [e.args] : []));
  const payTo = o.req.payTo.toLowerCase();
  ctx.check(req, out.length === 1 && out[0]!.to.toLowerCase() === payTo && out[0]!.value === x.amount, 'the transaction moved exactly this payment: one Transfer(payer → payTo, amount)', {
    expected: `Transfer(${x.payer} → ${o.req.payTo}, ${x.amount})`,
    actual: out.length ? out.map((t) => `Transfer(${t.from} → ${t.to}, ${t.value})`).join(', ') : 'no Transfer from the payer in this transaction',
  });
  const used = events.some((e) => e.eventName === 'AuthorizationUsed' && e.args.authorizer.toLowerCase() === x.payer.toLowerCase() && e.args.nonce.toLowerCase() === x.nonce.toLowerCase());
  ctx.check(req, used, "the transaction used this authorization's nonce (AuthorizationUsed)", {
    expected: `AuthorizationUsed(${x.payer}, ${x.nonce})`,
    actual:
      events
        .filter((e) => e.eventName === 'AuthorizationUsed')
        .map((e) => `AuthorizationUsed(${(e.args as { authorizer: string }).authorizer}, ${(e.args as { nonce: string }).nonce})`)
        .join(', ') || 'none',
  });
  const state = await nonceUsed(o, { from: x.payer, nonce: x.nonce });
  ctx.check(req, state, 'authorizationState(payer, nonce) is now true', { expected: true, actual: state });
  return hash as Hex;
}

/** Exactly `amount` left the payer for payTo since `snap` (and nothing reached the attacker). */
export async function expectPaid(ctx: RunContext, req: string, o: Offer, snap: BalanceSnapshot, amount: bigint, what: string): Promise<void> {
  const after = await ctx.balancesOf(o.s, o.token, snap.holders);
  o.s.recordBalances(what, o.token, snap.before, after.before);
  const d = (k: string) => after.before[k]! - snap.before[k]!;
  ctx.check(req, d('payer') === -amount && d('payTo') === amount && d('attacker') === 0n, `${what}: exactly ${amount} moved from the payer to payTo`, {
    expected: `payer -${amount}, payTo +${amount}`,
    actual: `payer ${d('payer')}, payTo +${d('payTo')}, attacker ${d('attacker')}`,
  });
}

/** Short form of a response for check details. */
/** A page origin the CORS checks ask from (any origin: the headers must be exposed to every page that may pay). */
export const PAGE_ORIGIN = 'https://app.example';

/** Whether an answer's Access-Control-Expose-Headers lets a browser read `header` (listed, or `*`). */
export function exposes(headers: Headers, header: string): boolean {
  const listed = (headers.get('access-control-expose-headers') ?? '').split(',').map((h) => h.trim().toLowerCase());
  return listed.includes(header.toLowerCase()) || listed.includes('*');
}

export function shown(r: { res: Response; body: unknown }): string {
  return `${r.res.status} ${JSON.stringify(r.body)?.slice(0, 200) ?? ''}`;
}

/** Every element of `xs`, in an order drawn from `seed` (0 keeps the declared order, so shrinking ends there). */
export function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  if (seed === 0) return out;
  let s = seed >>> 0;
  const next = () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
