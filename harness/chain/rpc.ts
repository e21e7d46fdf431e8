/**
 * Keep-alive JSON-RPC for loopback chains, without viem (so start-up paths stay light).
 *
 * Node's global fetch (undici) tops out around 1,000 sequential calls/s against anvil here, a plain
 * node:http client with a keep-alive Agent reaches about 2,400/s (DESIGN.md, "Speed"). Scenarios are
 * bound by sequential RPC round trips, so every harness client goes through {@link keepAliveFetch}.
 * JSON-RPC to an anvil this process started goes over WebSockets instead (rpc-socket.ts: a quarter of
 * the CPU per call again); {@link rpcCall}, {@link rpcBatch}, {@link postJsonRpc} and viem clients on
 * `keepAliveTransport` pick that up by URL.
 */
import http from 'node:http';
import https from 'node:https';
import { viaRpcSocket } from './rpc-socket.ts';

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64 });

/** An HTTP answer read whole. */
interface Exchange {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer<ArrayBuffer>;
}

/**
 * One request over the keep-alive agents, its answer read whole. Rejects on a transport error (a
 * kept-alive socket the server had closed while idle is marked `staleSocket`), when `signal` aborts,
 * or with a `TimeoutError` after `timeoutMs`.
 */
function exchange(url: URL, o: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal; timeoutMs?: number }): Promise<Exchange> {
  const isHttps = url.protocol === 'https:';
  const headers = o.body === undefined ? o.headers : { ...o.headers, 'content-length': String(Buffer.byteLength(o.body)) };
  const { signal } = o;
  return new Promise<Exchange>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new DOMException('aborted', 'AbortError'));
      return;
    }
    const req = (isHttps ? https : http).request(url, { method: o.method, headers, agent: isHttps ? httpsAgent : httpAgent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 500, statusText: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    const timer = o.timeoutMs === undefined ? undefined : setTimeout(() => req.destroy(new DOMException(`no answer from ${url.host} in ${o.timeoutMs} ms`, 'TimeoutError')), o.timeoutMs);
    let answered = false;
    req.on('response', () => {
      answered = true;
    });
    const onAbort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError'));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => signal?.removeEventListener('abort', onAbort));
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (req.reusedSocket && !answered && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) Object.assign(e, { staleSocket: true });
      reject(e);
    });
    req.end(o.body);
  });
}

/** A fetch `init`'s method, headers (lower-case names) and string body, as node:http takes them. */
function requestParts(init: RequestInit): { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal } {
  const headers: Record<string, string> = {};
  const given = init.headers;
  if (given && !(given instanceof Headers) && !Array.isArray(given)) {
    // A plain record, as fetch reads one (names folded, values trimmed, repeats joined), without
    // building a Headers object for it; node:http refuses what is no valid header.
    for (const [k, v] of Object.entries(given)) {
      const name = k.toLowerCase();
      const value = String(v).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
  } else
    new Headers(given).forEach((v, k) => {
      headers[k] = v;
    });
  const body = init.body == null ? undefined : typeof init.body === 'string' ? init.body : String(init.body);
  return { method: init.method ?? 'GET', headers, body, signal: init.signal ?? undefined };
}

/** Statuses whose answer has no body (a Response with one cannot be built). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * A `fetch` replacement over node:http with keep-alive sockets. Implements what viem's http transport
 * and the agents' HTTP clients (`@x402/fetch` passes a Request) use: method, headers, a string body
 * (or a Request's), abort signal; returns a standard Response.
 */
export async function keepAliveFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  // Duck-typed: a Request built by another fetch implementation (undici's own copy) is not `instanceof Request`.
  if (typeof input === 'object' && !(input instanceof URL)) return fetchRequest(input, init);
  const res = await exchange(new URL(input), requestParts(init));
  return new Response(NULL_BODY.has(res.status) ? null : res.body, { status: res.status, statusText: res.statusText, headers: headerPairs(res.headers) });
}

/** An HTTP answer read whole as text, its headers as fetch would give them (repeats joined). */
export interface TextAnswer {
  status: number;
  statusText: string;
  headers: [string, string][];
  text: string;
}

/**
 * {@link keepAliveFetch} for a client that reads the whole answer as text anyway: no Response is
 * built (reading one's body goes through a web stream, which costs more than the exchange).
 */
export async function keepAliveText(url: string, init: RequestInit = {}): Promise<TextAnswer> {
  const res = await exchange(new URL(url), requestParts(init));
  return { status: res.status, statusText: res.statusText, headers: headerPairs(res.headers), text: res.body.toString('utf8') };
}

function headerPairs(headers: http.IncomingHttpHeaders): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out.push([k, Array.isArray(v) ? v.join(', ') : v]);
  return out;
}

/** {@link keepAliveFetch} of a Request: its method, headers and body, with `init` applied over them as fetch does. */
async function fetchRequest(req: Request, init: RequestInit): Promise<Response> {
  const headers = new Headers(req.headers);
  new Headers(init.headers).forEach((v, k) => {
    headers.set(k, v);
  });
  const body = init.body !== undefined ? init.body : req.body === null ? undefined : await req.text();
  return keepAliveFetch(req.url, { method: init.method ?? req.method, headers, body, signal: init.signal ?? req.signal });
}

/**
 * The `fetch` of viem's http transport ({@link keepAliveTransport}): the answer as the few members
 * viem reads (status, `headers.get`, `text()`, a null `body`), not a Response. Building a Response
 * and letting viem stream its body cost more CPU than the JSON-RPC call on a loopback hop.
 */
export async function jsonRpcFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  if (typeof input === 'object' && !(input instanceof URL)) return fetchRequest(input, init);
  const url = String(input);
  const answered = typeof init.body === 'string' && init.method === 'POST' ? overRpcSocket(url, init.body, { signal: init.signal ?? undefined }) : undefined;
  if (answered) return jsonAnswer(url, 200, 'OK', SOCKET_HEADERS, await answered);
  const res = await exchange(new URL(input), requestParts(init));
  return jsonAnswer(url, res.status, res.statusText, res.headers, res.body.toString('utf8'));
}

const SOCKET_HEADERS: http.IncomingHttpHeaders = { 'content-type': 'application/json' };

/** What viem reads of an answer: status, `headers.get`, `text()`, a null `body`. */
function jsonAnswer(url: string, status: number, statusText: string, headers: http.IncomingHttpHeaders, text: string): Response {
  const answer = {
    ok: status >= 200 && status < 300,
    status,
    statusText,
    url,
    body: null,
    headers: {
      get(name: string): string | null {
        const v = headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
    },
    text: async () => text,
    json: async () => JSON.parse(text) as unknown,
  };
  return answer as unknown as Response;
}

/**
 * POST a JSON body over the keep-alive agents and read the answer as text: what a server-to-server
 * JSON call needs, without building a fetch Response (its stream body costs more than the call on
 * a loopback hop). Rejects with a `TimeoutError` after `timeoutMs`.
 */
export async function postJson(url: string, body: string, timeoutMs = 30_000, o: { idempotent?: boolean } = {}): Promise<{ status: number; text: string }> {
  const once = async () => {
    const res = await exchange(new URL(url), { method: 'POST', headers: { 'content-type': 'application/json' }, body, timeoutMs });
    return { status: res.status, text: res.body.toString('utf8') };
  };
  try {
    return await once();
  } catch (e) {
    // A kept-alive socket the server had closed while idle fails at once, before the server read
    // anything (Node's documented keep-alive race): an `idempotent` request (a read) goes out again
    // on a new socket. Anything else is the caller's to judge: a lost send is looked up, not resent
    // blindly (the same reset is also what a dropped request looks like).
    if (!o.idempotent || !(e as { staleSocket?: boolean }).staleSocket) throw e;
    return once();
  }
}

/** What anvil's socket answers to a call it cannot route (an unknown method, or params of no known shape). */
const SOCKET_UNROUTED = 'did not match any variant of untagged enum EthRpcCall';

/**
 * A JSON-RPC text over the node's socket ({@link viaRpcSocket}; undefined where the harness keeps
 * none), answered as over HTTP: a single call anvil's socket cannot route is sent again over HTTP,
 * whose handler names the error (-32601 "Method not found" for an unknown method, where the socket
 * says -32602). Nothing ran on the node, so sending it again is safe; a batch is left as answered
 * (its other calls did run).
 */
export function overRpcSocket(rpcUrl: string, text: string, o: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string> | undefined {
  const answered = viaRpcSocket(rpcUrl, text, o);
  if (!answered || text.trimStart().startsWith('[')) return answered;
  return answered.then(async (answer) => {
    if (!answer.includes(SOCKET_UNROUTED)) return answer;
    const res = await exchange(new URL(rpcUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: text, signal: o.signal, timeoutMs: o.timeoutMs });
    return res.body.toString('utf8');
  });
}

/**
 * POST a JSON-RPC request or batch to a node and read the answer as text: over the node's socket
 * where the harness keeps one (harness/chain/rpc-socket.ts), else as {@link postJson}.
 */
export async function postJsonRpc(
  rpcUrl: string,
  payload: string | JsonRpcEnvelope | JsonRpcEnvelope[],
  timeoutMs?: number,
  o: { idempotent?: boolean } = {},
): Promise<{ status: number; text: string }> {
  // Bigints go out as hex quantities (what the harness's raw calls pass).
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
  const answered = overRpcSocket(rpcUrl, body, { timeoutMs });
  if (answered) return { status: 200, text: await answered };
  if (timeoutMs !== undefined) return postJson(rpcUrl, body, timeoutMs, o);
  // No time limit: a node may hold a synchronous send until it is mined.
  const res = await exchange(new URL(rpcUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, text: res.body.toString('utf8') };
}

/** A JSON-RPC request object. */
export interface JsonRpcEnvelope {
  id?: unknown;
  [k: string]: unknown;
}

/** Whether JSON-RPC calls only read (no transaction is sent): safe to send again. */
export function onlyReads(calls: readonly { method: string }[]): boolean {
  return calls.every((c) => !/^eth_send/.test(c.method));
}

let rpcId = 0;

/** Error returned by a JSON-RPC server (code and message kept). */
export class JsonRpcError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(`${method}: ${message} (JSON-RPC error ${code})`);
    this.name = 'JsonRpcError';
  }
}

/**
 * One raw JSON-RPC call over the keep-alive agent. For harness plumbing (snapshot, setCode, dumps)
 * where a viem client would be overhead.
 */
export async function rpcCall<T = unknown>(rpcUrl: string, method: string, params: unknown[] = []): Promise<T> {
  // No time limit: a node may hold a synchronous send until it is mined.
  const res = await postJsonRpc(rpcUrl, { jsonrpc: '2.0', id: ++rpcId, method, params });
  const text = res.text;
  let payload: { result?: T; error?: { code: number; message: string; data?: unknown } };
  try {
    payload = JSON.parse(text);
  } catch {
    throw new Error(`${method}: non-JSON response from ${rpcUrl} (HTTP ${res.status}): ${text.slice(0, 200)}`);
  }
  if (payload.error) {
    // A JSON-RPC error is an object; anything else (an HTTP server that is not a node) is shown as it came.
    if (typeof payload.error !== 'object' || payload.error === null) throw new Error(`${method}: not a JSON-RPC answer from ${rpcUrl} (HTTP ${res.status}): ${text.slice(0, 200)}`);
    throw new JsonRpcError(method, payload.error.code, payload.error.message, payload.error.data);
  }
  if (!('result' in payload)) throw new Error(`${method}: not a JSON-RPC answer from ${rpcUrl} (HTTP ${res.status}): ${text.slice(0, 200)}`);
  return payload.result as T;
}

/** One call of a {@link rpcBatch}, and its own outcome. */
export interface RpcRequest {
  method: string;
  params: unknown[];
}
export type RpcOutcome = { ok: true; value: unknown } | { ok: false; error: JsonRpcError };

/**
 * Several JSON-RPC calls in one batch (one round trip), each with its own outcome: one call's error
 * does not fail the others. Throws only when the node cannot be asked (transport, HTTP, non-JSON).
 */
export async function rpcBatch(rpcUrl: string, calls: RpcRequest[], timeoutMs = 30_000): Promise<RpcOutcome[]> {
  const first = rpcId + 1;
  rpcId += calls.length;
  const res = await postJsonRpc(
    rpcUrl,
    calls.map((c, i) => ({ jsonrpc: '2.0', id: first + i, method: c.method, params: c.params })),
    timeoutMs,
    { idempotent: onlyReads(calls) },
  );
  let answers: unknown;
  try {
    answers = JSON.parse(res.text);
  } catch {
    throw new Error(`batch of ${calls.map((c) => c.method).join(', ')}: non-JSON response from ${rpcUrl} (HTTP ${res.status}): ${res.text.slice(0, 200)}`);
  }
  if (!Array.isArray(answers)) throw new Error(`${rpcUrl} does not answer JSON-RPC batches (HTTP ${res.status}): ${res.text.slice(0, 200)}`);
  const byId = new Map<number, { result?: unknown; error?: { code: number; message: string; data?: unknown } }>();
  for (const a of answers as { id?: number }[]) if (a && typeof a.id === 'number') byId.set(a.id, a as never);
  return calls.map((c, i) => {
    const a = byId.get(first + i);
    if (!a) return { ok: false as const, error: new JsonRpcError(c.method, -32603, 'no answer in the batch') };
    if (a.error) return { ok: false as const, error: new JsonRpcError(c.method, a.error.code, a.error.message, a.error.data) };
    return { ok: true as const, value: a.result };
  });
}
