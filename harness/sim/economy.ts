/**
 * The economy file of `amh simulate`: who trades (populations per role and strategy), how buyers
 * choose, how much demand arrives per simulated hour, at what prices and budgets, over which
 * protocols, for how long, with which seed. YAML or JSON, validated by the zod schema below; an
 * invalid file is refused naming the file, every bad field's path and what was expected (the same
 * style as target files, harness/target/schema.ts).
 *
 * Money is written as dollar strings ("$0.10", USDC 6 decimals) and parsed once here into bigint
 * base units.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { issueLines } from '../target/schema.ts';
import { MoneyParseError, parseUsd } from '../util/money.ts';

/** Thrown for an unreadable or invalid economy file; the message names every bad field. */
export class EconomyError extends Error {
  override name = 'EconomyError';
}

const usd = z
  .string({ error: 'must be a dollar amount string such as "$0.10"' })
  .transform((s, ctx) => {
    try {
      return parseUsd(s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: e instanceof MoneyParseError ? e.message : String(e) });
      return z.NEVER;
    }
  })
  .describe('dollar amount, USDC 6 decimals: "$0.10"');

const moneyDistObject = z.discriminatedUnion(
  'dist',
  [
    z.object({ dist: z.literal('fixed'), value: usd }).strict(),
    z
      .object({ dist: z.literal('uniform'), min: usd, max: usd })
      .strict()
      .refine((d) => d.min <= d.max, { message: 'min must not exceed max', path: ['max'] }),
    z.object({ dist: z.literal('choice'), values: z.array(usd).min(1) }).strict(),
  ],
  { error: 'dist must be fixed, uniform or choice' },
);

/**
 * A money distribution: one value ("$0.10"), or {dist: fixed, value} | {dist: uniform, min, max}
 * (inclusive, in base units) | {dist: choice, values}. The string form and the object form are
 * validated apart so that an error names the exact field (`price.min`), not the union.
 */
const moneyDist = z
  .unknown()
  .transform((v, ctx): z.output<typeof moneyDistObject> => {
    if (typeof v === 'string') {
      const r = usd.safeParse(v);
      if (r.success) return { dist: 'fixed', value: r.data };
      for (const i of r.error.issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path });
      return z.NEVER;
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      ctx.addIssue({ code: 'custom', message: 'must be a dollar amount ("$0.10") or {dist: fixed, value} | {dist: uniform, min, max} | {dist: choice, values: [...]}' });
      return z.NEVER;
    }
    const r = moneyDistObject.safeParse(v);
    if (r.success) return r.data;
    for (const i of r.error.issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path });
    return z.NEVER;
  })
  .describe('money distribution');
export type MoneyDist = z.output<typeof moneyDistObject>;

const name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1-64 characters of a-z, 0-9, "-" and "_", starting with a letter or digit');

/** How buyers pick a seller among those that offer the protocol within their budget. */
export const BUYER_CHOICES = ['cheapest', 'reputation', 'random'] as const;
export type BuyerChoice = (typeof BUYER_CHOICES)[number];

/** Seller strategies: what a vendor (agentripe) or resource server (x402) does with a paid task. */
export const SELLER_STRATEGIES = {
  honest: 'does the work well every time (true quality 1)',
  sloppy: 'each delivery is good with probability `quality`',
  failing: 'accepts the task, then reports failure (agentripe: refund) or answers 5xx (x402: not charged)',
  absent: 'never answers: the task times out (agentripe: the buyer reclaims after the reclaim delay)',
  malicious: 'delivers garbage every time, and takes the money where the protocol lets it',
  undercutting: 'honest work priced `undercutBps` below the cheapest other seller of the protocol',
} as const;
export type SellerStrategy = keyof typeof SELLER_STRATEGIES;

export const REVIEWER_STRATEGIES = {
  honest: 'approves good work and rejects bad work',
  colluding: 'approves everything delivered by the populations in `colludesWith`; honest otherwise',
} as const;
export type ReviewerStrategy = keyof typeof REVIEWER_STRATEGIES;

const protocolList = z.array(name).min(1).optional().describe('protocols this population trades on (default: every protocol of the economy)');

const BuyerPopulation = z
  .object({
    name,
    role: z.literal('buyer'),
    count: z.number().int().min(1).max(1_000_000),
    choice: z.enum(BUYER_CHOICES, { error: `must be one of ${BUYER_CHOICES.join(', ')}` }).default('cheapest'),
    balance: usd.describe('starting USDC balance of each buyer'),
    budget: moneyDist.describe('what a buyer is willing to pay for one task (drawn per task); also its value of good work'),
    protocols: protocolList,
  })
  .strict();

const SellerPopulation = z
  .object({
    name,
    role: z.literal('seller'),
    strategy: z.enum(Object.keys(SELLER_STRATEGIES) as [SellerStrategy, ...SellerStrategy[]], {
      error: `must be one of ${Object.keys(SELLER_STRATEGIES).join(', ')}`,
    }),
    count: z.number().int().min(1).max(1_000_000),
    quality: z.number().min(0).max(1).optional().describe('probability that one delivery is good (sloppy: required; undercutting: default 1)'),
    price: moneyDist.optional().describe('price per task (drawn once per seller); undercutting sellers derive theirs'),
    undercutBps: z.number().int().min(1).max(9_999).optional().describe('undercutting: basis points below the cheapest other seller (default 1000 = 10%)'),
    serviceMinutes: z.number().positive().max(10_080).default(10).describe('simulated minutes per delivery attempt'),
    costPerAttempt: usd.default(0n).describe('what one delivery attempt costs the seller (for seller profit)'),
    protocols: protocolList,
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.strategy === 'sloppy' && p.quality === undefined) ctx.addIssue({ code: 'custom', path: ['quality'], message: 'a sloppy seller needs a quality between 0 and 1' });
    if (p.strategy !== 'sloppy' && p.strategy !== 'undercutting' && p.quality !== undefined)
      ctx.addIssue({ code: 'custom', path: ['quality'], message: `quality applies to sloppy and undercutting sellers only (a ${p.strategy} seller's quality is fixed)` });
    if (p.strategy === 'undercutting' && p.price !== undefined)
      ctx.addIssue({ code: 'custom', path: ['price'], message: 'an undercutting seller derives its price from the others; give undercutBps instead' });
    if (p.strategy !== 'undercutting' && p.price === undefined) ctx.addIssue({ code: 'custom', path: ['price'], message: 'required: the price per task ("$0.10" or a distribution)' });
    if (p.strategy !== 'undercutting' && p.undercutBps !== undefined) ctx.addIssue({ code: 'custom', path: ['undercutBps'], message: 'applies to undercutting sellers only' });
  });

const ReviewerPopulation = z
  .object({
    name,
    role: z.literal('reviewer'),
    strategy: z.enum(Object.keys(REVIEWER_STRATEGIES) as [ReviewerStrategy, ...ReviewerStrategy[]], {
      error: `must be one of ${Object.keys(REVIEWER_STRATEGIES).join(', ')}`,
    }),
    count: z.number().int().min(1).max(10_000),
    colludesWith: z.array(name).min(1).optional().describe('colluding: the seller populations it approves blindly'),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.strategy === 'colluding' && !p.colludesWith) ctx.addIssue({ code: 'custom', path: ['colludesWith'], message: 'a colluding reviewer needs the seller populations it colludes with' });
    if (p.strategy !== 'colluding' && p.colludesWith) ctx.addIssue({ code: 'custom', path: ['colludesWith'], message: 'applies to colluding reviewers only' });
  });

const Population = z.discriminatedUnion('role', [BuyerPopulation, SellerPopulation, ReviewerPopulation], {
  error: 'role must be buyer, seller or reviewer',
});

export const EconomySchema = z
  .object({
    $schema: z.string().optional(),
    name: name.describe('report folder: reports/sim/<name>/'),
    description: z.string().optional(),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(1)
      .describe('the run seed (overridden by --seed)'),
    durationHours: z
      .number()
      .positive()
      .max(24 * 365)
      .describe('simulated time during which tasks arrive and settle'),
    protocols: z
      .record(name, z.number().positive({ error: 'a mix weight must be > 0' }))
      .refine((r) => Object.keys(r).length > 0, 'name at least one protocol with its mix weight, e.g. {agentripe: 1}')
      .describe('protocols used, each with its share of the demand (weights, normalised)'),
    profiles: z.record(name, z.record(z.string(), z.unknown())).default({}).describe('protocol constants per protocol (opaque here; each protocol reads the keys it models)'),
    demand: z
      .object({
        arrivalsPerHour: z.number().positive().max(10_000_000).describe('task arrivals per simulated hour, the whole market (Poisson)'),
      })
      .strict(),
    populations: z.array(Population).min(1),
  })
  .strict()
  .superRefine((e, ctx) => {
    const seen = new Map<string, number>();
    const protocols = new Set(Object.keys(e.protocols));
    e.populations.forEach((p, i) => {
      if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: ['populations', i, 'name'], message: `duplicate population name '${p.name}' (also populations[${seen.get(p.name)}])` });
      seen.set(p.name, i);
      if ('protocols' in p && p.protocols)
        p.protocols.forEach((id, j) => {
          if (!protocols.has(id)) ctx.addIssue({ code: 'custom', path: ['populations', i, 'protocols', j], message: `'${id}' is not among the economy's protocols (${[...protocols].join(', ')})` });
        });
    });
    for (const role of ['buyer', 'seller'] as const)
      if (!e.populations.some((p) => p.role === role)) ctx.addIssue({ code: 'custom', path: ['populations'], message: `at least one ${role} population is needed` });
    e.populations.forEach((p, i) => {
      if (p.role !== 'reviewer' || !p.colludesWith) return;
      p.colludesWith.forEach((n, j) => {
        const target = e.populations.find((q) => q.name === n);
        if (target?.role !== 'seller') ctx.addIssue({ code: 'custom', path: ['populations', i, 'colludesWith', j], message: `'${n}' is not a seller population` });
      });
    });
    for (const id of Object.keys(e.profiles))
      if (!protocols.has(id)) ctx.addIssue({ code: 'custom', path: ['profiles', id], message: `'${id}' is not among the economy's protocols (${[...protocols].join(', ')})` });
  });

export type Economy = z.output<typeof EconomySchema>;
export type Population = Economy['populations'][number];
export type BuyerPopulation = Extract<Population, { role: 'buyer' }>;
export type SellerPopulation = Extract<Population, { role: 'seller' }>;
export type ReviewerPopulation = Extract<Population, { role: 'reviewer' }>;

/** Validate an already-parsed economy; `source` names it in errors. */
export function parseEconomy(input: unknown, source = 'economy'): Economy {
  const r = EconomySchema.safeParse(input);
  if (r.success) return r.data;
  throw new EconomyError(`invalid economy ${source}:\n${issueLines(r.error.issues).join('\n')}`);
}

/**
 * Read a YAML (`.yaml`/`.yml`) or JSON (anything else) file as plain data; `kind` names the file in
 * the EconomyError for an unreadable file or a syntax error ("economy", "sweep").
 */
export async function readDataFile(file: string, kind: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new EconomyError(`cannot read ${kind} file ${file}: ${(e as Error).message}`);
  }
  const yaml = /\.ya?ml$/i.test(path.extname(file));
  try {
    return yaml ? parseYaml(text, { prettyErrors: true }) : JSON.parse(text);
  } catch (e) {
    throw new EconomyError(`${kind} file ${file} is not valid ${yaml ? 'YAML' : 'JSON'}: ${(e as Error).message}`);
  }
}

/** Read and validate an economy file. */
export async function loadEconomyFile(file: string): Promise<Economy> {
  return parseEconomy(await readDataFile(file, 'economy'), `file ${file}`);
}

/** The protocols a population trades on (its own list, or every protocol of the economy). */
export function protocolsOf(e: Economy, p: BuyerPopulation | SellerPopulation): string[] {
  return p.protocols ?? Object.keys(e.protocols);
}
