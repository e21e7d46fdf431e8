/**
 * Requirement catalog for `aps1` (seed 004, APS-1 README; specs/protocols.md §D, the package's
 * validator and the public contracts). Where both are silent the rule comes from
 * scenarios/aps1/profile.md (APS-PROF-nn) and is flagged `profileAssumption: true`. Where the public
 * contracts contradict the text's intent, the requirement states the intent and names the compat
 * switch that reproduces the public behaviour (and fails it).
 */
import { defineCatalog } from '../../harness/engine/catalog.ts';

const SEED = { document: 'Seed 004 APS-1 README (shared/seeds/004_fad0599b83ca4664.txt)' };
const D2 = { document: 'specs/protocols.md §D.2 (the package validator, src/validator.ts)' };
const D3 = { document: 'specs/protocols.md §D.3 PayPolNexusV2.sol' };
const D4 = { document: 'specs/protocols.md §D.4 PayPolStreamV1.sol' };
const D5 = { document: 'specs/protocols.md §D.5 AIProofRegistry.sol and ReputationRegistry.sol' };
const PROFILE = { document: 'scenarios/aps1/profile.md' };

export const aps1Requirements = defineCatalog([
  // ---- the chain ------------------------------------------------------------------------------
  {
    id: 'APS-CHN-01',
    level: 'MUST',
    title: 'The chain is Tempo L1 Moderato with the seed’s tokens and contracts',
    source: { ...SEED, section: 'Protocol Constants; Smart Contracts; Supported Tokens' },
    text: 'chainId 42431; AlphaUSD, pathUSD, BetaUSD, ThetaUSD at 0x20c0…0001/0000/0002/0003 with 6 decimals and those symbols; NexusV2, PayPolStreamV1, AIProofRegistry and ReputationRegistry hold code at the seed’s addresses; NexusV2 charges APS1_PLATFORM_FEE_BPS = {platformFeeBps} and StreamV1 allows at most 10 milestones.',
    profileAssumption: false,
  },
  // ---- discovery --------------------------------------------------------------------------------
  {
    id: 'APS-MAN-01',
    level: 'MUST',
    title: 'GET /manifest answers a valid APS1Manifest',
    source: { ...SEED, section: 'Phase 1: Discovery "Every APS-1 agent MUST serve a manifest at GET /manifest"' },
    text: 'GET /manifest answers 200 with a body the package validator accepts: aps "1.0", kebab-case id ≤ 64, name ≤ 128, description ≤ 1024, a category of the enum, semver version, pricing in USD with non-negative prices, ≥ 1 capability, payment method and supported token, proofEnabled, walletAddress, endpoints.manifest and .execute as URLs.',
    profileAssumption: false,
  },
  {
    id: 'APS-MAN-02',
    level: 'MUST',
    title: 'The manifest tells the truth about the agent',
    source: { ...SEED, section: 'Phase 1 manifest example: endpoints, supportedTokens, reputationScore; On-chain reputation scores' },
    text: 'Its endpoints.manifest answers the same manifest and .health answers; a negotiate endpoint is listed exactly when pricing is negotiable; minPrice ≤ basePrice; every supported token exists on the chain with the listed decimals; a reputationScore, when present, equals the ReputationRegistry score of walletAddress.',
    profileAssumption: false,
  },
  {
    id: 'APS-MAN-03',
    level: 'MUST',
    title: 'GET /health reports ok for this agent',
    source: { ...D2, section: 'Reference agent server: GET /health → {status:"ok", aps, agent, name, version, uptime}' },
    text: 'GET /health answers 200 {status: "ok", aps: "1.0", agent: <manifest id>}.',
    profileAssumption: false,
  },
  // ---- message formats --------------------------------------------------------------------------
  {
    id: 'APS-MSG-01',
    level: 'MUST',
    title: 'Timestamps are read as the validator reads them',
    source: { ...D2, section: 'isoTimestamp = z.string().datetime() (zod 3.25: UTC "Z", seconds optional, any fraction, calendar dates)' },
    text: 'Every timestamp the agent writes (results, negotiation replies) passes z.string().datetime(); a message timestamped without seconds ("…T10:30Z") or with 9 fractional digits is accepted, one with an offset ("+02:00"), a space for the "T" or an impossible date (2025-02-29) is refused with 400 and nothing is recorded.',
    profileAssumption: false,
  },
  {
    id: 'APS-MSG-02',
    level: 'MUST',
    title: 'Unknown keys are ignored, not refused',
    source: { ...D2, section: 'z.object(...) (strip): the validator accepts and drops keys it does not know' },
    text: 'An envelope or negotiation message carrying keys the schema does not name (top level and inside escrow/proof) is processed exactly like the same message without them.',
    profileAssumption: false,
  },
  {
    id: 'APS-MSG-03',
    level: 'MUST',
    title: 'A malformed message is refused with a 4xx and changes nothing',
    source: { ...D2, section: 'APS1ExecutionEnvelopeSchema, APS1NegotiationSchema constraints; DESIGN rule 7' },
    text: 'An envelope or negotiation message that breaks any constraint of the validator (lengths, regexes, enums, integers, bounds, types) or is not JSON is answered 4xx with a JSON error; no job is recorded (/status stays 404), no negotiation is recorded, the agent sends no transaction.',
    profileAssumption: false,
  },
  {
    id: 'APS-ROB-01',
    level: 'MUST',
    title: 'A malformed request to the agent or the marketplace gets no 5xx, is refused where it could change state, and changes nothing',
    source: {
      ...PROFILE,
      section:
        'APS-PROF-17 Robustness (RFC 9110 §15.5-15.6: a client error is a 4xx, a 5xx says the server erred; DESIGN rule 7 "no 500 for a client\'s mistake"; seed Phase 3 "Before execution, the client locks funds")',
    },
    text: "Every malformed request to an agent server or a marketplace (a body that is not JSON or not an object, an envelope without a task, an escrow claim that is broken or pays nothing, a negotiation message without a type, jobId or price or with a negative one, a hire without a valid signature of its caller or whose signature covers another request, an agent that is not listed, a wrong method, an unpublished path, a body past the server's limit, a transport-level defect) is answered below 500 (501 for an unimplemented method; a closed connection for a transport-level defect or a body over 64 KiB), and with a 4xx where it aims at a route that can change state; after a batch of them the manifest and the listing, the stored result of a finished job, the agent's and the marketplace's nonces, the balances of the parties, the caller's allowance to the marketplace, the unused escrow's NexusV2 job or stream and the contracts' job, stream and proof counters are unchanged, no jobId the batch named has a job, and no NexusV2, StreamV1, AIProofRegistry or token event names the agent, the marketplace or the harness's roles.",
    profileAssumption: true,
  },
  // ---- negotiation ------------------------------------------------------------------------------
  {
    id: 'APS-NEG-01',
    level: 'MUST',
    title: 'POST /negotiate answers an APS1Negotiation message for the same job',
    source: { ...SEED, section: 'Phase 2: Negotiation (propose, counter, accept)' },
    text: 'A valid propose / counter / accept / reject is answered 200 with a message the validator accepts, for the same jobId, in USD, of type counter, accept or reject (an agent that does not negotiate may answer 404 instead, when its pricing is not negotiable).',
    profileAssumption: false,
  },
  {
    id: 'APS-NEG-02',
    level: 'MUST',
    title: 'The agent never goes below its floor; an accept repeats the price',
    source: { ...SEED, section: 'pricing {basePrice, negotiable, minPrice}: the floor from minPrice; "Minimum $4"' },
    text: 'A reply never accepts nor counters below the floor (minPrice, else basePrice); an accept names the price it accepts (the proposal’s, or the client’s accepted price); a counter is at most basePrice.',
    profileAssumption: true,
  },
  {
    id: 'APS-NEG-03',
    level: 'MUST',
    title: 'An agreed price is the price the execution charges',
    source: { ...PROFILE, section: 'APS-PROF-05 The agreement binds' },
    text: 'After the agent accepted a price for a jobId, an escrow of exactly that price (in the token’s base units) pays for the job, also after a later proposal below the floor (which does not undo the agreement), and an escrow one base unit below it is refused (4xx, nothing run).',
    profileAssumption: true,
  },
  // ---- execution --------------------------------------------------------------------------------
  {
    id: 'APS-EXE-01',
    level: 'MUST',
    title: 'POST /execute answers an APS1Result for the job; /status/:jobId keeps it',
    source: { ...SEED, section: 'Phase 4: Execution (APS1ExecutionEnvelope in, APS1Result out); GET /status/:jobId' },
    text: 'A paid envelope is answered with a result the validator accepts for the same jobId and agentId; its onChain names this chain’s id and network; GET /status/:jobId then answers that result; an unknown jobId answers 404.',
    profileAssumption: false,
  },
  {
    id: 'APS-EXE-02',
    level: 'MUST',
    title: 'No execution without a payment to this agent',
    source: { ...SEED, section: 'Phase 3: Escrow "Before execution, the client locks funds"' },
    text: 'An envelope with no escrow (to a paid agent), or whose escrow does not pay this agent (a job for another worker, less than the price, an unknown job, another contract, a transaction that does not create it, a finished job or one past its deadline), is refused with a 4xx; nothing is run (/status 404) and the agent sends no transaction.',
    profileAssumption: true,
  },
  {
    id: 'APS-EXE-03',
    level: 'MUST',
    title: 'One escrow pays for one job; a retry is idempotent',
    source: { ...PROFILE, section: 'APS-PROF-06 One escrow, one job' },
    text: 'A second envelope (another jobId) naming an escrow or direct transfer that already paid is refused with a 4xx; resending the same envelope answers the same result and sends no new transaction.',
    profileAssumption: true,
  },
  {
    id: 'APS-EXE-04',
    level: 'MUST',
    title: 'Each escrow method is honoured on chain, and every reported transaction is real',
    source: { ...SEED, section: 'Phase 3 methods nexus-escrow | stream-milestone | direct-transfer; Phase 6 settlement' },
    text: 'After a successful execution paid by NexusV2 the job is Completed (by the agent’s wallet), by StreamV1 the next milestone is Submitted, by a direct transfer nothing more is owed; every hash in result.onChain.transactions is a successful transaction sent by the agent’s wallet, in the block it names.',
    profileAssumption: false,
    constants: ['platformFeeBps'],
  },
  // ---- bad days: duplicates, reorgs, crashes --------------------------------------------------------
  {
    id: 'APS-FLT-01',
    level: 'MUST',
    title: 'A request delivered twice runs one job and uses its escrow once',
    source: { ...PROFILE, section: 'APS-PROF-18 Duplicate delivery (APS-PROF-06 one escrow, one job; APS-PROF-11 a jobId is charged once)' },
    text: 'When the network delivers one paid envelope twice (both copies at once, or the second after the first was answered), by every escrow method the agent takes, every delivery is answered with the job’s one outcome (a 2xx naming the same execution) or a 4xx, never a 5xx; GET /status/:jobId answers that execution; the agent sent at most one plan commitment, verification, completion and milestone submission for it, a NexusV2 job is Completed once and a stream delivers one milestone, not two. When a signed hire is delivered twice, every delivery is answered without a 5xx, the served ones with the same escrow and settlement, exactly one NexusV2 job is created for it, it ends once, and the caller paid the price once (settled) or nothing (refunded). (The harness’s fault proxy duplicates the request; a fault that never fired leaves the case indeterminate.)',
    profileAssumption: true,
  },
  {
    id: 'APS-ORG-01',
    level: 'MUST',
    title: 'An escrow a reorg removed pays for nothing; one mined again counts once',
    source: { ...PROFILE, section: 'Reorgs and confirmation depth (APS-PROF-19); seed Phase 3 "Before execution, the client locks funds"' },
    text: 'After an agent executed a job paid by a NexusV2 job, and a reorg (capability reorg) replaced every block from the escrow’s up: when the escrow is gone from the new branch, GET /status/:jobId and a resent envelope answer 404 / a 4xx or a result whose every reported transaction is on the chain now, in the block it names (never a success naming transactions the chain no longer has), the agent sends no transaction for it, and an escrow the employer funds again on the new branch is served like any paid job; when the escrow is mined again in another block (with or without the agent’s own transactions), the same holds for the answers, a resent envelope is answered 200 with the job delivered on the new branch or a 4xx, and the NexusV2 job is Completed on the new branch at most once, with at most one plan commitment for it.',
    profileAssumption: true,
  },
  {
    id: 'APS-RST-01',
    level: 'MUST',
    title: 'An agent or marketplace killed and restarted at any step loses nothing and runs nothing twice',
    source: { ...PROFILE, section: 'APS-PROF-20 Crashes and restarts (DESIGN: SQLite state that survives a restart)' },
    text: 'When the agent server (and the marketplace) is killed with SIGKILL and restarted on the same state (capability restart) at every step boundary of a job (after a negotiation agreed a price, after the escrow was funded, after the execution, after a dispute, after the judge settled or refunded; and between the milestones of a stream; and after a hire), the agreement still binds (an escrow of the agreed price pays), a paid envelope sent after the restart runs, GET /status/:jobId answers what it answered before, resending an envelope answers the same execution and sends no transaction, the NexusV2 job is Completed once and resolved (JobSettled or JobRefunded) exactly once, the second envelope of a stream delivers the next milestone (not the first again), and a resent hire answers the stored answer (or a 4xx) and charges nothing more; when the agent is killed while its completeJob transaction is in flight (held before the send, or after it was mined; needs rpc-faults too), the employer’s resend is answered with the job’s result (at once, or by /status within 20 s) and the job is committed, verified and completed once; when the marketplace is killed while one of its hire transactions is in flight (the pull of the price, createJob, the transfer back of a refund; held before the send, or after it was mined; needs rpc-faults too), the caller’s resend is answered within 30 s (200, or a 4xx when nothing was charged), the hire settled once (the caller paid the price once, the agent got price − fee) or the caller got every unit back, the marketplace keeps nothing, and one hire never makes two NexusV2 jobs.',
    profileAssumption: true,
  },
  // ---- proofs -----------------------------------------------------------------------------------
  {
    id: 'APS-PRF-01',
    level: 'MUST',
    title: 'A proof-enabled agent commits before and verifies after, and reports what the chain says',
    source: { ...SEED, section: 'Phase 5: Verification (commit planHash before, submit resultHash after, match)' },
    text: 'With proofEnabled, the agent’s wallet commits a plan hash for the job’s on-chain id before the job is completed, and verifies it; result.proof.verifyTxHash holds the CommitmentVerified event of that commitment, with the same resultHash and matched.',
    profileAssumption: false,
  },
  {
    id: 'APS-PRF-02',
    level: 'MUST',
    title: 'AIProofRegistry: commit, verify once, matched flag, slash only verified mismatches',
    source: { ...D5, section: 'commit / verify / slash / getStats' },
    text: 'A zero planHash is refused; commitmentId = keccak256(agent, planHash, jobId, timestamp, count); a commitment verifies once and matched = (planHash == resultHash); only the owner slashes, only a verified mismatch, once; getStats counts match.',
    profileAssumption: false,
  },
  {
    id: 'APS-PRF-03',
    level: 'MUST',
    title: 'Only the committing agent verifies its commitment',
    source: { ...SEED, section: '"Verify: After execution, agent submits resultHash" (public contract: anyone may; compat verifyByAnyone)' },
    text: 'A verify by anyone but the committing agent (a forged result hash) is refused and leaves the commitment unverified; the agent can still verify.',
    profileAssumption: true,
    constants: ['verifyByAnyone'],
  },
  {
    id: 'APS-PRF-04',
    level: 'SHOULD',
    title: 'The plan hash is the hash of the task',
    source: { ...PROFILE, section: 'APS-PROF-08 What is hashed' },
    text: 'The committed planHash is keccak256 of the canonical JSON {aps, jobId, agentId, prompt, payload} of the envelope, so any party can recompute it.',
    profileAssumption: true,
  },
  // ---- NexusV2 ----------------------------------------------------------------------------------
  {
    id: 'APS-JOB-01',
    level: 'MUST',
    title: 'createJob locks the budget and fixes the fee at creation',
    source: { ...D3, section: 'createJob: pulls amount, fee = amount*bps/10000 fixed at creation, deadline = now + duration, ids from 0' },
    text: 'createJob pulls exactly the amount from the employer, numbers jobs from 0, and getJob reads back employer, worker, judge, token, budget, platformFee = floor({platformFeeBpsPercent}), deadline = block time + duration; a later fee change does not change the job’s fee; zero amount or addresses are refused.',
    profileAssumption: false,
  },
  {
    id: 'APS-JOB-02',
    level: 'MUST',
    title: 'Only the named roles move a job, from the right statuses',
    source: { ...D3, section: 'startJob/completeJob worker|judge|owner; disputeJob employer; settle/refund judge|owner; rateWorker employer once' },
    text: 'start (Created) and complete (Created|Executing) by worker, judge or owner; dispute by the employer from Created|Executing|Completed; settle and refund by judge or owner on an unfinished job; rate by the employer once, 1..5, on a Settled job; anything else is refused and changes no job, balance or rating.',
    profileAssumption: false,
  },
  {
    id: 'APS-JOB-03',
    level: 'MUST',
    title: 'Settlement and refund move exactly the budget',
    source: { ...SEED, section: 'Phase 6: "Success: payment to agent (minus platform fee)"; D.3 settle/refund' },
    text: 'settle pays the worker budget − fee and accrues the fee; refund returns the whole budget, no fee; the contract always holds exactly the budgets of unfinished jobs + open dispute bonds + accrued fees.',
    profileAssumption: false,
    constants: ['platformFeeBps'],
  },
  {
    id: 'APS-JOB-04',
    level: 'MUST',
    title: 'Every job ends exactly once: settled, refunded or timed out',
    source: { ...D3, section: 'settle/refund/claimTimeout "not finalized"' },
    text: 'A settled, refunded or timed-out job accepts no further settle, refund, timeout or dispute, and its status and balances never change again.',
    profileAssumption: false,
  },
  {
    id: 'APS-JOB-05',
    level: 'MUST',
    title: 'Timeout: after the deadline the employer gets the whole budget back, unless the worker delivered',
    source: { ...SEED, section: '"Timeout: If agent doesn’t deliver within deadline, client gets refund" (public contract: any unfinished job; compat timeoutAfterDelivery)' },
    text: 'claimTimeout by the employer is refused at the deadline and accepted one second after, paying the whole budget with no fee, for a job not delivered (Created or Executing); a job delivered in time cannot time out and a delivery after the deadline is refused; only the employer claims; isTimedOut agrees.',
    profileAssumption: true,
    constants: ['timeoutAfterDelivery'],
  },
  {
    id: 'APS-JOB-06',
    level: 'MUST',
    title: 'Races between worker, judge and employer resolve once',
    source: { ...D3, section: 'concurrent complete / dispute / settle / refund / claimTimeout on one job' },
    text: 'Actions of the worker, the judge and the employer sent at the same time end in a state that running them one after the other in some order reaches; the budget is paid out once.',
    profileAssumption: false,
  },
  // ---- disputes ---------------------------------------------------------------------------------
  {
    id: 'APS-DSP-01',
    level: 'MUST',
    title: 'The arbitration penalty comes from the losing side',
    source: { ...D3, section: 'ArbitrationPenaltyApplied names the loser (public contract: the winner pays; compat penaltyFromWinner)' },
    text: 'A disputed job the judge settles pays the worker budget − fee, like an undisputed one, and the employer (who lost) pays the penalty (its dispute bond); a disputed job the judge refunds returns the employer’s whole budget and bond; the winner is never charged.',
    profileAssumption: true,
    constants: ['platformFeeBps', 'arbitrationPenaltyBps', 'maxArbitrationPenaltyTokens', 'penaltyFromWinner'],
  },
  {
    id: 'APS-DSP-02',
    level: 'MUST',
    title: 'The penalty is {arbitrationPenaltyBpsPercent}, rounded down, capped at {maxArbitrationPenaltyTokens} tokens in the token’s units',
    source: { ...D3, section: 'arbitrationPenaltyBps = 300; maxArbitrationPenalty = 10e18 (public contract: compared in 18 decimals; compat penaltyCapIn18Decimals)' },
    text: 'The penalty of a dispute on a budget b is min(floor(b × {arbitrationPenaltyBps} / 10 000), {maxArbitrationPenaltyTokens} × 10^decimals): {arbitrationPenaltyBpsZeroBelow}, {maxArbitrationPenaltyTokensFrom}.',
    profileAssumption: true,
    constants: ['penaltyFromWinner', 'penaltyCapIn18Decimals'],
  },
  {
    id: 'APS-DSP-03',
    level: 'MUST',
    title: 'Only the judge (or the owner) decides a dispute',
    source: { ...D3, section: 'settleJob / refundJob: judge|owner; disputeJob: employer only' },
    text: 'The employer, the worker and strangers can neither settle nor refund a disputed job; a stranger or the worker cannot dispute; the judge’s decision is final.',
    profileAssumption: false,
  },
  // ---- streams ----------------------------------------------------------------------------------
  {
    id: 'APS-STR-01',
    level: 'MUST',
    title: 'A stream has 1 to 10 milestones, each above zero, and locks their sum',
    source: { ...D4, section: 'MAX_MILESTONES = 10; createStream pulls sum; each amount > 0' },
    text: 'createStream with 1..10 positive amounts pulls exactly their sum; 0 or 11 milestones, or a zero amount, are refused and move nothing.',
    profileAssumption: false,
  },
  {
    id: 'APS-STR-02',
    level: 'MUST',
    title: 'An approved milestone pays its amount minus {platformFeeBpsPercent}; the last completes the stream',
    source: { ...D4, section: 'approveMilestone pays amount − 8%; StreamCompleted(totalReleased, totalFees)' },
    text: 'Approving a submitted milestone pays the agent amount − floor(amount × {platformFeeBps} / 10 000) and accrues the fee; when every milestone is approved the stream is Completed with released = budget.',
    profileAssumption: false,
  },
  {
    id: 'APS-STR-03',
    level: 'MUST',
    title: 'Submit, reject and resubmit follow the milestone machine and its roles',
    source: { ...D4, section: 'submit (agent|owner, Pending|Rejected); approve/reject (client|owner, Submitted); reject → resubmit, no limit' },
    text: 'Only the agent (or owner) submits, from Pending or Rejected; only the client (or owner) approves or rejects a Submitted milestone; a rejected milestone can be resubmitted any number of times; anything else is refused and changes nothing.',
    profileAssumption: false,
  },
  {
    id: 'APS-STR-04',
    level: 'MUST',
    title: 'Cancel and timeout refund exactly the remainder',
    source: { ...D4, section: 'cancelStream (client|owner) and claimTimeout (client, after deadline) refund totalBudget − releasedAmount' },
    text: 'cancel by the client (or owner), or claimTimeout by the client after the deadline (refused at it), returns exactly totalBudget − released to the client and closes the stream; a closed stream accepts nothing more.',
    profileAssumption: false,
  },
  // ---- fees -------------------------------------------------------------------------------------
  {
    id: 'APS-FEE-01',
    level: 'MUST',
    title: 'Fee math is exact at the boundaries: {platformFeeBpsPercent}, rounded down, dust to the payee',
    source: { ...SEED, section: 'APS1_PLATFORM_FEE_BPS 800; settlement example agentPayout 4600000 + platformFee 400000' },
    text: 'For budgets of 1 base unit, 12 and 13 (the rounding step), the seed’s 5 AlphaUSD (4,600,000 + 400,000) and large amounts, jobs and milestones pay exactly what the profile’s fee function says; nothing is created or lost.',
    profileAssumption: false,
  },
  // ---- reputation -------------------------------------------------------------------------------
  {
    id: 'APS-REP-01',
    level: 'MUST',
    title: 'Reputation score and tier follow the formula',
    source: { ...D5, section: 'Score (0..10000) formula; tiers >9500 / >8000 / >6000 / >3000' },
    text: 'For any snapshot, getScore equals min(3000, nexus) + min(2500, offchain) + completion + max(0, proof − 200·slashed), capped at 10 000, and getTier the tier of that score (a score of exactly 3000, 6000, 8000, 9500 stays in the lower tier).',
    profileAssumption: false,
  },
  {
    id: 'APS-REP-02',
    level: 'MUST',
    title: 'Only the registry owner writes reputation',
    source: { ...D5, section: 'owner-pushed snapshots updateReputation / batchUpdateReputation' },
    text: 'updateReputation and batchUpdateReputation by anyone but the owner are refused and change no score.',
    profileAssumption: false,
  },
  // ---- marketplace ------------------------------------------------------------------------------
  {
    id: 'APS-MKT-01',
    level: 'MUST',
    title: 'The marketplace lists valid manifests, the same each agent serves',
    source: { ...D2, section: 'Client: GET /agents, GET /agents/{id}' },
    text: 'GET /agents answers an array of valid APS1Manifests with distinct ids; GET /agents/{id} answers the same manifest, and an unknown id 404; each listed manifest equals what its own endpoints.manifest answers.',
    profileAssumption: false,
  },
  {
    id: 'APS-MKT-02',
    level: 'MUST',
    title: 'The marketplace escrows for the caller and settles by the outcome',
    source: { ...D2, section: 'POST /agents/{id}/execute; "escrow handled by marketplace backend"; Phase 6 settlement message' },
    text: 'A hire charges the caller exactly the agent’s price into a NexusV2 job paying the agent’s wallet, and gives the agent the caller’s task (its plan hash covers the caller’s prompt and payload); a caller who has not allowed the marketplace the price is refused with a 4xx and nothing moves; the answer is an APS1Result with an APS1Settlement; a success with a matching proof is settled (agent + price − fee, agentPayout + platformFee = price), anything else refunded with the caller made whole; after a chain revert removed a hire, no answer names a NexusV2 job or settlement the chain no longer has.',
    profileAssumption: true,
    constants: ['platformFeeBps'],
  },
  {
    id: 'APS-MKT-03',
    level: 'MUST',
    title: 'The marketplace spends a caller’s money only on the caller’s signed request, once per jobId',
    source: { ...PROFILE, section: 'APS-PROF-11 Caller authorization' },
    text: 'A hire without the caller’s signature, with a stale one, signed by another wallet or with a signature no key can have made is refused with 4xx and moves no money; resending a signed hire for the same jobId charges nothing more.',
    profileAssumption: true,
  },
  {
    id: 'APS-MKT-04',
    level: 'SHOULD',
    title: 'A resent hire is answered with the stored answer',
    source: { ...PROFILE, section: 'APS-PROF-11 Caller authorization (a jobId is charged once)' },
    text: 'Resending a signed hire (same caller, same jobId) answers 200 with the same answer as the first time (result, escrow and settlement), so a caller whose answer was lost learns what it paid for; a 4xx conflict charges nothing more either, hence SHOULD.',
    profileAssumption: true,
  },
]);
