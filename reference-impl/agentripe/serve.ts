/**
 * Start an Agentripe stack (server + x402 facilitator) as its own process and describe it as a
 * Target, so `amh certify --protocol agentripe --target FILE` can check it from the outside.
 *
 *   npx tsx reference-impl/agentripe/serve.ts [--rpc URL] [--target-out FILE]
 *       [--review rule|llm] [--review-endpoint URL] [--review-model NAME] [--review-fixture-listen HOST:PORT]
 *       [--fault NAME]... [--review-limit N] [--auth-window S] [--profile FILE]
 *       [--port N] [--db FILE] [--restartable] [--reclaim-delay S] [--rpc-faults-listen HOST:PORT] [--rpc-wait]
 *
 * Without `--rpc` it starts its own base-sepolia anvil (from the fixture). It prints one JSON line
 * `{rpcUrl, chainId, endpoints, target}` on stdout once ready, then runs until SIGTERM/SIGINT/SIGHUP
 * or until the process that started it exits (so `npx ... &` stops with the pid you hold).
 *
 * Reviewer: `rule` (default) is the built-in rule reviewer, which applies the documented review
 * fixture rule, so the target declares `agentripe:review-fixture`. `llm` uses an OpenAI-compatible
 * endpoint (`--review-endpoint`); with `--review-fixture-listen HOST:PORT` that endpoint is the
 * harness's fixture reviewer, served by `amh certify` itself at HOST:PORT (written into the target
 * file's `config.agentripe.reviewFixture`). An `llm` reviewer without it is an unknown AI: the review
 * requirements are then not-applicable.
 *
 * Faults (`--fault NAME`, the names in server/faults.ts, listed in README.md), a different review
 * limit or auth window build deliberately broken variants for tests; without them this is the
 * reference implementation. `--profile FILE` configures it with a what-if profile's Agentripe
 * constants (harness/profiles): rejection limit, auth window, and the escrow's reclaim delay (set by
 * the admin on the chain, also on a shared `--rpc` chain; without --profile the default is put back).
 *
 * `--reclaim-delay S` sets the escrow's reclaim delay put on the chain (instead of the profile's).
 * `--port` fixes the server's port and `--db` its SQLite file (default: a temporary one, removed at
 * stop). `--restartable` runs the server as a supervised child process of this one (same flags, a
 * fixed port, a database that outlives it; harness/services/crashable.ts) and writes a target file
 * with the capability `restart` and its control: a command that kills the server with SIGKILL, after
 * which this process starts it again on the same database.
 *
 * `--rpc-faults-listen HOST:PORT` grants the capability `rpc-faults`: the server and its
 * facilitator (or the restartable child) reach the chain at `http://HOST:PORT`, where `amh certify`
 * (or `amh load`) serves the harness's RPC fault proxy while it runs (the target file's
 * `chains[].serverRpc`). The proxy is not there before certify starts, and the facilitator reads
 * the chain as it starts: so the target file (with a fixed server port: `--port`, or a free one)
 * and the ready line are written first, and the servers start once the proxy answers (the child
 * with `--rpc-wait`: wait for `--rpc` to answer instead of failing); certify waits for them
 * (`serverRpc.waitSeconds`).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { getProfile, roleAccounts, rpcCall, startChain, type RunningChain, targetChainEntry } from '../../harness/chain/index.ts';
import { ServerRpcSchema } from '../../harness/target/schema.ts';
import { freeFixedPort } from '../../harness/util/net.ts';
import { type CrashableServer, startCrashableServer } from '../../harness/services/crashable.ts';
import { watchForStop } from '../../harness/services/lifetime.ts';
import { waitUntilAnswers } from '../../harness/engine/restart.ts';
import { loadConstants } from '../../harness/packs/discover.ts';
import { loadProfile, type Profile } from '../../harness/profiles/profile.ts';
import { AGENTRIPE_CONSTANTS } from './protocol/constants.ts';
import { applyAgentripeConstants } from './server/apply-profile.ts';
import { AGENTRIPE_FAULTS, type AgentripeFaults } from './server/faults.ts';
import type { AgentripeServerConfig } from './server/server.ts';
import { startAgentripeStack } from './server/stack.ts';

/** How long certify waits for the servers once its RPC fault proxy listens (the target file's serverRpc.waitSeconds). */
const PROXY_WAIT_SECONDS = 120;

/** eth_chainId at `url`; with `wait`, asked again every 250 ms until it answers (the harness's fault proxy comes up with certify). */
async function chainIdAt(url: string, wait: boolean): Promise<number> {
  for (;;) {
    try {
      return Number(BigInt(await rpcCall<string>(url, 'eth_chainId')));
    } catch (e) {
      if (!wait) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function fail(msg: string): never {
  process.stderr.write(`serve: ${msg}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rpc: { type: 'string' },
      'target-out': { type: 'string' },
      review: { type: 'string', default: 'rule' },
      'review-endpoint': { type: 'string' },
      'review-model': { type: 'string', default: 'review-fixture' },
      'review-fixture-listen': { type: 'string' },
      fault: { type: 'string', multiple: true },
      'review-limit': { type: 'string' },
      'auth-window': { type: 'string' },
      profile: { type: 'string' },
      port: { type: 'string' },
      db: { type: 'string' },
      restartable: { type: 'boolean', default: false },
      'reclaim-delay': { type: 'string' },
      'rpc-faults-listen': { type: 'string' },
      'rpc-wait': { type: 'boolean', default: false },
    },
  });
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be 0..65535, got '${values.port}'`);
  let whatIf: Profile | undefined;
  if (values.profile) whatIf = await loadProfile(values.profile, await loadConstants()).catch((e: Error) => fail(e.message));
  const k = { ...AGENTRIPE_CONSTANTS.of(whatIf), ...(values['reclaim-delay'] ? { reclaimDelaySeconds: Number(values['reclaim-delay']) } : {}) };
  let faults: AgentripeFaults = {};
  try {
    faults = AGENTRIPE_FAULTS.parse(values.fault);
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.review !== 'rule' && values.review !== 'llm') fail(`--review must be rule or llm, got '${values.review}'`);
  const listen = values['review-fixture-listen'];
  if (listen && !/^[A-Za-z0-9.-]+:\d{1,5}$/.test(listen)) fail(`--review-fixture-listen must be host:port, got '${listen}'`);
  const reviewEndpoint = values['review-endpoint'] ?? (listen ? `http://${listen}/v1` : undefined);
  if (values.review === 'llm' && !reviewEndpoint) fail('--review llm needs --review-endpoint URL (or --review-fixture-listen HOST:PORT)');
  const review: AgentripeServerConfig['review'] = values.review === 'llm' ? { type: 'llm', endpoint: reviewEndpoint!, model: values['review-model']! } : { type: 'rule' };
  const rpcFaults = values['rpc-faults-listen'];
  if (rpcFaults !== undefined) {
    const parsed = ServerRpcSchema.safeParse({ listen: rpcFaults });
    if (!parsed.success) fail(`--rpc-faults-listen ${parsed.error.issues[0]?.message ?? 'must be host:port'}, got '${rpcFaults}'`);
  }

  const profile = getProfile('base-sepolia');
  let chain: RunningChain;
  if (values.rpc) {
    const chainId = await chainIdAt(values.rpc, values['rpc-wait']!).catch((e: Error) => fail(`cannot reach --rpc ${values.rpc}: ${e.message}`));
    if (chainId !== profile.chainId) fail(`--rpc chain is ${chainId}, expected base-sepolia (${profile.chainId})`);
    chain = { profile, rpcUrl: values.rpc, port: Number(new URL(values.rpc).port), chainId, host: new URL(values.rpc).hostname, stop: async () => {} };
  } else {
    chain = await startChain({ profile: 'base-sepolia' });
  }
  const watch = watchForStop();
  await applyAgentripeConstants(chain, k);
  let stack: Awaited<ReturnType<typeof startAgentripeStack>> | undefined;
  let crashable: CrashableServer | undefined;
  /** Starts the server (and its facilitator, or the supervised child) reaching the chain at `rpcUrl` on `serverPort`; its URL. */
  const startServers = async (rpcUrl: string, serverPort: number): Promise<string> => {
    if (values.restartable) {
      // The server runs as a child of this process, started again after each crash on the same database.
      const passOn = [
        '--review',
        values.review!,
        ...(reviewEndpoint ? ['--review-endpoint', reviewEndpoint] : []),
        '--review-model',
        values['review-model']!,
        ...(values.fault ?? []).flatMap((f) => ['--fault', f]),
        ...(values['review-limit'] ? ['--review-limit', values['review-limit']] : []),
        ...(values['auth-window'] ? ['--auth-window', values['auth-window']] : []),
        ...(values.profile ? ['--profile', values.profile] : []),
        ...(values['reclaim-delay'] ? ['--reclaim-delay', values['reclaim-delay']] : []),
      ];
      crashable = await startCrashableServer({
        name: 'agentripe',
        script: fileURLToPath(import.meta.url),
        port: serverPort,
        // Behind the fault proxy the child waits for it (certify serves it), and certify for the child.
        args: (dir, childPort) => ['--rpc', rpcUrl, ...(rpcFaults ? ['--rpc-wait'] : []), '--port', String(childPort), '--db', values.db ?? path.join(dir, 'agentripe.sqlite'), ...passOn],
        log: (l) => process.stderr.write(`serve: ${l}\n`),
      });
      if (!rpcFaults) await waitUntilAnswers(`${crashable.url}/health`, Date.now() + 120_000, 'the supervised agentripe server').catch((e: Error) => fail(e.message));
      return crashable.url;
    }
    stack = await startAgentripeStack(
      { ...chain, rpcUrl },
      {
        faults,
        review,
        reviewLimit: values['review-limit'] ? Number(values['review-limit']) : k.reviewLimit,
        authWindowSeconds: values['auth-window'] ? Number(values['auth-window']) : k.authWindowSeconds,
        port: serverPort,
        ...(values.db ? { dbPath: values.db } : {}),
      },
    );
    return stack.server.url;
  };
  // Behind the fault proxy the in-process servers start once it answers (below), on a port fixed
  // now for the target file; the restartable child starts now and waits for the proxy itself.
  const proxyUrl = rpcFaults ? `http://${rpcFaults}` : undefined;
  const fixedPort = proxyUrl && port === 0 ? await freeFixedPort() : port;
  const serverUrl = proxyUrl && !values.restartable ? `http://127.0.0.1:${fixedPort}` : await startServers(proxyUrl ?? chain.rpcUrl, fixedPort);
  const endpoints = { agentripe: serverUrl };
  const broken = [
    ...AGENTRIPE_FAULTS.enabled(faults),
    ...(values['review-limit'] ? [`reviewLimit=${values['review-limit']}`] : []),
    ...(values['auth-window'] ? [`authWindow=${values['auth-window']}s`] : []),
  ];
  const configured = whatIf ? `, profile ${whatIf.name}` : '';
  // The rule reviewer applies the fixture rule itself; an llm reviewer qualifies only when pointed at the harness's fixture.
  const capabilities = [
    'clock-control',
    'snapshot',
    'reorg',
    ...(values.review === 'rule' ? ['agentripe:review-fixture'] : []),
    ...(crashable ? ['restart'] : []),
    ...(rpcFaults ? ['rpc-faults'] : []),
  ];
  const target = {
    name: `agentripe reference server (separate process${crashable ? ', restartable' : ''}, ${values.review} reviewer${configured}${broken.length ? `, broken: ${broken.join(', ')}` : ''})`,
    version: '0.1.0',
    chains: [{ ...targetChainEntry(chain), ...(rpcFaults ? { serverRpc: { listen: rpcFaults, waitSeconds: PROXY_WAIT_SECONDS } } : {}) }],
    endpoints,
    accounts: roleAccounts.map((a) => ({ role: a.role, address: a.address, privateKey: a.privateKey })),
    capabilities,
    protocols: ['agentripe'],
    ...(listen ? { config: { agentripe: { reviewFixture: { listen } } } } : {}),
    ...(crashable ? { restart: { agentripe: crashable.control } } : {}),
  };
  if (values['target-out']) await writeFile(values['target-out'], JSON.stringify(target, null, 2));
  process.stdout.write(`${JSON.stringify({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, endpoints, target })}\n`);
  if (proxyUrl) {
    process.stderr.write(
      `serve: the server reaches the chain through the harness's RPC fault proxy at ${proxyUrl}, served by amh certify (or amh load) with this target file while it runs; ${values.restartable ? 'the server waits for it' : 'the server starts once it answers'}\n`,
    );
    if (!values.restartable) {
      const up = await Promise.race([chainIdAt(proxyUrl, true).then(() => true), watch.reason.then(() => false)]);
      if (up) {
        await startServers(proxyUrl, fixedPort);
        process.stderr.write(`serve: the server is up at ${serverUrl}\n`);
      }
    }
  }
  await watch.reason;
  await stack?.stop().catch(() => undefined);
  await crashable?.stop().catch(() => undefined);
  await chain.stop().catch(() => undefined);
  watch.release();
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`serve: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});
