/**
 * Test-only faults as a typed registry. A reference server may carry deliberate defects, each
 * breaking one rule, so that a test can show the scenarios notice it (the kill tables); the
 * registry gives each one a name and the words for what it breaks, once, for the server's config
 * type, the `--fault NAME` flag of its serve script, its kill table and its README.
 */

/** The faults switched on: `{ name: true }` (absent or false = correct behaviour). */
export type FaultFlags<N extends string> = { [K in N]?: boolean };

/** A server's faults: names, descriptions and the CLI parser. */
export interface FaultRegistry<N extends string> {
  /** Every fault name, in definition order. */
  readonly names: readonly N[];
  /** Every fault with what it breaks, in definition order. */
  readonly list: readonly { name: N; description: string }[];
  /** What `name` breaks. */
  describe(name: N): string;
  /** Whether `name` is one of this registry's faults. */
  has(name: string): name is N;
  /** Flags from `--fault NAME` values; an unknown name throws an error that lists the known ones. */
  parse(names: readonly string[] | undefined): FaultFlags<N>;
  /** The names switched on in `flags`, in definition order. */
  enabled(flags: FaultFlags<N> | undefined): N[];
}

/** The flag type of a registry: `type MyFaults = FaultsOf<typeof MY_FAULTS>`. */
export type FaultsOf<R> = R extends FaultRegistry<infer N> ? FaultFlags<N> : never;

/** Defines a registry from `{ name: 'what it breaks', ... }`. */
export function defineFaults<const D extends Record<string, string>>(descriptions: D): FaultRegistry<Extract<keyof D, string>> {
  type N = Extract<keyof D, string>;
  const names = Object.keys(descriptions) as N[];
  const has = (name: string): name is N => Object.hasOwn(descriptions, name);
  return {
    names,
    list: names.map((name) => ({ name, description: descriptions[name] })),
    describe: (name) => descriptions[name],
    has,
    parse(given) {
      const flags: FaultFlags<N> = {};
      for (const name of given ?? []) {
        if (!has(name)) throw new Error(`unknown fault '${name}' (known: ${names.join(', ')})`);
        flags[name] = true;
      }
      return flags;
    },
    enabled: (flags) => names.filter((n) => flags?.[n] === true),
  };
}
