/**
 * `amh simulate` benchmark (run by `npm run bench` after the engine's and the packs' benches):
 *
 * - model engine: simulated tasks/s on a generated market (agentripe and x402, --agents agents,
 *   about --tasks tasks), the whole loop with the conservation check;
 * - stack engine: simulated tasks/s on an x402 market of honest sellers (--stack-tasks tasks; every
 *   task a real paid request: 402 challenge, EIP-3009 payment, verify, settle on anvil), the
 *   reference stack's start-up excluded;
 * - bare: the chain work the same tasks need, with nothing around it: one EIP-3009 authorization
 *   signed locally and one transferWithAuthorization sent with eth_sendRawTransactionSync per task,
 *   on a fresh base-sepolia anvil. The stack's ratio to it is printed.
 *
 *   npx tsx harness/scripts/bench-sim.ts [--agents 10000] [--tasks 100000] [--stack-tasks 60]
 *
 * Prints plain lines and, last, one JSON line. Stops every process it starts.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { toHex } from 'viem';
import { fiatTokenV2_2Abi } from '../chain/bindings/index.ts';
import { createChainClients, roleAccount, startChain, tokenOf } from '../chain/index.ts';
import { loadSimulations } from '../packs/discover.ts';
import { parseEconomy } from '../sim/economy.ts';
import { simulateModel } from '../sim/model-engine.ts';
import { simKey, simulateStack } from '../sim/stack-engine.ts';
import { signAuthorization } from '../../reference-impl/x402/protocol/payload.ts';

const { values: flags } = parseArgs({
  options: { agents: { type: 'string', default: '10000' }, tasks: { type: 'string', default: '100000' }, 'stack-tasks': { type: 'string', default: '60' }, help: { type: 'boolean', default: false } },
});
if (flags.help) {
  console.log('usage: npx tsx harness/scripts/bench-sim.ts [--agents 10000] [--tasks 100000] [--stack-tasks 60]');
  process.exit(0);
}
const agents = Number(flags.agents);
const tasks = Number(flags.tasks);
const stackTasks = Number(flags['stack-tasks']);
const packs = await loadSimulations();

// Model: 90% buyers, 10% sellers of three kinds, 100 simulated hours.
const sellers = Math.max(3, Math.round(agents / 10));
const model = parseEconomy({
  name: 'bench-model',
  durationHours: 100,
  protocols: { agentripe: 1, x402: 1 },
  demand: { arrivalsPerHour: tasks / 100 },
  populations: [
    { name: 'b', role: 'buyer', count: agents - sellers, choice: 'cheapest', balance: '$1000', budget: { dist: 'uniform', min: '$0.05', max: '$1' } },
    { name: 'h', role: 'seller', strategy: 'honest', count: Math.ceil(sellers / 2), price: { dist: 'uniform', min: '$0.05', max: '$1' } },
    { name: 's', role: 'seller', strategy: 'sloppy', quality: 0.6, count: Math.ceil(sellers / 3), price: { dist: 'uniform', min: '$0.05', max: '$1' } },
    { name: 'm', role: 'seller', strategy: 'malicious', count: Math.max(1, sellers - Math.ceil(sellers / 2) - Math.ceil(sellers / 3)), price: { dist: 'uniform', min: '$0.05', max: '$1' } },
  ],
});
let t = performance.now();
const m = await simulateModel({ economy: model, seed: 1, packs });
const modelMs = performance.now() - t;
if (m.violations.length) throw new Error(`model bench: conservation violated: ${m.violations[0]!.message}`);
const modelRate = (m.tasks.length * 1000) / modelMs;
console.log(`model engine: ${m.tasks.length} tasks among ${agents} agents in ${(modelMs / 1000).toFixed(1)} s = ${modelRate.toFixed(0)} tasks/s`);

// Stack: x402 honest sellers only, so every task is one real settlement.
const stack = parseEconomy({
  name: 'bench-stack',
  durationHours: 1,
  protocols: { x402: 1 },
  demand: { arrivalsPerHour: stackTasks },
  populations: [
    { name: 'b', role: 'buyer', count: 5, choice: 'random', balance: '$10', budget: '$0.10' },
    { name: 'h', role: 'seller', strategy: 'honest', count: 3, price: { dist: 'uniform', min: '$0.01', max: '$0.05' }, serviceMinutes: 0.1 },
  ],
});
let firstTaskAt = 0;
t = performance.now();
const s = await simulateStack({
  economy: stack,
  seed: 1,
  packs,
  onProgress: (p) => {
    if (p.arrivals === 1 && !firstTaskAt) firstTaskAt = performance.now();
  },
});
const stackEnd = performance.now();
if (s.violations.length) throw new Error(`stack bench: conservation violated: ${s.violations[0]!.message}`);
const paid = s.tasks.filter((x) => x.outcome === 'paid').length;
// From the first task's end to the last: start-up and funding excluded; n-1 tasks in that span.
const stackRate = ((s.tasks.length - 1) * 1000) / (stackEnd - firstTaskAt);
console.log(`stack engine: ${s.tasks.length} tasks (${paid} settled on chain) in ${((stackEnd - t) / 1000).toFixed(1)} s with start-up; ${stackRate.toFixed(1)} tasks/s after the first`);

// Bare: the same number of settlements, signed locally and sent directly.
const chain = await startChain({ profile: 'base-sepolia' });
let bareRate = 0;
try {
  const usdc = tokenOf(chain.profile, 'usdc');
  const { walletClient } = createChainClients(chain);
  const payer = simKey('bench:payer');
  const payee = simKey('bench:payee').address;
  const relayer = walletClient(roleAccount('operator'));
  await walletClient(roleAccount('admin')).writeContractSync({ address: usdc.address, abi: fiatTokenV2_2Abi, functionName: 'transfer', args: [payer.address, 10_000_000n] });
  const n = s.tasks.length;
  t = performance.now();
  for (let i = 0; i < n; i++) {
    const { signature, authorization } = await signAuthorization(
      payer.privateKey,
      { name: usdc.name, version: usdc.version, chainId: chain.chainId, verifyingContract: usdc.address },
      { to: payee, value: 10_000n, validAfter: 0n, validBefore: 2n ** 40n, nonce: toHex(randomBytes(32)) },
    );
    await relayer.writeContractSync({
      address: usdc.address,
      abi: fiatTokenV2_2Abi,
      functionName: 'transferWithAuthorization',
      args: [
        authorization.from as `0x${string}`,
        authorization.to as `0x${string}`,
        BigInt(authorization.value),
        BigInt(authorization.validAfter),
        BigInt(authorization.validBefore),
        authorization.nonce as `0x${string}`,
        signature,
      ],
    });
  }
  bareRate = (n * 1000) / (performance.now() - t);
  console.log(`bare: ${n} signed EIP-3009 transfers sent directly = ${bareRate.toFixed(1)} tasks/s; stack/bare = ${(stackRate / bareRate).toFixed(2)}`);
} finally {
  await chain.stop();
}
console.log(
  JSON.stringify({
    model: { agents, tasks: m.tasks.length, tasksPerSecond: modelRate },
    stack: { tasks: s.tasks.length, tasksPerSecond: stackRate },
    bare: { tasksPerSecond: bareRate },
    ratio: stackRate / bareRate,
  }),
);
