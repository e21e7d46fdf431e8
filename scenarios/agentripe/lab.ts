/**
 * What the Agentripe scenarios do as agents: a vendor registers an agent on the target's
 * IdentityRegistry with a `data:` catalog pointing at the target server (optionally giving it an
 * agentWallet and an approved operator that differ from the owner), a buyer pays through x402, the
 * vendor acts through `/vendor/*` (the scripted vendor client of reference-impl/agentripe/agents,
 * which takes only a URL and a key), and the escrow and the ReputationRegistry are read on chain.
 * Everything goes through the Target (endpoint `agentripe` + chain + role accounts).
 */
import { parseEventLogs, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { RunContext } from '../../harness/engine/context.ts';
import { HarnessFault, Indeterminate } from '../../harness/engine/errors.ts';
import type { ChainSession } from '../../harness/engine/session.ts';
import { hasCapability } from '../../harness/target/schema.ts';
import { formatUsd } from '../../harness/util/money.ts';
import { createVendor, honestResult, type Vendor } from '../../reference-impl/agentripe/agents/vendor.ts';
import { escrowAbi, identityAbi, reputationAbi, usdcAbi } from '../../reference-impl/agentripe/protocol/abi.ts';
import { rejectedResult } from '../../reference-impl/agentripe/protocol/review-fixture.ts';
import { AGENTRIPE_CONSTANTS, type AgentripeConstants } from '../../reference-impl/agentripe/protocol/constants.ts';
import type { Profile } from '../../harness/profiles/profile.ts';
import { createPayer, pickV2, requestChallenge, sendWithPayment, type Challenge, type Tamper } from '../../reference-impl/x402/agents/payer.ts';
import type { RequirementsV2 } from '../../reference-impl/x402/protocol/wire.ts';

/** Contracts an Agentripe scenario needs on its chain. */
export const AGR_NEEDS = ['usdc', 'identityRegistry', 'agentripeEscrow'];
/** Roles the scenarios use. */
export const BUYERS = ['buyer1', 'buyer2'] as const;
/** The approved operator of an agent only signs vendor auth: a throwaway key when the target has no such account. */
export const OPERATOR_ROLE = 'judge';
/** Target contract names of ReputationRegistries the server may give feedback on (the seed's older address first). */
export const REPUTATION_CONTRACTS = ['legacyReputationRegistry', 'reputationRegistry'] as const;

/** The review-fixture capability: the target's reviewer applies the documented fixture rule. */
export const REVIEW_FIXTURE = 'agentripe:review-fixture';

/** Whether this target's review verdicts are predictable (it has the review-fixture capability). */
/** The run's Agentripe constants (its what-if profile's, else the defaults), from a run context or a scenario env. */
export function constantsOf(x: { profile?: Profile | null }): AgentripeConstants {
  return AGENTRIPE_CONSTANTS.of(x.profile);
}

export function reviewsPredictable(ctx: RunContext): boolean {
  return hasCapability(ctx.target, REVIEW_FIXTURE);
}

/** The reviewer request a reviewed task carries (so the server's review runs). */
export const REVIEWER_REQUEST = 'Translate the text into French and keep the greeting';
export const TASK_DETAIL = 'Hello world, translate me';
export const TASK_METADATA = { lang: 'fr' };
/** A body field that is none of the seed's three: the server passes it on as requestPayload. */
export const EXTRA_FIELD = { note: 'scenario-extra-field' };

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
  /** ReputationRegistries the target declares (empty: feedback cannot be checked). */
  reputation: Address[];
  /** Multicall3, when the target declares it: view reads are then batched into one call. */
  multicall?: Address;
  /** Buy with GET and no body (every body field is optional) instead of POST with the task body. */
  get?: boolean;
}

/**
 * Open the Agentripe view of the target for this run (the scenarios declare `live` isolation: the
 * server keeps state); `endpointUrl` talks to another instance (the restartable one) instead.
 */
export async function agr(ctx: RunContext, endpointUrl?: string): Promise<Agr> {
  const url = (endpointUrl ?? ctx.endpoint('agentripe').url).replace(/\/+$/, '');
  const spec = ctx.target.chains.find((c) => c.contracts.agentripeEscrow && c.usdc);
  if (!spec) throw new HarnessFault('no target chain declares usdc + agentripeEscrow');
  const s = await ctx.chain(spec.id);
  const reputation = [...new Set(REPUTATION_CONTRACTS.map((k) => spec.contracts[k]).filter((x): x is string => Boolean(x)))] as Address[];
  const multicall = spec.contracts.multicall3 as Address | undefined;
  return { ctx, review: reviewsPredictable(ctx), url, s, usdc: s.contract('usdc'), escrow: s.contract('agentripeEscrow'), identity: s.contract('identityRegistry'), reputation, multicall };
}

/** One catalog entry. */
export interface Entry {
  path: string;
  price: string;
}

/** AgentURIData with one async x402 service selling `entries`. */
export function card(a: Agr, name: string, entries: Entry[]): Record<string, unknown> {
  return {
    name,
    description: 'agentmarket-harness scenario agent',
    x402Support: true,
    services: [{ name: 'x402', endpoint: a.url, catalog: entries.map((e) => ({ path: e.path, price: e.price, type: 'async', description: `${e.path} service` })) }],
  };
}

/** A card as the `data:` URI written on chain. */
export function dataUri(data: unknown): string {
  return `data:application/json;base64,${Buffer.from(JSON.stringify(data), 'utf8').toString('base64')}`;
}

/** `data:` AgentURIData with one async x402 service. */
export function agentUri(a: Agr, name: string, path: string, price: string): string {
  return dataUri(card(a, name, [{ path, price }]));
}

/** The vendor role registers a fresh agent on chain with `uri`; returns its id. */
export async function registerUri(a: Agr, role: string, uri: string, what: string): Promise<bigint> {
  a.ctx.act(`${role} registers an agent ${what}`);
  const r = await a.s.attempt({ label: `${role} registers agent`, role, address: a.identity, abi: identityAbi, functionName: 'register', args: [uri] });
  if (!r.ok) throw new Indeterminate(undefined, `setup: the target's IdentityRegistry refused register (${r.reason})`);
  const ev = r.events.find((e) => e.eventName === 'Registered');
  if (!ev) throw new Indeterminate(undefined, "setup: the target's IdentityRegistry.register emitted no Registered event");
  return ev.args.agentId as bigint;
}

/** The vendor role registers a fresh agent selling `path` at `price`; returns its id. */
export async function registerAgent(a: Agr, role: string, path: string, price: string): Promise<bigint> {
  return registerUri(a, role, agentUri(a, `${role} scenario agent`, path, price), `selling '${path}' for ${price}`);
}

const walletTypes = {
  AgentWalletSet: [
    { name: 'agentId', type: 'uint256' },
    { name: 'newWallet', type: 'address' },
    { name: 'owner', type: 'address' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** The EIP-712 AgentWalletSet signature of `wallet` for agent `agentId` owned by `owner` (ERC-8004). */
export function signWalletSet(a: Agr, wallet: Hex, agentId: bigint, owner: Address, deadline: bigint): Promise<Hex> {
  const domain = { name: 'ERC8004IdentityRegistry', version: '1', chainId: a.s.chainId, verifyingContract: a.identity };
  return privateKeyToAccount(wallet).signTypedData({
    domain,
    types: walletTypes,
    primaryType: 'AgentWalletSet',
    message: { agentId, newWallet: privateKeyToAccount(wallet).address, owner, deadline },
  });
}

/**
 * Who stands behind an agent: the NFT owner (who registered it), its agentWallet (where releases
 * go) and an approved operator (who may act as its vendor). Roles that usually coincide are made to
 * differ on purpose (scenario rule 3).
 */
export interface AgentRoles {
  owner: string;
  /** The agentWallet's role (the owner's own address by default). */
  wallet: string;
  /** An ERC-721-approved operator, if any. */
  operator?: string;
  /** Who acts as the vendor (the owner or the operator). */
  actor: string;
}

/** Role shapes a scenario may draw: everything on one address, or owner / wallet / operator apart. */
export const ROLE_SHAPES = ['same', 'wallet', 'operator', 'all-apart'] as const;
export type RoleShape = (typeof ROLE_SHAPES)[number];

/** The roles for a shape; `actByOperator` picks the operator as the acting vendor when there is one. */
export function rolesFor(shape: RoleShape, owner = 'vendor1', actByOperator = true): AgentRoles {
  const wallet = shape === 'wallet' || shape === 'all-apart' ? (owner === 'vendor2' ? 'vendor1' : 'vendor2') : owner;
  const operator = shape === 'operator' || shape === 'all-apart' ? OPERATOR_ROLE : undefined;
  return { owner, wallet, operator, actor: operator && actByOperator ? operator : owner };
}

/** Sets the agent's wallet to `walletRole` on chain (the owner sends, the wallet signs AgentWalletSet). */
export async function setWallet(a: Agr, agentId: bigint, ownerRole: string, walletRole: string): Promise<void> {
  const owner = a.s.address(ownerRole);
  const deadline = (await a.s.pendingTime()) + 120n;
  const signature = await signWalletSet(a, a.ctx.key(walletRole), agentId, owner, deadline);
  a.ctx.act(`${ownerRole} sets agent ${agentId}'s agentWallet to ${walletRole} (signed by ${walletRole})`);
  const r = await a.s.attempt({
    label: `${ownerRole} sets agentWallet`,
    role: ownerRole,
    address: a.identity,
    abi: identityAbi,
    functionName: 'setAgentWallet',
    args: [agentId, a.s.address(walletRole), deadline, signature],
  });
  if (!r.ok) throw new Indeterminate(undefined, `setup: the target's IdentityRegistry refused setAgentWallet (${r.reason})`);
}

/** The owner ERC-721-approves `operatorRole` for the agent (or clears the approval with null). */
export async function approveOperator(a: Agr, agentId: bigint, ownerRole: string, operatorRole: string | null): Promise<void> {
  const to = operatorRole ? a.s.address(operatorRole) : ('0x0000000000000000000000000000000000000000' as Address);
  a.ctx.act(operatorRole ? `${ownerRole} approves ${operatorRole} as operator of agent ${agentId}` : `${ownerRole} clears agent ${agentId}'s approved operator`);
  const r = await a.s.attempt({ label: `${ownerRole} approves operator`, role: ownerRole, address: a.identity, abi: identityAbi, functionName: 'approve', args: [to, agentId] });
  if (!r.ok) throw new Indeterminate(undefined, `setup: the target's IdentityRegistry refused approve (${r.reason})`);
}

/** Gives a freshly registered agent its roles on chain. */
export async function applyRoles(a: Agr, agentId: bigint, roles: AgentRoles): Promise<void> {
  if (roles.wallet !== roles.owner) await setWallet(a, agentId, roles.owner, roles.wallet);
  if (roles.operator) await approveOperator(a, agentId, roles.owner, roles.operator);
}

/** A scripted vendor for `agentId` signing as `role`, recording its HTTP through the run's fetch. */
export function vendor(a: Agr, role: string, agentId: bigint, clock?: () => number): Vendor {
  return createVendor({ baseUrl: a.url, agentId, credentials: { privateKey: a.ctx.key(role) }, strategy: { kind: 'honest' }, clock, fetchImpl: a.ctx.fetch });
}

/** The body of a task request. */
export function taskBody(review: boolean): Record<string, unknown> {
  // Without reviewer_request the seed skips the AI review: a completed task is released as is.
  return { task_detail: TASK_DETAIL, ...(review ? { reviewer_request: REVIEWER_REQUEST } : {}), task_metadata: TASK_METADATA, ...EXTRA_FIELD };
}

/** Results the review fixture (protocol/review-fixture.ts) approves / rejects. */
export const goodResult = (path: string) => honestResult({ productId: path, taskDetail: TASK_DETAIL, reviewerRequest: REVIEWER_REQUEST });
export const badResult = rejectedResult;

/** How a purchase is sent: POST with the task body, or GET with none (the seed's fields are all optional). */
export const purchase = (a: Agr) => (a.get ? { method: 'GET' } : { method: 'POST', body: taskBody(a.review) });

/** Ask for the task without paying. */
export async function askUnpaid(a: Agr, agentId: bigint | string, path: string): Promise<Challenge> {
  return requestChallenge(a.ctx.fetch, `${a.url}/${agentId}/${path}`, purchase(a));
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
  const { res, body } = await sendWithPayment(a.ctx.fetch, `${a.url}/${agentId}/${path}`, header, purchase(a));
  const taskId = res.status === 200 ? ((body as { taskId?: Hex } | null)?.taskId ?? undefined) : undefined;
  return { status: res.status, taskId, body, header, req };
}

/** A view call for {@link readMany}. */
export interface ViewCall {
  address: Address;
  abi: readonly unknown[];
  functionName: string;
  args: readonly unknown[];
}

/** Several view reads at once: one Multicall3 call where the target declares it, else one call each (in parallel). */
export async function readMany(a: Agr, calls: ViewCall[]): Promise<unknown[]> {
  if (a.multicall && calls.length > 1) return a.s.public.multicall({ contracts: calls as never, allowFailure: false, multicallAddress: a.multicall }) as Promise<unknown[]>;
  return Promise.all(calls.map((c) => a.s.public.readContract(c as never)));
}

const depositCall = (a: Agr, id: Hex): ViewCall => ({ address: a.escrow, abi: escrowAbi, functionName: 'getDeposit', args: [id] });
const holdingCalls = (a: Agr, who: Address): ViewCall[] => [
  { address: a.usdc, abi: usdcAbi, functionName: 'balanceOf', args: [who] },
  { address: a.escrow, abi: escrowAbi, functionName: 'withdrawableBalance', args: [who] },
];
const toDeposit = ([agentId, buyer, amount, status]: readonly [bigint, Address, bigint, number]) => ({ agentId, buyer, amount, status: Number(status) });

/** `getDeposit(id)` as a record. */
export async function deposit(a: Agr, id: Hex): Promise<{ agentId: bigint; buyer: Address; amount: bigint; status: number }> {
  return toDeposit((await a.s.read(a.escrow, escrowAbi, 'getDeposit', [id])) as never);
}

/** Value held for an account: USDC balance + escrow withdrawable balance (push or pull payouts both count; profile ambiguity 1). */
export async function holdings(a: Agr, who: Address): Promise<{ usdc: bigint; withdrawable: bigint; total: bigint }> {
  const [usdc, withdrawable] = (await readMany(a, holdingCalls(a, who))) as [bigint, bigint];
  return { usdc, withdrawable, total: usdc + withdrawable };
}

/** Holdings (totals) of several addresses at once. */
export async function totals(a: Agr, who: Address[]): Promise<bigint[]> {
  const r = (await readMany(
    a,
    who.flatMap((w) => holdingCalls(a, w)),
  )) as bigint[];
  return who.map((_, i) => r[2 * i]! + r[2 * i + 1]!);
}

/** A deposit and the holdings (totals) of several addresses, in one read where the target allows. */
export async function depositAndTotals(a: Agr, id: Hex, who: Address[]): Promise<{ d: Awaited<ReturnType<typeof deposit>>; totals: bigint[] }> {
  const r = await readMany(a, [depositCall(a, id), ...who.flatMap((w) => holdingCalls(a, w))]);
  const rest = r.slice(1) as bigint[];
  return { d: toDeposit(r[0] as never), totals: who.map((_, i) => rest[2 * i]! + rest[2 * i + 1]!) };
}

/** Payout wallet of an agent: its ERC-8004 agentWallet, else its owner (profile AGR-PROF-07). */
export async function agentWallet(a: Agr, agentId: bigint): Promise<Address> {
  const w = await a.s.read(a.identity, identityAbi, 'getAgentWallet', [agentId]);
  if (w && w !== '0x0000000000000000000000000000000000000000') return w;
  return a.s.read(a.identity, identityAbi, 'ownerOf', [agentId]);
}

/**
 * Feedback entries for `agentId` across the target's ReputationRegistries (revoked ones included:
 * what was given), or undefined when the target declares none.
 */
export async function feedbackCount(a: Agr, agentId: bigint): Promise<number | undefined> {
  if (!a.reputation.length) return undefined;
  const counts = await Promise.all(
    a.reputation.map(async (r) => {
      const all = await a.s.read(r, reputationAbi, 'readAllFeedback', [agentId, [], '', '', true]).catch((e: Error) => {
        throw new Indeterminate(undefined, `cannot read feedback from the ReputationRegistry at ${r}: ${e.message.split('\n')[0]}`);
      });
      return all[0].length;
    }),
  );
  return counts.reduce((x, y) => x + y, 0);
}

/** Escrow events about one deposit since `fromBlock`. */
export async function escrowEvents(a: Agr, depositId: Hex, fromBlock: bigint): Promise<{ eventName: string; args: Record<string, unknown> }[]> {
  const logs = await a.s.public.getLogs({ address: a.escrow, fromBlock, toBlock: 'latest', topics: [null, depositId] } as never);
  return parseEventLogs({ abi: escrowAbi, logs: logs as never, strict: false }) as unknown as { eventName: string; args: Record<string, unknown> }[];
}

/** GET a JSON route of the server (optionally with headers). */
export async function getJson(a: Agr, path: string, headers?: Record<string, string>): Promise<{ status: number; body: any }> {
  const res = await a.ctx.fetch(`${a.url}${path}`, headers ? { headers } : undefined);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* keep text */
  }
  return { status: res.status, body };
}

/** Send JSON to a route of the server. */
export async function sendJson(a: Agr, method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await a.ctx.fetch(`${a.url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* keep text */
  }
  return { status: res.status, body: parsed };
}

/** Tasks a vendor credential sees on `GET /vendor/tasks` (empty when the answer is not a list). */
export async function listed(v: Vendor): Promise<{ status: number; tasks: any[] }> {
  const r = await v.listTasks();
  return { status: r.status, tasks: Array.isArray(r.body?.tasks) ? r.body.tasks : [] };
}

/** Withdraw everything `role` has in the escrow (keeps role balances from draining across runs). */
export async function withdrawAll(a: Agr, role: string): Promise<void> {
  const w = await a.s.read(a.escrow, escrowAbi, 'withdrawableBalance', [a.s.address(role)]);
  if (w > 0n) await a.s.attempt({ label: `${role} withdraws ${formatUsd(w)}`, role, address: a.escrow, abi: escrowAbi, functionName: 'withdraw', args: [] });
}

/** Short form of a hash for action logs. */
export const short = (h: string | undefined) => (h ? `${h.slice(0, 10)}…` : String(h));

/** A unique label for names written in this run (so its registrations can be found among others). */
export const uniq = () => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
