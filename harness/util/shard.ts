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
