/**
 * The fault proxy between a target's servers and their chain RPC (capability `rpc-faults`): the
 * servers are handed the proxy's URL instead of the node's, so a scenario can lose the answer to
 * the server's `eth_sendRawTransaction`, hold its receipt wait, or duplicate a call, and then judge
 * what the server made of it. The harness's own reads keep going straight to the node.
 *
 * One proxy per chain RPC in this process, shared by every server that asks for it (counted, and
 * stopped when the last one lets go). Scenarios find it by the target chain's RPC URL.
 */
import { decodeFunctionData, parseTransaction, type Abi, type Hex } from 'viem';
import { HarnessFault } from '../engine/errors.ts';
import { startFaultProxy, type FaultProxy, type ProxiedRequest, type Substitute, type Trigger } from './proxy.ts';

const proxies = new Map<string, { proxy: Promise<FaultProxy>; users: number }>();

const keyOf = (rpcUrl: string) => new URL(rpcUrl).origin;

/**
 * The RPC fault proxy in front of `rpcUrl` (started on first use): hand `url` to the server instead
 * of the node's, and call `release()` when the server stops. `listen`: a fixed address to serve it
 * at, the one a target file's servers are configured with (`chains[].serverRpc.listen`); refused
 * when a proxy in front of that node is already running (it listens elsewhere).
 */
export async function rpcFaultProxy(rpcUrl: string, listen?: { host: string; port: number }): Promise<{ url: string; proxy: FaultProxy; release(): Promise<void> }> {
  const key = keyOf(rpcUrl);
  let entry = proxies.get(key);
  if (entry && listen) throw new Error(`an RPC fault proxy in front of ${rpcUrl} is already running`);
  if (!entry) {
    entry = { proxy: startFaultProxy(rpcUrl, listen ? { listen } : {}), users: 0 };
    proxies.set(key, entry);
  }
  entry.users++;
  const proxy = await entry.proxy.catch((e: Error) => {
    proxies.delete(key);
    throw e;
  });
  let released = false;
  return {
    url: proxy.url,
    proxy,
    async release() {
      if (released) return;
      released = true;
      const e = proxies.get(key);
      if (!e || --e.users > 0) return;
      proxies.delete(key);
      await proxy.stop();
    },
  };
}

/**
 * Start a server that reaches the chain at `rpcUrl` through its RPC fault proxy (what the capability
 * `rpc-faults` grants): `start` gets the proxy's URL; the proxy is let go when the server stops, or
 * at once when it fails to start. The server is returned with its `stop` doing both.
 */
export async function throughRpcFaults<T extends { stop(): Promise<void> }>(rpcUrl: string, start: (proxyUrl: string) => Promise<T>): Promise<T> {
  const rpc = await rpcFaultProxy(rpcUrl);
  let server: T;
  try {
    server = await start(rpc.url);
  } catch (e) {
    await rpc.release();
    throw e;
  }
  const stop = server.stop.bind(server);
  server.stop = async () => {
    try {
      await stop();
    } finally {
      await rpc.release();
    }
  };
  return server;
}

/**
 * The RPC fault proxy the target's servers use for the chain at `rpcUrl` (the target chain's own
 * URL). A harness fault when there is none: the scenario should have declared `rpc-faults`, and
 * the deployment that grants it must start the proxy.
 */
export async function rpcFaultsOf(rpcUrl: string): Promise<FaultProxy> {
  const e = proxies.get(keyOf(rpcUrl));
  if (!e) throw new HarnessFault(`no RPC fault proxy in front of ${rpcUrl}: the target declares 'rpc-faults' but its servers do not reach this chain through the harness`);
  return e.proxy;
}

/** The JSON-RPC calls in a request body (one call or a batch); empty when it is not JSON. */
export function rpcCallsOf(body: Buffer): { method?: unknown; params?: unknown[] }[] {
  try {
    const j = JSON.parse(body.toString('utf8')) as { method?: unknown; params?: unknown[] } | { method?: unknown; params?: unknown[] }[] | null;
    return (Array.isArray(j) ? j : [j]).map((c) => c ?? {});
  } catch {
    return [];
  }
}

/** The JSON-RPC methods in a request body (one call or a batch); empty when it is not JSON-RPC. */
export function rpcMethods(body: Buffer): string[] {
  return rpcCallsOf(body).map((c) => String(c.method));
}

/** A trigger on JSON-RPC requests that call one of `methods` (alone or in a batch). */
export function callsRpc(...methods: string[]): Trigger {
  return { method: 'POST', match: (r: ProxiedRequest) => rpcMethods(r.body).some((m) => methods.includes(m)) };
}

/** The signed transactions a JSON-RPC request sends (`eth_sendRawTransaction(Sync)`, alone or in a batch). */
export function rawSendsOf(r: ProxiedRequest): Hex[] {
  return rpcCallsOf(r.body).flatMap((c) => ((c.method === 'eth_sendRawTransaction' || c.method === 'eth_sendRawTransactionSync') && typeof c.params?.[0] === 'string' ? [c.params[0] as Hex] : []));
}

/**
 * A trigger on JSON-RPC requests that send a signed transaction (`eth_sendRawTransaction(Sync)`,
 * alone or in a batch) calling one of `functions` of `abi` on the contract at `to` (or one of several), with arguments
 * `args` accepts: a server's own escrow action, held or lost on its way to the chain. `seen` gets
 * each matching signed transaction (a scenario that needs its nonce or sender).
 */
export function sendsCall(o: { to: string | readonly string[]; abi: Abi; functions: readonly string[]; args?: (args: readonly unknown[]) => boolean; seen?: (raw: Hex) => void }): Trigger {
  const to = new Set((typeof o.to === 'string' ? [o.to] : o.to).map((a) => a.toLowerCase()));
  const calls = (raw: Hex) => {
    try {
      const tx = parseTransaction(raw);
      if (!tx.to || !to.has(tx.to.toLowerCase()) || !tx.data) return false;
      const call = decodeFunctionData({ abi: o.abi, data: tx.data });
      return o.functions.includes(call.functionName) && (o.args?.(call.args ?? []) ?? true);
    } catch {
      return false;
    }
  };
  return {
    method: 'POST',
    match: (r: ProxiedRequest) => {
      const raw = rawSendsOf(r).find(calls);
      if (raw !== undefined) o.seen?.(raw);
      return raw !== undefined;
    },
  };
}

/**
 * A `respond` answer that gives every call of a JSON-RPC request (one call or a batch) this error:
 * what a node that lacks a method, or refuses the call, answers (HTTP 200, JSON-RPC 2.0 §5).
 */
export function rpcErrorAnswer(error: { code: number; message: string; data?: unknown }): (req: ProxiedRequest) => Substitute {
  return (req) => {
    let calls: unknown;
    try {
      calls = JSON.parse(req.body.toString('utf8'));
    } catch {
      calls = { id: null };
    }
    const one = (c: unknown) => ({ jsonrpc: '2.0', id: (c as { id?: unknown } | null)?.id ?? null, error });
    return { status: 200, body: JSON.stringify(Array.isArray(calls) ? calls.map(one) : one(calls)) };
  };
}
