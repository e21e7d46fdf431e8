/**
 * The simulation's money: balances per account in base units, every movement an event, and the
 * exact conservation check run at the end. Money enters only by funding (the buyers' starting
 * balances) and never leaves; a transfer never overdraws an account.
 */

/** One row of the event log (money movements and the protocol actions between them). */
export interface SimEvent {
  seq: number;
  /** Simulated milliseconds since the start. */
  t: number;
  protocol: string;
  task: string;
  action: string;
  from: string;
  to: string;
  /** Base units; 0n for an action that moves no money. */
  amount: bigint;
  note: string;
}

/** A conservation violation, with the events that lead to it. */
export interface Violation {
  message: string;
  /** The events of the accounts and tasks involved (the whole trail when no task is named). */
  trail: SimEvent[];
}

/** Balances and the event log. */
export class Ledger {
  readonly balances = new Map<string, bigint>();
  readonly events: SimEvent[] = [];
  funded = 0n;

  balance(account: string): bigint {
    return this.balances.get(account) ?? 0n;
  }

  /** Record an action (no money). */
  note(e: Omit<SimEvent, 'seq' | 'from' | 'to' | 'amount'> & Partial<Pick<SimEvent, 'from' | 'to'>>): void {
    this.events.push({ seq: this.events.length, from: '', to: '', amount: 0n, ...e });
  }

  /** Money entering the simulation: a buyer's starting balance. */
  fund(t: number, account: string, amount: bigint): void {
    if (amount < 0n) throw new RangeError(`negative funding for ${account}`);
    this.funded += amount;
    this.balances.set(account, this.balance(account) + amount);
    this.events.push({ seq: this.events.length, t, protocol: '', task: '', action: 'fund', from: '', to: account, amount, note: '' });
  }

  /** Whether `from` holds `amount`. */
  covers(from: string, amount: bigint): boolean {
    return this.balance(from) >= amount;
  }

  /**
   * Move money. An amount that is negative, or more than `from` holds, is refused with a
   * {@link LedgerError}: a pack's plan that does so is a conservation violation.
   */
  transfer(t: number, protocol: string, task: string, action: string, from: string, to: string, amount: bigint, note = ''): void {
    if (amount < 0n) throw new LedgerError(`${task} ${action}: negative transfer of ${amount} from ${from} to ${to}`);
    const have = this.balance(from);
    if (have < amount) throw new LedgerError(`${task} ${action}: ${from} holds ${have}, cannot pay ${amount} to ${to}`);
    this.balances.set(from, have - amount);
    this.balances.set(to, this.balance(to) + amount);
    this.events.push({ seq: this.events.length, t, protocol, task, action, from, to, amount, note });
  }
}

/** A transfer the ledger refused (overdraft or negative amount). */
export class LedgerError extends Error {
  override name = 'LedgerError';
}

/** What the conservation check needs to know about one task. */
export interface TaskMoney {
  id: string;
  escrow: string;
  /** The task has finished: nothing of it may remain in escrow. */
  finished: boolean;
}

/**
 * Exact conservation: (1) replaying the event log from zero gives every balance the ledger holds;
 * (2) the balances sum to what was funded and none is negative; (3) per task, what went into its
 * escrow minus what came out is never negative, is zero once the task finished, and the open tasks'
 * holdings add up to each escrow account's balance.
 */
export function checkConservation(ledger: Ledger, tasks: readonly TaskMoney[]): Violation[] {
  const out: Violation[] = [];
  const replay = new Map<string, bigint>();
  const held = new Map<string, bigint>();
  const escrowOf = new Map(tasks.map((t) => [t.id, t.escrow]));
  for (const e of ledger.events) {
    if (e.amount === 0n) continue;
    if (e.from) replay.set(e.from, (replay.get(e.from) ?? 0n) - e.amount);
    replay.set(e.to, (replay.get(e.to) ?? 0n) + e.amount);
    const escrow = escrowOf.get(e.task);
    if (escrow === undefined) continue;
    if (e.to === escrow) held.set(e.task, (held.get(e.task) ?? 0n) + e.amount);
    if (e.from === escrow) held.set(e.task, (held.get(e.task) ?? 0n) - e.amount);
  }
  const accounts = new Set([...replay.keys(), ...ledger.balances.keys()]);
  let sum = 0n;
  for (const a of [...accounts].sort()) {
    const b = ledger.balance(a);
    sum += b;
    if ((replay.get(a) ?? 0n) !== b)
      out.push({ message: `account ${a}: the ledger holds ${b} but its events add up to ${replay.get(a) ?? 0n}`, trail: trailOf(ledger, (e) => e.from === a || e.to === a) });
    if (b < 0n) out.push({ message: `account ${a} is negative: ${b}`, trail: trailOf(ledger, (e) => e.from === a || e.to === a) });
  }
  if (sum !== ledger.funded) out.push({ message: `the balances add up to ${sum} but ${ledger.funded} was funded (${sum - ledger.funded} created or destroyed)`, trail: [...ledger.events] });
  const openByEscrow = new Map<string, bigint>();
  for (const t of tasks) {
    const h = held.get(t.id) ?? 0n;
    if (h < 0n) out.push({ message: `task ${t.id}: ${t.escrow} paid out ${-h} more than the task deposited`, trail: trailOf(ledger, (e) => e.task === t.id) });
    else if (t.finished && h !== 0n) out.push({ message: `task ${t.id} finished with ${h} still in ${t.escrow}`, trail: trailOf(ledger, (e) => e.task === t.id) });
    openByEscrow.set(t.escrow, (openByEscrow.get(t.escrow) ?? 0n) + h);
  }
  for (const [escrow, open] of openByEscrow) {
    const b = ledger.balance(escrow);
    if (b !== open) out.push({ message: `${escrow} holds ${b} but its open tasks account for ${open}`, trail: trailOf(ledger, (e) => e.from === escrow || e.to === escrow) });
  }
  return out;
}

function trailOf(ledger: Ledger, pick: (e: SimEvent) => boolean): SimEvent[] {
  return ledger.events.filter(pick);
}
