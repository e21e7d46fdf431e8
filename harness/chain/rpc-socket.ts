/**
 * JSON-RPC over WebSockets to the anvils the harness started, instead of an HTTP exchange per call.
 *
 * On a loopback hop the HTTP client is most of a call's cost: a keep-alive node:http exchange with
 * anvil cost ~170 µs of this process's CPU here, the same call as a WebSocket message ~40 µs
 * (`eth_getBlockByNumber`, 5,000 sequential calls, warmed up). Anvil serves WebSocket JSON-RPC on its
 * HTTP port.
 *
 * One request at a time per connection, like the HTTP agent's sockets, and a pool of connections
 * for concurrent calls: anvil does not set TCP_NODELAY, so two answers written back to back on one
 * connection wait for the peer's delayed ACK (two concurrent calls on one socket took 1.2 ms instead
 * of 0.13 ms). It also keeps the wire simple: the answer on a connection is its request's, with the
 * caller's own ids, passed on as text for the caller to parse once.
 *
 * Only URLs registered with {@link useRpcSocket} go over sockets: startChain registers the anvil it
 * started, for as long as it runs. Anything else (a target's node, a fault or counting proxy in
 * front of anvil, a child process's own clients) stays on HTTP, so faults and counts still see
 * every call. What callers see is what HTTP gives them: the answer's text, a `TimeoutError` or the
 * abort's reason (the connection is dropped, as an HTTP request is destroyed), and a node that went
 * away as the socket's error (`ECONNREFUSED`, `ECONNRESET`); the next call connects again.
 */
import { WebSocket } from 'ws';

/** Requests larger than this go over HTTP: anvil's WebSocket refuses messages over 16 MiB (a frame's limit). */
const MAX_SOCKET_REQUEST_CHARS = 8 << 20;

/** One connection and the request it carries (at most one). */
interface Connection {
  ws: WebSocket;
  current?: { resolve(text: string): void; fail(e: Error): void };
}

const socketOfWs = (ws: WebSocket) => (ws as unknown as { _socket?: { ref(): void; unref(): void } })._socket;

/** The connections to one node. */
class RpcSocketPool {
  private readonly idle: Connection[] = [];
  private readonly open = new Set<Connection>();
  private closed = false;

  constructor(private readonly url: string) {}

  /**
   * Sends a request's (or a batch's) JSON text; resolves with the answer's JSON text. Undefined
   * (nothing sent) when the request is too large for a socket message.
   */
  request(text: string, o: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string> | undefined {
    if (text.length > MAX_SOCKET_REQUEST_CHARS) return undefined;
    return this.send(text, o);
  }

  /** Ends every connection; pending calls fail, later ones are refused. */
  close(): void {
    this.closed = true;
    for (const c of [...this.open]) this.drop(c, Object.assign(new Error(`the chain at ${this.url} was stopped`), { code: 'ECONNRESET' }));
  }

  private async send(text: string, o: { timeoutMs?: number; signal?: AbortSignal }): Promise<string> {
    const aborted = () => (o.signal?.reason instanceof Error ? o.signal.reason : new DOMException('aborted', 'AbortError'));
    if (o.signal?.aborted) throw aborted();
    const c = this.idle.pop() ?? (await this.connect(o));
    return new Promise<string>((resolve, reject) => {
      const timer =
        o.timeoutMs === undefined ? undefined : setTimeout(() => this.drop(c, new DOMException(`no answer from ${new URL(this.url).host} in ${o.timeoutMs} ms`, 'TimeoutError')), o.timeoutMs);
      const onAbort = () => this.drop(c, aborted());
      o.signal?.addEventListener('abort', onAbort, { once: true });
      const settle = () => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        c.current = undefined;
      };
      c.current = {
        resolve: (answer) => {
          settle();
          resolve(answer);
        },
        fail: (e) => {
          settle();
          reject(e);
        },
      };
      socketOfWs(c.ws)?.ref();
      c.ws.send(text, (e) => {
        if (e) this.drop(c, e);
      });
    });
  }

  /**
   * A new connection. Its opening handshake is bounded (by the call's time limit, else
   * CONNECT_TIMEOUT_MS) and an abort ends it: a node that accepts the TCP connection and never
   * answers the upgrade fails the call as an unanswered HTTP request would.
   */
  private connect(o: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Connection> {
    if (this.closed) return Promise.reject(Object.assign(new Error(`the chain at ${this.url} was stopped`), { code: 'ECONNREFUSED' }));
    const limit = o.timeoutMs ?? CONNECT_TIMEOUT_MS;
    const ws = new WebSocket(this.url.replace(/^http/, 'ws'), { perMessageDeflate: false, maxPayload: 2 ** 31 - 1, handshakeTimeout: limit });
    const c: Connection = { ws };
    return new Promise<Connection>((resolve, reject) => {
      const onAbort = () => {
        ws.terminate();
        fail(o.signal?.reason instanceof Error ? o.signal.reason : new DOMException('aborted', 'AbortError'));
      };
      const fail = (e: Error) => {
        o.signal?.removeEventListener('abort', onAbort);
        reject(/handshake has timed out/i.test(e.message) ? new DOMException(`no answer from ${new URL(this.url).host} in ${limit} ms`, 'TimeoutError') : e);
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      ws.once('error', fail);
      ws.once('open', () => {
        o.signal?.removeEventListener('abort', onAbort);
        ws.off('error', fail);
        if (this.closed) {
          // The chain was stopped while this connection was being made.
          ws.terminate();
          reject(Object.assign(new Error(`the chain at ${this.url} was stopped`), { code: 'ECONNREFUSED' }));
          return;
        }
        ws.on('error', () => undefined); // 'close' follows and fails the request it carried
        this.open.add(c);
        resolve(c);
      });
      ws.on('message', (data: Buffer) => {
        const current = c.current;
        if (!current) return;
        this.release(c);
        current.resolve(data.toString('utf8'));
      });
      ws.on('close', () => this.drop(c, Object.assign(new Error(`socket hang up (${this.url} closed the connection)`), { code: 'ECONNRESET' })));
    });
  }

  /** Back to the idle list, unref'd: an idle connection does not keep the process alive (nor does an idle HTTP socket). */
  private release(c: Connection): void {
    socketOfWs(c.ws)?.unref();
    if (!this.closed && this.open.has(c)) this.idle.push(c);
  }

  private drop(c: Connection, e: Error): void {
    this.open.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    const current = c.current;
    c.current = undefined;
    c.ws.terminate();
    current?.fail(e);
  }
}

const sockets = new Map<string, RpcSocketPool>();

/** How long a connection's opening handshake may take when the call sets no time limit. */
const CONNECT_TIMEOUT_MS = 30_000;

/** Sends this URL's JSON-RPC calls over WebSockets from now on (the URL must be an anvil's). */
export function useRpcSocket(rpcUrl: string): void {
  // AMH_RPC_OVER_HTTP=1 keeps every call on HTTP (to compare, or to watch the calls with an HTTP tool).
  if (process.env.AMH_RPC_OVER_HTTP) return;
  if (!sockets.has(rpcUrl)) sockets.set(rpcUrl, new RpcSocketPool(rpcUrl));
}

/** Back to HTTP for this URL; its sockets are closed (pending calls fail as on a closed connection). */
export function closeRpcSocket(rpcUrl: string): void {
  sockets.get(rpcUrl)?.close();
  sockets.delete(rpcUrl);
}

/**
 * Sends a JSON-RPC request's (or batch's) JSON text to `rpcUrl` over its sockets: the answer's text,
 * or undefined when the call goes over HTTP instead (the URL is not registered, or the request is too large).
 */
export function viaRpcSocket(rpcUrl: string, text: string, o: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string> | undefined {
  return socketOf(rpcUrl)?.request(text, o);
}

/** The sockets registered for `rpcUrl`, also when it is written with the root path (viem adds a `/`). */
function socketOf(rpcUrl: string): RpcSocketPool | undefined {
  if (!sockets.size) return undefined;
  return sockets.get(rpcUrl) ?? (rpcUrl.endsWith('/') ? sockets.get(rpcUrl.slice(0, -1)) : undefined);
}
