/**
 * AI Market under load (`amh load --protocol aimarket`): every agent is a buyer (agents/buyer.ts) with
 * a key of its own, funded with USDC and gas money by the target's funder role, that pays per call.
 * In set-up the hub is crawled once: the well-known document, the manifest verified under the
 * advertised signer key, which is then pinned. One iteration is one paid invocation of the manifest's
 * cheapest tool: the unpaid call and its 402 (`X-Payment-Required`), a USDC transfer of exactly the
 * amount to the hub's recipient, sent by the buyer itself, the call again with `X-Payment {tx_hash}`
 * (sent again on a lost answer or a 5xx), and a 200 whose receipt verifies under the pinned key.
 *
 * Conservation: the buyers and the recipient hold together what they held; the buyers spent, and the
 * recipient gained, exactly the transfers the buyers saw mined; the chain holds one USDC Transfer from
 * a buyer to the recipient per payment seen (same hashes); every payment was served, once, with a
 * verified receipt (a payment the hub kept without serving it is money lost to the buyer).
 */
import { defineChain, erc20Abi, parseAbiItem, type Address } from 'viem';
import { SerialSender } from '../../harness/chain/index.ts';
import { addressSet, balancesOf, blockNumber, chainClients, eventLogs, fundAgents, fundGas } from '../../harness/load/chain.ts';
import { errorClass } from '../../harness/load/measure.ts';
import { defineLoad, equalCheck, expectStatus, LoadFailure, ledgerSum, sendPaidCall, unlessOutOfFunds, type IterationContext, type LedgerEntry, type LoadEnv } from '../../harness/load/pack.ts';
import { chainToken, endpointOf, TargetError } from '../../harness/target/schema.ts';
import { checkReceipt, discoverHub, requirementOf, type Payer } from './agents/buyer.ts';
import { hubClient } from './agents/hub-client.ts';

const transferEvent = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)');
/** Calls' worth of USDC each buyer gets per planned second. */
const CALLS_PER_SECOND_FUNDED = 200n;
const GAS_WEI = 10n ** 17n;

/** A buyer's own USDC transfers (one at a time, the receipt in the send's round trip). */
function senderPayer(privateKey: `0x${string}`, rpcUrl: string, chainId: number): Payer {
  const chain = defineChain({ id: chainId, name: `chain-${chainId}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } });
  const sender = new SerialSender(privateKey, chain, rpcUrl);
  return {
    address: sender.account.address,
    async transfer(token, to, amount) {
      try {
        const r = await sender.send({ address: token as Address, abi: erc20Abi, functionName: 'transfer', args: [to as Address, amount] });
        return { ok: true, hash: r.transactionHash };
      } catch (e) {
        if (['connection', 'timeout'].includes(errorClass(e).cls)) throw e;
        return { ok: false, reason: ((e as { shortMessage?: string }).shortMessage ?? (e as Error).message).slice(0, 300) };
      }
    },
  };
}

async function setup(env: LoadEnv) {
  const url = endpointOf(env.target, 'aimarket')!.url;
  const spec = env.target.chains.find((c) => chainToken(c, 'usdc'));
  if (!spec) throw new TargetError('no target chain declares usdc');
  const usdc = chainToken(spec, 'usdc')!.address as Address;
  const c = chainClients(env.target, spec.chainId);
  const d = await discoverHub(hubClient(url, env.fetch));
  if ('error' in d) throw new TargetError(`aimarket ${url}: ${d.error}`);
  if (!d.verdict.ok) throw new TargetError(`aimarket ${url}: the manifest does not verify under the advertised key (${d.verdict.reason})`);
  const pinned = d.wellKnown.signer_public_key;
  const tool = [...d.manifest.tools].sort((a, b) => a.price_per_call_usd - b.price_per_call_usd)[0];
  if (!tool) throw new TargetError(`aimarket ${url}: the manifest lists no tool`);
  const [pid, cid] = [tool.product_id, tool.capability_id] as [string, string];
  const input = { text: 'amh load' };
  const first = await hubClient(url, env.fetch).invoke(pid, cid, input);
  const req = requirementOf(first);
  if (first.status !== 402 || !req.ok) throw new TargetError(`aimarket ${url}: an unpaid call of ${pid}/${cid} got ${first.status} without a payment requirement${req.ok ? '' : ` (${req.reason})`}`);
  const recipient = req.req.recipient as Address;
  const price = req.amount;

  const keys = Array.from({ length: env.agents }, (_, i) => env.key(i, 'buyer'));
  const buyers = keys.map((k) => k.address);
  await fundGas(c, buyers, GAS_WEI);
  const each = await fundAgents(c, usdc, buyers, price * CALLS_PER_SECOND_FUNDED * BigInt(env.seconds), price, env.log);
  const payers = keys.map((k) => senderPayer(k.privateKey, spec.rpcUrl, spec.chainId));
  const fromBlock = (await blockNumber(c)) + 1n;
  const buyersBefore = await balancesOf(c, usdc, buyers);
  const [recipientBefore] = await balancesOf(c, usdc, [recipient]);

  return {
    describe: `${env.agents} buyers funded with ${each} USDC base units each; tool ${pid}/${cid} at ${price} micro-USD, paid to ${recipient}; receipts verified under the pinned key ${pinned.slice(0, 12)}…`,
    async iterate(agent: number, ctx: IterationContext) {
      const hub = hubClient(url, ctx.fetch);
      const unpaid = await hub.invoke(pid, cid, input);
      expectStatus(unpaid.status, 402, 'unpaid call', unpaid.text);
      const r = requirementOf(unpaid);
      if (!r.ok) throw new LoadFailure('no-requirement', `a 402 without a usable X-Payment-Required: ${r.reason}`);
      if (r.amount !== price || r.req.recipient.toLowerCase() !== recipient.toLowerCase())
        throw new LoadFailure('requirement-changed', `the 402 asks ${r.amount} to ${r.req.recipient}; set-up saw ${price} to ${recipient}`);
      // A transfer that did not go through moved nothing: an empty wallet stops the agent.
      const funds = { step: 'payment transfer', needed: r.amount, balance: async () => (await balancesOf(c, usdc, [buyers[agent]!]))[0]! };
      const tx = await unlessOutOfFunds(funds, async () => {
        const sent = await payers[agent]!.transfer(usdc, recipient, r.amount);
        if (!sent.ok) throw new LoadFailure('transfer-failed', sent.reason);
        return sent;
      });
      ctx.ledger('paid', r.amount, tx.hash.toLowerCase());
      // A paid call whose answer was lost may have been served (the hub then refuses the used hash on
      // a retry): indeterminate, since AI Market has no lookup of a call by its transaction.
      const paid = await sendPaidCall(ctx, { amount: r.amount, ref: tx.hash.toLowerCase(), what: 'paid call', sameWhat: 'transaction', detail: (a) => a.text.slice(0, 120) }, () =>
        hub.invoke(pid, cid, input, { txHash: tx.hash }),
      );
      expectStatus(paid.status, 200, 'paid call', paid.text);
      const v = checkReceipt(paid.text, pinned);
      if (!v.ok) throw new LoadFailure('receipt-unverified', `the paid call's receipt does not verify under the pinned key: ${v.reason}`);
      ctx.ledger('served', r.amount, tx.hash.toLowerCase());
    },
    async conservation(ledger: readonly LedgerEntry[]) {
      const toBlock = await blockNumber(c);
      const buyersAfter = await balancesOf(c, usdc, buyers);
      const [recipientAfter] = await balancesOf(c, usdc, [recipient]);
      const ours = addressSet(buyers);
      const transfers = (await eventLogs(c, usdc, transferEvent, fromBlock, toBlock, { to: recipient })).filter((l) => ours.has(l.args.from.toLowerCase()));
      const sum = (xs: readonly bigint[]) => xs.reduce((a, b) => a + b, 0n);
      const paidRefs = ledger.filter((e) => e.kind === 'paid').map((e) => e.ref);
      const served = new Set(ledger.filter((e) => e.kind === 'served').map((e) => e.ref));
      const answerLost = new Set(ledger.filter((e) => e.kind === 'answer-lost').map((e) => e.ref));
      const onChain = new Set(transfers.map((l) => l.transactionHash.toLowerCase()));
      const paid = ledgerSum(ledger, 'paid');
      const mismatched = buyers.filter((_, i) => buyersBefore[i]! - buyersAfter[i]! !== ledgerSum(ledger, 'paid', i)).length;
      return {
        holdings: [
          { name: `buyers' USDC (${env.agents})`, before: sum(buyersBefore), after: sum(buyersAfter) },
          { name: `recipient's USDC ${recipient}`, before: recipientBefore!, after: recipientAfter! },
        ],
        checks: [
          equalCheck("buyers' + recipient's USDC hold what they held before", sum(buyersBefore) + recipientBefore!, sum(buyersAfter) + recipientAfter!, 'money created or lost'),
          equalCheck("buyers' spend = payments the buyers saw mined", paid, sum(buyersBefore) - sum(buyersAfter)),
          equalCheck('buyers whose spend differs from their own ledger', 0, mismatched),
          equalCheck("recipient's gain = payments seen", paid, recipientAfter! - recipientBefore!),
          equalCheck('USDC Transfers buyer → recipient on chain = payments seen', paidRefs.length, transfers.length),
          equalCheck('payments seen that are not on chain', 0, paidRefs.filter((h) => !onChain.has(h)).length),
          // Each iteration serves at most its own payment, so "served twice" cannot happen; what can is a payment kept unserved.
          equalCheck('payments refused unserved (no answer was lost)', 0, paidRefs.filter((h) => !served.has(h) && !answerLost.has(h)).length, 'the hub kept the money without serving the call'),
          equalCheck(
            'payments whose answer was lost (no answer, or a refused retry after one)',
            0,
            paidRefs.filter((h) => !served.has(h) && answerLost.has(h)).length,
            'indeterminate: the lost call may have been served, and the buyer cannot tell (no lookup by transaction)',
          ),
        ],
      };
    },
  };
}

export default defineLoad({
  protocol: 'aimarket',
  iteration:
    "one paid call of the hub's cheapest tool: unpaid call → 402 X-Payment-Required → the buyer's own USDC transfer of the amount to the recipient → the call with X-Payment {tx_hash} → 200 with a receipt verified under the pinned signer key",
  endpoints: ['aimarket'],
  setup,
});
