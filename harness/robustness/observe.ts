/**
 * What a robustness batch must leave as it found: named observables (balances, deposits, nonces,
 * read routes) taken before and after, and the logs the protocol's contracts emitted in between.
 */
import { padHex, type Address, type Hex } from 'viem';
import type { RunContext } from '../engine/context.ts';
import type { ChainSession } from '../engine/session.ts';

/** Named observable values (each rendered as text, so any two can be compared and shown). */
export type Observables = Record<string, string>;

/** GET each route (path → headers) of `baseUrl` without recording it; `status body` per path. */
export async function readRoutes(baseUrl: string, routes: Record<string, Record<string, string> | undefined>): Promise<Observables> {
  const base = baseUrl.replace(/\/+$/, '');
  const out: Observables = {};
  await Promise.all(
    Object.entries(routes).map(async ([path, headers]) => {
      const res = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(30_000) });
      out[`GET ${path}`] = `${res.status} ${await res.text()}`;
    }),
  );
  return out;
}

/** Every observable equals its value before the batch (the first that differs violates `requirement`). */
export function expectUnchanged(ctx: RunContext, requirement: string, before: Observables, after: Observables, what: string): void {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const changed = keys.filter((k) => before[k] !== after[k]);
  const cut = (s: string | undefined) => (s === undefined ? '(absent)' : s.length > 400 ? `${s.slice(0, 400)}…` : s);
  ctx.check(requirement, changed.length === 0, `${what}: ${keys.length} observables unchanged${changed.length ? ` (${changed.length} changed, first: ${changed[0]})` : ''}`, {
    expected: changed.length ? `${changed[0]}: ${cut(before[changed[0]!])}` : `${keys.length} values as before`,
    actual: changed.length ? `${changed[0]}: ${cut(after[changed[0]!])}` : 'the same',
  });
}

/** A value as a 32-byte log topic (an address, an id, a hash). */
export function asTopic(v: Address | Hex | bigint): Hex {
  return (typeof v === 'bigint' ? padHex(`0x${v.toString(16)}`, { size: 32 }) : padHex(v.toLowerCase() as Hex, { size: 32 })).toLowerCase() as Hex;
}

/** Logs of one contract to watch: all of them, or those with a topic naming one of `naming` (see {@link asTopic}). */
export interface WatchedLogs {
  address: Address;
  naming?: Hex[];
}

/**
 * No log since `fromBlock` (exclusive) from the watched contracts: for a contract given with
 * `naming`, only logs naming one of those values count (other users of a shared token, other
 * agents' tasks are not this batch's doing). A violation lists the first logs.
 */
export async function expectNoLogsSince(ctx: RunContext, requirement: string, s: ChainSession, watch: WatchedLogs[], fromBlock: bigint, what: string): Promise<void> {
  const latest = await s.public.getBlockNumber({ cacheTime: 0 });
  let logs: { address: Address; topics: readonly Hex[]; transactionHash: Hex | null }[] = [];
  if (latest > fromBlock) {
    const all = (await s.public.getLogs({ address: watch.map((w) => w.address), fromBlock: fromBlock + 1n, toBlock: latest } as never)) as unknown as typeof logs;
    logs = all.filter((l) => {
      const w = watch.find((x) => x.address.toLowerCase() === l.address.toLowerCase());
      if (!w?.naming) return true;
      const names = new Set(w.naming.map((n) => n.toLowerCase()));
      return l.topics.slice(1).some((t) => names.has(t.toLowerCase()));
    });
  }
  ctx.check(requirement, logs.length === 0, `${what}: no event of the protocol's contracts about the harness's accounts, agents or tasks since block ${fromBlock}`, {
    expected: 'no log',
    actual: logs.length
      ? logs
          .slice(0, 3)
          .map((l) => `${l.address} topic ${l.topics[0]?.slice(0, 10)} in ${l.transactionHash}`)
          .join('; ')
      : 'no log',
  });
}
