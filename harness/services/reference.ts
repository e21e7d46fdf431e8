/**
 * The reference deployment: chains from their fixtures (or forks) plus the reference services the
 * selected protocols need, described as an ordinary Target. `amh run` certifies it; `amh up` keeps
 * it running for a developer. Both go through {@link startReference}, so they start the same things.
 */
import { chainProfileIds, getProfile } from '../chain/profiles.ts';
import { roleAccounts, roleKeys } from '../chain/accounts.ts';
import { mineUniqueBlock, revert, snapshot, startChain, type RunningChain } from '../chain/anvil.ts';
import { describeRepairs, tallyRepairs, withRepairHeld } from '../chain/pool-repair.ts';
import { loadServices, servicesFor } from '../packs/discover.ts';
import { parseTarget, type Capability, type RestartControl, type Target } from '../target/schema.ts';
import { ServiceInstance, type ServiceDefinition } from './service.ts';
import type { Profile } from '../profiles/profile.ts';

/** Options of {@link startReference}. */
export interface ReferenceOptions {
  /** Chain profiles to start (default: every profile; `[]`: none). */
  chains?: readonly string[];
  /** Protocols whose services to start (default: every service); `[]` with `chainsOnly` for none. */
  protocols?: readonly string[];
  /** Start no service at all. */
  chainsOnly?: boolean;
  host?: string;
  /** RPC port of the first chain; the next ones use port+1, port+2... (default: free ports). */
  port?: number;
  forkUrl?: string;
  forkBlockNumber?: bigint;
  log?: (line: string) => void;
  /** Service definitions to use instead of discovering them (tests; a caller that loaded them already). */
  services?: readonly ServiceDefinition[];
  /** What-if profile the services configure their servers and contracts with (default: none). */
  profile?: Profile | null;
  /** The capabilities the selected scenarios need (default: any; see ServiceContext.wants). */
  wants?: ReadonlySet<Capability>;
  /** Past block states each chain keeps (StartChainOptions.pruneHistory); default: anvil's, with disk. */
  pruneHistory?: number;
  /**
   * Make `reset()` work: once everything is up, snapshot every chain whose services can all be
   * reset (see {@link Reference.reset}). `amh run` asks for it; `amh up` does not.
   */
  resettable?: boolean;
}

/** A started reference deployment. `stop()` ends everything it started (services first, then chains). */
export interface Reference {
  chains: RunningChain[];
  services: ServiceInstance[];
  target: Target;
  /** Services that were not started because none of their chains runs, with the reason. */
  skipped: { name: string; reason: string }[];
  /** Settles when a chain dies on its own (crash, killed from outside). */
  crashed: Promise<string>;
  /** Profile ids of the chains `reset()` takes back (with `resettable`; else none). */
  resetChains: string[];
  /**
   * Takes the chains of {@link resetChains} back to the state they had when everything was up
   * (evm_revert to a snapshot taken then, checked like a run's revert) and resets the services on
   * them. A chain with a service that cannot be reset (no `reset()`) is left as it is. Call it only
   * while nothing runs against the reference.
   */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export const REFERENCE_NAME = 'agentmarket-harness reference implementation';
export const REFERENCE_CAPABILITIES: Capability[] = ['snapshot', 'reorg', 'clock-control', 'set-code', 'impersonate'];

/** Describe running chains (and what services published) as a Target. */
export function describeReference(
  chains: readonly RunningChain[],
  published: { endpoints?: Record<string, unknown>; capabilities?: Capability[]; config?: Record<string, unknown>; restart?: Record<string, RestartControl> }[] = [],
  name = REFERENCE_NAME,
): Target {
  const endpoints: Record<string, unknown> = {};
  const config: Record<string, unknown> = {};
  const restart: Record<string, RestartControl> = {};
  const capabilities = new Set<Capability>(REFERENCE_CAPABILITIES);
  for (const p of published) {
    for (const [k, v] of Object.entries(p.endpoints ?? {})) {
      if (k in endpoints) throw new Error(`two reference services publish the endpoint '${k}'`);
      endpoints[k] = v;
    }
    for (const c of p.capabilities ?? []) capabilities.add(c);
    Object.assign(config, p.config);
    Object.assign(restart, p.restart);
  }
  return parseTarget(
    {
      name,
      version: '0.1.0',
      chains: chains.map((c) => {
        const p = getProfile(c.profile.id);
        const tokens = Object.fromEntries(p.tokens.filter((t) => t.key !== 'usdc').map((t) => [t.key, { address: t.address, name: t.name, version: t.version, decimals: t.decimals }]));
        const contracts = Object.fromEntries(Object.entries(p.contracts).filter(([k]) => !p.tokens.some((t) => t.key === k)));
        return {
          id: p.id,
          chainId: c.chainId,
          rpcUrl: c.rpcUrl,
          ...(p.usdc ? { usdc: { address: p.usdc.address, name: p.usdc.name, version: p.usdc.version, decimals: p.usdc.decimals } } : {}),
          tokens,
          contracts,
        };
      }),
      endpoints,
      accounts: [
        ...roleAccounts.map((a) => ({ role: a.role, kind: 'evm', address: a.address, privateKey: a.privateKey })),
        ...roleKeys().map((k) => ({ role: k.role, kind: k.kind, privateKey: k.privateKey, publicKey: k.publicKey })),
      ],
      capabilities: [...capabilities],
      config,
      ...(Object.keys(restart).length ? { restart } : {}),
    },
    'reference target',
  );
}

/** Start chains, then the services the selected protocols need; describe it all as a Target. */
export async function startReference(o: ReferenceOptions = {}): Promise<Reference> {
  const log = o.log ?? (() => {});
  const host = o.host ?? '127.0.0.1';
  const profiles = o.chains ? [...o.chains] : chainProfileIds();
  const chains: RunningChain[] = [];
  const services: ServiceInstance[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const stop = async () => {
    for (const s of [...services].reverse()) await s.stop().catch((e) => log(`stopping ${s.name} failed: ${String(e)}`));
    await Promise.allSettled(chains.map((c) => c.stop()));
  };
  try {
    const started = await Promise.allSettled(
      profiles.map((profile, i) =>
        startChain({
          profile,
          host,
          port: o.port === undefined ? undefined : o.port + i,
          forkUrl: o.forkUrl,
          forkBlockNumber: o.forkBlockNumber,
          ...(o.pruneHistory !== undefined ? { pruneHistory: o.pruneHistory } : {}),
          // Runs count repairs in their reports; a server certified against `amh up`'s chains learns of them only here.
          onPoolRepair: (r) => log(`chain ${profile}: ${describeRepairs(tallyRepairs([r]), `sender ${r.sender}, nonces ${[...r.resent, ...r.lost.map((l) => l.nonce)].join(', ')}`)}`),
        }),
      ),
    );
    for (const r of started) if (r.status === 'fulfilled') chains.push(r.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const defs = o.chainsOnly ? [] : servicesFor(o.services ?? (await loadServices(undefined, o.protocols?.length ? o.protocols : undefined)), o.protocols);
    for (const d of defs) {
      // A service that declares no chain (a Nostr relay, a Lightning simulation) needs none and always starts.
      if (d.chains.length && !d.chains.some((c) => chains.some((x) => x.profile.id === c))) {
        skipped.push({ name: d.name, reason: `runs on ${d.chains.join(' or ')}, which is not started` });
        continue;
      }
      const inst = new ServiceInstance(d);
      log(`starting ${d.name}`);
      await inst.start({ chains, host, log, profile: o.profile ?? null, wants: o.wants });
      services.push(inst);
    }
    const target = describeReference(
      chains,
      services.map((s) => s.started),
    );
    const crashed = Promise.race(
      chains.map((c) => c.crashed?.then((how) => `anvil for '${c.profile.id}' exited unexpectedly (code ${how.code}, signal ${how.signal})`) ?? new Promise<never>(() => {})),
    );
    // A chain is reset only with every service on it: one that cannot forget would keep state about
    // a chain that no longer holds it.
    const onChain = (c: RunningChain) => services.filter((s) => s.definition.chains.includes(c.profile.id));
    const resetting = o.resettable ? chains.filter((c) => onChain(c).every((s) => s.resettable)) : [];
    // One empty block of its own on top of each snapshot, before every scenario: a reorg down to
    // the block a scenario started on needs that block's state in anvil's history, and a block
    // reverted to again and again (or mined again with the same hash) can lose it (mineUniqueBlock).
    const takeAndMine = async (c: RunningChain) => {
      const id = await snapshot(c.rpcUrl);
      await mineUniqueBlock(c.rpcUrl);
      return id;
    };
    const forgetting = services.filter((s) => resetting.some((c) => s.definition.chains.includes(c.profile.id)));
    const pristine = new Map(await Promise.all(resetting.map(async (c) => [c, await takeAndMine(c)] as const)));
    const reset = async () => {
      for (const c of resetting) {
        await withRepairHeld(c.rpcUrl, async () => {
          await revert(c.rpcUrl, pristine.get(c)!);
          pristine.set(c, await takeAndMine(c));
        });
      }
      for (const s of forgetting) await s.reset();
    };
    return { chains, services, target, skipped, crashed, resetChains: resetting.map((c) => c.profile.id), reset, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
