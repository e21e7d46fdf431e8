/**
 * Start the AI Market reference deployment (provider hub, routing hub, stopped peer) as its own
 * process and describe it as a Target, so `amh certify --protocol aimarket --target FILE` checks it
 * from the outside.
 *
 *   npx tsx reference-impl/aimarket/serve.ts [--rpc URL] [--target-out FILE] [--fault NAME]... [--router-fault NAME]...
 *       [--restartable] [--hub-only --port N --db FILE] [--channel-ttl S]
 *
 * Without `--rpc` it starts its own base anvil (from the fixture, AIMarketEscrow placed). `--fault`
 * and `--router-fault` (names in server/faults.ts) build deliberately broken hubs for tests. It prints
 * one JSON line `{rpcUrl, chainId, endpoints, target}` once ready, then runs until SIGTERM/SIGINT/SIGHUP
 * or until the process that started it exits.
 *
 * `--restartable` also runs a second provider hub as a supervised child process of this one
 * (restartable.ts: same chain, its own database, signer and wallet, kept across each SIGKILL) and
 * writes the capability `restart` with its control for `aimarket` (`--fault` goes to both hubs).
 * `--hub-only` starts that hub alone, on `--port` with the SQLite file `--db`: what the supervisor runs.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { getProfile, roleAccounts, rpcCall, startChain, type RunningChain } from '../../harness/chain/index.ts';
import { waitUntilAnswers } from '../../harness/engine/restart.ts';
import { watchForStop } from '../../harness/services/lifetime.ts';
import { AIMARKET_CONSTANTS } from './protocol/constants.ts';
import { FAILURE_FIXTURE } from './protocol/wire.ts';
import { RESTARTABLE_WALLET, startRestartableAimHub } from './restartable.ts';
import { AIM_FAULTS, type AimFaults } from './server/faults.ts';
import { startHub } from './server/hub.ts';
import { labSeed, startAimStack } from './server/stack.ts';

function fail(msg: string): never {
  process.stderr.write(`serve: ${msg}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rpc: { type: 'string' },
      'target-out': { type: 'string' },
      fault: { type: 'string', multiple: true },
      'router-fault': { type: 'string', multiple: true },
      restartable: { type: 'boolean', default: false },
      'hub-only': { type: 'boolean', default: false },
      port: { type: 'string' },
      db: { type: 'string' },
      'channel-ttl': { type: 'string' },
    },
  });
  let faults: AimFaults = {};
  let routerFaults: AimFaults = {};
  try {
    faults = AIM_FAULTS.parse(values.fault);
    routerFaults = AIM_FAULTS.parse(values['router-fault']);
  } catch (e) {
    fail((e as Error).message);
  }
  const base = getProfile('base');
  let chain: RunningChain;
  if (values.rpc) {
    const chainId = Number(BigInt(await rpcCall<string>(values.rpc, 'eth_chainId').catch((e: Error) => fail(`cannot reach --rpc ${values.rpc}: ${e.message}`))));
    if (chainId !== base.chainId) fail(`--rpc chain is ${chainId}, expected base (${base.chainId})`);
    chain = { profile: base, rpcUrl: values.rpc, port: Number(new URL(values.rpc).port), chainId, host: new URL(values.rpc).hostname, stop: async () => {} };
  } else {
    chain = await startChain({ profile: 'base' });
  }
  const watch = watchForStop();
  const ttl = values['channel-ttl'] === undefined ? AIMARKET_CONSTANTS.defaults.channelExpirySeconds : Number(values['channel-ttl']);
  if (!Number.isInteger(ttl) || ttl < 1) fail(`--channel-ttl must be a positive integer, got '${values['channel-ttl']}'`);
  if (values['hub-only']) {
    // The provider hub alone (the restartable child): no target file, one line once it answers.
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be 0..65535, got '${values.port}'`);
    const usdc = base.usdc!;
    const hub = await startHub({
      name: 'AI Market reference factory (restartable)',
      signerSeedHex: labSeed('restartable'),
      walletKey: RESTARTABLE_WALLET.privateKey,
      rpcUrl: chain.rpcUrl,
      chainId: chain.chainId,
      chainName: base.id,
      token: { symbol: usdc.symbol, address: usdc.address, decimals: usdc.decimals },
      allowLoopbackPeers: true,
      channelTtlSeconds: ttl,
      port,
      dbFile: values.db ?? ':memory:',
      faults,
    });
    process.stdout.write(`${JSON.stringify({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, endpoints: { aimarket: hub.url } })}\n`);
    await watch.reason;
    await hub.stop().catch(() => undefined);
    await chain.stop().catch(() => undefined);
    watch.release();
    process.exit(0);
  }
  const stack = await startAimStack(chain, { faults, routerFaults });
  const restartable = values.restartable
    ? await startRestartableAimHub(chain, { args: [...(values.fault ?? []).flatMap((f) => ['--fault', f]), '--channel-ttl', String(ttl)], log: (l) => process.stderr.write(`serve: ${l}\n`) })
    : undefined;
  if (restartable) await waitUntilAnswers(`${restartable.url}/health`, Date.now() + 300_000, 'the supervised aimarket hub').catch((e: Error) => fail(e.message));
  const endpoints = { aimarket: stack.provider.url, 'aimarket-router': stack.router!.url };
  const usdc = base.usdc!;
  const broken = [...AIM_FAULTS.enabled(faults), ...AIM_FAULTS.enabled(routerFaults).map((f) => `router ${f}`)];
  const target = {
    name: `aimarket reference deployment (separate process${restartable ? ', restartable' : ''}${broken.length ? `, broken: ${broken.join(', ')}` : ''})`,
    version: '0.1.0',
    chains: [
      {
        id: 'base',
        chainId: chain.chainId,
        rpcUrl: chain.rpcUrl,
        usdc: { address: usdc.address, name: usdc.name, version: usdc.version, decimals: usdc.decimals },
        contracts: { aimarketEscrow: base.contracts.aimarketEscrow },
      },
    ],
    endpoints,
    accounts: roleAccounts.map((a) => ({ role: a.role, address: a.address, privateKey: a.privateKey })),
    capabilities: ['clock-control', 'snapshot', 'reorg', 'aimarket:failure-fixture', ...(restartable ? ['restart'] : [])],
    protocols: ['aimarket'],
    config: { aimarket: { failure: FAILURE_FIXTURE, downPeer: stack.downPeer } },
    ...(restartable ? { restart: { aimarket: restartable.control } } : {}),
  };
  if (values['target-out']) await writeFile(values['target-out'], JSON.stringify(target, null, 2));
  process.stdout.write(`${JSON.stringify({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, endpoints, target })}\n`);
  await watch.reason;
  await restartable?.stop().catch(() => undefined);
  await stack.stop().catch(() => undefined);
  await chain.stop().catch(() => undefined);
  watch.release();
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`serve: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});
