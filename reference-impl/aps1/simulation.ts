/**
 * APS-1 in `amh simulate`: one paid task is one NexusV2 job (the seed's `nexus-escrow`, "single job
 * with dispute resolution"), judged on the proof of execution.
 *
 * The buyer (employer) escrows the seller's price in a job (worker = the seller's wallet, judge = the
 * reviewer drawn for the task, else the market's neutral judge, deadline `jobDeadlineSeconds`); the
 * seller's agent executes with proof (it commits the plan hash, runs, verifies the result hash,
 * completes the job) after `serviceMs`; the judge rules by the scripted judge's rule
 * (agents/judge.ts): settle a completed job whose proof matched (the worker gets the budget less the
 * platform fee, rounded down: protocol/fees.ts), refund anything else. The buyer rates a settled
 * job on chain: 5 for good work, 1 for bad (the only feedback APS-1 has: `rateWorker` takes only a
 * settled job).
 *
 * Strategies: honest and undercutting sellers run the task they committed to; a sloppy seller's
 * delivery is bad with probability 1 − quality, a malicious one's always: bad work is the reference's
 * shortcut worker (it runs a cheaper task than it committed to, so its proof does not match and an
 * honest judge refunds); a failing seller's execution errors (nothing is completed: refund); an
 * absent seller never executes, nor does one slower than the deadline, and the buyer claims the
 * timeout after the deadline. A judge that colludes with the seller settles whatever it delivered.
 *
 * Disputes: none. Against the judge's rule a dispute never changes the ruling (a proven delivery is
 * settled, anything else refunded, disputed or not) and costs the employer its bond when the judge
 * settles, so no employer raises one; and a bond taken after the payment would leave the chain
 * holding less than the ledger until the ledger's step time (the stack runs a task whole at its
 * arrival). The penalty's compat switches therefore change nothing here.
 *
 * One lifecycle ({@link lifecycle}) makes every decision of a task and writes its plan; it asks an
 * executor what the protocol answers. `--engine model` answers from the executable model
 * (protocol/model.ts, {@link modelAnswers}); `--engine stack` from the real contracts and agent
 * servers (simulation-stack.ts).
 */
import { z } from 'zod';
import { defineSimulation, runPlan, type PlanStep, type SimTask, type TaskPlan, type Transfer } from '../../harness/sim/pack.ts';
import { judge, type Evidence } from './agents/judge.ts';
import { APS1_CONSTANTS } from './protocol/constants.ts';
import { type NexusModel, newNexus, nexusParams, nexusStep } from './protocol/model.ts';
import { APS1_PROFILE, type Aps1Profile, JOB_STATUS } from './protocol/profile.ts';

/** The job's deadline: the reference marketplace's (an hour) unless the economy says otherwise. */
const DEFAULT_JOB_DEADLINE_SECONDS = 3600;

const DEADLINE = APS1_PROFILE.escrowDeadlineSeconds;
const DEADLINE_RANGE = `a job deadline is ${DEADLINE.min}..${DEADLINE.max} seconds (APS1EscrowParams.deadlineSeconds)`;

/** The simulation's own knob: the deadline duration every buyer gives its job (APS1EscrowParams.deadlineSeconds' range). */
const Knobs = z
  .object({
    jobDeadlineSeconds: z.number().int().min(DEADLINE.min, DEADLINE_RANGE).max(DEADLINE.max, DEADLINE_RANGE).optional(),
  })
  .passthrough();

/** The constants a task's plan depends on (numbers: metrics.json and the report print them as JSON). */
export interface Aps1SimProfile {
  platformFeeBps: number;
  arbitrationPenaltyBps: number;
  maxArbitrationPenaltyTokens: number;
  penaltyFromWinner: boolean;
  penaltyCapIn18Decimals: boolean;
  timeoutAfterDelivery: boolean;
  verifyByAnyone: boolean;
  jobDeadlineSeconds: number;
}

/** The protocol profile (the model's and the contracts' parameters) of a simulation profile. */
export function aps1ProfileOfSim(p: Aps1SimProfile): Aps1Profile {
  return {
    ...APS1_PROFILE,
    name: 'simulation',
    platformFeeBps: BigInt(p.platformFeeBps),
    arbitrationPenaltyBps: BigInt(p.arbitrationPenaltyBps),
    maxArbitrationPenaltyTokens: BigInt(p.maxArbitrationPenaltyTokens),
    compat: { penaltyFromWinner: p.penaltyFromWinner, penaltyCapIn18Decimals: p.penaltyCapIn18Decimals, timeoutAfterDelivery: p.timeoutAfterDelivery, verifyByAnyone: p.verifyByAnyone },
  };
}

/** What the seller's execution produces: the task it committed to, a cheaper one (the proof will not match), or an error. */
export type Work = 'good' | 'bad' | 'fail';

/** Where an ending job's money went (base units). */
export interface Payout {
  toWorker: bigint;
  toEmployer: bigint;
  toFees: bigint;
}

/** What an execution left: the judge's evidence on chain and what the buyer received. */
export interface Execution {
  evidence: Evidence;
  received: 'good' | 'bad' | 'none';
}

/** What the lifecycle asks the protocol; the executor carries it out (in the model, or for real). */
export type Ask =
  /** The buyer escrows the price in a NexusV2 job. Answer: the budget the job holds. */
  | { kind: 'escrow' }
  /** The seller's agent executes the task (with proof). Answer: an {@link Execution}. */
  | { kind: 'execute'; work: Work }
  /** The judge settles or refunds the job. Answer: the {@link Payout}. */
  | { kind: 'rule'; ruling: 'settle' | 'refund' }
  /** The buyer claims the timeout after the job's deadline. Answer: the {@link Payout}. */
  | { kind: 'timeout' }
  /** The buyer rates the worker of its settled job (1..5). Answer: the rating recorded. */
  | { kind: 'rate'; rating: number };

export type Answer = bigint | Execution | Payout | number;

/** Ledger transfers of a payout out of the task's escrow (the fee stays in NexusV2, as `fees:aps1`). */
function payoutTransfers(task: SimTask, p: Payout): Transfer[] {
  const out: Transfer[] = [];
  if (p.toWorker > 0n) out.push({ from: task.escrow, to: task.seller, amount: p.toWorker });
  if (p.toFees > 0n) out.push({ from: task.escrow, to: task.fees, amount: p.toFees });
  if (p.toEmployer > 0n) out.push({ from: task.escrow, to: task.buyer, amount: p.toEmployer });
  return out;
}

/** The buyer's rating of a settled job and the feedback (0..100) it stands for. */
const RATING = { good: 5, bad: 1 } as const;
const feedbackOf = (rating: number) => ((rating - APS1_PROFILE.rating.min) * 100) / (APS1_PROFILE.rating.max - APS1_PROFILE.rating.min);

/**
 * One task's lifecycle: yields what it asks, receives the protocol's answers, returns the plan. The
 * seller's draw (is this delivery good?) is made here, from the task's own stream, so every executor
 * sees the same work.
 */
export function* lifecycle(task: SimTask): Generator<Ask, TaskPlan, Answer> {
  const p = task.profile as unknown as Aps1SimProfile;
  const budget = (yield { kind: 'escrow' }) as bigint;
  const steps: PlanStep[] = [{ at: 0, action: 'pay', payment: true, transfers: [{ from: task.buyer, to: task.escrow, amount: budget }] }];
  const deadlineMs = p.jobDeadlineSeconds * 1000;
  if (task.strategy === 'absent' || task.serviceMs > deadlineMs) {
    // Nothing was delivered by the deadline: the buyer claims the budget back one second after it.
    const back = (yield { kind: 'timeout' }) as Payout;
    steps.push({ at: deadlineMs + 1000, action: 'timeout', transfers: payoutTransfers(task, back) });
    return { steps, outcome: 'timed-out', delivered: 'none', attempts: 0, rejections: 0 };
  }
  const work: Work = task.strategy === 'failing' ? 'fail' : task.strategy !== 'malicious' && task.rng.chance(task.quality) ? 'good' : 'bad';
  const done = (yield { kind: 'execute', work }) as Execution;
  const at = task.serviceMs;
  steps.push({ at, action: `execute:${work}` });
  const delivered = done.evidence.status === JOB_STATUS.Completed;
  const ruling = task.reviewer?.colludes && delivered ? 'settle' : judge(done.evidence, true);
  const paid = (yield { kind: 'rule', ruling }) as Payout;
  steps.push({ at, action: ruling, transfers: payoutTransfers(task, paid) });
  if (ruling === 'refund') return { steps, outcome: work === 'fail' ? 'failed' : 'refunded', delivered: 'none', attempts: 1, rejections: delivered ? 1 : 0 };
  if (done.received === 'none') throw new Error(`aps1 simulation: task ${task.id}: the judge settled a job that delivered nothing`);
  const rating = (yield { kind: 'rate', rating: RATING[done.received] }) as number;
  steps.push({ at, action: `rate:${rating}`, feedback: feedbackOf(rating) });
  return { steps, outcome: 'settled', delivered: done.received, attempts: 1, rejections: 0 };
}

/** Model addresses of a task's parties (the per-task model never sees the market's names). */
const EMPLOYER = 'employer';
const WORKER = 'worker';
const JUDGE = 'judge';
const TOKEN = 'alphausd';

/**
 * The executable model as the lifecycle's executor: one NexusV2 job of protocol/model.ts with the
 * profile's fee and switches, its time in seconds from the payment. A delivery completes the job;
 * its proof matches when the seller ran the task it committed to.
 */
export function modelAnswers(task: SimTask): (ask: Ask) => Answer {
  const p = task.profile as unknown as Aps1SimProfile;
  let m: NexusModel = newNexus(nexusParams(aps1ProfileOfSim(p), 'owner'));
  const job = 0;
  const apply = (a: Parameters<typeof nexusStep>[1], now: bigint) => {
    const r = nexusStep(m, a, now);
    // The lifecycle never asks for a refused action; one would be a bug in it.
    if (!r.ok) throw new Error(`aps1 simulation: task ${task.id}: the model refuses '${a.kind}': ${r.why}`);
    const feesBefore = m.fees[TOKEN] ?? 0n;
    m = r.next;
    const to = (who: string) => r.transfers.filter((t) => t.from === 'escrow' && t.to === who).reduce((s, t) => s + t.amount, 0n);
    return { toWorker: to(WORKER), toEmployer: to(EMPLOYER), toFees: (m.fees[TOKEN] ?? 0n) - feesBefore };
  };
  const deliveredAt = BigInt(Math.ceil(task.serviceMs / 1000));
  let work: Work | undefined;
  return (ask) => {
    switch (ask.kind) {
      case 'escrow':
        apply({ kind: 'create', by: EMPLOYER, worker: WORKER, judge: JUDGE, token: TOKEN, amount: task.amount, duration: BigInt(p.jobDeadlineSeconds) }, 0n);
        return m.jobs[job]!.budget;
      case 'timeout':
        return apply({ kind: 'timeout', by: EMPLOYER, job }, m.jobs[job]!.deadline + 1n);
      case 'execute': {
        work = ask.work;
        if (work !== 'fail') apply({ kind: 'complete', by: WORKER, job }, deliveredAt);
        const status = JOB_STATUS[m.jobs[job]!.status];
        // The agent commits its plan hash first; it verifies only what it finished running.
        const evidence: Evidence = { status, proof: { verified: work !== 'fail', matched: work === 'good', agentIsWorker: true } };
        return { evidence, received: work === 'fail' ? 'none' : work };
      }
      case 'rule':
        return apply({ kind: ask.ruling, by: JUDGE, job }, deliveredAt);
      case 'rate':
        apply({ kind: 'rate', by: EMPLOYER, job, rating: ask.rating }, deliveredAt);
        return ask.rating;
    }
  };
}

export default defineSimulation({
  protocol: 'aps1',
  outcomes: { settled: 'paid', refunded: 'refunded', failed: 'refunded', 'timed-out': 'timeout' },
  constants: APS1_CONSTANTS,
  profile(overrides) {
    const r = Knobs.safeParse(overrides);
    if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
    const d = { ...APS1_CONSTANTS.defaults, ...r.data } as Record<string, unknown>;
    const num = (k: string) => Number(d[k] as bigint | number);
    const bool = (k: string) => d[k] === true;
    // Every declared constant runs on both engines (the stack puts them on the chain), so nothing is refused.
    return {
      ...r.data,
      platformFeeBps: num('platformFeeBps'),
      arbitrationPenaltyBps: num('arbitrationPenaltyBps'),
      maxArbitrationPenaltyTokens: num('maxArbitrationPenaltyTokens'),
      penaltyFromWinner: bool('penaltyFromWinner'),
      penaltyCapIn18Decimals: bool('penaltyCapIn18Decimals'),
      timeoutAfterDelivery: bool('timeoutAfterDelivery'),
      verifyByAnyone: bool('verifyByAnyone'),
      jobDeadlineSeconds: r.data.jobDeadlineSeconds ?? DEFAULT_JOB_DEADLINE_SECONDS,
    } satisfies Aps1SimProfile & Record<string, unknown>;
  },
  model: (task) => runPlan(lifecycle(task), modelAnswers(task)),
  stack: {
    chains: ['tempo'],
    // No reference service: the market starts one agent server per seller, on the seller's own key.
    services: [],
    // Loaded only for --engine stack: the model engine needs no server code.
    start: async (env) => (await import('./simulation-stack.ts')).startAps1Market(env),
  },
});
