/**
 * Agentripe under load (`amh load --protocol agentripe`): every agent is a buyer with a key of its
 * own (funded with USDC by the target's funder role) paired with an agent of its own on the target's
 * IdentityRegistry (registered by the vendor role, selling one async service at $0.01 on the target
 * server), served by the scripted honest vendor (agents/vendor.ts). One iteration is one whole task
 * lifecycle that moves money through the escrow: the unpaid request and its 402, an x402 payment
 * (agents of the x402 pack: payer.ts) that the server settles into the escrow and records as a
 * deposit, the vendor's start, its complete with a result the review approves (with a
 * reviewer_request when the target grants `agentripe:review-fixture`, else without one, and the
 * seed then skips the review), and the release to the vendor that the complete answer reports.
 *
 * Conservation: the agents' and the escrow's USDC add up to what they held before; the agents spent,
 * and the escrow gained, exactly what the agents saw paid; the vendor's withdrawable balance grew by
 * what was seen released and the agents' by what was refunded; the chain holds one DepositRecorded
 * per payment seen (same deposit ids, same amounts) and one DepositReleased per release seen.
 */
import { parseEventLogs, type Address, type Hex } from 'viem';
import { fiatTokenV2_2Abi } from '../../harness/chain/bindings/index.ts';
import { addressSet, authorizationFunds, blockNumber, chainClients, eventLogs, fundAgents, funderRole, balancesOf, viewMany } from '../../harness/load/chain.ts';
import { errorClass } from '../../harness/load/measure.ts';
import { defineLoad, equalCheck, expectStatus, LoadFailure, ledgerSum, sendPayment, unlessOutOfFunds, type IterationContext, type LedgerEntry, type LoadEnv } from '../../harness/load/pack.ts';
import { chainToken, endpointOf, hasCapability, TargetError } from '../../harness/target/schema.ts';
import { createPayer, pickV2, requestChallenge, sendWithPayment } from '../x402/agents/payer.ts';
import { createVendor, honestResult, type Vendor } from './agents/vendor.ts';
import { DEPOSIT_STATUS, escrowAbi, identityAbi } from './protocol/abi.ts';
import { parseUsdPrice, toDataUri } from './protocol/agenturi.ts';

/** An error that says the answer never came (the request may have been acted on). */
const answerLost = (e: unknown) => ['timeout', 'connection'].includes(errorClass(e).cls);

const SERVICE = 'load-task';
const PRICE = '$0.01';
const REVIEWER_REQUEST = 'Summarize the text and keep the greeting';
const TASK_DETAIL = 'Hello world, summarize me';
/** Each agent gets this many tasks' worth per planned second (more than one agent can buy: a quiet machine ran one agent through 40 lifecycles in 2 s; fundAgents caps it at what the funder holds). */
const TASKS_PER_SECOND_FUNDED = 200n;

const eventOf = (name: string) => escrowAbi.find((x) => x.type === 'event' && x.name === name) as Extract<(typeof escrowAbi)[number], { type: 'event' }>;

async function setup(env: LoadEnv) {
  const base = endpointOf(env.target, 'agentripe')!.url.replace(/\/+$/, '');
  const spec = env.target.chains.find((c) => c.contracts.agentripeEscrow && c.contracts.identityRegistry && chainToken(c, 'usdc'));
  if (!spec) throw new TargetError('no target chain declares usdc, identityRegistry and agentripeEscrow');
  const c = chainClients(env.target, spec.chainId);
  const usdc = chainToken(spec, 'usdc')!.address as Address;
  const escrow = spec.contracts.agentripeEscrow as Address;
  const identity = spec.contracts.identityRegistry as Address;
  const review = hasCapability(env.target, 'agentripe:review-fixture');
  const body = { task_detail: TASK_DETAIL, ...(review ? { reviewer_request: REVIEWER_REQUEST } : {}) };
  const result = honestResult({ productId: SERVICE, taskDetail: TASK_DETAIL, reviewerRequest: review ? REVIEWER_REQUEST : null });

  // One agent per load agent, so no two loops share a vendor's task list.
  const vendorRole = c.wallets.has('vendor1') ? 'vendor1' : funderRole(c);
  const vendorWallet = c.wallets.get(vendorRole)!;
  const vendorKey = env.target.accounts.find((a) => a.kind === 'evm' && a.role === vendorRole)!.privateKey as Hex;
  const card = toDataUri({
    name: 'amh load agent',
    description: 'agentmarket-harness load agent',
    x402Support: true,
    services: [{ name: 'x402', endpoint: base, catalog: [{ path: SERVICE, price: PRICE, type: 'async', description: 'load test task' }] }],
  });
  const agentIds: bigint[] = [];
  for (let i = 0; i < env.agents; i++) {
    const r = await vendorWallet.writeContractSync({ address: identity, abi: identityAbi, functionName: 'register', args: [card], throwOnReceiptRevert: false });
    const ev = r.status === 'success' ? parseEventLogs({ abi: identityAbi, eventName: 'Registered', logs: r.logs })[0] : undefined;
    if (!ev) throw new TargetError(`the vendor role '${vendorRole}' could not register a load agent on ${identity} (${r.transactionHash})`);
    agentIds.push(ev.args.agentId);
  }
  const buyers = Array.from({ length: env.agents }, (_, i) => env.key(i, 'buyer'));
  const addresses = buyers.map((b) => b.address);
  const price = parseUsdPrice(PRICE);
  const each = await fundAgents(c, usdc, addresses, price * TASKS_PER_SECOND_FUNDED * BigInt(env.seconds), price, env.log);
  const chainNow = (await c.public.getBlock({ blockTag: 'latest' })).timestamp;
  const offset = chainNow - BigInt(Math.floor(Date.now() / 1000));
  const now = async () => BigInt(Math.floor(Date.now() / 1000)) + offset;

  const vendor = vendorWallet.account.address;
  const snapshot = async () => {
    const agentsUsdc = await balancesOf(c, usdc, addresses);
    const agentsWithdrawable = (await viewMany(
      c,
      escrow,
      escrowAbi,
      'withdrawableBalance',
      addresses.map((a) => [a]),
    )) as bigint[];
    const [escrowUsdc] = await balancesOf(c, usdc, [escrow]);
    const [vendorWithdrawable] = (await viewMany(c, escrow, escrowAbi, 'withdrawableBalance', [[vendor]])) as bigint[];
    const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);
    return { agentsUsdc: sum(agentsUsdc), perAgent: agentsUsdc, agentsWithdrawable: sum(agentsWithdrawable), escrowUsdc: escrowUsdc!, vendorWithdrawable: vendorWithdrawable! };
  };
  const fromBlock = (await blockNumber(c)) + 1n;
  const before = await snapshot();
  const vendors: Vendor[] = [];

  /** The transaction that used this authorization (payer, nonce), or null: USDC's AuthorizationUsed. */
  async function settledBy(payer: Address, nonce: Hex): Promise<string | null> {
    const logs = await c.public.getContractEvents({ address: usdc, abi: fiatTokenV2_2Abi, eventName: 'AuthorizationUsed', args: { authorizer: payer, nonce }, fromBlock, toBlock: 'latest' });
    return logs[0]?.transactionHash ?? null;
  }
  /** What the escrow did with a task's deposit once the server's answer was lost: waits up to a minute for it to resolve. */
  async function resolvedOnChain(taskId: Hex, lostWith: unknown): Promise<string> {
    for (let i = 0; i < 120; i++) {
      const [, , , status] = await c.public.readContract({ address: escrow, abi: escrowAbi, functionName: 'getDeposit', args: [taskId] });
      if (DEPOSIT_STATUS[status] === 'released' || DEPOSIT_STATUS[status] === 'refunded') return DEPOSIT_STATUS[status];
      await new Promise((r) => setTimeout(r, 500));
    }
    throw lostWith;
  }

  return {
    describe: `${env.agents} buyers funded with ${each} base units each, ${env.agents} agents (ids ${agentIds[0]}..${agentIds.at(-1)}) of '${vendorRole}' selling '${SERVICE}' at ${PRICE}; ${review ? 'reviewed by the fixture reviewer' : 'no reviewer_request (no review)'}`,
    async iterate(agent: number, ctx: IterationContext) {
      const url = `${base}/${agentIds[agent]}/${SERVICE}`;
      const shape = { method: 'POST', body };
      const ch = await requestChallenge(ctx.fetch, url, shape);
      expectStatus(ch.status, 402, 'unpaid task request', ch.body);
      const option = pickV2(ch, spec.chainId, usdc);
      if (!option) throw new LoadFailure('no-exact-option', `the 402 offers no v2 exact option in ${usdc}${ch.v2Error ? ` (${ch.v2Error})` : ''}`);
      const payer = createPayer({ privateKey: buyers[agent]!.privateKey, chainId: spec.chainId, now, fetchImpl: ctx.fetch });
      const amount = BigInt(option.amount);
      const { header, payload } = await payer.v2Header(option);
      const nonce = (payload.payload as { authorization: { nonce: Hex } }).authorization.nonce;
      const taskId = await unlessOutOfFunds(authorizationFunds(c, usdc, addresses[agent]!, nonce, amount, 'paid task request'), async () => {
        let lost = false;
        const paid = await sendPayment(() =>
          sendWithPayment(ctx.fetch, url, header, shape).catch((e: unknown) => {
            lost ||= answerLost(e);
            throw e;
          }),
        ).catch(async (e: unknown) => {
          // Every try lost its answer: the chain may still hold the payment (and so the task).
          const settled = answerLost(e) ? await settledBy(buyers[agent]!.address, nonce) : null;
          if (!settled) throw e;
          return { res: new Response(null, { status: 504 }), body: { taskId: settled } };
        });
        let taskId = (paid.body as { taskId?: string } | null)?.taskId;
        // The first try's answer was lost and the retry is refused (the seed allows that, AGR-FLT-01):
        // the payment may have settled all the same. Its transaction is the task (C.2 "depositId =
        // taskId = x402 payment txHash"), found by the authorization's single-use nonce on chain.
        if (paid.res.status >= 400 && paid.res.status < 500 && lost) taskId = (await settledBy(buyers[agent]!.address, nonce)) ?? undefined;
        if (!taskId) expectStatus(paid.res.status, 200, 'paid task request', paid.body);
        if (!taskId) throw new LoadFailure('no-task-id', `a paid 200 without a taskId: ${JSON.stringify(paid.body)?.slice(0, 200)}`);
        return taskId;
      });
      ctx.ledger('paid', amount, taskId.toLowerCase());
      vendors[agent] ??= createVendor({ baseUrl: base, agentId: agentIds[agent]!, credentials: { privateKey: vendorKey }, strategy: { kind: 'honest' }, fetchImpl: ctx.fetch });
      const vendorOf = vendors[agent];
      // A start whose answer was lost is asked again: the task is then already processing (400).
      const started = await vendorOf.start(taskId).catch(async (e: unknown) => {
        if (!answerLost(e)) throw e;
        const again = await vendorOf.start(taskId);
        return again.status === 400 ? { ...again, status: 200 } : again;
      });
      expectStatus(started.status, 200, 'vendor start', started.body);
      // A complete whose answer was lost: the escrow tells what the server did.
      const action = await vendorOf.complete(taskId, result).then(
        (done) => {
          expectStatus(done.status, 200, 'vendor complete', done.body);
          return (done.body as { escrowAction?: string } | null)?.escrowAction;
        },
        async (e: unknown) => {
          if (!answerLost(e)) throw e;
          return resolvedOnChain(taskId as Hex, e);
        },
      );
      if (action === 'refunded') ctx.ledger('refunded', amount, taskId.toLowerCase());
      if (action !== 'released') throw new LoadFailure('not-released', `an approved result's complete reports escrowAction ${JSON.stringify(action)}`);
      ctx.ledger('released', amount, taskId.toLowerCase());
    },
    async conservation(ledger: readonly LedgerEntry[]) {
      const toBlock = await blockNumber(c);
      const after = await snapshot();
      const ours = addressSet(addresses);
      const recorded = (await eventLogs(c, escrow, eventOf('DepositRecorded'), fromBlock, toBlock)).filter((l) => ours.has((l.args as { buyer: string }).buyer.toLowerCase()));
      const paidIds = new Set(ledger.filter((e) => e.kind === 'paid').map((e) => e.ref));
      const recordedIds = new Set(recorded.map((l) => (l.args as { depositId: string }).depositId.toLowerCase()));
      const released = (await eventLogs(c, escrow, eventOf('DepositReleased'), fromBlock, toBlock)).filter((l) => recordedIds.has((l.args as { depositId: string }).depositId.toLowerCase()));
      const refunded = (await eventLogs(c, escrow, eventOf('DepositRefunded'), fromBlock, toBlock)).filter((l) => ours.has((l.args as { buyer: string }).buyer.toLowerCase()));
      const amountOf = (ls: readonly { args: unknown }[]) => ls.reduce((a, l) => a + (l.args as { amount: bigint }).amount, 0n);
      const paid = ledgerSum(ledger, 'paid');
      const countOf = (kind: string) => ledger.filter((e) => e.kind === kind).length;
      const mismatched = buyers.filter((_, i) => before.perAgent[i]! - after.perAgent[i]! !== ledgerSum(ledger, 'paid', i)).length;
      return {
        holdings: [
          { name: `agents' USDC (${env.agents})`, before: before.agentsUsdc, after: after.agentsUsdc },
          { name: `escrow's USDC ${escrow}`, before: before.escrowUsdc, after: after.escrowUsdc },
          { name: `vendor's withdrawable ${vendor}`, before: before.vendorWithdrawable, after: after.vendorWithdrawable },
          { name: "agents' withdrawable (refunds)", before: before.agentsWithdrawable, after: after.agentsWithdrawable },
        ],
        checks: [
          equalCheck("agents' + escrow's USDC hold what they held before", before.agentsUsdc + before.escrowUsdc, after.agentsUsdc + after.escrowUsdc, 'money created or lost'),
          equalCheck("agents' spend = payments the agents saw accepted", paid, before.agentsUsdc - after.agentsUsdc, 'paid without a task seen (lost) or a task without paying'),
          equalCheck('agents whose spend differs from their own ledger', 0, mismatched),
          equalCheck("escrow's gain = payments the agents saw accepted", paid, after.escrowUsdc - before.escrowUsdc),
          equalCheck("vendor's withdrawable gain = releases the vendor saw", ledgerSum(ledger, 'released'), after.vendorWithdrawable - before.vendorWithdrawable),
          equalCheck("agents' withdrawable gain = refunds seen", ledgerSum(ledger, 'refunded'), after.agentsWithdrawable - before.agentsWithdrawable),
          equalCheck('DepositRecorded on chain = payments seen', paidIds.size, recorded.length, 'more on chain: a payment recorded without a task seen, or twice'),
          equalCheck('deposits recorded for an unknown task', 0, [...recordedIds].filter((id) => !paidIds.has(id)).length),
          equalCheck('distinct tasks = payments seen', countOf('paid'), paidIds.size, 'one task id reported for two payments'),
          equalCheck('amount recorded on chain = amount paid', paid, amountOf(recorded)),
          equalCheck('DepositReleased on chain = releases seen', countOf('released'), released.length),
          equalCheck('amount released on chain = amount released seen', ledgerSum(ledger, 'released'), amountOf(released)),
          equalCheck('DepositRefunded on chain = refunds seen', countOf('refunded'), refunded.length),
        ],
      };
    },
  };
}

export default defineLoad({
  protocol: 'agentripe',
  iteration:
    'one task lifecycle through the escrow: 402 challenge, x402 payment settled into the escrow (task created), vendor start, vendor complete with a result the review approves, release to the vendor',
  endpoints: ['agentripe'],
  setup,
});
