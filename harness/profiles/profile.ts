/**
 * What-if profiles: a YAML or JSON file that overrides protocol constants,
 *
 * ```yaml
 * name: rejection limit 2
 * protocols:
 *   agentripe: { reviewLimit: 2 }
 * ```
 *
 * checked against the packs' declarations (reference-impl/<id>/protocol/constants.ts): an unknown
 * protocol or constant gets a "did you mean", a wrong type or a value outside the valid range an
 * error naming file, protocol, constant, value and range. The result is small and typed so `amh run`,
 * `amh up`, `amh certify` and `amh simulate` share it.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import canonicalize from 'canonicalize';
import { parse as parseYaml } from 'yaml';
import { didYouMean } from '../target/schema.ts';
import type { ProfileInfo } from '../report/types.ts';
import { type ConstantDeclaration, type ConstantValue, type PackConstants, normalizeValue, showValue } from './constants.ts';

/**
 * An effective profile: the constants that differ from the packs' defaults, and the
 * implementation-defined ones it names at their default (those change what is checked, not values).
 */
export interface Profile {
  /** The file's `name`, else its base name. */
  name: string;
  /** Path of the file it was read from (absent for one built in code). */
  source?: string;
  /** Protocol id → constant → value, only where the value differs from the default. */
  overrides: Readonly<Record<string, Readonly<Record<string, ConstantValue>>>>;
  /** Protocol id → implementation-defined constant → its default, where the profile names it (absent: none). */
  pinnedDefaults?: Readonly<Record<string, Readonly<Record<string, ConstantValue>>>>;
  /**
   * SHA-256 (hex) of the RFC 8785 canonical JSON of `overrides` with `pinnedDefaults` (values as
   * strings): the same constants checked at the same values, the same hash.
   */
  hash: string;
}

/** A profile file that cannot be used (exit code 2, the message names every problem). */
export class ProfileError extends Error {
  override name = 'ProfileError';
}

/** What a profile is checked against: the constants of every pack that declares some. */
export type ConstantsRegistry = readonly PackConstants[];

const TOP_KEYS = ['name', 'description', 'protocols', '$schema'];

function range(d: ConstantDeclaration): string {
  if (d.type === 'enum') return `one of ${d.values!.join(', ')}`;
  if (d.type === 'boolean') return 'true or false';
  return `${showValue(d.min!)}..${showValue(d.max!)}${d.unit ? ` ${d.unit}` : ''}`;
}

/** Check one value against its declaration: the normalised value, or why not. */
export function checkConstant(d: ConstantDeclaration, raw: unknown): { ok: true; value: ConstantValue } | { ok: false; why: string } {
  const bad = (why: string) => ({ ok: false as const, why: `${why} (valid: ${range(d)})` });
  switch (d.type) {
    case 'boolean':
      return typeof raw === 'boolean' ? { ok: true, value: raw } : bad('must be true or false');
    case 'enum':
      return typeof raw === 'string' && d.values!.includes(raw) ? { ok: true, value: raw } : bad(`must be ${range(d)}`);
    default: {
      // Integers only: a YAML/JSON number, a bigint (YAML big ints), or a decimal string for base units beyond 2^53.
      let n: bigint;
      if (typeof raw === 'bigint') n = raw;
      else if (typeof raw === 'number' && Number.isSafeInteger(raw)) n = BigInt(raw);
      else if (typeof raw === 'string' && /^-?\d+$/.test(raw.trim())) n = BigInt(raw.trim());
      else return bad(`must be an integer${d.type === 'amount' ? ' number of base units' : d.type === 'bps' ? ' number of basis points' : d.type === 'seconds' ? ' number of seconds' : ''}`);
      if (n < BigInt(d.min!) || n > BigInt(d.max!)) return bad('is out of range');
      return { ok: true, value: normalizeValue(d, n) };
    }
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return v.toString();
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** SHA-256 of the canonical JSON of the overrides (values as text, so bigints and numbers hash alike). */
export function profileHash(overrides: Profile['overrides']): string {
  const text = Object.fromEntries(Object.entries(overrides).map(([p, o]) => [p, Object.fromEntries(Object.entries(o).map(([k, v]) => [k, showValue(v)]))]));
  return createHash('sha256').update(canonicalize(text)!).digest('hex');
}

/**
 * Build a profile from values that were already checked: a value equal to its default is dropped,
 * unless its constant is implementation-defined (naming it pins it: scenarios then check it).
 */
export function makeProfile(name: string, overrides: Record<string, Record<string, ConstantValue>>, registry: ConstantsRegistry, source?: string): Profile {
  const kept: Record<string, Record<string, ConstantValue>> = {};
  const pins: Record<string, Record<string, ConstantValue>> = {};
  for (const [p, o] of Object.entries(overrides)) {
    const pack = registry.find((x) => x.protocol === p);
    const atDefault = ([k, v]: [string, ConstantValue]) => pack !== undefined && showValue(pack.defaults[k as never] as ConstantValue) === showValue(v);
    const diff = Object.fromEntries(Object.entries(o).filter((e) => !atDefault(e)));
    const pinned = Object.fromEntries(Object.entries(o).filter((e) => atDefault(e) && pack!.declarations[e[0]]?.implementationDefined));
    if (Object.keys(diff).length) kept[p] = Object.freeze(diff);
    if (Object.keys(pinned).length) pins[p] = Object.freeze(pinned);
  }
  const pinnedDefaults = Object.keys(pins).length ? Object.freeze(pins) : undefined;
  return Object.freeze({ name, ...(source ? { source } : {}), overrides: Object.freeze(kept), ...(pinnedDefaults ? { pinnedDefaults } : {}), hash: profileHash(merge(kept, pins)) });
}

/** Protocol id → constant → value of both (the hash covers every value a profile checks). */
function merge(a: Profile['overrides'], b: Profile['overrides']): Record<string, Record<string, ConstantValue>> {
  const out: Record<string, Record<string, ConstantValue>> = {};
  for (const x of [a, b]) for (const [p, o] of Object.entries(x)) out[p] = { ...out[p], ...o };
  return out;
}

/**
 * Check a parsed profile document against the registry. `where` names the file in messages.
 * Every problem is collected, then thrown as one ProfileError.
 */
export function parseProfile(doc: unknown, registry: ConstantsRegistry, where: string, defaultName: string): Profile {
  const c = checkProfileDocument(doc, registry, where, defaultName);
  return makeProfile(c.name, c.values, registry, where);
}

/** The name and every value a profile document gives (checked; defaults not dropped yet). */
function checkProfileDocument(doc: unknown, registry: ConstantsRegistry, where: string, defaultName: string): { name: string; values: Record<string, Record<string, ConstantValue>> } {
  const problems: string[] = [];
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new ProfileError(`invalid profile ${where}: expected a mapping { name?, protocols: { <protocol>: { <constant>: value } } }`);
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d))
    if (!TOP_KEYS.includes(k)) {
      const m = didYouMean(k, TOP_KEYS);
      problems.push(`${k}: unknown key${m ? ` (did you mean '${m}'?)` : ''}; a profile has name, description and protocols`);
    }
  if (d.name !== undefined && (typeof d.name !== 'string' || !d.name.trim())) problems.push('name: must be a non-empty string');
  const protos = d.protocols;
  const known = registry.map((p) => p.protocol);
  const overrides: Record<string, Record<string, ConstantValue>> = {};
  if (!protos || typeof protos !== 'object' || Array.isArray(protos)) problems.push('protocols: required, a mapping of protocol id to its constants');
  else
    for (const [pid, section] of Object.entries(protos)) {
      const pack = registry.find((p) => p.protocol === pid);
      if (!pack) {
        const m = didYouMean(pid, known);
        problems.push(`protocols.${pid}: unknown protocol${m ? ` (did you mean '${m}'?)` : ''}; protocols with constants: ${known.join(', ')}`);
        continue;
      }
      if (!section || typeof section !== 'object' || Array.isArray(section)) {
        problems.push(`protocols.${pid}: must be a mapping of constant name to value`);
        continue;
      }
      const names = Object.keys(pack.declarations);
      const o: Record<string, ConstantValue> = {};
      for (const [name, raw] of Object.entries(section)) {
        const decl = pack.declarations[name];
        if (!decl) {
          const m = didYouMean(name, names);
          problems.push(`protocols.${pid}.${name}: unknown constant${m ? ` (did you mean '${m}'?)` : ''}; ${pid} constants: ${names.join(', ')}`);
          continue;
        }
        const r = checkConstant(decl, raw);
        if (r.ok) o[name] = r.value;
        else problems.push(`protocols.${pid}.${name}: ${describe(raw)} ${r.why}`);
      }
      overrides[pid] = o;
    }
  if (problems.length) throw new ProfileError(`invalid profile ${where}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return { name: typeof d.name === 'string' ? d.name.trim() : defaultName, values: overrides };
}

/**
 * Read a profile file (`.json` as JSON; anything else as YAML, which JSON also is) and check it.
 * Integers in YAML are read as bigints, so base-unit amounts beyond 2^53 stay exact.
 */
export async function loadProfile(file: string, registry: ConstantsRegistry): Promise<Profile> {
  const c = await readProfileFile(file, registry);
  return makeProfile(c.name, c.values, registry, file);
}

async function readProfileFile(file: string, registry: ConstantsRegistry): Promise<{ name: string; values: Record<string, Record<string, ConstantValue>> }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ProfileError(`cannot read profile ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { intAsBigInt: true });
  } catch (e) {
    throw new ProfileError(`profile ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  const base = file
    .split(/[\\/]/)
    .pop()!
    .replace(/\.(ya?ml|json)$/i, '');
  return checkProfileDocument(doc, registry, file, base);
}

/** The effective value of every overridden or pinned constant as text, `protocol.constant=value` (for logs and summaries). */
export function profileLines(p: Profile): string[] {
  const pinned = Object.entries(p.pinnedDefaults ?? {}).flatMap(([pid, o]) => Object.entries(o).map(([k, v]) => `${pid}.${k} = ${showValue(v)} (the default, pinned)`));
  return [...Object.entries(p.overrides).flatMap(([pid, o]) => Object.entries(o).map(([k, v]) => `${pid}.${k} = ${showValue(v)}`)), ...pinned];
}

/**
 * The profile of a command: the presets named by the packs' environment variables (e.g.
 * `AMH_APS1_PROFILE=compat`), then the file's values on top. Undefined when neither is given: every
 * constant at its default, exactly as without profiles.
 */
export async function resolveProfile(file: string | undefined, registry: ConstantsRegistry, env: NodeJS.ProcessEnv = process.env): Promise<Profile | undefined> {
  const base: Record<string, Record<string, ConstantValue>> = {};
  const named: string[] = [];
  for (const pack of registry) {
    const v = pack.presetEnv ? env[pack.presetEnv] : undefined;
    if (!pack.presetEnv || v === undefined || v === '') continue;
    const preset = pack.presets[v];
    if (!preset) {
      const m = didYouMean(v, Object.keys(pack.presets));
      throw new ProfileError(`${pack.presetEnv}=${v}: unknown ${pack.protocol} preset${m ? ` (did you mean '${m}'?)` : ''}; known: ${Object.keys(pack.presets).join(', ')}`);
    }
    base[pack.protocol] = { ...(preset as Record<string, ConstantValue>) };
    named.push(`${pack.presetEnv}=${v}`);
  }
  const fromFile = file ? await readProfileFile(file, registry) : undefined;
  if (!fromFile && named.length === 0) return undefined;
  // The file's values win over a preset's, even where they equal the defaults.
  const merged: Record<string, Record<string, ConstantValue>> = { ...base };
  for (const [pid, o] of Object.entries(fromFile?.values ?? {})) merged[pid] = { ...merged[pid], ...o };
  const name = [fromFile?.name, ...named].filter(Boolean).join(' + ');
  return makeProfile(name, merged, registry, file);
}

const asText = (x: Profile['overrides']) => Object.fromEntries(Object.entries(x).map(([pid, o]) => [pid, Object.fromEntries(Object.entries(o).map(([k, v]) => [k, showValue(v)]))]));

/**
 * What a report (and `amh up --json`) records of a profile: name, file, hash, the constants that
 * differ from the defaults, and the implementation-defined ones pinned at their default.
 */
export function profileInfo(p: Profile): ProfileInfo {
  return {
    name: p.name,
    ...(p.source ? { source: p.source } : {}),
    hash: p.hash,
    constants: asText(p.overrides),
    ...(p.pinnedDefaults ? { pinnedDefaults: asText(p.pinnedDefaults) } : {}),
  };
}

/**
 * The profile a report or bundle recorded, checked again against today's declarations (for
 * `amh replay`): its hash must still match, so a replay runs exactly the recorded constants.
 */
export function profileFromInfo(info: ProfileInfo, registry: ConstantsRegistry, where: string): Profile {
  const protocols = Object.fromEntries(
    Object.entries(merge(info.constants, info.pinnedDefaults ?? {}) as Record<string, Record<string, string>>).map(([pid, c]) => {
      const pack = registry.find((x) => x.protocol === pid);
      // Recorded values are text; a boolean's text becomes the boolean again.
      return [pid, Object.fromEntries(Object.entries(c).map(([k, v]) => [k, pack?.declarations[k]?.type === 'boolean' ? v === 'true' : v]))];
    }),
  );
  const p = parseProfile({ name: info.name, protocols }, registry, `recorded in ${where}`, info.name);
  if (p.hash !== info.hash) throw new ProfileError(`the profile recorded in ${where} does not match its hash ${info.hash}`);
  return info.source ? { ...p, source: info.source } : p;
}
