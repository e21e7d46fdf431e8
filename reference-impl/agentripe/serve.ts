/**
 * Start an Agentripe stack (server + x402 facilitator) as its own process and describe it as a
 * Target, so `amh certify --protocol agentripe --target FILE` can check it from the outside.
 *
 *   npx tsx reference-impl/agentripe/serve.ts [--rpc URL] [--target-out FILE]
 *       [--fault amountOffByOne|releaseBeforeReview|acceptReplayedPayment]... [--review-limit N] [--auth-window S]
 *
 * Without `--rpc` it starts its own base-sepolia anvil (from the fixture). It prints one JSON line
 * `{rpcUrl, chainId, endpoints, target}` on stdout once ready, then runs until SIGTERM/SIGINT.
 * Faults, a different review limit or auth window exist to build deliberately broken variants for
 * tests; without them this is the reference implementation.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { getProfile, roleAccounts, startChain, type RunningChain } from '../../harness/chain/index.ts';
import { startAgentripeStack } from './server/stack.ts';
import type { AgentripeFaults } from './server/server.ts';

const FAULTS = ['amountOffByOne', 'releaseBeforeReview', 'acceptReplayedPayment'] as const;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rpc: { type: 'string' },
      'target-out': { type: 'string' },
      fault: { type: 'string', multiple: true },
      'review-limit': { type: 'string' },
      'auth-window': { type: 'string' },
    },
  });
  const faults: AgentripeFaults = {};
  for (const f of values.fault ?? []) {
    if (!(FAULTS as readonly string[]).includes(f)) throw new Error(`unknown fault '${f}' (known: ${FAULTS.join(', ')})`);
    faults[f as (typeof FAULTS)[number]] = true;
  }
  const profile = getProfile('base-sepolia');
  let chain: RunningChain;
  if (values.rpc) {
    const res = await fetch(values.rpc, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }) });
    const chainId = Number(((await res.json()) as { result: string }).result);
    if (chainId !== profile.chainId) throw new Error(`--rpc chain is ${chainId}, expected base-sepolia (${profile.chainId})`);
    chain = { profile, rpcUrl: values.rpc, port: Number(new URL(values.rpc).port), chainId, stop: async () => {} } as RunningChain;
  } else {
    chain = await startChain({ profile: 'base-sepolia' });
  }
  const stack = await startAgentripeStack(chain, {
    faults,
    ...(values['review-limit'] ? { reviewLimit: Number(values['review-limit']) } : {}),
    ...(values['auth-window'] ? { authWindowSeconds: Number(values['auth-window']) } : {}),
  });
  const { usdc: _u, ...contracts } = profile.contracts;
  const endpoints = { agentripe: stack.server.url, 'x402-facilitator': stack.facilitator.url };
  const target = {
    name: `agentripe reference server (separate process${Object.keys(faults).length || values['review-limit'] || values['auth-window'] ? `, broken: ${[...Object.keys(faults), ...(values['review-limit'] ? [`reviewLimit=${values['review-limit']}`] : []), ...(values['auth-window'] ? [`authWindow=${values['auth-window']}s`] : [])].join(', ')}` : ''})`,
    version: '0.1.0',
    chains: [{ id: profile.id, chainId: chain.chainId, rpcUrl: chain.rpcUrl, usdc: { ...profile.usdc }, contracts }],
    endpoints,
    accounts: roleAccounts.map((a) => ({ role: a.role, address: a.address, privateKey: a.privateKey })),
    capabilities: ['clock-control', 'snapshot'],
    protocols: ['agentripe'],
  };
  if (values['target-out']) await writeFile(values['target-out'], JSON.stringify(target, null, 2));
  process.stdout.write(`${JSON.stringify({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, endpoints, target })}\n`);
  const stop = async () => {
    await stack.stop().catch(() => undefined);
    await chain.stop().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  process.stderr.write(`serve: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});
