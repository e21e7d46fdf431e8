/**
 * Robustness as a requirement: a batch of malformed requests sent to a target's published
 * endpoints, each answer judged by what *every* careful reading of HTTP and the protocol allows
 * (so a correct third-party server passes), and the totals recorded as evidence.
 *
 * Per answer: never a 5xx, except 501 for a method the server does not implement (RFC 9110 §15.6.2
 * recommends it); a request aimed at a state-changing route (or at no route) is refused: a 4xx,
 * or a 2xx to OPTIONS (a CORS preflight acts on nothing). A request with a transport-level defect
 * (a header past the server's limit, an unparseable request-target or method) or a body over 64 KiB
 * may instead be answered by closing the connection; any other request must be answered.
 * Which status, and whether the refusal has a JSON body, is the protocol profile's business, not
 * this check's: a server may answer 400 where another answers 404, 401 where another answers 403.
 */
import http from 'node:http';
import type { RunContext } from '../engine/context.ts';
import { describeRequest, sendRaw, type MalformedRequest, type NoAnswer, type RawAnswer } from './http.ts';

/** Methods HTTP servers commonly implement; any other may get 501 Not Implemented. */
const COMMON_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
/** Bodies above this size may be cut off by closing the connection (a server's body limit). */
const CLOSE_OK_BODY_BYTES = 64 * 1024;

const bodyBytes = (b: MalformedRequest['body']) => (b === undefined ? 0 : typeof b === 'string' ? Buffer.byteLength(b) : b.length);

/** What is wrong with `answer` to `req` under any careful reading, or null. */
export function robustnessProblem(req: MalformedRequest, answer: RawAnswer | NoAnswer): string | null {
  if ('closed' in answer) {
    if (req.transport !== undefined || bodyBytes(req.body) > CLOSE_OK_BODY_BYTES) return null;
    return `no answer (${answer.closed})`;
  }
  const s = answer.status;
  if (s === 501 && !COMMON_METHODS.has(req.method.toUpperCase())) return null;
  if (s >= 500) return `${s} for a malformed request`;
  if (!req.expect4xx) return null;
  if (s >= 400) return null;
  if (req.method.toUpperCase() === 'OPTIONS' && s >= 200 && s < 300) return null;
  return `${s}, not a refusal (expected 4xx)`;
}

/** Answers by status ("closed" for no answer), for the evidence. */
export type StatusCounts = Map<string, number>;

/** `k: n` per key, sorted: how a batch's answers and classes are shown in its check. */
export function countsText(m: ReadonlyMap<string, number>): string {
  return [...m.entries()]
    .sort()
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
}

/** A protocol's own rule for every answer, beside {@link robustnessProblem} (e.g. no secret in it). */
export interface AnswerRule<R extends MalformedRequest = MalformedRequest> {
  /** The rule in words, for the checks ("no answer carries a key it was not sent"). */
  what: string;
  /** What is wrong with `answer` to `req`, or null. */
  problem(req: R, answer: RawAnswer): string | null;
}

/**
 * The first of `secrets` (8 characters or more) that `answer` (headers and body as text) carries
 * although `req` did not (in its path, headers or body), or undefined: a server may echo what its
 * caller sent, never reveal a credential it holds for someone else.
 */
export function unsentSecret(req: MalformedRequest, answer: string, secrets: readonly string[]): string | undefined {
  const body = req.body === undefined ? '' : typeof req.body === 'string' ? req.body : Buffer.from(req.body).toString('utf8');
  const sent = [req.path, ...Object.values(req.headers).flat(), body].join('\n');
  return secrets.find((s) => s.length >= 8 && answer.includes(s) && !sent.includes(s));
}

/**
 * Sends `requests` one after another over one keep-alive connection to `baseUrl` and checks each
 * answer with {@link robustnessProblem} (and `rule`, when given): the first bad answer fails
 * `requirement` (naming the request and the answer); at the end one check records how many were
 * sent and the statuses seen. Returns the status counts.
 */
export async function sendMalformedBatch<R extends MalformedRequest>(
  ctx: RunContext,
  requirement: string,
  baseUrl: string,
  requests: readonly R[],
  what: string,
  rule?: AnswerRule<R>,
): Promise<StatusCounts> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const counts: StatusCounts = new Map();
  const classes = new Map<string, number>();
  const started = performance.now();
  try {
    for (const [i, req] of requests.entries()) {
      const answer = await sendRaw(baseUrl, req, agent);
      const key = 'closed' in answer ? 'closed' : String(answer.status);
      counts.set(key, (counts.get(key) ?? 0) + 1);
      classes.set(req.cls, (classes.get(req.cls) ?? 0) + 1);
      const general = robustnessProblem(req, answer);
      const problem = general ?? (rule && !('closed' in answer) ? rule.problem(req, answer) : null);
      if (problem) {
        ctx.act(`sends malformed request ${i + 1} of ${requests.length} (${what}): ${describeRequest(req)}`);
        ctx.check(requirement, false, `malformed request ${i + 1} of ${requests.length} is answered below 500${req.expect4xx ? ' and refused' : ''}${rule ? `; ${rule.what}` : ''}`, {
          expected: !general && rule ? rule.what : req.expect4xx ? 'a 4xx (501 for an unimplemented method; a closed connection for a transport-level defect)' : 'any answer below 500',
          // A rule's problem is shown alone: the body it objects to may hold a secret.
          actual: 'closed' in answer || !general ? problem : `${problem}: ${String(answer.headers['content-type'] ?? '')} ${answer.body.slice(0, 300)}`,
        });
      }
    }
  } finally {
    agent.destroy();
  }
  ctx.act(`sends ${requests.length} malformed requests (${what}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  ctx.check(requirement, true, `${requests.length} malformed requests (${what}): none answered 5xx, every one aimed at a state-changing route refused${rule ? `; ${rule.what}` : ''}`, {
    actual: `statuses ${countsText(counts)}; classes ${countsText(classes)}`,
  });
  return counts;
}

/**
 * How many malformed requests a protocol's robustness scenario sends in one certification:
 * `AMH_ROBUSTNESS_REQUESTS` (set by `amh run|certify --long` to {@link LONG_REQUESTS}), else
 * `normal` (a few seconds' worth).
 */
export function robustnessBudget(normal: number): number {
  const v = process.env.AMH_ROBUSTNESS_REQUESTS;
  if (v === undefined || v === '') return normal;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`AMH_ROBUSTNESS_REQUESTS must be a positive integer, got '${v}'`);
  return Number(v);
}

/** Requests per protocol in long mode (`--long`). */
export const LONG_REQUESTS = 10_000;

/** The property runs a robustness scenario splits its batch over (so one run stays well inside the per-run timeout). */
export const ROBUSTNESS_RUNS = 5;

/** Requests each property run sends, for `total` in one certification split over {@link ROBUSTNESS_RUNS} runs. */
export const perRun = (total: number) => Math.ceil(total / ROBUSTNESS_RUNS);

/**
 * A fixture built once per target and shared by the robustness runs against it (set-up costs
 * seconds; the batch is what varies): `key` names the target. A build that fails is forgotten, so
 * the next run tries again.
 */
export function fixturePerTarget<A, T>(build: (a: A) => Promise<T>): (key: string, a: A) => Promise<T> {
  const built = new Map<string, Promise<T>>();
  return (key, a) => {
    let f = built.get(key);
    if (!f) {
      f = build(a);
      built.set(key, f);
      f.catch(() => built.delete(key));
    }
    return f;
  };
}
