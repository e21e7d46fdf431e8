/**
 * Kill table for `agentripe`: the reference server with one test-only fault (or a changed rule such
 * as the review limit), a proxy that rewrites one read route's answer (a server whose reports do not
 * follow the escrow), or the escrow contract with one line of its real source deleted (compiled once,
 * placed at the canonical address with anvil_setCode, restored after). Every variant runs on one
 * base-sepolia anvil and is described as a Target (endpoints + chain + accounts only).
 *
 * The servers here use their built-in rule reviewer, which applies the documented review-fixture
 * rule, so the targets declare `agentripe:review-fixture`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import solc from 'solc';
import type { Hex } from 'viem';
import { roleAccounts, rpcCall, startChain, type RunningChain, targetChainEntry } from '../../harness/chain/index.ts';
import { throughRpcFaults } from '../../harness/faults/rpc.ts';
import { defineKills, type KillVariant } from '../../harness/testing/kill.ts';
import { parseTarget } from '../../harness/target/schema.ts';
import { AGENTRIPE_FAULTS } from './server/faults.ts';
import type { AgentripeServerConfig } from './server/server.ts';
import { startAgentripeStack } from './server/stack.ts';
import { startRestartableAgentripe } from './restartable.ts';
import type { FacilitatorFaults } from '../x402/server/facilitator.ts';

/** A proxy edit: answers of routes matching `match` go through `edit` (a broken server built from the correct one). */
interface Mangle {
  match: RegExp;
  edit: (body: any) => unknown;
}

interface Variant {
  config?: Partial<AgentripeServerConfig>;
  mangle?: Mangle;
  /** A line deleted from the escrow's real source. */
  escrowWithout?: string;
  /** Defects of the stack's x402 facilitator. */
  facilitator?: FacilitatorFaults;
  /** Faults of the restartable server the crash scenarios kill (serve.ts --fault NAME). */
  restartable?: (typeof AGENTRIPE_FAULTS.names)[number][];
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ESCROW_DIR = path.join(ROOT, 'contracts', 'src', 'agentripe');
const MUTANT_CACHE = path.join(ROOT, 'contracts', 'cache', 'mutants');

/**
 * The escrow with one line of its source removed, as runtime bytecode (same settings as
 * foundry.toml; same storage layout, so the deployed state keeps working). Compiled with solcjs once
 * per source text and cached in contracts/cache/mutants/.
 */
function escrowMutant(remove: string): Hex {
  const src = readFileSync(path.join(ESCROW_DIR, 'AgentripeEscrow.sol'), 'utf8');
  if (!src.includes(remove)) throw new Error(`escrow source no longer contains: ${remove}`);
  const mutated = src.replace(remove, '');
  const key = createHash('sha256')
    .update(mutated)
    .update(readFileSync(path.join(ESCROW_DIR, 'IAgentripeEscrow.sol')))
    .digest('hex')
    .slice(0, 24);
  const cached = path.join(MUTANT_CACHE, `AgentripeEscrow-${key}.hex`);
  if (existsSync(cached)) return readFileSync(cached, 'utf8') as Hex;
  const input = {
    language: 'Solidity',
    sources: { 'AgentripeEscrow.sol': { content: mutated } },
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun', outputSelection: { 'AgentripeEscrow.sol': { AgentripeEscrow: ['evm.deployedBytecode.object'] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: (p: string) => ({ contents: readFileSync(path.join(ESCROW_DIR, p), 'utf8') }) })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { evm: { deployedBytecode: { object: string } } }>>;
  };
  const errs = (out.errors ?? []).filter((e) => e.severity === 'error');
  if (errs.length) throw new Error(errs.map((e) => e.formattedMessage).join('\n'));
  const code = `0x${out.contracts['AgentripeEscrow.sol']!.AgentripeEscrow!.evm.deployedBytecode.object}` as Hex;
  mkdirSync(MUTANT_CACHE, { recursive: true });
  writeFileSync(cached, code);
  return code;
}

/** A proxy in front of the server that rewrites one route's JSON answer. */
async function mangler(upstream: string, m: Mangle): Promise<{ url: string; stop(): Promise<void> }> {
  const app = new Hono();
  app.all('*', async (c) => {
    const u = new URL(c.req.url);
    const body = c.req.method === 'GET' || c.req.method === 'HEAD' ? undefined : await c.req.arrayBuffer();
    const headers = new Headers(c.req.raw.headers);
    headers.delete('host');
    const res = await fetch(`${upstream}${u.pathname}${u.search}`, { method: c.req.method, headers, body });
    if (!m.match.test(u.pathname) || res.status !== 200) return new Response(res.body, res);
    return c.json(m.edit(await res.json()) as object, 200);
  });
  const server = await new Promise<ReturnType<typeof serve>>((r) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => r(s));
  });
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}`, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A variant with one server fault: the defect's words are the fault registry's. */
function fault(requirement: string, name: (typeof AGENTRIPE_FAULTS.names)[number], grep: string, runs: number): KillVariant<Variant> {
  return { requirement, defect: AGENTRIPE_FAULTS.describe(name), grep, runs, variant: { config: { faults: AGENTRIPE_FAULTS.parse([name]) } } };
}

let chain: RunningChain | undefined;

export default defineKills<Variant>({
  protocol: 'agentripe',
  seed: 5,
  // One run: certify.test.ts runs the same reference through its target file at 3 or more runs.
  controlRuns: 1,
  controlWithoutRestart: 'certify.test.ts: serve.ts --restartable passes AGR-RST-01 through its target file',
  async setup() {
    chain = await startChain({ profile: 'base-sepolia' });
  },
  async teardown() {
    await chain?.stop();
  },
  async start(v) {
    const c = chain!;
    const escrow = c.profile.contracts.agentripeEscrow!;
    const original = v?.escrowWithout ? await rpcCall<Hex>(c.rpcUrl, 'eth_getCode', [escrow, 'latest']) : undefined;
    if (v?.escrowWithout) await rpcCall(c.rpcUrl, 'anvil_setCode', [escrow, escrowMutant(v.escrowWithout)]);
    // The facilitator's RPC goes through the harness's fault proxy (capability rpc-faults), as in the reference target.
    const stack = await throughRpcFaults(c.rpcUrl, (facilitatorRpcUrl) => startAgentripeStack(c, { ...(v?.config ?? {}), facilitatorRpcUrl, facilitatorFaults: v?.facilitator }));
    const proxy = v?.mangle ? await mangler(stack.server.url, v.mangle) : undefined;
    // The server the crash scenarios kill runs as a child process: only where they run (the control and its variants).
    const restartable = !v || v.restartable ? await startRestartableAgentripe(c, { args: (v?.restartable ?? []).flatMap((f) => ['--fault', f]) }) : undefined;
    const target = parseTarget({
      name: 'agentripe reference variant',
      chains: [targetChainEntry(c)],
      endpoints: { agentripe: proxy?.url ?? stack.server.url },
      accounts: roleAccounts.map((a) => ({ role: a.role, kind: 'evm', address: a.address, privateKey: a.privateKey })),
      capabilities: ['clock-control', 'snapshot', 'reorg', 'agentripe:review-fixture', 'rpc-faults', ...(restartable ? ['restart'] : [])],
      ...(restartable ? { restart: { agentripe: restartable.control } } : {}),
    });
    return {
      target,
      async stop() {
        await proxy?.stop();
        await restartable?.stop();
        await stack.stop();
        if (original) await rpcCall(c.rpcUrl, 'anvil_setCode', [escrow, original]);
      },
    };
  },
  variants: [
    fault('AGR-PAY-01', 'amountOffByOne', 'paid-task-approved', 2),
    fault('AGR-PAY-02', 'taskIdNotTxHash', 'paid-task-approved', 2),
    fault('AGR-PAY-03', 'acceptReplayedPayment', 'bad-payments', 2),
    fault('AGR-PAY-03', 'taskOnBadPayment', 'bad-payments', 2),
    fault('AGR-FLT-01', 'acceptReplayedPayment', 'agentripe/fault-lost-retry', 2),
    fault('AGR-FLT-02', 'acceptReplayedPayment', 'agentripe/fault-duplicate-delivery', 2),
    {
      requirement: 'AGR-FLT-03',
      defect: "the stack's facilitator reports a settlement whose send answer was lost as failed, although it landed (the buyer's money sits in the escrow without a task)",
      grep: 'agentripe/fault-facilitator-lost-send',
      runs: 2,
      variant: { facilitator: { lostSendIsFailure: true } },
    },
    fault('AGR-PAY-04', 'unknownServiceFirstEntry', 'unknown-agent-or-service', 2),
    fault('AGR-ORG-01', 'noRevertCheck', 'payment-reorg', 2),
    fault('AGR-ORG-02', 'orphanReminedPayments', 'payment-reorg', 2),
    fault('AGR-PRICE-01', 'zeroPriceChallenge', 'zero-price-entry', 2),
    fault('AGR-PRICE-02', 'zeroPriceRegister', 'registration-validation', 2),
    fault('AGR-PRICE-02', 'zeroPriceRegister', 'agent-uri-update', 2),
    fault('AGR-AMT-01', 'recordAmountOffByOne', 'paid-task-approved', 2),
    fault('AGR-TASK-01', 'anyStateComplete', 'task-lifecycle-model', 10),
    fault('AGR-TASK-01', 'completeStoresResultFirst', 'paid-task-completed', 2),
    fault('AGR-REV-01', 'refundOnApprove', 'paid-task-approved', 2),
    { requirement: 'AGR-REV-02', defect: 'the first rejection already refunds (review limit 1)', grep: 'review-rejections', runs: 2, variant: { config: { reviewLimit: 1 } } },
    { requirement: 'AGR-REV-03', defect: 'a sixth review is allowed (review limit 6)', grep: 'fifth-rejection-refund', runs: 2, variant: { config: { reviewLimit: 6 } } },
    fault('AGR-REV-04', 'noReleaseWithoutReview', 'paid-task-completed', 2),
    fault('AGR-FAIL-01', 'failWithoutRefund', 'vendor-fail-refund', 2),
    fault('AGR-ESC-01', 'releaseBeforeReview', 'review-rejections', 2),
    {
      requirement: 'AGR-ESC-02',
      defect: 'the reported task state does not follow the escrow (completed and failed swapped)',
      grep: 'vendor-races',
      runs: 8,
      variant: { mangle: { match: /^\/tasks\/0x[0-9a-f]{64}$/i, edit: (b) => ({ ...b, status: ({ failed: 'completed', completed: 'failed' } as Record<string, string>)[b.status] ?? b.status }) } },
    },
    fault('AGR-ESC-02', 'raceLoser502', 'vendor-races', 10),
    {
      requirement: 'AGR-ESC-03',
      defect: 'the escrow lets a buyer reclaim before the deadline',
      grep: 'vendor-absent-reclaim',
      runs: 2,
      variant: { escrowWithout: 'if (block.timestamp < d.reclaimableAt) revert ReclaimTooEarly(depositId, d.reclaimableAt);' },
    },
    {
      requirement: 'AGR-ESC-03',
      defect: "the escrow lets anyone reclaim a buyer's deposit",
      grep: 'vendor-absent-reclaim',
      runs: 2,
      variant: { escrowWithout: 'if (msg.sender != d.buyer) revert NotDepositBuyer(depositId, msg.sender);' },
    },
    fault('AGR-ESC-03', 'escrowActionAsDecided', 'vendor-absent-reclaim', 1),
    { requirement: 'AGR-ESC-03', defect: AGENTRIPE_FAULTS.describe('resyncReclaimAsRelease'), grep: 'reclaim-then-restart', runs: 1, variant: { restartable: ['resyncReclaimAsRelease'] } },
    {
      requirement: 'AGR-ESC-04',
      defect: "the escrow releases to the agent's owner even when it has an agentWallet",
      grep: 'vendor-roles',
      runs: 2,
      variant: { escrowWithout: 'if (wallet != address(0)) return wallet;' },
    },
    {
      requirement: 'AGR-ESC-05',
      defect: 'the escrow pays a withdrawal but leaves the balance credited',
      grep: 'vendor-roles',
      runs: 2,
      variant: { escrowWithout: '_withdrawable[msg.sender] = 0;' },
    },
    fault('AGR-AUTH-01', 'noOwnershipCheck', 'foreign-credentials', 2),
    fault('AGR-AUTH-01', 'apiKeyTrustsAgentHeader', 'foreign-credentials', 2),
    fault('AGR-AUTH-05', 'listAllTasks', 'foreign-credentials', 2),
    { requirement: 'AGR-AUTH-02', defect: 'no timestamp window on vendor signatures', grep: 'vendor-signature-auth', runs: 2, variant: { config: { authWindowSeconds: 1_000_000_000 } } },
    fault('AGR-AUTH-02', 'solanaAnyKey', 'vendor-signature-auth', 1),
    fault('AGR-AUTH-03', 'walletChangeAlwaysOk', 'wallet-change-signature', 2),
    { requirement: 'AGR-AUTH-04', defect: 'no timestamp window on register-with-key', grep: 'api-key-auth', runs: 2, variant: { config: { authWindowSeconds: 1_000_000_000 } } },
    fault('AGR-AUTH-04', 'apiKeyOutlivesRevert', 'api-key-auth', 1),
    fault('AGR-AUTH-06', 'authOwnerOnly', 'vendor-roles', 2),
    fault('AGR-AUTH-06', 'authAcceptsAgentWallet', 'vendor-roles', 2),
    {
      requirement: 'AGR-API-01',
      defect: '/tasks/{id}/detail reports the payment amount one unit high',
      grep: 'buyer-routes',
      runs: 2,
      variant: { mangle: { match: /^\/tasks\/0x[0-9a-f]{64}\/detail$/i, edit: (b) => ({ ...b, payment: { ...b.payment, amount: String(BigInt(b.payment.amount) + 1n) } }) } },
    },
    {
      requirement: 'AGR-API-01',
      defect: "/tasks/{id}/detail shows the agent's agentWallet as null (its read failed) while the chain has one",
      grep: 'task-lifecycle-model',
      runs: 2,
      variant: { mangle: { match: /^\/tasks\/0x[0-9a-f]{64}\/detail$/i, edit: (b) => ({ ...b, agent: { ...b.agent, agentWallet: null } }) } },
    },
    {
      requirement: 'AGR-API-01',
      defect: '/tasks/{id}/detail keeps reporting the status the task had when it was paid',
      grep: 'task-lifecycle-model',
      runs: 10,
      variant: { mangle: { match: /^\/tasks\/0x[0-9a-f]{64}\/detail$/i, edit: (b) => ({ ...b, task: { ...b.task, status: 'pending' } }) } },
    },
    {
      requirement: 'AGR-API-01',
      defect: "GET /agents shows another address as every agent's agentWallet",
      grep: 'buyer-routes',
      runs: 2,
      variant: {
        mangle: { match: /^\/agents(\?.*)?$/, edit: (b) => ({ ...b, agents: (b.agents ?? []).map((x: object) => ({ ...x, agentWallet: '0x000000000000000000000000000000000000dEaD' })) }) },
      },
    },
    {
      requirement: 'AGR-API-01',
      defect: 'GET /agents/{id} shows another address as the agentWallet (a detail route that adds chain fields from the wrong read)',
      grep: 'buyer-routes',
      runs: 2,
      variant: { mangle: { match: /^\/agents\/\d+$/, edit: (b) => ({ ...b, agentWallet: '0x000000000000000000000000000000000000dEaD' }) } },
    },
    {
      requirement: 'AGR-API-01',
      defect: 'GET /agents shows an empty agentURI for every agent (a listing that misreads its batched registry reads)',
      grep: 'buyer-routes',
      runs: 2,
      variant: {
        mangle: { match: /^\/agents(\?.*)?$/, edit: (b) => ({ ...b, agents: (b.agents ?? []).map((x: object) => ({ ...x, agentURI: '' })) }) },
      },
    },
    fault('AGR-API-02', 'nextIdOffByOne', 'rest-registration', 2),
    fault('AGR-API-03', 'statsUnknownAgent', 'agent-stats', 2),
    fault('AGR-STAT-01', 'statsSkipFailed', 'agent-stats', 2),
    fault('AGR-REG-01', 'registerKeepsEndpoint', 'rest-registration', 2),
    fault('AGR-REG-02', 'registerNoValidation', 'registration-validation', 2),
    fault('AGR-VEN-01', 'vendorListStale', 'paid-task-completed', 2),
    fault('AGR-VEN-02', 'agentUriNotWritten', 'agent-uri-update', 2),
    fault('AGR-REP-01', 'noFeedbackOnRefund', 'reputation-feedback|vendor-fail-refund', 4),
    fault('AGR-ROB-01', 'agentIdNoDigitCheck', 'agentripe/robustness', 5),
    fault('AGR-ROB-01', 'authHeaderCheckAnd', 'agentripe/robustness', 1),
    fault('AGR-ROB-01', 'noBodyDepthCheck', 'agentripe/robustness', 5),
    { requirement: 'AGR-FLT-04', defect: AGENTRIPE_FAULTS.describe('noCrashRecovery'), grep: 'fault-escrow-send-refused', runs: 1, variant: { restartable: ['noCrashRecovery'] } },
    { requirement: 'AGR-FLT-04', defect: AGENTRIPE_FAULTS.describe('retryJudgesAgain'), grep: 'fault-escrow-send-refused', runs: 1, variant: { restartable: ['retryJudgesAgain'] } },
    { requirement: 'AGR-FLT-04', defect: AGENTRIPE_FAULTS.describe('retryEscrowActionInverted'), grep: 'fault-escrow-send-refused', runs: 1, variant: { restartable: ['retryEscrowActionInverted'] } },
    { requirement: 'AGR-FLT-04', defect: AGENTRIPE_FAULTS.describe('retryEscrowActionMisnamed'), grep: 'fault-escrow-send-refused', runs: 1, variant: { restartable: ['retryEscrowActionMisnamed'] } },
    { requirement: 'AGR-RST-01', defect: AGENTRIPE_FAULTS.describe('inMemoryState'), grep: 'restart-every-step', runs: 1, variant: { restartable: ['inMemoryState'] } },
    { requirement: 'AGR-RST-01', defect: AGENTRIPE_FAULTS.describe('noCrashRecovery'), grep: 'restart-inside-escrow-action', runs: 1, variant: { restartable: ['noCrashRecovery'] } },
    { requirement: 'AGR-RST-01', defect: AGENTRIPE_FAULTS.describe('resyncSkipsFeedback'), grep: 'restart-inside-escrow-action', runs: 1, variant: { restartable: ['resyncSkipsFeedback'] } },
    { requirement: 'AGR-RST-01', defect: AGENTRIPE_FAULTS.describe('resyncDropsOwedFeedback'), grep: 'restart-inside-escrow-action', runs: 1, variant: { restartable: ['resyncDropsOwedFeedback'] } },
    { requirement: 'AGR-ORG-02', defect: AGENTRIPE_FAULTS.describe('receiptFailureIsNotMined'), grep: 'payment-reorg-receipts-down', runs: 1, variant: { restartable: ['receiptFailureIsNotMined'] } },
    { requirement: 'AGR-FLT-05', defect: AGENTRIPE_FAULTS.describe('outageAsDenial'), grep: 'fault-node-down', runs: 1, variant: { restartable: ['outageAsDenial'] } },
    { requirement: 'AGR-RST-01', defect: AGENTRIPE_FAULTS.describe('ownFeedbackByHashAlone'), grep: 'restart-inside-escrow-action', runs: 1, variant: { restartable: ['ownFeedbackByHashAlone'] } },
  ],
});
