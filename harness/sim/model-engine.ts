/**
 * `--engine model`: a discrete-event simulation of the economy against the packs' executable models,
 * no chain. Deterministic for a seed: arrivals come from one stream, each task's market choices
 * (protocol, buyer, budget, seller, reviewer) from its own, and the pack's protocol decisions
 * (is this delivery good?) from another, so the stack engine can replay the same decisions.
 */
import { checkConstant } from '../profiles/profile.ts';
import { type Economy, EconomyError } from './economy.ts';
import { checkConservation, Ledger, LedgerError, type Violation } from './ledger.ts';
import { bigRange, buildMarket, type Market, type SellerAgent } from './market.ts';
import type { OutcomeClass, PlanStep, SimTask, SimulationPack, TaskPlan } from './pack.ts';
import { Rng } from './rng.ts';

/** One task's record, as the metrics and the events CSV see it. */
export interface TaskRecord {
  id: string;
  protocol: string;
  t0: number;
  amount: bigint;
  /** The buyer's budget for this task (its value of good work). */
  budget: bigint;
  buyer: string;
  seller: string;
  sellerPopulation: string;
  /** The pack's outcome name, or `refused` (payment refused); `open` only while the run is going on. */
  outcome: string;
  outcomeClass: OutcomeClass | 'refused' | 'open';
  delivered: TaskPlan['delivered'];
  attempts: number;
  rejections: number;
  /** Milliseconds from payment to the task's last step; undefined while open. */
  settleMs?: number;
  finished: boolean;
}

export interface ProgressInfo {
  simMs: number;
  endMs: number;
  /** Task arrivals so far, served or not. */
  arrivals: number;
}

export interface SimulateOptions {
  economy: Economy;
  seed: number;
  /** Packs by protocol id; every protocol of the economy must have one. */
  packs: ReadonlyMap<string, SimulationPack>;
  onProgress?: (p: ProgressInfo) => void;
}

export interface SimResult {
  engine: 'model' | 'stack';
  economy: Economy;
  seed: number;
  market: Market;
  profiles: Record<string, Record<string, unknown>>;
  tasks: TaskRecord[];
  /** Arrivals that found no buyer or no seller within budget and balance, per protocol. */
  unserved: Record<string, number>;
  ledger: Ledger;
  violations: Violation[];
  endMs: number;
  /** Simulated time of the last event (after endMs when tasks in flight ran on). */
  lastMs: number;
  /** Per seller account: feedback count and sum (0..100 each). */
  reputation: Map<string, { n: number; sum: number }>;
}

interface Live {
  record: TaskRecord;
  plan: TaskPlan;
  next: number;
  cancelled: boolean;
  escrow: string;
}

type Entry = { t: number; seq: number; task?: Live };

/** A binary min-heap on (t, seq): equal times run in scheduling order. */
class Agenda {
  private readonly h: Entry[] = [];
  get size(): number {
    return this.h.length;
  }
  private less(a: Entry, b: Entry): boolean {
    return a.t < b.t || (a.t === b.t && a.seq < b.seq);
  }
  push(e: Entry): void {
    const h = this.h;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): Entry | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** Resolve every protocol's constants; an EconomyError names the protocol and the key. */
export function resolveProfiles(economy: Economy, packs: ReadonlyMap<string, SimulationPack>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const id of Object.keys(economy.protocols)) {
    const pack = packs.get(id);
    if (!pack) throw new EconomyError(`protocol '${id}' has no simulation (reference-impl/${id}/simulation.ts); simulated protocols: ${[...packs.keys()].join(', ') || 'none'}`);
    const given = economy.profiles[id] ?? {};
    // The declared constants are checked like `amh run --profile` checks them (one profile format).
    const declared: Record<string, unknown> = { ...pack.constants?.defaults };
    for (const [k, d] of Object.entries(pack.constants?.declarations ?? {})) {
      if (!(k in given)) continue;
      const c = checkConstant(d, given[k]);
      if (!c.ok) throw new EconomyError(`profiles.${id}.${k}: ${c.why}`);
      declared[k] = c.value;
    }
    try {
      out[id] = pack.profile({ ...given, ...declared });
    } catch (e) {
      throw new EconomyError(`profiles.${id}: ${(e as Error).message}`);
    }
  }
  return out;
}

/**
 * Seller choice among the candidates: the sellers of the protocol whose price fits the budget and
 * the balance, i.e. the first `count` of the protocol's sellers sorted by price.
 */
function choose(choice: string, sorted: readonly SellerAgent[], count: number, rng: Rng, reputation: SimResult['reputation']): SellerAgent {
  if (choice === 'random') return sorted[rng.int(0, count - 1)]!;
  if (choice === 'reputation') {
    // Laplace-smoothed share of good feedback: a newcomer starts at 1/2, not at 0.
    const w = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      const r = reputation.get(sorted[i]!.account);
      w[i] = ((r?.sum ?? 0) / 100 + 1) / ((r?.n ?? 0) + 2);
    }
    return sorted[rng.weighted(w)]!;
  }
  // Cheapest: the sellers at the lowest price come first; one of them at random.
  let ties = 1;
  while (ties < count && sorted[ties]!.price === sorted[0]!.price) ties++;
  return sorted[rng.int(0, ties - 1)]!;
}

/** How many of the price-sorted sellers cost at most `cap` (binary search). */
function affordable(sorted: readonly SellerAgent[], cap: bigint): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]!.price <= cap) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How an engine turns a paid task into its plan: the model, or the real stack (async). */
export type Planner = (task: SimTask, pack: SimulationPack) => TaskPlan | Promise<TaskPlan>;

/** Run the economy on the model engine. */
export async function simulateModel(opts: SimulateOptions): Promise<SimResult> {
  const profiles = resolveProfiles(opts.economy, opts.packs);
  return simulate(opts, { engine: 'model', profiles, market: buildMarket(opts.economy, opts.seed), ledger: new Ledger(), plan: (task, pack) => pack.model(task) });
}

/** What an engine brings to the event loop. */
export interface EngineParts {
  engine: SimResult['engine'];
  profiles: Record<string, Record<string, unknown>>;
  market: Market;
  ledger: Ledger;
  plan: Planner;
  /** Called after funding each buyer in the ledger (the stack funds its account on chain). */
  fund?: (account: string, amount: bigint) => Promise<void>;
  /** Further conservation checks at the end (the stack compares the ledger with the chain). */
  finalCheck?: (ledger: Ledger, market: Market) => Promise<Violation[]>;
}

/**
 * The discrete-event loop shared by the engines: arrivals, buyer choice, the engine's plan of each
 * task, its steps applied to the ledger in time order, reputation, and the conservation check.
 */
export async function simulate(opts: SimulateOptions, parts: EngineParts): Promise<SimResult> {
  const { economy, seed, packs } = opts;
  const { profiles, market, ledger } = parts;
  const endMs = Math.round(economy.durationHours * 3_600_000);
  const protocolIds = Object.keys(economy.protocols);
  const weights = protocolIds.map((id) => economy.protocols[id] as number);
  const buyerPop = new Map(economy.populations.filter((p) => p.role === 'buyer').map((p) => [p.name, p]));
  const reputation: SimResult['reputation'] = new Map();
  const buyersOf = new Map(protocolIds.map((id) => [id, market.buyers.filter((b) => b.protocols.includes(id))]));
  // Stable by price: equal prices keep the market's order, so choices do not depend on the sort.
  const sellersOf = new Map(protocolIds.map((id) => [id, market.sellers.filter((x) => x.protocols.includes(id)).sort((a, b) => (a.price < b.price ? -1 : a.price > b.price ? 1 : 0))]));
  const tasks: TaskRecord[] = [];
  const live: Live[] = [];
  const unserved: Record<string, number> = Object.fromEntries(protocolIds.map((id) => [id, 0]));
  const violations: Violation[] = [];
  for (const b of market.buyers) {
    const amount = buyerPop.get(b.population)!.balance;
    ledger.fund(0, b.account, amount);
    await parts.fund?.(b.account, amount);
  }

  const agenda = new Agenda();
  let seq = 0;
  const arrivals = new Rng(seed, 'arrivals');
  const ratePerMs = economy.demand.arrivalsPerHour / 3_600_000;
  let nextArrival = Math.round(arrivals.exponential(ratePerMs));
  if (nextArrival < endMs) agenda.push({ t: nextArrival, seq: seq++ });
  let index = 0;
  let lastProgress = 0;
  let lastMs = 0;

  const arrive = async (t: number) => {
    const i = index++;
    const rng = new Rng(seed, `task:${i}`);
    const protocol = protocolIds[rng.weighted(weights)]!;
    const pack = packs.get(protocol)!;
    const buyers = buyersOf.get(protocol)!;
    if (buyers.length === 0) {
      unserved[protocol]!++;
      return;
    }
    const buyer = rng.pick(buyers);
    const pop = buyerPop.get(buyer.population)!;
    const budget = rng.money(pop.budget);
    const balance = ledger.balance(buyer.account);
    const sorted = sellersOf.get(protocol)!;
    const count = affordable(sorted, bigRange([budget, balance]).min);
    if (count === 0) {
      unserved[protocol]!++;
      return;
    }
    const seller = choose(pop.choice, sorted, count, rng, reputation);
    const reviewer = market.reviewers.length ? rng.pick(market.reviewers) : undefined;
    const id = `t${i}`;
    const escrow = `escrow:${protocol}`;
    const plan = await parts.plan(
      {
        id,
        protocol,
        t0: t,
        amount: seller.price,
        buyer: buyer.account,
        seller: seller.account,
        sellerPopulation: seller.population,
        strategy: seller.strategy,
        quality: seller.quality,
        serviceMs: seller.serviceMs,
        ...(reviewer ? { reviewer: { account: reviewer.account, colludes: reviewer.colludesWith.has(seller.population) } } : {}),
        profile: profiles[protocol]!,
        escrow,
        fees: `fees:${protocol}`,
        rng: new Rng(seed, `task:${i}:protocol`),
      },
      pack,
    );
    if (!(plan.outcome in pack.outcomes)) throw new Error(`${protocol} simulation: outcome '${plan.outcome}' of task ${id} is not among its declared outcomes`);
    for (let k = 1; k < plan.steps.length; k++) if (plan.steps[k]!.at < plan.steps[k - 1]!.at) throw new Error(`${protocol} simulation: the steps of task ${id} are not in time order`);
    const record: TaskRecord = {
      id,
      protocol,
      t0: t,
      amount: seller.price,
      budget,
      buyer: buyer.account,
      seller: seller.account,
      sellerPopulation: seller.population,
      outcome: 'open',
      outcomeClass: 'open',
      delivered: 'none',
      attempts: 0,
      rejections: 0,
      finished: false,
    };
    tasks.push(record);
    const l: Live = { record, plan, next: 0, cancelled: false, escrow };
    live.push(l);
    for (const s of plan.steps) agenda.push({ t: t + s.at, seq: seq++, task: l });
  };

  const finish = (l: Live, t: number, outcome: string, outcomeClass: TaskRecord['outcomeClass']) => {
    const r = l.record;
    r.outcome = outcome;
    r.outcomeClass = outcomeClass;
    r.finished = true;
    r.settleMs = t - r.t0;
    if (outcomeClass !== 'refused') {
      r.delivered = l.plan.delivered;
      r.attempts = l.plan.attempts;
      r.rejections = l.plan.rejections;
    }
    // A finished task's steps are never read again: let them go (large runs keep every task).
    l.plan.steps.length = 0;
    l.cancelled = true;
  };

  const runStep = (l: Live, t: number) => {
    if (l.cancelled) return;
    const step = l.plan.steps[l.next++] as PlanStep;
    const r = l.record;
    if (step.payment) {
      const total = (step.transfers ?? []).reduce((a, x) => a + x.amount, 0n);
      if (!ledger.covers(r.buyer, total)) {
        ledger.note({ t, protocol: r.protocol, task: r.id, action: `${step.action}:refused`, from: r.buyer, note: `buyer holds ${ledger.balance(r.buyer)}, needs ${total}` });
        l.cancelled = true;
        finish(l, t, 'refused', 'refused');
        return;
      }
    }
    if (!step.transfers?.length) ledger.note({ t, protocol: r.protocol, task: r.id, action: step.action, note: step.feedback === undefined ? '' : `feedback ${step.feedback}` });
    for (const x of step.transfers ?? []) {
      try {
        ledger.transfer(t, r.protocol, r.id, step.action, x.from, x.to, x.amount);
      } catch (e) {
        if (!(e instanceof LedgerError)) throw e;
        violations.push({ message: e.message, trail: ledger.events.filter((ev) => ev.task === r.id) });
      }
    }
    if (step.feedback !== undefined) {
      const rep = reputation.get(r.seller) ?? { n: 0, sum: 0 };
      rep.n++;
      rep.sum += step.feedback;
      reputation.set(r.seller, rep);
    }
    if (l.next === l.plan.steps.length) finish(l, t, l.plan.outcome, packs.get(r.protocol)!.outcomes[l.plan.outcome]!);
  };

  for (;;) {
    const e = agenda.pop();
    // Arrivals stop at the end; tasks in flight then run to completion (the stack cannot leave a
    // real payment half-done, so neither does the model).
    if (!e) break;
    lastMs = e.t;
    if (e.task) runStep(e.task, e.t);
    else {
      await arrive(e.t);
      nextArrival = e.t + Math.round(arrivals.exponential(ratePerMs));
      if (nextArrival < endMs) agenda.push({ t: nextArrival, seq: seq++ });
    }
    // The model reports every 1,000 arrivals; the stack, slower by far, every arrival.
    if (opts.onProgress && index - lastProgress >= (parts.engine === 'stack' ? 1 : 1_000)) {
      lastProgress = index;
      opts.onProgress({ simMs: e.t, endMs, arrivals: index });
    }
  }
  opts.onProgress?.({ simMs: endMs, endMs, arrivals: index });
  violations.push(
    ...checkConservation(
      ledger,
      live.map((l) => ({ id: l.record.id, escrow: l.escrow, finished: l.record.finished })),
    ),
  );
  if (parts.finalCheck) violations.push(...(await parts.finalCheck(ledger, market)));
  return { engine: parts.engine, economy, seed, market, profiles, tasks, unserved, ledger, violations, endMs, lastMs, reputation };
}
