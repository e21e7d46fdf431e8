/**
 * Starting and stopping Base-shaped Anvil nodes (through prool's anvil instance).
 *
 * Normal start: load fixtures/chain-state/<profile>.json (contracts + funded accounts, made by
 * harness/scripts/gen-fixtures.ts); nothing is deployed at start-up. Fork start: fork a real RPC and
 * add only what is missing (see provision.ts).
 */
import { threadId } from 'node:worker_threads';
import { chmodSync, existsSync, mkdtempSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { Instance } from 'prool';
import type { Hex } from 'viem';
import { ROLE_MNEMONIC, roleAccounts } from './accounts.ts';
import { REPO_ROOT } from './paths.ts';
import { getProfile, type ChainProfile, type ChainProfileId } from './profiles.ts';
import type { FundingResult, PlacementResult } from './provision.ts';
import { rpcCall } from './rpc.ts';
import { closeRpcSocket, useRpcSocket } from './rpc-socket.ts';
import { processAlive } from './process.ts';
import { repairStuckTransactions, type PoolRepair, type PoolRepairRecord } from './pool-repair.ts';

/** Directory of the committed chain state fixtures. */
export const FIXTURE_DIR = path.join(REPO_ROOT, 'fixtures', 'chain-state');

/** Path of a profile's state fixture. */
export function fixturePath(profile: ChainProfileId): string {
  return path.join(FIXTURE_DIR, `${profile}.json`);
}

/**
 * Where anvils keep the block states they move out of memory (`--cache-path`): one directory per
 * anvil, `<pid of the process that started it>-<random>`. Anvil never deletes these files (without
 * `--cache-path` it writes them to ~/.foundry/anvil/tmp and leaves them there too: about 1 GB per
 * run; 78 GB had piled up), so the harness removes an anvil's directory when it stops it, and sweeps
 * those of processes that are gone (a process group killed mid-run cannot clean up after itself).
 */
export const ANVIL_STATE_ROOT = path.join(os.tmpdir(), 'amh-anvil-states');

/** A fresh state directory for one anvil, after removing those whose starting process is gone. */
function stateDirectory(): string {
  mkdirSync(ANVIL_STATE_ROOT, { recursive: true });
  for (const name of readdirSync(ANVIL_STATE_ROOT)) {
    const owner = Number(name.split('-')[0]);
    if (Number.isInteger(owner) && owner > 0 && !processAlive(owner)) rmSync(path.join(ANVIL_STATE_ROOT, name), { recursive: true, force: true });
  }
  return mkdtempSync(path.join(ANVIL_STATE_ROOT, `${process.pid}-`));
}

/**
 * Path of the anvil binary: $AMH_ANVIL_BIN, else the platform package of @foundry-rs/anvil (spawned
 * directly: its node wrapper costs a second process and ~50 ms), else node_modules/.bin/anvil.
 */
export function anvilBinary(): string {
  if (process.env.AMH_ANVIL_BIN) return process.env.AMH_ANVIL_BIN;
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const exe = process.platform === 'win32' ? 'anvil.exe' : 'anvil';
  try {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/package.json`);
    const bin = path.join(path.dirname(pkg), 'bin', exe);
    if (existsSync(bin)) return bin;
  } catch {
    // fall through to the npm shim
  }
  return path.join(REPO_ROOT, 'node_modules', '.bin', exe);
}

/**
 * A launcher that ends anvil when the process that started it dies. A harness process killed with
 * SIGKILL (a CI job's timeout, Stryker's, `kill -9`) runs no cleanup, and its anvils would keep
 * running, re-parented to init, each holding a port and up to a GB of memory. The launcher starts a
 * watcher that checks once a second that the parent is alive (and ends within a second of anvil), then becomes
 * anvil (`exec`): anvil stays the harness's direct child with the same pid, signals and exit status.
 * POSIX shells only: on Windows anvil is started directly.
 */
export function guardedAnvil(binary: string): string {
  if (process.platform === 'win32') return binary;
  const script = `#!/bin/sh
# agentmarket-harness: ends anvil when the process that started it is gone (harness/chain/anvil.ts).
parent=$PPID
self=$$
(
  while kill -0 $self 2>/dev/null; do
    if ! kill -0 $parent 2>/dev/null; then kill -TERM $self 2>/dev/null; exit 0; fi
    sleep 1
  done
) </dev/null >/dev/null 2>&1 &
exec ${shellWord(binary)} "$@"
`;
  const file = path.join(os.tmpdir(), `amh-anvil-guard-${createHash('sha256').update(script).digest('hex').slice(0, 16)}.sh`);
  if (!existsSync(file)) {
    // Written whole under another name, then renamed: a concurrent start never runs half a script.
    const part = `${file}.${process.pid}-${threadId}.part`;
    writeFileSync(part, script);
    chmodSync(part, 0o755);
    renameSync(part, file);
  }
  return file;
}

const shellWord = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * A URL safe to print: RPC providers put API keys in the path, query or user info, so only the
 * origin is kept when there is more (`https://host/…`).
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const hasSecretParts = u.username !== '' || u.password !== '' || u.search !== '' || (u.pathname !== '/' && u.pathname !== '');
    return hasSecretParts ? `${u.protocol}//${u.host}/…` : `${u.protocol}//${u.host}`;
  } catch {
    return '<invalid URL>';
  }
}

/** A started chain. `stop()` ends the anvil process (idempotent). */
export interface RunningChain {
  profile: ChainProfile;
  rpcUrl: string;
  port: number;
  chainId: number;
  stop(): Promise<void>;
  /** Host the node listens on. */
  host: string;
  /** Present when the chain is a fork: upstream URL and block, and what was added on top. */
  fork?: { url: string; blockNumber?: bigint; placements: PlacementResult[]; funding: FundingResult[] };
  /** OS process id of anvil (for diagnostics and orphan checks). */
  pid?: number;
  /**
   * Settles only if anvil exits without `stop()` (crash, killed from outside): resolves with the
   * exit code/signal. Never settles for a normal stop.
   */
  crashed?: Promise<{ code: number | null; signal: string | null }>;
  /** The repair of anvil's stuck transactions (pool-repair.ts), unless turned off. */
  poolRepair?: PoolRepair;
}

/** Options of {@link startChain}. */
export interface StartChainOptions {
  profile: ChainProfileId;
  /** Port; default 0 = a free port chosen by the OS (no race between parallel workers). */
  port?: number;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Fork this RPC instead of loading the fixture. Default: $BASE_RPC_URL / $BASE_SEPOLIA_RPC_URL. */
  forkUrl?: string;
  forkBlockNumber?: bigint;
  /**
   * `fixture` (default): load the committed state; `blank`: empty chain with funded ETH only
   * (used by gen-fixtures). Env fork URLs are ignored for `blank`.
   */
  state?: 'fixture' | 'blank';
  /** Start timeout in ms (default 20 s; a fork may need to reach the network). */
  timeoutMs?: number;
  /**
   * Keep anvil's per-request log lines (default false: nobody reads them, and piping them costs
   * this process CPU on every RPC call; measured ~10-30% more sequential calls/s without).
   */
  logging?: boolean;
  /** Genesis block timestamp (unix seconds) for a `blank` chain; default: now. */
  genesisTimestamp?: bigint;
  /**
   * Keep only this many past block states, in memory, and none on disk (`--prune-history N`). By
   * default anvil writes every state it moves out of memory to disk: about 2 MB per block on the
   * fixture chains, 24 GB over a 10,000-task simulation, and each write costs the node CPU. For runs
   * that never reorg deeply or read old state (`amh run`'s reference chains, `amh load`, `amh
   * simulate`): rollbacks deeper than N blocks then fail ("Required data unavailable"), snapshots
   * still revert. `amh up` keeps anvil's default (a lab someone may query at any block).
   */
  pruneHistory?: number;
  /**
   * Repair transactions anvil leaves queued at their sender's next nonce (pool-repair.ts; default
   * true). Off only for a test that wants to see the stall.
   */
  repairStuckTransactions?: boolean;
  /** Told of every repair (`amh up` logs them: a certify run against its chains cannot see them). */
  onPoolRepair?: (r: PoolRepairRecord) => void;
}

/** Past block states kept by the chains of runs that never reorg deeply (`amh run`'s reference, `amh load`, `amh simulate`). */
export const LONG_RUN_STATES = 256;

/** Thrown when the requested port is taken. */
export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly host: string,
    readonly profile: ChainProfileId,
  ) {
    super(`port ${port} on ${host} is already in use (anvil for chain profile '${profile}'). Choose another port with --port <n> (or omit --port to use a free one).`);
    this.name = 'PortInUseError';
  }
}

/**
 * Start one Anvil node shaped like the profile's chain.
 *
 * Ready when this resolves: chain id checked, fixture loaded (or, forking, missing contracts placed
 * and role accounts funded).
 * @throws PortInUseError when the port is taken; an Error naming `npm run gen` when the fixture is
 * missing.
 */
export async function startChain(opts: StartChainOptions): Promise<RunningChain> {
  const profile = getProfile(opts.profile);
  const host = opts.host ?? '127.0.0.1';
  const requestedPort = opts.port ?? 0;
  const state = opts.state ?? 'fixture';
  // The profile names the env var (BASE_RPC_URL, ...) whose URL turns a start into a fork start.
  const envFork = state === 'fixture' && profile.forkUrlEnv ? process.env[profile.forkUrlEnv] : undefined;
  const forkUrl = opts.forkUrl ?? (envFork && envFork.trim() !== '' ? envFork.trim() : undefined);

  // prool passes every key through as a flag; its type does not list --cache-path.
  const args: Instance.anvil.Parameters & { cachePath: string } = {
    binary: guardedAnvil(anvilBinary()),
    host,
    port: requestedPort,
    chainId: profile.chainId,
    mnemonic: ROLE_MNEMONIC,
    accounts: roleAccounts.length,
    gasLimit: profile.node.gasLimit,
    blockBaseFeePerGas: profile.node.baseFeePerGas,
    cachePath: stateDirectory(),
    ...(opts.pruneHistory !== undefined ? { pruneHistory: opts.pruneHistory } : {}),
  };
  if (forkUrl) {
    // A fork of another chain under this profile's chain id would pass every check and be wrong.
    let upstream: number;
    try {
      upstream = Number(BigInt(await rpcCall<Hex>(forkUrl, 'eth_chainId')));
    } catch (err) {
      throw new Error(`cannot reach fork URL ${redactUrl(forkUrl)}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (upstream !== profile.chainId) {
      throw new Error(`fork URL ${redactUrl(forkUrl)} serves chain id ${upstream}, but profile '${profile.id}' is chain ${profile.chainId}`);
    }
    args.forkUrl = forkUrl;
    if (opts.forkBlockNumber !== undefined) args.forkBlockNumber = opts.forkBlockNumber;
  } else if (state === 'blank') {
    if (opts.genesisTimestamp !== undefined) args.timestamp = opts.genesisTimestamp;
  } else {
    const fixture = fixturePath(profile.id);
    if (!existsSync(fixture)) {
      throw new Error(`chain state fixture missing: ${path.relative(REPO_ROOT, fixture)}. Run \`npm run gen\` to create it.`);
    }
    args.loadState = fixture;
  }

  const instance = Instance.anvil(args, { timeout: opts.timeoutMs ?? 20_000, messageBuffer: 50 });
  let listening: { host: string; port: number } | undefined;
  const onStdout = (message: string) => {
    const m = /Listening on (\S+):(\d+)/.exec(message);
    if (m) listening = { host: m[1]!, port: Number(m[2]) };
  };
  // prool rejects on the first stderr chunk, which may hold only "Error"; keep all of it.
  let stderr = '';
  const onStderr = (message: string) => {
    stderr += message;
  };
  instance.on('stdout', onStdout);
  instance.on('stderr', onStderr);
  try {
    await instance.start();
  } catch (err) {
    rmSync(args.cachePath, { recursive: true, force: true });
    const text = `${err instanceof Error ? err.message : String(err)}\n${stderr}`;
    if (/address already in use|os error 98|os error 48|AddrInUse/i.test(text) || (requestedPort !== 0 && (await portTaken(host, requestedPort)))) {
      throw new PortInUseError(requestedPort, host, profile.id);
    }
    const shown = forkUrl ? text.split(forkUrl).join(redactUrl(forkUrl)) : text;
    throw new Error(`anvil for chain profile '${profile.id}' failed to start: ${shown.trim()}`);
  } finally {
    instance.off('stdout', onStdout);
    instance.off('stderr', onStderr);
  }
  const pid = instance._internal.process?.pid;
  // Detached before a deliberate stop, so 'exit' here means a crash.
  let onCrash: (code: number | null, signal: string | null) => void = () => {};
  const crashed = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    onCrash = (code, signal) => resolve({ code, signal });
    instance.once('exit', onCrash);
  });
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= endAnvil().catch(() => undefined));
  // prool's stop() removes every listener of the child, execa's own 'exit' listener included, before
  // it sends SIGTERM; execa then never sees the exit and keeps its 5 s force-kill timer armed, so each
  // process that stopped a chain lingered 5 s before exiting (amh run: 4.7 s of work, exit at 9.8 s).
  // End anvil first, while execa still listens; prool's stop() then finds it gone and arms nothing.
  let socketUrl: string | undefined;
  let poolRepair: PoolRepair | undefined;
  async function endAnvil(): Promise<void> {
    instance.off('exit', onCrash);
    poolRepair?.stop();
    if (socketUrl) closeRpcSocket(socketUrl);
    const child = instance._internal.process;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        setTimeout(resolve, 5_000).unref();
      });
      try {
        process.kill(child.pid, 'SIGTERM');
        await gone;
      } catch {
        // already gone
      }
    }
    await instance.stop();
    rmSync(args.cachePath, { recursive: true, force: true });
  }

  try {
    if (!listening) throw new Error(`anvil for '${profile.id}' did not report its listening address`);
    // A wildcard listen address is not a place to connect to: print loopback instead.
    const connectHost = listening.host === '0.0.0.0' ? '127.0.0.1' : listening.host === '::' || listening.host === '[::]' ? '::1' : listening.host;
    const urlHost = connectHost.includes(':') && !connectHost.startsWith('[') ? `[${connectHost}]` : connectHost;
    const rpcUrl = `http://${urlHost}:${listening.port}`;
    const chainIdHex = await rpcCall<Hex>(rpcUrl, 'eth_chainId');
    const chainId = Number(BigInt(chainIdHex));
    if (chainId !== profile.chainId) {
      throw new Error(`anvil for '${profile.id}' reports chain id ${chainId}, expected ${profile.chainId}`);
    }
    // From here on this process's JSON-RPC calls to this anvil go over WebSockets (rpc-socket.ts).
    useRpcSocket(rpcUrl);
    socketUrl = rpcUrl;
    if (!opts.logging) await rpcCall(rpcUrl, 'anvil_setLoggingEnabled', [false]);
    const running: RunningChain = { profile, rpcUrl, port: listening.port, chainId, host, stop, pid, crashed };
    if (opts.repairStuckTransactions !== false) {
      // A repair that could not send something back changed what the sender sees: say so.
      const onRepair = (r: PoolRepairRecord) => {
        for (const l of r.lost) process.stderr.write(`anvil ${rpcUrl}: a stranded transaction of ${r.sender} (nonce ${l.nonce}, ${l.hash}) could not be sent back: ${l.reason}\n`);
        opts.onPoolRepair?.(r);
      };
      running.poolRepair = poolRepair = repairStuckTransactions(rpcUrl, { onRepair });
    }
    if (args.loadState) {
      // The fixture's head block carries the time the fixture was made; mine one so that `latest`
      // (what servers and clients read as chain time) starts at the host's clock.
      await rpcCall(rpcUrl, 'evm_mine');
    }
    if (forkUrl) {
      // Only what is missing: present contracts keep their upstream code and storage.
      // Loaded here only: provisioning needs viem, which a fixture start does not.
      const { fundRoleAccounts, placeContracts } = await import('./provision.ts');
      const placements = await placeContracts(running, { onlyMissing: true });
      const funding = await fundRoleAccounts(running);
      running.fork = { url: forkUrl, blockNumber: opts.forkBlockNumber, placements, funding };
    }
    return running;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Whether binding host:port fails with EADDRINUSE (used to explain a failed start). */
function portTaken(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'EADDRINUSE'));
    probe.listen(port, host, () => probe.close(() => resolve(false)));
  });
}

/** Block height at each snapshot (key: rpcUrl#id), so revert can prove the chain really went back. */
const snapshotHeights = new Map<string, bigint>();

/**
 * Take an EVM snapshot. Await every receipt before calling this (a send can return before its
 * block is mined).
 */
export async function snapshot(rpcUrl: string): Promise<Hex> {
  const blockNumber = async () => BigInt(await rpcCall<Hex>(rpcUrl, 'eth_blockNumber'));
  const before = await blockNumber();
  const id = await rpcCall<Hex>(rpcUrl, 'evm_snapshot');
  const after = await blockNumber();
  // A block mined between the two reads leaves the snapshot's height unknown, and revert() would
  // later blame the run for it: say so here, where it happened.
  if (before !== after) throw new Error(`evm_snapshot(${id}): a block was mined while the snapshot was taken (block ${before} → ${after}); something is still sending or mining`);
  snapshotHeights.set(`${rpcUrl}#${id}`, after);
  return id;
}

/**
 * Mines one empty block whose hash no other block of this chain shares: its beneficiary is a
 * random address (the chain's coinbase is set back afterwards).
 *
 * Why: anvil 1.7 keeps past block states in a first-in-first-out list of block hashes (with
 * `--prune-history N`, N of them). A block that runs keep reverting to is stored again each time a
 * block is mined on top of it, under the same hash, and the older entries stay in the list: when
 * one of them is evicted, it takes the state just stored with it. A reorg down to that block then
 * fails with "Required data unavailable" (reproduced: about 100 runs of snapshot, 3 blocks, a
 * 3-block reorg, revert; harness/chain/reorg.test.ts). Empty blocks mined in the same second on the same
 * parent share a hash too. A reorg down to a block no earlier run mined never meets a stale entry.
 */
export async function mineUniqueBlock(rpcUrl: string): Promise<void> {
  const coinbase = await rpcCall<Hex>(rpcUrl, 'eth_coinbase');
  await rpcCall(rpcUrl, 'anvil_setCoinbase', [`0x${randomBytes(20).toString('hex')}`]);
  try {
    await rpcCall(rpcUrl, 'evm_mine');
  } finally {
    await rpcCall(rpcUrl, 'anvil_setCoinbase', [coinbase]);
  }
}

/**
 * Revert to a snapshot, then check the chain is really back: same height as at {@link snapshot}
 * and no pending transaction (DESIGN rule 5: an un-awaited send can land after the revert).
 * A snapshot id is consumed by reverting (anvil refuses to reuse it): take a new one afterwards.
 * @throws if anvil does not know the id, or the chain is not back where it was.
 */
export async function revert(rpcUrl: string, id: Hex): Promise<void> {
  const key = `${rpcUrl}#${id}`;
  const ok = await rpcCall<boolean>(rpcUrl, 'evm_revert', [id]);
  const expected = snapshotHeights.get(key);
  snapshotHeights.delete(key);
  if (!ok) throw new Error(`evm_revert(${id}) failed: unknown or already used snapshot id`);
  const [height, firstPool] = await Promise.all([rpcCall<Hex>(rpcUrl, 'eth_blockNumber'), rpcCall<{ pending: Hex; queued: Hex }>(rpcUrl, 'txpool_status')]);
  let pool = firstPool;
  // anvil may list a just-mined (sync-sent) tx as pending for a few ms: give it up to 0.5 s.
  for (let i = 0; i < 50 && (BigInt(pool.pending) !== 0n || BigInt(pool.queued) !== 0n); i++) {
    await new Promise((r) => setTimeout(r, 10));
    pool = await rpcCall<{ pending: Hex; queued: Hex }>(rpcUrl, 'txpool_status');
  }
  if (expected !== undefined && BigInt(height) !== expected) {
    throw new Error(`after evm_revert(${id}) the chain is at block ${BigInt(height)}, not ${expected}: a transaction was still being mined (await every receipt before reverting)`);
  }
  if (BigInt(pool.pending) !== 0n || BigInt(pool.queued) !== 0n) {
    throw new Error(`after evm_revert(${id}) ${BigInt(pool.pending)} pending / ${BigInt(pool.queued)} queued transactions remain (await every receipt before reverting)`);
  }
}

/**
 * The node's whole state as the JSON object `--load-state` accepts (anvil_dumpState returns it as
 * hex of gzipped JSON in anvil 1.x; plain JSON hex is tolerated).
 */
export async function dumpState(rpcUrl: string): Promise<Record<string, unknown>> {
  const hex = await rpcCall<Hex>(rpcUrl, 'anvil_dumpState');
  const buf = Buffer.from(hex.slice(2), 'hex');
  const json = buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf).toString('utf8') : buf.toString('utf8');
  return JSON.parse(json) as Record<string, unknown>;
}
