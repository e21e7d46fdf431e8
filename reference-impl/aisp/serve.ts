/**
 * Start the AISP backend and the lab inference server as their own process and describe them as a
 * Target, so `amh certify --protocol aisp --target FILE` can check them from the outside.
 *
 *   npx tsx reference-impl/aisp/serve.ts [--rpc URL] [--target-out FILE] [--confirmations N]
 *       [--signature-window S] [--fault NAME]...
 *
 * Without `--rpc` it starts its own `base` anvil (from the fixture). It prints one JSON line
 * `{rpcUrl, chainId, endpoints, target}` on stdout once ready, then runs until SIGTERM/SIGINT/SIGHUP
 * or until the process that started it exits (so `npx ... &` stops with the pid you hold).
 *
 * Faults (`--fault NAME`, the names in server/faults.ts, listed in README.md), other confirmation
 * counts or signature windows build deliberately different variants for tests; without them this is
 * the reference implementation.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { getProfile, roleAccounts, rpcCall, startChain, type RunningChain, targetChainEntry } from '../../harness/chain/index.ts';
import { watchForStop } from '../../harness/services/lifetime.ts';
import { AISP_PROFILE } from './protocol/profile.ts';
import { AISP_FAULTS, type AispFaults } from './server/faults.ts';
import { startAispStack } from './server/stack.ts';

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
  const stack = await startAispStack(chain, { faults, backend: { confirmations, signatureWindowSeconds: window } });
  const endpoints = { 'aisp-backend': stack.backend.url, 'aisp-inference': stack.venice.url };
  const broken = [...AISP_FAULTS.enabled(faults), ...(values.confirmations ? [`confirmations=${confirmations}`] : []), ...(values['signature-window'] ? [`window=${window}s`] : [])];
  const target = {
    name: `aisp reference backend + inference server (separate process${broken.length ? `, variant: ${broken.join(', ')}` : ''})`,
    version: '0.1.0',
    chains: [targetChainEntry(chain)],
    endpoints,
    accounts: roleAccounts.map((a) => ({ role: a.role, address: a.address, privateKey: a.privateKey })),
    capabilities: ['clock-control', 'snapshot', 'reorg'],
    protocols: ['aisp'],
    config: { aisp: { adminKeys: stack.adminKeys, confirmations, signatureWindowSeconds: window } },
  };
  if (values['target-out']) await writeFile(values['target-out'], JSON.stringify(target, null, 2), { mode: 0o600 });
  process.stdout.write(`${JSON.stringify({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, endpoints, target: values['target-out'] ?? null })}\n`);
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
