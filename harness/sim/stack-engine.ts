/**
 * `--engine stack`: the same market on the real reference deployment (harness/services/reference.ts:
 * anvil chains from the fixtures, the reference servers of the protocols used). Each pack's
 * `stack.start` sets up its sellers and returns a market that carries out a task for real (real
 * HTTP, real signatures, real settlement on chain). Simulated time is chain time: before a task the
 * chain is moved to its arrival time (evm_setNextBlockTimestamp + evm_mine), and the servers read
 * the chain's clock. Tasks are carried out one at a time, in arrival order; with `concurrency` above
 * 1 (protocols whose stack declares `concurrentTasks`), up to that many at once: each task's plan
 * is then the model's, decided at its arrival as the model engine decides it, and the task is
 * carried out on the stack beside the others; a stack outcome that differs from the model's plan
 * is a violation (the agents' real run diverged), and so is any difference the chain shows at the end.
 *
 * The conservation check adds the chain to the ledger's own: at the end every buyer's and seller's
 * money on chain (its token balance, plus what the protocols' contracts owe it) must equal the
 * ledger's, to the unit, and so must the protocol's escrow and fee accounts where the pack reports them.
 */
import { LONG_RUN_STATES, rpcCall } from '../chain/index.ts';
import { throwawayAccount } from '../chain/accounts.ts';
import { startReference } from '../services/reference.ts';
import { type Economy, EconomyError } from './economy.ts';
import type { Violation } from './ledger.ts';
import { Ledger } from './ledger.ts';
import { buildMarket } from './market.ts';
import { resolveProfiles, type SimResult, type SimulateOptions, simulate } from './model-engine.ts';
import type { SimTask, SimulationPack, StackMarket, TaskPlan } from './pack.ts';

/** The EVM key of a simulation account: deterministic, so events name the same addresses every run. */
export function simKey(account: string): { address: `0x${string}`; privateKey: `0x${string}` } {
  const a = throwawayAccount(`sim:${account}`);
  return { address: a.address, privateKey: a.privateKey };
}

async function latestTimestamp(rpcUrl: string): Promise<bigint> {
  const b = await rpcCall<{ timestamp: string }>(rpcUrl, 'eth_getBlockByNumber', ['latest', false]);
  return BigInt(b.timestamp);
}

/**
 * Every protocol of the economy has a stack simulation, and (given the resolved profiles) one that
 * takes these constants; an EconomyError names the first that has none or refuses.
 */
export function checkStackable(economy: Economy, packs: SimulateOptions['packs'], profiles?: Record<string, Record<string, unknown>>): void {
  for (const id of Object.keys(economy.protocols)) {
    const stack = packs.get(id)?.stack;
    if (!stack) throw new EconomyError(`protocol '${id}' has no stack simulation yet (reference-impl/${id}/simulation.ts has no 'stack'); --engine model runs it`);
    const why = profiles?.[id] ? stack.refuses?.(profiles[id]) : undefined;
    if (why) throw new EconomyError(`protocol '${id}' cannot run on the stack engine: ${why}; --engine model runs it`);
  }
}

/** JSON of a plan (bigint amounts as strings), to compare the stack's with the model's. */
const planText = (p: TaskPlan) => JSON.stringify(p, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));

/** Run the economy on the reference stack. Every protocol of the economy needs a pack with `stack`. */
export async function simulateStack(opts: SimulateOptions & { log?: (line: string) => void; concurrency?: number }): Promise<SimResult> {
  const { economy, seed, packs } = opts;
  const profiles = resolveProfiles(economy, packs);
  const protocolIds = Object.keys(economy.protocols);
  checkStackable(economy, packs, profiles);
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new EconomyError(`concurrency must be a whole number of at least 1, not ${concurrency}`);
  if (concurrency > 1)
    for (const id of protocolIds)
      if (!packs.get(id)!.stack!.concurrentTasks)
        throw new EconomyError(`protocol '${id}' carries out its stack tasks one at a time (a task moves chain time or depends on another's effects); --concurrency 1 runs it`);
  const market = buildMarket(economy, seed);
  const stacks = protocolIds.map((id) => [id, packs.get(id)!.stack!] as const);
  const services = [...new Set(stacks.flatMap(([, s]) => s.services))];
  // A simulation mines a block or two per task and never reorgs: no per-block state written to disk.
  const ref = await startReference({
    pruneHistory: LONG_RUN_STATES,
    chains: [...new Set(stacks.flatMap(([, s]) => s.chains))],
    // A pack that starts its own servers needs no reference service (`[]` alone would mean every one).
    ...(services.length ? { protocols: services } : { chainsOnly: true }),
    ...(opts.log ? { log: opts.log } : {}),
    // A simulation crashes nothing: no service starts its crashable child (ServiceContext.wants).
    wants: new Set(),
  });
  const markets = new Map<string, StackMarket>();
  try {
    let epoch = 0n;
    for (const c of ref.chains) {
      const t = await latestTimestamp(c.rpcUrl);
      if (t + 1n > epoch) epoch = t + 1n;
    }
    for (const [id, s] of stacks)
      markets.set(
        id,
        await s.start({
          chains: ref.chains,
          target: ref.target,
          host: '127.0.0.1',
          seed,
          buyers: market.buyers.filter((b) => b.protocols.includes(id)),
          sellers: market.sellers.filter((x) => x.protocols.includes(id)),
          profile: profiles[id]!,
          key: simKey,
          epoch,
        }),
      );
    // One chain account per buyer: it is funded once, by the first of its protocols.
    const funder = (account: string) => {
      const b = market.buyers.find((x) => x.account === account)!;
      return markets.get(b.protocols.find((id) => markets.has(id))!)!;
    };
    const setTime = async (ms: number) => {
      const at = epoch + BigInt(Math.floor(ms / 1000));
      for (const c of ref.chains) {
        if (at <= (await latestTimestamp(c.rpcUrl))) continue;
        await rpcCall(c.rpcUrl, 'evm_setNextBlockTimestamp', [`0x${at.toString(16)}`]);
        await rpcCall(c.rpcUrl, 'evm_mine', []);
      }
    };
    // The simulation has one currency (every market pays in the same token: base-sepolia USDC): an
    // agent on several protocols holds one token balance, read once, plus what each protocol's
    // contracts owe it (an escrow's withdrawable balance).
    const finalCheck = async (ledger: Ledger): Promise<Violation[]> => {
      const out: Violation[] = [];
      const held = new Map<string, bigint>();
      const owed = new Map<string, bigint>();
      const agents: string[] = [];
      const compare = (a: string, real: bigint | undefined, agent: boolean) => {
        if (real !== ledger.balance(a))
          out.push({
            message: `account ${a}${agent ? ` (${simKey(a).address})` : ''}: the ledger holds ${ledger.balance(a)} but the chain holds ${real}`,
            trail: ledger.events.filter((e) => e.from === a || e.to === a),
          });
      };
      for (const [id, m] of markets) {
        const mine = [...market.buyers.filter((b) => b.protocols.includes(id)), ...market.sellers.filter((s) => s.protocols.includes(id))].map((a) => a.account);
        const unread = mine.filter((a) => !held.has(a));
        agents.push(...unread);
        const shared = [`escrow:${id}`, `fees:${id}`];
        const onChain = await m.balances([...unread, ...shared]);
        for (const a of unread) if (onChain.has(a)) held.set(a, onChain.get(a)!);
        for (const a of shared) if (onChain.has(a)) compare(a, onChain.get(a), false);
        if (m.owed) for (const [a, v] of await m.owed(mine)) owed.set(a, (owed.get(a) ?? 0n) + v);
      }
      for (const a of agents) compare(a, held.has(a) ? held.get(a)! + (owed.get(a) ?? 0n) : undefined, true);
      return out;
    };
    // Concurrent tasks: those on the stack now, what diverged, and the first error (raised at the end, as one task's error is raised in order).
    const inFlight = new Map<Promise<void>, number>();
    const diverged: Violation[] = [];
    let failure: unknown;
    const planConcurrently = async (task: SimTask, pack: SimulationPack): Promise<TaskPlan> => {
      // The stack gets the task's random stream as it stands: the model's draws must not shift it.
      const onStack = { ...task, rng: task.rng.clone() };
      const expected = pack.model(task);
      // Taken now: the engine consumes a plan's steps as it applies them.
      const expectedText = planText(expected);
      // Chain time follows the arrivals: a task still running when it would pass its window waits
      // for those before it (and at most `concurrency` run at once).
      const window = pack.stack!.concurrentTasks!(task.profile);
      while (inFlight.size >= concurrency || [...inFlight.values()].some((t0) => task.t0 - t0 > window)) await Promise.race(inFlight.keys());
      await setTime(task.t0);
      const done: Promise<void> = markets
        .get(task.protocol)!
        .run(onStack)
        .then(
          (actual) => {
            if (planText(actual) !== expectedText)
              diverged.push({ message: `task ${task.id} (${task.protocol}) ran otherwise on the stack than the model planned: model ${expectedText}; stack ${planText(actual)}`, trail: [] });
          },
          (e: unknown) => {
            failure ??= e;
          },
        )
        .finally(() => inFlight.delete(done));
      inFlight.set(done, task.t0);
      return expected;
    };
    return await simulate(opts, {
      engine: 'stack',
      profiles,
      market,
      ledger: new Ledger(),
      fund: (account, amount) => funder(account).fund(account, amount),
      plan:
        concurrency > 1
          ? planConcurrently
          : async (task) => {
              await setTime(task.t0);
              return markets.get(task.protocol)!.run(task);
            },
      finalCheck: async (ledger) => {
        await Promise.all(inFlight.keys());
        if (failure !== undefined) throw failure;
        return [...diverged, ...(await finalCheck(ledger))];
      },
    });
  } finally {
    for (const m of markets.values()) await m.stop().catch(() => {});
    await ref.stop();
  }
}
