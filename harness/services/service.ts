/**
 * Reference services: the servers a protocol pack runs beside the chains (an Agentripe server, an
 * x402 facilitator and resource, a Nostr relay...). A pack declares them once, in
 * `reference-impl/<id>/service.ts` (default export: one definition or a list), and both `amh up`
 * and the reference Target of `amh run` start them from that one declaration, only when a selected
 * protocol needs them.
 *
 * The lifecycle follows prool's Instance shape (`start` / `stop` / `restart`, a `status`, and an
 * `exit` event for a crash), written small here because a service publishes several named
 * endpoints and Target facts rather than one host:port.
 */
import { EventEmitter } from 'node:events';
import type { RunningChain } from '../chain/anvil.ts';
import type { Capability, RestartControl } from '../target/schema.ts';
import type { Profile } from '../profiles/profile.ts';

/** What a service gets when it starts. */
export interface ServiceContext {
  /** Every chain started (a service picks those it runs on). */
  chains: RunningChain[];
  /** Listen address for its servers (127.0.0.1 unless `amh up --host`). */
  host: string;
  /** A log line for humans. */
  log(line: string): void;
  /**
   * The what-if profile (`--profile`), absent or null for the defaults: a service configures its
   * servers and contracts with `<PACK>_CONSTANTS.of(ctx.profile)`.
   */
  profile?: Profile | null;
  /**
   * The capabilities the selected scenarios need (`amh run` computes them), absent for "any"
   * (`amh up`): a service may skip a part only such scenarios use (Agentripe's crashable child for
   * `restart`), since nothing would ask for it.
   */
  wants?: ReadonlySet<Capability>;
}

/** An endpoint a service publishes in the Target: a URL, or a resource with its method and body. */
export type PublishedEndpoint = string | { url: string; method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'; body?: unknown; headers?: Record<string, string> };

/** A started service. */
export interface StartedService {
  /** Target endpoints by name (names are declared by the protocols, e.g. `agentripe`, `x402-resource`). */
  endpoints?: Record<string, PublishedEndpoint>;
  /** Capabilities this deployment grants (e.g. `agentripe:review-fixture` when wired to the fixture reviewer). */
  capabilities?: Capability[];
  /** Per-protocol target config sections it implies. */
  config?: Record<string, unknown>;
  /** Crash-and-restart controls by endpoint name (with the capability `restart`): see harness/target/schema.ts. */
  restart?: Record<string, RestartControl>;
  /** Extra facts `amh up` prints (JSON-serialisable): helper URLs, keys, notes. */
  facts?: Record<string, unknown>;
  /**
   * Makes the service forget everything it learned since it started, right after the harness
   * reverted its chains to where they were then (`amh run` does so between scenarios, so that no
   * scenario meets the state the ones before it left: measured, anvil's cost per block grows with
   * its whole state). Called only while no request is in flight. A service without it keeps its
   * chains from being reverted.
   */
  reset?(): Promise<void>;
  stop(): Promise<void>;
}

/** A reference service, declared by a protocol pack. */
export interface ServiceDefinition {
  /** Unique name, e.g. `agentripe`, `x402-demo`. */
  name: string;
  /** Protocols whose scenarios talk to it: `amh run --protocol P` starts only the services of P. */
  protocols: readonly string[];
  /** Chain profiles it runs on; it is skipped (with a log line) when none of them is started. `[]`: it needs no chain. */
  chains: readonly string[];
  start(ctx: ServiceContext): Promise<StartedService>;
}

/** Validate a definition when its pack loads. */
export function defineService(d: ServiceDefinition): ServiceDefinition {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(d.name)) throw new Error(`service name '${d.name}' must be kebab-case`);
  if (d.protocols.length === 0) throw new Error(`service ${d.name} names no protocol`);
  return d;
}

/** How long a service may take to start and to stop: a hanging server must not hang `amh run` or `amh up`. */
const START_MS = 120_000;
const STOP_MS = 30_000;

/** `p`, or a rejection with `message` after `ms`. */
function withinTime<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export type ServiceStatus = 'idle' | 'starting' | 'started' | 'stopping' | 'stopped' | 'restarting';

/**
 * One service's lifecycle: `start(ctx)` once (a second call while starting joins the first),
 * `stop()` idempotent, `restart()` = stop then start with the same context. Emits `exit` with a
 * reason if the service reports it died (see {@link ServiceInstance.crashed}).
 */
export class ServiceInstance extends EventEmitter<{ exit: [reason: string] }> {
  private state: ServiceStatus = 'idle';
  private running?: StartedService;
  private starting?: Promise<StartedService>;
  private ctx?: ServiceContext;

  constructor(
    readonly definition: ServiceDefinition,
    /** Time limits (tests shorten them). */
    private readonly limits: { startMs: number; stopMs: number } = { startMs: START_MS, stopMs: STOP_MS },
  ) {
    super();
  }

  get name(): string {
    return this.definition.name;
  }

  get status(): ServiceStatus {
    return this.state;
  }

  /** What the started service published (throws when it is not started). */
  get started(): StartedService {
    if (!this.running) throw new Error(`service ${this.name} is ${this.state}`);
    return this.running;
  }

  async start(ctx: ServiceContext): Promise<StartedService> {
    if (this.state === 'starting' && this.starting) return this.starting;
    if (this.state !== 'idle' && this.state !== 'stopped' && this.state !== 'restarting') throw new Error(`service ${this.name} is ${this.state}, not idle or stopped`);
    this.ctx = ctx;
    this.state = this.state === 'restarting' ? 'restarting' : 'starting';
    this.starting = withinTime(this.definition.start(ctx), this.limits.startMs, `did not start within ${this.limits.startMs / 1000} s`).then(
      (s) => {
        this.running = s;
        this.state = 'started';
        return s;
      },
      (e) => {
        this.state = 'idle';
        throw new Error(`service ${this.name} failed to start: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      },
    );
    try {
      return await this.starting;
    } finally {
      this.starting = undefined;
    }
  }

  async stop(): Promise<void> {
    if (!this.running || this.state === 'stopped') return;
    this.state = 'stopping';
    const r = this.running;
    this.running = undefined;
    try {
      await withinTime(r.stop(), this.limits.stopMs, `service ${this.name} did not stop within ${this.limits.stopMs / 1000} s`);
    } finally {
      this.state = 'stopped';
    }
  }

  async restart(): Promise<StartedService> {
    if (!this.ctx) throw new Error(`service ${this.name} was never started`);
    await this.stop();
    this.state = 'restarting';
    return this.start(this.ctx);
  }

  /** Whether the service can be reset (see {@link StartedService.reset}). */
  get resettable(): boolean {
    return typeof this.running?.reset === 'function';
  }

  /** {@link StartedService.reset}, within the stop time limit. */
  async reset(): Promise<void> {
    const r = this.started;
    if (!r.reset) throw new Error(`service ${this.name} cannot be reset`);
    await withinTime(r.reset(), this.limits.stopMs, `service ${this.name} did not reset within ${this.limits.stopMs / 1000} s`);
  }

  /** Report that the service died on its own (emits `exit`; the owner decides what to stop). */
  crashed(reason: string): void {
    this.running = undefined;
    this.state = 'stopped';
    this.emit('exit', reason);
  }
}
