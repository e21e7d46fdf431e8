/**
 * Requirement catalog for `agentripe` (seed 002, SKILL.md; specs/protocols.md §C). Rules the seed
 * leaves open come from scenarios/agentripe/profile.md (AGR-PROF-nn) and are flagged
 * `profileAssumption: true`.
 */
import { defineCatalog } from '../../harness/engine/catalog.ts';

const SEED = { document: 'Seed 002 Agentripe SKILL.md (shared/seeds/002_7235e61ee1bdc3b5.txt)' };
const C3 = { document: 'specs/protocols.md §C.3 Server API (from SKILL.md)' };
const PROFILE = { document: 'scenarios/agentripe/profile.md' };
const X402 = { document: 'x402 v2 specification (specs/x402-erc8004.md §1.3-1.4)' };

export const agentripeRequirements = defineCatalog([
  {
    id: 'AGR-PAY-01',
    level: 'MUST',
    title: 'An unpaid task request gets 402 with requirements for exactly the catalog price, paid into the escrow',
    source: { ...C3, section: 'GET|POST /{agentId}/{servicePath}: "no payment → 402 with requirements"; AgentURIData catalog price "$X.XX"' },
    text: 'No payment → 402 with x402 requirements: scheme exact, the chain\'s USDC, network eip155:<chainId>, payTo the Agentripe escrow, and amount = the catalog price in USDC base units ("$0.10" → 100000).',
    profileAssumption: false,
  },
  {
    id: 'AGR-PAY-02',
    level: 'MUST',
    title: 'A paid request creates one task whose id is the payment tx hash, with the deposit recorded exactly',
    source: { ...C3, section: 'paid → 200 {"taskId":"0x…"}; C.2 "depositId = taskId = x402 payment txHash"' },
    text: "Paid → 200 {taskId, message}; taskId is the settlement tx hash; the buyer pays exactly the price; getDeposit(taskId) = (agentId, buyer, amount, DEPOSITED); the buyer's USDC is locked in the escrow, never sent to the seller.",
    profileAssumption: false,
  },
  {
    id: 'AGR-PAY-03',
    level: 'MUST',
    title: 'A payment that is replayed, short, misdirected or expired creates no task and moves no money',
    source: { ...X402, section: 'exact scheme: nonce single use, value == amount, to == payTo, validBefore' },
    text: 'Re-sending a used payment header, or paying less than the price, to another payTo, or with an authorization that expired by chain time, MUST NOT create a task nor move USDC (402/4xx).',
    profileAssumption: false,
  },
  {
    id: 'AGR-TASK-01',
    level: 'MUST',
    title: 'Task states and /tasks/{id}/result follow the documented machine',
    source: { ...C3, section: 'Task states pending → processing → completed | failed | rejected (→ processing …); /tasks/{id}/result 202/200/404' },
    text: 'start moves pending|rejected → processing; a complete or fail outside the allowed states is refused with 4xx and changes nothing; /tasks/{id} reports the state; /tasks/{id}/result answers 202 {status} while open, 200 {status:"completed", result} or {status:"failed", errorMessage} when done, 404 for an unknown id.',
    profileAssumption: false,
  },
  {
    id: 'AGR-REV-01',
    level: 'MUST',
    title: 'An approved result completes the task and releases exactly the deposit to the agent wallet',
    source: { ...C3, section: 'AI review: approved → completed + release; seed Mechanism 2' },
    text: 'approved → status completed, escrowAction "released", DepositReleased, and the agent\'s wallet is credited exactly the amount (withdrawable balance or USDC, see profile ambiguity 1); nothing goes back to the buyer.',
    profileAssumption: false,
  },
  {
    id: 'AGR-REV-02',
    level: 'MUST',
    title: 'A rejected result keeps the money in escrow and lets the vendor resubmit',
    source: { ...C3, section: 'rejected → status rejected, vendor may resubmit' },
    text: 'rejected (1st to 4th time) → status rejected, reviewRejectCount incremented, escrowAction "none", the deposit stays DEPOSITED, and a new complete is accepted.',
    profileAssumption: false,
  },
  {
    id: 'AGR-REV-03',
    level: 'MUST',
    title: 'The fifth rejection refunds the buyer; there is no sixth review',
    source: { ...C3, section: '"5 rejections → auto refund"' },
    text: 'The 5th rejection → status failed, escrowAction "refunded", the buyer is credited exactly the amount; any later complete is refused and changes nothing.',
    profileAssumption: false,
  },
  {
    id: 'AGR-FAIL-01',
    level: 'MUST',
    title: 'A vendor failure refunds the buyer exactly',
    source: { ...C3, section: 'POST /vendor/tasks/{id}/fail → {task:{status:"failed"}} and escrow refunded' },
    text: 'fail from pending, processing or rejected → status failed, DepositRefunded, the buyer is credited exactly the amount, the agent wallet nothing.',
    profileAssumption: false,
  },
  {
    id: 'AGR-ESC-01',
    level: 'MUST',
    title: 'Escrowed USDC is released only after an approving review',
    source: { ...SEED, section: '"Only released to the seller\'s agentWallet when the task is successfully completed"' },
    text: 'While a task is pending, processing or rejected, getDeposit(taskId).status stays DEPOSITED and the agent wallet is not credited.',
    profileAssumption: false,
  },
  {
    id: 'AGR-ESC-02',
    level: 'MUST',
    title: 'A deposit is resolved at most once, even when vendor calls race',
    source: { ...PROFILE, section: 'AGR-PROF-11 "At most one resolution"; seed lifecycle DEPOSITED → RELEASED | REFUNDED' },
    text: 'Concurrent complete/complete, complete/fail or fail/fail on one task end with exactly one of RELEASED or REFUNDED; the amount is credited once, to exactly one side.',
    profileAssumption: false,
  },
  {
    id: 'AGR-ESC-03',
    level: 'MUST',
    title: 'A buyer can reclaim a deposit nobody resolved after the deadline (vendor absent)',
    source: { ...PROFILE, section: 'AGR-PROF-09 Buyer reclaim (seed: "funds are safe regardless of either party\'s behavior")' },
    text: 'If the vendor never acts, reclaim(taskId) by the buyer is refused before reclaimableAt and succeeds after it, crediting the buyer exactly the amount; only the buyer may reclaim.',
    profileAssumption: true,
  },
  {
    id: 'AGR-AUTH-01',
    level: 'MUST',
    title: "A vendor cannot act on another agent's task",
    source: { ...C3, section: 'Error string "Not authorized for this agent"' },
    text: 'start, complete and fail by a vendor authenticated for a different agent are refused (403) and change neither the task nor the escrow.',
    profileAssumption: false,
  },
  {
    id: 'AGR-AUTH-02',
    level: 'MUST',
    title: 'Vendor signature auth rejects stale, future and forged signatures',
    source: { ...C3, section: 'Vendor auth (2) EVM: X-Timestamp, EIP-191 signMessage("{address}:{timestamp}"), isAuthorizedOrOwner; "Tolerance ±5 min"' },
    text: 'A request whose X-Timestamp is more than 5 minutes from now, whose signature is not by X-Vendor-Address over "{address}:{timestamp}", or whose signer is not owner/operator of X-Agent-Id is refused with 401 and changes nothing.',
    profileAssumption: false,
  },
  {
    id: 'AGR-AUTH-03',
    level: 'MUST',
    title: 'An agent wallet changes only with a valid EIP-712 AgentWalletSet signature',
    source: { ...C3, section: 'POST /agents/{id}/wallet {walletAddress, deadline, signature}; C.2 setAgentWallet EIP-712 AgentWalletSet' },
    text: 'POST /agents/{id}/wallet with a signature not made by the new wallet over AgentWalletSet(agentId, newWallet, owner, deadline) is refused (4xx) and getAgentWallet(agentId) is unchanged.',
    profileAssumption: false,
  },
  {
    id: 'AGR-AMT-01',
    level: 'MUST',
    title: 'Price math is exact from 1 base unit to very large prices',
    source: { ...C3, section: 'AgentURIData catalog price "$X.XX"; DESIGN rule 1 (money is bigint base units)' },
    text: "For any catalog price from $0.000001 (1 unit) to large amounts, the 402 amount, the buyer's debit, the deposit amount and the final credit are all exactly parseUsd(price); nothing is rounded.",
    profileAssumption: false,
  },
  {
    id: 'AGR-API-01',
    level: 'MUST',
    title: 'Buyer and discovery routes describe the task, its payment and the agent consistently',
    source: { ...C3, section: 'GET /tasks/{id}/detail → {task, payment, agent}; GET /agents → {agents}; GET /agents/{id} (AgentURIData); GET /health → {"status":"ok"}' },
    text: '/health answers {status:"ok"}; /tasks/{id}/detail names the task (id, productId, status, buyerAddress) and its payment (transactionHash = taskId, amount = the price in base units, payer = the buyer); GET /agents lists the agent and GET /agents/{id} returns its AgentURIData (name, services with the catalog entry).',
    profileAssumption: false,
  },
  {
    id: 'AGR-AUTH-04',
    level: 'MUST',
    title: 'register-with-key issues an ak_ key that authenticates only its agent; wrong keys and stale signatures are refused',
    source: {
      ...C3,
      section: 'POST /agents/register-with-key (personal_sign "Register agent on Agentripe: {address}:{timestamp}", ±5 min) → {agentId, apiKey:"ak_…"}; "Invalid or expired API key" (401)',
    },
    text: "A fresh wallet signature registers an agent and returns an ak_ key; Authorization: Bearer <key> then lists that agent's tasks; an unknown key gets 401; a registration signed more than 5 minutes ago, or by another wallet, is refused with 4xx and registers nothing.",
    profileAssumption: false,
  },
]);
