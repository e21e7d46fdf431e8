/**
 * Scripted APS-1 worker agents: what an agent does with a task it was paid for. Each strategy is an
 * execute handler (the logic an `APS1Agent.onExecute` would hold), used by the reference agent
 * servers (one per strategy) and by the on-chain scripted workers of the scenarios:
 *
 * - `honest`: runs exactly the task it was given and answers a deterministic analysis;
 * - `slow`: answers `pending` at once and finishes (honestly) `delayMs` later, possibly past the
 *   escrow's deadline;
 * - `mismatching`: runs a different task than the one it committed to (its result hash will not
 *   match its plan hash: a proof mismatch);
 * - `failing`: throws (the agent answers `status: "error"`).
 *
 * A handler returns the task it actually ran, so the proof's result hash is computed from what
 * happened, never from what was asked.
 */
import type { TaskSpec } from '../protocol/proof.ts';

export type WorkerStrategy = 'honest' | 'slow' | 'mismatching' | 'failing';
export const WORKER_STRATEGIES: readonly WorkerStrategy[] = ['honest', 'slow', 'mismatching', 'failing'];

/** What a handler produced. */
export interface WorkOutcome {
  status: 'success' | 'error';
  result?: unknown;
  error?: string;
  /** The task that was actually run (its hash is the proof's result hash). */
  ran: TaskSpec;
}

/** An execute handler. */
export type ExecuteHandler = (task: TaskSpec) => Promise<WorkOutcome>;

/** The deterministic "analysis" an honest worker returns for a task. */
export function honestAnalysis(task: TaskSpec): Record<string, unknown> {
  const words = task.prompt.trim().split(/\s+/).filter(Boolean);
  return {
    analysis: `analysed: ${task.prompt.slice(0, 120)}`,
    words: words.length,
    characters: task.prompt.length,
    payloadKeys: Object.keys(task.payload ?? {}).sort(),
  };
}

/** The handler of a strategy (`slow` finishes like `honest`; its delay is the server's business). */
export function workerHandler(strategy: WorkerStrategy): ExecuteHandler {
  switch (strategy) {
    case 'honest':
    case 'slow':
      return async (task) => ({ status: 'success', result: honestAnalysis(task), ran: task });
    case 'mismatching': {
      return async (task) => {
        // Cuts a corner: runs a cheaper task than the one it committed to.
        const ran = { ...task, prompt: `${task.prompt} [shortened]` };
        return { status: 'success', result: honestAnalysis(ran), ran };
      };
    }
    case 'failing':
      return async () => {
        throw new Error('worker failed: the task could not be completed');
      };
  }
}
