/**
 * The Agentripe server's test-only faults: each breaks one rule so a test can show the scenarios
 * notice it (kills.ts, `serve.ts --fault NAME`). Never set in production.
 */
import { defineFaults, type FaultsOf } from '../../_shared/faults.ts';

export const AGENTRIPE_FAULTS = defineFaults({
  amountOffByOne: 'the 402 asks one base unit more than the catalog price',
  releaseBeforeReview: 'complete releases the escrow before the review runs',
  acceptReplayedPayment: 'a replayed payment header creates another task',
  recordAmountOffByOne: 'the deposit is recorded one unit short',
  taskIdNotTxHash: 'taskId is a random id, not the payment tx hash',
  anyStateComplete: 'complete is accepted from any state',
  refundOnApprove: 'an approved result refunds the buyer',
  failWithoutRefund: 'fail marks the task failed but never refunds',
  noOwnershipCheck: 'any authenticated vendor may act on any task',
  walletChangeAlwaysOk: 'POST /agents/{id}/wallet answers 200 although the registry refused',
});

/** The faults switched on (all off by default). */
export type AgentripeFaults = FaultsOf<typeof AGENTRIPE_FAULTS>;
