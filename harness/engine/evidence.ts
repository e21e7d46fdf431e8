/**
 * Evidence collected while a scenario runs: HTTP exchanges, transactions with decoded events,
 * refused calls, balances before/after and individual checks. Everything is JSON-safe (bigints as
 * decimal strings) and trimmed so a report stays readable.
 */

import { keepAliveFetch } from '../chain/rpc.ts';
import { redactSecretText } from '../util/secrets.ts';
import { TargetProblem } from './errors.ts';

/** Max characters kept from any body or value in the report. */
export const TRIM_AT = 2000;
/** Max evidence items kept per recorder (the rest is counted, not stored). */
export const MAX_ITEMS = 60;

export interface HttpEvidence {
  kind: 'http';
  label?: string;
  method: string;
  url: string;
  status: number | null;
  requestHeaders: Record<string, string>;
  requestBody?: string;
  responseHeaders: Record<string, string>;
  responseBody?: string;
  durationMs: number;
  error?: string;
}
export interface TxEvidence {
  kind: 'tx';
  label: string;
  chain: string;
  hash: string;
  from: string;
  to: string | null;
  function: string;
  args: unknown;
  status: 'success' | 'reverted';
  blockNumber: string;
  events: { name: string; address: string; args: unknown }[];
  revertReason?: string;
}
export interface RefusedEvidence {
  kind: 'refused';
  label: string;
  chain: string;
  from: string;
  to: string;
  function: string;
  args: unknown;
  reason: string;
}
export interface BalancesEvidence {
  kind: 'balances';
  label: string;
  chain: string;
  token: string;
  before: Record<string, string>;
  after: Record<string, string>;
}
export interface CheckEvidence {
  kind: 'check';
  requirement: string;
  ok: boolean;
  message: string;
  expected?: string;
  actual?: string;
}
export interface NoteEvidence {
  kind: 'note';
  message: string;
}
export type Evidence = HttpEvidence | TxEvidence | RefusedEvidence | BalancesEvidence | CheckEvidence | NoteEvidence;

/** Cut a string to `max` characters, saying how much was dropped. */
export function trim(s: string, max = TRIM_AT): string {
  return s.length <= max ? s : `${s.slice(0, max)}… [${s.length - max} more chars]`;
}

/** Deep-convert a value into JSON-safe data: bigint → string, long strings trimmed, depth-limited. */
export function jsonSafe(v: unknown, depth = 0): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return trim(v, 400);
  if (v === null || typeof v !== 'object') return v;
  if (depth > 6) return '[…]';
  if (Array.isArray(v)) return v.slice(0, 50).map((x) => jsonSafe(x, depth + 1));
  if (v instanceof Uint8Array) return `bytes(${v.length})`;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = jsonSafe(x, depth + 1);
  return out;
}

/** An evidence item with the values of secret-named JSON members (an issued apiKey) redacted from its texts. */
function redacted(e: Evidence): Evidence {
  const r = (t: string | undefined) => (t === undefined ? undefined : redactSecretText(t));
  switch (e.kind) {
    case 'http':
      return { ...e, requestBody: r(e.requestBody), responseBody: r(e.responseBody) };
    case 'check':
      return { ...e, message: redactSecretText(e.message), expected: r(e.expected), actual: r(e.actual) };
    case 'note':
      return { ...e, message: redactSecretText(e.message) };
    default:
      return e;
  }
}

/** Append-only evidence log for one property run. */
export class EvidenceRecorder {
  readonly items: Evidence[] = [];
  dropped = 0;
  add(e: Evidence): void {
    if (this.items.length >= MAX_ITEMS) {
      this.dropped++;
      return;
    }
    this.items.push(redacted(e));
  }
  note(message: string): void {
    this.add({ kind: 'note', message });
  }
  /** The items plus a note about dropped ones, for the report. */
  snapshot(): Evidence[] {
    return this.dropped ? [...this.items, { kind: 'note', message: `${this.dropped} more evidence items not kept` }] : [...this.items];
  }
}

const SECRET_HEADER = /^(authorization|cookie|set-cookie|x-api-key)$/i;

function headersToRecord(h: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  h.forEach((v, k) => {
    out[k] = SECRET_HEADER.test(k) ? `[redacted ${v.length} chars]` : trim(v, 600);
  });
  return out;
}

/** Statuses a fetch with `redirect: 'follow'` (the default) follows. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * A `fetch` that records every exchange (method, URL, status, headers, bodies — trimmed) into a
 * recorder. Scenarios use it for every call to a target endpoint so the report carries transcripts.
 *
 * It goes out over the keep-alive node:http client (a third of global fetch's CPU per exchange on
 * loopback; scenarios make tens of thousands). That client does not follow redirects, so an answer
 * that fetch would follow is asked again through global fetch, which does.
 */
export function recordingFetch(rec: EvidenceRecorder, label?: string): typeof fetch {
  return async (input, init) => {
    const req = new Request(input as RequestInfo, init);
    const started = performance.now();
    const requestBody = req.body ? trim(await req.clone().text()) : undefined;
    try {
      let res = await keepAliveFetch(req.body ? req.clone() : req);
      if (REDIRECTS.has(res.status) && res.headers.has('location') && req.redirect === 'follow') res = await fetch(req);
      const responseBody = trim(await res.clone().text());
      rec.add({
        kind: 'http',
        label,
        method: req.method,
        url: req.url,
        status: res.status,
        requestHeaders: headersToRecord(req.headers),
        requestBody,
        responseHeaders: headersToRecord(res.headers),
        responseBody,
        durationMs: Math.round(performance.now() - started),
      });
      return res;
    } catch (e) {
      rec.add({
        kind: 'http',
        label,
        method: req.method,
        url: req.url,
        status: null,
        requestHeaders: headersToRecord(req.headers),
        requestBody,
        responseHeaders: {},
        durationMs: Math.round(performance.now() - started),
        error: (e as Error).message,
      });
      // The target did not answer at all (refused, reset, timed out): a target problem, not a verdict.
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new TargetProblem(`${req.method} ${req.url} could not be reached (${cause?.code ?? cause?.message ?? (e as Error).message})`);
    }
  };
}
