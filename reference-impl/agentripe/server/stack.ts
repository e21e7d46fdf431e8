/**
 * Convenience wiring: an Agentripe server (plus our x402 facilitator) on a running base-sepolia
 * chain from harness/chain, with the role accounts of the fixture. Used by this folder's tests and
 * available to `amh up` / the default Target.
 */
import { tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Address, Hex } from 'viem';
import { roleAccount, tokenOf, type RunningChain } from '../../../harness/chain/index.ts';
import { startFacilitator, type FacilitatorFaults, type RunningFacilitator } from '../../x402/server/facilitator.ts';
import { startAgentripeServer, type AgentripeServer, type AgentripeServerConfig } from './server.ts';

/** Addresses of an Agentripe deployment on a profile chain. */
export function agentripeAddresses(chain: RunningChain): { usdc: Address; identityRegistry: Address; reputationRegistry: Address; escrow: Address } {
  const c = chain.profile.contracts;
  const escrow = c.agentripeEscrow;
  if (!escrow) throw new Error(`chain profile ${chain.profile.id} has no agentripeEscrow (use base-sepolia)`);
  return {
    usdc: c.usdc!,
    identityRegistry: c.identityRegistry!,
    // The seed names the older reputation address; the lab places a registry there too.
    reputationRegistry: c.legacyReputationRegistry ?? c.reputationRegistry!,
    escrow,
  };
}

/** A running Agentripe stack. */
export interface AgentripeStack {
  server: AgentripeServer;
  facilitator: RunningFacilitator;
  /** Server config used (reuse it with the same dbPath to restart). */
  config: AgentripeServerConfig;
  dbPath: string;
  /** Starts another server on the same DB (after `server.stop()`), e.g. to test restarts. */
  restart(overrides?: Partial<AgentripeServerConfig>): Promise<AgentripeServer>;
  stop(): Promise<void>;
}

/** Starts facilitator + server on `chain`. Roles: operator = escrow operator, admin = registrar. */
export async function startAgentripeStack(
  chain: RunningChain,
  {
    facilitatorKey,
    facilitatorRpcUrl,
    facilitatorVia,
    facilitatorFaults,
    ...overrides
  }: Partial<AgentripeServerConfig> & {
    facilitatorKey?: Hex;
    /** Test-only defects of the facilitator (kill tables). */
    facilitatorFaults?: FacilitatorFaults;
    /** The facilitator's own RPC URL (default: the chain's); the bench counts its calls apart from the server's. */
    facilitatorRpcUrl?: string;
    /** What the server is given as the facilitator URL (default: the facilitator's own); the bench puts a timer there. */
    facilitatorVia?: (url: string) => Promise<string>;
  } = {},
): Promise<AgentripeStack> {
  const dir = mkdtempSync(path.join(tmpdir(), 'agentripe-'));
  const dbPath = overrides.dbPath ?? path.join(dir, 'agentripe.sqlite');
  const facilitator = await startFacilitator({
    rpcUrl: facilitatorRpcUrl ?? chain.rpcUrl,
    privateKey: facilitatorKey ?? roleAccount('provider').privateKey,
    host: overrides.host,
    faults: facilitatorFaults,
  });
  const config: AgentripeServerConfig = {
    rpcUrl: chain.rpcUrl,
    chainId: chain.chainId,
    addresses: agentripeAddresses(chain),
    usdcDomain: { name: tokenOf(chain.profile, 'usdc').name, version: tokenOf(chain.profile, 'usdc').version },
    operatorPrivateKey: roleAccount('operator').privateKey,
    registrarPrivateKey: roleAccount('admin').privateKey,
    facilitatorUrl: facilitatorVia ? await facilitatorVia(facilitator.url) : facilitator.url,
    dbPath,
    ...overrides,
  };
  let server: AgentripeServer;
  try {
    server = await startAgentripeServer(config);
  } catch (e) {
    await facilitator.stop();
    throw e;
  }
  const stack: AgentripeStack = {
    server,
    facilitator,
    config,
    dbPath,
    async restart(more = {}) {
      await stack.server.stop();
      stack.server = await startAgentripeServer({ ...config, ...more });
      return stack.server;
    },
    async stop() {
      await stack.server.stop();
      await facilitator.stop();
      if (!overrides.dbPath) rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}
