/**
 * `amh up`: start the chains and the reference services of every protocol pack (the same ones
 * `amh run` certifies, through the same `startReference`), print what a client developer needs (RPC
 * URLs, chain ids, tokens, contract addresses, funded keys, endpoints) and stay up until
 * SIGINT/SIGTERM, then stop every child cleanly.
 */
import { parseArgs } from 'node:util';
import { ROLE_MNEMONIC, roleAccounts, roleKeys } from '../../chain/accounts.ts';
import { PortInUseError, redactUrl, type RunningChain } from '../../chain/anvil.ts';
import { chainProfileIds, getProfile, isChainProfileId } from '../../chain/profiles.ts';
import { loadConstants } from '../../packs/discover.ts';
import { ProfileError, profileInfo, profileLines, resolveProfile, type Profile } from '../../profiles/profile.ts';
import type { ProfileInfo } from '../../report/types.ts';
import { rpcCall } from '../../chain/rpc.ts';
import { watchForStop } from '../../services/lifetime.ts';
import { startReference, type Reference } from '../../services/reference.ts';
import { formatBaseUnits } from '../../util/money.ts';

/** One line for `amh --help`. */
export const summary = 'start the chains and the reference servers and keep them up; prints RPC URLs, addresses, funded keys, endpoints';

function usage(): string {
  const envs = chainProfileIds()
    .map((id) => getProfile(id).forkUrlEnv)
    .filter(Boolean)
    .join(', ');
  return `Usage: amh up [options]

Starts Anvil chains loaded from fixtures/chain-state/ (contracts at their canonical addresses, role
accounts funded), then the reference servers of every protocol pack (reference-impl/<id>/service.ts),
and keeps them up until Ctrl-C / SIGTERM.

Options:
  --chain <id>               chain profile to start; repeatable (default: ${chainProfileIds().join(', ')})
  --protocol <id>            start only the servers this protocol needs; repeatable (default: all)
  --port <n>                 RPC port of the first chain; the next ones use n+1, n+2... (default: free ports)
  --host <addr>              listen address for chains and servers (default: 127.0.0.1)
  --fork-url <url>           fork this RPC instead of loading the fixture; needs exactly one --chain
                             (env: ${envs} fork per profile)
  --fork-block-number <n>    block to fork at (with --fork-url)
  --chains-only              start no servers, only the chains
  --profile FILE             what-if profile (YAML or JSON) of protocol constants: the servers and
                             contracts start with its values (examples/profiles/; amh list --constants;
                             AMH_APS1_PROFILE=compat is an alias for the aps1 compat preset)
  --json                     print one JSON document on a single stdout line; logs go to stderr
  --help                     this text

Exit codes: 0 after a clean stop, 2 on a usage error or when a chain or server cannot start (e.g. port in use).
The printed private keys are PUBLIC TEST KEYS (mnemonic in harness/chain/accounts.ts): never fund
them on a real network.`;
}

/** What `amh up --json` prints (amounts are decimal strings of base units). */
export interface UpDescription {
  chains: {
    profile: string;
    name: string;
    chainId: number;
    /** CAIP-2 id, as x402 names networks (`eip155:8453`). */
    network: string;
    rpcUrl: string;
    port: number;
    pid?: number;
    fork?: { url: string; blockNumber?: string; placed: string[]; present: string[] };
    tokens: Record<string, { address: string; name: string; version: string; decimals: number; symbol: string }>;
    contracts: Record<string, string>;
  }[];
  accounts: { role: string; address: string; privateKey: string; balances: Record<string, { eth: string } & Record<string, string>> }[];
  /** Ed25519, Nostr and Lightning keys of every role (public test keys). */
  keys: { role: string; kind: string; privateKey: string; publicKey: string }[];
  mnemonic: string;
  services: { name: string; endpoints: Record<string, unknown>; capabilities: string[]; [k: string]: unknown }[];
  /** Services not started, with the reason (e.g. their chain was not selected). */
  skipped: { name: string; reason: string }[];
  readyMs: number;
  /** The what-if profile the servers and contracts run with (absent: every constant at its default). */
  profile?: ProfileInfo;
}

/** ERC-20 balanceOf(address) calldata, encoded by hand (no ABI library on this path). */
function balanceOfCall(address: string): string {
  return `0x70a08231${address.slice(2).toLowerCase().padStart(64, '0')}`;
}

async function describe(ref: Reference, readyMs: number): Promise<UpDescription> {
  const balances = await Promise.all(
    ref.chains.map((chain: RunningChain) =>
      Promise.all(
        roleAccounts.map(async (a) => {
          const out: Record<string, string> = { eth: BigInt(await rpcCall<string>(chain.rpcUrl, 'eth_getBalance', [a.address, 'latest'])).toString() };
          for (const t of chain.profile.tokens) out[t.key] = BigInt(await rpcCall<string>(chain.rpcUrl, 'eth_call', [{ to: t.address, data: balanceOfCall(a.address) }, 'latest'])).toString();
          return out as { eth: string } & Record<string, string>;
        }),
      ),
    ),
  );
  return {
    chains: ref.chains.map((c) => ({
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
      tokens: Object.fromEntries(c.profile.tokens.map((t) => [t.key, { address: t.address, name: t.name, version: t.version, decimals: t.decimals, symbol: t.symbol }])),
      contracts: Object.fromEntries(Object.entries(c.profile.contracts).filter(([k]) => !c.profile.tokens.some((t) => t.key === k))),
    })),
    accounts: roleAccounts.map((a, i) => ({
      role: a.role,
      address: a.address,
      privateKey: a.privateKey,
      balances: Object.fromEntries(ref.chains.map((c, ci) => [c.profile.id, balances[ci]![i]!])),
    })),
    keys: roleKeys().map((k) => ({ role: k.role, kind: k.kind, privateKey: k.privateKey, publicKey: k.publicKey })),
    mnemonic: ROLE_MNEMONIC,
    services: ref.services.map((s) => ({ name: s.name, endpoints: s.started.endpoints ?? {}, capabilities: s.started.capabilities ?? [], ...s.started.facts })),
    skipped: ref.skipped,
    readyMs,
  };
}

/** Human-readable rendering of {@link UpDescription}. */
export function renderText(d: UpDescription): string {
  const out: string[] = [];
  out.push(`amh up: ready in ${d.readyMs} ms`, '');
  if (d.profile)
    out.push(
      `profile '${d.profile.name}' (${d.profile.hash.slice(0, 12)}): ${
        Object.entries(d.profile.constants)
          .flatMap(([p, c]) => Object.entries(c).map(([k, v]) => `${p}.${k} = ${v}`))
          .join(', ') || 'every constant at its default'
      }`,
      '',
    );
  for (const c of d.chains) {
    out.push(`${c.name} (${c.profile}) chainId ${c.chainId} (${c.network})  RPC ${c.rpcUrl}${c.fork ? `  [fork of ${c.fork.url}; added: ${c.fork.placed.join(', ') || 'nothing'}]` : ''}`);
    for (const t of Object.values(c.tokens)) out.push(`  ${t.symbol} ${t.address}  EIP-712 domain "${t.name}" / "${t.version}", ${t.decimals} decimals`);
    for (const [k, a] of Object.entries(c.contracts)) out.push(`  ${k.padEnd(26)} ${a}`);
    out.push('');
  }
  out.push('Funded accounts (PUBLIC TEST KEYS, local use only):');
  for (const a of d.accounts) {
    const bal = Object.entries(a.balances)
      .map(([p, b]) => {
        const chain = d.chains.find((c) => c.profile === p)!;
        const tokens = Object.entries(chain.tokens).map(([k, t]) => `${formatBaseUnits(BigInt(b[k] ?? '0'), t.decimals)} ${t.symbol}`);
        return `${p}: ${[`${formatBaseUnits(BigInt(b.eth), 18)} ETH`, ...tokens].join(', ')}`;
      })
      .join('; ');
    out.push(`  ${a.role.padEnd(9)} ${a.address}  key ${a.privateKey}`);
    out.push(`  ${''.padEnd(9)} ${bal}`);
  }
  out.push(`  mnemonic: "${d.mnemonic}"  (Ed25519, Nostr and Lightning keys per role: --json, "keys")`, '');
  if (d.services.length === 0) out.push('Servers: none started (chains only).');
  else {
    out.push('Servers:');
    for (const s of d.services) {
      out.push(`  ${s.name}${s.capabilities.length ? `  [${s.capabilities.join(', ')}]` : ''}`);
      for (const [n, e] of Object.entries(s.endpoints)) out.push(`    ${n.padEnd(20)} ${typeof e === 'string' ? e : JSON.stringify(e)}`);
      for (const [k, v] of Object.entries(s)) if (!['name', 'endpoints', 'capabilities'].includes(k)) out.push(`    ${k.padEnd(20)} ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    }
  }
  for (const s of d.skipped) out.push(`  (${s.name} not started: ${s.reason})`);
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
        chain: { type: 'string', multiple: true },
        profile: { type: 'string' },
        protocol: { type: 'string', multiple: true },
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
  const chains = values.chain ?? (values['fork-url'] ? ['base'] : chainProfileIds());
  for (const p of chains) if (!isChainProfileId(p)) throw new UsageError(`unknown --chain '${p}'; known: ${chainProfileIds().join(', ')}`);
  if (new Set(chains).size !== chains.length) throw new UsageError('each --chain may be given once');
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 1 || port + chains.length - 1 > 65535) throw new UsageError(`--port must be an integer in 1..${65536 - chains.length}, got '${values.port}'`);
  }
  if (values['fork-url'] && chains.length !== 1) throw new UsageError('--fork-url forks one chain: give exactly one --chain');
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
    chains,
    protocols: values.protocol,
    port,
    host: values.host ?? '127.0.0.1',
    forkUrl: values['fork-url'],
    forkBlockNumber,
    profileFile: values.profile,
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
    process.stderr.write(`amh up: ${err.message}\n\n${usage()}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const log = (line: string) => (opts.json ? process.stderr : process.stdout).write(`amh up: ${line}\n`);
  let profile: Profile | undefined;
  try {
    profile = await resolveProfile(opts.profileFile, await loadConstants());
  } catch (err) {
    if (!(err instanceof ProfileError)) throw err;
    // `--profile base` used to pick a chain: say where that went.
    const hint = opts.profileFile && isChainProfileId(opts.profileFile) ? `--profile now selects protocol constants (what-if profiles): ` : '';
    process.stderr.write(`amh up: ${hint}${err.message}${hint ? `; to choose chains use --chain ${opts.profileFile}` : ''}\n`);
    return 2;
  }
  if (profile) log(`profile '${profile.name}': ${profileLines(profile).join(', ') || 'every constant at its default'}`);

  // Listen from the start so a Ctrl-C (or the parent npx/npm dying) during start-up still stops what was started.
  const trap = watchForStop();
  let ref: Reference;
  try {
    const starting = startReference({
      chains: opts.chains,
      protocols: opts.protocols,
      chainsOnly: opts.chainsOnly,
      host: opts.host,
      port: opts.port,
      forkUrl: opts.forkUrl,
      forkBlockNumber: opts.forkBlockNumber,
      log,
      profile,
    });
    ref = await starting;
    const description = { ...(await describe(ref, Math.round(performance.now() - t0))), ...(profile ? { profile: profileInfo(profile) } : {}) };
    if (opts.json) process.stdout.write(`${JSON.stringify(description)}\n`);
    else process.stdout.write(renderText(description));
  } catch (err) {
    // Port in use, missing fixture, unreachable fork...: all harness/usage errors (exit 2).
    process.stderr.write(`amh up: ${err instanceof PortInUseError ? '' : 'cannot start: '}${err instanceof Error ? err.message : String(err)}\n`);
    trap.release();
    return 2;
  }

  // Stay up until a signal, or until a chain dies under us (then stop the rest and fail).
  const first = await Promise.race([trap.reason.then((sig) => ({ sig })), ref.crashed.then((why) => ({ why }))]);
  if ('why' in first) {
    process.stderr.write(`amh up: ${first.why}; stopping everything\n`);
    await ref.stop();
    trap.release();
    return 2;
  }
  log(`${first.sig === 'parent-exited' ? 'the process that started amh up exited' : `${first.sig} received`}, stopping ${ref.services.length} server(s) and ${ref.chains.length} chain(s)`);
  await ref.stop();
  trap.release();
  log('stopped');
  return 0;
}
