/**
 * `amh up`: start the chains (and, as later issues add them, every reference server), print what a
 * client developer needs (RPC URLs, chain ids, contract addresses, funded keys, endpoints), and stay
 * up until SIGINT/SIGTERM, then stop every child cleanly.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
// Imported module by module, not from chain/index.ts: the index pulls in viem (~0.3-0.5 s of
// start-up), which `amh up` does not need on its ready path.
import { FORK_URL_ENV, PortInUseError, redactUrl, startChain, type RunningChain } from '../../chain/anvil.ts';
import { ROLE_MNEMONIC, roleAccounts } from '../../chain/accounts.ts';
import { CHAIN_PROFILE_IDS, isChainProfileId, type ChainProfileId } from '../../chain/profiles.ts';
import { rpcCall } from '../../chain/rpc.ts';
import { formatBaseUnits } from '../../util/money.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** One line for `amh --help`. */
export const summary = 'start the chains (+ reference servers) and keep them up; prints RPC URLs, addresses, funded keys';

const USAGE = `Usage: amh up [options]

Starts Base-shaped Anvil chains loaded from fixtures/chain-state/ (contracts at their canonical
addresses, role accounts funded) and keeps them up until Ctrl-C / SIGTERM.

Options:
  --profile <id>             chain profile to start; repeatable (default: ${CHAIN_PROFILE_IDS.join(' and ')})
  --port <n>                 RPC port of the first chain; the next ones use n+1, n+2... (default: free ports)
  --host <addr>              listen address (default: 127.0.0.1)
  --fork-url <url>           fork this RPC instead of loading the fixture; needs exactly one --profile
                             (env: ${Object.values(FORK_URL_ENV).join(', ')} fork per profile)
  --fork-block-number <n>    block to fork at (with --fork-url)
  --chains-only              start no services, only the chains
  --json                     print one JSON document on a single stdout line; logs go to stderr
  --help                     this text

Exit codes: 0 after a clean stop, 2 on a usage error or when a chain cannot start (e.g. port in use).
The printed private keys are PUBLIC TEST KEYS (mnemonic in harness/chain/accounts.ts): never fund
them on a real network.`;

/** Context given to every service started by `amh up`. */
export interface UpContext {
  chains: RunningChain[];
  host: string;
  /** Log line for humans (stderr in --json mode). */
  log(line: string): void;
}

/** A started service: what to print about it, how to stop it. */
export interface RunningService {
  /** JSON-serialisable facts: endpoints (`{ name: url }`), notes... */
  describe(): { endpoints?: Record<string, string>; [k: string]: unknown };
  stop(): Promise<void>;
}

/** A service `amh up` starts after the chains (reference servers, facilitators, relays...). */
export interface UpService {
  name: string;
  start(ctx: UpContext): Promise<RunningService>;
}

/**
 * Services started after the chains, in order (stopped in reverse). Two ways in:
 * - append to this array, or
 * - (preferred, no edit here) add `reference-impl/<protocol>/service.ts` exporting
 *   `upService: UpService` or `upServices: UpService[]`; {@link discoverServices} picks it up
 *   (protocols in alphabetical order).
 */
export const upServices: UpService[] = [];

/** File name that makes a reference implementation's service known to `amh up`. */
export const SERVICE_FILE = 'service.ts';

/** The services of every `reference-impl/<protocol>/service.ts`, then {@link upServices}. */
export async function discoverServices(root = path.join(REPO_ROOT, 'reference-impl')): Promise<UpService[]> {
  const found: UpService[] = [];
  const dirs = existsSync(root)
    ? readdirSync(root, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort()
    : [];
  for (const dir of dirs) {
    const file = path.join(root, dir, SERVICE_FILE);
    if (!existsSync(file)) continue;
    const mod = (await import(pathToFileURL(file).href)) as { upService?: UpService; upServices?: UpService[] };
    const list = mod.upServices ?? (mod.upService ? [mod.upService] : []);
    if (list.length === 0) throw new Error(`${path.relative(REPO_ROOT, file)} exports neither upService nor upServices`);
    found.push(...list);
  }
  return [...found, ...upServices];
}

/** What `amh up --json` prints (amounts are decimal strings of base units). */
export interface UpDescription {
  chains: {
    profile: ChainProfileId;
    name: string;
    chainId: number;
    /** CAIP-2 id, as x402 names networks (`eip155:8453`). */
    network: string;
    rpcUrl: string;
    port: number;
    pid?: number;
    fork?: { url: string; blockNumber?: string; placed: string[]; present: string[] };
    usdc: { address: string; name: string; version: string; decimals: number };
    contracts: Record<string, string>;
  }[];
  accounts: { role: string; address: string; privateKey: string; balances: Record<string, { eth: string; usdc: string }> }[];
  mnemonic: string;
  services: { name: string; endpoints?: Record<string, string>; [k: string]: unknown }[];
  readyMs: number;
}

/** ERC-20 balanceOf(address) calldata, encoded by hand (no ABI library on this path). */
function balanceOfCall(address: string): string {
  return `0x70a08231${address.slice(2).toLowerCase().padStart(64, '0')}`;
}

async function describe(chains: RunningChain[], services: { name: string; svc: RunningService }[], readyMs: number): Promise<UpDescription> {
  const balances = await Promise.all(
    chains.map(async (chain) => {
      return Promise.all(
        roleAccounts.map(async (a) => ({
          eth: BigInt(await rpcCall<string>(chain.rpcUrl, 'eth_getBalance', [a.address, 'latest'])),
          usdc: BigInt(await rpcCall<string>(chain.rpcUrl, 'eth_call', [{ to: chain.profile.usdc.address, data: balanceOfCall(a.address) }, 'latest'])),
        })),
      );
    }),
  );
  return {
    chains: chains.map((c) => ({
      profile: c.profile.id,
      name: c.profile.name,
      chainId: c.chainId,
      network: `eip155:${c.chainId}`,
      rpcUrl: c.rpcUrl,
      port: c.port,
      pid: c.pid,
      fork: c.fork && {
        url: redactUrl(c.fork.url),
        blockNumber: c.fork.blockNumber?.toString(),
        placed: c.fork.placements.filter((p) => p.action === 'placed').map((p) => p.key),
        present: c.fork.placements.filter((p) => p.action === 'present').map((p) => p.key),
      },
      usdc: { ...c.profile.usdc },
      contracts: { ...c.profile.contracts },
    })),
    accounts: roleAccounts.map((a, i) => ({
      role: a.role,
      address: a.address,
      privateKey: a.privateKey,
      balances: Object.fromEntries(chains.map((c, ci) => [c.profile.id, { eth: balances[ci]![i]!.eth.toString(), usdc: balances[ci]![i]!.usdc.toString() }])),
    })),
    mnemonic: ROLE_MNEMONIC,
    services: services.map(({ name, svc }) => ({ name, ...svc.describe() })),
    readyMs,
  };
}

/** Human-readable rendering of {@link UpDescription}. */
export function renderText(d: UpDescription): string {
  const out: string[] = [];
  out.push(`amh up: ready in ${d.readyMs} ms`, '');
  for (const c of d.chains) {
    out.push(`${c.name} (${c.profile}) chainId ${c.chainId} (${c.network})  RPC ${c.rpcUrl}${c.fork ? `  [fork of ${c.fork.url}; added: ${c.fork.placed.join(', ') || 'nothing'}]` : ''}`);
    out.push(`  USDC ${c.usdc.address}  EIP-712 domain "${c.usdc.name}" / "${c.usdc.version}", ${c.usdc.decimals} decimals`);
    for (const [k, a] of Object.entries(c.contracts)) if (k !== 'usdc') out.push(`  ${k.padEnd(26)} ${a}`);
    out.push('');
  }
  out.push('Funded accounts (PUBLIC TEST KEYS, local use only):');
  for (const a of d.accounts) {
    const bal = Object.entries(a.balances)
      .map(([p, b]) => `${p}: ${formatBaseUnits(BigInt(b.eth), 18)} ETH, ${formatBaseUnits(BigInt(b.usdc), 6)} USDC`)
      .join('; ');
    out.push(`  ${a.role.padEnd(9)} ${a.address}  key ${a.privateKey}`);
    out.push(`  ${''.padEnd(9)} ${bal}`);
  }
  out.push(`  mnemonic: "${d.mnemonic}"`, '');
  if (d.services.length === 0) out.push('Services: none registered yet (chains only).');
  else {
    out.push('Services:');
    for (const s of d.services) {
      out.push(`  ${s.name}`);
      for (const [n, url] of Object.entries(s.endpoints ?? {})) out.push(`    ${n.padEnd(20)} ${url}`);
    }
  }
  out.push('', 'Press Ctrl-C to stop.');
  return `${out.join('\n')}\n`;
}

class UsageError extends Error {}

function parse(argv: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        profile: { type: 'string', multiple: true },
        port: { type: 'string' },
        host: { type: 'string' },
        'fork-url': { type: 'string' },
        'fork-block-number': { type: 'string' },
        json: { type: 'boolean', default: false },
        'chains-only': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const profiles = values.profile ?? (values['fork-url'] ? ['base'] : [...CHAIN_PROFILE_IDS]);
  for (const p of profiles) if (!isChainProfileId(p)) throw new UsageError(`unknown --profile '${p}'; known: ${CHAIN_PROFILE_IDS.join(', ')}`);
  if (new Set(profiles).size !== profiles.length) throw new UsageError('each --profile may be given once');
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 1 || port + profiles.length - 1 > 65535) throw new UsageError(`--port must be an integer in 1..${65536 - profiles.length}, got '${values.port}'`);
  }
  if (values['fork-url'] && profiles.length !== 1) throw new UsageError('--fork-url forks one chain: give exactly one --profile');
  let forkBlockNumber: bigint | undefined;
  if (values['fork-block-number'] !== undefined) {
    if (!values['fork-url']) throw new UsageError('--fork-block-number needs --fork-url');
    if (!/^\d+$/.test(values['fork-block-number'])) throw new UsageError(`--fork-block-number must be a non-negative integer, got '${values['fork-block-number']}'`);
    forkBlockNumber = BigInt(values['fork-block-number']);
  }
  return {
    help: values.help ?? false,
    chainsOnly: values['chains-only'] ?? false,
    json: values.json ?? false,
    profiles: profiles as ChainProfileId[],
    port,
    host: values.host ?? '127.0.0.1',
    forkUrl: values['fork-url'],
    forkBlockNumber,
  };
}

/**
 * Resolves on the first SIGINT/SIGTERM. The listener stays installed until `release()`: execa's
 * signal-exit hook re-raises a signal (killing us before the children are stopped) as soon as it
 * sees itself as the only listener, so ours must outlive the shutdown. Repeated signals are ignored.
 */
function trapStopSignals(): { signal: Promise<NodeJS.Signals>; release(): void } {
  let resolve!: (s: NodeJS.Signals) => void;
  const signal = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const on = (sig: NodeJS.Signals) => resolve(sig);
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    signal,
    release() {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

/** Entry point: `amh up [options]`. */
export async function run(argv: string[]): Promise<number> {
  const t0 = performance.now();
  let opts: ReturnType<typeof parse>;
  try {
    opts = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`amh up: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const log = (line: string) => (opts.json ? process.stderr : process.stdout).write(`${line}\n`);

  // Listen for signals from the start so a Ctrl-C during start-up still stops what was started.
  const trap = trapStopSignals();
  const chains: RunningChain[] = [];
  const services: { name: string; svc: RunningService }[] = [];
  const stopAll = async () => {
    for (const { name, svc } of [...services].reverse()) {
      await svc.stop().catch((e) => process.stderr.write(`amh up: stopping ${name} failed: ${String(e)}\n`));
    }
    await Promise.all(chains.map((c) => c.stop()));
  };

  try {
    const started = await Promise.allSettled(
      opts.profiles.map((profile, i) =>
        startChain({
          profile,
          host: opts.host,
          port: opts.port === undefined ? undefined : opts.port + i,
          forkUrl: opts.forkUrl,
          forkBlockNumber: opts.forkBlockNumber,
        }),
      ),
    );
    for (const r of started) if (r.status === 'fulfilled') chains.push(r.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;

    for (const service of opts.chainsOnly ? [] : await discoverServices()) {
      log(`amh up: starting ${service.name}`);
      services.push({ name: service.name, svc: await service.start({ chains, host: opts.host, log }) });
    }
    const description = await describe(chains, services, Math.round(performance.now() - t0));
    if (opts.json) process.stdout.write(`${JSON.stringify(description)}\n`);
    else process.stdout.write(renderText(description));
  } catch (err) {
    await stopAll();
    // Port in use, missing fixture, unreachable fork...: all harness/usage errors (exit 2).
    process.stderr.write(`amh up: ${err instanceof PortInUseError ? '' : 'cannot start: '}${err instanceof Error ? err.message : String(err)}\n`);
    trap.release();
    return 2;
  }

  // Stay up until a signal, or until a chain dies under us (then stop the rest and fail).
  const crash = Promise.race(chains.map((c) => c.crashed?.then((how) => ({ chain: c, how })) ?? new Promise<never>(() => {})));
  const first = await Promise.race([trap.signal.then((sig) => ({ sig })), crash]);
  if ('chain' in first) {
    process.stderr.write(`amh up: anvil for '${first.chain.profile.id}' exited unexpectedly (code ${first.how.code}, signal ${first.how.signal}); stopping everything\n`);
    await stopAll();
    trap.release();
    return 2;
  }
  log(`amh up: ${first.sig} received, stopping ${services.length} service(s) and ${chains.length} chain(s)`);
  await stopAll();
  trap.release();
  log('amh up: stopped');
  return 0;
}
