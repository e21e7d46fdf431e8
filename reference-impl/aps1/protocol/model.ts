/**
 * Executable model of APS-1's escrows (specs/protocols.md §D.3-D.4 + profile.md): NexusV2 jobs and
 * StreamV1 milestone streams as pure state machines, with the profile's constants and compat
 * switches, and the money each step moves (computed by fees.ts). Pure: no I/O. The scenarios apply
 * every agent action to the model and to the target's contracts and compare every view and balance;
 * the forge invariant handlers follow the same rules.
 */
import { arbitrationPenalty, disputeBond, platformFee, settleJob, settleMilestone, type PenaltyRates } from './fees.ts';
import type { Aps1Profile, JobStatusName, MilestoneStatusName, StreamStatusName } from './profile.ts';

/** Lower-case 0x address. */
export type Addr = string;

/** A token movement a step causes (`escrow` = the contract itself). */
export interface Transfer {
  token: Addr;
  from: Addr | 'escrow';
  to: Addr | 'escrow';
  amount: bigint;
}

export type StepResult<M> = { ok: false; why: string } | { ok: true; next: M; transfers: Transfer[]; id?: number };

const refused = (why: string): { ok: false; why: string } => ({ ok: false, why });

function add(m: Record<Addr, bigint>, k: Addr, v: bigint): Record<Addr, bigint> {
  return { ...m, [k]: (m[k] ?? 0n) + v };
}

// ---- NexusV2 ------------------------------------------------------------------------------------

/** How a job ended (every job ends in exactly one of these). */
export type JobEnding = 'settled' | 'refunded' | 'timed-out';

export interface JobModel {
  id: number;
  employer: Addr;
  worker: Addr;
  judge: Addr;
  token: Addr;
  budget: bigint;
  fee: bigint;
  deadline: bigint;
  status: JobStatusName;
  rated: boolean;
  bond: bigint;
  ended?: JobEnding;
}

export interface NexusParams {
  owner: Addr;
  feeBps: bigint;
  penaltyBps: bigint;
  cap18: bigint;
  compat: Aps1Profile['compat'];
  maxDeadlineSeconds: bigint;
  /** Decimals of a token (the cap is read in them). */
  decimals(token: Addr): number;
}

export interface NexusModel {
  params: NexusParams;
  jobs: JobModel[];
  fees: Record<Addr, bigint>;
  escrowed: Record<Addr, bigint>;
  ratings: Record<Addr, { sum: bigint; count: bigint }>;
}

export type NexusAction =
  | { kind: 'create'; by: Addr; worker: Addr; judge: Addr; token: Addr; amount: bigint; duration: bigint }
  | { kind: 'start' | 'complete' | 'dispute' | 'settle' | 'refund' | 'timeout'; by: Addr; job: number }
  | { kind: 'rate'; by: Addr; job: number; rating: number }
  | { kind: 'withdrawFees'; by: Addr; token: Addr };

/** The params of a NexusV2 initialised from a profile. */
export function nexusParams(p: Aps1Profile, owner: Addr, decimals: (token: Addr) => number = () => 6): NexusParams {
  return {
    owner: owner.toLowerCase(),
    feeBps: p.platformFeeBps,
    penaltyBps: p.arbitrationPenaltyBps,
    cap18: p.maxArbitrationPenaltyTokens * 10n ** 18n,
    compat: { ...p.compat },
    maxDeadlineSeconds: BigInt(p.maxDeadlineSeconds),
    decimals,
  };
}

export function newNexus(params: NexusParams): NexusModel {
  return { params, jobs: [], fees: {}, escrowed: {}, ratings: {} };
}

const ZERO = '0x0000000000000000000000000000000000000000';

function rates(m: NexusModel, token: Addr): PenaltyRates {
  return { penaltyBps: m.params.penaltyBps, cap18: m.params.cap18, decimals: m.params.decimals(token), capIn18Decimals: m.params.compat.penaltyCapIn18Decimals };
}

/** Whether `claimTimeout` is open for a job now (status part; the caller and time are checked apart). */
export function timeoutAllowed(m: NexusModel, j: JobModel): boolean {
  if (j.status === 'Settled' || j.status === 'Refunded') return false;
  return m.params.compat.timeoutAfterDelivery || j.status === 'Created' || j.status === 'Executing';
}

/** isTimedOut(jobId) at time `now`. */
export function isTimedOut(m: NexusModel, id: number, now: bigint): boolean {
  const j = m.jobs[id];
  return j !== undefined && now > j.deadline && timeoutAllowed(m, j);
}

/** Apply one action at block time `now`. */
export function nexusStep(m: NexusModel, a: NexusAction, now: bigint): StepResult<NexusModel> {
  const by = a.by.toLowerCase();
  const p = m.params;
  if (a.kind === 'create') {
    if ([a.worker, a.judge, a.token].some((x) => x.toLowerCase() === ZERO)) return refused('zero address');
    if (a.amount <= 0n) return refused('zero amount');
    if (a.duration <= 0n || a.duration > p.maxDeadlineSeconds) return refused('invalid deadline');
    const token = a.token.toLowerCase();
    const job: JobModel = {
      id: m.jobs.length,
      employer: by,
      worker: a.worker.toLowerCase(),
      judge: a.judge.toLowerCase(),
      token,
      budget: a.amount,
      fee: platformFee(a.amount, p.feeBps),
      deadline: now + a.duration,
      status: 'Created',
      rated: false,
      bond: 0n,
    };
    return {
      ok: true,
      id: job.id,
      next: { ...m, jobs: [...m.jobs, job], escrowed: add(m.escrowed, token, a.amount) },
      transfers: [{ token, from: by, to: 'escrow', amount: a.amount }],
    };
  }
  if (a.kind === 'withdrawFees') {
    const token = a.token.toLowerCase();
    if (by !== p.owner) return refused('not owner');
    const amount = m.fees[token] ?? 0n;
    if (amount === 0n) return refused('nothing to withdraw');
    return { ok: true, next: { ...m, fees: { ...m.fees, [token]: 0n } }, transfers: [{ token, from: 'escrow', to: by, amount }] };
  }
  const j = m.jobs[a.job];
  if (!j) return refused('job not found');
  const isWorkerJudgeOwner = by === j.worker || by === j.judge || by === p.owner;
  const isJudgeOwner = by === j.judge || by === p.owner;
  const final = j.status === 'Settled' || j.status === 'Refunded';
  const put = (nj: JobModel, extra: Partial<NexusModel> = {}): NexusModel => ({ ...m, ...extra, jobs: m.jobs.map((x) => (x.id === nj.id ? nj : x)) });
  switch (a.kind) {
    case 'start':
      if (!isWorkerJudgeOwner) return refused('not worker, judge or owner');
      if (j.status !== 'Created') return refused(`status ${j.status}`);
      return { ok: true, next: put({ ...j, status: 'Executing' }), transfers: [] };
    case 'complete':
      if (!isWorkerJudgeOwner) return refused('not worker, judge or owner');
      if (j.status !== 'Created' && j.status !== 'Executing') return refused(`status ${j.status}`);
      if (!p.compat.timeoutAfterDelivery && now > j.deadline) return refused('deadline passed');
      return { ok: true, next: put({ ...j, status: 'Completed' }), transfers: [] };
    case 'dispute': {
      if (by !== j.employer) return refused('not employer');
      if (j.status !== 'Created' && j.status !== 'Executing' && j.status !== 'Completed') return refused(`status ${j.status}`);
      const bond = disputeBond(j.budget, rates(m, j.token), p.compat.penaltyFromWinner);
      return {
        ok: true,
        next: put({ ...j, status: 'Disputed', bond }, { escrowed: add(m.escrowed, j.token, bond) }),
        transfers: bond > 0n ? [{ token: j.token, from: by, to: 'escrow', amount: bond }] : [],
      };
    }
    case 'settle':
    case 'refund': {
      if (!isJudgeOwner) return refused('not judge or owner');
      if (final) return refused(`status ${j.status}`);
      const s = settleJob({
        end: a.kind,
        budget: j.budget,
        fee: j.fee,
        disputed: j.status === 'Disputed',
        bond: j.bond,
        penaltyFromWinner: p.compat.penaltyFromWinner,
        penaltyNow: arbitrationPenalty(j.budget, rates(m, j.token)),
      });
      const transfers: Transfer[] = [];
      if (s.toWorker > 0n) transfers.push({ token: j.token, from: 'escrow', to: j.worker, amount: s.toWorker });
      if (s.toEmployer > 0n) transfers.push({ token: j.token, from: 'escrow', to: j.employer, amount: s.toEmployer });
      const status = a.kind === 'settle' ? 'Settled' : 'Refunded';
      return {
        ok: true,
        next: put({ ...j, status, bond: 0n, ended: a.kind === 'settle' ? 'settled' : 'refunded' }, { fees: add(m.fees, j.token, s.toFees), escrowed: add(m.escrowed, j.token, -(j.budget + j.bond)) }),
        transfers,
      };
    }
    case 'timeout': {
      if (by !== j.employer) return refused('not employer');
      if (now <= j.deadline) return refused('deadline not reached');
      if (!timeoutAllowed(m, j)) return refused(`status ${j.status}`);
      const s = settleJob({ end: 'timeout', budget: j.budget, fee: j.fee, disputed: j.status === 'Disputed', bond: j.bond, penaltyFromWinner: p.compat.penaltyFromWinner, penaltyNow: 0n });
      return {
        ok: true,
        next: put({ ...j, status: 'Refunded', bond: 0n, ended: 'timed-out' }, { escrowed: add(m.escrowed, j.token, -(j.budget + j.bond)) }),
        transfers: [{ token: j.token, from: 'escrow', to: j.employer, amount: s.toEmployer }],
      };
    }
    case 'rate': {
      if (by !== j.employer) return refused('not employer');
      if (j.status !== 'Settled') return refused(`status ${j.status}`);
      if (j.rated) return refused('already rated');
      if (a.rating < 1 || a.rating > 5) return refused('rating out of range');
      const r = m.ratings[j.worker] ?? { sum: 0n, count: 0n };
      return { ok: true, next: put({ ...j, rated: true }, { ratings: { ...m.ratings, [j.worker]: { sum: r.sum + BigInt(a.rating), count: r.count + 1n } } }), transfers: [] };
    }
  }
}

// ---- StreamV1 -----------------------------------------------------------------------------------

export interface MilestoneModel {
  amount: bigint;
  proofHash: string;
  status: MilestoneStatusName;
}

export interface StreamModel {
  id: number;
  client: Addr;
  agent: Addr;
  token: Addr;
  totalBudget: bigint;
  releasedAmount: bigint;
  totalFees: bigint;
  deadline: bigint;
  approvedCount: number;
  feeBps: bigint;
  status: StreamStatusName;
  milestones: MilestoneModel[];
  ended?: 'completed' | 'cancelled' | 'timed-out';
}

export interface StreamsModel {
  owner: Addr;
  feeBps: bigint;
  maxMilestones: number;
  maxDeadlineSeconds: bigint;
  streams: StreamModel[];
  fees: Record<Addr, bigint>;
  escrowed: Record<Addr, bigint>;
}

export type StreamAction =
  | { kind: 'create'; by: Addr; agent: Addr; token: Addr; amounts: bigint[]; duration: bigint }
  | { kind: 'submit'; by: Addr; stream: number; index: number; proofHash: string }
  | { kind: 'approve' | 'reject'; by: Addr; stream: number; index: number }
  | { kind: 'cancel' | 'timeout'; by: Addr; stream: number }
  | { kind: 'withdrawFees'; by: Addr; token: Addr };

export function newStreams(p: Aps1Profile, owner: Addr): StreamsModel {
  return { owner: owner.toLowerCase(), feeBps: p.platformFeeBps, maxMilestones: p.maxMilestones, maxDeadlineSeconds: BigInt(p.maxDeadlineSeconds), streams: [], fees: {}, escrowed: {} };
}

/** What cancel or timeout would refund now. */
export function remaining(s: StreamModel): bigint {
  return s.status === 'Active' ? s.totalBudget - s.releasedAmount : 0n;
}

export function streamStep(m: StreamsModel, a: StreamAction, now: bigint): StepResult<StreamsModel> {
  const by = a.by.toLowerCase();
  if (a.kind === 'create') {
    if (a.agent.toLowerCase() === ZERO || a.token.toLowerCase() === ZERO) return refused('zero address');
    if (a.amounts.length === 0 || a.amounts.length > m.maxMilestones) return refused(`milestone count ${a.amounts.length}`);
    if (a.duration <= 0n || a.duration > m.maxDeadlineSeconds) return refused('invalid deadline');
    if (a.amounts.some((x) => x <= 0n)) return refused('zero milestone amount');
    const token = a.token.toLowerCase();
    const total = a.amounts.reduce((x, y) => x + y, 0n);
    const s: StreamModel = {
      id: m.streams.length,
      client: by,
      agent: a.agent.toLowerCase(),
      token,
      totalBudget: total,
      releasedAmount: 0n,
      totalFees: 0n,
      deadline: now + a.duration,
      approvedCount: 0,
      feeBps: m.feeBps,
      status: 'Active',
      milestones: a.amounts.map((amount) => ({ amount, proofHash: `0x${'0'.repeat(64)}`, status: 'Pending' })),
    };
    return { ok: true, id: s.id, next: { ...m, streams: [...m.streams, s], escrowed: add(m.escrowed, token, total) }, transfers: [{ token, from: by, to: 'escrow', amount: total }] };
  }
  if (a.kind === 'withdrawFees') {
    const token = a.token.toLowerCase();
    if (by !== m.owner) return refused('not owner');
    const amount = m.fees[token] ?? 0n;
    if (amount === 0n) return refused('nothing to withdraw');
    return { ok: true, next: { ...m, fees: { ...m.fees, [token]: 0n } }, transfers: [{ token, from: 'escrow', to: by, amount }] };
  }
  const s = m.streams[a.stream];
  if (!s) return refused('stream not found');
  if (s.status !== 'Active') return refused(`stream ${s.status}`);
  const put = (ns: StreamModel, extra: Partial<StreamsModel> = {}): StreamsModel => ({ ...m, ...extra, streams: m.streams.map((x) => (x.id === ns.id ? ns : x)) });
  const isClientOwner = by === s.client || by === m.owner;
  switch (a.kind) {
    case 'submit': {
      if (by !== s.agent && by !== m.owner) return refused('not agent or owner');
      const ms = s.milestones[a.index];
      if (!ms) return refused('no such milestone');
      if (ms.status !== 'Pending' && ms.status !== 'Rejected') return refused(`milestone ${ms.status}`);
      return { ok: true, next: put({ ...s, milestones: s.milestones.map((x, i) => (i === a.index ? { ...x, status: 'Submitted', proofHash: a.proofHash.toLowerCase() } : x)) }), transfers: [] };
    }
    case 'approve':
    case 'reject': {
      if (!isClientOwner) return refused('not client or owner');
      const ms = s.milestones[a.index];
      if (!ms) return refused('no such milestone');
      if (ms.status !== 'Submitted') return refused(`milestone ${ms.status}`);
      if (a.kind === 'reject') return { ok: true, next: put({ ...s, milestones: s.milestones.map((x, i) => (i === a.index ? { ...x, status: 'Rejected' } : x)) }), transfers: [] };
      const pay = settleMilestone(ms.amount, s.feeBps);
      const approvedCount = s.approvedCount + 1;
      const done = approvedCount === s.milestones.length;
      const ns: StreamModel = {
        ...s,
        releasedAmount: s.releasedAmount + ms.amount,
        totalFees: s.totalFees + pay.toFees,
        approvedCount,
        status: done ? 'Completed' : 'Active',
        ...(done ? { ended: 'completed' as const } : {}),
        milestones: s.milestones.map((x, i) => (i === a.index ? { ...x, status: 'Approved' } : x)),
      };
      return {
        ok: true,
        next: put(ns, { fees: add(m.fees, s.token, pay.toFees), escrowed: add(m.escrowed, s.token, -ms.amount) }),
        transfers: [{ token: s.token, from: 'escrow', to: s.agent, amount: pay.toAgent }],
      };
    }
    case 'cancel':
    case 'timeout': {
      if (a.kind === 'cancel' ? !isClientOwner : by !== s.client) return refused(a.kind === 'cancel' ? 'not client or owner' : 'not client');
      if (a.kind === 'timeout' && now <= s.deadline) return refused('deadline not reached');
      const refund = s.totalBudget - s.releasedAmount;
      return {
        ok: true,
        next: put({ ...s, status: 'Cancelled', ended: a.kind === 'cancel' ? 'cancelled' : 'timed-out' }, { escrowed: add(m.escrowed, s.token, -refund) }),
        transfers: refund > 0n ? [{ token: s.token, from: 'escrow', to: s.client, amount: refund }] : [],
      };
    }
  }
}

/** Net balance change per (token, holder) of a list of transfers (`escrow` included). */
export function netFlows(ts: readonly Transfer[]): Map<string, bigint> {
  const out = new Map<string, bigint>();
  const bump = (token: string, who: string, v: bigint) => out.set(`${token}:${who}`, (out.get(`${token}:${who}`) ?? 0n) + v);
  for (const t of ts) {
    bump(t.token, t.from, -t.amount);
    bump(t.token, t.to, t.amount);
  }
  return out;
}
