/**
 * HTTP plumbing every reference server shares (hono on a plain node server): client mistakes as
 * {@link HttpError}, request bodies read with a byte limit (node's GET bodies included), zod parsing
 * that names the bad field, and JSON errors everywhere, from the app and from below it (node's own
 * parser refusals), in the error shape the protocol uses.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { getRequestListener } from '@hono/node-server';
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import type { z } from 'zod';

const CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'body_too_large',
  417: 'expectation_failed',
  431: 'headers_too_large',
  500: 'internal_error',
  502: 'bad_gateway',
};

/** A snake_case code for a status (`404` → `not_found`), for shapes that carry one. */
export function statusCode(status: number): string {
  return CODES[status] ?? (STATUS_CODES[status] ?? `status ${status}`).toLowerCase().replace(/[^a-z0-9]+/g, '_');
}

/** A client mistake (or an upstream failure) answered with `status`, the message, extra fields and headers. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
    readonly code: string = statusCode(status),
  ) {
    super(message);
  }
}

/** What an error body holds before a shape writes it. */
export interface ErrorParts {
  status: number;
  code: string;
  message: string;
  extra: Record<string, unknown>;
}

/** How a protocol writes its error bodies. */
export type ErrorShape = (e: ErrorParts) => Record<string, unknown>;

/** `{"error":{"code","message"}}` plus extra fields: DESIGN.md's default (rule 7). */
export const codedErrors: ErrorShape = ({ code, message, extra }) => ({ ...extra, error: { code, message } });

/** `{"error":"message"}` plus extra fields (Agentripe's seed). */
export const flatErrors: ErrorShape = ({ message, extra }) => ({ error: message, ...extra });

function errorBody(shape: ErrorShape, status: number, message: string): string {
  return JSON.stringify(shape({ status, code: statusCode(status), message, extra: {} }));
}

/** Options shared by the handlers below. */
export interface JsonErrorOptions {
  /** Error body shape (default {@link codedErrors}). */
  shape?: ErrorShape;
  log?: (msg: string) => void;
}

/**
 * hono `onError`: an {@link HttpError} is answered as itself; anything else is a 500 whose message
 * is `internalMessage(err)` (default a fixed text, so internals do not leak) and is logged.
 */
export function errorHandler(o: JsonErrorOptions & { internalMessage?: (err: Error) => string } = {}): ErrorHandler {
  const shape = o.shape ?? codedErrors;
  return (err, c) => {
    if (err instanceof HttpError) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return c.json(shape({ status: err.status, code: err.code, message: err.message, extra: err.extra }), err.status as 400);
    }
    o.log?.(`internal error: ${err.stack ?? err.message}`);
    return c.json(shape({ status: 500, code: statusCode(500), message: o.internalMessage?.(err) ?? 'Internal server error', extra: {} }), 500);
  };
}

/** hono `notFound`: a JSON 404 (`message` may name the routes that do exist). */
export function notFoundHandler(o: { shape?: ErrorShape; message?: (c: Context) => string } = {}): NotFoundHandler {
  const shape = o.shape ?? codedErrors;
  return (c) => c.json(shape({ status: 404, code: statusCode(404), message: o.message?.(c) ?? 'Not found', extra: {} }), 404);
}

/** Default body limit of {@link readBody}. */
export const DEFAULT_BODY_LIMIT = 1_000_000;

/**
 * Reads a request body of any method as UTF-8, at most `limit` bytes, else 413. GET and HEAD bodies
 * are read from node's request: hono's Request has none for them, yet clients send them (seed 002's
 * `x402 pay -X GET -d '{…}'`).
 */
export async function readBody(c: Context, limit = DEFAULT_BODY_LIMIT): Promise<string> {
  // The rest of the body stays unread, so this connection cannot carry another request: say so.
  const tooLarge = () => new HttpError(413, 'Request body too large', {}, { connection: 'close' });
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if ((c.req.method === 'GET' || c.req.method === 'HEAD') && incoming) {
    if (!incoming.headers['content-length'] && !incoming.headers['transfer-encoding']) return '';
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of incoming) {
      size += (chunk as Buffer).length;
      if (size > limit) throw tooLarge();
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
  // A body of known length within the limit: read whole. @hono/node-server's Request then reads it
  // from node's request directly; through `body` it would first be wrapped in a web stream, which
  // costs more than the rest of a small JSON request. Node holds a body to its content-length.
  const declared = Number(c.req.header('content-length') ?? Number.NaN);
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && Number.isSafeInteger(declared) && declared >= 0) {
    if (declared > limit) throw tooLarge();
    return c.req.raw.text();
  }
  const stream = c.req.raw.body;
  if (!stream) return '';
  // Not cancelled past the limit: @hono/node-server drains the rest after the answer is sent.
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      reader.releaseLock();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The body as JSON: `whenEmpty` for an empty (or blank) body, 400 when it does not parse. */
export async function jsonBody(c: Context, o: { limit?: number; whenEmpty?: unknown } = {}): Promise<unknown> {
  const text = await readBody(c, o.limit);
  if (!text.trim()) return 'whenEmpty' in o ? o.whenEmpty : {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'Request body is not valid JSON');
  }
}

/** A zod error as one line naming the first bad field: `Invalid request body: data.name: …`. */
export function zodErrorMessage(e: z.ZodError, what = 'request body'): string {
  const i = e.issues[0];
  const label = `Invalid ${what}`;
  if (!i) return label;
  const where = i.path.length ? `${i.path.join('.')}: ` : '';
  return `${label}: ${where}${i.message}`;
}

/** `schema.parse(value)`, with a 400 naming the field instead of a throw. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError(400, zodErrorMessage(r.error));
  return r.data;
}

/** Options of {@link listen}. */
export interface ListenOptions extends JsonErrorOptions {
  host?: string;
  /** 0 (default): any free port. */
  port?: number;
  /** node's header limit (default node's 16 KiB); past it node answers 431, as JSON here. */
  maxHeaderSize?: number;
}

/** A listening server. */
export interface Listening {
  url: string;
  port: number;
  server: Server;
  /** Closes the listener and every connection; waits at most `timeoutMs` for them. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Resolves when `p` settles or after `ms`, whichever is first (a stuck peer must not hang shutdown). */
export function bounded(p: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([p, new Promise((r) => setTimeout(r, ms).unref())]);
}

/**
 * Idle keep-alive sockets must outlive the clients' pools (undici keeps them 4 s, the harness's agent
 * longer): a server that closes an idle socket first races a client reusing it, and the client sees
 * ECONNRESET on a request nobody refused (Node's default is 5 s). Every reference HTTP server sets this.
 */
export function keepIdleSockets<S extends { keepAliveTimeout: number; headersTimeout: number }>(server: S): S {
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

/**
 * Serves a hono app from a plain node server, so the refusals made below the app (parser errors,
 * bad request-targets, unknown methods → 400; oversized headers → 431; an `Expect` other than
 * 100-continue → 417) are JSON in the protocol's shape too. Resolves once listening.
 */
export async function listen(app: { fetch: (req: Request, env?: any) => Response | Promise<Response> }, o: ListenOptions = {}): Promise<Listening> {
  const host = o.host ?? '127.0.0.1';
  const shape = o.shape ?? codedErrors;
  const listener = getRequestListener(app.fetch, {
    hostname: host,
    errorHandler: (e) => {
      o.log?.(`request error: ${(e as Error)?.message}`);
      return new Response(errorBody(shape, 400, 'Bad request'), { status: 400, headers: { 'content-type': 'application/json' } });
    },
  });
  const server = keepIdleSockets(createServer(o.maxHeaderSize ? { maxHeaderSize: o.maxHeaderSize } : {}, listener));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const body = errorBody(shape, status, status === 431 ? 'Request header fields too large' : 'Bad request');
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  server.on('checkExpectation', (_req, res) => {
    const body = errorBody(shape, 417, 'Expectation failed: only "100-continue" is supported');
    // The body may follow unread (the client was told to wait and did not): close, do not parse it as a request.
    res.writeHead(417, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
    res.end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (o.port ?? 0);
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    stop: async (timeoutMs = 3000) => {
      await bounded(
        new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        }),
        timeoutMs,
      );
    },
  };
}
