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
 * - agentripe stack engine: the same on an Agentripe market of honest vendors (--agr-stack-tasks
 *   tasks; every task a real lifecycle: 402 challenge, EIP-3009 payment settled into the escrow and
 *   recorded, the vendor's start and complete, the fixture reviewer's verdict, the release read back
 *   from the escrow, the buyer reading the result), against its bare chain work: the settlement into
 *   the escrow, recordDeposit and releaseToVendor sent directly (3 transactions per task).
 *
 *   npx tsx harness/scripts/bench-sim.ts [--agents 10000] [--tasks 100000] [--stack-tasks 60] [--agr-stack-tasks 60]
 *                                        [--stack-agents 8] [--stack-concurrency 1] [--parts model,x402,agentripe]
 *
 * `--stack-concurrency N` carries out up to N x402 tasks at once (Agentripe's run one at a time);
 * `--stack-agents N` sizes both stack markets (a tenth of them sellers, at least 3); `--parts` runs
 * only the parts named (the issue's scale figures: `--parts model --agents 100000 --tasks 1000000`,
 * `--parts x402 --stack-agents 1000 --stack-tasks 10000`).
 *
 * Prints plain lines and, last, one JSON line. Stops every process it starts.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { encodeFunctionData, parseEventLogs, toHex, type Abi, type Address, type Hex } from 'viem';
import { fiatTokenV2_2Abi } from '../chain/bindings/index.ts';
import { createChainClients, roleAccount, startChain, tokenOf } from '../chain/index.ts';
import { loadSimulations } from '../packs/discover.ts';
import { parseEconomy } from '../sim/economy.ts';
import { simulateModel } from '../sim/model-engine.ts';
import { simKey, simulateStack } from '../sim/stack-engine.ts';
import { bareReplayer, type ReplayTx } from '../testing/bench-tools.ts';
import { escrowAbi, identityAbi } from '../../reference-impl/agentripe/protocol/abi.ts';
import { agentripeAddresses } from '../../reference-impl/agentripe/server/stack.ts';
import { signAuthorization } from '../../reference-impl/x402/protocol/payload.ts';

const { values: flags } = parseArgs({
  options: {
    agents: { type: 'string', default: '10000' },
    tasks: { type: 'string', default: '100000' },
    'stack-tasks': { type: 'string', default: '60' },
    'agr-stack-tasks': { type: 'string', default: '60' },
    'stack-agents': { type: 'string', default: '8' },
    'stack-concurrency': { type: 'string', default: '1' },
    parts: { type: 'string', default: 'model,x402,agentripe' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(
    'usage: npx tsx harness/scripts/bench-sim.ts [--agents 10000] [--tasks 100000] [--stack-tasks 60] [--agr-stack-tasks 60] [--stack-agents 8] [--stack-concurrency 1] [--parts model,x402,agentripe]',
  );
  process.exit(0);
}
const PARTS = ['model', 'x402', 'agentripe'] as const;
const parts = new Set(flags.parts.split(',').map((x) => x.trim()));
for (const x of parts)
  if (!(PARTS as readonly string[]).includes(x)) {
    console.error(`--parts: unknown part '${x}' (one or more of ${PARTS.join(', ')})`);
    process.exit(2);
  }
const stackAgents = Number(flags['stack-agents']);
for (const [name, v] of [
  ['--agents', flags.agents],
  ['--tasks', flags.tasks],
  ['--stack-tasks', flags['stack-tasks']],
  ['--agr-stack-tasks', flags['agr-stack-tasks']],
  ['--stack-agents', flags['stack-agents']],
  ['--stack-concurrency', flags['stack-concurrency']],
] as const)
  if (!/^[1-9]\d*$/.test(v) || (name === '--stack-agents' && Number(v) < 4)) {
    console.error(`${name}: expected a whole number${name === '--stack-agents' ? ' of at least 4' : ' above 0'}, got '${v}'`);
    process.exit(2);
  }
/** The stack markets' populations: a tenth sellers (at least 3), the rest buyers. */
const stackSellers = Math.max(3, Math.round(stackAgents / 10));
const stackPopulations = [
  { name: 'b', role: 'buyer', count: stackAgents - stackSellers, choice: 'random', balance: '$10', budget: '$0.10' },
  { name: 'h', role: 'seller', strategy: 'honest', count: stackSellers, price: { dist: 'uniform', min: '$0.01', max: '$0.05' }, serviceMinutes: 0.1 },
] as const;
const agents = Number(flags.agents);
const tasks = Number(flags.tasks);
const stackTasks = Number(flags['stack-tasks']);
const agrStackTasks = Number(flags['agr-stack-tasks']);
const packs = await loadSimulations();

/** Run an economy on the stack engine; tasks/s from the first task's end to the last (start-up and funding excluded: n-1 tasks in that span). */
async function stackRun(economy: ReturnType<typeof parseEconomy>, concurrency = 1) {
  let firstTaskAt = 0;
  const result = await simulateStack({
    economy,
    seed: 1,
    packs,
    concurrency,
    onProgress: (p) => {
      if (p.arrivals === 1 && !firstTaskAt) firstTaskAt = performance.now();
    },
  });
  const end = performance.now();
  if (result.violations.length) throw new Error(`stack bench ${economy.name}: conservation violated: ${result.violations[0]!.message}`);
  return { result, rate: ((result.tasks.length - 1) * 1000) / (end - firstTaskAt) };
}

// The bare sides send through bench-tools' bareReplayer: signed locally, nonces counted, one
// eth_sendRawTransactionSync each (a sender's nonce is read once, at its first send).
const keysOf = (...who: { address: Address; privateKey: Hex }[]) => new Map(who.map((w) => [w.address.toLowerCase(), w.privateKey]));
const call = (from: { address: Address }, to: Address, abi: Abi, functionName: string, args: readonly unknown[]): ReplayTx => ({
  from: from.address,
  to,
  input: encodeFunctionData({ abi, functionName, args } as never),
  gas: 300_000n,
  name: functionName,
});

/** The model engine on a generated market (agentripe and x402). */
async function modelPart() {
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
  const t = performance.now();
  const m = await simulateModel({ economy: model, seed: 1, packs });
  const modelMs = performance.now() - t;
  if (m.violations.length) throw new Error(`model bench: conservation violated: ${m.violations[0]!.message}`);
  const modelRate = (m.tasks.length * 1000) / modelMs;
  console.log(`model engine: ${m.tasks.length} tasks among ${agents} agents in ${(modelMs / 1000).toFixed(1)} s = ${modelRate.toFixed(0)} tasks/s`);

  return { agents, tasks: m.tasks.length, tasksPerSecond: modelRate, seconds: modelMs / 1000 };
}

/** x402 on the stack engine, and the same settlements sent bare. */
async function x402Part() {
  let t: number;
  // Stack: x402 honest sellers only, so every task is one real settlement.
  const stack = parseEconomy({
    name: 'bench-stack',
    durationHours: 1,
    protocols: { x402: 1 },
    demand: { arrivalsPerHour: stackTasks },
    populations: [...stackPopulations],
  });
  t = performance.now();
  const { result: s, rate: stackRate } = await stackRun(stack, Number(flags['stack-concurrency']));
  console.log(
    `stack engine: ${s.tasks.length} tasks (${s.tasks.filter((x) => x.outcome === 'paid').length} settled on chain, ${flags['stack-concurrency']} at once) in ${((performance.now() - t) / 1000).toFixed(1)} s with start-up; ${stackRate.toFixed(1)} tasks/s after the first`,
  );

  // Bare: the same number of settlements, signed locally and sent directly.
  const chain = await startChain({ profile: 'base-sepolia' });
  let bareRate = 0;
  try {
    const usdc = tokenOf(chain.profile, 'usdc');
    const { walletClient } = createChainClients(chain);
    const payer = simKey('bench:payer');
    const payee = simKey('bench:payee').address;
    const relayer = roleAccount('operator');
    await walletClient(roleAccount('admin')).writeContractSync({ address: usdc.address, abi: fiatTokenV2_2Abi, functionName: 'transfer', args: [payer.address, BigInt(s.tasks.length) * 10_000n] });
    const send = await bareReplayer(chain, keysOf(relayer), []);
    const n = s.tasks.length;
    t = performance.now();
    for (let i = 0; i < n; i++) {
      const { signature, authorization } = await signAuthorization(
        payer.privateKey,
        { name: usdc.name, version: usdc.version, chainId: chain.chainId, verifyingContract: usdc.address },
        { to: payee, value: 10_000n, validAfter: 0n, validBefore: 2n ** 40n, nonce: toHex(randomBytes(32)) },
      );
      await send(call(relayer, usdc.address, fiatTokenV2_2Abi, 'transferWithAuthorization', [payer.address, payee, 10_000n, 0n, 2n ** 40n, authorization.nonce as Hex, signature]));
    }
    bareRate = (n * 1000) / (performance.now() - t);
    console.log(`bare: ${n} signed EIP-3009 transfers sent directly = ${bareRate.toFixed(1)} tasks/s; stack/bare = ${(stackRate / bareRate).toFixed(2)}`);
  } finally {
    await chain.stop();
  }
  return { stack: { agents: stackAgents, tasks: s.tasks.length, tasksPerSecond: stackRate }, bare: { tasksPerSecond: bareRate }, ratio: stackRate / bareRate };
}

/** Agentripe on the stack engine, and its chain work sent bare. */
async function agentripePart() {
  let t: number;
  // Agentripe on the stack: honest vendors only, so every task is one payment into the escrow and one release.
  const agrStack = parseEconomy({
    name: 'bench-agr-stack',
    durationHours: 1,
    protocols: { agentripe: 1 },
    demand: { arrivalsPerHour: agrStackTasks },
    populations: [...stackPopulations],
  });
  t = performance.now();
  const { result: a, rate: agrRate } = await stackRun(agrStack);
  const released = a.tasks.filter((x) => x.outcome === 'completed').length;
  console.log(
    `agentripe stack engine: ${a.tasks.length} tasks (${released} released from the escrow) in ${((performance.now() - t) / 1000).toFixed(1)} s with start-up; ${agrRate.toFixed(1)} tasks/s after the first`,
  );

  // Its bare work: per task the settlement into the escrow, recordDeposit and releaseToVendor, sent directly.
  const agrChain = await startChain({ profile: 'base-sepolia' });
  let agrBareRate = 0;
  try {
    const usdc = tokenOf(agrChain.profile, 'usdc');
    const { escrow, identityRegistry } = agentripeAddresses(agrChain);
    const { walletClient } = createChainClients(agrChain);
    const payer = simKey('bench:agr-payer');
    const facilitator = roleAccount('provider');
    const operator = roleAccount('operator');
    const vendor = walletClient(roleAccount('admin'));
    await vendor.writeContractSync({ address: usdc.address, abi: fiatTokenV2_2Abi, functionName: 'transfer', args: [payer.address, BigInt(a.tasks.length) * 10_000n] });
    const reg = await vendor.writeContractSync({ address: identityRegistry, abi: identityAbi, functionName: 'register', args: ['data:application/json,{}'] });
    const agentId = parseEventLogs({ abi: identityAbi, eventName: 'Registered', logs: reg.logs })[0]!.args.agentId;
    const send = await bareReplayer(agrChain, keysOf(facilitator, operator), []);
    const n = a.tasks.length;
    t = performance.now();
    for (let i = 0; i < n; i++) {
      const { signature, authorization } = await signAuthorization(
        payer.privateKey,
        { name: usdc.name, version: usdc.version, chainId: agrChain.chainId, verifyingContract: usdc.address },
        { to: escrow, value: 10_000n, validAfter: 0n, validBefore: 2n ** 40n, nonce: toHex(randomBytes(32)) },
      );
      const deposit = await send(
        call(facilitator, usdc.address, fiatTokenV2_2Abi, 'transferWithAuthorization', [payer.address, escrow, 10_000n, 0n, 2n ** 40n, authorization.nonce as Hex, signature]),
      );
      await send(call(operator, escrow, escrowAbi, 'recordDeposit', [deposit, agentId, payer.address, 10_000n]));
      await send(call(operator, escrow, escrowAbi, 'releaseToVendor', [deposit]));
    }
    agrBareRate = (n * 1000) / (performance.now() - t);
    console.log(
      `agentripe bare: ${n} settlements into the escrow + recordDeposit + releaseToVendor sent directly = ${agrBareRate.toFixed(1)} tasks/s; stack/bare = ${(agrRate / agrBareRate).toFixed(2)}`,
    );
  } finally {
    await agrChain.stop();
  }
  return { stack: { agents: stackAgents, tasks: a.tasks.length, tasksPerSecond: agrRate }, bare: { tasksPerSecond: agrBareRate }, ratio: agrRate / agrBareRate };
}

const result: Record<string, unknown> = {};
if (parts.has('model')) result.model = await modelPart();
if (parts.has('x402')) result.x402 = await x402Part();
if (parts.has('agentripe')) result.agentripe = await agentripePart();
console.log(JSON.stringify(result));
