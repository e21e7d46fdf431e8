/**
 * NexusV2 scenarios, on the target's chain only (snapshot isolation, chain clock controlled):
 * the model-based job lifecycle (every role, every action, in any order, with time moving), races
 * between worker, judge and employer, every attack in every run, and the fee/penalty math at its
 * boundaries. The oracle is reference-impl/aps1/protocol/model.ts with the reference profile (the
 * intent of the text): a target running the public contracts' quirks fails exactly the
 * requirements the quirks break.
 */
import fc from 'fast-check';
import type { Address } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario, type ModelScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { nexusCall, rateCall } from '../../reference-impl/aps1/agents/employer.ts';
import { ATTACK_KINDS, attackCall, type AttackKind } from '../../reference-impl/aps1/agents/judge.ts';
import { nexusAbi, proofAbi, tokenAbi } from '../../reference-impl/aps1/protocol/abi.ts';
import { arbitrationPenalty, platformFee, settleJob, type JobEnd } from '../../reference-impl/aps1/protocol/fees.ts';
import { isTimedOut, netFlows, newNexus, nexusParams, nexusStep, type NexusAction, type NexusModel, type Transfer } from '../../reference-impl/aps1/protocol/model.ts';
import { APS1_PROFILE, JOB_STATUS, type JobStatusName } from '../../reference-impl/aps1/protocol/profile.ts';
import { intent, actor, allow, aps, EMPLOYERS, hash32, mineAt, nextBlockAt, NEEDS, short, WORKERS, type Aps } from './lab.ts';

const P = APS1_PROFILE;
const STATUS_NAMES = P.statuses.job as readonly JobStatusName[];
/** Roles of the NexusV2 scenarios: employers, workers, judges (a job's judge may be another job's worker), the owner, an attacker. */
const ROLES = ['buyer1', 'buyer2', 'vendor1', 'vendor2', 'judge', 'provider', 'admin', 'attacker'];
const CHAIN = { needs: NEEDS, roles: ROLES, capabilities: ['clock-control' as const, 'snapshot' as const], isolation: 'snapshot' as const };

/** Budgets at the rounding and cap boundaries (6-decimal tokens) and ordinary ones. */
export const BUDGETS = [1n, 12n, 13n, 33n, 34n, 5_000_000n, 333_333_333n, 333_333_334n, 1_000_000_000n, 100_000_000_000n];
const JOB_MODEL_REQS = ['APS-JOB-01', 'APS-JOB-02', 'APS-JOB-03', 'APS-JOB-04', 'APS-JOB-05', 'APS-DSP-01', 'APS-DSP-02', 'APS-DSP-03'];
const ATTACK_REQS = ['APS-JOB-02', 'APS-JOB-04', 'APS-JOB-05', 'APS-DSP-03'];
const FEE_REQS = ['APS-FEE-01', 'APS-JOB-01', 'APS-JOB-03', 'APS-DSP-01', 'APS-DSP-02'];
const budgetArb = fc.oneof(fc.constantFrom(...BUDGETS), fc.bigInt({ min: 1n, max: 2_000_000_000n }));

// ---- the world a run acts in -------------------------------------------------------------------

interface World {
  a: Aps;
  ctx: RunContext;
  /** The job id the model's job 0 has on chain (jobs created before the run are not the model's). */
  offset: bigint;
  tokens: Address[];
  holders: Record<string, Address>;
  /** Balances (token:holder lower-case) and accrued fees at the start of the run. */
  base: Map<string, bigint>;
  fees0: Map<string, bigint>;
  /** The requirement a check is filed under: itself when the scenario declares it, else the scenario's first. */
  r(req: string): string;
}

interface State {
  m: NexusModel;
  now: bigint;
  flows: Transfer[];
}

async function world(ctx: RunContext, reqs: readonly string[]): Promise<{ w: World; state: State }> {
  const a = await aps(ctx);
  const tokens = a.tokens.slice(0, 2);
  for (const e of EMPLOYERS) for (const t of tokens) await allow(a, e, t, a.c.nexus);
  const holders: Record<string, Address> = Object.fromEntries(ROLES.map((r) => [r, a.s.address(r)]));
  holders.nexus = a.c.nexus;
  const base = new Map<string, bigint>();
  const fees0 = new Map<string, bigint>();
  for (const t of tokens) {
    for (const h of Object.values(holders)) base.set(`${t.toLowerCase()}:${h.toLowerCase()}`, await a.s.balanceOf(t, h));
    fees0.set(t.toLowerCase(), await a.s.read(a.c.nexus, nexusAbi, 'accumulatedFees', [t]));
  }
  const owner = await a.s.read(a.c.nexus, nexusAbi, 'owner');
  const offset = await a.s.read(a.c.nexus, nexusAbi, 'nextJobId');
  const r = (req: string) => (reqs.includes(req) ? req : reqs[0]!);
  return { w: { a, ctx, offset, tokens, holders, base, fees0, r }, state: { m: newNexus(nexusParams(intent(ctx), owner)), now: await a.s.now(), flows: [] } };
}

/** The requirement a check about `action` on `job` belongs to. */
function reqOf(m: NexusModel, act: NexusAction, refusedWhy?: string): string {
  if (act.kind === 'create') return 'APS-JOB-01';
  if (act.kind === 'withdrawFees') return 'APS-JOB-03';
  const j = m.jobs[act.job];
  const finished = j && (j.status === 'Settled' || j.status === 'Refunded');
  if (finished && act.kind !== 'rate') return 'APS-JOB-04';
  if (act.kind === 'timeout' || (act.kind === 'complete' && refusedWhy === 'deadline passed')) return 'APS-JOB-05';
  if ((act.kind === 'settle' || act.kind === 'refund') && j?.status === 'Disputed') return refusedWhy ? 'APS-DSP-03' : 'APS-DSP-01';
  if (act.kind === 'dispute' && !refusedWhy) return 'APS-DSP-02';
  if (act.kind === 'settle' || act.kind === 'refund') return refusedWhy ? 'APS-JOB-02' : 'APS-JOB-03';
  return 'APS-JOB-02';
}

/** The call an action sends. */
function callOf(w: World, act: NexusAction) {
  switch (act.kind) {
    case 'create':
      return { address: w.a.c.nexus, abi: nexusAbi, functionName: 'createJob', args: [act.worker as Address, act.judge as Address, act.token as Address, act.amount, act.duration] as const };
    case 'start':
      return nexusCall(w.a.c, 'startJob', w.offset + BigInt(act.job));
    case 'complete':
      return nexusCall(w.a.c, 'completeJob', w.offset + BigInt(act.job));
    case 'dispute':
      return nexusCall(w.a.c, 'disputeJob', w.offset + BigInt(act.job));
    case 'settle':
      return nexusCall(w.a.c, 'settleJob', w.offset + BigInt(act.job));
    case 'refund':
      return nexusCall(w.a.c, 'refundJob', w.offset + BigInt(act.job));
    case 'timeout':
      return nexusCall(w.a.c, 'claimTimeout', w.offset + BigInt(act.job));
    case 'rate':
      return rateCall(w.a.c, w.offset + BigInt(act.job), act.rating);
    case 'withdrawFees':
      return { address: w.a.c.nexus, abi: nexusAbi, functionName: 'withdrawFees', args: [act.token as Address] as const };
  }
}

const roleOf = (w: World, addr: string) => Object.entries(w.holders).find(([, v]) => v.toLowerCase() === addr.toLowerCase())?.[0] ?? addr;

/**
 * Compare every observable with the model: each job's getJob and dispute bond, isTimedOut at the
 * latest block, accrued fees, and the balance of every role and of NexusV2 in every token.
 */
async function compare(w: World, st: State, req: string): Promise<void> {
  const { a, ctx } = w;
  const latest = await a.s.now();
  for (const j of st.m.jobs) {
    const id = w.offset + BigInt(j.id);
    const r = await a.s.read(a.c.nexus, nexusAbi, 'getJob', [id]);
    ctx.check(w.r('APS-FEE-01'), r.platformFee === j.fee, `job ${id}: platformFee = floor(budget × 8%)`, { expected: j.fee, actual: r.platformFee });
    const got = `${STATUS_NAMES[r.status]} budget ${r.budget} fee ${r.platformFee} deadline ${r.deadline} rated ${r.rated} ${r.employer.toLowerCase()}/${r.worker.toLowerCase()}/${r.judge.toLowerCase()}/${r.token.toLowerCase()}`;
    const want = `${j.status} budget ${j.budget} fee ${j.fee} deadline ${j.deadline} rated ${j.rated} ${j.employer}/${j.worker}/${j.judge}/${j.token}`;
    ctx.check(w.r(req), got === want, `job ${id} on chain is what the model says`, { expected: want, actual: got });
    const bond = await a.s.read(a.c.nexus, nexusAbi, 'disputeBond', [id]);
    ctx.check(w.r(j.status === 'Disputed' ? 'APS-DSP-02' : req), bond === j.bond, `job ${id}: dispute bond`, { expected: j.bond, actual: bond });
    const timedOut = await a.s.read(a.c.nexus, nexusAbi, 'isTimedOut', [id]);
    ctx.check(w.r(j.status === 'Settled' || j.status === 'Refunded' ? req : 'APS-JOB-05'), timedOut === isTimedOut(st.m, j.id, latest), `job ${id}: isTimedOut at ${latest}`, {
      expected: isTimedOut(st.m, j.id, latest),
      actual: timedOut,
    });
  }
  const flows = netFlows(st.flows);
  for (const t of w.tokens) {
    const fees = await a.s.read(a.c.nexus, nexusAbi, 'accumulatedFees', [t]);
    const want = (w.fees0.get(t.toLowerCase()) ?? 0n) + (st.m.fees[t.toLowerCase()] ?? 0n);
    ctx.check(w.r(req), fees === want, `accrued fees in ${short(t)}`, { expected: want, actual: fees });
    const got: string[] = [];
    const exp: string[] = [];
    for (const [label, h] of Object.entries(w.holders)) {
      const k = `${t.toLowerCase()}:${h.toLowerCase()}`;
      const flow = flows.get(`${t.toLowerCase()}:${label === 'nexus' ? 'escrow' : h.toLowerCase()}`) ?? 0n;
      const want = (w.base.get(k) ?? 0n) + flow;
      const bal = await a.s.balanceOf(t, h);
      if (bal !== want) {
        got.push(`${label} ${bal}`);
        exp.push(`${label} ${want}`);
      }
    }
    ctx.check(w.r(req), got.length === 0, `balances in ${short(t)} (every role and NexusV2) are what the model says`, { expected: exp.join(', '), actual: got.join(', ') });
  }
}

/** Apply one action to the model and to the chain at the next second, then compare everything. */
async function act(w: World, st: State, action: NexusAction, label: string): Promise<void> {
  const t = st.now + 1n;
  await nextBlockAt(w.a, t);
  const expected = nexusStep(st.m, action, t);
  const who = roleOf(w, action.by);
  w.ctx.act(`${label} [t=${t}]`);
  const r = await actor(w.a, who).send(label, callOf(w, action) as never);
  st.now = t;
  const req = reqOf(st.m, action, expected.ok ? undefined : expected.why);
  if (!expected.ok) {
    w.ctx.check(w.r(req), !r.ok, `${label} is refused (${expected.why})`, { expected: `refused: ${expected.why}`, actual: r.ok ? `accepted in ${r.hash}` : r.reason });
  } else {
    w.ctx.check(w.r(req), r.ok, `${label} is accepted`, { expected: 'accepted', actual: r.ok ? 'accepted' : `refused: ${r.reason}` });
    if (action.kind === 'create' && r.ok) {
      const ev = r.events.find((e) => e.eventName === 'JobCreated');
      w.ctx.check(w.r('APS-JOB-01'), ev !== undefined && BigInt(ev.args.jobId) === w.offset + BigInt(expected.id!), 'jobs are numbered in order (JobCreated)', {
        expected: w.offset + BigInt(expected.id!),
        actual: ev ? String(ev.args.jobId) : 'no JobCreated',
      });
    }
    st.m = expected.next;
    st.flows.push(...expected.transfers);
  }
  await compare(w, st, req);
}

// ---- commands ------------------------------------------------------------------------------------

type Cmd = fc.AsyncCommand<State, World>;

class CreateCmd implements Cmd {
  constructor(readonly o: { employer: number; worker: number; judge: number; token: number; amount: bigint; duration: number }) {}
  check = () => true;
  async run(st: State, w: World): Promise<void> {
    const employer = EMPLOYERS[this.o.employer % 2]!;
    const worker = WORKERS[this.o.worker % 2]!;
    // Roles that usually coincide differ: sometimes the other worker judges.
    const judge = ['judge', 'provider', WORKERS[(this.o.worker + 1) % 2]!][this.o.judge % 3]!;
    const token = w.tokens[this.o.token % w.tokens.length]!;
    await act(
      w,
      st,
      { kind: 'create', by: w.holders[employer]!, worker: w.holders[worker]!, judge: w.holders[judge]!, token, amount: this.o.amount, duration: BigInt(this.o.duration) },
      `${employer} creates a job for ${worker} judged by ${judge}: ${this.o.amount} base units of ${short(token)}, ${this.o.duration}s`,
    );
  }
  toString = () => `create(${JSON.stringify({ ...this.o, amount: String(this.o.amount) })})`;
}

type Kind = 'start' | 'complete' | 'dispute' | 'settle' | 'refund' | 'timeout';
const RIGHT: Record<Kind | 'rate', 'worker' | 'employer' | 'judge'> = {
  start: 'worker',
  complete: 'worker',
  dispute: 'employer',
  settle: 'judge',
  refund: 'judge',
  timeout: 'employer',
  rate: 'employer',
};

/** Two times in three the role the action needs; else one of the others (the owner included). */
function pickWho(w: World, st: State, job: number, kind: Kind | 'rate', who: number): string {
  const j = st.m.jobs[job]!;
  const right = roleOf(w, j[RIGHT[kind]]);
  if (who % 3 !== 0) return right;
  const others = ROLES.filter((r) => r !== right);
  return others[Math.floor(who / 3) % others.length]!;
}

class JobCmd implements Cmd {
  constructor(
    readonly kind: Kind,
    readonly job: number,
    readonly who: number,
  ) {}
  check = (st: Readonly<State>) => st.m.jobs.length > 0;
  async run(st: State, w: World): Promise<void> {
    const job = this.job % st.m.jobs.length;
    const who = pickWho(w, st, job, this.kind, this.who);
    await act(w, st, { kind: this.kind, by: w.holders[who]!, job }, `${who} → ${this.kind} job #${job} (${st.m.jobs[job]!.status})`);
  }
  toString = () => `${this.kind}(job ${this.job}, who ${this.who})`;
}

class RateCmd implements Cmd {
  constructor(
    readonly job: number,
    readonly who: number,
    readonly rating: number,
  ) {}
  check = (st: Readonly<State>) => st.m.jobs.length > 0;
  async run(st: State, w: World): Promise<void> {
    const job = this.job % st.m.jobs.length;
    const who = pickWho(w, st, job, 'rate', this.who);
    await act(w, st, { kind: 'rate', by: w.holders[who]!, job, rating: this.rating }, `${who} rates job #${job} ${this.rating}`);
  }
  toString = () => `rate(job ${this.job}, who ${this.who}, ${this.rating})`;
}

/** Someone without the role tries every action on one job, in a generated order (rule 4: every attack, every run). */
class IntruderCmd implements Cmd {
  constructor(
    readonly job: number,
    readonly who: 'attacker' | 'other-employer' | 'other-worker',
    readonly order: (Kind | 'rate')[],
  ) {}
  check = (st: Readonly<State>) => st.m.jobs.length > 0;
  async run(st: State, w: World): Promise<void> {
    const job = this.job % st.m.jobs.length;
    const j = st.m.jobs[job]!;
    const role =
      this.who === 'attacker'
        ? 'attacker'
        : this.who === 'other-employer'
          ? EMPLOYERS.find((e) => w.holders[e]!.toLowerCase() !== j.employer)!
          : WORKERS.find((x) => w.holders[x]!.toLowerCase() !== j.worker && w.holders[x]!.toLowerCase() !== j.judge)!;
    if (!role) return;
    for (const kind of this.order) {
      const by = w.holders[role]!;
      await act(w, st, kind === 'rate' ? { kind, by, job, rating: 5 } : { kind, by, job }, `${role} (not a party) → ${kind} job #${job} (${st.m.jobs[job]!.status})`);
    }
  }
  toString = () => `intruder(${this.who} on job ${this.job}: ${this.order.join(', ')})`;
}

/** Moves the chain clock to a job's deadline, one second past it, or by some seconds. */
class AdvanceCmd implements Cmd {
  constructor(
    readonly to: 'deadline' | 'past-deadline' | 'seconds',
    readonly job: number,
    readonly secs: number,
  ) {}
  check = () => true;
  async run(st: State, w: World): Promise<void> {
    const j = st.m.jobs.length ? st.m.jobs[this.job % st.m.jobs.length] : undefined;
    let t = st.now + BigInt(this.secs);
    if (j && this.to === 'deadline') t = j.deadline - 1n; // the next transaction lands exactly on the deadline
    if (j && this.to === 'past-deadline') t = j.deadline;
    if (t <= st.now) t = st.now + 1n;
    w.ctx.act(`the chain clock moves to ${t}${j ? ` (job #${j.id} deadline ${j.deadline})` : ''}`);
    await mineAt(w.a, t);
    st.now = t;
    await compare(w, st, 'APS-JOB-05');
  }
  toString = () => `advance(${this.to}, job ${this.job}, ${this.secs}s)`;
}

const idx = fc.nat({ max: 7 });
const who = fc.nat({ max: 23 });

export const jobModel: ModelScenario<State, World> = defineScenario({
  kind: 'model',
  id: 'job-lifecycle-model',
  title: 'Model-based NexusV2: every role tries every action in any order while time moves; every view and balance follows the model',
  requirements: JOB_MODEL_REQS,
  ...CHAIN,
  maxCommands: 14,
  commands: () => [
    fc.record({ employer: idx, worker: idx, judge: idx, token: idx, amount: budgetArb, duration: fc.integer({ min: 60, max: 3600 }) }).map((o) => new CreateCmd(o)),
    fc.tuple(fc.constantFrom<Kind>('start', 'complete', 'dispute', 'settle', 'refund', 'timeout'), idx, who).map(([k, j, x]) => new JobCmd(k, j, x)),
    fc.tuple(fc.constantFrom<Kind>('complete', 'dispute', 'settle', 'refund'), idx, who).map(([k, j, x]) => new JobCmd(k, j, x)),
    fc.tuple(idx, who, fc.integer({ min: 0, max: 6 })).map(([j, x, r]) => new RateCmd(j, x, r)),
    fc
      .tuple(
        idx,
        fc.constantFrom<'attacker' | 'other-employer' | 'other-worker'>('attacker', 'other-employer', 'other-worker'),
        fc.shuffledSubarray<Kind | 'rate'>(['start', 'complete', 'dispute', 'settle', 'refund', 'timeout', 'rate'], { minLength: 7 }),
      )
      .map(([j, x, o]) => new IntruderCmd(j, x, o)),
    fc.tuple(fc.constantFrom<'deadline' | 'past-deadline' | 'seconds'>('deadline', 'past-deadline', 'seconds'), idx, fc.integer({ min: 1, max: 4000 })).map(([t, j, s]) => new AdvanceCmd(t, j, s)),
  ],
  async setup(ctx) {
    const { w, state } = await world(ctx, JOB_MODEL_REQS);
    // One job to start from, so every run exercises the lifecycle, not only creation.
    await act(
      w,
      state,
      { kind: 'create', by: w.holders.buyer1!, worker: w.holders.vendor1!, judge: w.holders.judge!, token: w.tokens[0]!, amount: 5_000_000n, duration: 1800n },
      'buyer1 creates a job for vendor1 judged by judge (5 AlphaUSD)',
    );
    // …and every action tried once by the attacker on it (then the commands do the rest).
    await new IntruderCmd(0, 'attacker', ['start', 'complete', 'dispute', 'settle', 'refund', 'timeout', 'rate']).run(state, w);
    return { model: state, real: w };
  },
});

// ---- races -----------------------------------------------------------------------------------

type RaceAct = 'worker-complete' | 'employer-dispute' | 'judge-settle' | 'judge-refund' | 'employer-timeout';
/** At most one action per party (a party does not race itself): the worker's, the employer's, the judge's. */
const raceActs = fc
  .tuple(
    fc.constantFrom<RaceAct | null>('worker-complete', null),
    fc.constantFrom<RaceAct | null>('employer-dispute', 'employer-timeout', null),
    fc.constantFrom<RaceAct | null>('judge-settle', 'judge-refund', null),
  )
  .map((xs) => xs.filter((x): x is RaceAct => x !== null))
  .filter((xs) => xs.length >= 2);

/**
 * One fresh job brought to a state (Created, Completed, Disputed, or past its deadline), then two or
 * three actions of its worker, judge and employer sent at once, in an order a fast-check scheduler
 * (generated with the command, so it shrinks and replays) picks. The end state must be one that
 * running the same actions one after the other reaches, with the money paid once.
 */
class RaceCmd implements Cmd {
  constructor(
    readonly from: 'created' | 'completed' | 'disputed' | 'expired',
    readonly acts: RaceAct[],
    readonly sch: fc.Scheduler,
  ) {}
  check = () => true;
  async run(st: State, w: World): Promise<void> {
    const employer = w.holders.buyer1!;
    const worker = w.holders.vendor1!;
    const judge = w.holders.judge!;
    const token = w.tokens[0]!;
    await act(w, st, { kind: 'create', by: employer, worker, judge, token, amount: 5_000_000n, duration: 600n }, `buyer1 creates a job for vendor1 judged by judge (race from ${this.from})`);
    const job = st.m.jobs.length - 1;
    if (this.from === 'completed' || this.from === 'disputed') await act(w, st, { kind: 'complete', by: worker, job }, 'vendor1 completes it');
    if (this.from === 'disputed') await act(w, st, { kind: 'dispute', by: employer, job }, 'buyer1 disputes it');
    if (this.from === 'expired') {
      st.now = st.m.jobs[job]!.deadline + 5n;
      await mineAt(w.a, st.now);
    }
    const actions: { role: string; a: NexusAction }[] = this.acts.map((k) => {
      if (k === 'worker-complete') return { role: 'vendor1', a: { kind: 'complete', by: worker, job } };
      if (k === 'employer-dispute') return { role: 'buyer1', a: { kind: 'dispute', by: employer, job } };
      if (k === 'judge-settle') return { role: 'judge', a: { kind: 'settle', by: judge, job } };
      if (k === 'judge-refund') return { role: 'judge', a: { kind: 'refund', by: judge, job } };
      return { role: 'buyer1', a: { kind: 'timeout', by: employer, job } };
    });
    w.ctx.act(`at once: ${this.acts.join(', ')}`);
    const before = st.m;
    const t0 = st.now;
    const sends = actions.map((x) => this.sch.schedule(Promise.resolve(x), x.role).then(() => actor(w.a, x.role).send(`${x.role} ${x.a.kind} (race)`, callOf(w, x.a) as never)));
    await this.sch.waitFor(Promise.all(sends));
    w.ctx.act(
      `  order: ${this.sch
        .report()
        .map((x) => x.label)
        .join(' → ')}`,
    );
    // Every order of the actions, applied to the model (times after t0, far from the deadline boundary).
    const perms = (xs: number[]): number[][] => (xs.length <= 1 ? [xs] : xs.flatMap((x, i) => perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p])));
    const outcomes = perms(actions.map((_, i) => i)).map((order) => {
      let m = before;
      const flows: Transfer[] = [];
      let t = t0;
      for (const i of order) {
        t += 1n;
        const r = nexusStep(m, actions[i]!.a, t);
        if (r.ok) {
          m = r.next;
          flows.push(...r.transfers);
        }
      }
      return { m, flows };
    });
    const id = w.offset + BigInt(job);
    const real = await w.a.s.read(w.a.c.nexus, nexusAbi, 'getJob', [id]);
    // Orders can end in the same status with different money (settled with or without a dispute bond): match both.
    const tk = token.toLowerCase();
    const fees = (await w.a.s.read(w.a.c.nexus, nexusAbi, 'accumulatedFees', [w.tokens[0]!])) - (w.fees0.get(tk) ?? 0n);
    const workerGot = (await w.a.s.balanceOf(w.tokens[0]!, worker)) - (w.base.get(`${tk}:${worker.toLowerCase()}`) ?? 0n);
    const earlier = netFlows(st.flows);
    const match = outcomes.find((o) => {
      const f = netFlows(o.flows);
      const k = `${tk}:${worker.toLowerCase()}`;
      return STATUS_NAMES[real.status] === o.m.jobs[job]!.status && (o.m.fees[tk] ?? 0n) === fees && (earlier.get(k) ?? 0n) + (f.get(k) ?? 0n) === workerGot;
    });
    w.ctx.check(w.r('APS-JOB-06'), match !== undefined, 'the race ends in a state some order of the same actions reaches', {
      expected: [...new Set(outcomes.map((o) => `${o.m.jobs[job]!.status} (fees ${o.m.fees[tk] ?? 0n})`))].join(' or '),
      actual: `${STATUS_NAMES[real.status]} (fees ${fees})`,
    });
    st.m = match!.m;
    st.flows.push(...match!.flows);
    st.now = await w.a.s.now();
    await compare(w, st, 'APS-JOB-06');
  }
  toString = () => `race(from ${this.from}: ${this.acts.join(' | ')})`;
}

export const jobRaces: ModelScenario<State, World> = defineScenario({
  kind: 'model',
  id: 'job-races',
  title: 'Races: worker, judge and employer act on one job at the same time; the job resolves once, as some order would',
  requirements: ['APS-JOB-06'],
  ...CHAIN,
  maxCommands: 3,
  commands: () => [
    fc.tuple(fc.constantFrom<'created' | 'completed' | 'disputed' | 'expired'>('created', 'completed', 'disputed', 'expired'), raceActs, fc.scheduler()).map(([f, a, s]) => new RaceCmd(f, a, s)),
  ],
  async setup(ctx) {
    const { w, state } = await world(ctx, ['APS-JOB-06']);
    return { model: state, real: w };
  },
});

// ---- every attack, every run -------------------------------------------------------------------

export const jobAttacks = defineScenario({
  kind: 'property',
  id: 'job-attacks',
  title: 'Every attack in every run: settle/refund of a dispute by a non-judge, dispute by a non-employer, early or foreign timeout claims, double settle and reopening a settled job',
  requirements: ATTACK_REQS,
  ...CHAIN,
  arbitrary: () =>
    fc.record({
      order: fc.shuffledSubarray(
        ATTACK_KINDS.filter((k) => k !== 'forged-proof'),
        { minLength: ATTACK_KINDS.length - 1 },
      ),
      budget: budgetArb,
    }),
  async run(ctx, v) {
    const { w } = await world(ctx, ATTACK_REQS);
    const { a } = w;
    const employer = w.holders.buyer2!;
    const worker = w.holders.vendor2!;
    const judge = w.holders.judge!;
    // Set-up without judging it (the lifecycle scenarios do): three jobs, C created, U delivered, D disputed.
    const setup = async (role: string, label: string, call: ReturnType<typeof callOf>) => {
      ctx.act(label);
      const r = await actor(a, role).send(label, call as never);
      if (!r.ok) throw new Indeterminate(undefined, `setup: ${label} was refused (${r.reason})`);
    };
    const [C, U, D] = [w.offset, w.offset + 1n, w.offset + 2n];
    const names = new Map([
      [C, 'C'],
      [U, 'U'],
      [D, 'D'],
    ]);
    for (const id of [C, U, D]) {
      await setup(
        'buyer2',
        `buyer2 creates job ${names.get(id)} for vendor2 (${v.budget} base units)`,
        callOf(w, { kind: 'create', by: employer, worker, judge, token: w.tokens[0]!, amount: v.budget, duration: 3600n }),
      );
      if (id !== C) await setup('vendor2', `vendor2 completes job ${names.get(id)}`, nexusCall(a.c, 'completeJob', id));
      if (id === D) await setup('buyer2', 'buyer2 disputes job D', nexusCall(a.c, 'disputeJob', id));
    }
    const attacks: Record<Exclude<AttackKind, 'forged-proof'>, { who: string; job: bigint; req: string }> = {
      'settle-by-non-judge': { who: 'buyer2', job: D, req: 'APS-DSP-03' },
      'refund-by-non-judge': { who: 'vendor2', job: D, req: 'APS-DSP-03' },
      'dispute-by-non-employer': { who: 'attacker', job: U, req: 'APS-JOB-02' },
      'claim-before-deadline': { who: 'buyer2', job: C, req: 'APS-JOB-05' },
      'timeout-by-non-employer': { who: 'attacker', job: C, req: 'APS-JOB-05' },
      'double-settle': { who: 'judge', job: U, req: 'APS-JOB-04' },
    };
    for (const kind of v.order) {
      const x = attacks[kind as Exclude<AttackKind, 'forged-proof'>];
      if (kind === 'double-settle') {
        // The judge settles U once (allowed), then tries again below; the employer tries to reopen it.
        await setup('judge', 'judge settles job U', nexusCall(a.c, 'settleJob', U));
        const snap = await ctx.balancesOf(a.s, w.tokens[0]!, { employer, worker, nexus: a.c.nexus });
        ctx.act('buyer2 disputes the settled job U');
        const d = await actor(a, 'buyer2').send('dispute after settlement', nexusCall(a.c, 'disputeJob', U));
        ctx.check('APS-JOB-04', !d.ok, 'a settled job cannot be disputed', { expected: 'refused', actual: d.ok ? `accepted in ${d.hash}` : d.reason });
        await ctx.expectNoMoneyMoved('APS-JOB-04', snap, 'dispute after settlement: no money moved');
      }
      const job0 = await a.s.read(a.c.nexus, nexusAbi, 'getJob', [x.job]);
      const snap = await ctx.balancesOf(a.s, w.tokens[0]!, { employer, worker, judge, attacker: w.holders.attacker!, nexus: a.c.nexus });
      ctx.act(`${x.who} tries: ${kind} on job ${names.get(x.job)}`);
      const r = await actor(a, x.who).send(kind, attackCall(a.c, kind, { jobId: x.job }) as never);
      ctx.check(x.req, !r.ok, `${kind} by ${x.who} is refused`, { expected: 'refused', actual: r.ok ? `accepted in ${r.hash}` : r.reason });
      await ctx.expectNoMoneyMoved(x.req, snap, `${kind}: no money moved`);
      const job1 = await a.s.read(a.c.nexus, nexusAbi, 'getJob', [x.job]);
      ctx.expectEqual(x.req, `${STATUS_NAMES[job1.status]}`, `${STATUS_NAMES[job0.status]}`, `${kind}: the job is unchanged`);
    }
  },
});

// ---- the rules the public contracts break (one verdict each) -----------------------------------

export const disputeOutcomes = defineScenario({
  kind: 'property',
  id: 'dispute-outcomes',
  title: 'Disputes cost the loser: a settled dispute pays the worker budget − fee in full, a refunded one returns the employer’s whole budget and bond',
  requirements: ['APS-DSP-01'],
  ...CHAIN,
  arbitrary: () => fc.record({ budget: budgetArb, first: fc.constantFrom<'settle' | 'refund'>('settle', 'refund') }),
  async run(ctx, v) {
    const { w, state: st } = await world(ctx, ['APS-DSP-01']);
    const { a } = w;
    const token = w.tokens[0]!;
    const [employer, worker, judge] = [w.holders.buyer2!, w.holders.vendor2!, w.holders.judge!];
    const fee = platformFee(v.budget, intent(ctx).platformFeeBps);
    for (const ruling of v.first === 'settle' ? (['settle', 'refund'] as const) : (['refund', 'settle'] as const)) {
      const e0 = await a.s.balanceOf(token, employer);
      const w0 = await a.s.balanceOf(token, worker);
      await act(w, st, { kind: 'create', by: employer, worker, judge, token, amount: v.budget, duration: 3600n }, `buyer2 locks ${v.budget} base units for vendor2`);
      const job = st.m.jobs.length - 1;
      await act(w, st, { kind: 'complete', by: worker, job }, 'vendor2 delivers');
      await act(w, st, { kind: 'dispute', by: employer, job }, 'buyer2 disputes the delivery');
      await act(w, st, { kind: ruling, by: judge, job }, `the judge rules: ${ruling} (${ruling === 'settle' ? 'the employer lost' : 'the worker lost'})`);
      const dw = (await a.s.balanceOf(token, worker)) - w0;
      const de = (await a.s.balanceOf(token, employer)) - e0;
      if (ruling === 'settle') ctx.expectEqual('APS-DSP-01', dw, v.budget - fee, 'the winning worker is paid budget − fee, nothing less');
      else ctx.expectEqual('APS-DSP-01', `${de}/${dw}`, '0/0', 'the winning employer ends where it started (budget and bond back)');
    }
  },
});

export const penaltyCap = defineScenario({
  kind: 'property',
  id: 'penalty-cap',
  title: 'The arbitration penalty charged on a dispute is 3% of the budget, rounded down, and never more than 10 tokens in the token’s units',
  requirements: ['APS-DSP-02'],
  ...CHAIN,
  arbitrary: () =>
    fc.record({
      budget: fc.oneof(fc.constantFrom(33n, 34n, 333_333_333n, 333_333_334n, 1_000_000_000n, 100_000_000_000n), fc.bigInt({ min: 1n, max: 200_000_000_000n })),
      ruling: fc.constantFrom<'settle' | 'refund'>('settle', 'refund'),
    }),
  async run(ctx, v) {
    const { w, state: st } = await world(ctx, ['APS-DSP-02']);
    const { a } = w;
    const token = w.tokens[0]!;
    const [employer, worker, judge] = [w.holders.buyer1!, w.holders.vendor2!, w.holders.provider!];
    const fees0 = await a.s.read(a.c.nexus, nexusAbi, 'accumulatedFees', [token]);
    const before = (await a.s.balanceOf(token, employer)) + (await a.s.balanceOf(token, worker));
    await act(w, st, { kind: 'create', by: employer, worker, judge, token, amount: v.budget, duration: 3600n }, `buyer1 locks ${v.budget} base units`);
    const job = st.m.jobs.length - 1;
    await act(w, st, { kind: 'dispute', by: employer, job }, 'buyer1 disputes');
    await act(w, st, { kind: v.ruling, by: judge, job }, `the judge ${v.ruling}s`);
    // Whoever pays it, the penalty is what the parties lost beyond the platform fee.
    const after = (await a.s.balanceOf(token, employer)) + (await a.s.balanceOf(token, worker));
    const charged = before - after - (v.ruling === 'settle' ? platformFee(v.budget, intent(ctx).platformFeeBps) : 0n);
    const p = (v.budget * intent(ctx).arbitrationPenaltyBps) / 10_000n;
    const cap = intent(ctx).maxArbitrationPenaltyTokens * 10n ** 6n;
    const want = v.ruling === 'refund' ? 0n : p < cap ? p : cap;
    ctx.expectEqual('APS-DSP-02', charged, want, v.ruling === 'settle' ? `the losing employer pays min(3% = ${p}, cap ${cap})` : 'the losing worker staked nothing: no penalty to charge');
    ctx.expectEqual(
      'APS-DSP-02',
      (await a.s.read(a.c.nexus, nexusAbi, 'accumulatedFees', [token])) - fees0,
      (v.ruling === 'settle' ? platformFee(v.budget, intent(ctx).platformFeeBps) : 0n) + want,
      'the fee and the penalty accrue to the platform',
    );
  },
});

export const timeoutRules = defineScenario({
  kind: 'property',
  id: 'timeout-rules',
  title: 'Timeout at the exact deadline: refused at it, the whole budget one second later, only for an undelivered job, only by its employer; a delivery after the deadline is refused',
  requirements: ['APS-JOB-05'],
  ...CHAIN,
  arbitrary: () => fc.record({ budget: budgetArb, started: fc.boolean(), duration: fc.integer({ min: 60, max: 7200 }) }),
  async run(ctx, v) {
    const { w, state: st } = await world(ctx, ['APS-JOB-05']);
    const token = w.tokens[0]!;
    const [employer, worker, judge] = [w.holders.buyer1!, w.holders.vendor1!, w.holders.judge!];
    const d = BigInt(v.duration);
    // Job A is delivered at the last second; job B never is.
    await act(w, st, { kind: 'create', by: employer, worker, judge, token, amount: v.budget, duration: d }, `buyer1 locks ${v.budget} for job A (${v.duration}s)`);
    await act(w, st, { kind: 'create', by: employer, worker, judge, token, amount: v.budget, duration: d + 1n }, `buyer1 locks ${v.budget} for job B (${v.duration + 1}s)`);
    const [A, B] = [st.m.jobs.length - 2, st.m.jobs.length - 1];
    if (v.started) await act(w, st, { kind: 'start', by: worker, job: B }, 'vendor1 starts job B');
    st.now = st.m.jobs[A]!.deadline - 1n;
    await act(w, st, { kind: 'complete', by: worker, job: A }, 'vendor1 delivers job A exactly at its deadline');
    await act(w, st, { kind: 'timeout', by: employer, job: A }, 'buyer1 claims job A (delivered in time) one second after its deadline');
    await act(w, st, { kind: 'timeout', by: employer, job: B }, 'buyer1 claims job B exactly at its deadline');
    await act(w, st, { kind: 'complete', by: worker, job: B }, 'vendor1 delivers job B one second late');
    await act(w, st, { kind: 'timeout', by: w.holders.attacker!, job: B }, 'the attacker claims job B');
    await act(w, st, { kind: 'timeout', by: employer, job: B }, 'buyer1 claims job B one second after its deadline');
    await act(w, st, { kind: 'timeout', by: employer, job: B }, 'buyer1 claims job B again');
  },
});

export const proofForgery = defineScenario({
  kind: 'property',
  id: 'proof-forgery',
  title: 'A forged verification (a stranger, the employer, or another agent verifying someone’s commitment) is refused; the agent still verifies',
  requirements: ['APS-PRF-03'],
  needs: NEEDS,
  roles: ['vendor1', 'vendor2', 'buyer1', 'attacker'],
  isolation: 'snapshot',
  arbitrary: () => fc.record({ forger: fc.constantFrom('attacker', 'buyer1', 'vendor2'), plan: fc.bigInt({ min: 1n, max: 2n ** 200n }), job: fc.bigInt({ min: 0n, max: 1000n }) }),
  async run(ctx, v) {
    const a = await aps(ctx);
    ctx.act(`vendor1 commits plan ${hash32(v.plan).slice(0, 10)}… for job ${v.job}`);
    const c = await actor(a, 'vendor1').send('commit', { address: a.c.proof, abi: proofAbi, functionName: 'commit', args: [hash32(v.plan), v.job] });
    const id = c.ok ? (c.events.find((e) => e.eventName === 'CommitmentMade')?.args.commitmentId as `0x${string}` | undefined) : undefined;
    if (!id) throw new Indeterminate('APS-PRF-03', `setup: commit failed (${c.ok ? 'no event' : c.reason})`);
    ctx.act(`${v.forger} verifies vendor1's commitment with a forged result hash`);
    const f = await actor(a, v.forger).send('forged verify', attackCall(a.c, 'forged-proof', { jobId: v.job, commitmentId: id }) as never);
    ctx.check('APS-PRF-03', !f.ok, `a verification by ${v.forger} is refused`, { expected: 'refused', actual: f.ok ? `accepted in ${f.hash}` : f.reason });
    const cm = await a.s.read(a.c.proof, proofAbi, 'getCommitment', [id]);
    ctx.expectEqual('APS-PRF-03', cm.verified, false, 'the commitment is still unverified');
    const ok = await actor(a, 'vendor1').send('verify its own commitment', { address: a.c.proof, abi: proofAbi, functionName: 'verify', args: [id, hash32(v.plan)] });
    ctx.check('APS-PRF-03', ok.ok, 'the committing agent verifies its own commitment', { expected: 'accepted', actual: ok.ok ? 'accepted' : ok.reason });
  },
});

// ---- fee and penalty math at the boundaries ----------------------------------------------------

export const feeBoundaries = defineScenario({
  kind: 'property',
  id: 'fee-boundaries',
  title:
    'Fee and penalty math at the boundaries (1 unit, 12/13, 33/34, the seed’s 5 AlphaUSD, the cap at 333.333334, large): every ending, disputed or not, pays every party exactly; the fee is fixed at creation',
  requirements: FEE_REQS,
  ...CHAIN,
  arbitrary: () => fc.record({ budget: budgetArb, feeChange: fc.boolean(), order: fc.shuffledSubarray(['settle', 'refund', 'timeout'] as JobEnd[], { minLength: 3 }) }),
  async run(ctx, v) {
    const { w, state: st } = await world(ctx, FEE_REQS);
    const { a } = w;
    const token = w.tokens[0]!;
    const [employer, worker, judge] = [w.holders.buyer1!, w.holders.vendor1!, w.holders.judge!];
    const fee = platformFee(v.budget, intent(ctx).platformFeeBps);
    const rates = { penaltyBps: intent(ctx).arbitrationPenaltyBps, cap18: intent(ctx).maxArbitrationPenaltyTokens * 10n ** 18n, decimals: 6, capIn18Decimals: false };
    // Every ending, undisputed and disputed, in a generated order (one job each).
    for (const end of v.order)
      for (const disputed of [false, true]) {
        const bal = async () => Promise.all([employer, worker].map((h) => a.s.balanceOf(token, h)));
        const [e0, w0] = await bal();
        const fees0 = await a.s.read(a.c.nexus, nexusAbi, 'accumulatedFees', [token]);
        await act(w, st, { kind: 'create', by: employer, worker, judge, token, amount: v.budget, duration: 600n }, `buyer1 locks ${v.budget} base units for vendor1`);
        const job = st.m.jobs.length - 1;
        ctx.expectEqual('APS-FEE-01', st.m.jobs[job]!.fee, fee, `platform fee = floor(${v.budget} × 8%)`);
        const raise = v.feeChange && end === 'settle' && !disputed;
        if (raise) {
          // The owner raises the fee after creation: this job's fee must not change (fixed at creation).
          const r = await actor(a, 'admin').send('owner sets the platform fee to 30%', { address: a.c.nexus, abi: nexusAbi, functionName: 'setPlatformFee', args: [3000n] });
          if (r.ok) ctx.act('the owner raised the platform fee to 30% after the job was created');
          st.now = await a.s.now();
        }
        if (disputed) await act(w, st, { kind: 'dispute', by: employer, job }, 'buyer1 disputes');
        if (end === 'timeout') {
          st.now = st.m.jobs[job]!.deadline;
          await mineAt(a, st.now);
        }
        // A disputed job is the judge's (its timeout is APS-JOB-05's business): the judge refunds it.
        const endAction: NexusAction = end === 'timeout' && !disputed ? { kind: 'timeout', by: employer, job } : { kind: end === 'timeout' ? 'refund' : end, by: judge, job };
        const label = endAction.kind === 'timeout' ? 'buyer1 claims the timeout' : `judge ${endAction.kind}s${disputed ? ' the dispute' : ''}`;
        if (raise) {
          // Judged below as APS-JOB-01 (the fee fixed at creation), not by the model's comparison.
          const t = st.now + 1n;
          await nextBlockAt(a, t);
          const expected = nexusStep(st.m, endAction, t);
          ctx.act(`${label} [t=${t}]`);
          const r = await actor(a, 'judge').send(label, callOf(w, endAction) as never);
          st.now = t;
          ctx.check('APS-JOB-01', r.ok && expected.ok, `${label} is accepted`, { expected: 'accepted', actual: r.ok ? 'accepted' : r.reason });
          if (expected.ok) {
            st.m = expected.next;
            st.flows.push(...expected.transfers);
          }
        } else await act(w, st, endAction, label);
        const bond = disputed ? arbitrationPenalty(v.budget, rates) : 0n;
        const s = settleJob({ end: end === 'timeout' && disputed ? 'refund' : end, budget: v.budget, fee, disputed, bond, penaltyFromWinner: false, penaltyNow: bond });
        const [e1, w1] = await bal();
        const fees1 = await a.s.read(a.c.nexus, nexusAbi, 'accumulatedFees', [token]);
        const req = disputed ? 'APS-DSP-01' : raise ? 'APS-JOB-01' : end === 'settle' ? 'APS-FEE-01' : 'APS-JOB-03';
        a.s.recordBalances(`${end}${disputed ? ' (disputed)' : ''} of ${v.budget}`, token, { employer: e0!, worker: w0! }, { employer: e1!, worker: w1! });
        const want = `worker +${s.toWorker}, employer ${s.toEmployer - v.budget - bond}, fees +${s.toFees}`;
        const got = `worker +${w1! - w0!}, employer ${e1! - e0!}, fees +${fees1 - fees0}`;
        ctx.check(req, got === want, `${end}${disputed ? ' of a disputed job' : ''}: exact amounts to every party`, { expected: want, actual: got });
        if (disputed) {
          // Written out apart from the fee math (arbitrationPenalty) so a shared mistake there still shows.
          const cap = intent(ctx).maxArbitrationPenaltyTokens * 10n ** 6n;
          const p = (v.budget * intent(ctx).arbitrationPenaltyBps) / 10_000n;
          ctx.check(
            'APS-DSP-02',
            bond === (p < cap ? p : cap),
            `the penalty is ${intent(ctx).arbitrationPenaltyBps} bps rounded down, capped at ${intent(ctx).maxArbitrationPenaltyTokens} tokens (${bond})`,
            {
              expected: `min(${p}, ${cap})`,
              actual: bond,
            },
          );
        }
        if (raise) await actor(a, 'admin').send('owner restores the fee', { address: a.c.nexus, abi: nexusAbi, functionName: 'setPlatformFee', args: [intent(ctx).platformFeeBps] });
        st.now = await a.s.now();
      }
  },
});

// ---- the chain itself --------------------------------------------------------------------------

export const chainProfile = defineScenario({
  kind: 'property',
  id: 'chain-profile',
  title: 'Tempo L1 Moderato: chain id 42431, the four 6-decimal stablecoins and the four contracts at the seed’s addresses, 8% fee, 10 milestones',
  requirements: ['APS-CHN-01'],
  needs: NEEDS,
  isolation: 'snapshot',
  arbitrary: () => fc.constant(null),
  async run(ctx) {
    const a = await aps(ctx);
    ctx.act('read the chain id, the tokens and the contracts');
    const chainId = await a.s.public.getChainId();
    ctx.expectEqual('APS-CHN-01', chainId, P.chainId, 'eth_chainId is APS1_CHAIN_ID 42431');
    const tokens: [string, string, string][] = [
      ['alphaUSD', 'AlphaUSD', '0x20C0000000000000000000000000000000000001'],
      ['pathUSD', 'pathUSD', '0x20C0000000000000000000000000000000000000'],
      ['betaUSD', 'BetaUSD', '0x20C0000000000000000000000000000000000002'],
      ['thetaUSD', 'ThetaUSD', '0x20C0000000000000000000000000000000000003'],
    ];
    for (const [key, symbol, address] of tokens) {
      const spec = a.s.spec.tokens[key];
      ctx.check('APS-CHN-01', spec?.address.toLowerCase() === address.toLowerCase(), `${symbol} is at ${address}`, { expected: address, actual: spec?.address ?? 'not declared' });
      if (!spec) continue;
      const [dec, sym] = [await a.s.read(address as Address, tokenAbi, 'decimals'), await a.s.read(address as Address, tokenAbi, 'symbol')];
      ctx.expectEqual('APS-CHN-01', `${sym}/${dec}`, `${symbol}/6`, `${symbol}: symbol and 6 decimals`);
    }
    const seed: Record<string, string> = {
      paypolNexusV2: '0x6A467Cd4156093bB528e448C04366586a1052Fab',
      paypolStreamV1: '0x4fE37c46E3D442129c2319de3D24c21A6cbfa36C',
      aiProofRegistry: '0x8fDB8E871c9eaF2955009566F41490Bbb128a014',
      paypolReputation: '0x9332c1B2bb94C96DA2D729423f345c76dB3494D0',
    };
    for (const [key, address] of Object.entries(seed)) {
      ctx.expectEqual('APS-CHN-01', a.s.contract(key).toLowerCase(), address.toLowerCase(), `${key} is at the seed’s address`);
      const code = await a.s.public.getCode({ address: address as Address });
      ctx.check('APS-CHN-01', Boolean(code && code !== '0x'), `${key} holds code`, { expected: 'code', actual: code ? `${(code.length - 2) / 2} bytes` : 'none' });
    }
    ctx.expectEqual('APS-CHN-01', await a.s.read(a.c.nexus, nexusAbi, 'platformFeeBps'), intent(ctx).platformFeeBps, `NexusV2 platformFeeBps = ${intent(ctx).platformFeeBps}`);
    const { streamAbi } = await import('../../reference-impl/aps1/protocol/abi.ts');
    ctx.expectEqual('APS-CHN-01', await a.s.read(a.c.stream, streamAbi, 'MAX_MILESTONES'), BigInt(P.maxMilestones), 'StreamV1 MAX_MILESTONES = 10');
  },
});

export { JOB_STATUS };
