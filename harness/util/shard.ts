/**
 * The one rule that splits work across machines (`amh run --shard i/N`, `amh simulate --shard
 * i/N`): the items, in their fixed order, are dealt round-robin, so item k goes to shard
 * (k mod N) + 1. A merge checks a shard's contents against the same rule.
 */

/** Shard `index` of `total` (1-based). */
export interface Shard {
  index: number;
  total: number;
}

/** The items of one shard, in their original order; every item when `shard` is undefined. */
export function shardItems<T>(items: readonly T[], shard: Shard | undefined): T[] {
  return shard ? items.filter((_x, k) => k % shard.total === shard.index - 1) : [...items];
}

/** One shard's output as a merge sees it. */
export interface ShardOutput {
  /** Names the input in messages. */
  file: string;
  shard: Shard;
  /** Every item of the whole run, in order (what the shard was dealt from). */
  items: readonly string[];
  /** The items this output holds. */
  got: readonly string[];
}

/**
 * Why a set of shard outputs (all of `total` shards, checked by the caller) is not exactly shards
 * 1..total once each, each holding exactly the items the rule deals it; undefined when it is.
 * `what` names the items ("cases", "runs") and `hint` says what may have gone wrong.
 */
export function shardSetProblem(inputs: readonly ShardOutput[], what: string, hint: string): string | undefined {
  const total = inputs[0]?.shard.total ?? 0;
  const byIndex = new Map<number, string[]>();
  for (const x of inputs) byIndex.set(x.shard.index, [...(byIndex.get(x.shard.index) ?? []), x.file]);
  const dup = [...byIndex].filter(([, files]) => files.length > 1);
  if (dup.length) return dup.map(([i, files]) => `shard ${i}/${total} is given more than once (${files.join(', ')})`).join('; ');
  const missing = Array.from({ length: total }, (_x, k) => k + 1).filter((i) => !byIndex.has(i));
  if (missing.length) return `missing shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${total}`).join(', ')}: a merge needs every shard of the run`;
  const sorted = (xs: readonly string[]) => JSON.stringify([...xs].sort());
  const wrong = inputs.find((x) => sorted(x.got) !== sorted(shardItems(x.items, x.shard)));
  if (wrong) return `${wrong.file} (shard ${wrong.shard.index}/${wrong.shard.total}) does not hold the ${what} of its shard; ${hint}`;
  return undefined;
}
