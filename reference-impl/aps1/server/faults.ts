/**
 * The APS-1 reference servers' test-only faults: each breaks one rule so a test can show the
 * scenarios notice it (kills.ts, `serve.ts --fault NAME`). Never set in production.
 */
import { defineFaults, type FaultsOf } from '../../_shared/faults.ts';

export const APS1_FAULTS = defineFaults({
  // agent server
  manifestNoWallet: 'the manifest names no walletAddress (an invalid manifest)',
  tokenDecimals18: 'the manifest lists its 6-decimal tokens with 18 decimals',
  healthNotOk: 'GET /health answers {status: "degraded"}',
  replyOtherJob: 'negotiation replies name another jobId',
  ignoreAgreement: 'executions charge the base price whatever price was agreed',
  otherPlanHash: 'plan and result hashes cover the prompt only, not the task the profile defines',
  offsetTimestamps: 'results carry timestamps with a +00:00 offset, which the validator refuses',
  refuseUnknownKeys: 'envelopes and negotiation messages with unknown keys are refused (the validator strips them)',
  acceptBelowFloor: 'the agent accepts any proposed price, even below its minPrice',
  counterAboveBase: 'the agent counters at twice its basePrice',
  executeWithoutEscrow: 'a paid agent executes an envelope that names no escrow',
  skipEscrowCheck: 'the agent executes on an escrow claim it did not verify on chain (forged, too small, not its own)',
  acceptReusedEscrow: 'the same escrow (or direct transfer) pays for several jobs',
  noComplete: 'the agent never completes its NexusV2 job after a successful execution',
  skipProofCommit: 'a proof-enabled agent executes without committing a plan hash',
  forgetStatus: 'GET /status/:jobId answers 404 for jobs the agent ran',
  wrongChainId: 'results name chain id 1 instead of the chain they ran on',
  malformed500: 'a malformed request body is answered 500 instead of 400',
  ignoreDeadline: 'the agent runs on a NexusV2 job that is past its deadline (it can no longer complete it)',
  statelessNegotiation: 'each negotiation message is answered as the first of its job (a later lowball undoes an agreement)',
  invalidErrorResult: "a failed execution is stored and answered with status 'failed', which APS1Result does not allow",
  recordRefusedEnvelopes: 'an envelope the validator refuses is still recorded under its jobId (GET /status then answers an error result for it)',
  noIdempotency: 'the agent keeps no per-jobId record: every delivery of an envelope is checked and run as a new job (a duplicate runs twice)',
  noRevertCheck: 'the agent never checks that the escrow block of a stored job is still on chain (after a reorg it answers a result naming transactions the chain no longer has)',
  noCrashResume: 'a job a crash left running is answered 409 "still running" for ever instead of being finished by the next delivery',
  inMemoryState: 'the agent and the marketplace keep their state in memory only (a restart forgets every job, agreement and hire)',
  // marketplace
  noCallerAuth: "the marketplace executes (and charges) without checking the caller's signature",
  settleOnFailure: 'the marketplace settles the escrow although the agent failed or its proof mismatched',
  payoutOffByOne: "the marketplace's settlement message reports agentPayout one unit high",
  staleListing: 'GET /agents lists a stale manifest (a price the agent no longer asks)',
  keepRefund: 'the marketplace keeps refunds instead of returning them to the caller',
  authWindowTenMinutes: "the marketplace accepts a caller's signature up to 10 minutes old, twice the profile's ±300 s",
  acceptUnverifiableSignature: 'the marketplace takes a signature it cannot recover (65 zero bytes) as the caller’s',
  noFundsCheck: "the marketplace pulls the price without checking the caller's allowance and balance first (an unfunded caller gets a 502)",
  dropPayload: 'the marketplace forwards the prompt but not the payload to the agent',
  noHireAnchor: 'the marketplace does not anchor a hire to its createJob block (after a chain revert it answers the hire the chain forgot)',
  forgetHireAnswer: 'a resent hire (same caller, same jobId) is answered 409 instead of the stored answer',
  hireJunk500: 'the marketplace parses a hire body without a guard: a body that is not JSON is answered 500',
  noHireRecovery: 'a hire a crash cut is never finished: nothing resumes it at start, and a resend is answered 409 (money pulled before the crash stays with the marketplace)',
});

/** The faults switched on (all off by default). */
export type Aps1Faults = FaultsOf<typeof APS1_FAULTS>;
