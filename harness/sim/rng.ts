/**
 * Seeded randomness for simulations (pure-rand's xoroshiro128+). Each stream is derived from the run
 * seed and a label, so a task's draws do not depend on how many draws other tasks made: the model
 * and the stack engine see the same decisions for the same task of the same seed.
 */
import { uniformBigInt } from 'pure-rand/distribution/uniformBigInt';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { MoneyDist } from './economy.ts';

/** FNV-1a of a label, mixed with the seed: a 32-bit seed for one independent stream. */
export function streamSeed(seed: number, label: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final avalanche so that close labels ("task:1", "task:2") give unrelated streams.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h | 0;
}

/** One random stream. */
export class Rng {
  private readonly gen;
  constructor(seed: number, label: string) {
    this.gen = xoroshiro128plus(streamSeed(seed, label));
  }
  /** An independent copy at this point of the stream: both draw the same numbers from here on. */
  clone(): Rng {
    const copy = Object.create(Rng.prototype) as Rng;
    (copy as unknown as { gen: unknown }).gen = this.gen.clone();
    return copy;
  }
  /** Uniform in [0, 1). */
  float(): number {
    return uniformFloat64(this.gen);
  }
  /** Uniform integer in [from, to]. */
  int(from: number, to: number): number {
    return uniformInt(this.gen, from, to);
  }
  /** Uniform bigint in [from, to]. */
  bigint(from: bigint, to: bigint): bigint {
    return uniformBigInt(this.gen, from, to);
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return p >= 1 ? true : p <= 0 ? false : this.float() < p;
  }
  /** Exponential waiting time with the given rate (events per unit). */
  exponential(rate: number): number {
    return -Math.log(1 - this.float()) / rate;
  }
  /** One element, uniformly. */
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from an empty list');
    return xs[this.int(0, xs.length - 1)] as T;
  }
  /** An index drawn with probability proportional to its weight (weights >= 0, sum > 0). */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((a, b) => a + b, 0);
    let x = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i] as number;
      if (x < 0) return i;
    }
    return weights.length - 1;
  }
  /** A draw of a money distribution, in base units. */
  money(d: MoneyDist): bigint {
    switch (d.dist) {
      case 'fixed':
        return d.value;
      case 'uniform':
        return this.bigint(d.min, d.max);
      case 'choice':
        return this.pick(d.values);
    }
  }
}
