/**
 * Start the AISP backend and the lab inference server as their own process and describe them as a
 * Target, so `amh certify --protocol aisp --target FILE` can check them from the outside.
 *
 *   npx tsx reference-impl/aisp/serve.ts [--rpc URL] [--target-out FILE] [--confirmations N]
 *       [--signature-window S] [--fault NAME]... [--restartable] [--inference URL --port N --db FILE]
 *
 * Without `--rpc` it starts its own `base` anvil (from the fixture). It prints one JSON line
 * `{rpcUrl, chainId, endpoints, target}` on stdout once ready, then runs until SIGTERM/SIGINT/SIGHUP
 * or until the process that started it exits (so `npx ... &` stops with the pid you hold).
 *
 * Faults (`--fault NAME`, the names in server/faults.ts, listed in README.md), other confirmation
 * counts or signature windows build deliberately different variants for tests; without them this is
 * the reference implementation.
 *
 * `--restartable` also runs a second backend as a supervised child process of this one (restartable.ts:
 * same chain, same inference server, its own database and key secret that outlive each SIGKILL) and
 * writes the capability `restart` with its control for `aisp-backend` (the faults go to both backends).
 * `--inference URL` starts the backend alone, against that inference server (the lab's: its ADMIN
 * keys are the deterministic lab keys), on `--port` with the SQLite file `--db`: what the supervisor
 * runs.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { getProfile, roleAccounts, rpcCall, startChain, type RunningChain, targetChainEntry } from '../../harness/chain/index.ts';
import { waitUntilAnswers } from '../../harness/engine/restart.ts';
import { watchForStop } from '../../harness/services/lifetime.ts';
import { AISP_PROFILE } from './protocol/profile.ts';
import { AISP_FAULTS, type AispFaults } from './server/faults.ts';
import { startAispBackend } from './server/backend.ts';
import { startAispStack } from './server/stack.ts';
import { startRestartableAispBackend } from './restartable.ts';

function fail(msg: string): never {
  process.stderr.write(`serve: ${msg}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rpc: { type: 'string' },
      'target-out': { type: 'string' },
      confirmations: { type: 'string' },
      'signature-window': { type: 'string' },
      fault: { type: 'string', multiple: true },
      restartable: { type: 'boolean', default: false },
      inference: { type: 'string' },
      port: { type: 'string' },
      db: { type: 'string' },
    },
  });
  let faults: AispFaults = {};
  try {
    faults = AISP_FAULTS.parse(values.fault);
  } catch (e) {
    fail((e as Error).message);
  }
  const int = (name: string, v: string | undefined, def: number) => {
    if (v === undefined) return def;
    if (!/^\d+$/.test(v) || Number(v) < 1) fail(`--${name} must be a positive integer, got '${v}'`);
    return Number(v);
  };
  const confirmations = int('confirmations', values.confirmations, AISP_PROFILE.confirmations);
  const window = int('signature-window', values['signature-window'], AISP_PROFILE.signatureWindowSeconds);

  const profile = getProfile('base');
  let chain: RunningChain;
  if (values.rpc) {
    const chainId = Number(BigInt(await rpcCall<string>(values.rpc, 'eth_chainId').catch((e: Error) => fail(`cannot reach --rpc ${values.rpc}: ${e.message}`))));
    if (chainId !== profile.chainId) fail(`--rpc chain is ${chainId}, expected base (${profile.chainId})`);
    chain = { profile, rpcUrl: values.rpc, port: Number(new URL(values.rpc).port), chainId, host: new URL(values.rpc).hostname, stop: async () => {} };
  } else {
    chain = await startChain({ profile: 'base' });
  }
  const watch = watchForStop();
  const backendConfig = { confirmations, signatureWindowSeconds: window };
  if (values.inference) {
    // The backend alone (the restartable child): no target file, one line once it answers.
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be 0..65535, got '${values.port}'`);
    const backend = await startAispBackend({
      rpcUrl: chain.rpcUrl,
      chainId: chain.chainId,
      marketplace: profile.contracts.diemMarketplace!,
      veniceUrl: values.inference,
      dbPath: values.db ?? ':memory:',
      port,
      faults,
      ...backendConfig,
    });
    process.stdout.write(`${JSON.stringify({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, endpoints: { 'aisp-backend': backend.url } })}\n`);
    await watch.reason;
    await backend.stop().catch(() => undefined);
    await chain.stop().catch(() => undefined);
    watch.release();
    process.exit(0);
  }
  const stack = await startAispStack(chain, { faults, backend: backendConfig });
  const restartable = values.restartable
    ? await startRestartableAispBackend(chain, stack.venice.url, {
        args: [...(values.fault ?? []).flatMap((f) => ['--fault', f]), '--confirmations', String(confirmations), '--signature-window', String(window)],
        log: (l) => process.stderr.write(`serve: ${l}\n`),
      })
    : undefined;
  if (restartable) await waitUntilAnswers(`${restartable.url}/health`, Date.now() + 300_000, 'the supervised aisp backend').catch((e: Error) => fail(e.message));
  const endpoints = { 'aisp-backend': stack.backend.url, 'aisp-inference': stack.venice.url };
  const broken = [...AISP_FAULTS.enabled(faults), ...(values.confirmations ? [`confirmations=${confirmations}`] : []), ...(values['signature-window'] ? [`window=${window}s`] : [])];
  const target = {
    name: `aisp reference backend + inference server (separate process${restartable ? ', restartable' : ''}${broken.length ? `, variant: ${broken.join(', ')}` : ''})`,
    version: '0.1.0',
    chains: [targetChainEntry(chain)],
    endpoints,
    accounts: roleAccounts.map((a) => ({ role: a.role, address: a.address, privateKey: a.privateKey })),
    capabilities: ['clock-control', 'snapshot', 'reorg', ...(restartable ? ['restart'] : [])],
    protocols: ['aisp'],
    config: { aisp: { adminKeys: stack.adminKeys, confirmations, signatureWindowSeconds: window } },
    ...(restartable ? { restart: { 'aisp-backend': restartable.control } } : {}),
  };
  if (values['target-out']) await writeFile(values['target-out'], JSON.stringify(target, null, 2), { mode: 0o600 });
  process.stdout.write(`${JSON.stringify({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, endpoints, target: values['target-out'] ?? null })}\n`);
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
