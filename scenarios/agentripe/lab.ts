/**
 * What the Agentripe scenarios do as agents: a vendor registers an agent on the target's
 * IdentityRegistry with a one-service `data:` catalog pointing at the target server, a buyer pays
 * through x402, the vendor acts through `/vendor/*` (the scripted vendor client of
 * reference-impl/agentripe/agents, which takes only a URL and a key), and the escrow is read on
 * chain. Everything goes through the Target (endpoint `agentripe` + chain + role accounts).
 */
import type { Address, Hex } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import { HarnessFault, Indeterminate } from '../../harness/engine/errors.ts';
import { hasCapability } from '../../harness/target/schema.ts';
import type { ChainSession } from '../../harness/engine/session.ts';
import { formatUsd } from '../../harness/util/money.ts';
import { createVendor, honestResult, type Vendor } from '../../reference-impl/agentripe/agents/vendor.ts';
import { escrowAbi, identityAbi } from '../../reference-impl/agentripe/protocol/abi.ts';
import { rejectedResult } from '../../reference-impl/agentripe/protocol/review-fixture.ts';
import { createPayer, pickV2, requestChallenge, sendWithPayment, type Challenge, type Tamper } from '../../reference-impl/x402/agents/payer.ts';
import type { RequirementsV2 } from '../../reference-impl/x402/protocol/wire.ts';

/** Contracts an Agentripe scenario needs on its chain. */
export const AGR_NEEDS = ['usdc', 'identityRegistry', 'agentripeEscrow'];
/** Roles the scenarios use. */
export const BUYERS = ['buyer1', 'buyer2'] as const;
export const VENDORS = ['vendor1', 'vendor2'] as const;

/** The review-fixture capability: the target's reviewer applies the documented fixture rule. */
export const REVIEW_FIXTURE = 'agentripe:review-fixture';

/** Whether this target's review verdicts are predictable (it has the review-fixture capability). */
export function reviewsPredictable(ctx: RunContext): boolean {
  return hasCapability(ctx.target, REVIEW_FIXTURE);
}

/** The reviewer request a reviewed task carries (so the server's review runs). */
export const REVIEWER_REQUEST = 'Translate the text into French and keep the greeting';
const TASK_DETAIL = 'Hello world, translate me';

/** Per-run handle: server URL, chain, addresses, and whether tasks carry a reviewer_request. */
export interface Agr {
  ctx: RunContext;
  /** Tasks carry `reviewer_request` (so the server reviews results) only when verdicts are predictable. */
  review: boolean;
  url: string;
  s: ChainSession;
  usdc: Address;
  escrow: Address;
  identity: Address;
}

/** Open the Agentripe view of the target for this run (the scenarios declare `live` isolation: the server keeps state). */
export async function agr(ctx: RunContext): Promise<Agr> {
  const url = ctx.endpoint('agentripe').url.replace(/\/+$/, '');
  const spec = ctx.target.chains.find((c) => c.contracts.agentripeEscrow && c.usdc);
  if (!spec) throw new HarnessFault('no target chain declares usdc + agentripeEscrow');
  const s = await ctx.chain(spec.id);
  return { ctx, review: reviewsPredictable(ctx), url, s, usdc: s.contract('usdc'), escrow: s.contract('agentripeEscrow'), identity: s.contract('identityRegistry') };
}

/** `data:` AgentURIData with one async x402 service. */
export function agentUri(a: Agr, name: string, path: string, price: string): string {
  const data = {
    name,
    description: 'agentmarket-harness scenario agent',
    x402Support: true,
    services: [{ name: 'x402', endpoint: a.url, catalog: [{ path, price, type: 'async', description: `${path} service` }] }],
  };
  return `data:application/json;base64,${Buffer.from(JSON.stringify(data), 'utf8').toString('base64')}`;
}

/** The vendor role registers a fresh agent on chain; returns its id. */
export async function registerAgent(a: Agr, role: string, path: string, price: string): Promise<bigint> {
  a.ctx.act(`${role} registers an agent selling '${path}' for ${price}`);
  const r = await a.s.attempt({
    label: `${role} registers agent`,
    role,
    address: a.identity,
    abi: identityAbi,
    functionName: 'register',
    args: [agentUri(a, `${role} scenario agent`, path, price)],
  });
  if (!r.ok) throw new Indeterminate(undefined, `setup: the target's IdentityRegistry refused register (${r.reason})`);
  const ev = r.events.find((e) => e.eventName === 'Registered');
  if (!ev) throw new Indeterminate(undefined, "setup: the target's IdentityRegistry.register emitted no Registered event");
  return ev.args.agentId as bigint;
}

/** A scripted vendor for `agentId`, recording its HTTP through the run's fetch. */
export function vendor(a: Agr, role: string, agentId: bigint, clock?: () => number): Vendor {
  return createVendor({ baseUrl: a.url, agentId, credentials: { privateKey: a.ctx.key(role) }, strategy: { kind: 'honest' }, clock, fetchImpl: a.ctx.fetch });
}

/** The body of a task request. */
export function taskBody(review: boolean): Record<string, unknown> {
  // Without reviewer_request the seed skips the AI review: a completed task is released as is.
  return { task_detail: TASK_DETAIL, ...(review ? { reviewer_request: REVIEWER_REQUEST } : {}), task_metadata: { lang: 'fr' }, note: 'scenario' };
}

/** Results the review fixture (protocol/review-fixture.ts) approves / rejects. */
export const goodResult = (path: string) => honestResult({ productId: path, taskDetail: TASK_DETAIL, reviewerRequest: REVIEWER_REQUEST });
export const badResult = rejectedResult;

/** Ask for the task without paying. */
export async function askUnpaid(a: Agr, agentId: bigint, path: string): Promise<Challenge> {
  return requestChallenge(a.ctx.fetch, `${a.url}/${agentId}/${path}`, { method: 'POST', body: taskBody(a.review) });
}

/** Result of a paid request. */
export interface Paid {
  status: number;
  taskId?: Hex;
  body: unknown;
  header: string;
  req: RequirementsV2;
}

/** Pay for a task (v2 exact), optionally tampering with the payment. */
export async function pay(a: Agr, buyer: string, agentId: bigint, path: string, opts: { tamper?: Tamper; header?: string; req?: RequirementsV2 } = {}): Promise<Paid> {
  let req = opts.req;
  if (!req) {
    const c = await askUnpaid(a, agentId, path);
    req = pickV2(c, a.s.chainId, a.usdc);
    if (c.status !== 402 || !req) throw new Indeterminate(undefined, `cannot pay: the unpaid request got ${c.status}, with no v2 exact USDC requirement${c.v2Error ? ` (${c.v2Error})` : ''}`);
  }
  const payer = createPayer({ privateKey: a.ctx.key(buyer), chainId: a.s.chainId, now: () => a.s.pendingTime(), fetchImpl: a.ctx.fetch });
  const header = opts.header ?? (await payer.v2Header(req, opts.tamper)).header;
  const { res, body } = await sendWithPayment(a.ctx.fetch, `${a.url}/${agentId}/${path}`, header, { method: 'POST', body: taskBody(a.review) });
  const taskId = res.status === 200 ? ((body as { taskId?: Hex } | null)?.taskId ?? undefined) : undefined;
  return { status: res.status, taskId, body, header, req };
}

/** `getDeposit(id)` as a tuple. */
export async function deposit(a: Agr, id: Hex): Promise<{ agentId: bigint; buyer: Address; amount: bigint; status: number }> {
  const [agentId, buyer, amount, status] = await a.s.read(a.escrow, escrowAbi, 'getDeposit', [id]);
  return { agentId, buyer, amount, status: Number(status) };
}

/** Value held for an account: USDC balance + escrow withdrawable balance (push or pull payouts both count; profile ambiguity 1). */
export async function holdings(a: Agr, who: Address): Promise<{ usdc: bigint; withdrawable: bigint; total: bigint }> {
  const usdc = await a.s.balanceOf(a.usdc, who);
  const withdrawable = await a.s.read(a.escrow, escrowAbi, 'withdrawableBalance', [who]);
  return { usdc, withdrawable, total: usdc + withdrawable };
}

/** Payout wallet of an agent: its ERC-8004 agentWallet, else its owner (profile AGR-PROF-07). */
export async function agentWallet(a: Agr, agentId: bigint): Promise<Address> {
  const w = await a.s.read(a.identity, identityAbi, 'getAgentWallet', [agentId]);
  if (w && w !== '0x0000000000000000000000000000000000000000') return w;
  return a.s.read(a.identity, identityAbi, 'ownerOf', [agentId]);
}

/** GET a JSON route of the server. */
export async function getJson(a: Agr, path: string): Promise<{ status: number; body: any }> {
  const res = await a.ctx.fetch(`${a.url}${path}`);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* keep text */
  }
  return { status: res.status, body };
}

/** Withdraw everything `role` has in the escrow (keeps role balances from draining across runs). */
export async function withdrawAll(a: Agr, role: string): Promise<void> {
  const w = await a.s.read(a.escrow, escrowAbi, 'withdrawableBalance', [a.s.address(role)]);
  if (w > 0n) await a.s.attempt({ label: `${role} withdraws ${formatUsd(w)}`, role, address: a.escrow, abi: escrowAbi, functionName: 'withdraw', args: [] });
}

/** Short form of a hash for action logs. */
export const short = (h: string | undefined) => (h ? `${h.slice(0, 10)}…` : String(h));
