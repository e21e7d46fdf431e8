/**
 * RunContext: what a scenario gets for one property run. It isolates the run as the scenario
 * declared (`snapshot`: lazy `evm_snapshot` on first use of a chain, `evm_revert` + height check at
 * the end; `live`: nothing undone), records evidence and the readable action log, and turns checks
 * into requirement verdicts. The check vocabulary (`expectEqual`, `expectStatus`, `expectRefused`,
 * `expectNoMoneyMoved`, `json`) writes the expected/actual pairs the report shows.
 */
import fc from 'fast-check';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { roleKey, throwawayAccount } from '../chain/accounts.ts';
import { mineUniqueBlock } from '../chain/anvil.ts';
import { withRepairHeld } from '../chain/pool-repair.ts';
import type { z } from 'zod';
import { endpointOf, evmAccounts, type EndpointSpec, type Target } from '../target/schema.ts';
import type { Isolation } from './dsl.ts';
import { HarnessFault, RequirementViolation } from './errors.ts';
import { EvidenceRecorder, recordingFetch } from './evidence.ts';
import { ChainSession, type ChainClients } from './session.ts';
import { RESTART_TIMEOUT_MS, restartControlOf, restartEndpoint, waitUntilAnswers } from './restart.ts';
import type { Profile } from '../profiles/profile.ts';

/** Per-requirement check counters shared by all runs of a scenario. */
export type CheckCounts = Map<string, { passed: number; failed: number }>;

/** Balances of some addresses in one token, taken before an action (see `expectNoMoneyMoved`). */
export interface BalanceSnapshot {
  session: ChainSession;
  token: Address;
  /** Label → address. */
  holders: Record<string, Address>;
  before: Record<string, bigint>;
}

/** Which chain: by target chain id (label) or by EVM chain id. */
export type ChainSelector = string | { chainId: number };

/** An HTTP status class or exact statuses. */
export type StatusExpectation = number | readonly number[] | '2xx' | '4xx';

function statusMatches(status: number, e: StatusExpectation): boolean {
  if (e === '2xx') return status >= 200 && status < 300;
  if (e === '4xx') return status >= 400 && status < 500;
  return typeof e === 'number' ? status === e : e.includes(status);
}

function show(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    // JSON.stringify(undefined) is undefined, not a string: an empty body must still print.
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

export class RunContext {
  readonly evidence = new EvidenceRecorder();
  /** Readable list of agent actions taken in this run (the counterexample when it fails). */
  readonly actions: string[] = [];
  /** `fetch` that records HTTP exchanges into this run's evidence. */
  readonly fetch: typeof fetch;
  private readonly sessions = new Map<string, ChainSession>();
  private readonly snapshots = new Map<string, { id: Hex; height: bigint }>();

  constructor(
    readonly target: Target,
    private readonly clients: Map<string, ChainClients>,
    private readonly counts: CheckCounts,
    private readonly allowed: ReadonlySet<string>,
    /** How this run is isolated (the scenario's declaration; `snapshot` needs the target's `snapshot` capability). */
    readonly isolation: Isolation,
    /** Roles that only sign: a throwaway key stands in when the target declares none. */
    private readonly signers: readonly string[] = [],
    /** Requirements of the scenario outside the spec revision being certified: their checks are not made. */
    private readonly outsideRevision: ReadonlySet<string> = new Set(),
    /** The run's what-if profile (null: the defaults); read with `<PACK>_CONSTANTS.of(ctx.profile)`. */
    readonly profile: Profile | null = null,
    /** Seed of this run's `draw`s: generated with the run's value, so a replay draws the same. */
    private readonly drawSeed = 0,
    /**
     * The scenario reorgs its chains (capability `reorg`): each snapshot gets one empty block of its
     * own on top, so a reorg down to where the run started finds that block's state (mineUniqueBlock).
     */
    private readonly reorgs = false,
  ) {
    this.fetch = recordingFetch(this.evidence);
  }

  private draws = 0;

  /**
   * A value of `arb` for set-up choices (an amount, a role) that are not part of the generated
   * value: reproducible from the run's seed and replay path, unlike `Math.random`. Not shrunk.
   */
  draw<T>(arb: fc.Arbitrary<T>): T {
    const seed = (Math.imul(this.drawSeed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(++this.draws, 0xc2b2ae35)) | 0;
    return fc.sample(arb, { seed, numRuns: 1 })[0]!;
  }

  /** Log an agent action (shows up, in order, in a counterexample). */
  act(line: string): void {
    this.actions.push(line);
  }

  /**
   * Assert a requirement. Records the check as evidence; throws `RequirementViolation` when `ok` is
   * false so fast-check shrinks toward the smallest sequence of actions that violates it.
   */
  check(requirement: string, ok: boolean, message: string, detail: { expected?: unknown; actual?: unknown } = {}): void {
    if (!this.allowed.has(requirement)) throw new HarnessFault(`check names ${requirement}, which this scenario does not declare`);
    if (this.outsideRevision.has(requirement)) return;
    const c = this.counts.get(requirement) ?? { passed: 0, failed: 0 };
    this.counts.set(requirement, c);
    const expected = detail.expected === undefined ? undefined : show(detail.expected);
    const actual = detail.actual === undefined ? undefined : show(detail.actual);
    this.evidence.add({ kind: 'check', requirement, ok, message, expected, actual });
    if (ok) {
      c.passed++;
      return;
    }
    c.failed++;
    throw new RequirementViolation(requirement, message, expected, actual);
  }

  /** `actual` equals `expected` (bigints, strings, numbers, booleans compared with ===; objects by JSON). */
  expectEqual(requirement: string, actual: unknown, expected: unknown, what: string): void {
    const same = typeof actual === 'object' && actual !== null ? show(actual) === show(expected) : actual === expected;
    this.check(requirement, same, what, { expected, actual });
  }

  /** The answer's status is `expected` (a number, a list, '2xx' or '4xx'). `body` is shown when it is not. */
  expectStatus(requirement: string, res: { status: number; body?: unknown }, expected: StatusExpectation, what: string): void {
    this.check(requirement, statusMatches(res.status, expected), what, {
      expected: typeof expected === 'object' ? expected.join(' or ') : expected,
      actual: `${res.status}${res.body === undefined ? '' : ` ${show(res.body).slice(0, 300)}`}`,
    });
  }

  /** A refusal: a 4xx. A 2xx (accepted) and a 5xx (a server fault, not a refusal) both violate. */
  expectRefused(requirement: string, res: { status: number; body?: unknown }, what: string): void {
    this.expectStatus(requirement, res, '4xx', what);
  }

  /** Record balances now, for `expectNoMoneyMoved` / balance evidence later. */
  async balancesOf(session: ChainSession, token: Address, holders: Record<string, Address>): Promise<BalanceSnapshot> {
    // Read in parallel: the holders' balances are independent reads of the same block height range.
    const entries = Object.entries(holders);
    const values = await Promise.all(entries.map(([, a]) => session.balanceOf(token, a)));
    const before: Record<string, bigint> = Object.fromEntries(entries.map(([label], i) => [label, values[i]!]));
    return { session, token, holders, before };
  }

  /** No holder's balance changed since `snap` (records the before/after table either way). */
  async expectNoMoneyMoved(requirement: string, snap: BalanceSnapshot, what = 'no money moved'): Promise<void> {
    const entries = Object.entries(snap.holders);
    const values = await Promise.all(entries.map(([, a]) => snap.session.balanceOf(snap.token, a)));
    const after: Record<string, bigint> = Object.fromEntries(entries.map(([label], i) => [label, values[i]!]));
    snap.session.recordBalances(what, snap.token, snap.before, after);
    const fmt = (m: Record<string, bigint>) =>
      Object.entries(m)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
    this.check(
      requirement,
      Object.keys(after).every((k) => after[k] === snap.before[k]),
      what,
      { expected: fmt(snap.before), actual: fmt(after) },
    );
  }

  /**
   * Fetch JSON from the target and validate it against `schema`: a status other than `status`, a
   * body that is not JSON, or a schema mismatch (named by field path) violates `requirement`.
   */
  async json<T extends z.ZodType>(requirement: string, url: string, schema: T, opts: { init?: RequestInit; status?: StatusExpectation; what?: string } = {}): Promise<z.infer<T>> {
    const what = opts.what ?? `${opts.init?.method ?? 'GET'} ${new URL(url).pathname}`;
    const res = await this.fetch(url, opts.init);
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      this.check(requirement, false, `${what} answers JSON`, { expected: 'a JSON body', actual: `${res.status} ${text.slice(0, 200)}` });
    }
    this.expectStatus(requirement, { status: res.status, body }, opts.status ?? 200, `${what} answers ${opts.status ?? 200}`);
    const r = schema.safeParse(body);
    if (!r.success) {
      const i = r.error.issues[0]!;
      this.check(requirement, false, `${what}: the answer has the documented shape`, { expected: `${i.path.join('.') || '(body)'}: ${i.message}`, actual: show(body).slice(0, 300) });
    }
    return r.data as z.infer<T>;
  }

  /**
   * The private key of a role's EVM account; for a declared signer the target does not provide, a
   * throwaway key (holds no funds). Harness fault otherwise: declare the role in `roles` or `signers`.
   */
  key(role: string): Hex {
    const a = evmAccounts(this.target).find((x) => x.role === role);
    if (a) return a.privateKey as Hex;
    if (this.signers.includes(role)) return throwawayAccount(role).privateKey;
    throw new HarnessFault(`target declares no account for role '${role}' (and the scenario does not list it in roles or signers)`);
  }

  /**
   * A role's key of another kind (`ed25519`, `nostr`, `lightning`): `{privateKey, publicKey?}` as hex
   * without 0x. For a declared signer the target does not provide, the role's throwaway key of that
   * kind (the harness's derived test key). Harness fault otherwise.
   */
  keyOf(role: string, kind: 'ed25519' | 'nostr' | 'lightning'): { privateKey: string; publicKey?: string } {
    const a = this.target.accounts.find((x) => x.role === role && x.kind === kind) as { privateKey: string; publicKey?: string } | undefined;
    if (a) return { privateKey: a.privateKey, ...(a.publicKey ? { publicKey: a.publicKey } : {}) };
    if (this.signers.includes(role)) {
      const k = roleKey(`throwaway:${role}`, kind);
      return { privateKey: k.privateKey, publicKey: k.publicKey };
    }
    throw new HarnessFault(`target declares no ${kind} key for role '${role}' (and the scenario does not list it in roles or signers)`);
  }

  /** A declared endpoint (always an object: `{url, method?, body?, headers?}`). */
  endpoint(name: string): EndpointSpec {
    const e = endpointOf(this.target, name);
    if (!e) throw new HarnessFault(`target declares no '${name}' endpoint`);
    return e;
  }

  /**
   * The endpoint a crash-and-restart scenario talks to (capability `restart`): the restart control's
   * `url` when the target keeps a separate instance for crash tests, else the endpoint itself. Waits
   * until it answers (a separate instance may still be starting).
   */
  async restartable(name: string): Promise<EndpointSpec> {
    const { control, endpoint } = restartControlOf(this.target, name);
    await waitUntilAnswers(control.ready ?? endpoint.url, Date.now() + (control.timeoutMs ?? RESTART_TIMEOUT_MS), `the restartable '${name}'`);
    return endpoint;
  }

  /**
   * Crash and restart the server behind endpoint `name` with the target's restart control (SIGKILL,
   * no graceful shutdown), and wait until it answers again. Logged as an action.
   */
  async restart(name: string, why?: string): Promise<void> {
    this.act(`the '${name}' server is killed (SIGKILL) and restarted${why ? ` ${why}` : ''}`);
    const r = await restartEndpoint(this.target, name);
    this.evidence.note(`restart of '${name}': answering again after ${r.ms} ms${r.output ? ` (${r.output.slice(0, 200)})` : ''}`);
  }

  /**
   * The session for a chain (default: the first chain; or by label or `{chainId}`). With `snapshot`
   * isolation the first call in a run takes a snapshot that `close()` reverts.
   */
  async chain(sel?: ChainSelector): Promise<ChainSession> {
    const spec = sel === undefined ? this.target.chains[0] : typeof sel === 'string' ? this.target.chains.find((c) => c.id === sel) : this.target.chains.find((c) => c.chainId === sel.chainId);
    if (!spec) throw new HarnessFault(`target has no chain ${sel === undefined ? '(none declared)' : typeof sel === 'string' ? `'${sel}'` : `with chainId ${sel.chainId}`}`);
    const key = spec.id;
    let s = this.sessions.get(key);
    if (s) return s;
    const clients = this.clients.get(key);
    if (!clients) throw new HarnessFault(`no clients for chain '${key}'`);
    if (this.isolation === 'snapshot') {
      const height = await clients.public.getBlockNumber({ cacheTime: 0 });
      const snap = (await clients.test.snapshot()) as Hex;
      this.snapshots.set(key, { id: snap, height });
      if (this.reorgs) await mineUniqueBlock(spec.rpcUrl);
    }
    s = new ChainSession(clients, this.evidence, (role) => (this.signers.includes(role) ? privateKeyToAccount(throwawayAccount(role).privateKey) : undefined));
    this.sessions.set(key, s);
    return s;
  }

  /**
   * End of run: revert every chain touched to its snapshot and verify the height came back
   * (receipts were awaited by `attempt`, so nothing is still pending).
   */
  async close(): Promise<void> {
    for (const [key, snap] of this.snapshots) {
      const c = this.clients.get(key)!;
      // With the node's pool repair held (a chain this process started): it must not send a
      // stranded transaction of this run back onto the reverted chain.
      await withRepairHeld(c.spec.rpcUrl, () => this.revertChain(key, c, snap));
    }
    this.snapshots.clear();
    this.sessions.clear();
  }

  /** Reverts one chain to the run's snapshot: nothing left pending, the height back, the queue dropped. */
  private async revertChain(key: string, c: ChainClients, snap: { id: Hex; height: bigint }): Promise<void> {
    // anvil can report a just-mined tx as pending for a moment after eth_sendRawTransactionSync
    // returned its receipt, so poll briefly before calling leftover transactions a fault.
    let status: { pending: Hex } | undefined;
    for (let i = 0; i < 50; i++) {
      // Nodes without the txpool namespace (not anvil) skip this check; the height check still runs.
      status = (await c.test.request({ method: 'txpool_status' as never }).catch(() => undefined)) as { pending: Hex } | undefined;
      if (!status || BigInt(status.pending) === 0n) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    if (status && BigInt(status.pending) !== 0n) {
      const content = await c.test.request({ method: 'txpool_inspect' as never }).catch(() => undefined);
      throw new HarnessFault(`chain ${key}: ${BigInt(status.pending)} pending txs at end of run: ${JSON.stringify(content)}`);
    }
    // evm_revert answers false (no error) for a snapshot the node no longer has: say so, rather than
    // leave the height check to report a revert that never happened.
    const reverted = await c.test.request({ method: 'evm_revert', params: [snap.id] } as never);
    const h = await c.public.getBlockNumber({ cacheTime: 0 });
    if (reverted === false)
      throw new HarnessFault(`chain ${key}: the node refused to revert to the run's snapshot ${snap.id} (evm_revert answered false); height ${h}, the snapshot was at ${snap.height}`);
    if (h !== snap.height) throw new HarnessFault(`chain ${key}: height ${h} after revert, expected ${snap.height}`);
    if (status) await dropQueued(c);
  }
}

/**
 * Drops the queued transactions (a nonce above their sender's next one) left in the pool after a
 * run's revert. They belong to the run's world: a server's send numbered before the revert, or
 * above a lower nonce it lost. Left there, one is mined as soon as its sender's gap fills, in some
 * later run, as a transfer nobody in that run made (seen in a fresh clone: payTo +30000 where one
 * payment of 10000 was made).
 */
async function dropQueued(c: { test: { request: (a: never) => Promise<unknown> } }): Promise<void> {
  const pool = (await c.test.request({ method: 'txpool_status' } as never).catch(() => undefined)) as { pending: Hex; queued: Hex } | undefined;
  // anvil_dropTransaction leaves a queued one in place (measured); dropping all is exact here, since
  // nothing was pending at the revert and a send since would have been mined at once.
  if (pool && BigInt(pool.queued) > 0n && BigInt(pool.pending) === 0n) await c.test.request({ method: 'anvil_dropAllTransactions' } as never).catch(() => undefined);
}
