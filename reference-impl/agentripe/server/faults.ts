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
  unknownServiceFirstEntry: "an unknown service path is sold at the price of the catalog's first entry",
  zeroPriceChallenge: 'a $0 catalog entry found on chain gets a 402 challenge instead of a refusal',
  zeroPriceRegister: 'the registration routes and PUT /vendor/agent-uri accept a $0 catalog price',
  registerKeepsEndpoint: "POST /agents/register keeps the caller's service endpoint instead of the server's URL",
  registerNoValidation: 'POST /agents/register skips the validation rules (name, services, catalog fields)',
  nextIdOffByOne: '/agents/next-id answers the last registered id instead of the next one',
  statsUnknownAgent: '/agents/{id}/stats answers 200 with zeros for an agent that does not exist',
  statsSkipFailed: '/agents/{id}/stats counts neither failed tasks nor refunded amounts',
  vendorListStale: '/vendor/tasks reports every task with the status it had when it was created',
  agentUriNotWritten: 'PUT /vendor/agent-uri answers 200 without writing the URI on chain',
  listAllTasks: "/vendor/tasks lists every agent's tasks",
  apiKeyTrustsAgentHeader: 'an ak_ key acts for the agent named in X-Agent-Id instead of its own',
  authOwnerOnly: 'vendor auth accepts only the agent NFT owner, not an approved operator',
  authAcceptsAgentWallet: "vendor auth also accepts the agent's agentWallet",
  noReleaseWithoutReview: 'a task without reviewer_request completes but its escrow is never released',
  noFeedbackOnRefund: 'no reputation feedback is given after a refund',
  raceLoser502: 'a complete or fail that lost a race to another resolution answers 502 "it will be retried"',
  taskOnBadPayment: 'a paid request writes its task before the payment is verified; a refused payment leaves it behind',
  noRevertCheck: 'rows anchored to blocks are never checked against the chain: a task whose payment a reorg removed stays live',
  orphanReminedPayments: 'a task whose payment a reorg mined again in another block is orphaned (the paid task disappears)',
  completeStoresResultFirst: 'complete stores the submitted result before checking the task state (a refused complete overwrites it)',
  agentIdNoDigitCheck: 'an agent id in a path is read with BigInt() unchecked (GET /agents/abc answers 500)',
  solanaAnyKey: "Solana vendor auth checks the ed25519 signature but takes any key as the agent's solanaWallet (any Solana key acts for any agent)",
  authHeaderCheckAnd: 'the vendor-auth header check joins its conditions with && (a valid X-Vendor-Address with a non-numeric X-Agent-Id reaches BigInt() and answers 500)',
  noBodyDepthCheck: "the paid route does not limit a task body's nesting and stores it with its keys sorted by a recursive walk (a body nested 100,000 levels deep overflows the stack: 500)",
  apiKeyOutlivesRevert: 'an ak_ key is stored without the block of its registration: a chain revert that removes the registration leaves the key working',
  escrowActionAsDecided: 'complete reports the escrow action it decided, not the one the escrow carried out (after a buyer\'s reclaim it answers escrowAction "released")',
  resyncReclaimAsRelease: "on start, a deposit the chain resolved without the server's decision (a buyer's reclaim) is read as a release: the reclaimed task reads completed",
  resyncSkipsFeedback: 'on start, a reputation feedback still owed for a resolution finished after a crash is never given',
  resyncDropsOwedFeedback: "on start, a task already resolved whose reputation feedback is still owed is read as a buyer's reclaim: the feedback is dropped",
  receiptFailureIsNotMined: 'after a reorg, a payment whose receipt the node fails to serve is read as not mined: its task is orphaned although the payment was mined again',
  outageAsDenial: "a node failure while reading the IdentityRegistry is answered as the chain's no: the paid route and GET /agents/{id} answer 404 Agent not found, vendor auth 401",
  ownFeedbackByHashAlone: "on start, the server looks for its own feedback by the task's hash alone: a buyer's feedback with that hash reads as the server's, which is never given",
  inMemoryState: 'tasks are kept in memory (SQLite :memory:), not in the database file: a restart loses them',
  noCrashRecovery: 'a release or refund decided before a crash is never carried out: no resync on start, and a repeated complete or fail is refused while it is pending',
  retryJudgesAgain: 'a repeated complete whose decided release or refund is still pending is reviewed again as a new submission (a retried last rejection is counted twice)',
  retryEscrowActionInverted: 'a repeated complete that finishes a pending release or refund answers the other resolution as its escrowAction',
  retryEscrowActionMisnamed: 'a repeated complete that finishes a pending release or refund answers an escrowAction the seed does not have ("done")',
});

/** The faults switched on (all off by default). */
export type AgentripeFaults = FaultsOf<typeof AGENTRIPE_FAULTS>;
