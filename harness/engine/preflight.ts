/**
 * First contact with a target, before any scenario runs: every endpoint a selected scenario talks to
 * gets its protocol's probe request, and every chain a scenario needs answers `eth_chainId` with
 * the declared id. A connection refused, a 404/405 on the entry point, or an RPC that is not a
 * JSON-RPC node is a target problem named with the method and URL, never a requirement failure:
 * nothing about the protocol was established.
 */
import { rpcCall } from '../chain/rpc.ts';
import { endpointOf, type Target } from '../target/schema.ts';
import type { EndpointDeclaration, ProtocolModule, Scenario } from './dsl.ts';

/** A problem found on first contact, and the scenarios it blocks. */
export interface PreflightProblem {
  message: string;
  /** `endpoint:<name>` or `chain:<id>`. */
  subject: string;
}

function describeError(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}

/** The declaration of an endpoint (a bare string is its description). */
export function endpointDeclaration(p: ProtocolModule, name: string): EndpointDeclaration | undefined {
  const d = p.endpoints?.[name];
  return typeof d === 'string' ? { description: d } : d;
}

/**
 * Probe one endpoint as its protocol declares; null when it answered like an entry point. An
 * endpoint that cannot be reached is asked again every 250 ms until `reachableBy` (ms since epoch;
 * default: no second try): a server started after the harness, which it reaches the chain through.
 */
export async function probeEndpoint(target: Target, p: ProtocolModule, name: string, timeoutMs = 10_000, reachableBy = 0): Promise<string | null> {
  const e = endpointOf(target, name)!;
  const decl = endpointDeclaration(p, name);
  const probe = decl?.probe ?? { path: '' };
  // A WebSocket endpoint (a Nostr relay) is probed with an HTTP GET on the same host and path (NIP-11 answers there).
  const base = e.url.replace(/^ws(s?):\/\//i, 'http$1://');
  const url = probe.path ? `${base.replace(/\/+$/, '')}${probe.path}` : base;
  const method = probe.method ?? (probe.path ? 'GET' : (e.method ?? 'GET'));
  const init: RequestInit = { method };
  if (!probe.path && e.body !== undefined && method !== 'GET') {
    init.body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body);
    init.headers = { 'content-type': 'application/json', ...e.headers };
  } else if (!probe.path && e.headers) init.headers = e.headers;
  let status: number;
  for (;;) {
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      break;
    } catch (err) {
      if (Date.now() >= reachableBy) return `endpoint '${name}': ${method} ${url} could not be reached (${describeError(err)})`;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  if (status === 404 || status === 405) return `endpoint '${name}': ${method} ${url} answered ${status}; is the URL or the method wrong? (${decl?.description ?? 'declared by the target'})`;
  return null;
}

/** Check a chain RPC answers eth_chainId with the declared id; null when it does. */
export async function probeChain(target: Target, chainId: string): Promise<string | null> {
  const c = target.chains.find((x) => x.id === chainId)!;
  try {
    const got = await rpcCall<string>(c.rpcUrl, 'eth_chainId');
    if (typeof got !== 'string' || !/^0x[0-9a-f]+$/i.test(got)) return `chain '${c.id}': ${c.rpcUrl} answered eth_chainId with ${JSON.stringify(got)}, not a chain id`;
    if (Number(BigInt(got)) !== c.chainId) return `chain '${c.id}': ${c.rpcUrl} is chain ${Number(BigInt(got))}, the target file says ${c.chainId}`;
    return null;
  } catch (err) {
    return `chain '${c.id}': POST ${c.rpcUrl} (eth_chainId) failed: ${describeError(err).slice(0, 200)}`;
  }
}

/**
 * Probe every endpoint and chain the selected scenarios use (once each). Returns the problems by
 * subject; the runner marks the scenarios that use a subject with a problem indeterminate.
 */
export async function preflight(target: Target, jobs: readonly { p: ProtocolModule; s: Scenario }[], chainsOf: (s: Scenario) => string[]): Promise<Map<string, string>> {
  const problems = new Map<string, string>();
  const endpoints = new Map<string, ProtocolModule>();
  const chains = new Set<string>();
  for (const { p, s } of jobs) {
    for (const e of s.endpoints ?? []) if (endpointOf(target, e)) endpoints.set(e, p);
    for (const c of chainsOf(s)) chains.add(c);
  }
  // Servers that reach their chain through the harness's proxy may be started after it (they read
  // the chain as they start): an endpoint not reachable yet is asked again until serverRpc's wait is over.
  const reachableBy = Date.now() + 1000 * Math.max(0, ...target.chains.map((c) => c.serverRpc?.waitSeconds ?? 0));
  await Promise.all([
    ...[...endpoints].map(async ([name, p]) => {
      const m = await probeEndpoint(target, p, name, undefined, reachableBy);
      if (m) problems.set(`endpoint:${name}`, m);
    }),
    ...[...chains].map(async (id) => {
      const m = await probeChain(target, id);
      if (m) problems.set(`chain:${id}`, m);
    }),
  ]);
  return problems;
}
