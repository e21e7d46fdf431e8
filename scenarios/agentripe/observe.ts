/**
 * A paid task and everything observable about it. `paidTask` registers an agent (with its owner,
 * agentWallet and operator apart when asked), checks the 402 and the payment on chain, and returns
 * the handle; `observe` compares, after any action, every read route and on-chain view that
 * reflects the task (status, /result, /detail, /vendor/tasks, /agents/{id}/stats, getDeposit, the
 * resolution event, and the holdings of every party) with the model (scenario rule 2).
 */
import { parseEventLogs, type Address, type Hex } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { eventually } from '../../harness/engine/restart.ts';
import { parseUsd } from '../../harness/util/money.ts';
import type { Vendor } from '../../reference-impl/agentripe/agents/vendor.ts';
import { identityAbi } from '../../reference-impl/agentripe/protocol/abi.ts';
import { AGENTRIPE_PROFILE, depositStatusCode, type TaskModel } from '../../reference-impl/agentripe/protocol/model.ts';
import { pickV2 } from '../../reference-impl/x402/agents/payer.ts';
import {
  EXTRA_FIELD,
  REVIEWER_REQUEST,
  TASK_DETAIL,
  TASK_METADATA,
  agr,
  applyRoles,
  askUnpaid,
  deposit,
  depositAndTotals,
  escrowEvents,
  feedbackCount,
  getJson,
  holdings,
  listed,
  pay,
  registerAgent,
  rolesFor,
  short,
  totals,
  vendor,
  withdrawAll,
  type Agr,
  type AgentRoles,
  type RoleShape,
} from './lab.ts';

export const PATH = 'translate';

const transferEvent = [
  {
    type: 'event',
    name: 'Transfer',
    inputs: [
      { name: 'from', type: 'address', indexed: true },
      { name: 'to', type: 'address', indexed: true },
      { name: 'value', type: 'uint256', indexed: false },
    ],
  },
] as const;

/** A paid task ready for the vendor. */
export interface PaidTask {
  a: Agr;
  agentId: bigint;
  taskId: Hex;
  amount: bigint;
  buyer: string;
  roles: AgentRoles;
  /** The acting vendor (the roles' actor), and one client per role that may sign vendor auth. */
  v: Vendor;
  as: Record<string, Vendor>;
  /** Who gets a release now: the agentWallet (changes when a scenario sets another wallet). */
  payee: Address;
  /** The agentWallet when the task was paid (a task's detail may show the agent as it was then). */
  paidPayee: Address;
  /** Block of the payment (event scans start there). */
  paidBlock: bigint;
  /** Holdings (USDC + withdrawable) of every party right after the payment, by lowercase address. */
  base: Map<string, bigint>;
  /** The result the server approved last (what /result must show once completed). */
  approvedResult?: unknown;
  /** The resolution event was checked already. */
  eventChecked?: boolean;
  /** Whether /agents/{id}/stats uses the profile's field names (decided on its first answer). */
  statsShaped?: boolean;
  /** The task was bought with reviewer_request. */
  reviewed: boolean;
  /** The task was bought with the task body (POST), not with GET and no body. */
  withBody: boolean;
}

/** Options of {@link paidTask}. */
export interface PaidTaskOptions {
  price: string;
  buyer: string;
  /** Who owns the agent, holds its wallet and operates it (default: all one address, vendor1). */
  roles?: AgentRoles;
  shape?: RoleShape;
  /** Check the 402 and the payment (AGR-PAY-01/02, AGR-AMT-01); otherwise only require that it works. */
  checkPay?: boolean;
  /** `false` buys a task without reviewer_request even where the reviewer is predictable. */
  review?: boolean;
  /** Buy from this already registered agent instead of registering a new one. */
  agent?: { agentId: bigint; roles: AgentRoles };
  /** Buy with GET and no body (then without review) instead of POST with the task body. */
  get?: boolean;
  /** The server's URL when it is not the `agentripe` endpoint's (the restartable instance). */
  url?: string;
}

/** Register an agent with its roles, check the 402, pay, and check the payment and the deposit on chain. */
export async function paidTask(ctx: RunContext, o: PaidTaskOptions): Promise<PaidTask> {
  const opened = await agr(ctx, o.url);
  const a = { ...opened, get: o.get === true, review: opened.review && (o.review ?? true) && o.get !== true };
  const roles = o.agent?.roles ?? o.roles ?? rolesFor(o.shape ?? 'same');
  const amount = parseUsd(o.price);
  const agentId = o.agent?.agentId ?? (await registerAgent(a, roles.owner, PATH, o.price));
  if (!o.agent) await applyRoles(a, agentId, roles);
  ctx.act(`${o.buyer} asks for '${PATH}' of agent ${agentId} without paying${a.get ? ' (GET, no body)' : ''}`);
  const c = await askUnpaid(a, agentId, PATH);
  const req = pickV2(c, a.s.chainId, a.usdc);
  const check = o.checkPay ?? true;
  if (check) {
    ctx.check('AGR-PAY-01', c.status === 402 && Boolean(req), "an unpaid request gets 402 with a v2 exact requirement in the chain's USDC", {
      expected: `402 with exact / eip155:${a.s.chainId} / ${a.usdc}`,
      actual: `${c.status}${c.v2 ? ` offering ${JSON.stringify(c.v2.accepts.map((r) => [r.scheme, r.network, r.asset]))}` : ' without a PAYMENT-REQUIRED header'}${c.v2Error ? ` (${c.v2Error})` : ''}`,
    });
    ctx.expectEqual('AGR-PAY-01', BigInt(req!.amount), amount, `the 402 amount is exactly the catalog price ${o.price} in base units`);
    ctx.expectEqual('AGR-PAY-01', req!.payTo.toLowerCase(), a.escrow.toLowerCase(), "payTo is the Agentripe escrow (the buyer's USDC is locked there, never sent to the seller)");
  }
  const buyerAddr = a.s.address(o.buyer);
  const zero = { usdc: 0n, withdrawable: 0n, total: 0n };
  const [b0, e0] = check ? await Promise.all([holdings(a, buyerAddr), holdings(a, a.escrow)]) : [zero, zero];
  ctx.act(`${o.buyer} pays ${o.price} (v2 exact, EIP-3009)`);
  const p = await pay(a, o.buyer, agentId, PATH, { req: req ?? undefined });
  if (check)
    ctx.check('AGR-PAY-02', p.status === 200 && /^0x[0-9a-fA-F]{64}$/.test(p.taskId ?? ''), 'a paid request answers 200 {taskId}', {
      expected: '200 + 32-byte taskId',
      actual: `${p.status} ${JSON.stringify(p.body).slice(0, 200)}`,
    });
  else if (p.status !== 200 || !p.taskId) throw new Indeterminate(undefined, `payment was not accepted (${p.status}); cannot run the rest of the scenario`);
  const taskId = p.taskId!.toLowerCase() as Hex;
  ctx.act(`→ task ${short(taskId)}`);
  const receipt = await a.s.public.getTransactionReceipt({ hash: taskId }).catch(() => null);
  if (check) {
    const [b1, e1, d] = await Promise.all([holdings(a, buyerAddr), holdings(a, a.escrow), deposit(a, taskId)]);
    a.s.recordBalances('payment', a.usdc, { buyer: b0.usdc, escrow: e0.usdc }, { buyer: b1.usdc, escrow: e1.usdc });
    ctx.check('AGR-PAY-02', receipt !== null && receipt.status === 'success', 'taskId is the hash of a mined, successful transaction', {
      expected: 'a successful tx',
      actual: receipt ? receipt.status : 'no such transaction',
    });
    // The transaction must be this payment: exactly the price from the buyer to the escrow in USDC.
    const moves = parseEventLogs({ abi: transferEvent, logs: receipt!.logs.filter((l) => l.address.toLowerCase() === a.usdc.toLowerCase()), strict: true });
    const fromBuyer = moves.filter((l) => l.args.from.toLowerCase() === buyerAddr.toLowerCase());
    ctx.check(
      'AGR-PAY-02',
      fromBuyer.length === 1 && fromBuyer[0]!.args.to.toLowerCase() === a.escrow.toLowerCase() && fromBuyer[0]!.args.value === amount,
      'the taskId transaction moved exactly the price in USDC from the buyer to the escrow',
      {
        expected: `one Transfer ${buyerAddr} → ${a.escrow} of ${amount}`,
        actual: moves.length ? moves.map((l) => `${l.args.from} → ${l.args.to}: ${l.args.value}`).join('; ') : 'no USDC Transfer in that transaction',
      },
    );
    ctx.check(
      'AGR-PAY-02',
      d.status === AGENTRIPE_PROFILE.statuses.DEPOSITED && d.agentId === agentId && d.buyer.toLowerCase() === buyerAddr.toLowerCase(),
      'getDeposit(taskId) = (agentId, buyer, amount, DEPOSITED)',
      { expected: `(${agentId}, ${buyerAddr}, ${amount}, 1)`, actual: `(${d.agentId}, ${d.buyer}, ${d.amount}, ${d.status})` },
    );
    const recorded = (await escrowEvents(a, taskId, receipt!.blockNumber)).find((e) => e.eventName === 'DepositRecorded');
    ctx.check(
      'AGR-PAY-02',
      recorded !== undefined && recorded.args.agentId === agentId && String(recorded.args.buyer).toLowerCase() === buyerAddr.toLowerCase() && recorded.args.amount === d.amount,
      'DepositRecorded(taskId, agentId, buyer, amount) was emitted',
      {
        expected: `DepositRecorded(${short(taskId)}, ${agentId}, ${buyerAddr}, ${d.amount})`,
        actual: recorded ? JSON.stringify(recorded.args, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) : 'no such event',
      },
    );
    ctx.check('AGR-AMT-01', b0.usdc - b1.usdc === amount && e1.usdc - e0.usdc === amount && d.amount === amount, `buyer debit, escrow credit and deposit amount are exactly ${amount}`, {
      expected: `${amount} / ${amount} / ${amount}`,
      actual: `${b0.usdc - b1.usdc} / ${e1.usdc - e0.usdc} / ${d.amount}`,
    });
  }
  const as: Record<string, Vendor> = {};
  for (const r of new Set([roles.owner, roles.wallet, ...(roles.operator ? [roles.operator] : [])])) as[r] = vendor(a, r, agentId);
  const t: PaidTask = {
    a,
    agentId,
    taskId,
    amount,
    buyer: o.buyer,
    roles,
    v: as[roles.actor]!,
    as,
    payee: a.s.address(roles.wallet),
    paidPayee: a.s.address(roles.wallet),
    paidBlock: receipt?.blockNumber ?? 0n,
    base: new Map(),
    reviewed: a.review,
    withBody: !a.get,
  };
  await rebase(t);
  return t;
}

/** Every party whose holdings a task may change. */
export function parties(t: PaidTask): Address[] {
  const all = [t.roles.owner, t.roles.wallet, ...(t.roles.operator ? [t.roles.operator] : []), t.buyer].map((r) => t.a.s.address(r));
  return [...new Map(all.map((x) => [x.toLowerCase(), x])).values()];
}

/** Holdings right now become the reference point for credits. */
export async function rebase(t: PaidTask): Promise<void> {
  const who = parties(t);
  const now = await totals(t.a, who);
  who.forEach((w, i) => t.base.set(w.toLowerCase(), now[i]!));
}

/** Requirement ids an observation checks; the optional ones are skipped when absent. */
export interface ObserveReqs {
  /** /tasks/{id} and /result (usually AGR-TASK-01). */
  status: string;
  /** getDeposit. */
  escrow: string;
  /** Credits of the agent wallet and the buyer. */
  money: string;
  /** Who was credited and the resolution event, when owner, wallet and operator differ (AGR-ESC-04). */
  payee?: string;
  /** /tasks/{id}/detail (AGR-API-01). */
  detail?: string;
  /** /vendor/tasks (AGR-VEN-01). */
  listing?: string;
  /** /agents/{id}/stats answers (AGR-API-03). */
  stats?: string;
  /** /agents/{id}/stats counts, when it uses the profile's names (AGR-STAT-01). */
  statsCounts?: string;
}

/** The observables every task scenario checks after every action (scenario rule 2). */
export const OBSERVED = ['AGR-TASK-01', 'AGR-API-01', 'AGR-VEN-01', 'AGR-API-03', 'AGR-ESC-04'];

/** The default observation: task routes, detail, listing, stats, escrow and money. */
export function observing(escrow: string, money = escrow): ObserveReqs {
  return { status: 'AGR-TASK-01', escrow, money, payee: 'AGR-ESC-04', detail: 'AGR-API-01', listing: 'AGR-VEN-01', stats: 'AGR-API-03' };
}

const rolesDiffer = (t: PaidTask) => new Set([t.roles.owner, t.roles.wallet, t.roles.operator ?? t.roles.owner]).size > 1;

/** Compare everything observable about the task with the model `m`. */
export async function observe(ctx: RunContext, t: PaidTask, m: TaskModel, req: ObserveReqs): Promise<void> {
  const a = t.a;
  const who = parties(t);
  const owner = t.as[t.roles.owner]!;
  const [st, res, det, list, stats, { d, totals: now }] = await Promise.all([
    getJson(a, `/tasks/${t.taskId}`),
    getJson(a, `/tasks/${t.taskId}/result`),
    req.detail ? getJson(a, `/tasks/${t.taskId}/detail`) : undefined,
    req.listing ? listed(owner) : undefined,
    req.stats ? getJson(a, `/agents/${t.agentId}/stats`) : undefined,
    depositAndTotals(a, t.taskId, who),
  ]);

  ctx.check(req.status, st.status === 200 && st.body?.status === m.status, `/tasks/{id} reports '${m.status}'`, { expected: m.status, actual: `${st.status} ${st.body?.status}` });
  checkResult(ctx, req.status, t, m, res);
  ctx.check(
    req.escrow,
    d.status === depositStatusCode(m.escrow) && d.agentId === t.agentId && d.amount === t.amount && d.buyer.toLowerCase() === a.s.address(t.buyer).toLowerCase(),
    `getDeposit(taskId) is (agent ${t.agentId}, buyer, ${t.amount}, ${m.escrow.toUpperCase()})`,
    { expected: `(${t.agentId}, ${a.s.address(t.buyer)}, ${t.amount}, ${depositStatusCode(m.escrow)})`, actual: `(${d.agentId}, ${d.buyer}, ${d.amount}, ${d.status})` },
  );

  // Money: the wallet at release and the buyer get exactly what the model says; nobody else anything.
  const got = new Map(who.map((w, i) => [w.toLowerCase(), now[i]! - (t.base.get(w.toLowerCase()) ?? now[i]!)]));
  const expected = new Map(who.map((w) => [w.toLowerCase(), 0n]));
  const buyerAddr = a.s.address(t.buyer).toLowerCase();
  if (m.escrow === 'released') expected.set(t.payee.toLowerCase(), (expected.get(t.payee.toLowerCase()) ?? 0n) + m.vendorCredit);
  expected.set(buyerAddr, (expected.get(buyerAddr) ?? 0n) + m.buyerCredit);
  const name = (w: string) => [t.roles.owner, t.roles.wallet, t.roles.operator, t.buyer].filter((r) => r && a.s.address(r).toLowerCase() === w).join('=');
  const fmt = (x: Map<string, bigint>) =>
    [...x]
      .filter(([k]) => got.has(k))
      .map(([k, v]) => `${name(k)} +${v}`)
      .join(', ');
  const moneyReq = req.payee && rolesDiffer(t) && m.escrow === 'released' ? req.payee : req.money;
  ctx.check(
    moneyReq,
    [...expected].every(([k, v]) => got.get(k) === v),
    'the agentWallet (at release) and the buyer are credited exactly what the model says, nobody else anything (balance + withdrawable)',
    { expected: fmt(expected), actual: fmt(got) },
  );
  if (m.escrow !== 'deposited' && !t.eventChecked) {
    t.eventChecked = true;
    const evs = await escrowEvents(a, t.taskId, t.paidBlock);
    const ev = evs.find((e) => e.eventName === (m.escrow === 'released' ? 'DepositReleased' : 'DepositRefunded'));
    const to = m.escrow === 'released' ? t.payee : a.s.address(t.buyer);
    const who2 = ev ? String(ev.args.agentWallet ?? ev.args.buyer) : undefined;
    ctx.check(
      req.payee && rolesDiffer(t) ? req.payee : req.escrow,
      ev !== undefined && who2?.toLowerCase() === to.toLowerCase() && ev.args.amount === t.amount,
      `${m.escrow === 'released' ? 'DepositReleased(taskId, agentWallet' : 'DepositRefunded(taskId, buyer'}, amount) names ${m.escrow === 'released' ? 'the agentWallet' : 'the buyer'}`,
      { expected: `${to} ${t.amount}`, actual: ev ? `${who2} ${ev.args.amount}` : `no such event (${evs.map((e) => e.eventName).join(', ') || 'none'})` },
    );
  }

  if (req.detail && det) {
    const task = det.body?.task;
    const p = det.body?.payment;
    ctx.check(
      req.detail,
      det.status === 200 && String(task?.id).toLowerCase() === t.taskId && task?.status === m.status && (task?.reviewRejectCount === undefined || Number(task.reviewRejectCount) === m.rejections),
      `/tasks/{id}/detail reports the task as '${m.status}' with ${m.rejections} rejections`,
      { expected: `${t.taskId} ${m.status} rejections ${m.rejections}`, actual: `${det.status} ${task?.id} ${task?.status} rejections ${task?.reviewRejectCount}` },
    );
    ctx.check(
      req.detail,
      String(p?.transactionHash).toLowerCase() === t.taskId && String(p?.amount) === t.amount.toString() && String(p?.payer).toLowerCase() === buyerAddr,
      'detail.payment: transactionHash = taskId, amount = price, payer = buyer',
      { expected: `${t.taskId} / ${t.amount} / ${a.s.address(t.buyer)}`, actual: `${p?.transactionHash} / ${p?.amount} / ${p?.payer}` },
    );
    // The spec gives detail's `agent` no fields: an agent id, where shown, is the task's, and its chain
    // fields are the chain's (its agentWallet may also be the one it had when the task was paid).
    const agent = det.body?.agent;
    if (agent && typeof agent === 'object') {
      if ('agentId' in agent)
        ctx.check(req.detail, String(agent.agentId) === t.agentId.toString(), "detail.agent names the task's agent", { expected: t.agentId.toString(), actual: String(agent.agentId) });
      await expectChainFields(ctx, req.detail, a, t.agentId, agent, '/tasks/{id}/detail.agent', t.paidPayee);
    }
  }
  if (req.listing && list) checkListing(ctx, req.listing, t, m, list);
  if (req.stats && stats) await checkStats(ctx, req, t, m, stats);
}

/**
 * The seed does not define these fields of an agent's listing or detail; where a server shows the
 * owner, agentWallet or agentURI, they are the chain's (rule 1). An agentWallet of null stands for
 * none set (the zero address); `alsoWallet` is another agentWallet the view may show (a task's: the
 * wallet when it was paid).
 */
export async function expectChainFields(
  ctx: RunContext,
  req: string,
  a: Agr,
  agentId: bigint,
  item: { owner?: unknown; agentWallet?: unknown; agentURI?: unknown },
  where: string,
  alsoWallet?: Address,
): Promise<void> {
  const same = (x: unknown, y: string) => typeof x === 'string' && x.toLowerCase() === y.toLowerCase();
  if ('owner' in item) {
    const owner = (await a.s.read(a.identity, identityAbi, 'ownerOf', [agentId])) as Address;
    ctx.check(req, same(item.owner, owner), `${where} shows the owner the chain has`, { expected: owner, actual: String(item.owner) });
  }
  if ('agentWallet' in item) {
    const wallet = (await a.s.read(a.identity, identityAbi, 'getAgentWallet', [agentId])) as Address;
    const shown = same(item.agentWallet, wallet) || (item.agentWallet === null && BigInt(wallet) === 0n) || (alsoWallet !== undefined && same(item.agentWallet, alsoWallet));
    ctx.check(req, shown, `${where} shows the agentWallet the chain has`, {
      expected: alsoWallet && !same(alsoWallet, wallet) ? `${wallet} (or ${alsoWallet}, the wallet when the task was paid)` : wallet,
      actual: String(item.agentWallet),
    });
  }
  if ('agentURI' in item) {
    const uri = String(await a.s.read(a.identity, identityAbi, 'tokenURI', [agentId]));
    ctx.check(req, item.agentURI === uri, `${where} shows the agentURI the chain has`, { expected: uri.slice(0, 200), actual: String(item.agentURI).slice(0, 200) });
  }
}

/** /tasks/{id}/result in the model's state. */
function checkResult(ctx: RunContext, req: string, t: PaidTask, m: TaskModel, r: { status: number; body: any }): void {
  if (m.status === 'completed') {
    const same = t.approvedResult === undefined || JSON.stringify(r.body?.result) === JSON.stringify(t.approvedResult);
    ctx.check(req, r.status === 200 && r.body?.status === 'completed' && r.body?.result !== undefined && same, 'a completed task answers 200 {status:"completed", result} with the approved result', {
      expected: `200 completed ${JSON.stringify(t.approvedResult)}`.slice(0, 200),
      actual: `${r.status} ${JSON.stringify(r.body)}`.slice(0, 300),
    });
  } else if (m.status === 'failed') {
    ctx.check(req, r.status === 200 && r.body?.status === 'failed' && typeof r.body?.errorMessage === 'string', 'a failed task answers 200 {status:"failed", errorMessage}', {
      expected: '200 failed + errorMessage',
      actual: `${r.status} ${JSON.stringify(r.body)}`.slice(0, 300),
    });
  } else {
    // The seed lists 202 for pending|processing; a rejected task is still open (profile §3: "rejected" or "processing").
    const ok = m.status === 'rejected' ? ['rejected', 'processing'].includes(r.body?.status) : r.body?.status === m.status;
    ctx.check(req, r.status === 202 && ok, `an open (${m.status}) task answers 202 on /result`, { expected: `202 ${m.status}`, actual: `${r.status} ${JSON.stringify(r.body)}`.slice(0, 300) });
  }
}

/** The task as the owner's `GET /vendor/tasks` shows it. */
function checkListing(ctx: RunContext, req: string, t: PaidTask, m: TaskModel, l: { status: number; tasks: any[] }): void {
  const mine = l.tasks.filter((x) => String(x?.id).toLowerCase() === t.taskId);
  ctx.check(
    req,
    l.status === 200 && mine.length <= 1 && (m.status !== 'pending' || mine.length === 1),
    `GET /vendor/tasks answers 200 and lists the task ${m.status === 'pending' ? '(pending: it must be listed)' : 'at most once'}`,
    {
      expected: m.status === 'pending' ? 'the task, once' : 'the task at most once',
      actual: `${l.status}, ${mine.length} entries of ${l.tasks.length}`,
    },
  );
  const e = mine[0];
  if (!e) return;
  const meta = typeof e.taskMetadata === 'string' ? safeParse(e.taskMetadata) : e.taskMetadata;
  const wrong: string[] = [];
  if (e.status !== m.status) wrong.push(`status ${e.status} (task is ${m.status})`);
  if (e.productId !== PATH) wrong.push(`productId ${e.productId}`);
  if (String(e.buyerAddress).toLowerCase() !== t.a.s.address(t.buyer).toLowerCase()) wrong.push(`buyerAddress ${e.buyerAddress}`);
  if (t.withBody) {
    if (e.taskDetail !== TASK_DETAIL) wrong.push(`taskDetail ${JSON.stringify(e.taskDetail)}`);
    if (JSON.stringify(meta) !== JSON.stringify(TASK_METADATA)) wrong.push(`taskMetadata ${JSON.stringify(e.taskMetadata)}`);
    if (!JSON.stringify(e.requestPayload ?? '').includes(EXTRA_FIELD.note)) wrong.push(`requestPayload ${JSON.stringify(e.requestPayload)} lacks the extra body field`);
  }
  if (t.reviewed ? e.reviewerRequest !== REVIEWER_REQUEST : Boolean(e.reviewerRequest)) wrong.push(`reviewerRequest ${JSON.stringify(e.reviewerRequest)}`);
  if (m.status === 'failed' && typeof e.errorMessage !== 'string') wrong.push(`errorMessage ${JSON.stringify(e.errorMessage)} on a failed task`);
  ctx.check(req, wrong.length === 0, "the listed task shows its current status and the buyer's request", { expected: `${m.status}, the request as sent`, actual: wrong.join('; ') || 'as expected' });
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/** Stats of the task's agent (it has this one task): a JSON object, and with the profile's names, the counts. */
async function checkStats(ctx: RunContext, req: ObserveReqs, t: PaidTask, m: TaskModel, s: { status: number; body: any }): Promise<void> {
  ctx.check(req.stats!, s.status === 200 && s.body !== null && typeof s.body === 'object' && !Array.isArray(s.body), 'GET /agents/{id}/stats answers 200 with a JSON object', {
    expected: '200 {…}',
    actual: `${s.status} ${JSON.stringify(s.body)}`.slice(0, 200),
  });
  t.statsShaped ??= typeof s.body?.totalTasks === 'number';
  if (!req.statsCounts || !t.statsShaped) return;
  const want = expectedStats([{ m, amount: t.amount }]);
  ctx.check(req.statsCounts, statsMatch(s.body, want), "the agent's stats count its task in its current state", { expected: JSON.stringify(want), actual: JSON.stringify(pickStats(s.body)) });
}

/** The profile's stats for an agent with these tasks. */
export function expectedStats(tasks: { m: TaskModel; amount: bigint }[]): Record<string, number | string> {
  const n = (s: string) => tasks.filter((x) => x.m.status === s).length;
  const sum = (e: string) => tasks.filter((x) => x.m.escrow === e).reduce((acc, x) => acc + x.amount, 0n);
  return {
    totalTasks: tasks.length,
    pendingTasks: n('pending'),
    processingTasks: n('processing'),
    rejectedTasks: n('rejected'),
    completedTasks: n('completed'),
    failedTasks: n('failed'),
    releasedAmount: sum('released').toString(),
    refundedAmount: sum('refunded').toString(),
  };
}

export const STATS_FIELDS = ['totalTasks', 'pendingTasks', 'processingTasks', 'rejectedTasks', 'completedTasks', 'failedTasks', 'releasedAmount', 'refundedAmount'];
export const pickStats = (b: any) => Object.fromEntries(STATS_FIELDS.map((k) => [k, b?.[k]]));
export function statsMatch(body: any, want: Record<string, number | string>): boolean {
  return STATS_FIELDS.every((k) => (typeof want[k] === 'string' ? String(body?.[k]) === want[k] : body?.[k] === want[k]));
}

/** Keep the buyer's USDC from draining across runs: it withdraws refunds (pull-style in the profile; vendors never pay, so their credits may stay). */
export async function tidy(t: PaidTask): Promise<void> {
  await withdrawAll(t.a, t.buyer).catch(() => undefined);
}

/** How long a server may take to give the reputation feedback of a resolution (profile §3.16: it may land after the answer). */
const FEEDBACK_WITHIN_MS = 20_000;

/**
 * At the end: the escrow saw one DepositRecorded and exactly one release or refund for the task,
 * and the task's agent (registered for this task alone) got exactly one reputation feedback for it
 * from the server: `othersFeedback` entries the buyer gave the agent are counted besides it.
 */
export async function resolvedOnce(ctx: RunContext, req: string, t: PaidTask, m: TaskModel, othersFeedback = 0): Promise<void> {
  const events = await escrowEvents(t.a, t.taskId, t.paidBlock);
  const count = (name: string) => events.filter((e) => e.eventName === name).length;
  const want = m.escrow === 'released' ? 'DepositReleased' : 'DepositRefunded';
  const seen = { recorded: count('DepositRecorded'), released: count('DepositReleased'), refunded: count('DepositRefunded') };
  ctx.check(
    req,
    seen.recorded === 1 && seen[m.escrow === 'released' ? 'released' : 'refunded'] === 1 && seen.released + seen.refunded === 1,
    `the escrow recorded the deposit once and resolved it exactly once (${want})`,
    {
      expected: `DepositRecorded 1, ${want} 1, nothing else`,
      actual: `DepositRecorded ${seen.recorded}, DepositReleased ${seen.released}, DepositRefunded ${seen.refunded}`,
    },
  );
  // Feedback may land after the restart's resync or just after an answer (profile §3.16): wait for it.
  if ((await feedbackCount(t.a, t.agentId)) === undefined) return;
  const feedbackNow = async () => (await feedbackCount(t.a, t.agentId)) ?? 0;
  const entries = 1 + othersFeedback;
  await eventually(async () => (await feedbackNow()) >= entries, FEEDBACK_WITHIN_MS);
  const given = await feedbackNow();
  const others = othersFeedback ? ` besides the ${othersFeedback} the buyer gave` : '';
  ctx.check(req, given === entries, `the agent has exactly one reputation feedback from the server for the ${m.escrow === 'released' ? 'release' : 'refund'}${others} (none lost, none given twice)`, {
    expected: othersFeedback ? `${entries} feedback entries (the server's 1 and the buyer's ${othersFeedback})` : '1 feedback entry',
    actual: `${given}`,
  });
}
