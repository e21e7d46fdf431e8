/**
 * Faults the harness injects (issue 15): the fault proxy (./proxy.ts) and what scenarios need
 * around it. A fault that never fired established nothing, so a scenario asks `expectFired` before
 * it judges anything: the case is then indeterminate with that reason, never a pass.
 */
import { Indeterminate, TargetProblem } from '../engine/errors.ts';
import type { ArmedFault, FaultAction, FaultHit, FaultProxy, FaultSpec, Trigger, UpstreamAnswer } from './proxy.ts';
import { startFaultProxy } from './proxy.ts';

export * from './proxy.ts';

/**
 * Throw `Indeterminate` (naming `requirement`) unless `fault` fired: what the scenario was meant to
 * exercise did not happen, so no verdict can be drawn from the run.
 */
export function expectFired(fault: ArmedFault, requirement: string, why = 'the case it sets up did not happen'): void {
  if (!fault.fired) throw new Indeterminate(requirement, `fault '${fault.name}' never fired: ${why}`);
}

/** Run `body` with a fault proxy in front of `upstream`, stopped afterwards whatever happens. */
export async function withFaultProxy<T>(upstream: string, body: (proxy: FaultProxy) => Promise<T>): Promise<T> {
  const proxy = await startFaultProxy(upstream);
  try {
    return await body(proxy);
  } finally {
    await proxy.stop();
  }
}

/** Whether an error is a lost connection as `fetch` reports it (reset, closed without an answer). */
export function isConnectionLoss(e: unknown): boolean {
  const m = `${(e as Error)?.message ?? ''} ${String((e as { cause?: { code?: string; message?: string } })?.cause?.code ?? '')} ${(e as { cause?: { message?: string } })?.cause?.message ?? ''}`;
  return /fetch failed|could not be reached|socket|ECONNRESET|UND_ERR|other side closed|terminated/i.test(m);
}

/** A recorded upstream answer as a fetch `Response` (to read its headers and body like any other). */
export function asResponse(a: UpstreamAnswer): Response {
  const headers = new Headers();
  for (const [k, v] of Object.entries(a.headers)) if (v !== undefined) for (const x of [v].flat()) headers.append(k, String(x));
  return new Response([204, 205, 304].includes(a.status) ? null : new Uint8Array(a.body), { status: a.status, headers });
}

/** An answer a client saw or only the proxy did: who got it, its status and its body (JSON where it parses, else the text). */
export interface SeenAnswer {
  who: string;
  status: number;
  body: any;
}

/** A recorded upstream answer as a {@link SeenAnswer} of `who`. */
export function seenAnswer(who: string, a: UpstreamAnswer): SeenAnswer {
  const text = a.body.toString('utf8');
  try {
    return { who, status: a.status, body: text ? JSON.parse(text) : null };
  } catch {
    return { who, status: a.status, body: text };
  }
}

/**
 * The answer of `p`, or 'lost' when the connection ended without one: the recording fetch reports
 * that as a TargetProblem, and here a fault (a dropped answer, a killed server) caused it on purpose.
 */
export async function orLost<T>(p: Promise<T>): Promise<T | 'lost'> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof TargetProblem) return 'lost';
    throw e;
  }
}

/** One line per delivery of a hit, for evidence: what the server answered where the client saw nothing (or something else). */
export function describeHit(fault: ArmedFault, hit: FaultHit): string {
  const answers = hit.upstream.map((a, i) => `delivery ${i + 1}: ${a.status} ${a.body.toString('utf8').slice(0, 300)}`);
  const errors = hit.errors.map((e) => `upstream error: ${e}`);
  return `fault '${fault.name}' fired on ${hit.method} ${hit.path}; ${[...answers, ...errors].join('; ') || 'the server never saw the request'}`;
}
export * from './rpc.ts';

/** One way a request or its answer is lost on the way: what the fault does, and whether the server saw the request. */
export interface Loss {
  id: 'request' | 'answer-closed' | 'answer-reset';
  /** What happens, for action logs and fault names. */
  describe: string;
  action: FaultAction;
  /** The server processed the request (its answer is what was lost). */
  afterAnswer: boolean;
}

/** Every way a request can be lost that a client must survive by retrying; scenarios try each in every run. */
export const LOSSES: readonly Loss[] = [
  { id: 'request', describe: 'the request is lost before it reaches the server (connection closed)', action: { kind: 'drop-request', how: 'close' }, afterAnswer: false },
  { id: 'answer-closed', describe: 'the server answers but the answer is lost (connection closed)', action: { kind: 'drop-response', how: 'close' }, afterAnswer: true },
  { id: 'answer-reset', describe: 'the server answers but the answer is lost (connection reset)', action: { kind: 'drop-response', how: 'reset' }, afterAnswer: true },
];

/**
 * The fault for `loss` on requests matching `when`; a lost answer only when the upstream status
 * satisfies `served` (the case is "after the server did the work": an unserved request is no case).
 */
export function lossFault(loss: Loss, when: Trigger, served: (status: number) => boolean, what: string): FaultSpec {
  return { name: `${what}: ${loss.describe}`, when: loss.afterAnswer ? { ...when, status: served } : when, action: loss.action };
}
