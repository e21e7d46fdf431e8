/**
 * What a protocol pack gives `amh load`: `reference-impl/<id>/load.ts` default-exports
 * `defineLoad({...})` (discovered by harness/packs/discover.ts, like simulation.ts and service.ts).
 * The driver in harness/load is protocol-neutral: it starts or reads the Target, runs N concurrent
 * agent loops for the duration, times every HTTP request, classifies errors and keeps the ledger of
 * what the agents saw paid. The pack says how N agents are funded and set up, what one iteration of
 * an agent is, and what conservation means for its money.
 */
import { errorClass } from './measure.ts';
import type { Target } from '../target/schema.ts';

/** One money movement an agent saw succeed (the harness's own ledger). */
export interface LedgerEntry {
  agent: number;
  /** The pack's name for the movement: `paid` (buyer → seller or escrow), `released` (escrow → vendor)... */
  kind: string;
  /** Base units. */
  amount: bigint;
  /** What identifies it on chain: a settlement transaction hash, a deposit id. */
  ref: string;
}

/** What one iteration gets from the driver. */
export interface IterationContext {
  /** The agent's HTTP client: every request is timed and its status counted (use it for every call to the target). */
  fetch: typeof fetch;
  /** Record a money movement as soon as the agent has seen it succeed (even if a later step of the iteration fails). */
  ledger(kind: string, amount: bigint, ref: string): void;
}

/** Everything that one account group held before and after the run (base units). */
export interface Holding {
  /** e.g. `agents (200)`, `payTo 0x…`, `escrow 0x…`. */
  name: string;
  before: bigint;
  after: bigint;
}

/** One conservation check: `expected` and `actual` as decimal strings (base units or counts). */
export interface ConservationCheck {
  name: string;
  ok: boolean;
  expected: string;
  actual: string;
  /** Why it matters / what a difference means. */
  note?: string;
}

/** The pack's verdict on the money of the run. */
export interface Conservation {
  holdings: Holding[];
  checks: ConservationCheck[];
}

/** A set-up load run on one target. */
export interface LoadRun {
  /** One line for humans: what the agents were given and what one iteration does. */
  describe: string;
  /** One iteration of agent `agent` (0-based). Resolves when it succeeded; throws a {@link LoadFailure} (or an HTTP error) otherwise. */
  iterate(agent: number, ctx: IterationContext): Promise<void>;
  /** After every loop stopped: holdings before/after and the checks against the ledger and the chain. */
  conservation(ledger: readonly LedgerEntry[]): Promise<Conservation>;
  stop?(): Promise<void>;
}

/** What the driver gives a pack's setup. */
export interface LoadEnv {
  target: Target;
  /** Number of agents. */
  agents: number;
  seed: number;
  /** Planned seconds of load (ramp included): a pack may size each agent's funds from it. */
  seconds: number;
  /** How long a request may wait for its answer (`--timeout`): a pack waiting on something other than HTTP (a relay's event) waits as long. */
  requestTimeoutMs: number;
  /** A deterministic EVM key for agent `i` in `role` (fresh per protocol and seed). */
  key(agent: number, role: string): { address: `0x${string}`; privateKey: `0x${string}` };
  /** An HTTP client for set-up calls (not measured). */
  fetch: typeof fetch;
  log(line: string): void;
}

/** The unit of a pack's ledger amounts and holdings. */
export type LoadUnit = 'usd-6' | 'msat';

/** A pack's load definition. */
export interface LoadPack {
  protocol: string;
  /** One line: what an iteration of one agent is. */
  iteration: string;
  /** Target endpoint names it drives (a target file must declare them). */
  endpoints: readonly string[];
  /** What the ledger's amounts count (default `usd-6`: stablecoin base units, 6 decimals; `msat`: Lightning millisatoshis). */
  unit?: LoadUnit;
  setup(env: LoadEnv): Promise<LoadRun>;
}

/**
 * The target broke the protocol in an iteration (a settlement reported failed, a 200 without a
 * settlement, a task in the wrong state). `kind` is the class the report counts it under.
 */
export class LoadFailure extends Error {
  override name = 'LoadFailure';
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

/** An answer with a status the iteration did not expect: counted as `http <status>`. */
export class HttpStatusFailure extends Error {
  override name = 'HttpStatusFailure';
  constructor(
    readonly status: number,
    readonly step: string,
    body: unknown,
  ) {
    super(`${step}: HTTP ${status} ${typeof body === 'string' ? body.slice(0, 200) : JSON.stringify(body)?.slice(0, 200)}`);
  }
}

/** Throw {@link HttpStatusFailure} unless `status` is `expected`. */
export function expectStatus(status: number, expected: number, step: string, body: unknown): void {
  if (status !== expected) throw new HttpStatusFailure(status, step, body);
}

/**
 * The agent cannot pay for another iteration: after a spending step failed, its balance was below
 * what one iteration costs. The money set-up gave it ran out (the run's sizing, or a funder holding
 * little), which says nothing about the target: the driver stops that agent, counts no failure and
 * reports it apart (load.json `agentsOutOfFunds`).
 */
export class AgentOutOfFunds extends Error {
  override name = 'AgentOutOfFunds';
  constructor(
    readonly held: bigint,
    readonly needed: bigint,
    readonly step: string,
  ) {
    super(`${step}: the agent holds ${held}, one iteration needs ${needed}`);
  }
}

/**
 * Runs an iteration's spending step. When it fails, the agent's balance is read (only then: the
 * path that succeeds costs nothing more); below `needed`, and the step's money did not leave the
 * agent after all (`moved`, where a step can fail after paying: a settled authorization), the
 * failure is the agent's empty wallet, and {@link AgentOutOfFunds} is thrown instead of the step's
 * error (a server refusing a payment the payer cannot cover is right to). Otherwise, or when
 * either cannot be read, the step's own error stands.
 */
export async function unlessOutOfFunds<T>(o: { step: string; needed: bigint; balance: () => Promise<bigint>; moved?: () => Promise<boolean> }, spend: () => Promise<T>): Promise<T> {
  try {
    return await spend();
  } catch (e) {
    const held = await o.balance().catch(() => undefined);
    if (held === undefined || held >= o.needed) throw e;
    const moved = o.moved ? await o.moved().catch(() => true) : false;
    if (moved) throw e;
    throw new AgentOutOfFunds(held, o.needed, o.step);
  }
}

/** A conservation check comparing two bigints (or counts). */
export function equalCheck(name: string, expected: bigint | number, actual: bigint | number, note?: string): ConservationCheck {
  return { name, ok: BigInt(expected) === BigInt(actual), expected: String(expected), actual: String(actual), ...(note ? { note } : {}) };
}

/** Sum of the ledger entries of one kind (optionally of one agent). */
export function ledgerSum(ledger: readonly LedgerEntry[], kind: string, agent?: number): bigint {
  let s = 0n;
  for (const e of ledger) if (e.kind === kind && (agent === undefined || e.agent === agent)) s += e.amount;
  return s;
}

/** How many times an agent sends one signed payment again after its answer was lost or was a 5xx. */
export const PAYMENT_RETRIES = 2;

/**
 * Sends a paid request, and sends the same payment again when the answer is lost (connection ended,
 * timeout) or is a 5xx: the client's recovery x402 relies on, since one signed authorization can
 * move money once (X402-FLT-01). Every try is still measured (a 5xx still fails the run); what this
 * changes is the money: a payment settled while its answer was lost is served on the retry instead
 * of counted as paid without a success.
 */
export async function sendPayment<T extends { res: Response }>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    let answer: T;
    try {
      answer = await send();
    } catch (e) {
      const { cls } = errorClass(e);
      if (attempt < PAYMENT_RETRIES && (cls === 'connection' || cls === 'timeout')) continue;
      throw e;
    }
    if (answer.res.status < 500 || attempt >= PAYMENT_RETRIES) return answer;
  }
}

/**
 * A paid call through {@link sendPayment} (sent again on a lost answer or a 5xx), for protocols
 * where the server refuses a payment it already used: when no try got an answer, or a retry after
 * a lost answer is refused (4xx), the call may have been served and nobody can tell. The payment
 * (`amount` under `ref`) is then recorded `answer-lost` and the iteration fails with that class:
 * indeterminate, neither served nor kept unserved. Otherwise the last try's answer is returned.
 */
export async function sendPaidCall<A extends { status: number }>(
  ctx: IterationContext,
  o: { amount: bigint; ref: string; what: string; sameWhat: string; detail?: (a: A) => string },
  call: () => Promise<A>,
): Promise<A> {
  let answerLost = false;
  const lost = (why: string) => {
    ctx.ledger('answer-lost', o.amount, o.ref);
    return new LoadFailure('answer-lost', why);
  };
  let answer: A;
  try {
    ({ a: answer } = await sendPayment(async () => {
      try {
        const a = await call();
        return { res: { status: a.status } as Response, a };
      } catch (e) {
        answerLost = true;
        throw e;
      }
    }));
  } catch (e) {
    throw lost(`no try of the ${o.what} got an answer (${e instanceof Error ? e.message : String(e)})`);
  }
  if (answerLost && answer.status >= 400 && answer.status < 500)
    throw lost(`the ${o.what} got no answer, and its retry with the same ${o.sameWhat} got ${answer.status}${o.detail ? `: ${o.detail(answer)}` : ''}`);
  return answer;
}

/** Identity helper for `reference-impl/<id>/load.ts` default exports. */
export function defineLoad(p: LoadPack): LoadPack {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(p.protocol)) throw new Error(`load pack protocol '${p.protocol}' must be kebab-case`);
  return p;
}
