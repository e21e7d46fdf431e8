/**
 * Sending a malformed request exactly as described: the raw request-target (`..`, `%zz`, latin-1
 * bytes are not normalised), raw header values (repeated headers included), a body with a
 * Content-Length or in chunks. `fetch` would refuse or repair most of these.
 */
import http from 'node:http';

/** One HTTP request, sent byte-for-byte as described. */
export interface MalformedRequest {
  /** The class of defect (for counting and reports). */
  cls: string;
  /** Short description of the defect, for counterexamples. */
  note: string;
  method: string;
  /** Raw request-target (not normalised). */
  path: string;
  headers: Record<string, string | string[]>;
  body?: string | Uint8Array;
  /** Aimed at a route that can change state (or at a route that does not exist): must be refused. */
  expect4xx: boolean;
  /**
   * A defect the HTTP layer below the application meets (header size, request-target, Host,
   * method token, Expect): such a request gets its own connection, which the server may close.
   */
  transport?: string;
  /** Send the body with `Transfer-Encoding: chunked` (in three pieces) instead of a Content-Length. */
  chunked?: boolean;
}

/** An answer as received. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** No answer: the connection was closed or reset, or nothing came within the timeout. */
export interface NoAnswer {
  closed: string;
}

/** The header every robustness request carries (`robustness`). */
export const PROBE_HEADER = 'x-amh-probe';

/** Sends `req` to the server at `baseUrl` over `agent` (a keep-alive agent reuses one connection); never throws. */
export function sendRaw(baseUrl: string, req: MalformedRequest, agent: http.Agent | false, timeoutMs = 10_000): Promise<RawAnswer | NoAnswer> {
  const u = new URL(baseUrl);
  const body = req.body === undefined ? undefined : typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : Buffer.from(req.body);
  const own = req.transport !== undefined;
  // Marked, so a target's logs (and our tests' recording proxies) can tell deliberate garbage from
  // the conformance scenarios' traffic.
  const headers: Record<string, string | string[]> = { [PROBE_HEADER]: 'robustness', ...req.headers };
  if (body !== undefined && req.chunked) headers['transfer-encoding'] = 'chunked';
  else if (body !== undefined) headers['content-length'] = String(body.length);
  // A transport-level defect makes a server close the connection: it gets its own.
  if (own) headers.connection = 'close';
  // The base URL's path is the prefix of every request-target (a server mounted below a path).
  const prefix = u.pathname.replace(/\/+$/, '');
  const path = /^[a-z]+:\/\//i.test(req.path) ? req.path : `${prefix}${req.path}`;
  return new Promise((resolve) => {
    let done = false;
    const finish = (a: RawAnswer | NoAnswer) => {
      if (!done) {
        done = true;
        resolve(a);
      }
    };
    let r: http.ClientRequest;
    try {
      r = http.request({ host: u.hostname, port: u.port, method: req.method, path, headers, agent: own ? false : agent, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => finish({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => finish({ closed: e.message }));
      });
    } catch (e) {
      // node refuses to even send some values (a header character it will not write).
      finish({ closed: `not sent: ${(e as Error).message}` });
      return;
    }
    r.on('timeout', () => r.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    r.on('error', (e) => finish({ closed: e.message }));
    if (body !== undefined && req.chunked) {
      // Several chunks, split inside the JSON, so the server must reassemble them.
      const cut = Math.max(1, Math.floor(body.length / 3));
      r.write(body.subarray(0, cut));
      r.write(body.subarray(cut, 2 * cut));
      r.write(body.subarray(2 * cut));
    } else if (body !== undefined) r.write(body);
    r.end();
  });
}

/** Compact text of a request for failure messages (bodies and long values cut). */
export function describeRequest(req: MalformedRequest): string {
  const cut = (s: string, n = 160) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);
  const body = req.body === undefined ? '' : ` body=${cut(typeof req.body === 'string' ? req.body : `<${req.body.length} bytes>`)}`;
  // Credentials stay out of reports (a robustness request may carry a real API key).
  const headers = Object.entries(req.headers)
    .map(([k, v]) => `${k}: ${/^(authorization|cookie|x-api-key)$/i.test(k) ? `[redacted ${String(v).length} chars]` : cut(String(v), 80)}`)
    .join('; ');
  return `[${req.cls}] ${req.note} :: ${req.method} ${cut(req.path, 200)} {${headers}}${body}`;
}
