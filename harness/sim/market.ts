/**
 * The market an economy file describes, made concrete for one seed: every agent with its account,
 * strategy, price and true quality. Shared by the engines so that both trade among the same agents.
 */
import { type Economy, EconomyError, protocolsOf, type SellerStrategy } from './economy.ts';
import { Rng } from './rng.ts';

export interface BuyerAgent {
  account: string;
  population: string;
  index: number;
  protocols: string[];
}

export interface SellerAgent {
  account: string;
  population: string;
  index: number;
  strategy: SellerStrategy;
  protocols: string[];
  price: bigint;
  /** Probability that one delivery is good: the true quality reputation should reveal. */
  quality: number;
  serviceMs: number;
  costPerAttempt: bigint;
}

export interface ReviewerAgent {
  account: string;
  population: string;
  colludesWith: Set<string>;
}

export interface Market {
  buyers: BuyerAgent[];
  sellers: SellerAgent[];
  reviewers: ReviewerAgent[];
}

/** The fixed quality of each strategy (sloppy and undercutting read theirs from the file). */
export function trueQuality(strategy: SellerStrategy, quality: number | undefined): number {
  switch (strategy) {
    case 'honest':
      return 1;
    case 'sloppy':
      return quality ?? 0;
    case 'undercutting':
      return quality ?? 1;
    default:
      return 0;
  }
}

const DEFAULT_UNDERCUT_BPS = 1_000;

/** Smallest and largest of bigints (Math.min/max do not take bigints). */
export function bigRange(xs: readonly bigint[]): { min: bigint; max: bigint } {
  if (xs.length === 0) throw new RangeError('bigRange of nothing');
  let min = xs[0] as bigint;
  let max = min;
  for (const x of xs) {
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return { min, max };
}

/** Agents of the economy; prices are drawn from the seed's `market` stream. */
export function buildMarket(e: Economy, seed: number): Market {
  const rng = new Rng(seed, 'market');
  const buyers: BuyerAgent[] = [];
  const sellers: SellerAgent[] = [];
  const reviewers: ReviewerAgent[] = [];
  const undercut: { agent: SellerAgent; bps: number }[] = [];
  for (const p of e.populations) {
    for (let i = 0; i < p.count; i++) {
      const account = `${p.role}:${p.name}#${i}`;
      if (p.role === 'buyer') buyers.push({ account, population: p.name, index: i, protocols: protocolsOf(e, p) });
      else if (p.role === 'reviewer') reviewers.push({ account, population: p.name, colludesWith: new Set(p.colludesWith ?? []) });
      else {
        const agent: SellerAgent = {
          account,
          population: p.name,
          index: i,
          strategy: p.strategy,
          protocols: protocolsOf(e, p),
          price: p.price ? rng.money(p.price) : 0n,
          quality: trueQuality(p.strategy, p.quality),
          serviceMs: Math.round(p.serviceMinutes * 60_000),
          costPerAttempt: p.costPerAttempt,
        };
        sellers.push(agent);
        if (p.strategy === 'undercutting') undercut.push({ agent, bps: p.undercutBps ?? DEFAULT_UNDERCUT_BPS });
      }
    }
  }
  // Undercutters price against the others (never against each other), at least one base unit.
  for (const { agent, bps } of undercut) {
    const rivals = sellers.filter((s) => s.strategy !== 'undercutting' && s.protocols.some((id) => agent.protocols.includes(id)));
    if (rivals.length === 0)
      throw new EconomyError(`invalid economy: undercutting seller population '${agent.population}' has no other seller on its protocols (${agent.protocols.join(', ')}) to undercut`);
    const cheapest = bigRange(rivals.map((s) => s.price)).min;
    const price = (cheapest * BigInt(10_000 - bps)) / 10_000n;
    agent.price = price > 0n ? price : 1n;
  }
  return { buyers, sellers, reviewers };
}
