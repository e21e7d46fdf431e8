/**
 * Start the APS-1 reference deployment (four agent servers and the marketplace) as its own process
 * and describe it as a Target, so `amh certify --protocol aps1 --target FILE` can check it from the
 * outside.
 *
 *   npx tsx reference-impl/aps1/serve.ts [--rpc URL] [--target-out FILE] [--profile reference|compat|FILE] [--fault NAME]...
 *
 * Without `--rpc` it starts its own tempo anvil (from the fixture). `--profile compat` puts the
 * public contracts' quirks on the chain first (server/apply-profile.ts); `--profile FILE` a what-if
 * profile's APS-1 constants (fee, penalty, cap, quirks; harness/profiles). `--fault NAME` (names in
 * server/faults.ts) builds a deliberately broken server for tests. It prints one JSON line
 * `{rpcUrl, chainId, endpoints, target}` once ready, then runs until SIGTERM/SIGINT/SIGHUP or until
 * the process that started it exits.
 *
 * `--restartable` also starts the crashable pair (restartable.ts: the honest agent and a marketplace
 * listing it, in a supervised child process with `--fault`s of its own) and writes its restart
 * controls into the target file (capability `restart`). The target declares `reorg`: the chain is an
 * anvil the harness may rewrite.
 *
 * `--child DIR --agent-port N --market-port M` (with `--rpc`) starts only the honest agent and a
 * marketplace listing it, on those ports with their SQLite files in DIR: the process the crash
 * scenarios kill (restartable.ts). It prints one line once both answer.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { getProfile, roleAccounts, rpcCall, startChain, type RunningChain } from '../../harness/chain/index.ts';
import { waitUntilAnswers } from '../../harness/engine/restart.ts';
import { watchForStop } from '../../harness/services/lifetime.ts';
import { loadConstants } from '../../harness/packs/discover.ts';
import { loadProfile } from '../../harness/profiles/profile.ts';
import { aps1ProfileOf } from './protocol/constants.ts';
import { type Aps1Profile, profileNamed } from './protocol/profile.ts';
import { applyProfileConstants } from './server/apply-profile.ts';
import { APS1_FAULTS, type Aps1Faults } from './server/faults.ts';
import { startAps1Stack, startHonestPair } from './server/stack.ts';
import { startRestartableAps1 } from './restartable.ts';

function fail(msg: string): never {
  process.stderr.write(`serve: ${msg}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rpc: { type: 'string' },
      'target-out': { type: 'string' },
      profile: { type: 'string', default: 'reference' },
      fault: { type: 'string', multiple: true },
      restartable: { type: 'boolean', default: false },
      child: { type: 'string' },
      'agent-port': { type: 'string' },
      'market-port': { type: 'string' },
    },
  });
  let faults: Aps1Faults = {};
  try {
    faults = APS1_FAULTS.parse(values.fault);
  } catch (e) {
    fail((e as Error).message);
  }
  let profile: Aps1Profile;
  try {
    // A name (reference, compat) or a what-if profile file.
    profile = /\.(ya?ml|json)$/i.test(values.profile!)
      ? { ...aps1ProfileOf({ profile: await loadProfile(values.profile!, await loadConstants()) }, true), name: values.profile! }
      : profileNamed(values.profile!);
  } catch (e) {
    fail((e as Error).message);
  }
  const tempo = getProfile('tempo');
  let chain: RunningChain;
  if (values.rpc) {
    const chainId = Number(BigInt(await rpcCall<string>(values.rpc, 'eth_chainId').catch((e: Error) => fail(`cannot reach --rpc ${values.rpc}: ${e.message}`))));
    if (chainId !== tempo.chainId) fail(`--rpc chain is ${chainId}, expected tempo (${tempo.chainId})`);
    chain = { profile: tempo, rpcUrl: values.rpc, port: Number(new URL(values.rpc).port), chainId, host: new URL(values.rpc).hostname, stop: async () => {} };
  } else {
    chain = await startChain({ profile: 'tempo' });
  }
  const watch = watchForStop();
  if (values.child) {
    // The crashable pair: the chain (and its profile) belong to the deployment that started it.
    const port = (v: string | undefined, flag: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0 || n > 65535) fail(`${flag} must be 1..65535, got '${v}'`);
      return n;
    };
    if (!values.rpc) fail('--child needs --rpc');
    const pair = await startHonestPair(chain, { dir: values.child, agentPort: port(values['agent-port'], '--agent-port'), marketPort: port(values['market-port'], '--market-port'), faults });
    process.stdout.write(`${JSON.stringify({ endpoints: { 'aps1-agent': pair.agent.url, 'aps1-marketplace': pair.marketplace.url } })}\n`);
    await watch.reason;
    await pair.stop();
    watch.release();
    process.exit(0);
  }
  await applyProfileConstants(chain, profile);
  const stack = await startAps1Stack(chain, { faults });
  const restartable = values.restartable
    ? await startRestartableAps1(chain, { args: (values.fault ?? []).flatMap((f) => ['--fault', f]), log: (l) => process.stderr.write(`serve: ${l}\n`) })
    : undefined;
  if (restartable) await waitUntilAnswers(`${restartable.agentUrl}/health`, Date.now() + 300_000, 'the supervised aps1 pair').catch((e: Error) => fail(e.message));
  const endpoints = { 'aps1-agent': stack.agent.url, 'aps1-marketplace': stack.marketplace.url };
  const tokens = Object.fromEntries(tempo.tokens.map((t) => [t.key, { address: t.address, name: t.name, version: t.version, decimals: t.decimals }]));
  const contracts = Object.fromEntries(Object.entries(tempo.contracts).filter(([k]) => !tempo.tokens.some((t) => t.key === k)));
  const broken = [...APS1_FAULTS.enabled(faults), ...(profile.name !== 'reference' ? [`profile ${profile.name}`] : [])];
  const target = {
    name: `aps1 reference deployment (separate process${restartable ? ', restartable' : ''}${broken.length ? `, broken: ${broken.join(', ')}` : ''})`,
    version: '0.1.0',
    chains: [{ id: tempo.id, chainId: chain.chainId, rpcUrl: chain.rpcUrl, tokens, contracts }],
    endpoints,
    accounts: roleAccounts.map((a) => ({ role: a.role, address: a.address, privateKey: a.privateKey })),
    capabilities: ['clock-control', 'snapshot', 'reorg', ...(restartable ? ['restart'] : [])],
    ...(restartable ? { restart: restartable.controls } : {}),
    protocols: ['aps1'],
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
