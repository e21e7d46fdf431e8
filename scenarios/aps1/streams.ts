/**
 * StreamV1 scenario, model-based on the target's chain: clients create streams of 0..11 milestones
 * (the invalid ones must be refused), agents submit, clients approve or reject, anyone tries what
 * they should not, streams are cancelled or time out; after every action each stream, milestone and
 * balance is compared with reference-impl/aps1/protocol/model.ts.
 */
import fc from 'fast-check';
import type { Address, Hex } from 'viem';
import type { RunContext } from '../../harness/engine/context.ts';
import { defineScenario, type ModelScenario } from '../../harness/engine/dsl.ts';
import { streamCall, streamEndCall, submitCall } from '../../reference-impl/aps1/agents/employer.ts';
import { streamAbi } from '../../reference-impl/aps1/protocol/abi.ts';
import { netFlows, newStreams, remaining, streamStep, type StreamAction, type StreamsModel, type Transfer } from '../../reference-impl/aps1/protocol/model.ts';
import { APS1_PROFILE } from '../../reference-impl/aps1/protocol/profile.ts';
import { intent, actor, allow, aps, hash32, mineAt, nextBlockAt, NEEDS, short, type Aps } from './lab.ts';

const P = APS1_PROFILE;
const ROLES = ['buyer1', 'buyer2', 'vendor1', 'vendor2', 'admin', 'attacker'];
const CLIENTS = ['buyer1', 'buyer2'];
const AGENTS = ['vendor1', 'vendor2'];

interface World {
  a: Aps;
  ctx: RunContext;
  offset: bigint;
  token: Address;
  holders: Record<string, Address>;
  base: Map<string, bigint>;
  fees0: bigint;
}

interface State {
  m: StreamsModel;
  now: bigint;
  flows: Transfer[];
}

const roleOf = (w: World, addr: string) => Object.entries(w.holders).find(([, v]) => v.toLowerCase() === addr.toLowerCase())?.[0] ?? addr;

function reqOf(m: StreamsModel, a: StreamAction, refused?: string): string {
  if (a.kind === 'create') return 'APS-STR-01';
  if (a.kind === 'withdrawFees') return 'APS-STR-02';
  const s = m.streams[a.stream];
  if (s && s.status !== 'Active') return 'APS-STR-04';
  if (a.kind === 'approve' && !refused) return 'APS-STR-02';
  if (a.kind === 'cancel' || a.kind === 'timeout') return 'APS-STR-04';
  return 'APS-STR-03';
}

function callOf(w: World, a: StreamAction) {
  const id = (n: number) => w.offset + BigInt(n);
  switch (a.kind) {
    case 'create':
      return { address: w.a.c.stream, abi: streamAbi, functionName: 'createStream', args: [a.agent as Address, a.token as Address, a.amounts, a.duration] as const };
    case 'submit':
      return submitCall(w.a.c, id(a.stream), BigInt(a.index), a.proofHash as Hex);
    case 'approve':
      return streamCall(w.a.c, 'approveMilestone', id(a.stream), BigInt(a.index));
    case 'reject':
      return streamCall(w.a.c, 'rejectMilestone', id(a.stream), BigInt(a.index));
    case 'cancel':
      return streamEndCall(w.a.c, 'cancelStream', id(a.stream));
    case 'timeout':
      return streamEndCall(w.a.c, 'claimTimeout', id(a.stream));
    case 'withdrawFees':
      return { address: w.a.c.stream, abi: streamAbi, functionName: 'withdrawFees', args: [a.token as Address] as const };
  }
}

const STATUS = P.statuses.stream;
const MS = P.statuses.milestone;

async function compare(w: World, st: State, req: string): Promise<void> {
  const { a, ctx } = w;
  const latest = await a.s.now();
  for (const s of st.m.streams) {
    const id = w.offset + BigInt(s.id);
    const r = await a.s.read(a.c.stream, streamAbi, 'getStream', [id]);
    const got = `${STATUS[r.status]} budget ${r.totalBudget} released ${r.releasedAmount} fees ${r.totalFees} approved ${r.approvedCount}/${r.milestoneCount} deadline ${r.deadline} ${r.client.toLowerCase()}→${r.agent.toLowerCase()}`;
    const want = `${s.status} budget ${s.totalBudget} released ${s.releasedAmount} fees ${s.totalFees} approved ${s.approvedCount}/${s.milestones.length} deadline ${s.deadline} ${s.client}→${s.agent}`;
    ctx.check(req, got === want, `stream ${id} on chain is what the model says`, { expected: want, actual: got });
    for (const [i, m] of s.milestones.entries()) {
      const x = await a.s.read(a.c.stream, streamAbi, 'getMilestone', [id, BigInt(i)]);
      const g = `${x.amount} ${MS[x.status]} ${x.proofHash.toLowerCase()}`;
      const e = `${m.amount} ${m.status} ${m.proofHash}`;
      ctx.check(req, g === e, `stream ${id} milestone ${i}`, { expected: e, actual: g });
    }
    const rem = await a.s.read(a.c.stream, streamAbi, 'getRemainingBalance', [id]);
    ctx.expectEqual(req === 'APS-STR-01' ? req : 'APS-STR-04', rem, remaining(s), `stream ${id}: getRemainingBalance`);
    const to = await a.s.read(a.c.stream, streamAbi, 'isTimedOut', [id]);
    ctx.expectEqual(req === 'APS-STR-01' ? req : 'APS-STR-04', to, s.status === 'Active' && latest > s.deadline, `stream ${id}: isTimedOut at ${latest}`);
  }
  const fees = await a.s.read(a.c.stream, streamAbi, 'accumulatedFees', [w.token]);
  ctx.expectEqual(req, fees, w.fees0 + (st.m.fees[w.token.toLowerCase()] ?? 0n), 'accrued fees');
  const flows = netFlows(st.flows);
  const got: string[] = [];
  const exp: string[] = [];
  for (const [label, h] of Object.entries(w.holders)) {
    const flow = flows.get(`${w.token.toLowerCase()}:${label === 'stream' ? 'escrow' : h.toLowerCase()}`) ?? 0n;
    const want = (w.base.get(h.toLowerCase()) ?? 0n) + flow;
    const bal = await a.s.balanceOf(w.token, h);
    if (bal !== want) {
      got.push(`${label} ${bal}`);
      exp.push(`${label} ${want}`);
    }
  }
  ctx.check(req, got.length === 0, 'balances of every role and of StreamV1 are what the model says', { expected: exp.join(', '), actual: got.join(', ') });
}

async function act(w: World, st: State, action: StreamAction, label: string): Promise<void> {
  const t = st.now + 1n;
  await nextBlockAt(w.a, t);
  const expected = streamStep(st.m, action, t);
  w.ctx.act(`${label} [t=${t}]`);
  const r = await actor(w.a, roleOf(w, action.by)).send(label, callOf(w, action) as never);
  st.now = t;
  const req = reqOf(st.m, action, expected.ok ? undefined : expected.why);
  if (!expected.ok) w.ctx.check(req, !r.ok, `${label} is refused (${expected.why})`, { expected: `refused: ${expected.why}`, actual: r.ok ? `accepted in ${r.hash}` : r.reason });
  else {
    w.ctx.check(req, r.ok, `${label} is accepted`, { expected: 'accepted', actual: r.ok ? 'accepted' : `refused: ${r.reason}` });
    st.m = expected.next;
    st.flows.push(...expected.transfers);
  }
  await compare(w, st, req);
}

type Cmd = fc.AsyncCommand<State, World>;

class CreateCmd implements Cmd {
  constructor(readonly o: { client: number; agent: number; amounts: bigint[]; duration: number }) {}
  check = () => true;
  async run(st: State, w: World): Promise<void> {
    const client = CLIENTS[this.o.client % 2]!;
    const agent = AGENTS[this.o.agent % 2]!;
    await act(
      w,
      st,
      { kind: 'create', by: w.holders[client]!, agent: w.holders[agent]!, token: w.token, amounts: this.o.amounts, duration: BigInt(this.o.duration) },
      `${client} opens a stream for ${agent}: [${this.o.amounts.join(', ')}], ${this.o.duration}s`,
    );
  }
  toString = () => `create(${this.o.amounts.length} milestones)`;
}

type Kind = 'submit' | 'approve' | 'reject' | 'cancel' | 'timeout';

class StreamCmd implements Cmd {
  constructor(
    readonly kind: Kind,
    readonly stream: number,
    readonly index: number,
    readonly who: number,
  ) {}
  check = (st: Readonly<State>) => st.m.streams.length > 0;
  async run(st: State, w: World): Promise<void> {
    const sIdx = this.stream % st.m.streams.length;
    const s = st.m.streams[sIdx]!;
    // Half the time the milestone the action is for (first Pending/Rejected to submit, first Submitted to judge).
    const want = this.kind === 'submit' ? ['Pending', 'Rejected'] : ['Submitted'];
    const found = s.milestones.findIndex((m) => want.includes(m.status));
    const index = this.index % 2 === 0 && found >= 0 ? found : this.index % (s.milestones.length + 1);
    const right = roleOf(w, this.kind === 'submit' ? s.agent : s.client);
    const who = this.who % 3 !== 0 ? right : ROLES.filter((r) => r !== right)[Math.floor(this.who / 3) % (ROLES.length - 1)]!;
    const base = { by: w.holders[who]!, stream: sIdx };
    const action: StreamAction =
      this.kind === 'submit'
        ? { kind: 'submit', ...base, index, proofHash: hash32(0x5000 + sIdx * 16 + index) }
        : this.kind === 'approve' || this.kind === 'reject'
          ? { kind: this.kind, ...base, index }
          : { kind: this.kind, ...base };
    await act(w, st, action, `${who} → ${this.kind} stream #${sIdx}${'index' in action ? ` milestone ${index}` : ''} (${s.status})`);
  }
  toString = () => `${this.kind}(stream ${this.stream}, #${this.index}, who ${this.who})`;
}

/** The agent submits its next milestone and the client approves or rejects it (the usual flow). */
class FlowCmd implements Cmd {
  constructor(
    readonly stream: number,
    readonly approve: boolean,
  ) {}
  check = (st: Readonly<State>) => st.m.streams.length > 0;
  async run(st: State, w: World): Promise<void> {
    const sIdx = this.stream % st.m.streams.length;
    const s = st.m.streams[sIdx]!;
    const i = s.milestones.findIndex((m) => m.status === 'Pending' || m.status === 'Rejected');
    if (s.status !== 'Active' || i < 0) return;
    await act(w, st, { kind: 'submit', by: s.agent, stream: sIdx, index: i, proofHash: hash32(0x7000 + sIdx * 16 + i) }, `${roleOf(w, s.agent)} submits milestone ${i} of stream #${sIdx}`);
    await act(w, st, { kind: this.approve ? 'approve' : 'reject', by: s.client, stream: sIdx, index: i }, `${roleOf(w, s.client)} ${this.approve ? 'approves' : 'rejects'} it`);
  }
  toString = () => `flow(stream ${this.stream}, ${this.approve ? 'approve' : 'reject'})`;
}

class AdvanceCmd implements Cmd {
  constructor(
    readonly pastDeadline: boolean,
    readonly stream: number,
    readonly secs: number,
  ) {}
  check = () => true;
  async run(st: State, w: World): Promise<void> {
    const s = st.m.streams.length ? st.m.streams[this.stream % st.m.streams.length] : undefined;
    let t = s && this.pastDeadline ? s.deadline - 1n + BigInt(this.secs % 3) : st.now + BigInt(this.secs);
    if (t <= st.now) t = st.now + 1n;
    w.ctx.act(`the chain clock moves to ${t}${s ? ` (stream #${s.id} deadline ${s.deadline})` : ''}`);
    await mineAt(w.a, t);
    st.now = t;
    await compare(w, st, 'APS-STR-04');
  }
  toString = () => `advance(${this.pastDeadline ? 'deadline' : 'seconds'}, ${this.secs})`;
}

const amountArb = fc.oneof(fc.constantFrom(1n, 12n, 13n, 125n, 5_000_000n), fc.bigInt({ min: 1n, max: 1_000_000_000n }));

export const streamModel: ModelScenario<State, World> = defineScenario({
  kind: 'model',
  id: 'stream-model',
  title: 'Model-based StreamV1: 0..11 milestones, submit / approve / reject / resubmit, cancel and timeout by every role; streams, milestones and balances follow the model',
  requirements: ['APS-STR-01', 'APS-STR-02', 'APS-STR-03', 'APS-STR-04'],
  needs: NEEDS,
  roles: ROLES,
  capabilities: ['clock-control', 'snapshot'],
  isolation: 'snapshot',
  maxCommands: 16,
  commands: () => [
    fc
      .record({
        client: fc.nat(3),
        agent: fc.nat(3),
        amounts: fc.oneof(
          { weight: 5, arbitrary: fc.array(amountArb, { minLength: 1, maxLength: P.maxMilestones }) },
          { weight: 1, arbitrary: fc.array(amountArb, { minLength: P.maxMilestones + 1, maxLength: P.maxMilestones + 1 }) },
          { weight: 1, arbitrary: fc.constant([] as bigint[]) },
          { weight: 1, arbitrary: fc.array(amountArb, { minLength: 1, maxLength: 3 }).map((a) => [...a, 0n]) },
        ),
        duration: fc.integer({ min: 60, max: 3600 }),
      })
      .map((o) => new CreateCmd(o)),
    fc.tuple(fc.constantFrom<Kind>('submit', 'approve', 'reject'), fc.nat(9), fc.nat(11), fc.nat(23)).map(([k, s, i, x]) => new StreamCmd(k, s, i, x)),
    fc.tuple(fc.constantFrom<Kind>('submit', 'approve'), fc.nat(9), fc.nat(11), fc.nat(23)).map(([k, s, i, x]) => new StreamCmd(k, s, i, x)),
    fc.tuple(fc.constantFrom<Kind>('cancel', 'timeout'), fc.nat(9), fc.nat(11), fc.nat(23)).map(([k, s, i, x]) => new StreamCmd(k, s, i, x)),
    fc.tuple(fc.boolean(), fc.nat(9), fc.integer({ min: 1, max: 4000 })).map(([p, s, n]) => new AdvanceCmd(p, s, n)),
    fc.tuple(fc.nat(9), fc.boolean()).map(([s, ap]) => new FlowCmd(s, ap)),
    fc.nat(9).map((s) => new FlowCmd(s, true)),
  ],
  async setup(ctx) {
    const a = await aps(ctx);
    const token = a.alpha;
    for (const cl of CLIENTS) await allow(a, cl, token, a.c.stream);
    const holders: Record<string, Address> = Object.fromEntries(ROLES.map((r) => [r, a.s.address(r)]));
    holders.stream = a.c.stream;
    const base = new Map<string, bigint>();
    for (const h of Object.values(holders)) base.set(h.toLowerCase(), await a.s.balanceOf(token, h));
    const owner = await a.s.read(a.c.stream, streamAbi, 'owner');
    const w: World = { a, ctx, token, holders, base, offset: await a.s.read(a.c.stream, streamAbi, 'nextStreamId'), fees0: await a.s.read(a.c.stream, streamAbi, 'accumulatedFees', [token]) };
    ctx.act(`StreamV1 ${short(a.c.stream)}, ${short(token)}`);
    const st: State = { m: newStreams(intent(ctx), owner), now: await a.s.now(), flows: [] };
    // One stream to start from, so every run exercises milestones, not only creation.
    await act(
      w,
      st,
      { kind: 'create', by: holders.buyer1!, agent: holders.vendor1!, token, amounts: [5_000_000n, 125n, 13n], duration: 3600n },
      'buyer1 opens a stream for vendor1: [5000000, 125, 13]',
    );
    // The three invalid shapes, every run: no milestone, eleven, a zero amount.
    for (const [amounts, what] of [
      [[] as bigint[], 'no milestone'],
      [Array.from({ length: P.maxMilestones + 1 }, () => 1_000n), `${P.maxMilestones + 1} milestones`],
      [[1_000n, 0n], 'a zero milestone'],
    ] as const)
      await act(w, st, { kind: 'create', by: holders.buyer2!, agent: holders.vendor2!, token, amounts: [...amounts], duration: 3600n }, `buyer2 opens a stream with ${what}`);
    // …and the usual start: milestone 0 submitted and approved, milestone 1 submitted and rejected.
    await act(w, st, { kind: 'submit', by: holders.vendor1!, stream: 0, index: 0, proofHash: hash32(0x7000) }, 'vendor1 submits milestone 0');
    await act(w, st, { kind: 'approve', by: holders.buyer1!, stream: 0, index: 0 }, 'buyer1 approves it');
    await act(w, st, { kind: 'submit', by: holders.vendor1!, stream: 0, index: 1, proofHash: hash32(0x7001) }, 'vendor1 submits milestone 1');
    await act(w, st, { kind: 'reject', by: holders.buyer1!, stream: 0, index: 1 }, 'buyer1 rejects it');
    return { model: st, real: w };
  },
});
