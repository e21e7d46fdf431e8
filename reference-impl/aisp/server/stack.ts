/**
 * Convenience wiring: the AISP reference backend and the lab's Venice-compatible inference server on
 * a running `base` chain from harness/chain, both following chain time. Two provider accounts exist
 * on the inference server (roles `provider` and `vendor1`), each with a deterministic ADMIN key (lab
 * secrets, published only through the target's `config.aisp.adminKeys`). Used by the service, serve.ts,
 * the kill table, the bench and this folder's tests.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunningChain } from '../../../harness/chain/index.ts';
import { DIEM } from '../protocol/profile.ts';
import { startAispBackend, type AispBackend, type AispBackendConfig } from './backend.ts';
import { chainClock } from './clock.ts';
import type { AispFaults } from './faults.ts';
import { startVeniceServer, type VeniceServer } from './venice.ts';

/** Roles that act as providers (each has its own account on the inference server). */
export const PROVIDER_ROLES = ['provider', 'vendor1'] as const;
/** DIEM each provider account may spend per epoch (1,000,000 DIEM: the lab never runs dry by accident). */
export const ACCOUNT_DIEM_PER_EPOCH = 1_000_000n * DIEM;

/** The lab ADMIN key of a provider role (deterministic, so targets can name it; never a real secret). */
export function labAdminKey(role: string): string {
  return `vn-admin-${createHash('sha256').update(`agentmarket-harness aisp lab admin key: ${role}`).digest('hex').slice(0, 48)}`;
}

export interface AispStackOptions {
  host?: string;
  faults?: AispFaults;
  /** Directory for the two SQLite files (default: a fresh temp dir, removed on stop). */
  dir?: string;
  backend?: Partial<AispBackendConfig>;
  log?: (msg: string) => void;
  /** The provider accounts on the inference server, each with its lab ADMIN key (default {@link PROVIDER_ROLES}). */
  providers?: readonly string[];
}

export interface AispStack {
  backend: AispBackend;
  venice: VeniceServer;
  /** ADMIN key per provider account. */
  adminKeys: Record<string, string>;
  /** The backend's config (restart with the same database). */
  backendConfig: AispBackendConfig;
  /** Stops the backend and starts another on the same database (restart survival). */
  restartBackend(overrides?: Partial<AispBackendConfig>): Promise<AispBackend>;
  stop(): Promise<void>;
}

/** Starts the inference server and the backend on `chain` (a `base` chain with the marketplace placed). */
export async function startAispStack(chain: RunningChain, o: AispStackOptions = {}): Promise<AispStack> {
  const marketplace = chain.profile.contracts.diemMarketplace;
  if (!marketplace) throw new Error(`chain profile ${chain.profile.id} has no diemMarketplace (use base)`);
  const own = !o.dir;
  const dir = o.dir ?? mkdtempSync(path.join(tmpdir(), 'aisp-'));
  const clock = chainClock(chain.rpcUrl);
  const providers = o.providers ?? PROVIDER_ROLES;
  const adminKeys = Object.fromEntries(providers.map((r) => [r, labAdminKey(r)]));
  const venice = await startVeniceServer({
    accounts: providers.map((r) => ({ id: r, adminKey: adminKeys[r]!, diemPerEpoch: ACCOUNT_DIEM_PER_EPOCH })),
    dbPath: path.join(dir, 'venice.sqlite'),
    host: o.host,
    clock,
    faults: o.faults,
    log: o.log,
  });
  const backendConfig: AispBackendConfig = {
    rpcUrl: chain.rpcUrl,
    chainId: chain.chainId,
    marketplace,
    veniceUrl: venice.url,
    dbPath: path.join(dir, 'aisp.sqlite'),
    host: o.host,
    faults: o.faults,
    log: o.log,
    ...o.backend,
  };
  let backend: AispBackend;
  try {
    backend = await startAispBackend(backendConfig);
  } catch (e) {
    await venice.stop();
    throw e;
  }
  const stack: AispStack = {
    backend,
    venice,
    adminKeys,
    backendConfig,
    async restartBackend(overrides = {}) {
      await stack.backend.stop();
      stack.backend = await startAispBackend({ ...backendConfig, ...overrides });
      return stack.backend;
    },
    async stop() {
      await stack.backend.stop();
      await venice.stop();
      if (own) rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}
