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

/**
 * Why a set of shard outputs (all of `total` shards, checked by the caller) is not exactly shards
 * 1..total once each; undefined when it is. `file` names each input in the message.
 */
export function shardSetProblem(inputs: readonly { file: string; shard: Shard }[]): string | undefined {
  const total = inputs[0]?.shard.total ?? 0;
  const byIndex = new Map<number, string[]>();
  for (const x of inputs) byIndex.set(x.shard.index, [...(byIndex.get(x.shard.index) ?? []), x.file]);
  const dup = [...byIndex].filter(([, files]) => files.length > 1);
  if (dup.length) return dup.map(([i, files]) => `shard ${i}/${total} is given more than once (${files.join(', ')})`).join('; ');
  const missing = Array.from({ length: total }, (_x, k) => k + 1).filter((i) => !byIndex.has(i));
  if (missing.length) return `missing shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${total}`).join(', ')}: a merge needs every shard of the run`;
  return undefined;
}
