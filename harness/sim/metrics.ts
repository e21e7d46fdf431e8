/**
 * Metrics of a simulation run (metrics.json, versioned by {@link METRICS_SCHEMA_VERSION}). Amounts
 * are decimal strings of USDC base units (6 decimals), exact; ratios are numbers.
 */
import { bigRange } from './market.ts';
import type { SimResult, TaskRecord } from './model-engine.ts';

/** Bump the minor version for added fields, the major one for a changed or removed field. */
export const METRICS_SCHEMA_VERSION = '1.0.0';

/** Nearest-rank percentile of sorted values (undefined for none). */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/** Average ranks (1-based; ties share the mean of their ranks). */
function ranks(xs: readonly number[]): number[] {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

/** Spearman's rank correlation; null when fewer than 2 points or either side is constant. */
export function spearman(xs: readonly number[], ys: readonly number[]): number | null {
  if (xs.length !== ys.length) throw new RangeError('spearman: lengths differ');
  if (xs.length < 2) return null;
  const rx = ranks(xs);
  const ry = ranks(ys);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const mx = mean(rx);
  const my = mean(ry);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < rx.length; i++) {
    const dx = rx[i]! - mx;
    const dy = ry[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  return sxy / Math.sqrt(sxx * syy);
}

/** Gini coefficient of non-negative amounts (0: equal; (n-1)/n: one holds all); null when all are 0. */
export function gini(amounts: readonly bigint[]): number | null {
  const xs = [...amounts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (xs.some((x) => x < 0n)) throw new RangeError('gini: negative amount');
  const total = xs.reduce((a, b) => a + b, 0n);
  if (xs.length === 0 || total === 0n) return null;
  // G = (2·Σ i·x_(i) − (n+1)·Σx) / (n·Σx), exact in bigint up to the final division.
  let weighted = 0n;
  xs.forEach((x, i) => {
    weighted += BigInt(i + 1) * x;
  });
  const n = BigInt(xs.length);
  return Number(2n * weighted - (n + 1n) * total) / Number(n * total);
}

const sum = (xs: Iterable<bigint>) => {
  let s = 0n;
  for (const x of xs) s += x;
  return s;
};

function rate(n: number, d: number): number | null {
  return d === 0 ? null : n / d;
}

function taskStats(tasks: readonly TaskRecord[], hours: number) {
  const byOutcome: Record<string, number> = {};
  const byClass: Record<string, number> = {};
  for (const t of tasks) {
    byOutcome[t.outcome] = (byOutcome[t.outcome] ?? 0) + 1;
    byClass[t.outcomeClass] = (byClass[t.outcomeClass] ?? 0) + 1;
  }
  const settled = tasks.filter((t) => t.finished && t.outcomeClass !== 'refused');
  const times = settled.map((t) => t.settleMs as number).sort((a, b) => a - b);
  const attempts = tasks.reduce((a, t) => a + t.attempts, 0);
  const rejections = tasks.reduce((a, t) => a + t.rejections, 0);
  return {
    tasks: tasks.length,
    byOutcome,
    byClass,
    rates: {
      paid: rate(byClass.paid ?? 0, tasks.length),
      refund: rate(byClass.refunded ?? 0, tasks.length),
      timeout: rate(byClass.timeout ?? 0, tasks.length),
      notCharged: rate(byClass['not-charged'] ?? 0, tasks.length),
      refused: rate(byClass.refused ?? 0, tasks.length),
      /** Rejections per delivery attempt. */
      rejection: rate(rejections, attempts),
      /** Paid tasks whose work was bad (what reputation and review exist to prevent). */
      paidForBadWork: rate(tasks.filter((t) => t.outcomeClass === 'paid' && t.delivered === 'bad').length, tasks.length),
    },
    timeToSettleMs: { n: times.length, p50: percentile(times, 50) ?? null, p95: percentile(times, 95) ?? null, p99: percentile(times, 99) ?? null },
    throughput: { settledPerSimHour: settled.length / hours },
  };
}

/** Buyer surplus of one task: value of good work minus price when paid; minus the price for bad work; 0 otherwise. */
function surplus(t: TaskRecord): bigint {
  if (t.outcomeClass !== 'paid') return 0n;
  return t.delivered === 'good' ? t.budget - t.amount : -t.amount;
}

/** metrics.json of a run. `run` carries wall-clock facts (kept apart: the rest is a function of the seed). */
export function computeMetrics(r: SimResult, run: { startedAt: string; wallMs: number; economyFile?: string; whatIf?: { name: string; file?: string; hash: string } }) {
  const hours = r.endMs / 3_600_000;
  const bal = (a: string) => r.ledger.balance(a);
  const received = new Map<string, bigint>();
  for (const e of r.ledger.events) if (e.amount > 0n && e.to.startsWith('seller:')) received.set(e.to, (received.get(e.to) ?? 0n) + e.amount);
  const attemptsBySeller = new Map<string, number>();
  for (const t of r.tasks) attemptsBySeller.set(t.seller, (attemptsBySeller.get(t.seller) ?? 0) + t.attempts);
  const protocols = Object.keys(r.economy.protocols);

  const sellers = r.economy.populations.flatMap((p) => {
    if (p.role !== 'seller') return [];
    const agents = r.market.sellers.filter((s) => s.population === p.name);
    const earnings = sum(agents.map((s) => received.get(s.account) ?? 0n));
    const costs = sum(agents.map((s) => s.costPerAttempt * BigInt(attemptsBySeller.get(s.account) ?? 0)));
    const rated = agents.filter((s) => r.reputation.get(s.account));
    return [
      {
        population: p.name,
        strategy: p.strategy,
        agents: agents.length,
        trueQuality: agents[0]?.quality ?? null,
        prices: (({ min, max }) => ({ min: String(min), max: String(max) }))(bigRange(agents.map((s) => s.price))),
        tasks: r.tasks.filter((t) => t.sellerPopulation === p.name).length,
        earnings: String(earnings),
        costs: String(costs),
        profit: String(earnings - costs),
        meanReputation: rated.length ? rated.reduce((a, s) => a + r.reputation.get(s.account)!.sum / r.reputation.get(s.account)!.n, 0) / rated.length : null,
      },
    ];
  });
  const buyers = r.economy.populations.flatMap((p) => {
    if (p.role !== 'buyer') return [];
    const agents = new Set(r.market.buyers.filter((b) => b.population === p.name).map((b) => b.account));
    const own = r.tasks.filter((t) => agents.has(t.buyer));
    const funded = p.balance * BigInt(agents.size);
    const left = sum([...agents].map(bal));
    return [
      {
        population: p.name,
        choice: p.choice,
        agents: agents.size,
        tasks: own.length,
        funded: String(funded),
        balance: String(left),
        spent: String(funded - left),
        surplus: String(sum(own.map(surplus))),
      },
    ];
  });
  const reviewers = r.economy.populations.flatMap((p) => (p.role === 'reviewer' ? [{ population: p.name, strategy: p.strategy, agents: p.count }] : []));

  const rated = r.market.sellers.filter((s) => r.reputation.get(s.account));
  const buyerSurplus = sum(r.tasks.map(surplus));
  const sellerProfit = sum(sellers.map((s) => BigInt(s.profit)));
  const accounts = [...r.ledger.balances.keys()];
  const groupSum = (prefix: string) => String(sum(accounts.filter((a) => a.startsWith(prefix)).map(bal)));

  return {
    schemaVersion: METRICS_SCHEMA_VERSION,
    harness: { name: 'agentmarket-harness', version: '0.1.0' },
    engine: r.engine,
    economy: {
      name: r.economy.name,
      ...(run.economyFile ? { file: run.economyFile } : {}),
      durationHours: r.economy.durationHours,
      protocols: r.economy.protocols,
      arrivalsPerHour: r.economy.demand.arrivalsPerHour,
    },
    seed: r.seed,
    unit: 'USDC base units (6 decimals), as decimal strings',
    profiles: r.profiles,
    /** The what-if profile file (`--profile`) applied over the economy's profiles; null: none. */
    whatIf: run.whatIf ?? null,
    conservation: {
      ok: r.violations.length === 0,
      funded: String(r.ledger.funded),
      held: {
        buyers: groupSum('buyer:'),
        sellers: groupSum('seller:'),
        escrow: Object.fromEntries(protocols.map((id) => [id, String(bal(`escrow:${id}`))])),
        fees: Object.fromEntries(protocols.map((id) => [id, String(bal(`fees:${id}`))])),
      },
      violations: r.violations.map((v) => v.message),
    },
    arrivals: { served: r.tasks.length, unserved: r.unserved },
    ...taskStats(r.tasks, hours),
    perProtocol: Object.fromEntries(
      protocols.map((id) => {
        const { byOutcome, rates, timeToSettleMs, throughput, tasks } = taskStats(
          r.tasks.filter((t) => t.protocol === id),
          hours,
        );
        return [id, { tasks, byOutcome, rates, timeToSettleMs, throughput, fees: String(bal(`fees:${id}`)) }];
      }),
    ),
    roles: { buyers, sellers, reviewers },
    welfare: { buyerSurplus: String(buyerSurplus), sellerProfit: String(sellerProfit), total: String(buyerSurplus + sellerProfit) },
    reputation: {
      sellersRated: rated.length,
      /** Spearman rank correlation between each rated seller's mean feedback and its true quality. */
      rankCorrelationWithTrueQuality: spearman(
        rated.map((s) => r.reputation.get(s.account)!.sum / r.reputation.get(s.account)!.n),
        rated.map((s) => s.quality),
      ),
    },
    gini: { sellerEarnings: gini(r.market.sellers.map((s) => received.get(s.account) ?? 0n)) },
    run: { startedAt: run.startedAt, wallMs: run.wallMs, tasksPerSecond: run.wallMs > 0 ? (r.tasks.length * 1000) / run.wallMs : null },
  };
}

export type Metrics = ReturnType<typeof computeMetrics>;
