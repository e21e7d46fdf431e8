/**
 * A forwarding HTTP proxy on loopback that the harness controls, put between an agent and a
 * target's HTTP endpoint (or between a target and its chain RPC). Every request is forwarded as it
 * came (method, path, headers, body; `Host` rewritten to the upstream's) and the whole upstream
 * answer is read before it is passed back, so "the server processed it" is a fact when an answer is
 * dropped.
 *
 * Faults are armed with a trigger (a predicate on method, path, request headers and/or the upstream
 * status) and an action: drop the request, drop the answer after the server processed it, delay
 * (for a time or until released), deliver the request twice, reset the connection, or answer in
 * the upstream's place (before or after it saw the request). Each armed
 * fault records every time it fired and what the upstream answered then (the harness knows what the
 * client could not see). A scenario whose fault never fired established nothing: see
 * `expectFired` in ./index.ts.
 *
 * The benches use the same proxy without faults, with `onRequest` / `onAnswered` observers
 * (harness/testing/bench-tools.ts).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A request as the proxy received it. */
export interface ProxiedRequest {
  method: string;
  /** Path and query, as sent (`/premium?x=1`). */
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One answer of the upstream server. */
export interface UpstreamAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * When a fault fires. Every field given must match. `status` is the upstream answer's status: only
 * faults that act after the answer (drop-response, a delay of the answer, a sequential duplicate)
 * can wait for it.
 */
export interface Trigger {
  /** HTTP method, case-insensitive. */
  method?: string;
  /** Exact pathname (query ignored), or a pattern tested on path + query. */
  path?: string | RegExp;
  /** The request carries at least one of these headers (case-insensitive names). */
  header?: string | readonly string[];
  /** The upstream answer's status, or a predicate on it. */
  status?: number | ((status: number) => boolean);
  /** Any other predicate on the request. */
  match?: (req: ProxiedRequest) => boolean;
}

/** How a connection is ended without an answer: a clean close (the client sees an empty reply) or a TCP reset. */
export type Hangup = 'close' | 'reset';

/** What an armed fault does when its trigger matches. */
export type FaultAction =
  /** The request never reaches the server; the client's connection is closed (or reset) without an answer. */
  | { kind: 'drop-request'; how?: Hangup }
  /** The request reaches the server, which answers; the answer is thrown away and the client's connection closed (or reset). */
  | { kind: 'drop-response'; how?: Hangup }
  /**
   * The request (phase `request`, default) or the answer (phase `response`) is held for `ms`, or
   * until the armed fault's `release()` is called (`hold: true`). A request held while its client
   * gives up is still delivered when released: the server sees a late original.
   */
  | { kind: 'delay'; phase?: 'request' | 'response'; ms?: number; hold?: boolean }
  /**
   * The request is delivered twice: both at once (`concurrent`, default) or the second after the
   * first was answered (`sequential`). The client gets the first delivery's answer; both answers
   * are recorded in the hit.
   */
  | { kind: 'duplicate'; mode?: 'concurrent' | 'sequential' }
  /** The client's connection is reset as soon as the request arrived; the server never sees it. */
  | { kind: 'reset' }
  /**
   * The client gets `answer(request, upstream)` instead of the upstream's answer: a server that
   * refuses a method (a JSON-RPC node without it), or one that took the request and answered
   * something else (an error after it acted). With `forward: true` the request is delivered first
   * and its real answer recorded and passed to `answer`; else the upstream never sees it.
   */
  | { kind: 'respond'; forward?: boolean; answer: (req: ProxiedRequest, upstream?: UpstreamAnswer) => Substitute };

/** An answer the proxy gives in the upstream's place (`respond`). */
export interface Substitute {
  status: number;
  headers?: http.OutgoingHttpHeaders;
  body: string | Buffer;
}

/** What to arm: a name that says what happens (it appears in reports), a trigger, an action. */
export interface FaultSpec {
  name: string;
  when?: Trigger;
  action: FaultAction;
  /** How many matching requests it acts on (default 1: a retry then passes through untouched). */
  times?: number;
}

/** One time a fault fired: the request, and every answer the upstream gave to its deliveries. */
export interface FaultHit {
  method: string;
  path: string;
  /** One per delivery to the upstream (none for a dropped or reset request; two for a duplicate). */
  upstream: UpstreamAnswer[];
  /** Upstream errors, one per failed delivery (connection refused, reset). */
  errors: string[];
}

/** A fault armed on a proxy. */
export interface ArmedFault {
  readonly spec: FaultSpec;
  readonly name: string;
  /** Every time it fired, in order. */
  readonly hits: readonly FaultHit[];
  readonly fired: boolean;
  /** Resolves with the first hit when the fault first fires (for a held delay: once the request is held). */
  whenFired(): Promise<FaultHit>;
  /** Let held requests or answers go (`delay` with `hold: true`); later ones pass at once. */
  release(): void;
  /**
   * Let held requests or answers go without delivering them: a held request never reaches the
   * upstream, a held answer never reaches the client; each connection is closed (a crash of the
   * client while it waited, then nothing: see the restart scenarios).
   */
  discard(): void;
  /** Resolves when every hit has finished its deliveries (a released held request was answered). */
  settled(): Promise<void>;
  /** Stop acting on later requests (hits are kept). */
  disarm(): void;
}

/** Observers for a proxy used to measure rather than to break (benches). */
export interface ProxyObservers {
  /** Called with each request before it is forwarded. */
  onRequest?(req: ProxiedRequest): void;
  /** Called when an answer was passed back to the client (`startedAt` from `performance.now()`). */
  onAnswered?(req: ProxiedRequest, startedAt: number): void;
  /**
   * Where to listen (default a free port on 127.0.0.1): a fixed address a target's servers are
   * configured with (the target file's `serverRpc.listen`).
   */
  listen?: { host: string; port: number };
}

/** A running fault proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>` (or the host of `listen`). */
  readonly url: string;
  /** The upstream origin it forwards to. */
  readonly upstream: string;
  /** `url` of the upstream seen through the proxy: same path, query and fragment, proxy's origin. */
  through(upstreamUrl: string): string;
  arm(spec: FaultSpec): ArmedFault;
  /** Requests forwarded to the upstream so far (a duplicate counts twice, a dropped request not at all). */
  readonly deliveries: number;
  stop(): Promise<void>;
}

const RESPONSE_SIDE = (a: FaultAction) =>
  a.kind === 'drop-response' || (a.kind === 'delay' && a.phase === 'response') || (a.kind === 'duplicate' && a.mode === 'sequential') || (a.kind === 'respond' && a.forward === true);

/** Whether the request-side parts of a trigger match. */
function requestMatches(t: Trigger, r: ProxiedRequest): boolean {
  if (t.method && t.method.toUpperCase() !== r.method.toUpperCase()) return false;
  if (t.path !== undefined) {
    if (typeof t.path === 'string' ? r.path.split('?')[0] !== t.path : !t.path.test(r.path)) return false;
  }
  if (t.header !== undefined) {
    const names = (typeof t.header === 'string' ? [t.header] : t.header).map((h) => h.toLowerCase());
    if (!names.some((h) => r.headers[h] !== undefined)) return false;
  }
  return !t.match || t.match(r);
}

function statusMatches(t: Trigger, status: number): boolean {
  return t.status === undefined || (typeof t.status === 'number' ? t.status === status : t.status(status));
}

class Armed implements ArmedFault {
  readonly hits: FaultHit[] = [];
  /** Matches taken so far (a status-triggered fault takes one only when the status matched too). */
  taken = 0;
  active = true;
  private readonly first = Promise.withResolvers<FaultHit>();
  private readonly gate = Promise.withResolvers<void>();
  /** The gate is open (release or discard): later traffic passes at once. */
  released = false;
  readonly pending: Promise<unknown>[] = [];

  constructor(readonly spec: FaultSpec) {}
  get name() {
    return this.spec.name;
  }
  get fired() {
    return this.hits.length > 0;
  }
  /** Whether it still acts on a request that matches. */
  get open() {
    return this.active && this.taken < (this.spec.times ?? 1);
  }
  record(hit: FaultHit) {
    this.hits.push(hit);
    if (this.hits.length === 1) this.first.resolve(hit);
  }
  whenFired() {
    return this.first.promise;
  }
  release() {
    this.released = true;
    this.gate.resolve();
  }
  /** Whether held traffic is dropped rather than delivered once the gate opens. */
  discarded = false;
  discard() {
    this.discarded = true;
    this.release();
  }
  /** The hold of a `delay`: a timer, or the gate `release()` opens. */
  wait(): Promise<void> {
    const a = this.spec.action;
    if (a.kind !== 'delay') return Promise.resolve();
    if (a.hold) return this.released ? Promise.resolve() : this.gate.promise;
    return new Promise((r) => setTimeout(r, a.ms ?? 0));
  }
  async settled() {
    await Promise.allSettled(this.pending);
  }
  disarm() {
    this.active = false;
  }
}

/** Headers that describe one connection or one encoding, not the message: recomputed by the proxy. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'proxy-connection', 'upgrade', 'te', 'trailer']);

function withoutHopByHop(h: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(h).filter(([k, v]) => v !== undefined && !HOP_BY_HOP.has(k.toLowerCase())));
}

function hangUp(socket: Socket, how: Hangup): void {
  if (how === 'reset') socket.resetAndDestroy();
  else socket.destroy();
}

/**
 * Start a forwarding proxy in front of `upstream` (an http:// origin; a path in it is ignored) on
 * 127.0.0.1, on a free port.
 */
export async function startFaultProxy(upstream: string, observers: ProxyObservers = {}): Promise<FaultProxy> {
  const origin = new URL(upstream);
  if (origin.protocol !== 'http:') throw new Error(`fault proxy: upstream must be an http:// URL, got ${upstream}`);
  const agent = new http.Agent({ keepAlive: true });
  const faults: Armed[] = [];
  let deliveries = 0;

  const deliver = (r: ProxiedRequest): Promise<UpstreamAnswer> => {
    deliveries++;
    return send(r, true);
  };
  /**
   * One HTTP exchange with the upstream. A kept-alive connection the upstream closed while idle can
   * be picked for a request in the same instant (the request then meets a reset before any answer);
   * that request never reached the server, so it is sent once more on a new connection, as Node's
   * documentation advises. Under load (`amh load`, 200 agents) this race turned into 502s.
   */
  const send = (r: ProxiedRequest, mayRetry: boolean): Promise<UpstreamAnswer> =>
    new Promise((resolve, reject) => {
      let answered = false;
      const up = http.request(new URL(r.path, origin), { method: r.method, headers: { ...withoutHopByHop(r.headers), host: origin.host, 'content-length': String(r.body.length) }, agent }, (ur) => {
        answered = true;
        const chunks: Buffer[] = [];
        ur.on('data', (c: Buffer) => chunks.push(c));
        ur.on('end', () => resolve({ status: ur.statusCode ?? 502, headers: ur.headers, body: Buffer.concat(chunks) }));
        ur.on('error', reject);
      });
      up.on('error', (e: NodeJS.ErrnoException) => {
        if (mayRetry && !answered && up.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) send(r, false).then(resolve, reject);
        else reject(e);
      });
      up.end(r.body);
    });

  const answer = (res: http.ServerResponse, a: UpstreamAnswer) => {
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(a.status, { ...withoutHopByHop(a.headers), 'content-length': String(a.body.length) });
    res.end(a.body);
  };
  const badGateway = (res: http.ServerResponse, e: Error) => {
    if (res.destroyed || res.headersSent) return;
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`fault proxy: upstream ${origin.origin} failed: ${e.message}`);
  };

  /** Forward once, recording the answer (or the error) in `hit` when there is one. */
  const forward = async (r: ProxiedRequest, hit?: FaultHit): Promise<UpstreamAnswer> => {
    try {
      const a = await deliver(r);
      hit?.upstream.push(a);
      return a;
    } catch (e) {
      hit?.errors.push((e as Error).message);
      throw e;
    }
  };

  const handle = async (r: ProxiedRequest, req: http.IncomingMessage, res: http.ServerResponse) => {
    const t0 = performance.now();
    observers.onRequest?.(r);
    const fault = faults.find((f) => f.open && requestMatches(f.spec.when ?? {}, r));
    if (!fault) {
      const a = await forward(r);
      answer(res, a);
      observers.onAnswered?.(r, t0);
      return;
    }
    const work = actOn(fault, r, req, res);
    fault.pending.push(work.catch(() => undefined));
    await work;
  };

  const actOn = async (fault: Armed, r: ProxiedRequest, req: http.IncomingMessage, res: http.ServerResponse) => {
    const act = fault.spec.action;
    const hit: FaultHit = { method: r.method, path: r.path, upstream: [], errors: [] };
    const needsStatus = fault.spec.when?.status !== undefined;
    const take = () => {
      fault.taken++;
      fault.record(hit);
    };
    // A fault that waits for the upstream status takes its turn only when the status matched.
    if (!needsStatus) take();
    /** After the upstream answered: whether the fault acts on this answer (taking its turn if it waited for the status). */
    const actsOn = (a: UpstreamAnswer) => {
      if (!needsStatus) return true;
      if (!statusMatches(fault.spec.when!, a.status)) return false;
      take();
      return true;
    };
    switch (act.kind) {
      case 'reset':
        hangUp(req.socket, 'reset');
        return;
      case 'drop-request':
        hangUp(req.socket, act.how ?? 'close');
        return;
      case 'delay': {
        // Only what the fault actually held is dropped by discard(): traffic it did not act on, and
        // traffic arriving after the gate opened, passes.
        const heldThenDiscarded = async () => {
          const held = !fault.released;
          await fault.wait();
          return held && fault.discarded;
        };
        if (act.phase !== 'response' && (await heldThenDiscarded())) return hangUp(req.socket, 'close');
        const a = await forward(r, hit);
        if (act.phase === 'response' && actsOn(a) && (await heldThenDiscarded())) return hangUp(req.socket, 'close');
        answer(res, a);
        return;
      }
      case 'drop-response': {
        const a = await forward(r, hit);
        if (!actsOn(a)) return answer(res, a);
        hangUp(req.socket, act.how ?? 'close');
        return;
      }
      case 'respond': {
        const a = act.forward ? await forward(r, hit) : undefined;
        if (a && !actsOn(a)) return answer(res, a);
        const sub = act.answer(r, a);
        const body = typeof sub.body === 'string' ? Buffer.from(sub.body) : sub.body;
        answer(res, { status: sub.status, headers: (sub.headers ?? { 'content-type': 'application/json' }) as http.IncomingHttpHeaders, body });
        return;
      }
      case 'duplicate': {
        if (act.mode === 'sequential') {
          const a = await forward(r, hit);
          if (!actsOn(a)) return answer(res, a);
          await forward(r, hit).catch(() => undefined);
          answer(res, a);
          return;
        }
        const both = await Promise.allSettled([forward(r, hit), forward(r, hit)]);
        const first = both[0]!;
        if (first.status === 'fulfilled') answer(res, first.value);
        else badGateway(res, first.reason as Error);
        return;
      }
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: ProxiedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) };
      handle(r, req, res).catch((e: Error) => badGateway(res, e));
    });
  });
  // A client that hangs up on a held request must not crash the proxy.
  server.on('clientError', (_e, socket) => socket.destroy());
  // Idle keep-alive sockets live longer here than in the clients' pools (as the reference servers'
  // do): with Node's 5 s default the proxy closed sockets a busy client was reusing, and the client
  // saw a reset the fault table never armed (ECONNRESET / UND_ERR_SOCKET under load).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const at = observers.listen ?? { host: '127.0.0.1', port: 0 };
  await new Promise<void>((resolve, reject) => {
    const refused = (e: Error) => reject(new Error(`fault proxy: cannot listen at ${at.host}:${at.port}: ${e.message}`));
    server.once('error', refused);
    server.listen(at.port, at.host, () => {
      server.off('error', refused);
      resolve();
    });
  });
  const host = at.host.includes(':') ? `[${at.host}]` : at.host;
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;
  return {
    url,
    upstream: origin.origin,
    through(upstreamUrl: string) {
      const u = new URL(upstreamUrl);
      return `${url}${u.pathname}${u.search}${u.hash}`;
    },
    arm(spec: FaultSpec) {
      if (spec.when?.status !== undefined && !RESPONSE_SIDE(spec.action))
        throw new Error(
          `fault '${spec.name}': a trigger on the upstream status needs an action taken after the answer (drop-response, delay with phase 'response', duplicate with mode 'sequential', respond with forward), not ${spec.action.kind}`,
        );
      if (spec.action.kind === 'delay' && spec.action.ms === undefined && !spec.action.hold) throw new Error(`fault '${spec.name}': a delay needs ms or hold: true`);
      if (spec.times !== undefined && !(Number.isInteger(spec.times) && spec.times >= 1)) throw new Error(`fault '${spec.name}': times must be a positive integer, got ${spec.times}`);
      const f = new Armed(spec);
      faults.push(f);
      return f;
    },
    get deliveries() {
      return deliveries;
    },
    async stop() {
      for (const f of faults) f.release();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      agent.destroy();
    },
  };
}
