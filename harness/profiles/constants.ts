/**
 * Protocol constants as data: a pack declares each constant a spec author may change (a fee, a
 * limit, a time window, a quirk switch) once, with its type, default, valid range, meaning and where
 * it applies, in `reference-impl/<id>/protocol/constants.ts` (default export: `defineConstants`).
 * A what-if profile (harness/profiles/profile.ts) overrides them; the pack's server, contracts,
 * model and requirement texts read the effective values through `of(profile)`.
 */
import { z } from 'zod';

/**
 * Kinds of constant, and the TypeScript value each gives:
 * `amount` token base units (bigint), `bps` basis points (bigint, 10 000 = 100%), `seconds` and
 * `integer` (number), `enum` (one of `values`, string), `boolean`.
 */
export const CONSTANT_TYPES = ['amount', 'bps', 'seconds', 'integer', 'enum', 'boolean'] as const;
export type ConstantType = (typeof CONSTANT_TYPES)[number];

/** Where a constant takes effect (listed in `amh list` and the profile docs). */
export const CONSTANT_TARGETS = ['server', 'contract', 'model', 'requirements', 'agents'] as const;
export type ConstantTarget = (typeof CONSTANT_TARGETS)[number];

const numeric = z.union([z.number().int(), z.bigint()]);

/** Schema of one constant's declaration (validated when the pack loads). */
export const constantDeclarationSchema = z
  .object({
    type: z.enum(CONSTANT_TYPES),
    default: z.union([numeric, z.string(), z.boolean()]),
    /** Inclusive bounds for numeric types. */
    min: numeric.optional(),
    max: numeric.optional(),
    /** Allowed values of an `enum`. */
    values: z.array(z.string().min(1)).min(1).optional(),
    /** One line: what the constant means (with its unit). */
    meaning: z.string().min(1),
    appliesTo: z.array(z.enum(CONSTANT_TARGETS)).min(1),
    /**
     * How the contracts get it, when `appliesTo` includes `contract`: an init argument plus an admin
     * setter the reference service calls at start, or a limitation (a constant in bytecode).
     */
    contract: z.string().min(1).optional(),
    /** Unit shown after a value in messages and docs (e.g. "rejections", "s"). */
    unit: z.string().optional(),
    /**
     * The protocol leaves the value to each implementation (a hub's own fee): scenarios hold a
     * target to it only when a profile names it, even at its default (`pinned`).
     */
    implementationDefined: z.boolean().optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    const isNum = d.type === 'amount' || d.type === 'bps' || d.type === 'seconds' || d.type === 'integer';
    if (isNum) {
      if (typeof d.default !== 'number' && typeof d.default !== 'bigint') ctx.addIssue({ code: 'custom', message: `default of a ${d.type} must be an integer` });
      if (d.min === undefined || d.max === undefined) ctx.addIssue({ code: 'custom', message: `a ${d.type} needs min and max (its valid range)` });
      else if (BigInt(d.min) > BigInt(d.max)) ctx.addIssue({ code: 'custom', message: 'min is above max' });
      else if (typeof d.default !== 'string' && typeof d.default !== 'boolean' && (BigInt(d.default) < BigInt(d.min) || BigInt(d.default) > BigInt(d.max)))
        ctx.addIssue({ code: 'custom', message: 'default is outside [min, max]' });
      if (d.type === 'bps' && d.max !== undefined && BigInt(d.max) > 10_000n) ctx.addIssue({ code: 'custom', message: 'basis points above 10 000 (100%)' });
    }
    if (d.type === 'enum' && !d.values?.includes(String(d.default))) ctx.addIssue({ code: 'custom', message: 'an enum needs values that include its default' });
    if (d.type === 'boolean' && typeof d.default !== 'boolean') ctx.addIssue({ code: 'custom', message: 'default of a boolean must be true or false' });
    if (d.appliesTo.includes('contract') && !d.contract)
      ctx.addIssue({ code: 'custom', message: "appliesTo 'contract' needs `contract`: how the contracts get the value (setter, init argument, or a limitation)" });
  });

export type ConstantDeclaration = Omit<z.input<typeof constantDeclarationSchema>, 'appliesTo' | 'values'> & { appliesTo: readonly ConstantTarget[]; values?: readonly string[] };

/** The value type of a constant of type `T`. */
export type ConstantValueOf<T extends ConstantType> = T extends 'amount' | 'bps' ? bigint : T extends 'seconds' | 'integer' ? number : T extends 'boolean' ? boolean : string;

/** Any constant's value. */
export type ConstantValue = bigint | number | boolean | string;

/** The value of one declaration: an enum's own values when they are known literally, else by its type. */
export type DeclaredValueOf<Decl extends { type: ConstantType }> = Decl extends { type: 'enum'; values: readonly (infer V extends string)[] } ? V : ConstantValueOf<Decl['type']>;

/** Effective values of a set of declarations. */
export type ConstantValues<D extends Record<string, { type: ConstantType }>> = { readonly [K in keyof D]: DeclaredValueOf<D[K]> };

/** What `of()` and `pinned()` read of a profile (harness/profiles/profile.ts `Profile`), by protocol id. */
export interface ProfileOverrides {
  /** The values that differ from the defaults. */
  overrides: Readonly<Record<string, Readonly<Record<string, ConstantValue>>>>;
  /** Implementation-defined constants the profile names at their default value. */
  pinnedDefaults?: Readonly<Record<string, Readonly<Record<string, ConstantValue>>>>;
}

/** A pack's constants: the declarations, their defaults, and the effective values under a profile. */
export interface PackConstants<D extends Record<string, ConstantDeclaration> = Record<string, ConstantDeclaration>> {
  protocol: string;
  declarations: Readonly<D>;
  defaults: ConstantValues<D>;
  /** Defaults with the profile's overrides for this protocol (no profile: the defaults). */
  of(profile?: ProfileOverrides | null): ConstantValues<D>;
  /**
   * Only the values the profile sets for this protocol: those that differ from the defaults, and an
   * implementation-defined constant it names at its default. For a constant the protocol leaves to
   * each implementation (a hub's own fee), a scenario holds the target to the value only when a
   * profile pins it.
   */
  pinned(profile?: ProfileOverrides | null): Partial<ConstantValues<D>>;
  /**
   * Text for `{name}` placeholders in requirement titles and texts: every constant, plus the
   * pack's derived forms (an ordinal, a percentage) under their own names.
   */
  placeholders(profile?: ProfileOverrides | null): Readonly<Record<string, string>>;
  /** Named sets of values the pack ships (e.g. aps1 `compat`), selectable with `presetEnv`. */
  presets: Readonly<Record<string, Readonly<Partial<Record<string, ConstantValue>>>>>;
  /** Environment variable naming a preset (an alias kept from before profiles existed). */
  presetEnv?: string;
}

/** A declaration's value in its TypeScript type (bigint for amount/bps, number for seconds/integer). */
export function normalizeValue(d: Pick<ConstantDeclaration, 'type'>, v: ConstantValue): ConstantValue {
  if (d.type === 'amount' || d.type === 'bps') return BigInt(v as number | bigint | string);
  if (d.type === 'seconds' || d.type === 'integer') return Number(v);
  return v;
}

/** A value as text (bigints without the `n`): for messages, hashes and reports. */
export function showValue(v: ConstantValue): string {
  return typeof v === 'string' ? v : String(v);
}

/** Declare a pack's constants (checked now: a bad declaration fails when the pack loads). */
export function defineConstants<const D extends Record<string, ConstantDeclaration>>(
  protocol: string,
  declarations: D,
  /**
   * Derived placeholder texts computed from the effective values (e.g. `reviewLimitNth: '5th'`).
   * Each name starts with the name of the constant it derives from, so a requirement quoting it is
   * known to depend on that constant.
   */
  derive?: (values: ConstantValues<D>) => Record<string, string>,
  /** Named presets and the environment variable that selects one (see PackConstants). */
  options: { presets?: Record<string, Partial<ConstantValues<D>>>; presetEnv?: string } = {},
): PackConstants<D> {
  for (const [name, d] of Object.entries(declarations)) {
    if (!/^[a-z][A-Za-z0-9]*$/.test(name)) throw new Error(`${protocol} constant '${name}' must be camelCase`);
    const r = constantDeclarationSchema.safeParse(d);
    if (!r.success) throw new Error(`${protocol} constant '${name}': ${r.error.issues.map((i) => `${i.path.join('.') || 'declaration'}: ${i.message}`).join('; ')}`);
  }
  const defaults = Object.freeze(Object.fromEntries(Object.entries(declarations).map(([k, d]) => [k, normalizeValue(d, d.default)]))) as ConstantValues<D>;
  for (const k of Object.keys(derive?.(defaults) ?? {}))
    if (!Object.keys(declarations).some((n) => k.startsWith(n) && k !== n)) throw new Error(`${protocol}: derived placeholder '${k}' must start with the name of the constant it derives from`);
  const of = (profile?: ProfileOverrides | null): ConstantValues<D> => {
    const o = profile?.overrides[protocol];
    if (!o || Object.keys(o).length === 0) return defaults;
    return Object.freeze({ ...defaults, ...o }) as ConstantValues<D>;
  };
  return {
    protocol,
    declarations: Object.freeze({ ...declarations }),
    defaults,
    of,
    pinned: (profile) => Object.freeze({ ...(profile?.pinnedDefaults?.[protocol] ?? {}), ...(profile?.overrides[protocol] ?? {}) }) as Partial<ConstantValues<D>>,
    presets: Object.freeze({ ...(options.presets ?? {}) }) as PackConstants<D>['presets'],
    ...(options.presetEnv ? { presetEnv: options.presetEnv } : {}),
    placeholders(profile) {
      const v = of(profile);
      return Object.freeze({ ...Object.fromEntries(Object.entries(v).map(([k, x]) => [k, showValue(x as ConstantValue)])), ...(derive ? derive(v) : {}) });
    },
  };
}

/** Replace `{name}` placeholders with the values (unknown names are left as they are). */
export function renderConstants(text: string, values: Readonly<Record<string, ConstantValue>>): string {
  return text.replace(/\{([a-z][A-Za-z0-9]*)\}/g, (m, k: string) => (k in values ? showValue(values[k]!) : m));
}

/** 1 → "1st", 2 → "2nd", 11 → "11th" (for requirement texts that count). */
export function ordinal(n: number): string {
  const t = n % 100;
  const suffix = t >= 11 && t <= 13 ? 'th' : n % 10 === 1 ? 'st' : n % 10 === 2 ? 'nd' : n % 10 === 3 ? 'rd' : 'th';
  return `${n}${suffix}`;
}
