/**
 * Chain profiles and contract placements, as data files:
 *
 * - `harness/chain/profiles/<id>.json` (the Base profiles) and `contracts/src/<pack>/chains/<id>.json`
 *   (chains a protocol pack brings): chain id, name, node settings, the fork-URL env var, and the
 *   tokens (address, EIP-712 domain, decimals, how role accounts are funded);
 * - `contracts/src/<pack>/placements.json`: which contract sits at which canonical address on which
 *   profile, and its init call (arguments by reference to tokens, roles, other contracts and the
 *   protocol's constants).
 *
 * Adding a chain or a protocol's contract is a data file in the protocol's own folder, then
 * `npm run gen`; no code changes here. Addresses are the real ones, so code written for the real
 * chain works unchanged against the local one.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Address } from 'viem';
import { REPO_ROOT } from './paths.ts';

/** A chain profile id, e.g. `base`, `base-sepolia`. */
export type ChainProfileId = string;

/**
 * How role accounts get a token: `fiat-token` (FiatToken v2.2: the admin is made a minter by the
 * token's masterMinter, impersonated on a fork) or `mintable` (`mint(address,uint256)` sent by the admin).
 */
export type TokenKind = 'fiat-token' | 'mintable';

/** A token a chain profile carries. */
export interface TokenSpec {
  /** Key in the profile (`usdc`), also its key in `contracts`. */
  key: string;
  symbol: string;
  address: Address;
  /** EIP-712 domain name and version (what EIP-3009 / EIP-2612 signatures use). */
  name: string;
  version: string;
  decimals: number;
  kind: TokenKind;
  /** Base units every role account holds after funding (default 1,000,000 whole tokens). */
  fundEach: bigint;
}

/** A chain shape: identity, tokens, canonical contract addresses, node settings. */
export interface ChainProfile {
  id: ChainProfileId;
  chainId: number;
  name: string;
  /** Env var whose URL turns a start of this profile into a fork start (e.g. BASE_RPC_URL). */
  forkUrlEnv?: string;
  tokens: readonly TokenSpec[];
  /** The USDC token, when the profile has one (the Base profiles do). */
  usdc?: TokenSpec;
  /** Every canonical address by key: tokens and placed contracts. */
  contracts: Record<string, Address>;
  /** Node settings that make Anvil look like the real chain. */
  node: { gasLimit: bigint; baseFeePerGas: bigint };
  /** The data file it was read from (repository-relative). */
  source: string;
}

/** An init argument as written in a placements file. */
export type PlacementArg =
  | string
  | number
  | boolean
  | { contract: string }
  | { token: string; field: 'address' | 'name' | 'version' | 'decimals' | 'symbol' }
  | { role: string }
  | { constant: string }
  | PlacementArg[];

/** One contract placed at a canonical address: runtime code written with anvil_setCode, then `init` sent once by the admin. */
export interface ContractPlacement {
  /** Key in `profile.contracts`. */
  key: string;
  /** Forge artifact: contracts/out/<file>/<contract>.json. */
  artifact: { file: string; contract: string };
  /** Address per profile; `"token"` = the profile's token of the same key. */
  at: Record<ChainProfileId, Address | 'token'>;
  init?: { function: string; args: PlacementArg[] };
  /** The placements file (repository-relative) and its constants, for argument resolution. */
  source: string;
  constants: Record<string, unknown>;
}

const HARNESS_PROFILES = path.join(REPO_ROOT, 'harness', 'chain', 'profiles');
const PACK_CONTRACTS = path.join(REPO_ROOT, 'contracts', 'src');

function readJson(file: string): any {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${path.relative(REPO_ROOT, file)}: ${(e as Error).message}`);
  }
}

function jsonFiles(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => path.join(dir, f))
    : [];
}

/** Pack folders under contracts/src, `shared` first (its contracts are placed before any pack's). */
function packDirs(): string[] {
  if (!existsSync(PACK_CONTRACTS)) return [];
  const dirs = readdirSync(PACK_CONTRACTS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  return [...dirs.filter((d) => d === 'shared'), ...dirs.filter((d) => d !== 'shared')].map((d) => path.join(PACK_CONTRACTS, d));
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function parseProfile(file: string): Omit<ChainProfile, 'contracts'> {
  const rel = path.relative(REPO_ROOT, file);
  const j = readJson(file);
  const bad = (why: string) => new Error(`chain profile ${rel}: ${why}`);
  if (typeof j.id !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(j.id)) throw bad('`id` must be a kebab-case string');
  if (!Number.isInteger(j.chainId) || j.chainId <= 0) throw bad('`chainId` must be a positive integer');
  const tokens: TokenSpec[] = Object.entries((j.tokens ?? {}) as Record<string, any>).map(([key, t]) => {
    if (!ADDRESS.test(t.address)) throw bad(`tokens.${key}.address is not an address`);
    if (t.kind !== 'fiat-token' && t.kind !== 'mintable') throw bad(`tokens.${key}.kind must be "fiat-token" or "mintable"`);
    return {
      key,
      symbol: String(t.symbol ?? key.toUpperCase()),
      address: t.address as Address,
      name: String(t.name),
      version: String(t.version),
      decimals: Number(t.decimals),
      kind: t.kind,
      fundEach: t.fundEach !== undefined ? BigInt(t.fundEach) : 1_000_000n * 10n ** BigInt(t.decimals),
    };
  });
  return {
    id: j.id,
    chainId: j.chainId,
    name: String(j.name ?? j.id),
    forkUrlEnv: j.forkUrlEnv,
    tokens,
    usdc: tokens.find((t) => t.key === 'usdc'),
    node: { gasLimit: BigInt(j.node?.gasLimit ?? 150_000_000), baseFeePerGas: BigInt(j.node?.baseFeePerGas ?? 1_000_000) },
    source: rel,
  };
}

function parsePlacements(file: string): ContractPlacement[] {
  const rel = path.relative(REPO_ROOT, file);
  const j = readJson(file);
  const constants = j.constants ? readJson(path.resolve(path.dirname(file), j.constants)) : {};
  return ((j.contracts ?? []) as any[]).map((c, i) => {
    if (typeof c.key !== 'string' || !c.artifact?.file || !c.artifact?.contract || typeof c.at !== 'object') {
      throw new Error(`placements ${rel}: contracts[${i}] needs key, artifact {file, contract} and at {profile: address}`);
    }
    for (const [p, a] of Object.entries(c.at)) if (a !== 'token' && !ADDRESS.test(String(a))) throw new Error(`placements ${rel}: ${c.key}.at.${p} is not an address`);
    return { key: c.key, artifact: c.artifact, at: c.at, init: c.init, source: rel, constants };
  });
}

let cache: { profiles: Map<ChainProfileId, ChainProfile>; placements: ContractPlacement[] } | undefined;

/** Read every profile and placement file (once per process). */
function load(): NonNullable<typeof cache> {
  if (cache) return cache;
  const files = [...jsonFiles(HARNESS_PROFILES), ...packDirs().flatMap((d) => jsonFiles(path.join(d, 'chains')))];
  const profiles = new Map<ChainProfileId, ChainProfile>();
  for (const f of files) {
    const p = parseProfile(f);
    if (profiles.has(p.id)) throw new Error(`chain profile '${p.id}' is defined twice (${profiles.get(p.id)!.source} and ${p.source})`);
    profiles.set(p.id, { ...p, contracts: Object.fromEntries(p.tokens.map((t) => [t.key, t.address])) });
  }
  const placements = packDirs().flatMap((d) => (existsSync(path.join(d, 'placements.json')) ? parsePlacements(path.join(d, 'placements.json')) : []));
  for (const pl of placements) {
    for (const [pid, at] of Object.entries(pl.at)) {
      const profile = profiles.get(pid);
      if (!profile) throw new Error(`placements ${pl.source}: ${pl.key} names unknown chain profile '${pid}'`);
      const address = at === 'token' ? profile.tokens.find((t) => t.key === pl.key)?.address : at;
      if (!address) throw new Error(`placements ${pl.source}: ${pl.key} is at "token" but profile '${pid}' has no token '${pl.key}'`);
      if (profile.contracts[pl.key] && profile.contracts[pl.key] !== address) throw new Error(`contract key '${pl.key}' on '${pid}' is placed twice at different addresses`);
      profile.contracts[pl.key] = address;
    }
  }
  cache = { profiles, placements };
  return cache;
}

/** Every known profile id, in a stable order (the order `amh up` starts them in). */
export function chainProfileIds(): ChainProfileId[] {
  return [...load().profiles.keys()].sort();
}

/**
 * The profile for an id.
 * @throws on an unknown id (the message lists the known ones).
 */
export function getProfile(id: ChainProfileId): ChainProfile {
  const p = load().profiles.get(id);
  if (!p) throw new Error(`unknown chain profile '${String(id)}'; known profiles: ${chainProfileIds().join(', ')}`);
  return p;
}

/** Type guard for user input (CLI flags, env). */
export function isChainProfileId(id: string): id is ChainProfileId {
  return load().profiles.has(id);
}

/** The contracts placed on a profile, in placement order (shared first, then packs alphabetically; file order within). */
export function placementsFor(id: ChainProfileId): ContractPlacement[] {
  getProfile(id);
  return load().placements.filter((p) => p.at[id] !== undefined);
}

/** What an init argument may refer to. */
export interface PlacementContext {
  profile: ChainProfile;
  roles: (name: string) => Address;
}

/** Resolve a placement's init arguments for a profile. */
export function resolveInitArgs(pl: ContractPlacement, ctx: PlacementContext): unknown[] {
  const one = (a: PlacementArg): unknown => {
    if (Array.isArray(a)) return a.map(one);
    if (a === null || typeof a !== 'object') return a;
    if ('contract' in a) {
      const address = ctx.profile.contracts[a.contract];
      if (!address) throw new Error(`${pl.source}: ${pl.key} init refers to contract '${a.contract}', which profile '${ctx.profile.id}' lacks`);
      return address;
    }
    if ('token' in a) {
      const t = ctx.profile.tokens.find((x) => x.key === a.token);
      if (!t) throw new Error(`${pl.source}: ${pl.key} init refers to token '${a.token}', which profile '${ctx.profile.id}' lacks`);
      return t[a.field];
    }
    if ('role' in a) return ctx.roles(a.role);
    if ('constant' in a) {
      const v = a.constant.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], pl.constants);
      if (v === undefined) throw new Error(`${pl.source}: ${pl.key} init refers to constant '${a.constant}', which its constants file lacks`);
      return v;
    }
    throw new Error(`${pl.source}: ${pl.key} has an init argument of unknown shape: ${JSON.stringify(a)}`);
  };
  return (pl.init?.args ?? []).map(one);
}

/**
 * A token of a profile.
 * @throws naming the profile and its tokens when it has no such token.
 */
export function tokenOf(profile: ChainProfile, key: string): TokenSpec {
  const t = profile.tokens.find((x) => x.key === key);
  if (!t) throw new Error(`chain profile '${profile.id}' has no token '${key}' (it has: ${profile.tokens.map((x) => x.key).join(', ') || 'none'})`);
  return t;
}
