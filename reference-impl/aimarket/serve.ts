/**
 * Start the AI Market reference deployment (provider hub, routing hub, stopped peer) as its own
 * process and describe it as a Target, so `amh certify --protocol aimarket --target FILE` checks it
 * from the outside.
 *
 *   npx tsx reference-impl/aimarket/serve.ts [--rpc URL] [--target-out FILE] [--fault NAME]... [--router-fault NAME]...
 *
 * Without `--rpc` it starts its own base anvil (from the fixture, AIMarketEscrow placed). `--fault`
 * and `--router-fault` (names in server/faults.ts) build deliberately broken hubs for tests. It prints
 * one JSON line `{rpcUrl, chainId, endpoints, target}` once ready, then runs until SIGTERM/SIGINT/SIGHUP
 * or until the process that started it exits.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { getProfile, roleAccounts, rpcCall, startChain, type RunningChain } from '../../harness/chain/index.ts';
import { watchForStop } from '../../harness/services/lifetime.ts';
import { FAILURE_FIXTURE } from './protocol/wire.ts';
import { AIM_FAULTS, type AimFaults } from './server/faults.ts';
import { startAimStack } from './server/stack.ts';

function fail(msg: string): never {
  process.stderr.write(`serve: ${msg}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rpc: { type: 'string' }, 'target-out': { type: 'string' }, fault: { type: 'string', multiple: true }, 'router-fault': { type: 'string', multiple: true } },
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
  const stack = await startAimStack(chain, { faults, routerFaults });
  const endpoints = { aimarket: stack.provider.url, 'aimarket-router': stack.router!.url };
  const usdc = base.usdc!;
  const broken = [...AIM_FAULTS.enabled(faults), ...AIM_FAULTS.enabled(routerFaults).map((f) => `router ${f}`)];
  const target = {
    name: `aimarket reference deployment (separate process${broken.length ? `, broken: ${broken.join(', ')}` : ''})`,
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
    capabilities: ['clock-control', 'snapshot', 'reorg', 'aimarket:failure-fixture'],
    protocols: ['aimarket'],
    config: { aimarket: { failure: FAILURE_FIXTURE, downPeer: stack.downPeer } },
  };
  if (values['target-out']) await writeFile(values['target-out'], JSON.stringify(target, null, 2));
  process.stdout.write(`${JSON.stringify({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, endpoints, target })}\n`);
  await watch.reason;
  await stack.stop().catch(() => undefined);
  await chain.stop().catch(() => undefined);
  watch.release();
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`serve: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});
