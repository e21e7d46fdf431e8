/**
 * Protocol packs, discovered by path: a protocol is `scenarios/<id>/index.ts` (default export
 * `defineProtocol(...)`), its reference services `reference-impl/<pack>/service.ts` (default export:
 * one `defineService(...)` or a list), its constants a what-if profile may change
 * `reference-impl/<pack>/protocol/constants.ts` (default export `defineConstants(...)`), its load
 * definition `reference-impl/<pack>/load.ts` (default export `defineLoad(...)`), its contracts `contracts/src/<id>/placements.json` (read by
 * harness/chain). Adding a pack touches nothing outside its own folders: the harness imports packs
 * at run time instead of listing them.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chainProfileIds, getProfile } from '../chain/profiles.ts';
import { REPO_ROOT } from '../chain/paths.ts';
import type { ProtocolModule } from '../engine/dsl.ts';
import type { ServiceDefinition } from '../services/service.ts';
import type { SimulationPack } from '../sim/pack.ts';
import type { LoadPack } from '../load/pack.ts';
import type { PackConstants } from '../profiles/constants.ts';
import { inChildBundle } from '../services/child-bundle.ts';

function packFolders(dir: string, file: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('_') && !d.name.startsWith('.') && existsSync(path.join(dir, d.name, file)))
    .map((d) => d.name)
    .sort();
}

/** Registered once, in a bundled child process only (the packs it imports by path are TypeScript). */
let typeScript: Promise<void> | undefined;

async function importDefault(file: string): Promise<unknown> {
  if (file.endsWith('.ts') && inChildBundle()) {
    typeScript ??= import('tsx/esm/api').then((m) => void m.register());
    await typeScript;
  }
  const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  if (mod.default === undefined) throw new Error(`${path.relative(REPO_ROOT, file)} has no default export`);
  return mod.default;
}

const protocolCache = new Map<string, Promise<ProtocolModule[]>>();

/** The protocol ids under `<root>/scenarios` (folder names), without importing any pack. */
export function protocolIds(root = REPO_ROOT): string[] {
  return packFolders(path.join(root, 'scenarios'), 'index.ts');
}

/**
 * Every protocol under `<root>/scenarios` (or only those in `only`: importing a pack costs its
 * libraries' load time, about half a second each), ordered by `order` then id. Each is checked
 * against what the harness knows: its folder name is its id, and every contract a scenario `needs`
 * exists on some chain profile (a typo there would make every scenario silently not-applicable).
 */
export function loadProtocols(root = REPO_ROOT, only?: readonly string[]): Promise<ProtocolModule[]> {
  const ids = protocolIds(root).filter((id) => !only || only.includes(id));
  const key = `${root}\0${only ? ids.join(',') : '*'}`;
  let p = protocolCache.get(key);
  if (!p) {
    const all = protocolCache.get(`${root}\0*`);
    p = all
      ? all.then((list) => list.filter((m) => ids.includes(m.id)))
      : (async () => {
          const dir = path.join(root, 'scenarios');
          const out: ProtocolModule[] = [];
          for (const id of ids) {
            const file = path.join(dir, id, 'index.ts');
            const m = (await importDefault(file)) as ProtocolModule;
            if (!m || typeof m !== 'object' || !Array.isArray(m.scenarios)) throw new Error(`${path.relative(root, file)}: default export is not a protocol (use defineProtocol)`);
            if (m.id !== id) throw new Error(`${path.relative(root, file)}: protocol id '${m.id}' must equal its folder name '${id}'`);
            out.push(m);
          }
          const known = new Set(chainProfileIds().flatMap((c) => Object.keys(getProfile(c).contracts)));
          for (const m of out)
            for (const s of m.scenarios)
              for (const n of s.needs ?? []) {
                if (!known.has(n)) throw new Error(`protocol ${m.id}: scenario ${s.id} needs contract '${n}', which no chain profile places (known: ${[...known].sort().join(', ')})`);
              }
          return out.sort((a, b) => (a.order ?? 100) - (b.order ?? 100) || a.id.localeCompare(b.id));
        })();
    protocolCache.set(key, p);
  }
  return p;
}

/**
 * Every reference service under `<root>/reference-impl`, in pack order (or only the services of the
 * packs in `only`: a service lives in the pack of the protocol whose scenarios talk to it, and
 * serves that protocol, so a selection imports no other pack's servers). Names must be unique.
 */
export async function loadServices(root = REPO_ROOT, only?: readonly string[]): Promise<ServiceDefinition[]> {
  const dir = path.join(root, 'reference-impl');
  const out: ServiceDefinition[] = [];
  for (const pack of packFolders(dir, 'service.ts')) {
    if (only && !only.includes(pack)) continue;
    const file = path.join(dir, pack, 'service.ts');
    const d = await importDefault(file);
    const list = (Array.isArray(d) ? d : [d]) as ServiceDefinition[];
    for (const s of list) {
      if (!s || typeof s.start !== 'function' || typeof s.name !== 'string') throw new Error(`${path.relative(root, file)}: default export is not a service definition (use defineService)`);
      if (out.some((o) => o.name === s.name)) throw new Error(`${path.relative(root, file)}: service name '${s.name}' is already used`);
      if (!s.protocols.includes(pack)) throw new Error(`${path.relative(root, file)}: service '${s.name}' must serve protocol '${pack}' (a service lives in the pack of the protocol it serves)`);
      out.push(s);
    }
  }
  return out;
}

/** The services the selected protocols need (all when `protocols` is empty). */
export function servicesFor(all: readonly ServiceDefinition[], protocols?: readonly string[]): ServiceDefinition[] {
  if (!protocols?.length) return [...all];
  return all.filter((s) => s.protocols.some((p) => protocols.includes(p)));
}

/**
 * Every pack's simulation adapter (`reference-impl/<pack>/simulation.ts`, default export
 * `defineSimulation(...)`, read by `amh simulate`), by protocol id.
 */
export async function loadSimulations(root = REPO_ROOT): Promise<Map<string, SimulationPack>> {
  const dir = path.join(root, 'reference-impl');
  const out = new Map<string, SimulationPack>();
  for (const pack of packFolders(dir, 'simulation.ts')) {
    const file = path.join(dir, pack, 'simulation.ts');
    const s = (await importDefault(file)) as SimulationPack;
    if (!s || typeof s.model !== 'function' || typeof s.protocol !== 'string') throw new Error(`${path.relative(root, file)}: default export is not a simulation (use defineSimulation)`);
    if (out.has(s.protocol)) throw new Error(`${path.relative(root, file)}: protocol '${s.protocol}' already has a simulation`);
    out.set(s.protocol, s);
  }
  return out;
}

/**
 * Every pack's load definition (`reference-impl/<pack>/load.ts`, default export `defineLoad(...)`,
 * read by `amh load`), by protocol id.
 */
export async function loadLoads(root = REPO_ROOT): Promise<Map<string, LoadPack>> {
  const dir = path.join(root, 'reference-impl');
  const out = new Map<string, LoadPack>();
  for (const pack of packFolders(dir, 'load.ts')) {
    const file = path.join(dir, pack, 'load.ts');
    const l = (await importDefault(file)) as LoadPack;
    if (!l || typeof l.setup !== 'function' || typeof l.protocol !== 'string') throw new Error(`${path.relative(root, file)}: default export is not a load definition (use defineLoad)`);
    if (l.protocol !== pack) throw new Error(`${path.relative(root, file)}: the load definition of '${l.protocol}' must live in reference-impl/${l.protocol}/load.ts`);
    out.set(l.protocol, l);
  }
  return out;
}

/**
 * The constants every pack declares (`reference-impl/<pack>/protocol/constants.ts`), in pack order:
 * what a what-if profile (harness/profiles/profile.ts) is checked against.
 */
export async function loadConstants(root = REPO_ROOT): Promise<PackConstants[]> {
  const dir = path.join(root, 'reference-impl');
  const out: PackConstants[] = [];
  for (const pack of packFolders(dir, path.join('protocol', 'constants.ts'))) {
    const file = path.join(dir, pack, 'protocol', 'constants.ts');
    const c = (await importDefault(file)) as PackConstants;
    if (!c || typeof c.of !== 'function' || typeof c.protocol !== 'string') throw new Error(`${path.relative(root, file)}: default export is not a constants declaration (use defineConstants)`);
    if (c.protocol !== pack) throw new Error(`${path.relative(root, file)}: constants of '${c.protocol}' must live in reference-impl/${c.protocol}/protocol/constants.ts`);
    out.push(c);
  }
  return out;
}
