/**
 * What a protocol pack gives `amh simulate`: `reference-impl/<id>/simulation.ts` default-exports
 * `defineSimulation({...})` (discovered by harness/packs/discover.ts, like service.ts). The engine in
 * harness/sim is protocol-neutral: it makes the market (arrivals, buyer choice, prices, balances,
 * reputation, time) and asks the pack how one paid task unfolds under the pack's executable model.
 */
import { erc20Abi, type Address } from 'viem';
import type { RunningChain } from '../chain/anvil.ts';
import { createChainClients, roleAccount } from '../chain/index.ts';
import type { PackConstants } from '../profiles/constants.ts';
import type { Target } from '../target/schema.ts';
import type { SellerStrategy } from './economy.ts';
import type { BuyerAgent, SellerAgent } from './market.ts';
import type { Rng } from './rng.ts';

/** A money movement between two accounts of the simulation, in base units. */
export interface Transfer {
  from: string;
  to: string;
  amount: bigint;
}

/** One task as the engine hands it to a pack. */
export interface SimTask {
  /** `t<index>`: stable for a seed, the same in both engines. */
  id: string;
  protocol: string;
  /** Simulated milliseconds since the start at which the buyer pays. */
  t0: number;
  /** The price paid, base units. */
  amount: bigint;
  buyer: string;
  seller: string;
  sellerPopulation: string;
  strategy: SellerStrategy;
  /** Probability that one delivery of this seller is good. */
  quality: number;
  /** Simulated milliseconds per delivery attempt. */
  serviceMs: number;
  /** The reviewer drawn for this task, when the economy has any; `colludes` with this seller. */
  reviewer?: { account: string; colludes: boolean };
  /** The protocol's constants (the pack's defaults with the economy's `profiles.<id>` applied). */
  profile: Record<string, unknown>;
  /** The protocol's shared accounts. */
  escrow: string;
  fees: string;
  /** This task's own random stream. */
  rng: Rng;
}

/** One timed step of a task. */
export interface PlanStep {
  /** Milliseconds after the task's t0. */
  at: number;
  /** Readable action: `pay`, `start`, `submit`, `review:approve`, `release`, `refund`, `settle`, ... */
  action: string;
  transfers?: Transfer[];
  /**
   * The step is the buyer's payment: when the buyer no longer holds the amount, the payment is
   * refused (no money moves) and the task ends `refused`.
   */
  payment?: boolean;
  /** The buyer's reputation feedback for the seller, 0..100 (ERC-8004 style). */
  feedback?: number;
}

/** How a task unfolds when every step runs. */
export interface TaskPlan {
  steps: PlanStep[];
  /** Outcome name, one of the pack's `outcomes`. */
  outcome: string;
  /** What the buyer finally received: good work, bad work, or nothing. */
  delivered: 'good' | 'bad' | 'none';
  attempts: number;
  rejections: number;
}

/** Metric classes of an outcome. */
export type OutcomeClass = 'paid' | 'refunded' | 'timeout' | 'not-charged';

/** A pack's simulation adapter. */
export interface SimulationPack {
  protocol: string;
  /** Outcome names this pack's plans use, with their metric class. */
  outcomes: Record<string, OutcomeClass>;
  /**
   * The pack's declared protocol constants (reference-impl/<id>/protocol/constants.ts, the ones
   * `amh run --profile` changes): the economy's `profiles.<id>` values for them are checked against
   * these declarations (type, range) and arrive in `profile` as checked values over the defaults.
   */
  constants?: PackConstants;
  /**
   * The protocol's constants for this economy: the declared constants (checked, defaults filled in)
   * and the pack's own simulation knobs from `profiles.<id>`. Throws an Error naming a knob it cannot use.
   */
  profile(overrides: Record<string, unknown>): Record<string, unknown>;
  /** `--engine model`: how one paid task unfolds under the pack's executable model. Pure. */
  model(task: SimTask): TaskPlan;
  /** `--engine stack`: the same market on the real reference stack (absent: not simulated there yet). */
  stack?: StackSimulation;
}

/** What the stack engine gives a pack: the running reference deployment and the market. */
export interface StackEnv {
  chains: readonly RunningChain[];
  /** The reference deployment as a Target (endpoints of the selected protocols' services). */
  target: Target;
  host: string;
  seed: number;
  /** The agents trading on this protocol. */
  buyers: readonly BuyerAgent[];
  sellers: readonly SellerAgent[];
  profile: Record<string, unknown>;
  /** The EVM key of a simulation account (deterministic per account name). */
  key(account: string): { address: `0x${string}`; privateKey: `0x${string}` };
  /** Chain time, unix seconds, at simulated time 0. */
  epoch: bigint;
}

/** A pack's market on the running stack. */
export interface StackMarket {
  /** Give a buyer its starting balance for real (on chain). */
  fund(account: string, amount: bigint): Promise<void>;
  /**
   * Carry out one paid task for real (chain time already moved to `task.t0`) and return what was
   * observed, as a plan with the model's step times: outcome, delivery, and the money movements
   * verified on chain.
   */
  run(task: SimTask): Promise<TaskPlan>;
  /**
   * The real balances of these accounts (on chain), for the final conservation check: the buyers'
   * and sellers' token balances (one currency: every pack pays in the same token, read once per
   * agent), and the protocol's escrow and fee accounts (`escrow:<id>`, `fees:<id>`) in full, which a
   * pack leaves out of the answer when nothing on chain stands for them.
   */
  balances(accounts: readonly string[]): Promise<Map<string, bigint>>;
  /** What the protocol's contracts owe these agents beyond their token balance (an escrow's withdrawable balance). */
  owed?(accounts: readonly string[]): Promise<Map<string, bigint>>;
  stop(): Promise<void>;
}

export interface StackSimulation {
  /** Chain profiles the market needs, and the protocols whose reference services it uses. */
  chains: string[];
  services: string[];
  /**
   * Present when tasks may run at the same time (`--concurrency`): a task moves no chain time, and
   * what it does on chain depends on no other task's effects but the buyer's balance, which only
   * falls. It answers how far (simulated ms) chain time may move past a task's start while the
   * task is still running (later arrivals move it): less than the protocol's time windows.
   */
  concurrentTasks?(profile: Record<string, unknown>): number;
  /** Why this protocol's constants (resolved) cannot run on the stack, if they cannot (checked before anything starts). */
  refuses?(profile: Record<string, unknown>): string | undefined;
  start(env: StackEnv): Promise<StackMarket>;
}

/**
 * Runs a pack's task lifecycle (a generator that yields what it asks the protocol and returns the
 * plan) against an executor's answers: the model's (synchronous) or the real stack's.
 */
export function runPlan<Ask, Answer>(lifecycle: Generator<Ask, TaskPlan, Answer>, answer: (ask: Ask) => Answer): TaskPlan {
  let r = lifecycle.next();
  while (!r.done) r = lifecycle.next(answer(r.value));
  return r.value;
}

/** {@link runPlan} against asynchronous answers (the real stack). */
export async function runPlanAsync<Ask, Answer>(lifecycle: Generator<Ask, TaskPlan, Answer>, answer: (ask: Ask) => Promise<Answer>): Promise<TaskPlan> {
  let r = lifecycle.next();
  while (!r.done) r = lifecycle.next(await answer(r.value));
  return r.value;
}

/** Identity helper for `reference-impl/<id>/simulation.ts` default exports. */
export function defineSimulation(p: SimulationPack): SimulationPack {
  return p;
}

/**
 * `StackMarket.fund` for a market paid in an ERC-20 token: the fixture's funded `admin` transfers
 * the starting balance to the agent's key; a transfer that does not succeed is an error (never a
 * buyer silently short of money).
 */
export function fundByTransfer(chain: RunningChain, token: Address, key: StackEnv['key'], protocol: string): StackMarket['fund'] {
  const admin = createChainClients(chain).walletClient(roleAccount('admin'));
  return async (account, amount) => {
    if (amount === 0n) return;
    const r = await admin.writeContractSync({ address: token, abi: erc20Abi, functionName: 'transfer', args: [key(account).address, amount] });
    if (r.status !== 'success') throw new Error(`${protocol} simulation: funding ${account} reverted (${r.transactionHash})`);
  };
}
