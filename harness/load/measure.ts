/**
 * Measurement of a load run: every HTTP request the agents send is timed into an HDR histogram
 * (hdr-histogram-js, microsecond resolution, 3 significant digits) and its status counted; every
 * iteration is timed too; a failed iteration is counted under its error class.
 *
 * Error classes: `http <status>` (an answer the iteration did not expect; 5xx are also counted on
 * their own, whatever the iteration expected), `connection` (refused, reset, closed), `timeout`
 * (no answer within the request timeout), `protocol:<kind>` (the pack's LoadFailure: a settlement
 * reported failed, a 200 without a settlement...), `harness` (anything else: a bug on our side).
 */
import * as hdr from 'hdr-histogram-js';
import { keepAliveFetch } from '../chain/rpc.ts';
import { type AgentOutOfFunds, HttpStatusFailure, LoadFailure } from './pack.ts';

/** Percentiles of a histogram, in milliseconds. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

function newHistogram(): hdr.Histogram {
  // Microseconds, up to one hour; the JS implementation (no WebAssembly start-up, no memory to free).
  return hdr.build({ bitBucketSize: 'packed', lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}

const ms = (us: number) => Math.round(us) / 1000;

function summarize(h: hdr.Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0 };
  // A percentile is the highest value of its bucket, which can pass the exact maximum by a rounding step.
  const at = (p: number) => ms(Math.min(h.getValueAtPercentile(p), h.maxValue));
  return { count: h.totalCount, mean: ms(h.mean), p50: at(50), p90: at(90), p95: at(95), p99: at(99), max: ms(h.maxValue) };
}

/** Error codes of a request that got no answer: refused, reset, closed, unreachable. */
const CONNECTION_CODES = /^(ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EADDRNOTAVAIL|UND_ERR_SOCKET|ERR_HTTP_.*)$/;

/** The error class of something an iteration threw. */
export function errorClass(e: unknown): { cls: string; message: string } {
  if (e instanceof HttpStatusFailure) return { cls: `http ${e.status}`, message: e.message };
  if (e instanceof LoadFailure) return { cls: `protocol:${e.kind}`, message: e.message };
  const err = e as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return { cls: 'timeout', message: err.message ?? 'timed out' };
  const code = err?.code ?? err?.cause?.code;
  if (code && CONNECTION_CODES.test(code)) return { cls: 'connection', message: `${code ?? ''} ${err?.message ?? ''}`.trim() };
  return { cls: 'harness', message: err?.message ?? String(e) };
}

/** Counters and histograms of one run; `fetch` is the instrumented client the agents use. */
export class LoadRecorder {
  readonly requests = newHistogram();
  readonly iterations = newHistogram();
  /** Answers by status code (every answer, expected or not). */
  readonly statuses = new Map<number, number>();
  /** Failed iterations by error class. */
  readonly errors = new Map<string, number>();
  /** A few messages per error class, for the report. */
  readonly samples = new Map<string, string[]>();
  requestCount = 0;
  /** Requests that got no answer (connection error or timeout). */
  requestFailures = 0;
  completed = 0;
  failed = 0;
  /** Completions after the ramp (for the steady-state rate). */
  completedSteady = 0;
  requestsSteady = 0;
  steadyFrom = Number.POSITIVE_INFINITY;

  constructor(readonly requestTimeoutMs: number) {}

  /** The agents' HTTP client: keep-alive, a timeout per request, every request timed and its status counted. */
  readonly fetch: typeof fetch = async (input, init = {}) => {
    const t0 = performance.now();
    this.requestCount++;
    if (t0 >= this.steadyFrom) this.requestsSteady++;
    try {
      const res = await keepAliveFetch(input as string | URL | Request, { ...init, signal: init.signal ?? AbortSignal.timeout(this.requestTimeoutMs) });
      this.requests.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
      this.statuses.set(res.status, (this.statuses.get(res.status) ?? 0) + 1);
      return res;
    } catch (e) {
      this.requestFailures++;
      throw e;
    }
  };

  /** An iteration of `agent` that started at `t0` succeeded. */
  iterationDone(t0: number, agent: number): void {
    this.completedBy.set(agent, (this.completedBy.get(agent) ?? 0) + 1);
    const now = performance.now();
    this.iterations.recordValue(Math.max(1, Math.round((now - t0) * 1000)));
    this.completed++;
    if (now >= this.steadyFrom) this.completedSteady++;
  }

  /** Agents stopped because their money ran out (AgentOutOfFunds), in the order they stopped. */
  readonly outOfFunds: { agent: number; atMs: number; completed: number; held: bigint; needed: bigint; step: string }[] = [];
  /** Iterations each agent completed (for the out-of-funds entries). */
  private readonly completedBy = new Map<number, number>();

  /** Agent `agent` stopped `atMs` after the start: set-up's money for it ran out (not a failure of the target). */
  agentOutOfFunds(agent: number, atMs: number, e: AgentOutOfFunds): void {
    this.outOfFunds.push({ agent, atMs: Math.round(atMs), completed: this.completedBy.get(agent) ?? 0, held: e.held, needed: e.needed, step: e.step });
  }

  iterationFailed(e: unknown): string {
    const { cls, message } = errorClass(e);
    this.failed++;
    this.errors.set(cls, (this.errors.get(cls) ?? 0) + 1);
    const s = this.samples.get(cls) ?? [];
    if (s.length < 3) s.push(message);
    this.samples.set(cls, s);
    return cls;
  }

  /** Answers with a 5xx status, whatever the iteration expected. */
  get serverErrors(): number {
    let n = 0;
    for (const [s, c] of this.statuses) if (s >= 500) n += c;
    return n;
  }

  requestLatency(): LatencySummary {
    return summarize(this.requests);
  }

  iterationLatency(): LatencySummary {
    return summarize(this.iterations);
  }
}
